"""What a reviewer reads and takes back: a merge candidate's two customers
compared field by field, the merge history a page at a time, and the undoing
of a review decision (approve or reject) so that the candidate waits again.

The decisions themselves are :func:`merges.approve`, :func:`merges.reject`
and :func:`merges.undo`; this module only reads, and reverses a decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select, true

from distil_tui.core import normalize as norm
from distil_tui.core.merges import MergeError, undo
from distil_tui.core.models import STANDARD_ATTRIBUTES, MergeView, evidence_json
from distil_tui.core.profiles import merge_view
from distil_tui.core.schema import T_CANDIDATE, T_CUSTOMER, T_IDENT, T_MERGE, T_NEVER, T_RECORD, T_RUN
from distil_tui.core.store import Store

HISTORY_PAGE = 100

# Attributes compared side by side, in the order a person reads a customer;
# the two address lines are one field, as probabilistic matching compares them.
_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("first_name", ("first_name",)),
    ("last_name", ("last_name",)),
    ("date_of_birth", ("date_of_birth",)),
    ("email_address", ("email_address",)),
    ("mobile_phone_no", ("mobile_phone_no",)),
    ("address", ("address_line_1", "address_line_2")),
    ("town", ("town",)),
    ("postcode", ("postcode",)),
    ("country", ("country",)),
    ("company_name", ("company_name",)),
)


# -- comparing a candidate's two customers -----------------------------------


@dataclass(frozen=True)
class FieldComparison:
    """One field of the two customers, and what the model made of it."""

    name: str
    value_a: str | None
    value_b: str | None
    level: str | None = None  # the comparison level in the candidate's evidence
    weight: float | None = None  # its match weight (log2 odds); None: not compared
    custom: bool = False  # a custom attribute (its name comes from the data)

    @property
    def agreement(self) -> str:
        """``"agree"``, ``"close"``, ``"disagree"``, or ``""`` when one side
        has no value.  The model's level decides where there is one (it
        compared the candidate's records); otherwise the folded values."""
        if self.level is not None:
            return {"exact": "agree", "else": "disagree"}.get(self.level, "close")
        if not self.value_a or not self.value_b:
            return ""
        return "agree" if norm.fold(self.value_a) == norm.fold(self.value_b) else "disagree"


@dataclass(frozen=True)
class ReviewSide:
    """One of the two customers of a candidate."""

    tracking_id: str
    display_name: str
    record_count: int
    sources: tuple[str, ...]  # the sources of its records, sorted
    source: str  # the record the candidate is about
    source_key: str


@dataclass(frozen=True)
class CandidateComparison:
    candidate_id: int
    created_at: str
    status: str
    reason: str  # the protection that held the link, or "probability_band"
    probability: float | None
    import_run_id: int | None
    a: ReviewSide
    b: ReviewSide
    fields: tuple[FieldComparison, ...]
    held_on: tuple[tuple[str, str], ...]  # the identifier the held link went through, if any
    shared_identifiers: tuple[tuple[str, str], ...]  # (kind, value) both customers hold

    @property
    def same_customer(self) -> bool:
        """The two records have come together since the link was held."""
        return self.a.tracking_id == self.b.tracking_id


def compare_candidate(store: Store, candidate_id: int) -> CandidateComparison | None:
    """The candidate's two customers as they are now, field by field, with
    the level and weight of each field its evidence holds; ``None`` if there
    is no such candidate."""
    with store.read() as conn:
        cand = conn.execute(select(T_CANDIDATE).where(T_CANDIDATE.c.id == candidate_id)).mappings().first()
        if cand is None:
            return None
        records = {
            rid: (cid, source, key)
            for rid, cid, source, key in conn.execute(
                select(T_RECORD.c.id, T_RECORD.c.customer_id, T_RECORD.c.source, T_RECORD.c.source_key)
                .where(T_RECORD.c.id.in_([cand["record_a_id"], cand["record_b_id"]]))
            )
        }
        cid_a, source_a, key_a = records[cand["record_a_id"]]
        cid_b, source_b, key_b = records[cand["record_b_id"]]
        customers = {
            row["id"]: row
            for row in conn.execute(select(T_CUSTOMER).where(T_CUSTOMER.c.id.in_([cid_a, cid_b]))).mappings()
        }
        side_a = _side(conn, customers[cid_a], source_a, key_a)
        side_b = _side(conn, customers[cid_b], source_b, key_b)
        shared = sorted(_identifiers(conn, cid_a) & _identifiers(conn, cid_b))

    evidence = json.loads(cand["evidence"])
    detail = {name: value for name, value in evidence.items() if isinstance(value, dict)}
    held_on = tuple(sorted((name, str(value)) for name, value in evidence.items() if not isinstance(value, dict)))
    return CandidateComparison(
        candidate_id=cand["id"],
        created_at=cand["created_at"],
        status=cand["status"],
        reason=cand["reason"],
        probability=cand["probability"],
        import_run_id=cand["import_run_id"],
        a=side_a,
        b=side_b,
        fields=_compare_fields(customers[cid_a], customers[cid_b], detail),
        held_on=held_on,
        shared_identifiers=tuple(shared),
    )


