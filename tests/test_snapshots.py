"""Screenshots of the browse screen, compared with accepted SVGs in
``tests/__snapshots__/``.  After a deliberate change, regenerate with
``pytest tests/test_snapshots.py --snapshot-update`` and look at the result.

The store is seeded from fixed files with a frozen clock (see conftest), and
the app runs without a blinking cursor, so nothing differs between runs.
"""

from __future__ import annotations

from textual.pilot import Pilot


async def settle(pilot: Pilot) -> None:
    """Wait for the search and the profile load it triggers."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def typing(*keys: str):
    """A ``run_before`` that presses ``keys`` one at a time, letting each
    search and profile load land, as a person typing would."""

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_first_screen(snap_compare, make_ui_app) -> None:
    """Recently seen customers; the first one's profile; focus in the search box."""
    assert snap_compare(make_ui_app(), terminal_size=(100, 30), run_before=typing())


def test_customer_selected_small_terminal(snap_compare, make_ui_app) -> None:
    """At 80x24: searched "ada", moved to the results and opened the first."""
    assert snap_compare(
        make_ui_app(), terminal_size=(80, 24), run_before=typing(*"ada", "down", "enter")
    )


def test_profile_end_small_terminal(snap_compare, make_ui_app) -> None:
    """At 80x24: the end of a merged customer's profile: events, the merge and
    why, the retired Tracking ID, and the Tracking ID at the bottom."""
    assert snap_compare(
        make_ui_app(), terminal_size=(80, 24), run_before=typing(*"ada", "enter", "end")
    )


def test_data_shown_literally(snap_compare, make_ui_app) -> None:
    """At 80x24: markup and an escape sequence in the results shown as text;
    a customer with very long values selected: cut with an ellipsis, nothing
    overflowing."""
    assert snap_compare(make_ui_app(), terminal_size=(80, 24), run_before=typing("tab", "down"))


def test_help_lists_the_keys_of_the_screen(snap_compare, make_ui_app) -> None:
    """At 100x30: F1 over a customer's profile: every key of the browse
    screen with what it does."""
    assert snap_compare(
        make_ui_app(), terminal_size=(100, 30), run_before=typing(*"ada", "down", "f1")
    )
