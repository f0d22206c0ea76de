"""Pilot tests of the Data panel: open it, scroll past a page, sort, choose
columns, pick and make segments, export and read the file back."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from distil_tui.core import segments
from distil_tui.core.data_view import DATA_PAGE, data_page
from distil_tui.core.exports import ExportCancelled
from distil_tui.core.importer import import_file
from distil_tui.core.segments import Condition, Segment
from distil_tui.core.store import Store
from distil_tui.ui.app import DistilApp
from distil_tui.ui.screens import BrowseScreen, DataScreen, data_export
from distil_tui.ui.screens.column_chooser import ColumnChooser
from distil_tui.ui.screens.data_export import ExportScreen
from distil_tui.ui.screens.segments import SegmentEditor, SegmentsScreen
from distil_tui.ui.widgets import ProfileView
from distil_tui.ui.widgets.data_grid import WINDOW_PAGES, DataGrid
from tests.conftest import FROZEN_NOW
from tests.stores import store_url
from tests.test_ui import pilot_test, settle

SIZE = (120, 30)
FIRST = ("Ann", "Bob", "Cara", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lia", "Mo", "Ned",
         "Ola", "Pip", "Quin", "Rosa", "Sam", "Tia")
LAST = ("Abbott", "Barker", "Cole", "Dunn", "Ellis", "Frost", "Grant", "Hale", "Irwin", "Judd", "Kemp",
        "Lowe", "Marsh")
TOWNS = ("Leeds", "York", "", "Bath", "Hull")


@pytest.fixture
def big_store(tmp_path: Path):
    """260 customers (more than two pages), one per (first, last) pair."""
    rows = ["id,first_name,last_name,email,town,tier"]
    n = 0
    for last in LAST:
        for first in FIRST:
            name = "[bold]x[/]" if n == 7 else first
            tier = ("gold", "", "silver")[n % 3]
            rows.append(f"P{n:03d},{name},{last},{first.lower()}.{last.lower()}{n}@mail-box.org,"
                        f"{TOWNS[n % len(TOWNS)]},{tier}")
            n += 1
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = Store(store_url(tmp_path / 'big.db'), now=lambda: FROZEN_NOW)
    import_file(store, path, source="shop", id_column="id")
    assert segments.count(store, None) == n
    yield store
    store.close()


async def open_data(pilot: Pilot) -> tuple[DataScreen, DataGrid]:
    await settle(pilot)
    await pilot.press("tab", "d")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DataScreen)
    return screen, screen.query_one(DataGrid)


async def press(pilot: Pilot, *keys: str) -> None:
    """Press keys one at a time, letting any page asked for land."""
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
        grids = pilot.app.screen.query(DataGrid)
        if any(not w.is_finished for w in pilot.app.workers) or (grids and grids.first().waiting):
            await settle(pilot)


def headings(grid: DataGrid) -> list[str]:
    return grid.headings


def shown(grid: DataGrid, row: int) -> list[str]:
    return grid.cell_texts(row)


def every_tracking_id(store: Store, **options) -> list[str]:
    page = data_page(store, ("town",), limit=10_000, **options)
    return [row.tracking_id for row in page.rows]


@pilot_test
async def test_open_shows_customers_with_default_columns(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        assert headings(grid) == ["First name", "Last name", "Email address", "Mobile phone", "Town", "Last seen"]
        assert "Tracking ID" not in headings(grid)  # hidden by default
        assert grid.row_count == 6
        assert screen.query_one("#data-pane").border_subtitle == "6 customers"
        names = [shown(grid, row)[0] for row in range(grid.row_count)]
        assert "[bold]x[/]" in names  # markup shown as typed
        assert "\\x1b[31mred" in names  # an escape sequence shown escaped
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DataScreen)


@pilot_test
async def test_scrolling_past_pages_holds_a_few_pages(big_store, monkeypatch) -> None:
    monkeypatch.setattr(DataScreen, "PAGE", 20)  # 13 pages, 3 held at most
    app = DistilApp(big_store, cursor_blink=False)
    expected = every_tracking_id(big_store)
    async with app.run_test(size=SIZE) as pilot:
        _screen, grid = await open_data(pilot)
        assert grid.row_count == 20

        def check() -> int:
            """What is held is a run of the customers in order, the
            highlighted one among them; returns where it stands in all."""
            held = [row.tracking_id for row in grid.rows_held]
            assert len(held) <= WINDOW_PAGES * 20
            start = expected.index(held[0])
            assert held == expected[start:start + len(held)]
            assert grid.before == (start > 0)
            return start + grid.cursor_row

        at = [check()]
        while at[-1] < len(expected) - 1:
            await press(pilot, "pagedown")
            at.append(check())
            assert at[-1] > at[-2]  # moved on: never stuck at the edge of a page
        assert grid.highlighted_row.tracking_id == expected[-1]
        assert not grid.after
        # Down from the last row stays there; up walks back one by one.
        await press(pilot, "down", "up", "up")
        assert check() == len(expected) - 3
        while at[-1] > 0:
            await press(pilot, "pageup")
            at.append(check())
            assert at[-1] < at[-2]
        assert grid.highlighted_row.tracking_id == expected[0]


@pilot_test
async def test_first_and_last_customers_by_key(big_store) -> None:
    app = DistilApp(big_store, cursor_blink=False)
    expected = every_tracking_id(big_store)
    async with app.run_test(size=SIZE) as pilot:
        _screen, grid = await open_data(pilot)
        await press(pilot, "ctrl+end")
        assert grid.highlighted_row.tracking_id == expected[-1]
        await press(pilot, "up")
        assert grid.highlighted_row.tracking_id == expected[-2]
        await press(pilot, "ctrl+home")
        assert grid.highlighted_row.tracking_id == expected[0]


@pilot_test
async def test_sort_by_the_column_under_the_cursor_and_reverse(big_store) -> None:
    app = DistilApp(big_store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        await press(pilot, *["right"] * headings(grid).index("Town"), "s")
        assert headings(grid)[4] == "Town ▲"
        assert "by Town ascending" in screen.query_one("#data-pane").border_subtitle
        towns = [row.values[4] for row in grid.rows_held]
        assert towns == sorted(towns)
        assert grid.highlighted_attribute.name == "town"  # the cursor stays in the column
        # Past the first page, still in order; customers without a town last.
        await press(pilot, "ctrl+end")
        tail = [row.values[4] for row in grid.rows_held]
        assert tail[-1] is None and [t for t in tail if t] == sorted(t for t in tail if t)
        await press(pilot, "ctrl+home", "s")
        assert headings(grid)[4] == "Town ▼"
        towns = [row.values[4] for row in grid.rows_held]
        assert towns == sorted(towns, reverse=True) and towns[0] == "York"
        expected = every_tracking_id(big_store, sort="town", descending=True)
        assert [row.tracking_id for row in grid.rows_held] == expected[:DATA_PAGE]


@pilot_test
async def test_choose_columns(big_store) -> None:
    app = DistilApp(big_store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        await press(pilot, "c")
        chooser = app.screen
        assert isinstance(chooser, ColumnChooser)
        names = [a.name for a in chooser.attributes]
        assert "custom.tier" in names and "core_data.tracking_id" in names
        # Tick the Tracking ID, untick the email, apply.
        await press(pilot, *["down"] * names.index("core_data.tracking_id"), "space")
        await press(pilot, *["up"] * (names.index("core_data.tracking_id") - names.index("email_address")), "space")
        await press(pilot, "enter")
        assert app.screen is screen
        assert headings(grid) == ["First name", "Last name", "Mobile phone", "Town", "Tracking ID", "Last seen"]
        for row in range(3):
            assert shown(grid, row)[4] == grid.rows_held[row].tracking_id
        # Escape leaves the columns as they are.
        await press(pilot, "c", "space", "escape")
        assert headings(grid)[0] == "First name"
        # A custom attribute, by its key.
        await press(pilot, "c", *["down"] * names.index("custom.tier"), "space", "enter")
        assert "tier" in headings(grid)
        assert {shown(grid, row)[headings(grid).index("tier")] for row in range(grid.row_count)} == \
            {"gold", "silver", ""}


@pilot_test
async def test_pick_a_saved_segment_and_back_to_all(big_store) -> None:
    leeds = segments.save(big_store, Segment("Leeds people", (Condition("town", "equals", "Leeds"),)))
    app = DistilApp(big_store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        await press(pilot, "f")
        picker = app.screen
        assert isinstance(picker, SegmentsScreen)
        options = picker.query_one(OptionList)
        assert options.option_count == 2
        assert "260" in str(options.get_option_at_index(0).prompt)
        assert "52 customers" in str(options.get_option_at_index(1).prompt)
        await press(pilot, "down", "enter")
        assert app.screen is screen and screen.segment == leeds
        assert screen.query_one("#data-pane").border_title == "Data · Leeds people"
        assert screen.query_one("#data-pane").border_subtitle == "52 customers"
        assert {row.values[4] for row in grid.rows_held} == {"Leeds"}
        assert grid.row_count == 52
        await press(pilot, "f", "up", "enter")
        assert screen.segment is None and grid.row_count == DATA_PAGE


@pilot_test
async def test_create_rename_and_delete_a_segment(big_store) -> None:
    app = DistilApp(big_store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        await press(pilot, "f", "n")
        editor = app.screen
        assert isinstance(editor, SegmentEditor)
        # Name, then through "all of" and "First name" "equals" to the value.
        await press(pilot, *"Anns", "tab", "tab", "tab", "tab", *"ann")
        assert "13 customers" in str(editor.query_one("#editor-status").render())
        await press(pilot, "ctrl+n")  # a second condition: town ... is empty
        rows = list(editor.query("ConditionRow"))
        assert len(rows) == 2
        assert "Type the value" in str(editor.query_one("#editor-status").render())
        await press(pilot, "ctrl+d", "ctrl+s")
        picker = app.screen
        assert isinstance(picker, SegmentsScreen)
        saved = segments.get(big_store, "Anns")
        assert saved.conditions == (Condition("first_name", "equals", "ann"),)
        options = picker.query_one(OptionList)
        assert "13 customers" in str(options.get_option_at_index(options.highlighted).prompt)
        # Rename it.
        await press(pilot, "r")
        field = app.screen.query_one(Input)
        field.value = "All the Anns"
        await press(pilot, "enter")
        assert [s.name for s, _ in segments.list_segments(big_store)] == ["All the Anns"]
        # Delete it, after confirming.
        await press(pilot, "delete", "y")
        assert segments.list_segments(big_store) == []
        assert app.screen.query_one(OptionList).option_count == 1
        await press(pilot, "escape")
        assert app.screen is screen and screen.segment is None


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pilot_test
async def test_export_what_is_on_show_and_read_it_back(big_store, tmp_path, fmt) -> None:
    segments.save(big_store, Segment("York", (Condition("town", "equals", "york"),)))
    target = tmp_path / f"york.{fmt}"
    app = DistilApp(big_store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await open_data(pilot)
        await press(pilot, "f", "down", "enter", "e")
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        dialog.query_one("#export-path", Input).value = str(target)
        await press(pilot, "enter")
        for _ in range(50):
            if not dialog.running:
                break
            await settle(pilot)
        assert dialog.written == 52
        assert "Wrote 52 customers" in str(dialog.query_one("#export-status").render())
        await press(pilot, "escape")
        assert app.screen is screen
    expected = {row.tracking_id: row.values for row in data_page(
        big_store, ("first_name", "last_name", "email_address", "mobile_phone_no", "town", "core_data.last_seen"),
        segment=segments.get(big_store, "York"), limit=1000).rows}
    with target.open(encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            records = list(csv.DictReader(handle))
        else:
            records = [json.loads(line) for line in handle]
    assert list(records[0]) == ["core_data.tracking_id", "first_name", "last_name", "email_address",
                                "mobile_phone_no", "town", "core_data.last_seen"]
    got = {r["core_data.tracking_id"]: tuple(r[k] for k in list(r)[1:]) for r in records}
    if fmt == "csv":  # CSV has no empty value but the empty string
        expected = {k: tuple("" if v is None else v for v in values) for k, values in expected.items()}
    assert got == expected


@pilot_test
async def test_enter_opens_the_customers_profile(make_ui_app) -> None:
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        _screen, grid = await open_data(pilot)
        await press(pilot, "down", "down")
        chosen = grid.highlighted_row
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        profile = app.screen.query_one(ProfileView).profile
        assert profile is not None and profile.tracking_id == chosen.tracking_id


@pilot_test
async def test_escape_cancels_an_export_and_leaves_the_file(big_store, tmp_path, monkeypatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("what was there\n", encoding="utf-8")
    started = threading.Event()

    def waiting_export(store, path, *, cancel, progress, **options):
        progress(0, 260)
        started.set()
        cancel.wait(30)
        raise ExportCancelled("cancelled")

    monkeypatch.setattr(data_export, "export_customers", waiting_export)
    app = DistilApp(big_store, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_data(pilot)
        await press(pilot, "e")
        dialog = app.screen
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        while not started.is_set():
            await pilot.pause()
        assert dialog.running
        await pilot.press("escape")  # cancels; a second escape closes
        await settle(pilot)
        assert not dialog.running and app.screen is dialog
        assert "cancelled" in str(dialog.query_one("#export-status").render())
        await press(pilot, "escape")
        assert isinstance(app.screen, DataScreen)
    assert target.read_text(encoding="utf-8") == "what was there\n"
