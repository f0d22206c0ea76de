"""The Data panel's export: the customers on show (all, or a segment's) with
the columns on show, to a CSV or JSON Lines file, with progress."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, ProgressBar, Select, Static
from textual.worker import Worker, WorkerState

from distil_tui.core.attributes import Attribute
from distil_tui.core.exports import ExportCancelled, export_columns, export_customers
from distil_tui.core.segments import Segment
from distil_tui.core.store import Store
from distil_tui.ui.screens.importing import PathSuggester
from distil_tui.ui.text import join, literal
from distil_tui.ui.widgets.footer import Footer

FORMATS = (("CSV", "csv"), ("JSON Lines", "jsonl"))
SUFFIXES = {"csv": ".csv", "jsonl": ".jsonl"}


class ExportField(Input):
    BINDINGS = [Binding("enter", "screen.start", "Export", id="export.start", tooltip="Write the file")]


class ExportScreen(ModalScreen[int | None]):
    """A file path and a format; enter writes the file in a thread worker
    while the bar shows how far it is; escape cancels (the file is left as
    it was).  Dismisses with the number of customers written, or ``None``."""

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
        & > #export {
            width: 76;
            max-width: 100%;
            height: auto;
            padding: 0 1;
            border: round $border;
            border-title-color: $text-accent;
            border-title-style: bold;
            background: $surface;
            & > .export-row { height: 1; margin-bottom: 1; }
            & .export-label { width: 9; color: $text-muted; }
            & ExportField { width: 1fr; }
            & Select { width: 24; }
            & #export-what { height: auto; margin-bottom: 1; }
            & #export-bar { display: none; }
            & #export-bar Bar { width: 1fr; }
            & #export-status { height: auto; color: $text-muted; }
            & #export-status.-error { color: $text-error; }
        }
        &.-running #export-bar { display: block; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel export", id="export.cancel",
                tooltip="Stop the export; the file stays as it was"),
        Binding("escape", "close", "Close", id="export.close", tooltip="Back to the Data panel"),
    ]

    AUTO_FOCUS = "#export-path"

    class Progressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ExportScreen.Progressed)

    class Finished(Message):
        def __init__(self, path: str, written: int | None, error: str | None = None,
                     cancelled: bool = False) -> None:
            super().__init__()
            self.path = path
            self.written = written
            self.error = error
            self.cancelled = cancelled

    def __init__(self, store: Store, segment: Segment | None, attributes: Sequence[Attribute]) -> None:
        super().__init__()
        self.store = store
        self.segment = segment
        self.columns = export_columns([a.name for a in attributes] or ["core_data.tracking_id"])
        self._cancel: threading.Event | None = None
        self.written: int | None = None

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def compose(self) -> ComposeResult:
        base = self.segment.name if self.segment else "customers"
        default = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in base) + ".csv"
        with Vertical(id="export"):
            yield Static(self._what(), id="export-what")
            with Horizontal(classes="export-row"):
                yield Label("File", classes="export-label")
                field = ExportField(default, id="export-path", suggester=PathSuggester(), compact=True)
                field.cursor_blink = getattr(self.app, "cursor_blink", True)
                yield field
            with Horizontal(classes="export-row"):
                yield Label("Format", classes="export-label")
                yield Select(FORMATS, value="csv", allow_blank=False, id="export-format", compact=True)
            yield ProgressBar(total=1, show_eta=False, id="export-bar")
            yield Static("enter writes the file", id="export-status", markup=False)
        yield Footer()

    def _what(self) -> Text:
        who = join(Text("The customers of segment"), literal(self.segment.name, style="bold")) if self.segment \
            else Text("Every customer")
        names = ", ".join(self.columns)
        return join(who, Text("with"), Text(f"{len(self.columns)} columns:"), literal(names, style="italic"))

    def on_mount(self) -> None:
        self.query_one("#export").border_title = "Export"
        self.query_one("#export-what", Static).styles.text_wrap = "wrap"

    # -- fields -----------------------------------------------------------------

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        field = self.query_one("#export-path", Input)
        stem, suffix = os.path.splitext(field.value)
        if suffix.lower() in (".csv", ".jsonl", ".ndjson", ".json", ""):
            field.value = stem + SUFFIXES[str(event.value)]

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        suffix = os.path.splitext(event.value)[1].lower()
        fmt = "jsonl" if suffix in (".jsonl", ".ndjson", ".json") else "csv" if suffix == ".csv" else None
        select = self.query_one("#export-format", Select)
        if fmt is not None and select.value != fmt:
            select.value = fmt

    def _status(self, text: Text | str, *, error: bool = False) -> None:
        status = self.query_one("#export-status", Static)
        status.set_class(error, "-error")
        status.update(text)

    # -- export -----------------------------------------------------------------

    def action_start(self) -> None:
        if self.running:
            return
        path = os.path.expanduser(self.query_one("#export-path", Input).value.strip())
        if not path:
            self._status("Type the path of the file to write.", error=True)
            return
        fmt = str(self.query_one("#export-format", Select).value)
        self._cancel = threading.Event()
        self.set_class(True, "-running")
        self.query_one("#export-bar", ProgressBar).update(total=1, progress=0)
        self._status("Counting the customers…")
        self.refresh_bindings()
        self.run_export(path, fmt, self._cancel)

    @work(thread=True, exit_on_error=False, group="export", description="export")
    def run_export(self, path: str, fmt: str, cancel: threading.Event) -> None:
        try:
            written = export_customers(
                self.store, path, segment=self.segment, columns=self.columns, fmt=fmt, cancel=cancel,
                progress=lambda done, total: self.post_message(self.Progressed(done, total)),
            )
        except ExportCancelled:
            self.post_message(self.Finished(path, None, cancelled=True))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.post_message(self.Finished(path, None, error=f"{path}: {reason}"))
        else:
            self.post_message(self.Finished(path, written))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        if not self.running:
            return
        self.query_one("#export-bar", ProgressBar).update(total=max(message.total, 1), progress=message.done)
        if not self._cancel.is_set():
            self._status(f"Writing {message.done:,} of {message.total:,} customers")

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._cancel = None
        self.set_class(False, "-running")
        self.refresh_bindings()
        if message.cancelled:
            self._status("Export cancelled: the file was not written.", error=True)
        elif message.error is not None:
            self._status(literal(message.error), error=True)
        else:
            self.written = message.written
            noun = "customer" if message.written == 1 else "customers"
            self._status(join(Text(f"Wrote {message.written:,} {noun} to"), literal(message.path, style="bold")))
            self.notify(f"Exported {message.written:,} {noun} to {message.path}", markup=False, timeout=5)

    # -- keys -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action in ("close", "start"):
            return not self.running
        return True

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._status("Cancelling…")

    def action_close(self) -> None:
        self.dismiss(self.written)

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "export":
            self._cancel = None
            self.set_class(False, "-running")
            self.refresh_bindings()
            self._status(literal(f"The export failed: {event.worker.error}"), error=True)
