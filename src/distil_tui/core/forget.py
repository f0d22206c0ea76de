"""Forget a customer: erase its personal data (Distil's data anonymisation).

What stays, so that the store stays consistent:
- the Customer and its Tracking ID (other systems may hold it; it carries no
  personal data), first and last seen, its record count;
- its Source records (file and line), which keep their place in the merge
  history: merges, splits and undos still name the same records, and can
  still be undone;
- its events' type and time, so that counts of page views or orders over
  time stay true; the events no longer say which browser they came from
  nor what they carried.

What goes:
- the customer's attributes, standard and custom (and their search keys);
- each record's attributes, raw row and link evidence; its key in its
  source (which may be an email or a customer id) is replaced by a keyed
  hash of it, so that keys stay unique;
- its identifiers, kept only as keyed hashes in ``forgotten_identifier``,
  so that a later import of the same value can be recognised and reported
  (:func:`forgotten_identifiers`) while the value cannot be read back;
- its events' anonymous id and properties;
- its records' blocking keys (probabilistic matching never finds it again);
- the values in the evidence of merges and merge candidates about it (the
  levels and weights stay); its pending merge candidates are withdrawn
  (status ``forgotten``): there is nothing left to review;
- its entries in the search index.

With its identifiers gone nothing would hold its records together when
everything is resolved again (``resolve --full``): approved links between
them (merge candidates with reason ``forgotten: kept together``) do, as an
undone split's do.

The keyed hash is BLAKE2b keyed with a random key made for the store on its
first forget (``meta.forget_key``).  Without the key a digest cannot be
tested against guessed values; anyone holding the whole store holds the key
too and can test a guess (that is what recognising a later import needs),
but cannot list the forgotten values.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from distil_tui.core import search_index
from distil_tui.core.models import STANDARD_ATTRIBUTES
from distil_tui.core.profiles import find_customer
from distil_tui.core.schema import (
    T_BLOCK,
    T_CANDIDATE,
    T_CUSTOMER,
    T_EVENT,
    T_FORGET,
    T_FORGOTTEN,
    T_IDENT,
    T_MERGE,
    T_META,
    T_RECORD,
    T_RETIRED,
)
from distil_tui.core.store import Store, json_text, json_value, rows_in

KEY_META = "forget_key"
FORGOTTEN_KEY_PREFIX = "forgotten:"
FORGOTTEN = "(forgotten)"
# Evidence keys that say why, not what: kept as they are.
_KEPT_EVIDENCE = frozenset({"held", "undo", "forget"})


class ForgetError(Exception):
    """A forget that cannot be done; the message says why."""


@dataclass(frozen=True)
class ForgetResult:
    forget_id: int
    tracking_id: str
    records: int  # source records erased
    identifiers: int  # identifiers removed (kept as keyed hashes)
    events: int  # events whose anonymous id and properties were erased


def identifier_digest(key: bytes, kind: str, value: str) -> str:
    """The keyed hash an identifier is remembered by once forgotten."""
    return hashlib.blake2b(f"{kind}\x00{value}".encode(), key=key, digest_size=16).hexdigest()


def _key(conn: Connection) -> bytes | None:
    """The store's forget key; ``None`` if nothing was ever forgotten."""
    text = conn.execute(select(T_META.c.value).where(T_META.c.key == KEY_META)).scalar()
    return bytes.fromhex(text) if text else None


def _make_key(store: Store, conn: Connection) -> bytes:
    found = _key(conn)
    if found is None:
        found = secrets.token_bytes(32)
        store.meta_set(conn, KEY_META, found.hex())
    return found


def forget(store: Store, key: str, *, region: str | None = None) -> ForgetResult:
    """Erase the personal data of the customer ``key`` names (a current or
    retired Tracking ID, an email address, a phone number, ``source:id``);
    raises :class:`ForgetError` if no customer matches.  One transaction.

    On SQLite the transaction runs with ``secure_delete`` (what it removes
    is overwritten, not left in free pages), and the write-ahead log is
    checkpointed afterwards, so that the old values do not linger in it."""
    try:
        result = _forget(store, key, region)
    finally:
        if store.is_sqlite:
            with store.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return result


