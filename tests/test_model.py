"""The Fellegi-Sunter model (resolve/model.py): EM recovers known m and
prior from synthetic comparison vectors, u is measured on random pairs,
weights are monotone in agreement, term frequencies weigh rare names more,
and the model survives a round trip through JSON."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distil_tui.core.resolve.comparison import (
    BASE_COMPARISONS,
    Comparison,
    MatchFields,
    comparisons,
)
from distil_tui.core.resolve.model import (
    MIN_OBSERVED,
    TF_FIELDS,
    FSModel,
    estimate_u,
    m_from_matches,
    train,
)
from distil_tui.core.resolve.probabilistic import MIN_TF_SAMPLE, term_frequencies

# -- synthetic comparison vectors with a known truth --------------------------

SYNTH = (
    Comparison("name", ("exact", "close", "similar", "else")),
    Comparison("dob", ("exact", "close", "else")),
    Comparison("email", ("exact", "else")),
)
TRUE_M = [[0.75, 0.12, 0.08, 0.05], [0.80, 0.12, 0.08], [0.90, 0.10]]
TRUE_U = [[0.01, 0.02, 0.07, 0.90], [0.02, 0.08, 0.90], [0.05, 0.95]]


def synthetic_pairs(n: int, share: float, seed: int, missing: float = 0.1,
                    m: list[list[float]] = TRUE_M) -> list[tuple[int | None, ...]]:
    """``n`` comparison vectors, a ``share`` of them matches drawn from ``m``,
    the rest from ``TRUE_U``; each field missing with probability ``missing``."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        probs = m if rng.random() < share else TRUE_U
        out.append(tuple(
            None if rng.random() < missing else rng.choices(range(len(p)), weights=p)[0]
            for p in probs
        ))
    return out


def max_error(estimated: list[list[float]], truth: list[list[float]]) -> float:
    return max(abs(a - b) for ra, rb in zip(estimated, truth, strict=True)
               for a, b in zip(ra, rb, strict=True))


@pytest.mark.parametrize(("share", "seed"), [(0.10, 1), (0.10, 2), (0.30, 3)])
def test_em_recovers_the_true_m_and_prior(share, seed):
    pairs = synthetic_pairs(20_000, share, seed)
    model = train(pairs, SYNTH, TRUE_U)
    assert model.trained_on == 20_000
    assert model.u == TRUE_U  # u is held fixed
    for row in model.m:
        assert sum(row) == pytest.approx(1.0)
    assert max_error(model.m, TRUE_M) < 0.03, model.m
    assert model.prior == pytest.approx(share, abs=0.02)
    # The starting guess (85% exact) was not the answer: EM moved.
    assert max_error(FSModel.untrained(SYNTH).m, TRUE_M) > 0.05


def test_em_from_a_stored_model_converges_to_the_same_answer():
    pairs = synthetic_pairs(20_000, 0.1, 4)
    cold = train(pairs, SYNTH, TRUE_U)
    start = FSModel(SYNTH, [[0.4, 0.3, 0.2, 0.1], [0.5, 0.3, 0.2], [0.6, 0.4]], TRUE_U, 0.5)
    warm = train(pairs, SYNTH, TRUE_U, start=start)
    assert max_error(warm.m, cold.m) < 0.01
    assert warm.prior == pytest.approx(cold.prior, abs=0.005)


@pytest.mark.parametrize("share", [0.5, 0.02])
def test_em_with_every_m_fixed_still_converges_the_prior(share):
    # With m fixed, only the prior moves: EM must not stop after one pass
    # (one pass from 0.1 gives 0.465 for 0.5 and 0.028 for 0.02).
    pairs = synthetic_pairs(20_000, share, 7)
    start = FSModel(SYNTH, [row[:] for row in TRUE_M], TRUE_U, 0.1)
    model = train(pairs, SYNTH, TRUE_U, start=start, fixed=[True, True, True])
    assert model.m == TRUE_M  # fixed m are kept...
    assert model.prior == pytest.approx(share, rel=0.1)  # ...and the prior is still estimated
    one_pass = train(pairs, SYNTH, TRUE_U, start=start, fixed=[True, True, True], iterations=1)
    assert abs(model.prior - share) < abs(one_pass.prior - share)


