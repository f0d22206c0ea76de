"""Reader for website tracking events (JSON Lines).

Each event belongs to the *visitor record* of its anonymous id (source key =
the anonymous id), so that the events move with it when customers merge or
separate.  An event that identifies the visitor (a ``customer`` block, or
Distil's top-level ``CustomerId``/``EmailAddress``...) also yields an
*identify record* carrying the anonymous id together with the customer's
identifiers: that record is what links the browser to the known customer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from distil_tui.core import normalize as norm
from distil_tui.core.ingest.mapping import (
    ParsedRecord,
    attribute_for,
    fold_header,
    identifiers_for,
    map_values,
)
from distil_tui.core.ingest.readers import json_lines
from distil_tui.core.models import Rejection

_ANON_FIELDS = ("anonymoususerid", "anonymousid", "anonid")
_TIME_FIELDS = ("timestamp", "eventtimestamputc", "eventtimestamp", "time")
_TYPE_FIELDS = ("event", "eventtype", "type", "eventname", "name")
_PROPERTY_FIELDS = ("properties", "props", "eventproperties")
_CUSTOMER_ID_FIELDS = ("customerid", "userid", "customernumber")
_IDENTITY_FIELDS = frozenset(
    {"email_address", "first_name", "last_name", "mobile_phone_no"}
)


@dataclass
class ParsedEvent:
    event_key: str
    line: int
    anonymous_user_id: str
    event_type: str
    occurred_at: str
    properties: dict


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
    path: Path, text: str, *, source: str, customer_id_source: str, region: str
) -> Iterator[tuple[ParsedEvent | ParsedRecord | Rejection, int]]:
    """Yield events, identify records and rejections.  Visitor records are
    built by the importer from the events' anonymous ids."""
    for number, obj in json_lines(path, text):
        if isinstance(obj, Rejection):
            yield obj, number
            continue
        fields = {fold_header(k): v for k, v in obj.items()}
        anon = norm.anonymous_id_identifier(_first(fields, _ANON_FIELDS))
        if anon is None:
            yield Rejection(str(path), number, "missing anonymous_user_id"), number
            continue
        raw_time = _first(fields, _TIME_FIELDS)
        occurred_at = norm.timestamp_value(raw_time) if isinstance(raw_time, str) else None
        if occurred_at is None:
            reason = (
                "missing timestamp"
                if raw_time in (None, "")
                else f"timestamp {str(raw_time)[:40]!r} is not ISO 8601"
            )
            yield Rejection(str(path), number, reason), number
            continue
        event_type = norm.clean(_first(fields, _TYPE_FIELDS)) or "event"
        properties = _first(fields, _PROPERTY_FIELDS)
        if not isinstance(properties, dict):
            properties = {} if properties is None else {"value": properties}

        canonical = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
        event_key = hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()
        yield ParsedEvent(event_key, number, anon, event_type, occurred_at, properties), number

        identity = _identity(obj)
        if identity:
            customer_id, values = identity
            values = map_values(values, region=region)
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


def _first(fields: dict[str, object], names: tuple[str, ...]) -> object:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return value
    return None


def _identity(obj: dict) -> tuple[str | None, dict[str, object]] | None:
    """(customer id, identity attributes) of an identify event, else None."""
    block = obj.get("customer") or obj.get("Customer")
    if not isinstance(block, dict):
        block = obj
    values: dict[str, object] = {}
    customer_id = None
    for key, value in block.items():
        if fold_header(key) in _CUSTOMER_ID_FIELDS:
            customer_id = norm.clean(value)
            continue
        attribute = attribute_for(key)
        if attribute in _IDENTITY_FIELDS and value not in (None, ""):
            values[key] = value
    if customer_id is None and not values:
        return None
    return customer_id, values
