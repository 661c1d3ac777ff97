"""The chapter's figures, drawn from the results document and the claims ledger. Pure.

Every number drawn comes from the results a build wrote (measured figures) or from
claims.toml (the book's figures); nothing is typed here. Each figure is an SVG in two
variants, one for material's light scheme and one for its dark scheme, and is byte-identical
whenever its data is: no dates, a fixed hash salt, text drawn as paths (no fonts fetched).

A figure whose data is missing (an experiment not measured yet, or failed) is not drawn:
the public functions return None and `render` returns a `Missing` with the reason, so the
page shows a "not measured" note instead of a broken image.
"""
from __future__ import annotations

import html
import io
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from . import fmt
from .measure.config import SCALES
from .measure.ledger import Claim

FOLDER = "figures"   # where the SVGs go in the built site (never into docs/)

# The book's counts are the full scale's sizes (config.py: "the book: 10,000,000").
BOOK_N_SUM = SCALES["full"].n_sum
BOOK_N_NODES = SCALES["full"].n_nodes

RC = {
    "svg.hashsalt": "the-machine-chapter",   # ids inside the SVG: stable from build to build
    "svg.fonttype": "none",                   # text stays text: small files, the reader's own fonts
    "font.family": "sans-serif",              # a list of families ending in the generic one
    "font.size": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "path.simplify": False,
}
SAVE_META = {"Date": None, "Creator": None}   # no timestamp, no library version in the file


@dataclass(frozen=True)
class Theme:
    name: str
    fg: str         # text, axes
    muted: str      # secondary text, spines
    grid: str
    c: str          # C
    py: str         # Python
    np: str         # NumPy
    book: str       # the book's markers and reference lines
    block: str      # fill of address-space segments
    gap: str        # hatch of the unmapped gaps

    def family(self, family: str) -> str:
        return {"c": self.c, "py": self.py, "np": self.np}[family]


# Okabe-Ito hues (told apart by colour-blind readers too), darker on light, lighter on dark.
LIGHT = Theme("light", fg="#1f2328", muted="#59636e", grid="#d8dee4", c="#0b5fa5", py="#c0461a",
              np="#137a4f", book="#1f2328", block="#e8eef6", gap="#9aa5b1")
DARK = Theme("dark", fg="#e6edf3", muted="#a3adb8", grid="#3a424c", c="#74b9ff", py="#ff9b6b",
             np="#53d6a0", book="#f0f3f6", block="#2a3340", gap="#6e7781")
THEMES = (LIGHT, DARK)


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
class _Spec:
    name: str
    extract: Callable[[dict, dict], object]        # -> data, or a str: why it cannot be drawn
    draw: Callable[[object, Theme], Figure]
    describe: Callable[[object, dict], tuple[str, str]]   # -> (alt, caption)


# ---------------------------------------------------------------- shared helpers


def _experiment(doc: dict, name: str) -> dict | str:
    exp = doc.get("experiments", {}).get(name)
    if exp is None:
        return f"experiment {name!r} has not been measured on this build"
    if exp.get("status") != "ok":
        where = f" ({exp['file']})" if exp.get("file") else ""
        return f"{name}{where}: {str(exp.get('reason', 'failed')).splitlines()[0]}"
    return exp


def _facts(doc: dict, *names: str) -> dict | str:
    """The facts of the first of `names` that was measured (a family may move between modules)."""
    reasons = []
    merged: dict = {}
    for name in names:
        exp = _experiment(doc, name)
        if isinstance(exp, str):
            reasons.append(exp)
        else:
            for k, v in exp.get("facts", {}).items():
                merged.setdefault(k, v)
    return merged if merged else "; ".join(reasons)


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


def machine_text(doc: dict) -> str:
    p = doc.get("provenance", {})
    m = p.get("machine", {})
    py = p.get("python", {})
    virt = m.get("virtualised")
    cpu = f"{m.get('cpu') or 'an unnamed CPU'} ({m.get('cores', '?')} cores" + \
          (", virtualised)" if virt and virt != "no" else ")")
    cc = str(p.get("compiler") or "?")
    cc_short = f"{cc.split()[0]} {cc.split()[-1]}" if " " in cc else cc
    return (f"{cpu}, Linux {m.get('kernel', '?')}, {py.get('implementation', 'Python')} "
            f"{py.get('version', '?')}, {cc_short}")


