"""Destinations: a segment's customers with chosen attributes, read back
from the files; the Tracking ID change feed after merges, splits and undos."""

from __future__ import annotations

import csv
import json
import threading

import pytest

from distil_tui.core import attributes, exports, segments
from distil_tui.core.exports import export_customers, export_tracking_id_changes
from distil_tui.core.importer import import_file
from distil_tui.core.merges import list_merges, undo
from distil_tui.core.profiles import get_profile
from distil_tui.core.segments import Condition, Segment
from distil_tui.core.store import Store
from tests.conftest import seed_review_store
from tests.stores import store_url

SHOP = (
    "customer_id,first_name,last_name,email,town,loyalty_tier,points\n"
    "S1,Ann,\"Lee, \"\"the\"\" first\",ann@x.org,Leeds,gold,120\n"
    "S2,Bo,Ek,bo@x.org,leeds,silver,80\n"
    "S3,Zoë,[bold]x[/],zoe@x.org,York,gold,\n"
    "S4,Di,Ball,di@x.org,Hull,,5\n"
)
LEEDS = Segment("leeds", (Condition("town", "equals", "leeds"),))


@pytest.fixture
def shop(store, write):
    import_file(store, write("shop.csv", SHOP), source="shop", id_column="customer_id")
    return store


def read(path, fmt):
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def tid(store, key):
    return get_profile(store, key).tracking_id


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_segment_with_chosen_columns_reads_back(shop, tmp_path, fmt):
    out = tmp_path / f"leeds.{fmt}"
    n = export_customers(shop, out, segment=LEEDS, columns=["last_name", "custom.points", "tracking_id"])
    rows = read(out, fmt)
    assert n == len(rows) == 2
    assert rows == [
        {"last_name": 'Lee, "the" first', "custom.points": "120", "core_data.tracking_id": tid(shop, "ann@x.org")},
        {"last_name": "Ek", "custom.points": "80", "core_data.tracking_id": tid(shop, "bo@x.org")},
    ]
    if fmt == "csv":  # the heading row is the columns in the order chosen
        assert out.read_text(encoding="utf-8").splitlines()[0] == "last_name,custom.points,core_data.tracking_id"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_tracking_id_comes_first_when_not_chosen(shop, tmp_path, fmt):
    out = tmp_path / f"x.{fmt}"
    export_customers(shop, out, columns=["first_name", "custom.loyalty_tier", "first_name"])
    rows = read(out, fmt)
    assert [list(r) for r in rows] == [["core_data.tracking_id", "first_name", "custom.loyalty_tier"]] * 4
    empty = "" if fmt == "csv" else None  # no value: an empty cell, or null
    assert [(r["first_name"], r["custom.loyalty_tier"]) for r in rows] == [
        ("Ann", "gold"), ("Bo", "silver"), ("Zoë", "gold"), ("Di", empty)]
    assert [r["core_data.tracking_id"] for r in rows] == [tid(shop, e) for e in ("ann@x.org", "bo@x.org",
                                                                                "zoe@x.org", "di@x.org")]


def test_default_columns_hold_every_attribute_and_custom_keys(shop, tmp_path):
    out = tmp_path / "all.jsonl"
    assert export_customers(shop, out) == 4
    rows = read(out, "jsonl")
    assert list(rows[0])[:2] == ["core_data.tracking_id", "first_name"]
    assert {"custom.loyalty_tier", "custom.points", "core_data.last_seen", "company_name"} <= set(rows[0])
    ann = rows[0]
    assert (ann["email_address"], ann["town"], ann["custom.points"]) == ("ann@x.org", "Leeds", "120")
    assert ann["core_data.first_seen"] == shop.now()


def test_numbers_stay_numbers_in_json_lines(shop, tmp_path):
    out = tmp_path / "n.jsonl"
    export_customers(shop, out, columns=["core_data.record_count"])
    assert {r["core_data.record_count"] for r in read(out, "jsonl")} == {1}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_empty_segment_writes_no_rows(shop, tmp_path, fmt):
    out = tmp_path / f"none.{fmt}"
    nobody = Segment("nobody", (Condition("town", "equals", "Paris"),))
    assert export_customers(shop, out, segment=nobody, columns=["first_name"]) == 0
    assert read(out, fmt) == []
    if fmt == "csv":
        assert out.read_bytes() == b"core_data.tracking_id,first_name\r\n"


def test_an_unknown_column_is_named(shop, tmp_path):
    with pytest.raises(attributes.UnknownAttribute, match="unknown attribute 'frist_name'; did you mean first_name"):
        export_customers(shop, tmp_path / "x.csv", columns=["frist_name"])
    assert not (tmp_path / "x.csv").exists()


