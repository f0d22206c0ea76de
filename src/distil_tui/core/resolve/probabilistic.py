"""Probabilistic matching of one import's records against each other and the
store: blocking, comparison, training and scoring.

The store is reached only through the two callbacks the importer passes, so
this module can be read (and tested) without a database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from distil_tui.core.resolve.comparison import (
    BASE_COMPARISONS,
    DOB_INDEX,
    Comparison,
    MatchFields,
    blocking_keys,
    compare,
    comparisons,
    field_values,
    oriented,
)
from distil_tui.core.resolve.model import TF_FIELDS, FSModel, Levels, estimate_u, m_from_matches, train

# A key filed under more records than this is too common to compare them all
# (a shared surname code in one postcode): other keys must find the match.
MAX_BLOCK = 50
# Name-only keys are the loosest (every John Smith): a common name must be
# found through date of birth, postcode or address instead.
MAX_NAME_BLOCK = 8


def block_limit(key: str) -> int:
    """How many records may share a blocking key for its block to be
    compared."""
    return MAX_NAME_BLOCK if key.startswith("n:") else MAX_BLOCK
MIN_TF_SAMPLE = 1000
# EM needs enough pairs to tell matches from non-matches.
MIN_TRAINING_PAIRS = 500


@dataclass(frozen=True)
class ScoredPair:
    left: Hashable  # linker nodes: ("c", customer id) or ("r", new record index)
    right: Hashable
    probability: float
    weight: float
    evidence: dict[str, dict]  # field -> {"values": [a, b], "level": name, "weight": w}
    # The pair agrees on something a household does not share (date of
    # birth, a personal id): a different first name is then a typo or a
    # mix-up, not a different person at the same address.
    personal_agreement: bool = False


@dataclass
class Candidate:
    """A stored record that shares a blocking key with a new one."""

    record_id: int
    node: Hashable
    fields: MatchFields


MODEL_KEY = "fs_model"  # the trained model, in the store's meta table


def load_model(store, conn, extra_fields: tuple[str, ...]) -> FSModel | None:
    """The model the store last trained, if it compares these fields."""
    text = store.meta_get(conn, MODEL_KEY)
    return FSModel.from_json(text, comparisons(extra_fields)) if text else None


def save_model(store, conn, model: FSModel) -> None:
    store.meta_set(conn, MODEL_KEY, model.to_json())


def levels_from_evidence(comps: Sequence[Comparison], evidence: dict) -> tuple[Levels, tuple[str | None, ...]]:
    """Comparison levels and first-side values of stored per-field evidence,
    in ``comps`` order; ``None`` for a field the evidence does not cover."""
    levels: list[int | None] = []
    values: list[str | None] = []
    for comparison in comps:
        detail = evidence.get(comparison.name)
        if isinstance(detail, dict):
            levels.append(comparison.levels.index(detail["level"]) if detail["level"] in comparison.levels else None)
            values.append(detail["values"][0])
        else:
            levels.append(None)
            values.append(None)
    return tuple(levels), tuple(values)


def evidence(model: FSModel, levels: Levels, a: MatchFields, b: MatchFields) -> tuple[float, dict[str, dict]]:
    values_a, values_b = field_values(oriented(a, b)), field_values(b)
    weights = model.field_weights(levels, values_a)
    out: dict[str, dict] = {}
    for i, (comparison, level) in enumerate(zip(model.comparisons, levels, strict=True)):
        if level is None:
            continue
        out[comparison.name] = {
            "values": [values_a[i], values_b[i]],
            "level": comparison.levels[level],
            "weight": round(weights[i], 3),
        }
    prior = math.log2(model.prior / (1 - model.prior))
    return prior + sum(w for w in weights if w is not None), out


def match(
    new: Sequence[tuple[Hashable, MatchFields]],
    *,
    extra_fields: tuple[str, ...],
    stored_candidates: Callable[[dict[str, int]], dict[str, list[Candidate] | None]],
    population: Callable[[], list[MatchFields]],
    same_cluster: Callable[[Hashable, Hashable], bool],
    stored_model: FSModel | None,
    stored_records: Callable[[], int],
    min_probability: float,
    labelled_matches: Sequence[Levels] = (),
    labelled_non_matches: Sequence[Levels] = (),
    keys: Sequence[list[str]] | None = None,
    train: bool = True,
) -> tuple[list[ScoredPair], FSModel]:
    """Score the new records against each other and the stored records.

    Returns the pairs at or above ``min_probability`` (the best pair per
    pair of nodes) and the model used, trained on this import's candidate
    pairs when there are enough of them.  ``labelled_matches`` and
    ``labelled_non_matches`` are the comparison levels of pairs reviewers
    approved and rejected.  ``stored_candidates`` gives, for blocking keys
    with their room (how many stored records the key's block may hold),
    the stored records sharing each key, or None where more than its room
    do (keys no stored record shares may be left out).
    ``stored_records`` counts the records in the
    store (called only when training).  ``keys`` are the new records'
    blocking keys, when the caller has already made them.  With ``train``
    false the stored model is used as it is (a handful of records re-linked
    would teach it nothing but their own bias).
    """
    comps = comparisons(extra_fields)
    personal_fields = (DOB_INDEX, *range(len(BASE_COMPARISONS), len(comps)))
    keyed: dict[str, list[int]] = defaultdict(list)
    for i, (_node, fields) in enumerate(new):
        for key in keys[i] if keys is not None else blocking_keys(fields):
            keyed[key].append(i)
    # A key's block is compared when its new and stored records together
    # are no more than the key's limit: each key has room for so many
    # stored records.
    room = {key: block_limit(key) - len(members) for key, members in keyed.items()
            if len(members) <= block_limit(key)}
    stored_by_key = stored_candidates(room)

    # Candidate pairs: (new index, new index) and (new index, stored record).
    pairs: set[tuple[int, int]] = set()
    stored_pairs: set[tuple[int, int]] = set()
    stored_by_id: dict[int, Candidate] = {}
    for key, members in keyed.items():
        olds = stored_by_key.get(key, []) if key in room else None
        if olds is None:  # too many records share the key: it tells nothing
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
            for cand in olds:
                stored_by_id[cand.record_id] = cand
                stored_pairs.add((members[x], cand.record_id))

    compared: list[tuple[Hashable, Hashable, Levels, MatchFields, MatchFields]] = []
    # Blocked pairs that shared identifiers already joined, and the pairs
    # reviewers approved: known matches.
    known: list[Levels] = list(labelled_matches)
    for i, j in sorted(pairs):
        (ni, fi), (nj, fj) = new[i], new[j]
        if not same_cluster(ni, nj):
            compared.append((ni, nj, compare(fi, fj), fi, fj))
        else:
            known.append(compare(fi, fj))
    for i, rid in sorted(stored_pairs):
        ni, fi = new[i]
        cand = stored_by_id[rid]
        if not same_cluster(ni, cand.node):
            compared.append((cand.node, ni, compare(cand.fields, fi), cand.fields, fi))
        else:
            known.append(compare(cand.fields, fi))

    # The population's records measure u and the names' frequencies: for
    # training, or for a store with no model yet.
    sample = population() if train or stored_model is None else []
    model = _model(compared if train else [], known, comps, stored_model, sample, labelled_non_matches)
    if model is not stored_model and model.trained_on:
        # EM's prior is the share of matches among *blocked* pairs; a pair's
        # own fields already carry the evidence that blocked it, so the
        # prior that goes with them is the share among all pairs.
        n = len(new)
        all_pairs = n * (n - 1) // 2 + n * stored_records()
        model.prior = min(max(model.prior * len(compared) / max(all_pairs, 1), 1e-9), 0.5)
    if train:
        model.tf = term_frequencies(sample)

    best: dict[tuple[Hashable, Hashable], ScoredPair] = {}
    for left, right, levels, fa, fb in compared:
        probability = model.probability(model.fast_weight(levels, field_values(oriented(fa, fb))))
        if probability < min_probability:
            continue
        weight, ev = evidence(model, levels, fa, fb)
        key = (left, right) if left <= right else (right, left)
        known = best.get(key)
        if known is None or weight > known.weight:
            # Date of birth and the extra (id-like) fields, exact or one typo.
            personal = any(levels[i] is not None and levels[i] <= 1 for i in personal_fields)
            best[key] = ScoredPair(left, right, probability, weight, ev, personal)
    ordered = sorted(best.values(), key=lambda p: (-p.weight, p.left, p.right))
    return ordered, model


def _model(compared, known: list[Levels], comps, stored_model: FSModel | None,
           sample: list[MatchFields], non_matches: Sequence[Levels] = ()) -> FSModel:
    """Train on this import's pairs when there are enough; else the stored
    model; else prior guesses for m with u measured on the records.

    Where pairs joined by a shared identifier are plentiful, they are
    matches known for sure: each field's ``m`` is measured on them, and EM
    only estimates the rest.  Left to itself, EM on data full of namesakes
    learns that "match" means "same name"."""
    if len(compared) >= MIN_TRAINING_PAIRS:
        start = stored_model
        fixed: list[bool] = [False] * len(comps)
        if known:
            start, fixed = m_from_matches(known, comps, stored_model)
        return train((c[2] for c in compared), comps, estimate_u(sample, comps, non_matches=non_matches),
                     start=start, fixed=fixed)
    if stored_model is not None:
        return stored_model
    untrained = FSModel.untrained(comps)
    untrained.u = estimate_u(sample, comps, non_matches=non_matches)
    return untrained


def term_frequencies(sample: Sequence[MatchFields]) -> dict[int, dict[str, float]]:
    """How common each first and last name is among the records; nothing
    from a sample too small to say (every name in ten records looks common)."""
    if len(sample) < MIN_TF_SAMPLE:
        return {}
    counts: dict[int, dict[str, int]] = {i: defaultdict(int) for i in TF_FIELDS.values()}
    for fields in sample:
        values = field_values(fields)
        for i in counts:
            if values[i]:
                counts[i][values[i]] += 1
    return {i: {k: n / max(sum(c.values()), 1) for k, n in c.items()} for i, c in counts.items()}
