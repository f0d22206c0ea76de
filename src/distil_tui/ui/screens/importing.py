"""Import: choose a file, see what it holds and how its columns map, import
it in a worker with progress, cancel with escape, read the summary."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.suggester import Suggester, SuggestFromList
from textual.widgets import DataTable, Input, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from distil_tui.core.importer import ImportCancelled, import_file
from distil_tui.core.ingest.readers import ImportRefused
from distil_tui.core.models import IMPORT_STAGES, ImportProgress, ImportSummary
from distil_tui.core.preview import FilePreview, known_sources, preview_file
from distil_tui.core.store import Store
from distil_tui.ui.import_job import can_run_apart, import_apart
from distil_tui.ui.screens.browse import BrowseScreen
from distil_tui.ui.text import join, literal
from distil_tui.ui.widgets.footer import Footer

# Where each stage starts on the bar, for progress that does not say its
# share of the whole import itself.
STAGES = IMPORT_STAGES
SAMPLE_WIDTH = 18  # a previewed value; longer ones are cut with an ellipsis
KEY_PLACEHOLDER = "none: rows are keyed by line number"
IDS_PLACEHOLDER = "the source whose customer ids the events carry (none: this one)"


class PathSuggester(Suggester):
    """Completes the last part of a path from the folder's entries (folders
    end with a slash).  Hidden entries only when a dot is typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        folder, _, stem = value.rpartition("/")
        where = Path(os.path.expanduser(folder + "/" if folder or value.startswith("/") else "."))
        try:
            names = sorted(os.listdir(where))
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and name != stem and (stem.startswith(".") or not name.startswith(".")):
                slash = "/" if (where / name).is_dir() else ""
                return value + name[len(stem):] + slash
        return None


class ImportField(Input):
    """A field of the import form: enter starts the import."""

    BINDINGS = [
        Binding("enter", "submit", "Import", id="import.start", tooltip="Import the file as shown"),
    ]


def progress_view(progress: ImportProgress, elapsed: float, stage_elapsed: float) -> tuple[float, str]:
    """The share of the import done and the line under the bar: where it is,
    records per second, and about how long is left."""
    start, share = STAGES.get(progress.stage, (0.0, 1.0))
    part = progress.done / progress.total if progress.total else 0.0
    fraction = min(start + share * min(part, 1.0), 1.0) if progress.fraction is None else progress.fraction
    total = f"{progress.total:,}" if progress.total is not None else "?"
    if progress.stage == "reading":
        where = f"Reading line {progress.done:,} of {total}"
    elif progress.stage == "resolving":
        where = f"Resolving {total} records into customers"
    elif progress.total is not None and progress.done >= progress.total:
        where = f"Wrote {total} records; now their customers and the search index"
    else:
        where = f"Writing {progress.done:,} of {total} records"
    parts = [where]
    if (progress.stage == "reading" or where.startswith("Writing")) and stage_elapsed > 0 and progress.done:
        parts.append(f"{progress.done / stage_elapsed:,.0f} records/s")
    if fraction >= 0.02 and elapsed > 0:
        left = elapsed * (1 - fraction) / fraction
        parts.append(f"about {left:.0f} s left" if left >= 1 else "less than a second left")
    return fraction, " · ".join(parts)


