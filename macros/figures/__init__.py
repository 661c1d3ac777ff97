"""The chapter's figures, drawn from the results (read through `Results`) and the claims
ledger, as SVG written by our own code and placed inline in the page. Pure.

Every number drawn comes from the results a build wrote (measured figures) or from
claims.toml (the book's figures); nothing is typed here. One drawing serves both colour
schemes: its marks are drawn in `currentColor` under class names that the page's CSS
colours (docs/assets/chapter.css). It is sized in viewBox units for a phone's width and
scales to its container. Every data point carries its value, spread and provenance in a
<title> (the tooltip) and in data-* attributes. The same data give the same bytes.

A figure whose data is missing (an experiment or a fact not measured, or failed) is not drawn:
`draw` returns None and `render` returns a `Missing` with the reason, so the page shows a
"not measured" note instead of a broken figure.

One module per figure (sum_times, value_sizes, address_space, latency_staircase,
locality_times); svg.py writes SVG (drawing, scales, ticks, text, escaping), style.py holds
the look that is not colour, common.py what the figures share.
"""
from __future__ import annotations

import html
import math

from ..measure.ledger import Claim
from ..measure.results import Results
from . import address_space, latency_staircase, locality_times, sum_times, value_sizes
from .common import Missing, Rendered, Spec, draw_svg
from .svg import WIDTH

__all__ = ["SPECS", "NAMES", "Rendered", "Missing", "draw", "render", "render_all", "figure_html"]

SPECS: dict[str, Spec] = {m.SPEC.name: m.SPEC for m in (
    address_space, sum_times, latency_staircase, value_sizes, locality_times)}
NAMES = tuple(SPECS)


def render(name: str, results: Results, claims: dict[str, Claim]) -> Rendered | Missing:
    """One figure's inline SVG with its alt text and caption, or why it cannot be drawn."""
    spec = SPECS[name]
    data = spec.extract(results, claims)
    if isinstance(data, str):
        return Missing(name, data)
    alt, caption = spec.describe(data, results)
    markup, height = draw_svg(spec, data, alt)
    return Rendered(name, markup, alt, caption, WIDTH, math.ceil(height))


def draw(name: str, results: Results, claims: dict[str, Claim]) -> str | None:
    """One figure's <svg>, or None while its data is missing."""
    item = render(name, results, claims)
    return item.svg if isinstance(item, Rendered) else None


def render_all(results: Results, claims: dict[str, Claim]) -> dict[str, Rendered | Missing]:
    """Every figure; one that odd data keeps from drawing becomes Missing with the reason,
    which its page shows (and warns about) instead of stopping the build."""
    drawn: dict[str, Rendered | Missing] = {}
    for name in NAMES:
        try:
            drawn[name] = render(name, results, claims)
        except Exception as exc:
            drawn[name] = Missing(name, f"could not be drawn ({type(exc).__name__}: {exc})")
    return drawn


def figure_html(item: Rendered | Missing) -> str:
    """The <figure> for a page: the drawing itself (its aria-label the alt text), the caption."""
    esc = lambda s: html.escape(str(s), quote=True)   # noqa: E731
    if isinstance(item, Missing):
        return (f'<figure class="chapter-figure chapter-figure--missing" id="figure-{esc(item.name)}">'
                f'<p class="not-measured" title="{esc(item.reason)}">Figure not drawn, its data was not '
                f'measured on this build: {esc(item.reason)}</p></figure>')
    return (f'<figure class="chapter-figure" id="figure-{esc(item.name)}">{item.svg}'
            f'<figcaption>{esc(item.caption)}</figcaption></figure>')
