"""Where a test keeps its store: one switch for the whole suite.

Without ``DISTIL_TEST_DB`` every store is a SQLite file.  With
``DISTIL_TEST_DB=postgresql://user:password@host/database`` every store is a
schema of its own in that database instead, the same schema for the same
path, so that opening a path again opens the same store (in this process and
in the ones a test starts, which get the URL).

Creating a store's tables costs about 150 ms on PostgreSQL, and the suite
makes well over a thousand stores (each hypothesis example makes its own):
so after each test the schemas it used are emptied (rows deleted, sequences
restarted: a few milliseconds) and handed to the next tests, and only a
schema a test changed beyond that is left aside.  The database is the
suite's alone: every schema is dropped when the run ends.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

TEST_DB_ENV = "DISTIL_TEST_DB"
TEST_DB = os.environ.get(TEST_DB_ENV, "")
ON_POSTGRES = TEST_DB.startswith("postgresql")
SCHEMA_PREFIX = "distil_test_"

sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite files as such")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason=f"needs {TEST_DB_ENV}=postgresql://...")

_admin = None
_names = itertools.count(1)
_schema_of: dict[str, str] = {}  # a path the running test named -> its schema
_clean: list[str] = []  # emptied schemas, for the next stores


def store_url(path: Path | str) -> str:
    """The URL of the store a test would keep in the file ``path``."""
    if not ON_POSTGRES:
        return f"sqlite:///{path}"
    from sqlalchemy.engine import make_url

    key = str(Path(path).resolve())
    if key not in _schema_of:
        if _clean:
            _schema_of[key] = _clean.pop()
        else:
            _schema_of[key] = f"{SCHEMA_PREFIX}{os.getpid()}_{next(_names)}"
            _execute(f"CREATE SCHEMA {_schema_of[key]}")
    # A test's data need not survive a crash of the server: commits do not wait for the disk.
    url = make_url(TEST_DB).update_query_dict(
        {"options": f"-csearch_path={_schema_of[key]},public -csynchronous_commit=off"})
    return url.render_as_string(hide_password=False)


def recycle() -> None:
    """After a test: empty the schemas it used and keep them for the next
    stores.  One whose tables or schema version the test changed, or that
    another connection still holds, is left for :func:`drop_schemas`."""
    if not ON_POSTGRES:
        return
    from sqlalchemy.exc import DBAPIError

    schemas = sorted(set(_schema_of.values()))
    _schema_of.clear()
    for schema in schemas:
        try:
            _execute(_emptying(schema))
        except DBAPIError:
            continue
        _clean.append(schema)


def _emptying(schema: str) -> str:
    """One statement that empties a store's schema as a new store has it,
    or fails if the schema is not such a store's."""
    from sqlmodel import SQLModel

    from distil_tui.core.schema import SCHEMA_VERSION
    from distil_tui.core.store import _tables

    store_tables = [t.name for t in SQLModel.metadata.sorted_tables if t in _tables()]
    derived = ["search_word", "search_contact"]
    deletes = "".join(f"DELETE FROM {schema}.{t};" for t in [*derived, *reversed(store_tables)] if t != "meta")
    return f"""DO $$
DECLARE r record;
BEGIN
  SET LOCAL lock_timeout = '5s';
  IF (SELECT value FROM {schema}.meta WHERE key = 'schema_version') IS DISTINCT FROM '{SCHEMA_VERSION}'
     OR (SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}') <> {len(store_tables) + 3} THEN
    RAISE EXCEPTION 'not a store as new';
  END IF;
  {deletes}
  DELETE FROM {schema}.meta WHERE key <> 'schema_version';
  UPDATE {schema}.search_state SET version = 0;
  FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = '{schema}' LOOP
    EXECUTE 'ALTER SEQUENCE {schema}.' || quote_ident(r.sequencename) || ' RESTART';
  END LOOP;
END $$"""


def drop_schemas() -> None:
    """Drop every schema the suite made (at the end of a run)."""
    if not ON_POSTGRES:
        return
    rows = _execute(f"SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '{SCHEMA_PREFIX}')")
    schemas = [schema for (schema,) in rows]
    for start in range(0, len(schemas), 20):  # a few per transaction: each locks all its tables
        _execute(f"DROP SCHEMA IF EXISTS {', '.join(schemas[start:start + 20])} CASCADE")
    _clean.clear()


def _execute(sql: str) -> list[tuple]:
    """One statement on the test database, committed."""
    global _admin
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    if _admin is None:
        url = make_url(TEST_DB)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        _admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with _admin.connect() as conn:
            # Search's trigram indexes, once for all schemas (it lives in public).
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    with _admin.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = off")
        result = conn.exec_driver_sql(sql)
        return result.all() if result.returns_rows else []
