"""The merge history: a page of merges, splits and undos, and one in detail."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from distil_tui.core.models import MergeView
from distil_tui.core.review import HistoryEntry, compared_fields
from distil_tui.ui.text import join, literal, moment, probability_text
from distil_tui.ui.widgets.comparison import ComparisonTable
from distil_tui.ui.widgets.fitted import FittedTable

# (key, heading, width; 0: a share of what the others leave)
_COLUMNS = (
    ("when", "When", 16),
    ("change", "Change", 6),
    ("from", "From", 0),
    ("to", "To", 0),
    ("how", "Rule", 0),
    ("by", "By", 8),
)
_TRACKING_ID_WIDTH = 26
_RULE_MIN_WIDTH = 16  # "mobile_phone_no", "re-resolution", "probability 0.953"


def how(merge: MergeView) -> str:
    """The rule, or the probability of a probabilistic link."""
    if merge.rule == "probabilistic" and merge.probability is not None:
        return probability_text(merge.probability)
    return merge.rule



def decided_by(merge: MergeView) -> str:
    return "reviewer" if merge.decided_by == "reviewer" else "auto"


class HistoryTable(FittedTable):
    """A page of :class:`HistoryEntry` rows keyed by merge id.

    Moving past the last row asks for the older page, past the first for the
    newer one (:class:`PageWanted`), so that the table holds one page at a
    time however long the history is.
    """

    COLUMNS = _COLUMNS

    BINDINGS = [
        Binding("enter", "app.focus_next", "Detail", id="history.detail", tooltip="Read the detail of this change"),
    ]

    class PageWanted(Message):
        def __init__(self, older: bool) -> None:
            super().__init__()
            self.older = older

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.entries: dict[str, HistoryEntry] = {}
        self.newer = False
        self.older = False

    @property
    def highlighted_entry(self) -> HistoryEntry | None:
        key = self.highlighted_key
        return self.entries.get(key) if key is not None else None

    def show_entries(self, entries: Sequence[HistoryEntry], *, newer: bool, older: bool,
                     focus: int | None = None, at_end: bool = False) -> None:
        """Replace the rows; the cursor goes to merge ``focus`` if it is here,
        else to the last row when ``at_end``, else to the first."""
        self.entries = {str(e.merge.merge_id): e for e in entries}
        self.newer, self.older = newer, older
        self._fill()
        if not entries:
            return
        key = str(focus) if focus is not None else None
        if key in self.entries:
            row = self.get_row_index(key)
        else:
            row = len(entries) - 1 if at_end else 0
        self.move_cursor(row=row, animate=False)

    def action_cursor_down(self) -> None:
        if self.older and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageWanted(older=True))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            if self.newer:
                self.post_message(self.PageWanted(older=False))
            else:
                # Up from the first row goes back to the filter, as down came here.
                self.screen.focus_previous()
        else:
            super().action_cursor_up()

    def _fill(self) -> None:
        self.clear()
        for key, entry in self.entries.items():
            merge = entry.merge
            moved_from, moved_to = entry.moved
            self.add_row(
                moment(merge.created_at),
                Text(merge.action, style="dim" if merge.undone else ""),
                literal(moved_from),
                literal(moved_to),
                join(literal(how(merge)), Text("(undone)", style="dim") if merge.undone else ""),
                Text(decided_by(merge)),
                key=key,
            )

    def _column_widths(self, width: int) -> tuple[int, ...]:
        padding = 2 * self.cell_padding * len(_COLUMNS)
        rest = max(width - padding - sum(w for _, _, w in _COLUMNS), 15)
        # Tracking IDs first, up to their length, leaving the rule a readable
        # start; the rule takes the rest.
        tracking_id = min(max((rest - _RULE_MIN_WIDTH) // 2, 5), _TRACKING_ID_WIDTH)
        widths = {"from": tracking_id, "to": tracking_id, "how": max(rest - 2 * tracking_id, 5)}
        return tuple(w or widths[key] for key, _, w in _COLUMNS)


class MergeDetail(VerticalScroll):
    """Everything about one :class:`HistoryEntry`: what moved where, when,
    why, who decided, the import, whether it stands, and the evidence."""

    DEFAULT_CSS = """
    MergeDetail {
        padding: 0 1;
        border: round $foreground 20%;
        border-title-color: $text;
        border-title-style: bold;
        scrollbar-size-vertical: 1;
        &:focus {
            border: round $border;
            background-tint: $foreground 5%;
        }
        & > #detail-facts { height: auto; }
        & > #detail-evidence { margin-top: 1; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="detail-facts")
        yield ComparisonTable(headings=("", ""), id="detail-evidence")

    def on_mount(self) -> None:
        self.border_title = "Detail"

    def show_entry(self, entry: HistoryEntry | None, *, message: Text | None = None) -> None:
        facts = self.query_one("#detail-facts", Static)
        evidence = self.query_one(ComparisonTable)
        if entry is None:
            self.border_title = "Detail"
            facts.update(message or Text(""))
            evidence.display = False
            return
        merge = entry.merge
        self.border_title = f"{merge.action.capitalize()} #{merge.merge_id}"
        facts.update(_facts(entry))
        fields = compared_fields(merge.evidence)
        evidence.display = bool(fields)
        evidence.show(fields)
        self.scroll_home(animate=False)


def _facts(entry: HistoryEntry) -> Table:
    merge = entry.merge
    moved_from, moved_to = entry.moved
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")

    def row(label: str, *value: Text | str) -> None:
        table.add_row(Text(label), join(*value))

    if merge.action == "merge":
        row("change", Text("merged"), literal(moved_from, style="bold"))
        row("", Text("into"), literal(moved_to, style="bold"))
    elif merge.action == "split":
        row("change", Text("records moved from"), literal(moved_from, style="bold"))
        row("", Text("to"), literal(moved_to, style="bold"))
    else:
        undid = "split" if merge.undid_split else "merge"
        row("change", Text(f"undid the {undid}" + (f" #{entry.undid}" if entry.undid else "")))
        row("", Text("records back from"), literal(moved_from, style="bold"))
        row("", Text("to"), literal(moved_to, style="bold"))
    row("when", moment(merge.created_at))
    if merge.probability is not None and compared_fields(merge.evidence):
        # The evidence follows field by field: the why in one line would be cut.
        row("why", Text(probability_text(merge.probability)), Text("· the fields below", style="dim"))
    else:
        row("why", literal(merge.why))
    row("decided", Text("by a reviewer" if merge.decided_by == "reviewer" else "automatically"))
    if merge.import_run_id is not None:
        row("import", Text(f"#{merge.import_run_id}"), Text("·", style="dim"), literal(entry.import_source),
            Text("·", style="dim"), literal(PurePath(entry.import_file).name if entry.import_file else None))
    else:
        row("import", Text("none: a reviewer's decision", style="dim"))
    if merge.action == "undo":
        row("state", Text("an undo cannot be undone", style="dim"))
    elif merge.undone:
        row("state", Text("undone" + (f" by #{entry.undone_by}" if entry.undone_by else "")))
    else:
        row("state", Text("stands · u undoes it"))
    return table
