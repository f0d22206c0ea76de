"""Customer Profiles: find a customer by any key and read everything about it."""

from __future__ import annotations

import json

from sqlalchemy import Connection, func, or_, select

from distil_tui.core import normalize as norm
from distil_tui.core.models import (
    STANDARD_ATTRIBUTES,
    CustomerProfile,
    EventView,
    IdentifierView,
    MergeView,
    SourceRecordView,
    evidence_items,
    explain,
)
from distil_tui.core.schema import T_CUSTOMER, T_EVENT, T_IDENT, T_MERGE, T_RECORD, T_RETIRED
from distil_tui.core.store import Store
from distil_tui.settings import default_region

RECENT_EVENTS = 50


def find_customer(conn: Connection, key: str, region: str | None = None) -> tuple[int, str | None] | None:
    """(customer id, retired Tracking ID it was found by) for a current or
    retired Tracking ID, an email address, a phone number or a source's
    customer id written ``source:id``; ``None`` if nothing matches."""
    key = key.strip()
    if not key:
        return None
    row = conn.execute(select(T_CUSTOMER.c.id).where(T_CUSTOMER.c.tracking_id == key.upper())).first()
    if row:
        return row[0], None
    row = conn.execute(select(T_RETIRED.c.customer_id).where(T_RETIRED.c.tracking_id == key.upper())).first()
    if row:
        return row[0], key.upper()
    lookups: list[tuple[str, str]] = []
    email = norm.email_identifier(key)
    if email:
        lookups.append(("email_address", email))
    phone = norm.phone_identifier(key, region or default_region())
    if phone:
        lookups.append(("mobile_phone_no", phone))
    if ":" in key:
        lookups.append(("customer_id", key))
    lookups.append(("anonymous_user_id", key))
    for kind, value in lookups:
        row = conn.execute(
            select(func.min(T_RECORD.c.customer_id))
            .join(T_IDENT, T_IDENT.c.record_id == T_RECORD.c.id)
            .where(T_IDENT.c.kind == kind, T_IDENT.c.value == value)
        ).first()
        if row and row[0] is not None:
            return row[0], None
    # A blocked email (a shared test mailbox) is no identifier, but a person
    # typing it still expects to find the customer who shows it.
    folded = norm.fold(key)
    row = conn.execute(
        select(func.min(T_CUSTOMER.c.id)).where(T_CUSTOMER.c.email_key == folded)
    ).first()
    if row and row[0] is not None:
        return row[0], None
    return None


def get_profile(store: Store, key: str, *, events: int = RECENT_EVENTS,
                events_offset: int = 0) -> CustomerProfile | None:
    """The profile of the customer ``key`` names, with one page of its
    events, newest first: ``events`` of them after the newest
    ``events_offset``."""
    with store.read() as conn:
        found = find_customer(conn, key)
        if found is None:
            return None
        return load_profile(conn, found[0], resolved_from=found[1], events=events,
                            events_offset=events_offset)


def load_profile(conn: Connection, customer_id: int, *, resolved_from: str | None = None,
                 events: int = RECENT_EVENTS, events_offset: int = 0) -> CustomerProfile:
    c = conn.execute(select(T_CUSTOMER).where(T_CUSTOMER.c.id == customer_id)).mappings().one()
    attributes = tuple((name, c[name]) for name in STANDARD_ATTRIBUTES if c[name])
    custom = tuple(sorted((k, str(v)) for k, v in json.loads(c["custom"]).items() if v))

    records = conn.execute(
        select(T_RECORD).where(T_RECORD.c.customer_id == customer_id).order_by(T_RECORD.c.id)
    ).mappings().all()
    source_of = {r["id"]: (r["source"], r["source_key"]) for r in records}
    sources = tuple(
        SourceRecordView(
            source=r["source"], source_key=r["source_key"], kind=r["kind"], file=r["file"],
            line=r["line"], first_seen=r["first_seen"], last_seen=r["last_seen"],
            values=tuple((k, str(v)) for k, v in json.loads(r["attributes"]).items()),
            joined_by=_joined_by(r["link"]),
        )
        for r in records
    )
    ident_rows = conn.execute(
        select(T_IDENT.c.kind, T_IDENT.c.value, T_IDENT.c.record_id)
        .join(T_RECORD, T_RECORD.c.id == T_IDENT.c.record_id)
        .where(T_RECORD.c.customer_id == customer_id)
        .order_by(T_IDENT.c.kind, T_IDENT.c.value, T_IDENT.c.record_id)
    ).all()
    identifiers = tuple(
        IdentifierView(kind, value, *source_of[rid]) for kind, value, rid in ident_rows
    )

    event_filter = T_EVENT.c.record_id.in_(
        select(T_RECORD.c.id).where(T_RECORD.c.customer_id == customer_id)
    )
    event_count = conn.execute(select(func.count()).select_from(T_EVENT).where(event_filter)).scalar()
    event_rows = conn.execute(
        select(T_EVENT.c.occurred_at, T_EVENT.c.event_type, T_EVENT.c.source,
               T_EVENT.c.anonymous_user_id, T_EVENT.c.properties)
        .where(event_filter)
        .order_by(T_EVENT.c.occurred_at.desc(), T_EVENT.c.id.desc())
        .limit(events).offset(max(events_offset, 0))
    ).all()
    recent = tuple(
        EventView(at, etype, src, anon, tuple((k, _text(v)) for k, v in json.loads(props).items()))
        for at, etype, src, anon, props in event_rows
    )

    retired = tuple(
        r[0] for r in conn.execute(
            select(T_RETIRED.c.tracking_id)
            .where(T_RETIRED.c.customer_id == customer_id)
            .order_by(T_RETIRED.c.retired_at, T_RETIRED.c.tracking_id)
        )
    )
    ids = [c["tracking_id"], *retired]
    merge_rows = conn.execute(
        select(T_MERGE)
        .where(or_(T_MERGE.c.surviving_tracking_id.in_(ids), T_MERGE.c.retired_tracking_id.in_(ids)))
        .order_by(T_MERGE.c.id.desc())
    ).mappings().all()
    return CustomerProfile(
        tracking_id=c["tracking_id"],
        first_seen=c["first_seen"],
        last_seen=c["last_seen"],
        attributes=attributes,
        custom_attributes=custom,
        identifiers=identifiers,
        sources=sources,
        recent_events=recent,
        event_count=event_count,
        events_offset=max(events_offset, 0),
        merges=tuple(merge_view(m) for m in merge_rows),
        retired_tracking_ids=retired,
        resolved_from=resolved_from,
    )


def _joined_by(link: str) -> str | None:
    data = json.loads(link)
    if not data:
        return None
    return explain(data["rule"], data.get("probability"), evidence_items(json.dumps(data["evidence"])))


def merge_view(m) -> MergeView:
    return MergeView(
        merge_id=m["id"],
        created_at=m["created_at"],
        action=m["action"],
        rule=m["rule"],
        surviving_tracking_id=m["surviving_tracking_id"],
        retired_tracking_id=m["retired_tracking_id"],
        probability=m["probability"],
        decided_by=m["decided_by"],
        import_run_id=m["import_run_id"],
        evidence=evidence_items(m["evidence"]),
        undone=m["undone_by_id"] is not None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def customer_count(store: Store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(T_CUSTOMER)).scalar_one()
