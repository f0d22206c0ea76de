"""Exports: customers, source records and identifiers, as CSV or JSON Lines;
a Destination's export (a segment's customers with chosen attributes); and
the Tracking ID change feed.

Rows are streamed from the store in id order, so an export of a large store
holds one batch in memory at a time.  A Destination's export is written to a
temporary file beside the target and renamed over it once complete: an
export that fails or is cancelled leaves the target as it was.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import orjson
from sqlalchemy import func, select

from distil_tui.core import attributes
from distil_tui.core.models import STANDARD_ATTRIBUTES
from distil_tui.core.normalize import timestamp_value
from distil_tui.core.schema import T_CUSTOMER, T_IDENT, T_MERGE, T_RECORD
from distil_tui.core.segments import Segment, segment_filter
from distil_tui.core.store import Store

EXPORT_FORMATS = ("csv", "jsonl")
CUSTOMER_COLUMNS = ("tracking_id", *STANDARD_ATTRIBUTES, "first_seen", "last_seen")


def record_grouping(store: Store) -> dict[tuple[str, str], str]:
    """(source, source key) -> Tracking ID of the customer holding the record."""
    with store.read() as conn:
        rows = conn.execute(
            select(T_RECORD.c.source, T_RECORD.c.source_key, T_CUSTOMER.c.tracking_id)
            .join(T_CUSTOMER, T_CUSTOMER.c.id == T_RECORD.c.customer_id)
        )
        return {(source, key): tid for source, key, tid in rows}


def export(store: Store, path: str | Path, *, what: str = "customers", fmt: str | None = None) -> int:
    """Write ``what`` ("customers", "records" or "identifiers") to ``path``;
    the format is ``fmt`` or read from the file's suffix.  Returns the number
    of rows written."""
    path = Path(path)
    fmt = export_format(path, fmt)
    columns, rows = {
        "customers": _customers,
        "records": _records,
        "identifiers": _identifiers,
    }[what](store)
    # Like every export: a file readable by its owner only (personal data),
    # complete or not there.
    rows = iter(rows)
    return _write_atomically(path, fmt, columns, iter(lambda: list(islice(rows, 10_000)), []))


def export_format(path: str | Path, fmt: str | None = None) -> str:
    """``fmt``, or the format the file's suffix names (csv unless .jsonl,
    .ndjson or .json)."""
    fmt = fmt or ("jsonl" if Path(path).suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use csv or jsonl")
    return fmt


def _stream(store: Store, stmt, batch: int = 10_000) -> Iterator[tuple]:
    with store.read() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt)
        for row in result:
            yield tuple(row)


def _customers(store: Store):
    custom_keys = set()
    with store.read() as conn:
        for (custom,) in conn.execute(select(T_CUSTOMER.c.custom).where(T_CUSTOMER.c.custom != "{}")):
            custom_keys.update(json.loads(custom))
    custom_columns = sorted(custom_keys)
    stmt = select(*(T_CUSTOMER.c[c] for c in CUSTOMER_COLUMNS), T_CUSTOMER.c.custom).order_by(
        T_CUSTOMER.c.id
    )

    def rows():
        for *values, custom in _stream(store, stmt):
            extra = json.loads(custom)
            yield (*values, *(extra.get(k) for k in custom_columns))

    return (*CUSTOMER_COLUMNS, *custom_columns), rows()


def _records(store: Store):
    stmt = (
        select(T_RECORD.c.source, T_RECORD.c.source_key, T_CUSTOMER.c.tracking_id)
        .join(T_CUSTOMER, T_CUSTOMER.c.id == T_RECORD.c.customer_id)
        .order_by(T_RECORD.c.id)
    )
    return ("source", "source_key", "tracking_id"), _stream(store, stmt)


def _identifiers(store: Store):
    stmt = (
        select(T_IDENT.c.kind, T_IDENT.c.value, T_CUSTOMER.c.tracking_id)
        .join(T_RECORD, T_RECORD.c.id == T_IDENT.c.record_id)
        .join(T_CUSTOMER, T_CUSTOMER.c.id == T_RECORD.c.customer_id)
        .order_by(T_IDENT.c.id)
    )
    return ("kind", "value", "tracking_id"), _stream(store, stmt)


# -- Destinations: a segment's customers with chosen attributes ------------

TRACKING_ID = "core_data.tracking_id"
PROGRESS_EVERY = 10_000
_BATCH = 5_000


class ExportCancelled(Exception):
    """The export was cancelled; the target file is as it was."""


def default_columns(store: Store) -> list[str]:
    """What an export holds when no columns are chosen: the Tracking ID,
    the standard attributes, first and last seen, then every custom
    attribute found in the store."""
    with store.read() as conn:
        custom = [attributes.CUSTOM_PREFIX + k for k in attributes.custom_keys(conn) if '"' not in k]
    return [TRACKING_ID, *STANDARD_ATTRIBUTES, "core_data.first_seen", "core_data.last_seen", *custom]


def export_columns(columns: Sequence[str]) -> list[str]:
    """Chosen columns as the catalog names them, each once, in the order
    given, the Tracking ID first if it was not chosen: a Destination's rows
    are only useful with it, and the change feed speaks of nothing else.
    Raises ``attributes.UnknownAttribute`` naming a column that is no
    attribute."""
    names = list(dict.fromkeys(attributes.canonical_name(c) for c in columns if c.strip()))
    if not names:
        raise ValueError("no columns chosen")
    if TRACKING_ID not in names:
        names.insert(0, TRACKING_ID)
    return names


def export_customers(
    store: Store, path: str | Path, *, segment: Segment | None = None, columns: Sequence[str] | None = None,
    fmt: str | None = None, progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Write the customers of ``segment`` (every customer for ``None``) with
    the chosen attribute ``columns`` (:func:`export_columns`; default
    :func:`default_columns`) to ``path``, as CSV (one heading row of
    attribute names) or JSON Lines (one object per customer, keyed by
    attribute name).  Customers come in the order they were created.

    ``progress(done, total)`` is called every 10,000 customers and at the
    end; setting ``cancel`` stops the export (:class:`ExportCancelled`),
    leaving ``path`` as it was.  Returns the number of customers written."""
    path = Path(path)
    fmt = export_format(path, fmt)
    names = export_columns(columns) if columns is not None else default_columns(store)
    exprs = [attributes.column(n) for n in names]
    condition = segment_filter(segment)
    stmt = select(*exprs).where(condition).order_by(T_CUSTOMER.c.id)
    with store.read() as conn:
        total = 0
        if progress is not None:
            total = int(conn.execute(select(func.count()).select_from(T_CUSTOMER).where(condition)).scalar_one())
            progress(0, total)
        cursor = _driver_rows(conn, stmt)

        def batches() -> Iterator[list[tuple]]:
            """The rows in batches; progress and cancel between them."""
            done = 0
            next_report = PROGRESS_EVERY
            while True:
                if cancel is not None and cancel.is_set():
                    raise ExportCancelled("export cancelled; nothing was written")
                rows = cursor.fetchmany(_BATCH)
                if not rows:
                    break
                yield rows
                done += len(rows)
                if progress is not None and done >= next_report:
                    progress(done, max(total, done))
                    next_report = done + PROGRESS_EVERY

        try:
            count = _write_atomically(path, fmt, names, batches())
        finally:
            cursor.close()
    if progress is not None:
        progress(count, count)
    return count


