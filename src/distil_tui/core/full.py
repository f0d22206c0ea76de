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

import json
import threading
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, select

from distil_tui.core import tracking
from distil_tui.core.merges import merge_customers, refresh_customers
from distil_tui.core.models import ImportProgress
from distil_tui.core.resolve import probabilistic
from distil_tui.core.resolve.comparison import match_fields
from distil_tui.core.resolve.linker import Linker, NodeFacts
from distil_tui.core.resolve.settings import ResolutionSettings
from distil_tui.core.resolve.survivorship import RecordFacts, name_keys
from distil_tui.core.schema import T_CANDIDATE, T_CUSTOMER, T_IDENT, T_NEVER, T_RECORD
from distil_tui.core.store import Store, bulk_insert, json_text
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

    with store.write() as conn:
        now = store.now()
        records = conn.execute(
            select(T_RECORD.c.id, T_RECORD.c.customer_id, T_RECORD.c.kind, T_RECORD.c.attributes)
            .order_by(T_RECORD.c.id)
        ).all()
        report(ImportProgress("resolving", 0, len(records)))
        values = {rid: json.loads(attrs) for rid, _cid, _kind, attrs in records}
        owner = {rid: cid for rid, cid, _kind, _attrs in records}
        identifiers: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for rid, kind, value in conn.execute(select(T_IDENT.c.record_id, T_IDENT.c.kind, T_IDENT.c.value)):
            identifiers[rid].add((kind, value))
        never: dict[int, set[int]] = defaultdict(set)
        for a, b in conn.execute(select(T_NEVER.c.record_a_id, T_NEVER.c.record_b_id)):
            never[a].add(b)
            never[b].add(a)

        linker = Linker(settings.protections)
        groups: dict[tuple[str, str], list] = defaultdict(list)
        for rid, _cid, kind, _attrs in records:
            node = ("r", rid)
            linker.add(node, NodeFacts(
                identifiers=identifiers[rid],
                names=name_keys([RecordFacts(rid, kind, None, None, values[rid])]),
                never_merge={("r", other) for other in never[rid]},
            ))
            for ident in sorted(identifiers[rid]):
                groups[ident].append(node)
        linker.link_groups(groups)
        check_cancel()

        extra = settings.extra_fields
        fields = [(("r", rid), f) for rid, _cid, kind, _attrs in records
                  if kind != "visitor" and not (f := match_fields(values[rid], extra, region)).is_empty()]
        pairs, model = probabilistic.match(
            fields, extra_fields=extra, stored_candidates=lambda _keys: [],
            population=lambda: [f for _n, f in fields],
            same_cluster=lambda a, b: linker.find(a) == linker.find(b),
            stored_model=probabilistic.load_model(store, conn, extra),
            stored_records=0, min_probability=settings.review_probability,
        )
        linker.link_scored(pairs, auto=settings.auto_merge_probability,
                           review=settings.review_probability, max_size=settings.max_auto_cluster_size)
        check_cancel()
        report(ImportProgress("writing", 0, len(records)))
        return _write(store, conn, now, linker, records, owner)


def _write(store: Store, conn: Connection, now: str, linker: Linker, records, owner) -> FullResolveSummary:
    tracking_of = dict(conn.execute(select(T_CUSTOMER.c.id, T_CUSTOMER.c.tracking_id)).all())
    first_record: dict[int, int] = {}
    for rid, cid, _kind, _attrs in records:
        first_record.setdefault(cid, rid)
    # New customers, as the clusters' record ids, in order of first record.
    clusters: dict[object, list[int]] = defaultdict(list)
    for rid, _cid, _kind, _attrs in records:
        clusters[linker.find(("r", rid))].append(rid)
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
        split += 1
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
            merge_customers(
                conn, now=now, keep=keep, gone=gone, keep_tracking_id=tracking_of[keep],
                gone_tracking_id=tracking_of[gone], rule="resolve --full",
                evidence={"resolve": "full re-resolution"}, probability=None, decided_by="automatic",
                import_run_id=None, membership_before=before,
            )
            for r in before["retired"]:
                owner[r] = keep
            merges += 1
    moves = [(target[cluster_of[rid]], rid) for rid, _c, _k, _a in records if owner[rid] != target[cluster_of[rid]]]
    for cid, rid in moves:
        conn.execute(T_RECORD.update().where(T_RECORD.c.id == rid).values(customer_id=cid))
    # Every current customer is now a target or was merged into one: each
    # belongs to the cluster of its earliest record, which keeps that record.
    refresh_customers(conn, set(target.values()))
    candidates = _held_candidates(conn, now, linker, target, cluster_of)
    after = conn.execute(select(T_CUSTOMER.c.id)).all()
    return FullResolveSummary(len(records), len(tracking_of), len(after), merges, split, candidates)


def _held_candidates(conn: Connection, now: str, linker: Linker, target, cluster_of) -> int:
    pending = set()
    rows = conn.execute(
        select(T_CANDIDATE.c.record_a_id, T_CANDIDATE.c.record_b_id).where(T_CANDIDATE.c.status == "pending"))
    for a, b in rows:
        pending.add(frozenset((target[cluster_of[a]], target[cluster_of[b]])))
    out = []
    for held in linker.held:
        a, b = held.left[1], held.right[1]
        pair = frozenset((target[cluster_of[a]], target[cluster_of[b]]))
        if len(pair) < 2 or pair in pending:
            continue
        pending.add(pair)
        out.append({
            "created_at": now, "record_a_id": a, "record_b_id": b, "probability": held.probability,
            "reason": held.reason, "evidence": json_text(held.evidence or {held.kind: held.value}),
            "status": "pending", "import_run_id": None,
        })
    bulk_insert(conn, T_CANDIDATE, out)
    return len(out)
