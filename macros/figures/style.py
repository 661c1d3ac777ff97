"""How the figures are coloured: each mark's role, and the CSS colour it takes.

The drawings name roles only (a class on each mark, drawn in currentColor); the page's
stylesheet, docs/assets/chapter.css, gives each role the colour below, which material's
light and dark schemes (and our own --chapter-* variables, set per scheme) define. So one
drawing follows the reader's scheme, and the palette toggle recolours it in place.
"""
from __future__ import annotations

ROLES: dict[str, str] = {
    "fg": "--md-default-fg-color",              # text, axes, the book's marks
    "muted": "--md-default-fg-color--light",    # ticks, notes, spreads in the legend
    "grid": "--md-default-fg-color--lightest",  # grid lines
    "book": "--md-default-fg-color",            # the book's figures (hollow diamonds, dotted lines)
    "accent": "--md-accent-fg-color",           # where a level was read (latency), variables (layout)
    "block": "--md-default-fg-color--lightest", # address-space segments
    "c": "--chapter-c",                         # C
    "py": "--chapter-py",                       # Python
    "np": "--chapter-np",                       # NumPy
}

FAMILIES = ("c", "py", "np")

# The <g> that hold one datum each, its <title> the tooltip (class "fig-<kind>").
DATA_GROUPS = ("point", "book-point", "level", "segment", "gap")
