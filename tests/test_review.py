"""Merge review (approve, reject), undo, and probabilistic matching."""

import json

import pytest
from sqlalchemy import func, select

from distil_tui.cli import main
from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import import_file
from distil_tui.core.merges import (
    MergeError,
    approve,
    list_candidates,
    list_merges,
    pending_queue,
    reject,
    undo,
)
from distil_tui.core.profiles import get_profile
from distil_tui.core.schema import SCHEMA_VERSION, T_CUSTOMER, T_RECORD, T_RETIRED
from distil_tui.core.store import Store
from tests.stores import sqlite_only, store_url

HOUSEHOLD = "id,email,first_name\nS1,smiths@x.org,John\nS2,smiths@x.org,Jane\n"


def together(store, *keys) -> bool:
    grouping = record_grouping(store)
    return len({grouping[k] for k in keys}) == 1


def imp(store, write, name, text, source, **kw):
    return import_file(store, write(name, text), source=source, **kw)


def invariants(store):
    """Every record in exactly one existing customer; Tracking IDs unique
    across current and retired; every retired ID resolves to a customer."""
    with store.read() as conn:
        orphans = conn.execute(select(func.count()).select_from(T_RECORD).where(
            T_RECORD.c.customer_id.not_in(select(T_CUSTOMER.c.id)))).scalar()
        current = {r[0] for r in conn.execute(select(T_CUSTOMER.c.tracking_id))}
        retired = dict(conn.execute(select(T_RETIRED.c.tracking_id, T_RETIRED.c.customer_id)).all())
        ids = {r[0] for r in conn.execute(select(T_CUSTOMER.c.id))}
    assert orphans == 0
    assert not current & set(retired)
    assert set(retired.values()) <= ids


def test_approve_merges_as_the_reviewer(store, write):
    imp(store, write, "a.csv", HOUSEHOLD, "shop", id_column="id")
    (cand,) = list_candidates(store)
    merge_id = approve(store, cand.candidate_id)
    assert together(store, ("shop", "S1"), ("shop", "S2"))
    (merge,) = list_merges(store)
    assert merge.merge_id == merge_id and merge.decided_by == "reviewer"
    assert merge.rule == "reviewer (both_identified)"
    assert list_candidates(store) == []
    assert list_candidates(store, pending_only=False)[0].status == "approved"
    with pytest.raises(MergeError, match="already approved"):
        approve(store, cand.candidate_id)
    invariants(store)


def test_reject_is_a_never_merge_that_later_imports_respect(store, write):
    imp(store, write, "a.csv", "id,email,first_name\nS1,ann@x.org,Ann\n", "shop", id_column="id")
    imp(store, write, "b.csv", "id,phone,first_name\nC1,07911123456,Bo\n", "crm", id_column="id")
    imp(store, write, "c.csv", "email,phone,first_name\nann@x.org,07911123456,\n", "news")
    (cand,) = list_candidates(store)
    reject(store, cand.candidate_id)
    assert list_candidates(store) == []
    # The same evidence again, and even a bridge that would otherwise merge.
    s = imp(store, write, "d.csv", "email,phone\nann@x.org,07911123456\n", "news2")
    assert not together(store, ("shop", "S1"), ("crm", "C1"))
    assert s.merges_made == 0
    assert [c.reason for c in list_candidates(store)] == ["never_merge"]
    invariants(store)


