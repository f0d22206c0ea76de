"""The store: one SQLAlchemy engine, its pragmas, its schema version.

SQLite is opened in WAL mode with a busy timeout so that the app and a
headless import can work on one store at once.  Write transactions start with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can
fail at once with "database is locked" when another writer got there first,
whatever the busy timeout says.

PostgreSQL (``postgresql://...``, through psycopg 3) gets the same one writer
at a time: every write transaction first takes a transaction-level advisory
lock of its own store (database and schema), so that an import, a merge or an
undo reads what the store holds, decides and writes with no other writer in
between: two imports at once never merge the same customers twice, and new
ids taken as ``max(id) + 1`` are never taken twice.  Writes run in READ
COMMITTED, so that each statement after the lock sees everything committed
before it; reads run in REPEATABLE READ, one snapshot like SQLite's.  Text
columns are created with the "C" collation: strings compare and sort by code
point, as on SQLite, whatever the database's locale.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from distil_tui.core import schema
from distil_tui.core.schema import SCHEMA_VERSION, Meta
from distil_tui.core.search_index import ensure_search_index
from distil_tui.core.search_index import is_current as search_index_is_current

CACHE_KIB = 128 * 1024
BUSY_TIMEOUT_MS = 30_000
# The advisory lock of a PostgreSQL store: this class of lock, and the hash of
# the store's schema (advisory locks are already one space per database).
_LOCK_CLASS = 0x64697374  # "dist"


class StoreError(Exception):
    """The store cannot be opened or used; the message says why."""


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """A handle on one store.  Cheap to share between threads: every call
    takes its own connection from the engine's pool."""

    def __init__(self, url: str, *, now: Callable[[], str] = utc_now) -> None:
        parsed = make_url(url)
        if parsed.drivername == "postgresql":  # SQLAlchemy's default would be psycopg2
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self.url = url
        self.now = now
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        # hide_parameters: a database error's message (shown, printed) must
        # not carry the customer values of the statement that failed.
        if self.is_sqlite:
            _prepare_sqlite_file(url)
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False},
                                                hide_parameters=True)
            _install_sqlite_hooks(self.engine)
        elif self.is_postgres:
            try:
                self.engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
            except ModuleNotFoundError as exc:
                raise StoreError(f"{self.display_name}: PostgreSQL needs the psycopg driver: "
                                 "pip install 'distil-tui[postgres]'") from exc
        else:
            raise StoreError(f"{self.display_name}: only SQLite and PostgreSQL stores are supported")
        try:
            self._check_and_create_schema()
        except OperationalError as exc:
            if not self.is_postgres:
                raise
            self.engine.dispose()
            raise StoreError(f"{self.display_name}: cannot open the store: {exc.orig or exc}") from exc

    # -- transactions ---------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction: one snapshot of the store."""
        with self.engine.connect() as conn:
            if self.is_postgres:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: everything in it lands, or nothing does;
        no other writer of the store runs at the same time."""
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.is_postgres:
                    conn.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, hashtext(current_schema()))")
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------

    def _check_and_create_schema(self) -> None:
        has_meta = inspect(self.engine).has_table(Meta.__tablename__)
        if has_meta:
            with self.read() as conn:
                row = conn.execute(
                    select(Meta.__table__.c.value).where(Meta.__table__.c.key == "schema_version")
                ).first()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.display_name}: this store has schema version {version}, written by a "
                    f"newer distil-tui; this version understands up to {SCHEMA_VERSION}. "
                    "Upgrade distil-tui to open it."
                )
            if version == SCHEMA_VERSION:
                # Nothing to create or migrate: no write lock to wait for, so
                # that a store opens while another process imports into it.
                with self.read() as conn:
                    tables = set(inspect(conn).get_table_names())
                    if {t.name for t in _tables()} <= tables and search_index_is_current(conn, tables):
                        return
        with self.write() as conn:
            SQLModel.metadata.create_all(conn, tables=_tables())
            # Read again under the write lock: another process may have made
            # the store meanwhile (two imports into a new store at once).
            found = self.meta_get(conn, "schema_version")
            if found is None and not has_meta:
                conn.execute(
                    Meta.__table__.insert(),
                    [{"key": "schema_version", "value": str(SCHEMA_VERSION)}],
                )
            else:
                self._migrate(conn, int(found) if found else 0)
            ensure_search_index(conn)  # derived data: created, and built if missing

    def _migrate(self, conn: Connection, version: int) -> None:
        """Bring an older store up to SCHEMA_VERSION, one step at a time."""
        if version < 2:
            conn.exec_driver_sql("ALTER TABLE source_record ADD COLUMN link VARCHAR NOT NULL DEFAULT '{}'")
        if version < 3:
            # Indexes nothing reads any more, that every import paid for: the
            # name columns' (search has its own index) and the identifier's
            # record id (its unique constraint starts with it).
            for index in ("ix_customer_first_name_key", "ix_customer_last_name_key", "ix_identifier_record_id"):
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        # Version 4 only adds tables (segments, forgetting): create_all made them.
        if version < 5:
            # Filled by the imports from now on; a record without it is
            # compared from its attributes, as before.
            conn.exec_driver_sql("ALTER TABLE source_record ADD COLUMN match_fields VARCHAR")
            conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_never_merge_record_b_id ON never_merge (record_b_id)")
        if version < 6:
            _one_event_index(conn)
        if version < SCHEMA_VERSION:
            self.meta_set(conn, "schema_version", str(SCHEMA_VERSION))

    @property
    def display_name(self) -> str:
        url = make_url(self.url)
        if self.is_sqlite:
            return url.database or ":memory:"
        return url.render_as_string(hide_password=True)

    # -- meta -----------------------------------------------------------

    def meta_get(self, conn: Connection, key: str, default: str | None = None) -> str | None:
        t = Meta.__table__
        row = conn.execute(select(t.c.value).where(t.c.key == key)).first()
        return row[0] if row else default

    def meta_set(self, conn: Connection, key: str, value: str) -> None:
        t = Meta.__table__
        if conn.execute(t.update().where(t.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(t.insert().values(key=key, value=value))


def _one_event_index(conn: Connection) -> None:
    """Schema 6: the event table's two indexes, unique (source, event_key)
    and (record_id, occurred_at), become one unique (record_id, occurred_at,
    event_key) (see schema.Event).  A store's events never break it: one
    key is one record, and the record says the source."""
    t = schema.Event.__table__
    if any(u["name"] == "uq_event_record_time_key" for u in inspect(conn).get_unique_constraints(t.name)):
        return
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_event_record_time")
    if conn.dialect.name == "postgresql":
        for u in inspect(conn).get_unique_constraints(t.name):
            conn.exec_driver_sql(f'ALTER TABLE event DROP CONSTRAINT "{u["name"]}"')
        conn.exec_driver_sql("ALTER TABLE event ADD CONSTRAINT uq_event_record_time_key "
                             "UNIQUE (record_id, occurred_at, event_key)")
        return
    # SQLite keeps a table's constraints in its CREATE TABLE: the table is
    # made again, its rows in id order.
    conn.exec_driver_sql("ALTER TABLE event RENAME TO event_v5")
    t.create(conn)
    columns = ", ".join(c.name for c in t.columns)
    conn.exec_driver_sql(f"INSERT INTO event ({columns}) SELECT {columns} FROM event_v5 ORDER BY id")
    conn.exec_driver_sql("DROP TABLE event_v5")


def _tables():
    return [
        m.__table__
        for m in (
            schema.Meta,
            schema.ImportRun,
            schema.Customer,
            schema.SourceRecord,
            schema.Identifier,
            schema.Event,
            schema.Merge,
            schema.MergeCandidate,
            schema.RetiredTrackingId,
            schema.NeverMerge,
            schema.BlockKey,
            schema.SavedSegment,
            schema.Forget,
            schema.ForgottenIdentifier,
        )
    ]


def _prepare_sqlite_file(url: str) -> None:
    """Create the store's folder and file readable by their owner only:
    customer data is personal data."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)  # another process may race us
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _set_wal(cur) -> None:
    """Put the store in WAL mode (a no-op once it is).  Two processes that
    open a new store at once race to convert it, and the loser can get
    "database is locked" at once, busy timeout or not (seen in CI: two
    headless imports started together into a new file).  So the switch is
    tried again, for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_wal(cur)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # Imports insert into several indexes at once; SQLite's default 2 MB
        # page cache makes each insert re-read index pages.
        cur.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        while True:
            try:
                conn.exec_driver_sql(f"BEGIN {mode}")
                return
            except OperationalError as exc:
                # Another process's import holds the write lock for as long
                # as it runs, minutes at a million records: a writer waits
                # its turn (holding nothing meanwhile) rather than fail.
                if mode != "IMMEDIATE" or "database is locked" not in str(exc):
                    raise


@compiles(AutoString, "postgresql")
def _text_in_code_point_order(type_, compiler, **kw) -> str:
    """Text columns on PostgreSQL compare as on SQLite, by code point: the
    order of names in the Data panel, ``max()`` of times and the key ranges
    of search must not depend on the database's locale."""
    return 'VARCHAR COLLATE "C"'


