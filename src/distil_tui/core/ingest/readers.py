"""Readers for customer files: CSV and JSON Lines.

A reader turns a file into parsed records and rejections.  A file that
cannot be read at all (missing, not UTF-8, empty, no usable header) raises
:class:`ImportRefused` with a message naming the file and the reason; a row
that cannot be used becomes a :class:`Rejection` naming its line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from distil_tui.core.ingest.mapping import (
    ParsedRecord,
    fold_header,
    identifiers_for,
    map_values,
)
from distil_tui.core.models import Rejection

DELIMITERS = ",;\t|"
MAX_FIELD_BYTES = 16 * 1024 * 1024


class ImportRefused(Exception):
    """The whole file is unusable; nothing was imported."""


@dataclass
class ReadResult:
    format: str
    records: list[ParsedRecord] = field(default_factory=list)
    events: list = field(default_factory=list)  # ParsedEvent, for the events format
    rejections: list[Rejection] = field(default_factory=list)
    rows_read: int = 0


def read_text(path: Path) -> str:
    """The whole file as text: UTF-8 with or without a byte order mark."""
    if not path.exists():
        raise ImportRefused(f"{path}: no such file")
    if path.is_dir():
        raise ImportRefused(f"{path}: is a folder, not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportRefused(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save the file as UTF-8 and import it again"
        ) from None
    if not text.strip():
        raise ImportRefused(f"{path}: the file is empty")
    return text


def detect_format(path: Path, text: str) -> str:
    """``csv``, ``jsonl`` (customer records) or ``events`` (tracking events)."""
    suffix = path.suffix.lower()
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if suffix in (".jsonl", ".ndjson", ".json") or first.lstrip().startswith("{"):
        try:
            obj = json.loads(first)
        except ValueError:
            return "jsonl"
        if isinstance(obj, dict):
            folded = {fold_header(k) for k in obj}
            if {"anonymoususerid", "anonymousid"} & folded and {
                "timestamp", "eventtimestamputc", "eventtimestamp", "time"
            } & folded:
                return "events"
        return "jsonl"
    return "csv"


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(
    path: Path, text: str, *, source: str, id_column: str | None, region: str
) -> Iterator[tuple[ParsedRecord | Rejection, int]]:
    """Yield each record or rejection with the number of lines read so far."""
    csv.field_size_limit(MAX_FIELD_BYTES)
    header_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(header_line))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportRefused(f"{path}:1: the header cannot be read: {exc}") from None
    header = _unique_headers(header)
    if not any(h.strip() for h in header):
        raise ImportRefused(f"{path}:1: the header row has no column names")
    id_index = _id_index(path, header, id_column)

    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last_line = max(reader.line_num, start)
            yield Rejection(str(path), start, f"unreadable row: {exc}"), last_line
            continue
        last_line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Rejection(
                str(path), start, f"expected {len(header)} columns, found {len(row)}"
            ), last_line
            continue
        raw = dict(zip(header, row))
        yield _record(path, start, raw, source, id_column, id_index, header, region), last_line


def json_lines(path: Path, text: str) -> Iterator[tuple[int, dict | Rejection]]:
    """(line number, object) for each non-blank line; a line that is not a
    JSON object gives a rejection instead."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        obj, error = parse_json_object(line)
        yield number, Rejection(str(path), number, error) if error else obj


def read_jsonl(
    path: Path, text: str, *, source: str, id_column: str | None, region: str
) -> Iterator[tuple[ParsedRecord | Rejection, int]]:
    for number, obj in json_lines(path, text):
        if isinstance(obj, Rejection):
            yield obj, number
            continue
        header = list(obj)
        id_index = None
        if id_column is not None:
            id_index = next((i for i, h in enumerate(header) if h == id_column), None)
            if id_index is None:
                yield Rejection(str(path), number, f"no {id_column!r} field"), number
                continue
        yield _record(path, number, obj, source, id_column, id_index, header, region), number


def parse_json_object(line: str) -> tuple[dict, str | None]:
    try:
        obj = json.loads(line)
    except RecursionError:
        return {}, "JSON nested too deeply"
    except ValueError as exc:
        return {}, f"malformed JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(obj, dict):
        return {}, f"expected a JSON object, found {type(obj).__name__}"
    return obj, None


def _record(
    path: Path,
    line: int,
    raw: dict[str, object],
    source: str,
    id_column: str | None,
    id_index: int | None,
    header: list[str],
    region: str,
) -> ParsedRecord | Rejection:
    key_header = header[id_index] if id_index is not None else None
    customer_id = None
    if key_header is not None:
        key_value = raw.get(key_header)
        customer_id = str(key_value).strip() if key_value is not None else ""
        if not customer_id:
            return Rejection(str(path), line, f"empty key in column {key_header!r}")
    skip = frozenset({key_header}) if key_header else frozenset()
    values = map_values(raw, region=region, skip=skip)
    if not values and customer_id is None:
        return Rejection(str(path), line, "no values")
    return ParsedRecord(
        source_key=customer_id if customer_id is not None else str(line),
        line=line,
        kind="customer",
        values=values,
        raw=raw,
        identifiers=identifiers_for(source, values, customer_id=customer_id, region=region),
    )


def _id_index(path: Path, header: list[str], id_column: str | None) -> int | None:
    if id_column is None:
        return None
    for i, h in enumerate(header):
        if h.strip() == id_column:
            return i
    wanted = fold_header(id_column)
    for i, h in enumerate(header):
        if fold_header(h) == wanted:
            return i
    names = ", ".join(repr(h) for h in header)
    raise ImportRefused(f"{path}:1: no column {id_column!r} for --id-column; columns are {names}")


def _unique_headers(header: list[str]) -> list[str]:
    """Duplicate column names get a suffix so that no value is lost."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        h = h.lstrip("\ufeff")
        n = seen.get(h, 0) + 1
        seen[h] = n
        out.append(h if n == 1 else f"{h}#{n}")
    return out
