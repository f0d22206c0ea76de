"""Benchmarks: import throughput and resolution quality on the demo data,
then (with the ``bench`` extra installed) the FEBRL linkage benchmark against
Splink, see ``linkage.py``.

    python benchmarks/run.py [--customers N] [--seed S] [--no-linkage] [--no-splink]

Generates the demo data set for N people (default 40,000, which makes about
100k source records), imports it file by file into an empty SQLite store in a
temporary folder, and prints: records per second for each file and overall
(file rows; events counted separately), peak memory, and pairwise precision,
recall and F1 of the grouping against the data set's ground truth, with the
number of traps merged wrongly.  Figures go to standard output; nothing is
asserted here: targets are judged by reading them.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from frames import machine

from distil_tui.core import demo, evaluate
from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import import_file
from distil_tui.core.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=40_000, help="people in the demo data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-linkage", action="store_true", help="skip the FEBRL linkage benchmark")
    parser.add_argument("--no-splink", action="store_true", help="FEBRL for distil-tui only")
    parser.add_argument("--steady-records", type=int, default=100_000,
                        help="rows per shop file in the steady-state test (0 skips it)")
    args = parser.parse_args()

    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        dataset = demo.generate(folder / "data", customers=args.customers, seed=args.seed)
        print(f"generated demo data for {args.customers:,} people in {time.perf_counter() - t0:.1f} s")

        store = Store(f"sqlite:///{folder / 'bench.db'}")
        rows = events = 0
        records_total = 0
        elapsed = 0.0
        for item in dataset.imports:
            t0 = time.perf_counter()
            s = import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                            customer_id_source=item.customer_id_source)
            dt = time.perf_counter() - t0
            elapsed += dt
            if item.fmt == "events":
                events += s.records_imported
                unit = "events"
            else:
                rows += s.records_imported
                unit = "records"
            records_total += s.records_imported
            print(f"import {item.path.name:<16} {s.records_imported:>9,} {unit:<7} in {dt:6.2f} s = "
                  f"{s.records_imported / dt:>9,.0f} {unit}/s  (customers +{s.customers_created:,}, "
                  f"merges {s.merges_made:,}, for review {s.candidates_created:,}, rejected {s.records_rejected:,})")
        print(f"import total: {rows:,} file records + {events:,} events in {elapsed:.2f} s = "
              f"{records_total / elapsed:,.0f} rows/s")

        t0 = time.perf_counter()
        predicted = record_grouping(store)
        truth = evaluate.load_truth(dataset.truth_path)
        scores = evaluate.pairwise_scores(predicted, truth.persons)
        traps = evaluate.traps_merged(predicted, truth)
        print(f"resolution vs ground truth: precision {scores.precision:.4f}, recall {scores.recall:.4f}, "
              f"F1 {scores.f1:.4f} over {scores.records:,} records ({scores.true_pairs:,} true pairs); "
              f"traps merged wrongly: {sum(traps.values())} {dict(traps)}  [{time.perf_counter() - t0:.1f} s]")
        print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
        db_size = sum(p.stat().st_size for p in folder.glob("bench.db*"))
        print(f"store size: {db_size / 1e6:,.1f} MB")
        store.close()
    if args.steady_records:
        print()
        steady_state(args.steady_records)
    if not args.no_linkage:
        # A process of its own: timings after the big runs above would carry
        # their heap and caches.
        print(flush=True)
        command = [sys.executable, str(Path(__file__).with_name("linkage.py"))]
        return subprocess.call(command + (["--no-splink"] if args.no_splink else []))
    return 0


def steady_state(rows: int) -> None:
    """A file of ``rows`` shop records into a store that already holds as
    many: two shop exports of different people (different seeds), the
    second timed.  People in the shop file are about 75% of the data set."""
    people = int(rows / 0.75)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = demo.generate(folder / "first", customers=people, seed=101).imports[0]
        second = demo.generate(folder / "second", customers=people, seed=202).imports[0]
        store = Store(f"sqlite:///{folder / 'steady.db'}")
        t0 = time.perf_counter()
        a = import_file(store, first.path, source="shop", id_column=first.id_column)
        t1 = time.perf_counter()
        b = import_file(store, second.path, source="shop2", id_column=second.id_column)
        t2 = time.perf_counter()
        print(f"steady state: {a.records_imported:,} records into an empty store in {t1 - t0:.2f} s "
              f"({a.records_imported / (t1 - t0):,.0f}/s); then {b.records_imported:,} records into "
              f"that store in {t2 - t1:.2f} s = {b.records_imported / (t2 - t1):,.0f} records/s "
              f"(customers +{b.customers_created:,}, for review {b.candidates_created:,})")
        store.close()


if __name__ == "__main__":
    sys.exit(main())
