"""The chapter's figures, drawn from the results (read through `Results`) and the claims
ledger. Pure.

Every number drawn comes from the results a build wrote (measured figures) or from
claims.toml (the book's figures); nothing is typed here. Each figure is an SVG in two
variants, one for material's light scheme and one for its dark scheme, and is byte-identical
whenever its data is: no dates, a fixed hash salt, text drawn as paths (no fonts fetched).

A figure whose data is missing (an experiment or a fact not measured, or failed) is not drawn:
`draw` returns None and `render` returns a `Missing` with the reason, so the page shows a
"not measured" note instead of a broken image.

One module per figure (sum_times, value_sizes, address_space, latency_staircase,
locality_times); style.py holds the look, common.py what they share.
"""
from __future__ import annotations

import html

from ..measure.ledger import Claim
from ..measure.results import Results
from . import address_space, latency_staircase, locality_times, sum_times, value_sizes
from .common import Missing, Rendered, Spec, draw_svg, px
from .style import DARK, LIGHT

__all__ = ["SPECS", "NAMES", "Rendered", "Missing", "draw", "render", "render_all", "paths", "figure_html"]

FOLDER = "figures"   # where the SVGs go in the built site (never into docs/)

SPECS: dict[str, Spec] = {m.SPEC.name: m.SPEC for m in (
    address_space, sum_times, latency_staircase, value_sizes, locality_times)}
NAMES = tuple(SPECS)


def draw(name: str, results: Results, claims: dict[str, Claim], theme: str = "light") -> bytes | None:
    """One figure's SVG for one scheme, or None while its data is missing."""
    spec = SPECS[name]
    data = spec.extract(results, claims)
    if isinstance(data, str):
        return None
    return draw_svg(spec, data, LIGHT if theme == "light" else DARK)


def render(name: str, results: Results, claims: dict[str, Claim]) -> Rendered | Missing:
    """Both variants of one figure with its alt text and caption, or why it cannot be drawn."""
    spec = SPECS[name]
    data = spec.extract(results, claims)
    if isinstance(data, str):
        return Missing(name, data)
    light, dark = draw_svg(spec, data, LIGHT), draw_svg(spec, data, DARK)
    alt, caption = spec.describe(data, results)
    w, h = px(light)
    return Rendered(name, light, dark, alt, caption, w, h)


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
