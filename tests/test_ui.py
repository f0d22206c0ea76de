"""Pilot tests of the browse screen: what a person types and what they see."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

import pytest
from textual.geometry import Region
from textual.pilot import Pilot

from distil_tui.ui.screens import BrowseScreen
from distil_tui.ui.text import literal, moment
from distil_tui.ui.widgets import ProfileView, ResultsTable, SearchBox
from tests.stores import store_url

SIZE = (100, 30)


def pilot_test(scenario: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async Pilot scenario as a plain test: the project needs no
    async pytest plugin for it."""

    @functools.wraps(scenario)
    def test(*args, **kwargs) -> None:
        asyncio.run(scenario(*args, **kwargs))

    return test


async def settle(pilot: Pilot) -> None:
    """Wait until the search and the profile load it triggers have landed."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def search(pilot: Pilot, query: str) -> None:
    search_box = pilot.app.screen.query_one(SearchBox)
    search_box.focus()
    search_box.value = ""
    await pilot.press(*query)
    await settle(pilot)


def result_names(pilot: Pilot) -> list[str]:
    table = pilot.app.screen.query_one(ResultsTable)
    return [table.get_row_at(row)[0].plain for row in range(table.row_count)]


def profile_text(pilot: Pilot) -> str:
    """The profile pane's lines as shown on screen (cut values included)."""
    view = pilot.app.screen.query_one(ProfileView)
    lines: list[str] = []
    for static in view.query("Static, RichBody"):
        if static.display and static.parent.display and static.size.area:
            crop = Region(0, 0, static.outer_size.width, static.outer_size.height)
            lines.extend(strip.text.rstrip() for strip in static.render_lines(crop))
    return "\n".join(lines)


# -- the text helper ---------------------------------------------------------------


def test_literal_keeps_markup_as_text() -> None:
    assert literal("[bold]x[/]").plain == "[bold]x[/]"
    assert literal("[bold]x[/]").spans == []


def test_literal_shows_control_characters_escaped() -> None:
    text = literal("\x1b[31mred\nline\u202eevil\x9b")
    assert text.plain == "\\x1b[31mred\\nline\\u202eevil\\x9b"
    assert "\x1b" not in text.plain


def test_literal_placeholder_and_moment() -> None:
    assert literal(None, placeholder="unknown").plain == "unknown"
    assert moment("2026-01-01T09:30:00Z").plain == "2026-01-01 09:30"
    assert moment("2026-01-01T09:30:00+02:00").plain == "2026-01-01 09:30 +02:00"
    assert moment("last tuesday").plain == "last tuesday"


# -- the browse screen -------------------------------------------------------------


