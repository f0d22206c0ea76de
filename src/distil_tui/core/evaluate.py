"""Scoring identity resolution against a ground truth.

A resolver's output is read as a *grouping*: every source record, named by
``(source, source_key)``, carries the label of the Customer it ended up in (its
Tracking ID).  The ground truth gives every record the person it really
belongs to.  Two numbers matter and pull against each other:

- pairwise **precision**: of the pairs of records the resolver put together,
  the share that are one person (false merges lower it);
- pairwise **recall**: of the pairs of records that are one person, the share
  the resolver put together (missed links lower it).

Pairs are counted from contingency counts (cluster x person), never
enumerated, so a million records score in about a second.

The ground truth also marks the records involved in *traps*: shared values
that fool a careless resolver into merging different people (a household
email, a test mailbox, a placeholder phone, a family computer).
:func:`traps_merged` says how many trap groups were fallen into.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RecordKey = tuple[str, str]
"""``(source, source_key)``: how a source record is named in a grouping."""

TRAP_KINDS: tuple[str, ...] = (
    "household_email",
    "test_mailbox",
    "placeholder_phone",
    "family_computer",
)

TRUTH_COLUMNS: tuple[str, ...] = ("source", "source_key", "person_id", "trap", "trap_group")
"""Columns of a truth file.  ``trap_group`` names the shared value behind a
trap (the household email, the mailbox, the placeholder number, the shared
cookie) so that each trap can be judged on its own."""


@dataclass(frozen=True)
class Scores:
    """Pairwise scores over the records present in both the grouping and the
    truth.  With no predicted pairs precision is 1.0 (no false merge was
    made); with no true pairs recall is 1.0 (no link was missed)."""

    precision: float
    recall: float
    f1: float
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    records: int


@dataclass(frozen=True)
class Trap:
    kind: str  # one of TRAP_KINDS
    group: str  # the shared value: each group is one trap to fall into or not


@dataclass(frozen=True)
class TruthSet:
    """A loaded truth file: the person behind every record, and the trap
    label of the records that carry a trap value."""

    persons: Mapping[RecordKey, str]
    traps: Mapping[RecordKey, Trap]

    def trap_groups(self) -> dict[str, int]:
        """How many trap groups of each kind there are: the denominator for
        :func:`traps_merged`."""
        groups = set(self.traps.values())
        return {kind: sum(1 for trap in groups if trap.kind == kind) for kind in TRAP_KINDS}


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def pairwise_scores(predicted: Mapping[RecordKey, str], truth: Mapping[RecordKey, str]) -> Scores:
    """Pairwise precision, recall and F1 of ``predicted`` (record -> cluster
    label) against ``truth`` (record -> person id).  Records missing from
    either side are left out, so that a partial import can still be scored."""
    cells = Counter((predicted[key], person) for key, person in truth.items() if key in predicted)
    clusters: Counter[str] = Counter()
    persons: Counter[str] = Counter()
    for (label, person), count in cells.items():
        clusters[label] += count
        persons[person] += count
    true_positive = sum(_pairs(count) for count in cells.values())
    predicted_pairs = sum(_pairs(count) for count in clusters.values())
    true_pairs = sum(_pairs(count) for count in persons.values())
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(
        precision=precision,
        recall=recall,
        f1=f1,
        true_positive_pairs=true_positive,
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
        records=sum(clusters.values()),
    )


def load_truth(path: Path | str) -> TruthSet:
    """Read a truth file written by :func:`distil_tui.core.demo.generate`."""
    persons: dict[RecordKey, str] = {}
    traps: dict[RecordKey, Trap] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["source"], row["source_key"])
            persons[key] = row["person_id"]
            if row["trap"]:
                traps[key] = Trap(row["trap"], row["trap_group"])
    return TruthSet(persons=persons, traps=traps)


def traps_merged(predicted: Mapping[RecordKey, str], truth: TruthSet) -> dict[str, int]:
    """For each trap kind, how many trap groups had records of different
    persons put into one cluster.  Only the records that carry the trap value
    are looked at: they are the ones the shared value could wrongly join."""
    persons_in_cluster: dict[Trap, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for key, trap in truth.traps.items():
        label = predicted.get(key)
        if label is not None:
            persons_in_cluster[trap][label].add(truth.persons[key])
    merged = dict.fromkeys(TRAP_KINDS, 0)
    for trap, clusters in persons_in_cluster.items():
        if any(len(persons) > 1 for persons in clusters.values()):
            merged[trap.kind] += 1
    return merged