def sync_ids(conn: Connection, table) -> None:
    """After rows were inserted with ids of their own (``max(id) + 1``, taken
    under the write lock), move PostgreSQL's sequence of ``table`` past them,
    so that a row inserted without an id gets a free one.  SQLite needs
    nothing: it takes ``max(id) + 1`` itself."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(
        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id)) FROM {table.name} "
        "HAVING max(id) IS NOT NULL")


def json_text(value: object) -> str:
    """JSON as the store keeps it: sorted keys, so that equal values are
    equal strings; non-ASCII kept as it is."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
                            default=str).decode()
    except TypeError:  # an integer beyond 64 bits, from a JSON Lines file
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def json_value(text: str) -> object:
    """A JSON document the store keeps, read back."""
    return orjson.loads(text)


def bulk_insert(conn: Connection, table, rows: list[dict] | list[tuple],
                columns: Sequence[str] | None = None, *, skip_existing: bool = False) -> int:
    """Insert many rows through the driver's own ``executemany`` (on
    PostgreSQL, ``COPY``); the number inserted.  With ``skip_existing``, a
    row that would break a unique constraint is left out (``ON CONFLICT DO
    NOTHING``, which SQLite and PostgreSQL both read), and is not counted.

    SQLAlchemy Core processes every row's parameters in Python; for the bulk
    paths of an import that costs more than the database does (measured:
    Core about 200k rows/s, the driver about 580k rows/s)."""
    if not rows:
        return 0
    if columns is None:
        columns = list(rows[0])
        rows = [tuple(row[c] for c in columns) for row in rows]
    quote = conn.dialect.identifier_preparer.quote
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if conn.dialect.driver == "psycopg" and not skip_existing:
        # PostgreSQL's COPY: psycopg's executemany sends each row as a
        # statement of its own (measured: 75k blocking keys in 0.7 s, by
        # COPY in 0.13 s).  COPY has no ON CONFLICT: rows that may already
        # be stored go the way below.
        cursor = conn.connection.cursor()
        try:
            with cursor.copy(f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                             "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        inserted = len(rows)
    elif marker is None:  # a driver with named or numbered parameters
        statement = table.insert()
        if skip_existing:
            statement = statement.prefix_with("OR IGNORE", dialect="sqlite")
        inserted = conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows]).rowcount
    else:
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
               f"VALUES ({', '.join([marker] * len(columns))})")
        if skip_existing:
            sql += " ON CONFLICT DO NOTHING"
        inserted = conn.exec_driver_sql(sql, rows).rowcount
    if "id" in columns:
        sync_ids(conn, table)
    return inserted


