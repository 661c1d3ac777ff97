"""Writing the figures as SVG, by hand: the drawing, scales, ticks, text and escaping. Pure.

The figures go inline into the page, so the page's CSS colours them: every mark is drawn in
`currentColor` and a class names its role (`fig-fg`, `fig-muted`, `fig-c`, ...: style.ROLES);
docs/assets/chapter.css maps each role to a colour of the light or dark scheme.
Sizes are viewBox units in a drawing `WIDTH` units wide, about a phone's content width, so
a unit is about a CSS pixel there and text of `SMALL` units stays legible when the drawing
is scaled to fit the screen. Every number written goes through `num` (or `repr` for the
data attributes), so the same data give the same bytes.
"""
from __future__ import annotations

import html
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

WIDTH = 360          # viewBox width: a 390 px phone shows the drawing at about 1:1
MARGIN = 6           # the drawing's own margin inside the viewBox
SMALL = 13           # ticks, values, notes: never smaller
BODY = 14            # row labels, legend
TITLE = 15           # the figure's title
LINE = 1.3           # line height, in font sizes

SVG_NS = "http://www.w3.org/2000/svg"


def esc(text: object) -> str:
    """Text for an SVG element or attribute."""
    return html.escape(str(text), quote=True)


def num(x: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros, never "-0"."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# ---------------------------------------------------------------- text sizes, without a font

# Advance widths (in ems) of a common sans-serif (Helvetica/Arial/Roboto are within a few %).
_NARROW = dict.fromkeys("il.,:;|!'`ijI ", 0.28) | dict.fromkeys("ftr()[]{}-/\\\"*", 0.34)
_WIDE = dict.fromkeys("mwMW%@", 0.86) | dict.fromkeys("ABCDEGHKNOQRUVXYZ&", 0.7)
_DIGIT = 0.56


def text_width(text: str, size: float, mono: bool = False) -> float:
    """The width of `text` at `size`, estimated a little wide so nothing is cut."""
    if mono:
        return len(text) * 0.61 * size
    em = sum(_NARROW.get(ch, _WIDE.get(ch, _DIGIT if ch.isdigit() else (0.62 if ch.isupper() else 0.53)))
             for ch in text)
    return em * size * 1.05


def wrap(text: str, size: float, width: float) -> list[str]:
    """`text` in lines no wider than `width` (a word longer than a line gets its own line)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and text_width(trial, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


# ---------------------------------------------------------------- the drawing


@dataclass
class Drawing:
    """Elements of one figure, in drawing order; `markup` writes the <svg>."""
    width: float = WIDTH
    parts: list[str] = field(default_factory=list)

    def add(self, element: str) -> None:
        self.parts.append(element)

    @staticmethod
    def _attrs(attrs: dict) -> str:
        return "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items() if v is not None)

    def text(self, x: float, y: float, content: str, role: str = "fg", size: float = SMALL,
             anchor: str = "start", bold: bool = False, italic: bool = False, mono: bool = False,
             **attrs) -> None:
        """One line of text, its baseline at y."""
        a = {"x": num(x), "y": num(y), "class": f"fig-{role}", "font-size": num(size),
             "text-anchor": anchor if anchor != "start" else None,
             "font-weight": "700" if bold else None, "font-style": "italic" if italic else None,
             "font-family": "var(--md-code-font-family, monospace)" if mono else None, **attrs}
        self.add(f"<text{self._attrs(a)}>{esc(content)}</text>")

    def lines(self, x: float, y: float, lines: Sequence[str], size: float = SMALL, **kw) -> float:
        """Several lines of text, the first baseline at y; returns the y below the last line."""
        for i, line in enumerate(lines):
            self.text(x, y + i * size * LINE, line, size=size, **kw)
        return y + (len(lines) - 1) * size * LINE + size * 0.45

    def line(self, x1: float, y1: float, x2: float, y2: float, role: str = "fg", width: float = 1,
             dash: str | None = None, **attrs) -> None:
        a = {"x1": num(x1), "y1": num(y1), "x2": num(x2), "y2": num(y2), "class": f"fig-{role}",
             "stroke": "currentColor", "stroke-width": num(width), "stroke-dasharray": dash, **attrs}
        self.add(f"<line{self._attrs(a)}/>")

    def rect(self, x: float, y: float, w: float, h: float, role: str = "fg", opacity: float | None = None,
             outline: bool = False, rx: float = 0, **attrs) -> None:
        """A filled rectangle, or only its outline."""
        a = {"x": num(x), "y": num(y), "width": num(max(w, 0)), "height": num(max(h, 0)), "rx": num(rx) if rx else None,
             "class": f"fig-{role}", "fill": "none" if outline else "currentColor",
             "fill-opacity": num(opacity) if opacity is not None else None,
             "stroke": "currentColor" if outline else None, "stroke-width": "1" if outline else None, **attrs}
        self.add(f"<rect{self._attrs(a)}/>")

    def circle(self, cx: float, cy: float, r: float, role: str = "fg", hollow: bool = False,
               width: float = 1.5, opacity: float | None = None, **attrs) -> None:
        a = {"cx": num(cx), "cy": num(cy), "r": num(r), "class": f"fig-{role}",
             "fill": "none" if hollow else "currentColor",
             "fill-opacity": num(opacity) if opacity is not None else None,
             "stroke": "currentColor" if hollow else None, "stroke-width": num(width) if hollow else None, **attrs}
        self.add(f"<circle{self._attrs(a)}/>")

    def diamond(self, cx: float, cy: float, r: float, role: str = "book", **attrs) -> None:
        """The book's figure: a hollow diamond."""
        d = f"M{num(cx)} {num(cy - r)}L{num(cx + r)} {num(cy)}L{num(cx)} {num(cy + r)}L{num(cx - r)} {num(cy)}Z"
        self.path(d, role, fill=False, width=1.5, **attrs)

    def path(self, d: str, role: str = "fg", fill: bool = False, width: float = 1, opacity: float | None = None,
             dash: str | None = None, **attrs) -> None:
        a = {"d": d, "class": f"fig-{role}", "fill": "currentColor" if fill else "none",
             "fill-opacity": num(opacity) if (fill and opacity is not None) else None,
             "stroke": None if fill else "currentColor", "stroke-width": None if fill else num(width),
             "stroke-dasharray": dash, "stroke-linejoin": None if fill else "round", **attrs}
        self.add(f"<path{self._attrs(a)}/>")

    @contextmanager
    def group(self, role: str, tooltip: str | None = None, **data) -> Iterator[None]:
        """A <g>: a data point when `tooltip` is given (its <title>), data-* attributes from `data`."""
        attrs = {"class": f"fig-{role}", **{f"data-{k}": v for k, v in data.items()}}
        self.add(f"<g{self._attrs(attrs)}>" + (f"<title>{esc(tooltip)}</title>" if tooltip else ""))
        yield
        self.add("</g>")

    def markup(self, height: float, label: str, name: str) -> str:
        """The <svg>: as wide as its container, the height following; `label` for screen readers."""
        return (f'<svg xmlns="{SVG_NS}" class="chapter-svg" data-figure="{esc(name)}" '
                f'viewBox="0 0 {num(self.width)} {num(math.ceil(height))}" width="100%" role="img" '
                f'aria-label="{esc(label)}">' + "".join(self.parts) + "</svg>")


# ---------------------------------------------------------------- scales and ticks


@dataclass(frozen=True)
class Scale:
    """Values lo..hi onto positions a..b, linearly or logarithmically."""
    lo: float
    hi: float
    a: float
    b: float
    log: bool = False

    def __call__(self, v: float) -> float:
        if self.log:
            v, lo, hi = math.log(max(v, 1e-300)), math.log(self.lo), math.log(self.hi)
        else:
            lo, hi = self.lo, self.hi
        return self.a + (v - lo) / (hi - lo) * (self.b - self.a) if hi != lo else (self.a + self.b) / 2


def log_bounds(values: Sequence[float], pad: float) -> tuple[float, float]:
    """The range of positive `values`, widened by the factor `pad` each way."""
    vs = [v for v in values if v > 0]
    return min(vs) / pad, max(vs) * pad


def decades(lo: float, hi: float) -> list[float]:
    """Powers of ten within lo..hi."""
    return [10.0 ** k for k in range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1)]


