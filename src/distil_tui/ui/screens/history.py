"""History: every merge, split and undo, newest first, with one in detail;
a merge or split that still stands can be undone."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input
from textual.worker import Worker, WorkerState, get_current_worker

from distil_tui.core.merges import MergeError, undo
from distil_tui.core.review import HISTORY_PAGE, HistoryEntry, HistoryPage, history_page
from distil_tui.core.store import Store
from distil_tui.ui.screens.confirm import ConfirmScreen
from distil_tui.ui.text import join, literal
from distil_tui.ui.widgets.footer import Footer
from distil_tui.ui.widgets.history import HistoryTable, MergeDetail
from distil_tui.ui.widgets.search_box import SearchBox


class FilterBox(SearchBox):
    """The history's filter: enter and down move on to the list."""

    BINDINGS = [
        Binding("enter", "leave", "List", id="history.list", tooltip="Move to the list of changes"),
        Binding("down", "leave", "List", id="history.list_down", show=False),
    ]


class HistoryScreen(Screen[None]):
    """A page of the merge history, filtered by text, and the highlighted
    change in detail.  Core calls run in thread workers that post a message."""

    AUTO_FOCUS = "#history-table"

    BINDINGS = [
        Binding("u", "undo", "Undo", id="history.undo",
                tooltip="Undo the highlighted merge or split, after confirmation"),
        Binding("slash", "focus_filter", "Filter", id="history.filter", tooltip="Filter the history by text"),
        Binding("escape", "back", "Back", id="history.back", tooltip="Back to the customers"),
    ]

    class PageLoaded(Message):
        """A page for filter ``text``, which may no longer be what is typed."""

        def __init__(self, text: str, page: HistoryPage, focus: int | None, at_end: bool) -> None:
            super().__init__()
            self.text = text
            self.page = page
            self.focus = focus
            self.at_end = at_end

    class UndoFinished(Message):
        def __init__(self, entry: HistoryEntry, undo_id: int | None, error: str | None) -> None:
            super().__init__()
            self.entry = entry
            self.undo_id = undo_id
            self.error = error

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._undoing = False

    def compose(self) -> ComposeResult:
        with Container(id="history-panes"):
            with Vertical(id="history-list"):
                yield FilterBox(
                    placeholder="Filter by Tracking ID, rule, source, #number…", id="history-filter",
                    compact=True,
                )
                yield HistoryTable(id="history-table")
            yield MergeDetail(id="history-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history-list").border_title = "Merge history"
        self.query_one(MergeDetail).show_entry(None, message=Text("Loading the history…"))
        self.load_page("")

    @property
    def filter_text(self) -> str:
        return self.query_one(FilterBox).value

    # -- loading ----------------------------------------------------------------

    @on(Input.Changed, "#history-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.load_page(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history", description="merge history")
    def load_page(self, text: str, *, before: int | None = None, after: int | None = None,
                  focus: int | None = None, at_end: bool = False) -> None:
        page = history_page(self.store, text, before=before, after=after, limit=HISTORY_PAGE)
        if not get_current_worker().is_cancelled:
            self.post_message(self.PageLoaded(text, page, focus, at_end))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.text != self.filter_text:
            return  # typed on since: a newer page is on its way
        page = message.page
        table = self.query_one(HistoryTable)
        table.show_entries(page.entries, newer=page.newer, older=page.older, focus=message.focus,
                           at_end=message.at_end)
        pane = self.query_one("#history-list")
        noun = "change" if page.total == 1 else "changes"
        if len(page.entries) < page.total:
            pane.border_subtitle = f"{len(page.entries)} of {page.total} {noun}"
        else:
            pane.border_subtitle = f"{page.total} {noun}"
        if not page.entries:
            text = message.text.strip()
            self.query_one(MergeDetail).show_entry(None, message=(
                join(Text("Nothing in the history matches"), literal(text, style="bold")) if text
                else Text("No merges yet: imports and reviewers' approvals make them.")
            ))
        else:
            self._show_detail()
        self.refresh_bindings()

    @on(HistoryTable.PageWanted)
    def _page_wanted(self, message: HistoryTable.PageWanted) -> None:
        table = self.query_one(HistoryTable)
        ids = [e.merge.merge_id for e in table.entries.values()]
        if not ids:
            return
        if message.older:
            self.load_page(self.filter_text, before=ids[-1])
        else:
            self.load_page(self.filter_text, after=ids[0], at_end=True)

    @on(DataTable.RowHighlighted, "#history-table")
    def _row_highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        self.query_one(MergeDetail).show_entry(self.query_one(HistoryTable).highlighted_entry)

    # -- keys -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            entry = self.query_one(HistoryTable).highlighted_entry
            return None if self._undoing or entry is None or not entry.can_undo else True
        if action == "focus_filter":
            return not isinstance(self.focused, FilterBox)
        return True

    def action_focus_filter(self) -> None:
        self.query_one(FilterBox).focus()

    def action_back(self) -> None:
        self.dismiss()

    def action_undo(self) -> None:
        entry = self.query_one(HistoryTable).highlighted_entry
        if self._undoing or entry is None or not entry.can_undo:
            return
        merge = entry.merge
        moved_from, moved_to = entry.moved
        if merge.action == "split":
            body = join(
                Text("The records moved to"), literal(moved_to, style="bold"),
                Text("go back to"), literal(moved_from, style="bold"),
                Text("and stay there: re-resolution will not split them again."),
            )
        else:
            body = join(
                literal(moved_from, style="bold"),
                Text("becomes a customer of its own again, with its records, apart from"),
                literal(moved_to, style="bold"),
                Text("for good: a never-merge keeps the two apart."),
            )
        body.no_wrap = False  # a paragraph: wrap it in the dialog

        def answered(go_ahead: bool | None) -> None:
            if go_ahead:
                self._undoing = True
                self.refresh_bindings()
                self.run_undo(entry)

        self.app.push_screen(
            ConfirmScreen(f"Undo {merge.action} #{merge.merge_id}?", body, confirm="Undo"), answered
        )

    # -- undo -------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="undo", description="undo")
    def run_undo(self, entry: HistoryEntry) -> None:
        try:
            undo_id, error = undo(self.store, entry.merge.merge_id), None
        except MergeError as exc:
            undo_id, error = None, str(exc)
        self.post_message(self.UndoFinished(entry, undo_id, error))

    @on(UndoFinished)
    def _undo_finished(self, message: UndoFinished) -> None:
        self._undoing = False
        merge = message.entry.merge
        if message.error is not None:
            self.notify(message.error, title=f"Cannot undo {merge.action} #{merge.merge_id}",
                        severity="error", markup=False, timeout=10)
            self.refresh_bindings()
            return
        self.notify(f"Undid {merge.action} #{merge.merge_id} (undo #{message.undo_id}).", markup=False)
        # Reload the page on show, which now has the undo at the top if it
        # is the newest page; the cursor stays on the change that was undone.
        table = self.query_one(HistoryTable)
        ids = [e.merge.merge_id for e in table.entries.values()]
        before = ids[0] + 1 if table.newer and ids else None
        self.load_page(self.filter_text, before=before, focus=merge.merge_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "undo":
            self._undoing = False
            self.refresh_bindings()
        what = "The undo" if event.worker.group == "undo" else "Loading the history"
        self.notify(f"{what} failed: {event.worker.error}", severity="error", markup=False, timeout=8)
