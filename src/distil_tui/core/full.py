"""``resolve --full``: re-resolve every record from scratch.

All records are linked again at once, by the same rules as an import
(identifier groups, then probabilistic matching over all records, with every
never-merge constraint), and the outcome is written back so that Tracking IDs
move as little as possible: each current customer belongs to the new
customer that holds its earliest record, and a new customer keeps the
Tracking ID of the oldest customer that belongs to it.  The others that
belong to it are merged into it (recorded, their IDs retired and still
resolving); a new customer that no current customer belongs to is split off
under a new Tracking ID.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select

from distil_tui.core import tracking
from distil_tui.core.bulk import paused_gc
from distil_tui.core.merges import Merge, merge_many, pending_pairs, refresh_customers
from distil_tui.core.models import ImportProgress
from distil_tui.core.resolve import probabilistic
from distil_tui.core.resolve.comparison import match_fields
from distil_tui.core.resolve.linker import Linker, NodeFacts, identified_at
from distil_tui.core.resolve.model import FSModel
from distil_tui.core.resolve.settings import ResolutionSettings
from distil_tui.core.resolve.survivorship import RecordFacts, name_keys
from distil_tui.core.schema import T_CANDIDATE, T_CUSTOMER, T_MERGE, T_RECORD
from distil_tui.core.store import Store, bulk_insert, json_text, json_value, rows_in
from distil_tui.settings import default_region


@dataclass(frozen=True)
class FullResolveSummary:
    records: int
    customers_before: int
    customers_after: int
    merges_made: int
    customers_split_off: int
    candidates_created: int


class ResolveCancelled(Exception):
    """Cancelled; nothing was changed."""


def resolve_full(store: Store, *, resolution: ResolutionSettings | None = None,
                 progress=None, cancel: threading.Event | None = None) -> FullResolveSummary:
    settings = resolution or ResolutionSettings()
    report = progress or (lambda _p: None)
    region = default_region()

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise ResolveCancelled("re-resolve cancelled; nothing was changed")

    with paused_gc(), store.write() as conn:
        now = store.now()
        records = conn.execute(
            select(T_RECORD.c.id, T_RECORD.c.customer_id, T_RECORD.c.kind, T_RECORD.c.attributes)
            .order_by(T_RECORD.c.id)
        ).all()
        report(ImportProgress("resolving", 0, len(records)))
        relinked = relink(conn, records, settings, region,
                          probabilistic.load_model(store, conn, settings.extra_fields), train=True)
        check_cancel()
        report(ImportProgress("writing", 0, len(records)))
        merges, split, candidates = _write(store, conn, now, relinked, records, rule="resolve --full",
                                           import_run_id=None)
        customers_before = len({r.customer_id for r in records})
        after = conn.execute(select(func.count()).select_from(T_CUSTOMER)).scalar_one()
        return FullResolveSummary(len(records), customers_before, after, merges, split, candidates)


def resolve_neighbourhood(store: Store, conn: Connection, customer_ids: set[int], *,
                          settings: ResolutionSettings, region: str, model: FSModel | None,
                          now: str, import_run_id: int | None) -> tuple[int, int]:
    """Re-resolve from scratch the records of these customers and of every
    customer sharing an identifier with them, inside the caller's
    transaction; returns (merges made, customers split off).

    An import calls this for the customers its protections held apart.  A
    link made earlier can look different once more is known: a nameless
    newsletter row with a household's mailbox joins the first of the
    household to arrive, and becomes ambiguous when the second does.  Going
    over the neighbourhood as ``resolve --full`` goes over everything makes
    the grouping the same whatever the order of the imports."""
    customers = _with_neighbours(conn, customer_ids)
    records = [tuple(r) for r in rows_in(
        conn, "SELECT id, customer_id, kind, attributes FROM source_record WHERE customer_id IN ({in})",
        sorted(customers))]
    records.sort()
    relinked = relink(conn, records, settings, region, model, train=False)
    clusters: dict[object, set[int]] = defaultdict(set)
    for rid, _cid, _kind, _attrs in records:
        clusters[relinked.cluster(rid)].add(rid)
    now_grouped: dict[int, set[int]] = defaultdict(set)
    for rid, cid, _kind, _attrs in records:
        now_grouped[cid].add(rid)
    if {frozenset(c) for c in clusters.values()} == {frozenset(c) for c in now_grouped.values()}:
        return 0, 0
    # The import's questions about these records are asked again, as the
    # new grouping raises them.
    ids = [r[0] for r in records]
    stale = [cid for (cid,) in rows_in(
        conn, "SELECT id FROM merge_candidate WHERE status = 'pending' AND import_run_id = ? "
              "AND record_a_id IN ({in})", ids, (import_run_id,))]
    for start in range(0, len(stale), 500):
        conn.execute(T_CANDIDATE.delete().where(T_CANDIDATE.c.id.in_(stale[start:start + 500])))
    merges, split, _candidates = _write(store, conn, now, relinked, records, rule="re-resolution",
                                        import_run_id=import_run_id)
    return merges, split


# A value held by more records than this is generic (a shop's own phone):
# its holders are not brought into a neighbourhood.
MAX_NEIGHBOURS_PER_VALUE = 20


def _with_neighbours(conn: Connection, customer_ids: set[int]) -> set[int]:
    """These customers and those holding one of their identifiers."""
    found = set(customer_ids)
    values: set[tuple[str, str]] = set()
    sql = ("SELECT i.kind, i.value FROM identifier i JOIN source_record r ON r.id = i.record_id "
           "WHERE r.customer_id IN ({in})")
    values.update(rows_in(conn, sql, sorted(customer_ids)))
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in values:
        by_kind[kind].append(value)
    sql = ("SELECT i.value, r.customer_id FROM identifier i JOIN source_record r ON r.id = i.record_id "
           "WHERE i.kind = ? AND i.value IN ({in})")
    for kind, vals in by_kind.items():
        holders: dict[str, set[int]] = defaultdict(set)
        for value, cid in rows_in(conn, sql, sorted(vals), (kind,)):
            holders[value].add(cid)
        for cids in holders.values():
            if len(cids) <= MAX_NEIGHBOURS_PER_VALUE:
                found |= cids
    return found


@dataclass
class Relinked:
    """What :func:`relink` made: the linker, and each record's node in it."""

    linker: Linker
    node: dict[int, tuple]

    def cluster(self, record_id: int):
        return self.linker.find(self.node[record_id])