def test_em_with_some_m_fixed_keeps_them_and_learns_the_rest():
    pairs = synthetic_pairs(20_000, 0.2, 8)
    start = FSModel(SYNTH, [TRUE_M[0][:], [0.34, 0.33, 0.33], TRUE_M[2][:]], TRUE_U, 0.1)
    model = train(pairs, SYNTH, TRUE_U, start=start, fixed=[True, False, True])
    assert model.m[0] == TRUE_M[0] and model.m[2] == TRUE_M[2]
    assert model.m[1] == pytest.approx(TRUE_M[1], abs=0.03)
    assert model.prior == pytest.approx(0.2, abs=0.02)


def test_em_keeps_the_starting_m_of_a_field_absent_from_all_pairs():
    pairs = [(a, b, None) for a, b, _c in synthetic_pairs(5_000, 0.1, 5)]
    start_m = [[0.4, 0.3, 0.2, 0.1], [0.5, 0.3, 0.2], [0.66, 0.34]]
    start = FSModel(SYNTH, [row[:] for row in start_m], TRUE_U, 0.01)
    model = train(pairs, SYNTH, TRUE_U, start=start)
    assert model.m[2] == start_m[2]
    assert model.m[0] != start_m[0] and model.m[1] != start_m[1]  # the others learnt


def test_em_keeps_the_starting_m_of_a_field_too_rarely_present():
    pairs = synthetic_pairs(5_000, 0.1, 6)
    rare = [(a, b, c if i < MIN_OBSERVED - 1 else None) for i, (a, b, c) in enumerate(pairs)]
    assert sum(p[2] is not None for p in rare) < MIN_OBSERVED
    start_m = [[0.4, 0.3, 0.2, 0.1], [0.5, 0.3, 0.2], [0.66, 0.34]]
    model = train(rare, SYNTH, TRUE_U, start=FSModel(SYNTH, start_m, TRUE_U, 0.01))
    assert model.m[2] == start_m[2]
    enough = [(a, b, c if i < 5 * MIN_OBSERVED else None) for i, (a, b, c) in enumerate(pairs)]
    model = train(enough, SYNTH, TRUE_U, start=FSModel(SYNTH, start_m, TRUE_U, 0.01))
    assert model.m[2] != start_m[2]


def test_em_on_no_pairs_changes_nothing():
    start = FSModel(SYNTH, [[0.4, 0.3, 0.2, 0.1], [0.5, 0.3, 0.2], [0.66, 0.34]], TRUE_U, 0.02)
    model = train([], SYNTH, TRUE_U, start=start)
    assert model.m == start.m and model.prior == 0.02 and model.trained_on == 0


