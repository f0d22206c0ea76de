"""Reader for website tracking events (JSON Lines).

Each event belongs to the *visitor record* of its anonymous id (source key =
the anonymous id), so that the events move with it when customers merge or
separate.  An event that identifies the visitor (a ``customer`` block, or
Distil's top-level ``CustomerId``/``EmailAddress``...) also yields an
*identify record* carrying the anonymous id together with the customer's
identifiers: that record is what links the browser to the known customer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import blake2b
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path
from typing import NamedTuple

from distil_tui.core import normalize as norm
from distil_tui.core.ingest.mapping import (
    ParsedRecord,
    RowMapper,
    attribute_for,
    fold_header,
    identifiers_for,
)
from distil_tui.core.ingest.readers import fast_json, has_large_float, lines, parse_json_exactly
from distil_tui.core.models import Rejection
from distil_tui.core.store import json_text

_ANON_FIELDS = ("anonymoususerid", "anonymousid", "anonid")
_TIME_FIELDS = ("timestamp", "eventtimestamputc", "eventtimestamp", "time")
_TYPE_FIELDS = ("event", "eventtype", "type", "eventname", "name")
_PROPERTY_FIELDS = ("properties", "props", "eventproperties")
_CUSTOMER_ID_FIELDS = ("customerid", "userid", "customernumber")
_IDENTITY_FIELDS = frozenset(
    {"email_address", "first_name", "last_name", "mobile_phone_no"}
)


class ParsedEvent(NamedTuple):
    """An event as read: a tuple, which a reading process hands over at
    half a dataclass's cost (see ingest.apart)."""

    event_key: str
    line: int
    anonymous_user_id: str
    event_type: str
    occurred_at: str
    properties: str  # JSON text, as the store keeps it


def identify_record_key(
    anonymous_user_id: str,
    customer_id: str | None,
    email_address: str | None,
    mobile_phone_no: str | None,
) -> str:
    """Key of the record an identify event makes.  Repeated sign-ins of one
    person on one browser are one record."""
    who = (
        (customer_id or "").strip()
        or (email_address or "").strip().lower()
        or (mobile_phone_no or "").strip()
    )
    return f"identify:{anonymous_user_id}:{who}"


def read_events(
    path: Path,
    text: str,
    *,
    source: str,
    customer_id_source: str,
    region: str,
    first_line: int = 1,
) -> Iterator[tuple[ParsedEvent | ParsedRecord | Rejection, int]]:
    """Yield events, identify records and rejections, each with its line
    number.  Visitor records are built by the importer from the events'
    anonymous ids.  ``text`` may be a part of the file that starts on line
    ``first_line``.

    A tracking export repeats a handful of shapes millions of times, so
    whatever depends only on an object's keys (which key is the anonymous
    id, which the identity block's fields) is worked out once per distinct
    set of keys."""
    file = str(path)
    shapes: dict[tuple[str, ...], _Shape] = {}
    identities: dict[tuple[str, ...], tuple[tuple[str, bool], ...]] = {}
    mappers: dict[tuple[str, ...], RowMapper] = {}
    for number, line in enumerate(lines(text), start=first_line):
        if not line or line.isspace():
            continue
        obj = fast_json(line)
        if type(obj) is not dict:
            obj, error = parse_json_exactly(line)
            if error:
                yield Rejection(file, number, error), number
                continue
        canonical = _canonical(obj)
        # A float of 1e16 or more prints with "e+": it may be an integer
        # orjson could not keep (see readers.fast_json).
        if "e+" in canonical and has_large_float(obj):
            obj, error = parse_json_exactly(line)
            if error:
                yield Rejection(file, number, error), number
                continue
            canonical = _canonical(obj)
        keys = tuple(obj)
        shape = shapes.get(keys)
        if shape is None:
            shape = shapes[keys] = _Shape.of(keys)
        anon = norm.anonymous_id_identifier(
            obj[shape.anon[0]] if len(shape.anon) == 1 else _first(obj, shape.anon))
        if anon is None:
            yield Rejection(file, number, "missing anonymous_user_id"), number
            continue
        raw_time = obj[shape.time[0]] if len(shape.time) == 1 else _first(obj, shape.time)
        if raw_time == "":
            raw_time = None
        occurred_at = norm.timestamp_value(raw_time) if isinstance(raw_time, str) else None
        if occurred_at is None:
            reason = (
                "missing timestamp"
                if raw_time in (None, "")
                else "timestamp is not ISO 8601"  # the value may be anything: not echoed
            )
            yield Rejection(file, number, reason), number
            continue
        event_type = norm.clean(_first(obj, shape.event_type)) or "event"
        properties = _first(obj, shape.properties)
        if not isinstance(properties, dict):
            properties = {} if properties is None else {"value": properties}

        event_key = blake2b(canonical.encode(), digest_size=12).hexdigest()
        yield ParsedEvent(event_key, number, anon, event_type, occurred_at, json_text(properties)), number

        identity = _identity(obj, identities) if shape.may_identify else None
        if identity:
            customer_id, values = identity
            value_keys = tuple(values)
            mapper = mappers.get(value_keys)
            if mapper is None:
                mapper = mappers[value_keys] = RowMapper(value_keys, region=region)
            values = mapper.values(values)
            identifiers = [("anonymous_user_id", anon), *identifiers_for(
                customer_id_source, values, customer_id=customer_id, region=region)]
            if len(identifiers) == 1 and not values:
                continue
            key = identify_record_key(
                anon, customer_id, values.get("email_address"), values.get("mobile_phone_no")
            )
            yield ParsedRecord(
                source_key=key,
                line=number,
                kind="identify",
                values=values,
                raw=obj,
                identifiers=identifiers,
                first_seen=occurred_at,
                last_seen=occurred_at,
            ), number