def test_undo_separates_restores_the_tracking_id_and_moves_events(store, write):
    imp(store, write, "shop.csv", "id,email,first_name\nS1,ann@x.org,Ann\n", "shop", id_column="id")
    imp(store, write, "e1.jsonl",
        '{"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view"}\n', "web")
    visitor = get_profile(store, "v1").tracking_id
    before = record_grouping(store)
    imp(store, write, "e2.jsonl",
        '{"anonymous_user_id": "v1", "timestamp": "2026-03-02T10:00:00Z", "event": "sign_in",'
        ' "customer": {"customer_id": "S1"}}\n', "web", customer_id_source="shop")
    (merge,) = list_merges(store)
    assert get_profile(store, visitor).tracking_id != visitor

    undo_id = undo(store, merge.merge_id)
    after = record_grouping(store)
    assert after[("web", "v1")] == visitor == before[("web", "v1")]
    assert after[("shop", "S1")] == before[("shop", "S1")]
    restored = get_profile(store, visitor)
    assert restored.resolved_from is None and restored.tracking_id == visitor
    # Events belong to the browser's visitor record, and go back with it;
    # the sign-in's identify record shares as much with each side and
    # stays with the survivor.
    assert [e.event_type for e in restored.recent_events] == ["sign_in", "page_view"]
    assert after[("web", "identify:v1:S1")] == after[("shop", "S1")]
    history = list_merges(store)
    assert [m.action for m in history] == ["undo", "merge"]
    assert history[0].merge_id == undo_id and history[1].undone
    with pytest.raises(MergeError, match="already undone"):
        undo(store, merge.merge_id)
    invariants(store)
    # The undo is a never-merge: the same sign-in again does not re-merge.
    imp(store, write, "e3.jsonl",
        '{"anonymous_user_id": "v1", "timestamp": "2026-03-03T10:00:00Z", "event": "sign_in",'
        ' "customer": {"customer_id": "S1"}}\n', "web", customer_id_source="shop")
    assert record_grouping(store)[("web", "v1")] == visitor


def test_undo_restores_ids_the_retired_customer_had_retired(store, write):
    imp(store, write, "a.csv", "id,email,first_name\nA,ann@x.org,Ann\n", "s1", id_column="id")
    imp(store, write, "b.csv", "id,phone,first_name\nB,07911123456,Ann\n", "s2", id_column="id")
    imp(store, write, "c.csv", "id,email,first_name\nC,ann@y.org,Ann\n", "s3", id_column="id")
    b_id = get_profile(store, "s2:B").tracking_id
    c_id = get_profile(store, "s3:C").tracking_id
    imp(store, write, "d.csv", "id,phone,email\nD,07911123456,ann@y.org\n", "s4", id_column="id")  # C into B
    imp(store, write, "e.csv", "id,phone,email\nE,07911123456,ann@x.org\n", "s5", id_column="id")  # B into A
    merges = {m.retired_tracking_id: m for m in list_merges(store)}
    undo(store, merges[b_id].merge_id)
    assert get_profile(store, c_id).tracking_id == b_id  # C resolves to B again
    assert not together(store, ("s1", "A"), ("s2", "B"))
    assert together(store, ("s2", "B"), ("s3", "C"))
    invariants(store)


def test_merge_then_undo_restores_the_grouping(store, write):
    imp(store, write, "a.csv", "id,email,first_name\n" + "".join(
        f"S{i},p{i}@x.org,Name{i}\n" for i in range(6)), "shop", id_column="id")
    imp(store, write, "b.csv", "id,phone,first_name\n" + "".join(
        f"C{i},0791112345{i},Name{i}\n" for i in range(6)), "crm", id_column="id")
    grouping = record_grouping(store)
    imp(store, write, "c.csv", "email,phone\n" + "".join(
        f"p{i}@x.org,0791112345{i}\n" for i in range(0, 6, 2)), "news")
    for m in list_merges(store):
        undo(store, m.merge_id)
    after = record_grouping(store)
    assert {k: v for k, v in after.items() if k[0] != "news"} == grouping
    invariants(store)


def test_cli_approve_reject_undo(tmp_path, write, capsys):
    db = store_url(tmp_path / "r.db")
    main(["import", str(write("s.csv", HOUSEHOLD)), "--source", "shop", "--id-column", "id", "--db", db])
    main(["import", str(write("t.csv", "id,email,first_name\nT1,jones@x.org,Al\nT2,jones@x.org,Bea\n")),
          "--source", "shop2", "--id-column", "id", "--db", db])
    capsys.readouterr()
    main(["merges", "--pending", "--json", "--db", db])
    pending = json.loads(capsys.readouterr().out)
    first, second = (c["candidate_id"] for c in pending)
    assert main(["approve", str(first), "--db", db]) == 0
    assert main(["reject", str(second), "--db", db]) == 0
    assert main(["reject", str(second), "--db", db]) == 2
    assert "already rejected" in capsys.readouterr().err
    main(["merges", "--json", "--db", db])
    (merge,) = json.loads(capsys.readouterr().out)
    assert main(["undo", str(merge["merge_id"]), "--db", db]) == 0
    assert main(["undo", "999", "--db", db]) == 2


