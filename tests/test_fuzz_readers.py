"""Fuzzing the readers: random bytes, and random near-valid CSV and JSON
lines.  The only documented outcomes are a refusal (``ImportRefused``
naming the file) or records, events and rejections (each rejection naming
the file and a line of it); any other exception is a bug."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distil_tui.core.importer import ImportRefused, import_file
from distil_tui.core.ingest.events import read_events
from distil_tui.core.ingest.mapping import ParsedRecord
from distil_tui.core.ingest.readers import detect_format, read_csv, read_jsonl, read_text
from distil_tui.core.models import Rejection
from distil_tui.core.preview import preview_file
from distil_tui.core.store import Store

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FUZZ_IMPORTS = settings(max_examples=25, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_all(path: Path) -> list:
    """Everything the readers make of ``path``, as an import reads it:
    ``ImportRefused`` or the records, events and rejections."""
    text = read_text(path)
    fmt = detect_format(path, text)
    if fmt == "csv":
        items = read_csv(path, text, source="s", id_column=None, region="GB")
    elif fmt == "jsonl":
        items = read_jsonl(path, text, source="s", id_column=None, region="GB")
    else:
        items = read_events(path, text, source="s", customer_id_source="s", region="GB")
    out = list(items)
    # The CSV reader ends a line at "\r" too, as old Mac files do.
    lines = len(re.split("\r\n|\r|\n", text) if fmt == "csv" else text.split("\n"))
    for item, _line in out:
        if isinstance(item, Rejection):
            assert item.file == str(path)
            assert 1 <= item.line <= lines and item.reason
        if isinstance(item, ParsedRecord):
            assert 1 <= item.line <= lines
            assert all(isinstance(v, str) for v in item.values.values())
    return out


def check_file(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        read_all(path)
    except ImportRefused as exc:
        assert re.match(rf"{re.escape(str(path))}(:\d+)?: \S", str(exc))
    try:
        preview_file(path)
    except ImportRefused as exc:
        assert str(exc).startswith(str(path))


# -- random bytes -------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".jsonl", ".txt"]))
def test_random_bytes_are_refused_or_read(tmp_path, data, suffix):
    check_file(tmp_path / f"f{suffix}", data)


# -- near-valid CSV -----------------------------------------------------------------

# Cells: ordinary values, and the characters that trouble a CSV reader or a
# normaliser: quotes, delimiters, line breaks, escapes, odd Unicode.
AWKWARD = st.sampled_from(['"', '""', ",", ";", "\t", "|", "\n", "\r", "\r\n", "\\", "\x1b[31m",
                           "\u202e", "\ud7ff", "\ufeff", "\x85", "\u2028", "null", "0", "-1", " ",
                           "@", "+44", "1985-03-07", "31/02/1985", "ann@lee.org", "07911 123456",
                           "[bold]", "\U0001f600", "e\u0301"])
CELL = st.lists(st.one_of(AWKWARD, st.text(string.ascii_letters + string.digits + " .-@+/", max_size=12)),
                max_size=4).map("".join)
COLUMNS = st.sampled_from(["first_name", "last_name", "email", "phone", "dob", "town", "postcode",
                           "customer_id", "notes", "", "email", '"quoted"'])


@st.composite
def near_valid_csv(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(COLUMNS, min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=len(header) + 2), max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    text = ending.join(delimiter.join(row) for row in [header, *rows])
    if draw(st.booleans()):
        text += ending
    return ("\ufeff" if draw(st.booleans()) else "").encode() + text.encode("utf-8", "surrogatepass")


@FUZZ
@given(data=near_valid_csv())
def test_near_valid_csv_is_refused_or_read(tmp_path, data):
    check_file(tmp_path / "f.csv", data)


# -- near-valid JSON lines ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | CELL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CELL, inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(["anonymous_user_id", "AnonymousUserID", "timestamp", "EventTimestampUTC",
                        "event", "properties", "customer", "customer_id", "email", "first_name",
                        "phone", "dob", "custom"])
TIMES = st.sampled_from(["2026-03-01T10:00:00Z", "2026-03-01 10:00", "2026-02-30T00:00:00Z",
                         "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "", "yesterday"])


@st.composite
def near_valid_line(draw) -> str:
    obj = draw(st.dictionaries(KEYS, JSON_VALUES | TIMES, max_size=6))
    if draw(st.booleans()):
        obj["anonymous_user_id"] = draw(CELL)
        obj["timestamp"] = draw(TIMES)
    if draw(st.booleans()):
        obj["customer"] = draw(st.dictionaries(KEYS, JSON_VALUES, max_size=3))
    line = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    mutation = draw(st.sampled_from(["none", "none", "cut", "insert", "nest", "surrogate", "big"]))
    if mutation == "cut":
        line = line[: draw(st.integers(0, len(line)))]
    elif mutation == "insert":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(AWKWARD | st.sampled_from(["{", "}", "[", "]", ":", "NaN"])) + line[at:]
    elif mutation == "nest":
        depth = draw(st.integers(200, 3000))
        line = line[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}" if line.endswith("}") else line
    elif mutation == "surrogate":
        line = line.replace('"', '"\\ud800', 1)
    elif mutation == "big":
        line = line[:-1] + ', "n": ' + "9" * draw(st.integers(19, 400)) + "}" if line.endswith("}") else line
    return line


@FUZZ
@given(lines=st.lists(near_valid_line(), min_size=1, max_size=6))
def test_near_valid_json_lines_are_refused_or_read(tmp_path, lines):
    check_file(tmp_path / "f.jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))


# -- whole imports ----------------------------------------------------------------------


@FUZZ_IMPORTS
@given(data=st.one_of(near_valid_csv(), st.lists(near_valid_line(), min_size=1, max_size=6).map(
    lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))))
def test_near_valid_files_are_refused_or_imported(tmp_path_factory, data):
    """Through the whole import (mapping, linking, writing): a refusal leaves
    nothing behind; otherwise the rows not rejected are the ones imported."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / ("f.jsonl" if data.lstrip(b"\xef\xbb\xbf").startswith(b"{") else "f.csv")
    path.write_bytes(data)
    store = Store(f"sqlite:///{folder / 'store.db'}")
    try:
        summary = import_file(store, path, source="s")
    except ImportRefused:
        from tests.test_bad_input import dump
        assert not any(dump(store).get(t) for t in ("import_run", "source_record", "customer"))
    else:
        assert summary.records_imported == summary.records_read - summary.records_rejected
    finally:
        store.close()


def test_a_large_float_deep_in_an_event_is_read(tmp_path):
    """Found by the fuzzer: an event nested 700 deep holding a float of
    1e16 or more was checked for large integers by a recursive walk, which
    the nesting overflowed (RecursionError) instead of being read."""
    deep = "[" * 700 + "1e+16" + "]" * 700
    path = tmp_path / "deep.jsonl"
    path.write_text('{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", '
                    f'"properties": {{"deep": {deep}}}}}\n')
    (event, line), = read_all(path)
    assert line == 1 and json.loads(event.properties)["deep"][0][0][0] is not None
