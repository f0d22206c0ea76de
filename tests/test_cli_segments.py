"""The command line for segments, Destinations' exports, the Tracking ID
change feed and forget, as a script would use it."""

from __future__ import annotations

import csv
import json

import pytest

from distil_tui.cli import main
from tests.stores import store_url

SHOP = ("customer_id,first_name,last_name,email,town,loyalty_tier\n"
        "S1,Ann,Lee,ann@x.org,Leeds,gold\n"
        "S2,Bo,Ek,bo@x.org,Leeds,silver\n"
        "S3,[bold]x[/],\x1b[31mred,esc@x.org,York,gold\n")
VISIT = '{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view"}\n'
SIGN_IN = ('{"anonymous_user_id": "v1", "timestamp": "2026-03-02T10:00:00Z", "event": "sign_in", '
           '"customer": {"customer_id": "S1"}}\n')


@pytest.fixture
def db(tmp_path, write):
    db = store_url(tmp_path / "cli.db")
    assert main(["import", str(write("shop.csv", SHOP)), "--source", "shop", "--id-column",
                 "customer_id", "--db", db]) == 0
    return db


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_create_list_show_rename_delete(db, capsys):
    assert main(["segments", "list", "--db", db]) == 1  # nothing saved yet
    assert main(["segments", "create", "leeds gold", "--where", "town equals leeds",
                 "--where", "custom.loyalty_tier equals GOLD", "--db", db]) == 0
    assert "segment 'leeds gold' saved: 1 customers" in capsys.readouterr().out
    assert main(["segments", "create", "gold or york", "--any", "--where", "custom.loyalty_tier equals gold",
                 "--where", "town equals York", "--db", db]) == 0
    capsys.readouterr()
    assert main(["segments", "list", "--json", "--db", db]) == 0
    assert [(s["name"], s["count"], s["combine"]) for s in last_json(capsys)] == [
        ("gold or york", 2, "or"), ("leeds gold", 1, "and")]
    assert main(["segments", "show", "leeds gold", "--json", "--db", db]) == 0
    assert last_json(capsys)["conditions"] == [
        {"attribute": "town", "operator": "equals", "value": "leeds"},
        {"attribute": "custom.loyalty_tier", "operator": "equals", "value": "GOLD"}]
    assert main(["segments", "show", "leeds gold", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "leeds gold: 1 customers", "  all of:", "    town equals leeds", "    custom.loyalty_tier equals GOLD"]
    assert main(["segments", "rename", "leeds gold", "Leeds VIP", "--db", db]) == 0
    assert main(["segments", "delete", "gold or york", "--db", db]) == 0
    capsys.readouterr()
    assert main(["segments", "list", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Leeds VIP\t1\ttown equals leeds and custom.loyalty_tier equals GOLD"]


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["segments", "create", "x", "--where", "twon equals Leeds"], 2, "did you mean town"),
    (["segments", "create", "x", "--where", "town before 2020-01-01"], 2, "'before' does not apply to text"),
    (["segments", "show", "nope"], 1, "no segment named 'nope'; no segments are saved"),
    (["segments", "rename", "nope", "x"], 2, "no segment named 'nope'"),
    (["segments", "delete", "nope"], 2, "no segment named 'nope'"),
])
def test_segment_errors_are_clear(db, capsys, argv, code, message):
    assert main([*argv, "--db", db]) == code
    assert message in capsys.readouterr().err


