"""Merges: the one primitive that joins two customers, the reviewer's
approve and reject, undo, and the read models of history and candidates.

Every change of membership goes through :func:`merge_many` or
:func:`undo`, so that each is recorded with its evidence and the membership
before it, and retired Tracking IDs keep resolving.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from distil_tui.core import search_index
from distil_tui.core.models import MergeView, evidence_items, evidence_json
from distil_tui.core.profiles import merge_view
from distil_tui.core.resolve.survivorship import RecordFacts, customer_attributes
from distil_tui.core.schema import (
    T_CANDIDATE,
    T_CUSTOMER,
    T_IDENT,
    T_MERGE,
    T_NEVER,
    T_RECORD,
    T_RETIRED,
)
from distil_tui.core.store import Store, bulk_insert, bulk_update, driver_rows, json_text, rows_in


class MergeError(Exception):
    """A review or undo that cannot be done; the message says why."""


# -- the primitive -------------------------------------------------------


@dataclass(frozen=True)
class Merge:
    """One merge of customer ``gone`` into ``keep``, as :func:`merge_many` records it."""

    keep: int
    gone: int
    keep_tracking_id: str
    gone_tracking_id: str
    rule: str
    evidence: dict
    probability: float | None
    membership_before: dict  # record ids: {"surviving": [...], "retired": [...]}
    id: int | None = None  # the merge's id, or the next the table gives


def merge_many(conn: Connection, merges: Sequence[Merge], *, now: str, decided_by: str,
               import_run_id: int | None) -> list[int]:
    """Make these merges, in order: move every record of each ``gone`` to
    its ``keep``, retire ``gone``'s Tracking ID (and repoint the IDs it had
    retired), record the merge.  A later merge may absorb an earlier one's
    survivor: every record and retired ID ends with the last survivor, as
    if the merges were made one by one, in a few statements in all.
    Attributes are the caller's to refresh.  Returns the merge ids."""
    if not merges:
        return []
    survivor = {m.gone: m.keep for m in merges}
    if len(survivor) < len(merges):
        raise ValueError("a customer can be merged away only once")

    def last(cid: int) -> int:
        while cid in survivor:
            cid = survivor[cid]
        return cid

    rows = [dict(
        created_at=now, action="merge", rule=m.rule, surviving_customer_id=m.keep,
        surviving_tracking_id=m.keep_tracking_id, retired_tracking_id=m.gone_tracking_id,
        evidence=json_text(m.evidence), probability=m.probability, decided_by=decided_by,
        import_run_id=import_run_id, membership_before=json_text(m.membership_before),
    ) for m in merges]
    if all(m.id is not None for m in merges):
        ids = [m.id for m in merges]
        bulk_insert(conn, T_MERGE, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    else:
        ids = [conn.execute(T_MERGE.insert().values(**row)).inserted_primary_key[0] for row in rows]
    moves = [{"gone_id": m.gone, "last_id": last(m.gone)} for m in merges]
    conn.execute(T_RECORD.update().where(T_RECORD.c.customer_id == bindparam("gone_id"))
                 .values(customer_id=bindparam("last_id")), moves)
    conn.execute(T_RETIRED.update().where(T_RETIRED.c.customer_id == bindparam("gone_id"))
                 .values(customer_id=bindparam("last_id")), moves)
    bulk_insert(conn, T_RETIRED, [
        {"tracking_id": m.gone_tracking_id, "customer_id": last(m.gone), "merge_id": i, "retired_at": now}
        for m, i in zip(merges, ids, strict=True)])
    conn.execute(T_CUSTOMER.delete().where(T_CUSTOMER.c.id == bindparam("gone")),
                 [{"gone": m.gone} for m in merges])
    search_index.remove(conn, survivor)
    return ids


def merge_customers(
    conn: Connection, *, now: str, keep: int, gone: int, keep_tracking_id: str, gone_tracking_id: str,
    rule: str, evidence: dict, probability: float | None, decided_by: str,
    import_run_id: int | None, membership_before: dict, merge_id: int | None = None,
) -> int:
    """One merge (see :func:`merge_many`).  Returns the merge id."""
    merge = Merge(keep, gone, keep_tracking_id, gone_tracking_id, rule, evidence, probability,
                  membership_before, merge_id)
    return merge_many(conn, [merge], now=now, decided_by=decided_by, import_run_id=import_run_id)[0]


def customer_row(records: Iterable[RecordFacts]) -> dict[str, object]:
    """The customer table's columns for a customer made of these records."""
    row = customer_attributes(records)
    row["custom"] = json_text(row["custom"])
    return row


# The customer columns the search index is made of (search_index._NAME_SQL
# and _CONTACT_SQL).
SEARCHED_COLUMNS = ("first_name_key", "last_name_key", "email_key", "mobile_phone_no")


def write_customer_attributes(conn: Connection, records_of: Mapping[int, Iterable[RecordFacts]]) -> None:
    """Store the attributes of these customers, computed from their records,
    and index them for search as they now are (only those whose names, email
    or phone changed: most customers an import touches only gain a record or
    an event)."""
    updates = [{"id": cid, **customer_row(records)} for cid, records in sorted(records_of.items())]
    if not updates:
        return
    # A row of no records was just made (a split, an undo) and never indexed.
    sql = f"SELECT id, {', '.join(SEARCHED_COLUMNS)} FROM customer WHERE id IN ({{in}}) AND record_count > 0"
    indexed = {cid: tuple(values) for cid, *values in rows_in(conn, sql, [u["id"] for u in updates])}
    for start in range(0, len(updates), 5000):
        bulk_update(conn, T_CUSTOMER, updates[start:start + 5000])
    search_index.refresh(conn, [u["id"] for u in updates
                                if tuple(u[c] for c in SEARCHED_COLUMNS) != indexed.get(u["id"])])


def refresh_customers(conn: Connection, customer_ids: Iterable[int]) -> None:
    """Recompute the attributes of these customers from their records."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    records: dict[int, list[RecordFacts]] = {cid: [] for cid in ids}
    sql = "SELECT id, customer_id, kind, first_seen, last_seen, attributes FROM source_record WHERE customer_id IN ({in})"
    for rid, cid, kind, first, last, values in rows_in(conn, sql, ids):
        records[cid].append(RecordFacts(rid, kind, first, last, json.loads(values)))
    write_customer_attributes(conn, records)


def _members(conn: Connection, customer_id: int) -> list[int]:
    return sorted(r[0] for r in conn.execute(
        select(T_RECORD.c.id).where(T_RECORD.c.customer_id == customer_id)))


def _tracking_id(conn: Connection, customer_id: int) -> str:
    return conn.execute(select(T_CUSTOMER.c.tracking_id).where(T_CUSTOMER.c.id == customer_id)).scalar_one()


def pending_pairs(conn: Connection) -> dict[frozenset[int], bool]:
    """The customer pairs whose merge candidates wait for review, each with
    whether a protection holds it (rather than only a probability band)."""
    sql = ("SELECT ra.customer_id, rb.customer_id, c.reason FROM merge_candidate c "
           "JOIN source_record ra ON ra.id = c.record_a_id JOIN source_record rb ON rb.id = c.record_b_id "
           "WHERE c.status = 'pending'")
    pairs: dict[frozenset[int], bool] = {}
    # Read by every batch of an import: through the driver (see driver_rows).
    for a, b, reason in driver_rows(conn, sql):
        pair = frozenset((a, b))
        pairs[pair] = pairs.get(pair, False) or reason != "probability_band"
    return pairs


# -- review --------------------------------------------------------------


def _pending(conn: Connection, candidate_id: int):
    cand = conn.execute(select(T_CANDIDATE).where(T_CANDIDATE.c.id == candidate_id)).mappings().first()
    if cand is None:
        raise MergeError(f"no merge candidate #{candidate_id}")
    if cand["status"] != "pending":
        raise MergeError(f"merge candidate #{candidate_id} is already {cand['status']}")
    owner = dict(conn.execute(
        select(T_RECORD.c.id, T_RECORD.c.customer_id)
        .where(T_RECORD.c.id.in_([cand["record_a_id"], cand["record_b_id"]]))
    ).all())
    return cand, owner[cand["record_a_id"]], owner[cand["record_b_id"]]


def approve(store: Store, candidate_id: int) -> int | None:
    """Merge the two customers of a pending candidate, as the reviewer's
    decision (protections do not apply: a person decided).  Returns the
    merge id, or ``None`` if the two are already one customer."""
    with store.write() as conn:
        cand, a, b = _pending(conn, candidate_id)
        now = store.now()
        conn.execute(T_CANDIDATE.update().where(T_CANDIDATE.c.id == candidate_id)
                     .values(status="approved", decided_at=now))
        if a == b:
            return None
        keep, gone = min(a, b), max(a, b)
        merge_id = merge_customers(
            conn, now=now, keep=keep, gone=gone, keep_tracking_id=_tracking_id(conn, keep),
            gone_tracking_id=_tracking_id(conn, gone), rule=f"reviewer ({cand['reason']})",
            evidence=json.loads(cand["evidence"]), probability=cand["probability"],
            decided_by="reviewer", import_run_id=None,
            membership_before={"surviving": _members(conn, keep), "retired": _members(conn, gone)},
        )
        refresh_customers(conn, [keep])
        return merge_id


def reject(store: Store, candidate_id: int) -> None:
    """Record the reviewer's "not the same person": never-merge constraints
    between the two customers' records, which later imports respect."""
    with store.write() as conn:
        cand, a, b = _pending(conn, candidate_id)
        now = store.now()
        conn.execute(T_CANDIDATE.update().where(T_CANDIDATE.c.id == candidate_id)
                     .values(status="rejected", decided_at=now))
        sides = (_members(conn, a), _members(conn, b)) if a != b else ([cand["record_a_id"]], [cand["record_b_id"]])
        _keep_apart(conn, *sides, now, f"rejected candidate #{candidate_id}")


# Never-merge pairs one decision writes at the most; past it, each record of
# the smaller side is paired with the first records of the larger.
MAX_NEVER_PAIRS = 10_000


def _keep_apart(conn: Connection, side_a: list[int], side_b: list[int], now: str, reason: str) -> None:
    """Never-merge constraints between every record of one side and every
    record of the other.  A pair of anchors alone is not enough: re-linking
    from scratch (an import's neighbourhood, ``resolve --full``) could join
    two other records of the sides before the anchors meet."""
    small, large = sorted((sorted(side_a), sorted(side_b)), key=len)
    large = large[: max(1, MAX_NEVER_PAIRS // max(len(small), 1))]
    pairs = {(min(x, y), max(x, y)) for x in small for y in large if x != y}
    existing = set()
    for start in range(0, len(small), 500):
        part = small[start:start + 500]
        existing.update((a, b) for a, b in conn.execute(
            select(T_NEVER.c.record_a_id, T_NEVER.c.record_b_id).where(
                T_NEVER.c.record_a_id.in_(part) | T_NEVER.c.record_b_id.in_(part))))
    rows = [{"record_a_id": x, "record_b_id": y, "created_at": now, "reason": reason}
            for x, y in sorted(pairs - existing)]
    if rows:
        conn.execute(T_NEVER.insert(), rows)


# -- undo ----------------------------------------------------------------


def undo(store: Store, merge_id: int) -> int:
    """Separate the two sides of a merge: the retired Tracking ID comes back
    with its records (their identifiers and events follow them), the IDs it
    had retired resolve to it again, a never-merge constraint keeps the two
    apart, and the undo is recorded.  Returns the id of the undo record."""
    with store.write() as conn:
        m = conn.execute(select(T_MERGE).where(T_MERGE.c.id == merge_id)).mappings().first()
        if m is None:
            raise MergeError(f"no merge #{merge_id}")
        if m["action"] == "undo":
            raise MergeError(f"#{merge_id} is an undo; it cannot be undone")
        if m["undone_by_id"] is not None:
            raise MergeError(f"{m['action']} #{merge_id} was already undone by #{m['undone_by_id']}")
        _refuse_if_changed_since(conn, m)
        if m["action"] == "split":
            return _undo_split(conn, m, store.now())
        before = json.loads(m["membership_before"])
        retired_side = set(before["retired"])
        surviving_side = set(before["surviving"])
        survivor = conn.execute(
            select(T_RETIRED.c.customer_id).where(T_RETIRED.c.tracking_id == m["retired_tracking_id"])
        ).scalar_one()
        now = store.now()
        current = _members(conn, survivor)
        if not retired_side & set(current):
            raise MergeError(f"the records of merge #{merge_id} have moved on; undo the later merges first")

        # The retired customer comes back under its own Tracking ID.
        restored_tid = m["retired_tracking_id"]
        conn.execute(T_RETIRED.delete().where(T_RETIRED.c.tracking_id == restored_tid))
        restored = conn.execute(T_CUSTOMER.insert().values(tracking_id=restored_tid)).inserted_primary_key[0]
        moving = sorted(retired_side & set(current))
        # Records that arrived after the merge go with the side they share
        # more identifiers with; ties stay with the survivor.
        later = sorted(set(current) - retired_side - surviving_side)
        moving += [rid for rid in later if _leans_to(conn, rid, retired_side, surviving_side)]
        for chunk in range(0, len(moving), 500):
            conn.execute(T_RECORD.update().where(T_RECORD.c.id.in_(moving[chunk:chunk + 500]))
                         .values(customer_id=restored))
        # IDs that the restored customer had retired before resolve to it again.
        tids = {restored_tid}
        while True:
            rows = conn.execute(
                select(T_RETIRED.c.tracking_id).join(T_MERGE, T_MERGE.c.id == T_RETIRED.c.merge_id)
                .where(T_RETIRED.c.customer_id == survivor, T_MERGE.c.surviving_tracking_id.in_(tids),
                       T_RETIRED.c.tracking_id.not_in(tids))
            ).all()
            if not rows:
                break
            found = {r[0] for r in rows}
            conn.execute(T_RETIRED.update().where(T_RETIRED.c.tracking_id.in_(found)).values(customer_id=restored))
            tids |= found
        # The two customers as they now are, records that came later included.
        _keep_apart(conn, _members(conn, survivor), _members(conn, restored), now, f"undo of merge #{merge_id}")
        # An approval across the two sides (the one that made this merge) no
        # longer stands, nor counts as a labelled match; approvals within a
        # side are other decisions and stay.
        a, b = sorted(surviving_side), sorted(retired_side)
        conn.execute(
            T_CANDIDATE.update().where(
                T_CANDIDATE.c.status == "approved",
                (T_CANDIDATE.c.record_a_id.in_(a) & T_CANDIDATE.c.record_b_id.in_(b))
                | (T_CANDIDATE.c.record_a_id.in_(b) & T_CANDIDATE.c.record_b_id.in_(a)),
            ).values(status="undone", decided_at=now))
        undo_id = conn.execute(T_MERGE.insert().values(
            created_at=now, action="undo", rule=m["rule"], surviving_customer_id=survivor,
            surviving_tracking_id=_tracking_id(conn, survivor), retired_tracking_id=restored_tid,
            evidence=m["evidence"], probability=m["probability"], decided_by="reviewer",
            membership_before=json_text({"surviving": current, "retired": []}),
        )).inserted_primary_key[0]
        conn.execute(T_MERGE.update().where(T_MERGE.c.id == merge_id).values(undone_by_id=undo_id))
        refresh_customers(conn, [survivor, restored])
        return undo_id


def _refuse_if_changed_since(conn: Connection, m) -> None:
    """A merge or split is undone only while no later merge or split of the
    same customers stands (into them, out of them, or of them into another):
    those are undone first."""
    both = [m["surviving_tracking_id"], m["retired_tracking_id"]]
    later = conn.execute(
        select(T_MERGE.c.id).where(
            T_MERGE.c.id > m["id"], T_MERGE.c.action.in_(("merge", "split")),
            T_MERGE.c.undone_by_id.is_(None),
            T_MERGE.c.surviving_tracking_id.in_(both) | T_MERGE.c.retired_tracking_id.in_(both),
        ).order_by(T_MERGE.c.id.desc())
    ).all()
    if later:
        ids = ", ".join(f"#{r[0]}" for r in later)
        raise MergeError(f"{m['action']} #{m['id']} has later changes to the same customer; undo {ids} first")


def _customer_of(conn: Connection, tracking_id: str) -> int | None:
    """The active customer a current or retired Tracking ID names."""
    found = conn.execute(select(T_CUSTOMER.c.id).where(T_CUSTOMER.c.tracking_id == tracking_id)).scalar()
    if found is None:
        found = conn.execute(
            select(T_RETIRED.c.customer_id).where(T_RETIRED.c.tracking_id == tracking_id)).scalar()
    return found


def _undo_split(conn: Connection, m, now: str) -> int:
    """Put the records a split moved back with the customer they left.  An
    approved link between the two keeps re-resolution from splitting them
    again; a customer the split created and that is now empty is retired,
    its Tracking ID resolving to the customer the records rejoined."""
    before = json.loads(m["membership_before"])
    source = _customer_of(conn, m["surviving_tracking_id"])
    dest = _customer_of(conn, m["retired_tracking_id"])
    moved = sorted(set(before["retired"]) & set(_members(conn, dest))) if dest is not None else []
    if source is None or not moved:
        raise MergeError(f"the records of split #{m['id']} have moved on; undo the later changes first")
    # A decision that these records are not the customer's (a reviewer's
    # rejection, an undone merge) stands until it is itself taken back.
    staying = _members(conn, source)
    apart = conn.execute(select(T_NEVER.c.reason).where(
        (T_NEVER.c.record_a_id.in_(moved) & T_NEVER.c.record_b_id.in_(staying))
        | (T_NEVER.c.record_a_id.in_(staying) & T_NEVER.c.record_b_id.in_(moved))).limit(1)).scalar()
    if apart is not None:
        raise MergeError(f"the records of split #{m['id']} are kept apart from that customer "
                         f"({apart}); take that back first")
    conn.execute(T_RECORD.update().where(T_RECORD.c.id.in_(moved)).values(customer_id=source))
    stayed = sorted(set(before["surviving"]) - set(before["retired"]))
    if stayed:
        conn.execute(T_CANDIDATE.insert().values(
            created_at=now, record_a_id=min(stayed), record_b_id=min(moved), reason="undo of a split",
            probability=None, evidence=json_text({"undo": f"split #{m['id']}"}), status="approved",
            decided_at=now, import_run_id=None,
        ))
    undo_id = conn.execute(T_MERGE.insert().values(
        created_at=now, action="undo", rule=m["rule"], surviving_customer_id=source,
        surviving_tracking_id=_tracking_id(conn, source), retired_tracking_id=m["retired_tracking_id"],
        evidence=m["evidence"], probability=None, decided_by="reviewer",
        membership_before=json_text({"surviving": _members(conn, source), "retired": moved}),
    )).inserted_primary_key[0]
    conn.execute(T_MERGE.update().where(T_MERGE.c.id == m["id"]).values(undone_by_id=undo_id))
    if not _members(conn, dest):
        conn.execute(T_RETIRED.update().where(T_RETIRED.c.customer_id == dest).values(customer_id=source))
        conn.execute(T_RETIRED.insert().values(
            tracking_id=_tracking_id(conn, dest), customer_id=source, merge_id=undo_id, retired_at=now))
        conn.execute(T_CUSTOMER.delete().where(T_CUSTOMER.c.id == dest))
        search_index.remove(conn, [dest])
        refresh_customers(conn, [source])
    else:
        refresh_customers(conn, [source, dest])
    return undo_id


def _leans_to(conn: Connection, record_id: int, retired: set[int], surviving: set[int]) -> bool:
    """Does this record share more identifiers with the retired side?"""
    own = select(T_IDENT.c.value).where(T_IDENT.c.record_id == record_id)
    holders = {r[0] for r in conn.execute(
        select(T_IDENT.c.record_id).where(T_IDENT.c.value.in_(own), T_IDENT.c.record_id != record_id)
    )}
    return len(holders & retired) > len(holders & surviving)



@dataclass(frozen=True)
class CandidateSide:
    tracking_id: str
    first_name: str | None
    last_name: str | None
    email_address: str | None
    source: str
    source_key: str


@dataclass(frozen=True)
class CandidateView:
    candidate_id: int
    created_at: str
    status: str
    reason: str
    probability: float | None
    evidence: tuple[tuple[str, str], ...]
    a: CandidateSide
    b: CandidateSide
    import_run_id: int | None

    def to_json(self) -> dict:
        return {
            "candidate_id": self.candidate_id,
            "created_at": self.created_at,
            "status": self.status,
            "reason": self.reason,
            "probability": self.probability,
            "evidence": evidence_json(self.evidence),
            "a": self.a.__dict__,
            "b": self.b.__dict__,
            "import_run_id": self.import_run_id,
        }


def list_merges(store: Store, limit: int | None = None) -> list[MergeView]:
    """Every merge and undo, newest first."""
    with store.read() as conn:
        stmt = select(T_MERGE).order_by(T_MERGE.c.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        return [merge_view(m) for m in conn.execute(stmt).mappings()]


def pending_queue(store: Store) -> list[int]:
    """The ids of the candidates waiting for review, in the order of
    :func:`list_candidates`: what a review queue needs to move through them,
    read in SQL alone (a million-record store has tens of thousands)."""
    sql = ("SELECT c.id FROM merge_candidate c "
           "JOIN source_record ra ON ra.id = c.record_a_id JOIN source_record rb ON rb.id = c.record_b_id "
           "WHERE c.status = 'pending' AND ra.customer_id != rb.customer_id "
           "ORDER BY c.probability IS NULL, c.probability DESC, c.id")
    with store.read() as conn:
        return [cid for (cid,) in driver_rows(conn, sql)]


def list_candidates(store: Store, *, pending_only: bool = True, limit: int | None = None) -> list[CandidateView]:
    ra, rb = T_RECORD.alias("ra"), T_RECORD.alias("rb")
    ca, cb = T_CUSTOMER.alias("ca"), T_CUSTOMER.alias("cb")
    cols = lambda r, c: (c.c.tracking_id, c.c.first_name, c.c.last_name, c.c.email_address,  # noqa: E731
                         r.c.source, r.c.source_key)
    stmt = (
        select(T_CANDIDATE, *cols(ra, ca), *cols(rb, cb))
        .join(ra, ra.c.id == T_CANDIDATE.c.record_a_id)
        .join(rb, rb.c.id == T_CANDIDATE.c.record_b_id)
        .join(ca, ca.c.id == ra.c.customer_id)
        .join(cb, cb.c.id == rb.c.customer_id)
        # Most likely first: a reviewer's first decisions are then the quick
        # approvals, and the doubtful ones wait at the end of the queue.
        .order_by(T_CANDIDATE.c.probability.is_(None), T_CANDIDATE.c.probability.desc(), T_CANDIDATE.c.id)
    )
    if pending_only:
        # A pending pair whose records have since come together needs no review.
        stmt = stmt.where(T_CANDIDATE.c.status == "pending", ca.c.id != cb.c.id)
    if limit:
        stmt = stmt.limit(limit)
    width = len(T_CANDIDATE.c)
    out = []
    with store.read() as conn:
        for row in conn.execute(stmt):
            cand = row._mapping
            side_a = CandidateSide(*row[width : width + 6])
            side_b = CandidateSide(*row[width + 6 : width + 12])
            out.append(CandidateView(
                candidate_id=cand["id"],
                created_at=cand["created_at"],
                status=cand["status"],
                reason=cand["reason"],
                probability=cand["probability"],
                evidence=evidence_items(cand["evidence"]),
                a=side_a,
                b=side_b,
                import_run_id=cand["import_run_id"],
            ))
    return out
