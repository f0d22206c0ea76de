"""Field-by-field comparison of two records, for probabilistic matching.

A record's *match fields* are the normalised values the model compares.  Each
comparison turns a pair of values into a *level* (exact, close, ..., else),
or ``None`` when either side is missing: a missing value is no evidence
either way.  The levels are what the Fellegi-Sunter model weighs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import orjson
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import ratio

from distil_tui.core import normalize as norm
from distil_tui.core.resolve.names import first_name_key, nickname_or_initial


@dataclass(frozen=True, slots=True)
class MatchFields:
    first: str | None
    last: str | None
    dob: str | None  # YYYYMMDD
    postcode: str | None  # upper case, no spaces
    town: str | None
    address: str | None
    email: str | None
    phone: str | None
    extra: tuple[str | None, ...] = ()

    def is_empty(self) -> bool:
        return not (self.first or self.last or self.dob or self.postcode or self.address)


def match_fields(values: dict[str, str], extra_fields: tuple[str, ...] = (), region: str = "GB") -> MatchFields:
    dob = _dob_digits(values.get("date_of_birth"))
    postcode = values.get("postcode")
    address = " ".join(v for v in (values.get("address_line_1"), values.get("address_line_2")) if v)
    phone = values.get("mobile_phone_no")
    return MatchFields(
        first=first_name_key(values.get("first_name")),
        last=norm.name_key(values.get("last_name")),
        dob=dob,
        postcode=postcode.replace(" ", "").upper() if postcode else None,
        town=norm.fold(values.get("town")),
        address=norm.fold(address) or None,
        email=norm.email_identifier(values.get("email_address")),
        phone=norm.phone_identifier(phone, region) if phone else None,
        extra=tuple(norm.fold(values.get(name)) for name in extra_fields) if extra_fields else (),
    )


# Bump when match_fields() would give other values for the same record: the
# stored fields of an older format are then ignored and made again.
FIELDS_FORMAT = 1
FIELDS_PREFIX = f"[{FIELDS_FORMAT},"  # how the stored form of this format starts


def encode_fields(f: MatchFields) -> str:
    """The stored form of a record's match fields (without the extra fields,
    which follow the resolution settings of the day)."""
    return orjson.dumps(
        [FIELDS_FORMAT, f.first, f.last, f.dob, f.postcode, f.town, f.address, f.email, f.phone]).decode()


def decode_fields(text: str | None) -> MatchFields | None:
    """Fields stored by :func:`encode_fields`; ``None`` when there are none
    or they are of another format."""
    if not text:
        return None
    values = orjson.loads(text)
    if values[0] != FIELDS_FORMAT:
        return None
    return MatchFields(*values[1:])


def _dob_digits(value: str | None) -> str | None:
    """YYYYMMDD of a date of birth; a mistyped date that is no real date
    (31 June) still compares by its digits."""
    if not value:
        return None
    parsed = norm.date_value(value)
    if parsed:
        return parsed.replace("-", "")
    parts = re.findall(r"\d+", value)
    if len(parts) == 3:
        if len(parts[0]) == 4:  # year first
            year, month, day = parts
        elif len(parts[2]) == 4:  # day first, as British files write it
            day, month, year = parts
        else:
            return None
        return f"{year}{month:0>2}{day:0>2}" if len(month) <= 2 and len(day) <= 2 else None
    digits = "".join(parts)
    return digits if len(digits) == 8 else None


@dataclass(frozen=True)
class Comparison:
    """One compared field and the names of its levels, best first.  The
    last level is always "else": both present, no level above applies.
    ``typical_u`` is how often each level but "else" occurs between two
    different people in a typical customer base: the model's starting point
    until the data says otherwise."""

    name: str
    levels: tuple[str, ...]
    typical_u: tuple[float, ...] = ()

    def u_guess(self) -> list[float]:
        known = list(self.typical_u)
        return [*known, 1.0 - sum(known)]


def _name_level(a: str, b: str) -> int:
    if a == b:
        return 0
    similarity = JaroWinkler.similarity(a, b)
    if similarity >= 0.92 or nickname_or_initial(a, b):
        return 1
    if similarity >= 0.80:
        return 2
    return 3


def _dob_level(a: str, b: str) -> int:
    if a == b:
        return 0
    # Day and month swapped (a US-written date read as British), or one typo.
    if a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
        return 1
    if Levenshtein.distance(a, b) <= 1:
        return 1
    if a[:4] == b[:4] or Levenshtein.distance(a, b) <= 2:
        return 2
    return 3


def _postcode_level(a: str, b: str) -> int:
    if a == b:
        return 0
    if Levenshtein.distance(a, b) <= 1:
        return 1
    return 2


def _town_level(a: str, b: str) -> int:
    if a == b:
        return 0
    return 1 if JaroWinkler.similarity(a, b) >= 0.88 else 2


def _address_level(a: str, b: str) -> int:
    if a == b:
        return 0
    score = ratio(a, b)
    if score >= 90:
        return 1
    if score >= 75:
        return 2
    return 3


def _exact_level(a: str, b: str) -> int:
    return 0 if a == b else 1


def _code_level(a: str, b: str) -> int:
    if a == b:
        return 0
    distance = Levenshtein.distance(a, b, score_cutoff=3)
    if distance <= 1:
        return 1
    if distance <= 2:
        return 2
    return 3


NAME_LEVELS = ("exact", "close", "similar", "else")
BASE_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("first_name", NAME_LEVELS, (0.01, 0.005, 0.02)),
    Comparison("last_name", NAME_LEVELS, (0.005, 0.003, 0.01)),
    Comparison("date_of_birth", ("exact", "one typo or day/month swapped", "same year or two typos", "else"),
               (0.0001, 0.001, 0.02)),
    Comparison("postcode", ("exact", "one typo", "else"), (0.0005, 0.002)),
    Comparison("town", ("exact", "close", "else"), (0.02, 0.005)),
    Comparison("address", ("exact", "close", "similar", "else"), (0.0005, 0.001, 0.005)),
    # No "similar" level: local parts are made of names, so namesakes'
    # addresses look alike (olivia.thomas@, olivia.thomas66@).
    Comparison("email_address", ("exact", "else"), (0.0001,)),
    Comparison("mobile_phone_no", ("exact", "else"), (0.0001,)),
)
DOB_INDEX = 2
_BASE_FUNCTIONS = (
    _name_level, _name_level, _dob_level, _postcode_level, _town_level, _address_level,
    _exact_level, _exact_level,
)
EXTRA_LEVELS = ("exact", "one typo", "two typos", "else")


def comparisons(extra_fields: tuple[str, ...]) -> tuple[Comparison, ...]:
    return BASE_COMPARISONS + tuple(
        Comparison(name, EXTRA_LEVELS, (0.0001, 0.0005, 0.002)) for name in extra_fields)


def oriented(a: MatchFields, b: MatchFields) -> MatchFields:
    """``a`` with first and last name swapped if that is how ``b`` has them
    (exactly, or with typos: the swapped names are clearly the closer)."""
    if not (a.first and a.last and b.first and b.last) or a.first == a.last:
        return a
    if a.first == b.first or a.last == b.last:
        return a
    straight = JaroWinkler.similarity(a.first, b.first) + JaroWinkler.similarity(a.last, b.last)
    swap_first = JaroWinkler.similarity(a.first, b.last)
    swap_last = JaroWinkler.similarity(a.last, b.first)
    if min(swap_first, swap_last) >= 0.8 and swap_first + swap_last > straight + 0.2:
        return replace(a, first=a.last, last=a.first)
    return a


def compare(a: MatchFields, b: MatchFields) -> tuple[int | None, ...]:
    """The comparison levels of a pair, in :func:`comparisons` order."""
    a = oriented(a, b)
    first_a, last_a = a.first, a.last
    pairs = (
        (first_a, b.first), (last_a, b.last), (a.dob, b.dob), (a.postcode, b.postcode),
        (a.town, b.town), (a.address, b.address), (a.email, b.email), (a.phone, b.phone),
    )
    levels: list[int | None] = [
        fn(x, y) if x and y else None for fn, (x, y) in zip(_BASE_FUNCTIONS, pairs, strict=True)
    ]
    for x, y in zip(a.extra, b.extra, strict=True):
        levels.append(_code_level(x, y) if x and y else None)
    return tuple(levels)


def field_values(fields: MatchFields) -> tuple[str | None, ...]:
    """The compared values, in :func:`comparisons` order (for evidence)."""
    return (fields.first, fields.last, fields.dob, fields.postcode, fields.town, fields.address,
            fields.email, fields.phone, *fields.extra)


# -- blocking ------------------------------------------------------------


_FLAT_RE = re.compile(r"^(?:flat|apartment|apt|unit|room)\s+\S+?,?\s+")


@lru_cache(maxsize=65536)
def soundex(word: str) -> str:
    """American Soundex: names that sound alike share a code (Robert, Rupert
    -> R163)."""
    codes = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
             **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}
    word = "".join(ch for ch in word.lower() if ch.isalpha())
    if not word:
        return ""
    out = [word[0].upper()]
    last = codes.get(word[0], "")
    for ch in word[1:]:
        code = codes.get(ch, "")
        if code and code != last:
            out.append(code)
        if ch not in "hw":
            last = code
    return ("".join(out) + "000")[:4]


def blocking_keys(f: MatchFields) -> list[str]:
    """Keys under which a record is filed: two records are compared when
    they share any key.  Several passes, so that one mistyped or missing
    field does not hide a match."""
    keys: list[str] = []
    first, last = f.first, f.last
    if first and last:
        pair = sorted((soundex(first), soundex(last)))
        keys.append(f"n:{pair[0]}:{pair[1]}")
    if f.dob:
        if first:
            keys.append(f"df:{f.dob}:{first[0]}")
        if last:
            keys.append(f"dl:{f.dob}:{last[0]}")
        if f.postcode:
            keys.append(f"dp:{f.dob}:{f.postcode}")
    if f.postcode:
        if first:
            keys.append(f"pf:{f.postcode}:{first[0]}")
        if last:
            keys.append(f"pl:{f.postcode}:{last[:2]}")
    if last and f.address:
        street = _FLAT_RE.sub("", f.address).split()[:2]
        if street:
            keys.append(f"al:{' '.join(street)}:{last[0]}")
    for i, value in enumerate(f.extra):
        if value:
            keys.append(f"x{i}:{value}")
    return keys
