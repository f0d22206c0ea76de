"""Splink beside distil-tui on scale.py's demo data: the same person records.

    python benchmarks/scale.py --splink [--sizes 10000,100000,1000000] [--keep DIR]
    python benchmarks/splink_scale.py DIR/size-N   # Splink alone, on a folder `scale.py --keep DIR` left

``scale.py --splink`` runs this after each size's import and prints both
systems side by side.  Run alone, it does the Splink side for a kept folder
(``DIR/size-N/data``; ``DIR/size-N/store.db``, when there, for our scores).

**Which records are compared.**  Splink links records by their attributes
and knows nothing of the anonymous browser cookies that make up most of the
tracking records, so the comparison is on the *person records*: every row of
shop.csv, crm.csv and newsletter.csv, and every identify record of the two
tracking exports (the customer details a sign-in, order or newsletter
sign-up carries: names, email, the shop customer id, at times a phone).  The
anonymous visitor records are left out.  Both groupings are scored against
truth.csv on the person records both hold (pairwise precision, recall and F1,
:func:`distil_tui.core.evaluate.pairwise_scores`), and again on the file rows
alone.  Ours is read from the store scale.py built: it imported every
record, events included, so our time is that of the whole import; scale.py
also gives our time for the three attribute files alone (the file rows, not
the identify records, which come with the events).

**What Splink gets.**  The person records as our own readers read them
(header mapping, dates, phones; a repeated identify record merged as the
importer merges it), reduced to the fields our resolver compares and
normalised as it normalises them (``match_fields``): first name (first word,
folded), last name (folded, no punctuation), date of birth (YYYYMMDD),
postcode (upper case, no spaces), town, address, email (folded; test and
role mailboxes blocked), phone (E.164; placeholder numbers blocked), and the
shop customer id that shop rows and identify records carry (we link on it
too).  Splink 5 on DuckDB, with linkage.py's settings adapted to these fields:

- blocking rules for prediction: surname + first initial; date of birth;
  postcode + first initial; first and last name swapped; email; phone;
  customer id;
- comparisons: first and last name each exact (term-frequency adjusted) /
  Jaro-Winkler >= 0.92 / >= 0.80 / else; date of birth and postcode exact /
  one edit / else; town and address exact / one edit / two edits / else;
  email, phone and customer id exact / else;
- training without labels: the prior match probability from deterministic
  rules (same email; same customer id; same first name, surname and date of
  birth) taken to find 80% of matches; u from 1e7 random pairs (seed 1);
  m by expectation-maximisation on three blocking rules (first and last
  name; date of birth; postcode);
- prediction, then connected-components clustering at match probability
  0.99, our automatic merge threshold.

**What is measured.**  Preparing the records (reading the five files with
our readers) is done here and not counted.  Splink runs in a process of its own, so that its memory is its own:
it loads the prepared records into DuckDB (timed apart, not counted), then
trains, predicts and clusters at 0.99: that is Splink's time, in wall-clock
seconds and CPU seconds (user + system, every DuckDB thread).  Its peak
memory is the process's maximum resident set size (DuckDB's native memory
included) when clustering at 0.99 is done.  Afterwards, untimed, it clusters
at 0.5, 0.9 and 0.95: the best F1 among them is shown for reference (chosen
with the truth, so not a fair target).  Figures go to standard output; the
last line is the result as JSON for scale.py.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

from frames import machine, machine_busy_seconds, others_cores

from distil_tui.core import demo
from distil_tui.core.evaluate import RecordKey, Scores, load_truth, pairwise_scores
from distil_tui.core.ingest.events import read_events
from distil_tui.core.ingest.mapping import ParsedRecord
from distil_tui.core.ingest.readers import read_csv, read_text
from distil_tui.core.resolve.comparison import match_fields
from distil_tui.core.resolve.settings import ResolutionSettings
from distil_tui.settings import default_region

FILE_SOURCES = ("shop", "crm", "newsletter")  # the demo's attribute files
FIELDS = ("first_name", "last_name", "date_of_birth", "postcode", "town", "address", "email", "phone",
          "customer_id")
AUTO_MERGE_PROBABILITY = ResolutionSettings().auto_merge_probability  # 0.99
THRESHOLDS = (0.5, 0.9, 0.95, AUTO_MERGE_PROBABILITY)  # the reference sweep
GROUPING_FILE = "grouping.csv"  # scale.py --splink: our grouping, written after the import
# Splink's docs recommend 1e7 or more sampled pairs for u on real data;
# here there are up to 2.6e11 possible pairs (linkage.py's FEBRL, 1.25e7,
# is fine with 1e6).
SPLINK_U_PAIRS = 1e7


def is_person_record(key: RecordKey) -> bool:
    """A file row, or an identify record of the tracking (its key is
    ``identify:<anonymous id>:<who>``); not an anonymous visitor record."""
    source, source_key = key
    return source in FILE_SOURCES or source_key.startswith("identify:")


def splink_version() -> str | None:
    try:
        return importlib.metadata.version("splink")
    except importlib.metadata.PackageNotFoundError:
        return None


# --- preparing the records ------------------------------------------------------------------------

def prepare(data: Path, path: Path) -> list[RecordKey]:
    """Write the person records of the demo files in ``data`` to the CSV
    ``path`` in Splink's columns; returns the keys in ``unique_id`` order."""
    region = default_region()
    values: dict[RecordKey, dict[str, str]] = {}
    customer_ids: dict[RecordKey, str] = {}
    for item in demo.dataset_in(data).imports:
        text = read_text(item.path)
        if item.fmt == "events":
            items = read_events(item.path, text, source=item.source, customer_id_source="shop", region=region)
        else:
            items = read_csv(item.path, text, source=item.source, id_column=item.id_column, region=region)
        for parsed, _ in items:
            if not isinstance(parsed, ParsedRecord):
                continue  # an event, or a rejected row
            key = (item.source, parsed.source_key)
            old = values.get(key)
            values[key] = {**old, **parsed.values} if old else parsed.values
            for kind, value in parsed.identifiers:
                # Only the shop's ids are shared between records (shop rows,
                # identify records); a CRM contact id is never compared.
                if kind == "customer_id" and value.startswith("shop:"):
                    customer_ids[key] = value
        del text
    keys = [key for key in values if is_person_record(key)]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("unique_id", *FIELDS))
        for number, key in enumerate(keys):
            f = match_fields(values[key])
            writer.writerow((number, f.first, f.last, f.dob, f.postcode, f.town, f.address, f.email, f.phone,
                             customer_ids.get(key)))
    return keys


