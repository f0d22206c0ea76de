"""Search benchmark: as-you-type queries against a million customers.

    python benchmarks/search.py [--customers N] [--queries Q] [--seed S] [--db PATH]

Writes N synthetic customers (default 1,000,000) straight into a fresh
store's tables with bulk inserts (the importer would take far too long),
builds the search index and times it, then types Q queries of each kind one
keystroke at a time through ``search_customers``, the function the CLI and
the app call.  Prints latency per keystroke (p50, p99, max), the share of
final queries whose intended customer is in the top 10, the index build time
and the memory the index adds.  Nothing is asserted: the targets are judged
by reading the figures.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import platform
import re
import sqlite3
import sys
import tempfile
import time
import unicodedata
from bisect import bisect
from itertools import accumulate
from pathlib import Path
from random import Random

from distil_tui.core import demo, search_index, tracking
from distil_tui.core.normalize import fold
from distil_tui.core.search import search_customers
from distil_tui.core.store import Store

KINDS = ("full name", "name typo", "last name", "full email", "email fragment", "phone fragment")
TOP = 10

# -- synthetic customers ---------------------------------------------------------
#
# The demo's name lists are the common head; a synthetic tail of rarer names
# gives a million customers a vocabulary of realistic size (tens of thousands
# of surnames), so that typo expansion faces realistic neighbours.

_ONSETS = ("b", "br", "c", "ch", "cr", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p",
           "pr", "r", "s", "sh", "st", "t", "th", "tr", "w", "wh", "v", "y", "bl", "cl", "fl")
_VOWELS = ("a", "e", "i", "o", "u", "ea", "ai", "ou", "ee", "oo", "y")
_CODAS = ("", "n", "r", "l", "m", "ck", "nd", "rn", "ll", "ss", "t", "rd", "nt", "x")
_SUFFIXES = ("son", "ton", "ley", "well", "ford", "ham", "wood", "er", "s", "by", "field", "more",
             "worth", "man", "ridge", "hurst", "stone", "ing", "don", "land", "ell", "ett", "kin",
             "ard", "", "", "", "")


def _tail_names(rng: Random, count: int) -> list[str]:
    """Pronounceable names of about seven letters: 'Brandon', 'Thealley'."""
    names: dict[str, None] = {}
    while len(names) < count:
        name = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
        if rng.random() < 0.3:
            name += rng.choice(_VOWELS) + rng.choice(_CODAS)
        names[(name + rng.choice(_SUFFIXES)).capitalize()] = None
    return list(names)


class _Names:
    """Draws with Zipf-like weights: 1/(rank + offset)."""

    def __init__(self, rng: Random, head: tuple[str, ...], tail: list[str], head_share: float):
        self.rng = rng
        self.head, self.tail, self.head_share = head, tail, head_share
        self.head_cum = list(accumulate(1 / (r + 12) for r in range(len(head))))
        self.tail_cum = list(accumulate(1 / (r + 50) for r in range(len(tail))))

    def draw(self) -> str:
        rand = self.rng.random
        if rand() < self.head_share:
            return self.head[bisect(self.head_cum, rand() * self.head_cum[-1])]
        return self.tail[bisect(self.tail_cum, rand() * self.tail_cum[-1])]


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


def make_customers(n: int, seed: int) -> list[tuple]:
    """(first, last, email, phone E.164 or None, record count) for n people."""
    rng = Random(seed)
    firsts = _Names(rng, demo._FIRST, _tail_names(rng, 4_000), 0.9)
    lasts = _Names(rng, demo._LAST, _tail_names(rng, 60_000), 0.45)
    domains = tuple(d for d, _w in demo._EMAIL_DOMAINS)
    domain_cum = list(accumulate(w for _d, w in demo._EMAIL_DOMAINS))
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    out = []
    for _ in range(n):
        first, last = firsts.draw(), lasts.draw()
        f, la = _ascii(first), _ascii(last)
        local = rng.choice((f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}.{la}{rng.randint(1, 99)}",
                            f"{f}{rng.randint(1, 9999)}", f"{la}.{f}", f"{f[0]}.{la}{rng.randint(1, 999)}"))
        domain = domains[bisect(domain_cum, rng.random() * domain_cum[-1])]
        email = f"{local}@{domain}"
        while email in used_emails:
            email = f"{local}{rng.randint(1, 9999)}@{domain}"
        used_emails.add(email)
        phone = None
        if rng.random() < 0.8:
            phone = f"+447{rng.randint(100_000_000, 999_999_999)}"
            while phone in used_phones:
                phone = f"+447{rng.randint(100_000_000, 999_999_999)}"
            used_phones.add(phone)
        records = 1 if rng.random() < 0.8 else rng.choice((2, 2, 2, 3, 4))
        out.append((first, last, email, phone, records))
    return out


def write_customers(path: Path, people: list[tuple]) -> None:
    """Customers, their source records and identifiers, written with the
    driver's executemany in one transaction."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    # Indexes are dropped and made again after the load: sorting once is
    # far cheaper than inserting into the B-trees row by row.
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                           " AND tbl_name IN ('customer', 'source_record', 'identifier')").fetchall()
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute("INSERT INTO import_run (id, source, file, format, started_at, records_read, records_imported,"
                 " records_rejected, customers_created, merges_made, candidates_created, events_imported,"
                 " rejections) VALUES (1, 'shop', 'synthetic', 'csv', '2026-01-01T00:00:00Z', 0, 0, 0, 0, 0, 0,"
                 " 0, '[]')")
    customers, records, idents = [], [], []
    rid = 0
    for cid, (first, last, email, phone, count) in enumerate(people, start=1):
        seen = f"2025-{1 + cid % 12:02d}-{1 + cid % 28:02d}T12:00:00Z"
        customers.append((cid, tracking.tracking_id(cid), seen, seen, first, last, email, phone, count,
                          fold(first), fold(last), email))
        for k in range(count):
            rid += 1
            source = ("shop", "crm", "newsletter", "web")[k]
            key = f"C{cid:07d}"
            records.append((rid, source, key, "customer", cid, 1, "synthetic", cid, seen, seen))
            idents.append((rid, "email_address", email))
            idents.append((rid, "customer_id", f"{source}:{key}"))
            if phone:
                idents.append((rid, "mobile_phone_no", phone))
    conn.executemany(
        "INSERT INTO customer (id, tracking_id, first_seen, last_seen, first_name, last_name, email_address,"
        " mobile_phone_no, record_count, first_name_key, last_name_key, email_key, custom)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')", customers)
    conn.executemany(
        "INSERT INTO source_record (id, source, source_key, kind, customer_id, import_run_id, file, line,"
        " first_seen, last_seen, attributes, raw, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', '{}', '{}')",
        records)
    conn.executemany("INSERT INTO identifier (record_id, kind, value) VALUES (?, ?, ?)", idents)
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (tracking.COUNTER_KEY, str(len(people))))
    conn.commit()
    conn.close()


