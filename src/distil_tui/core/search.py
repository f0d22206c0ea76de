"""Customer search by name, email, phone or Tracking ID.

Every lookup is a B-tree range scan on a folded, indexed column (``col >=
prefix AND col < prefix + U+FFFF``), which answers a prefix in well under a
millisecond; plain ``LIKE`` would scan the table.  A name query's words may
come in any order; each must start a word of the first name, last name or
email address, the last word being the one still typed.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, or_, select

from distil_tui.core import normalize as norm
from distil_tui.core.models import CustomerHit
from distil_tui.core.profiles import find_customer
from distil_tui.core.schema import T_CUSTOMER
from distil_tui.core.store import Store
from distil_tui.settings import default_region

_HIGH = "\uffff"
_WORD_SPLIT = re.compile(r"[^\w]+")
_SCAN_LIMIT = 2000  # rows fetched per range before filtering by the other words

_HIT_COLUMNS = (
    T_CUSTOMER.c.id,
    T_CUSTOMER.c.tracking_id,
    T_CUSTOMER.c.first_name,
    T_CUSTOMER.c.last_name,
    T_CUSTOMER.c.email_address,
    T_CUSTOMER.c.mobile_phone_no,
    T_CUSTOMER.c.town,
    T_CUSTOMER.c.record_count,
    T_CUSTOMER.c.first_name_key,
    T_CUSTOMER.c.last_name_key,
    T_CUSTOMER.c.email_key,
    T_CUSTOMER.c.last_seen,
)


def search_customers(store: Store, query: str, limit: int = 20) -> list[CustomerHit]:
    """Customers matching ``query``, best first; with an empty query, the
    customers seen most recently."""
    with store.read() as conn:
        return _search(conn, query, limit)


def _search(conn: Connection, query: str, limit: int) -> list[CustomerHit]:
    folded = norm.fold(query) or ""
    if not folded:
        rows = conn.execute(
            select(*_HIT_COLUMNS)
            .order_by(T_CUSTOMER.c.last_seen.desc(), T_CUSTOMER.c.id.desc())
            .limit(limit)
        ).all()
        return [_hit(r, "recent") for r in rows]

    hits: dict[int, tuple[tuple, CustomerHit]] = {}

    # An identifier typed whole: Tracking ID (current or retired), phone, email.
    if len(folded) >= 6:
        found = find_customer(conn, query, default_region())
        if found:
            row = conn.execute(select(*_HIT_COLUMNS).where(T_CUSTOMER.c.id == found[0])).one()
            matched = "tracking_id" if found[1] or row.tracking_id == query.strip().upper() else "identifier"
            hits[row.id] = ((0,), _hit(row, matched))

    if "@" in folded:
        prefix = folded.replace(" ", "")
        rows = conn.execute(
            select(*_HIT_COLUMNS)
            .where(T_CUSTOMER.c.email_key >= prefix, T_CUSTOMER.c.email_key < prefix + _HIGH)
            .order_by(T_CUSTOMER.c.email_key)
            .limit(limit)
        ).all()
        for r in rows:
            rank = (1 if r.email_key == prefix else 2, r.email_key, r.id)
            hits.setdefault(r.id, (rank, _hit(r, "email_address")))
    else:
        words = [w for w in _WORD_SPLIT.split(folded) if w]
        if words:
            for r in _name_candidates(conn, words):
                rank = _name_rank(r, words)
                if rank is not None:
                    hits.setdefault(r.id, (rank, _hit(r, "name")))

    ordered = sorted(hits.values(), key=lambda pair: pair[0])
    return [hit for _rank, hit in ordered[:limit]]


def _name_candidates(conn: Connection, words: list[str]):
    """Rows whose first name, last name or email starts with the longest
    word: the most selective range."""
    anchor = max(words, key=len)
    cols = (T_CUSTOMER.c.first_name_key, T_CUSTOMER.c.last_name_key, T_CUSTOMER.c.email_key)
    seen = set()
    for col in cols:
        rows = conn.execute(
            select(*_HIT_COLUMNS)
            .where(col >= anchor, col < anchor + _HIGH)
            .order_by(col, T_CUSTOMER.c.id)
            .limit(_SCAN_LIMIT)
        ).all()
        for r in rows:
            if r.id not in seen:
                seen.add(r.id)
                yield r
    # A word inside a double-barrelled or multi-word name ("Smith-Jones").
    rows = conn.execute(
        select(*_HIT_COLUMNS)
        .where(or_(T_CUSTOMER.c.last_name_key.contains(" " + anchor),
                   T_CUSTOMER.c.last_name_key.contains("-" + anchor)))
        .limit(50)
    ).all() if len(anchor) >= 3 else []
    for r in rows:
        if r.id not in seen:
            seen.add(r.id)
            yield r


def _name_rank(row, words: list[str]) -> tuple | None:
    """Rank of a row for a name query, or ``None`` if a word matches nothing.
    Exact words before prefixes; then customers with more records; then
    name and id, so that ties are broken the same way every time."""
    first = row.first_name_key or ""
    last = row.last_name_key or ""
    email_local = (row.email_key or "").split("@", 1)[0]
    vocabulary = [w for w in _WORD_SPLIT.split(f"{first} {last} {email_local}") if w]
    exact = 0
    for word in words:
        if word in vocabulary:
            exact += 1
        elif not any(v.startswith(word) for v in vocabulary):
            return None
    return (1, -exact, -row.record_count, last, first, row.id)


def _hit(row, matched_on: str) -> CustomerHit:
    return CustomerHit(
        tracking_id=row.tracking_id,
        first_name=row.first_name,
        last_name=row.last_name,
        email_address=row.email_address,
        mobile_phone_no=row.mobile_phone_no,
        town=row.town,
        record_count=row.record_count,
        matched_on=matched_on,
    )
