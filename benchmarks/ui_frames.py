"""Does the interface stay responsive during a large import?

Runs the app headless (``App.run_test``), imports the demo shop file of about
100k records through the Import screen, and records the gap between the
callbacks of a 60 Hz timer on the event loop: a frame can be no later than
the longest gap.  Prints the longest gap, the 99th percentile and the import
time.  Target: no gap over 100 ms.

    python benchmarks/ui_frames.py [--customers N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from frames import FrameGaps, gap_summary
from textual.widgets import Input

from distil_tui.core.demo import generate
from distil_tui.core.store import Store
from distil_tui.ui.app import DistilApp
from distil_tui.ui.screens import ImportScreen


async def measure(path: Path, store: Store) -> tuple[list[float], float, str]:
    app = DistilApp(store, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("tab", "i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        screen.query_one("#import-path", Input).value = str(path)
        while screen.preview is None:
            await asyncio.sleep(0.05)
        frames = FrameGaps(app)
        started = time.perf_counter()
        await pilot.press("enter")
        await pilot.pause()
        while screen.running:
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        frames.stop()
        info = str(screen.query_one("#import-info").render())
    return frames.gaps, seconds, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=140_000, help="people in the demo data (shop: ~75%%)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        dataset = generate(Path(folder) / "data", customers=args.customers)
        shop = dataset.imports[0].path
        rows = sum(1 for _ in shop.open(encoding="utf-8")) - 1
        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        try:
            gaps, seconds, info = asyncio.run(measure(shop, store))
        finally:
            store.close()
    print(f"import of {rows:,} shop rows through the Import screen: {seconds:.1f} s ({info})")
    print(gap_summary(gaps))


if __name__ == "__main__":
    main()
