"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from distil_tui.core.store import Store
from tests.stores import ON_POSTGRES, drop_schemas, recycle, store_url

# -- core fixtures -------------------------------------------------------------


def pytest_report_header(config):
    return f"stores: {'PostgreSQL schemas (DISTIL_TEST_DB)' if ON_POSTGRES else 'SQLite files'}"


def pytest_sessionfinish(session, exitstatus):
    drop_schemas()


@pytest.fixture(autouse=True)
def _recycled_stores():
    """First set up, so last torn down: after the test's own fixtures have
    closed its stores, its PostgreSQL schemas are emptied for the next."""
    yield
    recycle()



@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh store in a temporary file, with a frozen clock."""
    s = Store(store_url(tmp_path / 'store.db'), now=lambda: FROZEN_NOW)
    yield s
    s.close()


@pytest.fixture
def write(tmp_path: Path):
    """Write a data file and return its path: ``write("shop.csv", text)``."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write


# -- UI fixtures ---------------------------------------------------------------
#
# A small store seeded from fixed files with a frozen clock, so that the
# customers, their Tracking IDs and every timestamp on screen are the same on
# every run.  It includes the awkward names the UI must show literally, and
# one person (Ada) in three sources, so that a profile has a merge to show.
# Addresses at example.com are blocked as test mailboxes: these use real-looking
# domains so that they link.

FROZEN_NOW = "2026-01-01T00:00:00Z"

SHOP_CSV = (
    "customer_id,first_name,last_name,email,phone,town\n"
    "1001,Ada,Lovelace,ada@analytical-engines.co.uk,07700 900123,London\n"
    "1002,Alan,Turing,alan.turing@bletchley-park.org.uk,07700 900456,Wilmslow\n"
    "1003,Grace,Hopper,grace@cobol-works.com,,Arlington\n"
    "1004,[bold]x[/],Markup,markup@markup-corp.com,,Bristol\n"
    "1005,\x1b[31mred,Smith,red@redsmith.co.uk,07700 900789,Leeds\n"
    "1006,Bartholomew-Maximilian,Featherstonehaugh-Cholmondeley,"
    "bartholomew.maximilian.featherstonehaugh@an-extremely-long-domain-name.co.uk,"
    "07700 900111,Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch\n"
)

CRM_CSV = (
    "contact_id,first_name,last_name,email,town,postcode,loyalty_tier\n"
    "C-77,Ada,Lovelace,ADA@Analytical-Engines.co.uk,London,NW1 6XE,gold\n"
)

# An anonymous visit first; the sign-in later links that visitor to Ada: a merge.
WEB_VISITS_JSONL = (
    '{"anonymous_user_id": "anon-a1", "timestamp": "2025-12-30T12:00:00Z", "event": "page_view",'
    ' "properties": {"path": "/products/analytical-engine"}}\n'
)

WEB_SIGN_IN_JSONL = (
    '{"anonymous_user_id": "anon-a1", "timestamp": "2025-12-31T09:30:00Z", "event": "sign_in",'
    ' "customer": {"customer_id": "1001", "email": "ada@analytical-engines.co.uk"}}\n'
    '{"anonymous_user_id": "anon-a1", "timestamp": "2025-12-31T09:35:00Z", "event": "order",'
    ' "properties": {"total": "42.00", "currency": "GBP"}}\n'
)


def seeded_store(folder: Path, name: str, files):
    """A store with a frozen clock, loaded with ``files`` ((file name, text,
    import options)) in order."""
    from distil_tui.core.importer import import_file
    from distil_tui.core.store import Store

    store = Store(store_url(folder / name), now=lambda: FROZEN_NOW)
    for file_name, text, options in files:
        path = folder / file_name
        path.write_text(text, encoding="utf-8")
        import_file(store, path, **options)
    return store


