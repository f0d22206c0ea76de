"""Import one file and resolve its records into customers, in one transaction.

The flow: read the file (rows become parsed records, events, rejections) ->
load what the store already knows about these records and their identifiers
-> link with the deterministic resolver -> write records, identifiers,
events, customers, merges and merge candidates -> recompute the attributes of
every customer that changed.  A failure or a cancel anywhere rolls the whole
import back, so the store is as it was.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, bindparam, func, select

from distil_tui.core import search_index, tracking
from distil_tui.core.bulk import paused_gc
from distil_tui.core.forget import forgotten_identifiers
from distil_tui.core.full import resolve_neighbourhood
from distil_tui.core.ingest.apart import APART_MIN_BYTES, BatchesApart
from distil_tui.core.ingest.batches import BATCH_RECORDS, Batch, earliest, latest, read_batches
from distil_tui.core.ingest.events import ParsedEvent
from distil_tui.core.ingest.mapping import ParsedRecord
from distil_tui.core.ingest.readers import ImportRefused, detect_format, read_head, read_text
from distil_tui.core.merges import Merge, customer_row, merge_many, pending_pairs, write_customer_attributes
from distil_tui.core.models import IMPORT_STAGES, ImportProgress, ImportSummary, Rejection
from distil_tui.core.resolve import probabilistic
from distil_tui.core.resolve.comparison import (
    FIELDS_PREFIX,
    MatchFields,
    blocking_keys,
    comparisons,
    decode_fields,
    encode_fields,
    match_fields,
)
from distil_tui.core.resolve.linker import Linker, NodeFacts, identified_at
from distil_tui.core.resolve.model import FSModel
from distil_tui.core.resolve.probabilistic import Candidate, levels_from_evidence
from distil_tui.core.resolve.settings import ResolutionSettings
from distil_tui.core.resolve.survivorship import RecordFacts, name_keys
from distil_tui.core.schema import (
    T_BLOCK,
    T_CANDIDATE,
    T_CUSTOMER,
    T_EVENT,
    T_IDENT,
    T_MERGE,
    T_RECORD,
    T_RUN,
)
from distil_tui.core.store import Store, bulk_insert, json_text, json_value, rows_in
from distil_tui.settings import default_region

FORMATS = ("auto", "csv", "jsonl", "events")
CHUNK = 500  # values per IN (...) list: well under every backend's limit
MAX_REJECTIONS_KEPT = 50


ProgressCallback = Callable[[ImportProgress], None]


# PostgreSQL: below this many records, a plan from stale statistics costs
# little; see _Apply._keep_statistics.
ANALYSE_FROM = 5000


class ImportCancelled(Exception):
    """The import was cancelled; nothing was written."""


@dataclass
class _Existing:
    id: int
    customer_id: int
    kind: str
    values: dict[str, str]
    first_seen: str | None
    last_seen: str | None
    identifiers: set[tuple[str, str]] = field(default_factory=set)

    def facts(self) -> RecordFacts:
        return RecordFacts(self.id, self.kind, self.first_seen, self.last_seen, self.values)


def import_file(
    store: Store,
    path: str | Path,
    *,
    source: str,
    fmt: str = "auto",
    id_column: str | None = None,
    customer_id_source: str | None = None,
    region: str | None = None,
    resolution: ResolutionSettings | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    batch_size: int = BATCH_RECORDS,
) -> ImportSummary:
    """Import ``path`` as records of ``source``.

    The file is read and resolved ``batch_size`` records at a time, each
    batch against the store as the batches before it left it, all in one
    transaction: memory stays bounded whatever the file's size, and the
    import is still all or nothing.

    Raises :class:`ImportRefused` when the file cannot be used at all and
    :class:`ImportCancelled` when ``cancel`` is set before the import ends;
    in both cases the store is unchanged.
    """
    started = time.perf_counter()
    path = Path(path)
    source = source.strip()
    if not source:
        raise ImportRefused(f"{path}: a source name is needed (--source)")
    if fmt not in FORMATS:
        raise ImportRefused(f"{path}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    region = region or default_region()
    report = progress or (lambda _p: None)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(f"{path}: import cancelled; nothing was imported")

    # Millions of small objects that live until the import ends: see bulk.py.
    with paused_gc(), contextlib.ExitStack() as stack:
        apart = _events_apart(path, fmt, source, customer_id_source or source, region, batch_size)
        if apart is not None:
            stack.callback(apart.close)
            fmt, text = "events", None
            bar = _Bar(report, apart.total_lines)
            batches = _reported(apart, bar, check_cancel)
        else:
            text = read_text(path)
            if fmt == "auto":
                fmt = detect_format(path, text)
            bar = _Bar(report, text.count("\n") + 1)
            batches = read_batches(path, text, fmt, source=source, id_column=id_column,
                                   customer_id_source=customer_id_source or source, region=region,
                                   report=bar.reading, check_cancel=check_cancel, batch_size=batch_size)
        with store.write() as conn:
            applier = _Apply(store, conn, source, path, fmt, resolution or ResolutionSettings(),
                             region, bar.applying, check_cancel)
            for n, batch in enumerate(batches):
                if n == 0 and batch.rows_read == 0 and not batch.rejections:
                    raise ImportRefused(f"{path}: no records after the header")
                bar.batch_read(batch.last_line)
                applier.run(batch)
                del batch  # not alive beside the next one
            del text, batches
            summary = applier.finish()
        return ImportSummary(
            import_run_id=summary["import_run_id"],
            file=str(path),
            source=source,
            format=fmt,
            records_read=applier.rows_read,
            records_imported=applier.rows_read - len(applier.rejections),
            records_rejected=len(applier.rejections),
            customers_created=summary["customers_created"],
            merges_made=summary["merges_made"],
            candidates_created=summary["candidates_created"],
            events_imported=summary["events_imported"],
            seconds=time.perf_counter() - started,
            rejections=tuple(applier.rejections[:MAX_REJECTIONS_KEPT]),
        )


def _events_apart(path: Path, fmt: str, source: str, customer_id_source: str, region: str,
                  batch_size: int) -> BatchesApart | None:
    """A large tracking export's batches, read by a process of its own (see
    ingest.apart); None for any other file, read here."""
    if fmt not in ("auto", "events") or not path.is_file() or path.stat().st_size < APART_MIN_BYTES:
        return None
    head = read_head(path)
    if not head.strip() or (fmt == "auto" and detect_format(path, head) != "events"):
        return None
    try:
        return BatchesApart(path, source=source, customer_id_source=customer_id_source, region=region,
                            batch_size=batch_size)
    except (OSError, RuntimeError):
        return None  # no process could be started, or it failed before reading: read here


def _reported(batches: Iterable[Batch], bar: _Bar, check_cancel: Callable[[], None]) -> Iterator[Batch]:
    """Batches read elsewhere, reported as read when they arrive."""
    for batch in batches:
        check_cancel()
        bar.reading("reading", batch.last_line, bar.total)
        yield batch


class _Bar:
    """One progress bar for the whole import.  A batch's share of the bar is
    its share of the file's lines; within a batch, the stages take their
    shares of ``IMPORT_STAGES``."""

    SHARES = IMPORT_STAGES

    def __init__(self, report: ProgressCallback, total_lines: int) -> None:
        self.report = report
        self.total = max(total_lines, 1)
        self.first = 0  # the batch being applied starts after this line
        self.last = 0  # ... and ends at this one; the next one read starts after it

    def reading(self, stage: str, line: int, total_lines: int) -> None:
        part = (line - self.last) * self.SHARES["reading"][1]
        self.report(ImportProgress(stage, line, total_lines, fraction=min((self.last + part) / self.total, 1.0)))

    def batch_read(self, last_line: int) -> None:
        self.first, self.last = self.last, last_line

    def applying(self, progress: ImportProgress) -> None:
        start, share = self.SHARES.get(progress.stage, (0.0, 1.0))
        done = progress.done / progress.total if progress.total else 0.0
        within = start + share * min(done, 1.0)
        fraction = (self.first + within * (self.last - self.first)) / self.total
        self.report(ImportProgress(progress.stage, progress.done, progress.total, fraction=min(fraction, 1.0)))


def _link(union) -> str:
    """Why a new record joined its customer, for the record's ``link``."""
    return json_text(union.why()) if union is not None else "{}"