def _driver_rows(conn, stmt):
    """A driver cursor over ``stmt``: plain tuples, no Row objects to build
    (an export of a million customers spends more on those than on SQL)."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if conn.dialect.paramstyle in ("qmark", "format"):
        args = tuple(params[name] for name in compiled.positiontup)
    else:
        args = params
    cursor = conn.connection.cursor()
    cursor.execute(str(compiled), args)
    return cursor


def _write_atomically(path: Path, fmt: str, columns: Sequence[str], batches: Iterable[list[tuple]]) -> int:
    """Write rows to a temporary file beside ``path`` and rename it over
    ``path`` once complete.  Returns the number of rows."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{path}: folder {folder} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            if fmt == "csv":
                writer = csv.writer(out)
                writer.writerow(columns)
                for rows in batches:
                    writer.writerows(["" if v is None else v for v in row] for row in rows)
                    count += len(rows)
            else:
                keys = tuple(columns)
                dumps = orjson.dumps
                for rows in batches:
                    out.write(b"".join(dumps(dict(zip(keys, row))) + b"\n" for row in rows).decode())
                    count += len(rows)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


# -- the Tracking ID change feed -------------------------------------------

FEED_COLUMNS = ("old_tracking_id", "new_tracking_id", "merge_id", "time", "reason", "action")