def scale_name(doc: dict) -> str:
    return doc.get("provenance", {}).get("scale", {}).get("name", "?")


def _caption(what: str, doc: dict, axes: str, extra: str = "") -> str:
    scale = scale_name(doc)
    note = "" if scale == "full" else " (small inputs for tests, not for publication)"
    return (f"{what} Measured on {machine_text(doc)}; scale {scale}{note}. {axes}"
            + (f" {extra}" if extra else ""))


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    return fig


def _style_axes(ax, theme: Theme) -> None:
    ax.set_facecolor("none")
    for side in ("left", "bottom"):
        ax.spines[side].set_color(theme.muted)
    ax.tick_params(colors=theme.fg, which="both", labelcolor=theme.fg)
    ax.tick_params(which="both", color=theme.muted)
    ax.title.set_color(theme.fg)
    ax.xaxis.label.set_color(theme.fg)
    ax.yaxis.label.set_color(theme.fg)


def _legend(ax, theme: Theme, handles: list, **kw) -> None:
    leg = ax.legend(handles=handles, **kw)
    for text in leg.get_texts():
        text.set_color(theme.fg)


def _svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=SAVE_META, transparent=True,
                bbox_inches="tight", pad_inches=0.06)
    return buf.getvalue()


_MEMO: dict[tuple[str, str, str], bytes] = {}   # `mkdocs serve`: a prose edit redraws nothing


def _draw(spec: _Spec, data, theme: Theme) -> bytes:
    key = (spec.name, theme.name, repr(data))    # the data decide the bytes, nothing else does
    if key not in _MEMO:
        if len(_MEMO) > 64:
            _MEMO.clear()
        with matplotlib.rc_context(RC):
            _MEMO[key] = _svg(spec.draw(data, theme))
    return _MEMO[key]


def _px(svg: bytes) -> tuple[int, int]:
    """The SVG's size in CSS pixels (matplotlib writes points)."""
    head = svg[:2000].decode("utf-8", "replace")
    w = re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', head)
    h = re.search(r'<svg[^>]*\bheight="([\d.]+)pt"', head)
    return (round(float(w.group(1)) * 4 / 3), round(float(h.group(1)) * 4 / 3)) if w and h else (0, 0)


def _tick(value: float, units: tuple[tuple[float, str], ...]) -> str:
    """A round axis value in the largest unit it reaches: 0.001 -> "1 ms" (no trailing zeros)."""
    if value <= 0:
        return ""
    for scale, unit in units:
        if value >= scale * 0.999:
            return f"{value / scale:g} {unit}"
    scale, unit = units[-1]
    return f"{value / scale:g} {unit}"


SECOND_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def _seconds_tick(value: float, _pos=None) -> str:
    return _tick(value, SECOND_UNITS)


def _ns_tick(value: float, _pos=None) -> str:
    return _tick(value, ((1e3, "µs"), (1.0, "ns"), (1e-3, "ps")))


def _bytes_tick(value: float, _pos=None) -> str:
    return fmt.nbytes(value) if value >= 1 else ""


def _big_bytes(value: int) -> str:
    """Byte counts of any size: the gaps of a 64-bit address space run to exbibytes."""
    for shift, unit in ((60, "EiB"), (50, "PiB"), (40, "TiB")):
        if value >= 1 << shift:
            return f"{fmt.sig(value / (1 << shift))} {unit}"
    return fmt.nbytes(value)


def _spread_of(fact: dict) -> tuple[float, float, float, float] | None:
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


def _dot_rows(ax, rows: list[dict], theme: Theme, formatter: Callable[[float], str],
              tick: Callable[[float, object], str]) -> None:
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
    ax.xaxis.set_major_formatter(FuncFormatter(tick))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(axis="x", which="major", color=theme.grid, lw=0.7)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)


