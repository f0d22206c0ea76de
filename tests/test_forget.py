"""forget: a customer's personal data is erased; its Tracking ID, records
and merge history stay consistent; its identifiers are recognised later."""

from __future__ import annotations

from pathlib import Path

import pytest

from distil_tui.core import segments
from distil_tui.core.forget import ForgetError, forget, forgotten_identifiers
from distil_tui.core.importer import import_file
from distil_tui.core.merges import list_candidates, list_merges, undo
from distil_tui.core.profiles import get_profile
from distil_tui.core.schema import T_FORGOTTEN
from distil_tui.core.search import search_customers
from distil_tui.core.segments import Condition, Segment
from distil_tui.core.store import Store
from tests.conftest import seed_review_store
from tests.stores import ON_POSTGRES, store_url

SHOP = (
    "customer_id,first_name,last_name,email,phone,town\n"
    "S1,Annabel,Lee,annabel.lee@x.org,07911 123456,York\n"
    "S2,Bo,Ek,bo@x.org,,Leeds\n"
)
CRM = "contact_id,first_name,last_name,email,loyalty_tier\nC1,Annabel,Lee,ANNABEL.LEE@x.org,gold\n"
VISIT = ('{"anonymous_user_id": "browser-77", "timestamp": "2025-12-30T10:00:00Z", "event": "page_view", '
         '"properties": {"path": "/account/annabel-lee"}}\n')
SIGN_IN = ('{"anonymous_user_id": "browser-77", "timestamp": "2025-12-31T10:00:00Z", "event": "sign_in", '
           '"customer": {"customer_id": "S1", "email": "annabel.lee@x.org"}}\n')
ANN_VALUES = ("Annabel", "annabel", "annabel.lee@x.org", "ANNABEL.LEE", "+447911123456", "07911 123456",
              "browser-77", "shop:S1", "crm:C1", "/account/annabel-lee")


@pytest.fixture
def ann(store, write):
    events = dict(source="web", fmt="events", customer_id_source="shop")
    import_file(store, write("shop.csv", SHOP), source="shop", id_column="customer_id")
    import_file(store, write("crm.csv", CRM), source="crm", id_column="contact_id")
    import_file(store, write("visit.jsonl", VISIT), **events)
    visitor = get_profile(store, "browser-77").tracking_id
    import_file(store, write("sign-in.jsonl", SIGN_IN), **events)
    profile = get_profile(store, "annabel.lee@x.org")
    assert visitor in profile.retired_tracking_ids and profile.event_count == 2
    return store, profile, visitor


