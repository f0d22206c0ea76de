"""Screenshots of the import screen, compared with accepted SVGs in
``tests/__snapshots__/``.  After a deliberate change, regenerate with
``pytest tests/test_snapshots_import.py --snapshot-update`` and look at them.

The file is typed as a path relative to the test's folder, so that no
temporary path is in the picture; the progress shown is posted at a fixed
point, and the summary's duration is fixed, so that no clock is either."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from textual.pilot import Pilot

from distil_tui.core import importer
from distil_tui.core.models import ImportProgress
from distil_tui.ui.screens import ImportScreen, importing
from tests.test_snapshots import settle
from tests.test_ui_import import NEW_SHOP_CSV


@pytest.fixture
def new_shop(tmp_path, monkeypatch, ui_store):
    (tmp_path / "new-shop.csv").write_text(NEW_SHOP_CSV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)


def typing_path(*then: str):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("tab", "i")
        await settle(pilot)
        await pilot.press(*"new-shop.csv")
        await settle(pilot)
        for key in then:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_import_preview_small_terminal(snap_compare, make_ui_app, new_shop) -> None:
    """At 80x24: the file, its source name and key column taken from it, the
    format detected, and each column with its attribute and first values."""
    assert snap_compare(make_ui_app(), terminal_size=(80, 24), run_before=typing_path())


def test_import_preview(snap_compare, make_ui_app, new_shop) -> None:
    """At 100x30: the same, with more of the first rows in view."""
    assert snap_compare(make_ui_app(), terminal_size=(100, 30), run_before=typing_path())


def test_import_in_progress(snap_compare, make_ui_app, new_shop, monkeypatch) -> None:
    """At 80x24: an import writing its records: the bar, records per second
    and time left (a fixed point, posted by the test), escape to cancel."""

    def waiting_import(store, path, *, cancel: threading.Event, **options):
        cancel.wait(30)  # until the app closes, which cancels
        raise importer.ImportCancelled("cancelled")

    monkeypatch.setattr(ImportScreen, "APART", False)  # the hook lives in this process
    monkeypatch.setattr(importing, "import_file", waiting_import)

    async def run_before(pilot: Pilot) -> None:
        await typing_path()(pilot)
        await pilot.press("enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, ImportScreen)
        screen.post_message(ImportScreen.Progressed(ImportProgress("writing", 42_000, 104_873), 9.0, 1.5))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_ui_app(), terminal_size=(80, 24), run_before=run_before)


def test_import_summary_with_rejections(snap_compare, make_ui_app, new_shop, monkeypatch) -> None:
    """At 80x24: the summary of an import and the row it rejected."""
    real_import = importer.import_file

    def timed_import(*args, **options):
        return dataclasses.replace(real_import(*args, **options), seconds=0.4)

    monkeypatch.setattr(ImportScreen, "APART", False)  # the hook lives in this process
    monkeypatch.setattr(importing, "import_file", timed_import)
    assert snap_compare(make_ui_app(), terminal_size=(80, 24), run_before=typing_path("enter"))