def _dot_legend(ax, theme: Theme, families: list[tuple[str, str]], has_book: bool, book_label: str) -> None:
    handles = [Line2D([], [], color=theme.family(f), marker="o", ls="none", ms=6, label=label)
               for f, label in families]
    handles += [Line2D([], [], color=theme.muted, lw=7, alpha=0.35, label="middle half of runs"),
                Line2D([], [], color=theme.muted, lw=1.1, label="fastest to slowest")]
    if has_book:
        handles.append(Line2D([], [], color=theme.book, marker="D", mfc="none", ls="none", ms=5.5,
                              label=book_label))
    _legend(ax, theme, handles, loc="upper center", bbox_to_anchor=(0.45, -0.13), ncol=3,
            handletextpad=0.8, columnspacing=1.4)


# ---------------------------------------------------------------- 2. the benchmark

SUM_ROWS = (   # fact, label, family
    ("c_opaque_O2", "C loop, -O2, kept opaque", "c"),
    ("c_book_O2", "the book's C loop, -O2", "c"),
    ("c_book_O0", "the book's C loop, -O0", "c"),
    ("numpy_sum", "NumPy sum of an array", "np"),
    ("py_sum_builtin", "sum(range(n))", "py"),
    ("py_loop", "Python for loop", "py"),
)


@dataclass(frozen=True)
class _SumData:
    rows: list
    n: int
    book_scaled: bool


def _sum_data(doc: dict, claims: dict) -> _SumData | str:
    facts = _facts(doc, "sum")
    if isinstance(facts, str):
        return facts
    n = facts.get("n", {}).get("value") or BOOK_N_SUM
    marks = book_marks(claims, ["sum"])
    factor = n / BOOK_N_SUM
    rows = []
    for name, label, family in SUM_ROWS:
        f = facts.get(name)
        if not f or not isinstance(f.get("value"), (int, float)):
            continue
        if name == "c_book_O2" and facts.get("book_loop_folded_O2", {}).get("value"):
            label += " (folded)"
        rows.append({"fact": name, "label": label, "family": family, "value": f["value"],
                     "spread": _spread_of(f), "book": [v * factor for v, _ in marks.get(name, [])]})
    if not rows:
        return "experiment 'sum' recorded none of the timings this figure draws"
    return _SumData(rows, int(n), n != BOOK_N_SUM)


def _sum_draw(data: _SumData, theme: Theme) -> Figure:
    fig = _new_figure(6.4, 0.5 * len(data.rows) + 1.35)
    ax = fig.subplots()
    _style_axes(ax, theme)
    _dot_rows(ax, data.rows, theme, fmt.seconds, _seconds_tick)
    ax.set_title(f"Summing {data.n:,} integers: time per run", color=theme.fg)
    ax.set_xlabel("seconds (logarithmic scale)")
    families = [(f, lab) for f, lab in (("c", "C (through cffi)"), ("np", "NumPy"), ("py", "Python"))
                if any(r["family"] == f for r in data.rows)]
    book = (f"the book ({BOOK_N_SUM:,} integers, scaled to {data.n:,})" if data.book_scaled
            else "the book's figure")
    _dot_legend(ax, theme, families, any(r["book"] for r in data.rows), book)
    return fig


def _sum_describe(data: _SumData, doc: dict) -> tuple[str, str]:
    parts = [f"{r['label']}: {fmt.seconds(r['value'])}"
             + (f" (the book: {', '.join(fmt.seconds(b) for b in r['book'])})" if r["book"] else "")
             for r in data.rows]
    alt = (f"Dot chart on a logarithmic time axis, median time to sum {data.n:,} integers. "
           + "; ".join(parts) + ".")
    scaled = (f" The book's figures are for {BOOK_N_SUM:,} integers, scaled here to {data.n:,} in proportion."
              if data.book_scaled else "")
    cap = _caption(f"Summing {data.n:,} integers, each way the chapter tries: median time per run "
                   f"(dot), the middle half of the runs (bar) and the fastest and slowest (line); "
                   f"the book's figures as hollow diamonds.", doc,
                   "Logarithmic time axis: each grid step is ten times slower.", scaled.strip())
    return alt, cap


# ---------------------------------------------------------------- 4. sizes


