"""Reader benchmark: how fast an import turns files into parsed records and events.

    python benchmarks/readers.py [--customers N] [--seed S] [--data DIR] [--repeat R]

Generates the demo files for N people (default 133,000: a shop CSV of about
100k rows, two tracking exports of about 370k events each) into a temporary
folder, or reads the demo files already in DIR, and runs each file's reader
(``read_csv`` for the CSV files, ``read_events`` for the tracking exports) the
way an import does: the whole file decoded first (not timed), then every
parsed item kept in a list, with the cyclic garbage collector paused as
``importer.import_file`` pauses it.  Prints rows (or events) per second for
each file, the best of R runs (default 3).  Nothing is asserted: the
targets (at least 100k CSV rows/s and 200k events/s on one core) are judged
by reading the figures.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from distil_tui.core import demo, normalize
from distil_tui.core.bulk import paused_gc
from distil_tui.core.ingest.events import ParsedEvent, read_events
from distil_tui.core.ingest.readers import read_csv, read_text


def _time_file(imp: demo.DemoImport, repeat: int) -> tuple[int, int, float]:
    """(rows, lines, best seconds) of reading one demo file."""
    text = read_text(imp.path)
    best = float("inf")
    rows = 0
    for _ in range(repeat):
        # An import runs in a fresh process: no number or date remembered
        # from the run before.
        normalize._E164_SEEN.clear()
        normalize.date_value.cache_clear()
        with paused_gc():
            started = time.perf_counter()
            if imp.fmt == "events":
                items = list(read_events(imp.path, text, source=imp.source,
                                         customer_id_source="shop", region="GB"))
                rows = sum(1 for item, _line in items if isinstance(item, ParsedEvent))
            else:
                items = list(read_csv(imp.path, text, source=imp.source,
                                      id_column=imp.id_column, region="GB"))
                rows = len(items)
            best = min(best, time.perf_counter() - started)
            del items
    return rows, text.count("\n"), best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=133_000)
    parser.add_argument("--seed", type=int, default=202)
    parser.add_argument("--data", type=Path, help="a folder of demo files to read instead")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"Python {platform.python_version()} on {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.data is None:
            started = time.perf_counter()
            dataset = demo.generate(Path(tmp), customers=args.customers, seed=args.seed)
            print(f"demo data for {args.customers:,} people (seed {args.seed}) written in "
                  f"{time.perf_counter() - started:.1f} s")
            imports = dataset.imports
        else:
            imports = (
                demo.DemoImport(args.data / "shop.csv", "shop", "csv", "customer_id"),
                demo.DemoImport(args.data / "crm.csv", "crm", "csv", "contact_id"),
                demo.DemoImport(args.data / "newsletter.csv", "newsletter", "csv", None),
                demo.DemoImport(args.data / "events-1.jsonl", "web", "events", None),
                demo.DemoImport(args.data / "events-2.jsonl", "web", "events", None),
            )
        print(f"{'file':<16} {'reader':<12} {'rows':>9} {'seconds':>8} {'per second':>12}")
        for imp in imports:
            unit = "events" if imp.fmt == "events" else "rows"
            reader = "read_events" if imp.fmt == "events" else "read_csv"
            rows, _lines, seconds = _time_file(imp, args.repeat)
            print(f"{imp.path.name:<16} {reader:<12} {rows:>9,} {seconds:>8.2f} "
                  f"{rows / seconds:>10,.0f} {unit}/s")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