class ImportScreen(Screen[None]):
    """The form (file, source, key column) over the file's preview; during an
    import the bar and its figures; after it the summary and rejected rows.

    The preview and the import run in thread workers that post messages; the
    handlers below are the only code that changes the widgets.
    """

    AUTO_FOCUS = "#import-path"
    APART = True  # imports run in a child process (see import_job); tests may run them here

    BINDINGS = [
        Binding("escape", "cancel", "Cancel import", id="import.cancel",
                tooltip="Stop the import; the store stays as it was"),
        Binding("escape", "back", "Back", id="import.back", tooltip="Back to the customers"),
        # While an import runs, the other views wait: leaving would cancel it.
        Binding("r", "busy", show=False, id="import.busy_review"),
        Binding("h", "busy", show=False, id="import.busy_history"),
        Binding("i", "busy", show=False, id="import.busy_import"),
        Binding("d", "busy", show=False, id="import.busy_data"),
    ]

    class Previewed(Message):
        """The preview of what ``path`` named when it was asked for."""

        def __init__(self, path: str, preview: FilePreview | None, error: str | None,
                     sources: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.path = path
            self.preview = preview
            self.error = error
            self.sources = sources  # imported so far: whose ids events may carry

    class Progressed(Message):
        """How far the import is; a newer one replaces one not yet shown."""

        def __init__(self, progress: ImportProgress, elapsed: float, stage_elapsed: float) -> None:
            super().__init__()
            self.progress = progress
            self.elapsed = elapsed
            self.stage_elapsed = stage_elapsed

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ImportScreen.Progressed)

    class Finished(Message):
        """The import ended: a summary, a refusal, or cancelled."""

        def __init__(self, summary: ImportSummary | None = None, error: str | None = None,
                     cancelled: bool = False) -> None:
            super().__init__()
            self.summary = summary
            self.error = error
            self.cancelled = cancelled

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.preview: FilePreview | None = None
        self._cancel: threading.Event | None = None  # set while an import runs
        self._source_typed = False  # the source name was typed, not taken from the file name
        self._key_typed = False
        self._filling = False  # the screen, not the person, is changing a field

    def compose(self) -> ComposeResult:
        blink = getattr(self.app, "cursor_blink", True)
        with Vertical(id="import-form"):
            with Horizontal(classes="import-row"):
                yield Label("File", classes="import-label")
                yield ImportField(placeholder="path of a CSV or JSON Lines file (→ completes)",
                                  id="import-path", suggester=PathSuggester(), compact=True)
            with Horizontal(classes="import-row"):
                yield Label("Source", classes="import-label")
                yield ImportField(placeholder="where the records come from: shop, crm…",
                                  id="import-source", compact=True)
            with Horizontal(classes="import-row"):
                yield Label("Key column", classes="import-label", id="import-key-label")
                yield ImportField(placeholder=KEY_PLACEHOLDER, id="import-key", compact=True)
            yield Static(id="import-info", markup=False)
            with Vertical(id="import-progress"):
                yield ProgressBar(total=1.0, show_eta=False, id="import-bar")
                yield Static(id="import-rate", markup=False)
        yield DataTable(id="import-columns", cursor_type="row", zebra_stripes=True)
        with Vertical(id="import-summary"):
            yield Static(id="import-summary-text", markup=False)
            yield DataTable(id="import-rejections", cursor_type="row", zebra_stripes=True)
        yield Footer()
        for field in self.query(ImportField):
            field.cursor_blink = blink

    def on_mount(self) -> None:
        self.query_one("#import-form").border_title = "Import a file"
        self.query_one("#import-columns").border_title = "Columns"
        rejections = self.query_one("#import-rejections", DataTable)
        rejections.add_column("Line", key="line", width=6)
        rejections.add_column("Why the row was rejected", key="reason")
        self._show_info(Text("Type the path of a file to see its columns before importing it."))

    # -- state ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def _show_info(self, text: Text, *, error: bool = False) -> None:
        info = self.query_one("#import-info", Static)
        info.set_class(error, "-error")
        info.update(text)

    def _set_phase(self, phase: str) -> None:
        """``-running`` or ``-done`` (or ``""``): what the lower half shows."""
        for name in ("-running", "-done"):
            self.set_class(name == phase, name)
        for field in self.query(ImportField):
            field.disabled = phase == "-running"
        self.refresh_bindings()

    def _fill(self, selector: str, value: str) -> None:
        self._filling = True
        try:
            self.query_one(selector, Input).value = value
        finally:
            self._filling = False

    # -- preview --------------------------------------------------------------

    @on(Input.Changed, "#import-path")
    def _path_changed(self, event: Input.Changed) -> None:
        self._set_phase("")
        if not event.value.strip():
            self.preview = None
            self._show_preview(None)
            self._show_info(Text("Type the path of a file to see its columns before importing it."))
            return
        self.load_preview(event.value)

    @on(Input.Changed, "#import-source")
    def _source_changed(self) -> None:
        if not self._filling:
            self._source_typed = True

    @on(Input.Changed, "#import-key")
    def _key_changed(self) -> None:
        if not self._filling:
            self._key_typed = True
        if self.preview is not None:
            self._show_preview(self.preview)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview", description="file preview")
    def load_preview(self, path: str) -> None:
        try:
            preview, error = preview_file(os.path.expanduser(path.strip())), None
        except ImportRefused as exc:
            preview, error = None, str(exc)
        except OSError as exc:
            preview, error = None, f"{path.strip()}: {exc.strerror or exc}"
        sources = tuple(known_sources(self.store)) if preview is not None and preview.format == "events" else ()
        self.post_message(self.Previewed(path, preview, error, sources))

    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        if message.path != self.query_one("#import-path", Input).value:
            return  # typed on since: a newer preview is on its way
        self.preview = message.preview
        preview = message.preview
        if preview is None:
            self._show_preview(None)
            self._show_info(literal(message.error), error=True)
            return
        name = Path(preview.path)
        if not self._source_typed:
            self._fill("#import-source", name.stem)
        key = self.query_one("#import-key", Input)
        if preview.format == "events":
            # Events carry no key column; they name customers by the ids
            # of a source (the shop's, say): which one, as --customer-id-source.
            self.query_one("#import-key-label", Label).update("Ids from")
            key.placeholder = IDS_PLACEHOLDER
            key.suggester = SuggestFromList(message.sources, case_sensitive=True)
            if not self._key_typed:
                self._fill("#import-key", "")
        else:
            self.query_one("#import-key-label", Label).update("Key column")
            key.placeholder = KEY_PLACEHOLDER
            key.suggester = SuggestFromList(preview.headers, case_sensitive=True)
            if not self._key_typed:
                self._fill("#import-key", preview.key_column or "")
        self._show_preview(preview)
        kinds = {"csv": "CSV", "jsonl": "JSON Lines customers", "events": "JSON Lines tracking events"}
        noun = "field" if preview.format != "csv" else "column"
        self._show_info(Text(
            f"{kinds[preview.format]} (detected) · {_size(preview.size)} · "
            f"{len(preview.columns)} {noun}{'s' if len(preview.columns) != 1 else ''} · "
            f"first {preview.rows} row{'s' if preview.rows != 1 else ''} below · enter imports"
        ))

    def _show_preview(self, preview: FilePreview | None) -> None:
        table = self.query_one("#import-columns", DataTable)
        table.clear(columns=True)
        if preview is None:
            table.border_subtitle = ""
            return
        key = self.query_one("#import-key", Input).value.strip()
        table.add_column("Column", key="column", width=16)
        table.add_column("Attribute", key="attribute", width=21)
        for n in range(preview.rows):
            table.add_column(f"Row {n + 1}", key=f"row{n}", width=SAMPLE_WIDTH)
        custom = 0
        for column in preview.columns:
            if preview.format != "events" and key and column.name.strip() == key:
                attribute = Text("key: customer_id", style="bold")
            elif column.standard:
                attribute = literal(column.attribute)
            else:
                custom += preview.format != "events"
                attribute = join(literal(column.attribute, style="italic"),
                                 "" if preview.format == "events" else Text("(custom)", style="dim"))
            table.add_row(literal(column.name, style="bold"), attribute,
                          *(literal(v, placeholder="–") for v in column.samples), key=column.name)
        table.border_subtitle = f"{custom} custom attribute{'s' if custom != 1 else ''}" if custom else ""

    # -- import ---------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        if self.running:
            return
        if self.preview is None:
            self.notify("Type the path of a file to import first.", severity="warning", markup=False)
            return
        source = self.query_one("#import-source", Input).value.strip()
        if not source:
            self.notify("Give the source a name: the system the file comes from.", severity="warning",
                        markup=False)
            self.query_one("#import-source").focus()
            return
        key = self.query_one("#import-key", Input).value.strip() or None
        self._cancel = threading.Event()
        self.query_one("#import-bar", ProgressBar).update(total=1.0, progress=0)
        self.query_one("#import-rate", Static).update("Starting…")
        self._set_phase("-running")
        self.query_one("#import-columns").focus()
        self.run_import(self.preview.path, source, self.preview.format, key, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import", description="import")
    def run_import(self, path: str, source: str, fmt: str, key: str | None, cancel: threading.Event) -> None:
        started = time.monotonic()
        stage = ["", started]

        def progress(p: ImportProgress) -> None:
            now = time.monotonic()
            if p.stage != stage[0]:
                stage[:] = [p.stage, now]
            self.post_message(self.Progressed(p, now - started, now - stage[1]))

        run = import_apart if self.APART and can_run_apart(self.store) else import_file
        try:
            summary = run(
                self.store, path, source=source, fmt=fmt,
                id_column=key if fmt != "events" else None,
                customer_id_source=key if fmt == "events" else None, progress=progress, cancel=cancel,
            )
        except ImportCancelled:
            self.post_message(self.Finished(cancelled=True))
        except ImportRefused as exc:
            self.post_message(self.Finished(error=str(exc)))
        else:
            self.post_message(self.Finished(summary))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        if not self.running:
            return
        fraction, line = progress_view(message.progress, message.elapsed, message.stage_elapsed)
        self.query_one("#import-bar", ProgressBar).update(progress=fraction)
        if self._cancel.is_set():
            line = "Cancelling…"
        self.query_one("#import-rate", Static).update(line)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._cancel = None
        if message.cancelled:
            self._set_phase("")
            self._show_info(Text("Import cancelled: nothing was imported; the store is as it was."),
                            error=True)
        elif message.error is not None:
            self._set_phase("")
            self._show_info(literal(message.error), error=True)
        else:
            self._show_summary(message.summary)
            self._set_phase("-done")
            self._data_changed()
        self.query_one("#import-path").focus()

    def _show_summary(self, summary: ImportSummary) -> None:
        s = summary
        unit = "events" if s.format == "events" else "records"
        figures = [
            join(Text("Imported"), literal(Path(s.file).name, style="bold"), Text("as"),
                 literal(s.source, style="bold"), Text(f"in {s.seconds:.1f} s.")),
            Text(f"{s.records_read:,} rows read: {s.records_imported:,} imported, "
                 f"{s.records_rejected:,} rejected."),
            Text(f"{s.customers_created:,} new customers, {s.merges_made:,} merges, "
                 f"{s.candidates_created:,} merge candidates to review"
                 + (f", {s.events_imported:,} {unit}." if s.events_imported else ".")),
            Text("Search shows the new data: escape goes back to the customers.", style="dim"),
        ]
        self.query_one("#import-summary-text", Static).update(Text("\n").join(figures))
        self._show_info(Text(f"Done: {s.records_imported:,} of {s.records_read:,} rows imported."))
        table = self.query_one("#import-rejections", DataTable)
        table.clear()
        for rejection in s.rejections:
            table.add_row(Text(str(rejection.line)), literal(rejection.reason))
        pane = self.query_one("#import-summary")
        pane.border_title = "Summary"
        shown = len(s.rejections)
        pane.border_subtitle = (
            f"first {shown} of {s.records_rejected:,} rejected rows" if shown < s.records_rejected
            else (f"{shown} rejected row{'s' if shown != 1 else ''}" if shown else "no rejected rows")
        )
        table.display = bool(shown)

    def _data_changed(self) -> None:
        # The browse screen beneath searches again when it is back on show.
        for screen in self.app.screen_stack:
            if isinstance(screen, BrowseScreen):
                screen.search_stale = True

    # -- keys -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action in ("back", "start"):
            return not self.running
        if action == "busy":
            return self.running
        return True

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.query_one("#import-rate", Static).update("Cancelling…")

    def action_back(self) -> None:
        self.dismiss()

    def action_busy(self) -> None:
        self.notify("An import is running: escape cancels it.", markup=False, timeout=3)

    def on_unmount(self) -> None:
        # Leaving the screen while importing (quitting) cancels the import.
        if self._cancel is not None:
            self._cancel.set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "import":
            self._cancel = None
            self._set_phase("")
            self._show_info(literal(f"The import failed: {event.worker.error}"), error=True)
        else:
            self._show_info(literal(f"Cannot preview the file: {event.worker.error}"), error=True)


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""
