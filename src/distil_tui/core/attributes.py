"""Attributes as users name them: the catalog a column chooser or a segment
editor offers, and the SQL expression each name stands for.

Names are written as users type them: the standard attributes by their own
name (``first_name``, ``email_address``...), the customer's core data under
``core_data.`` (``core_data.tracking_id``, ``core_data.first_seen``,
``core_data.last_seen``, ``core_data.record_count``), and anything else an
import brought under ``custom.`` (``custom.loyalty_tier``).  The core data
names are also accepted without their prefix (``tracking_id``), as the
existing exports head their columns.

Each attribute has a type that decides the operators a segment offers on it
(``segments.OPERATORS``): ``text``, ``date`` (ISO dates or times, which sort
as text) or ``number``.  A custom attribute's type is read from its values:
``number`` when every sampled value is a number, ``date`` when every one is
an ISO date or time, else ``text``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, literal, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from distil_tui.core.models import STANDARD_ATTRIBUTES
from distil_tui.core.schema import T_CUSTOMER
from distil_tui.core.store import json_text

CORE_PREFIX = "core_data."
CUSTOM_PREFIX = "custom."
TYPES = ("text", "date", "number")


class UnknownAttribute(ValueError):
    """A name that is no attribute; the message lists the close names."""


@dataclass(frozen=True)
class Attribute:
    name: str  # as users type it: "first_name", "core_data.tracking_id", "custom.loyalty_tier"
    label: str  # column heading: "First name", "Tracking ID", "loyalty_tier"
    type: str  # "text" | "date" | "number"
    default_visible: bool  # the Tracking ID is hidden by default

    @property
    def is_custom(self) -> bool:
        return self.name.startswith(CUSTOM_PREFIX)


_STANDARD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email_address": "Email address",
    "mobile_phone_no": "Mobile phone",
    "date_of_birth": "Date of birth",
    "address_line_1": "Address line 1",
    "address_line_2": "Address line 2",
    "town": "Town",
    "postcode": "Postcode",
    "country": "Country",
    "company_name": "Company name",
}

# Core data: name -> (customer column, label, type, visible by default).
_CORE = {
    "core_data.tracking_id": ("tracking_id", "Tracking ID", "text", False),
    "core_data.first_seen": ("first_seen", "First seen", "date", False),
    "core_data.last_seen": ("last_seen", "Last seen", "date", True),
    "core_data.record_count": ("record_count", "Records", "number", False),
}

# Standard attributes shown in a new Data panel; the rest are a key press away.
_DEFAULT_VISIBLE = frozenset({"first_name", "last_name", "email_address", "mobile_phone_no", "town"})

STANDARD: tuple[Attribute, ...] = tuple(
    Attribute(name, _STANDARD_LABELS.get(name, name.replace("_", " ").capitalize()),
              "date" if name == "date_of_birth" else "text", name in _DEFAULT_VISIBLE)
    for name in STANDARD_ATTRIBUTES
)
CORE: tuple[Attribute, ...] = tuple(
    Attribute(name, label, kind, visible) for name, (_col, label, kind, visible) in _CORE.items()
)
_BUILT_IN = {a.name: a for a in (*STANDARD, *CORE)}

# Custom values sampled per key to tell its type.
_TYPE_SAMPLE = 200
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def canonical_name(name: str) -> str:
    """The attribute's name as the catalog writes it; raises
    :class:`UnknownAttribute` for a name that is no attribute."""
    text = name.strip()
    if text in _BUILT_IN:
        return text
    if CORE_PREFIX + text in _CORE:
        return CORE_PREFIX + text
    if text.startswith(CUSTOM_PREFIX) and len(text) > len(CUSTOM_PREFIX):
        return text
    known = sorted({*_BUILT_IN, *(n[len(CORE_PREFIX):] for n in _CORE)})
    close = difflib.get_close_matches(text, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownAttribute(
        f"unknown attribute {name!r}{hint} Attributes are {', '.join(_BUILT_IN)}; "
        f"custom attributes are written custom.NAME"
    )


def attribute(name: str) -> Attribute:
    """The :class:`Attribute` of a name, without reading the store: a custom
    attribute is typed ``text`` here (:func:`catalog` reads its type from its
    values)."""
    name = canonical_name(name)
    if name in _BUILT_IN:
        return _BUILT_IN[name]
    key = name[len(CUSTOM_PREFIX):]
    return Attribute(name, key, "text", False)


class _CustomValue(FunctionElement):
    """A custom attribute's value as text (NULL when the customer has none),
    from the customer's ``custom`` JSON.  The key is a bound parameter, so a
    key may hold any character."""

    type = String()
    inherit_cache = True
    name = "custom_value"


@compiles(_CustomValue)
def _custom_value_sqlite(element, compiler, **kw):
    column, key, escaped = list(element.clauses)
    column = compiler.process(column, **kw)
    found = f"json_extract({column}, '$.\"' || {compiler.process(key, **kw)} || '\"')"
    if escaped.value == key.value:
        return found
    # SQLite before 3.45 matches a quoted path against the key as the JSON
    # text writes it: a key holding a control character or a backslash is
    # found only by its escaped form ("a\\u001bb").
    return f"coalesce({found}, json_extract({column}, '$.\"' || {compiler.process(escaped, **kw)} || '\"'))"


@compiles(_CustomValue, "postgresql")
def _custom_value_postgresql(element, compiler, **kw):
    column, key, _escaped = list(element.clauses)
    # In code point order, as the store's text columns (store.py) and SQLite.
    return f"((CAST({compiler.process(column, **kw)} AS JSONB) ->> {compiler.process(key, **kw)}) COLLATE \"C\")"


def column(name: str) -> ColumnElement:
    """The SQL expression on ``T_CUSTOMER`` of an attribute; raises
    :class:`UnknownAttribute` for a name that is no attribute."""
    name = canonical_name(name)
    if name in _CORE:
        return T_CUSTOMER.c[_CORE[name][0]]
    if name in _BUILT_IN:
        return T_CUSTOMER.c[name]
    key = name[len(CUSTOM_PREFIX):]
    if '"' in key:
        # SQLite's JSON paths have no escape for a quote inside a quoted key.
        raise UnknownAttribute(f"custom attribute names with a double quote cannot be used: {name!r}")
    escaped = json_text(key)[1:-1]
    return type_coerce(
        _CustomValue(T_CUSTOMER.c.custom, literal(key, String()), literal(escaped, String())), String()
    )


def custom_keys(conn) -> list[str]:
    """Every custom attribute key some customer holds, sorted."""
    if conn.dialect.name == "sqlite":
        sql = ("SELECT DISTINCT j.key FROM customer, json_each(customer.custom) AS j "
               "WHERE customer.custom != '{}'")
    else:
        sql = ("SELECT DISTINCT jsonb_object_keys(CAST(custom AS JSONB)) FROM customer "
               "WHERE custom != '{}'")
    return sorted(str(row[0]) for row in conn.exec_driver_sql(sql))


def _custom_type(conn, key: str) -> str:
    value = column(CUSTOM_PREFIX + key)
    values = [str(v) for (v,) in conn.execute(
        select(value).where(value.is_not(None), value != "").limit(_TYPE_SAMPLE))]
    if values and all(_NUMBER_RE.match(v.strip()) for v in values):
        return "number"
    if values and all(_DATE_RE.match(v.strip()) for v in values):
        return "date"
    return "text"


def catalog(store) -> list[Attribute]:
    """Every attribute: the standard ones, core data, then the custom keys
    found in the store, in that order."""
    with store.read() as conn:
        keys = [k for k in custom_keys(conn) if '"' not in k]
        custom = [Attribute(CUSTOM_PREFIX + k, k, _custom_type(conn, k), False) for k in keys]
    return [*STANDARD, *CORE, *custom]


def type_of(store, name: str) -> str:
    """The type of one attribute; a custom one's is read from its values."""
    found = attribute(name)
    if not found.is_custom:
        return found.type
    with store.read() as conn:
        return _custom_type(conn, found.name[len(CUSTOM_PREFIX):])


__all__ = [
    "Attribute", "UnknownAttribute", "STANDARD", "CORE", "TYPES", "canonical_name", "attribute",
    "column", "catalog", "custom_keys", "type_of",
]
