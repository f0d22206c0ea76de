"""Pilot tests of the import screen: choose a file, read its preview, import
it, cancel an import, and find the new customers by search afterwards."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from distil_tui.core import importer
from distil_tui.core.models import ImportProgress
from distil_tui.core.preview import preview_file
from distil_tui.core.schema import T_CUSTOMER, T_RECORD
from distil_tui.ui.screens import BrowseScreen, ImportScreen, importing
from tests.test_ui import pilot_test, result_names, search, settle

SIZE = (100, 30)

NEW_SHOP_CSV = (
    "customer_id,first_name,last_name,email,phone,town,loyalty_tier\n"
    "2001,Zelda,Fitzgerald,zelda@jazz-age-books.com,07700 900321,Montgomery,gold\n"
    "2002,Scott,Fitzgerald,scott@jazz-age-books.com,07700 900322,St Paul,silver\n"
    "2003,Bad,Row,only-four-cells\n"
    "2004,Ernest,Hemingway,ernest@key-west-cats.com,,Key West,bronze\n"
)


def counts(store) -> tuple[int, int]:
    with store.read() as conn:
        return (conn.execute(select(func.count()).select_from(T_CUSTOMER)).scalar_one(),
                conn.execute(select(func.count()).select_from(T_RECORD)).scalar_one())


def info(pilot: Pilot) -> str:
    return str(pilot.app.screen.query_one("#import-info", Static).render())


def cells(pilot: Pilot, selector: str) -> list[list[str]]:
    table = pilot.app.screen.query_one(selector, DataTable)
    return [[str(getattr(c, "plain", c)) for c in table.get_row_at(r)] for r in range(table.row_count)]


async def open_import(pilot: Pilot, path: str = "") -> ImportScreen:
    await settle(pilot)
    await pilot.press("tab", "i")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    if path:
        screen.query_one("#import-path", Input).value = path
        await settle(pilot)
    return screen


def test_preview_reads_the_head_format_and_mapping(write) -> None:
    preview = preview_file(write("new-shop.csv", NEW_SHOP_CSV))
    assert preview.format == "csv"
    assert preview.key_column == "customer_id"
    assert preview.rows == 4
    mapping = {c.name: (c.attribute, c.standard) for c in preview.columns}
    assert mapping["email"] == ("email_address", True)
    assert mapping["phone"] == ("mobile_phone_no", True)
    assert mapping["loyalty_tier"] == ("loyalty_tier", False)
    assert preview.columns[1].samples[:2] == ("Zelda", "Scott")


@pilot_test
async def test_i_opens_import_and_a_path_shows_format_preview_and_mapping(make_ui_app, write) -> None:
    path = write("new-shop.csv", NEW_SHOP_CSV)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot)
        assert screen.focused is screen.query_one("#import-path")
        await pilot.press(*str(path))
        await settle(pilot)
        assert info(pilot).startswith("CSV (detected)")
        assert screen.query_one("#import-source", Input).value == "new-shop"
        assert screen.query_one("#import-key", Input).value == "customer_id"
        rows = {row[0]: row for row in cells(pilot, "#import-columns")}
        assert rows["customer_id"][1] == "key: customer_id"
        assert rows["email"][1:3] == ["email_address", "zelda@jazz-age-books.com"]
        assert rows["loyalty_tier"][1] == "loyalty_tier (custom)"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)


@pilot_test
async def test_import_shows_summary_with_rejections_and_search_finds_the_new_customer(
    make_ui_app, ui_store, write
) -> None:
    path = write("new-shop.csv", NEW_SHOP_CSV)
    customers_before, _ = counts(ui_store)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, str(path))
        screen.query_one("#import-source").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.has_class("-done")
        summary = str(screen.query_one("#import-summary-text", Static).render())
        assert "Imported new-shop.csv as new-shop" in summary
        assert "4 rows read: 3 imported, 1 rejected." in summary
        assert "3 new customers" in summary
        assert cells(pilot, "#import-rejections") == [["4", "expected 7 columns, found 4"]]
        assert counts(ui_store)[0] == customers_before + 3
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        assert "Zelda Fitzgerald" in result_names(pilot)  # the search on show ran again
        await search(pilot, "zelda")
        assert result_names(pilot) == ["Zelda Fitzgerald"]


@pilot_test
async def test_escape_during_an_import_cancels_it_and_leaves_the_store_as_it_was(
    make_ui_app, ui_store, write, monkeypatch
) -> None:
    rows = "".join(f"{3000 + n},Person{n},Tester,person{n}@many-people.org,,Leeds,\n" for n in range(2000))
    path = write("big.csv", NEW_SHOP_CSV.split("\n", 1)[0] + "\n" + rows)
    before = counts(ui_store)
    resolving, go_on = threading.Event(), threading.Event()
    real_import = importer.import_file

    def held_import(store, path, *, progress, cancel, **options):
        # Hold the import at its resolving stage until escape has been pressed.
        def hooked(p):
            progress(p)
            if p.stage == "resolving" and not resolving.is_set():
                resolving.set()
                go_on.wait(10)
        return real_import(store, path, progress=hooked, cancel=cancel, **options)

    monkeypatch.setattr(ImportScreen, "APART", False)  # the hook lives in this process
    monkeypatch.setattr(importing, "import_file", held_import)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, str(path))
        await pilot.press("enter")
        assert await asyncio.to_thread(resolving.wait, 10)
        await pilot.pause()
        assert screen.running and screen.has_class("-running")
        assert "Resolving 2,000 records" in str(screen.query_one("#import-rate", Static).render())
        await pilot.press("escape")
        go_on.set()
        await settle(pilot)
        assert not screen.running
        assert isinstance(app.screen, ImportScreen)  # escape cancelled; it did not leave
        assert "Import cancelled" in info(pilot)
        assert counts(ui_store) == before


@pilot_test
async def test_a_refused_file_shows_why_and_nothing_breaks(make_ui_app, ui_store, write, tmp_path) -> None:
    empty = write("empty.csv", "")
    before = counts(ui_store)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, str(empty))
        assert info(pilot) == f"{empty}: the file is empty"
        assert screen.query_one("#import-info").has_class("-error")
        await pilot.press("enter")  # nothing to import: it says so
        await settle(pilot)
        assert not screen.running
        screen.query_one("#import-path", Input).value = str(tmp_path)
        await settle(pilot)
        assert info(pilot) == f"{tmp_path}: is a folder, not a file"
        screen.query_one("#import-path", Input).value = str(tmp_path / "missing.csv")
        await settle(pilot)
        assert info(pilot).endswith("missing.csv: no such file")
        assert counts(ui_store) == before


@pilot_test
async def test_an_import_refused_after_the_preview_shows_the_message(make_ui_app, write) -> None:
    """A key column the file does not have: the import refuses, naming the columns."""
    path = write("new-shop.csv", NEW_SHOP_CSV)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, str(path))
        screen.query_one("#import-key", Input).value = "nope"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "no column 'nope'" in info(pilot)
        assert not screen.has_class("-done")


@pilot_test
async def test_path_completion_suggests_files_of_the_folder(make_ui_app, write) -> None:
    path = write("new-shop.csv", NEW_SHOP_CSV)
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot)
        await pilot.press(*f"{path.parent}/new-")
        await settle(pilot)
        await pilot.press("right")  # accepts the suggestion
        await settle(pilot)
        assert screen.query_one("#import-path", Input).value == str(path)
        assert info(pilot).startswith("CSV (detected)")


def test_progress_line_says_where_how_fast_and_how_long() -> None:
    fraction, line = importing.progress_view(ImportProgress("reading", 5_000, 100_001), 1.0, 1.0)
    assert fraction == pytest.approx(0.0075, abs=1e-3)
    assert line.startswith("Reading line 5,000 of 100,001 · 5,000 records/s")
    fraction, line = importing.progress_view(ImportProgress("writing", 100, 100), 10.0, 2.0)
    assert fraction == pytest.approx(0.85)
    assert line == "Wrote 100 records; now their customers and the search index · about 2 s left"
    _, line = importing.progress_view(ImportProgress("resolving", 0, 7), 0.0, 0.0)
    assert line == "Resolving 7 records into customers"


@pilot_test
async def test_events_say_whose_customer_ids_they_carry(make_ui_app, ui_store, write) -> None:
    import json

    # The ui store's shop has customer 1001 (Ada); a sign-in names her by that id only.
    events = [{"anonymous_user_id": "tablet-9", "timestamp": "2026-01-01T08:00:00Z", "event": "page_view"},
              {"anonymous_user_id": "tablet-9", "timestamp": "2026-01-01T08:01:00Z", "event": "sign_in",
               "customer": {"customer_id": "1001"}}]
    path = write("tablet.jsonl", "\n".join(json.dumps(e) for e in events) + "\n")
    app = make_ui_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, str(path))
        assert str(screen.query_one("#import-key-label", Static).render()) == "Ids from"
        key = screen.query_one("#import-key", Input)
        key.focus()
        await pilot.press(*"shop", "enter")
        await settle(pilot)
        assert screen.has_class("-done")
    from distil_tui.core.exports import record_grouping

    grouping = record_grouping(ui_store)
    assert grouping[("tablet", "tablet-9")] == grouping[("shop", "1001")]
