"""Merge history and merge candidates, as read models."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from distil_tui.core.models import MergeView
from distil_tui.core.profiles import merge_view
from distil_tui.core.schema import T_CANDIDATE, T_CUSTOMER, T_MERGE, T_RECORD
from distil_tui.core.store import Store


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
            "evidence": dict(self.evidence),
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
        .order_by(T_CANDIDATE.c.id)
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
                evidence=tuple((k, str(v)) for k, v in json.loads(cand["evidence"]).items()),
                a=side_a,
                b=side_b,
                import_run_id=cand["import_run_id"],
            ))
    return out
