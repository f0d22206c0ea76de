"""The demo data set: deterministic, consistent with its truth file, messy in
the promised ways, and holding every trap."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import phonenumbers
import pytest
from rapidfuzz.distance import Levenshtein

from distil_tui.core.demo import PLACEHOLDER_PHONES, TEST_MAILBOXES, DemoDataset, generate
from distil_tui.core.evaluate import TRAP_KINDS, load_truth
from distil_tui.core.ingest.events import identify_record_key
from distil_tui.core.normalize import phone_identifier

CUSTOMERS = 800


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoDataset:
    return generate(tmp_path_factory.mktemp("demo"), customers=CUSTOMERS, seed=11)


def _rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _shop(demo: DemoDataset) -> list[dict[str, str]]:
    return _rows(demo.folder / "shop.csv")


def _crm(demo: DemoDataset) -> list[dict[str, str]]:
    return _rows(demo.folder / "crm.csv", ";")


def _events(demo: DemoDataset) -> list[dict]:
    events = []
    for name in ("events-1.jsonl", "events-2.jsonl"):
        with open(demo.folder / name, encoding="utf-8") as handle:
            events.extend(json.loads(line) for line in handle)
    return events


def _identity(event: dict) -> tuple[str, str | None, str | None, str | None] | None:
    """(cookie, customer id, email, phone) of an identify event in either
    spelling, or None for a page view."""
    cookie = event.get("anonymous_user_id") or event["AnonymousUserID"]
    if "customer" in event:
        block = event["customer"]
        return cookie, block.get("customer_id"), block.get("email_address"), block.get("mobile_phone_no")
    if "CustomerId" in event or "EmailAddress" in event:
        return cookie, event.get("CustomerId"), event.get("EmailAddress"), None
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


# -- determinism -----------------------------------------------------------


def test_same_seed_gives_identical_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Run in fresh interpreters with different string hash seeds, so that any
    dependence on set or hash order would show."""
    script = "import sys; from distil_tui.core.demo import generate; generate(sys.argv[1], customers=300, seed=5)"
    for name, hash_seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True, env=env)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert set(first) == {"shop.csv", "crm.csv", "newsletter.csv", "events-1.jsonl", "events-2.jsonl", "truth.csv"}
    assert first == second


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", customers=300, seed=5)
    generate(tmp_path / "b", customers=300, seed=6)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert all(first[name] != second[name] for name in first)


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, customers=20)


# -- the files and the truth -----------------------------------------------


def test_imports_are_listed_in_import_order(demo: DemoDataset) -> None:
    described = [(item.path.name, item.source, item.fmt, item.id_column) for item in demo.imports]
    assert described == [
        ("shop.csv", "shop", "csv", "customer_id"),
        ("crm.csv", "crm", "csv", "contact_id"),
        ("newsletter.csv", "newsletter", "csv", None),
        ("events-1.jsonl", "web", "events", None),
        ("events-2.jsonl", "web", "events", None),
    ]
    assert all(item.path.is_file() for item in demo.imports)
    assert demo.truth_path.is_file()


