"""Terminal safety: customer data that holds console markup, escape
sequences, control characters, right-to-left text, emoji and very long
strings is shown literally wherever the app shows customer data, no
control character reaches the terminal, and the layout holds.

What the user sees: markup as typed (``[bold]x[/]``), control characters
(C0, DEL, C1) and bidirectional overrides as visible escapes (``\\x1b``,
``\\x07``, ``\\u202e``, dimmed), right-to-left letters, emoji and combining
marks as themselves, and a value too long for its column cut with an
ellipsis inside its pane.
"""

from __future__ import annotations

import json
import re

import pytest
from textual.pilot import Pilot

from distil_tui.core import segments
from distil_tui.core.segments import Condition, Segment
from distil_tui.ui.app import DistilApp
from distil_tui.ui.screens import ImportScreen
from distil_tui.ui.screens.column_chooser import ColumnChooser
from distil_tui.ui.screens.review import ReviewScreen
from distil_tui.ui.screens.segments import SegmentEditor, SegmentsScreen
from distil_tui.ui.text import literal
from tests import hostile as h
from tests.test_ui import pilot_test, profile_text, result_names, search, settle
from tests.test_ui_data import headings, open_data, press, shown
from tests.test_ui_import import cells, open_import

SIZE = (100, 30)

# What must never reach the terminal as text: C0 and C1 controls, DEL, and
# the bidirectional overrides and isolates.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile_store(tmp_path):
    store = h.seed_hostile_store(tmp_path)
    yield store
    store.close()


@pytest.fixture
def make_app(hostile_store):
    return lambda: DistilApp(hostile_store, cursor_blink=False)


def visible(value: str) -> str:
    """How ``value`` reads on screen when it fits."""
    return literal(value).plain


def screen_lines(pilot: Pilot) -> list[str]:
    """The screen as the terminal gets it, one string per line, after
    checking what every line holds: no control character in any piece of
    text, and exactly the terminal's width (nothing pushed past the edge)."""
    width = pilot.app.size.width
    strips = pilot.app.screen._compositor.render_strips()
    for strip in strips:
        for segment in strip:
            assert not UNSAFE.search(segment.text), f"control character on screen: {segment.text!r}"
        assert strip.cell_length == width
    return [strip.text for strip in strips]


def on_screen(pilot: Pilot) -> str:
    return "\n".join(screen_lines(pilot))


def has_row(text: str, *cells: str) -> bool:
    """Whether a line of ``text`` shows ``cells`` side by side (any spacing)."""
    return re.search(" +".join(map(re.escape, cells)), text) is not None


def test_right_to_left_values_are_set_between_left_to_right_marks() -> None:
    """A viewer applying the bidirectional algorithm to a whole line then
    keeps the value's letters right to left inside its own column, and the
    columns in their places (see ``ui/text.py``); the marks take no room."""
    lrm = "\u200e"
    assert literal(h.CAIRO).plain == f"{lrm}{h.CAIRO}{lrm}"
    assert literal(h.HEBREW).plain == f"{lrm}דוד\\u202eevil{lrm}"
    assert literal("Leeds 2026").plain == "Leeds 2026"
    assert literal(h.CAIRO).cell_len == len(h.CAIRO)


@pilot_test
async def test_search_results_show_every_name_literally(make_app) -> None:
    async with make_app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        names = set(result_names(pilot))
        expected = {
            f"{h.MARKUP} {h.CLICK}", f"{h.RED} {h.CLEAR}", f"{h.ARABIC} {h.HEBREW}", f"{h.EMOJI} {h.FAMILY}",
            f"{h.LONG_FIRST} {h.LONG_LAST}", f"{h.CONTROLS} Controls", f"[bold]Jane[/] {h.RED}",
            f"{h.ARABIC} {h.RED}",
        }
        assert names == {visible(name) for name in expected}
        screen = on_screen(pilot)
        for start in ("\\x1b[31mRed\\x1b[0m \\x1b[2", "محمد דוד\\u202eevil", "Bel\\x07l\\x08\\x7f\\x9b\\x01",
                      "😀 Emoji 👨\u200d👩\u200d👧 Family 🇬🇧", "[bold]Jane[/] \\x1b[31mRed…",
                      "\\x1b]52;c;ZXZpb…", "AAAAAAAAAAAA…", h.COMBINING):
            assert start in screen, start

        await search(pilot, "hostile-names")
        assert len(result_names(pilot)) == 7  # every address at hostile-names.org
        screen_lines(pilot)


