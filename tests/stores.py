"""Where a test keeps its store: one switch for the whole suite.

Without ``DISTIL_TEST_DB`` every store is a SQLite file.  With
``DISTIL_TEST_DB=postgresql://user:password@host/database`` every store is a
schema of its own in that database instead (a schema is made in a few
milliseconds; a database per test would be tens of them), named after the
file the test would have used, so that opening the same path twice opens
the same store, in this process and in the ones a test starts.  The
database is the suite's alone: the schemas are dropped when the run ends.
"""

from __future__ import annotations

import hashlib
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


def store_url(path: Path | str) -> str:
    """The URL of the store a test would keep in the file ``path``."""
    if not ON_POSTGRES:
        return f"sqlite:///{path}"
    from sqlalchemy.engine import make_url

    schema = SCHEMA_PREFIX + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]
    _execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    # A test's data need not survive a crash of the server: commits do not wait for the disk.
    url = make_url(TEST_DB).update_query_dict(
        {"options": f"-csearch_path={schema},public -csynchronous_commit=off"})
    return url.render_as_string(hide_password=False)


def drop_schemas() -> None:
    """Drop every schema the suite made (at the end of a run)."""
    if not ON_POSTGRES:
        return
    rows = _execute(f"SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '{SCHEMA_PREFIX}')")
    schemas = [schema for (schema,) in rows]
    for start in range(0, len(schemas), 20):  # a few per transaction: each locks all its tables
        _execute(f"DROP SCHEMA IF EXISTS {', '.join(schemas[start:start + 20])} CASCADE")


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
