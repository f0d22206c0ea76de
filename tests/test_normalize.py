import pytest

from distil_tui.core import normalize as norm


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  John.Smith@Gmail.COM ", "john.smith@gmail.com"),
        ("mailto:a.b@x.co.uk", "a.b@x.co.uk"),
        ("jane @ example.co.uk".replace(" ", ""), "jane@example.co.uk"),
    ],
)
def test_email_identifier_folds_case_and_space(raw, expected):
    assert norm.email_identifier(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "null", "N/A", "not-an-email", "a@b", "test@gmail.com", "noreply@shop.co.uk",
     "info@company.com", "someone@example.com", "x+y@test.com", "test+12@gmail.com"],
)
def test_email_identifier_refuses_invalid_and_blocked(raw):
    assert norm.email_identifier(raw) is None


@pytest.mark.parametrize(
    "raw", ["+44 7911 123456", "07911123456", "(07911) 123 456", "0044 7911 123456", "447911123456"]
)
def test_phone_identifier_is_e164_whatever_the_format(raw):
    assert norm.phone_identifier(raw, "GB") == "+447911123456"


def test_phone_identifier_uses_the_default_region():
    assert norm.phone_identifier("(212) 736-5000", "US") == "+12127365000"
    assert norm.phone_identifier("(212) 736-5000", "GB") != "+12127365000"


@pytest.mark.parametrize(
    "raw", ["07000000000", "00000000000", "01234567890", "07777777777", "0", "-1", "", "abc", "123"]
)
def test_phone_placeholders_and_invalid_numbers_never_link(raw):
    assert norm.phone_identifier(raw, "GB") is None


def test_phone_display_keeps_what_it_cannot_read():
    assert norm.phone_display("07911 123456") == "+447911123456"
    assert norm.phone_display("ext. 42") == "ext. 42"


@pytest.mark.parametrize("raw", [None, "", "  ", "NULL", "none", "undefined", "-1", "0", "anonymous"])
def test_null_like_values_are_empty(raw):
    assert norm.clean(raw) is None


def test_clean_collapses_white_space():
    assert norm.clean("  Mary \t Jane  ") == "Mary Jane"


def test_fold_removes_case_and_accents():
    assert norm.fold("Zoë  ÅNGSTRÖM") == "zoe angstrom"
    assert norm.name_key("O'Brien-Smith") == "obriensmith"


def test_name_display_keeps_the_spelling_and_tidies_space():
    assert norm.name_display("  van der  Berg ") == "van der Berg"
    assert norm.name_display("McDONALD") == "McDONALD"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1985-03-07", "1985-03-07"),
        ("07/03/1985", "1985-03-07"),
        ("7 Mar 1985", "1985-03-07"),
        ("March 7, 1985", "1985-03-07"),
        ("19850307", "1985-03-07"),
        ("1985-03-07T00:00:00", "1985-03-07"),
        ("31/02/1985", None),
        ("1850-01-01", None),
        ("soon", None),
    ],
)
def test_date_value(raw, expected):
    assert norm.date_value(raw) == expected


def test_date_value_month_first():
    assert norm.date_value("03/07/1985", day_first=False) == "1985-03-07"


@pytest.mark.parametrize(
    "raw, expected", [("sw1a1aa", "SW1A 1AA"), (" LS1  4AP ", "LS1 4AP"), ("75001", "75001")]
)
def test_postcode_value(raw, expected):
    assert norm.postcode_value(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01T11:00:00+01:00", "2026-03-01T10:00:00Z"),
        ("2026-03-01 10:00:00", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00.123456Z", "2026-03-01T10:00:00Z"),
        ("yesterday", None),
    ],
)
def test_timestamp_value(raw, expected):
    assert norm.timestamp_value(raw) == expected
