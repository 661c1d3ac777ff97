"""Figure "locality": the time per element to sum integers held in a C array, a C linked list
(nodes in order and shuffled) and their Python and NumPy equivalents (section 5)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import fmt
from ..measure.config import SCALES
from ..measure.ledger import Claim
from ..measure.results import Results
from .common import Spec, book_marks, caption, dot_chart, facts_of, ns_tick, source_note, spread_of, timing_keys
from .svg import Drawing

# The book's count is the full scale's size (config.py: "the book: 10,000,000").
BOOK_N_NODES = SCALES["full"].n_nodes

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
class LocalityData:
    rows: list
    counts: dict     # family -> how many integers were summed ("c", "py")


def extract(results: Results, claims: dict[str, Claim]) -> LocalityData | str:
    facts: dict = {}
    counts: dict = {}
    reasons = []
    for exp_name in LOCALITY_EXPERIMENTS:   # the Python variants may live in their own experiment
        got = facts_of(results, exp_name)
        if isinstance(got, str):
            reasons.append(got)
            continue
        source = source_note(results, exp_name)
        for k, v in got.items():
            if k.startswith("ns_per_elem_"):
                facts.setdefault(k, {**v, "n": (got.get("n") or {}).get("value"), "exp": exp_name,
                                     "source": source})
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
        rows.append({"ref": f"{f['exp']}.{name}", "label": label, "family": family, "value": f["value"],
                     "spread": spread_of(f), "n": (f.get("spread") or {}).get("n"), "source": f["source"],
                     "book": list(marks.get(name, []))})
        if isinstance(f.get("n"), int):
            counts.setdefault("py" if "_py_" in name or family == "np" else "c", f["n"])
    if not rows:
        return "; ".join(reasons) or "no per-element times were recorded"
    return LocalityData(rows, counts)


def _ns(v: float) -> str:
    return f"{fmt.sig(v)} ns"


def draw(data: LocalityData) -> tuple[Drawing, float]:
    families = [(f, lab) for f, lab in (("c", "C"), ("np", "NumPy"), ("py", "Python"))
                if any(r["family"] == f for r in data.rows)]
    return dot_chart("locality", "Summing integers from different layouts: time per element", data.rows, _ns,
                     ns_tick, "nanoseconds per element, logarithmic scale: each grid step is ten times slower",
                     timing_keys(families, "the book's figure" if any(r["book"] for r in data.rows) else None))


def describe(data: LocalityData, results: Results) -> tuple[str, str]:
    parts = [f"{r['label']}: {_ns(r['value'])}" for r in data.rows]
    alt = "Dot chart on a logarithmic axis, nanoseconds per element summed. " + "; ".join(parts) + "."
    counts = "; ".join(f"{who} sums {data.counts[k]:,} integers" for k, who in (("c", "C"), ("py", "Python and NumPy"))
                       if k in data.counts)
    book = (f" Hollow diamonds: the book's times for {BOOK_N_NODES:,} integers, per integer."
            if any(r["book"] for r in data.rows) else "")
    cap = caption("The cost of where data lives: time per element to sum integers held in a C array, "
                  "a C linked list with its nodes in order and shuffled, and the Python and NumPy "
                  f"equivalents{' (' + counts + ')' if counts else ''}.{book}",
                  results, "Logarithmic axis: each grid step is ten times slower.")
    return alt, cap


SPEC = Spec("locality", extract, draw, describe)
