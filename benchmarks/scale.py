"""How cost grows: the demo data at 10k, 100k and 1M source records, end to end.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--seed S] [--keep DIR] [--splink]

For each size, in a process of its own (so that its peak memory is its own):
generates the demo data set with as many people as make about that many
source records (file rows, anonymous visitors and identify records: 3.2 per
person in the demo data), imports its five files into an empty SQLite store
and prints the time (wall clock, and CPU: user + system), the rate, the peak
memory (max RSS; CPU and memory include the process that reads a large
tracking export beside the import, see distil_tui.core.ingest.apart), the store's size and the resolution's pairwise precision,
recall and F1 against the ground truth, with the traps merged; the same for
the three attribute files alone (shop, CRM, newsletter: imported first), and
how many cores other processes kept busy meanwhile.  Then, on the largest
store:

- ``10k into N``: a shop file of 10,000 new people's rows (another seed, its
  own source) imported into it;
- ``app open``: a fresh interpreter opens the store and starts the app
  (headless); the time until it accepts keys.

Nothing is asserted: the targets (issue 7: 1M records in at most 60 s with
at most 1.5 GB, quality no worse than at 10k, 10k into 1M in at most 5 s,
the app ready in 1.5 s) are judged by reading the figures.

With ``--splink`` (the ``bench`` extra), after each size's import, Splink
runs on the same data set's person records in a process of its own
(benchmarks/splink_scale.py says which records, what Splink gets and what is
measured), both groupings are scored on the same records, and two last
tables put both systems side by side: time, CPU time, peak memory and the
time ratio; precision, recall and F1.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from frames import ChildrenPeak, machine, machine_busy_seconds, others_cores

RECORDS_PER_PERSON = 3.2  # source records per person in the demo data (measured)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="source records per run, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the stores and data in this folder")
    parser.add_argument("--splink", action="store_true",
                        help="run Splink on the same records at each size, side by side (bench extra)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child run: this size
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--open", type=Path, help=argparse.SUPPRESS)  # a child run: open the app
    parser.add_argument("--last", action="store_true", help=argparse.SUPPRESS)  # the largest size
    parser.add_argument("--grouping", action="store_true", help=argparse.SUPPRESS)  # for splink_scale.py
    args = parser.parse_args()
    if args.open:
        return _open_app(args.open)
    if args.one:
        return _one_size(args.one, args.seed, args.folder, last=args.last, grouping=args.grouping)

    sizes = [int(s) for s in args.sizes.split(",")]
    if args.splink and importlib.util.find_spec("splink") is None:
        parser.error("--splink needs Splink: pip install -e '.[bench]'")
    print(machine() + (f", Splink {importlib.metadata.version('splink')} "
                       f"(DuckDB {importlib.metadata.version('duckdb')})" if args.splink else ""))
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        results = []
        splink = []
        for n, size in enumerate(sizes):
            folder = root / f"size-{size}"
            # Generated here, so that the import's process has no child but
            # its own reading processes, whose peak memory and CPU it counts.
            _generate_apart(folder / "data", _people(size), args.seed, announce=size)
            command = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed),
                       "--folder", str(folder)]
            if n == len(sizes) - 1:
                command.append("--last")
            if args.splink:
                command.append("--grouping")
            out = subprocess.run(command, capture_output=True, text=True)
            sys.stdout.write(out.stdout)
            if out.returncode:
                sys.stdout.write(out.stderr)
                return out.returncode
            results.append(_result(out.stdout))
            if args.splink:
                out = subprocess.run([sys.executable, str(Path(__file__).with_name("splink_scale.py")),
                                      str(folder), "--inside"], capture_output=True, text=True)
                if out.returncode:
                    sys.stdout.write(out.stdout + out.stderr)
                    return out.returncode
                sys.stdout.write(out.stdout.rstrip("\n").rpartition("\n")[0] + "\n")  # all but the result
                splink.append(_result(out.stdout))
        print()
        print(f"{'records':>10} {'people':>9} {'file rows':>10} {'events':>10} {'seconds':>8} "
              f"{'records/s':>10} {'peak MB':>8} {'MB per 1k':>9} {'F1':>7}")
        for r in results:
            print(f"{r['records']:>10,} {r['people']:>9,} {r['rows']:>10,} {r['events']:>10,} "
                  f"{r['seconds']:>8.1f} {r['records'] / r['seconds']:>10,.0f} {r['peak_mb']:>8,.0f} "
                  f"{r['peak_mb'] / (r['records'] / 1000):>9.2f} {r['f1']:>7.4f}")
        if splink:
            _side_by_side(results, splink)
    return 0


def _result(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1].removeprefix("result "))


def _side_by_side(ours: list[dict], theirs: list[dict]) -> None:
    """The two tables of ``--splink``: cost, then quality, one row a size."""
    print("\nSplink side by side: time in wall-clock s (CPU s, user + system); peak memory (max RSS) in MB;")
    print("ours for the whole import (all records, events included) and for the attribute files alone;")
    print("Splink's: train + predict + cluster at 0.99 on the person records; ratio: ours / Splink's (< 1: we")
    print("are faster), wall clock of the whole import and of the files, CPU of the whole import; busy: cores")
    print("other processes kept busy, on average, during ours / Splink's")
    print(f"{'records':>10} {'persons':>8} | {'ours: all':>15} {'peak':>6} {'files':>15} {'peak':>6} | "
          f"{'Splink':>15} {'peak':>6} | {'ratio: all':>10} {'files':>6} {'all CPU':>7} | {'busy':>9}")
    for o, t in zip(ours, theirs):
        busy = ("-" if o["others_cores"] is None or t["others_cores"] is None
                else f"{o['others_cores']:.1f} / {t['others_cores']:.1f}")
        print(f"{o['records']:>10,} {t['person_records']:>8,} | "
              f"{_time(o['seconds'], o['cpu']):>15} {o['peak_mb']:>6,.0f} "
              f"{_time(o['files_seconds'], o['files_cpu']):>15} {o['files_peak_mb']:>6,.0f} | "
              f"{_time(t['seconds'], t['cpu']):>15} {t['peak_mb']:>6,.0f} | "
              f"{o['seconds'] / t['seconds']:>10.2f} {o['files_seconds'] / t['seconds']:>6.2f} "
              f"{o['cpu'] / t['cpu']:>7.2f} | {busy:>9}")
    print("\nquality on the person records both hold (pairwise, against truth.csv; Splink at 0.99, and the best")
    print("F1 among 0.5, 0.9, 0.95, 0.99 for reference); file rows: the same on shop, CRM and newsletter rows")
    print(f"{'records':>10} {'compared':>9} | {'ours: P':>8} {'R':>6} {'F1':>6} | {'Splink: P':>9} {'R':>6} "
          f"{'F1':>6} {'best F1':>12} | {'F1 diff':>7} | {'file rows: ours':>15} {'Splink':>6}")
    for o, t in zip(ours, theirs):
        print(f"{o['records']:>10,} {t['compared']:>9,} | {t['our_precision']:>8.4f} {t['our_recall']:>6.4f} "
              f"{t['our_f1']:>6.4f} | {t['splink_precision']:>9.4f} {t['splink_recall']:>6.4f} "
              f"{t['splink_f1']:>6.4f} {t['splink_best_f1']:>6.4f} @{t['splink_best_threshold']:<4} | "
              f"{t['our_f1'] - t['splink_f1']:>+7.4f} | {t['our_rows_f1']:>15.4f} {t['splink_rows_f1']:>6.4f}")


def _time(wall: float, cpu: float) -> str:
    return f"{wall:.1f} ({cpu:.1f})"


def _one_size(size: int, seed: int, folder: Path, *, last: bool, grouping: bool) -> int:
    from distil_tui.core import demo, evaluate
    from distil_tui.core.exports import record_grouping
    from distil_tui.core.importer import import_file
    from distil_tui.core.store import Store

    people = _people(size)
    dataset = demo.dataset_in(folder / "data")
    db = folder / "store.db"
    store = Store(f"sqlite:///{db}")
    rows = events = 0
    elapsed = cpu = files_seconds = files_cpu = files_peak = 0.0
    busy_before = machine_busy_seconds()
    with ChildrenPeak() as readers:
        for item in dataset.imports:
            t0, c0 = time.perf_counter(), _cpu()
            s = import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                            customer_id_source=item.customer_id_source)
            dt, dc = time.perf_counter() - t0, _cpu() - c0
            elapsed += dt
            cpu += dc
            unit = "events" if item.fmt == "events" else "rows"
            if item.fmt == "events":
                events += s.records_imported
            else:  # the attribute files come first: the peak so far is theirs
                rows += s.records_imported
                files_seconds += dt
                files_cpu += dc
                files_peak = _peak_mb(readers)
            print(f"  import {item.path.name:<16} {s.records_imported:>10,} {unit:<6} in {dt:7.2f} s = "
                  f"{s.records_imported / dt:>9,.0f} {unit}/s  (customers +{s.customers_created:,}, "
                  f"merges {s.merges_made:,}, for review {s.candidates_created:,})", flush=True)
    busy = others_cores(busy_before, machine_busy_seconds(), cpu, elapsed)
    peak = _peak_mb(readers)
    predicted = record_grouping(store)
    if grouping:
        from splink_scale import GROUPING_FILE

        _write_grouping(folder / GROUPING_FILE, predicted)
    truth = evaluate.load_truth(dataset.truth_path)
    scores = evaluate.pairwise_scores(predicted, truth.persons)
    traps = evaluate.traps_merged(predicted, truth)
    records = len(predicted)
    size_mb = sum(p.stat().st_size for p in folder.glob("store.db*")) / 1e6
    print(f"  attribute files: {rows:,} rows in {files_seconds:.1f} s ({files_cpu:.1f} s CPU); "
          f"peak memory {files_peak:,.0f} MB")
    print(f"  total: {records:,} source records ({rows:,} file rows, {events:,} events) in {elapsed:.1f} s "
          f"({cpu:.1f} s CPU) = {records / elapsed:,.0f} records/s; peak memory {peak:,.0f} MB; "
          f"store {size_mb:,.0f} MB" + (f"; other processes kept {busy:.1f} cores busy" if busy is not None else ""))
    print(f"  resolution: precision {scores.precision:.4f}, recall {scores.recall:.4f}, F1 {scores.f1:.4f}; "
          f"traps merged: {sum(traps.values())} {dict(traps)}")
    if last:
        extra = _generate_apart(folder / "extra", int(10_000 / 0.7), seed + 1000).imports[0]
        t0 = time.perf_counter()
        s = import_file(store, extra.path, source="shop2", id_column=extra.id_column)
        dt = time.perf_counter() - t0
        print(f"  10k into {records:,}: {s.records_imported:,} new rows in {dt:.2f} s "
              f"(customers +{s.customers_created:,}, merges {s.merges_made:,})")
    store.close()
    if last:
        out = subprocess.run([sys.executable, __file__, "--open", str(db)], capture_output=True, text=True)
        sys.stdout.write(out.stdout or out.stderr)
    result = {"records": records, "people": people, "rows": rows, "events": events, "seconds": elapsed,
              "cpu": cpu, "peak_mb": peak, "f1": scores.f1, "files_seconds": files_seconds, "files_cpu": files_cpu,
              "files_peak_mb": files_peak, "others_cores": busy}
    print("result " + json.dumps(result))
    return 0


def _write_grouping(path: Path, grouping: dict[tuple[str, str], str]) -> None:
    """Every record's customer after the import, for splink_scale.py to
    score: the largest store is imported into again afterwards."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("source", "source_key", "tracking_id"))
        writer.writerows((source, key, label) for (source, key), label in grouping.items())


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of the processes it
    waited for: a large events file is read by a process of the import's
    own (distil_tui.core.ingest.apart), whose time is the import's."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_mb(readers: ChildrenPeak) -> float:
    """Peak memory of the import: this process's, plus the largest of the
    reading processes it started (they run beside it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + readers.peak_mb


def _people(size: int) -> int:
    from distil_tui.core import demo

    return max(int(size / RECORDS_PER_PERSON), demo.MIN_CUSTOMERS)


def _generate_apart(folder: Path, people: int, seed: int, announce: int | None = None):
    """The demo data set, generated in a process of its own: the generator
    holds every person at once (2 GB at 1M records), which is not the
    import's memory."""
    from distil_tui.core import demo

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from distil_tui.core import demo; "
                    "demo.generate(sys.argv[1], customers=int(sys.argv[2]), seed=int(sys.argv[3]))",
                    str(folder), str(people), str(seed)], check=True)
    if announce is not None:
        print(f"\n{announce:,} records: demo data for {people:,} people generated in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    return demo.dataset_in(folder)


def _open_app(db: Path) -> int:
    """A fresh interpreter: import the app, open the store, start the app
    headless; the time until the first screen has mounted and drawn."""
    started = time.perf_counter()
    import asyncio

    from distil_tui.core.store import Store
    from distil_tui.ui.app import DistilApp

    async def run() -> float:
        app = DistilApp(Store(f"sqlite:///{db}"))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            return time.perf_counter() - started

    ready = asyncio.run(run())
    print(f"  app open: ready for keys {ready:.2f} s after the interpreter started (imports included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
