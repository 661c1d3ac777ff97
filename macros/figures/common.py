"""What every figure shares: the figure records, fact lookups through `Results`, the book's
figures from the ledger, captions and tooltips' provenance, tick labels, and the dot-row chart
of timings (figures "benchmark" and "locality").

A figure module gives an `extract` (results, claims -> its data, or a str saying why it cannot
be drawn), a `draw` (data -> a `svg.Drawing` and its height) and a `describe` (data, results
-> alt text and caption). Only `extract` reads facts, and only through `Results`; what a
tooltip says about where a figure came from is read there too and kept in the data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from .. import fmt
from ..fmt import compiler_label
from ..measure.ledger import Claim
from ..measure.results import NotMeasured, Results
from . import svg
from .svg import BODY, MARGIN, SMALL, TITLE, Drawing, Key, Scale


@dataclass(frozen=True)
class Rendered:
    """One figure, drawn: its inline SVG, the text that stands for it, its viewBox size."""
    name: str
    svg: str
    alt: str
    caption: str
    width: int
    height: int


@dataclass(frozen=True)
class Missing:
    name: str
    reason: str


@dataclass(frozen=True)
class Spec:
    name: str
    extract: Callable[[Results, dict], object]        # -> data, or a str: why it cannot be drawn
    draw: Callable[[object], tuple[Drawing, float]]   # -> the drawing and its height
    describe: Callable[[object, Results], tuple[str, str]]   # -> (alt, caption)
    # Other machines' results beside this one: (data, [(label, Results)]) -> data with them
    others: Callable[[object, list], object] | None = None


# ---------------------------------------------------------------- reading the results


def why(missing: NotMeasured) -> str:
    """A NotMeasured as a figure's reason: what, where, and the first line of why."""
    first = (missing.reason.splitlines() or ["failed"])[0]
    if "." not in missing.ref:      # a whole experiment: its reason already names it and its file
        return first
    where = f" ({missing.file})" if missing.file else ""
    return f"{missing.ref}{where}: {first}"


def facts_of(results: Results, experiment: str) -> dict[str, dict] | str:
    """An experiment's measured facts by name, or why it was not measured."""
    facts = results.facts_of(experiment)
    return why(facts) if isinstance(facts, NotMeasured) else facts


def fact(results: Results, ref: str) -> dict | str:
    """One fact ("experiment.name"), or why it was not measured: the experiment's reason when
    the whole experiment was not, else the fact's own."""
    facts = facts_of(results, ref.partition(".")[0])
    if isinstance(facts, str):
        return facts
    got = results.fact(ref)
    return why(got) if isinstance(got, NotMeasured) else got


def book_marks(claims: dict[str, Claim], experiments: Iterable[str]) -> dict[str, list[tuple[float, str]]]:
    """The book's numeric figures per fact, as the ledger's checks state them.

    {fact name: [(book value, claim id), ...]} for checks on facts of `experiments` whose rule
    names the book's number: `expected` of eq/within (a range's bounds are the verdict's
    tolerance, not the book's figure).
    """
    wanted = set(experiments)
    out: dict[str, list[tuple[float, str]]] = {}
    for cid, claim in claims.items():
        for check in claim.checks:
            exp, _, fact_name = check.fact.partition(".")
            if exp not in wanted:
                continue
            value = check.expected if check.op in ("eq", "within") else None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            out.setdefault(fact_name, []).append((float(value), cid))
    return out


def book_quantities(claims: dict[str, Claim], experiments: Iterable[str], unit: str) -> list[tuple[float, str]]:
    """The book's figures in `unit` as its claims print them (`book = "1 ns, 100 ns, 100x"`).

    Only claims that some check ties to `experiments`; returns (value, the text as printed).
    """
    wanted = set(experiments)
    out: list[tuple[float, str]] = []
    for claim in claims.values():
        if not any(c.fact.partition(".")[0] in wanted for c in claim.checks):
            continue
        for m in re.finditer(rf"(?<![\w.])(\d+(?:\.\d+)?)\s*{re.escape(unit)}\b", claim.book):
            out.append((float(m.group(1)), m.group(0)))
    return out


# ---------------------------------------------------------------- captions


def machine_text(results: Results) -> str:
    p = results.prov
    m = p.get("machine", {})
    py = p.get("python", {})
    virt = m.get("virtualised")
    cpu = f"{m.get('cpu') or 'an unnamed CPU'} ({m.get('cores', '?')} cores" + \
          (", virtualised)" if virt and virt != "no" else ")")
    cc_short = compiler_label(p.get("compiler"))
    return (f"{cpu}, Linux {m.get('kernel', '?')}, {py.get('implementation', 'Python')} "
            f"{py.get('version', '?')}, {cc_short}")


