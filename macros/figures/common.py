"""What every figure shares: the figure records, fact lookups through `Results`, the book's
figures from the ledger, captions, axes, ticks, dot rows and the SVG writing.

A figure module gives an `extract` (results, claims -> its data, or a str saying why it cannot
be drawn), a `draw` (data, theme -> a matplotlib Figure) and a `describe` (data, results ->
alt text and caption). Only `extract` reads facts, and only through `Results`; `describe`
reads the provenance for the caption.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .. import fmt
from ..measure.ledger import Claim
from ..measure.results import NotMeasured, Results
from .style import RC, SAVE_META, Theme


@dataclass(frozen=True)
class Rendered:
    """One figure, drawn: both variants, the text that stands for it, its size in CSS px."""
    name: str
    light: bytes
    dark: bytes
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
    draw: Callable[[object, Theme], Figure]
    describe: Callable[[object, Results], tuple[str, str]]   # -> (alt, caption)


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
    cc = str(p.get("compiler") or "?")
    cc_short = f"{cc.split()[0]} {cc.split()[-1]}" if " " in cc else cc
    return (f"{cpu}, Linux {m.get('kernel', '?')}, {py.get('implementation', 'Python')} "
            f"{py.get('version', '?')}, {cc_short}")


def scale_name(results: Results) -> str:
    return results.prov.get("scale", {}).get("name", "?")


def caption(what: str, results: Results, axes: str, extra: str = "") -> str:
    scale = scale_name(results)
    note = "" if scale == "full" else " (small inputs for tests, not for publication)"
    return (f"{what} Measured on {machine_text(results)}; scale {scale}{note}. {axes}"
            + (f" {extra}" if extra else ""))


# ---------------------------------------------------------------- the SVG


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=SAVE_META, transparent=True,
                bbox_inches="tight", pad_inches=0.06)
    return buf.getvalue()


MEMO: dict[tuple[str, str, str], bytes] = {}   # `mkdocs serve`: a prose edit redraws nothing


def draw_svg(spec: Spec, data: object, theme: Theme) -> bytes:
    """The SVG of `spec` drawn from `data` in `theme`, remembered by the data's repr."""
    key = (spec.name, theme.name, repr(data))    # the data decide the bytes, nothing else does
    if key not in MEMO:
        if len(MEMO) > 64:
            MEMO.clear()
        with matplotlib.rc_context(RC):
            MEMO[key] = _svg(spec.draw(data, theme))
    return MEMO[key]


def px(svg: bytes) -> tuple[int, int]:
    """The SVG's size in CSS pixels (matplotlib writes points)."""
    head = svg[:2000].decode("utf-8", "replace")
    w = re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', head)
    h = re.search(r'<svg[^>]*\bheight="([\d.]+)pt"', head)
    return (round(float(w.group(1)) * 4 / 3), round(float(h.group(1)) * 4 / 3)) if w and h else (0, 0)


# ---------------------------------------------------------------- axes and ticks


def style_axes(ax, theme: Theme) -> None:
    ax.set_facecolor("none")
    for side in ("left", "bottom"):
        ax.spines[side].set_color(theme.muted)
    ax.tick_params(colors=theme.fg, which="both", labelcolor=theme.fg)
    ax.tick_params(which="both", color=theme.muted)
    ax.title.set_color(theme.fg)
    ax.xaxis.label.set_color(theme.fg)
    ax.yaxis.label.set_color(theme.fg)


def legend(ax, theme: Theme, handles: list, **kw) -> None:
    leg = ax.legend(handles=handles, **kw)
    for text in leg.get_texts():
        text.set_color(theme.fg)


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


def seconds_tick(value: float, _pos=None) -> str:
    return tick(value, SECOND_UNITS)


def ns_tick(value: float, _pos=None) -> str:
    return tick(value, ((1e3, "µs"), (1.0, "ns"), (1e-3, "ps")))


def bytes_tick(value: float, _pos=None) -> str:
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


def dot_rows(ax, rows: list[dict], theme: Theme, formatter: Callable[[float], str],
             ticks: Callable[[float, object], str]) -> None:
    """Rows of median dots with IQR bars and min-max whiskers; the book's figures as diamonds.

    Each row: {"label", "family", "value", "spread": (q1, q3, lo, hi) | None, "book": [values]}.
    """
    n = len(rows)
    for i, row in enumerate(rows):
        y = n - 1 - i
        col = theme.family(row["family"])
        v = row["value"]
        right = v
        if row["spread"]:
            q1, q3, lo, hi = row["spread"]
            ax.plot([lo, hi], [y, y], color=col, lw=1.1, solid_capstyle="butt", zorder=2)
            ax.plot([q1, q3], [y, y], color=col, lw=7, alpha=0.35, solid_capstyle="butt", zorder=2)
            right = max(hi, v)
        ax.plot([v], [y], "o", color=col, ms=6.5, zorder=3)
        ax.annotate(formatter(v), (right, y), xytext=(6, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=8.5, color=theme.fg)
        for b in row["book"]:
            ax.plot([b], [y - 0.36], "D", ms=5.5, mfc="none", mec=theme.book, mew=1.2, zorder=3)
            ax.annotate(f"book: {formatter(b)}", (b, y - 0.36), xytext=(6, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=7.5, color=theme.muted)
    ax.set_yticks(range(n), [r["label"] for r in reversed(rows)])
    ax.set_ylim(-0.75, n - 0.45)
    values = [r["value"] for r in rows] + [b for r in rows for b in r["book"]] + \
             [x for r in rows if r["spread"] for x in r["spread"]]
    lo, hi = min(values), max(values)
    ax.set_xscale("log")
    ax.set_xlim(lo / 2.2, hi * 6)
    ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.xaxis.set_major_formatter(FuncFormatter(ticks))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(axis="x", which="major", color=theme.grid, lw=0.7)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)


def dot_legend(ax, theme: Theme, families: list[tuple[str, str]], has_book: bool, book_label: str) -> None:
    handles = [Line2D([], [], color=theme.family(f), marker="o", ls="none", ms=6, label=label)
               for f, label in families]
    handles += [Line2D([], [], color=theme.muted, lw=7, alpha=0.35, label="middle half of runs"),
                Line2D([], [], color=theme.muted, lw=1.1, label="fastest to slowest")]
    if has_book:
        handles.append(Line2D([], [], color=theme.book, marker="D", mfc="none", ls="none", ms=5.5,
                              label=book_label))
    legend(ax, theme, handles, loc="upper center", bbox_to_anchor=(0.45, -0.13), ncol=3,
           handletextpad=0.8, columnspacing=1.4)