@pilot_test
async def test_starts_in_search_with_recent_customers(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        assert isinstance(app.focused, SearchBox)
        assert len(result_names(pilot)) >= 6
        # The first of them is already on show.
        assert "Tracking ID" in profile_text(pilot)


@pilot_test
async def test_typing_a_name_finds_the_customer_and_enter_opens_the_profile(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "turing")
        assert result_names(pilot) == ["Alan Turing"]

        await pilot.press("down")
        assert isinstance(app.focused, ResultsTable)
        await pilot.press("enter")
        await settle(pilot)

        view = app.screen.query_one(ProfileView)
        assert app.focused is view.body
        assert view.profile is not None
        text = profile_text(pilot)
        # Attributes.
        assert "Wilmslow" in text and "alan.turing@bletchley-park.org.uk" in text
        # Identifiers, each with the source and source key it came from.
        customer_id = next(i for i in view.profile.identifiers if i.kind == "customer_id")
        assert f"from {customer_id.source} {customer_id.source_key}" in text
        # Sources with file:line; the Tracking ID at the bottom.
        assert "shop.csv:3" in text
        assert f"Tracking ID  {view.profile.tracking_id}" in text.splitlines()[-1]


@pilot_test
async def test_profile_shows_events_newest_first_merges_and_retired_ids(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=(100, 60)) as pilot:
        await search(pilot, "lovelace")
        assert result_names(pilot) == ["Ada Lovelace"]
        await pilot.press("enter")
        await settle(pilot)
        profile = app.screen.query_one(ProfileView).profile
        assert profile is not None and profile.merges and profile.retired_tracking_ids
        text = profile_text(pilot)
        assert text.index("order") < text.index("sign_in") < text.index("page_view")
        assert "why shared anonymous_user_id anon-a1" in text
        retired = profile.retired_tracking_ids[0]
        assert f"merged {retired} into {profile.tracking_id}" in text
        # The Tracking ID is the last line, below the retired ones.
        assert text.rstrip().splitlines()[-1].strip() == f"Tracking ID  {profile.tracking_id}"


@pilot_test
async def test_search_box_enter_opens_the_first_result(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "grace")
        await pilot.press("enter")
        await settle(pilot)
        view = app.screen.query_one(ProfileView)
        assert app.focused is view.body
        assert view.profile is not None and view.profile.display_name == "Grace Hopper"


@pilot_test
async def test_moving_through_results_follows_with_the_profile(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ResultsTable)
        await pilot.press("tab")
        assert app.focused is table
        await pilot.press("down")
        await settle(pilot)
        view = app.screen.query_one(ProfileView)
        assert table.cursor_row == 1
        assert view.profile is not None
        assert view.profile.tracking_id == table.highlighted_hit.tracking_id


@pilot_test
async def test_up_from_the_first_result_returns_to_search(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "up")
        assert isinstance(app.focused, ResultsTable)
        await pilot.press("up")
        assert isinstance(app.focused, SearchBox)


@pilot_test
async def test_resizing_keeps_the_customer_on_show(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab", "down", "down")
        await settle(pilot)
        table = app.screen.query_one(ResultsTable)
        before = table.highlighted_hit
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert table.highlighted_hit == before
        assert app.screen.query_one(ProfileView).profile.tracking_id == before.tracking_id


@pilot_test
async def test_markup_and_escape_sequences_show_literally(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "markup")
        (name,) = result_names(pilot)
        assert "[" in name and "x" in name.lower() and "]" in name  # brackets shown, not parsed
        assert "[Bold]X[/]".lower() in name.lower()
        await pilot.press("enter")
        await settle(pilot)
        assert "[bold]x[/]" in profile_text(pilot).lower()

        await search(pilot, "smith")
        (name,) = result_names(pilot)
        assert "\x1b" not in name
        assert "\\x1b[31" in name
        await pilot.press("enter")
        await settle(pilot)
        text = profile_text(pilot)
        assert "\\x1b[31" in text and "\x1b" not in text


@pilot_test
async def test_q_types_in_the_search_box_and_quits_elsewhere(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q", "/", "q")
        await settle(pilot)
        assert app.is_running
        assert app.screen.query_one(SearchBox).value == "q/q"

        await pilot.press("ctrl+u", "tab", "q")
        await pilot.pause()
        assert not app.is_running


@pilot_test
async def test_escape_and_slash_return_to_the_search_box(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "ada")
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.focused is app.screen.query_one(ProfileView).body
        await pilot.press("escape")
        assert isinstance(app.focused, SearchBox)
        assert app.focused.value == "ada"

        await pilot.press("tab", "slash")
        assert isinstance(app.focused, SearchBox)


@pilot_test
async def test_no_match_says_so_with_the_query_shown_literally(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "zz[b]")
        assert result_names(pilot) == []
        view = app.screen.query_one(ProfileView)
        assert view.profile is None
        assert "No customer matches zz[b]" in profile_text(pilot)


@pilot_test
async def test_an_empty_store_says_how_to_import(tmp_path) -> None:
    from distil_tui.core.store import Store
    from distil_tui.ui.app import DistilApp

    app = DistilApp(Store(store_url(tmp_path / 'empty.db')), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert result_names(pilot) == []
        assert "distil-tui import FILE --source NAME" in profile_text(pilot)


@pilot_test
async def test_stale_search_results_are_ignored(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "turing")
        screen = app.screen
        # A slow answer for an older query arrives after the newer one.
        screen.post_message(BrowseScreen.SearchFinished("t", ()))
        await pilot.pause()
        assert result_names(pilot) == ["Alan Turing"]


@pilot_test
async def test_a_failing_search_is_reported_not_fatal(make_ui_app, monkeypatch) -> None:
    from distil_tui.ui.screens import browse

    def broken(*args, **kwargs):
        raise RuntimeError("database is [red]locked[/]")

    monkeypatch.setattr(browse, "search_customers", broken)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.is_running
        (notification,) = app._notifications
        assert "database is [red]locked[/]" in notification.message
        assert notification.markup is False


@pilot_test
async def test_theme_toggles_between_dark_and_light(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"


@pytest.mark.parametrize("size", [(80, 24), (160, 40)])
@pilot_test
async def test_layout_fits(make_ui_app, size) -> None:
    app = make_ui_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.has_class("-wide") == (size[0] >= 150)
        for widget in (screen.query_one("#finder"), screen.query_one(ProfileView)):
            region = widget.region
            assert region.right <= size[0] and region.bottom <= size[1] - 1  # above the footer
            assert region.height >= 6


def test_the_ui_never_touches_the_database_directly() -> None:
    """The UI calls the core; SQL stays in the core."""
    import ast
    from pathlib import Path

    import distil_tui.ui

    for path in Path(distil_tui.ui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in {"sqlalchemy", "sqlmodel", "sqlite3"}, path


# -- keys everywhere: copy, help, palette ---------------------------------------------


@pilot_test
async def test_y_copies_the_tracking_id_of_the_customer_on_show(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "turing")
        await pilot.press("y")  # in the search box: text
        assert app.screen.query_one(SearchBox).value == "turingy"
        await search(pilot, "turing")
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == app.screen.query_one(ProfileView).profile.tracking_id


@pilot_test
async def test_f1_and_question_mark_show_and_hide_the_keys_of_the_screen(make_ui_app) -> None:
    from textual.widgets import HelpPanel

    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.query(HelpPanel)
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)
        await pilot.press("question_mark")  # in the search box: text
        await pilot.pause()
        assert app.screen.query_one(SearchBox).value == "?"
        assert not app.screen.query(HelpPanel)
        await pilot.press("down", "question_mark")
        await pilot.pause()
        assert app.screen.query(HelpPanel)


@pilot_test
async def test_the_command_palette_offers_the_views_and_actions(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Review merge candidates", "Merge history", "Import a file", "Switch theme", "Search",
                "Copy Tracking ID", "Keys", "Quit"} <= titles
        review = next(c for c in app.get_system_commands(app.screen) if c.title == "Review merge candidates")
        review.callback()
        await pilot.pause()
        assert type(app.screen).__name__ == "ReviewScreen"


@pilot_test
async def test_the_event_timeline_pages_through_every_event(tmp_path) -> None:
    import json

    from distil_tui.core.importer import import_file
    from distil_tui.core.store import Store
    from distil_tui.ui.app import DistilApp

    store = Store(store_url(tmp_path / 'events.db'))
    (tmp_path / "shop.csv").write_text("id,first_name,last_name,email\n7,Eve,Events,eve@x.org\n")
    import_file(store, tmp_path / "shop.csv", source="shop", id_column="id")
    lines = [json.dumps({"anonymous_user_id": "eve-pc", "timestamp": f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}Z",
                         "event": f"view-{n:03d}", **({"customer": {"customer_id": "7"}} if n == 0 else {})})
             for n in range(120)]
    (tmp_path / "ev.jsonl").write_text("\n".join(lines) + "\n")
    import_file(store, tmp_path / "ev.jsonl", source="web", customer_id_source="shop")
    app = DistilApp(store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "eve events")
        await pilot.press("enter")
        await settle(pilot)
        view = app.screen.query_one(ProfileView)
        assert [e.event_type for e in view.profile.recent_events][:2] == ["view-119", "view-118"]
        assert "1–50 of 120 · ] older" in profile_text(pilot)
        await pilot.press("left_square_bracket")  # no newer page: nothing happens
        await settle(pilot)
        assert view.profile.events_offset == 0
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert view.profile.events_offset == 100
        assert view.profile.recent_events[-1].event_type == "view-000"
        assert "101–120 of 120 · [ newer" in profile_text(pilot)
        await pilot.press("right_square_bracket")  # the last page: nothing older
        await settle(pilot)
        assert view.profile.events_offset == 100
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert view.profile.events_offset == 50
    store.close()