def test_a_name_that_exists_is_replaced_only_when_asked(db, capsys):
    assert main(["segments", "create", "s", "--where", "town equals York", "--db", db]) == 0
    assert main(["segments", "create", "s", "--where", "town equals Leeds", "--db", db]) == 2
    assert "a segment named 's' already exists" in capsys.readouterr().err
    assert main(["segments", "create", "s", "--where", "town equals Leeds", "--replace", "--db", db]) == 0
    assert "2 customers" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_a_segment_with_chosen_columns(db, tmp_path, capsys, fmt):
    main(["segments", "create", "gold", "--where", "custom.loyalty_tier equals gold", "--db", db])
    out = tmp_path / f"gold.{fmt}"
    assert main(["export", str(out), "--segment", "gold", "--columns", "first_name,last_name,town",
                 "--db", db]) == 0
    assert "2 customers of segment 'gold' written" in capsys.readouterr().err
    if fmt == "csv":
        with open(out, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    else:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["first_name"], r["last_name"], r["town"]) for r in rows] == [
        ("Ann", "Lee", "Leeds"), ("[bold]x[/]", "\x1b[31mred", "York")]  # data written as it is
    assert all(len(r["core_data.tracking_id"]) == 26 for r in rows)
    main(["show", "ann@x.org", "--json", "--db", db])
    assert rows[0]["core_data.tracking_id"] == last_json(capsys)["tracking_id"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--segment", "nope"], "no segment named 'nope'"),
    (["--columns", "first_name,frist_name"], "unknown attribute 'frist_name'; did you mean first_name"),
    (["--records", "--columns", "first_name"], "do not apply to --records"),
    (["--since", "2026-01-01"], "--since applies to --tracking-id-changes only"),
    (["--tracking-id-changes", "--since", "soon"], "'soon' is not a date"),
])
def test_export_errors_are_clear(db, tmp_path, capsys, argv, message):
    out = tmp_path / "x.csv"
    assert main(["export", str(out), *argv, "--db", db]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_tracking_id_change_feed(db, tmp_path, write, capsys):
    events = ["--source", "web", "--format", "events", "--customer-id-source", "shop", "--db", db]
    main(["import", str(write("v.jsonl", VISIT)), *events])
    main(["show", "v1", "--json", "--db", db])
    visitor = last_json(capsys)["tracking_id"]
    main(["import", str(write("s.jsonl", SIGN_IN)), *events])
    main(["show", "ann@x.org", "--json", "--db", db])
    ann = last_json(capsys)
    merge_id = ann["merges"][0]["merge_id"]
    main(["undo", str(merge_id), "--db", db])
    out = tmp_path / "feed.jsonl"
    assert main(["export", str(out), "--tracking-id-changes", "--db", db]) == 0
    assert "2 Tracking ID changes written" in capsys.readouterr().err
    feed = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(f["old_tracking_id"], f["new_tracking_id"], f["action"]) for f in feed] == [
        (visitor, ann["tracking_id"], "merge"), (ann["tracking_id"], visitor, "undo_merge")]
    assert feed[0]["merge_id"] == merge_id and feed[0]["reason"] == "anonymous_user_id"
    assert main(["export", str(out), "--tracking-id-changes", "--since", "2999-01-01", "--db", db]) == 0
    assert out.read_text() == ""


def test_forget(db, capsys):
    main(["show", "ann@x.org", "--json", "--db", db])
    tid = last_json(capsys)["tracking_id"]
    assert main(["forget", "ann@x.org", "--db", db]) == 2  # not a terminal: needs --yes
    assert "add --yes to confirm" in capsys.readouterr().err
    assert main(["show", "ann@x.org", "--db", db]) == 0
    capsys.readouterr()
    assert main(["forget", "ann@x.org", "--yes", "--db", db]) == 0
    assert f"customer {tid} forgotten: 1 source records erased, 2 identifiers removed" in capsys.readouterr().out
    assert main(["show", "ann@x.org", "--db", db]) == 1
    assert main(["show", tid, "--json", "--db", db]) == 0
    profile = last_json(capsys)
    assert profile["attributes"] == {} and profile["identifiers"] == []
    assert main(["search", "ann", "--db", db]) == 1
    assert main(["forget", "nobody@x.org", "--yes", "--db", db]) == 1
    assert "no customer for 'nobody@x.org'" in capsys.readouterr().err


def test_forget_asks_at_a_terminal(db, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["forget", "bo@x.org", "--db", db]) == 1
    assert "nothing erased" in capsys.readouterr().err
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["forget", "bo@x.org", "--db", db]) == 0
    assert main(["show", "bo@x.org", "--db", db]) == 1