# -- probabilistic -------------------------------------------------------

CRM = ("Forename;Surname;DOB;Address;Post Code;contact_id\n"
       "Siobhan;O'Connell;14/02/1988;12 Harbour Road;BS1 4DJ;C1\n"
       "Jon;Featherstonehaugh;03/07/1975;7 Mill Lane;LS6 2AB;C2\n"
       "Mary;Smith;01/01/1990;3 High Street;YO1 7HH;C3\n")
SHOP = ("customer_id,first_name,last_name,date_of_birth,address,postcode\n"
        "S1,Siobahn,O'Connell,1988-02-14,12 Harbour Rd,BS1 4DJ\n"
        "S2,Jonathan,Featherstonehaugh,1975-07-03,7 Mill Lane,LS6 2AB\n"
        "S3,Mary,Smith,1962-05-20,40 Church Street,EX4 3PQ\n")


def test_records_with_no_shared_identifier_link_by_probability(store, write):
    imp(store, write, "crm.csv", CRM, "crm", id_column="contact_id")
    imp(store, write, "shop.csv", SHOP, "shop", id_column="customer_id")
    assert together(store, ("crm", "C1"), ("shop", "S1"))  # a typo in the first name
    assert together(store, ("crm", "C2"), ("shop", "S2"))  # a nickname
    assert not together(store, ("crm", "C3"), ("shop", "S3"))  # namesakes: nothing else agrees
    profile = get_profile(store, "crm:C1")
    assert len(profile.sources) == 2


def test_probabilistic_merge_is_explained_field_by_field(store, write, capsys):
    imp(store, write, "crm.csv", CRM, "crm", id_column="contact_id")
    imp(store, write, "shop.csv", SHOP.replace("S2,", "X2,"), "shop", id_column="customer_id")
    imp(store, write, "news.csv", "email,first_name,last_name,date_of_birth,postcode,address\n"
        "jf@x.org,Jon,Featherstonehaugh,03/07/1975,LS6 2AB,7 Mill Lane\n", "news")
    profile = get_profile(store, "jf@x.org")
    assert {s.source for s in profile.sources} == {"crm", "shop", "news"}
    probabilistic = [m for m in profile.merges if m.probability is not None]
    for m in probabilistic:
        detail = json.loads(dict(m.evidence)["last_name"])
        assert detail["level"] == "exact" and detail["weight"] > 0
        assert "probability" in m.why


def test_decided_probabilistic_candidates_are_labels_for_training(store, write):
    from distil_tui.core.importer import _Apply
    from distil_tui.core.resolve.comparison import comparisons
    from distil_tui.core.resolve.settings import ResolutionSettings
    from distil_tui.core.schema import T_CANDIDATE

    imp(store, write, "a.csv", "id,first_name\n1,Ann\n2,Anne\n", "s", id_column="id")
    evidence = {"first_name": {"values": ["ann", "anne"], "level": "close", "weight": 3.0},
                "date_of_birth": {"values": ["19800101", "19800101"], "level": "exact", "weight": 11.0}}
    with store.write() as conn:
        for status in ("approved", "rejected"):
            conn.execute(T_CANDIDATE.insert().values(
                created_at="2026-01-01T00:00:00Z", record_a_id=1, record_b_id=2, probability=0.9,
                reason="probability_band", evidence=json.dumps(evidence), status=status))
        applier = _Apply(store, conn, "s", write("x.csv", "id\n"), "csv", ResolutionSettings(), "GB",
                         lambda _p: None, lambda: None)
        (approved,) = applier._decided_levels(comparisons(()), "approved")
        (rejected,) = applier._decided_levels(comparisons(()), "rejected")
    assert approved == rejected
    assert approved[0] == 1 and approved[2] == 0  # first name close, date of birth exact
    assert approved[1] is None  # no evidence on last name