def relink(conn: Connection, records, settings: ResolutionSettings, region: str,
           model: FSModel | None, *, train: bool) -> Relinked:
    """Link ``records`` (id, customer id, kind, attributes) from scratch, by
    the rules of an import: reviewers' approvals first, then identifier
    groups, then probabilistic matching among them, with every never-merge
    constraint between them."""
    ids = [r[0] for r in records]
    wanted = set(ids)
    values = {rid: json_value(attrs) for rid, _cid, _kind, attrs in records}
    identifiers: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for rid, kind, value in rows_in(conn, "SELECT record_id, kind, value FROM identifier "
                                          "WHERE record_id IN ({in})", ids):
        identifiers[rid].add((kind, value))
    never: dict[int, set[int]] = defaultdict(set)
    for a, b in rows_in(conn, "SELECT record_a_id, record_b_id FROM never_merge WHERE record_a_id IN ({in})", ids):
        if b in wanted:
            never[a].add(b)
            never[b].add(a)
    identify_seen = dict(rows_in(conn, "SELECT id, first_seen FROM source_record "
                                       "WHERE kind = 'identify' AND id IN ({in})", ids))
    approved = [(a, b) for a, b in rows_in(
        conn, "SELECT record_a_id, record_b_id FROM merge_candidate WHERE status = 'approved' "
              "AND record_a_id IN ({in}) ORDER BY id", ids) if b in wanted]

    # Nodes are named by what the records are, not by their ids (which
    # follow the order of imports): where the rules must choose (the first
    # cluster tried, the cluster that keeps its root), they choose the same
    # way whatever order the records came in.
    keys = dict((rid, (source, key)) for rid, source, key in rows_in(
        conn, "SELECT id, source, source_key FROM source_record WHERE id IN ({in})", ids))
    node = {rid: ("r", (*keys[rid], rid)) for rid in ids}
    linker = Linker(settings.protections)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for rid, _cid, kind, _attrs in sorted(records, key=lambda r: node[r[0]]):
        linker.add(node[rid], NodeFacts(
            identifiers=identifiers[rid],
            names=name_keys([RecordFacts(rid, kind, None, None, values[rid])]),
            never_merge={node[other] for other in never[rid]},
            identified_at=identified_at([(kind, identify_seen.get(rid), identifiers[rid])]),
        ))
        for ident in sorted(identifiers[rid]):
            groups[ident].append(node[rid])
    for a, b in approved:
        linker.join_decided(node[a], node[b])
    linker.link_groups(groups)

    extra = settings.extra_fields
    fields = [(node[rid], f) for rid, _cid, kind, _attrs in sorted(records, key=lambda r: node[r[0]])
              if kind != "visitor" and not (f := match_fields(values[rid], extra, region)).is_empty()]
    pairs, _model = probabilistic.match(
        fields, extra_fields=extra, stored_candidates=lambda _room: {},
        population=lambda: [f for _n, f in fields],
        same_cluster=lambda a, b: linker.find(a) == linker.find(b),
        stored_model=model, stored_records=lambda: 0, min_probability=settings.review_probability,
        train=train,
    )
    linker.link_scored(pairs, auto=settings.auto_merge_probability,
                       review=settings.review_probability, max_size=settings.max_auto_cluster_size)
    return Relinked(linker, node)