def all_text(store: Store) -> str:
    """Every value of every table (search index included), as SQL."""
    with store.read() as conn:
        if not ON_POSTGRES:
            return "\n".join(conn.connection.dbapi_connection.iterdump())
        tables = [r[0] for r in conn.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
        assert "search_word" in tables
        return "\n".join(row[0] for t in tables for row in conn.exec_driver_sql(f'SELECT t::text FROM "{t}" t'))


def test_personal_data_is_erased_and_the_customer_stays(ann):
    store, before, visitor = ann
    assert all(v in all_text(store) for v in ("annabel.lee@x.org", "browser-77", "/account/annabel-lee"))
    result = forget(store, "annabel.lee@x.org")
    assert result.tracking_id == before.tracking_id
    assert (result.records, result.events) == (len(before.sources), 2)
    assert result.identifiers == len({(i.kind, i.value) for i in before.identifiers})

    after = get_profile(store, before.tracking_id)
    assert after.tracking_id == before.tracking_id
    assert after.attributes == () and after.custom_attributes == () and after.identifiers == ()
    assert after.display_name == "(anonymous visitor)"
    assert len(after.sources) == len(before.sources)
    assert [(s.file, s.line) for s in after.sources] == [(s.file, s.line) for s in before.sources]
    assert all(s.values == () and "S1" not in s.source_key for s in after.sources)
    assert (after.first_seen, after.last_seen) == (before.first_seen, before.last_seen)
    # Events keep their type and time, and lose what linked them to a browser.
    assert [(e.event_type, e.occurred_at) for e in after.recent_events] == \
        [(e.event_type, e.occurred_at) for e in before.recent_events]
    assert all(e.anonymous_user_id == "" and e.properties == () for e in after.recent_events)
    # The retired Tracking ID still resolves to it; the history is whole.
    assert get_profile(store, visitor).tracking_id == before.tracking_id
    assert [m.merge_id for m in after.merges] == [m.merge_id for m in before.merges]

    dump = all_text(store)
    for value in ANN_VALUES:
        assert value not in dump, value
    assert "bo@x.org" in dump  # nobody else was touched
    assert get_profile(store, "bo@x.org").attribute("town") == "Leeds"


def test_not_found_by_personal_data_any_more(ann):
    store, before, _visitor = ann
    forget(store, "+44 7911 123456")
    for query in ("annabel", "annabel lee", "annabel.lee@x.org", "7911 123456"):
        assert search_customers(store, query) == [], query
    for key in ("annabel.lee@x.org", "shop:S1", "browser-77"):
        assert get_profile(store, key) is None, key
    assert [h.tracking_id for h in search_customers(store, before.tracking_id)] == [before.tracking_id]
    assert [h.first_name for h in search_customers(store, "bo")] == ["Bo"]
    assert segments.count(store, Segment("s", (Condition("email_address", "is_not_empty"),))) == 1


def test_the_merge_can_still_be_undone(ann):
    store, before, visitor = ann
    forget(store, before.tracking_id)
    merge = next(m for m in list_merges(store) if m.retired_tracking_id == visitor)
    assert "browser-77" not in str(merge.evidence) and merge.rule == "anonymous_user_id"
    undo(store, merge.merge_id)
    restored = get_profile(store, visitor)
    assert restored.tracking_id == visitor and restored.event_count == before.event_count  # the browser's
    assert restored.identifiers == () and restored.attributes == ()


def test_later_imports_of_forgotten_identifiers_are_recognised(ann, tmp_path):
    store, _before, _visitor = ann
    with store.read() as conn:  # nothing forgotten yet: nothing recognised
        assert forgotten_identifiers(conn, [("email_address", "annabel.lee@x.org")]) == set()
    forget(store, "annabel.lee@x.org")
    incoming = [("email_address", "annabel.lee@x.org"), ("mobile_phone_no", "+447911123456"),
                ("anonymous_user_id", "browser-77"), ("customer_id", "shop:S1"), ("customer_id", "crm:C1"),
                ("email_address", "bo@x.org"), ("customer_id", "shop:S2"),
                ("anonymous_user_id", "annabel.lee@x.org")]  # a value forgotten under another kind
    with store.read() as conn:
        found = forgotten_identifiers(conn, incoming)
        digests = [r.digest for r in conn.execute(T_FORGOTTEN.select())]
    assert found == set(incoming[:5])
    # Only keyed hashes are kept, and another store hashes the same value
    # differently: the table cannot be matched against a list of emails.
    assert len(digests) == 5 and not any(v in d for d in digests for v in ANN_VALUES)
    other = Store(store_url(tmp_path / 'other.db'))
    path = tmp_path / "shop2.csv"
    path.write_text(SHOP)
    import_file(other, path, source="shop", id_column="customer_id")
    forget(other, "annabel.lee@x.org")
    with other.read() as conn:
        assert forgotten_identifiers(conn, incoming) == {incoming[0], incoming[1], incoming[3]}
        assert not set(digests) & {r.digest for r in conn.execute(T_FORGOTTEN.select())}
    other.close()


def test_pending_candidates_about_it_are_withdrawn(tmp_path):
    store = seed_review_store(tmp_path)
    about = [c for c in list_candidates(store) if "smiths@x.org" in (c.a.email_address, c.b.email_address)]
    assert about
    result = forget(store, "shop:S4")
    assert not [c for c in list_candidates(store) if c.candidate_id in {a.candidate_id for a in about}]
    withdrawn = [c for c in list_candidates(store, pending_only=False)
                 if c.candidate_id in {a.candidate_id for a in about}]
    assert {c.status for c in withdrawn} == {"forgotten"}
    assert all("smiths@x.org" not in str(c.evidence) and "Mill Lane" not in str(c.evidence) for c in withdrawn)
    assert get_profile(store, result.tracking_id).attributes == ()
    store.close()


def test_unknown_key_is_refused(store):
    with pytest.raises(ForgetError, match="no customer for 'nobody@x.org'"):
        forget(store, "nobody@x.org")


def test_forgetting_twice_changes_nothing_more(ann):
    store, before, _visitor = ann
    forget(store, before.tracking_id)
    dump, sources = all_text(store), get_profile(store, before.tracking_id).sources
    again = forget(store, before.tracking_id)
    assert (again.identifiers, again.tracking_id) == (0, before.tracking_id)
    assert get_profile(store, before.tracking_id).sources == sources  # keys are hashed once
    # Only the second forget's own row is new.
    assert len(all_text(store).splitlines()) == len(dump.splitlines()) + 1


def test_old_values_do_not_linger_in_the_write_ahead_log(ann):
    store, _before, _visitor = ann
    forget(store, "annabel.lee@x.org")
    wal = Path(store.display_name + "-wal")
    assert not wal.exists() or b"annabel.lee@x.org" not in wal.read_bytes()


def test_re_resolving_everything_keeps_the_forgotten_customer_whole(ann):
    from distil_tui.core.full import resolve_full

    store, before, visitor = ann
    forget(store, before.tracking_id)
    resolve_full(store)
    after = get_profile(store, before.tracking_id)
    assert len(after.sources) == len(before.sources) and after.event_count == before.event_count
    assert get_profile(store, visitor).tracking_id == before.tracking_id
    assert get_profile(store, "bo@x.org").attribute("town") == "Leeds"


def test_importing_a_forgotten_customer_again_is_reported_not_done(ann, write):
    """The same files imported after forget: the rows holding a forgotten
    identifier are rejected with their line and the kind of identifier, the
    others imported; no value of the forgotten customer comes back."""
    store, before, _visitor = ann
    forget(store, "annabel.lee@x.org")
    summary = import_file(store, write("shop-again.csv", SHOP + "S3,Cy,Oz,cy@x.org,,Hull\n"),
                          source="shop", id_column="customer_id")
    assert [(r.line, r.reason) for r in summary.rejections] == [
        (2, "customer_id of a forgotten customer: not imported")]
    assert summary.records_imported == 2  # Bo unchanged, Cy new
    assert get_profile(store, "cy@x.org").attributes
    events = import_file(store, write("visit-again.jsonl", VISIT + SIGN_IN), source="web", fmt="events",
                         customer_id_source="shop")
    assert [r.line for r in events.rejections] == [1, 2] and events.events_imported == 0
    text = all_text(store)
    assert not any(v in text for v in ("annabel.lee@x.org", "Annabel", "browser-77", "07911 123456"))
    assert get_profile(store, before.tracking_id).identifiers == ()
