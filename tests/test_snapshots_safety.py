"""Screenshots of the main screens over hostile data (``tests/hostile.py``):
markup, escape sequences, control characters, right-to-left text, emoji,
combining marks and very long values, shown literally with the layout
holding.  After a deliberate change, regenerate with
``pytest tests/test_snapshots_safety.py --snapshot-update`` and look at
every picture before accepting it."""

from __future__ import annotations

import pytest

from distil_tui.ui.app import DistilApp
from tests.hostile import seed_hostile_store
from tests.test_snapshots import typing


@pytest.fixture
def hostile_app(tmp_path):
    store = seed_hostile_store(tmp_path)
    yield DistilApp(store, cursor_blink=False)
    store.close()


def test_results_and_profile(snap_compare, hostile_app) -> None:
    """At 100x30: every hostile name in the results; the first profile."""
    assert snap_compare(hostile_app, terminal_size=(100, 30), run_before=typing())


def test_profile_events_and_merge_small_terminal(snap_compare, hostile_app) -> None:
    """At 80x24: the end of a merged profile: event types and properties
    holding markup and escapes, the merge and why (an anonymous id with
    markup), the Tracking ID at the bottom."""
    assert snap_compare(hostile_app, terminal_size=(80, 24),
                        run_before=typing(*"h1@hostile-names.org", "enter", "end"))


def test_long_values_small_terminal(snap_compare, hostile_app) -> None:
    """At 80x24: thousands of characters without a space, cut in every pane;
    the Tracking ID at the bottom of the profile."""
    assert snap_compare(hostile_app, terminal_size=(80, 24), run_before=typing(*"ccccc", "down", "enter"))


def test_emoji_and_right_to_left_profile(snap_compare, hostile_app) -> None:
    """At 100x30: a profile of emoji, ZWJ sequences, a flag and combining marks."""
    assert snap_compare(hostile_app, terminal_size=(100, 30),
                        run_before=typing(*"h4@hostile-names.org", "enter"))


def test_review_small_terminal(snap_compare, hostile_app) -> None:
    """At 80x24: a merge candidate between right-to-left and marked-up names."""
    assert snap_compare(hostile_app, terminal_size=(80, 24), run_before=typing("tab", "r"))


def test_data_panel(snap_compare, hostile_app) -> None:
    """At 100x30: the Data panel's cells cut inside their columns."""
    assert snap_compare(hostile_app, terminal_size=(100, 30), run_before=typing("tab", "d"))