def tracking_id_changes(store: Store, *, since: str | None = None) -> list[dict[str, object]]:
    """Every change of what a Tracking ID names, oldest first, from the
    merge history (merges, splits and undos alike); only those at or after
    ``since`` (a day or an ISO 8601 time) if given.

    - merge: ``old`` was retired and resolves to ``new`` from now on;
    - split: re-resolution moved some of ``old``'s records to ``new`` (a
      new customer, or another one); ``old`` still exists;
    - undo of a merge: ``new`` (the merge's retired ID) is a customer of its
      own again, with the records it had; ``old`` is the customer it leaves;
    - undo of a split: the records went back from ``old`` to ``new``; if
      ``old`` was left empty it is retired and resolves to ``new``.

    ``merge_id`` is the history entry's number (as ``merges`` lists it and
    ``undo`` takes it); ``reason`` the rule that decided it (an identifier
    kind, ``probabilistic``, ``reviewer (...)``, ``re-resolution``...), an
    undo's naming the entry it undid; ``action`` is ``merge``, ``split``,
    ``undo_merge`` or ``undo_split``."""
    bound = _since(since)
    undone = T_MERGE.alias("undone")
    stmt = (
        select(T_MERGE.c.id, T_MERGE.c.created_at, T_MERGE.c.action, T_MERGE.c.rule,
               T_MERGE.c.surviving_tracking_id, T_MERGE.c.retired_tracking_id,
               undone.c.id, undone.c.action)
        .outerjoin(undone, undone.c.undone_by_id == T_MERGE.c.id)
        .order_by(T_MERGE.c.id)
    )
    if bound is not None:
        stmt = stmt.where(T_MERGE.c.created_at >= bound)
    out = []
    with store.read() as conn:
        for mid, time, action, rule, surviving, retired, undone_id, undone_action in conn.execute(stmt):
            if action == "merge":
                old, new, reason = retired, surviving, rule
            elif action == "split":
                old, new, reason = surviving, retired, rule
            elif undone_action == "split":
                action = "undo_split"
                old, new, reason = retired, surviving, f"undo of split #{undone_id}: {rule}"
            else:
                action = "undo_merge"
                old, new, reason = surviving, retired, f"undo of merge #{undone_id}: {rule}"
            out.append({"old_tracking_id": old, "new_tracking_id": new, "merge_id": mid, "time": time,
                        "reason": reason, "action": action})
    return out


def _since(since: str | None) -> str | None:
    if since is None:
        return None
    text = since.strip()
    if len(text) == 10:
        stamp = timestamp_value(text + "T00:00:00Z")
    else:
        stamp = timestamp_value(text)
    if stamp is None:
        raise ValueError(f"--since {since!r} is not a date (YYYY-MM-DD) or ISO 8601 time")
    return stamp


def export_tracking_id_changes(store: Store, path: str | Path, *, since: str | None = None,
                               fmt: str | None = None) -> int:
    """Write the Tracking ID change feed (:func:`tracking_id_changes`) to
    ``path`` as CSV or JSON Lines.  Returns the number of changes written."""
    path = Path(path)
    fmt = export_format(path, fmt)
    changes = tracking_id_changes(store, since=since)
    rows = [tuple(change[c] for c in FEED_COLUMNS) for change in changes]
    return _write_atomically(path, fmt, FEED_COLUMNS, [rows] if rows else [])
