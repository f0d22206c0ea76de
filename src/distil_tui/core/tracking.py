"""Tracking IDs: opaque, unique, reproducible.

The n-th customer a store creates gets the keyed BLAKE2b hash of n, written
in Crockford's base 32 (26 letters and digits, 130 bits).  It carries no
personal data at all, so it cannot be reversed to any; it never repeats
(the counter only grows, and retired IDs keep their number); and the same
files imported into a new store in the same order give the same IDs.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_KEY = b"distil-tui/tracking-id/v1"
LENGTH = 26
COUNTER_KEY = "tracking_id_counter"


# Every pair of letters, by the 10 bits they write.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_SHIFTS = tuple(range(LENGTH * 5 - 10, -1, -10))


def tracking_id(n: int) -> str:
    """The first 130 bits of the keyed hash of ``n``, 5 bits a letter."""
    digest = hashlib.blake2b(n.to_bytes(8, "big"), key=_KEY, digest_size=17).digest()
    number = int.from_bytes(digest, "big") >> (17 * 8 - LENGTH * 5)
    return "".join([_PAIRS[(number >> shift) & 1023] for shift in _SHIFTS])


def allocate(store, conn: Connection, count: int) -> list[str]:
    """``count`` new Tracking IDs, in order, inside the caller's write
    transaction."""
    start = int(store.meta_get(conn, COUNTER_KEY, "0"))
    store.meta_set(conn, COUNTER_KEY, str(start + count))
    return [tracking_id(n) for n in range(start + 1, start + count + 1)]
