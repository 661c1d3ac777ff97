"""Figure "sizes": the bytes of the same kinds of value in C (sizeof) and Python (getsizeof)."""
from __future__ import annotations

from dataclasses import dataclass

from ..measure.ledger import Claim
from ..measure.results import Results
from . import svg
from .common import Spec, book_marks, caption, fact, source_note
from .svg import BODY, MARGIN, SMALL, TITLE, Drawing, Key, Scale


@dataclass(frozen=True)
class SizeData:
    pairs: list      # {slug, what, c_type, c_bytes, py_value, py_bytes}
    book: dict       # (slug, "c"|"py") -> [(value, claim id)]
    source: dict     # "c"|"py" -> where it was measured


# Where the ledger's size claims land in the figure: (experiment, fact) -> (pair slug, side).
SIZE_BOOK_FACTS = {("cside", "c_sizeof_int"): ("small_int", "c"),
                   ("pyside", "getsizeof_42"): ("small_int", "py")}


def extract(results: Results, claims: dict[str, Claim]) -> SizeData | str:
    pairs_fact = fact(results, "sizes.pairs")
    if not isinstance(pairs_fact, str) and isinstance(pairs_fact.get("value"), list):
        pairs = [p for p in pairs_fact["value"] if p.get("py_bytes") is not None]
        source = dict.fromkeys(("c", "py"), source_note(results, "sizes"))
    else:
        # Without the sizes listing, section 1's own figures still make one pair.
        c = fact(results, "cside.c_sizeof_int")
        py = fact(results, "pyside.getsizeof_42")
        if isinstance(c, str) or isinstance(py, str):
            return pairs_fact if isinstance(pairs_fact, str) else "no sizes were measured"
        pairs = [{"slug": "small_int", "what": "a small integer", "c_type": "int",
                  "c_bytes": c["value"], "py_value": "42", "py_bytes": py["value"]}]
        source = {"c": source_note(results, "cside"), "py": source_note(results, "pyside")}
    if not pairs:
        return "experiment 'sizes' recorded no pairs"
    book: dict = {}
    for (exp, name), where in SIZE_BOOK_FACTS.items():
        for value, cid in book_marks(claims, [exp]).get(name, []):
            book.setdefault(where, []).append((value, cid))
    return SizeData(pairs, book, source)


def _label(p: dict) -> str:
    return (f"{p['what']}: C {p['c_type']} · Python {p['py_value']}" if p.get("c_type")
            else f"{p['what']}: Python {p['py_value']}")


def draw(data: SizeData) -> tuple[Drawing, float]:
    d = Drawing()
    y = d.lines(MARGIN, MARGIN + TITLE, svg.wrap("The same kinds of value in C and in Python: bytes each", TITLE,
                                                 d.width - 2 * MARGIN), size=TITLE, bold=True)
    top_value = max(max([p["py_bytes"], p.get("c_bytes") or 0]
                        + [b for side in ("c", "py") for b, _ in data.book.get((p["slug"], side), [])])
                    for p in data.pairs)
    step = svg.nice_step(top_value, 4)
    hi = step * -(-top_value // step)
    x = Scale(0, hi, MARGIN, d.width - MARGIN - 52)
    top = y + 6
    y = top
    for p in data.pairs:
        y = d.lines(MARGIN, y + BODY + 2, svg.wrap(_label(p), BODY, d.width - 2 * MARGIN), size=BODY)
        for side, value in (("c", p.get("c_bytes")), ("py", p["py_bytes"])):
            cy = y + 10
            y = cy + 6
            if value is None:
                d.text(MARGIN, cy + SMALL * 0.35, "no C counterpart", "muted", italic=True)
                continue
            what = f"sizeof({p['c_type']})" if side == "c" else f"sys.getsizeof({p['py_value']})"
            tip = f"{'C' if side == 'c' else 'Python'} {what} = {value} B.\n{data.source[side]}"
            with d.group("point", tip, slug=p["slug"], side=side, bytes=repr(value)):
                d.rect(x(0), cy - 6, x(value) - x(0), 12, side)
                right = x(value)
                for b, cid in data.book.get((p["slug"], side), []):
                    d.diamond(x(b), cy, 5.5)
                    right = max(right, x(b) + 5)
                d.text(right + 6, cy + SMALL * 0.35, f"{value} B", "fg")
        y += 12
    axis_y = y + 4
    ticks = [step * k for k in range(int(hi // step) + 1)]
    y = svg.x_axis(d, x, ticks, lambda t: f"{t:g} B", top, axis_y)
    y = d.lines(MARGIN, y + SMALL + 2, ["bytes, linear scale"], role="muted")
    keys = [Key("bar", "c", "C: sizeof"), Key("bar", "py", "Python: sys.getsizeof")]
    if data.book:
        keys.append(Key("diamond", "book", "the book's figure"))
    y = svg.legend(d, keys, y + 8)
    return d, y + MARGIN


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
