"""One page of search results: name, email, phone, town."""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding

from distil_tui.core.models import CustomerHit
from distil_tui.ui.text import literal
from distil_tui.ui.widgets.fitted import FittedTable

# (key, heading, share of the width left after the phone column)
_COLUMNS = (("name", "Name", 0.36), ("email", "Email", 0.42), ("phone", "Phone", 0.0), ("town", "Town", 0.22))
_PHONE_WIDTH = 15  # "+44 7700 900123" and every E.164 number fit


class ResultsTable(FittedTable):
    """A page of :class:`CustomerHit` rows keyed by Tracking ID."""

    COLUMNS = _COLUMNS

    BINDINGS = [
        # DataTable hides enter; show it, since opening a profile is the point.
        Binding("enter", "select_cursor", "Open", id="results.open", tooltip="Open this customer's profile"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._hits: dict[str, CustomerHit] = {}

    def action_cursor_up(self) -> None:
        # Up from the first row goes back to the search box, as down came here.
        if self.cursor_row <= 0:
            self.screen.focus_previous()
        else:
            super().action_cursor_up()

    @property
    def highlighted_hit(self) -> CustomerHit | None:
        key = self.highlighted_key
        return self._hits.get(key) if key is not None else None

    def show_hits(self, hits: Sequence[CustomerHit]) -> None:
        """Replace the rows with ``hits``; the cursor goes to the first."""
        self._hits = {hit.tracking_id: hit for hit in hits}
        self._fill()

    def _fill(self) -> None:
        self.clear()
        for hit in self._hits.values():
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