@pilot_test
async def test_the_profile_shows_every_section_literally(make_app) -> None:
    """Attributes (standard and custom, names and values), identifiers,
    sources (source names, file names), the event timeline (types and
    properties), merges and why."""
    async with make_app().run_test(size=SIZE) as pilot:
        await search(pilot, "h1@hostile-names.org")
        await pilot.press("enter")
        await settle(pilot)
        text = profile_text(pilot)
        for row in (
            ("first_name", h.MARKUP), ("last_name", h.CLICK), ("town", h.LINK), (h.TIER, "gold"),
            (visible(h.CLIP_COLUMN)[:23] + "…", "x"),  # a long name cut
            ("customer_id", "[bold]shop[/]:H1", "from [bold]shop[/] H1"),
            ("anonymous_user_id", visible("anon-[bold]h1[/]\x1b[0m")),
            ("[bold]shop[/]", "H1", "customer", visible(h.SHOP_FILE) + ":2"),
            (visible(h.SOURCE_WEB), "identify:anon-[bold]h1[/]"),  # a long key, cut
            (visible(h.RED), visible(h.SOURCE_WEB)),
            (h.MARKUP, visible(h.SOURCE_WEB), f"{h.MARKUP}={visible(h.RED)}, long=PPP"),
            ("why shared anonymous_user_id", visible("anon-[bold]h1[/]\x1b[0m")),
        ):
            assert has_row(text, *row), row
        await pilot.press("end")
        await settle(pilot)
        screen = on_screen(pilot)
        assert f"Tracking ID  {pilot.app.screen.query_one('ProfileView').profile.tracking_id}" in screen


@pilot_test
async def test_an_event_property_and_a_second_source_show_literally(make_app) -> None:
    async with make_app().run_test(size=SIZE) as pilot:
        await search(pilot, "h2@hostile-names.org")
        await pilot.press("enter")
        await settle(pilot)
        text = profile_text(pilot)
        assert has_row(text, visible(h.SOURCE_CRM), "C1")  # a source name
        assert has_row(text, "town", visible(h.OSC8))
        assert has_row(text, "last_name", visible(h.CLEAR))
        assert has_row(text, h.TIER, visible(h.RED))
        screen_lines(pilot)


@pilot_test
async def test_very_long_values_are_cut_inside_their_panes(make_app) -> None:
    """Thousands of characters without a space: every pane keeps its place,
    the Tracking ID stays at the bottom of the profile, in view."""
    for size in ((80, 24), (100, 30)):
        async with make_app().run_test(size=size) as pilot:
            await search(pilot, "ccccc")
            await pilot.press("enter")
            await settle(pilot)
            lines = screen_lines(pilot)
            profile = pilot.app.screen.query_one("ProfileView")
            tracking_id = profile.profile.tracking_id
            bottom = profile.region.bottom - 2
            assert f"Tracking ID  {tracking_id}" in lines[bottom]
            assert any("Name" in line and "Email" in line for line in lines)  # the results header
            assert any("AAAAAAAA…" in line for line in lines)
            assert all(line.count("A") < size[0] for line in lines)


@pilot_test
async def test_the_review_queue_shows_both_sides_literally(make_app) -> None:
    async with make_app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab", "r")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ReviewScreen)
        screen = on_screen(pilot)
        assert "[bold]shop[/] H7" in screen and "[bold]shop[/] H8" in screen
        assert has_row(screen, "first_name", "[bold]Jane[/]", "≠", visible(h.ARABIC))
        assert has_row(screen, "last_name", visible(h.RED), "=", visible(h.RED))


@pilot_test
async def test_the_merge_history_shows_the_evidence_literally(make_app) -> None:
    async with make_app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab", "h")
        await settle(pilot)
        screen = on_screen(pilot)
        assert "why      shared anonymous_user_id anon-[bold]h1[/]\\x1b[0m" in screen


@pilot_test
async def test_the_data_panel_shows_values_and_custom_column_names_literally(make_app) -> None:
    async with make_app().run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        assert "\\x1b[31mRe…" in on_screen(pilot)
        await press(pilot, "c")
        chooser = pilot.app.screen
        assert isinstance(chooser, ColumnChooser)
        names = [a.name for a in chooser.attributes]
        # The chooser lists the custom attributes by their names from the data.
        listing = on_screen(pilot)
        assert "\\x1b]52;c;ZXZpbA==\\x07clip (custom.\\x1b]52;c;ZXZpbA==\\x07" in listing
        assert "[bold]tier[/] (custom.[bold]tier[/], text)" in listing
        for name in (f"custom.{h.TIER}", f"custom.{h.CLIP_COLUMN}"):
            await press(pilot, "home", *["down"] * names.index(name), "space")
        await press(pilot, "enter")
        assert pilot.app.screen is screen
        assert {h.TIER, visible(h.CLIP_COLUMN)} <= set(headings(grid))
        tiers = {shown(grid, row)[headings(grid).index(h.TIER)] for row in range(grid.row_count)}
        assert visible(h.HEBREW) in tiers and visible(h.RED) in tiers
        # A name holding control characters still finds its values.
        clip = {shown(grid, row)[headings(grid).index(visible(h.CLIP_COLUMN))] for row in range(grid.row_count)}
        assert clip == {"x", visible(h.CLEAR), ""}
        screen_lines(pilot)


