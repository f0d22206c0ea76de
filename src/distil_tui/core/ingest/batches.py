"""A file's rows in batches: what the importer resolves at a time.

A batch holds parsed records (a key given twice in the file is one record),
events, and the rows rejected, up to ``batch_size`` records and events.  In
a tracking export the events also make their visitor records here: one per
anonymous id, first and last seen from its events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from distil_tui.core.ingest.events import ParsedEvent, read_events
from distil_tui.core.ingest.mapping import ParsedRecord
from distil_tui.core.ingest.readers import read_csv, read_jsonl
from distil_tui.core.models import Rejection

# Records resolved at a time: a batch's parsed records, candidates, links
# and rows take memory in proportion, so a file of a million is resolved in
# parts, each against what the parts before it wrote.  Measured on a CRM file
# of 167k rows into a store of 233k customers: peak 1,015 MB in batches of
# 50k, 756 MB in batches of 25k; but smaller batches cost time, and in a
# tracking export they turn more visitors into customers of their own that a
# later batch's sign-in merges (1.75M events: 36k merges at 50k, 64k at 25k).
BATCH_RECORDS = 50_000


@dataclass
class Batch:
    records: dict[str, ParsedRecord]  # by source key, file order
    events: list[ParsedEvent]
    rejections: list[Rejection]
    rows_read: int
    last_line: int  # the last line of the file read into this batch


def read_batches(
    path: Path,
    text: str | Iterable[tuple[int, str]],
    fmt: str,
    *,
    source: str,
    id_column: str | None,
    customer_id_source: str,
    region: str,
    total_lines: int | None = None,
    report: Callable[[str, int, int], None] = lambda _stage, _line, _total: None,
    check_cancel: Callable[[], None] = lambda: None,
    batch_size: int = BATCH_RECORDS,
) -> Iterator[Batch]:
    """The file's records, events and rejections, ``batch_size`` records or
    events at a time (at least one batch, maybe empty).  ``text`` is the
    file's text, or for tracking events its parts as
    :func:`~distil_tui.core.ingest.readers.text_parts` gives them (with the
    file's ``total_lines``, for the progress reports)."""
    if isinstance(text, str):
        total_lines = text.count("\n") + 1
        parts: Iterable[tuple[int, str]] = ((1, text),)
    else:
        if fmt != "events":
            raise ValueError("only tracking events are read in parts")
        parts = text
    total_lines = total_lines or 1
    if fmt == "csv":
        items = read_csv(path, text, source=source, id_column=id_column, region=region)
    elif fmt == "jsonl":
        items = read_jsonl(path, text, source=source, id_column=id_column, region=region)
    else:
        items = chain.from_iterable(
            read_events(path, part, source=source, customer_id_source=customer_id_source,
                        region=region, first_line=first_line)
            for first_line, part in parts)
    records: dict[str, ParsedRecord] = {}
    events: list[ParsedEvent] = []
    rejections: list[Rejection] = []
    rows = 0
    for n, (item, line) in enumerate(items):
        if isinstance(item, Rejection):
            rows += 1
            rejections.append(item)
        elif isinstance(item, ParsedEvent):
            rows += 1
            events.append(item)
        else:
            if item.kind == "customer":
                rows += 1
            absorb(records, item)
        if n % 5000 == 0:
            check_cancel()
            report("reading", line, total_lines)
        if len(records) + len(events) >= batch_size:
            add_visitors(records, events)
            yield Batch(records, events, rejections, rows, line)
            records, events, rejections, rows = {}, [], [], 0
    add_visitors(records, events)
    report("reading", total_lines, total_lines)
    yield Batch(records, events, rejections, rows, total_lines)


def absorb(records: dict[str, ParsedRecord], item: ParsedRecord) -> None:
    """A key seen twice in one file is one record: later values win,
    identifiers accumulate."""
    known = records.get(item.source_key)
    if known is None:
        records[item.source_key] = item
        return
    known.values.update(item.values)
    known.raw = item.raw
    known.identifiers.extend(i for i in item.identifiers if i not in known.identifiers)
    known.first_seen = earliest(known.first_seen, item.first_seen)
    known.last_seen = latest(known.last_seen, item.last_seen)


def add_visitors(records: dict[str, ParsedRecord], events: list[ParsedEvent]) -> None:
    """One visitor record per anonymous id, placed before the identify
    records so that a visitor is linked in order of first appearance."""
    visitors: dict[str, ParsedRecord] = {}
    for ev in events:
        v = visitors.get(ev.anonymous_user_id)
        if v is None:
            visitors[ev.anonymous_user_id] = ParsedRecord(
                source_key=ev.anonymous_user_id,
                line=ev.line,
                kind="visitor",
                values={},
                raw={"anonymous_user_id": ev.anonymous_user_id},
                identifiers=[("anonymous_user_id", ev.anonymous_user_id)],
                first_seen=ev.occurred_at,
                last_seen=ev.occurred_at,
            )
        else:
            v.first_seen = earliest(v.first_seen, ev.occurred_at)
            v.last_seen = latest(v.last_seen, ev.occurred_at)
    if visitors:
        merged = sorted([*visitors.values(), *records.values()], key=lambda r: (r.line, r.kind != "visitor"))
        records.clear()
        for r in merged:
            records[r.source_key] = r


def earliest(a: str | None, b: str | None) -> str | None:
    """The earlier of two times, either of which may be missing."""
    return min(x for x in (a, b) if x) if (a or b) else None


def latest(a: str | None, b: str | None) -> str | None:
    """The later of two times, either of which may be missing."""
    return max(x for x in (a, b) if x) if (a or b) else None
