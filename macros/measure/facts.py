"""The shape of a measured figure: a value with its unit, and for timings, their spread and
the confidence interval of the figure quoted (stats.py)."""
from __future__ import annotations

import statistics
from typing import Any

from . import stats


def fact(value: Any, unit: str | None = None, **extra: Any) -> dict:
    """One measured figure. `unit` is one of: s, B, x (ratio), instr, ns, or None."""
    out = {"value": value, "unit": unit}
    out.update(extra)
    return out


def spread(values: list[float]) -> dict:
    """Median and the spread around it, for timings (seconds)."""
    vals = sorted(values)
    n = len(vals)
    med = statistics.median(vals)
    # inclusive: quartiles stay within the values seen, even with few of them
    q = statistics.quantiles(vals, n=4, method="inclusive") if n >= 2 else [vals[0]] * 3
    return {
        "values": list(values),   # as measured, in order: the pyperf file carries them
        "n": n,
        "min": vals[0],
        "max": vals[-1],
        "q1": q[0],
        "q3": q[2],
        "stdev": statistics.stdev(vals) if n >= 2 else 0.0,
        "rel_iqr": (q[2] - q[0]) / med if med else 0.0,
        "median": med,
    }


def _interval(est: stats.Estimate) -> dict:
    return {"ci_low": est.ci_low, "ci_high": est.ci_high, "ci_level": stats.LEVEL}


def timing(values: list[float], unit: str = "s", **extra: Any) -> dict:
    """A median timing (seconds, or ns per operation with unit="ns"): its spread over the
    values, and the bootstrap 95% interval of the median."""
    s = spread(values)
    return fact(s["median"], unit, spread=s, **_interval(stats.median_estimate(values)), **extra)


def ratio(num: dict, den: dict, **extra: Any) -> dict:
    """Median over median, of two timings not taken in pairs; its spread is bounded by the
    quartiles of each side. Paired timings give a better figure: paired_ratio()."""
    a, b = num["spread"], den["spread"]
    return fact(a["median"] / b["median"], "x", low=a["q1"] / b["q3"], high=a["q3"] / b["q1"], **extra)


def paired_ratio(num: list[float], den: list[float], **extra: Any) -> dict:
    """The ratio of timings taken side by side, pair by pair: the median of the log-ratios
    log(num[i] / den[i]), with its bootstrap 95% interval (stats.ratio_estimate).

    Pairing cancels what the shared machine does to both sides at once (a slow spell, a
    frequency change), which a ratio of two medians taken minutes apart cannot. The spread
    of the per-pair ratios is kept beside it.
    """
    est = stats.ratio_estimate(num, den)
    sp = spread([a / b for a, b in zip(num, den)])
    return fact(est.value, "x", spread=sp, paired=True, **_interval(est), **extra)