# --- Splink, in a process of its own --------------------------------------------------------------

def splink_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("last_name", "substr(first_name, 1, 1)"),
            block_on("date_of_birth"),
            block_on("postcode", "substr(first_name, 1, 1)"),
            "l.first_name = r.last_name and l.last_name = r.first_name",
            block_on("email"),
            block_on("phone"),
            block_on("customer_id"),
        ],
        comparisons=[
            cl.NameComparison("first_name", jaro_winkler_thresholds=[0.92, 0.80]),
            cl.NameComparison("last_name", jaro_winkler_thresholds=[0.92, 0.80]),
            cl.LevenshteinAtThresholds("date_of_birth", [1]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.LevenshteinAtThresholds("town", [1, 2]),
            cl.LevenshteinAtThresholds("address", [1, 2]),
            cl.ExactMatch("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("customer_id"),
        ],
    )


def run_splink(records: Path, out: Path) -> dict:
    """Load ``records`` into DuckDB, then train, predict and cluster (timed);
    write each threshold's clusters to ``out/clusters-<t>.csv``."""
    from splink import DuckDBAPI, Linker, block_on

    db_api = DuckDBAPI()
    con = db_api.duckdb_con
    started = time.perf_counter()
    # Every column as text (dates of birth are digits), empty cells null.
    con.execute(f"create table persons as select * replace (cast(unique_id as bigint) as unique_id) "
                f"from read_csv('{_sql_text(records)}', header = true, all_varchar = true)")
    loaded = time.perf_counter() - started

    busy_before = machine_busy_seconds()
    cpu_before = time.process_time()
    started = time.perf_counter()
    linker = Linker(db_api.register("persons"), splink_settings(), log_level=logging.WARNING)
    # Prior match probability from rules that should admit almost no false
    # matches, guessed to find 80% of them (as Splink's examples do).
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("customer_id"), block_on("first_name", "last_name", "date_of_birth")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=SPLINK_U_PAIRS, seed=1)
    # Each EM session leaves the fields of its own blocking rule untrained;
    # together they train every comparison.
    for rule in (block_on("first_name", "last_name"), block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    trained = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(THRESHOLDS))
    predicted = time.perf_counter()
    clusters = {AUTO_MERGE_PROBABILITY: linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=AUTO_MERGE_PROBABILITY)}
    done = time.perf_counter()
    cpu = time.process_time() - cpu_before
    busy_after = machine_busy_seconds()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The reference sweep, outside the figures.
    for threshold in THRESHOLDS:
        if threshold not in clusters:
            clusters[threshold] = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold)
    for threshold, frame in clusters.items():
        con.execute(f"copy (select unique_id, cluster_id from {frame.physical_name}) "
                    f"to '{_sql_text(clusters_path(out, threshold))}' (header)")
    pairs, sure = con.execute(
        f"select count(*), count(*) filter (where match_probability >= {AUTO_MERGE_PROBABILITY}) "
        f"from {predictions.physical_name}").fetchone()
    con.close()
    return {
        "load_seconds": loaded, "seconds": done - started, "cpu": cpu, "peak_mb": peak,
        "train_seconds": trained - started, "predict_seconds": predicted - trained,
        "cluster_seconds": done - predicted, "pairs_predicted": pairs, "pairs_at_auto": sure,
        "others_cores": others_cores(busy_before, busy_after, cpu, done - started),
    }


