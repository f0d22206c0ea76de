"""The Data panel's table: a window of a few pages of customers over a
store of any size, with the chosen attributes as columns.

A Line API widget rather than a ``DataTable``: measured over a million
customers, a ``DataTable`` holding 300 rows spent 30-70 ms rebuilding its rows
for every page read and about 50 ms repainting a screenful of new cells (its
caches are dropped on every change), so paging down stalled frames for up to
400 ms.  Here a row's cells are rendered once, when the row first comes into
view, and a frame only joins and crops what is cached.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from distil_tui.core.attributes import Attribute
from distil_tui.core.data_view import DATA_PAGE, DataPage, DataRow
from distil_tui.ui.text import literal

WINDOW_PAGES = 3  # pages held at most; rows beyond are dropped and read again when wanted
PADDING = 1  # blank cells either side of a value

# Width of a column by attribute, before the table's width is shared out.
_WIDTHS = {
    "core_data.tracking_id": 26,
    "core_data.first_seen": 20,
    "core_data.last_seen": 20,
    "core_data.record_count": 7,
    "email_address": 28,
    "mobile_phone_no": 15,
    "date_of_birth": 10,
    "postcode": 9,
    "address_line_1": 22,
    "address_line_2": 16,
    "company_name": 18,
}
_TYPE_WIDTHS = {"date": 20, "number": 10, "text": 14}
_GROWS = {"text"}  # text columns share the spare width, or give some up
_MIN_WIDTH = 8


def column_width(attribute: Attribute) -> int:
    return _WIDTHS.get(attribute.name, _TYPE_WIDTHS.get(attribute.type, 14))


class DataGrid(ScrollView, can_focus=True):
    """Rows of :class:`DataRow`, at most :data:`WINDOW_PAGES` pages, under a
    heading line that stays in place; a cursor on one cell.

    As the cursor nears either end of the rows held, the grid asks for the
    next or previous page (:class:`PageWanted`); the screen reads it in a
    worker and hands it to :meth:`add_page`, which drops rows from the far
    end so that what is held stays small, and keeps the cursor and the view
    on the same customers.  ctrl+home and ctrl+end ask for the first and
    the last page of all.
    """

    DEFAULT_CSS = """
    DataGrid {
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        scrollbar-size: 1 1;
        &:focus {
            background-tint: $foreground 5%;
            & > .datagrid--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .datagrid--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .datagrid--even-row {
            background: $surface-lighten-1 50%;
        }
        &:dark > .datagrid--even-row {
            background: $surface-darken-1 40%;
        }
        & > .datagrid--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .datagrid--header-cursor {
            background: $accent-darken-1;
            color: $foreground;
        }
    }
    """

    COMPONENT_CLASSES = {"datagrid--header", "datagrid--even-row", "datagrid--cursor", "datagrid--header-cursor"}

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first_column", "First column", show=False),
        Binding("end", "last_column", "Last column", show=False),
        Binding("ctrl+home", "first", "First", id="data.first", show=False,
                tooltip="The first customers in this order"),
        Binding("ctrl+end", "last", "Last", id="data.last", show=False,
                tooltip="The last customers in this order"),
    ]

    cursor_row: reactive[int] = reactive(0, repaint=False, init=False)
    cursor_column: reactive[int] = reactive(0, repaint=False, init=False)

    class PageWanted(Message):
        """The rows after ``anchor`` (``forward``) or before it; with no
        anchor, the first page (``forward``) or the last."""

        def __init__(self, anchor: DataRow | None, forward: bool) -> None:
            super().__init__()
            self.anchor = anchor
            self.forward = forward

    def __init__(self, *, page_size: int = DATA_PAGE, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.page_size = page_size
        # Ask for the next page this many rows before the edge of what is held.
        self.margin = page_size // 2
        self.rows_held: list[DataRow] = []
        self.attributes: tuple[Attribute, ...] = ()
        self.sort: str | None = None
        self.descending = False
        self.before = False  # customers come before the first row held
        self.after = False  # ... after the last
        self.waiting = False  # a page was asked for and has not come
        self._widths: list[int] = []
        self._cells: dict[int, list[Strip]] = {}  # customer id -> its rendered cells
        self._header: list[Strip] = []

    # -- reading --------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows_held)

    @property
    def highlighted_row(self) -> DataRow | None:
        if not 0 <= self.cursor_row < len(self.rows_held):
            return None
        return self.rows_held[self.cursor_row]

    @property
    def highlighted_attribute(self) -> Attribute | None:
        if not 0 <= self.cursor_column < len(self.attributes):
            return None
        return self.attributes[self.cursor_column]

    @property
    def headings(self) -> list[str]:
        """The column headings as shown (with the sort's arrow)."""
        return [self._heading(a).plain for a in self.attributes]

    def cell_texts(self, row: int) -> list[str]:
        """A row's values as shown (before being cut to the column width)."""
        return [self._cell(value, a).plain for value, a in zip(self.rows_held[row].values, self.attributes,
                                                               strict=True)]

    # -- filling --------------------------------------------------------------

    def show(self, attributes: Sequence[Attribute], page: DataPage, *, sort: str | None,
             descending: bool, at_end: bool = False, column: str | None = None) -> None:
        """Start again with ``page``: new columns, order or customers.  The
        cursor goes to the first row (the last ``at_end``) and the column of
        attribute ``column`` (else the one it was on) if it is shown."""
        was = self.highlighted_attribute
        column = column or (was.name if was is not None else None)
        self.attributes = tuple(attributes)
        self.sort, self.descending = sort, descending
        self.rows_held = list(page.rows)
        self.before, self.after = page.before, page.after
        self.waiting = False
        self._layout()
        names = [a.name for a in self.attributes]
        self.set_reactive(DataGrid.cursor_column, names.index(column) if column in names else 0)
        self.set_reactive(DataGrid.cursor_row, len(self.rows_held) - 1 if at_end and self.rows_held else 0)
        self.scroll_to(x=self.scroll_x, y=0 if not at_end else self.max_scroll_y, animate=False, immediate=True)
        self._scroll_to_cursor()
        self.refresh()

    def add_page(self, page: DataPage, forward: bool) -> None:
        """Add the page after (``forward``) or before the rows held, and
        drop rows from the other end beyond :data:`WINDOW_PAGES` pages."""
        self.waiting = False
        if not page.rows:
            # Nothing there any more (deleted, merged meanwhile).
            if forward:
                self.after = False
            else:
                self.before = False
            return
        limit = WINDOW_PAGES * self.page_size
        if forward:
            rows = self.rows_held + list(page.rows)
            dropped = max(len(rows) - limit, 0)
            kept, gone = rows[dropped:], rows[:dropped]
            self.after = page.after
            self.before = self.before or dropped > 0
            shift = -dropped
        else:
            rows = list(page.rows) + self.rows_held
            dropped = max(len(rows) - limit, 0)
            kept, gone = rows[: len(rows) - dropped], rows[len(rows) - dropped:]
            self.before = page.before
            self.after = self.after or dropped > 0
            shift = len(page.rows)
        for row in gone:
            self._cells.pop(row.customer_id, None)
        self.rows_held = kept
        # The same customers stay under the cursor and on screen.
        self.virtual_size = Size(self.virtual_size.width, len(kept) + 1)
        self.scroll_to(y=max(self.scroll_y + shift, 0), animate=False, immediate=True)
        self.set_reactive(DataGrid.cursor_row, min(max(self.cursor_row + shift, 0), len(kept) - 1))
        self.refresh()
        self._want_page()

    def _layout(self) -> None:
        """Column widths for the width on show; cached cells dropped."""
        self._widths = self._column_widths()
        self._cells.clear()
        header_style = self.get_component_rich_style("datagrid--header")
        self._header = [self._render_cell(self._heading(a), w, header_style)
                        for a, w in zip(self.attributes, self._widths, strict=True)]
        total = sum(self._widths) + 2 * PADDING * len(self._widths)
        self.virtual_size = Size(total, len(self.rows_held) + 1)

    def _heading(self, attribute: Attribute) -> Text:
        heading = literal(attribute.label)  # a custom attribute's name comes from the data
        if attribute.name == self.sort:
            heading.append(" ▼" if self.descending else " ▲", style="bold")
        return heading

    @staticmethod
    def _cell(value: object, attribute: Attribute) -> Text:
        text = literal(value)
        if attribute.type == "number":
            text.justify = "right"
        return text

    def _render_cell(self, text: Text, width: int, style: Style | None = None) -> Strip:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
        text.align("right" if text.justify == "right" else "left", width)
        pad = Segment(" " * PADDING)
        segments = [pad, *text.render(self.app.console), pad]
        strip = Strip(segments, width + 2 * PADDING)
        return strip.apply_style(style) if style is not None else strip

    def _row_cells(self, row: DataRow) -> list[Strip]:
        cells = self._cells.get(row.customer_id)
        if cells is None:
            cells = [self._render_cell(self._cell(value, a), w)
                     for value, a, w in zip(row.values, self.attributes, self._widths, strict=True)]
            self._cells[row.customer_id] = cells
        return cells

    def _column_widths(self) -> list[int]:
        widths = [column_width(a) for a in self.attributes]
        spare = self.scrollable_content_region.width - sum(widths) - 2 * PADDING * len(widths)
        growing = [n for n, a in enumerate(self.attributes) if a.type in _GROWS]
        if spare > 0 and growing:
            share, extra = divmod(spare, len(growing))
            for k, n in enumerate(growing):
                widths[n] += share + (1 if k < extra else 0)
        elif spare < 0 and growing:
            # Too wide: text columns give up width in proportion to what they
            # have beyond a minimum (values are cut with an ellipsis), before
            # the table scrolls sideways.
            slack = {n: widths[n] - _MIN_WIDTH for n in growing if widths[n] > _MIN_WIDTH}
            total = sum(slack.values())
            cut = min(-spare, total)
            for n, room in slack.items():
                widths[n] -= cut * room // total
            left = cut - sum(cut * room // total for room in slack.values())
            for n in sorted(slack, key=lambda n: -widths[n])[:left]:
                widths[n] -= 1  # what rounding down left over
        return widths

    def on_resize(self, event: events.Resize) -> None:
        if self.attributes:
            self._layout()
            self._scroll_to_cursor()
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # A theme change restyles the cached cells.
        if self.attributes and self.is_mounted:
            self._layout()

    # -- rendering ------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            cells = list(self._header)
            if 0 <= self.cursor_column < len(cells) and self.rows_held:
                cells[self.cursor_column] = cells[self.cursor_column].apply_style(
                    self.get_component_rich_style("datagrid--header-cursor"))
            line = Strip.join(cells)
            style = base + self.get_component_rich_style("datagrid--header")
            return line.crop_extend(scroll_x, scroll_x + width, style)
        index = scroll_y + y - 1
        if not 0 <= index < len(self.rows_held):
            return Strip.blank(width, base)
        cells = self._row_cells(self.rows_held[index])
        style = base
        if index % 2:
            style = base + self.get_component_rich_style("datagrid--even-row")
        if index == self.cursor_row and 0 <= self.cursor_column < len(cells):
            cells = list(cells)
            cells[self.cursor_column] = cells[self.cursor_column].apply_style(
                style + self.get_component_rich_style("datagrid--cursor"))
        line = Strip.join(cells).apply_style(style)
        return line.crop_extend(scroll_x, scroll_x + width, style)

    # -- the cursor -----------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._want_page()

    def watch_cursor_column(self) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)  # the heading stays
        y = self.scroll_y
        if self.cursor_row < y:
            y = self.cursor_row
        elif self.cursor_row >= y + visible:
            y = self.cursor_row - visible + 1
        x = self.scroll_x
        if self._widths and 0 <= self.cursor_column < len(self._widths):
            start = sum(self._widths[: self.cursor_column]) + 2 * PADDING * self.cursor_column
            end = start + self._widths[self.cursor_column] + 2 * PADDING
            width = self.scrollable_content_region.width
            if start < x:
                x = start
            elif end > x + width:
                x = end - width
        if (x, y) != (self.scroll_x, self.scroll_y):
            self.scroll_to(x=x, y=y, animate=False, immediate=True)

    def move_cursor(self, *, row: int | None = None, column: int | None = None) -> None:
        if row is not None and self.rows_held:
            self.cursor_row = min(max(row, 0), len(self.rows_held) - 1)
        if column is not None and self.attributes:
            self.cursor_column = min(max(column, 0), len(self.attributes) - 1)

    def action_move(self, rows: int, columns: int) -> None:
        self.move_cursor(row=self.cursor_row + rows if rows else None,
                         column=self.cursor_column + columns if columns else None)

    def action_page(self, direction: int) -> None:
        step = max(self.scrollable_content_region.height - 2, 1)
        self.move_cursor(row=self.cursor_row + direction * step)

    def action_first_column(self) -> None:
        self.move_cursor(column=0)

    def action_last_column(self) -> None:
        self.move_cursor(column=len(self.attributes) - 1)

    def action_first(self) -> None:
        if self.before:
            self.waiting = True
            self.post_message(self.PageWanted(None, forward=True))
        else:
            self.move_cursor(row=0)

    def action_last(self) -> None:
        if self.after:
            self.waiting = True
            self.post_message(self.PageWanted(None, forward=False))
        else:
            self.move_cursor(row=len(self.rows_held) - 1)

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows_held):
            self.move_cursor(row=row)
        x = int(self.scroll_x) + event.x
        for n, width in enumerate(self._widths):
            x -= width + 2 * PADDING
            if x < 0:
                self.move_cursor(column=n)
                break

    # -- paging ---------------------------------------------------------------

    def _want_page(self) -> None:
        if self.waiting or not self.rows_held:
            return
        if self.after and self.cursor_row >= len(self.rows_held) - self.margin:
            self.waiting = True
            self.post_message(self.PageWanted(self.rows_held[-1], forward=True))
        elif self.before and self.cursor_row < self.margin:
            self.waiting = True
            self.post_message(self.PageWanted(self.rows_held[0], forward=False))
