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
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distil_tui.core.ingest.mapping import (
    ParsedRecord,
    RowMapper,
    fold_header,
    identifiers_for,
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
    text = decode(path, path.read_bytes())
    if not text or text.isspace():  # not text.strip(): no copy of a large file
        raise ImportRefused(f"{path}: the file is empty")
    return text


_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


def decode(path: Path, data: bytes, *, first_line: int = 1, offset: int = 0) -> str:
    """``data`` (the file, its head, or the part of it that starts at byte
    ``offset`` on line ``first_line``) as UTF-8 text, or
    :class:`ImportRefused` naming the line and the byte that is not text."""
    if offset == 0:
        for bom, encoding in _OTHER_BOMS:
            if data.startswith(bom):
                raise ImportRefused(
                    f"{path}:1: {encoding} text, not UTF-8 (byte order mark at offset 0); "
                    "save the file as UTF-8 and import it again"
                )
    try:
        text = data.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise ImportRefused(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{offset + exc.start}); save the file as UTF-8 and import it again"
        ) from None
    # A NUL byte is valid UTF-8 but never text: it is how UTF-16 without a
    # byte order mark, or a binary file, looks.  Refused like a bad byte,
    # rather than imported as names full of invisible characters.
    nul = data.find(b"\x00")
    if nul >= 0:
        line = first_line + data.count(b"\n", 0, nul)
        raise ImportRefused(
            f"{path}:{line}: a NUL byte (0x00 at offset {offset + nul}): not a text file, or "
            "UTF-16 text; save the file as UTF-8 and import it again"
        )
    return text


PART_BYTES = 4 * 1024 * 1024  # 16 MB parts: the same speed, 50 MB more at the peak


def text_parts(path: Path, part_bytes: int = PART_BYTES) -> Iterator[tuple[int, str]]:
    """The file as text in parts of whole lines, each with the number of its
    first line: what :func:`read_text` gives, refused alike, without holding
    the whole file.  A part ends at a newline, which no UTF-8 character
    holds, so no character is cut in two."""
    line, offset, rest = 1, 0, b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(part_bytes)
            data = rest + block
            if not block:
                if data:
                    yield line, decode(path, data, first_line=line, offset=offset)
                return
            end = data.rfind(b"\n") + 1
            if end == 0:  # a line longer than a part: read on
                rest = data
                continue
            part, rest = data[:end], data[end:]
            yield line, decode(path, part, first_line=line, offset=offset)
            line += part.count(b"\n")
            offset += end


def read_head(path: Path, size: int = 1024 * 1024) -> str:
    """The file's first whole lines, up to ``size`` bytes (all of a smaller
    file), as text; refused as :func:`read_text` would refuse them."""
    if not path.exists():
        raise ImportRefused(f"{path}: no such file")
    if path.is_dir():
        raise ImportRefused(f"{path}: is a folder, not a file")
    with path.open("rb") as handle:
        data = handle.read(size)
    if len(data) == size:
        data = data[: data.rfind(b"\n") + 1]
    return decode(path, data)


def lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``text.split("\n")`` gives them, one at a
    time: a list of a large file's lines would take more memory than the
    file's text."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def detect_format(path: Path, text: str) -> str:
    """``csv``, ``jsonl`` (customer records) or ``events`` (tracking events)."""
    suffix = path.suffix.lower()
    first = next((ln.rstrip("\r") for ln in lines(text) if ln.strip()), "")
    if suffix in (".jsonl", ".ndjson", ".json") or first.lstrip().startswith("{"):
        obj, error = parse_json_object(first)
        if error:
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
    path: Path,
    text: str,
    *,
    source: str,
    id_column: str | None,
    region: str,
    lines: tuple[int, int] | None = None,
) -> Iterator[tuple[ParsedRecord | Rejection, int]]:
    """Yield each record or rejection with the number of lines read so far.

    With ``lines=(first, end)`` only the rows starting on lines ``first`` to
    ``end - 1`` are yielded (the whole file is still parsed as CSV, for a
    quoted field may span lines): one part of the file, for
    :mod:`~distil_tui.core.ingest.parallel`."""
    csv.field_size_limit(MAX_FIELD_BYTES)
    header_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportRefused(f"{path}:1: the header cannot be read: {exc}") from None
    # Only a row that spans lines and reaches the end of the file can hold
    # a quote that is never closed: the file's lines are counted the first
    # time a row spans lines.
    line_count = 0
    if reader.line_num > 1:
        line_count = _line_count(text)
        if reader.line_num >= line_count and _unclosed_quote(text, 1, line_count, delimiter):
            raise ImportRefused(f"{path}:1: a quoted column name is never closed (a \" with no "
                                "closing \"): the header runs to the end of the file")
    header = _unique_headers(header)
    if not any(h.strip() for h in header):
        raise ImportRefused(f"{path}:1: the header row has no column names")
    id_index = _id_index(path, header, id_column)
    key_header = header[id_index] if id_index is not None else None
    # One mapping of the columns for the whole file, not one per row; every
    # cell of a CSV row is text.
    mapper = RowMapper(header, region=region, skip=key_header, text_only=True)
    width = len(header)
    file = str(path)

    first, end = lines or (1, sys.maxsize)
    last_line = reader.line_num
    while True:
        start = last_line + 1
        if start >= end:
            break
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last_line = max(reader.line_num, start)
            if start >= first:
                reason = (f"a field is longer than {MAX_FIELD_BYTES:,} characters, the most "
                          "a CSV field may hold" if "field limit" in str(exc)
                          else f"unreadable row: {exc}")
                yield Rejection(str(path), start, reason), last_line
            continue
        last_line = reader.line_num
        if start < first:
            continue
        if last_line > start and last_line >= (line_count := line_count or _line_count(text)) \
                and _unclosed_quote(text, start, last_line, delimiter):
            yield Rejection(file, start, f"a quoted field is never closed (a \" with no closing "
                            f"\"): lines {start} to {last_line}, the end of the file, were "
                            "read as one row"), last_line
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != width:
            yield Rejection(file, start, f"expected {width} columns, found {len(row)}"), last_line
            continue
        raw = dict(zip(header, row))
        yield _record(file, start, raw, source, key_header, mapper, region), last_line


def _line_count(text: str) -> int:
    """The lines of ``text`` as the CSV reader counts them: a line ends at
    ``\r\n``, ``\n`` or ``\r``."""
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return breaks + (not text.endswith(("\n", "\r")))


