"""How fast tracking events import: a synthetic event stream of any size.

    python benchmarks/events.py [--events 10000000] [--per-visitor 8] [--identified 0.1]
                                [--into STORE] [--keep DIR]

Writes a JSON Lines file of ``--events`` website events spread over visitors
(anonymous browser ids) of ``--per-visitor`` events each, a day of page views,
searches and orders; ``--identified`` of the visitors sign in once (an event
with a ``customer`` block: a shop customer id and an email), so that their
browsing joins a customer.  Then imports it, in one process of its own (its
peak memory is the import's), into an empty store, or into a copy of
``--into`` (a store made by ``benchmarks/scale.py --keep DIR``, whose shop
customer ids ``S000001``... the sign-ins then name), and prints the time,
events per second (issue 7's target: 10M events at 200k events/s or more),
CPU time and peak memory.

The file is generated without the demo generator (which holds every person in
memory): 10M events are about 1.6 GB of text.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from frames import ChildrenPeak, machine

PAGES = ("/", "/category/new-in", "/category/men", "/category/women", "/products/rain-jacket",
         "/products/sunglasses", "/products/notebook", "/search?q=boots", "/basket", "/account")


def generate(path: Path, events: int, per_visitor: int, identified: float, customers: int, seed: int) -> None:
    """``events`` events in time order, each visitor's spread over the day."""
    rng = random.Random(seed)
    visitors = max(events // per_visitor, 1)
    start = 1_775_001_600  # 2026-04-01T00:00:00Z
    with path.open("w", encoding="utf-8") as out:
        written = 0
        for v in range(visitors):
            anon = f"{rng.getrandbits(128):032x}"
            n = per_visitor if v < visitors - 1 else events - written
            signs_in = rng.random() < identified
            customer = rng.randint(1, customers)
            t = start + rng.randint(0, 80_000)
            lines = []
            for i in range(n):
                t += rng.randint(5, 300)
                event = {"anonymous_user_id": anon,
                         "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                         "event": "page_view", "properties": {"path": rng.choice(PAGES)}}
                if signs_in and i == n // 2:
                    event["event"] = "sign_in"
                    event["customer"] = {"customer_id": f"S{customer:06d}",
                                         "email_address": f"customer{customer}@example-shop.co.uk"}
                elif i == n - 1 and rng.random() < 0.2:
                    event["event"] = "order_completed"
                    event["properties"] = {"path": "/checkout/complete", "order_id": f"O{rng.getrandbits(32)}",
                                           "revenue": round(rng.uniform(5, 300), 2), "currency": "GBP"}
                lines.append(json.dumps(event))
            out.write("\n".join(lines) + "\n")
            written += n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--per-visitor", type=int, default=8)
    parser.add_argument("--identified", type=float, default=0.1, help="share of visitors who sign in")
    parser.add_argument("--into", type=Path, help="import into a copy of this store (else an empty one)")
    parser.add_argument("--keep", type=Path, help="keep the file and the store in this folder")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # a child run: store, file
    args = parser.parse_args()
    if args.child:
        return _import(Path(args.child[0]), Path(args.child[1]))

    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "events.jsonl"
        t0 = time.perf_counter()
        generate(path, args.events, args.per_visitor, args.identified, 200_000, args.seed)
        print(f"generated {args.events:,} events ({path.stat().st_size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")
        store = folder / "events.db"
        for ext in ("", "-wal", "-shm"):
            Path(f"{store}{ext}").unlink(missing_ok=True)
            if args.into and Path(f"{args.into}{ext}").exists():
                shutil.copy(f"{args.into}{ext}", f"{store}{ext}")
        print(f"into {'a copy of ' + str(args.into) if args.into else 'an empty store'}")
        out = subprocess.run([sys.executable, __file__, "--child", str(store), str(path)],
                             capture_output=True, text=True)
        sys.stdout.write(out.stdout or out.stderr)
        return out.returncode


def _import(db: Path, path: Path) -> int:
    from distil_tui.core.importer import import_file
    from distil_tui.core.store import Store

    store = Store(f"sqlite:///{db}")
    t0, c0 = time.perf_counter(), time.process_time()
    # A large file is read by a process of its own (distil_tui.core.ingest.apart).
    with ChildrenPeak() as reader:
        s = import_file(store, path, source="web", fmt="events", customer_id_source="shop")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"imported {s.events_imported:,} events in {seconds:.1f} s = {s.events_imported / seconds:,.0f} events/s "
          f"(target 200,000/s); CPU: importer {cpu:.1f} s, reader {children.ru_utime + children.ru_stime:.1f} s; "
          f"peak memory: importer {peak:,.0f} MB, reader {reader.peak_mb:,.0f} MB; "
          f"customers +{s.customers_created:,}, merges {s.merges_made:,}, rejected {s.records_rejected:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
