"""Survivorship: which of a customer's records gives each attribute value.

The rule: the most recent non-empty value wins, identified records (file rows
and identify events) before anonymous visitor records, later records before
earlier ones when equally recent.  First seen and last seen span all records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from distil_tui.core.models import STANDARD_ATTRIBUTES
from distil_tui.core.normalize import fold, name_key
from distil_tui.core.resolve.names import NameKey, first_name_key


@dataclass(frozen=True)
class RecordFacts:
    id: int
    kind: str
    first_seen: str | None
    last_seen: str | None
    values: dict[str, str]


def _precedence(record: RecordFacts) -> tuple:
    return (record.kind != "visitor", record.last_seen or "", record.id)


def customer_attributes(records: Iterable[RecordFacts]) -> dict[str, object]:
    """Column values of a customer row built from its records."""
    ordered = sorted(records, key=_precedence, reverse=True)
    chosen: dict[str, str] = {}
    for record in ordered:
        for name, value in record.values.items():
            if name not in chosen and value:
                chosen[name] = value
    firsts = [r.first_seen for r in ordered if r.first_seen]
    lasts = [r.last_seen for r in ordered if r.last_seen]
    row: dict[str, object] = {name: chosen.pop(name, None) for name in STANDARD_ATTRIBUTES}
    row["custom"] = chosen  # what is left is custom
    row["first_seen"] = min(firsts) if firsts else None
    row["last_seen"] = max(lasts) if lasts else None
    row["record_count"] = len(ordered)
    row["first_name_key"] = fold(row["first_name"])  # type: ignore[arg-type]
    row["last_name_key"] = fold(row["last_name"])  # type: ignore[arg-type]
    row["email_key"] = fold(row["email_address"])  # type: ignore[arg-type]
    return row


def name_keys(records: Iterable[RecordFacts]) -> set[NameKey]:
    """(first, last) name keys of the records that carry a name."""
    keys = {(first_name_key(r.values.get("first_name")), name_key(r.values.get("last_name")))
            for r in records}
    keys.discard((None, None))
    return keys