def clusters_path(out: Path, threshold: float) -> Path:
    return out / f"clusters-{threshold}.csv"


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


# --- scoring --------------------------------------------------------------------------------------

def splink_grouping(path: Path, keys: list[RecordKey]) -> dict[RecordKey, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        return {keys[int(unique_id)]: cluster for unique_id, cluster in rows}


def our_grouping(folder: Path) -> dict[RecordKey, str] | None:
    """The person records' customers after scale.py's import: from the
    grouping it wrote (``scale.py --splink``) or else from its store (which,
    for the largest size, has had a 10k-row import since: its new source's
    records are not compared, but its merges may have joined customers);
    ``None`` when there is neither."""
    written, db = folder / GROUPING_FILE, folder / "store.db"
    if written.exists():
        with written.open(encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            next(rows)
            return {(source, key): label for source, key, label in rows if is_person_record((source, key))}
    if not db.exists():
        return None
    from distil_tui.core.exports import record_grouping
    from distil_tui.core.store import Store

    store = Store(f"sqlite:///{db}")
    try:
        return {key: label for key, label in record_grouping(store).items() if is_person_record(key)}
    finally:
        store.close()


def scores_on(grouping: dict[RecordKey, str], truth: dict[RecordKey, str], keys) -> Scores:
    return pairwise_scores(grouping, {key: truth[key] for key in keys})


def _scores_text(s: Scores) -> str:
    return (f"precision {s.precision:.4f}, recall {s.recall:.4f}, F1 {s.f1:.4f} "
            f"({s.predicted_pairs:,} pairs put together of {s.true_pairs:,} true)")


# --- one folder -----------------------------------------------------------------------------------

def compare(folder: Path) -> dict:
    """The Splink side for the folder of one size; prints its lines and
    returns the figures."""
    work = folder / "splink"
    work.mkdir(parents=True, exist_ok=True)
    records = work / "persons.csv"
    t0 = time.perf_counter()
    keys = prepare(folder / "data", records)
    prepared = time.perf_counter() - t0
    print(f"  splink: {len(keys):,} person records (file rows and identify records) read with our readers "
          f"in {prepared:.1f} s (not counted)", flush=True)

    out = subprocess.run([sys.executable, __file__, "--run", str(records), str(work)],
                         capture_output=True, text=True)
    if out.returncode:
        sys.stdout.write(out.stdout + out.stderr)
        raise SystemExit(f"Splink failed on {records}")
    result = json.loads(out.stdout.strip().splitlines()[-1].removeprefix("result "))
    busy = result["others_cores"]
    print(f"  splink: loaded into DuckDB in {result['load_seconds']:.1f} s (not counted); trained in "
          f"{result['train_seconds']:.1f} s, predicted {result['pairs_predicted']:,} pairs in "
          f"{result['predict_seconds']:.1f} s, clustered at {AUTO_MERGE_PROBABILITY} in "
          f"{result['cluster_seconds']:.1f} s: {result['seconds']:.1f} s "
          f"({result['cpu']:.1f} s CPU); peak memory {result['peak_mb']:,.0f} MB"
          + (f"; other processes kept {busy:.1f} cores busy" if busy is not None else ""), flush=True)

    truth_all = load_truth(demo.dataset_in(folder / "data").truth_path).persons
    truth = {key: person for key, person in truth_all.items() if is_person_record(key)}
    del truth_all
    theirs = {t: splink_grouping(clusters_path(work, t), keys) for t in THRESHOLDS}
    ours = our_grouping(folder)
    common = truth.keys() & theirs[AUTO_MERGE_PROBABILITY].keys()
    if ours is not None:
        common &= ours.keys()
    rows = {key for key in common if key[0] in FILE_SOURCES}
    sweep = {t: scores_on(grouping, truth, common) for t, grouping in theirs.items()}
    best_threshold, best = max(sweep.items(), key=lambda item: item[1].f1)
    at_auto = sweep[AUTO_MERGE_PROBABILITY]
    result.update(person_records=len(truth), compared=len(common), file_rows=len(rows),
                  prepare_seconds=prepared, splink_f1=at_auto.f1, splink_precision=at_auto.precision,
                  splink_recall=at_auto.recall, splink_best_f1=best.f1, splink_best_threshold=best_threshold,
                  splink_rows_f1=scores_on(theirs[AUTO_MERGE_PROBABILITY], truth, rows).f1)
    print(f"  scored on {len(common):,} of {len(truth):,} person records ({len(rows):,} file rows):")
    if ours is not None:
        mine = scores_on(ours, truth, common)
        result.update(our_f1=mine.f1, our_precision=mine.precision, our_recall=mine.recall,
                      our_rows_f1=scores_on(ours, truth, rows).f1)
        print(f"    distil-tui {_scores_text(mine)}; file rows alone F1 {result['our_rows_f1']:.4f}")
    print(f"    splink     {_scores_text(at_auto)}; file rows alone F1 {result['splink_rows_f1']:.4f}; "
          f"[at {AUTO_MERGE_PROBABILITY}; best F1 {best.f1:.4f} at {best_threshold}]", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?",
                        help="a folder `scale.py --keep DIR` left: DIR/size-N (holding data/ and store.db)")
    parser.add_argument("--run", nargs=2, type=Path, help=argparse.SUPPRESS)  # the Splink process
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # run by scale.py
    args = parser.parse_args()
    if args.run:
        print("result " + json.dumps(run_splink(*args.run)))
        return 0
    if args.folder is None:
        parser.error("name a folder DIR/size-N that `scale.py --keep DIR` left")
    if not (args.folder / "data" / "truth.csv").exists():
        parser.error(f"{args.folder}: no data/truth.csv; run `scale.py --keep DIR` first")
    version = splink_version()
    if version is None:
        raise SystemExit("Splink is not installed: pip install -e '.[bench]'")
    if not args.inside:  # scale.py has printed the machine line
        print(f"{machine()}, Splink {version} (DuckDB {importlib.metadata.version('duckdb')})")
    print("result " + json.dumps(compare(args.folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
