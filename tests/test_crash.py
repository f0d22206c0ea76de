"""Crash safety: an import killed (SIGKILL, no chance to clean up) in the
middle of writing leaves the store as it was, and the same import run again
gives what it would have given had nothing happened."""

from __future__ import annotations

import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distil_tui.core import demo
from distil_tui.core.store import Store

# Columns that hold the time an operation ran (not data): they differ
# between two runs of one import.
CLOCK_COLUMNS = {"started_at", "finished_at", "created_at", "decided_at", "retired_at", "updated_at"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> demo.DemoDataset:
    # Large enough that writing the shop's records takes several chunks of
    # 5,000 (the import reports each), small enough to run in seconds.
    return demo.generate(tmp_path_factory.mktemp("demo"), customers=10_000)


def cli(db: Path, item: demo.DemoImport) -> list[str]:
    args = [sys.executable, "-m", "distil_tui", "--db", str(db), "import", str(item.path),
            "--source", item.source, "--format", item.fmt]
    return args + (["--id-column", item.id_column] if item.id_column else [])


def run_import(db: Path, item: demo.DemoImport) -> None:
    subprocess.run(cli(db, item), check=True, capture_output=True, timeout=120)


def kill_while_writing(db: Path, item: demo.DemoImport) -> str:
    """Start the import with its standard error on a terminal, so that it
    shows its progress, and SIGKILL it as soon as it reports records
    written but not all of them.  Returns the last progress line seen."""
    parent, child = pty.openpty()
    proc = subprocess.Popen(cli(db, item), stderr=child, stdout=subprocess.DEVNULL)
    os.close(child)
    seen, text = "", b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # the child closed the terminal: it finished
                break
            if not chunk:
                break
            text += chunk
            progress = re.findall(rb"writing: (\d+)/(\d+)", text)
            if progress:
                seen = "writing: %s/%s" % tuple(p.decode() for p in progress[-1])
                if any(0 < int(done) < int(total) for done, total in progress):
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        os.close(parent)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the import was not killed mid-write (last seen: {seen!r})"
    return seen


def dump(db: Path) -> list[str]:
    """Every table's content and the schema, as SQL text."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def content(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the clock's values: what two runs of the same imports must agree on."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        # Records without a time of their own are seen when imported.
        clock = {v for row in conn.execute("SELECT started_at, finished_at FROM import_run") for v in row}
        out = {}
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            rows = []
            for row in cursor:
                values = dict(zip(columns, row, strict=True))
                rows.append(tuple(None if c in CLOCK_COLUMNS or v in clock else v for c, v in values.items()))
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("before", [[], ["crm"]], ids=["into an empty store", "into a store with data"])
def test_an_import_killed_while_writing_leaves_the_store_as_it_was(tmp_path, files, before):
    by_source = {item.source: item for item in files.imports}
    shop = by_source["shop"]
    crashed, control = tmp_path / "crashed.db", tmp_path / "control.db"
    for db in (crashed, control):
        Store(f"sqlite:///{db}").close()
        for source in before:
            run_import(db, by_source[source])
    was = dump(crashed)

    kill_while_writing(crashed, shop)
    # Opened as the crash left it (the WAL and its index included).
    assert integrity(crashed) == "ok"
    assert dump(crashed) == was
    # The app's own way in opens it too, and finds nothing of the import.
    store = Store(f"sqlite:///{crashed}")
    store.close()
    assert dump(crashed) == was

    # The same import again, now to the end: as if nothing had happened.
    run_import(crashed, shop)
    run_import(control, shop)
    assert integrity(crashed) == "ok"
    got, want = content(crashed), content(control)
    assert got["source_record"], "the import brought nothing"
    assert got == want
