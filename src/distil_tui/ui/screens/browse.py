"""The first screen: search customers as you type and read their profiles."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState, get_current_worker

from distil_tui.core.models import CustomerHit, CustomerProfile
from distil_tui.core.profiles import get_profile
from distil_tui.core.search import search_customers
from distil_tui.core.store import Store
from distil_tui.ui.text import join, literal
from distil_tui.ui.widgets import ProfileView, ResultsTable, SearchBox
from distil_tui.ui.widgets.footer import Footer

PAGE_SIZE = 50  # never more than a page of rows in the table
EVENTS_PAGE = 50  # events shown at a time in the profile
WIDE_LAYOUT_WIDTH = 150  # from here results and profile sit side by side


class BrowseScreen(Screen[None]):
    """Search box, one page of results, and the highlighted customer's profile.

    Core calls run in thread workers that post a message; the handlers below
    are the only code that changes the widgets.
    """

    AUTO_FOCUS = "#search"

    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="browse.search", tooltip="Go to the search box"),
        Binding("escape", "focus_search", "Back", id="browse.back", tooltip="Back to the search box"),
        # Plain q quits wherever it is not text: the search box types it.
        Binding("q", "app.quit", "Quit", id="browse.quit", show=False),
        Binding("y", "copy_tracking_id", "Copy ID", id="browse.copy_tracking_id",
                tooltip="Copy the Tracking ID of the customer on show to the clipboard"),
        # Another terminal's import (headless) changes the store unseen.
        Binding("f5", "refresh", "Refresh", id="browse.refresh", show=False,
                tooltip="Search again and reload the customer on show, with what imports brought since"),
        # The event timeline's pages; the section's heading names the keys.
        Binding("right_square_bracket", "events_page(1)", "Older events", id="browse.older_events",
                show=False, tooltip="The next page of the customer's events, older ones"),
        Binding("left_square_bracket", "events_page(-1)", "Newer events", id="browse.newer_events",
                show=False, tooltip="The previous page of the customer's events, newer ones"),
    ]

    class SearchFinished(Message):
        """Results for ``query``, which may no longer be what is typed."""

        def __init__(self, query: str, hits: tuple[CustomerHit, ...]) -> None:
            super().__init__()
            self.query = query
            self.hits = hits

    class ProfileLoaded(Message):
        """The profile for ``key``; ``None`` when it is no longer in the store."""

        def __init__(self, key: str, profile: CustomerProfile | None) -> None:
            super().__init__()
            self.key = key
            self.profile = profile

    def __init__(self, store: Store, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.store = store
        self._cursor_blink = cursor_blink
        self._profile_key: str | None = None  # the customer the profile pane is for
        self._kept_long_lived = False  # see DistilApp.keep_long_lived
        self.search_stale = False  # an import changed the data: search again on resume

    def compose(self) -> ComposeResult:
        search = SearchBox(
            placeholder="Search by name, email, phone or Tracking ID", id="search", compact=True
        )
        search.cursor_blink = self._cursor_blink
        with Container(id="panes"):
            with Vertical(id="finder"):
                yield search
                yield ResultsTable(id="results")
            yield ProfileView(id="profile")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#finder").border_title = "Customers"
        self.run_search("")

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= WIDE_LAYOUT_WIDTH, "-wide")

    def on_screen_resume(self) -> None:
        if self.search_stale:
            self.search_stale = False
            self.run_search(self.query_one(SearchBox).value)
        # Back from review or history: the customer on show may have been
        # merged, split or separated meanwhile.
        if self._profile_key is not None:
            key, self._profile_key = self._profile_key, None
            self.load_profile(key)

    # -- keys -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Footer shows only the keys that do something where focus is.
        if action == "focus_search":
            return not isinstance(self.focused, SearchBox)
        if action == "events_page":
            profile = self.query_one(ProfileView).profile
            if profile is None or isinstance(self.focused, SearchBox):
                return False
            offset = profile.events_offset + int(parameters[0]) * EVENTS_PAGE
            return 0 <= offset < profile.event_count
        if action == "copy_tracking_id":
            # Typed as text in the search box; nothing to copy without a profile.
            return not isinstance(self.focused, SearchBox) and self.query_one(ProfileView).profile is not None
        return True

    def action_focus_search(self) -> None:
        self.query_one(SearchBox).focus()

    def action_refresh(self) -> None:
        self.run_search(self.query_one(SearchBox).value)

    def action_events_page(self, step: int) -> None:
        profile = self.query_one(ProfileView).profile
        if profile is not None and self._profile_key is not None:
            self.fetch_profile(self._profile_key, max(profile.events_offset + step * EVENTS_PAGE, 0))

    def action_copy_tracking_id(self) -> None:
        profile = self.query_one(ProfileView).profile
        if profile is None:
            return
        self.app.copy_to_clipboard(profile.tracking_id)
        self.notify(f"Copied {profile.tracking_id}", markup=False, timeout=3)

    # -- search -----------------------------------------------------------

    @on(SearchBox.Changed, "#search")
    def _search_changed(self, event: SearchBox.Changed) -> None:
        self.run_search(event.value)

    @on(SearchBox.Submitted, "#search")
    def _search_submitted(self) -> None:
        hit = self.query_one(ResultsTable).highlighted_hit
        if hit is not None:
            self.open_profile(hit.tracking_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search", description="search")
    def run_search(self, query: str) -> None:
        hits = tuple(search_customers(self.store, query, limit=PAGE_SIZE))
        if not get_current_worker().is_cancelled:
            self.post_message(self.SearchFinished(query, hits))

    @on(SearchFinished)
    def _show_results(self, message: SearchFinished) -> None:
        if message.query != self.query_one(SearchBox).value:
            return  # typed on since: a newer search is on its way
        if message.query.strip() and not self._kept_long_lived:
            self._kept_long_lived = True  # the search vocabulary is loaded now
            self.app.keep_long_lived()
        self.query_one(ResultsTable).show_hits(message.hits)
        finder = self.query_one("#finder")
        finder.border_title = "Recently seen customers" if not message.query.strip() else "Customers"
        count = len(message.hits)
        finder.border_subtitle = (
            f"first {count}" if count >= PAGE_SIZE else f"{count} customer{'s' if count != 1 else ''}"
        )
        if message.hits:
            self.load_profile(message.hits[0].tracking_id)
        else:
            self._profile_key = None
            if message.query.strip():
                text = join(Text("No customer matches"), literal(message.query, style="bold"))
            else:
                text = Text(
                    "The store has no customers yet. Import a file with\n"
                    "  distil-tui import FILE --source NAME\n"
                    "or try the demo data set with\n"
                    "  distil-tui demo"
                )
            self.query_one(ProfileView).show_message(text)

    # -- profile ----------------------------------------------------------

    @on(DataTable.RowHighlighted, "#results")
    def _result_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # A highlight from rows since replaced by a newer search is stale.
        hit = self.query_one(ResultsTable).highlighted_hit
        if hit is not None and hit.tracking_id == event.row_key.value:
            self.load_profile(hit.tracking_id)

    @on(DataTable.RowSelected, "#results")
    def _result_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_profile(event.row_key.value)

    def open_profile(self, key: str) -> None:
        """Show ``key``'s profile and move focus into it for reading."""
        self.load_profile(key)
        self.query_one(ProfileView).body.focus()

    def load_profile(self, key: str) -> None:
        if key == self._profile_key:
            return
        self._profile_key = key
        self.fetch_profile(key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="profile", description="profile")
    def fetch_profile(self, key: str, events_offset: int = 0) -> None:
        profile = get_profile(self.store, key, events=EVENTS_PAGE, events_offset=events_offset)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ProfileLoaded(key, profile))

    @on(ProfileLoaded)
    def _show_profile(self, message: ProfileLoaded) -> None:
        if message.key != self._profile_key:
            return  # the cursor has moved on
        view = self.query_one(ProfileView)
        if message.profile is None:
            view.show_message(join(literal(message.key, style="bold"), Text("is no longer in the store.")))
        else:
            view.show_profile(message.profile)

    # -- failures ---------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        what = "Search" if event.worker.group == "search" else "Loading the profile"
        if event.worker.group == "profile":
            # Let the next highlight of this customer try again.
            self._profile_key = None
        self.notify(f"{what} failed: {event.worker.error}", severity="error", markup=False, timeout=8)
