"""Data: every customer, or a Segment's, as a table of chosen attributes,
read a page at a time in any column's order; segments and exports from here."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from distil_tui.core.attributes import Attribute, catalog
from distil_tui.core.data_view import DATA_PAGE, DataPage, DataRow, data_page
from distil_tui.core.segments import Segment, count
from distil_tui.core.store import Store
from distil_tui.ui.screens.browse import BrowseScreen
from distil_tui.ui.screens.column_chooser import ColumnChooser
from distil_tui.ui.screens.data_export import ExportScreen
from distil_tui.ui.screens.segments import ALL_CUSTOMERS, SegmentsScreen
from distil_tui.ui.widgets.data_grid import DataGrid
from distil_tui.ui.widgets.footer import Footer


class DataScreen(Screen[None]):
    """The Data panel.  Pages, counts and the attribute catalog are read in
    thread workers that post messages; a change of columns, order or
    segment starts a new *generation*, and messages of an older one are
    dropped."""

    AUTO_FOCUS = "#data-grid"
    PAGE = DATA_PAGE  # rows read at a time (tests make it small)

    BINDINGS = [
        Binding("s", "sort", "Sort", id="data.sort",
                tooltip="Sort by the column under the cursor; again to reverse the order"),
        Binding("c", "columns", "Columns", id="data.columns", tooltip="Choose the attributes shown as columns"),
        Binding("f", "segments", "Segment", id="data.segments",
                tooltip="Show all customers or a segment; create, edit, rename, delete segments"),
        Binding("e", "export", "Export", id="data.export",
                tooltip="Export these customers with these columns to CSV or JSON Lines"),
        Binding("enter", "profile", "Profile", id="data.profile",
                tooltip="Open the highlighted customer's profile on the customers screen"),
        Binding("escape", "back", "Back", id="data.back", tooltip="Back to the customers"),
    ]

    class CatalogLoaded(Message):
        def __init__(self, attributes: list[Attribute]) -> None:
            super().__init__()
            self.attributes = attributes

    class PageLoaded(Message):
        """A page for generation ``generation``: a fresh start (``anchor``
        None) or the rows after/before ``anchor``."""

        def __init__(self, generation: int, page: DataPage, anchor: DataRow | None, forward: bool,
                     column: str | None) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.anchor = anchor
            self.forward = forward
            self.column = column

    class Counted(Message):
        def __init__(self, generation: int, total: int) -> None:
            super().__init__()
            self.generation = generation
            self.total = total

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.catalog: list[Attribute] = []
        self.columns: list[str] = []  # attribute names shown, in order
        self.sort: str | None = None
        self.descending = False
        self.segment: Segment | None = None
        self.total: int | None = None
        self.generation = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="data-pane"):
            yield DataGrid(page_size=self.PAGE, id="data-grid")
        yield Footer()

    def on_mount(self) -> None:
        # Paging allocates steadily (rows, rendered cells), which sets off
        # full collections of the cyclic garbage collector, each walking
        # every object the app holds: frames stalled for up to 224 ms
        # (benchmarks/data_panel.py); out of its sight, 78 ms at most.
        self.app.keep_long_lived()
        pane = self.query_one("#data-pane")
        pane.border_title = "Data · all customers"
        pane.border_subtitle = "loading…"
        self.load_catalog()

    # -- state ------------------------------------------------------------------

    @property
    def grid(self) -> DataGrid:
        return self.query_one(DataGrid)

    @property
    def shown_attributes(self) -> list[Attribute]:
        by_name = {a.name: a for a in self.catalog}
        return [by_name[name] for name in self.columns if name in by_name]

    def reload(self, *, column: str | None = None, at_end: bool = False) -> None:
        """Start again from the first page (the last ``at_end``) with the
        columns, order and segment as they are now; count the customers."""
        self.generation += 1
        self.total = None
        if column is None and (attribute := self.grid.highlighted_attribute) is not None:
            column = attribute.name
        self.grid.waiting = True
        self.read_page(self.generation, None, not at_end, column)
        self.count_customers(self.generation, self.segment)
        self._show_heading()

    def _show_heading(self) -> None:
        pane = self.query_one("#data-pane")
        pane.border_title = f"Data · {self.segment.name}" if self.segment else "Data · all customers"
        parts = []
        if self.total is not None:
            parts.append(f"{self.total:,} customer{'s' if self.total != 1 else ''}")
        else:
            parts.append("counting…")
        if self.sort is not None:
            label = next((a.label for a in self.catalog if a.name == self.sort), self.sort)
            parts.append(f"by {label} {'descending' if self.descending else 'ascending'}")
        pane.border_subtitle = " · ".join(parts)

    # -- workers ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-catalog", description="attributes")
    def load_catalog(self) -> None:
        self.post_message(self.CatalogLoaded(catalog(self.store)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-page", description="data page")
    def read_page(self, generation: int, anchor: DataRow | None, forward: bool, column: str | None) -> None:
        page = data_page(
            self.store, self.columns, sort=self.sort, descending=self.descending, segment=self.segment,
            after=anchor if forward else None, before=None if forward else anchor,
            last=anchor is None and not forward, limit=self.PAGE,
        )
        if not get_current_worker().is_cancelled:
            self.post_message(self.PageLoaded(generation, page, anchor, forward, column))

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-count", description="customer count")
    def count_customers(self, generation: int, segment: Segment | None) -> None:
        total = count(self.store, segment)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Counted(generation, total))

    # -- messages ---------------------------------------------------------------

    @on(CatalogLoaded)
    def _catalog_loaded(self, message: CatalogLoaded) -> None:
        self.catalog = message.attributes
        if not self.columns:
            self.columns = [a.name for a in self.catalog if a.default_visible]
        else:
            known = {a.name for a in self.catalog}
            self.columns = [name for name in self.columns if name in known]
        self.reload()
        self.refresh_bindings()  # sort, columns and export need the catalog

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self.generation:
            return
        grid = self.grid
        if message.anchor is None:
            grid.show(self.shown_attributes, message.page, sort=self.sort, descending=self.descending,
                      at_end=not message.forward, column=message.column)
            self.refresh_bindings()  # enter needs a customer
        else:
            grid.add_page(message.page, message.forward)

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if message.generation == self.generation:
            self.total = message.total
            self._show_heading()

    @on(DataGrid.PageWanted)
    def _page_wanted(self, message: DataGrid.PageWanted) -> None:
        self.read_page(self.generation, message.anchor, message.forward, None)

    # -- keys -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("sort", "columns", "export"):
            return bool(self.catalog) or None
        if action == "profile":
            return self.grid.highlighted_row is not None or None
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_profile(self) -> None:
        row = self.grid.highlighted_row
        if row is None:
            return
        self.dismiss()
        browse = self.app.screen_stack[0]
        if isinstance(browse, BrowseScreen):
            browse.open_profile(row.tracking_id)

    def action_sort(self) -> None:
        attribute = self.grid.highlighted_attribute
        if attribute is None:
            return
        if self.sort == attribute.name:
            self.descending = not self.descending
        else:
            self.sort, self.descending = attribute.name, False
        self.reload(column=attribute.name)

    def action_columns(self) -> None:
        def chosen(columns: list[str] | None) -> None:
            if columns is None or columns == self.columns:
                return
            self.columns = columns
            if self.sort is not None and self.sort not in columns:
                self.sort, self.descending = None, False  # the order follows what is on show
            self.reload()

        self.app.push_screen(ColumnChooser(self.catalog, self.columns), chosen)

    def action_segments(self) -> None:
        def chosen(choice: Segment | str | None) -> None:
            if choice is None:
                return
            segment = None if choice == ALL_CUSTOMERS else choice
            if segment != self.segment:
                self.segment = segment
                self.reload()

        self.app.push_screen(SegmentsScreen(self.store, self.catalog, self.segment), chosen)

    def action_export(self) -> None:
        self.app.push_screen(ExportScreen(self.store, self.segment, self.shown_attributes))

    # -- failures ---------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "data-page":
            self.grid.waiting = False
        what = {"data-page": "Reading customers", "data-count": "Counting customers",
                "data-catalog": "Reading the attributes"}.get(event.worker.group or "", "The Data panel")
        self.notify(f"{what} failed: {event.worker.error}", severity="error", markup=False, timeout=8)
        if event.worker.group == "data-catalog":
            self.query_one("#data-pane").border_subtitle = "no attributes"