def test_rejections_teach_the_model_that_look_alikes_differ(tmp_path, write):
    """Two stores, the same files; in one the reviewer rejects the first
    file's likely matches.  The next file's look-alike pair then scores
    lower there: what the rejected pairs agreed on weighs less."""
    # Same surname, postcode and address, close first names, different
    # dates of birth: father and son, say.
    first = ("id,first_name,last_name,postcode,address,dob\n"
             + "".join(f"A{i},Jon,Smith{i},LS{i} 1AB,{i} Mill Lane,19{50 + i}-01-01\n"
                       f"B{i},John,Smith{i},LS{i} 1AB,{i} Mill Lane,19{60 + i}-02-02\n" for i in range(8)))
    later = ("id,first_name,last_name,postcode,address,dob\n"
             "C1,Jon,Walker,YO1 7HH,9 High Street,1940-03-03\nC2,John,Walker,YO1 7HH,9 High Street,1970-04-04\n")
    probabilities = {}
    for name, decide in (("kept", False), ("rejected", True)):
        store = Store(store_url(f"{tmp_path / name}.db"))
        imp(store, write, "first.csv", first, "shop", id_column="id")
        pending = list_candidates(store)
        assert pending and all(c.probability is not None for c in pending)
        if decide:
            for cand in pending:
                reject(store, cand.candidate_id)
        imp(store, write, "later.csv", later, "crm", id_column="id")
        walkers = [c for c in list_candidates(store) if c.a.last_name == c.b.last_name == "Walker"]
        probabilities[name] = walkers[0].probability if walkers else 0.0
        store.close()
    assert probabilities["kept"] > 0
    assert probabilities["rejected"] < probabilities["kept"]


def test_an_undone_approval_is_no_longer_a_label(store, write):
    imp(store, write, "a.csv", HOUSEHOLD, "shop", id_column="id")
    (cand,) = list_candidates(store)
    merge_id = approve(store, cand.candidate_id)
    undo(store, merge_id)
    (decided,) = list_candidates(store, pending_only=False)
    assert decided.status == "undone"
    assert not together(store, ("shop", "S1"), ("shop", "S2"))


def test_each_record_says_why_it_joined_its_customer(store, write, tmp_path):
    imp(store, write, "crm.csv", CRM, "crm", id_column="contact_id")
    imp(store, write, "shop.csv", SHOP, "shop", id_column="customer_id")
    imp(store, write, "news.csv", "email,first_name\nbo@x.org,Mary\n", "news")
    imp(store, write, "more.csv", "id,email,first_name,last_name\nM1,bo@x.org,Mary,Smith\n", "more",
        id_column="id")
    sources = {(s.source, s.source_key): s.joined_by for s in get_profile(store, "crm:C1").sources}
    assert sources[("crm", "C1")] is None  # it founded the customer
    assert sources[("shop", "S1")].startswith("probability ")
    assert "date_of_birth exact" in sources[("shop", "S1")]
    mary = {(s.source, s.source_key): s.joined_by for s in get_profile(store, "bo@x.org").sources}
    assert mary == {("news", "2"): None, ("more", "M1"): "shared email_address bo@x.org"}


@sqlite_only
def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    import sqlite3

    from distil_tui.core.schema import SCHEMA_VERSION
    from distil_tui.core.store import Store

    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)  # make it look like a version 1 store
    con.execute("ALTER TABLE source_record DROP COLUMN link")
    con.execute("ALTER TABLE source_record DROP COLUMN match_fields")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = Store(f"sqlite:///{path}")
    with store.read() as conn:
        assert store.meta_get(conn, "schema_version") == str(SCHEMA_VERSION)
        assert "link" in {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(source_record)")}


@sqlite_only
def test_a_version_2_store_loses_the_indexes_nothing_reads(tmp_path):
    import sqlite3

    from distil_tui.core.store import Store

    path = tmp_path / "v2.db"
    Store(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)  # make it look like a version 2 store
    for ddl in ("ALTER TABLE source_record DROP COLUMN match_fields",
                "CREATE INDEX ix_customer_first_name_key ON customer (first_name_key)",
                "CREATE INDEX ix_identifier_record_id ON identifier (record_id)",
                "UPDATE meta SET value = '2' WHERE key = 'schema_version'"):
        con.execute(ddl)
    con.commit()
    con.close()
    store = Store(f"sqlite:///{path}")
    with store.read() as conn:
        indexes = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert store.meta_get(conn, "schema_version") == str(SCHEMA_VERSION)
        tables = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"segment", "forget", "forgotten_identifier"} <= tables
    assert "ix_customer_first_name_key" not in indexes and "ix_identifier_record_id" not in indexes
    assert "ix_customer_email_key" in indexes


