"""The search index: derived data, built from the customer table whenever it
is missing, empty or of an older format, so that it needs no schema version.

- ``search_name``: SQLite FTS5 over the folded words of each customer's first
  and last name (rowid = customer id).  Prefix indexes for one to four
  letters make a short prefix one stored list instead of a merge of every
  matching word's list (measured at 1M customers: ``s*`` 25 ms without,
  0.05 ms with; ``smit*`` 2 ms and 0.02 ms).
- ``search_name_vocab``: the name words with the number of customers holding
  each (FTS5's own view of its index, so it never needs maintaining): the
  vocabulary that typos are matched against, and how common a name is.
- ``search_contact``: FTS5 with the trigram tokenizer over the folded email
  address and the phone number's digits (:func:`phone_digits`), so that
  ``LIKE '%fragment%'`` of three characters or more is answered from the
  index.  The digits follow a '^', so that the start of a number is a
  fragment too (``'%^7911%'``): ``LIKE '7911%'`` would check every number
  holding 791 (9 ms at 1M customers).  ``detail=none``: LIKE checks the stored text
  itself, and the index builds a third faster than with positions.
- ``search_state``: the index format, and a counter that every change bumps
  so that a search knows its cached vocabulary is stale.

Keeping it current costs a delete and an insert per changed customer, in SQL
from the customer rows: :func:`refresh` after customer rows were written,
:func:`remove` after they were deleted.  An import refreshes its new
customers once, after the load; a refresh of most of the store rebuilds it.

PostgreSQL has no FTS5; it keeps the same index in ordinary tables, so that
a search finds the same customers in the same order on both:

- ``search_word``: one row per (name word, customer), the words cut from the
  folded names as FTS5's tokenizer cuts them (:data:`WORDS`), in a B-tree on
  (word, customer): a word is an equality look-up, a prefix a range (the
  "C" collation: code point order, as in the vocabulary's bisect); the
  vocabulary is its words counted.
- ``search_contact``: the same email and ``'^'`` + phone digits as on SQLite,
  with pg_trgm's GIN trigram indexes so that ``LIKE '%fragment%'`` is
  answered from an index (where the extension cannot be created, LIKE reads
  the table: the same answers, slower).

Each query takes the lowest customer ids that match, as FTS5's rowid order
does, so that the same candidates reach the ranking.  The words are cut in
Python (the build is a read of the customers and a bulk insert), because
PostgreSQL's regular expressions and FTS5 disagree on what a word is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from sqlalchemy import Connection, inspect, table
from sqlalchemy.exc import DBAPIError

from distil_tui.core import phones

FORMAT = 2  # bump when the tables below change: stores rebuild their index
PREFIX_INDEX = 4  # FTS5 keeps the prefixes of up to this many letters of each name word

_TABLES = (
    ("search_name", "CREATE VIRTUAL TABLE IF NOT EXISTS search_name USING fts5(words, "
     "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4', detail = none, columnsize = 0)"),
    ("search_name_vocab", "CREATE VIRTUAL TABLE IF NOT EXISTS search_name_vocab USING fts5vocab(search_name, 'row')"),
    ("search_contact", "CREATE VIRTUAL TABLE IF NOT EXISTS search_contact USING fts5(email, phone, "
     "tokenize = 'trigram', detail = none, columnsize = 0)"),
)
_STATE = ("CREATE TABLE IF NOT EXISTS search_state ("
          "id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL, version INTEGER NOT NULL)")
_NAME_SQL = ("INSERT INTO search_name (rowid, words) SELECT id, "
             "coalesce(first_name_key, '') || ' ' || coalesce(last_name_key, '') FROM customer")
_CONTACT_SQL = ("INSERT INTO search_contact (rowid, email, phone) SELECT id, email_key, "
                "'^' || search_phone_digits(mobile_phone_no) FROM customer "
                "WHERE (email_key IS NOT NULL OR mobile_phone_no IS NOT NULL)")
_CHUNK = 5000
_BUILD_CACHE_KIB = 16 * 1024
_NON_DIGIT = re.compile(r"\D+")
WORDS = re.compile(r"[^\W_]+")  # what FTS5's unicode61 tokenizer calls a word

_PG_TABLES = (
    'CREATE TABLE IF NOT EXISTS search_word (word VARCHAR COLLATE "C" NOT NULL, '
    "customer_id INTEGER NOT NULL, PRIMARY KEY (word, customer_id))",
    "CREATE INDEX IF NOT EXISTS ix_search_word_customer ON search_word (customer_id)",
    'CREATE TABLE IF NOT EXISTS search_contact (customer_id INTEGER PRIMARY KEY, email VARCHAR COLLATE "C", '
    'phone VARCHAR COLLATE "C")',
)
_PG_TRIGRAMS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_search_contact_email ON search_contact USING gin (email gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_contact_phone ON search_contact USING gin (phone gin_trgm_ops)",
)


def available(conn: Connection) -> bool:
    return conn.dialect.name in ("sqlite", "postgresql")


def ensure_search_index(conn: Connection) -> None:
    """Create the index if it is missing, and build it when it is empty
    while customers exist (a store made before search had an index) or was
    made by an older format.  On PostgreSQL, where a store never had no
    index, when a table of it was missing (a nameless customer leaves no
    word: emptiness says nothing there)."""
    if not available(conn):
        return
    postgres = conn.dialect.name == "postgresql"
    missing = postgres and not {"search_word", "search_contact"} <= set(inspect(conn).get_table_names())
    conn.exec_driver_sql(_STATE)
    state = conn.exec_driver_sql("SELECT format FROM search_state WHERE id = 1").first()
    if postgres:
        _pg_create(conn)
    else:
        for _name, ddl in _TABLES:
            conn.exec_driver_sql(ddl)
    if state is None:
        conn.exec_driver_sql(f"INSERT INTO search_state (id, format, version) VALUES (1, {FORMAT}, 0)")
    if (state is not None and state[0] != FORMAT) or missing or (not postgres and _empty_with_customers(conn)):
        build(conn)


def is_current(conn: Connection, tables: set[str]) -> bool:
    """Would :func:`ensure_search_index` leave the index as it is?  (It can
    be asked in a read transaction; ``tables`` are the store's tables.)"""
    if not available(conn):
        return True
    postgres = conn.dialect.name == "postgresql"
    needed = {"search_state", "search_contact"} | ({"search_word"} if postgres else {"search_name",
                                                                                   "search_name_vocab"})
    if not needed <= tables:
        return False
    state = conn.exec_driver_sql("SELECT format FROM search_state WHERE id = 1").first()
    return state is not None and state[0] == FORMAT and (postgres or not _empty_with_customers(conn))


def _empty_with_customers(conn: Connection) -> bool:
    return (conn.exec_driver_sql("SELECT 1 FROM search_name LIMIT 1").first() is None
            and conn.exec_driver_sql("SELECT 1 FROM customer LIMIT 1").first() is not None)


def build(conn: Connection) -> None:
    """Build the whole index from the customer table: one statement per
    table, then each table merged into one b-tree (twice as fast to query,
    for a second or two at 1M customers).  About 10 s at 1M customers."""
    if not available(conn):
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("TRUNCATE search_word, search_contact")
        _pg_insert(conn, None)
        conn.exec_driver_sql(f"UPDATE search_state SET format = {FORMAT}, version = version + 1 WHERE id = 1")
        return
    _register_functions(conn)
    # The build reads every customer once: through a small page cache, so
    # that the connection is not left holding one full of customer pages.
    (cache_size,) = conn.exec_driver_sql("PRAGMA cache_size").one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{_BUILD_CACHE_KIB}")
    # Dropping is much cheaper than deleting an FTS5 table's rows one by one.
    for name, _ddl in reversed(_TABLES):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    for _name, ddl in _TABLES:
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(_NAME_SQL)
    conn.exec_driver_sql(_CONTACT_SQL)
    conn.exec_driver_sql("INSERT INTO search_name (search_name) VALUES ('optimize')")
    conn.exec_driver_sql("INSERT INTO search_contact (search_contact) VALUES ('optimize')")
    conn.exec_driver_sql(f"UPDATE search_state SET format = {FORMAT}, version = version + 1 WHERE id = 1")
    conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")


def refresh(conn: Connection, customer_ids: Iterable[int]) -> None:
    """Index these customers as their rows are now (an id whose row is gone
    leaves the index).  Refreshing most of the store rebuilds it instead."""
    if not available(conn):
        return
    ids = sorted(set(customer_ids))
    if not ids:
        return
    top = conn.exec_driver_sql("SELECT max(id) FROM customer").scalar() or 0
    if len(ids) > 10_000 and 2 * len(ids) > top:
        build(conn)
        return
    if conn.dialect.name == "postgresql":
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            _delete(conn, chunk)
            _pg_insert(conn, chunk)
        _bump(conn)
        return
    _register_functions(conn)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        _delete(conn, chunk)
        conn.exec_driver_sql(f"{_NAME_SQL} WHERE id IN ({marks})", tuple(chunk))
        conn.exec_driver_sql(f"{_CONTACT_SQL} AND id IN ({marks})", tuple(chunk))
    _bump(conn)


def remove(conn: Connection, customer_ids: Iterable[int]) -> None:
    """Take these customers out of the index (their rows were deleted)."""
    if not available(conn):
        return
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), _CHUNK):
        _delete(conn, ids[start:start + _CHUNK])
    if ids:
        _bump(conn)