def seed_ui_store(folder: Path):
    events = dict(source="web", fmt="events", customer_id_source="shop")
    return seeded_store(folder, "ui.db", (
        ("web-visits.jsonl", WEB_VISITS_JSONL, events),
        ("shop.csv", SHOP_CSV, dict(source="shop", id_column="customer_id")),
        ("crm.csv", CRM_CSV, dict(source="crm", id_column="contact_id")),
        ("web-sign-in.jsonl", WEB_SIGN_IN_JSONL, events),
    ))


@pytest.fixture
def ui_store(tmp_path: Path):
    store = seed_ui_store(tmp_path)
    yield store
    store.close()


@pytest.fixture
def make_ui_app(ui_store) -> Callable:
    """Build the app on the seeded store, with nothing on screen that moves
    by itself (no blinking cursor)."""
    from distil_tui.ui.app import DistilApp

    def make(**options):
        return DistilApp(ui_store, cursor_blink=False, **options)

    return make


# -- review and history fixtures -------------------------------------------------
#
# Look-alike pairs in one shop file: each pair is held for review (both hold
# email addresses, none in common), with per-field evidence; a household
# mailbox shared by John and Jane Smith.  Then the Patels: a newsletter row
# with the household's mailbox, Ravi's shop account by phone, his CRM contact
# joining both (a merge), and Priya making the mailbox row ambiguous (a split).

REVIEW_SHOP_CSV = (
    "id,first_name,last_name,email,phone,address,town,postcode,dob\n"
    "S1,Lauren,Robson,robson.lauren@ntlworld.com,,107 Springfield Road,Blackpool,FY5 1BE,1984-09-12\n"
    "S2,Jon,Walker,,,9 High Street,York,YO1 7HH,1940-03-03\n"
    "S3,[bold]Maximilian[/],Featherstonehaugh-Cholmondeley,"
    "max@featherstonehaugh-cholmondeley-estates.co.uk,,Flat 12 The Very Long Named Mansions Building,"
    "Llanfairpwllgwyngyll,LL61 5UJ,1966-06-06\n"
    "S4,John,Smith,smiths@x.org,,4 Mill Lane,Leeds,LS6 2AB,1975-03-04\n"
    "S5,Reece,Lawrence,reece.lawrence48@gmail.com,,88 Craigie Street,Dundee,DD1 9SS,1990-04-05\n"
    "S6,Reece,Lawrence,reece_lawrence@gmail.com,,88 Craigie Street,Dundee,DD1 9SS,1990-04-05\n"
    "S7,Laura,Robson,lauren49@btinternet.com,,107 Springfield Rd,Blackpool,FY5 1BE,1984-09-12\n"
    "S8,John,Walker,,,9 High Street,York,YO1 7HH,1970-04-04\n"
    "S9,Max,Featherstonehaugh-Cholmondeley,mfc@another-long-domain-name.org.uk,,"
    "Flat 12 The Very Long Named Mansions,Llanfairpwllgwyngyll,LL61 5UJ,1966-06-06\n"
    "S10,Jane,Smith,smiths@x.org,,4 Mill Lane,Leeds,LS6 2AB,1977-05-06\n"
    "S20,Ravi,Patel,,07911 123456,,,,\n"
)


def seed_review_store(folder: Path):
    return seeded_store(folder, "review.db", (
        ("news.csv", "email,first_name\npatels@x.org,\n", dict(source="news")),
        ("shop.csv", REVIEW_SHOP_CSV, dict(source="shop", id_column="id")),
        ("crm.csv", "id,first_name,last_name,email,phone\nC9,Ravi,Patel,patels@x.org,07911 123456\n",
         dict(source="crm", id_column="id")),
        ("shop-late.csv", "id,first_name,last_name,email\nS21,Priya,Patel,patels@x.org\n",
         dict(source="shop", id_column="id")),
    ))


@pytest.fixture
def review_store(tmp_path: Path):
    store = seed_review_store(tmp_path)
    yield store
    store.close()


@pytest.fixture
def make_review_app(review_store) -> Callable:
    from distil_tui.ui.app import DistilApp

    def make(**options):
        return DistilApp(review_store, cursor_blink=False, **options)

    return make
