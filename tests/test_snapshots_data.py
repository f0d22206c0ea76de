"""Screenshots of the Data panel and its column chooser, compared with
accepted SVGs in ``tests/__snapshots__/``.  After a deliberate change,
regenerate with ``pytest tests/test_snapshots_data.py --snapshot-update``
and look at them.

The store is seeded from fixed files with a frozen clock (see conftest), and
the app runs without a blinking cursor, so nothing differs between runs."""

from __future__ import annotations

from tests.test_snapshots import typing


def test_data_panel(snap_compare, make_ui_app) -> None:
    """At 100x30: every customer with the default columns (no Tracking ID),
    the count, markup and an escape sequence shown as typed, long values cut."""
    assert snap_compare(make_ui_app(), terminal_size=(100, 30), run_before=typing("tab", "d"))


def test_data_panel_sorted_small_terminal(snap_compare, make_ui_app) -> None:
    """At 80x24: sorted by town, descending (s twice on the Town column);
    the heading's arrow and the subtitle say so."""
    assert snap_compare(make_ui_app(), terminal_size=(80, 24),
                        run_before=typing("tab", "d", "right", "right", "right", "right", "s", "s"))


def test_column_chooser(snap_compare, make_ui_app) -> None:
    """At 100x30: every attribute (standard, core data, the custom
    loyalty_tier), the shown ones ticked, the Tracking ID not."""
    assert snap_compare(make_ui_app(), terminal_size=(100, 30), run_before=typing("tab", "d", "c"))
