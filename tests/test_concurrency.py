"""Many users of one store: the app open while a headless import writes,
and two headless imports at once."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from distil_tui.core import demo, segments
from distil_tui.core import store as store_module
from distil_tui.core.store import Store
from distil_tui.ui.widgets import ResultsTable, SearchBox

from .test_crash import content
from .test_ui import pilot_test, result_names, settle

NEWCOMER = ("Zebedee", "Quartermaine", "zebedee@quartermaine-hats.co.uk")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> demo.DemoDataset:
    # A shop export whose import takes a few seconds.
    return demo.generate(tmp_path_factory.mktemp("demo"), customers=8_000)


def cli(db: str, item: demo.DemoImport, path: Path | None = None) -> list[str]:
    args = [sys.executable, "-m", "distil_tui", "--db", db, "import", str(path or item.path),
            "--source", item.source, "--format", item.fmt]
    return args + (["--id-column", item.id_column] if item.id_column else [])


def with_newcomer(shop: Path, out: Path) -> Path:
    """The shop export and one more customer, whom only this file knows."""
    with open(shop, encoding="utf-8", newline="") as source, open(out, "w", encoding="utf-8", newline="") as dest:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(dest, reader.fieldnames)
        writer.writeheader()
        writer.writerows(reader)
        first, last, email = NEWCOMER
        writer.writerow({**dict.fromkeys(reader.fieldnames, ""), "customer_id": "Z1", "first_name": first,
                         "last_name": last, "email": email})
    return out


async def timed_search(pilot: Pilot, query: str) -> float:
    """Type ``query`` afresh; seconds until its results are on screen."""
    box = pilot.app.screen.query_one(SearchBox)
    box.focus()
    box.value = ""
    started = time.monotonic()
    await pilot.press(*query)
    await settle(pilot)
    return time.monotonic() - started


@pilot_test
async def test_the_app_keeps_working_while_a_headless_import_writes_and_then_sees_its_data(
        make_ui_app, ui_store, files, tmp_path):
    shop = next(item for item in files.imports if item.source == "shop")
    path = with_newcomer(shop.path, tmp_path / "shop.csv")
    app = make_ui_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = result_names(pilot)
        proc = subprocess.Popen(cli(ui_store.url, shop, path), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            # Searches while the import runs: each lands, and soon.
            during, slowest = 0, 0.0
            while proc.poll() is None:
                slowest = max(slowest, await timed_search(pilot, "ada" if during % 2 else "alan"))
                assert result_names(pilot), "a search found nothing while the import ran"
                during += 1 if proc.poll() is None else 0
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert "locked" not in err + out
        assert during >= 2, "the import ended before the app could search during it"
        assert slowest < 5.0

        # Typing finds what the import brought.
        await timed_search(pilot, "zebedee quart")
        assert result_names(pilot)[0] == "Zebedee Quartermaine"

        # Results on show stay as they were until asked again: the refresh
        # key asks.  (The most recently seen customers come first.)
        await timed_search(pilot, "")
        shown = result_names(pilot)
        late = tmp_path / "late.csv"
        late.write_text("id,first_name,last_name,email\nL1,Philippa,Quince,pq@quince-orchards.co.uk\n",
                        encoding="utf-8")
        subprocess.run(cli(ui_store.url, demo.DemoImport(late, "late", "csv", "id")), check=True,
                       capture_output=True, timeout=60)
        await settle(pilot)
        assert result_names(pilot) == shown
        pilot.app.screen.query_one(ResultsTable).focus()
        await pilot.press("f5")
        await settle(pilot)
        assert result_names(pilot)[0] == "Philippa Quince"
        assert before[0] not in result_names(pilot)


def test_two_headless_imports_at_once_give_what_one_after_the_other_gives(files, tmp_path):
    shop, crm = (next(item for item in files.imports if item.source == s) for s in ("shop", "crm"))
    together, control = str(tmp_path / "together.db"), str(tmp_path / "control.db")
    procs = [subprocess.Popen(cli(together, item), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for item in (shop, crm)]
    outcomes = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in out + err
    # Whichever took the store first went first: the same order, one after
    # the other, into another store.
    conn = sqlite3.connect(together)
    order = [r[0] for r in conn.execute("SELECT source FROM import_run ORDER BY id")]
    conn.close()
    assert sorted(order) == ["crm", "shop"]
    for source in order:
        item = shop if source == "shop" else crm
        subprocess.run(cli(control, item), check=True, capture_output=True, timeout=120)
    got, want = content(Path(together)), content(Path(control))
    assert got["source_record"]
    assert got == want



class _RacingCursor:
    """A cursor whose switch to WAL another process's switch beats
    ``losses`` times, as SQLite reports it (without waiting)."""

    def __init__(self, losses: int, error: str = "database is locked") -> None:
        self.losses, self.error, self.tries = losses, error, 0

    def execute(self, sql: str) -> None:
        self.tries += 1
        if self.tries <= self.losses:
            raise sqlite3.OperationalError(self.error)


def test_a_store_another_process_is_switching_to_wal_is_opened_all_the_same():
    cursor = _RacingCursor(losses=3)
    store_module._set_wal(cursor)
    assert cursor.tries == 4
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        store_module._set_wal(_RacingCursor(losses=1, error="disk I/O error"))


def test_a_write_waits_for_a_headless_import_to_finish_instead_of_failing(files, tmp_path, monkeypatch):
    """A headless import holds the store's write lock while it runs: minutes
    at a million records, past SQLite's busy timeout (30 s).  A reviewer's
    decision or a saved segment meanwhile waits its turn; it does not fail
    with "database is locked".  Here the timeout is 0.2 s and the import
    takes seconds."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    db = tmp_path / "store.db"
    store = Store(f"sqlite:///{db}")
    shop = next(item for item in files.imports if item.source == "shop")
    proc = subprocess.Popen(cli(str(db), shop), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        probe = sqlite3.connect(db, timeout=0, isolation_level=None)
        while proc.poll() is None:  # until the import holds the write lock
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                time.sleep(0.01)
            except sqlite3.OperationalError:
                break
        probe.close()
        assert proc.poll() is None, "the import ended before it was seen writing"
        started = time.monotonic()
        segments.save(store, segments.Segment("leeds", (segments.parse_condition("town equals Leeds"),)))
        waited = time.monotonic() - started
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        store.close()
    assert proc.returncode == 0, err
    assert waited > 0.2  # it did wait for the import
    store = Store(f"sqlite:///{db}")
    try:
        assert segments.get(store, "leeds").name == "leeds"
        assert segments.count(store, segments.get(store, "leeds")) > 0
    finally:
        store.close()


_OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
from distil_tui.core.store import Store
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
Store("sqlite:///" + sys.argv[1]).close()
"""


def test_processes_that_open_a_new_store_at_once_all_succeed(tmp_path):
    """Two imports into a store (and folder) not made yet: each process
    found no schema, made it, and the second failed writing the schema
    version again."""
    for round_ in range(3):
        db, go = tmp_path / f"new{round_}" / "store.db", tmp_path / f"go{round_}"
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN_WHEN_TOLD, str(db), str(go)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        time.sleep(1.0)  # all started and waiting
        go.touch()
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("SELECT count(*) FROM meta WHERE key = 'schema_version'").fetchone()[0] == 1
        finally:
            conn.close()
