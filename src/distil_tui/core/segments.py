"""Segments: saved filters over customer attributes.

A Segment is a name, conditions and how they combine (all of them, ``and``,
or any of them, ``or``).  A condition is an attribute (named as
:mod:`distil_tui.core.attributes` names it), an operator offered for the
attribute's type, and a value:

- text: ``equals``, ``contains``, ``starts_with``, ignoring case: both sides
  go through the database's ``lower``, so a value typed as stored always
  matches; only ASCII letters are folded, on SQLite and PostgreSQL alike
  (``zoë`` and ``ZOë`` find ``Zoë``; ``émile`` does not find ``ÉMILE``,
  ``Émile`` does);
- date: ``before``, ``after``; the value is a day (``2026-01-01``) or a time
  (``2026-01-01T09:30:00Z``).  A day means the whole day: ``after
  2026-01-01`` starts on the 2nd, ``before 2026-01-01`` ends on the 31st;
- number: ``greater_than``, ``less_than``;
- any type: ``is_empty``, ``is_not_empty`` (no value).

Custom attributes are typed by their values (``attributes.catalog``), which
only the store knows, so a condition on a custom attribute may use any
operator: the value says how it compares.

:func:`where` turns conditions into one SQL filter on the customer table;
counting, the Data panel and exports all filter with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from distil_tui.core import attributes
from distil_tui.core.attributes import UnknownAttribute
from distil_tui.core.normalize import timestamp_value
from distil_tui.core.schema import T_CUSTOMER, T_SEGMENT
from distil_tui.core.store import Store, json_text, json_value

OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("equals", "contains", "starts_with", "is_empty", "is_not_empty"),
    "date": ("before", "after", "is_empty", "is_not_empty"),
    "number": ("greater_than", "less_than", "is_empty", "is_not_empty"),
}
NO_VALUE = frozenset({"is_empty", "is_not_empty"})
ALL_OPERATORS: tuple[str, ...] = tuple(dict.fromkeys(op for ops in OPERATORS.values() for op in ops))
COMBINE = ("and", "or")
MAX_NAME = 100

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SegmentError(ValueError):
    """A segment or condition that cannot be used; the message says why."""


class UnknownSegment(SegmentError):
    """No saved segment has this name; the message lists the saved ones."""


@dataclass(frozen=True)
class Condition:
    attribute: str
    operator: str
    value: str | None = None

    def __str__(self) -> str:
        """The condition as the CLI takes it (``town equals Leeds``)."""
        return f"{self.attribute} {self.operator}" + ("" if self.value is None else f" {self.value}")


@dataclass(frozen=True)
class Segment:
    name: str
    conditions: tuple[Condition, ...]
    combine: str = "and"  # "and" | "or"

    def __post_init__(self) -> None:
        if not isinstance(self.conditions, tuple):  # a list from a caller
            object.__setattr__(self, "conditions", tuple(self.conditions))

    def describe(self) -> str:
        """The conditions in one line: ``town equals Leeds and ...``."""
        if not self.conditions:
            return "all customers"
        return f" {self.combine} ".join(str(c) for c in self.conditions)


# -- conditions ----------------------------------------------------------


def parse_condition(text: str) -> Condition:
    """A condition written as the CLI takes it: the attribute, the operator
    (``starts_with`` or ``starts with``), then the value as the rest of the
    line, in quotes if it must keep surrounding spaces.  Raises
    :class:`SegmentError` naming what is wrong."""
    text = text.strip()
    if not text:
        raise SegmentError("empty condition; write ATTRIBUTE OPERATOR [VALUE], e.g. 'town equals Leeds'")
    name, _, rest = text.partition(" ")
    try:
        name = attributes.canonical_name(name)
    except UnknownAttribute as exc:
        raise SegmentError(f"in condition {text!r}: {exc}") from None
    rest = rest.strip()
    words = [w.lower() for w in rest.split()]
    operator = None
    # Operators are one word (starts_with) or written out (starts with);
    # the longest first, so that "is not empty" is not read as "is".
    for op in sorted(ALL_OPERATORS, key=lambda o: -o.count("_")):
        n = op.count("_") + 1
        used = 1 if words[:1] == [op] else n if n > 1 and "_".join(words[:n]) == op else 0
        if used:
            operator = op
            parts = rest.split(None, used)
            rest = parts[used] if len(parts) > used else ""
            break
    if operator is None:
        found = words[0] if words else "nothing"
        raise SegmentError(
            f"in condition {text!r}: unknown operator {found!r}; operators for "
            f"{attributes.attribute(name).type} attributes are {', '.join(_operators_for(name))}"
        )
    value: str | None = rest.strip()
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if operator in NO_VALUE:
        if value:
            raise SegmentError(f"in condition {text!r}: {operator} takes no value (found {value!r})")
        value = None
    condition = Condition(name, operator, value)
    _check(condition)
    return condition


def _operators_for(name: str) -> tuple[str, ...]:
    found = attributes.attribute(name)
    return ALL_OPERATORS if found.is_custom else OPERATORS[found.type]


def _check(condition: Condition) -> None:
    """Raise :class:`SegmentError` unless the condition can be used."""
    try:
        found = attributes.attribute(condition.attribute)
    except UnknownAttribute as exc:
        raise SegmentError(str(exc)) from None
    where_ = f"condition {str(condition)!r}"
    allowed = _operators_for(found.name)
    if condition.operator not in allowed:
        raise SegmentError(
            f"{where_}: {condition.operator!r} does not apply to {found.type} attribute "
            f"{found.name}; use {', '.join(allowed)}"
        )
    if condition.operator in NO_VALUE:
        return
    if condition.value is None or condition.value == "":
        raise SegmentError(f"{where_}: {condition.operator} needs a value")
    if condition.operator in ("before", "after"):
        _date_bound(condition.value, where_)
    elif condition.operator in ("greater_than", "less_than"):
        _number(condition.value, where_)


def _date_bound(value: str, where_: str) -> tuple[str, bool]:
    """(the value as the store writes dates, whether it is a whole day)."""
    text = value.strip()
    if _DAY_RE.match(text):
        try:
            return date.fromisoformat(text).isoformat(), True
        except ValueError:
            pass
    else:
        stamp = timestamp_value(text)
        if stamp:
            return stamp, False
    raise SegmentError(f"{where_}: {value!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SSZ)")


def _number(value: str, where_: str) -> float:
    try:
        number = float(value.strip().replace(",", ""))
    except ValueError:
        raise SegmentError(f"{where_}: {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SegmentError(f"{where_}: {value!r} is not a number")
    return number


def _like_escaped(value: str) -> str:
    """A value for LIKE with its wildcards taken literally (escape ``/``)."""
    text = unicodedata.normalize("NFC", value)
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _filter(condition: Condition) -> ColumnElement:
    _check(condition)
    found = attributes.attribute(condition.attribute)
    col = attributes.column(found.name)
    op, value = condition.operator, condition.value
    where_ = f"condition {str(condition)!r}"
    numeric = found.type == "number" and not found.is_custom
    if op == "is_empty":
        return col.is_(None) if numeric else or_(col.is_(None), col == "")
    if op == "is_not_empty":
        return col.is_not(None) if numeric else and_(col.is_not(None), col != "")
    assert value is not None
    # Both sides through the database's lower(), so that a value typed as
    # stored always matches, whatever lower() does with non-ASCII letters.
    low = _Lower(literal(unicodedata.normalize("NFC", value), String()))
    if op == "equals":
        return _Lower(col) == low
    if op == "contains":
        pattern = literal("%") + _Lower(literal(_like_escaped(value), String())) + "%"
        return _Lower(col).like(pattern, escape="/")
    if op == "starts_with":
        # A range on lower(col) rather than LIKE: an index on lower(col)
        # answers it, and LIKE ignores case differently on each backend.
        return and_(_Lower(col) >= low, _Lower(col) < low + "\U0010ffff")
    if op in ("before", "after"):
        bound, whole_day = _date_bound(value, where_)
        if op == "before":
            return and_(col < bound, col != "")
        if whole_day:
            return col >= (date.fromisoformat(bound) + timedelta(days=1)).isoformat()
        return col > bound
    number = _number(value, where_)
    # A custom value that is not a number is not compared: neither greater
    # nor less (SQLite would read it as 0, PostgreSQL refuse the cast).
    target = col if numeric else case((_IsNumber(col), cast(col, Float)), else_=None)
    return target > number if op == "greater_than" else target < number


class _Lower(FunctionElement):
    """``lower()`` of text, folding ASCII letters only: SQLite's does no
    more, and PostgreSQL's does the same in the "C" collation (in another,
    each side would fold by its own collation, and 'ZOË' typed as stored
    would not find itself)."""

    type = String()
    inherit_cache = True
    name = "lower"


@compiles(_Lower)
def _lower_sqlite(element, compiler, **kw):
    return f"lower({compiler.process(list(element.clauses)[0], **kw)})"


@compiles(_Lower, "postgresql")
def _lower_postgresql(element, compiler, **kw):
    return f'lower(({compiler.process(list(element.clauses)[0], **kw)}) COLLATE "C")'


class _IsNumber(FunctionElement):
    """Is this text a number (``12``, ``-3.5``, ``1e3``)?  On SQLite: a
    digit, and nothing but digits, signs, points and exponents."""

    type = Boolean()
    inherit_cache = True
    name = "is_number"


@compiles(_IsNumber)
def _is_number_sqlite(element, compiler, **kw):
    text = compiler.process(list(element.clauses)[0], **kw)
    return f"(trim({text}) GLOB '*[0-9]*' AND trim({text}) NOT GLOB '*[^0-9.eE+-]*')"


@compiles(_IsNumber, "postgresql")
def _is_number_postgresql(element, compiler, **kw):
    text = compiler.process(list(element.clauses)[0], **kw)
    return f"({text} ~ '^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$')"


def where(conditions: Sequence[Condition], combine: str = "and") -> ColumnElement:
    """One SQL filter on ``T_CUSTOMER``: all the conditions (``and``) or any
    of them (``or``).  No conditions: every customer."""
    if combine not in COMBINE:
        raise SegmentError(f"combine must be 'and' or 'or', not {combine!r}")
    filters = [_filter(c) for c in conditions]
    if not filters:
        return true()
    if len(filters) == 1:
        return filters[0]
    return and_(*filters) if combine == "and" else or_(*filters)


def segment_filter(segment: Segment | None) -> ColumnElement:
    """The filter of a segment; every customer for ``None``."""
    if segment is None:
        return true()
    return where(segment.conditions, segment.combine)


def count(store: Store, segment: Segment | None) -> int:
    """How many customers the segment holds (all customers for ``None``)."""
    stmt = select(func.count()).select_from(T_CUSTOMER).where(segment_filter(segment))
    with store.read() as conn:
        return int(conn.execute(stmt).scalar_one())


# -- saved segments ------------------------------------------------------


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise SegmentError("a segment needs a name")
    if len(clean) > MAX_NAME:
        raise SegmentError(f"segment names are at most {MAX_NAME} characters ({len(clean)} given)")
    if any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise SegmentError(f"segment name {clean!r} holds a control character")
    return clean


def _definition(segment: Segment) -> str:
    return json_text({
        "combine": segment.combine,
        "conditions": [{"attribute": c.attribute, "operator": c.operator, "value": c.value}
                       for c in segment.conditions],
    })


def _segment(name: str, definition: str) -> Segment:
    data = json_value(definition)
    assert isinstance(data, dict)
    return Segment(name, tuple(Condition(c["attribute"], c["operator"], c.get("value"))
                               for c in data.get("conditions", [])), data.get("combine", "and"))


def _validated(segment: Segment) -> Segment:
    name = _check_name(segment.name)
    conditions = tuple(Condition(attributes.canonical_name(c.attribute), c.operator, c.value)
                       for c in segment.conditions)
    clean = Segment(name, conditions, segment.combine)
    where(clean.conditions, clean.combine)  # raises on anything unusable
    return clean


def save(store: Store, segment: Segment, *, replace: bool = True) -> Segment:
    """Save a segment under its name, replacing the one of that name unless
    ``replace`` is false (then an existing name is an error).  Returns the
    segment as saved (name stripped, attribute names as the catalog writes
    them)."""
    try:
        clean = _validated(segment)
    except UnknownAttribute as exc:
        raise SegmentError(str(exc)) from None
    now = store.now()
    with store.write() as conn:
        existing = conn.execute(select(T_SEGMENT.c.id).where(T_SEGMENT.c.name == clean.name)).scalar()
        if existing is not None:
            if not replace:
                raise SegmentError(f"a segment named {clean.name!r} already exists")
            conn.execute(T_SEGMENT.update().where(T_SEGMENT.c.id == existing)
                         .values(definition=_definition(clean), updated_at=now))
        else:
            conn.execute(T_SEGMENT.insert().values(
                name=clean.name, definition=_definition(clean), created_at=now, updated_at=now))
    return clean


def _missing(conn, name: str) -> UnknownSegment:
    names = [r[0] for r in conn.execute(select(T_SEGMENT.c.name).order_by(T_SEGMENT.c.name))]
    saved = f"saved segments: {', '.join(names)}" if names else "no segments are saved"
    return UnknownSegment(f"no segment named {name!r}; {saved}")


def get(store: Store, name: str) -> Segment:
    """The saved segment of that name; :class:`UnknownSegment` if none."""
    with store.read() as conn:
        row = conn.execute(select(T_SEGMENT.c.name, T_SEGMENT.c.definition)
                           .where(T_SEGMENT.c.name == name.strip())).first()
        if row is None:
            raise _missing(conn, name)
    return _segment(row[0], row[1])


def rename(store: Store, old: str, new: str) -> Segment:
    """Give a saved segment a new name; returns it renamed."""
    new = _check_name(new)
    with store.write() as conn:
        row = conn.execute(select(T_SEGMENT.c.id, T_SEGMENT.c.definition)
                           .where(T_SEGMENT.c.name == old.strip())).first()
        if row is None:
            raise _missing(conn, old)
        if new != old.strip() and conn.execute(
                select(T_SEGMENT.c.id).where(T_SEGMENT.c.name == new)).first() is not None:
            raise SegmentError(f"a segment named {new!r} already exists")
        conn.execute(T_SEGMENT.update().where(T_SEGMENT.c.id == row[0])
                     .values(name=new, updated_at=store.now()))
    return _segment(new, row[1])


def delete(store: Store, name: str) -> None:
    """Delete a saved segment; its customers are untouched."""
    with store.write() as conn:
        if conn.execute(T_SEGMENT.delete().where(T_SEGMENT.c.name == name.strip())).rowcount == 0:
            raise _missing(conn, name)


def list_segments(store: Store) -> list[tuple[Segment, int]]:
    """Every saved segment, by name, with the number of customers in it.
    A segment saved by another version that no longer reads counts -1."""
    with store.read() as conn:
        rows = conn.execute(select(T_SEGMENT.c.name, T_SEGMENT.c.definition)
                            .order_by(T_SEGMENT.c.name)).all()
        out = []
        for name, definition in rows:
            segment = _segment(name, definition)
            try:
                stmt = select(func.count()).select_from(T_CUSTOMER).where(segment_filter(segment))
            except (SegmentError, UnknownAttribute):
                out.append((segment, -1))
                continue
            out.append((segment, int(conn.execute(stmt).scalar_one())))
    return out


__all__ = [
    "OPERATORS", "NO_VALUE", "COMBINE", "Condition", "Segment", "SegmentError", "UnknownSegment",
    "parse_condition", "where", "segment_filter", "count", "save", "get", "rename", "delete",
    "list_segments",
]