def _generate(path: Path, n: int, seed: int) -> None:
    """In a child process, so that the memory the data took is not counted
    as the index's."""
    Store(f"sqlite:///{path}").close()
    write_customers(path, make_customers(n, seed))
    conn = sqlite3.connect(path)
    for table in ("search_name_vocab", "search_name", "search_contact", "search_state"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()


# -- the workload ------------------------------------------------------------------


def _typo(rng: Random, word: str) -> str:
    """One edit anywhere in the word: substitution, deletion, insertion or
    transposition of two neighbours."""
    at = rng.randrange(len(word))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    kind = rng.randrange(4)
    if kind == 0 and letter != word[at]:
        return word[:at] + letter + word[at + 1:]
    if kind == 1:
        return word[:at] + word[at + 1:]
    if kind == 2:
        return word[:at] + letter + word[at:]
    at = min(at, len(word) - 2)
    if word[at] == word[at + 1]:
        return _typo(rng, word)
    return word[:at] + word[at + 1] + word[at] + word[at + 2:]


def _as_typed(rng: Random, text: str) -> str:
    """People type names in lower case and often without accents."""
    if rng.random() < 0.5:
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.lower() if rng.random() < 0.7 else text


def make_queries(conn: sqlite3.Connection, per_kind: int, seed: int) -> list[tuple[str, str, int]]:
    """(kind, final query, intended customer id)."""
    rng = Random(seed)
    (count,) = conn.execute("SELECT max(id) FROM customer").fetchone()
    queries = []
    for kind in KINDS:
        made = 0
        while made < per_kind:
            cid = rng.randint(1, count)
            first, last, email, phone = conn.execute(
                "SELECT first_name, last_name, email_address, mobile_phone_no FROM customer WHERE id = ?",
                (cid,)).fetchone()
            if kind == "full name":
                query = _as_typed(rng, f"{first} {last}")
            elif kind == "name typo":
                typed = _as_typed(rng, f"{first} {last}").lower()
                words = [w for w in typed.split() if len(w) >= 4]
                if not words:
                    continue
                word = rng.choice(words)
                query = typed.replace(word, _typo(rng, word), 1)
            elif kind == "last name":
                query = _as_typed(rng, last)
            elif kind == "full email":
                query = email
            elif kind == "email fragment":
                size = rng.randint(5, 10)
                start = rng.randint(0, len(email) - size)
                query = email[start:start + size]
            else:
                if not phone:
                    continue
                national = "0" + phone[3:]
                if rng.random() < 0.5:  # the start of the number, as written
                    written = rng.choice((f"{national[:5]} {national[5:]}", national, f"+44 {phone[3:7]} {phone[7:]}"))
                    query = written[:rng.randint(7, len(written))]
                else:  # digits from anywhere in it
                    size = rng.randint(5, 8)
                    start = rng.randint(0, len(national) - size)
                    query = national[start:start + size]
            queries.append((kind, query, cid))
            made += 1
    return queries


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _Judge:
    """Is a final query answered?  The intended customer in the top 10; or,
    when more than 10 customers match the query as well as the intended
    one does (400 John Smiths), ten such customers: no ranking could do
    better.  The second case is counted apart."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.names: dict[str, int] = {}
        self.words: dict[str, int] = {}
        self.emails: list[str] = []
        self.phones: list[str] = []

    def _load(self) -> None:
        if self.emails:
            return
        from collections import Counter
        names: Counter[str] = Counter()
        words: Counter[str] = Counter()
        for first, last, email, phone in self.conn.execute(
                "SELECT first_name_key, last_name_key, email_key, mobile_phone_no FROM customer"):
            names[_name(first, last)] += 1
            words.update(set(_name(first, last).split()))
            self.emails.append(email or "")
            self.phones.append(_written(phone))
        self.names, self.words = names, words

    def verdict(self, kind: str, query: str, cid: int, hits) -> str:
        top = hits[:TOP]
        tid = self.conn.execute("SELECT tracking_id FROM customer WHERE id = ?", (cid,)).fetchone()[0]
        if any(h.tracking_id == tid for h in top):
            return "found"
        self._load()
        first, last = self.conn.execute(
            "SELECT first_name_key, last_name_key FROM customer WHERE id = ?", (cid,)).fetchone()
        folded = fold(query) or ""
        if kind in ("full name", "name typo"):
            keys = {_name(first, last), _name(*folded.split(" ", 1))}
            many = sum(self.names.get(k, 0) for k in keys) > TOP
            alike = all(any(set(k.split()) <= set(_name(fold(h.first_name), fold(h.last_name)).split())
                            for k in keys) for h in top)
        elif kind == "last name":
            many = self.words.get(folded, 0) > TOP
            alike = all(folded in _name(fold(h.first_name), fold(h.last_name)).split() for h in top)
        elif kind == "email fragment":  # one that starts a name word ('olive') also finds by name
            named = sum(n for word, n in self.words.items() if word.startswith(folded))
            many = sum(1 for e in self.emails if folded in e) + named > TOP
            alike = all(folded in (fold(h.email_address) or "") or any(
                w.startswith(folded) for w in _name(fold(h.first_name), fold(h.last_name)).split()) for h in top)
        elif kind == "phone fragment":
            digits = "".join(ch for ch in folded if ch.isdigit())
            digits = digits[2:] if digits.startswith("00") else digits
            many = sum(1 for p in self.phones if digits in p) > TOP
            alike = all(digits in _written(h.mobile_phone_no) for h in top)
        else:
            many = alike = False
        return "ambiguous" if many and alike and len(top) == TOP else "missed"


def _written(phone: str | None) -> str:
    """A UK number's digits as written nationally and internationally."""
    return f"0{phone[3:]} {phone[1:]}" if phone else ""


def _name(first: str | None, last: str | None) -> str:
    return " ".join(sorted(re.findall(r"[^\W_]+", f"{first or ''} {last or ''}")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="final queries of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="keep the generated store here, and reuse it if it exists")
    parser.add_argument("--show-missed", action="store_true", help="print every query whose customer was missed")
    parser.add_argument("--show-slow", type=int, default=0, metavar="N", help="print the N slowest keystrokes")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "search.db"
        if not path.exists():
            import multiprocessing
            t0 = time.perf_counter()
            child = multiprocessing.get_context("fork").Process(target=_generate, args=(path, args.customers, args.seed))
            child.start()
            child.join()
            print(f"generated {args.customers:,} customers in {time.perf_counter() - t0:.1f} s")
        return _measure(path, args)


def _measure(path: Path, args) -> int:
    raw = sqlite3.connect(path)
    for table in ("search_name_vocab", "search_name", "search_contact", "search_state"):
        raw.execute(f"DROP TABLE IF EXISTS {table}")
    raw.commit()
    queries = make_queries(raw, args.queries, args.seed)
    gc.collect()
    before = _rss_mb()
    t0 = time.perf_counter()
    store = Store(f"sqlite:///{path}")  # finds no index: ensure_search_index builds it
    build = time.perf_counter() - t0
    built = _rss_mb()
    peak = _peak_mb()
    (customers,) = raw.execute("SELECT count(*) FROM customer").fetchone()
    (words,) = raw.execute("SELECT count(*) FROM search_name_vocab").fetchone()
    try:
        (size,) = raw.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%'").fetchone()
    except sqlite3.Error:
        size = float("nan")
    print(f"index build: {customers:,} customers, {words:,} name words, {build:.1f} s, "
          f"{size / 1e6:,.0f} MB on disk")
    t0 = time.perf_counter()
    search_customers(store, "", 20)  # as the app starts: recent customers
    print(f"first search (recent customers; loads the vocabulary): {(time.perf_counter() - t0) * 1000:.0f} ms")

    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    slow: list[tuple[float, str, str]] = []
    verdicts: dict[str, list[str]] = {kind: [] for kind in KINDS}
    judge = _Judge(raw)
    finals = []
    for kind, query, cid in queries:
        hits = []
        for end in range(1, len(query) + 1):
            t = time.perf_counter()
            hits = search_customers(store, query[:end], 20)
            times[kind].append(time.perf_counter() - t)
            slow.append((times[kind][-1], kind, query[:end]))
        finals.append((kind, query, cid, hits))
    after = _rss_mb()
    with store.write() as conn:  # one customer changed, as by a merge
        search_index.refresh(conn, [queries[0][2]])
    t0 = time.perf_counter()
    search_customers(store, queries[0][1], 20)
    reload = (time.perf_counter() - t0) * 1000
    store.close()  # the pooled connections and their page caches
    gc.collect()
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    closed = _rss_mb()
    for seconds, kind, typed in sorted(slow, reverse=True)[:args.show_slow]:
        print(f"  slow {seconds * 1000:6.2f} ms {kind}: {typed!r}")
    for kind, query, cid, hits in finals:
        verdict = judge.verdict(kind, query, cid, hits)
        verdicts[kind].append(verdict)
        if verdict == "missed" and args.show_missed:
            print(f"  missed {kind}: {query!r} (customer {cid})")

    print(f"{'':16s} {'queries':>8s} {'keys':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'max ms':>7s}"
          f" {'top 10':>7s} {'found':>6s} {'ambig.':>6s} {'missed':>6s}")

    def line(label: str, kinds: tuple[str, ...]) -> None:
        ts = [t * 1000 for k in kinds for t in times[k]]
        vs = [v for k in kinds for v in verdicts[k]]
        answered = sum(v != "missed" for v in vs) / len(vs)
        print(f"{label:16s} {len(vs):8d} {len(ts):7d} {_percentile(ts, 50):7.2f} {_percentile(ts, 99):7.2f}"
              f" {max(ts):7.2f} {answered:7.1%} {vs.count('found'):6d} {vs.count('ambiguous'):6d}"
              f" {vs.count('missed'):6d}")

    for kind in KINDS:
        line(kind, (kind,))
    line("all", KINDS)
    print(f"first search after a change (loads the vocabulary again): {reload:.0f} ms")
    print(f"memory (RSS): {before:.0f} MB before the index, {built:.0f} MB after building it (peak "
          f"{peak:.0f} MB), {after:.0f} MB after the queries: the index adds {after - before:.0f} MB, of which "
          f"{after - closed:.0f} MB are SQLite page caches (freed on closing the store: {closed:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
