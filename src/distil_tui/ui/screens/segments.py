"""Segments for the Data panel: pick one (or all customers) with its count;
create, edit, rename and delete them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from distil_tui.core import segments
from distil_tui.core.attributes import Attribute
from distil_tui.core.segments import NO_VALUE, OPERATORS, Condition, Segment, SegmentError
from distil_tui.core.store import Store
from distil_tui.ui.screens.confirm import ConfirmScreen
from distil_tui.ui.text import join, literal
from distil_tui.ui.widgets.footer import Footer

ALL_CUSTOMERS = "all customers"  # what the picker returns for "no segment"

_MODAL_CSS = """
    align: center middle;
    & > Vertical {
        width: 96;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
"""


class SegmentsScreen(ModalScreen[Segment | str | None]):
    """Dismisses with the chosen :class:`Segment`, :data:`ALL_CUSTOMERS`,
    or ``None`` (escape)."""

    DEFAULT_CSS = "SegmentsScreen {" + _MODAL_CSS + """
        & #segments-list { height: auto; max-height: 20; border: none; padding: 0; }
        & #segments-help { color: $text-muted; }
    }
    """

    BINDINGS = [
        Binding("enter", "choose", "Show", id="segments.choose", tooltip="Show this segment's customers"),
        Binding("n", "new", "New", id="segments.new", tooltip="Create a segment"),
        Binding("e", "edit", "Edit", id="segments.edit", tooltip="Change this segment's conditions"),
        Binding("r", "rename", "Rename", id="segments.rename", tooltip="Give this segment another name"),
        Binding("delete", "delete", "Delete", id="segments.delete", tooltip="Delete this segment, after confirmation"),
        Binding("escape", "cancel", "Cancel", id="segments.cancel", tooltip="Keep the customers on show"),
    ]

    AUTO_FOCUS = "#segments-list"

    class Listed(Message):
        def __init__(self, saved: list[tuple[Segment, int]], everyone: int, focus: str | None) -> None:
            super().__init__()
            self.saved = saved
            self.everyone = everyone
            self.focus = focus

    class Changed(Message):
        """A rename or delete ended: ``error`` says why it did not happen."""

        def __init__(self, error: str | None, focus: str | None) -> None:
            super().__init__()
            self.error = error
            self.focus = focus

    def __init__(self, store: Store, attributes: Sequence[Attribute], current: Segment | None) -> None:
        super().__init__()
        self.store = store
        self.attributes = list(attributes)
        self.current = current
        self.saved: dict[str, Segment] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="segments"):
            yield OptionList(id="segments-list")
            yield Static("enter shows · n new · e edit · r rename · delete deletes · escape cancels",
                         id="segments-help", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#segments").border_title = "Segments"
        self.query_one("#segments").border_subtitle = "counting…"
        self.load(self.current.name if self.current else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="segments", description="segments")
    def load(self, focus: str | None = None) -> None:
        saved = segments.list_segments(self.store)
        everyone = segments.count(self.store, None)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Listed(saved, everyone, focus))

    @on(Listed)
    def _listed(self, message: Listed) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        noun = "customer" if message.everyone == 1 else "customers"
        options.add_option(Option(join(Text("All customers", style="bold"),
                                       Text(f"{message.everyone:,} {noun}", style="dim")), id=ALL_CUSTOMERS))
        self.saved = {}
        for segment, total in message.saved:
            self.saved[segment.name] = segment
            shown = "cannot be read" if total < 0 else f"{total:,} customer{'s' if total != 1 else ''}"
            options.add_option(Option(join(literal(segment.name, style="bold"), Text(shown, style="dim"),
                                           literal(segment.describe(), style="italic")), id=segment.name))
        focus = message.focus
        ids = [ALL_CUSTOMERS, *self.saved]
        options.highlighted = ids.index(focus) if focus in ids else 0
        noun = "segment" if len(message.saved) == 1 else "segments"
        self.query_one("#segments").border_subtitle = f"{len(message.saved)} saved {noun}"
        self.refresh_bindings()

    @property
    def highlighted(self) -> Segment | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return self.saved.get(options.get_option_at_index(options.highlighted).id or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "rename", "delete"):
            return self.highlighted is not None or None
        return True

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_choose()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def action_choose(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        chosen = options.get_option_at_index(options.highlighted).id
        self.dismiss(ALL_CUSTOMERS if chosen == ALL_CUSTOMERS else self.saved[chosen])

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_new(self) -> None:
        self.app.push_screen(SegmentEditor(self.store, self.attributes, None), self._edited)

    def action_edit(self) -> None:
        if (segment := self.highlighted) is not None:
            self.app.push_screen(SegmentEditor(self.store, self.attributes, segment), self._edited)

    def _edited(self, segment: Segment | None) -> None:
        if segment is not None:
            self.load(segment.name)

    def action_rename(self) -> None:
        segment = self.highlighted
        if segment is None:
            return

        def named(new: str | None) -> None:
            if new and new.strip() != segment.name:
                self.change("rename", segment.name, new)

        self.app.push_screen(RenameScreen(segment.name), named)

    def action_delete(self) -> None:
        segment = self.highlighted
        if segment is None:
            return
        body = join(Text("Segment"), literal(segment.name, style="bold"),
                    Text("is deleted; its customers stay as they are."))

        def answered(go_ahead: bool | None) -> None:
            if go_ahead:
                self.change("delete", segment.name, None)

        self.app.push_screen(ConfirmScreen("Delete segment?", body, confirm="Delete"), answered)

    @work(thread=True, exit_on_error=False, group="segments-change", description="segment change")
    def change(self, what: str, name: str, new: str | None) -> None:
        try:
            if what == "rename":
                focus = segments.rename(self.store, name, new or "").name
            else:
                segments.delete(self.store, name)
                focus = None
            error = None
        except SegmentError as exc:
            error, focus = str(exc), name
        self.post_message(self.Changed(error, focus))

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        if message.error is not None:
            self.notify(message.error, severity="error", markup=False, timeout=8)
        self.load(message.focus)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.notify(f"Segments: {event.worker.error}", severity="error", markup=False, timeout=8)


class RenameScreen(ModalScreen[str | None]):
    """The new name of a segment: enter renames, escape does not."""

    DEFAULT_CSS = "RenameScreen {" + _MODAL_CSS + """
        & Input { margin: 1 0; }
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rename.cancel", tooltip="Keep the name")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.old_name = name

    def compose(self) -> ComposeResult:
        with Vertical(id="rename"):
            field = Input(self.old_name, id="rename-name", compact=True)
            field.cursor_blink = getattr(self.app, "cursor_blink", True)
            yield field
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rename").border_title = f"Rename segment {self.old_name}"

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


