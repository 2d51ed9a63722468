"""Summary statistics of timing samples: median, interquartile range, bootstrap CI of the median."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of timing samples in milliseconds.

    With a single sample the spread cannot be computed: quartiles, standard deviation and the confidence interval
    are None (null in JSON, "n/a" when shown), never a zero-width interval.
    """

    n: int
    median_ms: float
    q1_ms: float | None
    q3_ms: float | None
    mean_ms: float
    stdev_ms: float | None
    min_ms: float
    max_ms: float
    ci_low_ms: float | None
    ci_high_ms: float | None

    @property
    def iqr_ms(self) -> float | None:
        """Interquartile range; None with a single sample."""
        if self.q1_ms is None or self.q3_ms is None:
            return None
        return self.q3_ms - self.q1_ms

    @property
    def has_spread(self) -> bool:
        """Whether quartiles, deviation and the confidence interval exist (at least two samples)."""
        return self.ci_low_ms is not None and self.ci_high_ms is not None


def summarize(samples_ms: Sequence[float], *, seed: int = 0) -> Stats:
    """Median, quartiles and a percentile-bootstrap 95% confidence interval of the median (None for one sample)."""
    if not samples_ms:
        raise ValueError("no samples to summarize")
    a = np.asarray(samples_ms, dtype=float)
    q1: float | None
    q3: float | None
    stdev: float | None
    lo: float | None
    hi: float | None
    med = float(np.median(a))
    if a.size > 1:
        q1, q3 = (float(x) for x in np.percentile(a, [25, 75]))
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, a.size, size=(BOOTSTRAP_RESAMPLES, a.size))
        medians = np.median(a[idx], axis=1)
        lo, hi = (float(x) for x in np.percentile(medians, [2.5, 97.5]))
        stdev = float(a.std(ddof=1))
    else:
        q1 = q3 = stdev = lo = hi = None
    return Stats(
        n=int(a.size),
        median_ms=round(med, 6),
        q1_ms=_ns(q1),
        q3_ms=_ns(q3),
        mean_ms=round(float(a.mean()), 6),
        stdev_ms=_ns(stdev),
        min_ms=round(float(a.min()), 6),
        max_ms=round(float(a.max()), 6),
        ci_low_ms=_ns(lo),
        ci_high_ms=_ns(hi),
    )


def _ns(ms: float | None) -> float | None:
    """Milliseconds to the nanosecond: the clock's resolution (interpolated quartiles carry float noise below it)."""
    return None if ms is None else round(ms, 6)