def _delete(conn: Connection, ids: list[int]) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DELETE FROM search_word WHERE customer_id = ANY(%s)", (ids,))
        conn.exec_driver_sql("DELETE FROM search_contact WHERE customer_id = ANY(%s)", (ids,))
        return
    marks = ", ".join("?" * len(ids))
    conn.exec_driver_sql(f"DELETE FROM search_name WHERE rowid IN ({marks})", tuple(ids))
    conn.exec_driver_sql(f"DELETE FROM search_contact WHERE rowid IN ({marks})", tuple(ids))


def _pg_create(conn: Connection) -> None:
    """PostgreSQL's tables, and the trigram indexes where pg_trgm can be had
    (it ships with PostgreSQL; creating it needs the right to create in the
    database, which a store's owner has)."""
    for ddl in _PG_TABLES:
        conn.exec_driver_sql(ddl)
    try:
        with conn.begin_nested():
            for ddl in _PG_TRIGRAMS:
                conn.exec_driver_sql(ddl)
    except DBAPIError:
        pass  # LIKE reads the table instead: the same answers, slower


def _pg_insert(conn: Connection, ids: list[int] | None) -> None:
    """Index the customers ``ids`` (all of them for ``None``), as
    ``_NAME_SQL`` and ``_CONTACT_SQL`` do on SQLite."""
    from distil_tui.core.store import bulk_insert  # the store module imports this one
    sql = "SELECT id, first_name_key, last_name_key, email_key, mobile_phone_no FROM customer"
    if ids is not None:
        sql += " WHERE id = ANY(%s)"
    rows = conn.exec_driver_sql(sql, (ids,) if ids is not None else ()).all()
    for start in range(0, len(rows), _CHUNK):
        words = []
        contacts = []
        for cid, first, last, email, phone in rows[start:start + _CHUNK]:
            words += [(word, cid) for word in sorted(set(WORDS.findall(f"{first or ''} {last or ''}")))]
            if email is not None or phone is not None:
                digits = phone_digits(phone)
                contacts.append((cid, email, None if digits is None else "^" + digits))
        bulk_insert(conn, table("search_word"), words, ("word", "customer_id"))
        bulk_insert(conn, table("search_contact"), contacts, ("customer_id", "email", "phone"))