def record_of(node) -> int:
    """The record id of a node of :func:`relink`."""
    return node[1][-1]


def _write(store: Store, conn: Connection, now: str, relinked: Relinked, records, *, rule: str,
           import_run_id: int | None) -> tuple[int, int, int]:
    """Make the customers of ``records`` the linker's clusters, moving
    Tracking IDs as little as possible; returns (merges, split off, new
    merge candidates)."""
    owner = {rid: cid for rid, cid, _kind, _attrs in records}
    tracking_of = dict(rows_in(conn, "SELECT id, tracking_id FROM customer WHERE id IN ({in})",
                               sorted(set(owner.values()))))
    first_record: dict[int, int] = {}
    for rid, cid, _kind, _attrs in records:
        first_record.setdefault(cid, rid)
    # New customers, as the clusters' record ids, in order of first record.
    clusters: dict[object, list[int]] = defaultdict(list)
    for rid, _cid, _kind, _attrs in records:
        clusters[relinked.cluster(rid)].append(rid)
    ordered = sorted(clusters.values(), key=lambda rids: rids[0])
    belongs: dict[int, list[int]] = defaultdict(list)  # cluster index -> customers
    cluster_of = {rid: i for i, rids in enumerate(ordered) for rid in rids}
    for cid, rid in sorted(first_record.items()):
        belongs[cluster_of[rid]].append(cid)

    merges = split = 0
    target: dict[int, int] = {}  # cluster index -> customer id it becomes
    fresh = [i for i in range(len(ordered)) if not belongs[i]]
    new_ids = tracking.allocate(store, conn, len(fresh))
    for i, tid in zip(fresh, new_ids, strict=True):
        target[i] = conn.execute(T_CUSTOMER.insert().values(tracking_id=tid)).inserted_primary_key[0]
        tracking_of[target[i]] = tid
        split += 1
    to_merge: list[Merge] = []
    for i in range(len(ordered)):
        if i in target:
            continue
        keep, *others = sorted(belongs[i])
        target[i] = keep
        for gone in others:
            before = {
                "surviving": sorted(r for r, c in owner.items() if c == keep),
                "retired": sorted(r for r, c in owner.items() if c == gone),
            }
            to_merge.append(Merge(keep, gone, tracking_of[keep], tracking_of[gone], rule=rule,
                                  evidence={"resolve": rule}, probability=None, membership_before=before))
            for r in before["retired"]:
                owner[r] = keep
    merge_many(conn, to_merge, now=now, decided_by="automatic", import_run_id=import_run_id)
    merges = len(to_merge)
    # Records that now belong elsewhere: each (from, to) move is a split,
    # recorded so that it shows in the history and can be undone.
    moves: dict[tuple[int, int], list[int]] = defaultdict(list)
    for rid, _c, _k, _a in records:
        if owner[rid] != target[cluster_of[rid]]:
            moves[(owner[rid], target[cluster_of[rid]])].append(rid)
    for (source, dest), moved in sorted(moves.items()):
        members = sorted(r for r, c in owner.items() if c == source)
        conn.execute(T_MERGE.insert().values(
            created_at=now, action="split", rule=rule, surviving_customer_id=source,
            surviving_tracking_id=tracking_of[source], retired_tracking_id=tracking_of[dest],
            evidence=json_text(_why_split(relinked.linker, set(moved), set(members) - set(moved))),
            decided_by="automatic", import_run_id=import_run_id,
            membership_before=json_text({"surviving": members, "retired": moved}),
        ))
        conn.execute(
            T_RECORD.update().where(T_RECORD.c.id == bindparam("rid")).values(customer_id=dest),
            [{"rid": rid} for rid in moved],
        )
        for rid in moved:
            owner[rid] = dest
    # Every record of a customer that gained or lost records says why it is
    # where it is now: the union that brought it into its cluster, or
    # nothing if it founded it.  Not only the moved ones: a record that
    # stayed may now be what joined the newcomers (it came second in the
    # relinking), and would otherwise leave the customer unexplained.
    first_owner: dict[int, set[int]] = defaultdict(set)
    for rid, cid, _kind, _attrs in records:
        first_owner[cid].add(rid)
    relinked_rows = [{"rid": rid, "why": _link_of(relinked, rid)}
                     for i, rids in enumerate(ordered) if set(rids) != first_owner.get(target[i], set())
                     for rid in rids]
    if relinked_rows:
        conn.execute(T_RECORD.update().where(T_RECORD.c.id == bindparam("rid")).values(link=bindparam("why")),
                     relinked_rows)
    # Every current customer is now a target or was merged into one: each
    # belongs to the cluster of its earliest record, which keeps that record.
    refresh_customers(conn, set(target.values()))
    candidates = _held_candidates(conn, now, relinked.linker, import_run_id)
    return merges, split, candidates


