"""The store's tables.

Times are ISO 8601 strings in UTC (``2026-11-28T16:55:11Z``) so that they sort
as text and read the same on SQLite and PostgreSQL.  JSON columns hold text
written by :func:`json.dumps` with sorted keys, so that equal values are equal
strings.

Ownership, from the bottom up: an Identifier and an Event belong to the Source
record they came from; a Source record belongs to exactly one Customer.  A
merge moves Source records from one Customer to another; nothing else does.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 6


class Meta(SQLModel, table=True):
    """Key/value facts about the store: schema version, Tracking ID counter."""

    key: str = Field(primary_key=True)
    value: str


class ImportRun(SQLModel, table=True):
    __tablename__ = "import_run"

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str
    file: str
    format: str
    started_at: str
    finished_at: Optional[str] = None
    records_read: int = 0
    records_imported: int = 0
    records_rejected: int = 0
    customers_created: int = 0
    merges_made: int = 0
    candidates_created: int = 0
    events_imported: int = 0
    rejections: str = "[]"


class Customer(SQLModel, table=True):
    """An active Customer.  A Customer merged into another is deleted; its
    Tracking ID moves to :class:`RetiredTrackingId`."""

    id: Optional[int] = Field(default=None, primary_key=True)
    tracking_id: str = Field(unique=True)
    first_seen: Optional[str] = None
    last_seen: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    email_address: Optional[str] = None
    mobile_phone_no: Optional[str] = None
    date_of_birth: Optional[str] = None
    address_line_1: Optional[str] = None
    address_line_2: Optional[str] = None
    town: Optional[str] = None
    postcode: Optional[str] = None
    country: Optional[str] = None
    company_name: Optional[str] = None
    custom: str = "{}"
    record_count: int = 0
    # Folded (case, accents) copies of the searchable attributes: names for
    # the search index (search_index.py), email indexed for exact and prefix
    # look-ups.
    first_name_key: Optional[str] = None
    last_name_key: Optional[str] = None
    email_key: Optional[str] = Field(default=None, index=True)


class SourceRecord(SQLModel, table=True):
    """One row or visitor as it arrived.  ``attributes`` holds the mapped
    attributes (standard and custom), ``raw`` the row exactly as read."""

    __tablename__ = "source_record"
    __table_args__ = (UniqueConstraint("source", "source_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str
    source_key: str
    kind: str  # "customer" (a file row), "visitor" (an anonymous id), "identify"
    customer_id: int = Field(foreign_key="customer.id", index=True)
    import_run_id: int = Field(foreign_key="import_run.id")
    file: str
    line: int
    first_seen: Optional[str] = None
    last_seen: Optional[str] = None
    attributes: str = "{}"
    raw: str = "{}"
    # Why the record joined the customer it was first put in: the shared
    # identifier, or the probability and per-field evidence.  Empty for a
    # record that founded its customer.
    link: str = "{}"
    # The normalised values probabilistic matching compares
    # (resolve.comparison.encode_fields), kept so that loading a stored
    # record as a candidate parses no JSON and no phone number.  NULL for
    # visitors, records with nothing to compare, and records of older stores.
    match_fields: Optional[str] = None


class Identifier(SQLModel, table=True):
    __table_args__ = (
        Index("ix_identifier_kind_value", "kind", "value"),
        UniqueConstraint("record_id", "kind", "value"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    # Looked up by record through the unique constraint, which starts with it.
    record_id: int = Field(foreign_key="source_record.id")
    kind: str  # email_address, mobile_phone_no, anonymous_user_id, customer_id
    value: str


class Event(SQLModel, table=True):
    """A tracking event.  It belongs to the visitor record of its anonymous
    id, so it moves with that record when customers merge or separate.

    One index, which both orders a customer's timeline and keeps an event
    from being imported twice: the event key hashes the event's whole JSON,
    anonymous id and timestamp included, so one key is one record and one
    time.  Visitors' record ids grow with the imports, so a big import
    appends to it; an index on the key alone took random writes all over a
    B-tree as large as the table's events (measured, 10M events into an
    empty store: 295 s with schema 5's two indexes, 193 s with this one)."""

    __table_args__ = (
        UniqueConstraint("record_id", "occurred_at", "event_key", name="uq_event_record_time_key"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str
    event_key: str
    record_id: int = Field(foreign_key="source_record.id")
    import_run_id: int = Field(foreign_key="import_run.id")
    anonymous_user_id: str
    event_type: str
    occurred_at: str
    properties: str = "{}"
    line: int = 0


class Merge(SQLModel, table=True):
    """A merge of two Customers, or the undoing of one (``action='undo'``)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    created_at: str
    action: str = "merge"  # "merge" | "undo"
    rule: str  # the identifier kind that linked, "probabilistic" or "reviewer"
    surviving_customer_id: Optional[int] = None
    surviving_tracking_id: str
    retired_tracking_id: str
    probability: Optional[float] = None
    evidence: str = "{}"
    decided_by: str = "automatic"  # "automatic" | "reviewer"
    import_run_id: Optional[int] = Field(default=None, foreign_key="import_run.id")
    # {"surviving": [record ids], "retired": [record ids]} before the merge.
    membership_before: str = "{}"
    undone_by_id: Optional[int] = None


class MergeCandidate(SQLModel, table=True):
    """A link that a protection stopped: held for a person to review."""

    __tablename__ = "merge_candidate"

    id: Optional[int] = Field(default=None, primary_key=True)
    created_at: str
    # Records anchor the pair: they outlive the customers they belong to now.
    record_a_id: int = Field(foreign_key="source_record.id")
    record_b_id: int = Field(foreign_key="source_record.id")
    probability: Optional[float] = None
    reason: str
    evidence: str = "{}"
    status: str = Field(default="pending", index=True)
    import_run_id: Optional[int] = Field(default=None, foreign_key="import_run.id")
    decided_at: Optional[str] = None


class RetiredTrackingId(SQLModel, table=True):
    """A Tracking ID that lost a merge.  It keeps resolving to ``customer_id``,
    the customer that holds its records now."""

    __tablename__ = "retired_tracking_id"

    tracking_id: str = Field(primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    merge_id: int = Field(foreign_key="merge.id")
    retired_at: str


class NeverMerge(SQLModel, table=True):
    """A reviewer's rejection: the customers holding these two records must
    never be merged automatically."""

    __tablename__ = "never_merge"
    # Looked up from either side: a record's constraints are those naming it
    # first (the unique constraint's index) or second.
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id"),
                      Index("ix_never_merge_record_b_id", "record_b_id"))

    id: Optional[int] = Field(default=None, primary_key=True)
    record_a_id: int = Field(foreign_key="source_record.id")
    record_b_id: int = Field(foreign_key="source_record.id")
    created_at: str
    reason: str = ""


class BlockKey(SQLModel, table=True):
    """Blocking keys of a source record: probabilistic matching compares a
    new record with the stored records that share one of its keys.  One
    B-tree on (key, record_id) serves both look-ups by key and removals."""

    __tablename__ = "block_key"
    __table_args__ = {"sqlite_with_rowid": False}

    key: str = Field(primary_key=True)
    record_id: int = Field(primary_key=True, foreign_key="source_record.id")


class SavedSegment(SQLModel, table=True):
    """A saved Segment: its conditions and how they combine, as JSON
    (``{"combine": "and", "conditions": [[attribute, operator, value]...]}``)."""

    __tablename__ = "segment"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    definition: str = "{}"
    created_at: str
    updated_at: str


class Forget(SQLModel, table=True):
    """A customer whose personal data was erased (``forget``).  The customer
    keeps its Tracking ID; this row says when, and what was erased."""

    id: Optional[int] = Field(default=None, primary_key=True)
    tracking_id: str = Field(index=True)
    forgotten_at: str
    records: int = 0
    identifiers: int = 0
    events: int = 0


class ForgottenIdentifier(SQLModel, table=True):
    """An identifier of a forgotten customer, kept only as a keyed hash
    (``forget.identifier_digest``) so that a later import of the same value
    can be recognised and reported, while the value itself cannot be read
    back from this table."""

    __tablename__ = "forgotten_identifier"
    __table_args__ = {"sqlite_with_rowid": False}

    kind: str = Field(primary_key=True)
    digest: str = Field(primary_key=True)
    forget_id: int = Field(foreign_key="forget.id")


# The tables as SQLAlchemy Core objects, for the bulk and read paths.
T_META = Meta.__table__
T_RUN = ImportRun.__table__
T_CUSTOMER = Customer.__table__
T_RECORD = SourceRecord.__table__
T_IDENT = Identifier.__table__
T_EVENT = Event.__table__
T_MERGE = Merge.__table__
T_CANDIDATE = MergeCandidate.__table__
T_RETIRED = RetiredTrackingId.__table__
T_NEVER = NeverMerge.__table__
T_BLOCK = BlockKey.__table__
T_SEGMENT = SavedSegment.__table__
T_FORGET = Forget.__table__
T_FORGOTTEN = ForgottenIdentifier.__table__