# -- the editor -------------------------------------------------------------------


class ConditionRow(Horizontal):
    """An attribute, an operator offered for its type, and a value."""

    DEFAULT_CSS = """
    ConditionRow {
        height: 1;
        margin-bottom: 1;
        & > .condition-attribute { width: 28; }
        & > .condition-operator { width: 18; margin: 0 1; }
        & > Input { width: 1fr; }
    }
    """

    def __init__(self, attributes: Sequence[Attribute], condition: Condition | None) -> None:
        super().__init__()
        self.attributes = {a.name: a for a in attributes}
        self.condition = condition

    def compose(self) -> ComposeResult:
        names = [(join(literal(a.label), Text("(custom)") if a.is_custom else ""), a.name)
                 for a in self.attributes.values()]
        first = self.condition.attribute if self.condition else next(iter(self.attributes), None)
        yield Select(names, value=first, allow_blank=False, compact=True, classes="condition-attribute")
        operators = self._operators(first)
        operator = self.condition.operator if self.condition and self.condition.operator in operators \
            else operators[0]
        yield Select([(o.replace("_", " "), o) for o in operators], value=operator, allow_blank=False,
                     compact=True, classes="condition-operator")
        field = Input(self.condition.value or "" if self.condition else "", placeholder="value", compact=True)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.disabled = operator in NO_VALUE
        yield field

    def _operators(self, name: str | None) -> tuple[str, ...]:
        attribute = self.attributes.get(name or "")
        return OPERATORS[attribute.type] if attribute is not None else OPERATORS["text"]

    @on(Select.Changed, ".condition-attribute")
    def _attribute_changed(self, event: Select.Changed) -> None:
        event.stop()
        operators = self._operators(str(event.value))
        select = self.query_one(".condition-operator", Select)
        current = select.value
        select.set_options([(o.replace("_", " "), o) for o in operators])
        select.value = current if current in operators else operators[0]
        self.post_message(SegmentEditor.Edited())

    @on(Select.Changed, ".condition-operator")
    def _operator_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.query_one(Input).disabled = event.value in NO_VALUE
        self.post_message(SegmentEditor.Edited())

    @on(Input.Changed)
    def _value_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(SegmentEditor.Edited())

    @property
    def value(self) -> Condition:
        operator = str(self.query_one(".condition-operator", Select).value)
        text = self.query_one(Input).value
        return Condition(str(self.query_one(".condition-attribute", Select).value), operator,
                         None if operator in NO_VALUE else text)


