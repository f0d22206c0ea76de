"""Pilot tests of the review and history screens: what a reviewer types, what
they see, and what the store holds afterwards (checked through the core)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from distil_tui.core.merges import approve, list_candidates, list_merges
from distil_tui.core.profiles import get_profile
from distil_tui.core.schema import T_NEVER
from distil_tui.ui.screens import BrowseScreen, ConfirmScreen, HistoryScreen, ReviewScreen
from distil_tui.ui.widgets import ComparisonTable, SearchBox
from distil_tui.ui.widgets.history import HistoryTable, MergeDetail
from tests.test_ui import pilot_test, settle

SIZE = (100, 30)


def text_of(widget: Widget) -> str:
    """A widget's own lines as shown on screen (cut values included)."""
    crop = Region(0, 0, widget.outer_size.width, widget.outer_size.height)
    return "\n".join(strip.text.rstrip() for strip in widget.render_lines(crop))


def review_text(pilot: Pilot) -> str:
    screen = pilot.app.screen
    return "\n".join(text_of(w) for w in (
        screen.query_one("#review-summary"), screen.query_one(ComparisonTable), screen.query_one("#review-status"),
    ))


def subtitle(pilot: Pilot) -> str:
    return str(pilot.app.screen.query_one("#review").border_subtitle)


def pending(store) -> list[int]:
    return [c.candidate_id for c in list_candidates(store)]


def never_merge_count(store) -> int:
    with store.read() as conn:
        return len(conn.execute(select(T_NEVER.c.id)).all())


def one_customer(store, a: str, b: str) -> bool:
    return get_profile(store, a).tracking_id == get_profile(store, b).tracking_id


async def open_view(pilot: Pilot, key: str) -> None:
    """Leave the search box (where letters type), then open the view."""
    await settle(pilot)
    await pilot.press("tab", key)
    await settle(pilot)


def current_id(pilot: Pilot) -> int:
    return pilot.app.screen.current_id


def history_ids(pilot: Pilot) -> list[int]:
    table = pilot.app.screen.query_one(HistoryTable)
    return [entry.merge.merge_id for entry in table.entries.values()]


# -- review --------------------------------------------------------------------------


@pilot_test
async def test_r_opens_review_with_the_most_likely_candidate_side_by_side(make_review_app, review_store) -> None:
    queue = list_candidates(review_store)
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        assert isinstance(app.screen, ReviewScreen)
        assert current_id(pilot) == queue[0].candidate_id
        assert subtitle(pilot) == f"1 of {len(queue)} to review"
        text = review_text(pilot)
        assert "Held: both identified" in text and "Probability > 0.9999" in text
        assert f"A {queue[0].a.tracking_id} shop S5" in text
        assert f"B {queue[0].b.tracking_id} shop S6" in text
        lines = text.splitlines()
        # Field by field: both values, the mark between them, the level, the weight.
        first_name = next(line for line in lines if line.startswith("first_name"))
        assert first_name.split()[:5] == ["first_name", "Reece", "=", "Reece", "exact"]
        assert first_name.split()[5].startswith("+")
        email = next(line for line in lines if line.startswith("email_address"))
        assert "≠" in email and "different" in email and "-2.7" in email


@pilot_test
async def test_next_and_previous_move_through_the_queue(make_review_app, review_store) -> None:
    queue = pending(review_store)
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        await pilot.press("p")  # nothing before the first
        await settle(pilot)
        assert current_id(pilot) == queue[0]
        await pilot.press("n", "n")
        await settle(pilot)
        assert current_id(pilot) == queue[2]
        assert subtitle(pilot) == f"3 of {len(queue)} to review"
        assert app.screen.query_one(ComparisonTable).fields  # the comparison followed
        await pilot.press("p")
        await settle(pilot)
        assert current_id(pilot) == queue[1]
        await pilot.press(*"n" * (len(queue) + 2))  # stops at the last
        await settle(pilot)
        assert current_id(pilot) == queue[-1]


