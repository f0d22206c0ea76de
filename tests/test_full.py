"""resolve --full and the order of imports."""

import itertools
import json
from collections import defaultdict

import pytest

from distil_tui.cli import main
from distil_tui.core.exports import record_grouping
from distil_tui.core.full import resolve_full
from distil_tui.core.importer import import_file
from distil_tui.core.merges import list_candidates, reject
from distil_tui.core.store import Store

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
    store = Store(f"sqlite:///{tmp_path / name}.db")
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
NEWS_FIRST = pytest.mark.xfail(strict=True, reason=(
    "known limit of incremental resolution: the nameless newsletter row with the Smiths' shared "
    "mailbox arrives before John and Jane, joins the first of them to arrive, and is not "
    "re-evaluated when the second makes it ambiguous; re-resolving each import's neighbourhood "
    "from scratch (as resolve --full does for everything) would fix it"))


@pytest.mark.parametrize("order", [
    pytest.param(o, marks=NEWS_FIRST) if o.index("news") < o.index("shop") else o for o in ORDERS
])
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
    db = str(tmp_path / "cli.db")
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
