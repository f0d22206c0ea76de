"""What an import would read, before it runs: the format detected, the first
rows, and the attribute each column maps to.

Only the head of the file is read, so a preview of a large file is as quick
as one of a small file.  The same refusals as the import itself (missing
file, a folder, empty, not UTF-8) raise :class:`ImportRefused`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from distil_tui.core.ingest.mapping import attribute_for, fold_header
from distil_tui.core.ingest.readers import (
    ImportRefused,
    decode,
    detect_format,
    parse_json_object,
    sniff_delimiter,
)
from distil_tui.core.models import STANDARD_ATTRIBUTES
from distil_tui.core.schema import T_RUN

HEAD_BYTES = 256 * 1024
PREVIEW_ROWS = 5

# Column names that usually hold a source's own customer id: offered as the
# key column (re-imports then update records in place).
_KEY_NAMES = ("customerid", "contactid", "clientid", "accountid", "userid", "id")

# What the events reader makes of a field (folded name -> meaning).
_EVENT_FIELDS = {
    **dict.fromkeys(("anonymoususerid", "anonymousid", "anonid"), "anonymous_user_id"),
    **dict.fromkeys(("timestamp", "eventtimestamputc", "eventtimestamp", "time"), "event time"),
    **dict.fromkeys(("event", "eventtype", "type", "eventname", "name"), "event type"),
    **dict.fromkeys(("properties", "props", "eventproperties"), "event properties"),
    "customer": "identifies the customer",
    **dict.fromkeys(("customerid", "userid", "customernumber"), "customer_id"),
}


@dataclass(frozen=True)
class ColumnPreview:
    name: str
    attribute: str  # a standard attribute, a custom one (the column's name), or an event field
    standard: bool  # one of the standard attributes (or an event field the reader knows)
    samples: tuple[str, ...]  # the column's value in each previewed row ("" when absent)


@dataclass(frozen=True)
class FilePreview:
    path: str
    format: str  # "csv", "jsonl" or "events"
    size: int  # bytes
    columns: tuple[ColumnPreview, ...]
    rows: int  # rows previewed
    key_column: str | None  # a column that looks like the source's customer id

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def preview_file(path: str | Path, *, rows: int = PREVIEW_ROWS) -> FilePreview:
    path = Path(path)
    if not path.exists():
        raise ImportRefused(f"{path}: no such file")
    if path.is_dir():
        raise ImportRefused(f"{path}: is a folder, not a file")
    size = path.stat().st_size
    with path.open("rb") as handle:
        data = handle.read(HEAD_BYTES)
    if len(data) == HEAD_BYTES:
        data = data[: data.rfind(b"\n") + 1] or data  # whole lines only
    text = decode(path, data)
    if not text.strip():
        raise ImportRefused(f"{path}: the file is empty")
    fmt = detect_format(path, text)
    if fmt == "csv":
        header, table = _csv_rows(path, text, rows)
    else:
        header, table = _json_rows(text, rows)
    columns = tuple(
        ColumnPreview(name, *_meaning(name, fmt), tuple(row.get(name, "") for row in table))
        for name in header
    )
    key = None
    if fmt != "events":
        folded = {fold_header(name): name for name in reversed(header)}
        key = next((folded[k] for k in _KEY_NAMES if k in folded), None)
    return FilePreview(str(path), fmt, size, columns, len(table), key)


def _meaning(name: str, fmt: str) -> tuple[str, bool]:
    if fmt == "events":
        meaning = _EVENT_FIELDS.get(fold_header(name))
        return (meaning, True) if meaning else ("ignored", False)
    attribute = attribute_for(name)
    return attribute, attribute in STANDARD_ATTRIBUTES


def _csv_rows(path: Path, text: str, limit: int) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text.split("\n", 1)[0]))
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise ImportRefused(f"{path}:1: the header cannot be read: {exc}") from None
    header = _unique(h.lstrip("\ufeff") for h in header)
    if not any(h.strip() for h in header):
        raise ImportRefused(f"{path}:1: the header row has no column names")
    table: list[dict[str, str]] = []
    try:
        for row in reader:
            if len(table) == limit:
                break
            if any(cell.strip() for cell in row):
                table.append(dict(zip(header, row)))
    except csv.Error:
        pass  # the import names the unreadable row; the preview shows those before it
    return header, table


def _json_rows(text: str, limit: int) -> tuple[list[str], list[dict[str, str]]]:
    header: dict[str, None] = {}
    table: list[dict[str, str]] = []
    for line in text.split("\n"):
        if len(table) == limit:
            break
        if not line.strip():
            continue
        obj, error = parse_json_object(line)
        if error:
            continue
        header.update(dict.fromkeys(obj))
        table.append({
            key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            for key, value in obj.items()
        })
    return list(header), table


def _unique(names) -> list[str]:
    """Duplicate column names get a suffix, as the CSV reader does."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def known_sources(store) -> list[str]:
    """The sources imported so far, for the import screen to suggest whose
    customer ids an events file carries."""
    with store.read() as conn:
        return sorted(r[0] for r in conn.execute(select(T_RUN.c.source).distinct()))