def test_progress_reaches_the_total(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(exports, "_BATCH", 1)
    seen = []
    export_customers(shop, tmp_path / "p.csv", progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)
    assert {t for _d, t in seen} == {4}


def test_cancel_leaves_the_file_as_it_was(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(exports, "_BATCH", 1)
    out = tmp_path / "keep.csv"
    out.write_text("previous export\n")
    cancel = threading.Event()

    def progress(done, _total):
        if done == 2:
            cancel.set()

    with pytest.raises(exports.ExportCancelled):
        export_customers(shop, out, progress=progress, cancel=cancel)
    assert out.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []


def test_a_saved_segment_exports_as_it_counts(shop, tmp_path):
    saved = segments.save(shop, Segment("gold", (Condition("custom.loyalty_tier", "equals", "GOLD"),)))
    out = tmp_path / "gold.csv"
    assert export_customers(shop, out, segment=segments.get(shop, "gold"), columns=["email_address"]) \
        == segments.count(shop, saved) == 2
    assert [r["email_address"] for r in read(out, "csv")] == ["ann@x.org", "zoe@x.org"]


# -- the Tracking ID change feed --------------------------------------------------


VISIT = '{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view"}\n'
SIGN_IN = ('{"anonymous_user_id": "v1", "timestamp": "2026-03-02T10:00:00Z", "event": "sign_in", '
           '"customer": {"customer_id": "S1"}}\n')


@pytest.fixture
def clocked(tmp_path):
    """A store whose clock the test moves."""
    clock = ["2026-03-01T00:00:00Z"]
    store = Store(store_url(tmp_path / 'feed.db'), now=lambda: clock[0])
    yield store, clock
    store.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_feed_after_merge_and_undo(clocked, write, tmp_path, fmt):
    store, clock = clocked
    events = dict(source="web", fmt="events", customer_id_source="shop")
    import_file(store, write("shop.csv", SHOP), source="shop", id_column="customer_id")
    ann = tid(store, "ann@x.org")
    import_file(store, write("v.jsonl", VISIT), **events)
    visitor = tid(store, "v1")
    clock[0] = "2026-03-02T00:00:00Z"
    import_file(store, write("s.jsonl", SIGN_IN), **events)
    assert tid(store, visitor) == ann  # the visitor merged into Ann
    merge_id = list_merges(store)[0].merge_id
    clock[0] = "2026-03-03T00:00:00Z"
    undo_id = undo(store, merge_id)

    out = tmp_path / f"feed.{fmt}"
    assert export_tracking_id_changes(store, out) == 2
    rows = read(out, fmt)
    merge_row, undo_row = rows
    assert list(merge_row) == ["old_tracking_id", "new_tracking_id", "merge_id", "time", "reason", "action"]
    assert (merge_row["old_tracking_id"], merge_row["new_tracking_id"]) == (visitor, ann)
    assert (merge_row["time"], merge_row["reason"], merge_row["action"]) == \
        ("2026-03-02T00:00:00Z", "anonymous_user_id", "merge")
    # The undo gives the visitor its Tracking ID back: references follow it
    # from Ann's to the visitor's again.
    assert (undo_row["old_tracking_id"], undo_row["new_tracking_id"]) == (ann, visitor)
    assert undo_row["reason"] == f"undo of merge #{merge_id}: anonymous_user_id"
    assert (undo_row["time"], undo_row["action"]) == ("2026-03-03T00:00:00Z", "undo_merge")
    assert str(merge_row["merge_id"]) == str(merge_id) and str(undo_row["merge_id"]) == str(undo_id)
    assert tid(store, visitor) == visitor

    # --since: only the changes at or after it.
    assert export_tracking_id_changes(store, out, since="2026-03-03") == 1
    assert read(out, fmt)[0]["action"] == "undo_merge"
    assert export_tracking_id_changes(store, out, since="2026-03-02T00:00:01Z") == 1
    assert export_tracking_id_changes(store, out, since="2026-03-04") == 0
    with pytest.raises(ValueError, match="'yesterday' is not a date"):
        export_tracking_id_changes(store, out, since="yesterday")


def test_feed_covers_splits_and_matches_the_history(tmp_path):
    store = seed_review_store(tmp_path)
    history = list(reversed(list_merges(store)))
    assert {m.action for m in history} >= {"merge", "split"}
    feed = exports.tracking_id_changes(store)
    assert [(c["old_tracking_id"], c["new_tracking_id"], c["merge_id"], c["action"]) for c in feed] == \
        [(*m.moved, m.merge_id, m.action) for m in history]
    split = next(m for m in history if m.action == "split")
    undo_id = undo(store, split.merge_id)
    last = exports.tracking_id_changes(store)[-1]
    # Undoing a split moves the records back where they came from.
    assert (last["old_tracking_id"], last["new_tracking_id"]) == (split.moved[1], split.moved[0])
    assert (last["merge_id"], last["action"]) == (undo_id, "undo_split")
    assert last["reason"].startswith(f"undo of split #{split.merge_id}: ")
    store.close()
