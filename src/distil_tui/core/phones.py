"""Phone numbers to E.164, with ``phonenumbers`` as the authority.

``phonenumbers.parse`` and ``is_valid_number`` cost about 35 us a number,
the largest single cost of reading a customer file.  Most numbers are
written plainly (``07700 900123``, ``+44 7700 900123``), and for those the
library's own metadata answers in a few microseconds: strip the formatting,
split off the country code or the national prefix, and match the national
number against the region's patterns exactly as ``is_valid_number`` does.
The fast path only ever says "valid, and this is its E.164 form"; anything
it is not sure of (letters, extensions, unusual prefixes, an invalid
number) goes to ``phonenumbers`` itself, so the result is the library's in
every case (a test compares the two on many generated numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

# A national number may open with a bracket, "(07903) 252 551", as many
# exports write it: the library reads from the first digit on, as we do.
_PLAIN_RE = re.compile(r"^[+(]?[0-9][0-9 ().\-]*$")
_NON_DIGIT_RE = re.compile(r"\D")
# The number types ``phonenumbers`` tries.  The order does not change
# whether a number is valid, only which type it is, so the types most
# numbers are come first.
_TYPES = ("mobile", "fixed_line", "premium_rate", "toll_free", "shared_cost", "voip",
          "personal_number", "pager", "uan", "voicemail")


@dataclass(frozen=True)
class _Desc:
    lengths: frozenset[int]
    pattern: re.Pattern

    def matches(self, national: str) -> bool:
        return (not self.lengths or len(national) in self.lengths) and self.pattern.fullmatch(national) is not None


@dataclass(frozen=True)
class _Region:
    code: str
    country_code: int
    # The region's national prefix for parsing ("0" in the UK), when it is
    # stripped as it is, with no carrier code and no transform: only then is
    # the fast path sure to strip what the library strips.
    prefix: re.Pattern | None
    # The prefix for dialling abroad ("00"): a number starting with it is
    # an international one, for the library to read.
    international: re.Pattern | None
    leading_digits: re.Pattern | None
    general: _Desc
    types: tuple[_Desc, ...]

    def valid(self, national: str) -> bool:
        return self.general.matches(national) and any(d.matches(national) for d in self.types)


def _desc(desc) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern))


@lru_cache(maxsize=None)
def _region(code: str) -> _Region | None:
    md = PhoneMetadata.metadata_for_region(code, None)
    if md is None:
        return None
    general = _desc(md.general_desc)
    if general is None:
        return None
    prefix = re.compile(md.national_prefix_for_parsing) if md.national_prefix_for_parsing else None
    if prefix is not None and (prefix.groups or md.national_prefix_transform_rule):
        prefix = None
    return _Region(
        code=code,
        country_code=md.country_code,
        prefix=prefix,
        international=re.compile(md.international_prefix) if md.international_prefix else None,
        leading_digits=re.compile(md.leading_digits) if md.leading_digits else None,
        general=general,
        types=tuple(d for d in (_desc(getattr(md, t)) for t in _TYPES) if d is not None),
    )


def _valid_in_country(country_code: int, national: str) -> bool:
    """``is_valid_number`` for a country code shared by several regions:
    the first region whose leading digits match, or that knows the number,
    decides."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    for code in regions:
        region = _region(code)
        if region is None:
            return False  # a non-geographic entity: the library decides
        if len(regions) == 1:
            return region.valid(national)
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return region.valid(national)
        elif region.valid(national):
            return True
    return False


def fast_e164(text: str, default_region: str) -> str | None:
    """E.164 of a plainly written, valid number; ``None`` means "ask
    ``phonenumbers``", not "invalid"."""
    if not _PLAIN_RE.match(text):
        return None
    digits = _NON_DIGIT_RE.sub("", text)
    if text.startswith("+"):
        if digits.startswith("0"):
            return None
        for size in (1, 2, 3):
            code = int(digits[:size]) if len(digits) > size else 0
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[size:]
                home = _region(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code][0])
                break
        else:
            return None
        # A national prefix after the country code ("+44 (0)20 ...") is
        # stripped by the library under rules not repeated here.
        if home is None or home.prefix is None or home.prefix.match(national):
            return None
    else:
        home = _region(default_region)
        if (home is None or home.prefix is None or digits.startswith(str(home.country_code))
                or (home.international is not None and home.international.match(digits))):
            return None
        written_prefix = home.prefix.match(digits)
        if written_prefix is None:
            return None
        code = home.country_code
        national = digits[written_prefix.end():]
    if national.startswith("0"):  # kept leading zeros are the library's business
        return None
    if _valid_in_country(code, national):
        return f"+{code}{national}"
    return None


def e164(text: str, region: str) -> str | None:
    """E.164 form of a valid number written in ``region``'s conventions,
    else ``None``."""
    fast = fast_e164(text, region)
    if fast is not None:
        return fast
    return library_e164(text, region)


def library_e164(text: str, region: str) -> str | None:
    """The same answer from ``phonenumbers`` alone."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)



def national_number(e164_text: str) -> str:
    """The national significant number of an E.164 string ("+447700900123"
    -> "7700900123"): country calling codes are prefix-free."""
    digits = e164_text.lstrip("+")
    for size in (1, 2, 3):
        if int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[size:]
    return digits
