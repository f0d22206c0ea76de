"""Bad input: a corpus of files that are not what an import expects.

Each case goes through ``import_file`` and through the command line.  A file
that cannot be used at all is *refused*: ``ImportRefused`` (exit status 2)
with a message naming the file, the line where there is one, and the
reason, and the store exactly as it was.  A file with some unusable rows is
*imported with rejections*: each rejected row is reported with its file,
line and reason, the store holds exactly the good rows, and the exit status
is 0; when every row is rejected nothing is imported and the exit status is
1 (the import run is still recorded, with its rejections).

Small files live in ``tests/data/bad_input/``; big and binary ones are made
here.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from distil_tui.cli import main
from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import ImportRefused, import_file
from distil_tui.core.profiles import get_profile
from distil_tui.core.schema import T_EVENT, T_IDENT, T_RECORD, T_RUN
from tests.test_ui import pilot_test, settle
from tests.test_ui_import import info, open_import

CORPUS = Path(__file__).parent / "data" / "bad_input"

# A customer already in the store: every refused import must leave it, and
# everything else, as it was.
EXISTING = "customer_id,first_name,email\nE1,Eve,eve@existing-customers.org\n"


def dump(store) -> dict[str, list[tuple]]:
    """Every row of every table, in a fixed order: two dumps are equal
    exactly when the store did not change."""
    with store.read() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in T_RUN.metadata.sorted_tables
        }


@pytest.fixture
def seeded(store, write):
    import_file(store, write("existing.csv", EXISTING), source="old", id_column="customer_id")
    return store


def cli_import(store, path, *options: str) -> int:
    """Run ``distil-tui import`` on the store's file; its exit status."""
    return main(["import", str(path), "--db", store.url, *options])


# -- refused files ---------------------------------------------------------------


def _bytes(name: str, data: bytes):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return make


def _corpus(name: str):
    return lambda _tmp: CORPUS / name


def _deep(name: str, first: bytes):
    return _bytes(name, first * 100_000 + b"\n")


