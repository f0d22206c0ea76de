"""The Data panel's reads: keyset pages of customers, sorted by any column,
of every customer or of a segment."""

from __future__ import annotations

import pytest

from distil_tui.core import segments
from distil_tui.core.attributes import UnknownAttribute
from distil_tui.core.data_view import DataRow, data_page
from distil_tui.core.importer import import_file
from distil_tui.core.segments import Condition, Segment

FIRST = ("Ann", "Bob", "Cara", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lia", "Mo")
LAST = ("Abbott", "Barker", "Cole", "Dunn", "Ellis", "Frost", "Grant")
TOWNS = ("Leeds", "York", "", "Bath", "leeds", "Ørsta", "")  # ties, empties, case, non-ASCII
TIERS = ("gold", "", "silver", "", "", "bronze")

COLUMNS = ("first_name", "last_name", "email_address", "town", "custom.tier", "core_data.tracking_id")
SORTS = (None, "town", "first_name", "custom.tier", "core_data.tracking_id", "core_data.record_count",
         "core_data.last_seen")


@pytest.fixture
def people(store, write):
    """91 customers, one per (first, last) pair: towns with ties and blanks,
    a custom attribute most customers lack, and a name with markup."""
    rows = ["id,first_name,last_name,email,town,tier"]
    n = 0
    for first in FIRST:
        for last in LAST:
            town = TOWNS[n % len(TOWNS)]
            tier = TIERS[n % len(TIERS)]
            shown = "[bold]x[/]" if n == 40 else first
            rows.append(f"P{n:03d},{shown},{last},{first.lower()}.{last.lower()}{n}@mail-box.org,{town},{tier}")
            n += 1
    import_file(store, write("people.csv", "\n".join(rows) + "\n"), source="shop", id_column="id")
    assert segments.count(store, None) == n  # nobody merged: one customer per row
    return n


def walk_forward(store, columns, limit, **options) -> list[DataRow]:
    page = data_page(store, columns, limit=limit, **options)
    assert not page.before
    rows = list(page.rows)
    while page.after:
        assert len(page.rows) == limit
        page = data_page(store, columns, limit=limit, after=rows[-1], **options)
        assert page.before
        rows.extend(page.rows)
    return rows


def walk_backward(store, columns, limit, **options) -> list[DataRow]:
    page = data_page(store, columns, limit=limit, last=True, **options)
    assert not page.after
    rows = list(page.rows)
    while page.before:
        page = data_page(store, columns, limit=limit, before=rows[0], **options)
        assert page.after
        rows[:0] = page.rows
    return rows


def expected_order(rows: list[DataRow], index: int | None, descending: bool) -> list[DataRow]:
    """The promised order worked out in Python: values (by code point, or as
    numbers), then customer id, both in the sort's direction; customers
    without a value last, by customer id in the sort's direction."""
    if index is None:
        return sorted(rows, key=lambda r: r.customer_id, reverse=descending)
    valued = sorted((r for r in rows if r.values[index] is not None),
                    key=lambda r: (r.values[index], r.customer_id), reverse=descending)
    empty = sorted((r for r in rows if r.values[index] is None), key=lambda r: r.customer_id,
                   reverse=descending)
    return valued + empty


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [False, True])
def test_pages_hold_every_customer_once_in_sort_order(store, people, sort, descending) -> None:
    columns = COLUMNS + (("core_data.record_count", "core_data.last_seen") if sort and sort not in COLUMNS else ())
    rows = walk_forward(store, columns, 8, sort=sort, descending=descending)
    assert len(rows) == people
    assert len({r.customer_id for r in rows}) == people
    assert len({r.tracking_id for r in rows}) == people
    index = columns.index(sort) if sort else None
    assert rows == expected_order(rows, index, descending)
    # Read from the end backwards: the same customers in the same order.
    assert walk_backward(store, columns, 8, sort=sort, descending=descending) == rows


