"""resolve --full and the order of imports."""

import itertools
import json
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from distil_tui.cli import main
from distil_tui.core import demo
from distil_tui.core.exports import record_grouping
from distil_tui.core.full import resolve_full
from distil_tui.core.importer import import_file
from distil_tui.core.merges import MergeError, list_candidates, list_merges, reject, undo
from distil_tui.core.profiles import get_profile
from distil_tui.core.schema import T_CUSTOMER, T_RECORD, T_RUN
from distil_tui.core.store import Store
from tests.stores import store_url

SHOP = ("customer_id,first_name,last_name,email,phone,address,postcode,dob\n"
        "S1,Ann,Lee,ann@x.org,07911123456,1 High St,YO1 7HH,1980-01-02\n"
        "S2,John,Smith,smiths@x.org,,4 Mill Lane,LS6 2AB,1975-03-04\n"
        "S3,Jane,Smith,smiths@x.org,,4 Mill Lane,LS6 2AB,1977-05-06\n"
        "S4,Siobhan,O'Connell,sio@x.org,,12 Harbour Road,BS1 4DJ,1988-02-14\n")
CRM = ("contact_id;Forename;Surname;E-mail Address;Mobile;Post Code;DOB\n"
       "C1;Annie;Lee;annie@y.org;+44 7911 123456;YO1 7HH;02/01/1980\n"
       "C2;Siobahn;O'Connell;;;BS1 4DJ;14/02/1988\n"
       "C3;Bob;Jones;bob@z.org;;EX4 3PQ;01/01/1990\n")
NEWS = "email,first_name\nsmiths@x.org,\nbob@z.org,Robert\ntest@test.com,Cy\n"
EVENTS = [
    {"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:00:00Z", "event": "page_view"},
    {"anonymous_user_id": "v1", "timestamp": "2026-03-01T10:05:00Z", "event": "sign_in",
     "customer": {"customer_id": "S1"}},
    {"anonymous_user_id": "v2", "timestamp": "2026-03-02T09:00:00Z", "event": "page_view"},
    {"anonymous_user_id": "v3", "timestamp": "2026-03-03T09:00:00Z", "event": "order_completed",
     "customer": {"customer_id": "S4", "email_address": "sio@x.org"}},
]


@pytest.fixture
def files(write):
    return {
        "shop": (write("shop.csv", SHOP), dict(source="shop", id_column="customer_id")),
        "crm": (write("crm.csv", CRM), dict(source="crm", id_column="contact_id")),
        "news": (write("news.csv", NEWS), dict(source="news")),
        "web": (write("ev.jsonl", "\n".join(json.dumps(e) for e in EVENTS)),
                dict(source="web", customer_id_source="shop")),
    }


def partition(store):
    groups = defaultdict(set)
    for key, tid in record_grouping(store).items():
        groups[tid].add(key)
    return {frozenset(g) for g in groups.values()}


def load(tmp_path, files, order, name):
    store = Store(store_url(f"{tmp_path / name}.db"))
    for key in order:
        path, kw = files[key]
        import_file(store, path, **kw)
    return store


def test_full_re_resolution_gives_the_incremental_grouping(tmp_path, files):
    store = load(tmp_path, files, ["shop", "crm", "news", "web"], "inc")
    incremental, ids = partition(store), record_grouping(store)
    summary = resolve_full(store)
    assert partition(store) == incremental
    assert record_grouping(store) == ids  # and every Tracking ID stays put
    assert summary.merges_made == summary.customers_split_off == 0


def test_full_re_resolution_after_a_reverse_order(tmp_path, files):
    # The CRM first: Ann's contact is alone until the shop links it by phone.
    store = load(tmp_path, files, ["crm", "shop"], "reverse")
    before = record_grouping(store)
    assert before[("crm", "C1")] == before[("shop", "S1")]
    resolve_full(store)
    assert record_grouping(store) == before


