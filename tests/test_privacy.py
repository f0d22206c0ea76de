"""Privacy at rest: the store and what the app writes beside it are for
their owner's eyes only, and no log or message carries a customer's
personal data."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from distil_tui.core import exports, segments
from distil_tui.core.importer import import_file
from distil_tui.core.schema import Meta
from distil_tui.core.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask 022", "umask 000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


PEOPLE_CSV = ("id,first_name,last_name,email,phone,town\n"
              "P1,Ottoline,Brackenbury,ottoline.b@quillfeather.co.uk,07911 123987,Hebden Bridge\n")


def test_the_store_its_folder_and_sqlites_own_files_are_the_owners_only(tmp_path, umask):
    db = tmp_path / "new" / "folder" / "store.db"
    store = Store(f"sqlite:///{db}")
    try:
        (tmp_path / "people.csv").write_text(PEOPLE_CSV, encoding="utf-8")
        import_file(store, tmp_path / "people.csv", source="shop", id_column="id")
        with store.read():  # open: the WAL and its index are there
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(db.parent) == 0o700
    finally:
        store.close()


def test_the_default_store_in_the_user_data_folder_is_the_owners_only(tmp_path, umask):
    """The command line, with nothing said about where: the platform's user
    data folder, made by the app."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("DISTIL_DB", None)
    (tmp_path / "people.csv").write_text(PEOPLE_CSV, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "distil_tui", "import", str(tmp_path / "people.csv"),
                    "--source", "shop", "--id-column", "id"], env=env, check=True, capture_output=True)
    folder = tmp_path / "data" / "distil-tui"
    assert mode(folder) == 0o700
    assert {f.name: mode(f) for f in folder.iterdir()} == {f.name: 0o600 for f in folder.iterdir()}
    assert (folder / "distil.db").exists()


