"""A tracking export read in a process of its own, beside the import.

Reading events is a third of an events import: parsing each line's JSON,
hashing it for the event's key, normalising its time.  A child process
reads the file into batches (:mod:`distil_tui.core.ingest.batches`) while
the importing process resolves and writes the batches before them, so both
cores work.  The child reads the file in parts, so neither process holds
the whole of it.

Handing a batch over costs its pickling and unpickling: for an event (a
tuple of strings) 0.3 microseconds each way, against about 4 to read it.
Customer files are read in the importing process: a parsed customer record
(dicts of values, a list of identifiers) costs about as much to unpickle as
to read (measured on a 100k-row shop file: 1.6 s against 2.1 s).

The child reads its job from its standard input and writes frames to its
standard output: an 8-byte length, then a pickled (kind, payload) pair.
A thread of the parent reads the frames as they come (reading a pipe
releases the interpreter lock), so the child runs up to ``AHEAD`` batches
ahead; closing its input, or the parent ending, stops it.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import distil_tui
from distil_tui.core.ingest.batches import Batch, read_batches
from distil_tui.core.ingest.readers import ImportRefused, text_parts

# Below this size the child's start (about 0.3 s of imports) costs more
# than reading the file where it is imported.
APART_MIN_BYTES = 8 * 1024 * 1024
AHEAD = 2  # batches read but not yet taken
_LENGTH = struct.Struct("<Q")


class BatchesApart:
    """The batches of an events file, read by a child process: iterate once,
    then (or on any failure) :meth:`close`.  ``total_lines`` is known once
    the child has counted them, before the first batch."""

    def __init__(self, path: Path, *, source: str, customer_id_source: str, region: str,
                 batch_size: int) -> None:
        package_root = str(Path(distil_tui.__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._frames: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD)
        self._closed = threading.Event()
        self._child = subprocess.Popen(
            [sys.executable, "-m", "distil_tui.core.ingest.apart"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        try:
            self._child.stdin.write(pickle.dumps(
                (str(path), source, customer_id_source, region, batch_size)))
            self._child.stdin.flush()
            threading.Thread(target=self._receive, name="distil-read-apart", daemon=True).start()
            kind, payload = self._next()
            if kind != "lines":
                self._raise(kind, payload)
        except BaseException:
            self.close()
            raise
        self.total_lines: int = payload

    def __iter__(self) -> Iterator[Batch]:
        while True:
            kind, payload = self._next()
            if kind == "batch":
                yield payload
            elif kind == "end":
                return
            else:
                self._raise(kind, payload)

    def close(self) -> None:
        self._closed.set()
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        for pipe in (self._child.stdin, self._child.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def _receive(self) -> None:
        """Move frames from the child's output to the queue, until it ends
        (``None``) or the reading is closed."""
        out = self._child.stdout
        try:
            while not self._closed.is_set():
                head = out.read(_LENGTH.size)
                if len(head) < _LENGTH.size:
                    break
                length = _LENGTH.unpack(head)[0]
                frame = out.read(length)
                if len(frame) < length:  # the child ended in the middle of a frame
                    break
                self._put(frame)
        except (OSError, ValueError):  # closed under us
            pass
        finally:
            self._put(None)

    def _put(self, frame: bytes | None) -> None:
        """Queue a frame, waiting for room unless the reading is closed."""
        while not self._closed.is_set():
            try:
                self._frames.put(frame, timeout=0.1)
                return
            except queue.Full:
                pass

    def _next(self) -> tuple[str, object]:
        frame = self._frames.get()
        if frame is None:
            raise RuntimeError(
                f"the process reading the file ended unexpectedly (exit code {self._child.wait()})")
        return pickle.loads(frame)

    @staticmethod
    def _raise(kind: str, payload: object) -> None:
        if kind == "refused":
            raise ImportRefused(payload)
        raise RuntimeError(f"reading the file failed: {payload}")


def main() -> None:
    path, source, customer_id_source, region, batch_size = pickle.load(sys.stdin.buffer)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints must not reach the frames

    def send(kind: str, payload: object) -> None:
        frame = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_LENGTH.pack(len(frame)))
        out.write(frame)
        out.flush()

    # The parent closing our input means stop; so does a write failing.
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()
    import gc

    gc.disable()  # as in the import itself (core.bulk): nothing here forms cycles
    path = Path(path)
    try:
        total = 1
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 24), b""):
                total += block.count(b"\n")
        send("lines", total)
        for batch in read_batches(path, text_parts(path), "events", source=source, id_column=None,
                                  customer_id_source=customer_id_source, region=region,
                                  total_lines=total, batch_size=batch_size):
            send("batch", batch)
        send("end", None)
    except ImportRefused as exc:
        send("refused", str(exc))
    except BrokenPipeError:
        pass
    except Exception as exc:  # reported by the parent
        send("error", f"{type(exc).__name__}: {exc}")
    finally:
        try:
            out.close()
        except BrokenPipeError:
            pass


if __name__ == "__main__":
    main()