ORDERS = list(itertools.permutations(["shop", "crm", "news"]))


@pytest.mark.parametrize("order", ORDERS)
def test_import_order_does_not_change_the_grouping(tmp_path, files, order):
    reference = partition(load(tmp_path, files, ["shop", "crm", "news", "web"], "ref"))
    assert partition(load(tmp_path, files, [*order, "web"], "perm")) == reference


def test_full_re_resolution_respects_rejections(tmp_path, files):
    store = load(tmp_path, files, ["shop", "crm", "news", "web"], "rej")
    rejected = list_candidates(store)
    assert rejected
    for cand in rejected:
        reject(store, cand.candidate_id)
    resolve_full(store)
    grouping = record_grouping(store)
    for cand in rejected:
        a = (cand.a.source, cand.a.source_key)
        b = (cand.b.source, cand.b.source_key)
        assert grouping[a] != grouping[b]
    # "The shared-mailbox row is not John's" leaves only Jane for it.
    assert grouping[("news", "2")] == grouping[("shop", "S3")]


def test_cli_resolve_full(tmp_path, files, capsys):
    db = store_url(tmp_path / "cli.db")
    for path, kw in files.values():
        args = ["import", str(path), "--source", kw["source"], "--db", db]
        if kw.get("id_column"):
            args += ["--id-column", kw["id_column"]]
        if kw.get("customer_id_source"):
            args += ["--customer-id-source", kw["customer_id_source"]]
        assert main(args) in (0, 1)
    capsys.readouterr()
    assert main(["resolve", "--full", "--db", db]) == 0
    assert "records re-resolved" in capsys.readouterr().out


# -- the same on generated data ------------------------------------------------

DEMO_ORDERS = [
    ("shop.csv", "crm.csv", "newsletter.csv", "events-1.jsonl", "events-2.jsonl"),
    ("events-2.jsonl", "events-1.jsonl", "newsletter.csv", "crm.csv", "shop.csv"),
    ("newsletter.csv", "events-1.jsonl", "crm.csv", "shop.csv", "events-2.jsonl"),
    ("crm.csv", "events-2.jsonl", "shop.csv", "events-1.jsonl", "newsletter.csv"),
]


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    # Households, shared browsers, duplicate accounts and typos: the cases
    # where a link made early can look different once more is known.
    data = demo.generate(tmp_path_factory.mktemp("demo"), customers=400, seed=20)
    return {item.path.name: item for item in data.imports}


def load_demo(tmp_path, demo_files, order, name):
    store = Store(store_url(f"{tmp_path / name}.db"))
    for file_name in order:
        item = demo_files[file_name]
        import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                    customer_id_source=item.customer_id_source)
    return store


def test_generated_files_in_any_order_give_one_grouping(tmp_path, demo_files):
    reference = load_demo(tmp_path, demo_files, DEMO_ORDERS[0], "ref")
    expected = partition(reference)
    assert len(expected) < sum(1 for _ in record_grouping(reference))  # something was linked
    for n, order in enumerate(DEMO_ORDERS[1:]):
        assert partition(load_demo(tmp_path, demo_files, order, f"order{n}")) == expected, order
    # And re-resolving everything from scratch agrees with the imports.
    summary = resolve_full(reference)
    assert partition(reference) == expected
    assert summary.merges_made == summary.customers_split_off == 0


# -- splits: what re-resolution moves is recorded and can be undone -----------


def _split_store(tmp_path, files):
    """The Smiths' shared-mailbox row first: it joins John, then Jane's
    arrival makes it ambiguous and re-resolution moves John out."""
    store = load(tmp_path, files, ["news", "shop"], "split")
    splits = [m for m in list_merges(store) if m.action == "split"]
    return store, splits


