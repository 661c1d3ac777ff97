"""Figure "sizes": the bytes of the same kinds of value in C (sizeof) and Python (getsizeof)."""
from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..measure.ledger import Claim
from ..measure.results import Results
from .common import Spec, book_marks, caption, fact, legend, new_figure, style_axes
from .style import Theme


@dataclass(frozen=True)
class SizeData:
    pairs: list      # {what, c_type, c_bytes, py_value, py_bytes}
    book: dict       # (slug, "c"|"py") -> [values]


# Where the ledger's size claims land in the figure: (experiment, fact) -> (pair slug, side).
SIZE_BOOK_FACTS = {("cside", "c_sizeof_int"): ("small_int", "c"),
                   ("pyside", "getsizeof_42"): ("small_int", "py")}


def extract(results: Results, claims: dict[str, Claim]) -> SizeData | str:
    pairs_fact = fact(results, "sizes.pairs")
    if not isinstance(pairs_fact, str) and isinstance(pairs_fact.get("value"), list):
        pairs = [p for p in pairs_fact["value"] if p.get("py_bytes") is not None]
    else:
        # Without the sizes listing, section 1's own figures still make one pair.
        c = fact(results, "cside.c_sizeof_int")
        py = fact(results, "pyside.getsizeof_42")
        if isinstance(c, str) or isinstance(py, str):
            return pairs_fact if isinstance(pairs_fact, str) else "no sizes were measured"
        pairs = [{"slug": "small_int", "what": "a small integer", "c_type": "int",
                  "c_bytes": c["value"], "py_value": "42", "py_bytes": py["value"]}]
    book: dict = {}
    for (exp, name), where in SIZE_BOOK_FACTS.items():
        for value, _ in book_marks(claims, [exp]).get(name, []):
            book.setdefault(where, []).append(value)
    return SizeData(pairs, book)


def draw(data: SizeData, theme: Theme) -> Figure:
    n = len(data.pairs)
    fig = new_figure(6.4, 0.5 * n + 1.2)
    ax = fig.subplots()
    style_axes(ax, theme)
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
    legend(ax, theme, handles, loc="upper center", bbox_to_anchor=(0.4, -0.1), ncol=3)
    return fig


def describe(data: SizeData, results: Results) -> tuple[str, str]:
    parts = []
    for p in data.pairs:
        c = f"C {p['c_type']} {p['c_bytes']} B, " if p.get("c_type") else ""
        parts.append(f"{p['what']}: {c}Python {p['py_value']} {p['py_bytes']} B")
    alt = "Bar chart of sizes in bytes, C beside Python. " + "; ".join(parts) + "."
    cap = caption("What each kind of value costs in memory: sizeof of a C type (csrc/sizes.c) beside "
                  "sys.getsizeof of a matching Python value (pysrc/sizes.py). A Python container's "
                  "size counts its references, not the objects they point to.", results,
                  "Linear byte axis.")
    return alt, cap


SPEC = Spec("sizes", extract, draw, describe)
