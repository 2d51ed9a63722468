"""Is a timing change real? Mann-Whitney U test (numpy only) and confidence-interval overlap of medians."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perfkit.stats import Stats, summarize

ALPHA = 0.05
# Below this many samples in total the normal approximation is poor: use a seeded permutation test instead.
PERMUTATION_MAX_N = 30
PERMUTATIONS = 20000


@dataclass(frozen=True, slots=True)
class Significance:
    """The evidence that two timing samples differ: both tests must agree before a change counts."""

    p_value: float
    ci_disjoint: bool
    direction: int  # +1 current slower, -1 current faster, 0 intervals overlap

    @property
    def significant(self) -> bool:
        return self.ci_disjoint and self.p_value < ALPHA


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, dtype=float)
    sorted_x = x[order]
    # Boundaries of runs of equal values.
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def mann_whitney_p(a: Sequence[float], b: Sequence[float], *, seed: int = 0) -> float:
    """Two-sided p-value of the Mann-Whitney U test that a and b come from the same distribution."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = np.concatenate([x, y])
    ranks = _ranks(pooled)
    if np.all(ranks == ranks[0]):
        return 1.0  # every value equal: no evidence of any difference
    mean_u = n1 * n2 / 2.0
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    if n1 + n2 <= PERMUTATION_MAX_N:
        rng = np.random.default_rng(seed)
        perms = rng.permuted(np.tile(ranks, (PERMUTATIONS, 1)), axis=1)
        u_perm = perms[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2.0
        extreme = np.count_nonzero(np.abs(u_perm - mean_u) >= abs(u1 - mean_u) - 1e-9)
        return float((extreme + 1) / (PERMUTATIONS + 1))
    n = n1 + n2
    _, counts = np.unique(pooled, return_counts=True)
    tie_term = float(((counts**3) - counts).sum()) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return 1.0
    z = (abs(u1 - mean_u) - 0.5) / sigma  # continuity correction
    return float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0))))


def stats_of(samples: Sequence[float], stats: Stats | None) -> Stats:
    """The recorded summary, or one computed from the samples when a file carries none."""
    return stats if stats is not None else summarize(samples)


def significance(base: Sequence[float], base_stats: Stats, cur: Sequence[float], cur_stats: Stats) -> Significance:
    """Mann-Whitney p-value plus whether the medians' confidence intervals are disjoint (and which way).

    A run of a single sample has no interval: nothing is disjoint, so the change is never significant.
    """
    b_lo, b_hi, c_lo, c_hi = base_stats.ci_low_ms, base_stats.ci_high_ms, cur_stats.ci_low_ms, cur_stats.ci_high_ms
    if b_lo is None or b_hi is None or c_lo is None or c_hi is None:
        direction = 0
    elif c_lo > b_hi:
        direction = 1
    elif c_hi < b_lo:
        direction = -1
    else:
        direction = 0
    return Significance(p_value=mann_whitney_p(base, cur), ci_disjoint=direction != 0, direction=direction)