def nice_step(span: float, most: int) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most `most` intervals over `span`."""
    raw = span / max(most, 1)
    base = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 5, 10):
        if base * m >= raw:
            return base * m
    return base * 10


def spaced(ticks: Sequence[float], scale: Scale, label: Callable[[float], str], size: float = SMALL,
           gap: float = 10) -> list[float]:
    """The ticks whose labels fit side by side: every k-th one, k the smallest that fits."""
    ticks = list(ticks)
    for k in range(1, len(ticks) + 1):
        kept = ticks[::k]
        ends = [(scale(t) - text_width(label(t), size) / 2, scale(t) + text_width(label(t), size) / 2)
                for t in kept]
        if all(ends[i][1] + gap <= ends[i + 1][0] for i in range(len(ends) - 1)):
            return kept
    return ticks[:1]


def x_axis(d: Drawing, scale: Scale, ticks: Sequence[float], label: Callable[[float], str], top: float,
           axis_y: float, labelled: Sequence[float] | None = None) -> float:
    """Grid lines at `ticks` from `top` down to the axis at `axis_y`, and the `labelled` ones'
    labels (all by default) centred below it, kept inside the drawing; returns the y below them."""
    for t in ticks:
        d.line(scale(t), top, scale(t), axis_y, "grid", 1)
    d.line(min(scale.a, scale.b), axis_y, max(scale.a, scale.b), axis_y, "muted", 1)
    y = axis_y + SMALL + 5
    for t in (ticks if labelled is None else labelled):
        x, text = scale(t), label(t)
        half = text_width(text, SMALL) / 2
        d.line(x, axis_y, x, axis_y + 4, "muted", 1)
        d.text(min(max(x, MARGIN + half), d.width - MARGIN - half), y, text, "muted", anchor="middle")
    return y + 4


# ---------------------------------------------------------------- legends and placing labels


@dataclass(frozen=True)
class Key:
    """One legend entry: how its swatch is drawn and what it says."""
    swatch: str      # "dot" | "bar" | "band" | "line" | "dash" | "dots" | "diamond" | "ring"
    role: str
    label: str


def legend(d: Drawing, keys: Sequence[Key], y: float, x0: float = MARGIN) -> float:
    """The keys in rows that fit the width; a label too long for a row of its own (another
    machine's name, say) is wrapped under itself. Returns the y below the last row."""
    sw, pad, line_h = 22, 16, BODY * LINE
    row_h = line_h + 2
    room = d.width - MARGIN - x0 - sw - 6          # a label alone on its row
    x, y = x0, y + BODY
    below = 0.0                                     # extra height of the row's wrapped labels
    for key in keys:
        lines = wrap(key.label, BODY, room) if text_width(key.label, BODY) > room else [key.label]
        w = sw + 6 + max(text_width(line, BODY) for line in lines)
        if x > x0 and x + w > d.width - MARGIN:
            x, y, below = x0, y + row_h + below, 0.0
        _swatch(d, key, x, y - BODY * 0.35, sw)
        for i, line in enumerate(lines):
            d.text(x + sw + 6, y + i * line_h, line, "fg", size=BODY)
        below = max(below, (len(lines) - 1) * line_h)
        x += w + pad
    return y + below + BODY * 0.45


def _swatch(d: Drawing, key: Key, x: float, cy: float, w: float) -> None:
    if key.swatch == "dot":
        d.circle(x + w / 2, cy, 5, key.role)
    elif key.swatch == "ring":
        d.circle(x + w / 2, cy, 5.5, key.role, hollow=True)
    elif key.swatch == "diamond":
        d.diamond(x + w / 2, cy, 5.5, key.role)
    elif key.swatch == "bar":
        d.rect(x, cy - 5, w, 10, key.role)
    elif key.swatch == "band":
        d.rect(x, cy - 5, w, 10, key.role, opacity=0.3)
    elif key.swatch == "dash":
        d.line(x, cy, x + w, cy, key.role, 1.2, dash="4 3")
    elif key.swatch == "dots":
        d.line(x, cy, x + w, cy, key.role, 1.5, dash="1.5 3")
    else:
        d.line(x, cy, x + w, cy, key.role, 1.5)


@dataclass
class Placer:
    """Boxes already taken by labels, so the next label can go where nothing is."""
    taken: list[tuple[float, float, float, float]] = field(default_factory=list)

    def free(self, box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        return all(x1 <= a or x0 >= c or y1 <= b or y0 >= e for a, b, c, e in self.taken)

    def take(self, box: tuple[float, float, float, float]) -> None:
        self.taken.append(box)


def label_box(x: float, y: float, text: str, size: float, anchor: str) -> tuple[float, float, float, float]:
    """The box of a text line whose baseline starts (or centres, or ends) at x, y."""
    w = text_width(text, size)
    x0 = x if anchor == "start" else (x - w / 2 if anchor == "middle" else x - w)
    return x0, y - size * 0.8, x0 + w, y + size * 0.25