def _link_of(relinked: Relinked, record_id: int) -> str:
    union = relinked.linker.joined_by.get(relinked.node[record_id])
    return json_text(union.why()) if union is not None else "{}"


def _why_split(linker: Linker, moved: set[int], stayed: set[int]) -> dict[str, str]:
    """Evidence of a split: the held link between the records that left and
    those that stayed (a shared value that became ambiguous, a name
    conflict...)."""
    fallback = None
    for held in linker.held:
        sides = {record_of(held.left), record_of(held.right)}
        if sides & moved and sides & stayed:
            return {"held": held.reason, held.kind: held.value}
        if fallback is None and sides & (moved | stayed):
            fallback = {"held": held.reason, held.kind: held.value}
    return fallback or {"held": "re-resolved"}


def _held_candidates(conn: Connection, now: str, linker: Linker, import_run_id: int | None) -> int:
    """Merge candidates for the links the protections held, one per pair
    of customers not already waiting for review."""
    held = list(linker.held)
    if not held:
        return 0
    rids = sorted({record_of(n) for h in held for n in (h.left, h.right)})
    customer_of = dict(rows_in(conn, "SELECT id, customer_id FROM source_record WHERE id IN ({in})", rids))
    pending = pending_pairs(conn)
    out = []
    for h in held:
        a, b = record_of(h.left), record_of(h.right)
        pair = frozenset((customer_of[a], customer_of[b]))
        if len(pair) < 2 or pair in pending:
            continue
        pending[pair] = h.reason != "probability_band"
        out.append({
            "created_at": now, "record_a_id": a, "record_b_id": b, "probability": h.probability,
            "reason": h.reason, "evidence": json_text(h.evidence or {h.kind: h.value}),
            "status": "pending", "import_run_id": import_run_id,
        })
    bulk_insert(conn, T_CANDIDATE, out)
    return len(out)
