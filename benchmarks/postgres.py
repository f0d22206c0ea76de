"""Import throughput on a PostgreSQL store: the demo data, file by file.

    python benchmarks/postgres.py URL [--customers N] [--seed S] [--data DIR]

Imports the demo data set (``--customers`` people, default 31,250: about
100k source records, as ``scale.py``'s middle size; 312,500 make 1M) into a
new schema of the PostgreSQL database ``URL`` (``postgresql://user:pw@host/db``;
the ``postgres`` extra), then prints each file's time, the total, the
client's CPU time and peak memory, and the grouping's pairwise precision, recall
and F1 against the data set's truth with the traps merged.  ``--data DIR``
imports files written earlier (``scale.py --keep DIR`` leaves them in
``DIR/size-N/data``) instead of generating them.  The schema is dropped at
the end: nothing else in the database is touched.  The server's own CPU time
is not counted; on one machine it shares the cores with the client.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from frames import machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from distil_tui.core import demo, evaluate
from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import import_file
from distil_tui.core.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="postgresql://user:password@host/database")
    parser.add_argument("--customers", type=int, default=31_250, help="people in the demo data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="demo files written earlier, instead of generating them")
    args = parser.parse_args()

    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    print(f"{machine()}, PostgreSQL {version}")
    schema = f"distil_bench_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(args.url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.data:
                dataset = demo.dataset_in(args.data)
            else:
                t0 = time.perf_counter()
                dataset = demo.generate(Path(tmp), customers=args.customers, seed=args.seed)
                print(f"demo data for {args.customers:,} people generated in {time.perf_counter() - t0:.1f} s")
            run(Store(url.render_as_string(hide_password=False)), dataset)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return 0


def run(store: Store, dataset: demo.DemoDataset) -> None:
    total = 0.0
    cpu0 = time.process_time()
    for item in dataset.imports:
        t0 = time.perf_counter()
        s = import_file(store, item.path, source=item.source, fmt=item.fmt, id_column=item.id_column,
                        customer_id_source=item.customer_id_source)
        dt = time.perf_counter() - t0
        total += dt
        unit = "events" if item.fmt == "events" else "rows"
        print(f"  import {item.path.name:<16} {s.records_imported:>9,} {unit:<6} in {dt:7.2f} s  "
              f"(customers +{s.customers_created:,}, merges {s.merges_made:,}, "
              f"for review {s.candidates_created:,})", flush=True)
    cpu = time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  total: {total:.1f} s; client CPU {cpu:.1f} s; client peak memory {peak:,.0f} MB")
    predicted = record_grouping(store)
    truth = evaluate.load_truth(dataset.truth_path)
    scores = evaluate.pairwise_scores(predicted, truth.persons)
    print(f"  resolution: precision {scores.precision:.4f}, recall {scores.recall:.4f}, F1 {scores.f1:.4f} "
          f"over {scores.records:,} records; traps merged: {evaluate.traps_merged(predicted, truth)}")
    store.close()


if __name__ == "__main__":
    sys.exit(main())
