"""Field comparisons for probabilistic matching (resolve/comparison.py):
match fields, the level each pair of values lands in, swapped names,
Soundex and blocking keys."""

from __future__ import annotations

import pytest

from distil_tui.core.resolve.comparison import (
    BASE_COMPARISONS,
    DOB_INDEX,
    EXTRA_LEVELS,
    MatchFields,
    blocking_keys,
    compare,
    comparisons,
    decode_fields,
    encode_fields,
    field_values,
    match_fields,
    oriented,
    soundex,
)

NAMES = [c.name for c in BASE_COMPARISONS]
EXTRA = ("membership_no",)
ALL = [c.name for c in comparisons(EXTRA)]


def level(field: str, a: str | None, b: str | None) -> str | None:
    """The level name two values of one attribute land in, compared as two
    records that hold nothing else."""
    attribute = {"address": "address_line_1"}.get(field, field)
    left = match_fields({attribute: a} if a is not None else {}, EXTRA)
    right = match_fields({attribute: b} if b is not None else {}, EXTRA)
    index = ALL.index(field)
    got = compare(left, right)
    assert len(got) == len(ALL)
    # Nothing else was given: every other field is missing, hence no evidence.
    assert all(lv is None for i, lv in enumerate(got) if i != index)
    lv = got[index]
    return None if lv is None else comparisons(EXTRA)[index].levels[lv]


def test_comparisons_are_the_base_fields_then_the_extra_fields():
    assert NAMES == ["first_name", "last_name", "date_of_birth", "postcode", "town", "address",
                     "email_address", "mobile_phone_no"]
    assert ALL == [*NAMES, "membership_no"]
    assert comparisons(EXTRA)[-1].levels == EXTRA_LEVELS
    assert NAMES[DOB_INDEX] == "date_of_birth"
    for c in comparisons(EXTRA):
        assert c.levels[-1] == "else"
        guess = c.u_guess()
        assert len(guess) == len(c.levels)
        assert sum(guess) == pytest.approx(1.0)
        assert all(0 < u < 1 for u in guess)


# -- levels, field by field ---------------------------------------------------


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("Jonathan", "JONATHAN", "exact"),
    ("Zoë", "zoe", "exact"),  # accents and case folded
    ("Mary-Jane", "Mary", "exact"),  # first word of a double first name
    ("Jonathan", "Jonathon", "close"),  # one vowel mistyped
    ("Sarah", "Sara", "close"),
    ("William", "Bill", "close"),  # a known short form, however unlike
    ("J", "John", "close"),  # an initial
    ("John", "Joan", "similar"),
    ("Mary", "Marie", "close"),  # a variant the nicknames data set knows
    ("Karen", "Karin", "similar"),
    ("Peter", "Paul", "else"),
    ("Olivia", "Bartholomew", "else"),
])
def test_first_name_levels(a, b, expected):
    assert level("first_name", a, b) == expected
    assert level("first_name", b, a) == expected  # symmetric


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("O'Brien", "obrien", "exact"),  # punctuation and case removed
    ("Thompson", "Thomson", "close"),
    ("Clarke", "Clark", "close"),
    ("Smith", "Smyth", "similar"),
    ("Smith", "Jones", "else"),
])
def test_last_name_levels(a, b, expected):
    assert level("last_name", a, b) == expected
    assert level("last_name", b, a) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("1980-05-12", "12/05/1980", "exact"),  # same day, two ways of writing it
    ("1980-05-12", "1980-12-05", "one typo or day/month swapped"),  # US-written date
    ("1980-05-12", "1980-05-13", "one typo or day/month swapped"),
    ("1980-05-12", "1980-11-30", "same year or two typos"),
    ("1980-05-12", "1981-05-13", "same year or two typos"),  # two typos, other year
    ("1980-05-12", "1967-11-30", "else"),
])
def test_date_of_birth_levels(a, b, expected):
    assert level("date_of_birth", a, b) == expected
    assert level("date_of_birth", b, a) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("SW1A 1AA", "sw1a1aa", "exact"),  # spacing and case
    ("SW1A 1AA", "SW1A 1AB", "one typo"),
    ("SW1A 1AA", "SW1A1A", "one typo"),  # a character dropped
    ("SW1A 1AA", "M1 1AE", "else"),
])
def test_postcode_levels(a, b, expected):
    assert level("postcode", a, b) == expected
    assert level("postcode", b, a) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("London", " LONDON ", "exact"),
    ("Manchester", "Manchster", "close"),
    ("London", "Londn", "close"),
    ("Leeds", "Leicester", "else"),
    ("Bristol", "Brighton", "else"),
])
def test_town_levels(a, b, expected):
    assert level("town", a, b) == expected
    assert level("town", b, a) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("12 High Street", "12 HIGH STREET", "exact"),
    ("12 High Street", "12 High Streat", "close"),
    ("1 Church Lane", "1 Church Lan", "close"),
    ("12 High Street", "12 High St", "similar"),
    ("12 High Street", "99 Low Road", "else"),
])
def test_address_levels(a, b, expected):
    assert level("address", a, b) == expected
    assert level("address", b, a) == expected