def test_m_measured_on_known_matches():
    known = synthetic_pairs(2_000, 1.0, 9)  # all matches
    known = [(a, b, c if i < MIN_OBSERVED // 2 else None) for i, (a, b, c) in enumerate(known)]
    start = FSModel(SYNTH, [[0.4, 0.3, 0.2, 0.1], [0.5, 0.3, 0.2], [0.66, 0.34]], TRUE_U, 0.02)
    model, fixed = m_from_matches(known, SYNTH, start)
    assert fixed == [True, True, False]  # the email is in too few known pairs
    assert model.m[2] == start.m[2]
    for i in (0, 1):
        assert sum(model.m[i]) == pytest.approx(1.0)
        # Measured, give or take the small share kept for the prior guess.
        assert max_error([model.m[i]], [TRUE_M[i]]) < 0.05
    assert model.u == start.u


# -- u on random pairs --------------------------------------------------------

_letters = random.Random(0)
FIRST = sorted({"".join(_letters.choices("abcdefghijklmnopqrstuvwxyz", k=7)) for _ in range(50)})
LAST = sorted({"".join(_letters.choices("abcdefghijklmnopqrstuvwxyz", k=8)) for _ in range(500)})


def random_people(n: int, seed: int) -> list[MatchFields]:
    """Distinct people: a first name from 50, a last name from 500, a random
    date of birth, their own email."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(MatchFields(
            first=rng.choice(FIRST),
            last=rng.choice(LAST),
            dob=f"{rng.randrange(1940, 2005)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}",
            postcode=None, town=None, address=None,
            email=f"person{i}@mail.co.uk", phone=None,
        ))
    return out


def test_u_is_measured_on_random_pairs_of_distinct_people():
    comps = BASE_COMPARISONS
    u = estimate_u(random_people(2_000, 1), comps, samples=20_000)
    names = [c.name for c in comps]
    for row in u:
        assert sum(row) == pytest.approx(1.0)
    email, dob, first = names.index("email_address"), names.index("date_of_birth"), 0
    # Everyone has their own email: exact agreement only from the prior pseudo-pairs.
    assert u[email][0] < 1e-4
    assert u[dob][0] < 0.002
    # One of 50 first names: about 1 pair in 50 agrees, whatever the guess (0.01).
    assert len(FIRST) == 50
    assert u[first][0] == pytest.approx(1 / 50, abs=0.005)
    assert u[1][0] < 0.005  # one of 500 last names
    # Fields nobody has keep the typical guess.
    postcode = names.index("postcode")
    assert u[postcode] == pytest.approx(comps[postcode].u_guess())
    for i in (email, dob, first, 1):
        assert u[i][-1] > 0.5  # different people mostly land in "else"


def test_exact_agreement_u_is_the_chance_two_different_records_share_the_value():
    # 600 Anns, 400 Bobs: two different records agree with probability
    # (600*599 + 400*399) / (1000*999), whatever random pairs were drawn.
    people = [MatchFields("ann" if i < 600 else "bob", None, None, None, None, None, None, None)
              for i in range(1000)]
    u = estimate_u(people, BASE_COMPARISONS, samples=500)
    assert u[0][0] == pytest.approx((600 * 599 + 400 * 399) / (1000 * 999))
    assert sum(u[0]) == pytest.approx(1.0)
    # Everyone's own value: the floor, not zero (a log of it is taken).
    unique = [MatchFields(None, None, None, None, None, None, f"p{i}@mail.co.uk", None) for i in range(1000)]
    email = [c.name for c in BASE_COMPARISONS].index("email_address")
    assert 0 < estimate_u(unique, BASE_COMPARISONS, samples=500)[email][0] <= 1 / 1000


def test_u_of_too_small_a_population_is_the_typical_guess():
    for population in ([], random_people(1, 2)):
        u = estimate_u(population, BASE_COMPARISONS)
        assert u == [pytest.approx(c.u_guess()) for c in BASE_COMPARISONS]


def test_u_is_reproducible():
    people = random_people(300, 3)
    assert estimate_u(people, BASE_COMPARISONS, samples=2_000) == estimate_u(
        people, BASE_COMPARISONS, samples=2_000)


# -- weights and probabilities ------------------------------------------------

level_vectors = st.tuples(*(
    st.one_of(st.none(), st.integers(0, len(c.levels) - 1)) for c in BASE_COMPARISONS
))


def trained_synthetic() -> FSModel:
    return train(synthetic_pairs(20_000, 0.1, 1), SYNTH, TRUE_U)


@settings(max_examples=200, deadline=None)
@given(levels=level_vectors, data=st.data())
def test_weight_grows_with_agreement(levels, data):
    model = FSModel.untrained(BASE_COMPARISONS)
    values = [None] * len(BASE_COMPARISONS)
    field = data.draw(st.integers(0, len(BASE_COMPARISONS) - 1))
    worse, better = list(levels), list(levels)
    worse[field] = data.draw(st.integers(1, len(BASE_COMPARISONS[field].levels) - 1))
    better[field] = data.draw(st.integers(0, worse[field] - 1))
    w, wb = model.weight(tuple(worse), values), model.weight(tuple(better), values)
    assert wb > w
    assert model.probability(wb) >= model.probability(w)


def test_agreement_is_evidence_for_and_disagreement_against():
    for model in (FSModel.untrained(BASE_COMPARISONS), trained_synthetic()):
        n = len(model.comparisons)
        values = [None] * n
        for i, c in enumerate(model.comparisons):
            ws = []
            for lv in range(len(c.levels)):
                levels = [None] * n
                levels[i] = lv
                ws.append(model.field_weights(tuple(levels), values)[i])
            assert ws == sorted(ws, reverse=True) and len(set(ws)) == len(ws), c.name
            assert ws[0] > 0 > ws[-1], c.name
        nothing = model.weight((None,) * n, values)
        assert nothing == pytest.approx(math.log2(model.prior / (1 - model.prior)))
        everything = model.weight((0,) * n, values)
        disagree = model.weight(tuple(len(c.levels) - 1 for c in model.comparisons), values)
        assert disagree < nothing < everything


def test_the_weight_is_the_prior_plus_the_field_weights():
    model = trained_synthetic()
    levels = (0, 2, None)
    fw = model.field_weights(levels, [None] * 3)
    assert fw[2] is None
    assert fw[0] == pytest.approx(math.log2(model.m[0][0] / TRUE_U[0][0]))
    assert fw[1] == pytest.approx(math.log2(model.m[1][2] / TRUE_U[1][2]))
    assert model.weight(levels, [None] * 3) == pytest.approx(
        math.log2(model.prior / (1 - model.prior)) + fw[0] + fw[1])


names = st.sampled_from(["smith", "featherstonehaugh", "jones", "zzyzx", "ann", "bob"])


@settings(max_examples=200, deadline=None)
@given(levels=level_vectors, first=names, last=names)
def test_the_fast_weight_is_the_weight(levels, first, last):
    """The scoring hot path and the per-field breakdown shown as evidence
    must agree, term-frequency adjustment included."""
    model = FSModel.untrained(BASE_COMPARISONS)
    model.m[0] = [0.7, 0.1, 0.1, 0.1]
    model.prior = 0.003
    model.tf = {0: {"ann": 0.3, "bob": 1e-9}, 1: {"smith": 0.2, "featherstonehaugh": 0.0001}}
    values = [first, last, *([None] * (len(BASE_COMPARISONS) - 2))]
    assert model.fast_weight(levels, values) == pytest.approx(model.weight(levels, values), abs=1e-9)


@given(a=st.floats(-200, 200), b=st.floats(-200, 200))
def test_probability_is_monotone_in_the_weight(a, b):
    pa, pb = FSModel.probability(a), FSModel.probability(b)
    assert 0.0 <= pa <= 1.0
    if a < b:
        assert pa <= pb


def test_probability_values():
    assert FSModel.probability(0) == 0.5
    assert FSModel.probability(1) == pytest.approx(2 / 3)
    assert FSModel.probability(-1) == pytest.approx(1 / 3)
    assert FSModel.probability(100) == 1.0
    assert FSModel.probability(-100) < 1e-29


# -- term frequencies ---------------------------------------------------------


def name_sample() -> list[MatchFields]:
    rng = random.Random(5)
    sample = []
    for i in range(MIN_TF_SAMPLE + 200):
        last = "smith" if i % 5 == 0 else f"surname{rng.randrange(5000)}"
        if i == 7:
            last = "featherstonehaugh"
        sample.append(MatchFields(f"first{i % 300}", last, None, None, None, None, None, None))
    return sample


def test_a_rare_exact_name_weighs_more_than_a_common_one():
    model = FSModel.untrained(BASE_COMPARISONS)
    model.tf = term_frequencies(name_sample())
    last = TF_FIELDS["last_name"]
    assert model.tf[last]["smith"] == pytest.approx(0.2)
    levels = (None, 0, *([None] * (len(BASE_COMPARISONS) - 2)))
    n = len(BASE_COMPARISONS)

    def weight(name: str, lv: int = 0) -> float:
        lvls = list(levels)
        lvls[last] = lv
        values = [None] * n
        values[last] = name
        return model.weight(tuple(lvls), values)

    assert weight("featherstonehaugh") > weight("smith")
    # A name the sample does not know is weighed by the model's u.
    plain = FSModel.untrained(BASE_COMPARISONS)
    assert weight("zzyzx") == pytest.approx(plain.weight(levels, [None] * n))
    # Only the exact level is adjusted: a close "smith" is a close anything.
    assert weight("smith", 1) == pytest.approx(weight("featherstonehaugh", 1))
    # One in five records a Smith: agreeing on it is weaker evidence than the typical u says.
    assert weight("smith") < plain.weight(levels, [None] * n)


def test_term_frequencies_need_a_sample_large_enough():
    assert term_frequencies(name_sample()[: MIN_TF_SAMPLE - 1]) == {}
    tf = term_frequencies(name_sample())
    assert set(tf) == set(TF_FIELDS.values())
    for freqs in tf.values():
        assert sum(freqs.values()) == pytest.approx(1.0)


# -- persistence --------------------------------------------------------------


def test_model_round_trips_through_json():
    comps = comparisons(("membership_no",))
    model = FSModel.untrained(comps)
    model.m[0] = [0.7, 0.1, 0.1, 0.1]
    model.u[2] = [0.001, 0.002, 0.003, 0.994]
    model.prior = 0.00123
    model.trained_on = 4321
    text = model.to_json()
    back = FSModel.from_json(text, comps)
    assert back is not None
    assert (back.comparisons, back.m, back.u, back.prior, back.trained_on) == (
        comps, model.m, model.u, 0.00123, 4321)
    assert back.to_json() == text
    levels = (0, 1, 2, None, 0, 3, 1, 0, 1)
    assert back.weight(levels, [None] * len(comps)) == model.weight(levels, [None] * len(comps))
    json.loads(text)  # plain JSON


def test_a_stored_model_for_other_comparisons_is_not_used():
    text = FSModel.untrained(comparisons(())).to_json()
    assert FSModel.from_json(text, comparisons(())) is not None
    assert FSModel.from_json(text, comparisons(("membership_no",))) is None
    assert FSModel.from_json(FSModel.untrained(comparisons(("a",))).to_json(), comparisons(("b",))) is None
    renamed = tuple(Comparison(c.name, (*c.levels[:-1], "other")) for c in BASE_COMPARISONS)
    assert FSModel.from_json(text, renamed) is None
    assert FSModel.from_json(text, tuple(reversed(BASE_COMPARISONS))) is None


def test_rejected_pairs_count_as_non_matches_in_u():
    people = random_people(500, 3)
    plain = estimate_u(people, BASE_COMPARISONS, samples=2_000)
    # Reviewers rejected pairs agreeing exactly on last name and postcode.
    rejected = [(None, 0, 3, 0, None, None, None, None)] * 200
    taught = estimate_u(people, BASE_COMPARISONS, samples=2_000, non_matches=rejected)
    last, postcode, first = 1, 3, 0
    assert taught[last][0] > plain[last][0]
    assert taught[postcode][0] > plain[postcode][0]
    assert taught[first] == plain[first]  # a field the rejected pairs did not carry
    for row in taught:
        assert sum(row) == pytest.approx(1.0)