def test_re_resolution_records_the_split_with_why(tmp_path, files, capsys):
    store, splits = _split_store(tmp_path, files)
    grouping = record_grouping(store)
    assert len({grouping[("news", "2")], grouping[("shop", "S2")], grouping[("shop", "S3")]}) == 3
    [split] = splits
    assert split.rule == "re-resolution" and split.decided_by == "automatic"
    assert split.surviving_tracking_id == grouping[("news", "2")]  # the customer the records left
    assert split.retired_tracking_id == grouping[("shop", "S2")]  # where John went
    assert "ambiguous" in split.why and "smiths@x.org" in split.why
    profile = get_profile(store, grouping[("shop", "S2")])
    assert split.merge_id in [m.merge_id for m in profile.merges]
    # John's record founded his customer now: it no longer says it joined
    # the mailbox row by the shared email.
    assert [s.joined_by for s in profile.sources] == [None]
    # The history says which way the records went.
    assert main(["merges", "--db", store_url(tmp_path / "split.db")]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert f"split\t{grouping[('news', '2')]} -> {grouping[('shop', 'S2')]}" in line


def test_undoing_a_split_puts_the_records_back_and_it_stays(tmp_path, files):
    store, [split] = _split_store(tmp_path, files)
    john_alone = record_grouping(store)[("shop", "S2")]
    undo(store, split.merge_id)
    grouping = record_grouping(store)
    assert grouping[("shop", "S2")] == grouping[("news", "2")] != grouping[("shop", "S3")]
    # The Tracking ID the split gave John still finds him.
    assert get_profile(store, john_alone).tracking_id == grouping[("shop", "S2")]
    history = list_merges(store)
    assert history[0].action == "undo" and history[0].undid_split
    assert [m.undone for m in history if m.merge_id == split.merge_id] == [True]
    # The undo is a decision: importing again, or re-resolving everything,
    # does not split them again.
    path, kw = files["crm"]
    import_file(store, path, **kw)
    resolve_full(store)
    after = record_grouping(store)
    assert after[("shop", "S2")] == after[("news", "2")]
    with pytest.raises(MergeError, match="already undone"):
        undo(store, split.merge_id)


def test_a_merge_is_not_undone_under_a_later_split(tmp_path, write):
    store = Store(store_url(f"{tmp_path / 'later'}.db"))
    import_file(store, write("n.csv", "email,first_name\nsmiths@x.org,\n"), source="news")
    import_file(store, write("s.csv", "id,first_name,last_name,phone\nS2,John,Smith,07911123456\n"),
                source="shop", id_column="id")
    # John's CRM contact joins the mailbox row and his shop account: a merge.
    import_file(store, write("c.csv", "id,first_name,last_name,email,phone\n"
                                      "C9,John,Smith,smiths@x.org,07911 123456\n"), source="crm", id_column="id")
    [merge] = [m for m in list_merges(store) if m.action == "merge"]
    # Jane makes the mailbox row ambiguous: John's records are split off.
    import_file(store, write("s2.csv", "id,first_name,last_name,email\nS3,Jane,Smith,smiths@x.org\n"),
                source="shop", id_column="id")
    [split] = [m for m in list_merges(store) if m.action == "split"]
    with pytest.raises(MergeError, match=f"later changes to the same customer; undo #{split.merge_id} first"):
        undo(store, merge.merge_id)
    undo(store, split.merge_id)
    undo(store, merge.merge_id)
    grouping = record_grouping(store)
    assert grouping[("shop", "S2")] != grouping[("news", "2")]


def test_an_undone_merge_stays_undone_when_everything_is_re_linked(tmp_path, write):
    """Ann's shop account and a newsletter row are merged through a CRM
    contact holding the shop's phone and the newsletter's email; the merge is
    undone.  Re-linking from scratch would join the contact to the newsletter
    row by email (the stronger kind) before the phone is looked at, unless
    the undo keeps every record of one side apart from every record of the
    other."""
    store = Store(store_url(f"{tmp_path / 'undone'}.db"))
    import_file(store, write("s.csv", "id,first_name,last_name,phone\nS1,Ann,Lee,07911123456\n"),
                source="shop", id_column="id")
    import_file(store, write("n.csv", "email,first_name\nann.lee@x.org,Anna\n"), source="news")
    import_file(store, write("c.csv", "id,first_name,last_name,phone,email\n"
                                      "C1,Ann,Lee,07911 123456,ann.lee@x.org\n"), source="crm", id_column="id")
    [merge] = [m for m in list_merges(store) if m.action == "merge"]
    undo(store, merge.merge_id)
    undone = partition(store)
    assert len(undone) == 2
    resolve_full(store)
    assert partition(store) == undone


def test_undoing_a_merge_leaves_other_decisions_within_a_side_standing(tmp_path, write):
    """A CRM contact changes from Chidi to Alice: the import merges it with
    Alice's newsletter row and splits Chidi's newsletter row off.  Undoing the
    split (a decision: Chidi's row stays) and then the merge must not undo
    the first decision too."""
    store = Store(store_url(f"{tmp_path / 'decisions'}.db"))
    header = "contact_id,forename,surname,email_address,mobile,zip\n"
    import_file(store, write("c1.csv", header + "C0,Chidi,Okafor,chidi@mailhost.co.uk,,SW1A 1AA\n"),
                source="crm", id_column="contact_id")
    import_file(store, write("n.csv", "first_name,last_name,phone,postcode\nAlice,Okafor,07911 123410,\n"
                                      "Chidi,Okafor,07911 123412,SW1A 1AA\n"), source="news")
    assert record_grouping(store)[("news", "3")] == record_grouping(store)[("crm", "C0")]
    summary = import_file(store, write("c2.csv", header + "C0,Alice,Okafor,alice@mailhost.co.uk,07911 123410,\n"),
                          source="crm", id_column="contact_id")
    made = [m for m in list_merges(store) if m.import_run_id == summary.import_run_id]
    assert [m.action for m in made] == ["split", "merge"]  # newest first
    for m in made:
        undo(store, m.merge_id)
    undone = partition(store)
    assert record_grouping(store)[("news", "3")] == record_grouping(store)[("crm", "C0")]
    resolve_full(store)
    assert partition(store) == undone


# -- a large file is resolved in batches ----------------------------------


def test_batches_give_the_grouping_of_one_pass(tmp_path, demo_files):
    """Every file resolved 37 records (or events) at a time, each batch
    against what the ones before wrote, groups the records as one pass over
    each file does, and reports the same figures."""
    order = DEMO_ORDERS[0]
    reference = load_demo(tmp_path, demo_files, order, "whole")
    store = Store(store_url(f"{tmp_path / 'batched'}.db"))
    for file_name in order:
        item = demo_files[file_name]
        summary = import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                              customer_id_source=item.customer_id_source, batch_size=37)
        assert summary.records_read > 37  # several batches
        with reference.read() as conn:
            read, imported, events = conn.execute(
                select(T_RUN.c.records_read, T_RUN.c.records_imported, T_RUN.c.events_imported)
                .where(T_RUN.c.file == str(item.path))).one()
        assert (summary.records_read, summary.records_imported, summary.events_imported) == (read, imported, events)
    assert partition(store) == partition(reference)


