"""Figure "benchmark": the time to sum n integers, each way the chapter tries (section 2)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import fmt
from ..measure.config import SCALES
from ..measure.ledger import Claim
from ..measure.results import Results
from .common import Spec, book_marks, caption, dot_chart, facts_of, seconds_tick, source_note, spread_of, timing_keys
from .svg import Drawing

# The book's counts are the full scale's sizes (config.py: "the book: 10,000,000").
BOOK_N_SUM = SCALES["full"].n_sum

SUM_ROWS = (   # fact, label, family
    ("c_opaque_O2", "C loop, -O2, kept opaque", "c"),
    ("c_book_O2", "the book's C loop, -O2", "c"),
    ("c_book_O0", "the book's C loop, -O0", "c"),
    ("numpy_sum", "NumPy sum of an array", "np"),
    ("py_sum_builtin", "sum(range(n))", "py"),
    ("py_loop", "Python for loop", "py"),
)


@dataclass(frozen=True)
class SumData:
    rows: list
    n: int
    book_scaled: bool


def extract(results: Results, claims: dict[str, Claim]) -> SumData | str:
    facts = facts_of(results, "sum")
    if isinstance(facts, str):
        return facts
    n = facts.get("n", {}).get("value") or BOOK_N_SUM
    marks = book_marks(claims, ["sum"])
    factor = n / BOOK_N_SUM
    source = source_note(results, "sum")
    rows = []
    for name, label, family in SUM_ROWS:
        f = facts.get(name)
        if not f or not isinstance(f.get("value"), (int, float)):
            continue
        if name == "c_book_O2" and facts.get("book_loop_folded_O2", {}).get("value"):
            label += " (folded)"
        rows.append({"ref": f"sum.{name}", "label": label, "family": family, "value": f["value"],
                     "spread": spread_of(f), "n": (f.get("spread") or {}).get("n"), "source": source,
                     "book": [(v * factor, cid) for v, cid in marks.get(name, [])]})
    if not rows:
        return "experiment 'sum' recorded none of the timings this figure draws"
    return SumData(rows, int(n), n != BOOK_N_SUM)


def draw(data: SumData) -> tuple[Drawing, float]:
    families = [(f, lab) for f, lab in (("c", "C (through cffi)"), ("np", "NumPy"), ("py", "Python"))
                if any(r["family"] == f for r in data.rows)]
    book = (f"the book, scaled to {data.n:,} integers" if data.book_scaled else "the book's figure")
    return dot_chart("benchmark", f"Summing {data.n:,} integers: time per run", data.rows, fmt.seconds,
                     seconds_tick, "seconds, logarithmic scale: each grid step is ten times slower",
                     timing_keys(families, book if any(r["book"] for r in data.rows) else None))


def describe(data: SumData, results: Results) -> tuple[str, str]:
    parts = [f"{r['label']}: {fmt.seconds(r['value'])}"
             + (f" (the book: {', '.join(fmt.seconds(b) for b, _ in r['book'])})" if r["book"] else "")
             for r in data.rows]
    alt = (f"Dot chart on a logarithmic time axis, median time to sum {data.n:,} integers. "
           + "; ".join(parts) + ".")
    scaled = (f" The book's figures are for {BOOK_N_SUM:,} integers, scaled here to {data.n:,} in proportion."
              if data.book_scaled else "")
    cap = caption(f"Summing {data.n:,} integers, each way the chapter tries: median time per run "
                  f"(dot), the middle half of the runs (bar) and the fastest and slowest (line); "
                  f"the book's figures as hollow diamonds.", results,
                  "Logarithmic time axis: each grid step is ten times slower.", scaled.strip())
    return alt, cap


SPEC = Spec("benchmark", extract, draw, describe)