def _facts(record: ParsedRecord) -> RecordFacts:
    return RecordFacts(0, record.kind, record.first_seen, record.last_seen, record.values)


# -- applying ------------------------------------------------------------


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Apply:
    """One import's write phase, inside the caller's transaction."""

    def __init__(self, store, conn: Connection, source: str, path: Path, fmt: str,
                 resolution: ResolutionSettings, region: str, report, check_cancel) -> None:
        self.store = store
        self.conn = conn
        self.source = source
        self.path = path
        self.fmt = fmt
        self.resolution = resolution
        self.report = report
        self.check_cancel = check_cancel
        self.now = store.now()
        self.region = region
        self.fields: dict[int, MatchFields] = {}  # new record index -> what matching compares
        self.block_keys: dict[int, list[str]] = {}  # new record index -> keys
        self.model: FSModel | None = None  # the model the import scored with
        # Customers the protections kept apart in this batch: the
        # neighbourhoods to re-resolve from scratch.
        self.unsettled: set[int] = set()
        # ... of which those a record was ambiguous between: settled even
        # if they are customers of one record each (see _splittable).
        self.ambiguous: set[int] = set()
        self.run_id: int | None = None
        self.trained = False  # this import has trained the model
        self.analysed_at: float | None = None  # records when PostgreSQL last analysed the tables
        self.rows_read = 0
        self.rejections: list[Rejection] = []
        self.counts = {"customers_created": 0, "merges_made": 0, "candidates_created": 0,
                       "events_imported": 0}

    def run(self, batch: Batch) -> None:
        """Resolve and write one batch of the file."""
        conn = self.conn
        self.fields, self.block_keys = {}, {}
        self._keep_statistics()
        self._drop_forgotten(batch)
        self.rows_read += batch.rows_read
        self.rejections.extend(batch.rejections)
        if self.run_id is None:
            self.run_id = conn.execute(
                T_RUN.insert().values(source=self.source, file=str(self.path), format=self.fmt,
                                      started_at=self.now)
            ).inserted_primary_key[0]
        run_id = self.run_id
        for record in batch.records.values():
            if record.kind == "customer":
                record.first_seen = record.first_seen or self.now
                record.last_seen = record.last_seen or self.now

        self.report(ImportProgress("resolving", 0, len(batch.records)))
        existing = self._load_same_keys(list(batch.records))
        new: list[ParsedRecord] = []
        updated: list[tuple[_Existing, ParsedRecord, set[tuple[str, str]]]] = []
        for key, record in batch.records.items():
            old = existing.get(key)
            if old is None:
                new.append(record)
                continue
            added = set(record.identifiers) - old.identifiers
            if record.kind == "identify":
                record.values = {**old.values, **record.values}
            if record.kind == "customer":
                # A file row read again keeps when it was first seen; last
                # seen moves only when something in it changed.
                changed = bool(added) or record.values != old.values
                record.first_seen, record.last_seen = old.first_seen, self.now
            else:
                record.first_seen = earliest(old.first_seen, record.first_seen)
                record.last_seen = latest(old.last_seen, record.last_seen)
                changed = bool(added) or record.values != old.values or (
                    record.first_seen, record.last_seen) != (old.first_seen, old.last_seen)
            if changed:
                updated.append((old, record, added))
        self.check_cancel()

        # Identifiers that arrive now, and the existing customers holding them.
        incoming: dict[tuple[str, str], list] = defaultdict(list)
        for idx, record in enumerate(new):
            for ident in record.identifiers:
                incoming[ident].append(("r", idx))
        for old, _record, added in updated:
            for ident in added:
                incoming[ident].append(("c", old.customer_id))
        owners = self._owners(list(incoming))
        touched = {cid for holders in owners.values() for _rid, cid in holders}
        touched |= {old.customer_id for old, _r, _a in updated}
        customer_records = self._load_customer_records(touched)
        self.check_cancel()

        # Link.
        linker = Linker(self.resolution.protections)
        self._add_customer_nodes(linker, customer_records, sorted(customer_records))
        for old, record, added in updated:
            linker.extend(("c", old.customer_id), added, name_keys([_facts(record)]))
        for idx, record in enumerate(new):
            linker.add(("r", idx), NodeFacts(
                identifiers=set(record.identifiers), names=name_keys([_facts(record)]),
                identified_at=identified_at([(record.kind, record.first_seen, record.identifiers)]),
            ))
        groups: dict[tuple[str, str], list] = {}
        for ident, nodes in incoming.items():
            holders = sorted({("c", cid) for _rid, cid in owners.get(ident, ())})
            ordered = holders + [n for n in nodes if n not in holders]
            groups[ident] = list(dict.fromkeys(ordered))
        linker.link_groups(groups)
        self.check_cancel()
        self._match_probabilistically(linker, new, customer_records)
        self.check_cancel()

        self.report(ImportProgress("writing", 0, len(new)))
        counts = self._write(linker, new, updated, customer_records, owners, batch.events)
        self._write_block_keys(updated)
        unsettled = self._splittable(self.unsettled) | self.ambiguous
        self.unsettled, self.ambiguous = set(), set()
        if unsettled:
            merges, split = resolve_neighbourhood(
                self.store, conn, unsettled, settings=self.resolution, region=self.region,
                model=self.model or probabilistic.load_model(self.store, conn, self.resolution.extra_fields),
                now=self.now, import_run_id=run_id)
            counts["merges_made"] += merges
            counts["customers_created"] += split
        for name, value in counts.items():
            self.counts[name] += value
        self.report(ImportProgress("writing", len(new), len(new)))

    def finish(self) -> dict[str, int]:
        """Record the import run's figures; returns them."""
        conn = self.conn
        self.counts["candidates_created"] = conn.execute(
            select(func.count()).select_from(T_CANDIDATE).where(T_CANDIDATE.c.import_run_id == self.run_id)
        ).scalar_one()
        conn.execute(
            T_RUN.update().where(T_RUN.c.id == self.run_id).values(
                finished_at=self.store.now(),
                records_read=self.rows_read,
                records_imported=self.rows_read - len(self.rejections),
                records_rejected=len(self.rejections),
                rejections=json_text([r.__dict__ for r in self.rejections[:MAX_REJECTIONS_KEPT]]),
                **self.counts,
            )
        )
        return {"import_run_id": self.run_id, **self.counts}

    def _keep_statistics(self) -> None:
        """PostgreSQL plans each look-up from its statistics of the tables,
        which autovacuum cannot refresh while the import's transaction is
        open: a store that grows tenfold within one import is planned as if
        it were small, with sequential scans (measured: a CRM file's
        identifier look-ups at 100k records took 9.2 s, 0.27 s analysed).
        So the tables the look-ups read are analysed again whenever they
        have doubled since the planner last measured them."""
        if not self.store.is_postgres:
            return
        conn = self.conn
        if self.analysed_at is None:
            # Never analysed: -1 (PostgreSQL 14 on) or 0.
            self.analysed_at = max(conn.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = 'source_record'::regclass").scalar_one(), 0)
        records = self._next_id(T_RECORD) - 1
        if records > 2 * max(self.analysed_at, ANALYSE_FROM):
            conn.exec_driver_sql("ANALYZE identifier, source_record, block_key, customer")
            self.analysed_at = records

    def _drop_forgotten(self, batch: Batch) -> None:
        """Rows holding an identifier of a forgotten customer are not
        imported but reported, so that forgetting is not undone silently
        (the identifier's kind is named, never its value)."""
        forgotten = forgotten_identifiers(self.conn, {i for r in batch.records.values() for i in r.identifiers})
        if not forgotten:
            return
        reasons: dict[int, str] = {}  # line -> kind of the forgotten identifier
        for key, record in list(batch.records.items()):
            kinds = sorted({kind for kind, value in record.identifiers if (kind, value) in forgotten})
            if kinds:
                del batch.records[key]
                reasons.setdefault(record.line, kinds[0])
        visitors = {value for kind, value in forgotten if kind == "anonymous_user_id"}
        kept = []
        for ev in batch.events:
            if ev.anonymous_user_id in visitors:
                reasons.setdefault(ev.line, "anonymous_user_id")
            elif ev.line not in reasons:
                kept.append(ev)
        batch.events = kept
        batch.rejections.extend(
            Rejection(str(self.path), line, f"{kind} of a forgotten customer: not imported")
            for line, kind in reasons.items())
        batch.rejections.sort(key=lambda r: r.line)

    def _add_customer_nodes(self, linker: Linker, customer_records: dict[int, list[_Existing]],
                            customer_ids: list[int]) -> None:
        never = self._never_merge(customer_records)
        for cid in customer_ids:
            recs = customer_records[cid]
            linker.add(("c", cid), NodeFacts(
                identifiers={i for r in recs for i in r.identifiers},
                names=name_keys(r.facts() for r in recs),
                never_merge={("c", other) for other in never.get(cid, ())},
                size=len(recs),
                identified_at=identified_at((r.kind, r.first_seen, r.identifiers) for r in recs),
            ))

    # -- probabilistic matching ------------------------------------------

    def _match_probabilistically(self, linker: Linker, new: list[ParsedRecord],
                                 customer_records: dict[int, list[_Existing]]) -> None:
        """Score the new records against each other and the stored records
        that share a blocking key, and link what scores high enough; keeps
        each new record's blocking keys for writing."""
        settings = self.resolution
        extra = settings.extra_fields
        self.fields = fields = {
            idx: f for idx, rec in enumerate(new)
            if rec.kind != "visitor" and not (f := match_fields(rec.values, extra, self.region)).is_empty()
        }
        if not fields:
            return
        conn = self.conn

        def stored_candidates(room: dict[str, int]) -> dict[str, list[Candidate] | None]:
            by_key: dict[str, list[int]] = defaultdict(list)
            for key, rid in rows_in(conn, "SELECT key, record_id FROM block_key WHERE key IN ({in})",
                                    sorted(room)):
                by_key[key].append(rid)
            # Only the records of blocks with room for them are loaded: at a
            # million records most name keys are shared by more.
            wanted = sorted({rid for key, rids in by_key.items() if len(rids) <= room[key] for rid in rids})
            loaded = {rid: Candidate(rid, ("c", cid), f)
                      for rid, cid, f in self._stored_fields("id IN ({in})", wanted, with_customer=True)}
            return {key: [loaded[rid] for rid in rids] if len(rids) <= room[key] else None
                    for key, rids in by_key.items()}

        def same_cluster(a, b) -> bool:
            # A stored customer the linker has not met yet is in no cluster
            # of this import.
            return a in linker and b in linker and linker.find(a) == linker.find(b)

        def population() -> list[MatchFields]:
            sample = list(fields.values())
            sample.extend(self._random_stored_fields(limit=5000))
            return sample

        stored_model = probabilistic.load_model(self.store, conn, extra)
        self.block_keys = {idx: blocking_keys(f) for idx, f in fields.items()}
        pairs, model = probabilistic.match(
            [(("r", idx), f) for idx, f in fields.items()],
            keys=list(self.block_keys.values()),
            extra_fields=extra,
            stored_candidates=stored_candidates,
            population=population,
            same_cluster=same_cluster,
            stored_model=stored_model,
            stored_records=self._stored_record_count,
            min_probability=settings.review_probability,
            labelled_matches=self._decided_levels(comparisons(extra), "approved"),
            labelled_non_matches=self._decided_levels(comparisons(extra), "rejected"),
            # A large file trains once, on its first batch with pairs
            # enough; its other batches are scored with that model.
            train=not self.trained,
        )
        self.model = model
        if model.trained_on and model is not stored_model:
            self.trained = True
            probabilistic.save_model(self.store, conn, model)
            self._rescore_pending(model)
        # Only the stored customers that scored are loaded whole, for the
        # protections and, should they merge, their attributes.
        missing = sorted({n[1] for p in pairs for n in (p.left, p.right)
                          if n[0] == "c" and n[1] not in customer_records})
        if missing:
            customer_records.update(self._load_customer_records(missing))
            self._add_customer_nodes(linker, customer_records, missing)
        linker.link_scored(pairs, auto=settings.auto_merge_probability,
                           review=settings.review_probability, max_size=settings.max_auto_cluster_size)

    def _rescore_pending(self, model: FSModel) -> None:
        """Weigh the probabilistic candidates still waiting for review with
        the model just trained (reviewers' approvals among its labels), so
        that the queue's order follows what has been learnt."""
        rows = self.conn.execute(
            select(T_CANDIDATE.c.id, T_CANDIDATE.c.evidence).where(
                T_CANDIDATE.c.status == "pending", T_CANDIDATE.c.probability.is_not(None))
        ).all()
        updates = []
        for cid, text in rows:
            evidence = json_value(text)
            levels, values = levels_from_evidence(model.comparisons, evidence)
            weights = model.field_weights(levels, values)
            for comparison, weight in zip(model.comparisons, weights, strict=True):
                if weight is not None:
                    evidence[comparison.name]["weight"] = round(weight, 3)
            probability = model.probability(model.fast_weight(levels, values))
            updates.append({"cid": cid, "p": probability, "e": json_text(evidence)})
        if updates:
            self.conn.execute(
                T_CANDIDATE.update().where(T_CANDIDATE.c.id == bindparam("cid"))
                .values(probability=bindparam("p"), evidence=bindparam("e")),
                updates,
            )

    def _decided_levels(self, comps, status: str) -> list[tuple[int | None, ...]]:
        """Comparison levels of the probabilistic candidates reviewers
        decided: approved ones are labelled matches (they refine m),
        rejected ones labelled non-matches (they refine u)."""
        rows = self.conn.execute(
            select(T_CANDIDATE.c.evidence).where(
                T_CANDIDATE.c.status == status, T_CANDIDATE.c.probability.is_not(None))
        )
        return [levels_from_evidence(comps, json_value(text))[0] for (text,) in rows]

    def _stored_record_count(self) -> int:
        return self.conn.execute(
            select(func.count()).select_from(T_RECORD).where(T_RECORD.c.kind != "visitor")
        ).scalar_one()

    def _random_stored_fields(self, limit: int) -> list[MatchFields]:
        """Match fields of up to ``limit`` stored records picked at random (a
        fixed seed, so imports are reproducible)."""
        top = self.conn.execute(select(func.max(T_RECORD.c.id))).scalar() or 0
        if not top:
            return []
        rng = random.Random(top)
        ids = sorted({rng.randint(1, top) for _ in range(min(limit, top))})
        # In id order: the sample's order decides which pairs measure u, and
        # PostgreSQL returns rows in whatever order they lie on disk.
        found = sorted(self._stored_fields("id IN ({in}) AND kind != 'visitor'", ids), key=lambda r: r[0])
        return [f for _rid, _cid, f in found if not f.is_empty()]

    def _stored_fields(self, where: str, values: list, *, with_customer: bool = False
                       ) -> Iterator[tuple[int, int | None, MatchFields]]:
        """(record id, customer id, match fields) of the stored records
        ``where`` selects (``{in}`` standing for ``values``): the fields as
        the record's import stored them, or made from its attributes where
        it stored none (an older store) or extra fields are compared."""
        extra = self.resolution.extra_fields
        pattern = "" if extra else f"{FIELDS_PREFIX}%"  # "": no stored fields will do
        sql = (f"SELECT id, {'customer_id' if with_customer else 'NULL'}, match_fields, "
               f"CASE WHEN match_fields LIKE ? THEN NULL ELSE attributes END FROM source_record WHERE {where}")
        for rid, cid, stored, values_text in rows_in(self.conn, sql, values, (pattern,)):
            if values_text is None:
                yield rid, cid, decode_fields(stored)
            else:
                yield rid, cid, match_fields(json_value(values_text), extra, self.region)

    def _write_block_keys(self, updated) -> None:
        rows = [(key, self.record_ids[idx]) for idx, keys in self.block_keys.items() for key in keys]
        extra = self.resolution.extra_fields
        for old, rec, _a in updated:
            if rec.kind == "visitor":
                continue
            before = set(blocking_keys(match_fields(old.values, extra, self.region)))
            after = set(blocking_keys(match_fields(rec.values, extra, self.region)))
            for key in sorted(before - after):
                self.conn.execute(T_BLOCK.delete().where(T_BLOCK.c.key == key, T_BLOCK.c.record_id == old.id))
            rows.extend((key, old.id) for key in sorted(after - before))
        for chunk in _chunks(rows, 5000):
            bulk_insert(self.conn, T_BLOCK, list(chunk), columns=("key", "record_id"))

    # -- loading -------------------------------------------------------

    def _load_same_keys(self, keys: list[str]) -> dict[str, _Existing]:
        found: dict[str, _Existing] = {}
        sql = ("SELECT id, source_key, customer_id, kind, attributes, first_seen, last_seen "
               "FROM source_record WHERE source = ? AND source_key IN ({in})")
        for rid, key, cid, kind, values, first, last in rows_in(self.conn, sql, keys, (self.source,)):
            found[key] = _Existing(rid, cid, kind, json_value(values), first, last)
        self._attach_identifiers({e.id: e for e in found.values()})
        return found

    def _attach_identifiers(self, by_id: dict[int, _Existing]) -> None:
        sql = "SELECT record_id, kind, value FROM identifier WHERE record_id IN ({in})"
        for rid, kind, value in rows_in(self.conn, sql, list(by_id)):
            by_id[rid].identifiers.add((kind, value))

    def _owners(self, idents: list[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[int, int]]]:
        """(kind, value) -> [(record id, customer id)] already in the store."""
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, value in idents:
            by_kind[kind].append(value)
        owners: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        sql = ("SELECT i.value, i.record_id, r.customer_id FROM identifier i "
               "JOIN source_record r ON r.id = i.record_id WHERE i.kind = ? AND i.value IN ({in})")
        for kind, values in by_kind.items():
            for value, rid, cid in rows_in(self.conn, sql, values, (kind,)):
                owners[(kind, value)].append((rid, cid))
        return owners

    def _load_customer_records(self, customer_ids: Iterable[int]) -> dict[int, list[_Existing]]:
        result: dict[int, list[_Existing]] = defaultdict(list)
        by_id: dict[int, _Existing] = {}
        sql = ("SELECT id, customer_id, kind, attributes, first_seen, last_seen FROM source_record "
               "WHERE customer_id IN ({in})")
        for rid, cid, kind, values, first, last in rows_in(self.conn, sql, sorted(customer_ids)):
            rec = _Existing(rid, cid, kind, json_value(values), first, last)
            result[cid].append(rec)
            by_id[rid] = rec
        self._attach_identifiers(by_id)
        return result

    def _never_merge(self, customer_records: dict[int, list[_Existing]]) -> dict[int, set[int]]:
        """Customer -> customers it must never merge with, among those loaded."""
        owner = {r.id: cid for cid, recs in customer_records.items() for r in recs}
        pairs: dict[int, set[int]] = defaultdict(set)
        ids = sorted(owner)
        for side in ("record_a_id", "record_b_id"):
            sql = f"SELECT record_a_id, record_b_id FROM never_merge WHERE {side} IN ({{in}})"
            for a, b in rows_in(self.conn, sql, ids):
                if a in owner and b in owner and owner[a] != owner[b]:
                    pairs[owner[a]].add(owner[b])
                    pairs[owner[b]].add(owner[a])
        return pairs

    # -- writing -------------------------------------------------------

    def _next_id(self, table) -> int:
        return (self.conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1

    def _write(self, linker: Linker, new: list[ParsedRecord], updated, customer_records,
               owners, events: list[ParsedEvent]) -> dict[str, int]:
        conn = self.conn
        # Records of every customer involved, as they will be.
        records_of: dict[int, list[RecordFacts]] = {
            cid: [r.facts() for r in recs] for cid, recs in customer_records.items()
        }
        tracking_of = self._tracking_ids(list(records_of))

        # 1. Merges of existing customers, in the order the linker joined them.
        survivor_of: dict[int, int] = {}

        def current(cid: int) -> int:
            while cid in survivor_of:
                cid = survivor_of[cid]
            return cid

        next_merge = self._next_id(T_MERGE)
        merges: list[Merge] = []
        for union in linker.unions:
            if union.left[0] != "c" or union.right[0] != "c":
                continue
            keep, gone = current(union.left[1]), current(union.right[1])
            if keep == gone:
                continue
            merges.append(Merge(
                keep, gone, tracking_of[keep], tracking_of[gone], rule=union.kind,
                evidence=union.evidence or {union.kind: union.value}, probability=union.probability,
                membership_before={
                    "surviving": sorted(r.id for r in records_of[keep]),
                    "retired": sorted(r.id for r in records_of[gone]),
                },
                id=next_merge + len(merges),
            ))
            records_of[keep].extend(records_of.pop(gone))
            survivor_of[gone] = keep
        merge_many(conn, merges, now=self.now, decided_by="automatic", import_run_id=self.run_id)
        merges_made = len(merges)
        self.check_cancel()

        # 2. New customers for clusters of new records only, in file order.
        customer_of_node: dict[tuple, int] = {}
        new_clusters: list[tuple] = []
        for idx in range(len(new)):
            root_first = linker.members(("r", idx))[0]
            if root_first[0] == "c":
                customer_of_node[("r", idx)] = current(root_first[1])
            elif root_first == ("r", idx):
                new_clusters.append(root_first)
        next_customer = self._next_id(T_CUSTOMER)
        new_ids = tracking.allocate(self.store, conn, len(new_clusters))
        fresh: dict[int, str] = {}
        for n, root in enumerate(new_clusters):
            fresh[next_customer + n] = new_ids[n]
            customer_of_node[root] = next_customer + n
        for idx in range(len(new)):
            node = ("r", idx)
            if node not in customer_of_node:
                customer_of_node[node] = customer_of_node[linker.members(node)[0]]

        # 3. New records, their identifiers, and updated records.
        next_record = self._next_id(T_RECORD)
        record_id = {idx: next_record + idx for idx in range(len(new))}
        self.record_ids = record_id
        record_rows = []
        ident_rows = []
        for idx, rec in enumerate(new):
            cid = customer_of_node[("r", idx)]
            rid = record_id[idx]
            record_rows.append({
                "id": rid, "source": self.source, "source_key": rec.source_key, "kind": rec.kind,
                "customer_id": cid, "import_run_id": self.run_id, "file": str(self.path),
                "line": rec.line, "first_seen": rec.first_seen, "last_seen": rec.last_seen,
                "attributes": json_text(rec.values), "raw": json_text(rec.raw),
                "link": _link(linker.joined_by.get(("r", idx))),
                "match_fields": encode_fields(self.fields[idx]) if idx in self.fields else None,
            })
            ident_rows.extend({"record_id": rid, "kind": k, "value": v} for k, v in rec.identifiers)
            records_of.setdefault(cid, []).append(
                RecordFacts(rid, rec.kind, rec.first_seen, rec.last_seen, rec.values))
        for old, rec, added in updated:
            ident_rows.extend({"record_id": old.id, "kind": k, "value": v} for k, v in sorted(added))
        self._insert_customers(fresh, records_of)
        if record_rows:
            for chunk in _chunks(record_rows, 5000):
                bulk_insert(conn, T_RECORD, list(chunk))
                self.check_cancel()
                self.report(ImportProgress("writing", chunk[-1]["id"] - next_record + 1, len(new)))
        if updated:
            conn.execute(
                T_RECORD.update().where(T_RECORD.c.id == bindparam("rid")).values(
                    attributes=bindparam("v"), raw=bindparam("r"), first_seen=bindparam("f"),
                    last_seen=bindparam("l"), match_fields=bindparam("m"), import_run_id=self.run_id,
                ),
                [{"rid": old.id, "v": json_text(rec.values), "r": json_text(rec.raw),
                  "f": rec.first_seen, "l": rec.last_seen, "m": self._encoded_fields(rec)}
                 for old, rec, _a in updated],
            )
            for old, rec, _a in updated:
                cid = current(old.customer_id)
                records_of[cid] = [
                    RecordFacts(r.id, r.kind, rec.first_seen, rec.last_seen, rec.values)
                    if r.id == old.id else r
                    for r in records_of[cid]
                ]
        if ident_rows:
            for chunk in _chunks(ident_rows, 5000):
                bulk_insert(conn, T_IDENT, list(chunk))

        # 4. Events, on the visitor record of their anonymous id.
        events_imported = self._write_events(events, new, record_id, updated)

        # 5. Merge candidates for the links the protections held.
        pending = pending_pairs(conn)
        candidates = self._write_candidates(linker, new, record_id, customer_records, owners,
                                            current, customer_of_node, pending)

        # 6. Attributes of every customer that changed.
        changed = set(survivor_of.values()) | {current(old.customer_id) for old, _r, _a in updated}
        changed |= {customer_of_node[("r", i)] for i in range(len(new))} - set(fresh)
        changed = {current(c) for c in changed}
        write_customer_attributes(conn, {cid: records_of[cid] for cid in changed})
        # A customer the protections once held apart from another, that now
        # grows, may settle differently with what it has gained; so may one
        # whose records now say something else than when they were linked.
        self.unsettled |= changed & {cid for pair, protected in pending.items() if protected for cid in pair}
        self.unsettled |= {current(old.customer_id) for old, rec, _a in updated if rec.values != old.values}
        return {
            "customers_created": len(fresh),
            "merges_made": merges_made,
            "candidates_created": candidates,
            "events_imported": events_imported,
        }

    def _encoded_fields(self, record: ParsedRecord) -> str | None:
        if record.kind == "visitor":
            return None
        fields = match_fields(record.values, self.resolution.extra_fields, self.region)
        return None if fields.is_empty() else encode_fields(fields)

    def _tracking_ids(self, customer_ids: list[int]) -> dict[int, str]:
        return dict(rows_in(self.conn, "SELECT id, tracking_id FROM customer WHERE id IN ({in})", customer_ids))

    def _insert_customers(self, fresh: dict[int, str], records_of) -> None:
        rows = [{"id": cid, "tracking_id": tid, **customer_row(records_of[cid])} for cid, tid in fresh.items()]
        for chunk in _chunks(rows, 5000):
            bulk_insert(self.conn, T_CUSTOMER, list(chunk))
        search_index.refresh(self.conn, fresh)

    def _write_events(self, events: list[ParsedEvent], new, record_id, updated) -> int:
        if not events:
            return 0
        visitor_id: dict[str, int] = {}
        for idx, rec in enumerate(new):
            if rec.kind == "visitor":
                visitor_id[rec.source_key] = record_id[idx]
        missing = sorted({e.anonymous_user_id for e in events} - set(visitor_id))
        sql = "SELECT source_key, id FROM source_record WHERE source = ? AND source_key IN ({in})"
        visitor_id.update(rows_in(self.conn, sql, missing, (self.source,)))
        columns = ("source", "event_key", "record_id", "import_run_id", "anonymous_user_id", "event_type",
                   "occurred_at", "properties", "line")
        rows = [(self.source, ev.event_key, visitor_id[ev.anonymous_user_id], self.run_id,
                 ev.anonymous_user_id, ev.event_type, ev.occurred_at, ev.properties, ev.line)
                for ev in events]
        # An event imported before (or twice in this file) breaks the unique
        # (record, time, key) and is skipped by the database itself.
        inserted = 0
        for chunk in _chunks(rows, 5000):
            inserted += bulk_insert(self.conn, T_EVENT, list(chunk), columns=columns, skip_existing=True)
            self.check_cancel()
        return inserted

    def _write_candidates(self, linker: Linker, new, record_id, customer_records, owners,
                          current, customer_of_node, pending: dict[frozenset[int], bool]) -> int:
        """Write a candidate for each held link whose customers are not yet
        waiting for review; ``pending`` (merges.pending_pairs) learns them."""
        if not linker.held:
            return 0

        def customer(node: tuple) -> int:
            return current(node[1]) if node[0] == "c" else customer_of_node[node]

        def anchor(node: tuple, kind: str, value: str) -> int:
            if node[0] == "r":
                return record_id[node[1]]
            holders = [rid for rid, cid in owners.get((kind, value), ()) if cid == node[1]]
            if holders:
                return min(holders)
            return min(r.id for r in customer_records[node[1]])

        rows = []
        for held in linker.held:
            a, b = customer(held.left), customer(held.right)
            pair = frozenset((a, b))
            if a == b:
                continue
            if held.reason != "probability_band":
                self.unsettled |= pair
            if held.reason == "ambiguous":
                self.ambiguous |= pair
            if pair in pending:
                continue
            pending[pair] = held.reason != "probability_band"
            rows.append({
                "created_at": self.now,
                "record_a_id": anchor(held.left, held.kind, held.value),
                "record_b_id": anchor(held.right, held.kind, held.value),
                "reason": held.reason,
                "probability": held.probability,
                "evidence": json_text(held.evidence or {held.kind: held.value}),
                "status": "pending",
                "import_run_id": self.run_id,
            })
        for chunk in _chunks(rows, 5000):
            bulk_insert(self.conn, T_CANDIDATE, list(chunk))
        return len(rows)

    def _splittable(self, customer_ids: set[int]) -> set[int]:
        """Those of these customers that have more than one record.  Only
        they can have been put together in a way that looks different
        now; a neighbourhood of customers of one record each links from
        scratch just as the import linked it (the other customers held
        apart from a larger one come into its neighbourhood anyway) --
        except where a record was *ambiguous* between two of them: the
        relinking, taking the records in another order, may find that it
        is not (tests/test_invariants.py), so those are settled too."""
        sql = "SELECT id FROM customer WHERE record_count > 1 AND id IN ({in})"
        return {cid for (cid,) in rows_in(self.conn, sql, sorted(customer_ids))}


__all__ = ["FORMATS", "ImportCancelled", "ImportRefused", "import_file"]