def test_address_is_both_address_lines():
    one = match_fields({"address_line_1": "Flat 2", "address_line_2": "12 High Street"})
    assert one.address == "flat 2 12 high street"
    other = match_fields({"address_line_1": "Flat 2 12 High Street"})
    assert compare(one, other)[ALL.index("address")] == 0
    assert match_fields({"address_line_2": "12 High Street"}).address == "12 high street"


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("Ann.Lee@Mail.co.uk", " ann.lee@mail.co.uk ", "exact"),
    ("ann.lee@mail.co.uk", "ann.lee1@mail.co.uk", "else"),  # no "similar" level for emails
    ("ann.lee@mail.co.uk", "bo@mail.co.uk", "else"),
])
def test_email_levels(a, b, expected):
    assert level("email_address", a, b) == expected


def test_a_blocked_email_is_no_evidence():
    assert level("email_address", "info@mail.co.uk", "info@mail.co.uk") is None
    assert level("email_address", "ann@example.com", "ann@example.com") is None


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("07911 123456", "+447911123456", "exact"),  # one number, two ways of writing it
    ("07911123456", "0044 7911 123456", "exact"),
    ("07911123456", "07911123457", "else"),
])
def test_phone_levels(a, b, expected):
    assert level("mobile_phone_no", a, b) == expected


def test_a_placeholder_phone_is_no_evidence():
    assert level("mobile_phone_no", "07000000000", "07000000000") is None
    assert level("mobile_phone_no", "01234567890", "01234567890") is None


@pytest.mark.parametrize("phone", ["+447000000000", "+441234567890", "+447700900123"])
def test_a_placeholder_phone_written_in_e164_is_no_evidence(phone):
    assert level("mobile_phone_no", phone, phone) is None


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("AB123456C", "ab123456c", "exact"),
    ("AB123456C", "AB123456D", "one typo"),
    ("AB123456C", "AB12345C", "one typo"),
    ("AB123456C", "AB123465C", "two typos"),  # two digits transposed
    ("AB123456C", "ZZ999999Z", "else"),
])
def test_extra_field_levels(a, b, expected):
    assert level("membership_no", a, b) == expected
    assert level("membership_no", b, a) == expected


@pytest.mark.parametrize("field", [*NAMES, "membership_no"])
def test_a_missing_value_on_either_side_is_no_evidence(field):
    value = {
        "date_of_birth": "1980-05-12", "postcode": "SW1A 1AA", "email_address": "ann@mail.co.uk",
        "mobile_phone_no": "07911123456",
    }.get(field, "Something")
    assert level(field, value, value) == "exact"
    assert level(field, value, None) is None
    assert level(field, None, value) is None
    assert level(field, None, None) is None
    assert level(field, value, "") is None
    assert level(field, "  ", value) is None


def test_compare_gives_one_level_per_comparison_in_order():
    a = match_fields({
        "first_name": "Ann", "last_name": "Lee", "date_of_birth": "1980-05-12", "postcode": "SW1A 1AA",
        "town": "London", "address_line_1": "12 High Street", "email_address": "ann@mail.co.uk",
        "mobile_phone_no": "07911123456", "membership_no": "AB123456C",
    }, EXTRA)
    b = match_fields({
        "first_name": "Ann", "last_name": "Lea", "date_of_birth": "1980-12-05", "postcode": "SW1A 1AB",
        "town": "Londn", "address_line_1": "99 Low Road", "email_address": "ann@other.co.uk",
        "mobile_phone_no": "07911123456",
    }, EXTRA)
    assert compare(a, b) == (0, 2, 1, 1, 1, 3, 1, 0, None)
    assert compare(a, a) == (0,) * len(ALL)
    assert field_values(a) == ("ann", "lee", "19800512", "SW1A1AA", "london", "12 high street",
                               "ann@mail.co.uk", "+447911123456", "ab123456c")


# -- names written the other way round ----------------------------------------


def names(first: str, last: str) -> MatchFields:
    return match_fields({"first_name": first, "last_name": last})