def _side(conn: Connection, customer, source: str, source_key: str) -> ReviewSide:
    counts = dict(conn.execute(
        select(T_RECORD.c.source, func.count()).where(T_RECORD.c.customer_id == customer["id"])
        .group_by(T_RECORD.c.source)
    ).all())
    name = " ".join(p for p in (customer["first_name"], customer["last_name"]) if p)
    return ReviewSide(
        tracking_id=customer["tracking_id"],
        display_name=name or customer["email_address"] or customer["mobile_phone_no"] or "(anonymous visitor)",
        record_count=sum(counts.values()),
        sources=tuple(sorted(counts)),
        source=source,
        source_key=source_key,
    )


def _identifiers(conn: Connection, customer_id: int) -> set[tuple[str, str]]:
    return {
        (kind, value) for kind, value in conn.execute(
            select(T_IDENT.c.kind, T_IDENT.c.value).join(T_RECORD, T_RECORD.c.id == T_IDENT.c.record_id)
            .where(T_RECORD.c.customer_id == customer_id)
        )
    }


def _compare_fields(a, b, detail: dict[str, dict]) -> tuple[FieldComparison, ...]:
    def value(customer, columns: tuple[str, ...]) -> str | None:
        return ", ".join(customer[c] for c in columns if customer[c]) or None

    out: list[FieldComparison] = []
    seen: set[str] = set()

    def add(name: str, value_a: str | None, value_b: str | None, *, custom: bool = False) -> None:
        compared = detail.get(name, {})
        if value_a is None and value_b is None and not compared:
            return
        seen.add(name)
        weight = compared.get("weight")
        out.append(FieldComparison(
            name, value_a, value_b, level=compared.get("level"),
            weight=float(weight) if weight is not None else None, custom=custom,
        ))

    for name, columns in _FIELDS:
        add(name, value(a, columns), value(b, columns))
    custom_a, custom_b = json.loads(a["custom"]), json.loads(b["custom"])
    for name in sorted(set(custom_a) | set(custom_b)):
        if name not in seen:
            add(name, _text(custom_a.get(name)), _text(custom_b.get(name)), custom=True)
    # Evidence about a field neither customer shows any more: its compared values.
    for name in sorted(set(detail) - seen):
        values = list(detail[name].get("values") or ()) + [None, None]
        add(name, _text(values[0]), _text(values[1]), custom=name not in STANDARD_ATTRIBUTES)
    return tuple(out)


def compared_fields(evidence: tuple[tuple[str, str], ...]) -> tuple[FieldComparison, ...]:
    """The per-field detail of a probabilistic link (a merge's or a
    candidate's :func:`models.evidence_items`) as the compared values, in
    the order of the side-by-side comparison; empty for a link made on an
    identifier."""
    order = {name: index for index, (name, _) in enumerate(_FIELDS)}
    fields = []
    for name, detail in evidence_json(evidence).items():
        if not isinstance(detail, dict) or "level" not in detail:
            continue
        values = [*(detail.get("values") or ()), None, None]
        weight = detail.get("weight")
        fields.append(FieldComparison(
            name, _text(values[0]), _text(values[1]), level=detail["level"],
            weight=float(weight) if weight is not None else None, custom=name not in order,
        ))
    return tuple(sorted(fields, key=lambda f: (order.get(f.name, len(order)), f.name)))


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- taking a review decision back ---------------------------------------------


def unreject(store: Store, candidate_id: int) -> None:
    """Take back a reviewer's rejection: the candidate waits for review again
    and the never-merge constraint the rejection wrote is gone (one written
    for another reason, such as an undo, stays)."""
    with store.write() as conn:
        _decided(conn, candidate_id, "rejected")
        # The reason merges.reject gives the never-merges it writes (one
        # between every record of one customer and every record of the other).
        conn.execute(T_NEVER.delete().where(T_NEVER.c.reason == f"rejected candidate #{candidate_id}"))
        _reopen(conn, candidate_id)


def unapprove(store: Store, candidate_id: int, merge_id: int | None) -> None:
    """Take back a reviewer's approval: undo the merge it made (``merge_id``,
    what :func:`merges.approve` returned; ``None`` if it merged nothing), and
    the candidate waits for review again, without the never-merge that an
    undo leaves between the two.  Raises :class:`MergeError` when the merge
    cannot be undone (later changes to the same customer stand)."""
    with store.read() as conn:
        _decided(conn, candidate_id, "approved")
    if merge_id is not None:
        # An undo is its own transaction; reopening the candidate follows it.
        # Between the two the pair is simply kept apart, as any undo keeps it.
        undo(store, merge_id)
    with store.write() as conn:
        if merge_id is not None:
            conn.execute(T_NEVER.delete().where(T_NEVER.c.reason == f"undo of merge #{merge_id}"))
        _reopen(conn, candidate_id)