# The event key hashes the event's JSON with sorted keys, exactly as
# ``json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)``
# writes it (keys already stored depend on it).  ``json.dumps`` builds
# that encoder anew on every call; it is built once here.
if c_make_encoder is not None:
    _ENCODE = c_make_encoder(None, str, encode_basestring, None, ": ", ", ", True, False, True)

    def _canonical(obj: dict) -> str:
        return "".join(_ENCODE(obj, 0))
else:  # pragma: no cover - CPython always has the C encoder
    def _canonical(obj: dict) -> str:
        return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class _Shape:
    """For one set of event keys: the keys holding each part of an event,
    in the order they are tried.  Keys are matched folded
    (``AnonymousUserID`` is ``anonymous_user_id``); of two keys that fold
    alike, the later one counts."""

    anon: tuple[str, ...]
    time: tuple[str, ...]
    event_type: tuple[str, ...]
    properties: tuple[str, ...]
    # Whether an event of this shape can identify the visitor: it has a
    # customer block, or a top-level key that :func:`_identity` reads.
    may_identify: bool

    @classmethod
    def of(cls, keys: tuple[str, ...]) -> _Shape:
        by_folded = {fold_header(k): k for k in keys}

        def present(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(by_folded[n] for n in names if n in by_folded)

        may_identify = "customer" in keys or "Customer" in keys or any(
            fold_header(k) in _CUSTOMER_ID_FIELDS or attribute_for(k) in _IDENTITY_FIELDS
            for k in keys
        )
        return cls(present(_ANON_FIELDS), present(_TIME_FIELDS), present(_TYPE_FIELDS),
                   present(_PROPERTY_FIELDS), may_identify)


def _first(obj: dict[str, object], keys: tuple[str, ...]) -> object:
    """The first of ``keys``' values that is neither null nor empty."""
    for key in keys:
        value = obj[key]
        if value not in (None, ""):
            return value
    return None


def _identity(
    obj: dict, plans: dict[tuple[str, ...], tuple[tuple[str, bool], ...]]
) -> tuple[str | None, dict[str, object]] | None:
    """(customer id, identity attributes) of an identify event, else None.
    ``plans`` remembers, per set of keys of an identity block, the keys that
    matter: (key, whether it holds the customer id)."""
    block = obj.get("customer") or obj.get("Customer")
    if not isinstance(block, dict):
        block = obj
    keys = tuple(block)
    plan = plans.get(keys)
    if plan is None:
        plan = plans[keys] = tuple(
            (key, fold_header(key) in _CUSTOMER_ID_FIELDS)
            for key in keys
            if fold_header(key) in _CUSTOMER_ID_FIELDS or attribute_for(key) in _IDENTITY_FIELDS
        )
    values: dict[str, object] = {}
    customer_id = None
    for key, is_customer_id in plan:
        value = block[key]
        if is_customer_id:
            customer_id = norm.clean(value)
        elif value not in (None, ""):
            values[key] = value
    if customer_id is None and not values:
        return None
    return customer_id, values