def test_swapped_names_are_compared_swapped():
    a, b = names("Smith", "John"), names("John", "Smith")
    assert oriented(a, b) == names("John", "Smith")
    assert compare(a, b)[:2] == (0, 0)
    assert compare(b, a)[:2] == (0, 0)


def test_swapped_names_with_a_typo_are_compared_swapped():
    a, b = names("Smith", "Jonathan"), names("Jonathon", "Smyth")
    assert oriented(a, b).first == "jonathan" and oriented(a, b).last == "smith"
    first, last = compare(a, b)[:2]
    assert first == 1  # close
    assert last is not None and last <= 2  # Smith / Smyth: similar


def test_names_the_right_way_round_are_not_swapped():
    a = names("John", "Smith")
    assert oriented(a, names("Jon", "Smith")) is a
    assert oriented(a, names("John", "Smyth")) is a
    assert oriented(a, names("Mary", "Jones")) is a
    # One name both ways ("James James") gives nothing to swap.
    same = names("James", "James")
    assert oriented(same, names("James", "Jameson")) is same
    # Half a name cannot be swapped.
    assert oriented(match_fields({"first_name": "Smith"}), names("John", "Smith")).first == "smith"


# -- match fields: normalisation ----------------------------------------------


@pytest.mark.parametrize("written", [
    "1956-09-30", "30/09/1956", "30-09-1956", "30.09.1956", "1956/09/30", "30 Sep 1956",
    "30 September 1956", "Sep 30, 1956", "19560930", "1956-09-30T00:00:00Z",
])
def test_dates_of_birth_in_several_formats_are_one_date(written):
    assert match_fields({"date_of_birth": written}).dob == "19560930"


def test_a_date_that_is_no_real_date_is_still_compared_by_its_digits():
    # 31 September does not exist: a typo for the 30th, or the 1st of October.
    mistyped = match_fields({"date_of_birth": "19560931"})
    assert mistyped.dob == "19560931"
    assert match_fields({"date_of_birth": "1956-09-31"}).dob == "19560931"
    real = match_fields({"date_of_birth": "30/09/1956"})
    assert compare(mistyped, real)[DOB_INDEX] == 1  # one typo


@pytest.mark.parametrize("written", ["1956-09-30 00:00:00", "30/09/1956 00:00"])
def test_a_date_of_birth_with_a_time_after_a_space_is_still_a_date(written):
    assert match_fields({"date_of_birth": written}).dob == "19560930"


def test_a_date_of_birth_that_is_not_a_date_at_all_is_missing():
    assert match_fields({"date_of_birth": "unknown"}).dob is None
    assert match_fields({"date_of_birth": "1956"}).dob is None
    assert match_fields({"date_of_birth": "12/1956"}).dob is None
    assert match_fields({}).dob is None


@pytest.mark.parametrize("written", ["31/06/1980", "31-06-1980", "31.6.1980", "1980-06-31", "1980/6/31"])
def test_a_date_that_is_no_real_date_is_compared_as_yyyymmdd_whichever_way_written(written):
    # Ingest keeps a date it cannot read as written: a British file's
    # "31/06/1980" must still come out as YYYYMMDD, one typo from 30 June.
    mistyped = match_fields({"date_of_birth": written})
    assert mistyped.dob == "19800631"
    assert compare(mistyped, match_fields({"date_of_birth": "30/06/1980"}))[DOB_INDEX] == 1


@pytest.mark.parametrize("written", ["SW1A 1AA", "sw1a1aa", " Sw1A  1aA ", "SW1A1AA"])
def test_postcodes_compare_without_spaces_or_case(written):
    assert match_fields({"postcode": written}).postcode == "SW1A1AA"


def test_match_fields_of_other_values():
    f = match_fields({
        "first_name": "Mary-Jane", "last_name": "O'Brien", "town": "Saint-Étienne",
        "email_address": "Mary@Mail.co.uk", "mobile_phone_no": "07911 123456", "membership_no": " AB 12 ",
        "company_name": "Ignored Ltd",
    }, EXTRA)
    assert (f.first, f.last, f.town, f.email, f.phone, f.extra) == (
        "mary", "obrien", "saint-etienne", "mary@mail.co.uk", "+447911123456", ("ab 12",))
    assert match_fields({"mobile_phone_no": "07911123456"}, region="FR").phone != "+447911123456"
    assert match_fields({}, EXTRA).extra == (None,)


def test_a_record_with_only_contact_details_has_nothing_to_compare_by_name():
    assert match_fields({}).is_empty()
    assert match_fields({"email_address": "ann@mail.co.uk", "mobile_phone_no": "07911123456"}).is_empty()
    assert not match_fields({"last_name": "Lee"}).is_empty()
    assert not match_fields({"postcode": "SW1A 1AA"}).is_empty()