def _forget(store: Store, key: str, region: str | None) -> ForgetResult:
    with store.write() as conn:
        found = find_customer(conn, key, region)
        if found is None:
            raise ForgetError(f"no customer for {key!r}")
        if store.is_sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
        cid = found[0]
        now = store.now()
        secret = _make_key(store, conn)
        tracking_id = conn.execute(select(T_CUSTOMER.c.tracking_id).where(T_CUSTOMER.c.id == cid)).scalar_one()
        records = conn.execute(select(T_RECORD.c.id, T_RECORD.c.source, T_RECORD.c.source_key)
                               .where(T_RECORD.c.customer_id == cid).order_by(T_RECORD.c.id)).all()
        record_ids = [r[0] for r in records]
        forget_id = conn.execute(T_FORGET.insert().values(
            tracking_id=tracking_id, forgotten_at=now)).inserted_primary_key[0]

        identifiers = sorted({(kind, value) for kind, value in rows_in(
            conn, "SELECT kind, value FROM identifier WHERE record_id IN ({in})", record_ids)})
        digests = {(kind, identifier_digest(secret, kind, value)) for kind, value in identifiers}
        known = set(_known(conn, digests))
        if digests - known:
            conn.execute(T_FORGOTTEN.insert(), [{"kind": k, "digest": d, "forget_id": forget_id}
                                                for k, d in sorted(digests - known)])
        events = 0
        for start in range(0, len(record_ids), 500):
            part = record_ids[start:start + 500]
            conn.execute(T_IDENT.delete().where(T_IDENT.c.record_id.in_(part)))
            conn.execute(T_BLOCK.delete().where(T_BLOCK.c.record_id.in_(part)))
            events += conn.execute(T_EVENT.update().where(T_EVENT.c.record_id.in_(part))
                                   .values(anonymous_user_id="", properties="{}")).rowcount
        if records:
            conn.execute(
                T_RECORD.update().where(T_RECORD.c.id == bindparam("rid"))
                .values(source_key=bindparam("new_key"), attributes="{}", raw="{}", link="{}",
                        match_fields=None),
                [{"rid": rid, "new_key": _forgotten_key(secret, source, skey)} for rid, source, skey in records],
            )
        conn.execute(T_CUSTOMER.update().where(T_CUSTOMER.c.id == cid).values(
            **{name: None for name in STANDARD_ATTRIBUTES}, custom="{}",
            first_name_key=None, last_name_key=None, email_key=None))
        search_index.remove(conn, [cid])
        _redact_history(conn, cid, tracking_id, record_ids)
        _keep_together(conn, record_ids, forget_id, now)
        conn.execute(T_FORGET.update().where(T_FORGET.c.id == forget_id).values(
            records=len(records), identifiers=len(identifiers), events=events))
        if store.is_sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete = OFF")  # the pooled connection as it was
        return ForgetResult(forget_id, tracking_id, len(records), len(identifiers), events)


def _forgotten_key(secret: bytes, source: str, key: str) -> str:
    """A record's key in its source, replaced by a keyed hash of it (still
    unique within the source); a key replaced before stays as it is."""
    if key.startswith(FORGOTTEN_KEY_PREFIX):
        return key
    return FORGOTTEN_KEY_PREFIX + identifier_digest(secret, "source_key", f"{source}\x00{key}")


