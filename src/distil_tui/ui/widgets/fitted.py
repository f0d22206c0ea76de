"""A DataTable whose column widths follow its own width."""

from __future__ import annotations

from rich.text import Text
from textual.events import Resize
from textual.widgets import DataTable


class FittedTable(DataTable):
    """Rows keyed by a string; column widths recomputed whenever the table's
    width changes, so that long values are cut with an ellipsis instead of
    pushing columns off screen, and the highlighted row stays highlighted.

    Subclasses give ``COLUMNS`` ((key, heading, ...) per column) and
    implement :meth:`_column_widths` and :meth:`_fill`.
    """

    DEFAULT_CSS = """
    FittedTable {
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
    }
    """

    COLUMNS: tuple[tuple, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._widths: tuple[int, ...] = ()

    def on_mount(self) -> None:
        self._set_columns(self._column_widths(self.scrollable_content_region.width))

    def on_resize(self, event: Resize) -> None:
        widths = self._column_widths(self.scrollable_content_region.width)
        if widths != self._widths:
            highlighted = self.highlighted_key
            self._set_columns(widths)
            self._fill()
            # Rebuilding the rows must not change which row is on show.
            if highlighted is not None:
                self.move_cursor(row=self.get_row_index(highlighted), animate=False)

    @property
    def highlighted_key(self) -> str | None:
        if not self.row_count or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def _column_widths(self, width: int) -> tuple[int, ...]:
        raise NotImplementedError

    def _fill(self) -> None:
        raise NotImplementedError

    def _set_columns(self, widths: tuple[int, ...]) -> None:
        self._widths = widths
        self.clear(columns=True)
        for (key, heading, *_), width in zip(self.COLUMNS, widths, strict=True):
            self.add_column(Text(heading), width=width, key=key)