def test_the_demo_store_is_the_owners_only(tmp_path):
    """The demo's people are invented, but its store is made like any other;
    its files lie beside it, in the owner's folder."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("DISTIL_DB", None)
    old = os.umask(0o022)
    try:
        subprocess.run([sys.executable, "-m", "distil_tui", "demo", "--customers", "100"], env=env, check=True,
                       capture_output=True)
    finally:
        os.umask(old)
    folder = tmp_path / "data" / "distil-tui"
    assert mode(folder) == 0o700
    stores = [p for p in folder.iterdir() if p.name.startswith("demo.db")]
    assert {p.name: mode(p) for p in stores} == {p.name: 0o600 for p in stores}
    assert (folder / "demo-data" / "shop.csv").exists()


def test_every_export_is_the_owners_only(tmp_path, umask):
    """Exports hold names, emails and phones: readable by their owner only,
    as the store is.  (The Tracking ID change feed holds no personal data;
    it is written the same way all the same.)"""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        (tmp_path / "people.csv").write_text(PEOPLE_CSV, encoding="utf-8")
        import_file(store, tmp_path / "people.csv", source="shop", id_column="id")
        segment = segments.Segment("hebden", (segments.parse_condition("town equals Hebden Bridge"),))
        out = tmp_path / "out"
        out.mkdir(mode=0o755)
        written = []
        for what in ("customers", "records", "identifiers"):
            for suffix in ("csv", "jsonl"):
                written.append(out / f"{what}.{suffix}")
                exports.export(store, written[-1], what=what)
        written.append(out / "segment.csv")
        exports.export_customers(store, written[-1], segment=segment)
        written.append(out / "changes.csv")
        exports.export_tracking_id_changes(store, written[-1])
        # An export over an older, world-readable file replaces it.
        (out / "old.csv").write_text("old\n", encoding="utf-8")
        (out / "old.csv").chmod(0o644)
        written.append(out / "old.csv")
        exports.export(store, written[-1])
        assert "ottoline.b@quillfeather.co.uk" in (out / "customers.csv").read_text(encoding="utf-8")
        assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
        assert sorted(out.iterdir()) == sorted(written), "a temporary file left behind"
    finally:
        store.close()


# -- logs and messages ------------------------------------------------------------

# Personal values, each placed where a rejection or an error could echo it.
SECRETS = ("Ottoline", "Brackenbury", "ottoline.b@quillfeather.co.uk", "07911123987", "07911 123987",
           "hebden-bridge", "mirabel@quillfeather.co.uk", "Mirabel", "Quillfeather", "1979-02-29")


def personal_files(tmp_path: Path) -> list[tuple[Path, str, list[str]]]:
    """Files with good rows and bad ones: (path, source, extra arguments)."""
    customers = tmp_path / "in" / "customers.csv"
    customers.parent.mkdir()
    customers.write_text(
        "id,first_name,last_name,email,phone,dob\n"
        "P1,Ottoline,Brackenbury,ottoline.b@quillfeather.co.uk,07911 123987,1979-02-29\n"
        # Too many columns: the row is refused.
        "P2,Mirabel,Quillfeather,mirabel@quillfeather.co.uk,07911 123987,,hebden-bridge\n"
        # No key.
        ",Mirabel,Quillfeather,mirabel@quillfeather.co.uk,,\n"
        # A broken quote.
        'P3,"Mirabel,Quillfeather,mirabel@quillfeather.co.uk\n', encoding="utf-8")
    events = tmp_path / "in" / "events.jsonl"
    events.write_text("\n".join([
        json.dumps({"anonymous_user_id": "v-1", "timestamp": "2026-01-01T10:00:00Z", "event": "sign_in",
                    "customer": {"email_address": "ottoline.b@quillfeather.co.uk", "first_name": "Ottoline"}}),
        # The columns shifted: an email where the time should be.
        json.dumps({"anonymous_user_id": "v-2", "timestamp": "mirabel@quillfeather.co.uk"}),
        json.dumps({"timestamp": "2026-01-01T10:00:00Z", "customer": {"first_name": "Mirabel"}}),
        '{"anonymous_user_id": "v-3", "timestamp": "2026-01-01", "email": "mirabel@quillfeather.co.uk"',
        '["Mirabel", "Quillfeather"]',
    ]) + "\n", encoding="utf-8")
    return [(customers, "shop", ["--id-column", "id"]), (events, "web", ["--format", "events"])]


def test_no_log_or_message_holds_personal_data(tmp_path):
    """Every place the app writes diagnostic text: what the command line
    prints (summary, rejections, errors), the import runs' rejections in the
    store, and any file it writes in the user's folders besides the store."""
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_CONFIG_HOME": str(home / "config")}
    env.pop("DISTIL_DB", None)
    said = []
    for path, source, extra in personal_files(tmp_path):
        done = subprocess.run([sys.executable, "-m", "distil_tui", "import", str(path), "--source", source,
                               "--json", *extra], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        said += [done.stdout, done.stderr]
    summaries = [json.loads(text.splitlines()[-1]) for text in said[::2]]
    assert [s["records_rejected"] for s in summaries] == [3, 4]
    assert [(s["records_imported"], s["events_imported"]) for s in summaries] == [(1, 0), (1, 1)]
    store = home / "data" / "distil-tui" / "distil.db"
    conn = sqlite3.connect(store)
    try:
        runs = [r[0] for r in conn.execute("SELECT rejections FROM import_run")]
        # The data itself is in the store, as it should be.
        assert conn.execute("SELECT count(*) FROM customer WHERE email_address = ?",
                            ("ottoline.b@quillfeather.co.uk",)).fetchone()[0] == 1
    finally:
        conn.close()
    assert runs and all(json.loads(r) for r in runs)
    written = [p for p in home.rglob("*") if p.is_file() and not p.name.startswith("distil.db")]
    texts = said + runs + [p.read_text(encoding="utf-8", errors="replace") for p in written]
    # Rejections name the file, the line and the reason.
    assert "customers.csv:3" in said[1] and "events.jsonl:2: timestamp is not ISO 8601" in said[3]
    for secret in SECRETS:
        for text in texts:
            assert secret not in text, (secret, text)


def test_a_database_error_does_not_carry_the_values_of_its_statement(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(IntegrityError) as failed, store.write() as conn:
            # The store's version row exists: a second one breaks the key.
            conn.execute(Meta.__table__.insert(), [{"key": "schema_version",
                                                    "value": "ottoline.b@quillfeather.co.uk"}])
        assert "ottoline" not in str(failed.value)
        assert "UNIQUE constraint failed" in str(failed.value)
    finally:
        store.close()
