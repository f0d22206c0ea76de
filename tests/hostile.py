"""A store of customers whose data tries to drive the terminal or break the
layout: console markup, ANSI and OSC escape sequences, C0 and C1 control
characters, right-to-left text and overrides, emoji (wide, ZWJ sequences,
flags), combining marks and very long strings without spaces.  In names,
towns, emails, custom attributes (names and values), source names, file
names, event types and properties, merges and merge candidates.

Used by the pilot tests (``test_ui_safety.py``) and the snapshot tests
(``test_snapshots_safety.py``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.conftest import seeded_store

MARKUP = "[bold]Bold[/]"
CLICK = "[@click=app.quit]Quit[/]"
LINK = "[link=https://evil.example]Leeds[/link]"
RED = "\x1b[31mRed\x1b[0m"
CLEAR = "\x1b[2J\x1b[HClear"
OSC8 = "\x1b]8;;https://evil.example\x07Link\x1b]8;;\x07"
OSC52 = "\x1b]52;c;ZXZpbA==\x07clip"
CONTROLS = "Bel\x07l\x08\x7f\x9b\x01\x0e"
ARABIC = "محمد"
HEBREW = "דוד\u202eevil"
CAIRO = "القاهرة"
EMOJI = "😀 Emoji"
FAMILY = "👨\u200d👩\u200d👧 Family 🇬🇧"
COMBINING = "Cafe\u0301 Zoe\u0308"
LONG_FIRST = "A" * 3000
LONG_LAST = "B" * 2000
LONG_TOWN = "L" * 4000
LONG_EMAIL = "c" * 500 + "@long-values.org"

SOURCE_SHOP = "[bold]shop[/]"
SOURCE_WEB = "\x1b[31mweb"
SOURCE_CRM = "crm\x1b]52;c;ZXZpbA==\x07"
SHOP_FILE = "[bold]shop\x1b[2J.csv"
TIER = "[bold]tier[/]"
CLIP_COLUMN = OSC52

SHOP_ROWS = [
    ["customer_id", "first_name", "last_name", "email", "phone", "town", TIER, CLIP_COLUMN],
    ["H1", MARKUP, CLICK, "h1@hostile-names.org", "07911 123401", LINK, "gold", "x"],
    ["H2", RED, CLEAR, "h2@hostile-names.org", "07911 123402", OSC8, RED, CLEAR],
    ["H3", ARABIC, HEBREW, "h3@hostile-names.org", "", CAIRO, HEBREW, ""],
    ["H4", EMOJI, FAMILY, "h4@hostile-names.org", "", COMBINING, FAMILY, ""],
    ["H5", LONG_FIRST, LONG_LAST, LONG_EMAIL, "", LONG_TOWN, "Z" * 3000, ""],
    ["H6", CONTROLS, "Controls", "h6@hostile-names.org", "", OSC52, "", ""],
    # One mailbox, two first names: held for review (conflicting names).
    ["H7", "[bold]Jane[/]", RED, "smiths@hostile-names.org", "", "Leeds", "", ""],
    ["H8", ARABIC, RED, "smiths@hostile-names.org", "", CAIRO, "", ""],
]

EVENT_PROPERTIES = {MARKUP: RED, "path": CLEAR, "title": FAMILY, "long": "P" * 3000}


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _jsonl(*events: dict) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)


VISITS = _jsonl(
    {"anonymous_user_id": "anon-[bold]h1[/]\x1b[0m", "timestamp": "2025-12-30T12:00:00Z", "event": MARKUP,
     "properties": EVENT_PROPERTIES},
)
SIGN_IN = _jsonl(
    {"anonymous_user_id": "anon-[bold]h1[/]\x1b[0m", "timestamp": "2025-12-31T09:30:00Z", "event": RED,
     "customer": {"customer_id": "H1", "email": "h1@hostile-names.org"}},
)
# H2 again, by phone, with another email: a second source on one customer.
CRM = _csv([
    ["contact_id", "first_name", "last_name", "email", "phone"],
    ["C1", RED, CLEAR, "red.other@hostile-names.org", "07911 123402"],
])


def seed_hostile_store(folder: Path):
    events = dict(source=SOURCE_WEB, fmt="events", customer_id_source=SOURCE_SHOP)
    return seeded_store(folder, "hostile.db", (
        ("visits.jsonl", VISITS, events),
        (SHOP_FILE, _csv(SHOP_ROWS), dict(source=SOURCE_SHOP, id_column="customer_id")),
        ("crm.csv", CRM, dict(source=SOURCE_CRM, id_column="contact_id")),
        ("sign-in.jsonl", SIGN_IN, events),
    ))
