"""Bulk work: an import or a full re-resolution, run with Python's cyclic
garbage collector paused.

Such work allocates millions of small objects (parsed records, sets, tuples,
rows) that live until it ends and hardly ever form reference cycles.  The
collector would walk all of them again at every collection: measured on a
100k-record import into a store of 100k, a third of the time (24 s, 16 s
without it) for 4% less peak memory.  Reference counting still frees what
is no longer used; the collector runs again when the work is done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # bulk jobs under way: the app may run an import beside other work
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
