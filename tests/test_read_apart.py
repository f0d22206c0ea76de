"""A large tracking export is read by a process of its own (ingest.apart):
the import it makes is the one reading it here makes, its bad bytes are
refused alike, and a cancel stops the reading process too."""

from __future__ import annotations

import json
import random
import threading

import pytest
from sqlalchemy import select

from distil_tui.core import importer
from distil_tui.core.importer import ImportCancelled, ImportRefused, import_file
from distil_tui.core.ingest import apart
from distil_tui.core.ingest.batches import read_batches
from distil_tui.core.ingest.readers import read_text, text_parts
from distil_tui.core.schema import T_RUN
from distil_tui.core.store import Store
from tests.conftest import FROZEN_NOW
from tests.stores import store_url


def events_file(path, n: int = 3000, seed: int = 5):
    """``n`` lines of events of 300 visitors in several shapes: sign-ins,
    an event given twice, rejected lines, non-ASCII text."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        anon = f"v{rng.randrange(300):03d}"
        at = f"2026-04-01T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
        if i % 97 == 0:
            lines.append(json.dumps({"anonymous_user_id": anon, "timestamp": "yesterday"}))
        elif i % 31 == 0:
            lines.append(json.dumps({"AnonymousUserID": anon, "EventTimestampUTC": at, "EventType": "sign_in",
                                     "CustomerId": f"S{rng.randrange(50)}", "FirstName": "Zoë"}))
        elif i % 13 == 0:
            lines.append(json.dumps({"anonymous_user_id": anon, "timestamp": at, "event": "sign_in",
                                     "customer": {"email_address": f"p{rng.randrange(80)}@example.org"}}))
        else:
            lines.append(json.dumps({"anonymous_user_id": anon, "timestamp": at, "event": "page_view",
                                     "properties": {"path": f"/p/{rng.randrange(40)}", "q": "中"}},
                                    ensure_ascii=False))
    lines.insert(n // 2, lines[n // 3])  # the same event twice
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dump(store) -> dict[str, list[str]]:
    with store.read() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)).all()))
                for t in T_RUN.metadata.sorted_tables if t.name != "import_run"}


@pytest.fixture
def apart_used(monkeypatch):
    """Every events file is read apart; the readings made are listed."""
    made = []

    class Recorded(apart.BatchesApart):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(importer, "APART_MIN_BYTES", 0)
    monkeypatch.setattr(importer, "BatchesApart", Recorded)
    return made


def test_an_events_file_read_apart_imports_what_reading_it_here_imports(tmp_path, monkeypatch):
    path = events_file(tmp_path / "ev.jsonl")
    summaries, dumps = [], []
    for name, threshold in (("here", 1 << 40), ("apart", 0)):
        monkeypatch.setattr(importer, "APART_MIN_BYTES", threshold)
        store = Store(store_url(tmp_path / f"{name}.db"), now=lambda: FROZEN_NOW)
        summary = import_file(store, path, source="web", customer_id_source="shop", batch_size=400)
        summaries.append({**summary.__dict__, "seconds": 0, "import_run_id": 0})
        dumps.append(dump(store))
        store.close()
    assert summaries[0] == summaries[1]
    assert dumps[0] == dumps[1]
    assert summaries[1]["events_imported"] > 2500 and summaries[1]["records_rejected"] == 31


def test_an_events_file_read_in_parts_gives_the_batches_of_its_whole_text(tmp_path):
    path = events_file(tmp_path / "ev.jsonl", n=1500)
    options = dict(source="web", id_column=None, customer_id_source="shop", region="GB", batch_size=300)
    whole = list(read_batches(path, read_text(path), "events", **options))
    parts = list(text_parts(path, part_bytes=4096))
    assert len(parts) > 20
    total_lines = path.read_bytes().count(b"\n") + 1
    in_parts = list(read_batches(path, parts, "events", total_lines=total_lines, **options))
    assert in_parts == whole


@pytest.mark.parametrize("bad, reason", [(b"\xe9", "not UTF-8 text (byte 0xe9"), (b"\x00", "a NUL byte (0x00")])
def test_a_bad_byte_deep_in_the_file_is_refused_naming_its_line_and_offset(tmp_path, bad, reason):
    path = events_file(tmp_path / "ev.jsonl", n=1200)
    data = path.read_bytes()
    at = data.index(b"page_view", len(data) * 3 // 4)
    path.write_bytes(data[:at] + bad + data[at + 1:])
    line = data.count(b"\n", 0, at) + 1
    expected = f"{path}:{line}: {reason} at offset {at})"
    with pytest.raises(ImportRefused) as whole:
        read_text(path)
    assert str(whole.value).startswith(expected)
    for size in (1000, 4096, 1 << 20):
        with pytest.raises(ImportRefused) as in_parts:
            list(text_parts(path, part_bytes=size))
        assert str(in_parts.value) == str(whole.value)


def test_a_refused_file_read_apart_changes_nothing(store, tmp_path, write, apart_used):
    import_file(store, write("shop.csv", "customer_id,email\nS1,ann@example.org\n"), source="shop",
                id_column="customer_id")
    before = dump(store)
    path = events_file(tmp_path / "ev.jsonl", n=15_000)  # beyond the head read to know the format
    data = path.read_bytes()
    assert len(data) > 1 << 20
    path.write_bytes(data + b'{"anonymous_user_id": "v1", "timestamp": "2026-04-01T00:00:00Z", "x": "\xff"}\n')
    last_line = data.count(b"\n") + 1
    with pytest.raises(ImportRefused, match=rf"ev.jsonl:{last_line}: not UTF-8 text"):
        import_file(store, path, source="web", customer_id_source="shop", batch_size=200)
    assert dump(store) == before
    assert apart_used and all(r._child.poll() is not None for r in apart_used)


def test_cancelling_an_import_read_apart_stops_the_reading_process(store, tmp_path, apart_used):
    path = events_file(tmp_path / "ev.jsonl")
    before = dump(store)
    cancel = threading.Event()

    def progress(p) -> None:
        if p.stage != "reading":
            cancel.set()

    with pytest.raises(ImportCancelled):
        import_file(store, path, source="web", batch_size=200, progress=progress, cancel=cancel)
    assert dump(store) == before
    assert len(apart_used) == 1 and apart_used[0]._child.poll() is not None


def test_a_reading_process_that_dies_is_an_error_not_a_short_import(store, tmp_path, apart_used, monkeypatch):
    path = events_file(tmp_path / "ev.jsonl")
    before = dump(store)
    real = apart.BatchesApart.__iter__

    def dies_after_one(self):
        for n, batch in enumerate(real(self)):
            yield batch
            if n == 0:
                self._child.kill()

    monkeypatch.setattr(apart.BatchesApart, "__iter__", dies_after_one)
    with pytest.raises(RuntimeError, match="the process reading the file ended unexpectedly"):
        import_file(store, path, source="web", batch_size=200)
    assert dump(store) == before


def test_without_a_reading_process_the_file_is_read_here(store, tmp_path, monkeypatch):
    """A reading process that cannot start (here: no Python to run it)
    leaves the import to read the file itself."""
    path = events_file(tmp_path / "ev.jsonl")
    monkeypatch.setattr(importer, "APART_MIN_BYTES", 0)
    monkeypatch.setattr(apart.sys, "executable", "/bin/false")
    summary = import_file(store, path, source="web", batch_size=400)
    assert summary.events_imported > 2500 and summary.records_rejected == 31
