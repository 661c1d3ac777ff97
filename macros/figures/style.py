"""How every figure looks: matplotlib settings and the light and dark colour themes.

The settings make the SVG byte-identical whenever its data is (a fixed hash salt, no date)
and keep text as text (the reader's own fonts, nothing fetched).
"""
from __future__ import annotations

from dataclasses import dataclass

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
