"""Imports: every format, header mapping, rejections, transactions, re-import."""

import json
import threading

import pytest
from sqlalchemy import func, select

from distil_tui.core import schema
from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import ImportCancelled, ImportRefused, _Apply, import_file
from distil_tui.core.profiles import get_profile


def counts(store):
    tables = (schema.Customer, schema.SourceRecord, schema.Identifier, schema.Event,
              schema.Merge, schema.MergeCandidate, schema.ImportRun)
    with store.read() as conn:
        return {t.__tablename__: conn.execute(select(func.count()).select_from(t.__table__)).scalar()
                for t in tables}


def test_csv_headers_map_to_standard_and_custom_attributes(store, write):
    path = write("crm.csv", "Forename,Surname,E-mail Address,Mobile,City,Zip,DOB,Company,Loyalty Tier\n"
                            "Ann,Lee,ANN.LEE@Example.co.uk ,07911 123456,York,yo1 7hh,07/03/1985,Acme,gold\n")
    summary = import_file(store, path, source="crm")
    assert (summary.records_read, summary.records_imported, summary.customers_created) == (1, 1, 1)
    p = get_profile(store, "ann.lee@example.co.uk")
    assert dict(p.attributes) == {
        "first_name": "Ann", "last_name": "Lee", "email_address": "ANN.LEE@Example.co.uk",
        "mobile_phone_no": "+447911123456", "town": "York", "postcode": "YO1 7HH",
        "date_of_birth": "1985-03-07", "company_name": "Acme",
    }
    assert dict(p.custom_attributes) == {"Loyalty Tier": "gold"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(store, write, delimiter):
    rows = [["first_name", "last_name", "email"], ["Ann", "Lee", "ann@lee.org"], ["Bo", "Ek", "bo@ek.org"]]
    path = write("f.csv", "\n".join(delimiter.join(r) for r in rows) + "\n")
    summary = import_file(store, path, source="s")
    assert summary.records_imported == 2
    assert get_profile(store, "bo@ek.org").attribute("last_name") == "Ek"


def test_csv_with_byte_order_mark(store, write):
    path = write("bom.csv", "\ufeffemail,first_name\nann@lee.org,Ann\n".encode("utf-8"))
    import_file(store, path, source="s")
    assert get_profile(store, "ann@lee.org").attribute("first_name") == "Ann"


def test_undecodable_file_is_refused_with_file_and_line(store, write):
    path = write("latin1.csv", "email,first_name\nann@lee.org,Zo\xeb\n".encode("latin-1"))
    with pytest.raises(ImportRefused, match=r"latin1.csv:2: not UTF-8"):
        import_file(store, path, source="s")
    assert counts(store)["customer"] == 0


@pytest.mark.parametrize(
    "text, message",
    [("", "the file is empty"), ("email,first_name\n", "no records after the header")],
)
def test_empty_and_header_only_files_are_refused(store, write, text, message):
    with pytest.raises(ImportRefused, match=message):
        import_file(store, write("e.csv", text), source="s")


def test_missing_file_and_folder_are_refused(store, tmp_path):
    with pytest.raises(ImportRefused, match="no such file"):
        import_file(store, tmp_path / "nope.csv", source="s")
    with pytest.raises(ImportRefused, match="is a folder"):
        import_file(store, tmp_path, source="s")


def test_rows_with_wrong_column_count_are_rejected_and_the_rest_imported(store, write):
    path = write("r.csv", "id,email,first_name\n1,a@x.org,Ann\n2,b@x.org\n3,c@x.org,Cy,extra\n4,d@x.org,Di\n")
    summary = import_file(store, path, source="s", id_column="id")
    assert summary.records_imported == 2
    assert [(r.line, r.reason) for r in summary.rejections] == [
        (3, "expected 3 columns, found 2"), (4, "expected 3 columns, found 4")
    ]
    assert all(r.file == str(path) for r in summary.rejections)
    assert set(record_grouping(store)) == {("s", "1"), ("s", "4")}


def test_rejected_line_numbers_count_physical_lines(store, write):
    path = write("q.csv", 'id,note\n1,"two\nlines"\n2\n')
    summary = import_file(store, path, source="s", id_column="id")
    assert [(r.line, r.reason) for r in summary.rejections] == [(4, "expected 2 columns, found 1")]


def test_id_column_is_the_key_and_the_customer_id(store, write):
    path = write("shop.csv", "customer_id,email\nS1,a@x.org\n,b@x.org\n")
    summary = import_file(store, path, source="shop", id_column="customer_id")
    assert [(r.line, r.reason) for r in summary.rejections] == [(3, "empty key in column 'customer_id'")]
    p = get_profile(store, "shop:S1")
    assert ("customer_id", "shop:S1", "shop", "S1") in {(i.kind, i.value, i.source, i.source_key) for i in p.identifiers}


def test_unknown_id_column_is_refused(store, write):
    with pytest.raises(ImportRefused, match="no column 'cid'"):
        import_file(store, write("s.csv", "id,email\n1,a@x.org\n"), source="s", id_column="cid")


def test_without_id_column_the_key_is_the_line_number(store, write):
    import_file(store, write("n.csv", "email\na@x.org\nb@x.org\n"), source="news")
    assert set(record_grouping(store)) == {("news", "2"), ("news", "3")}


def test_jsonl_customers_with_rejections(store, write):
    path = write("c.jsonl",
                 '{"id": "1", "email": "a@x.org", "first_name": "Ann", "prefs": {"sms": true}}\n'
                 "{not json\n"
                 "[1, 2]\n"
                 '{"email": "b@x.org"}\n'
                 + "[" * 100000 + "\n")
    summary = import_file(store, path, source="app", id_column="id")
    reasons = {r.line: r.reason for r in summary.rejections}
    assert reasons[2].startswith("malformed JSON")
    assert reasons[3] == "expected a JSON object, found list"
    assert reasons[4] == "no 'id' field"
    assert 5 in reasons
    p = get_profile(store, "a@x.org")
    assert dict(p.custom_attributes) == {"prefs": '{"sms": true}'}


EVENTS = "\n".join(json.dumps(e) for e in [
    {"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view",
     "properties": {"path": "/shoes"}},
    {"AnonymousUserID": "v1", "EventTimestampUTC": "2026-03-01T10:02:00Z", "event": "page_view"},
    {"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:05:00+01:00", "event": "sign_in",
     "customer": {"customer_id": "S1", "email_address": "Ann@X.org", "first_name": "Ann"}},
    {"anonymous_user_id": "v2", "timestamp": "2026-03-02T10:00:00Z", "event": "page_view"},
    {"AnonymousUserID": "v3", "EventTimestampUTC": "2026-03-02T11:00:00Z", "EventType": "order_completed",
     "CustomerId": "S2", "EmailAddress": "bo@x.org", "FirstName": "Bo", "LastName": "Ek"},
    {"timestamp": "2026-03-02T10:00:00Z", "event": "page_view"},
    {"anonymous_user_id": "v4", "timestamp": "last tuesday"},
]) + "\n"


def test_events_identify_links_earlier_anonymous_events(store, write):
    summary = import_file(store, write("ev.jsonl", EVENTS), source="web", customer_id_source="shop")
    assert summary.format == "events"
    assert summary.events_imported == 5
    assert [(r.line, r.reason) for r in summary.rejections] == [
        (6, "missing anonymous_user_id"), (7, "timestamp is not ISO 8601")
    ]
    ann = get_profile(store, "ann@x.org")
    # Newest first; the sign-in at 10:05+01:00 is 09:05 UTC, the earliest.
    assert [e.event_type for e in ann.recent_events] == ["page_view", "page_view", "sign_in"]
    assert ann.first_seen == "2026-03-01T09:05:00Z"
    assert ("customer_id", "shop:S1") in {(i.kind, i.value) for i in ann.identifiers}
    bo = get_profile(store, "shop:S2")  # Distil's own field names
    assert (bo.attribute("first_name"), bo.attribute("last_name")) == ("Bo", "Ek")
    anonymous = get_profile(store, "v2")
    assert anonymous.attributes == () and anonymous.event_count == 1


def test_events_join_the_shop_customer_they_identify(store, write):
    import_file(store, write("shop.csv", "customer_id,email,first_name\nS1,ann@x.org,Ann\n"),
                source="shop", id_column="customer_id")
    summary = import_file(store, write("ev.jsonl", EVENTS), source="web", customer_id_source="shop")
    ann = get_profile(store, "shop:S1")
    assert {s.source for s in ann.sources} == {"shop", "web"}
    assert ann.event_count == 3
    assert summary.customers_created == 2  # v2 and Bo (v3); v1 joined Ann


def test_reimporting_the_same_file_changes_nothing(store, write):
    shop = write("shop.csv", "customer_id,email,first_name\nS1,ann@x.org,Ann\nS2,bo@x.org,Bo\n")
    events = write("ev.jsonl", EVENTS)
    import_file(store, shop, source="shop", id_column="customer_id")
    import_file(store, events, source="web", customer_id_source="shop")
    before, grouping = counts(store), record_grouping(store)
    profile = get_profile(store, "ann@x.org")
    again = import_file(store, shop, source="shop", id_column="customer_id")
    events_again = import_file(store, events, source="web", customer_id_source="shop")
    after = counts(store)
    assert again.customers_created == 0 and again.merges_made == 0
    assert events_again.events_imported == 0
    assert {k: v for k, v in after.items() if k != "import_run"} == \
        {k: v for k, v in before.items() if k != "import_run"}
    assert record_grouping(store) == grouping
    assert get_profile(store, "ann@x.org") == profile


def test_an_event_given_twice_is_imported_once_and_a_changed_one_is_new(store, write):
    view = {"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view",
            "properties": {"path": "/shoes", "n": 1}}
    # The same event with its keys in another order and other spacing is the same event.
    same = '{"properties": {"n": 1, "path": "/shoes"}, "event": "page_view", ' \
           '"timestamp": "2026-03-01T10:00:00Z", "anonymous_user_id": "v1"}'
    first = import_file(store, write("a.jsonl", f"{json.dumps(view)}\n{same}\n"), source="web")
    assert first.events_imported == 1
    changed = {**view, "properties": {"path": "/boots", "n": 1}}
    later = {**view, "timestamp": "2026-03-01T10:00:01Z"}
    second = import_file(store, write("b.jsonl", "\n".join(map(json.dumps, [view, changed, later])) + "\n"),
                         source="web")
    assert second.events_imported == 2
    # Another source's copy of an event is that source's event.
    assert import_file(store, write("c.jsonl", json.dumps(view) + "\n"), source="app").events_imported == 1
    assert counts(store)["event"] == 4


def test_a_changed_row_updates_its_record_in_place(store, write):
    import_file(store, write("a.csv", "id,email,town\n1,ann@x.org,York\n"), source="s", id_column="id")
    import_file(store, write("b.csv", "id,email,town\n1,ann@x.org,Leeds\n"), source="s", id_column="id")
    p = get_profile(store, "ann@x.org")
    assert len(p.sources) == 1 and p.attribute("town") == "Leeds"


def test_a_failed_import_leaves_the_store_as_it_was(store, write, monkeypatch):
    import_file(store, write("a.csv", "id,email\n1,ann@x.org\n"), source="s", id_column="id")
    before = counts(store)

    def explode(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_Apply, "_write_candidates", explode)
    with pytest.raises(RuntimeError):
        import_file(store, write("b.csv", "id,email\n2,bo@x.org\n3,ann@x.org\n"), source="s", id_column="id")
    assert counts(store) == before
    assert get_profile(store, "bo@x.org") is None


def test_a_cancelled_import_leaves_the_store_as_it_was(store, write):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.stage)
        if p.stage == "writing":
            cancel.set()

    rows = "".join(f"{i},p{i}@x.org\n" for i in range(2000))
    with pytest.raises(ImportCancelled):
        import_file(store, write("big.csv", "id,email\n" + rows), source="s", id_column="id",
                    progress=progress, cancel=cancel)
    assert "reading" in seen and "writing" in seen
    assert counts(store)["customer"] == 0 and counts(store)["import_run"] == 0