# (case, file maker, import options, the line named or None, the reason).
REFUSED = [
    ("empty file", _corpus("empty.csv"), {}, None, "the file is empty"),
    ("blank lines only", _corpus("blank_lines.jsonl"), {}, None, "the file is empty"),
    ("header only", _corpus("header_only.csv"), {}, None, "no records after the header"),
    ("wrong encoding: latin-1", _corpus("latin1.csv"), {}, 2,
     "not UTF-8 text (byte 0xeb at offset 33); save the file as UTF-8 and import it again"),
    ("wrong encoding: UTF-16 with a byte order mark",
     _bytes("utf16.csv", "email,first_name\nann@lee-family.org,Ann\n".encode("utf-16")), {}, 1,
     "UTF-16 text, not UTF-8 (byte order mark at offset 0)"),
    ("wrong encoding: UTF-16 without a byte order mark",
     _bytes("utf16le.jsonl", '{"email": "ann@lee-family.org"}\n'.encode("utf-16-le")), {}, 1,
     "a NUL byte (0x00 at offset 1): not a text file, or UTF-16 text"),
    ("wrong encoding: UTF-32", _bytes("utf32.csv", "email\nann@lee-family.org\n".encode("utf-32")),
     {}, 1, "UTF-32 text, not UTF-8"),
    ("binary file", _bytes("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), {}, 1,
     "not UTF-8 text (byte 0x89 at offset 0)"),
    ("binary file as events", _bytes("dump.jsonl", bytes(range(256)) * 8), {"fmt": "events"}, 2,
     "not UTF-8 text (byte 0x80 at offset 128)"),
    ("binary file that is valid UTF-8", _bytes("zeros.csv", b"\x00" * 64), {}, 1,
     "a NUL byte (0x00 at offset 0)"),
    ("NUL byte in a CSV row",
     _bytes("nul.csv", b"customer_id,first_name\n1,Ann\n2,B\x00o\n"), {}, 3,
     "a NUL byte (0x00 at offset 32): not a text file, or UTF-16 text; save the file as UTF-8"),
    ("NUL byte in a JSON line",
     _bytes("nul.jsonl", b'{"first_name": "Ann"}\n{"first_name": "B\x00o"}\n'), {}, 2,
     "a NUL byte (0x00 at offset 39)"),
    ("quote never closed in the header", _bytes("q.csv", b'customer_id,"email\n1,a@b.org\n'), {},
     1, 'a quoted column name is never closed (a " with no closing "): the header runs to the end'),
    ("no such key column", _corpus("ragged.csv"), {"id_column": "id"}, 1,
     "no column 'id' for --id-column; columns are 'customer_id', 'first_name', 'email'"),
    ("a path that does not exist", lambda tmp: tmp / "nowhere" / "shop.csv", {}, None, "no such file"),
    ("a directory", lambda tmp: tmp, {}, None, "is a folder, not a file"),
]


def expected_message(path: Path, line: int | None, reason: str) -> str:
    return f"{path}:{line}: {reason}" if line else f"{path}: {reason}"


@pytest.mark.parametrize("case, make, options, line, reason", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_refused_file_names_file_line_and_reason_and_changes_nothing(
    seeded, tmp_path, case, make, options, line, reason
):
    path = make(tmp_path)
    before = dump(seeded)
    with pytest.raises(ImportRefused) as refused:
        import_file(seeded, path, source="shop", **options)
    assert str(refused.value).startswith(expected_message(path, line, reason))
    assert dump(seeded) == before


@pytest.mark.parametrize("case, make, options, line, reason", REFUSED, ids=[c[0] for c in REFUSED])
def test_the_command_line_refuses_with_exit_status_2(
    seeded, tmp_path, capsys, case, make, options, line, reason
):
    path = make(tmp_path)
    before = dump(seeded)
    argv = ["--source", "shop", "--json"]
    if "fmt" in options:
        argv += ["--format", options["fmt"]]
    if "id_column" in options:
        argv += ["--id-column", options["id_column"]]
    assert cli_import(seeded, path, *argv) == 2
    out, err = capsys.readouterr()
    message = expected_message(path, line, reason)
    assert err.startswith(f"distil-tui: {message}")
    assert json.loads(out.splitlines()[-1])["error"].startswith(message)
    assert dump(seeded) == before


def test_the_command_line_prints_control_characters_in_a_file_name_escaped(seeded, tmp_path, capsys):
    """A file name is data too: an escape sequence in it must not reach the
    terminal, in a refusal or in a summary."""
    refused = tmp_path / "\x1b]52;c;ZXZpbA==\x07empty.csv"
    refused.write_text("")
    assert cli_import(seeded, refused, "--source", "shop") == 2
    err = capsys.readouterr().err
    assert err == f"distil-tui: {tmp_path}/\\x1b]52;c;ZXZpbA==\\x07empty.csv: the file is empty\n"

    ragged = tmp_path / "\x1b[2Jragged.csv"
    ragged.write_bytes((CORPUS / "ragged.csv").read_bytes())
    assert cli_import(seeded, ragged, "--source", "\x1b[31mshop", "--id-column", "customer_id") == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert f"{tmp_path}/\\x1b[2Jragged.csv (csv, source \\x1b[31mshop): 4 read" in err
    assert f"rejected {tmp_path}/\\x1b[2Jragged.csv:3: expected 3 columns, found 2" in err


# -- files with rejected rows ----------------------------------------------------


def keys(store, source: str) -> set[str]:
    return {key for (s, key) in record_grouping(store) if s == source}


def rejections(summary) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in summary.rejections]


def test_ragged_rows_are_rejected_and_the_others_imported(seeded, capsys):
    path = CORPUS / "ragged.csv"
    summary = import_file(seeded, path, source="shop", id_column="customer_id")
    assert rejections(summary) == [(3, "expected 3 columns, found 2"), (4, "expected 3 columns, found 4")]
    assert {r.file for r in summary.rejections} == {str(path)}
    assert keys(seeded, "shop") == {"1", "4"}


def test_the_command_line_exits_0_and_lists_each_rejected_row(seeded, capsys):
    path = CORPUS / "ragged.csv"
    assert cli_import(seeded, path, "--source", "shop", "--id-column", "customer_id") == 0
    err = capsys.readouterr().err
    assert f"{path} (csv, source shop): 4 read, 2 imported, 2 rejected;" in err
    assert f"  rejected {path}:3: expected 3 columns, found 2" in err
    assert f"  rejected {path}:4: expected 3 columns, found 4" in err
    assert keys(seeded, "shop") == {"1", "4"}


def test_a_quote_never_closed_is_a_rejection_not_the_rest_of_the_file_in_one_field(seeded):
    """The CSV reader takes everything after an unmatched quote as one field:
    the rows after it would silently become one value."""
    path = CORPUS / "unclosed_quote.csv"
    summary = import_file(seeded, path, source="shop", id_column="customer_id")
    assert rejections(summary) == [
        (3, 'a quoted field is never closed (a " with no closing "): lines 3 to 4, the end of '
            "the file, were read as one row")
    ]
    assert keys(seeded, "shop") == {"1"}


def test_a_quoted_field_over_two_lines_at_the_end_of_the_file_is_a_row(seeded, write):
    for text in ('customer_id,note\n1,"two\nlines"\n', 'customer_id,note\n1,"two\nlines"'):
        summary = import_file(seeded, write("ok.csv", text), source="notes", id_column="customer_id")
        assert summary.rejections == ()
        assert get_profile(seeded, "notes:1").custom_attributes == (("note", "two lines"),)
        with seeded.read() as conn:
            assert json.loads(conn.execute(select(T_RECORD.c.raw).where(
                T_RECORD.c.source == "notes")).scalar_one())["note"] == "two\nlines"


def test_a_one_megabyte_field_is_kept_whole(seeded, write):
    big = "x" * (1 << 20)
    csv_path = write("big.csv", f"customer_id,first_name,note\n1,Ann,{big}\n2,Bo,short\n")
    summary = import_file(seeded, csv_path, source="shop", id_column="customer_id")
    assert (summary.records_imported, summary.rejections) == (2, ())
    assert dict(get_profile(seeded, "shop:1").custom_attributes)["note"] == big

    jsonl = write("big.jsonl", json.dumps({"customer_id": "1", "note": big}) + "\n")
    import_file(seeded, jsonl, source="app", id_column="customer_id")
    assert dict(get_profile(seeded, "app:1").custom_attributes)["note"] == big

    events = write("big-events.jsonl", json.dumps(
        {"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "properties": {"blob": big}}
    ) + "\n")
    summary = import_file(seeded, events, source="web")
    assert summary.events_imported == 1
    with seeded.read() as conn:
        assert json.loads(conn.execute(select(T_EVENT.c.properties)).scalar_one()) == {"blob": big}


def test_a_field_beyond_the_csv_limit_is_a_rejection_naming_its_line(seeded, write):
    huge = "x" * (16 * 1024 * 1024 + 1)
    path = write("huge.csv", f"customer_id,note\n1,short\n2,{huge}\n3,short\n")
    summary = import_file(seeded, path, source="shop", id_column="customer_id")
    assert rejections(summary) == [
        (3, "a field is longer than 16,777,216 characters, the most a CSV field may hold")
    ]
    assert keys(seeded, "shop") == {"1", "3"}


def test_malformed_json_lines_are_rejected_with_the_reason(seeded):
    path = CORPUS / "malformed.jsonl"
    summary = import_file(seeded, path, source="app", id_column="customer_id")
    assert rejections(summary) == [
        (2, "malformed JSON: Expecting property name enclosed in double quotes at column 2"),
        (3, "expected a JSON object, found list"),
        (4, "expected a JSON object, found str"),
        (5, "malformed JSON: Expecting ',' delimiter at column 40"),
        (6, "no 'customer_id' field"),
    ]
    assert keys(seeded, "app") == {"1", "3"}


@pytest.mark.parametrize("fmt, opener", [("jsonl", b"["), ("jsonl", b'{"a":'), ("events", b"[")])
def test_deeply_nested_json_is_a_rejection_on_any_line(seeded, write, fmt, opener):
    """100,000 levels: first (where the format is detected) and later lines."""
    good = (b'{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z"}\n' if fmt == "events"
            else b'{"email": "ann@lee-family.org"}\n')
    deep = opener * 100_000 + b"\n"
    path = write(f"deep.{fmt}.jsonl", deep + good + deep)
    summary = import_file(seeded, path, source="app", fmt="auto" if fmt == "jsonl" else fmt)
    assert rejections(summary) == [(1, "JSON nested too deeply"), (3, "JSON nested too deeply")]
    assert summary.records_imported == 1


def test_events_with_bad_lines_keep_the_good_ones(seeded):
    path = CORPUS / "events_bad.jsonl"
    summary = import_file(seeded, path, source="web")
    assert summary.format == "events"
    assert rejections(summary) == [
        (2, "timestamp is not ISO 8601"),  # the value is not echoed: it may be anything
        (3, "missing anonymous_user_id"),
        (4, "missing timestamp"),
        (5, "timestamp is not ISO 8601"),
        (6, "malformed JSON: Expecting value at column 75"),
    ]
    with seeded.read() as conn:
        events = sorted(conn.execute(select(T_EVENT.c.event_type, T_EVENT.c.occurred_at)).all())
    assert events == [("order", "2026-03-01T09:03:00Z"), ("page_view", "2026-03-01T10:00:00Z")]


def test_every_row_rejected_imports_nothing_and_exits_1(seeded, capsys):
    path = CORPUS / "all_malformed.jsonl"
    before = dump(seeded)
    assert cli_import(seeded, path, "--source", "app") == 1
    err = capsys.readouterr().err
    assert "3 read, 0 imported, 3 rejected" in err
    assert f"rejected {path}:1: malformed JSON" in err
    assert f"rejected {path}:3: expected a JSON object, found NoneType" in err
    after = dump(seeded)
    for table in ("customer", "source_record", "identifier", "event", "merge"):
        assert after[table] == before[table]
    with seeded.read() as conn:
        run = conn.execute(select(T_RUN).where(T_RUN.c.file == str(path))).mappings().one()
    assert (run["records_imported"], run["records_rejected"]) == (0, 3)


def test_duplicate_column_names_keep_every_value(seeded):
    """The first of two columns that name one attribute is the attribute;
    the second is kept as a custom attribute ``name#2``: nothing is lost."""
    summary = import_file(seeded, CORPUS / "duplicate_columns.csv", source="shop", id_column="customer_id")
    assert summary.rejections == ()
    p = get_profile(seeded, "shop:1")
    assert (p.attribute("email_address"), p.attribute("first_name")) == ("ann@lee-family.org", "Ann")
    assert dict(p.custom_attributes) == {"email#2": "ann.work@acme-tools.com", "first_name#2": "Annie"}
    assert ("email_address", "ann@lee-family.org") in {(i.kind, i.value) for i in p.identifiers}


def test_dates_in_many_forms(seeded):
    """A date of birth in a recognised form (day first, as in the UK) lands
    as one ISO date; anything else is kept as written, not guessed at, and
    not rejected: nothing is lost."""
    import_file(seeded, CORPUS / "dates.csv", source="shop", id_column="customer_id")
    born = {
        p.attribute("first_name"): p.attribute("date_of_birth")
        for p in (get_profile(seeded, f"shop:{n}") for n in range(1, 17))
    }
    same_day = [name for name, dob in born.items() if dob == "1985-03-07"]
    assert same_day == ["Iso", "Slashes", "Dashes", "Dots", "Short year", "Compact", "Day month name",
                        "Long month", "Month first name", "With time", "Iso timestamp", "Slashed iso"]
    assert {name: dob for name, dob in born.items() if name not in same_day} == {
        "Words": "last Tuesday", "No such day": "31/02/1985", "Future": "2099-01-01",
        "Too old": "1850-01-01",
    }


def test_invalid_emails_and_phones_are_kept_but_never_identify(seeded):
    """The row is imported and its values shown as written; a value that is
    not a usable email or phone is not an identifier, so two people with
    the same bad value are not joined by it."""
    summary = import_file(seeded, CORPUS / "invalid_contacts.csv", source="shop", id_column="customer_id")
    assert (summary.records_imported, summary.rejections) == (6, ())
    identifiers = {}
    for n in range(1, 7):
        p = get_profile(seeded, f"shop:{n}")
        identifiers[n] = {(i.kind, i.value) for i in p.identifiers if i.kind != "customer_id"}
    assert identifiers == {
        1: set(), 2: set(), 3: set(), 4: set(), 6: set(),
        5: {("email_address", "ed@po-family.org"), ("mobile_phone_no", "+447911123456")},
    }
    ann, fay = get_profile(seeded, "shop:1"), get_profile(seeded, "shop:6")
    assert ann.tracking_id != fay.tracking_id  # the same bad email and phone
    assert (ann.attribute("email_address"), ann.attribute("mobile_phone_no")) == ("not-an-email", "123")
    assert get_profile(seeded, "shop:4").attribute("mobile_phone_no") == "phone me"
    with seeded.read() as conn:
        values = {v for (v,) in conn.execute(select(T_IDENT.c.value))}
    assert not values & {"not-an-email", "bo@@ek-family.org", "noreply@ng-family.org", "di@oz-family"}


def test_a_rejected_row_is_not_half_imported(seeded):
    """A rejected row is reported, not half imported: no record has its line."""
    path = CORPUS / "ragged.csv"
    import_file(seeded, path, source="shop", id_column="customer_id")
    with seeded.read() as conn:
        lines = {line for (line,) in conn.execute(select(T_RECORD.c.line).where(T_RECORD.c.file == str(path)))}
    assert lines == {2, 5}


def test_random_binary_files_are_refused_by_name(seeded, tmp_path):
    rng = random.Random(8)
    before = dump(seeded)
    for n in range(20):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        path = tmp_path / f"random-{n}.csv"
        path.write_bytes(data)
        with pytest.raises(ImportRefused, match=rf"^{re.escape(str(path))}(:\d+)?: "):
            import_file(seeded, path, source="shop")
    assert dump(seeded) == before


# -- the import screen --------------------------------------------------------------


@pilot_test
async def test_the_import_screen_shows_a_refusal_literally(make_ui_app, ui_store, tmp_path) -> None:
    """The file name holds console markup and the message names a byte: the
    message is shown as it is, in the preview and after enter."""
    path = tmp_path / "[bold]crm[" / "] \x1b[31m.csv"  # "[bold]crm[/] \x1b[31m.csv"
    path.parent.mkdir()
    path.write_bytes((CORPUS / "latin1.csv").read_bytes())
    before = dump(ui_store)
    message = f"{path}:2: not UTF-8 text (byte 0xeb at offset 33); save the file as UTF-8 and import it again"
    shown = message.replace("\x1b", "\\x1b")
    app = make_ui_app()
    async with app.run_test(size=(220, 30)) as pilot:
        screen = await open_import(pilot, str(path))
        assert info(pilot) == shown
        assert screen.query_one("#import-info").has_class("-error")
        await pilot.press("enter")
        await settle(pilot)
        assert info(pilot) == shown
        assert not screen.has_class("-done")
    assert dump(ui_store) == before