class SegmentEditor(ModalScreen[Segment | None]):
    """A segment's name, whether all or any of its conditions must hold,
    and the conditions; the count of customers it holds follows the edits.
    ctrl+s saves (dismissing with the segment as saved)."""

    DEFAULT_CSS = "SegmentEditor {" + _MODAL_CSS + """
        & .editor-row { height: 1; margin-bottom: 1; }
        & .editor-label { width: 10; color: $text-muted; }
        & #editor-name { width: 1fr; }
        & #editor-combine { width: 40; }
        & #editor-conditions { height: auto; max-height: 16; }
        & #editor-status { height: auto; color: $text-muted; }
        & #editor-status.-error { color: $text-error; }
    }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", tooltip="Save the segment"),
        Binding("ctrl+n", "add", "Add condition", id="editor.add", tooltip="Add a condition"),
        Binding("ctrl+d", "remove", "Remove condition", id="editor.remove",
                tooltip="Remove the condition the cursor is in"),
        Binding("escape", "cancel", "Cancel", id="editor.cancel", tooltip="Leave without saving"),
    ]

    AUTO_FOCUS = "#editor-name"

    class Edited(Message):
        """A condition changed: count again."""

    class Counted(Message):
        def __init__(self, segment: Segment, total: int | None, error: str | None) -> None:
            super().__init__()
            self.segment = segment
            self.total = total
            self.error = error

    class Saved(Message):
        def __init__(self, segment: Segment | None, error: str | None) -> None:
            super().__init__()
            self.segment = segment
            self.error = error

    def __init__(self, store: Store, attributes: Sequence[Attribute], segment: Segment | None) -> None:
        super().__init__()
        self.store = store
        self.attributes = list(attributes)
        self.original = segment

    def compose(self) -> ComposeResult:
        blink = getattr(self.app, "cursor_blink", True)
        with Vertical(id="editor"):
            with Horizontal(classes="editor-row"):
                yield Label("Name", classes="editor-label")
                name = Input(self.original.name if self.original else "", placeholder="the segment's name",
                             id="editor-name", compact=True)
                name.cursor_blink = blink
                yield name
            with Horizontal(classes="editor-row"):
                yield Label("Match", classes="editor-label")
                yield Select([("all of the conditions (and)", "and"), ("any of the conditions (or)", "or")],
                             value=self.original.combine if self.original else "and", allow_blank=False,
                             id="editor-combine", compact=True)
            with VerticalScroll(id="editor-conditions", can_focus=False):
                for condition in (self.original.conditions if self.original else ()) or (None,):
                    yield ConditionRow(self.attributes, condition)
            yield Static(id="editor-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        editor = self.query_one("#editor")
        # A border title given as a string is markup: the name goes in as Text.
        editor.border_title = join(Text("Edit segment"), literal(self.original.name)) if self.original \
            else "New segment"
        self._count()

    @property
    def segment(self) -> Segment:
        return Segment(self.query_one("#editor-name", Input).value,
                       tuple(row.value for row in self.query(ConditionRow)),
                       str(self.query_one("#editor-combine", Select).value))

    def _status(self, text: Text | str, *, error: bool = False) -> None:
        status = self.query_one("#editor-status", Static)
        status.set_class(error, "-error")
        status.update(text)

    # -- counting ---------------------------------------------------------------

    @on(Edited)
    @on(Select.Changed, "#editor-combine")
    def _count(self) -> None:
        segment = self.segment
        if any(c.operator not in NO_VALUE and not (c.value or "").strip() for c in segment.conditions):
            self.workers.cancel_group(self, "editor-count")
            self._status("Type the value of each condition to count its customers.")
            return
        self.count(segment)

    @work(thread=True, exclusive=True, exit_on_error=False, group="editor-count", description="segment count")
    def count(self, segment: Segment) -> None:
        try:
            total, error = segments.count(self.store, segment), None
        except (SegmentError, ValueError) as exc:
            total, error = None, str(exc)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Counted(segment, total, error))

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if message.segment.conditions != self.segment.conditions or message.segment.combine != self.segment.combine:
            return  # edited since
        if message.error is not None:
            self._status(literal(message.error), error=True)
        else:
            noun = "customer" if message.total == 1 else "customers"
            self._status(Text(f"{message.total:,} {noun} · ctrl+s saves · ctrl+n adds a condition"))

    # -- keys -------------------------------------------------------------------

    async def action_add(self) -> None:
        row = ConditionRow(self.attributes, None)
        await self.query_one("#editor-conditions").mount(row)
        row.query_one(Select).focus()
        self._count()

    async def action_remove(self) -> None:
        rows = list(self.query(ConditionRow))
        focused = self.focused
        row = next((r for r in rows if focused is not None and focused in r.query("*")), None)
        if row is None:
            return
        if len(rows) == 1:
            self.notify("A segment keeps at least one condition.", markup=False, timeout=3)
            return
        await row.remove()
        self.query(ConditionRow).last().query_one(Select).focus()
        self._count()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        segment = self.segment
        if not segment.name.strip():
            self._status("Give the segment a name.", error=True)
            self.query_one("#editor-name").focus()
            return
        self.save(segment, self.original.name if self.original else None)

    @work(thread=True, exit_on_error=False, group="editor-save", description="save segment")
    def save(self, segment: Segment, old_name: str | None) -> None:
        try:
            if old_name is not None and old_name != segment.name.strip():
                if any(s.name == segment.name.strip() for s, _ in segments.list_segments(self.store)):
                    raise SegmentError(f"a segment named {segment.name.strip()!r} already exists")
                segments.rename(self.store, old_name, segment.name)
            saved = segments.save(self.store, segment, replace=old_name is not None)
            self.post_message(self.Saved(saved, None))
        except (SegmentError, ValueError) as exc:
            self.post_message(self.Saved(None, str(exc)))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        if message.error is not None:
            self._status(literal(message.error), error=True)
        else:
            self.notify(f"Saved segment {message.segment.name}", markup=False, timeout=3)
            self.dismiss(message.segment)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self._status(literal(f"{event.worker.error}"), error=True)