def _known(conn: Connection, digests: set[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    by_kind: dict[str, list[str]] = {}
    for kind, digest in digests:
        by_kind.setdefault(kind, []).append(digest)
    for kind, values in by_kind.items():
        for (digest,) in rows_in(conn, "SELECT digest FROM forgotten_identifier WHERE kind = ? AND digest IN ({in})",
                                 sorted(values), (kind,)):
            yield kind, digest


def _redacted(text: str) -> str:
    evidence = json_value(text)
    if not isinstance(evidence, dict):
        return "{}"
    out: dict[str, object] = {}
    for name, value in evidence.items():
        if name in _KEPT_EVIDENCE:
            out[name] = value
        elif isinstance(value, dict):  # probabilistic detail: level and weight stay
            out[name] = {k: v for k, v in value.items() if k != "values"} | (
                {"values": [None, None]} if "values" in value else {})
        else:
            out[name] = FORGOTTEN
    return json_text(out)


def _redact_history(conn: Connection, cid: int, tracking_id: str, record_ids: list[int]) -> None:
    """Values out of the evidence of the merges and candidates about this
    customer; its pending candidates withdrawn."""
    tids = [tracking_id, *(r[0] for r in conn.execute(
        select(T_RETIRED.c.tracking_id).where(T_RETIRED.c.customer_id == cid)))]
    merges = conn.execute(select(T_MERGE.c.id, T_MERGE.c.evidence).where(
        T_MERGE.c.surviving_tracking_id.in_(tids) | T_MERGE.c.retired_tracking_id.in_(tids))).all()
    if merges:
        conn.execute(T_MERGE.update().where(T_MERGE.c.id == bindparam("mid")).values(evidence=bindparam("e")),
                     [{"mid": mid, "e": _redacted(text)} for mid, text in merges])
    candidates = []
    for start in range(0, len(record_ids), 500):
        part = record_ids[start:start + 500]
        candidates += conn.execute(select(T_CANDIDATE.c.id, T_CANDIDATE.c.evidence, T_CANDIDATE.c.status).where(
            T_CANDIDATE.c.record_a_id.in_(part) | T_CANDIDATE.c.record_b_id.in_(part))).all()
    if candidates:
        conn.execute(
            T_CANDIDATE.update().where(T_CANDIDATE.c.id == bindparam("cid"))
            .values(evidence=bindparam("e"), status=bindparam("s")),
            [{"cid": cand_id, "e": _redacted(text), "s": "forgotten" if status == "pending" else status}
             for cand_id, text, status in {c[0]: c for c in candidates}.values()])


KEPT_TOGETHER = "forgotten: kept together"


def _keep_together(conn: Connection, record_ids: list[int], forget_id: int, now: str) -> None:
    """Approved links from the customer's first record to each other one.
    With its identifiers gone nothing else holds its records together, and
    re-resolution (``resolve --full``) would split them into as many
    customers; approvals are links it keeps, as for an undone split."""
    if len(record_ids) < 2:
        return
    first = record_ids[0]
    linked = {b for (b,) in conn.execute(select(T_CANDIDATE.c.record_b_id).where(
        T_CANDIDATE.c.record_a_id == first, T_CANDIDATE.c.reason == KEPT_TOGETHER))}
    rows = [{"created_at": now, "record_a_id": first, "record_b_id": rid, "probability": None,
             "reason": KEPT_TOGETHER, "evidence": json_text({"forget": f"#{forget_id}"}),
             "status": "approved", "decided_at": now, "import_run_id": None}
            for rid in record_ids[1:] if rid not in linked]
    if rows:
        conn.execute(T_CANDIDATE.insert(), rows)


def forgotten_identifiers(conn: Connection, identifiers: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of these (kind, value) identifiers, as an import is about to add
    them, those that belonged to a forgotten customer.  Costs nothing on a
    store where nothing was ever forgotten."""
    secret = _key(conn)
    if secret is None:
        return set()
    by_digest: dict[tuple[str, str], tuple[str, str]] = {}
    for kind, value in identifiers:
        by_digest[(kind, identifier_digest(secret, kind, value))] = (kind, value)
    return {by_digest[found] for found in _known(conn, set(by_digest))}