def rows_in(conn: Connection, sql: str, values: Sequence, params: Sequence = (), *,
            chunk: int = 5000) -> Iterator[tuple]:
    """Rows of ``sql`` for many values, through the driver: ``sql`` holds one
    ``IN ({in})`` where the list goes, after the markers of ``params``
    (``NOT IN`` would be wrong: the values are asked for in chunks).

    For look-ups of many thousands of values (an import's keys and
    identifiers), SQLAlchemy's rendering of each IN list costs more than the
    query itself.  On psycopg, ``IN ({in})`` becomes ``= ANY(%s)`` with the
    list as one array: psycopg parses each new text of a statement, and a
    list of 5,000 markers cost more to parse than to run (a tenth of an
    import on PostgreSQL)."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = sql.replace("?", marker)
    as_array = None
    if conn.dialect.driver == "psycopg" and "IN ({in})" in sql:
        as_array = sql.replace("IN ({in})", "= ANY({in})").format(**{"in": marker})
    cursor = conn.connection.cursor()  # plain tuples: no Row objects to build
    try:
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            if as_array:
                cursor.execute(as_array, (*params, list(part)))
            else:
                cursor.execute(sql.format(**{"in": ", ".join([marker] * len(part))}), (*params, *part))
            yield from cursor
    finally:
        cursor.close()


def driver_rows(conn: Connection, sql: str, params: Sequence = ()) -> list[tuple]:
    """Every row of ``sql`` as plain tuples, through the driver: for reads
    of many thousands of rows, SQLAlchemy's Row objects cost more than the
    query (``?`` markers, as in :func:`rows_in`)."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql.replace("?", marker), tuple(params))
        return cursor.fetchall()
    finally:
        cursor.close()


def bulk_update(conn: Connection, table, rows: list[dict], key: str = "id") -> None:
    """Set the columns of each row (all rows have the same keys) where
    ``key`` equals the row's, through the driver's own ``executemany``
    (see :func:`bulk_insert`)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    quote = conn.dialect.identifier_preparer.quote
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if marker is None:
        conn.execute(table.update().where(table.c[key] == bindparam("_key"))
                     .values({c: bindparam(c) for c in columns}),
                     [{"_key": row[key], **{c: row[c] for c in columns}} for row in rows])
        return
    sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c)} = {marker}' for c in columns)} "
           f"WHERE {quote(key)} = {marker}")
    conn.exec_driver_sql(sql, [(*(row[c] for c in columns), row[key]) for row in rows])