def test_pending_candidates_are_rescored_with_a_newly_trained_model(store, write):
    from distil_tui.core.importer import _Apply
    from distil_tui.core.resolve.comparison import comparisons
    from distil_tui.core.resolve.model import FSModel
    from distil_tui.core.resolve.settings import ResolutionSettings
    from distil_tui.core.schema import T_CANDIDATE

    imp(store, write, "a.csv", "id,first_name\n1,Ann\n2,Ann\n", "s", id_column="id")
    evidence = {"first_name": {"values": ["ann", "ann"], "level": "exact", "weight": 1.0},
                "date_of_birth": {"values": ["19800101", "19800101"], "level": "exact", "weight": 1.0}}
    model = FSModel.untrained(comparisons(()))
    with store.write() as conn:
        conn.execute(T_CANDIDATE.insert().values(
            created_at="2026-01-01T00:00:00Z", record_a_id=1, record_b_id=2, probability=0.5,
            reason="probability_band", evidence=json.dumps(evidence), status="pending"))
        applier = _Apply(store, conn, "s", write("x.csv", "id\n"), "csv", ResolutionSettings(), "GB",
                         lambda _p: None, lambda: None)
        applier._rescore_pending(model)
    (cand,) = list_candidates(store)
    levels = (0, None, 0) + (None,) * 5
    values = ("ann", None, "19800101") + (None,) * 5
    assert cand.probability == pytest.approx(model.probability(model.fast_weight(levels, values)))
    detail = json.loads(dict(cand.evidence)["date_of_birth"])
    assert detail["weight"] == pytest.approx(round(model.field_weights(levels, values)[2], 3))


def test_a_merge_is_not_undone_while_its_survivor_has_since_been_merged_into_another(store, write):
    imp(store, write, "s.csv", "id,first_name,last_name,email\nS0,Ann,Lee,ann@x.org\n", "shop", id_column="id")
    imp(store, write, "c.csv", "id,first_name,last_name,phone\nC1,Ann,Lee,07911123456\n", "crm", id_column="id")
    imp(store, write, "n.csv", "first_name,last_name,email\nAnn,Lee,ann.lee@y.org\n", "news")
    # The CRM contact and the newsletter row: one merge...
    imp(store, write, "m1.csv", "first_name,last_name,phone,email\nAnn,Lee,07911 123456,ann.lee@y.org\n", "m1")
    # ...then that customer and the shop's: the first one's survivor is retired.
    imp(store, write, "m2.csv", "first_name,last_name,phone,email\nAnn,Lee,07911 123456,ann@x.org\n", "m2")
    first, second = sorted((m for m in list_merges(store) if m.action == "merge"), key=lambda m: m.merge_id)
    assert second.retired_tracking_id == first.surviving_tracking_id
    with pytest.raises(MergeError, match=f"undo #{second.merge_id} first"):
        undo(store, first.merge_id)
    undo(store, second.merge_id)
    undo(store, first.merge_id)
    assert not together(store, ("crm", "C1"), ("news", "2"))
    assert not together(store, ("crm", "C1"), ("shop", "S0"))


def test_the_review_queue_is_the_pending_candidates_most_likely_first(tmp_path):
    """pending_queue (what the review screen moves through) holds exactly
    the candidates list_candidates shows, in its order: most likely first,
    then those held by a protection; none whose customers came together."""
    from distil_tui.core import demo

    store = Store(store_url(tmp_path / "demo.db"))
    for item in demo.generate(tmp_path / "demo", customers=400, seed=20).imports:
        import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                    customer_id_source=item.customer_id_source)
    shown = list_candidates(store)
    probabilities = [c.probability for c in shown if c.probability is not None]
    assert len(probabilities) > 1 and len(shown) > len(probabilities)  # both kinds
    assert probabilities == sorted(probabilities, reverse=True)
    assert pending_queue(store) == [c.candidate_id for c in shown]
    approve(store, shown[0].candidate_id)
    reject(store, shown[1].candidate_id)
    after = pending_queue(store)
    assert after == [c.candidate_id for c in list_candidates(store)]
    assert shown[0].candidate_id not in after and shown[1].candidate_id not in after
    kept = set(after)
    assert after == [c.candidate_id for c in shown[2:] if c.candidate_id in kept]  # the order holds
