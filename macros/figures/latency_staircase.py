"""Figure "latency": the time of one dependent load by working-set size, the cache sizes the
CPU reports, and where the experiment read each level (section 3)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import fmt
from ..measure.ledger import Claim
from ..measure.results import Results
from . import svg
from .common import Spec, book_quantities, bytes_tick, caption, fact, facts_of, ns_tick, source_note, spread_of
from .svg import MARGIN, SMALL, TITLE, Drawing, Key, Placer, Scale


@dataclass(frozen=True)
class LatencyData:
    steps: list      # {bytes, ns, q1, q3}
    caches: list     # (label, bytes)
    book: list       # (ns, label)
    levels: list     # {label, ref, bytes, ns, spread}: where the experiment read each level's latency
    source: str


LEVEL_FACTS = ("l1_ns", "l2_ns", "l3_ns", "ram_ns")


def extract(results: Results, claims: dict[str, Claim]) -> LatencyData | str:
    facts = facts_of(results, "latency")
    if isinstance(facts, str):
        return facts
    staircase = fact(results, "latency.staircase")
    if isinstance(staircase, str):
        return staircase
    steps = staircase.get("value")
    if not steps or not isinstance(steps, list):
        return "experiment 'latency' recorded no staircase"
    steps = sorted((s for s in steps if s.get("ns") and s.get("bytes")), key=lambda s: s["bytes"])
    if not steps:
        return "experiment 'latency' recorded no staircase"
    caches = []
    for c in results.prov.get("machine", {}).get("caches", []):
        if str(c.get("type", "")).lower().startswith("instr") or not c.get("size"):
            continue
        kind = "d" if str(c.get("type", "")).lower().startswith("data") else ""
        caches.append((f"L{c.get('level')}{kind} {fmt.nbytes(c['size'])}", int(c["size"])))
    book = [(value, f"the book: {text}") for value, text in book_quantities(claims, ["latency"], "ns")]
    levels = [{"label": name[:-3].upper(), "ref": f"latency.{name}", "bytes": facts[name]["bytes"],
               "ns": facts[name]["value"], "spread": spread_of(facts[name]),
               "n": (facts[name].get("spread") or {}).get("n")}
              for name in LEVEL_FACTS
              if isinstance(facts.get(name, {}).get("value"), (int, float)) and facts[name].get("bytes")]
    return LatencyData(steps, caches, book, levels, source_note(results, "latency"))


def _ns(v: float) -> str:
    return f"{fmt.sig(v)} ns"


def _positive(step: dict, key: str) -> float:
    # Quartiles of two or three repeats can be extrapolated below zero: keep the band positive.
    v = step.get(key)
    return v if isinstance(v, (int, float)) and v > 0 else step["ns"]


def _x_ticks(lo: float, hi: float, x: Scale) -> list[float]:
    """Powers of two, every s-th (s as small as lets the labels fit), aligned on multiples of s."""
    ks = range(math.ceil(math.log2(lo)), math.floor(math.log2(hi)) + 1)
    for s in range(1, 12):
        kept = [float(1 << k) for k in ks if k % s == 0]
        if len(svg.spaced(kept, x, bytes_tick)) == len(kept):
            return kept
    return [float(1 << ks[0])]


def _level_label_spot(label: str, cx: float, cy: float, spots: Placer, width: float,
                      ceiling: float) -> tuple[float, float, str]:
    """Where a level's label goes: above its circle, else below, left, right or diagonally
    (a centred label slid sideways to stay inside the drawing); the first spot free of other
    labels and points, else the first inside the drawing."""
    w = svg.text_width(label, SMALL)
    mid = min(max(cx, MARGIN + w / 2), width - MARGIN - w / 2)
    tried = ((mid, cy - 12, "middle"), (mid, cy + 22, "middle"), (cx - 11, cy + 5, "end"),
             (cx + 11, cy + 5, "start"), (cx - 8, cy - 9, "end"), (cx + 8, cy - 9, "start"),
             (cx - 8, cy + 19, "end"), (cx + 8, cy + 19, "start"))
    inside = [s for s in tried
              if (b := svg.label_box(s[0], s[1], label, SMALL, s[2]))[0] >= MARGIN
              and b[2] <= width - MARGIN and b[1] >= ceiling]
    free = [s for s in inside if spots.free(svg.label_box(s[0], s[1], label, SMALL, s[2]))]
    return (free or inside or list(tried))[0]


def draw(data: LatencyData) -> tuple[Drawing, float]:
    d = Drawing()
    y = d.lines(MARGIN, MARGIN + TITLE, svg.wrap("Latency of one dependent load, by working-set size", TITLE,
                                                 d.width - 2 * MARGIN), size=TITLE, bold=True)
    xs = [s["bytes"] for s in data.steps]
    q1 = [_positive(s, "q1") for s in data.steps]
    q3 = [_positive(s, "q3") for s in data.steps]
    lo_x, hi_x = min(xs) / 1.4, max(xs) * 1.4
    lo_y, hi_y = svg.log_bounds([s["ns"] for s in data.steps] + q1 + q3 + [v for v, _ in data.book], 1.6)
    px0, px1 = MARGIN + 46, d.width - MARGIN - 4
    x = Scale(lo_x, hi_x, px0, px1, log=True)
    # The cache sizes name their lines above the plot, each on the first row where it fits.
    shown = [(label, size) for label, size in data.caches if lo_x <= size <= hi_x]
    rows: list[list[tuple[float, float]]] = []
    placed = []
    for label, size in shown:
        w = svg.text_width(label, SMALL)
        cx = min(max(x(size), MARGIN + w / 2), d.width - MARGIN - w / 2)
        span = (cx - w / 2 - 4, cx + w / 2 + 4)
        row = next((i for i, r in enumerate(rows) if all(span[1] <= a or span[0] >= b for a, b in r)), None)
        if row is None:
            rows.append([])
            row = len(rows) - 1
        rows[row].append(span)
        placed.append((label, size, cx, row))
    label_top = y + 8
    for label, size, cx, row in placed:
        d.text(cx, label_top + SMALL + row * (SMALL + 5), label, "fg", anchor="middle")
    y = label_top + len(rows) * (SMALL + 5) + 2
    y_label = "ns per load, log scale"
    d.text(MARGIN, y + SMALL + 4, y_label, "muted")
    spots = Placer()
    spots.take(svg.label_box(MARGIN, y + SMALL + 4, y_label, SMALL, "start"))
    top, bottom = y + SMALL + 14, y + SMALL + 14 + 230
    yscale = Scale(lo_y, hi_y, bottom, top, log=True)
    for t in svg.decades(lo_y, hi_y):
        d.line(px0, yscale(t), px1, yscale(t), "grid", 1)
        d.text(px0 - 5, yscale(t) + SMALL * 0.35, ns_tick(t), "muted", anchor="end")
    d.line(px0, top, px0, bottom, "muted", 1)
    for label, size, cx, row in placed:
        d.line(x(size), label_top + (row + 1) * (SMALL + 5) - 1, x(size), bottom, "muted", 1.2, dash="4 3")
    # The band (middle half of the runs), the median line, then each step as a point.
    band = ([f"{svg.num(x(b))} {svg.num(yscale(v))}" for b, v in zip(xs, q1)]
            + [f"{svg.num(x(b))} {svg.num(yscale(v))}" for b, v in reversed(list(zip(xs, q3)))])
    d.path("M" + "L".join(band) + "Z", "c", fill=True, opacity=0.25)
    d.path("M" + "L".join(f"{svg.num(x(s['bytes']))} {svg.num(yscale(s['ns']))}" for s in data.steps), "c",
           width=1.6)
    for s, a, b in zip(data.steps, q1, q3):
        tip = (f"{fmt.nbytes(s['bytes'])} working set: {_ns(s['ns'])} per load (median); middle half "
               f"{_ns(a)} to {_ns(b)}.\n{data.source}")
        with d.group("point", tip, bytes=repr(s["bytes"]), ns=repr(s["ns"]), q1=repr(s.get("q1")),
                     q3=repr(s.get("q3"))):
            d.circle(x(s["bytes"]), yscale(s["ns"]), 3, "c")
            d.circle(x(s["bytes"]), yscale(s["ns"]), 8, "c", opacity=0, pointer_events="all")   # a finger's target
        spots.take((x(s["bytes"]) - 3, yscale(s["ns"]) - 3, x(s["bytes"]) + 3, yscale(s["ns"]) + 3))
    for lv in data.levels:     # every circle first, so no label lands on one
        spots.take((x(lv["bytes"]) - 7, yscale(lv["ns"]) - 7, x(lv["bytes"]) + 7, yscale(lv["ns"]) + 7))
    for lv in sorted(data.levels, key=lambda lv: -lv["bytes"]):   # the crowded right end chooses first
        cx, cy = x(lv["bytes"]), yscale(lv["ns"])
        spread = ""
        if lv["spread"]:
            sq1, sq3, smin, smax = lv["spread"]
            spread = f"; middle half{' of ' + str(lv['n']) + ' values' if lv['n'] else ''} {_ns(sq1)} to {_ns(sq3)}"
        tip = (f"{lv['label']} read at {fmt.nbytes(lv['bytes'])}: {_ns(lv['ns'])} per load{spread}.\n"
               f"{data.source}")
        with d.group("level", tip, ref=lv["ref"], bytes=repr(lv["bytes"]), ns=repr(lv["ns"])):
            d.circle(cx, cy, 7, "accent", hollow=True, width=1.8)
            tx, ty, anchor = _level_label_spot(lv["label"], cx, cy, spots, d.width, top - SMALL - 6)
            spots.take(svg.label_box(tx, ty, lv["label"], SMALL, anchor))
            d.text(tx, ty, lv["label"], "fg", anchor=anchor, bold=True)
    for value, label in data.book:
        by = yscale(value)
        with d.group("book-point", f"The book's figure: {label.removeprefix('the book: ')} per load.",
                     book=repr(value)):
            d.line(px0, by, px1, by, "book", 1.5, dash="1.5 3")
            # The label at the end the staircase is farther from, above the line.
            far_left = abs(math.log(data.steps[0]["ns"] / value)) >= abs(math.log(data.steps[-1]["ns"] / value))
            tx, anchor = (px0 + 4, "start") if far_left else (px1 - 2, "end")
            box = svg.label_box(tx, by - 5, label, SMALL, anchor)
            ty = by - 5 if spots.free(box) else by + SMALL + 3
            spots.take(svg.label_box(tx, ty, label, SMALL, anchor))
            d.text(tx, ty, label, "fg", anchor=anchor)
    ticks = _x_ticks(lo_x, hi_x, x)
    y = svg.x_axis(d, x, ticks, bytes_tick, top, bottom)
    y = d.lines(MARGIN, y + SMALL + 2, svg.wrap("working set: bytes the pointer chase cycles through, log scale",
                                                SMALL, d.width - 2 * MARGIN), role="muted")
    keys = [Key("line", "c", "median ns per load"), Key("band", "c", "middle half of runs"),
            Key("dash", "muted", "cache sizes the CPU reports")]
    if data.levels:
        keys.append(Key("ring", "accent", "where each level was read"))
    if data.book:
        keys.append(Key("dots", "book", "the book's figures"))
    y = svg.legend(d, keys, y + 8)
    return d, y + MARGIN


def describe(data: LatencyData, results: Results) -> tuple[str, str]:
    pts = "; ".join(f"{fmt.nbytes(s['bytes'])}: {fmt.sig(s['ns'])} ns" for s in data.steps)
    caches = ", ".join(label for label, _ in data.caches) or "none reported"
    book = "; ".join(label for _, label in data.book)
    levels = "; ".join(f"{lv['label']} {fmt.sig(lv['ns'])} ns at {fmt.nbytes(lv['bytes'])}" for lv in data.levels)
    alt = (f"Line chart, both axes logarithmic: nanoseconds per load against working-set size. {pts}. "
           + (f"Levels read: {levels}. " if levels else "")
           + f"Cache sizes marked: {caches}." + (f" Reference lines: {book}." if book else ""))
    marks = "Dashed lines: the cache sizes the CPU reports" + ("; circles: where each level's latency was "
                                                               "read" if data.levels else "") + \
            ("; dotted: the book's figures" if data.book else "") + "."
    cap = caption("The latency staircase: the time of one load when each depends on the last, through a "
                  f"random cycle of the given size. {marks}", results, "Both axes logarithmic.")
    return alt, cap


SPEC = Spec("latency", extract, draw, describe)