@dataclass(frozen=True)
class _SizeData:
    pairs: list      # {what, c_type, c_bytes, py_value, py_bytes}
    book: dict       # (slug, "c"|"py") -> [values]


# Where the ledger's size claims land in the figure: (experiment, fact) -> (pair slug, side).
SIZE_BOOK_FACTS = {("cside", "c_sizeof_int"): ("small_int", "c"),
                   ("pyside", "getsizeof_42"): ("small_int", "py")}


def _sizes_data(doc: dict, claims: dict) -> _SizeData | str:
    facts = _facts(doc, "sizes")
    if not isinstance(facts, str) and isinstance(facts.get("pairs", {}).get("value"), list):
        pairs = [p for p in facts["pairs"]["value"] if p.get("py_bytes") is not None]
    else:
        # Without the sizes listing, section 1's own figures still make one pair.
        c = _facts(doc, "cside")
        py = _facts(doc, "pyside")
        if isinstance(c, str) or isinstance(py, str) or "c_sizeof_int" not in c or "getsizeof_42" not in py:
            return facts if isinstance(facts, str) else "no sizes were measured"
        pairs = [{"slug": "small_int", "what": "a small integer", "c_type": "int",
                  "c_bytes": c["c_sizeof_int"]["value"], "py_value": "42",
                  "py_bytes": py["getsizeof_42"]["value"]}]
    book: dict = {}
    for (exp, name), where in SIZE_BOOK_FACTS.items():
        for value, _ in book_marks(claims, [exp]).get(name, []):
            book.setdefault(where, []).append(value)
    return _SizeData(pairs, book)


def _sizes_draw(data: _SizeData, theme: Theme) -> Figure:
    n = len(data.pairs)
    fig = _new_figure(6.4, 0.5 * n + 1.2)
    ax = fig.subplots()
    _style_axes(ax, theme)
    h = 0.36
    top = max(max(p["py_bytes"], p.get("c_bytes") or 0) for p in data.pairs)
    for i, p in enumerate(data.pairs):
        y = n - 1 - i
        for side, dy, value, col in (("c", h / 2, p.get("c_bytes"), theme.c),
                                     ("py", -h / 2, p["py_bytes"], theme.py)):
            if value is None:
                ax.annotate("no C counterpart", (0, y + dy), xytext=(4, 0), textcoords="offset points",
                            va="center", fontsize=7.5, color=theme.muted, style="italic")
                continue
            ax.barh(y + dy, value, height=h, color=col, zorder=2)
            book = data.book.get((p["slug"], side), [])
            for b in book:
                ax.plot([b], [y + dy], "D", ms=5.5, mfc="none", mec=theme.book, mew=1.2, zorder=3)
            right = max([value] + book)
            ax.annotate(f"{value} B", (right, y + dy), xytext=(8 if book else 4, 0), textcoords="offset points",
                        va="center", fontsize=8, color=theme.fg)
    labels = [f"{p['what']}\nC {p['c_type']}  ·  Python {p['py_value']}" if p.get("c_type")
              else f"{p['what']}\nPython {p['py_value']}" for p in data.pairs]
    ax.set_yticks(range(n), list(reversed(labels)), fontsize=8)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel("bytes (linear scale)")
    ax.set_title("The same kinds of value in C and in Python: bytes each", color=theme.fg)
    ax.grid(axis="x", color=theme.grid, lw=0.7)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    handles = [Patch(color=theme.c, label="C: sizeof"), Patch(color=theme.py, label="Python: sys.getsizeof")]
    if data.book:
        handles.append(Line2D([], [], color=theme.book, marker="D", mfc="none", ls="none", ms=5.5,
                              label="the book's figure"))
    _legend(ax, theme, handles, loc="upper center", bbox_to_anchor=(0.4, -0.1), ncol=3)
    return fig


