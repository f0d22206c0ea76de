"""The Fellegi-Sunter model: comparison levels to a match probability.

For each compared field and level, ``m`` is the probability of that level
among pairs that are the same person and ``u`` among pairs that are not.  A
pair's match weight is ``log2(prior odds) + sum(log2(m / u))`` over the fields
present on both sides, and its probability ``1 / (1 + 2**-weight)``.

Estimation needs no labelled data:
- ``u`` from random pairs of records, which are almost never the same person;
- ``m`` and the prior by expectation-maximisation over the blocked candidate
  pairs, with ``u`` held fixed (the approach Splink takes);
- exact name matches are weighed by how common the name is (term-frequency
  adjustment): two records sharing "Smith" say less than two sharing
  "Featherstonehaugh".
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from distil_tui.core.resolve.comparison import Comparison, MatchFields, compare, field_values

Levels = tuple[int | None, ...]

_FLOOR = 1e-6
MIN_OBSERVED = 100
PSEUDO_PAIRS = 2000
MIN_TF_RECORDS = 1000  # values needed before their frequencies say anything
UNTRAINED_PRIOR = 1e-4  # pairs in which a field must be present for EM to learn its m
# Comparisons whose exact level is weighed by the frequency of the value.
TF_FIELDS = {"first_name": 0, "last_name": 1}


def _default_m(levels: int) -> list[float]:
    """A prior guess before EM: matches mostly agree exactly."""
    weights = [0.85] + [0.15 / (levels - 1)] * (levels - 1)
    return weights


@dataclass
class FSModel:
    comparisons: tuple[Comparison, ...]
    m: list[list[float]]
    u: list[list[float]]
    prior: float
    # Comparison index -> value -> relative frequency among records.
    tf: dict[int, dict[str, float]] = field(default_factory=dict)
    trained_on: int = 0  # candidate pairs EM saw

    @classmethod
    def untrained(cls, comparisons: tuple[Comparison, ...]) -> FSModel:
        m = [_default_m(len(c.levels)) for c in comparisons]
        return cls(comparisons, m, [c.u_guess() for c in comparisons], prior=UNTRAINED_PRIOR)

    def __post_init__(self) -> None:
        self._tables: list[list[float]] | None = None

    def _weights_table(self) -> list[list[float]]:
        """log2(m/u) of every level, computed once (the model does not
        change while it scores)."""
        if self._tables is None:
            self._tables = [
                [math.log2(max(m, _FLOOR) / max(u, _FLOOR)) for m, u in zip(ms, us, strict=True)]
                for ms, us in zip(self.m, self.u, strict=True)
            ]
        return self._tables

    def fast_weight(self, levels: Levels, values: Sequence[str | None]) -> float:
        """:meth:`weight` without the per-field breakdown: the hot path."""
        tables = self._weights_table()
        total = math.log2(self.prior / (1 - self.prior))
        tf = self.tf
        for i, level in enumerate(levels):
            if level is None:
                continue
            if level == 0 and i in tf and values[i] in tf[i]:
                total += math.log2(max(self.m[i][0], _FLOOR) / max(tf[i][values[i]], _FLOOR))
            else:
                total += tables[i][level]
        return total

    def field_weights(self, levels: Levels, values: Sequence[str | None]) -> list[float | None]:
        """log2(m/u) of each field, ``None`` where a side is missing."""
        out: list[float | None] = []
        for i, level in enumerate(levels):
            if level is None:
                out.append(None)
                continue
            m = self.m[i][level]
            u = self.u[i][level]
            if level == 0 and i in self.tf:
                u = max(self.tf[i].get(values[i] or "", u), _FLOOR)
            out.append(math.log2(max(m, _FLOOR) / max(u, _FLOOR)))
        return out

    def weight(self, levels: Levels, values: Sequence[str | None]) -> float:
        prior = math.log2(self.prior / (1 - self.prior))
        return prior + sum(w for w in self.field_weights(levels, values) if w is not None)

    @staticmethod
    def probability(weight: float) -> float:
        if weight > 60:
            return 1.0
        return 1.0 / (1.0 + 2.0 ** -weight)

    # -- persistence ------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({
            "comparisons": [[c.name, list(c.levels)] for c in self.comparisons],
            "m": self.m, "u": self.u, "prior": self.prior, "trained_on": self.trained_on,
        })

    @classmethod
    def from_json(cls, text: str, comparisons: tuple[Comparison, ...]) -> FSModel | None:
        """The stored model, or ``None`` if it was for other comparisons."""
        data = json.loads(text)
        stored = [(name, tuple(levels)) for name, levels in data["comparisons"]]
        if stored != [(c.name, c.levels) for c in comparisons]:
            return None
        return cls(comparisons, data["m"], data["u"], data["prior"], trained_on=data["trained_on"])


def estimate_u(population: Sequence[MatchFields], comparisons: tuple[Comparison, ...],
               samples: int = 10_000, seed: int = 0,
               non_matches: Sequence[Levels] = ()) -> list[list[float]]:
    """Level frequencies among pairs of different people.

    Exact agreement is computed from the values' frequencies, which is
    exact and cheap;
    the other levels are measured on random pairs.  The typical frequencies
    count as a few thousand pairs already seen, so that a small import does
    not learn from a handful of pairs that every name is common.

    ``non_matches`` are pairs reviewers rejected: different people known
    for sure, counted with the random pairs.  They are the look-alikes the
    model was wrong about, so each agreement they share weighs less."""
    counts = [[PSEUDO_PAIRS * u for u in c.u_guess()] for c in comparisons]
    n = len(population)
    if n >= 2:
        rng = random.Random(seed)
        for _ in range(min(samples, n * (n - 1) // 2)):
            i, j = rng.randrange(n), rng.randrange(n)
            if i == j:
                continue
            for k, level in enumerate(compare(population[i], population[j])):
                if level is not None:
                    counts[k][level] += 1
    u = [[c / sum(row) for c in row] for row in counts]
    for k, exact in enumerate(_exact_agreement(population, len(comparisons))):
        if exact is None:
            continue
        rest = sum(u[k][1:])
        u[k] = [exact] + [x / rest * (1 - exact) for x in u[k][1:]]
    if non_matches:
        for k, row in enumerate(u):
            seen = sum(counts[k])  # the pairs behind this field's u
            rejected = [0] * len(row)
            for levels in non_matches:
                if levels[k] is not None:
                    rejected[levels[k]] += 1
            u[k] = [(x * seen + r) / (seen + sum(rejected)) for x, r in zip(row, rejected, strict=True)]
    return u


def _exact_agreement(population: Sequence[MatchFields], width: int) -> list[float | None]:
    """Per field, the chance that two different random records with the
    field agree exactly: sum of c(c-1) / N(N-1) over the values' counts c.
    ``None`` with too few values."""
    counters = [Counter() for _ in range(width)]
    for fields in population:
        for k, value in enumerate(field_values(fields)):
            if value:
                counters[k][value] += 1
    out: list[float | None] = []
    for counter in counters:
        total = sum(counter.values())
        if total < MIN_TF_RECORDS:
            out.append(None)
            continue
        pairs = sum(c * (c - 1) for c in counter.values()) / (total * (total - 1))
        out.append(max(pairs, 1 / total**2))
    return out


def m_from_matches(known: Sequence[Levels], comparisons: tuple[Comparison, ...],
                   start: FSModel | None) -> tuple[FSModel, list[bool]]:
    """``m`` of each field measured on pairs known to match, for the fields
    present in enough of them; which fields that is.

    Records joined by an identifier are often copies of one another, so
    they agree more than matches found any other way: a tenth of the
    weight stays with the prior guess, lest one typo veto a match."""
    base = start or FSModel.untrained(comparisons)
    m = [row[:] for row in base.m]
    fixed = [False] * len(comparisons)
    for i, comparison in enumerate(comparisons):
        counts = [0.0] * len(comparison.levels)
        for levels in known:
            if levels[i] is not None:
                counts[levels[i]] += 1
        seen = sum(counts)
        if seen >= MIN_OBSERVED:
            guess = _default_m(len(comparison.levels))
            m[i] = [0.9 * c / seen + 0.1 * g for c, g in zip(counts, guess, strict=True)]
            fixed[i] = True
    return FSModel(comparisons, m, base.u, base.prior, trained_on=base.trained_on), fixed


def train(pairs: Iterable[Levels], comparisons: tuple[Comparison, ...], u: list[list[float]],
          start: FSModel | None = None, iterations: int = 100,
          fixed: Sequence[bool] | None = None) -> FSModel:
    """Estimate ``m`` and the prior by EM over candidate pairs, ``u`` fixed,
    and the ``m`` of ``fixed`` fields too."""
    patterns = Counter(pairs)
    base = start or FSModel.untrained(comparisons)
    m = [row[:] for row in base.m]
    prior = 0.1
    total = sum(patterns.values())
    if not total:
        return FSModel(comparisons, m, u, base.prior)
    # A field these pairs rarely carry (no date of birth in tracking events)
    # keeps what earlier training learnt of it.
    observed = [0] * len(comparisons)
    for levels, count in patterns.items():
        for i, level in enumerate(levels):
            if level is not None:
                observed[i] += count
    learn = [n >= MIN_OBSERVED and not (fixed and fixed[i]) for i, n in enumerate(observed)]
    for _ in range(iterations):
        sums = [[1e-3] * len(c.levels) for c in comparisons]
        matched = 0.0
        for levels, count in patterns.items():
            pm = prior
            pu = 1.0 - prior
            for i, level in enumerate(levels):
                if level is not None:
                    pm *= m[i][level]
                    pu *= u[i][level]
            p = pm / (pm + pu) if pm + pu > 0 else 0.0
            matched += p * count
            for i, level in enumerate(levels):
                if level is not None:
                    sums[i][level] += p * count
        new_m = [[s / sum(row) for s in row] if learn[i] else m[i] for i, row in enumerate(sums)]
        new_prior = min(max(matched / total, 1e-6), 1 - 1e-6)
        # Converged when neither m nor the prior moves (with every m fixed,
        # only the prior does).
        delta = max(abs(new_prior - prior), *(
            abs(a - b) for ra, rb in zip(m, new_m, strict=True) for a, b in zip(ra, rb, strict=True)))
        m, prior = new_m, new_prior
        if delta < 1e-6:
            break
    return FSModel(comparisons, m, u, prior, trained_on=total)
