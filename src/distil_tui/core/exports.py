"""Exports: customers, source records and identifiers, as CSV or JSON Lines.

Rows are streamed from the store in id order, so an export of a large store
holds one batch in memory at a time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from distil_tui.core.models import STANDARD_ATTRIBUTES
from distil_tui.core.schema import T_CUSTOMER, T_IDENT, T_RECORD
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
    fmt = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use csv or jsonl")
    columns, rows = {
        "customers": _customers,
        "records": _records,
        "identifiers": _identifiers,
    }[what](store)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                count += 1
        else:
            for row in rows:
                out.write(json.dumps(dict(zip(columns, row)), ensure_ascii=False) + "\n")
                count += 1
    return count


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
