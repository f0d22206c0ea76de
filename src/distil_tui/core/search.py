"""Customer search: one query box for names, emails, phone numbers, Tracking
IDs and source customer ids, fast enough to answer every keystroke at a
million customers (``benchmarks/search.py`` measures it).

Each kind of key has the cheapest structure that answers it:

- a whole identifier (Tracking ID, current or retired; email; phone; source
  customer id, with or without its ``source:``; anonymous id): B-tree
  look-ups;
- an email prefix: a B-tree range on ``customer.email_key``;
- a fragment of an email or of a phone number's digits: the trigram index;
- names: the FTS5 word index (``search_index``), in tiers from exact to
  more and more typos, each query limited in rowid order and re-ranked
  here: FTS5 sorting by its own rank would take 10-150 ms.  On PostgreSQL
  the same queries (:class:`_Match`) run over a table of name words, in the
  same order, so that both find the same customers.

Typos are matched per word against the vocabulary of name words, not per
customer: one edit from 4 letters, two from 9, a transposition counting as
one (OSA distance); the word being typed matches as a fuzzy prefix.  The
matching words then make FTS5 queries, one per number of typos.

Ranking: exact matches, then prefixes, then fragments and typos (fewer
typos first), then more common names, customers with more records, and
finally name and id, so that ties always break the same way.  A tier is
only queried while the ones above it have not filled the page: nothing it
found could be shown.

The hot path talks to the database driver directly: at well under a
millisecond per statement, SQLAlchemy's own overhead would be most of the
time.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate, product

from phonenumbers import country_code_for_region
from rapidfuzz import process
from rapidfuzz.distance import OSA

from distil_tui.core import normalize as norm
from distil_tui.core import search_index
from distil_tui.core.models import CustomerHit
from distil_tui.core.search_index import WORDS as _WORDS
from distil_tui.core.search_index import phone_digits, trunk_prefix
from distil_tui.core.store import Store
from distil_tui.settings import default_region

EXACT, PREFIX, NEAR = 0, 1, 2  # tiers, ranked in this order
_HIGH = "\uffff"
_PHONE_LIKE = re.compile(r"[\d\s+().\-/]+")
_FETCH = 100  # rows one FTS5 or range query fetches, to be re-ranked
_TERMS_PER_WORD = 60  # FTS5 terms for one typed word and number of typos
_WORDS_PER_PREFIX = 100  # a prefix of more words stays a prefix query
_PHRASE = 12  # characters of a fragment given to the trigram index
_OTHER = 99  # ranks an email or phone match after the name matches of its tier

_COLUMNS = ("id, tracking_id, first_name, last_name, email_address, mobile_phone_no, town, record_count, "
            "first_name_key, last_name_key, email_key")


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    tracking_id: str
    first_name: str | None
    last_name: str | None
    email_address: str | None
    mobile_phone_no: str | None
    town: str | None
    record_count: int
    first_name_key: str | None
    last_name_key: str | None
    email_key: str | None


def search_customers(store: Store, query: str, limit: int = 20) -> list[CustomerHit]:
    """Customers matching ``query``, best first; with an empty query, the
    customers seen most recently."""
    with store.read() as conn:
        db = (_Postgres if store.is_postgres else _Sqlite)(conn.connection.driver_connection)
        return _Search(db, _cached(store, db), limit).run(query)


# A name query: customers holding, for every group of one conjunction, one of
# its terms, for any of the conjunctions, and not matching ``but_not``.  A
# term is a word, or the start of one (``prefix``).
_Term = tuple[str, bool]  # (word, prefix)
_Group = tuple[_Term, ...]  # any of these terms
_Conjunction = tuple[_Group, ...]  # all of these groups


@dataclass(frozen=True)
class _Match:
    any_of: tuple[_Conjunction, ...]
    but_not: _Conjunction = ()


def _words(words: Iterable[str]) -> _Conjunction:
    return tuple(((w, False),) for w in words)


class _Sqlite:
    """Search statements on SQLite: the FTS5 tables."""

    def __init__(self, db) -> None:
        self.db = db

    def execute(self, sql: str, params=()):
        return self.db.execute(sql, params)

    def match(self, match: _Match, limit: int) -> list[int]:
        def term(t: _Term) -> str:
            return _quote(t[0]) + ("*" if t[1] else "")

        def conjunction(c: _Conjunction) -> str:
            return " AND ".join(term(g[0]) if len(g) == 1 else f"({' OR '.join(map(term, g))})" for g in c)

        text = " OR ".join(f"({conjunction(c)})" for c in match.any_of)
        if match.but_not:
            text = f"({text}) NOT ({conjunction(match.but_not)})"
        return [r[0] for r in self.db.execute("SELECT rowid FROM search_name WHERE search_name MATCH ? LIMIT ?",
                                              (text, limit))]

    def like(self, column: str, pattern: str, limit: int) -> list[int]:
        return [r[0] for r in self.db.execute(f"SELECT rowid FROM search_contact WHERE {column} LIKE ? LIMIT ?",
                                              (pattern, limit))]

    def vocabulary(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT term, doc FROM search_name_vocab"))


class _Postgres(_Sqlite):
    """Search statements on PostgreSQL: the word and contact tables of
    ``search_index``, the lowest customer ids first as in FTS5's rowid
    order.  A word is an equality, a prefix a LIKE range on the B-tree
    (words hold no '%' or '_'); groups intersect, conjunctions unite."""

    def execute(self, sql: str, params=()):
        return self.db.execute(sql.replace("?", "%s"), params)

    def match(self, match: _Match, limit: int) -> list[int]:
        params: list = []

        def group(g: _Group) -> str:
            words = [w for w, prefix in g if not prefix]
            starts = [w + "%" for w, prefix in g if prefix]
            tests = (["word = ANY(%s)"] if words else []) + ["word LIKE %s"] * len(starts)
            params.extend(([words] if words else []) + starts)
            return f"(SELECT customer_id FROM search_word WHERE {' OR '.join(tests)})"

        def conjunction(c: _Conjunction) -> str:
            return "(" + " INTERSECT ".join(map(group, c)) + ")"

        sql = "(" + " UNION ".join(map(conjunction, match.any_of)) + ")"
        if match.but_not:
            sql = f"({sql} EXCEPT {conjunction(match.but_not)})"
        params.append(limit)
        return [r[0] for r in self.db.execute(
            f"SELECT customer_id FROM {sql} AS m ORDER BY customer_id LIMIT %s", params)]

    def like(self, column: str, pattern: str, limit: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            f"SELECT customer_id FROM search_contact WHERE {column} LIKE %s ESCAPE '' ORDER BY customer_id LIMIT %s",
            (pattern, limit))]

    def vocabulary(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT word, count(*) FROM search_word GROUP BY word"))


def allowed_typos(word: str) -> int:
    """Edits a word may carry and still match: none below 4 letters, one
    from 4, two from 9."""
    return 0 if len(word) < 4 else 1 if len(word) < 9 else 2


class _Search:
    """One query: candidates from each kind of key, ranked together."""

    def __init__(self, db, cache: _Cache, limit: int) -> None:
        self.db = db
        self.vocab = cache.vocabulary
        self.sources = cache.sources
        self.limit = limit
        self.identified: dict[int, str] = {}  # found by a whole identifier: what it was
        self.found: tuple[set[int], ...] = (set(), set(), set())  # by the tier of the query
        self.near: list[dict[str, int]] | None = None  # each word's typo matches and their typos

    def run(self, query: str) -> list[CustomerHit]:
        folded = norm.fold(query) or ""
        if not folded:
            rows = self._rows(f"SELECT {_COLUMNS} FROM customer ORDER BY last_seen DESC, id DESC LIMIT ?",
                              (self.limit,))
            return [_hit(r, "recent") for r in rows]
        self.words = _WORDS.findall(folded)
        self.complete = not folded[-1].isalnum()  # a space after the last word
        self.compact = folded.replace(" ", "")
        self.phone_start, self.phone_part = _typed_phone(folded)
        self.phone_like = sum(c.isdigit() for c in folded) >= 3 and bool(_PHONE_LIKE.fullmatch(folded))
        self.email_like = "@" in folded or (" " not in folded and not self.phone_like)
        # '@', or a dot without spaces ('zoe.mil'), can only be an email.
        only_email = "@" in folded or (self.email_like and "." in folded)
        self.name_like = bool(self.words) and not self.phone_like and not only_email
        *done, last = self.words or [""]

        # In tier order: a query runs only while the tiers above it have not
        # filled the page, as nothing it found could be shown.
        self._identifiers(query.strip())
        exact = _words(self.words)
        # A word the vocabulary lacks matches nothing: FTS5 need not be asked
        # (it would still read the other words' lists).
        known = all(w in self.vocab.counts for w in done)
        if self.name_like and known and last in self.vocab.counts:
            self._query(EXACT, _Match((exact,)))
        if self.email_like and not self._full(PREFIX):
            self._found(PREFIX, self._ids(
                "SELECT id FROM customer WHERE email_key >= ? AND email_key < ? ORDER BY email_key LIMIT ?",
                (self.compact, self.compact + _HIGH, self.limit)))
        above = exact  # what the name queries so far asked for
        if self.name_like and not self.complete:
            starts = self.vocab.prefix_terms(last)
            above = (*_words(done), tuple(starts or [(last, False)]))
            if known and starts:
                self._query(PREFIX, _Match((above,), exact))
        # The trigram index needs three characters.
        if self.phone_like and len(self.phone_start) >= 3:
            self._like(PREFIX, "phone", f"%^{self.phone_start}%")
        if self.phone_like and len(self.phone_part) >= 3:
            self._like(NEAR, "phone", f"%{self.phone_part}%")
        # A fragment of an email, unless an address is being typed from its start.
        if self.email_like and len(self.compact) >= 3 and not (self.found[PREFIX] and "@" in folded):
            self._like(NEAR, "email", f"%{_phrase(self.compact)}%")
        if self.name_like and any(map(allowed_typos, self.words)):
            self._typos(above)
        return self._ranked()

    def _full(self, tier: int) -> bool:
        """Do the queries of the tiers above ``tier`` fill the page?"""
        return len(set().union(*self.found[:tier])) >= self.limit

    def _found(self, tier: int, ids: Iterable[int]) -> None:
        self.found[tier].update(ids)

    def _query(self, tier: int, match: _Match) -> None:
        if not self._full(tier):
            self._found(tier, self.db.match(match, _FETCH))

    def _like(self, tier: int, column: str, pattern: str) -> None:
        """Contact values matching a LIKE pattern, which the trigram index
        answers.  A '_' or '%' typed in an email only widens the match, and
        the rows are checked for the text itself."""
        if not self._full(tier):
            self._found(tier, self.db.like(column, pattern, _FETCH))

    def _typos(self, above: _Conjunction) -> None:
        """Names with typos: FTS5 queries for each number of typos, fewest
        first, while the page is not full.  Each asks for every way of
        spreading that many typos over the words; the word being typed
        matched as a whole word first, then as the start of a longer one
        (the ranking's order: the first query's rows are not crowded out
        of its limit by the second's)."""
        words = self.words
        last = len(words) - 1
        typing = not self.complete
        self.near = [self.vocab.near_words(w) for w in words[:last]]
        self.near.append(self.vocab.near_prefixes(words[last]) if typing else self.vocab.near_words(words[last]))
        for typos in range(1, sum(map(allowed_typos, words)) + 1):
            for longer in (False, True) if typing else (False,):
                if len(set().union(*self.found)) >= self.limit:
                    return
                clauses = []
                for split in product(*(range(allowed_typos(w) + 1) for w in words)):
                    if sum(split) != typos:
                        continue
                    groups = []
                    for i, d in enumerate(split):
                        options = [t for t, dt in self.near[i].items() if dt == d]
                        terms = self.vocab.fts_terms(options, longer if i == last else False)
                        if not terms:
                            break
                        groups.append(tuple(terms))
                    else:
                        clauses.append(tuple(groups))
                if clauses:
                    self._query(NEAR, _Match(tuple(clauses), above))

    # -- identifiers -------------------------------------------------------

    def _identifiers(self, text: str) -> None:
        """Whole identifiers, in one statement of B-tree look-ups."""
        if len(text) < 3:
            return
        upper = text.upper()
        parts = ["SELECT id, 'tracking_id' FROM customer WHERE tracking_id = ?",
                 "SELECT customer_id, 'tracking_id' FROM retired_tracking_id WHERE tracking_id = ?"]
        params: list[str] = [upper, upper]
        idents = [("anonymous_user_id", text)]
        email = norm.email_identifier(text) if "@" in text else None
        if email:
            idents.append(("email_address", email))
        phone = norm.phone_identifier(text, default_region()) if self.phone_like else None
        if phone:
            idents.append(("mobile_phone_no", phone))
        if ":" in text:
            idents.append(("customer_id", text))
        else:  # a source's customer id typed without its source
            idents += [("customer_id", f"{source}:{text}") for source in self.sources]
        for kind, value in idents:
            parts.append("SELECT r.customer_id, i.kind FROM identifier i JOIN source_record r ON r.id = i.record_id "
                         "WHERE i.kind = ? AND i.value = ?")
            params += [kind, value]
        if "@" in text:  # a blocked email is no identifier, but the customer shows it
            parts.append("SELECT id, 'email_address' FROM customer WHERE email_key = ?")
            params.append(norm.fold(text))
        for cid, kind in self.db.execute(" UNION ALL ".join(parts), params):
            self.identified.setdefault(cid, kind)
            self.found[EXACT].add(cid)

    # -- ranking -----------------------------------------------------------

    def _ranked(self) -> list[CustomerHit]:
        ids = sorted(set().union(*self.found))
        if not ids:
            return []
        rows: list[_Row] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows += self._rows(f"SELECT {_COLUMNS} FROM customer WHERE id IN ({', '.join('?' * len(chunk))})",
                               chunk)
        ranked = []
        for row in rows:
            best = self._rank(row)
            if best is not None:
                rank, matched_on = best
                ranked.append(((*rank, -row.record_count, row.last_name_key or "", row.first_name_key or "",
                                row.id), row, matched_on))
        ranked.sort(key=lambda item: item[0])
        return [_hit(row, matched_on) for _key, row, matched_on in ranked[: self.limit]]

    def _rank(self, row: _Row) -> tuple[tuple, str] | None:
        """The best rank of a customer over the kinds of key the query may
        be, and which kind that is.  A rank is (tier, typos, 1 if the word
        being typed matched only the start of a longer word, name words the
        query left unmatched, -popularity).  Within a tier a name match
        comes before an email or phone one: 'oliv' is more likely Oliver
        than oliv.ramsay@."""
        options = []
        if row.id in self.identified:
            options.append(((EXACT, 0, 0, 0, 0.0), self.identified[row.id]))
        if self.email_like and row.email_key and self.compact in row.email_key:
            tier = EXACT if row.email_key == self.compact else PREFIX if row.email_key.startswith(
                self.compact) else NEAR
            options.append(((tier, 0, 1, _OTHER, 0.0), "email_address"))
        if self.phone_like and row.mobile_phone_no:
            number = phone_digits(row.mobile_phone_no) or ""
            if self.phone_start and number.startswith(self.phone_start):
                options.append(((PREFIX, 0, 1, _OTHER, 0.0), "mobile_phone_no"))
            elif self.phone_part and self.phone_part in number:
                options.append(((NEAR, 0, 1, _OTHER, 0.0), "mobile_phone_no"))
        if self.name_like:
            rank = self._name_rank(_WORDS.findall(f"{row.first_name_key or ''} {row.last_name_key or ''}"))
            if rank is not None:
                options.append((rank, "name"))
        return min(options) if options else None

    def _name_rank(self, row_words: list[str]) -> tuple | None:
        """The rank of a customer's name words for the query's words, or
        ``None`` if a query word matches none of them.  Popularity sums the
        log frequencies of the name words matched: of two equally good
        matches, the more common name comes first."""
        tier = typos = partial = 0
        popularity = 0.0
        used = set()
        last = len(self.words) - 1
        count = self.vocab.count
        near = self.near
        for i, word in enumerate(self.words):
            typing = i == last and not self.complete
            best = None  # (typos, tier, partial, -count, row word)
            for rw in row_words:
                if rw == word:
                    option = (0, EXACT, 0, -count(rw), rw)
                elif typing and rw.startswith(word):
                    option = (0, PREFIX, 1, -count(rw), rw)
                elif near is None:
                    continue
                elif typing:
                    found = _prefix_distance(rw, near[i], len(word))
                    if found is None:
                        continue
                    option = (found[0], NEAR, found[1], -count(rw), rw)
                elif rw in near[i]:
                    option = (near[i][rw], NEAR, 0, -count(rw), rw)
                else:
                    continue
                if best is None or option < best:
                    best = option
            if best is None:
                return None
            typos += best[0]
            tier = max(tier, best[1])
            partial = max(partial, best[2])
            popularity += math.log1p(-best[3])
            used.add(best[4])
        return (tier, typos, partial, len(set(row_words) - used), -popularity)

    # -- statements --------------------------------------------------------

    def _ids(self, sql: str, params) -> list[int]:
        return [r[0] for r in self.db.execute(sql, params)]

    def _rows(self, sql: str, params) -> list[_Row]:
        return [_Row(*r) for r in self.db.execute(sql, params)]


def _prefix_distance(row_word: str, prefixes: dict[str, int], typed: int) -> tuple[int, int] | None:
    """(typos, 1 if only a shorter start matched) between the word being
    typed and the start of ``row_word``; the whole word is preferred."""
    k = allowed_typos("x" * typed)
    found = [(prefixes[row_word[:n]], int(n < len(row_word)))
             for n in range(max(1, typed - k), min(typed + k, len(row_word)) + 1) if row_word[:n] in prefixes]
    return min(found) if found else None


def _typed_phone(text: str) -> tuple[str, str]:
    """(The digits a number starts with, digits anywhere in it) for a typed
    phone number or fragment, in the index's terms: the national significant
    number of a valid number, the digits as written of any other.  A country
    code ('+44', '0044') or the default region's trunk prefix ('0') is taken
    off the front: '+44 7911' and '07911' both start '7911'.  '07911' may
    also be digits from the middle of a number, or the start of a number
    stored as written, and so may '+44 7911' written nationally."""
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or (digits.startswith("00") and len(digits) >= 6):
        digits = digits if text.startswith("+") else digits[2:]
        for size in (1, 2, 3):  # country codes are prefix-free
            trunk = trunk_prefix(digits[:size])
            if trunk is not None:
                return digits[size:], trunk + digits[size:] if trunk else ""
        return digits, ""
    trunk = trunk_prefix(str(country_code_for_region(default_region())))
    return (digits[len(trunk):] if trunk and digits.startswith(trunk) else ""), digits


def _phrase(fragment: str) -> str:
    """The part of an email fragment given to the trigram index; the rows
    are checked for the whole of it.  A long phrase of common trigrams
    ('gmail.com') costs FTS5 up to 20 ms, so it stops two characters
    after the '@' and at 12 characters."""
    at = fragment.find("@")
    if at >= 3:
        fragment = fragment[:at + 3]
    return fragment[:_PHRASE]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _hit(row: _Row, matched_on: str) -> CustomerHit:
    return CustomerHit(
        tracking_id=row.tracking_id,
        first_name=row.first_name,
        last_name=row.last_name,
        email_address=row.email_address,
        mobile_phone_no=row.mobile_phone_no,
        town=row.town,
        record_count=row.record_count,
        matched_on=matched_on,
    )


# -- what a store's searches share ----------------------------------------------


class _Vocabulary:
    """The index's name words and how many customers hold each, in memory,
    with the words and their beginnings bucketed by length and by first and
    by last letter: a typo search compares a typed word only with candidates
    of a possible length that share its first or its last letter.  One edit
    cannot change both in a word of three letters or more, so with one edit
    nothing is missed; with two, only words mistyped at both ends."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.memo: dict[tuple[str, str], dict[str, int]] = {}
        self.sorted = sorted(counts)
        self.customers = [0, *accumulate(counts[w] for w in self.sorted)]  # running sums, for prefixes
        by_length: dict[int, list[str]] = defaultdict(list)
        for word in counts:
            by_length[len(word)].append(word)
        self.words = _Buckets(lambda n: by_length.get(n, ()))
        self.prefixes = _Buckets(lambda n: {w[:n] for w in counts if len(w) >= n})

    def count(self, word: str) -> int:
        return self.counts.get(word, 0)

    def near_words(self, word: str) -> dict[str, int]:
        """Words within the allowed typos, with their distance."""
        return self._remember(("word", word), lambda: self.words.near(word, allowed_typos(word)), self.count)

    def near_prefixes(self, typed: str) -> dict[str, int]:
        """Beginnings of words within the allowed typos of the typed part,
        with their distance."""
        return self._remember(("prefix", typed), lambda: self.prefixes.near(typed, allowed_typos(typed)),
                              self._words_starting)

    def _remember(self, key: tuple[str, str], find, weight) -> dict[str, int]:
        """Typing repeats the words before the one being typed at every
        keystroke: their matches are remembered."""
        if key not in self.memo:
            if len(self.memo) > 10_000:
                self.memo.clear()
            found = find()
            found[key[1]] = 0
            self.memo[key] = self._best(found, weight)
        return self.memo[key]

    def prefix_terms(self, prefix: str) -> list[_Term]:
        """FTS5 terms for the words starting with ``prefix``.  FTS5 reads a
        prefix of one to four letters from its own prefix index, but merges
        the lists of every word for a longer one (2 ms for 'smith*' at 1M
        customers), so a longer prefix becomes its words (0.1 ms)."""
        start, end = self._range(prefix)
        if start == end:
            return []
        if len(prefix) <= search_index.PREFIX_INDEX or end - start > _WORDS_PER_PREFIX:
            return [(prefix, True)]
        return [(w, False) for w in self.sorted[start:end]]

    def fts_terms(self, options: list[str], longer: bool) -> list[_Term]:
        """FTS5 terms for typo matches of a word (all at one distance): the
        words among them, or (``longer``) the words that the matched
        beginnings start; most common first, at most _TERMS_PER_WORD."""
        if longer:
            terms = {t for p in options for t in self.prefix_terms(p)} - {(w, False) for w in options}
        else:
            terms = {(w, False) for w in options if w in self.counts}
        return sorted(terms, key=lambda t: (0 if t[1] else -self.count(t[0]), _quote(t[0]) + "*" * t[1])
                      )[:_TERMS_PER_WORD]

    def _best(self, found: dict[str, int], weight) -> dict[str, int]:
        """The closest and most common options, at most _TERMS_PER_WORD."""
        if len(found) <= _TERMS_PER_WORD:
            return found
        ranked = sorted(found, key=lambda t: (found[t], -weight(t), t))
        return {t: found[t] for t in ranked[:_TERMS_PER_WORD]}

    def _range(self, prefix: str) -> tuple[int, int]:
        return bisect_left(self.sorted, prefix), bisect_left(self.sorted, prefix + _HIGH)

    def _words_starting(self, prefix: str) -> int:
        """Customers holding a word that starts with ``prefix``."""
        start, end = self._range(prefix)
        return self.customers[end] - self.customers[start]


class _Buckets:
    """Strings of each length by first and by last letter.  A length is
    bucketed the first time a search needs it, so that loading the
    vocabulary again after a change costs the next keystroke little."""

    def __init__(self, strings_of_length: Callable[[int], Iterable[str]]) -> None:
        self.strings_of_length = strings_of_length
        self.lengths: dict[int, tuple[dict[str, list[str]], dict[str, list[str]]]] = {}

    def near(self, word: str, k: int) -> dict[str, int]:
        found: dict[str, int] = {}
        if k == 0:
            return found
        for n in range(max(1, len(word) - k), len(word) + k + 1):
            first, last = self._of_length(n)
            for group in (first.get(word[0]), last.get(word[-1])):
                if group:
                    for s, d, _i in process.extract(word, group, scorer=OSA.distance, score_cutoff=k, limit=None):
                        found[s] = d
        return found

    def _of_length(self, n: int):
        if n not in self.lengths:
            first: dict[str, list[str]] = defaultdict(list)
            last: dict[str, list[str]] = defaultdict(list)
            for s in self.strings_of_length(n):
                first[s[0]].append(s)
                last[s[-1]].append(s)
            self.lengths[n] = (first, last)
        return self.lengths[n]


@dataclass(frozen=True)
class _Cache:
    version: int
    vocabulary: _Vocabulary
    sources: tuple[str, ...]  # the sources whose customer ids are stored


_caches: weakref.WeakKeyDictionary[Store, _Cache] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cached(store: Store, db) -> _Cache:
    """What the store's searches share, loaded again whenever the index
    changed (every change bumps ``search_state.version``)."""
    (version,) = db.execute("SELECT version FROM search_state WHERE id = 1").fetchone()
    with _lock:
        cache = _caches.get(store)
        if cache is None or cache.version != version:
            vocabulary = _Vocabulary(db.vocabulary())
            cache = _Cache(version, vocabulary, tuple(_customer_id_sources(db)))
            _caches[store] = cache
        return cache


def _customer_id_sources(db) -> list[str]:
    """Skip through the (kind, value) index one source at a time."""
    sources: list[str] = []
    after = ""
    while len(sources) < 100:
        row = db.execute("SELECT min(value) FROM identifier WHERE kind = 'customer_id' AND value > ?",
                         (after,)).fetchone()
        if row[0] is None or ":" not in row[0]:
            break
        sources.append(row[0].split(":", 1)[0])
        after = sources[-1] + ":" + _HIGH
    return sources
