"""What an experiment returned, checked against its declarations and made into a cached record.

Every code path that shapes a stored result lives here (and in the experiment's own module),
so the cache key can follow it: see deps.py.
"""
from __future__ import annotations

import difflib

from .config import NOISY_REL_IQR
from .errors import MeasureError
from .results import FactSpec


def _near(name: str, names: list[str]) -> str:
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return f" (nearest declared: {', '.join(near)})" if near else ""


def check_output(exp_name: str, module: str, facts: dict, evidence: dict,
                 fact_specs: tuple[FactSpec, ...], evidence_specs: tuple[FactSpec, ...],
                 missing_tools: dict[str, str] | None = None) -> list[str]:
    """Hold an experiment's output to its declarations; fills gaps with "not measured".

    An undeclared name or a value of the wrong kind is a bug in the experiment's module
    (MeasureError, kind internal). A declared name it did not record becomes not measured:
    with the tool's reason when its declared source is a tool the experiment reported
    missing (`missing_tools`: tool -> why), else as a bug. Returns the names filled as bugs.
    """
    missing_tools = missing_tools or {}
    declared = {s.name: s for s in fact_specs}
    for name, f in facts.items():
        if name not in declared:
            raise MeasureError(f"experiment {exp_name} records fact {name!r}, which it does not "
                               f"declare{_near(name, list(declared))}: add it to the module's "
                               f"declarations", file=module, kind="internal")
        if not isinstance(f, dict) or "value" not in f:
            raise MeasureError(f"experiment {exp_name}: fact {name!r} is not a fact record "
                               f"(use facts.fact() or results.not_measured())", file=module, kind="internal")
        if "not_measured" in f:
            continue
        spec = declared[name]
        if f["value"] is None and not spec.nullable:
            # The program ran but its output did not give this figure.
            f["not_measured"] = f.get("why") or "the program's output did not give this figure"
            f["unit"] = spec.unit
            continue
        if not spec.accepts(f["value"]):
            raise MeasureError(f"experiment {exp_name}: fact {name!r} is declared {spec.kind} but "
                               f"its value is {type(f['value']).__name__} {f['value']!r:.60}",
                               file=module, kind="internal")
        if spec.unit is not None and f.get("unit") not in (None, spec.unit):
            raise MeasureError(f"experiment {exp_name}: fact {name!r} is declared in {spec.unit} "
                               f"but recorded in {f.get('unit')}", file=module, kind="internal")
        f["unit"] = spec.unit
    filled = []
    for name, spec in declared.items():
        if name not in facts:
            why = missing_tools.get(spec.source)
            facts[name] = {"value": None, "unit": spec.unit,
                           "not_measured": why or f"experiment {exp_name} recorded no value for it"}
            if not why:
                filled.append(name)
    ev_declared = {s.name: s for s in evidence_specs}
    for name in evidence:
        if name not in ev_declared:
            raise MeasureError(f"experiment {exp_name} records evidence {name!r}, which it does not "
                               f"declare{_near(name, sorted(ev_declared))}", file=module, kind="internal")
    for name, spec in ev_declared.items():
        if name not in evidence:
            why = missing_tools.get(spec.source)
            evidence[name] = {"not_measured": why or f"experiment {exp_name} recorded no such evidence"}
            if not why:
                filled.append(name)
    return filled


def rel_uncertainty(f: dict) -> float | None:
    """How uncertain a figure is, relative to its value: the half-width of its confidence
    interval when it has one; else, for a timing, its interquartile range over its median,
    and for a ratio of unpaired timings, the distance between its quartile bounds."""
    value = f.get("value")
    if isinstance(f.get("ci_low"), (int, float)) and isinstance(f.get("ci_high"), (int, float)) and value:
        return (f["ci_high"] - f["ci_low"]) / 2 / abs(value)
    if isinstance(f.get("spread"), dict) and "rel_iqr" in f["spread"]:
        return f["spread"]["rel_iqr"]
    if f.get("unit") == "x" and "low" in f and "high" in f and value:
        return (f["high"] - f["low"]) / value
    return None


def mark_noisy(facts: dict, threshold: float = NOISY_REL_IQR) -> list[str]:
    """Flag each timing (and ratio of timings) too uncertain to trust; their names.

    A figure with a 95% confidence interval is noisy when the interval's half-width is more
    than `threshold` of its value ("±10%"); one without (older records, unpaired figures)
    by its spread (rel_uncertainty). Marked here, once, when measured.
    """
    noisy = []
    for name, f in facts.items():
        if not isinstance(f, dict) or "not_measured" in f:
            continue
        rel = rel_uncertainty(f)
        if rel is None:
            continue
        f["noisy"] = bool(rel > threshold)
        f["rel_spread"] = rel
        if f["noisy"]:
            noisy.append(name)
    return noisy


def missed_target(facts: dict, headline: tuple[str, ...]) -> list[str]:
    """The headline figures whose timed rounds stopped before reaching the target, each with
    its interval as ± of its value (for the log)."""
    out = []
    for name in headline:
        f = facts.get(name)
        rounds = f.get("rounds") if isinstance(f, dict) else None
        if isinstance(rounds, dict) and rounds.get("stopped") != "target" and "rel_spread" in f:
            out.append(f"{name} ±{f['rel_spread']:.1%} after {rounds.get('rounds')} rounds "
                       f"({rounds.get('stopped')})")
    return out
