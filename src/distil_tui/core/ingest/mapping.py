"""Column names to attributes, and one mapped row to a parsed record.

A header is folded (lower case, letters and digits only) and looked up among
the aliases of the standard attributes; anything else becomes a custom
attribute under its own name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

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
    if attribute in ("first_name", "last_name"):
        return norm.name_display(raw)
    if attribute == "email_address":
        return norm.email_display(raw)
    if attribute == "mobile_phone_no":
        return norm.phone_display(raw, region)
    if attribute == "date_of_birth":
        text = norm.clean(raw)
        return norm.date_value(text) or text if text else None
    if attribute == "postcode":
        return norm.postcode_value(raw)
    return norm.clean(raw)


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
