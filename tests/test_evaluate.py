"""Pairwise scoring and trap counting on groupings whose answers are known."""

from __future__ import annotations

import time
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distil_tui.core.demo import generate
from distil_tui.core.evaluate import (
    TRAP_KINDS,
    Trap,
    TruthSet,
    load_truth,
    pairwise_scores,
    traps_merged,
)

# Person A has three records, B two, C one.
TRUTH = {
    ("shop", "S1"): "A",
    ("crm", "C1"): "A",
    ("web", "w1"): "A",
    ("shop", "S2"): "B",
    ("newsletter", "2"): "B",
    ("crm", "C2"): "C",
}


def test_perfect_grouping_scores_one() -> None:
    predicted = {key: f"T-{person}" for key, person in TRUTH.items()}
    scores = pairwise_scores(predicted, TRUTH)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)
    assert scores.true_positive_pairs == scores.predicted_pairs == scores.true_pairs == 4
    assert scores.records == 6


def test_all_singletons_make_no_false_merge_and_find_nothing() -> None:
    predicted = {key: str(index) for index, key in enumerate(TRUTH)}
    scores = pairwise_scores(predicted, TRUTH)
    assert scores.predicted_pairs == 0
    assert scores.precision == 1.0
    assert scores.recall == 0.0
    assert scores.f1 == 0.0


def test_one_big_cluster_has_full_recall_and_low_precision() -> None:
    predicted = dict.fromkeys(TRUTH, "everyone")
    scores = pairwise_scores(predicted, TRUTH)
    assert scores.predicted_pairs == 15  # 6 records, 6*5/2 pairs
    assert scores.recall == 1.0
    assert scores.precision == pytest.approx(4 / 15)
    assert scores.f1 == pytest.approx(2 * (4 / 15) / (1 + 4 / 15))


def test_mixed_grouping() -> None:
    predicted = {
        ("shop", "S1"): "x",
        ("crm", "C1"): "x",
        ("shop", "S2"): "x",  # B wrongly with A
        ("web", "w1"): "y",  # A's visit missed
        ("newsletter", "2"): "z",
        ("crm", "C2"): "z",  # B wrongly with C
    }
    scores = pairwise_scores(predicted, TRUTH)
    # Predicted pairs: 3 in x, 1 in z.  True pairs: 3 for A, 1 for B.  Right: S1-C1.
    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == (1, 4, 4)
    assert scores.precision == pytest.approx(0.25)
    assert scores.recall == pytest.approx(0.25)
    assert scores.f1 == pytest.approx(0.25)


def test_records_missing_from_either_side_are_left_out() -> None:
    predicted = {key: "one" for key in TRUTH if key[0] != "crm"}
    predicted[("web", "unknown-cookie")] = "one"  # not in the truth
    scores = pairwise_scores(predicted, TRUTH)
    assert scores.records == 4  # S1, w1, S2, newsletter 2
    # Pairs among them: 6 predicted; true: S1-w1 (A) and S2-2 (B).
    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == (2, 6, 2)


def _brute_force(predicted: dict, truth: dict) -> tuple[int, int, int]:
    keys = [key for key in truth if key in predicted]
    tp = pp = tr = 0
    for a, b in combinations(keys, 2):
        same_cluster, same_person = predicted[a] == predicted[b], truth[a] == truth[b]
        tp += same_cluster and same_person
        pp += same_cluster
        tr += same_person
    return tp, pp, tr


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=40))
def test_counts_agree_with_enumerating_every_pair(labels: list[tuple[int, int]]) -> None:
    truth = {("s", str(i)): f"P{person}" for i, (person, _) in enumerate(labels)}
    predicted = {("s", str(i)): f"T{cluster}" for i, (_, cluster) in enumerate(labels)}
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == _brute_force(predicted, truth)


