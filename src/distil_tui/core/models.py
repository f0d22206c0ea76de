"""Read models handed to callers (the UI, the CLI, tests).

Plain frozen dataclasses, never ORM objects: they outlive the session that
read them and can cross threads.  Attribute values are the literal strings
from the data; it is the displayer's job to show them as text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

STANDARD_ATTRIBUTES: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email_address",
    "mobile_phone_no",
    "date_of_birth",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "country",
    "company_name",
)

IDENTIFIER_KINDS: tuple[str, ...] = (
    "email_address",
    "mobile_phone_no",
    "customer_id",
    "anonymous_user_id",
)


def evidence_items(text: str) -> tuple[tuple[str, str], ...]:
    """Stored evidence (JSON) as (field, value) pairs of text; a field's
    probabilistic detail stays a JSON object in text."""
    return tuple(
        (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
        for k, v in json.loads(text).items()
    )


def evidence_json(items: tuple[tuple[str, str], ...]) -> dict:
    """The inverse of :func:`evidence_items`, for JSON output."""
    out: dict[str, object] = {}
    for k, v in items:
        try:
            decoded = json.loads(v)
        except ValueError:
            decoded = v
        out[k] = decoded if isinstance(decoded, dict) else v
    return out


@dataclass(frozen=True)
class CustomerHit:
    """One search result."""

    tracking_id: str
    first_name: str | None
    last_name: str | None
    email_address: str | None
    mobile_phone_no: str | None
    town: str | None
    record_count: int
    matched_on: str  # "name", "email_address", "mobile_phone_no", "tracking_id"...

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email_address or self.mobile_phone_no or "(anonymous visitor)"


@dataclass(frozen=True)
class IdentifierView:
    kind: str
    value: str
    source: str
    source_key: str


@dataclass(frozen=True)
class SourceRecordView:
    source: str
    source_key: str
    kind: str  # "customer", "visitor", "identify"
    file: str
    line: int
    first_seen: str | None
    last_seen: str | None
    values: tuple[tuple[str, str], ...]
    joined_by: str | None = None  # why it joined its customer; None if it founded it


@dataclass(frozen=True)
class EventView:
    occurred_at: str
    event_type: str
    source: str
    anonymous_user_id: str
    properties: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MergeView:
    merge_id: int
    created_at: str
    # "merge"; "split" (records moved from the surviving_tracking_id
    # customer to the retired_tracking_id one, by re-resolution); "undo"
    action: str
    rule: str
    surviving_tracking_id: str
    retired_tracking_id: str
    probability: float | None
    decided_by: str
    import_run_id: int | None
    evidence: tuple[tuple[str, str], ...]
    undone: bool

    @property
    def moved(self) -> tuple[str, str]:
        """(from, to) Tracking IDs: a merge moves the retired customer's
        records into the surviving one; a split moves records out of the
        surviving one into the other."""
        if self.action == "split":
            return self.surviving_tracking_id, self.retired_tracking_id
        return self.retired_tracking_id, self.surviving_tracking_id

    @property
    def undid_split(self) -> bool:
        """An undo of a split (it keeps the split's evidence)."""
        return self.action == "undo" and any(k == "held" for k, _v in self.evidence)

    @property
    def why(self) -> str:
        if self.action == "split" or self.undid_split:
            held = dict(self.evidence)
            reason = held.pop("held", "re-resolved")
            shared = ", ".join(f"{k} {v}" for k, v in held.items())
            return f"{self.rule}: {reason.replace('_', ' ')}" + (f" ({shared})" if shared else "")
        return explain(self.rule, self.probability, self.evidence)


def explain(rule: str, probability: float | None, evidence: tuple[tuple[str, str], ...]) -> str:
    """One line saying why two customers were (or may be) one: the shared
    identifier, or the probability and each field's weight."""
    detail = evidence_json(evidence)
    fields = [f"{k} {v['level']} {v['weight']:+.1f}" for k, v in detail.items() if isinstance(v, dict)]
    if fields:
        chance = f"probability {probability:.3f}: " if probability is not None else ""
        return chance + ", ".join(fields)
    shared = ", ".join(f"{k} {v}" for k, v in evidence)
    return f"shared {shared}" if shared else rule


@dataclass(frozen=True)
class CustomerProfile:
    tracking_id: str
    first_seen: str | None
    last_seen: str | None
    attributes: tuple[tuple[str, str], ...]  # standard attributes, in STANDARD_ATTRIBUTES order
    custom_attributes: tuple[tuple[str, str], ...]
    identifiers: tuple[IdentifierView, ...]
    sources: tuple[SourceRecordView, ...]
    recent_events: tuple[EventView, ...]  # one page of events, newest first
    event_count: int
    merges: tuple[MergeView, ...]  # newest first
    retired_tracking_ids: tuple[str, ...]
    resolved_from: str | None = None  # the retired Tracking ID the caller asked for, if any
    events_offset: int = 0  # newer events before the page in recent_events

    @property
    def display_name(self) -> str:
        attrs = dict(self.attributes)
        name = " ".join(p for p in (attrs.get("first_name"), attrs.get("last_name")) if p)
        return name or attrs.get("email_address") or "(anonymous visitor)"

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name) or dict(self.custom_attributes).get(name)

    def to_json(self) -> dict:
        data = asdict(self)
        data["attributes"] = dict(self.attributes)
        data["custom_attributes"] = dict(self.custom_attributes)
        for record in data["sources"]:
            record["values"] = dict(record["values"])
        for ev in data["recent_events"]:
            ev["properties"] = dict(ev["properties"])
        for merge, view in zip(data["merges"], self.merges, strict=True):
            merge["evidence"] = evidence_json(view.evidence)
        return data


@dataclass(frozen=True)
class Rejection:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportSummary:
    import_run_id: int
    file: str
    source: str
    format: str
    records_read: int
    records_imported: int
    records_rejected: int
    customers_created: int
    merges_made: int
    candidates_created: int
    events_imported: int
    seconds: float
    rejections: tuple[Rejection, ...] = field(default=())  # the first few

    def to_json(self) -> dict:
        data = asdict(self)
        data["rejections"] = [
            {"file": r.file, "line": r.line, "reason": r.reason} for r in self.rejections
        ]
        return data


# Where each stage of an import starts on one progress bar and its share of
# the time (measured on 100k shop rows); after the records are written come
# the customers' attributes and the search index.
IMPORT_STAGES = {"reading": (0.0, 0.15), "resolving": (0.15, 0.35), "writing": (0.5, 0.35)}


@dataclass(frozen=True)
class ImportProgress:
    """Posted through the import's progress callback."""

    stage: str  # "reading", "resolving", "writing"
    done: int
    total: int | None
    # The share of the whole import done, where the importer can tell
    # (a large file is resolved in batches: stages come round again).
    fraction: float | None = None
