"""Normalisation of attribute values and identifiers.

Two outputs for each kind of value: the *display* value kept as an attribute
(tidied, never invented), and the *identifier* value used for linking, which
is ``None`` when the value must never link (empty, null-like, placeholder,
test or role mailbox...).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from functools import lru_cache

from distil_tui.core import phones

NULL_LIKE = frozenset(
    {
        "", "null", "none", "nil", "nan", "n/a", "na", "-", "--", "0", "-1", "undefined",
        "unknown", "anonymous", "anon", "test", "xxx", "false", "true", "?",
    }
)

# Mailboxes that many people share or that nobody owns: they never link.
BLOCKED_EMAIL_LOCALS = frozenset(
    {
        "test", "testing", "tester", "noreply", "no-reply", "donotreply", "do-not-reply",
        "info", "admin", "administrator", "sales", "support", "office", "contact",
        "hello", "enquiries", "enquiry", "accounts", "mail", "email", "none", "null",
        "example", "user", "customer", "unknown", "nobody", "postmaster", "webmaster",
    }
)
BLOCKED_EMAIL_DOMAINS = frozenset(
    {"example.com", "example.org", "example.net", "test.com", "test.invalid", "invalid", "localhost"}
)

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPACE_RE = re.compile(r"\s+")
_NON_WORD_RE = re.compile(r"[^\w]+")
_DIGITS_RE = re.compile(r"\d")


# Lower-casing never shortens a string, so nothing longer than this is null-like.
_NULL_LIKE_MAX = max(len(v) for v in NULL_LIKE)


def clean(value: object) -> str | None:
    """Collapse white space; empty and null-like strings become ``None``.

    Called for nearly every value an import reads: ``str.split()`` splits on
    exactly the characters ``\\s`` matches (``str.isspace``), and joining
    the pieces with one space is the same as replacing each run and
    stripping, at a quarter of the cost."""
    if value is None:
        return None
    text = " ".join((value if type(value) is str else str(value)).split())
    if len(text) <= _NULL_LIKE_MAX and text.lower() in NULL_LIKE:
        return None
    return text


def fold(text: str | None) -> str | None:
    """Case- and accent-folded form for matching and search: 'Zoë' -> 'zoe'."""
    if not text:
        return None
    if text.isascii():  # the common case, without Unicode decomposition
        return " ".join(text.lower().split()) or None
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE_RE.sub(" ", stripped).strip() or None


@lru_cache(maxsize=65536)
def name_key(text: str | None) -> str | None:
    """Folded name with punctuation removed: "O'Brien" -> 'obrien'.
    Cached: a customer base has far fewer names than records."""
    folded = fold(text)
    if not folded:
        return None
    return _NON_WORD_RE.sub("", folded) or None


# -- email ---------------------------------------------------------------


def email_display(value: object) -> str | None:
    text = clean(value)
    return text.replace(" ", "") if text else None


def email_identifier(value: object) -> str | None:
    """Case and surrounding space folded; ``None`` for invalid or blocked."""
    text = clean(value)
    if not text:
        return None
    email = text.replace(" ", "").lower()
    if email.startswith("mailto:"):
        email = email[7:]
    if not _EMAIL_RE.match(email):
        return None
    local, _, domain = email.rpartition("@")
    base_local = local.split("+", 1)[0]
    if base_local in BLOCKED_EMAIL_LOCALS or domain in BLOCKED_EMAIL_DOMAINS:
        return None
    if domain.endswith((".invalid", ".test", ".example", ".localhost")):
        return None
    return email


# -- phone ---------------------------------------------------------------


_E164_SEEN: dict[tuple[str, str], str | None] = {}
_E164_CACHE_LIMIT = 1_000_000


def phone_identifier(value: str | None, region: str = "GB") -> str | None:
    """E.164 form of a valid number, or ``None`` for an invalid number or a
    placeholder (all one digit, a run such as 0123456789).

    Parsing is the costliest step of an import, and a number arrives first
    as written and then again in the E.164 form we made of it: both forms
    are remembered."""
    key = (value or "", region)
    if key in _E164_SEEN:
        return _E164_SEEN[key]
    result = _parse_phone(value, region)
    if len(_E164_SEEN) > _E164_CACHE_LIMIT:
        _E164_SEEN.clear()
    _E164_SEEN[key] = result
    if result is not None:
        _E164_SEEN[(result, region)] = result
    return result


def _parse_phone(value: str | None, region: str) -> str | None:
    text = clean(value)
    if not text or not _DIGITS_RE.search(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    number = phones.e164(text, region)
    if number is None:
        return None
    national = phones.national_number(number)
    if len(set(national)) <= 2 or _is_run(national):
        return None
    return number


def _is_run(digits: str) -> bool:
    tail = digits[-8:]
    return tail in "0123456789012345678" or tail in "9876543210987654321"


def phone_display(value: object, region: str = "GB") -> str | None:
    text = clean(value)
    if not text:
        return None
    return phone_identifier(text, region) or text


# -- other identifiers ---------------------------------------------------


def anonymous_id_identifier(value: object) -> str | None:
    text = clean(value)
    if not text:
        return None
    return text


def customer_id_identifier(source: str, value: object) -> str | None:
    """A source's own key for the person, qualified by the source: the same
    key in two sources names two different things."""
    text = clean(value)
    if not text:
        return None
    return f"{source}:{text}"


# -- names, dates, places ------------------------------------------------


def name_display(value: object) -> str | None:
    """White space tidied, case left alone: 'McDonald', 'van der Berg' and
    'DJ' are the person's own spelling, and matching folds case anyway."""
    return clean(value)