def _sizes_describe(data: _SizeData, doc: dict) -> tuple[str, str]:
    parts = []
    for p in data.pairs:
        c = f"C {p['c_type']} {p['c_bytes']} B, " if p.get("c_type") else ""
        parts.append(f"{p['what']}: {c}Python {p['py_value']} {p['py_bytes']} B")
    alt = "Bar chart of sizes in bytes, C beside Python. " + "; ".join(parts) + "."
    cap = _caption("What each kind of value costs in memory: sizeof of a C type (csrc/sizes.c) beside "
                   "sys.getsizeof of a matching Python value (pysrc/sizes.py). A Python container's "
                   "size counts its references, not the objects they point to.", doc,
                   "Linear byte axis.")
    return alt, cap


# ---------------------------------------------------------------- 1. the address space


@dataclass(frozen=True)
class _LayoutData:
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


def _layout_data(doc: dict, claims: dict) -> _LayoutData | str:
    facts = _facts(doc, "layout")
    if isinstance(facts, str):
        return facts
    segs = facts.get("segments", {}).get("value")
    points = facts.get("points", {}).get("value")
    if not segs or not isinstance(segs, list):
        return "experiment 'layout' recorded no segments"
    merged = _merge_segments(segs)
    pts = []
    for p in points or []:
        try:
            pts.append({**p, "address": _addr(p["address"])})
        except (KeyError, TypeError, ValueError):
            continue
    return _LayoutData(merged, pts)


def _hex(a: int) -> str:
    return f"0x{a:012x}" if a < (1 << 48) else f"0x{a:x}"


def _layout_draw(data: _LayoutData, theme: Theme) -> Figure:
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
    fig = _new_figure(6.4, total * unit_in + 0.1)
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
            ax.text(bx0 - 0.08, gy + gap_h / 2, f"unmapped {_big_bytes(s['start'] - segs[i - 1]['end'])}",
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


def _layout_describe(data: _LayoutData, doc: dict) -> tuple[str, str]:
    segs = "; ".join(f"{s['name']} at {_hex(s['start'])}, {fmt.nbytes(s['end'] - s['start'])}"
                     for s in data.segments)
    pts = "; ".join(f"{p['name']} at {_hex(p['address'])}" + (f" in {p['segment']}" if p.get("segment") else "")
                    for p in data.points)
    alt = f"Diagram of the address space from low to high addresses. Segments: {segs}. Variables: {pts}."
    cap = _caption("The layout program's own address space, low addresses at the bottom: each mapped "
                   "segment at its real start address and size, and where each sample variable lives.",
                   doc, "Broken scale: a block's height grows with the logarithm of its size, and each "
                        "unmapped gap is cut short and labelled with its true size.")
    return alt, cap


# ---------------------------------------------------------------- 3. the latency staircase


@dataclass(frozen=True)
class _LatencyData:
    steps: list      # {bytes, ns, q1, q3}
    caches: list     # (label, bytes)
    book: list       # (ns, label)
    levels: list     # (label, bytes, ns): where the experiment read each level's latency


LEVEL_FACTS = ("l1_ns", "l2_ns", "l3_ns", "ram_ns")


def _latency_data(doc: dict, claims: dict) -> _LatencyData | str:
    facts = _facts(doc, "latency")
    if isinstance(facts, str):
        return facts
    steps = facts.get("staircase", {}).get("value")
    if not steps or not isinstance(steps, list):
        return "experiment 'latency' recorded no staircase"
    steps = sorted((s for s in steps if s.get("ns") and s.get("bytes")), key=lambda s: s["bytes"])
    caches = []
    for c in doc.get("provenance", {}).get("machine", {}).get("caches", []):
        if str(c.get("type", "")).lower().startswith("instr") or not c.get("size"):
            continue
        kind = "d" if str(c.get("type", "")).lower().startswith("data") else ""
        caches.append((f"L{c.get('level')}{kind} {fmt.nbytes(c['size'])}", int(c["size"])))
    book = [(value, f"the book: {text}") for value, text in book_quantities(claims, ["latency"], "ns")]
    levels = [(name[:-3].upper(), facts[name]["bytes"], facts[name]["value"]) for name in LEVEL_FACTS
              if isinstance(facts.get(name, {}).get("value"), (int, float)) and facts[name].get("bytes")]
    return _LatencyData(steps, caches, book, levels)


def _latency_draw(data: _LatencyData, theme: Theme) -> Figure:
    fig = _new_figure(6.4, 3.9)
    ax = fig.subplots()
    _style_axes(ax, theme)
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
    ax.xaxis.set_major_formatter(FuncFormatter(_bytes_tick))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=10))
    ax.yaxis.set_major_formatter(FuncFormatter(_ns_tick))
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
    _legend(ax, theme, handles, loc="upper center", bbox_to_anchor=(0.45, -0.3), ncol=2)
    return fig


