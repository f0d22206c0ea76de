"""The fast paths of the readers give what the plain ones gave.

The readers parse JSON with orjson (falling back to the standard library),
work out each event shape's keys and each CSV header's mapping once, take
timestamps already in the output form as they are and remember tidied
values of repetitive columns.  These tests hold them to the plain
behaviour an import relies on: the same event keys (a re-import finds its
events by them), the same numbers, the same messages for bad lines.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timezone
from hashlib import blake2b
from pathlib import Path

import pytest

from distil_tui.core import normalize as norm
from distil_tui.core.ingest.events import ParsedEvent, read_events
from distil_tui.core.ingest.mapping import ParsedRecord, RowMapper, map_values
from distil_tui.core.ingest.readers import detect_format, lines, parse_json_object, read_csv, read_jsonl
from distil_tui.core.models import Rejection


def _events(tmp_path: Path, lines: list[str]) -> list[tuple[object, int]]:
    path = tmp_path / "events.jsonl"
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return list(read_events(path, text, source="web", customer_id_source="shop", region="GB"))


def _event(anon: str = "a1", **extra: object) -> str:
    return json.dumps({"anonymous_user_id": anon, "timestamp": "2026-04-01T00:02:27Z", **extra},
                      ensure_ascii=False)


# -- event keys ------------------------------------------------------------


def test_event_key_is_the_hash_of_the_event_json_with_sorted_keys(tmp_path):
    """Stored events are found again by this key: it must not change."""
    objects = [
        {"anonymous_user_id": "a1", "timestamp": "2026-04-01T00:02:27Z", "event": "page_view",
         "properties": {"path": "/x", "z": [1, {"b": 2.5, "a": None}], "q": 'a"b\\c\n\x01'}},
        {"AnonymousUserID": "B2", "EventTimestampUTC": "2026-04-01T00:04:22Z", "EventType": "Zoë 中",
         "CustomerId": "S1", "EmailAddress": "x@y.org", "n": 1e16, "f": 0.1, "t": True},
    ]
    items = _events(tmp_path, [json.dumps(o, ensure_ascii=False) for o in objects])
    events = [item for item, _line in items if isinstance(item, ParsedEvent)]
    expected = [
        blake2b(json.dumps(o, sort_keys=True, ensure_ascii=False, default=str).encode(),
                digest_size=12).hexdigest()
        for o in objects
    ]
    assert [e.event_key for e in events] == expected


# -- numbers and JSON edge cases -------------------------------------------


def test_integers_beyond_64_bits_stay_exact_integers(tmp_path):
    big = {"neg": -9223372036854775809, "u64": 18446744073709551615, "huge": 2**64, "e": 10**30}
    items = _events(tmp_path, [_event(properties=big)])
    event = items[0][0]
    assert isinstance(event, ParsedEvent)
    properties = json.loads(event.properties)
    assert properties == big
    assert all(type(v) is int for v in properties.values())
    obj, error = parse_json_object(json.dumps({"id": -(2**70), "n": 1.5e300}))
    assert error is None and obj == {"id": -(2**70), "n": 1.5e300} and type(obj["id"]) is int


def test_nan_and_infinity_are_read_and_kept_as_null(tmp_path):
    """Python's JSON reads NaN, -Infinity and 1e400 as floats; the JSON the
    store keeps has no such numbers, so they are kept as null."""
    items = _events(tmp_path, ['{"anonymous_user_id": "a", "timestamp": "2026-04-01T00:00:00Z", '
                               '"properties": {"x": NaN, "y": -Infinity, "z": 1e400, "w": 1.5}}'])
    assert json.loads(items[0][0].properties) == {"x": None, "y": None, "z": None, "w": 1.5}


def test_duplicate_keys_keep_the_last_value_in_the_first_place():
    obj, error = parse_json_object('{"a": 1, "b": 2, "a": 3}')
    assert error is None and list(obj.items()) == [("a", 3), ("b", 2)]


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"a": 1', "malformed JSON: Expecting ',' delimiter at column 8"),
        ('{"a": 1,}', "malformed JSON: Expecting property name enclosed in double quotes at column 9"),
        ('{"a": "tab\there"}', "malformed JSON: Invalid control character at at column 11"),
        ('{"a": 1} {"b": 2}', "malformed JSON: Extra data at column 10"),
        ("[1, 2]", "expected a JSON object, found list"),
        ("null", "expected a JSON object, found NoneType"),
        ('"text"', "expected a JSON object, found str"),
        ("[" * 1100 + "]" * 1100, "JSON nested too deeply"),
    ],
    ids=lambda v: v[:30],
)
def test_bad_lines_are_rejected_with_the_standard_librarys_message(line, reason):
    assert parse_json_object(line) == ({}, reason)


def test_lines_nested_deep_but_not_too_deep_are_read():
    obj, error = parse_json_object('{"p": ' + "[" * 300 + "]" * 300 + "}")
    assert error is None and isinstance(obj["p"], list)


def test_a_lone_surrogate_is_a_rejection_naming_the_line(tmp_path):
    """Text holding one cannot be stored: the line is refused instead of the
    import failing when it writes it.  A proper pair is one character."""
    items = _events(tmp_path, [
        '{"anonymous_user_id": "a", "timestamp": "2026-04-01T00:00:00Z", "event": "x\\ud800"}',
        '{"anonymous_user_id": "a", "timestamp": "2026-04-01T00:00:00Z", "event": "\\ud83d\\ude00"}',
    ])
    rejection, line = items[0]
    assert isinstance(rejection, Rejection) and line == 1
    assert "surrogate" in rejection.reason
    assert items[1][0].event_type == "\U0001f600"


def test_event_shapes_are_read_per_shape(tmp_path):
    """Keys are worked out once per set of keys: lines of different shapes
    in one file each find their own fields."""
    items = _events(tmp_path, [
        '{"anonymous_user_id": "a1", "timestamp": "2026-04-01T00:00:00Z", "event": "one"}',
        '{"AnonymousUserID": "b2", "EventTimestampUTC": "2026-04-01T01:00:00+01:00", "EventType": "two",'
        ' "CustomerId": "S9"}',
        '{"anonymous_user_id": "", "anonid": "c3", "time": "2026-04-01 02:00:00", "name": "three"}',
        '{"anonymous_user_id": "a1", "timestamp": "2026-04-01T00:00:00Z", "event": "four"}',
        # two keys that fold alike: the later one counts
        '{"anonymous_user_id": "first", "AnonymousUserID": "", "timestamp": "2026-04-01T00:00:00Z"}',
    ])
    events = [(i.anonymous_user_id, i.event_type, i.occurred_at) for i, _ in items
              if isinstance(i, ParsedEvent)]
    assert events == [
        ("a1", "one", "2026-04-01T00:00:00Z"),
        ("b2", "two", "2026-04-01T00:00:00Z"),
        ("c3", "three", "2026-04-01T02:00:00Z"),
        ("a1", "four", "2026-04-01T00:00:00Z"),
    ]
    assert isinstance(items[-1][0], Rejection) and items[-1][0].reason == "missing anonymous_user_id"
    identify = [i for i, _ in items if isinstance(i, ParsedRecord)]
    assert [(r.source_key, r.identifiers) for r in identify] == [
        ("identify:b2:S9", [("anonymous_user_id", "b2"), ("customer_id", "shop:S9")])
    ]


# -- timestamps ------------------------------------------------------------


def _timestamp_by_parsing(text: str) -> str | None:
    """The plain way: parse, move to UTC, print."""
    text = norm.clean(text)
    if not text:
        return None
    candidate = text.replace(" ", "T", 1) if " " in text and "T" not in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_timestamps_in_the_output_form_agree_with_parsing():
    rng = random.Random(20261128)
    parts = (["2026", "1000", "9999", "1999", "0999", "２０２６", "2O26"],
             ["01", "02", "12", "13", "00", "1a"], ["01", "28", "29", "30", "31", "00", "32"],
             ["00", "09", "23", "24", "99", "٣1"], ["00", "59", "60"], ["00", "59", "60", "61"])
    taken_as_they_are = 0
    for _ in range(30000):
        y, mo, d, h, mi, s = (rng.choice(p) for p in parts)
        text = f"{y}-{mo}-{d}T{h}:{mi}:{s}{rng.choice('Zz')}"
        if rng.random() < 0.3:
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice("0123456789-:T Z+.") + text[i + 1:]
        expected = _timestamp_by_parsing(text)
        assert norm.timestamp_value(text) == expected, text
        taken_as_they_are += expected == text
    assert taken_as_they_are > 200


def test_a_timestamp_out_of_range_in_utc_is_a_rejection(tmp_path):
    assert norm.timestamp_value("0001-01-01T00:00:00+01:00") is None
    assert norm.timestamp_value("9999-12-31T23:59:59-01:00") is None
    items = _events(tmp_path, ['{"anonymous_user_id": "a", "timestamp": "0001-01-01T00:00:00+01:00"}'])
    assert items == [(Rejection(str(tmp_path / "events.jsonl"), 1,
                                "timestamp is not ISO 8601"), 1)]


# -- clean -----------------------------------------------------------------


def test_clean_collapses_every_kind_of_white_space_as_a_regex_would():
    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace()]
    assert len(spaces) > 20
    for ch in spaces:
        raw = f"{ch}a{ch}{ch}b c{ch}"
        assert norm.clean(raw) == re.sub(r"\s+", " ", raw).strip() == "a b c"


@pytest.mark.parametrize("raw", ["NULL", " None ", "N/A", "Undefined", "ANONYMOUS", "\tnan\n", 0, -1])
def test_clean_drops_null_likes_in_any_case(raw):
    assert norm.clean(raw) is None


def test_clean_keeps_long_values_and_non_strings():
    assert norm.clean("undefined!") == "undefined!"
    assert norm.clean(7) == "7" and norm.clean(1.5) == "1.5" and norm.clean(True) is None


# -- CSV and JSON Lines customers --------------------------------------------


def test_row_mapper_remembering_columns_gives_what_map_values_gives():
    """A column repeating itself is remembered, a column of distinct values
    stops being remembered after the trial rows; results are unchanged."""
    header = ["first", "Email", "phone", "phone#2", "town", "dob", "note"]
    rng = random.Random(5)
    rows = []
    for i in range(RowMapper.MEMO_TRIAL * 2):
        rows.append(dict(zip(header, [
            rng.choice(["Ann", " Bob ", "null", "", "Zoë"]),
            f"person{i}@Mail.com",
            rng.choice(["07700 900123", "(07903) 252 551", "", "n/a", f"07700 9{i % 100000:05d}"]),
            rng.choice(["+44 7911 123456", ""]),
            rng.choice(["St  Albans", "London", "-"]),
            rng.choice(["01/02/1990", "1956-09-30 00:00:00", "31/02/1990", ""]),
            f"note {i}",
        ])))
    mapper = RowMapper(header, region="GB", skip="note", text_only=True)
    for row in rows:
        assert mapper.values(row) == map_values(row, region="GB", skip=frozenset({"note"}))


def test_csv_rows_are_read_with_one_mapping_of_the_header(tmp_path):
    path = tmp_path / "shop.csv"
    text = ("\ufeffcustomer_id,First Name,E-mail,phone,Phone,notes\r\n"
            'S1, Ann ,ANN@X.COM,(07903) 252 551,,"two\r\nlines"\r\n'
            "S2,Bob,,,07911 123456,\r\n"
            ",Nokey,a@b.com,,,\r\n"
            "S3,too,few\r\n")
    path.write_text(text, encoding="utf-8")
    items = list(read_csv(path, text, source="shop", id_column="customer_id", region="GB"))
    first, second, nokey, few = (item for item, _ in items)
    assert first.values == {"first_name": "Ann", "email_address": "ANN@X.COM",
                            "mobile_phone_no": "+447903252551", "notes": "two lines"}
    assert first.identifiers == [("email_address", "ann@x.com"),
                                 ("mobile_phone_no", "+447903252551"), ("customer_id", "shop:S1")]
    assert second.values == {"first_name": "Bob", "mobile_phone_no": "+447911123456"}
    assert nokey.reason == "empty key in column 'customer_id'" and nokey.line == 5
    assert few.reason == "expected 6 columns, found 3" and few.line == 6
    assert [line for _, line in items] == [3, 4, 5, 6]


def test_json_lines_customers_of_different_shapes(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [
        '{"id": "1", "email": "A@B.com", "first_name": "Ann", "First Name": "Other"}',
        '{"email": "x@y.org", "id": "2", "extra": {"a": [1]}, "flag": true, "n": 7}',
        '{"name": "no id"}',
        '{"id": 3, "phone": 7700900123}',
    ]
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    items = [item for item, _ in read_jsonl(path, text, source="c", id_column="id", region="GB")]
    assert items[0].values == {"email_address": "A@B.com", "first_name": "Ann"}
    # true is null-like, as ever
    assert items[1].values == {"email_address": "x@y.org", "extra": '{"a": [1]}', "n": "7"}
    assert items[2].reason == "no 'id' field"
    assert (items[3].source_key, items[3].values) == ("3", {"mobile_phone_no": "7700900123"})


# -- a large file's lines, one at a time ---------------------------------------


@pytest.mark.parametrize("text", ["", "\n", "a", "a\n", "a\nb", "\n\na\r\nb\n\n", "é\n\u2028x\n"])
def test_lines_are_the_lines_split_gives(text):
    assert list(lines(text)) == text.split("\n")


def test_the_format_is_read_from_the_first_non_blank_line(tmp_path):
    event = '{"anonymous_user_id": "a1", "timestamp": "2026-01-01T00:00:00Z", "event": "page_view"}'
    assert detect_format(tmp_path / "x.txt", "\r\n  \r\n" + event + "\r\n") == "events"
    assert detect_format(tmp_path / "x.jsonl", '\n{"email": "a@x.org"}\n') == "jsonl"
    assert detect_format(tmp_path / "x.csv", "\nid,email\n1,a@x.org\n") == "csv"