_TRAILING_TIME_RE = re.compile(r"\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_NUMERIC_DATE_RE = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$|^(\d{4})(\d{2})(\d{2})$")
_DATE_FORMATS_DAY_FIRST = (
    "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y",
    "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%Y%m%d",
)
_DATE_FORMATS_MONTH_FIRST = (
    "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y",
    "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%Y%m%d",
)


@lru_cache(maxsize=65536)
def date_value(value: object, *, day_first: bool = True) -> str | None:
    """ISO date (YYYY-MM-DD) from the common written forms, else ``None``."""
    text = clean(value)
    if not text:
        return None
    text = text.replace(",", " ")
    text = _SPACE_RE.sub(" ", text).strip()
    if "T" in text and len(text) > 10:
        text = text.split("T", 1)[0]
    text = _TRAILING_TIME_RE.sub("", text)  # "1956-09-30 00:00:00", as exports write it
    m = _NUMERIC_DATE_RE.match(text)
    if m:  # the common forms, without strptime's exceptions
        a, b, c = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
        if len(a) == 4:
            year, month, day = a, b, c
        elif len(c) == 4:
            year, month, day = (c, b, a) if day_first else (c, a, b)
        else:
            year = month = day = ""
        if year:
            try:
                parsed = date(int(year), int(month), int(day))
            except ValueError:
                return None
            return parsed.isoformat() if 1900 <= parsed.year and parsed <= date.today() else None
    formats = _DATE_FORMATS_DAY_FIRST if day_first else _DATE_FORMATS_MONTH_FIRST
    for fmt in formats:
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if parsed.year < 1900 or parsed > date.today():
            return None
        return parsed.isoformat()
    return None


_UK_POSTCODE_RE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$")


def postcode_value(value: object) -> str | None:
    text = clean(value)
    if not text:
        return None
    compact = text.upper().replace(" ", "")
    m = _UK_POSTCODE_RE.match(compact)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    return text.upper()


def timestamp_value(value: object) -> str | None:
    """ISO 8601 in, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) out; ``None`` if unreadable
    (or out of range once moved to UTC).  A time with no zone is taken to be
    UTC."""
    if type(value) is str and _is_utc_second(value):
        return value if value[19] == "Z" else value[:19] + "Z"
    text = clean(value)
    if not text:
        return None
    candidate = text.replace(" ", "T", 1) if " " in text and "T" not in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        utc = parsed.astimezone(timezone.utc)
    except OverflowError:  # "0001-01-01T00:00:00+01:00" is before year 1 in UTC
        return None
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_utc_second(text: str) -> bool:
    """Whether ``text`` is already the output form (``2026-04-01T00:02:27Z``,
    or with a lower-case ``z``), as tracking exports write nearly every
    time.  Such a text is its own answer, with no parsing and printing.

    Accepts the same texts as ``fromisoformat`` does: the date and the time
    of day are each checked once and remembered (an export has a few
    hundred dates, and a day has 86,400 seconds)."""
    if len(text) != 20 or text[10] != "T" or text[19] not in "Zz":
        return False
    date_ok = _PLAIN_DATES.get(text[:10])
    if date_ok is None:
        date_ok = _remember(_PLAIN_DATES, text[:10], _is_plain_date(text[:10]))
    time_ok = _PLAIN_TIMES.get(text[11:19])
    if time_ok is None:
        time_ok = _remember(_PLAIN_TIMES, text[11:19], _is_plain_time(text[11:19]))
    return date_ok and time_ok


_PLAIN_DATES: dict[str, bool] = {}
_PLAIN_TIMES: dict[str, bool] = {}
_PLAIN_LIMIT = 200_000


def _remember(seen: dict[str, bool], text: str, answer: bool) -> bool:
    if len(seen) >= _PLAIN_LIMIT:
        seen.clear()
    seen[text] = answer
    return answer


def _is_plain_date(text: str) -> bool:
    """``YYYY-MM-DD`` in ASCII digits, a real date, year 1000 or later (so
    that the year prints back as four digits)."""
    if text[4] != "-" or text[7] != "-" or text[0] == "0" or not text.isascii():
        return False
    if not (text[:4] + text[5:7] + text[8:10]).isdigit():
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_plain_time(text: str) -> bool:
    """``HH:MM:SS`` in ASCII digits, a real time of day (two digits compare
    as text as they do as numbers)."""
    digits = text[:2] + text[3:5] + text[6:]
    return (
        text[2] == ":" and text[5] == ":" and digits.isascii() and digits.isdigit()
        and text[:2] <= "23" and text[3:5] <= "59" and text[6:] <= "59"
    )