@pilot_test
async def test_nothing_is_decided_before_its_comparison_is_on_show(
    make_review_app, review_store, monkeypatch
) -> None:
    import threading

    from distil_tui.ui.screens import review

    loaded = threading.Event()
    compare = review.compare_candidate
    monkeypatch.setattr(review, "compare_candidate", lambda *args: loaded.wait(5) and compare(*args))
    count = len(pending(review_store))
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab", "r")
        await pilot.pause()
        await pilot.press("a", "x")  # the comparison is still loading
        await pilot.pause()
        assert len(pending(review_store)) == count
        loaded.set()
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert len(pending(review_store)) == count - 1


@pilot_test
async def test_approve_makes_the_two_one_customer_and_the_next_one_shows(make_review_app, review_store) -> None:
    first, second, *_ = list_candidates(review_store)
    count = len(pending(review_store))
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        await pilot.press("a")
        await settle(pilot)
        assert one_customer(review_store, first.a.tracking_id, first.b.tracking_id)
        assert first.candidate_id not in pending(review_store)
        assert current_id(pilot) == second.candidate_id
        assert subtitle(pilot) == f"1 of {count - 1} to review"
        assert f"Approved #{first.candidate_id}: one customer now" in review_text(pilot)


@pilot_test
async def test_reject_keeps_them_apart_and_the_candidate_leaves_the_queue(make_review_app, review_store) -> None:
    first, second, *_ = list_candidates(review_store)
    count = len(pending(review_store))
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        await pilot.press("x")
        await settle(pilot)
        assert first.candidate_id not in pending(review_store)
        assert never_merge_count(review_store) == 1
        assert not one_customer(review_store, first.a.tracking_id, first.b.tracking_id)
        (decided,) = [c for c in list_candidates(review_store, pending_only=False)
                      if c.candidate_id == first.candidate_id]
        assert decided.status == "rejected"
        assert current_id(pilot) == second.candidate_id
        assert subtitle(pilot) == f"1 of {count - 1} to review"


@pilot_test
async def test_z_takes_back_the_last_reject_then_the_last_approve(make_review_app, review_store) -> None:
    first, second, *_ = list_candidates(review_store)
    count = len(pending(review_store))
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert subtitle(pilot) == f"1 of {count - 2} to review"

        await pilot.press("z")  # the reject
        await settle(pilot)
        assert second.candidate_id in pending(review_store)
        assert never_merge_count(review_store) == 0
        assert current_id(pilot) == second.candidate_id  # back on show
        assert subtitle(pilot) == f"1 of {count - 1} to review"
        assert f"Took back the rejection of #{second.candidate_id}" in review_text(pilot)

        await pilot.press("z")  # the approve
        await settle(pilot)
        assert not one_customer(review_store, first.a.tracking_id, first.b.tracking_id)
        assert first.candidate_id in pending(review_store)
        assert never_merge_count(review_store) == 0
        assert current_id(pilot) == first.candidate_id
        assert subtitle(pilot) == f"1 of {count} to review"

        await pilot.press("z")  # nothing left to take back
        await settle(pilot)
        assert subtitle(pilot) == f"1 of {count} to review"


@pilot_test
async def test_a_refused_take_back_says_why(make_review_app, review_store) -> None:
    patels = {c.reason: c.candidate_id for c in list_candidates(review_store) if c.a.last_name == "Patel"}
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        screen = app.screen
        while current_id(pilot) != patels["ambiguous"]:
            await pilot.press("n")
        await pilot.press("a")
        await settle(pilot)
        # Meanwhile (say, in the command line) the customer changes again.
        approve(review_store, patels["conflicting_names"])
        await pilot.press("z")
        await settle(pilot)
        assert app.screen is screen and app.is_running
        assert "later changes to the same customer" in review_text(pilot)
        assert any("later changes" in n.message for n in app._notifications)
        assert patels["ambiguous"] not in pending(review_store)


@pilot_test
async def test_values_from_the_data_show_literally(make_review_app, review_store) -> None:
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        while "Maximilian" not in review_text(pilot):
            await pilot.press("n")
            await settle(pilot)
        first_name = next(line for line in review_text(pilot).splitlines() if line.startswith("first_name"))
        assert "[bold]Maximilian[/]" in first_name and "≠" in first_name
        # Long values are cut with an ellipsis, in their own column.
        address = next(line for line in review_text(pilot).splitlines() if line.startswith("address"))
        assert "…" in address and "≈" in address


