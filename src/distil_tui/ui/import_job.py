"""An import in a process of its own, so that the interface keeps its frames.

An import is CPU-bound Python, and parts of it (sorting a million blocking
keys, freeing the parsed file) hold the interpreter lock for hundreds of
milliseconds at a time: in a thread of the app's process they would stall
the screen (measured: 630 ms without a frame during a 100k-record import;
38 ms with the import in a child process).  The child shares no lock; it
reads its job from its standard input, writes progress and the outcome to
its standard output, and cancels when its input is closed.  This module
imports no Textual, so that the child starts quickly.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from distil_tui.core.importer import ImportCancelled, import_file
from distil_tui.core.ingest.readers import ImportRefused
from distil_tui.core.models import ImportProgress, ImportSummary
from distil_tui.core.store import Store


def can_run_apart(store: Store) -> bool:
    """A child process sees the same store only through a file or a server."""
    url = store.url
    return not (url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url or "mode=memory" in url)


def import_apart(store: Store, path: str | Path, *, cancel: threading.Event,
                 progress: Callable[[ImportProgress], None], **options) -> ImportSummary:
    """``import_file`` in a child process, with the same outcomes: a summary,
    or :class:`ImportRefused` / :class:`ImportCancelled` raised here.

    The child reads its job from standard input and writes pickled
    (kind, payload) pairs to standard output; closing its standard input
    cancels it (so does this process ending)."""
    try:
        now = pickle.loads(pickle.dumps(store.now))
    except Exception:  # a lambda: the child keeps the real clock
        now = None
    child = subprocess.Popen(
        [sys.executable, "-m", "distil_tui.ui.import_job"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    child.stdin.write(pickle.dumps((store.url, now, str(path), options)))
    child.stdin.flush()

    def stop_on_cancel() -> None:
        while child.poll() is None:
            if cancel.wait(0.1):
                child.stdin.close()
                return

    threading.Thread(target=stop_on_cancel, name="distil-import-cancel", daemon=True).start()
    try:
        while True:
            try:
                kind, payload = pickle.load(child.stdout)
            except EOFError:
                raise RuntimeError(f"the import process ended unexpectedly (exit code {child.wait()})") from None
            if kind == "progress":
                progress(payload)
            elif kind == "done":
                return payload
            elif kind == "refused":
                raise ImportRefused(payload)
            elif kind == "cancelled":
                raise ImportCancelled(payload)
            else:
                raise RuntimeError(payload)
    finally:
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        child.stdout.close()


def main() -> None:
    job = sys.stdin.buffer
    url, now, path, options = pickle.load(job)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints must not reach the outcomes
    lock = threading.Lock()

    def send(kind: str, payload: object) -> None:
        with lock:
            pickle.dump((kind, payload), out)
            out.flush()

    cancel = threading.Event()

    def watch() -> None:
        job.read()  # returns when the app closes our input: cancel
        cancel.set()

    threading.Thread(target=watch, daemon=True).start()
    store = Store(url, now=now) if now is not None else Store(url)
    try:
        summary = import_file(store, path, cancel=cancel, progress=lambda p: send("progress", p), **options)
    except ImportRefused as exc:
        send("refused", str(exc))
    except ImportCancelled as exc:
        send("cancelled", str(exc))
    except Exception as exc:  # reported to the app, which shows it
        send("error", f"{type(exc).__name__}: {exc}")
    else:
        send("done", summary)
    finally:
        store.close()
        out.close()


if __name__ == "__main__":
    main()
