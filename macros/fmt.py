"""Formatting measured figures for prose: units, significant digits, spreads. Pure functions."""
from __future__ import annotations

import math
import re


def sig(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant digits, never in exponent notation."""
    if value == 0 or not math.isfinite(value):
        return str(value) if not math.isfinite(value) else "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    rounded = round(value, digits - 1 - magnitude)
    if abs(rounded) >= 10_000:
        return f"{rounded:,.0f}"
    return f"{rounded:.{decimals}f}"


def seconds(value: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(value) >= scale:
            return f"{sig(value / scale)} {unit}"
    return f"{sig(value / 1e-9)} ns"


def nbytes(value: int | float) -> str:
    value = int(value)
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if abs(value) >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift:,} {unit}"
        if abs(value) >= 1 << shift and unit != "KiB":
            return f"{sig(value / (1 << shift))} {unit}"
    return f"{value:,} B"


def ratio(value: float) -> str:
    return f"{sig(value)}×"


def value(fact: dict) -> str:
    """A fact as prose: `{"value": 0.0357, "unit": "s"}` -> "35.7 ms"."""
    v, unit = fact.get("value"), fact.get("unit")
    if isinstance(v, bool):
        return "yes" if v else "no"     # a flag in words: never Python's True/False
    if v is None:
        return "no value"
    if unit == "s":
        return seconds(v)
    if unit == "B":
        return nbytes(v)
    if unit == "x":
        return ratio(v)
    if unit == "ns":
        return f"{sig(v)} ns"
    if unit == "instr":
        return f"{v} instruction" + ("" if v == 1 else "s")
    if isinstance(v, float):
        return sig(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    return str(v)


def has_interval(fact: dict) -> bool:
    return all(isinstance(fact.get(k), (int, float)) for k in ("ci_low", "ci_high")) and bool(fact.get("value"))


def spread(fact: dict) -> str:
    """How sure a figure is, as a reader wants it: its 95% confidence interval (a ratio's as
    its bounds, a timing's as ± of its value) and how many values it rests on; for older
    records, a timing's interquartile range relative to the median."""
    s = fact.get("spread")
    if has_interval(fact):
        count = f", {s['n']} {'pairs' if fact.get('paired') else 'values'}" if s and s.get("n") else ""
        if fact.get("unit") == "x":
            return f"95% CI {sig(fact['ci_low'])}–{sig(fact['ci_high'])}×{count}"
        half = (fact["ci_high"] - fact["ci_low"]) / 2 / abs(fact["value"])
        return f"95% CI ±{sig(half * 100, 2)}%{count}"
    if s:
        return f"IQR ±{sig(s['rel_iqr'] * 50, 2)}% over {s['n']} values"
    if fact.get("unit") == "x" and "low" in fact:
        return f"{sig(fact['low'])}–{sig(fact['high'])}× between quartiles"
    return ""


def with_spread(fact: dict) -> str:
    sp = spread(fact)
    return f"{value(fact)} ({sp})" if sp else value(fact)


def rule(check, unit: str | None, other: str = "") -> str:
    """What a ledger check asks for, in words, in the fact's unit: "within 2× of 5.00 ms"."""
    def q(v) -> str | None:
        return None if v is None else value({"value": v, "unit": unit})
    if check.op == "eq":
        return q(check.expected)
    if check.op == "within":
        lo, hi = check.expected / check.factor, check.expected * check.factor
        return f"within {check.factor:g}× of {q(check.expected)} ({q(lo)} to {q(hi)})"
    if check.op == "true":
        return "yes"
    if check.op == "range":
        # A lower bound of 0 on a count or a duration says nothing a reader needs.
        lo, hi = q(check.min) if check.min else None, q(check.max)
        return f"between {lo} and {hi}" if lo and hi else (f"at least {lo}" if lo else f"at most {hi}")
    return {"lt": "less than ", "gt": "more than "}[check.op] + other


def interval(fact: dict, low: float, high: float) -> str:
    """A measured interval in the fact's unit, named for what it is."""
    unit = fact.get("unit")
    lo, hi = value({"value": low, "unit": unit}), value({"value": high, "unit": unit})
    what = "confidence interval" if "ci_low" in fact else "quartiles"
    return f"{what} {lo} to {hi}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 claim", "2 claims": a count with its noun in the right number."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def compiler_name(version: str | None) -> tuple[str | None, str | None]:
    """ "gcc (Debian 12.2.0-14+deb12u1) 12.2.0" -> ("gcc", "12.2.0"); "Debian clang version
    14.0.6" -> ("clang", "14.0.6"); (None, None) when there is nothing to read (the engine
    records "none" when the machine has no C compiler)."""
    if not version or version in ("none", "unknown"):
        return None, None
    low = version.lower()
    name = next((n for n in ("clang", "gcc", "icx", "icc", "tcc") if re.search(rf"\b{n}\b", low)),
                version.split()[0])
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)\s*$", version) or re.search(r"version (\d+\.\d+(?:\.\d+)?)", version)
    return name, (m.group(1) if m else None)


def compiler_label(version: str | None, absent: str = "no C compiler") -> str:
    """A compiler as a reader reads it: "gcc 12.2.0", "clang 14.0.6", or `absent`."""
    name, number = compiler_name(version)
    return f"{name} {number or ''}".strip() if name else absent