def _bump(conn: Connection) -> None:
    conn.exec_driver_sql("UPDATE search_state SET version = version + 1 WHERE id = 1")


def _register_functions(conn: Connection) -> None:
    """Once per connection: SQLite refuses to redefine a function while a
    statement of the connection is still being read."""
    pooled = conn.connection
    if not pooled.info.get("search_phone_digits"):
        pooled.driver_connection.create_function("search_phone_digits", 1, phone_digits, deterministic=True)
        pooled.info["search_phone_digits"] = True


def phone_digits(phone: str | None) -> str | None:
    """The digits of a phone number that people type in every way of writing
    it: for an E.164 number its national significant number, without the
    country code or a trunk prefix ('+447700900123' -> '7700900123'); for
    any other value, its digits as written.  One form: the trigrams of a
    second would cost an import a fifth more index time."""
    if not phone:
        return None
    digits = _NON_DIGIT.sub("", phone)
    if phone.startswith("+") and digits:
        return phones.national_number(digits) or None
    return digits or None


@lru_cache(maxsize=None)
def trunk_prefix(country_code: str) -> str | None:
    """The prefix dialled before a national number ('0' in the UK, '' where
    there is none); ``None`` if no country has this code.  Country codes are
    prefix-free, so the first one that exists is the one."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(int(country_code)) if country_code.isdigit() else None
    if not regions:
        return None
    metadata = PhoneMetadata.metadata_for_region(regions[0])
    return (metadata.national_prefix if metadata else None) or ""
