"""Column names to attributes, and one mapped row to a parsed record.

A header is folded (lower case, letters and digits only) and looked up among
the aliases of the standard attributes; anything else becomes a custom
attribute under its own name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial

from distil_tui.core import normalize as norm
from distil_tui.core.models import STANDARD_ATTRIBUTES

_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "forename", "givenname", "fname", "first"),
    "last_name": ("lastname", "surname", "familyname", "lname", "last"),
    "email_address": (
        "emailaddress", "email", "emailaddr", "mail", "eaddress", "emailid", "useremail",
        "customeremail",
    ),
    "mobile_phone_no": (
        "mobilephoneno", "mobilephonenumber", "mobilephone", "mobile", "mobileno",
        "mobilenumber", "phone", "phonenumber", "phoneno", "telephone", "tel", "cell",
        "cellphone",
    ),
    "date_of_birth": ("dateofbirth", "dob", "birthdate", "birthday", "dateborn"),
    "address_line_1": ("addressline1", "address1", "address", "street", "streetaddress", "addr1"),
    "address_line_2": ("addressline2", "address2", "addr2"),
    "town": ("town", "city", "towncity", "locality"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "postcodezip"),
    "country": ("country", "countrycode", "countryname"),
    "company_name": ("companyname", "company", "organisation", "organization", "employer"),
}

_HEADER_TO_ATTRIBUTE = {
    alias: attribute for attribute, aliases in _ALIASES.items() for alias in aliases
}
_FOLD_RE = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def fold_header(name: str) -> str:
    return _FOLD_RE.sub("", name.strip().lstrip("\ufeff").lower())


@lru_cache(maxsize=4096)
def attribute_for(header: str) -> str:
    """The standard attribute a column holds, or the column's own name as a
    custom attribute."""
    return _HEADER_TO_ATTRIBUTE.get(fold_header(header), header.strip())


@dataclass
class ParsedRecord:
    """A source record as read, before it reaches the store."""

    source_key: str
    line: int
    kind: str  # "customer", "visitor", "identify"
    values: dict[str, str]
    raw: dict[str, object]
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None


def map_values(
    row: dict[str, object], *, region: str, skip: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Mapped and tidied attribute values of one row; empty values dropped.
    The first non-empty column wins when two map to one attribute."""
    values: dict[str, str] = {}
    for header, raw in row.items():
        if header in skip:
            continue
        attribute = attribute_for(header)
        if attribute in values:
            continue
        value = tidy(attribute, raw, region=region)
        if value is not None:
            values[attribute] = value
    return values


def tidy(attribute: str, raw: object, *, region: str) -> str | None:
    if isinstance(raw, (dict, list)):
        return json.dumps(raw, ensure_ascii=False, sort_keys=True) if raw else None
    return _tidier(attribute, region)(raw)


def _date_of_birth(raw: object) -> str | None:
    text = norm.clean(raw)
    return norm.date_value(text) or text if text else None


@lru_cache(maxsize=4096)
def _tidier(attribute: str, region: str) -> Callable[[object], str | None]:
    """The function that tidies a value of ``attribute`` (not a JSON object
    or array: :func:`tidy` writes those as JSON)."""
    if attribute in ("first_name", "last_name"):
        return norm.name_display
    if attribute == "email_address":
        return norm.email_display
    if attribute == "mobile_phone_no":
        return partial(norm.phone_display, region=region)
    if attribute == "date_of_birth":
        return _date_of_birth
    if attribute == "postcode":
        return norm.postcode_value
    return norm.clean


class RowMapper:
    """:func:`map_values` for every row with one set of column names, in
    one order (a CSV file's header, or one shape of JSON object): the
    attribute and the tidying function of each column are found once,
    not once per row.

    With ``text_only`` (every value a string: a CSV file) a column's tidied
    values are also remembered while the column repeats itself (names,
    towns, countries, dates of birth, phones left empty): every
    :data:`MEMO_TRIAL` rows, a column whose values are nearly all distinct
    (emails, addresses), or that has filled its :data:`MEMO_LIMIT`, stops
    being remembered.  Every tidying function gives one answer for one
    text, so remembering changes no result."""

    MEMO_TRIAL = 2000
    MEMO_LIMIT = 100_000

    def __init__(
        self,
        header: Sequence[str],
        *,
        region: str,
        skip: str | None = None,
        text_only: bool = False,
    ) -> None:
        # (attribute, tidier, memo) of each column, None for the skipped one.
        self._plan = [
            None if skip and h == skip
            else (attribute_for(h), _tidier(attribute_for(h), region), {} if text_only else None)
            for h in header
        ]
        self._text_only = text_only
        self._rows = 0

    def values(self, row: dict[str, object]) -> dict[str, str]:
        """``map_values(row, ...)`` of a row whose keys are the header, in
        its order."""
        if self._text_only:
            self._rows += 1
            if self._rows % self.MEMO_TRIAL == 0:
                self._drop_memos()
        values: dict[str, str] = {}
        for step, raw in zip(self._plan, row.values()):
            if step is None:
                continue
            attribute, tidier, memo = step
            if attribute in values:
                continue
            if memo is not None:
                value = memo.get(raw, _UNSEEN)
                if value is _UNSEEN:
                    value = memo[raw] = tidier(raw)
            elif not isinstance(raw, (dict, list)):
                value = tidier(raw)
            else:
                value = json.dumps(raw, ensure_ascii=False, sort_keys=True) if raw else None
            if value is not None:
                values[attribute] = value
        return values

    def _drop_memos(self) -> None:
        for i, step in enumerate(self._plan):
            if step is None or step[2] is None:
                continue
            seen = len(step[2])
            if seen > self.MEMO_LIMIT or seen > self._rows * 0.9:
                self._plan[i] = (step[0], step[1], None)


_UNSEEN = object()


def identifiers_for(
    source: str, values: dict[str, str], *, customer_id: str | None, region: str
) -> list[tuple[str, str]]:
    """The linking identifiers of a record, in a fixed kind order."""
    found: list[tuple[str, str]] = []
    email = norm.email_identifier(values.get("email_address"))
    if email:
        found.append(("email_address", email))
    phone = norm.phone_identifier(values.get("mobile_phone_no"), region)
    if phone:
        found.append(("mobile_phone_no", phone))
    if customer_id is not None:
        cid = norm.customer_id_identifier(source, customer_id)
        if cid:
            found.append(("customer_id", cid))
    return found


assert set(_ALIASES) == set(STANDARD_ATTRIBUTES)
