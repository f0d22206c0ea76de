"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from distil_tui.core.store import Store

# -- core fixtures -------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh store in a temporary file, with a frozen clock."""
    s = Store(f"sqlite:///{tmp_path / 'store.db'}", now=lambda: FROZEN_NOW)
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


def seed_ui_store(folder: Path):
    from distil_tui.core.importer import import_file
    from distil_tui.core.store import Store

    store = Store(f"sqlite:///{folder / 'ui.db'}", now=lambda: FROZEN_NOW)
    events = dict(source="web", fmt="events", customer_id_source="shop")
    files = (
        ("web-visits.jsonl", WEB_VISITS_JSONL, events),
        ("shop.csv", SHOP_CSV, dict(source="shop", id_column="customer_id")),
        ("crm.csv", CRM_CSV, dict(source="crm", id_column="contact_id")),
        ("web-sign-in.jsonl", WEB_SIGN_IN_JSONL, events),
    )
    for name, text, options in files:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        import_file(store, path, **options)
    return store


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