def test_import_run_is_recorded(store, write):
    summary = import_file(store, write("a.csv", "id,email\n1,ann@x.org\n2\n"), source="s", id_column="id")
    with store.read() as conn:
        run = conn.execute(select(schema.ImportRun.__table__)).mappings().one()
    assert run["id"] == summary.import_run_id
    assert (run["records_read"], run["records_imported"], run["records_rejected"]) == (2, 1, 1)
    assert json.loads(run["rejections"])[0]["line"] == 3


V5_EVENT_TABLE = """CREATE TABLE event (
    id INTEGER NOT NULL, source VARCHAR NOT NULL, event_key VARCHAR NOT NULL,
    record_id INTEGER NOT NULL, import_run_id INTEGER NOT NULL, anonymous_user_id VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL, occurred_at VARCHAR NOT NULL, properties VARCHAR NOT NULL,
    line INTEGER NOT NULL, PRIMARY KEY (id), UNIQUE (source, event_key),
    FOREIGN KEY(record_id) REFERENCES source_record (id),
    FOREIGN KEY(import_run_id) REFERENCES import_run (id))"""


def test_a_version_5_store_gets_the_one_event_index_and_keeps_its_events(tmp_path, write):
    from distil_tui.core.schema import SCHEMA_VERSION, T_EVENT
    from distil_tui.core.store import Store
    from tests.stores import ON_POSTGRES, store_url

    path, events = tmp_path / "v5.db", write("ev.jsonl", EVENTS)
    store = Store(store_url(path))
    import_file(store, events, source="web", customer_id_source="shop")
    with store.read() as conn:
        before = sorted(conn.execute(select(T_EVENT)).all())
    with store.write() as conn:  # the event table as schema 5 made it
        if ON_POSTGRES:
            conn.exec_driver_sql("ALTER TABLE event DROP CONSTRAINT uq_event_record_time_key")
            conn.exec_driver_sql("ALTER TABLE event ADD UNIQUE (source, event_key)")
        else:
            conn.exec_driver_sql("ALTER TABLE event RENAME TO event_new")
            conn.exec_driver_sql(V5_EVENT_TABLE)
            conn.exec_driver_sql("INSERT INTO event SELECT * FROM event_new")
            conn.exec_driver_sql("DROP TABLE event_new")
        conn.exec_driver_sql("CREATE INDEX ix_event_record_time ON event (record_id, occurred_at)")
        conn.exec_driver_sql("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    store.close()

    store = Store(store_url(path))
    with store.read() as conn:
        assert store.meta_get(conn, "schema_version") == str(SCHEMA_VERSION)
        assert sorted(conn.execute(select(T_EVENT)).all()) == before
        from sqlalchemy import inspect

        inspector = inspect(conn)
        assert [u["column_names"] for u in inspector.get_unique_constraints("event")] == \
            [["record_id", "occurred_at", "event_key"]]
        assert "ix_event_record_time" not in {i["name"] for i in inspector.get_indexes("event")}
    assert import_file(store, events, source="web", customer_id_source="shop").events_imported == 0
    assert get_profile(store, "ann@x.org").event_count == 3
    store.close()