def test_crm_uses_its_own_header_spellings(demo: DemoDataset) -> None:
    header = (demo.folder / "crm.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "Forename;Surname;E-mail Address;Mobile;City;Post Code;DOB;Company;contact_id"


def test_truth_has_one_row_per_record_the_importer_will_create(demo: DemoDataset) -> None:
    with open(demo.truth_path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = [(row["source"], row["source_key"]) for row in rows]
    assert len(keys) == len(set(keys))
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, key in keys:
        by_source[source].add(key)

    assert by_source["shop"] == {row["customer_id"] for row in _shop(demo)}
    assert by_source["crm"] == {row["contact_id"] for row in _crm(demo)}

    newsletter_lines = (demo.folder / "newsletter.csv").read_text(encoding="utf-8").split("\n")
    assert newsletter_lines[0] == "email,first_name,signup_date"
    data_lines = {str(number) for number, line in enumerate(newsletter_lines, 1) if number > 1 and line}
    assert by_source["newsletter"] == data_lines

    web_keys: set[str] = set()
    for event in _events(demo):
        identity = _identity(event)
        web_keys.add(event.get("anonymous_user_id") or event["AnonymousUserID"])
        if identity is not None:
            web_keys.add(identify_record_key(*identity))
    assert by_source["web"] == web_keys
    assert set(by_source) == {"shop", "crm", "newsletter", "web"}


def test_newsletter_line_numbers_point_at_the_right_row(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    lines = (demo.folder / "newsletter.csv").read_text(encoding="utf-8").split("\n")
    shop_person_by_email = {
        row["email"].strip().lower(): truth.persons[("shop", row["customer_id"])] for row in _shop(demo)
    }
    checked = 0
    for number, line in enumerate(lines, 1):
        if number == 1 or not line:
            continue
        email = line.split(",")[0].strip().lower()
        if email in shop_person_by_email and email not in TEST_MAILBOXES and ("newsletter", str(number)) not in truth.traps:
            assert truth.persons[("newsletter", str(number))] == shop_person_by_email[email]
            checked += 1
    assert checked > 50


def test_sources_cover_the_promised_shares_of_people(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    people_in = {
        source: {person for (src, _), person in truth.persons.items() if src == source}
        for source in ("shop", "crm", "newsletter", "web")
    }
    known = people_in["shop"] | people_in["crm"] | people_in["newsletter"]
    assert 0.65 * CUSTOMERS < len(people_in["shop"]) < 0.8 * CUSTOMERS
    assert 0.45 * CUSTOMERS < len(people_in["crm"]) < 0.6 * CUSTOMERS
    assert 0.25 * CUSTOMERS < len(people_in["newsletter"]) < 0.35 * CUSTOMERS
    anonymous_only = people_in["web"] - known
    identified_on_web = {
        person for (source, key), person in truth.persons.items() if source == "web" and key.startswith("identify:")
    }
    assert 0.55 * CUSTOMERS < len(identified_on_web) < 0.7 * CUSTOMERS
    assert len(anonymous_only - identified_on_web) == CUSTOMERS // 5
    events = _events(demo)
    assert 5 * CUSTOMERS <= len(events) <= 10 * CUSTOMERS


def test_events_are_sorted_and_use_both_spellings(demo: DemoDataset) -> None:
    events = _events(demo)
    stamps = [event.get("timestamp") or event["EventTimestampUTC"] for event in events]
    assert stamps == sorted(stamps)
    assert all(stamp.endswith("Z") and stamp < "2026-11-01" for stamp in stamps)
    distil = [event for event in events if "AnonymousUserID" in event]
    assert 0.08 < len(distil) / len(events) < 0.25
    assert any("CustomerId" in event for event in distil)
    kinds = Counter(event["event"] for event in events if _identity(event))
    assert set(kinds) == {"sign_in", "order_completed", "newsletter_signup"}
    # Guest checkouts and newsletter sign-ups identify by email alone.
    assert any(identity[1] == "" and identity[2] for event in events if (identity := _identity(event)))


def test_page_views_before_an_identify_belong_to_the_identified_person(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    first_identify: dict[str, str] = {}
    identified_after_browsing = 0
    browsed: set[str] = set()
    for event in _events(demo):
        cookie = event.get("anonymous_user_id") or event["AnonymousUserID"]
        identity = _identity(event)
        if identity is None:
            browsed.add(cookie)
        elif cookie not in first_identify:
            first_identify[cookie] = truth.persons[("web", identify_record_key(*identity))]
            identified_after_browsing += cookie in browsed
    for cookie, person in first_identify.items():
        assert truth.persons[("web", cookie)] == person
    assert identified_after_browsing > 0.9 * len(first_identify)


# -- the mess --------------------------------------------------------------


def test_phones_are_valid_uk_numbers_unless_placeholders(demo: DemoDataset) -> None:
    phones = [row["Mobile"] for row in _crm(demo)] + [row["phone"] for row in _shop(demo)]
    phones += [identity[3] for event in _events(demo) if (identity := _identity(event)) and identity[3]]
    real = [phone for phone in phones if phone and phone not in PLACEHOLDER_PHONES]
    assert len(real) > CUSTOMERS // 2
    for phone in real:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, "GB")), phone
        assert phone_identifier(phone) is not None, phone  # not mistaken for a placeholder


def test_crm_phones_come_in_many_formats(demo: DemoDataset) -> None:
    phones = [row["Mobile"] for row in _crm(demo) if row["Mobile"]]
    shapes = {
        "+44 ": lambda p: p.startswith("+44 "),
        "0044": lambda p: p.startswith("0044 "),
        "(07": lambda p: p.startswith("(07"),
        "bare": lambda p: p.isdigit() and p.startswith("07"),
        "spaced": lambda p: p.startswith("07") and " " in p,
    }
    for shape, matches in shapes.items():
        assert any(matches(phone) for phone in phones), shape


def test_crm_emails_are_messy(demo: DemoDataset) -> None:
    emails = [row["E-mail Address"] for row in _crm(demo)]
    assert any(email and email != email.strip() for email in emails)
    assert any(email.strip() and email.strip() == email.strip().upper() for email in emails)
    assert sum(1 for email in emails if not email) > 0.05 * len(emails)


def test_crm_names_differ_from_the_shop_by_nickname_accent_case_or_one_edit(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    shop_names = {truth.persons[("shop", row["customer_id"])]: row for row in _shop(demo)}
    typos = nicknames = 0
    for row in _crm(demo):
        shop = shop_names.get(truth.persons[("crm", row["contact_id"])])
        if shop is None:
            continue
        distance = Levenshtein.distance(_fold(row["Surname"]), _fold(shop["last_name"]))
        assert distance <= 1, (row["Surname"], shop["last_name"])
        typos += distance == 1
        first, shop_first = _fold(row["Forename"]), _fold(shop["first_name"])
        nicknames += (first, shop_first) in {("bob", "robert"), ("liz", "elizabeth"), ("jon", "jonathan"),
                                             ("kate", "katherine"), ("bill", "william"), ("mike", "michael"),
                                             ("tom", "thomas"), ("jim", "james"), ("chris", "christopher")}
    assert typos > 0
    assert nicknames > 0


def test_no_identifier_is_shared_by_accident(demo: DemoDataset) -> None:
    """Outside the traps, one email and one phone belong to one person, so
    that every false merge a resolver makes comes from a planted trap or from
    matching on names and places."""
    truth = load_truth(demo.truth_path)
    owners: dict[str, set[str]] = defaultdict(set)

    def note(source: str, key: str, email: str | None, phone: str | None) -> None:
        if (source, key) in truth.traps:
            return
        person = truth.persons[(source, key)]
        if email and email.strip():
            owners["email:" + email.strip().lower()].add(person)
        if phone and (e164 := phone_identifier(phone)):
            owners["phone:" + e164].add(person)

    for row in _shop(demo):
        note("shop", row["customer_id"], row["email"], row["phone"])
    for row in _crm(demo):
        note("crm", row["contact_id"], row["E-mail Address"], row["Mobile"])
    for event in _events(demo):
        if identity := _identity(event):
            note("web", identify_record_key(*identity), identity[2], identity[3])
    shared = {value: persons for value, persons in owners.items() if len(persons) > 1}
    assert shared == {}


# -- the traps -------------------------------------------------------------


def test_every_trap_kind_is_in_the_truth(demo: DemoDataset) -> None:
    groups = load_truth(demo.truth_path).trap_groups()
    assert set(groups) == set(TRAP_KINDS)
    assert groups["household_email"] == max(3, CUSTOMERS // 200)
    assert groups["test_mailbox"] == len(TEST_MAILBOXES)
    assert groups["placeholder_phone"] == len(PLACEHOLDER_PHONES)
    assert groups["family_computer"] == max(2, CUSTOMERS // 300)


def test_household_members_share_an_email_and_an_address_in_the_shop(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    accounts: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _shop(demo):
        accounts[row["email"].strip().lower()].append(row)
    groups = {trap.group for trap in truth.traps.values() if trap.kind == "household_email"}
    for group in groups:
        rows = accounts[group]
        persons = {truth.persons[("shop", row["customer_id"])] for row in rows}
        assert len(persons) == 2
        assert len({row["customer_id"] for row in rows}) == len(rows) >= 2
        assert len({row["address_line_1"] for row in rows}) == 1
        assert len({_fold(row["last_name"]) for row in rows}) == 1
        assert len({_fold(row["first_name"]) for row in rows}) == 2
        for row in rows:
            assert truth.traps[("shop", row["customer_id"])].group == group


def test_test_mailboxes_and_placeholder_phones_are_used_by_several_people(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    users: dict[str, set[str]] = defaultdict(set)
    for source, rows, email_column, phone_column, key_column in (
        ("shop", _shop(demo), "email", "phone", "customer_id"),
        ("crm", _crm(demo), "E-mail Address", "Mobile", "contact_id"),
    ):
        for row in rows:
            key = (source, row[key_column])
            email, phone = row[email_column].strip().lower(), row[phone_column]
            if email in TEST_MAILBOXES:
                users[email].add(truth.persons[key])
                assert truth.traps[key].kind == "test_mailbox"
            if phone in PLACEHOLDER_PHONES:
                users[phone].add(truth.persons[key])
                assert truth.traps[key].kind == "placeholder_phone"
    for value in TEST_MAILBOXES + PLACEHOLDER_PHONES:
        assert len(users[value]) >= 2, value


def test_family_computer_cookie_is_signed_in_by_two_people(demo: DemoDataset) -> None:
    truth = load_truth(demo.truth_path)
    family_cookies = {trap.group for trap in truth.traps.values() if trap.kind == "family_computer"}
    signers: dict[str, list[tuple[str, str]]] = defaultdict(list)  # cookie -> (customer id, person)
    for event in _events(demo):
        identity = _identity(event)
        if identity and identity[0] in family_cookies:
            signers[identity[0]].append((identity[1], truth.persons[("web", identify_record_key(*identity))]))
    for cookie in family_cookies:
        persons = [person for _, person in signers[cookie]]
        assert len(set(persons)) == 2
        assert len({customer_id for customer_id, _ in signers[cookie] if customer_id}) >= 2
        assert truth.persons[("web", cookie)] == persons[0]  # the first to sign in
        assert truth.traps[("web", cookie)].kind == "family_computer"