def scale_name(results: Results) -> str:
    return results.prov.get("scale", {}).get("name", "?")


def caption(what: str, results: Results, axes: str, extra: str = "") -> str:
    scale = scale_name(results)
    note = "" if scale == "full" else " (small inputs for tests, not for publication)"
    return (f"{what} Measured on {machine_text(results)}; scale {scale}{note}. {axes}"
            + (f" {extra}" if extra else ""))


def source_note(results: Results, experiment: str) -> str:
    """Where an experiment's figures came from, for a tooltip: machine, compiler and Python,
    when, at which scale."""
    p = results.prov
    m = p.get("machine", {})
    exp = results.experiment(experiment)
    tools = exp.get("toolchain") or {}
    cc_short = compiler_label(tools.get("compiler") or p.get("compiler"), "")
    py = p.get("python", {})
    pyver = tools.get("python") or py.get("version", "?")
    who = ", ".join(x for x in (cc_short, f"{py.get('implementation', 'Python')} {pyver}") if x)
    when = exp.get("measured_at") or p.get("date") or "?"
    return (f"{m.get('cpu') or 'an unnamed CPU'}, Linux {m.get('kernel', '?')}; {who}; "
            f"measured {when}, scale {scale_name(results)}")


# ---------------------------------------------------------------- tick labels


def tick(value: float, units: tuple[tuple[float, str], ...]) -> str:
    """A round axis value in the largest unit it reaches: 0.001 -> "1 ms" (no trailing zeros)."""
    if value <= 0:
        return ""
    for scale, unit in units:
        if value >= scale * 0.999:
            return f"{value / scale:g} {unit}"
    scale, unit = units[-1]
    return f"{value / scale:g} {unit}"


SECOND_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def seconds_tick(value: float) -> str:
    return tick(value, SECOND_UNITS)


def ns_tick(value: float) -> str:
    return tick(value, ((1e3, "µs"), (1.0, "ns"), (1e-3, "ps")))


def bytes_tick(value: float) -> str:
    return fmt.nbytes(value) if value >= 1 else ""


def big_bytes(value: int) -> str:
    """Byte counts of any size: the gaps of a 64-bit address space run to exbibytes."""
    for shift, unit in ((60, "EiB"), (50, "PiB"), (40, "TiB")):
        if value >= 1 << shift:
            return f"{fmt.sig(value / (1 << shift))} {unit}"
    return fmt.nbytes(value)


# ---------------------------------------------------------------- dot rows (timings)


def spread_of(fact: dict) -> tuple[float, float, float, float] | None:
    """(q1, q3, min, max) of a timing or a derived figure, in the fact's own unit.

    Quartiles of very few values can be extrapolated past the extremes (even below zero);
    they are drawn clipped to the values actually seen.
    """
    s = fact.get("spread")
    if isinstance(s, dict) and {"q1", "q3"} <= s.keys():
        q1, q3, lo, hi = s["q1"], s["q3"], s.get("min", s["q1"]), s.get("max", s["q3"])
    elif {"q1", "q3"} <= fact.keys():
        q1, q3, lo, hi = fact["q1"], fact["q3"], fact.get("min", fact["q1"]), fact.get("max", fact["q3"])
    elif {"low", "high"} <= fact.keys():
        q1, q3, lo, hi = fact["low"], fact["high"], fact["low"], fact["high"]
    else:
        return None
    q1, q3 = min(max(q1, lo), hi), max(min(q3, hi), lo)
    return (q1, q3, lo, hi) if lo > 0 else None


def spread_words(spread: tuple[float, float, float, float] | None, n: int | None,
                 formatter: Callable[[float], str]) -> str:
    """A spread as a tooltip says it."""
    if not spread:
        return "a single value, no spread"
    q1, q3, lo, hi = spread
    of = f" of {n} values" if n else ""
    return f"middle half{of} {formatter(q1)} to {formatter(q3)}; fastest {formatter(lo)}, slowest {formatter(hi)}"