def test_ties_and_blanks_are_ordered_by_customer_id(store, people) -> None:
    rows = walk_forward(store, ("town",), 5, sort="town")
    towns = [r.values[0] for r in rows]
    # Blank towns were imported as no value: they come last, not first.
    assert towns[-1] is None and towns[0] is not None
    first_blank = towns.index(None)
    assert all(t is None for t in towns[first_blank:])
    leeds = [r.customer_id for r in rows if r.values[0] == "Leeds"]
    assert len(leeds) > 5 and leeds == sorted(leeds)  # a tie spans pages, in id order
    # Descending: values reversed, blanks still last, ties by id descending.
    down = walk_forward(store, ("town",), 5, sort="town", descending=True)
    assert [r.values[0] for r in down][-1] is None
    assert [r.customer_id for r in down if r.values[0] == "Leeds"] == leeds[::-1]


def test_a_page_after_a_row_in_the_middle(store, people) -> None:
    everything = walk_forward(store, ("town",), 1000, sort="town")
    for at in (0, 10, 55, people - 1):  # valued, blank, the very last
        page = data_page(store, ("town",), sort="town", after=everything[at], limit=7)
        assert list(page.rows) == everything[at + 1: at + 8]
        assert page.after == (at + 8 < people)
        back = data_page(store, ("town",), sort="town", before=everything[at], limit=7)
        assert list(back.rows) == everything[max(at - 7, 0): at]
        assert back.before == (at - 7 > 0)


def test_first_and_last_pages_say_what_lies_beyond(store, people) -> None:
    first = data_page(store, ("town",), limit=10)
    assert (first.before, first.after, len(first.rows)) == (False, True, 10)
    last = data_page(store, ("town",), limit=10, last=True)
    assert (last.before, last.after, len(last.rows)) == (True, False, 10)
    whole = data_page(store, ("town",), limit=people)
    assert (whole.before, whole.after, len(whole.rows)) == (False, False, people)


def test_segment_filter(store, people) -> None:
    leeds = Segment("leeds", (Condition("town", "equals", "leeds"),))
    rows = walk_forward(store, ("town", "first_name"), 4, sort="first_name", segment=leeds)
    assert {r.values[0] for r in rows} == {"Leeds", "leeds"}  # equals ignores case
    assert len(rows) == segments.count(store, leeds) > 4
    assert rows == expected_order(rows, 1, False)
    gold_or_york = Segment("g", (Condition("custom.tier", "equals", "gold"), Condition("town", "equals", "York")),
                           "or")
    rows = walk_forward(store, ("town", "custom.tier"), 3, sort="custom.tier", descending=True,
                        segment=gold_or_york)
    assert rows and all(r.values[0] == "York" or r.values[1] == "gold" for r in rows)
    assert len(rows) == segments.count(store, gold_or_york)
    nobody = Segment("none", (Condition("town", "equals", "Atlantis"),))
    page = data_page(store, ("town",), segment=nobody)
    assert (page.rows, page.before, page.after) == ((), False, False)


def test_values_are_plain_and_literal(store, people) -> None:
    rows = walk_forward(store, COLUMNS + ("core_data.record_count",), 100)
    names = {r.values[0] for r in rows}
    assert "[bold]x[/]" in names
    for row in rows:
        assert all(v is None or type(v) in (str, int, float) for v in row.values)
        assert row.values[5] == row.tracking_id
        assert row.values[6] == 1
    page = data_page(store, ("tracking_id", "town"))  # core data without its prefix
    assert page.columns == ("core_data.tracking_id", "town")


def test_unknown_column_or_sort_is_refused(store, people) -> None:
    with pytest.raises(UnknownAttribute, match="first_name"):
        data_page(store, ("frist_name",))
    with pytest.raises(UnknownAttribute):
        data_page(store, ("town",), sort="size")
    with pytest.raises(ValueError):
        row = data_page(store, ("town",)).rows[0]
        data_page(store, ("town",), after=row, last=True)
