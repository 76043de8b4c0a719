"""Estimation that cannot collapse: EM with prior counts, then the order a person would accept.

Splink's EM is a maximum-likelihood estimate: a level that few true pairs fall into gets an m
as small as the data allow, and on unfamiliar data that is a weight of -100 bits or less, so
one typo vetoes a true match. identmatch therefore runs its own EM over the *agreement
patterns* of each training block (Splink computes the comparison vectors; the patterns are
counted in the database and the EM runs on the small table of distinct patterns), with

1. **prior counts** (a Dirichlet prior, as fastLink's Bayesian EM places on m): each
   comparison's m is estimated as if ``PRIOR_MATCHES`` extra matching pairs had been seen,
   spread over its levels by the documented defaults, so a level with few pairs stays near
   its default instead of collapsing to zero; and
2. **order and bounds** applied to the estimates (in bits): a closer level never weighs less
   than a farther one (pool-adjacent-violators along each similarity chain, weighted by the
   matching pairs seen), no level outweighs the comparison's exact agreement (cross-field
   swaps aside), no agreeing level weighs less than "different", a level's own floor (an
   identifier clash: wrong numbers are keyed every day) holds, and every trained weight lies
   in :data:`WEIGHT_BOUNDS`.

u stays Splink's estimate from random pairs (a million by default): that sample is large,
and a level no sampled pair falls into keeps its documented default u.

:class:`LevelHealth` records, per level, the matching pairs seen, the raw (maximum-likelihood)
and final weights and what was constrained: the model-health table of the model file and
the command line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel

from identmatch._model.levels import ComparisonSpec, LevelSpec

__all__ = [
    "PRIOR_MATCHES",
    "WEIGHT_BOUNDS",
    "LevelHealth",
    "MatchCounts",
    "Patterns",
    "em_on_patterns",
    "regularise",
]

WEIGHT_BOUNDS = (-15.0, 25.0)
"""No trained level weighs less or more than this (bits). Levels a person fixed (the family
guard) keep their value."""

PRIOR_MATCHES = 30.0
"""Prior count of matching pairs per comparison, spread over its levels by the default m: a
level seen in fewer matching pairs than this stays close to its default."""

_EM_TOLERANCE = 1e-5
_EM_ITERATIONS = 200
_NULL_KINDS = frozenset({"null", "both_null"})
"""Levels Splink treats as null (0 bits, never trained)."""
_SWAP_KINDS = frozenset({"reversed", "reversed_similar"})
_CHAIN_KINDS = frozenset({"jaro_winkler", "levenshtein"})


class LevelHealth(BaseModel, frozen=True, extra="forbid"):
    """One row of the model-health table: what the data said about a level, and what was kept.

    Weights are in bits (``log2(m / u)``).
    """

    comparison: str
    label: str
    matches_seen: float
    """Expected number of matching pairs in this level over the EM blocks (0: not trained)."""
    raw_weight: float | None
    """The maximum-likelihood estimate (EM without prior counts, u from sampling); None
    where EM did not see the comparison."""
    weight: float
    """The weight the model uses."""
    default_weight: float
    constrained: tuple[str, ...] = ()
    """What changed the raw estimate, in plain words (prior counts, order, floor, bounds)."""


@dataclass
class Patterns:
    """Distinct agreement patterns of one training block and how many pairs show each.

    ``levels[p, c]`` is the level index (into ``comparisons[c].levels``; 0 = null) of
    pattern ``p`` on comparison ``c``.
    """

    comparisons: tuple[str, ...]
    levels: np.ndarray
    counts: np.ndarray


@dataclass
class MatchCounts:
    """Expected matching pairs per level, summed over EM blocks, per trained comparison."""

    by_comparison: dict[str, np.ndarray] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)

    def add(self, name: str, counts: np.ndarray) -> None:
        if name in self.by_comparison:
            self.by_comparison[name] = self.by_comparison[name] + counts
        else:
            self.by_comparison[name] = counts.astype(float).copy()


def _trainable(spec: ComparisonSpec) -> list[int]:
    return [i for i, lv in enumerate(spec.levels) if lv.kind not in _NULL_KINDS and not lv.fixed]


def _prior_m(spec: ComparisonSpec) -> np.ndarray:
    """Default m over the trainable levels, scaled to the mass fixed levels leave free."""
    levels = spec.levels
    free = _trainable(spec)
    fixed_mass = sum(lv.m for lv in levels if lv.fixed and lv.kind not in _NULL_KINDS)
    prior = np.zeros(len(levels))
    total = sum(levels[i].m for i in free)
    for i in free:
        prior[i] = (1.0 - fixed_mass) * levels[i].m / total
    return prior


def _m_from_counts(spec: ComparisonSpec, counts: np.ndarray, prior_matches: float) -> np.ndarray:
    """Posterior-mean m of the trainable levels (fixed levels keep theirs)."""
    free = _trainable(spec)
    prior = _prior_m(spec)
    fixed_mass = 1.0 - prior[free].sum()
    m = np.array([lv.m for lv in spec.levels], dtype=float)
    seen = counts[free].sum()
    share = (counts[free] + prior_matches * prior[free] / (1.0 - fixed_mass)) / (
        seen + prior_matches
    )
    m[free] = (1.0 - fixed_mass) * share
    return m


def em_on_patterns(
    patterns: Patterns,
    specs: Sequence[ComparisonSpec],
    train: set[str],
    *,
    start_lambda: float = 0.1,
    prior_matches: float = PRIOR_MATCHES,
    iterations: int = _EM_ITERATIONS,
) -> tuple[dict[str, np.ndarray], float]:
    """EM (maximum a posteriori) on one block's patterns: m and u of ``train`` estimated.

    ``train`` names the comparisons that do not read the block's columns; the others agree on
    every pair of the block and are left out, as Splink leaves them out of its EM.

    Both m and u of the trained comparisons are free within the block, as in fastLink: pairs
    that share the blocking field (a postcode, a date of birth) agree more on the other
    fields than random pairs do (a household shares a street), and a u fixed at its
    random-pair value would let the matching class swallow them. Only m is kept; u comes
    from random sampling. Returns the expected matching pairs per level of each trained
    comparison at the last E-step, and the share of the block's pairs that match.
    """
    by_name = {s.name: s for s in specs}
    columns = [c for c, n in enumerate(patterns.comparisons) if n in train]
    order = [by_name[patterns.comparisons[c]] for c in columns]
    counts = patterns.counts.astype(float)
    m = {s.name: np.array([lv.m for lv in s.levels]) for s in order}
    u = {s.name: np.array([lv.u for lv in s.levels]) for s in order}
    u_prior = {s.name: u[s.name].copy() for s in order}
    null = {s.name: np.array([lv.kind in _NULL_KINDS for lv in s.levels]) for s in order}
    trained = [s for s in order if _trainable(s)]
    lam = start_lambda
    expected: dict[str, np.ndarray] = {}
    for _ in range(iterations):
        weight = np.zeros(len(counts))
        for c, s in zip(columns, order, strict=True):
            level_weight = np.where(null[s.name], 0.0, _weights(m[s.name], u[s.name]))
            weight += level_weight[patterns.levels[:, c]]
        logit = math.log2(lam / (1.0 - lam)) + weight
        posterior = 1.0 / (1.0 + np.exp2(-np.clip(logit, -200.0, 200.0)))
        matches = posterior * counts
        new_lam = float(np.clip((matches.sum() + 1.0) / (counts.sum() + 2.0), 1e-9, 1 - 1e-9))
        change = abs(new_lam - lam)
        lam = new_lam
        for s in trained:
            c = patterns.comparisons.index(s.name)
            level = patterns.levels[:, c]
            per_level = np.bincount(level, weights=matches, minlength=len(s.levels))
            per_level[null[s.name]] = 0.0
            expected[s.name] = per_level
            new_m = _m_from_counts(s, per_level, prior_matches)
            others = np.bincount(level, weights=counts - matches, minlength=len(s.levels))
            new_u = _u_from_counts(s, others, u_prior[s.name], prior_matches)
            change = max(change, float(np.max(np.abs(new_m - m[s.name]))))
            m[s.name], u[s.name] = new_m, new_u
        if change < _EM_TOLERANCE:
            break
    return expected, lam


def _u_from_counts(
    spec: ComparisonSpec, counts: np.ndarray, prior: np.ndarray, prior_pairs: float
) -> np.ndarray:
    """Posterior-mean u of the trainable levels within a block (fixed levels keep theirs)."""
    free = _trainable(spec)
    u = prior.copy()
    mass = prior[free].sum()
    u[free] = (
        mass
        * (counts[free] + prior_pairs * prior[free] / mass)
        / (counts[free].sum() + prior_pairs)
    )
    return u


def _weights(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    weights: np.ndarray = np.log2(np.clip(m, 1e-300, None)) - np.log2(u)
    return weights


def _pava(values: list[float], weights: list[float]) -> list[float]:
    """Non-increasing fit of ``values`` (pool adjacent violators), weighted."""
    blocks: list[list[float]] = []  # [value, weight, size]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out: list[float] = []
    for v, _, n in blocks:
        out.extend([v] * int(n))
    return out


def _chains(spec: ComparisonSpec, free: list[int]) -> list[list[int]]:
    """Levels ordered by closeness: the comparison's exact level, then its similarity levels on
    the same column, tightest first (the catalogue lists them so)."""
    top = _top(spec, free)
    chains: dict[tuple[str | None, str], list[int]] = {}
    for i in free:
        lv = spec.levels[i]
        if lv.kind in _CHAIN_KINDS:
            chains.setdefault((lv.column, lv.kind), []).append(i)
    out = []
    for (column, _), members in chains.items():
        head = [top] if top is not None and spec.levels[top].column == column else []
        out.append(head + members)
    return out


def _top(spec: ComparisonSpec, free: list[int]) -> int | None:
    first = next((i for i in free if spec.levels[i].kind != "else"), None)
    if first is not None and spec.levels[first].kind == "exact":
        return first
    return None


def regularise(
    spec: ComparisonSpec,
    u: np.ndarray,
    seen: np.ndarray | None,
    *,
    prior_matches: float = PRIOR_MATCHES,
) -> tuple[ComparisonSpec, list[LevelHealth]]:
    """One comparison's final m and u: prior counts, then order, floors and bounds.

    ``spec`` holds the default m and u; ``u`` the estimated u per level; ``seen`` the
    matching pairs per level over the EM blocks (None: EM did not see the comparison, and m
    keeps its default). Returns the comparison with its final m and u and its health rows.
    """
    if seen is None:
        m = np.array([lv.m for lv in spec.levels], dtype=float)
        raw = None
    else:
        m = _m_from_counts(spec, seen, prior_matches)
        raw = _m_from_counts(spec, seen, 0.0) if seen[_trainable(spec)].sum() > 0 else None
    levels = spec.levels
    free = _trainable(spec)
    w = _weights(m, u)
    notes: dict[int, list[str]] = {i: [] for i in range(len(levels))}
    if raw is not None:
        w_raw = _weights(raw, u)
        for i in free:
            if abs(w[i] - w_raw[i]) > 0.5:
                notes[i].append("shrunk toward its default (few pairs)")
    pairs = seen if seen is not None else np.zeros(len(levels))
    for chain in _chains(spec, free):
        fitted = _pava([float(w[i]) for i in chain], [float(pairs[i]) + 1.0 for i in chain])
        for i, value in zip(chain, fitted, strict=True):
            if abs(value - w[i]) > 1e-9:
                notes[i].append("pooled with its neighbour to keep the order")
                w[i] = value
    top = _top(spec, free)
    if top is not None:
        for i in free:
            if i != top and levels[i].kind not in _SWAP_KINDS and w[i] > w[top]:
                notes[i].append(f"capped at {_short(levels[top].label)!r}")
                w[i] = w[top]
    low, high = WEIGHT_BOUNDS
    for i in free:
        floor = levels[i].floor
        if floor is not None and w[i] < floor:
            notes[i].append(f"raised to its floor {floor:+.0f}")
            w[i] = floor
    different = next((i for i in free if levels[i].kind == "else"), None)
    if different is not None:
        for i in free:
            if i != different and w[i] < w[different]:
                notes[i].append(f"raised to {_short(levels[different].label)!r}")
                w[i] = w[different]
    for i in free:
        if w[i] < low or w[i] > high:
            notes[i].append(f"bounded to [{low:+.0f}, {high:+.0f}]")
            w[i] = min(max(w[i], low), high)
    new_levels: list[LevelSpec] = []
    for i, lv in enumerate(levels):
        if i not in free:
            new_levels.append(lv)
            continue
        m_i, u_i = float(u[i] * 2.0 ** w[i]), float(u[i])
        if m_i >= 0.999:
            m_i, u_i = 0.999, 0.999 / 2.0 ** w[i]
        new_levels.append(lv.model_copy(update={"m": max(m_i, 1e-300), "u": u_i}))
    final = spec.model_copy(update={"levels": tuple(new_levels)})
    rows = [
        LevelHealth(
            comparison=spec.name,
            label=lv.label,
            matches_seen=round(float(pairs[i]), 1),
            raw_weight=None if raw is None or i not in free else _finite(raw, u, i),
            weight=round(_level_weight(final.levels[i]), 3),
            default_weight=round(math.log2(lv.m / lv.u), 3),
            constrained=tuple(notes[i]),
        )
        for i, lv in enumerate(levels)
        if lv.kind not in _NULL_KINDS
    ]
    return final, rows


def _finite(m: np.ndarray, u: np.ndarray, i: int) -> float:
    """A raw weight for the health table; -999 stands for minus infinity (m of 0)."""
    if m[i] <= 0.0:
        return -999.0
    return round(max(float(_weights(m, u)[i]), -999.0), 3)


def _level_weight(lv: LevelSpec) -> float:
    return math.log2(lv.m / lv.u)


def _short(label: str) -> str:
    return label.split(": ", 1)[-1]