@pilot_test
async def test_an_empty_queue_says_so(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        message = app.screen.query_one("#review-message")
        assert message.display and "No merge candidates are waiting" in text_of(message)
        assert subtitle(pilot) == "none to review"
        await pilot.press("a", "x", "n", "z")
        await settle(pilot)
        assert app.is_running


# -- history -------------------------------------------------------------------------


@pilot_test
async def test_h_opens_the_history_newest_first_with_the_detail(make_review_app, review_store) -> None:
    merges = list_merges(review_store)
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        assert isinstance(app.screen, HistoryScreen)
        assert history_ids(pilot) == [m.merge_id for m in merges]  # newest first
        split = merges[0]
        assert split.action == "split"
        detail = text_of(app.screen.query_one("#detail-facts"))
        assert f"records moved from {split.moved[0]}" in detail and f"to {split.moved[1]}" in detail
        assert "re-resolution: ambiguous" in detail and "automatically" in detail
        assert "shop-late.csv" in detail
        assert str(app.screen.query_one(MergeDetail).border_title) == f"Split #{split.merge_id}"

        await pilot.press("down")
        detail = text_of(app.screen.query_one("#detail-facts"))
        assert f"merged {merges[1].moved[0]}" in detail and f"into {merges[1].moved[1]}" in detail


@pilot_test
async def test_a_reviewer_merge_is_at_the_top(make_review_app, review_store) -> None:
    first = list_candidates(review_store)[0]
    merge_id = approve(review_store, first.candidate_id)
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        assert history_ids(pilot)[0] == merge_id
        detail = text_of(app.screen.query_one("#detail-facts"))
        assert "by a reviewer" in detail and "none: a reviewer's decision" in detail
        # Its evidence, field by field.
        evidence = text_of(app.screen.query_one("#detail-evidence"))
        assert "first_name" in evidence and "exact" in evidence


@pilot_test
async def test_history_filters_by_text(make_review_app, review_store) -> None:
    merges = list_merges(review_store)
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        await pilot.press("slash", *"mobile")
        await settle(pilot)
        assert history_ids(pilot) == [m.merge_id for m in merges if m.rule == "mobile_phone_no"]
        assert app.screen.query_one("#history-list").border_subtitle == "1 change"

        await pilot.press(*" zz[b]")
        await settle(pilot)
        assert history_ids(pilot) == []
        assert "Nothing in the history matches mobile zz[b]" in text_of(app.screen.query_one("#detail-facts"))

        await pilot.press("ctrl+u")
        await settle(pilot)
        assert len(history_ids(pilot)) == len(merges)


@pilot_test
async def test_u_and_confirm_undo_the_selected_split(make_review_app, review_store) -> None:
    split = list_merges(review_store)[0]
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # changed their mind
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert not list_merges(review_store)[0].undone

        await pilot.press("u")
        await pilot.pause()
        await pilot.press("enter")  # focus starts on Cancel: a stray enter changes nothing
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert not list_merges(review_store)[0].undone

        await pilot.press("u")
        await pilot.pause()
        await pilot.press("tab", "enter")  # the Undo button
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        newest, *rest = list_merges(review_store)
        assert newest.action == "undo" and newest.undid_split
        assert [m.undone for m in rest if m.merge_id == split.merge_id] == [True]
        # The records went back: one customer again.
        assert one_customer(review_store, split.moved[0], split.moved[1])
        # The list shows the undo on top; the cursor stays on the split, now undone.
        assert history_ids(pilot)[0] == newest.merge_id
        assert app.screen.query_one(HistoryTable).highlighted_entry.merge.merge_id == split.merge_id
        assert "undone by" in text_of(app.screen.query_one("#detail-facts"))

        # An undo itself cannot be undone: u does nothing there.
        await pilot.press("up")
        assert app.screen.query_one(HistoryTable).highlighted_entry.merge.action == "undo"
        assert "an undo cannot be undone" in text_of(app.screen.query_one("#detail-facts"))
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)


def footer_key_enabled(pilot: Pilot, action: str) -> bool:
    from textual.widgets._footer import FooterKey

    (key,) = [k for k in pilot.app.screen.query(FooterKey) if k.action == action]
    return not key.has_class("-disabled")  # shown greyed


