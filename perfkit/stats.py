"""Summary statistics of timing samples: median, interquartile range, bootstrap CI of the median."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of timing samples in milliseconds."""

    n: int
    median_ms: float
    q1_ms: float
    q3_ms: float
    mean_ms: float
    stdev_ms: float
    min_ms: float
    max_ms: float
    ci_low_ms: float
    ci_high_ms: float

    @property
    def iqr_ms(self) -> float:
        return self.q3_ms - self.q1_ms


def summarize(samples_ms: Sequence[float], *, seed: int = 0) -> Stats:
    """Median, quartiles and a percentile-bootstrap 95% confidence interval of the median."""
    if not samples_ms:
        raise ValueError("no samples to summarize")
    a = np.asarray(samples_ms, dtype=float)
    q1, med, q3 = (float(x) for x in np.percentile(a, [25, 50, 75]))
    if a.size > 1:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, a.size, size=(BOOTSTRAP_RESAMPLES, a.size))
        medians = np.median(a[idx], axis=1)
        lo, hi = (float(x) for x in np.percentile(medians, [2.5, 97.5]))
        stdev = float(a.std(ddof=1))
    else:
        lo = hi = med
        stdev = 0.0
    return Stats(
        n=int(a.size),
        median_ms=med,
        q1_ms=q1,
        q3_ms=q3,
        mean_ms=float(a.mean()),
        stdev_ms=stdev,
        min_ms=float(a.min()),
        max_ms=float(a.max()),
        ci_low_ms=lo,
        ci_high_ms=hi,
    )