def test_one_progress_bar_over_all_batches(tmp_path, demo_files):
    item = demo_files["events-1.jsonl"]
    seen = []
    store = Store(store_url(f"{tmp_path / 'bar'}.db"))
    import_file(store, item.path, source="web", fmt="events", customer_id_source="shop", batch_size=100,
                progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert [p.stage for p in seen].count("resolving") > 3  # the stages come round again
    assert fractions == sorted(fractions) and fractions[-1] > 0.8


@pytest.mark.parametrize("stored", [None, '[0, "an", "older", "format"]'])
def test_records_without_stored_match_fields_match_as_from_their_attributes(tmp_path, demo_files, stored):
    """A store from before match fields were stored (or from a later format
    of them) compares its records from their attributes: every import after
    it groups the records as in a store that has them."""
    order = DEMO_ORDERS[0]
    reference = load_demo(tmp_path, demo_files, order, "stored")
    store = Store(store_url(f"{tmp_path / 'older'}.db"))
    for n, file_name in enumerate(order):
        item = demo_files[file_name]
        import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                    customer_id_source=item.customer_id_source)
        if n == 0:
            with store.write() as conn:
                assert conn.execute(select(func.count()).select_from(T_RECORD)
                                    .where(T_RECORD.c.match_fields.is_not(None))).scalar() > 0
                conn.execute(T_RECORD.update().values(match_fields=stored))
    assert partition(store) == partition(reference)

    def links(s: Store) -> list[tuple[str, str, str]]:
        with s.read() as conn:
            return conn.exec_driver_sql("SELECT source, source_key, link FROM source_record ORDER BY 1, 2").all()

    assert any('"probability"' in link for _s, _k, link in links(reference))  # matched, not only by identifiers
    assert links(store) == links(reference)