def _unclosed_quote(text: str, start: int, last_line: int, delimiter: str) -> bool:
    """Whether the row read from line ``start`` to ``last_line``, the last
    line of the file, holds a quote that is never closed: the reader then
    takes the rest of the file as one field, where a person sees many rows."""
    offset = len(text)
    for _ in range(last_line - start + 1 + text.endswith(("\n", "\r"))):
        offset = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset))
        if offset > 0 and text[offset - 1 : offset + 1] == "\r\n":
            offset -= 1
    try:
        for _row in csv.reader(io.StringIO(text[offset + 1 :], newline=""),
                               delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def json_lines(
    path: Path, text: str, *, first_line: int = 1
) -> Iterator[tuple[int, dict | Rejection]]:
    """(line number, object) for each non-blank line; a line that is not a
    JSON object gives a rejection instead.  ``text`` may be a part of the
    file that starts on line ``first_line``."""
    for number, line in enumerate(lines(text), start=first_line):
        if not line.strip():
            continue
        obj, error = parse_json_object(line)
        yield number, Rejection(str(path), number, error) if error else obj


def read_jsonl(
    path: Path,
    text: str,
    *,
    source: str,
    id_column: str | None,
    region: str,
    first_line: int = 1,
) -> Iterator[tuple[ParsedRecord | Rejection, int]]:
    """Yield each record or rejection with its line number.  ``text`` may be
    a part of the file that starts on line ``first_line``."""
    file = str(path)
    mappers: dict[tuple[str, ...], RowMapper] = {}  # one per distinct set of keys
    for number, obj in json_lines(path, text, first_line=first_line):
        if isinstance(obj, Rejection):
            yield obj, number
            continue
        if id_column is not None and id_column not in obj:
            yield Rejection(file, number, f"no {id_column!r} field"), number
            continue
        keys = tuple(obj)
        mapper = mappers.get(keys)
        if mapper is None:
            mapper = mappers[keys] = RowMapper(keys, region=region, skip=id_column)
        yield _record(file, number, obj, source, id_column, mapper, region), number


def parse_json_object(line: str) -> tuple[dict, str | None]:
    """The object on one line, or ``({}, reason)``."""
    obj = fast_json(line)
    if obj is _EXACTLY or (type(obj) is dict and has_large_float(obj)):
        return parse_json_exactly(line)
    if type(obj) is not dict:
        return {}, f"expected a JSON object, found {type(obj).__name__}"
    return obj, None


# ``orjson`` parses a line several times faster than ``json``, and for the
# documents it accepts it gives the same objects (the same strings and
# floats; the last of duplicate keys, in the first one's place) but for one
# case: an integer literal below -2**63 or above 2**64-1 becomes a float,
# where ``json`` keeps the integer.  A line ``orjson`` refuses, or one whose
# object holds a float that large, is parsed again by ``json``: its
# messages name the problem and its column plainly, and it accepts what we
# always accepted (NaN, integers of any size).
_EXACTLY = object()
# ``orjson`` nests 1024 levels deep, ``json`` as deep as the interpreter's
# recursion limit allows: a line that may nest that deep goes to ``json``,
# so that the same lines are refused as "nested too deeply".
_DEEP = 400
_LARGE_FLOAT = float(2**63)


def fast_json(line: str) -> object:
    """``orjson``'s value of a line, or ``_EXACTLY`` when it is one for
    :func:`parse_json_exactly`.  A float of ``2**63`` or more in the result
    may have been an integer in the line (see above)."""
    if len(line) >= 2 * _DEEP and line.count("{") + line.count("[") >= _DEEP:
        return _EXACTLY
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return _EXACTLY


def parse_json_exactly(line: str) -> tuple[dict, str | None]:
    """:func:`parse_json_object` by the standard library alone."""
    try:
        obj = json.loads(line)
    except RecursionError:
        return {}, "JSON nested too deeply"
    except ValueError as exc:
        return {}, f"malformed JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(obj, dict):
        return {}, f"expected a JSON object, found {type(obj).__name__}"
    # A lone surrogate escape ("\\ud800") is no character: text holding one
    # cannot be stored, so the line is refused here rather than failing the
    # import when it is written.
    try:
        json.dumps(obj, ensure_ascii=False, default=str).encode()
    except UnicodeEncodeError as exc:
        return {}, f"malformed JSON: {exc.object[exc.start]!r} is a lone surrogate, not a character"
    except RecursionError:
        pass
    return obj, None


def has_large_float(value: object) -> bool:
    """Whether a parsed JSON value holds a float of ``2**63`` or more, which
    ``orjson`` may have made of an integer (see :func:`fast_json`)."""
    # Without recursion: a line may nest as deep as ``json`` reads, deeper
    # than the interpreter's recursion limit allows a recursive walk.
    stack = [value]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            stack.extend(value.values())
        elif type(value) is list:
            stack.extend(value)
        elif type(value) is float and abs(value) >= _LARGE_FLOAT:
            return True
    return False


def _record(
    file: str,
    line: int,
    raw: dict[str, object],
    source: str,
    key_header: str | None,
    mapper: RowMapper,
    region: str,
) -> ParsedRecord | Rejection:
    """The record of one row; ``key_header`` names the column holding the
    record's key (``None``: keyed by line), ``mapper`` maps the row's other
    columns."""
    customer_id = None
    if key_header is not None:
        key_value = raw.get(key_header)
        customer_id = str(key_value).strip() if key_value is not None else ""
        if not customer_id:
            return Rejection(file, line, f"empty key in column {key_header!r}")
    values = mapper.values(raw)
    if not values and customer_id is None:
        return Rejection(file, line, "no values")
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