@pilot_test
async def test_the_import_screen_shows_columns_samples_and_rejections_literally(make_app, tmp_path) -> None:
    path = tmp_path / "[bold]news[.csv"
    path.write_text(f"email,{h.TIER},{h.CLIP_COLUMN}\n"
                    f"n1@hostile-names.org,{h.MARKUP},{h.FAMILY}\n"
                    f"n2@hostile-names.org,{h.RED}\n", encoding="utf-8")
    async with make_app().run_test(size=(120, 30)) as pilot:
        await open_import(pilot, str(path))
        columns = [row[:3] for row in cells(pilot, "#import-columns")]
        assert columns == [
            ["email", "email_address", "n1@hostile-names.org"],
            [h.TIER, f"{h.TIER} (custom)", h.MARKUP],
            [visible(h.CLIP_COLUMN), f"{visible(h.CLIP_COLUMN)} (custom)", visible(h.FAMILY)],
        ]
        screen_lines(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ImportScreen)
        assert cells(pilot, "#import-rejections") == [["3", "expected 3 columns, found 2"]]
        assert "Imported [bold]news[.csv as [bold]news[" in on_screen(pilot)


@pilot_test
async def test_a_rejection_does_not_quote_the_data(make_app, tmp_path) -> None:
    # A rejection names line and reason only: a value may be anything, here
    # escape codes and markup, elsewhere an email in the wrong column.
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z"}\n'
        '{"anonymous_user_id": "v1", "timestamp": "\\u001b[2J[bold]now[/]"}\n', encoding="utf-8")
    async with make_app().run_test(size=SIZE) as pilot:
        await open_import(pilot, str(path))
        await pilot.press("enter")
        await settle(pilot)
        assert cells(pilot, "#import-rejections") == [["2", "timestamp is not ISO 8601"]]
        assert "now[/]" not in on_screen(pilot)
        screen_lines(pilot)


@pilot_test
async def test_the_segment_editor_shows_names_literally(make_app, hostile_store) -> None:
    """A segment's name (typed by a person, shown in the border title) and
    a custom attribute's name from the data (in the condition's list)."""
    name = "[@click=app.quit]Quit[/] مرحبا"  # control characters are refused in names
    segments.save(hostile_store, Segment(name, (Condition(f"custom.{h.CLIP_COLUMN}", "equals", "x"),)))
    async with make_app().run_test(size=SIZE) as pilot:
        await open_data(pilot)
        await press(pilot, "f")
        assert isinstance(pilot.app.screen, SegmentsScreen)
        assert visible(name) in on_screen(pilot)
        await press(pilot, "down", "e")  # below "all customers"
        assert isinstance(pilot.app.screen, SegmentEditor)
        screen = on_screen(pilot)
        assert f"Edit segment {visible(name)}" in screen
        assert visible(h.CLIP_COLUMN)[:22] in screen  # cut to the list's width
        await press(pilot, "tab", "tab", "enter")  # the condition's attribute list, open
        assert visible(h.CLIP_COLUMN) in on_screen(pilot)


@pytest.mark.parametrize("name", [h.CLIP_COLUMN, "back\\slash", "new\nline", h.TIER, "tab\there"])
def test_a_custom_attribute_is_found_whatever_its_name_holds(tmp_path, name) -> None:
    """Found by these tests: SQLite (before 3.45) matched a JSON path against
    the key as escaped in the JSON text, so a custom attribute whose name
    held a control character or a backslash read as empty everywhere
    (Data panel, segments, exports)."""
    from distil_tui.core.importer import import_file
    from distil_tui.core.store import Store

    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps({"id": "1", "email": "a@hostile-names.org", name: "value"}) + "\n")
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    import_file(store, path, source="s", id_column="id")
    assert segments.count(store, Segment("t", (Condition(f"custom.{name}", "equals", "value"),))) == 1
    store.close()