def _latency_describe(data: _LatencyData, doc: dict) -> tuple[str, str]:
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
    cap = _caption("The latency staircase: the time of one load when each depends on the last, through a "
                   f"random cycle of the given size. {marks}", doc, "Both axes logarithmic.")
    return alt, cap


# ---------------------------------------------------------------- 5. array vs list

LOCALITY_ROWS = (   # fact, label, family
    ("ns_per_elem_array", "C array", "c"),
    ("ns_per_elem_list_ordered", "C linked list, nodes in order", "c"),
    ("ns_per_elem_list_shuffled", "C linked list, nodes shuffled", "c"),
    ("ns_per_elem_numpy", "NumPy array", "np"),
    ("ns_per_elem_py_array", "Python array.array", "py"),
    ("ns_per_elem_py_list_ordered", "Python list, ints in memory order", "py"),
    ("ns_per_elem_py_list_shuffled", "Python list, ints shuffled", "py"),
)
LOCALITY_EXPERIMENTS = ("locality", "pylocality")


@dataclass(frozen=True)
class _LocalityData:
    rows: list
    counts: dict     # family -> how many integers were summed ("c", "py")


def _locality_data(doc: dict, claims: dict) -> _LocalityData | str:
    facts: dict = {}
    counts: dict = {}
    reasons = []
    for exp_name in LOCALITY_EXPERIMENTS:   # the Python variants may live in their own experiment
        got = _facts(doc, exp_name)
        if isinstance(got, str):
            reasons.append(got)
            continue
        for k, v in got.items():
            if k.startswith("ns_per_elem_"):
                facts.setdefault(k, {**v, "n": (got.get("n") or {}).get("value")})
    marks = book_marks(claims, LOCALITY_EXPERIMENTS)
    # The book times whole sums of its 10,000,000 ints (t_<layout>, seconds): per element here.
    for name, values in list(marks.items()):
        if name.startswith("t_"):
            marks.setdefault("ns_per_elem_" + name[2:], []).extend(
                (v / BOOK_N_NODES * 1e9, cid) for v, cid in values)
    rows = []
    for name, label, family in LOCALITY_ROWS:
        f = facts.get(name)
        if not f or not isinstance(f.get("value"), (int, float)):
            continue
        rows.append({"fact": name, "label": label, "family": family, "value": f["value"],
                     "spread": _spread_of(f), "book": [v for v, _ in marks.get(name, [])]})
        if isinstance(f.get("n"), int):
            counts.setdefault("py" if "_py_" in name or family == "np" else "c", f["n"])
    if not rows:
        return "; ".join(reasons) or "no per-element times were recorded"
    return _LocalityData(rows, counts)


def _ns(v: float) -> str:
    return f"{fmt.sig(v)} ns"


def _locality_draw(data: _LocalityData, theme: Theme) -> Figure:
    fig = _new_figure(6.4, 0.5 * len(data.rows) + 1.35)
    ax = fig.subplots()
    _style_axes(ax, theme)
    _dot_rows(ax, data.rows, theme, _ns, _ns_tick)
    ax.set_title("Summing integers from different layouts: time per element", color=theme.fg)
    ax.set_xlabel("nanoseconds per element (logarithmic scale)")
    families = [(f, lab) for f, lab in (("c", "C"), ("np", "NumPy"), ("py", "Python"))
                if any(r["family"] == f for r in data.rows)]
    _dot_legend(ax, theme, families, any(r["book"] for r in data.rows), "the book's figure")
    return fig