def test_a_million_records_score_quickly() -> None:
    # Persons of two records; clusters of four records, i.e. two persons each.
    truth = {("web", str(i)): f"P{i // 2}" for i in range(1_000_000)}
    predicted = {key: f"T{int(key[1]) // 4}" for key in truth}
    started = time.perf_counter()
    scores = pairwise_scores(predicted, truth)
    elapsed = time.perf_counter() - started
    assert scores.records == 1_000_000
    assert scores.true_positive_pairs == 500_000
    assert scores.predicted_pairs == 250_000 * 6
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == 1.0
    assert elapsed < 10


def _write_truth(path: Path, rows: list[str]) -> Path:
    path.write_text("source,source_key,person_id,trap,trap_group\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def trap_truth(tmp_path: Path) -> TruthSet:
    return load_truth(
        _write_truth(
            tmp_path / "truth.csv",
            [
                "shop,S1,A,household_email,smiths@x.com",
                "shop,S2,B,household_email,smiths@x.com",
                "crm,C1,A,,",
                "shop,S3,C,household_email,jones@x.com",
                "shop,S4,D,household_email,jones@x.com",
                "web,cookie9,E,family_computer,cookie9",
                "web,identify:cookie9:S5,E,family_computer,cookie9",
                "web,identify:cookie9:S6,F,family_computer,cookie9",
                "shop,S6,F,,",
            ],
        )
    )


def test_load_truth_reads_persons_and_trap_labels(trap_truth: TruthSet) -> None:
    assert len(trap_truth.persons) == 9
    assert trap_truth.persons[("crm", "C1")] == "A"
    assert trap_truth.persons[("web", "identify:cookie9:S6")] == "F"
    assert ("crm", "C1") not in trap_truth.traps
    assert trap_truth.traps[("shop", "S2")] == Trap("household_email", "smiths@x.com")
    assert trap_truth.trap_groups() == {
        "household_email": 2, "test_mailbox": 0, "placeholder_phone": 0, "family_computer": 1,
    }


def test_traps_merged_counts_groups_with_different_persons_in_one_cluster(trap_truth: TruthSet) -> None:
    predicted = {
        ("shop", "S1"): "t1", ("crm", "C1"): "t1",
        ("shop", "S2"): "t1",  # the Smiths merged: one household trap fallen into
        ("shop", "S3"): "t3", ("shop", "S4"): "t4",  # the Joneses kept apart
        ("web", "cookie9"): "t5", ("web", "identify:cookie9:S5"): "t5",
        ("web", "identify:cookie9:S6"): "t5",  # F's sign-in joined E's cookie
        ("shop", "S6"): "t6",
    }
    assert traps_merged(predicted, trap_truth) == {
        "household_email": 1, "test_mailbox": 0, "placeholder_phone": 0, "family_computer": 1,
    }
    predicted[("web", "identify:cookie9:S6")] = "t6"  # F's sign-in stays with F
    assert traps_merged(predicted, trap_truth)["family_computer"] == 0


def test_traps_merged_ignores_records_the_grouping_lacks(trap_truth: TruthSet) -> None:
    assert traps_merged({("shop", "S1"): "t", ("shop", "S3"): "t"}, trap_truth) == dict.fromkeys(TRAP_KINDS, 0)


def test_demo_truth_scores_perfectly_and_every_trap_can_be_fallen_into(tmp_path: Path) -> None:
    truth = load_truth(generate(tmp_path, customers=300, seed=3).truth_path)
    perfect = {key: f"T-{person}" for key, person in truth.persons.items()}
    scores = pairwise_scores(perfect, truth.persons)
    assert (scores.precision, scores.recall, scores.records) == (1.0, 1.0, len(truth.persons))
    assert traps_merged(perfect, truth) == dict.fromkeys(TRAP_KINDS, 0)

    # Trusting every shared trap value joins the trap records of a group.
    careless = dict(perfect)
    for key, trap in truth.traps.items():
        careless[key] = f"{trap.kind}:{trap.group}"
    assert traps_merged(careless, truth) == truth.trap_groups()
    assert all(count > 0 for count in truth.trap_groups().values())
    assert pairwise_scores(careless, truth.persons).precision < 1.0