def _decided(conn: Connection, candidate_id: int, status: str):
    cand = conn.execute(select(T_CANDIDATE).where(T_CANDIDATE.c.id == candidate_id)).mappings().first()
    if cand is None:
        raise MergeError(f"no merge candidate #{candidate_id}")
    # An undone approval's merge is already gone: reopening it is what is left.
    allowed = {status, "undone"} if status == "approved" else {status}
    if cand["status"] not in allowed:
        raise MergeError(f"merge candidate #{candidate_id} is {cand['status']}, not {status}")
    return cand


def _reopen(conn: Connection, candidate_id: int) -> None:
    conn.execute(T_CANDIDATE.update().where(T_CANDIDATE.c.id == candidate_id)
                 .values(status="pending", decided_at=None))


# -- the merge history, a page at a time ---------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """A merge, split or undo, with the import that made it."""

    merge: MergeView
    import_source: str | None
    import_file: str | None
    undone_by: int | None  # the undo that undid this merge or split
    undid: int | None  # for an undo: the merge or split it undid

    @property
    def moved(self) -> tuple[str, str]:
        """(from, to) Tracking IDs of the records that moved.  An undo sends
        them back the way the change it undid brought them."""
        m = self.merge
        if m.action == "undo":
            if m.undid_split:
                return m.retired_tracking_id, m.surviving_tracking_id
            return m.surviving_tracking_id, m.retired_tracking_id
        return m.moved

    @property
    def can_undo(self) -> bool:
        return self.merge.action != "undo" and not self.merge.undone


@dataclass(frozen=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]  # newest first
    total: int  # entries matching the filter, on every page
    newer: bool  # entries newer than the first exist
    older: bool  # entries older than the last exist


def history_page(
    store: Store, text: str = "", *, before: int | None = None, after: int | None = None,
    limit: int = HISTORY_PAGE,
) -> HistoryPage:
    """A page of the merge history, newest first: the newest entries, those
    just older than merge id ``before``, or those just newer than ``after``
    (keyset pagination).  ``text`` keeps entries where every word appears in
    the action, rule, Tracking IDs, decider, evidence, time or import source
    and file (``#12`` or ``12`` also finds merge and import 12)."""
    undid = T_MERGE.alias("undid")
    condition = _history_filter(text)
    base = (
        select(
            T_MERGE, T_RUN.c.source.label("import_source"), T_RUN.c.file.label("import_file"),
            undid.c.id.label("undid_id"),
        )
        .outerjoin(T_RUN, T_RUN.c.id == T_MERGE.c.import_run_id)
        .outerjoin(undid, undid.c.undone_by_id == T_MERGE.c.id)
        .where(condition)
    )
    if after is not None:
        stmt = base.where(T_MERGE.c.id > after).order_by(T_MERGE.c.id).limit(limit)
    else:
        stmt = base.order_by(T_MERGE.c.id.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(T_MERGE.c.id < before)

    def beyond(*clause) -> bool:
        found = select(T_MERGE.c.id).outerjoin(T_RUN, T_RUN.c.id == T_MERGE.c.import_run_id)
        return bool(conn.execute(select(found.where(condition, *clause).exists())).scalar())

    with store.read() as conn:
        rows = conn.execute(stmt).mappings().all()
        if after is not None:
            rows = rows[::-1]
        total = conn.execute(
            select(func.count()).select_from(T_MERGE.outerjoin(T_RUN, T_RUN.c.id == T_MERGE.c.import_run_id))
            .where(condition)
        ).scalar_one()
        newer = bool(rows) and beyond(T_MERGE.c.id > rows[0]["id"])
        older = bool(rows) and beyond(T_MERGE.c.id < rows[-1]["id"])
    entries = tuple(
        HistoryEntry(
            merge=merge_view(row), import_source=row["import_source"], import_file=row["import_file"],
            undone_by=row["undone_by_id"], undid=row["undid_id"],
        )
        for row in rows
    )
    return HistoryPage(entries, total, newer, older)


def _history_filter(text: str):
    columns = (
        T_MERGE.c.action, T_MERGE.c.rule, T_MERGE.c.surviving_tracking_id, T_MERGE.c.retired_tracking_id,
        T_MERGE.c.decided_by, T_MERGE.c.evidence, T_MERGE.c.created_at, T_RUN.c.source, T_RUN.c.file,
    )
    words = []
    for word in text.split():
        matches = [column.icontains(word, autoescape=True) for column in columns]
        number = word.removeprefix("#")
        if number.isdigit():
            matches += [T_MERGE.c.id == int(number), T_MERGE.c.import_run_id == int(number)]
        words.append(or_(*matches))
    return and_(true(), *words)
