"""Segments and Destinations benchmark: counting a segment and exporting
customers at a million customers.

    python benchmarks/segments.py [--customers N] [--seed S] [--db PATH] [--repeat R]

Writes N synthetic customers (default 1,000,000) with the 1M store writer of
``benchmarks/search.py``, then gives them a town, a date of birth and two
custom attributes (``loyalty_tier``, ``points``) drawn from a seeded random
generator (towns and tiers skewed, as real ones are).  Then prints:

- ``count``: ``segments.count`` of two-condition segments, the function the
  CLI and the Data panel call; best and median of R runs (default 5).  The
  target is at most 1 s.  The store indexes no attribute a segment filters
  on (a full scan of a million customers met the target, and every index on
  the customer table is paid for by every import); ``--with-indexes`` adds
  ``lower(town)`` and ``last_seen`` indexes to the benchmark's store, to
  show what they would buy;
- ``catalog``: ``attributes.catalog`` (reads the custom keys);
- ``export``: ``exports.export_customers`` of every customer, CSV and JSON
  Lines, default columns and five chosen ones; rows per second (target at
  least 100,000), and of one segment.

Nothing is asserted: the targets are judged by reading the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import make_customers, write_customers  # noqa: E402

from distil_tui.core import attributes, exports, segments  # noqa: E402
from distil_tui.core.segments import Segment, parse_condition  # noqa: E402
from distil_tui.core.store import Store  # noqa: E402

TOWNS = ("London", "Birmingham", "Manchester", "Leeds", "Glasgow", "Sheffield", "Bradford", "Liverpool",
         "Edinburgh", "Bristol", "Cardiff", "Leicester", "Coventry", "Nottingham", "Newcastle", "Belfast",
         "Brighton", "Hull", "Plymouth", "Stoke", "Wolverhampton", "Derby", "Swansea", "Southampton",
         "Aberdeen", "Norwich", "Luton", "Portsmouth", "York", "Dundee", "Milton Keynes", "Exeter")
TIERS = ("bronze", "bronze", "bronze", "silver", "silver", "gold")

SEGMENTS = (
    ("town equals AND last_seen after", ("town equals leeds", "core_data.last_seen after 2025-06-30"), "and"),
    ("town equals OR town equals", ("town equals York", "town equals Exeter"), "or"),
    ("last_seen after AND custom number greater_than",
     ("core_data.last_seen after 2025-11-30", "custom.points greater_than 900"), "and"),
    ("last_name starts_with AND date_of_birth before",
     ("last_name starts_with sm", "date_of_birth before 1960-01-01"), "and"),
)
INDEXES = ("CREATE INDEX IF NOT EXISTS bench_customer_town_lower ON customer (lower(town))",
           "CREATE INDEX IF NOT EXISTS bench_customer_last_seen ON customer (last_seen)")


def add_attributes(path: Path, seed: int) -> None:
    """Town, date of birth and custom attributes for every customer."""
    rng = Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    ids = [r[0] for r in conn.execute("SELECT id FROM customer ORDER BY id")]
    rows = []
    for cid in ids:
        town = TOWNS[int(len(TOWNS) * rng.random() ** 2)] if rng.random() < 0.9 else None
        dob = f"{rng.randint(1940, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" \
            if rng.random() < 0.6 else None
        custom = (f'{{"loyalty_tier":"{rng.choice(TIERS)}","points":"{rng.randint(0, 1000)}"}}'
                  if rng.random() < 0.5 else "{}")
        rows.append((town, dob, custom, cid))
    conn.executemany("UPDATE customer SET town = ?, date_of_birth = ?, custom = ? WHERE id = ?", rows)
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def _generate(path: Path, n: int, seed: int) -> None:
    Store(f"sqlite:///{path}").close()
    write_customers(path, make_customers(n, seed))
    add_attributes(path, seed)


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="keep the generated store here, and reuse it if it exists")
    parser.add_argument("--with-indexes", action="store_true",
                        help="index lower(town) and last_seen in the benchmark's store first")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "segments.db"
        if not path.exists():
            import multiprocessing
            t0 = time.perf_counter()
            child = multiprocessing.get_context("fork").Process(target=_generate,
                                                                args=(path, args.customers, args.seed))
            child.start()
            child.join()
            print(f"generated {args.customers:,} customers in {time.perf_counter() - t0:.1f} s")
        raw = sqlite3.connect(path)
        for sql in INDEXES:
            if args.with_indexes:
                raw.execute(sql)
            else:
                raw.execute(f"DROP INDEX IF EXISTS {sql.split()[5]}")
        raw.execute("ANALYZE")
        raw.commit()
        raw.close()
        print("indexes on lower(town) and last_seen" if args.with_indexes else "no index on segment attributes")
        t0 = time.perf_counter()
        store = Store(f"sqlite:///{path}")
        print(f"store opened in {time.perf_counter() - t0:.1f} s (it builds the search index if missing)")
        _measure(store, Path(tmp), args.repeat)
        store.close()
    return 0


def _measure(store: Store, folder: Path, repeat: int) -> None:
    total = segments.count(store, None)
    print(f"\ncount (target: at most 1 s), {repeat} runs")
    segments.count(store, Segment("warm", (parse_condition("town equals x"),)))  # page cache
    for label, texts, combine in SEGMENTS:
        segment = Segment(label, tuple(parse_condition(t) for t in texts), combine)
        best, median, n = _timed(lambda s=segment: segments.count(store, s), repeat)
        print(f"  {label:50} {n:>9,} of {total:,}   best {best * 1000:7.1f} ms   median {median * 1000:7.1f} ms"
              f"   [{segment.describe()}]")
    best, median, found = _timed(lambda: attributes.catalog(store), 1)
    print(f"\ncatalog: {len(found)} attributes ({sum(a.is_custom for a in found)} custom) in {best * 1000:.0f} ms")

    print("\nexport (target: at least 100,000 rows/s)")
    chosen = ["first_name", "last_name", "email_address", "town", "custom.loyalty_tier"]
    leeds = Segment("leeds", (parse_condition("town equals leeds"),))
    for label, kwargs in (
        ("every customer, default columns", {}),
        ("every customer, 5 chosen columns", {"columns": chosen}),
        ("segment town equals leeds, 5 columns", {"columns": chosen, "segment": leeds}),
    ):
        for fmt in ("csv", "jsonl"):
            out = folder / f"export.{fmt}"
            t = time.perf_counter()
            n = exports.export_customers(store, out, fmt=fmt, progress=lambda _d, _t: None, **kwargs)
            seconds = time.perf_counter() - t
            print(f"  {label:38} {fmt:5} {n:>9,} rows in {seconds:5.2f} s = {n / seconds:>9,.0f} rows/s"
                  f"   {out.stat().st_size / 1e6:6.0f} MB")
            out.unlink()


if __name__ == "__main__":
    raise SystemExit(main())
