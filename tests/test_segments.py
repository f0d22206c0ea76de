"""Segments: each operator on each type, AND/OR, saved segments, the
attribute catalog, and the store's schema version 4."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from distil_tui.core import attributes, segments
from distil_tui.core.importer import import_file
from distil_tui.core.schema import SCHEMA_VERSION, T_CUSTOMER
from distil_tui.core.segments import Condition, Segment, SegmentError, parse_condition
from distil_tui.core.store import Store
from tests.stores import sqlite_only

SHOP = (
    "customer_id,first_name,last_name,email,town,dob,loyalty_tier,points\n"
    "S1,Ann,Lee,ann@x.org,Leeds,1980-05-01,gold,120\n"
    "S2,Bo,Ek,bo@x.org,leeds,1995-12-31,silver,80\n"
    "S3,Cy,Leeson,cy@x.org,York,,gold,\n"
    "S4,Di,Ball,di@x.org,Milton Keynes,2001-01-01,,5.5\n"
    "S5,Ed,100%_Lee,ed@x.org,,1970-01-01,bronze,1000\n"
)


@pytest.fixture
def shop(store, write):
    import_file(store, write("shop.csv", SHOP), source="shop", id_column="customer_id")
    return store


def members(store: Store, *conditions: str, combine: str = "and") -> list[str]:
    """First names of the customers matching the conditions, sorted."""
    where = segments.where([parse_condition(c) for c in conditions], combine)
    with store.read() as conn:
        return sorted(r[0] for r in conn.execute(select(T_CUSTOMER.c.first_name).where(where)))


# -- text --------------------------------------------------------------------


def test_text_operators_ignore_case(shop):
    assert members(shop, "town equals LEEDS") == ["Ann", "Bo"]
    assert members(shop, "town equals Milton Keynes") == ["Di"]
    assert members(shop, "last_name contains lee") == ["Ann", "Cy", "Ed"]
    assert members(shop, "last_name starts_with LEE") == ["Ann", "Cy"]
    assert members(shop, "email_address starts with di@") == ["Di"]


def test_a_value_typed_as_stored_always_matches(store, write):
    import_file(store, write("n.csv", "email,first_name,last_name\na@x.org,Zoë,ÉMILE\nb@x.org,ZOË,émile\n"),
                source="n")
    assert members(store, "first_name equals zoë") == ["Zoë"]
    assert members(store, "first_name equals ZOË") == ["ZOË"]
    assert members(store, "last_name equals ÉMILE") == ["Zoë"]
    assert members(store, "last_name equals émile") == ["ZOË"]
    assert members(store, "last_name equals Émile") == ["Zoë"]  # ASCII letters in any case
    assert members(store, "last_name starts_with ÉM") == ["Zoë"]
    assert members(store, "last_name contains MIL") == ["ZOË", "Zoë"]


def test_like_wildcards_in_a_value_are_literal(shop):
    assert members(shop, "last_name contains %_") == ["Ed"]
    assert members(shop, "last_name starts_with _") == []
    assert members(shop, "last_name contains e_") == []


@pytest.mark.parametrize(("condition", "expected"), [
    ("town is_empty", ["Ed"]),
    ("town is not empty", ["Ann", "Bo", "Cy", "Di"]),
    ("date_of_birth is_empty", ["Cy"]),
    ("custom.points is_empty", ["Cy"]),
    ("custom.loyalty_tier is_not_empty", ["Ann", "Bo", "Cy", "Ed"]),
    ("core_data.record_count is_empty", []),
])
def test_empty_and_not_empty_on_every_type(shop, condition, expected):
    assert members(shop, condition) == expected


# -- dates ---------------------------------------------------------------------


def test_a_day_means_the_whole_day(shop):
    assert members(shop, "date_of_birth after 1995-12-30") == ["Bo", "Di"]
    assert members(shop, "date_of_birth after 1995-12-31") == ["Di"]
    assert members(shop, "date_of_birth before 1980-05-01") == ["Ed"]
    assert members(shop, "date_of_birth before 1980-05-02") == ["Ann", "Ed"]


def test_core_data_times_compare_with_days_and_times(shop):
    # Every customer was first seen at the store's (frozen) import time.
    assert shop.now() == "2026-01-01T00:00:00Z"
    everyone = ["Ann", "Bo", "Cy", "Di", "Ed"]
    assert members(shop, "core_data.first_seen after 2025-12-31") == everyone
    assert members(shop, "core_data.first_seen after 2026-01-01") == []
    assert members(shop, "core_data.first_seen before 2026-01-01") == []
    assert members(shop, "core_data.last_seen after 2025-12-31T23:59:59Z") == everyone
    assert members(shop, "last_seen before 2026-01-01T00:00:01Z") == everyone
    assert members(shop, "core_data.first_seen before 2026-01-01 00:00:01") == everyone


# -- numbers -------------------------------------------------------------------


def test_a_custom_value_that_is_no_number_is_neither_greater_nor_less(store, write):
    import_file(store, write("p.csv", "email,first_name,points\na@x.org,A,none\nb@x.org,B, 7 \nc@x.org,C,-2.5\n"),
                source="p")
    assert members(store, "custom.points less_than 10") == ["B", "C"]
    assert members(store, "custom.points greater_than -3") == ["B", "C"]
    assert members(store, "custom.points less_than 0") == ["C"]


def test_numbers_compare_as_numbers_not_text(shop):
    # As text "80" > "100" and "5.5" > "1000"; as numbers they are not.
    assert members(shop, "custom.points greater_than 100") == ["Ann", "Ed"]
    assert members(shop, "custom.points less_than 100") == ["Bo", "Di"]
    assert members(shop, "custom.points less_than 6") == ["Di"]
    assert members(shop, "core_data.record_count greater_than 0") == ["Ann", "Bo", "Cy", "Di", "Ed"]
    assert members(shop, "core_data.record_count greater_than 1") == []


# -- combining -----------------------------------------------------------------


def test_and_or(shop):
    both = ("town equals leeds", "custom.loyalty_tier equals gold")
    assert members(shop, *both) == ["Ann"]
    assert members(shop, *both, combine="or") == ["Ann", "Bo", "Cy"]
    assert members(shop) == ["Ann", "Bo", "Cy", "Di", "Ed"]  # no conditions: everyone
    with pytest.raises(SegmentError, match="combine must be 'and' or 'or'"):
        segments.where([], "xor")


def test_count_of_a_segment_and_of_everyone(shop):
    leeds_gold = Segment("leeds gold", (parse_condition("town equals leeds"),
                                        parse_condition("custom.loyalty_tier equals gold")), "or")
    assert segments.count(shop, leeds_gold) == 3
    assert segments.count(shop, None) == 5


# -- conditions as typed --------------------------------------------------------


def test_parse_condition_forms():
    assert parse_condition("town equals Milton Keynes") == Condition("town", "equals", "Milton Keynes")
    assert parse_condition("town equals ' padded '") == Condition("town", "equals", " padded ")
    assert parse_condition("tracking_id starts_with 0A") == Condition("core_data.tracking_id", "starts_with", "0A")
    assert parse_condition("email_address is not empty") == Condition("email_address", "is_not_empty", None)
    assert parse_condition("core_data.last_seen AFTER 2026-01-01") == \
        Condition("core_data.last_seen", "after", "2026-01-01")
    # A condition prints as it is typed, and reads back the same.
    condition = parse_condition("custom.tier starts with go")
    assert parse_condition(str(condition)) == condition


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty condition"),
    ("twon equals Leeds", "unknown attribute 'twon'; did you mean town"),
    ("town is Leeds", "unknown operator 'is'; operators for text attributes are equals, contains"),
    ("date_of_birth contains 19", "'contains' does not apply to date attribute date_of_birth; use before"),
    ("core_data.record_count equals 2", "does not apply to number attribute"),
    ("town equals", "equals needs a value"),
    ("town is_empty Leeds", "is_empty takes no value"),
    ("date_of_birth before 31/12/1990", "is not a date (YYYY-MM-DD)"),
    ("date_of_birth before 2026-02-30", "is not a date"),
    ("custom.points greater_than lots", "'lots' is not a number"),
])
def test_bad_conditions_say_what_is_wrong(text, message):
    with pytest.raises(SegmentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_condition(text)


def test_unknown_attribute_in_a_condition_built_by_code():
    with pytest.raises(SegmentError, match="unknown attribute 'frist_name'; did you mean first_name"):
        segments.where([Condition("frist_name", "equals", "x")])
    with pytest.raises(attributes.UnknownAttribute, match="custom attributes are written custom.NAME"):
        attributes.column("loyalty_tier")


# -- saved segments --------------------------------------------------------------


def test_save_list_show_rename_delete(shop, write):
    gold = Segment(" gold ", [Condition("custom.loyalty_tier", "equals", "gold")])
    saved = segments.save(shop, gold)
    assert saved.name == "gold" and saved.conditions == (Condition("custom.loyalty_tier", "equals", "gold"),)
    segments.save(shop, Segment("leeds", (Condition("town", "equals", "Leeds"),)))
    assert segments.get(shop, "gold") == saved
    assert [(s.name, n) for s, n in segments.list_segments(shop)] == [("gold", 2), ("leeds", 2)]

    # Counts are the data's as it is now, not as it was when saved.
    import_file(shop, write("more.csv", "customer_id,email,loyalty_tier\nS9,zed@x.org,GOLD\n"),
                source="shop", id_column="customer_id")
    assert dict((s.name, n) for s, n in segments.list_segments(shop))["gold"] == 3

    renamed = segments.rename(shop, "gold", "Gold members")
    assert renamed.name == "Gold members" and renamed.conditions == saved.conditions
    assert [s.name for s, _n in segments.list_segments(shop)] == ["Gold members", "leeds"]
    with pytest.raises(segments.UnknownSegment, match="no segment named 'gold'; saved segments: Gold members, leeds"):
        segments.get(shop, "gold")
    segments.delete(shop, "leeds")
    assert [s.name for s, _n in segments.list_segments(shop)] == ["Gold members"]
    assert segments.count(shop, None) == 6  # deleting a segment deletes no customer


def test_saving_replaces_unless_told_not_to(shop):
    segments.save(shop, Segment("s", (Condition("town", "equals", "Leeds"),)))
    segments.save(shop, Segment("s", (Condition("town", "equals", "York"),), "or"))
    assert segments.get(shop, "s") == Segment("s", (Condition("town", "equals", "York"),), "or")
    with pytest.raises(SegmentError, match="a segment named 's' already exists"):
        segments.save(shop, Segment("s", ()), replace=False)
    segments.save(shop, Segment("t", ()))
    with pytest.raises(SegmentError, match="a segment named 't' already exists"):
        segments.rename(shop, "s", "t")


@pytest.mark.parametrize(("segment", "message"), [
    (Segment("", ()), "a segment needs a name"),
    (Segment("x" * 101, ()), "at most 100 characters"),
    (Segment("a\x1bb", ()), "control character"),
    (Segment("bad", (Condition("town", "before", "2020-01-01"),)), "'before' does not apply to text"),
    (Segment("bad", (Condition("town", "equals", "x"),), "xor"), "combine must be"),
])
def test_an_unusable_segment_is_not_saved(store, segment, message):
    with pytest.raises(SegmentError, match=message):
        segments.save(store, segment)
    assert segments.list_segments(store) == []


def test_missing_segments_are_named(store):
    for call in (lambda: segments.get(store, "x"), lambda: segments.delete(store, "x"),
                 lambda: segments.rename(store, "x", "y")):
        with pytest.raises(segments.UnknownSegment, match="no segment named 'x'; no segments are saved"):
            call()


# -- the attribute catalog ------------------------------------------------------


def test_catalog_offers_every_attribute_with_its_type(shop):
    found = {a.name: a for a in attributes.catalog(shop)}
    for name in ("first_name", "email_address", "date_of_birth", "company_name", "core_data.tracking_id",
                 "core_data.first_seen", "core_data.last_seen", "core_data.record_count",
                 "custom.loyalty_tier", "custom.points"):
        assert name in found
    assert found["core_data.tracking_id"].label == "Tracking ID"
    assert not found["core_data.tracking_id"].default_visible
    assert found["first_name"].default_visible and found["first_name"].label == "First name"
    assert found["date_of_birth"].type == "date" and found["core_data.record_count"].type == "number"
    assert found["custom.points"].type == "number" and found["custom.loyalty_tier"].type == "text"
    assert found["custom.loyalty_tier"].label == "loyalty_tier"
    assert not any(a.name.startswith("custom.") for a in attributes.catalog(Store("sqlite://")))


def test_custom_attribute_names_can_hold_any_character(store, write):
    import_file(store, write("odd.csv", "email,it's [odd]\nann@x.org,yes\n"), source="odd")
    names = [a.name for a in attributes.catalog(store) if a.is_custom]
    assert names == ["custom.it's [odd]"]
    assert segments.count(store, Segment("s", (Condition(names[0], "equals", "YES"),))) == 1


# -- schema version 4 -------------------------------------------------------------


@sqlite_only
def test_a_version_3_store_gains_segments_when_opened(tmp_path):
    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}").close()
    raw = sqlite3.connect(path)
    for table in ("segment", "forgotten_identifier", "forget"):
        raw.execute(f"DROP TABLE {table}")
    raw.execute("ALTER TABLE source_record DROP COLUMN match_fields")
    raw.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    store = Store(f"sqlite:///{path}")
    segments.save(store, Segment("s", ()))
    assert [s.name for s, _n in segments.list_segments(store)] == ["s"]
    with store.read() as conn:
        assert store.meta_get(conn, "schema_version") == str(SCHEMA_VERSION)
