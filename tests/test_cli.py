"""The headless command line, as a script would use it."""

import csv
import json
import subprocess
import sys

import pytest

from distil_tui.cli import main
from tests.stores import store_url

SHOP = "customer_id,first_name,last_name,email,phone,town\n" \
       "S1,Ann,Lee,ann@x.org,07911 123456,York\n" \
       "S2,Bo,Ek,bo@x.org,,Leeds\n" \
       "S3,[bold]x[/],\x1b[31mred,esc@x.org,,Hull\n"
EVENTS = '{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view"}\n'
SIGN_IN = ('{"anonymous_user_id": "v1", "timestamp": "2026-03-02T10:00:00Z", "event": "sign_in", '
           '"customer": {"customer_id": "S1"}}\n')


@pytest.fixture
def db(tmp_path, write):
    db = store_url(tmp_path / "cli.db")
    assert main(["import", str(write("shop.csv", SHOP)), "--source", "shop", "--id-column",
                 "customer_id", "--db", db]) == 0
    return db


def run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_import_json_summary_is_the_last_line(tmp_path, write, capsys):
    path = write("n.csv", "email,first_name\nann@x.org,Ann\nbroken,row,extra\n")
    code, summary = run_json(capsys, ["--db", store_url(tmp_path / "s.db"), "import", str(path),
                                      "--source", "news", "--json"])
    assert code == 0
    assert summary["records_read"] == 2 and summary["records_imported"] == 1
    assert summary["records_rejected"] == 1 and summary["customers_created"] == 1
    assert summary["rejections"] == [{"file": str(path), "line": 3, "reason": "expected 2 columns, found 3"}]
    for key in ("merges_made", "candidates_created"):
        assert summary[key] == 0


def test_db_env_variable_chooses_the_store(tmp_path, write, capsys, monkeypatch):
    monkeypatch.setenv("DISTIL_DB", store_url(tmp_path / "env.db"))
    assert main(["import", str(write("n.csv", "email\nann@x.org\n")), "--source", "news"]) == 0
    assert main(["show", "ann@x.org"]) == 0
    monkeypatch.setenv("DISTIL_DB", store_url(tmp_path / "other.db"))
    assert main(["show", "ann@x.org"]) == 1


def test_refused_import_exits_2_with_a_message(tmp_path, capsys):
    code = main(["import", str(tmp_path / "missing.csv"), "--source", "x", "--db", store_url(tmp_path / "s.db")])
    assert code == 2
    assert "missing.csv: no such file" in capsys.readouterr().err


def test_all_rows_rejected_exits_1(tmp_path, write, capsys):
    path = write("bad.jsonl", "{oops\n[]\n")
    assert main(["import", str(path), "--source", "x", "--db", store_url(tmp_path / "s.db")]) == 1
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_search_by_name_prefix_and_email(db, capsys):
    code, hits = run_json(capsys, ["search", "ann le", "--json", "--db", db])
    assert code == 0 and [h["email_address"] for h in hits] == ["ann@x.org"]
    code, hits = run_json(capsys, ["search", "bo@", "--json", "--db", db])
    assert [h["first_name"] for h in hits] == ["Bo"]
    assert main(["search", "nobody", "--db", db]) == 1


def test_show_by_email_phone_and_retired_tracking_id(db, write, capsys):
    main(["import", str(write("e1.jsonl", EVENTS)), "--source", "web", "--db", db])
    code, visitor = run_json(capsys, ["show", "v1", "--json", "--db", db])
    main(["import", str(write("e2.jsonl", SIGN_IN)), "--source", "web",
          "--customer-id-source", "shop", "--db", db])
    capsys.readouterr()
    code, by_email = run_json(capsys, ["show", "ANN@x.org", "--json", "--db", db])
    code, by_phone = run_json(capsys, ["show", "+44 7911 123456", "--json", "--db", db])
    code, by_retired = run_json(capsys, ["show", visitor["tracking_id"], "--json", "--db", db])
    assert by_email["tracking_id"] == by_phone["tracking_id"] == by_retired["tracking_id"]
    assert by_retired["resolved_from"] == visitor["tracking_id"]
    assert by_email["retired_tracking_ids"] == [visitor["tracking_id"]]
    assert by_email["merges"][0]["rule"] == "anonymous_user_id"
    assert main(["show", "nobody@x.org", "--db", db]) == 1


def test_show_text_prints_data_literally(db, capsys):
    assert main(["show", "esc@x.org", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "[bold]x[/]" in out and "\x1b" not in out and "\\x1b[31mred" in out
    assert out.rstrip().splitlines()[-1].startswith("Tracking ID: ")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_customers_records_identifiers(db, tmp_path, fmt, capsys):
    def read(path):
        if fmt == "csv":
            with open(path, newline="", encoding="utf-8") as f:
                return list(csv.DictReader(f))
        return [json.loads(line) for line in open(path, encoding="utf-8")]

    out = tmp_path / f"c.{fmt}"
    assert main(["export", str(out), "--format", fmt, "--db", db]) == 0
    customers = read(out)
    assert len(customers) == 3 and {c["email_address"] for c in customers} == {"ann@x.org", "bo@x.org", "esc@x.org"}
    assert all(len(c["tracking_id"]) == 26 for c in customers)
    main(["export", str(out), "--format", fmt, "--records", "--db", db])
    records = read(out)
    assert set(records[0]) == {"source", "source_key", "tracking_id"}
    assert {r["source_key"] for r in records} == {"S1", "S2", "S3"}
    main(["export", str(out), "--format", fmt, "--identifiers", "--db", db])
    idents = read(out)
    assert set(idents[0]) == {"kind", "value", "tracking_id"}
    assert {"kind": "mobile_phone_no", "value": "+447911123456"}.items() <= \
        next(i for i in idents if i["kind"] == "mobile_phone_no").items()
    ann = next(c for c in customers if c["email_address"] == "ann@x.org")["tracking_id"]
    assert {i["tracking_id"] for i in idents if i["value"] in ("shop:S1", "ann@x.org")} == {ann}


def test_merges_and_pending_candidates(tmp_path, write, capsys):
    db = store_url(tmp_path / "m.db")
    main(["import", str(write("s.csv", "id,email,first_name\nS1,smiths@x.org,John\nS2,smiths@x.org,Jane\n")),
          "--source", "shop", "--id-column", "id", "--db", db])
    capsys.readouterr()
    code, pending = run_json(capsys, ["merges", "--pending", "--json", "--db", db])
    assert code == 0 and len(pending) == 1
    assert pending[0]["reason"] == "both_identified"
    assert {pending[0]["a"]["first_name"], pending[0]["b"]["first_name"]} == {"John", "Jane"}
    code, merges = run_json(capsys, ["merges", "--json", "--db", db])
    assert merges == []


def test_python_dash_m_works(tmp_path):
    result = subprocess.run([sys.executable, "-m", "distil_tui", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "import" in result.stdout and "demo" in result.stdout
