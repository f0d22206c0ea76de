"""Does the Data panel stay smooth over a million customers?

Writes N synthetic customers (default 1,000,000) with the writer of
``benchmarks/search.py`` (towns, dates of birth and a custom attribute added,
some left empty), opens the app headless (``App.run_test``), opens the Data
panel and, while a 60 Hz timer on the event loop records the gaps between its
callbacks, pages down through many pages, sorts by an unindexed column (last
name) and reverses it, jumps to the last customers and pages back up, and
sorts by a custom attribute.  A frame can be no later than the longest gap.
Prints the longest gap, the 99th percentile, and how long page reads took
(the query, in the screen's worker thread).  Target: no gap over 100 ms.

    python benchmarks/data_panel.py [--customers N] [--pages P] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frames import FrameGaps, gap_summary, machine  # noqa: E402
from search import make_customers, write_customers  # noqa: E402

from distil_tui.core.store import Store  # noqa: E402
from distil_tui.ui.app import DistilApp  # noqa: E402
from distil_tui.ui.screens import DataScreen, data  # noqa: E402
from distil_tui.ui.widgets.data_grid import DataGrid  # noqa: E402

TOWNS = ("Leeds", "London", "York", "Bristol", "Bath", "Hull", "Derby", "Ely")


def build(path: Path, n: int, seed: int) -> None:
    Store(f"sqlite:///{path}").close()
    write_customers(path, make_customers(n, seed))
    conn = sqlite3.connect(path)
    # A seventh of the towns and a third of the dates of birth empty; a
    # custom attribute on a fifth of the customers.
    conn.execute(
        "UPDATE customer SET town = CASE WHEN id % 7 = 0 THEN NULL ELSE "
        f"({' '.join(['CASE id % 8'] + [f'WHEN {k} THEN {t!r}' for k, t in enumerate(TOWNS)] + ['END'])}) END, "
        "date_of_birth = CASE WHEN id % 3 = 0 THEN NULL "
        "ELSE printf('19%02d-%02d-%02d', id % 80 + 20, id % 12 + 1, id % 28 + 1) END, "
        "custom = CASE WHEN id % 5 = 0 THEN json_object('loyalty_tier', "
        "CASE id % 3 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' ELSE 'bronze' END) ELSE '{}' END"
    )
    conn.commit()
    conn.close()


async def measure(store: Store, pages: int) -> tuple[list[float], list[float], dict[str, float]]:
    app = DistilApp(store, cursor_blink=False)
    reads: list[float] = []
    steps: dict[str, float] = {}
    read_page = data.data_page

    def timed_read(*args, **options):
        # The query itself, in the screen's worker thread.
        started = time.perf_counter()
        try:
            return read_page(*args, **options)
        finally:
            reads.append(time.perf_counter() - started)

    data.data_page = timed_read
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        frames = FrameGaps(app)
        await pilot.press("tab", "d")
        screen = app.screen
        assert isinstance(screen, DataScreen)
        grid = screen.query_one(DataGrid)

        async def until_loaded() -> None:
            while grid.waiting or not grid.rows_held:
                await asyncio.sleep(0.005)

        async def keys(*names: str) -> None:
            for name in names:
                await pilot.press(name)
                if grid.waiting:
                    await until_loaded()

        async def step(label: str, *names: str) -> None:
            started = time.perf_counter()
            await keys(*names)
            steps[label] = time.perf_counter() - started

        await until_loaded()
        screen_rows = grid.size.height - 1
        presses = max(pages * grid.page_size // max(screen_rows, 1), 1)
        await step(f"page down through {pages} pages ({presses} presses)", *["pagedown"] * presses)
        names = [a.name for a in grid.attributes]
        await step("sort by last name (unindexed)", "ctrl+home", *["left"] * 10,
                   *["right"] * names.index("last_name"), "s")
        await until_loaded()
        await step("page down 20 pages, sorted", *["pagedown"] * (20 * grid.page_size // screen_rows))
        await step("reverse the sort", "s")
        await until_loaded()
        await step("last customers, page up 20 pages", "ctrl+end", *["pageup"] * (20 * grid.page_size // screen_rows))
        await step("sort by town (unindexed), page down 10", *["left"] * 10, *["right"] * names.index("town"), "s",
                   *["pagedown"] * (10 * grid.page_size // screen_rows))
        frames.stop()
        held = len(grid.rows_held)
    steps["rows held at the end"] = held
    return frames.gaps, reads, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=100, help="pages to scroll down through first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="keep the generated store here, and reuse it if it exists")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "data.db"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, args.customers, args.seed)
            print(f"generated {args.customers:,} customers in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        store = Store(f"sqlite:///{path}")
        print(f"opened the store in {time.perf_counter() - t0:.1f} s (search index built if missing)")
        try:
            gaps, reads, steps = asyncio.run(measure(store, args.pages))
        finally:
            store.close()
    for label, value in steps.items():
        print(f"  {label}: {value:.1f} s" if isinstance(value, float) else f"  {label}: {value}")
    reads_ms = sorted(r * 1000 for r in reads)
    print(f"pages read (data_view.data_page, in a worker thread): {len(reads_ms)}; "
          f"median {statistics.median(reads_ms):.1f} ms, max {reads_ms[-1]:.1f} ms")
    print(gap_summary(gaps))


if __name__ == "__main__":
    main()