# -- Soundex and blocking -----------------------------------------------------


@pytest.mark.parametrize(("word", "code"), [
    ("Robert", "R163"), ("Rupert", "R163"), ("Ashcraft", "A261"), ("Ashcroft", "A261"),
    ("Tymczak", "T522"), ("Pfister", "P236"), ("Honeyman", "H555"), ("Lee", "L000"),
    ("O'Brien", "O165"), ("smith", "S530"), ("Smyth", "S530"),
])
def test_soundex_known_codes(word, code):
    assert soundex(word) == code


def test_soundex_of_nothing_alphabetic_is_empty():
    assert soundex("") == ""
    assert soundex("1234 -") == ""


PERSON = {
    "first_name": "John", "last_name": "Fitzgerald", "date_of_birth": "1980-05-12",
    "postcode": "SW1A 1AA", "address_line_1": "12 High Street",
}


def _typos(word: str) -> list[str]:
    """Every one-edit typo of ``word`` made with the letters of a word."""
    out = set()
    for i in range(len(word)):
        out.add(word[:i] + word[i + 1:])  # dropped
        for ch in "aeksz":
            out.add(word[:i] + ch + word[i + 1:])  # replaced
            out.add(word[:i] + ch + word[i:])  # inserted
        if i + 1 < len(word):
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2:])  # transposed
    out.discard(word)
    return sorted(out)


@pytest.mark.parametrize("drop", [None, "date_of_birth", "postcode", "address_line_1"])
def test_a_typo_in_the_surname_still_shares_a_blocking_key(drop):
    # Also when one other field is missing from both: several passes.
    base = {k: v for k, v in PERSON.items() if k != drop}
    keys = set(blocking_keys(match_fields(base)))
    assert keys
    for typo in _typos("Fitzgerald"):
        other = set(blocking_keys(match_fields({**base, "last_name": typo})))
        assert keys & other, typo


def test_a_flat_number_does_not_hide_the_street():
    flat = set(blocking_keys(match_fields({"last_name": "Lee", "address_line_1": "Flat 2, 12 High Street"})))
    house = set(blocking_keys(match_fields({"last_name": "Lee", "address_line_1": "12 High Street"})))
    assert flat & house


def test_swapped_names_share_a_blocking_key():
    a = set(blocking_keys(names("John", "Smith")))
    b = set(blocking_keys(names("Smith", "John")))
    assert a and a & b


def test_different_people_share_no_blocking_key():
    a = match_fields(PERSON)
    b = match_fields({"first_name": "Mary", "last_name": "Okafor", "date_of_birth": "1961-01-30",
                      "postcode": "M1 1AE", "address_line_1": "4 Mill Road"})
    assert not set(blocking_keys(a)) & set(blocking_keys(b))


def test_a_record_with_no_fields_has_no_blocking_keys():
    assert blocking_keys(match_fields({})) == []
    assert blocking_keys(MatchFields(None, None, None, None, None, None, None, None)) == []
    # Contact details alone are linked as identifiers, not blocked.
    assert blocking_keys(match_fields({"email_address": "ann@mail.co.uk", "town": "London"})) == []


def test_an_extra_field_is_a_blocking_key_of_its_own():
    a = match_fields({"membership_no": "AB123456C"}, EXTRA)
    b = match_fields({"membership_no": "ab123456c", "first_name": "Someone"}, EXTRA)
    assert blocking_keys(a)
    assert set(blocking_keys(a)) <= set(blocking_keys(b))


@pytest.mark.parametrize("values", [
    {"first_name": "Zoë", "last_name": "O'Brien", "date_of_birth": "1990-02-28", "postcode": "sw1a 1aa",
     "town": "Ystradgynlais", "address_line_1": "Flat 2, 10 Quay St", "email_address": "Zoe@Example.org",
     "mobile_phone_no": "07911 123456"},
    {"last_name": "Ng"},
    {"first_name": "\x1f\"[1,", "town": "\u202emirror"},
])
def test_stored_match_fields_read_back_as_made(values):
    fields = match_fields(values, EXTRA)
    stored = decode_fields(encode_fields(fields))
    # The extra fields are not stored: they follow the settings of the day.
    assert stored == MatchFields(*field_values(fields)[:len(NAMES)])


def test_stored_match_fields_of_another_format_are_not_used():
    assert decode_fields(None) is None
    assert decode_fields('[0, "ann", "lee", null, null, null, null, null, null]') is None
