"""Customer search: typos and ranking, identifiers and fragments, and the
index kept current through imports, merges and undos."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from distil_tui.core import search_index
from distil_tui.core.importer import import_file
from distil_tui.core.merges import approve, list_candidates, list_merges, undo
from distil_tui.core.schema import T_CUSTOMER
from distil_tui.core.search import search_customers
from distil_tui.core.store import Store
from tests.stores import ON_POSTGRES, sqlite_only, store_url

PEOPLE = (
    "id,first_name,last_name,email,phone\n"
    "C-1001,John,Smith,john.smith@gmail.com,07911 123456\n"
    "C-1002,John,Smithson,jsmithson@outlook.com,\n"
    "C-1003,John,Smyth,smyth.j@btinternet.com,\n"
    "C-1004,Jonah,Wells,jonah@wells-family.org.uk,\n"
    "C-1005,Zoë,Brontë,zoe.b@yahoo.co.uk,07911 123789\n"
    "C-1006,Christopher,Williams,cwilliams@btinternet.com,\n"
    "C-1007,Mark,Stone,mark.stone@fastmail.co.uk,\n"
    "C-1008,Mark,Stoneham,m.stoneham@fastmail.co.uk,\n"
    "C-1009,Mark,Stine,markstine@icloud.com,\n"
    "C-1010,Mary,Jones,mary.jones@gmail.com,07700 900555\n"
    "C-1011,Mary,Jones,mjones77@hotmail.co.uk,\n"
    "C-1012,Siobhán,O'Neill,siobhan@oneill-law.ie,\n"
)


def names(store: Store, query: str, limit: int = 20) -> list[str]:
    return [f"{h.first_name} {h.last_name}" for h in search_customers(store, query, limit)]


def first(store: Store, query: str):
    hits = search_customers(store, query)
    assert hits, f"nothing found for {query!r}"
    return hits[0]


@pytest.fixture
def people(store, write):
    import_file(store, write("people.csv", PEOPLE), source="shop", id_column="id")
    # Mary Jones of the newsletter is the shop's second Mary Jones: more data.
    import_file(store, write("news.csv", "email,first_name,last_name\nmjones77@hotmail.co.uk,Mary,Jones\n"),
                source="news")
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(T_CUSTOMER)).scalar() == 12
    return store


# -- typos -----------------------------------------------------------------------


def test_one_typo_from_four_letters_a_transposition_counting_as_one(people):
    assert names(people, "jonh smith")[0] == "John Smith"  # transposition
    assert names(people, "john smth")[0] == "John Smith"  # deletion
    assert names(people, "john smuth")[0] == "John Smith"  # substitution
    assert names(people, "johnn smith")[0] == "John Smith"  # insertion
    assert names(people, "christoper williams") == ["Christopher Williams"]


def test_two_typos_from_nine_letters_and_none_below_four(people):
    assert names(people, "christofer") == ["Christopher Williams"]  # ten letters, two edits
    assert names(people, "wiliasm") == []  # two edits in seven letters
    assert "John Smith" not in names(people, "jhn")  # three letters: no typo allowed


def test_the_word_being_typed_is_a_fuzzy_prefix(people):
    assert names(people, "john smi") == ["John Smith", "John Smithson"]  # three letters: exact prefix
    assert names(people, "john smyt") == ["John Smyth", "John Smith", "John Smithson"]
    assert names(people, "chirstoph") == ["Christopher Williams"]
    assert names(people, "john smti")[0] == "John Smith"


def test_any_word_order_and_accents_folded(people):
    assert names(people, "smith john")[0] == "John Smith"
    assert names(people, "zoe bronte") == ["Zoë Brontë"]
    assert names(people, "BRONTË") == ["Zoë Brontë"]
    assert names(people, "siobhan o'neill") == ["Siobhán O'Neill"]
    assert names(people, "o neill") == ["Siobhán O'Neill"]


# -- ranking -----------------------------------------------------------------------


def test_exact_then_prefix_then_typos(people):
    assert names(people, "mark stone") == ["Mark Stone", "Mark Stoneham", "Mark Stine"]


def test_the_more_common_name_first_among_equal_typos(people):
    # "jonh" is one edit from both John (three customers) and Jonah (one).
    ranked = names(people, "jonh")
    assert ranked.index("Jonah Wells") > max(ranked.index(n) for n in ("John Smith", "John Smithson"))


def test_more_data_first_then_a_fixed_order(people):
    hits = search_customers(people, "mary jones")
    assert [h.record_count for h in hits] == [2, 1]
    assert hits[0].email_address == "mjones77@hotmail.co.uk"
    # Equal ranks break by name, then by customer: the same order every time.
    assert search_customers(people, "john") == search_customers(people, "john")
    ranked = names(people, "john")
    # Then one typo at the start of a word: the more common Jones first.
    assert ranked == ["John Smith", "John Smithson", "John Smyth", "Mary Jones", "Mary Jones", "Jonah Wells"]


# -- identifiers and fragments ----------------------------------------------------------


def test_whole_identifiers(people):
    assert first(people, "JOHN.SMITH@GMAIL.COM").last_name == "Smith"
    for written in ("+44 7911 123456", "(07911) 123 456", "0044 7911 123456"):
        hit = first(people, written)
        assert (hit.last_name, hit.matched_on) == ("Smith", "mobile_phone_no"), written
    for key in ("shop:C-1005", "C-1005"):
        hit = first(people, key)
        assert (hit.last_name, hit.matched_on) == ("Brontë", "customer_id"), key
    tracking_id = first(people, "christopher").tracking_id
    assert first(people, tracking_id.lower()).tracking_id == tracking_id


def test_fragments_of_emails_and_phone_numbers(people):
    assert names(people, "smith@gm") == ["John Smith"]
    assert names(people, "stoneham@") == ["Mark Stoneham"]
    assert names(people, "oneill-law") == ["Siobhán O'Neill"]
    assert first(people, "zoe.b@").last_name == "Brontë"
    assert names(people, "123456") == ["John Smith"]
    assert names(people, "07911 1237") == ["Zoë Brontë"]
    assert names(people, "+44 7911 123") == ["Zoë Brontë", "John Smith"]  # equal: by surname
    # 07700 900555 is no valid number: it is kept, and found, as written.
    for written in ("07700 900555", "+44 7700 900", "900555"):
        assert names(people, written) == ["Mary Jones"], written
    assert names(people, "nobody@nowhere") == []


# -- the index kept current ------------------------------------------------------------


def indexed(store: Store) -> set[int]:
    """The customers the index holds (on PostgreSQL: those with a name word
    or a contact value to hold)."""
    sql = ("SELECT customer_id FROM search_word UNION SELECT customer_id FROM search_contact" if ON_POSTGRES
           else "SELECT rowid FROM search_name")
    with store.read() as conn:
        return {r[0] for r in conn.exec_driver_sql(sql)}


def customer_ids(store: Store) -> set[int]:
    with store.read() as conn:
        return {r[0] for r in conn.execute(select(T_CUSTOMER.c.id))}


def test_an_import_indexes_new_and_changed_customers(people, write):
    import_file(people, write("more.csv", "id,first_name,last_name,email\nC-2001,Priya,Patel,priya@patel.me\n"),
                source="shop", id_column="id")
    assert names(people, "priya pat") == ["Priya Patel"]
    assert names(people, "@patel") == ["Priya Patel"]
    # The same key again with a new surname: found by the new one only.
    import_file(people, write("renamed.csv", "id,first_name,last_name,email\nC-2001,Priya,Shah,priya@patel.me\n"),
                source="shop", id_column="id")
    assert names(people, "priya shah") == ["Priya Shah"]
    assert names(people, "priya patel") == []
    assert indexed(people) == customer_ids(people)


def test_a_merge_by_import_and_its_undo(store, write):
    import_file(store, write("crm.csv", "id,first_name,last_name,email\nC1,Ann,Lee,ann@mailhost.co.uk\n"),
                source="crm", id_column="id")
    import_file(store, write("app.csv", "id,first_name,last_name,phone\nA1,Annie,Lee,07911123411\n"),
                source="app", id_column="id")
    assert names(store, "lee") == ["Ann Lee", "Annie Lee"]
    summary = import_file(store, write("shop.csv", "id,first_name,last_name,email,phone\n"
                                                   "S1,Ann,Lee,ann@mailhost.co.uk,07911123411\n"),
                          source="shop", id_column="id")
    assert summary.merges_made == 1
    assert len(search_customers(store, "lee")) == 1
    assert indexed(store) == customer_ids(store)
    (merge,) = list_merges(store)
    hit = first(store, merge.retired_tracking_id)
    assert (hit.tracking_id, hit.matched_on) == (merge.surviving_tracking_id, "tracking_id")

    undo(store, merge.merge_id)
    assert sorted(names(store, "lee")) == ["Ann Lee", "Annie Lee"]
    assert first(store, "annie").tracking_id == merge.retired_tracking_id
    assert indexed(store) == customer_ids(store)


def test_an_approved_candidate_and_its_undo(store, write):
    import_file(store, write("h.csv", "id,email,first_name,last_name\n"
                                      "S1,smiths@x.org,John,Smith\nS2,smiths@x.org,Jane,Smith\n"),
                source="shop", id_column="id")
    assert sorted(names(store, "smith")) == ["Jane Smith", "John Smith"]
    (candidate,) = list_candidates(store)
    merge_id = approve(store, candidate.candidate_id)
    assert len(search_customers(store, "smith")) == 1
    assert indexed(store) == customer_ids(store)
    undo(store, merge_id)
    assert sorted(names(store, "smith")) == ["Jane Smith", "John Smith"]
    assert indexed(store) == customer_ids(store)


def test_a_store_without_an_index_builds_it_when_opened(people, tmp_path):
    with people.write() as conn:
        for table in ("search_word",) if ON_POSTGRES else ("search_name_vocab", "search_name"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
    people.close()
    reopened = Store(store_url(tmp_path / 'store.db'))
    assert names(reopened, "jonh smith")[0] == "John Smith"
    assert indexed(reopened) == customer_ids(reopened)
    # An index of an older format is built again too.
    with reopened.write() as conn:
        conn.exec_driver_sql("UPDATE search_state SET format = 0")
        conn.exec_driver_sql("DELETE FROM search_contact")
    reopened.close()
    again = Store(store_url(tmp_path / 'store.db'))
    assert names(again, "smith@gm") == ["John Smith"]
    again.close()


def test_phone_numbers_are_indexed_by_their_national_significant_number():
    assert search_index.phone_digits("+447700900123") == "7700900123"
    assert search_index.phone_digits("+12125550100") == "2125550100"
    assert search_index.phone_digits("+353861234567") == "861234567"
    assert search_index.phone_digits("0770-090") == "0770090"  # not E.164: as written
    assert search_index.phone_digits(None) is None


@sqlite_only
def test_after_imports_of_every_kind_the_index_is_what_a_fresh_build_makes(tmp_path):
    """Imports refresh only the customers whose names, email or phone
    changed: the index must still hold exactly what rebuilding it gives."""
    from distil_tui.core import demo

    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    data = demo.generate(tmp_path / "demo", customers=300, seed=5)
    for item in data.imports:
        import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                    customer_id_source=item.customer_id_source)

    def contents() -> tuple[list, list]:
        with store.read() as conn:
            return (conn.exec_driver_sql("SELECT rowid, words FROM search_name ORDER BY rowid").all(),
                    conn.exec_driver_sql("SELECT rowid, email, phone FROM search_contact ORDER BY rowid").all())

    incremental = contents()
    assert len(incremental[0]) == len(customer_ids(store))
    with store.write() as conn:
        search_index.build(conn)
    assert contents() == incremental