def _locality_describe(data: _LocalityData, doc: dict) -> tuple[str, str]:
    parts = [f"{r['label']}: {_ns(r['value'])}" for r in data.rows]
    alt = "Dot chart on a logarithmic axis, nanoseconds per element summed. " + "; ".join(parts) + "."
    counts = "; ".join(f"{who} sums {data.counts[k]:,} integers" for k, who in (("c", "C"), ("py", "Python and NumPy"))
                       if k in data.counts)
    book = (f" Hollow diamonds: the book's times for {BOOK_N_NODES:,} integers, per integer."
            if any(r["book"] for r in data.rows) else "")
    cap = _caption("The cost of where data lives: time per element to sum integers held in a C array, "
                   "a C linked list with its nodes in order and shuffled, and the Python and NumPy "
                   f"equivalents{' (' + counts + ')' if counts else ''}.{book}",
                   doc, "Logarithmic axis: each grid step is ten times slower.")
    return alt, cap


# ---------------------------------------------------------------- the catalogue

SPECS = {s.name: s for s in (
    _Spec("layout", _layout_data, _layout_draw, _layout_describe),
    _Spec("benchmark", _sum_data, _sum_draw, _sum_describe),
    _Spec("latency", _latency_data, _latency_draw, _latency_describe),
    _Spec("sizes", _sizes_data, _sizes_draw, _sizes_describe),
    _Spec("locality", _locality_data, _locality_draw, _locality_describe),
)}
NAMES = tuple(SPECS)


def draw(name: str, doc: dict, claims: dict[str, Claim], theme: str = "light") -> bytes | None:
    """One figure's SVG for one scheme, or None while its data is missing."""
    spec = SPECS[name]
    data = spec.extract(doc, claims)
    if isinstance(data, str):
        return None
    return _draw(spec, data, LIGHT if theme == "light" else DARK)


def render(name: str, doc: dict, claims: dict[str, Claim]) -> Rendered | Missing:
    """Both variants of one figure with its alt text and caption, or why it cannot be drawn."""
    spec = SPECS[name]
    data = spec.extract(doc, claims)
    if isinstance(data, str):
        return Missing(name, data)
    light, dark = _draw(spec, data, LIGHT), _draw(spec, data, DARK)
    alt, caption = spec.describe(data, doc)
    w, h = _px(light)
    return Rendered(name, light, dark, alt, caption, w, h)


def render_all(doc: dict, claims: dict[str, Claim]) -> dict[str, Rendered | Missing]:
    """Every figure; one that odd data keeps from drawing becomes Missing with the reason,
    which its page shows (and warns about) instead of stopping the build."""
    drawn: dict[str, Rendered | Missing] = {}
    for name in NAMES:
        try:
            drawn[name] = render(name, doc, claims)
        except Exception as exc:
            drawn[name] = Missing(name, f"could not be drawn ({type(exc).__name__}: {exc})")
    return drawn


def paths(name: str) -> tuple[str, str]:
    """Site paths of the light and dark SVGs."""
    return f"{FOLDER}/{name}-light.svg", f"{FOLDER}/{name}-dark.svg"


def figure_html(item: Rendered | Missing, base: str) -> str:
    """The <figure> for a page: light and dark <img> (material shows one per scheme), caption.

    base: the relative URL from the page to the site root ("../../" for chapter/x/).
    """
    esc = lambda s: html.escape(str(s), quote=True)   # noqa: E731
    if isinstance(item, Missing):
        return (f'<figure class="chapter-figure chapter-figure--missing" id="figure-{esc(item.name)}">'
                f'<p class="not-measured" title="{esc(item.reason)}">Figure not drawn, its data was not '
                f'measured on this build: {esc(item.reason)}</p></figure>')
    light, dark = paths(item.name)
    imgs = "".join(
        f'<a class="chapter-figure__zoom" href="{esc(base + p)}" title="Open the figure on its own">'
        f'<img src="{esc(base + p)}#only-{scheme}" alt="{esc(item.alt)}" width="{item.width}" '
        f'height="{item.height}" loading="lazy" decoding="async"></a>'
        for p, scheme in ((light, "light"), (dark, "dark")))
    return (f'<figure class="chapter-figure" id="figure-{esc(item.name)}">'
            f'<div class="chapter-figure__frame">{imgs}</div>'
            f'<figcaption>{esc(item.caption)}</figcaption></figure>')
