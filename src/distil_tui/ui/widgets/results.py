"""One page of search results: name, email, phone, town."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import DataTable

from distil_tui.core.models import CustomerHit
from distil_tui.ui.text import literal

# (key, heading, share of the width left after the phone column)
_COLUMNS = (("name", "Name", 0.36), ("email", "Email", 0.42), ("phone", "Phone", 0.0), ("town", "Town", 0.22))
_PHONE_WIDTH = 15  # "+44 7700 900123" and every E.164 number fit


class ResultsTable(DataTable):
    """A page of :class:`CustomerHit` rows keyed by Tracking ID.

    Column widths follow the table's width so that long values are cut with
    an ellipsis instead of pushing columns off screen.
    """

    DEFAULT_CSS = """
    ResultsTable {
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        # DataTable hides enter; show it, since opening a profile is the point.
        Binding("enter", "select_cursor", "Open", id="results.open", tooltip="Open this customer's profile"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._hits: dict[str, CustomerHit] = {}
        self._widths: tuple[int, ...] = ()

    def on_mount(self) -> None:
        self._set_columns(self._column_widths(self.scrollable_content_region.width))

    def on_resize(self, event: Resize) -> None:
        widths = self._column_widths(self.scrollable_content_region.width)
        if widths != self._widths:
            highlighted = self.highlighted_hit
            self._set_columns(widths)
            self._fill(list(self._hits.values()))
            # Rebuilding the rows must not change which customer is on show.
            if highlighted is not None:
                self.move_cursor(row=self.get_row_index(highlighted.tracking_id), animate=False)

    def action_cursor_up(self) -> None:
        # Up from the first row goes back to the search box, as down came here.
        if self.cursor_row <= 0:
            self.screen.focus_previous()
        else:
            super().action_cursor_up()

    @property
    def highlighted_hit(self) -> CustomerHit | None:
        if not self._hits or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self._hits.get(row_key.value or "")

    def show_hits(self, hits: Sequence[CustomerHit]) -> None:
        """Replace the rows with ``hits``; the cursor goes to the first."""
        self._hits = {hit.tracking_id: hit for hit in hits}
        self._fill(list(self._hits.values()))

    def _fill(self, hits: list[CustomerHit]) -> None:
        self.clear()
        for hit in hits:
            self.add_row(
                literal(hit.display_name),
                literal(hit.email_address),
                literal(hit.mobile_phone_no),
                literal(hit.town),
                key=hit.tracking_id,
            )

    def _column_widths(self, width: int) -> tuple[int, ...]:
        padding = 2 * self.cell_padding * len(_COLUMNS)
        phone = _PHONE_WIDTH
        rest = max(width - padding - phone, 12)
        name, email, town = (max(int(rest * share), 4) for _, _, share in _COLUMNS if share)
        # Give rounding leftovers to the email column, the longest values.
        email += max(rest - name - email - town, 0)
        return (name, email, phone, town)

    def _set_columns(self, widths: tuple[int, ...]) -> None:
        self._widths = widths
        self.clear(columns=True)
        for (key, heading, _), width in zip(_COLUMNS, widths):
            self.add_column(Text(heading), width=width, key=key)