def test_a_household_contact_stays_with_the_account_of_the_same_name(tmp_path, write):
    """A household's two shop accounts (Kit and Kate) share a mailbox; a CRM
    contact named Kate with it arrives.  The import puts it with Kate (the
    names agree exactly, Kit is only a possible nickname), and re-resolving
    the neighbourhood must agree rather than move it to Kit."""
    store = Store(store_url(tmp_path / "kit.db"))
    import_file(store, write("shop.csv", "customer_id,first_name,last_name,email\n"
                                         "S1,Kit,Hunter,hunterfamily@outlook.com\n"
                                         "S2,Kate,Hunter,hunterfamily@outlook.com\n"),
                source="shop", id_column="customer_id")
    import_file(store, write("crm.csv", "contact_id,first_name,last_name,email,phone\n"
                                        "C1,Kate,Hunter,hunterfamily@outlook.com,+447819039602\n"),
                source="crm", id_column="contact_id")
    grouping = record_grouping(store)
    assert grouping[("crm", "C1")] == grouping[("shop", "S2")] != grouping[("shop", "S1")]
    assert not [m for m in list_merges(store) if m.action == "split"]
    profile = get_profile(store, "crm:C1")
    assert [s.joined_by is not None for s in profile.sources] == [False, True]  # why C1 is with Kate
    resolve_full(store)
    assert record_grouping(store) == grouping


def test_a_customer_re_resolution_regroups_is_explained_as_it_now_is(tmp_path, write):
    """resolve --full repairs a grouping (here a contact put apart by hand,
    as a store from an older version might hold it): the records of every
    customer it changes say why they are together as the relinking joined
    them, whichever of them moved."""
    store = Store(store_url(tmp_path / "repair.db"))
    import_file(store, write("shop.csv", "customer_id,first_name,last_name,email\nS1,Ann,Lee,ann@lee.me\n"),
                source="shop", id_column="customer_id")
    import_file(store, write("crm.csv", "contact_id,first_name,last_name,email\nC1,Ann,Lee,ann@lee.me\n"),
                source="crm", id_column="contact_id")
    with store.write() as conn:
        apart = conn.execute(T_CUSTOMER.insert().values(tracking_id="APART", custom="{}", record_count=1)
                             ).inserted_primary_key[0]
        conn.execute(T_RECORD.update().where(T_RECORD.c.source == "crm").values(customer_id=apart))
    resolve_full(store)
    profile = get_profile(store, "crm:C1")
    why = {s.source_key: s.joined_by for s in profile.sources}
    # Relinked in node order: the CRM contact comes first, the shop record joins it.
    assert why["C1"] is None
    assert why["S1"] is not None and "ann@lee.me" in why["S1"]
