"""Figure "latency": the time of one dependent load by working-set size, the cache sizes the
CPU reports, and where the experiment read each level (section 3)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from .. import fmt
from ..measure.ledger import Claim
from ..measure.results import Results
from .common import (Spec, book_quantities, bytes_tick, caption, fact, facts_of, legend, new_figure, ns_tick,
                     style_axes)
from .style import Theme


@dataclass(frozen=True)
class LatencyData:
    steps: list      # {bytes, ns, q1, q3}
    caches: list     # (label, bytes)
    book: list       # (ns, label)
    levels: list     # (label, bytes, ns): where the experiment read each level's latency


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
    caches = []
    for c in results.prov.get("machine", {}).get("caches", []):
        if str(c.get("type", "")).lower().startswith("instr") or not c.get("size"):
            continue
        kind = "d" if str(c.get("type", "")).lower().startswith("data") else ""
        caches.append((f"L{c.get('level')}{kind} {fmt.nbytes(c['size'])}", int(c["size"])))
    book = [(value, f"the book: {text}") for value, text in book_quantities(claims, ["latency"], "ns")]
    levels = [(name[:-3].upper(), facts[name]["bytes"], facts[name]["value"]) for name in LEVEL_FACTS
              if isinstance(facts.get(name, {}).get("value"), (int, float)) and facts[name].get("bytes")]
    return LatencyData(steps, caches, book, levels)


def draw(data: LatencyData, theme: Theme) -> Figure:
    fig = new_figure(6.4, 3.9)
    ax = fig.subplots()
    style_axes(ax, theme)
    xs = [s["bytes"] for s in data.steps]
    ys = [s["ns"] for s in data.steps]
    # Quartiles of two or three repeats can be extrapolated below zero: keep the band positive.
    q1 = [s["q1"] if s.get("q1", 0) > 0 else s["ns"] for s in data.steps]
    q3 = [s["q3"] if s.get("q3", 0) > 0 else s["ns"] for s in data.steps]
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.fill_between(xs, q1, q3, color=theme.c, alpha=0.25, lw=0, zorder=2)
    ax.plot(xs, ys, "-o", color=theme.c, ms=3.5, lw=1.4, zorder=3, label="ns per load (median)")
    lo_x, hi_x = min(xs) / 1.5, max(xs) * 1.5
    allv = ys + q1 + q3 + [v for v, _ in data.book]
    lo_y, hi_y = min(allv) / 1.8, max(allv) * 2.2
    shown = [(label, size) for label, size in data.caches if lo_x <= size <= hi_x]
    for _, size in shown:
        ax.axvline(size, color=theme.muted, lw=0.9, ls=(0, (4, 3)), zorder=1)
    if shown:   # the cache sizes name their lines along the top edge, clear of the data
        top = ax.secondary_xaxis("top")
        top.set_xticks([size for _, size in shown], [label for label, _ in shown], fontsize=7.5)
        top.tick_params(colors=theme.muted, labelcolor=theme.fg, length=3)
        top.xaxis.set_minor_locator(NullLocator())
        top.spines["top"].set_visible(False)
    for label, size, ns in data.levels:
        ax.plot([size], [ns], "o", ms=8, mfc="none", mec=theme.py, mew=1.3, zorder=4)
        ax.annotate(f"{label}: {fmt.sig(ns)} ns", (size, ns), xytext=(0, 8), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7.5, color=theme.fg)
    for value, label in data.book:
        ax.axhline(value, color=theme.book, lw=0.9, ls=(0, (1, 2)), zorder=1)
        # Label the line at the end where the staircase is farther from it, so they do not cross.
        far_left = abs(math.log(ys[0] / value)) >= abs(math.log(ys[-1] / value))
        ax.text(lo_x * 1.1 if far_left else hi_x / 1.1, value * 1.08, label, fontsize=7.5, color=theme.fg,
                va="bottom", ha="left" if far_left else "right")
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
    ticks = [1 << k for k in range(0, 41, 2) if lo_x <= (1 << k) <= hi_x]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(bytes_tick))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=10))
    ax.yaxis.set_major_formatter(FuncFormatter(ns_tick))
    ax.yaxis.set_minor_formatter(NullFormatter())
    for lab in ax.get_xticklabels():
        lab.set_rotation(45)
        lab.set_ha("right")
    ax.grid(which="major", color=theme.grid, lw=0.7)
    ax.set_axisbelow(True)
    ax.set_xlabel("working set: bytes the pointer chase cycles through (log scale)")
    ax.set_ylabel("ns per load (log scale)")
    ax.set_title("Latency of one dependent load, by working-set size", color=theme.fg)
    handles = [Line2D([], [], color=theme.c, marker="o", ms=3.5, label="median ns per load"),
               Patch(color=theme.c, alpha=0.25, label="middle half of runs"),
               Line2D([], [], color=theme.muted, ls=(0, (4, 3)), label="cache sizes the CPU reports")]
    if data.levels:
        handles.append(Line2D([], [], color=theme.py, marker="o", mfc="none", ls="none", ms=7,
                              label="where each level was read"))
    if data.book:
        handles.append(Line2D([], [], color=theme.book, ls=(0, (1, 2)), label="the book's figures"))
    legend(ax, theme, handles, loc="upper center", bbox_to_anchor=(0.45, -0.3), ncol=2)
    return fig


def describe(data: LatencyData, results: Results) -> tuple[str, str]:
    pts = "; ".join(f"{fmt.nbytes(s['bytes'])}: {fmt.sig(s['ns'])} ns" for s in data.steps)
    caches = ", ".join(label for label, _ in data.caches) or "none reported"
    book = "; ".join(label for _, label in data.book)
    levels = "; ".join(f"{label} {fmt.sig(ns)} ns at {fmt.nbytes(size)}" for label, size, ns in data.levels)
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
