"""The Data panel's reads: customers a page at a time, with the attributes
chosen as columns, in any column's order, of every customer or of a Segment.

Pages are found by keyset pagination, never by offset: a page starts just
after (or ends just before) a row the caller already holds, so that reading
page 10,000 of a million customers costs what page 1 does, and the caller
holds only the few pages around what is on screen.

The order of a page is the sort column's values, then the customer's id (its
creation order) as the tie-breaker, so that every customer has one place;
customers without a value come last in either direction.  Each of the two
parts (with a value, without) is read in its own index order: on SQLite an
index on the sort column serves ``(value, id)`` in both directions, and
``IS NULL`` with ``id`` after it.  Without an index SQLite sorts: about
0.1-0.25 s per page at a million customers (``benchmarks/data_panel.py``).
Values are compared as the store holds them (text by code point, numbers as
numbers), the same on SQLite and PostgreSQL for the text the store holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true, tuple_

from distil_tui.core.attributes import canonical_name, column
from distil_tui.core.schema import T_CUSTOMER
from distil_tui.core.segments import Segment, where
from distil_tui.core.store import Store

DATA_PAGE = 100


@dataclass(frozen=True)
class DataRow:
    """One customer: its id and Tracking ID (the row's key), the values of
    the columns asked for, as plain Python values (``str``, ``int``,
    ``float`` or ``None``), and ``position``: where it stands in the page's
    order, to ask for the rows after or before it."""

    customer_id: int
    tracking_id: str
    values: tuple[object, ...]
    position: tuple[object, int]  # (sort value, customer id); unsorted: (customer id, customer id)


@dataclass(frozen=True)
class DataPage:
    columns: tuple[str, ...]  # canonical attribute names, as asked for
    sort: str | None  # canonical name of the sort column, None: by customer id
    descending: bool
    rows: tuple[DataRow, ...]
    before: bool  # rows come before the first one
    after: bool  # rows come after the last one


@dataclass(frozen=True)
class _Part:
    """One stretch of the order: the customers with a value in the sort
    column, or those without.  ``key`` is what the part is ordered by: the
    sort value and the customer id, or the customer id alone."""

    condition: ColumnElement
    key: tuple[ColumnElement, ...]
    descending: bool

    def beyond(self, position: tuple[object, int], forward: bool) -> ColumnElement:
        """Rows after (``forward``) or before ``position`` in this part."""
        later = forward != self.descending
        if len(self.key) == 1:
            left, right = self.key[0], position[1]
        else:
            left, right = tuple_(*self.key), tuple_(*position)
        return left > right if later else left < right

    def order(self, forward: bool) -> list[ColumnElement]:
        ascending = forward != self.descending
        return [k.asc() if ascending else k.desc() for k in self.key]


def data_page(
    store: Store,
    columns: Sequence[str],
    *,
    sort: str | None = None,
    descending: bool = False,
    segment: Segment | None = None,
    after: DataRow | None = None,
    before: DataRow | None = None,
    last: bool = False,
    limit: int = DATA_PAGE,
) -> DataPage:
    """A page of customers with ``columns`` (attribute names, see
    ``attributes.catalog``), ordered by ``sort`` (``None``: customer id, the
    order customers were created in), of ``segment`` or every customer.

    The page is the first one; or the rows just after the row ``after``;
    or just before ``before``; or the last page (``last``).  Rows are in
    display order whichever way the page was read.  Raises
    ``attributes.UnknownAttribute`` for a name that is no attribute."""
    if sum((after is not None, before is not None, last)) > 1:
        raise ValueError("ask for the page after a row, before a row or the last page, not several")
    names = tuple(canonical_name(name) for name in columns)
    sort_name = canonical_name(sort) if sort is not None else None
    parts = _parts(sort_name, descending)
    filter_ = where(segment.conditions, segment.combine) if segment is not None and segment.conditions \
        else true()
    sort_value = column(sort_name) if sort_name is not None else T_CUSTOMER.c.id
    selected = (T_CUSTOMER.c.id, T_CUSTOMER.c.tracking_id, sort_value, *(column(n) for n in names))

    forward = before is None and not last
    start = after if after is not None else before
    if start is not None:
        index = _part_of(parts, start.position)
        beyond = parts[index].beyond(start.position, forward)
        walk = parts[index:] if forward else parts[index::-1]
    else:
        index, beyond = None, true()
        walk = parts if forward else parts[::-1]

    rows: list[tuple] = []
    with store.read() as conn:
        for n, part in enumerate(walk):
            wanted = limit + 1 - len(rows)
            if wanted <= 0:
                break
            stmt = (
                select(*selected)
                .where(filter_, part.condition, beyond if n == 0 and start is not None else true())
                .order_by(*part.order(forward))
                .limit(wanted)
            )
            rows.extend(tuple(r) for r in conn.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    page_rows = tuple(
        DataRow(customer_id=cid, tracking_id=tid, values=tuple(values),
                position=(value if sort_name is not None else cid, cid))
        for cid, tid, value, *values in rows
    )
    if forward:
        has_before, has_after = start is not None, more
    else:
        has_before, has_after = more, start is not None
    return DataPage(names, sort_name, descending, page_rows, has_before, has_after)


def _parts(sort_name: str | None, descending: bool) -> list[_Part]:
    cid = T_CUSTOMER.c.id
    if sort_name is None:
        return [_Part(true(), (cid,), descending)]
    value = column(sort_name)
    if getattr(value, "nullable", True) is False:  # the Tracking ID, the record count
        return [_Part(true(), (value, cid), descending)]
    # Without a value last in both directions; among them, customer id in
    # the direction of the sort.
    return [
        _Part(value.is_not(None), (value, cid), descending),
        _Part(value.is_(None), (cid,), descending),
    ]


def _part_of(parts: list[_Part], position: tuple[object, int]) -> int:
    """Which part a row stands in: the last part holds the rows without a
    value (when there are two parts)."""
    return len(parts) - 1 if len(parts) > 1 and position[0] is None else 0


__all__ = ["DATA_PAGE", "DataPage", "DataRow", "data_page"]
