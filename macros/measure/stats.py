"""Statistics for timings taken in pairs: medians, log-ratios, bootstrap confidence intervals.

Pure functions of their arguments (no clock, no files). The bootstrap draws from a random
generator seeded with a constant, so the same data always give the same interval: two
builds that measured the same values print the same figures.

A ratio of two timings is estimated from pairs (a_i, b_i) timed side by side: the median of
log(a_i / b_i), turned back into a ratio. Logs make the estimate symmetric (a/b and b/a
give reciprocal figures and intervals) and the median ignores the odd pair a burst of other
work on the machine landed on.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

# NumPy is optional (a machine without it still gets its intervals) and imported when an
# interval is first computed: a build that only renders cached results never needs it.
np = ...


def _numpy():
    global np
    if np is ...:
        try:
            import numpy
            np = numpy
        except ImportError:
            np = None
    return np

SEED = 20_240_611        # any constant: only that it never changes matters
RESAMPLES = 2000
LEVEL = 0.95


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of no values")
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def log_ratios(num: Sequence[float], den: Sequence[float]) -> list[float]:
    """log(num[i] / den[i]) for each pair; both sequences must be paired, of positive times."""
    if len(num) != len(den):
        raise ValueError(f"unpaired timings: {len(num)} against {len(den)}")
    out = []
    for a, b in zip(num, den):
        if not (a > 0 and b > 0):
            raise ValueError(f"a timing that is not positive: {a!r} / {b!r}")
        out.append(math.log(a / b))
    return out


def bootstrap_median_ci(values: Sequence[float], *, level: float = LEVEL,
                        resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the median: resample the values with replacement,
    take each resample's median, and keep the middle `level` of those medians.

    Seeded, so the same values give the same interval. Resampling picks positions; with the
    values sorted first, a resample's median is the value at its median position, so only
    integers are sorted.
    """
    n = len(values)
    if n == 0:
        raise ValueError("an interval of no values")
    if n == 1:
        return float(values[0]), float(values[0])
    np = _numpy()
    if np is None:
        return _bootstrap_pure(sorted(map(float, values)), level, resamples, seed)
    ordered = np.sort(np.asarray(values, dtype=float))
    rng = np.random.Generator(np.random.PCG64(seed))
    picks = np.sort(rng.integers(0, n, size=(resamples, n)), axis=1)
    if n % 2:
        medians = ordered[picks[:, n // 2]]
    else:
        medians = (ordered[picks[:, n // 2 - 1]] + ordered[picks[:, n // 2]]) / 2
    tail = (1 - level) / 2
    lo, hi = np.quantile(medians, [tail, 1 - tail])
    return float(lo), float(hi)


def _bootstrap_pure(ordered: list[float], level: float, resamples: int, seed: int) -> tuple[float, float]:
    """The same percentile bootstrap without NumPy (slower; its own random stream, so its
    interval agrees with NumPy's to within the resampling error, not to the last digit)."""
    n = len(ordered)
    rng = random.Random(seed)
    medians = []
    for _ in range(resamples):
        picks = sorted(rng.randrange(n) for _ in range(n))
        medians.append(ordered[picks[n // 2]] if n % 2
                       else (ordered[picks[n // 2 - 1]] + ordered[picks[n // 2]]) / 2)
    medians.sort()
    tail = (1 - level) / 2
    return _quantile(medians, tail), _quantile(medians, 1 - tail)


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (NumPy's default method)."""
    pos = q * (len(ordered) - 1)
    i = math.floor(pos)
    j = min(i + 1, len(ordered) - 1)
    return ordered[i] + (ordered[j] - ordered[i]) * (pos - i)


@dataclass(frozen=True)
class Estimate:
    """A figure with its confidence interval and the number of values behind it."""
    value: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def rel_halfwidth(self) -> float:
        """Half the interval's width relative to the figure: 0.02 reads "±2%"."""
        return (self.ci_high - self.ci_low) / 2 / abs(self.value) if self.value else math.inf

    def within(self, target: float) -> bool:
        return self.rel_halfwidth <= target


def median_estimate(values: Sequence[float], **bootstrap) -> Estimate:
    """A timing: the median of its values, with the bootstrap interval of that median."""
    lo, hi = bootstrap_median_ci(values, **bootstrap)
    return Estimate(median(values), lo, hi, len(values))


def ratio_estimate(num: Sequence[float], den: Sequence[float], **bootstrap) -> Estimate:
    """A ratio of paired timings: exp(median of the log-ratios), with the bootstrap interval
    of that median carried back through exp."""
    logs = log_ratios(num, den)
    lo, hi = bootstrap_median_ci(logs, **bootstrap)
    return Estimate(math.exp(median(logs)), math.exp(lo), math.exp(hi), len(logs))


def relative_spread(values: Sequence[float]) -> float:
    """max / min - 1: how far apart the same figure came out (e.g. over several builds)."""
    if not values or min(values) <= 0:
        raise ValueError("a spread needs positive values")
    return max(values) / min(values) - 1


# -------------------------------------------------------------------------- the timing order

def round_order(names: Sequence[str], index: int) -> list[str]:
    """The order in which round `index` times the variants: forward on even rounds, reversed
    on odd ones. For two variants, rounds 0, 1, 2, 3 give A B | B A | A B | B A: each side
    goes first as often as second, so what the first (or second) run of a round pays (a
    cold cache, a clock still rising) falls on both sides alike, and a steady drift over a
    pair of rounds cancels."""
    return list(names) if index % 2 == 0 else list(reversed(names))


def schedule(names: Sequence[str], rounds: int, first: int = 0) -> list[str]:
    """Every timing of `rounds` rounds starting at round `first`, in the order they run."""
    return [name for r in range(first, first + rounds) for name in round_order(names, r)]