def dot_chart(name: str, title: str, rows: list[dict], formatter: Callable[[float], str],
              tick_label: Callable[[float], str], axis_note: str, keys: list[Key]) -> tuple[Drawing, float]:
    """Rows of timings on one logarithmic axis, each row's label above its dot: the median
    (dot), the middle half of the runs (bar), fastest to slowest (line), and the book's figures
    (hollow diamonds, on a line of their own below).

    Each row: {"ref", "label", "family", "value", "spread": (q1, q3, lo, hi) | None, "n",
    "book": [(value, claim id)], "source": where it was measured}.
    """
    d = Drawing()
    y = d.lines(MARGIN, MARGIN + TITLE, svg.wrap(title, TITLE, d.width - 2 * MARGIN), size=TITLE, bold=True)
    values = ([r["value"] for r in rows] + [b for r in rows for b, _ in r["book"]]
              + [x for r in rows if r["spread"] for x in r["spread"]])
    lo, hi = svg.log_bounds(values, 1.5)
    x = Scale(lo, hi, MARGIN + 8, d.width - MARGIN - 8, log=True)
    right_edge, left_edge = d.width - MARGIN, MARGIN
    top = y + 6
    y = top
    for r in rows:
        y = d.lines(MARGIN, y + BODY + 2, svg.wrap(r["label"], BODY, d.width - 2 * MARGIN), size=BODY)
        cy = y + 11
        v = r["value"]
        tip = (f"{r['label']}: {formatter(v)} (median); {spread_words(r['spread'], r.get('n'), formatter)}.\n"
               f"{r['source']}")
        data = {"ref": r["ref"], "value": repr(v)}
        if r["spread"]:
            data.update(zip(("q1", "q3", "min", "max"), map(repr, r["spread"])))
        with d.group("point", tip, **data):
            left, right = x(v), x(v)
            if r["spread"]:
                q1, q3, smin, smax = r["spread"]
                d.line(x(smin), cy, x(smax), cy, r["family"], 1.5)
                d.rect(x(q1), cy - 5, x(q3) - x(q1), 10, r["family"], opacity=0.35)
                left, right = min(left, x(smin)), max(right, x(smax))
            d.circle(x(v), cy, 5.5, r["family"])
            _value_label(d, formatter(v), left, right, cy, "fg", left_edge, right_edge)
        for b, cid in r["book"]:
            cy += 17
            with d.group("book-point", f"The book: {formatter(b)} (claim {cid}).", book=repr(b), claim=cid):
                d.diamond(x(b), cy, 5.5)
                _value_label(d, f"book: {formatter(b)}", x(b) - 3, x(b) + 3, cy, "muted", left_edge, right_edge)
        y = cy + 16     # room between one row's marks and the next row's label
    axis_y = y - 2
    grid = svg.decades(lo, hi)
    y = svg.x_axis(d, x, grid, tick_label, top, axis_y, svg.spaced(grid, x, tick_label))
    y = d.lines(MARGIN, y + SMALL + 2, svg.wrap(axis_note, SMALL, d.width - 2 * MARGIN), role="muted")
    y = svg.legend(d, keys, y + 8)
    return d, y + MARGIN


def _value_label(d: Drawing, text: str, left: float, right: float, cy: float, role: str,
                 left_edge: float, right_edge: float) -> None:
    """A mark's value beside it: to the right when it fits, else to the left."""
    w = svg.text_width(text, SMALL)
    if right + 8 + w <= right_edge or left - 8 - w < left_edge:
        d.text(right + 8, cy + SMALL * 0.35, text, role)
    else:
        d.text(left - 8, cy + SMALL * 0.35, text, role, anchor="end")


def timing_keys(families: list[tuple[str, str]], book_label: str | None) -> list[Key]:
    keys = [Key("dot", f, label) for f, label in families]
    keys += [Key("band", "muted", "middle half of runs"), Key("line", "muted", "fastest to slowest")]
    if book_label:
        keys.append(Key("diamond", "book", book_label))
    return keys


# ---------------------------------------------------------------- the SVG, remembered

MEMO: dict[tuple[str, str], tuple[str, float]] = {}   # `mkdocs serve`: a prose edit redraws nothing


def draw_svg(spec: Spec, data: object, alt: str) -> tuple[str, float]:
    """The <svg> of `spec` drawn from `data`, and its height; remembered by the data's repr."""
    key = (spec.name, repr(data) + "\0" + alt)    # the data decide the bytes, nothing else does
    if key not in MEMO:
        if len(MEMO) > 64:
            MEMO.clear()
        drawing, height = spec.draw(data)
        MEMO[key] = (drawing.markup(height, alt, spec.name), height)
    return MEMO[key]