@pilot_test
async def test_the_footer_follows_what_can_be_undone(make_review_app, review_store) -> None:
    """The footer is rebuilt only when a key's state changes: it must still
    change when one does."""
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        assert footer_key_enabled(pilot, "undo")  # the newest change, a split
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await settle(pilot)
        # The cursor stays on the split, now undone: nothing to undo there.
        assert app.screen.query_one(HistoryTable).highlighted_entry.merge.undone
        assert not footer_key_enabled(pilot, "undo")
        await pilot.press("down", "down")
        await settle(pilot)
        entry = app.screen.query_one(HistoryTable).highlighted_entry
        assert footer_key_enabled(pilot, "undo") == entry.can_undo


@pilot_test
async def test_a_refused_undo_shows_the_reason(make_review_app, review_store) -> None:
    merge = list_merges(review_store)[1]
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        await pilot.press("down", "u")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, HistoryScreen)
        assert not list_merges(review_store)[1].undone
        (notification,) = app._notifications
        assert f"merge #{merge.merge_id} has later changes to the same customer" in notification.message
        assert notification.markup is False


@pilot_test
async def test_history_pages_as_the_cursor_moves(make_review_app, review_store, monkeypatch) -> None:
    from distil_tui.ui.screens import history

    monkeypatch.setattr(history, "HISTORY_PAGE", 1)
    ids = [m.merge_id for m in list_merges(review_store)]
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "h")
        assert history_ids(pilot) == ids[:1]
        assert app.screen.query_one("#history-list").border_subtitle == f"1 of {len(ids)} changes"
        await pilot.press("down")
        await settle(pilot)
        assert history_ids(pilot) == ids[1:2]
        await pilot.press("up")
        await settle(pilot)
        assert history_ids(pilot) == ids[:1]


# -- getting around ------------------------------------------------------------------


@pilot_test
async def test_escape_returns_to_browse_from_either_view(make_review_app) -> None:
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        await pilot.press("h")  # one view replaces the other
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen) and len(app.screen_stack) == 2
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and len(app.screen_stack) == 2
        await pilot.press("escape")
        assert isinstance(app.screen, BrowseScreen)

        await pilot.press("h")
        await settle(pilot)
        await pilot.press("slash")  # escape leaves even from the filter box
        await pilot.press("escape")
        assert isinstance(app.screen, BrowseScreen)


@pilot_test
async def test_r_and_h_typed_in_a_text_box_are_text(make_review_app) -> None:
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, SearchBox)
        await pilot.press("r", "h")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        assert app.focused.value == "rh"

        await pilot.press("tab", "h", "slash", "r", "u")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert app.focused.value == "ru"


@pilot_test
async def test_browse_shows_the_customer_as_it_is_after_a_review(make_review_app, review_store) -> None:
    first = list_candidates(review_store)[0]
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(SearchBox).value = first.b.tracking_id
        await settle(pilot)
        await pilot.press("tab", "r")
        await settle(pilot)
        await pilot.press("a", "escape")
        await settle(pilot)
        from distil_tui.ui.widgets import ProfileView

        profile = app.screen.query_one(ProfileView).profile
        assert len(profile.sources) == 2  # merged while away


@pytest.mark.parametrize("size", [(80, 24), (160, 40)])
@pilot_test
async def test_layout_fits(make_review_app, size) -> None:
    app = make_review_app()
    async with app.run_test(size=size) as pilot:
        await open_view(pilot, "r")
        await pilot.press("n", "n", "n")
        await settle(pilot)
        for widget in app.screen.query("#review, #review-summary, ComparisonTable, #review-status"):
            assert widget.region.right <= size[0] and widget.region.bottom <= size[1] - 1, widget
        await pilot.press("h")
        await settle(pilot)
        for widget in app.screen.query("#history-list, #history-detail"):
            assert widget.region.right <= size[0] and widget.region.bottom <= size[1] - 1, widget
            assert widget.region.height >= 6


@pilot_test
async def test_the_command_palette_offers_the_review_screens_actions(make_review_app, review_store) -> None:
    first, *_ = list_candidates(review_store)
    app = make_review_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, "r")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Approve", "Reject", "Next"} <= set(commands)
        await commands["Approve"].callback()
        await settle(pilot)
        assert one_customer(review_store, first.a.tracking_id, first.b.tracking_id)
