"""The Data panel's column chooser: every attribute, the shown ones ticked."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from distil_tui.core.attributes import Attribute
from distil_tui.ui.text import join, literal
from distil_tui.ui.widgets.footer import Footer


class ColumnList(SelectionList[str]):
    """Space ticks or unticks; enter applies (the screen's binding)."""

    BINDINGS = [
        Binding("space", "select", "Show/hide", id="columns.toggle", tooltip="Show or hide this attribute"),
        Binding("enter", "screen.apply", "Apply", id="columns.apply", tooltip="Show the ticked attributes"),
    ]


class ColumnChooser(ModalScreen[list[str] | None]):
    """Dismisses with the ticked attribute names in catalog order, or
    ``None`` (escape).  At least one column stays ticked."""

    DEFAULT_CSS = """
    ColumnChooser {
        align: center middle;
        & > #columns {
            width: 64;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: round $border;
            border-title-color: $text-accent;
            border-title-style: bold;
            border-subtitle-color: $text-muted;
            background: $surface;
            & > ColumnList {
                height: auto;
                max-height: 24;
                border: none;
                padding: 0;
            }
            & > #columns-help {
                color: $text-muted;
                padding: 0 1;
            }
        }
    }
    """

    BINDINGS = [
        Binding("d", "defaults", "Defaults", id="columns.defaults", tooltip="Tick the attributes shown at first"),
        Binding("escape", "cancel", "Cancel", id="columns.cancel", tooltip="Keep the columns as they were"),
    ]

    AUTO_FOCUS = "ColumnList"

    def __init__(self, attributes: Sequence[Attribute], shown: Sequence[str]) -> None:
        super().__init__()
        self.attributes = list(attributes)
        self.shown = list(shown)

    def compose(self) -> ComposeResult:
        with Vertical(id="columns"):
            yield ColumnList(*(
                Selection(self._prompt(a), a.name, a.name in self.shown, id=a.name) for a in self.attributes
            ))
            yield Static("space shows or hides · enter applies · d defaults · escape cancels", id="columns-help")
        yield Footer()

    @staticmethod
    def _prompt(attribute: Attribute) -> Text:
        # A custom attribute's name comes from the data: shown literally.
        name = join(Text("("), literal(attribute.name), Text(f", {attribute.type})"), separator="")
        name.stylize("dim")
        return join(literal(attribute.label), name)

    def on_mount(self) -> None:
        self.query_one("#columns").border_title = "Columns"
        self._count()

    @on(SelectionList.SelectedChanged)
    def _count(self) -> None:
        ticked = len(self.query_one(ColumnList).selected)
        self.query_one("#columns").border_subtitle = f"{ticked} of {len(self.attributes)} shown"

    def action_apply(self) -> None:
        ticked = set(self.query_one(ColumnList).selected)
        if not ticked:
            self.notify("Tick at least one attribute to show.", severity="warning", markup=False)
            return
        self.dismiss([a.name for a in self.attributes if a.name in ticked])

    def action_defaults(self) -> None:
        chooser = self.query_one(ColumnList)
        chooser.deselect_all()
        for attribute in self.attributes:
            if attribute.default_visible:
                chooser.select(attribute.name)

    def action_cancel(self) -> None:
        self.dismiss(None)
