"""The fast phone path must give the library's answer whenever it answers."""

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from distil_tui.core.phones import e164, fast_e164, library_e164, national_number

_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE,
          PhoneNumberType.VOIP, PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.UAN,
          PhoneNumberType.PAGER, PhoneNumberType.PREMIUM_RATE)


def _near_valid_numbers(rng: random.Random):
    """Every region's example numbers with their last digits changed (mostly
    still valid, some not), written nationally, internationally and E.164."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            for _ in range(3):
                k = rng.randint(0, min(4, len(nsn) - 1))
                digits = nsn[: len(nsn) - k] + "".join(rng.choice("0123456789") for _ in range(k))
                number = phonenumbers.PhoneNumber(country_code=example.country_code,
                                                  national_number=int(digits))
                for style in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL,
                              PhoneNumberFormat.E164):
                    yield region, phonenumbers.format_number(number, style)


def test_fast_path_agrees_with_phonenumbers_across_regions():
    rng = random.Random(20261128)
    answered = 0
    for region, text in _near_valid_numbers(rng):
        for home in (region, "GB"):
            fast = fast_e164(text, home)
            if fast is not None:
                answered += 1
                assert fast == library_e164(text, home), (home, text)
    # The comparison means something only if the fast path answers often.
    assert answered > 3000


def test_fast_path_agrees_on_random_digit_strings():
    rng = random.Random(7)
    for _ in range(20000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 14)))
        text = rng.choice([digits, f"+{digits}", f"0{digits}", f"({digits[:4]}) {digits[4:]}",
                           f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"])
        home = rng.choice(["GB", "US", "DE", "FR", "IE", "RU", "IT", "AU", "IN", "BR"])
        fast = fast_e164(text, home)
        if fast is not None:
            assert fast == library_e164(text, home), (home, text)


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "GB", "+447911123456"),
        ("+44 (0)7911 123456", "GB", "+447911123456"),  # the library's path
        ("(202) 555-0143", "US", "+12025550143"),
        ("07911 123456 ext 4", "GB", "+447911123456"),
        ("0800 1111", "GB", "+448001111"),
        ("07911", "GB", None),
        ("not a phone", "GB", None),
    ],
)
def test_e164(text, region, expected):
    assert e164(text, region) == expected


def test_plain_numbers_take_the_fast_path():
    assert fast_e164("07911 123456", "GB") == "+447911123456"
    assert fast_e164("+1 202-555-0143", "GB") == "+12025550143"
    # A bracketed area or mobile prefix, as CRM exports write it.
    assert fast_e164("(07903) 252 551", "GB") == library_e164("(07903) 252 551", "GB") == "+447903252551"
    # Not sure: left to the library.
    assert fast_e164("07911 123456 ext 4", "GB") is None
    assert fast_e164("+44 (0)7911 123456", "GB") is None
    assert fast_e164("(+44) 7911 123456", "GB") is None


def test_national_number():
    assert national_number("+447911123456") == "7911123456"
    assert national_number("+12025550143") == "2025550143"
    assert national_number("+353861234567") == "861234567"
