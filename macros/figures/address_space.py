"""Figure "layout": the process's address space as /proc/self/maps gave it, with the sample
variables placed in their segments (section 1)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import fmt
from ..measure.ledger import Claim
from ..measure.results import Results
from .common import Spec, big_bytes, caption, fact, new_figure
from .style import Theme


@dataclass(frozen=True)
class LayoutData:
    segments: list   # {name, start, end, perms, path}, merged, in address order
    points: list     # {name, address, segment}


def _addr(value) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def _merge_segments(segments: list[dict]) -> list[dict]:
    """Touching mappings of the same name become one block (libc's five mappings, say)."""
    out: list[dict] = []
    for s in sorted(segments, key=lambda s: _addr(s["start"])):
        seg = {**s, "start": _addr(s["start"]), "end": _addr(s["end"]), "count": 1}
        if out and out[-1]["name"] == seg["name"] and seg["start"] == out[-1]["end"]:
            prev = out[-1]
            prev["end"] = max(prev["end"], seg["end"])
            prev["count"] += 1
            prev["perms"] = ",".join(dict.fromkeys((prev.get("perms") or "").split(",") + [seg.get("perms") or ""]))
            continue
        out.append(seg)
    return out


def extract(results: Results, claims: dict[str, Claim]) -> LayoutData | str:
    segments = fact(results, "layout.segments")
    if isinstance(segments, str):
        return segments
    segs = segments.get("value")
    if not segs or not isinstance(segs, list):
        return "experiment 'layout' recorded no segments"
    points = fact(results, "layout.points")
    merged = _merge_segments(segs)
    pts = []
    for p in (points.get("value") if isinstance(points, dict) else None) or []:
        try:
            pts.append({**p, "address": _addr(p["address"])})
        except (KeyError, TypeError, ValueError):
            continue
    return LayoutData(merged, pts)


def _hex(a: int) -> str:
    return f"0x{a:012x}" if a < (1 << 48) else f"0x{a:x}"


def draw(data: LayoutData, theme: Theme) -> Figure:
    """Segments stacked low to high; each block's height grows with log of its size; gaps broken."""
    segs = data.segments
    heights = [0.5 + 0.07 * max(0.0, math.log2(max(s["end"] - s["start"], 1)) - 12) for s in segs]
    gap_h = 0.6
    ys, y = [], 0.0
    for i, s in enumerate(segs):
        if i and s["start"] > segs[i - 1]["end"]:
            y += gap_h
        ys.append(y)
        y += heights[i]
    total = y
    unit_in = 0.3    # inches per unit of height
    fig = new_figure(6.4, total * unit_in + 0.1)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.05, total + 0.05)
    ax.axis("off")
    bx0, bx1 = 2.3, 6.0     # the block column; addresses to its left, variables to its right
    dot_x = 3.85
    for i, s in enumerate(segs):
        y0, hgt = ys[i], heights[i]
        ax.add_patch(Rectangle((bx0, y0), bx1 - bx0, hgt, facecolor=theme.block, edgecolor=theme.muted, lw=0.8))
        perms = ",".join(p.rstrip("p").rstrip("s") for p in (s.get("perms") or "").split(",") if p)
        ax.text(bx0 + 0.12, y0 + hgt / 2, s["name"], ha="left", va="center", fontsize=8.5,
                color=theme.fg, weight="bold")
        ax.text(bx1 - 0.12, y0 + hgt / 2, f"{fmt.nbytes(s['end'] - s['start'])}  {perms}", ha="right",
                va="center", fontsize=7.5, color=theme.fg)
        ax.text(bx0 - 0.08, y0, _hex(s["start"]), ha="right", va="bottom", fontsize=7, color=theme.muted,
                family="monospace")
        if i and s["start"] > segs[i - 1]["end"]:
            gy = y0 - gap_h
            xs = [bx0 + (bx1 - bx0) * j / 14 for j in range(15)]
            for k in (0.38, 0.62):   # a double zigzag: the scale is broken here
                ax.plot(xs, [gy + gap_h * k + (0.05 if j % 2 else -0.05) for j in range(15)],
                        color=theme.gap, lw=0.8)
            ax.text(bx0 - 0.08, gy + gap_h / 2, f"unmapped {big_bytes(s['start'] - segs[i - 1]['end'])}",
                    ha="right", va="center", fontsize=7, color=theme.muted, style="italic")
    # The sample variables: a dot at their place in the block, a label in a column to the right.
    marks = []
    for p in data.points:
        for i, s in enumerate(segs):
            if s["start"] <= p["address"] < s["end"]:
                frac = (p["address"] - s["start"]) / max(s["end"] - s["start"], 1)
                marks.append((ys[i] + 0.1 + frac * (heights[i] - 0.2), p))
                break
    marks.sort(key=lambda m: m[0])
    step = 0.5       # one 7.5 pt line, in units of height
    label_y: list[float] = []
    for y, _ in marks:
        label_y.append(max(y, label_y[-1] + step) if label_y else y)
    overflow = (label_y[-1] - (total - 0.25)) if label_y else 0
    if overflow > 0:   # push the column down so the top label stays inside the figure
        label_y[-1] -= overflow
        for k in range(len(label_y) - 2, -1, -1):
            label_y[k] = min(label_y[k], label_y[k + 1] - step)
    lx = 6.55
    for (y, p), ly in zip(marks, label_y):
        ax.plot([dot_x], [y], "o", ms=4.5, color=theme.py, zorder=4)
        ax.plot([dot_x, bx1 + 0.1, lx - 0.25, lx - 0.08], [y, y, ly, ly], color=theme.py, lw=0.7, zorder=3)
        ax.text(lx, ly, f"{p['name']}  {_hex(p['address'])}", va="center", fontsize=7.5, color=theme.fg)
    ax.annotate("", xy=(0.12, total - 0.1), xytext=(0.12, 0.1),
                arrowprops={"arrowstyle": "->", "color": theme.muted, "lw": 0.8})
    ax.text(0.2, total / 2, "addresses grow upward", rotation=90, fontsize=7, color=theme.muted,
            va="center", ha="left")
    ax.set_title("The process's address space, as /proc/self/maps gave it", color=theme.fg)
    return fig


def describe(data: LayoutData, results: Results) -> tuple[str, str]:
    segs = "; ".join(f"{s['name']} at {_hex(s['start'])}, {fmt.nbytes(s['end'] - s['start'])}"
                     for s in data.segments)
    pts = "; ".join(f"{p['name']} at {_hex(p['address'])}" + (f" in {p['segment']}" if p.get("segment") else "")
                    for p in data.points)
    alt = f"Diagram of the address space from low to high addresses. Segments: {segs}. Variables: {pts}."
    cap = caption("The layout program's own address space, low addresses at the bottom: each mapped "
                  "segment at its real start address and size, and where each sample variable lives.",
                  results, "Broken scale: a block's height grows with the logarithm of its size, and each "
                           "unmapped gap is cut short and labelled with its true size.")
    return alt, cap


SPEC = Spec("layout", extract, draw, describe)
