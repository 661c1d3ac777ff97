"""The shape of a measured figure: a value with its unit, and for timings, their spread."""
from __future__ import annotations

import statistics
from typing import Any


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


def timing(values: list[float], **extra: Any) -> dict:
    s = spread(values)
    return fact(s["median"], "s", spread=s, **extra)


def ratio(num: dict, den: dict, **extra: Any) -> dict:
    """Median over median; the spread of the ratio is bounded by the quartiles of each side."""
    a, b = num["spread"], den["spread"]
    return fact(a["median"] / b["median"], "x", low=a["q1"] / b["q3"], high=a["q3"] / b["q1"], **extra)


def paired_ratio(num: list[float], den: list[float], **extra: Any) -> dict:
    """Median of the ratios num[i] / den[i] of runs made side by side, with their spread.

    Pairing cancels what the shared machine does to both sides at once (a slow spell, a
    frequency change), which a ratio of two medians taken minutes apart cannot.
    """
    ratios = [a / b for a, b in zip(num, den) if b > 0]
    sp = spread(ratios)
    return fact(sp["median"], "x", spread=sp, low=sp["q1"], high=sp["q3"], paired=True, **extra)


def rounds_ratio(num: dict, den: dict, **extra: Any) -> dict:
    """A ratio of two timings: paired by round when both were timed in the same rounds."""
    a, b = num.get("rounds"), den.get("rounds")
    if a and b and len(a) == len(b) and len(a) >= 2:
        return paired_ratio(a, b, **extra)
    return ratio(num, den, **extra)
