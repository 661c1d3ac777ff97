"""The figures: drawn from fixed, fabricated data; byte-identical when the data is; absent when it is.

The numbers below are made up for the tests (they are never measured results): each test
asserts what the drawing did with them: which labels and values reach the SVG, and that
every data point carries exactly the value, spread and provenance of the results it drew.
"""
from __future__ import annotations

import copy
import html
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import declared
from macros import figures, fmt
from macros.figures import common, locality_times, style, sum_times, svg
from macros.measure import runner, toolchain
from macros.measure.ledger import Check, Claim, load
from macros.measure.results import Results

# ---------------------------------------------------------------- fabricated data


def _timing(median: float, spread: float = 0.1) -> dict:
    lo, hi = median * (1 - spread), median * (1 + spread)
    return {"value": median, "unit": "s",
            "spread": {"n": 4, "min": lo, "max": hi, "q1": median * (1 - spread / 2),
                       "q3": median * (1 + spread / 2), "median": median, "rel_iqr": spread, "stdev": 0.0}}


def _fact(value, unit=None) -> dict:
    return {"value": value, "unit": unit}


PROVENANCE = {
    "machine": {"cpu": "Test CPU 9000", "cores": 3, "kernel": "9.9.9-test", "virtualised": "no",
                "caches": [{"level": 1, "type": "Data", "size": 48 << 10, "line": 64},
                           {"level": 1, "type": "Instruction", "size": 40 << 10, "line": 64},
                           {"level": 2, "type": "Unified", "size": 2 << 20, "line": 64},
                           {"level": 3, "type": "Unified", "size": 16 << 20, "line": 64}]},
    "python": {"implementation": "CPython", "version": "3.99.0"},
    "compiler": "gcc (Test) 99.1.0",
    "scale": {"name": "quick"},
    "date": "2099-01-02 03:04 UTC",
}
MEASURED_AT = "2099-01-02 03:04:05 UTC"


def fabricated_doc() -> dict:
    n = 2_000_000
    return {"provenance": copy.deepcopy(PROVENANCE), "experiments": {
        "sum": {"status": "ok", "facts": {
            "n": _fact(n), "c_opaque_O2": _timing(0.0011), "c_book_O2": _timing(2.1e-7),
            "c_book_O0": _timing(0.0041), "numpy_sum": _timing(0.0007), "py_sum_builtin": _timing(0.031),
            "py_loop": _timing(0.093), "book_loop_folded_O2": _fact(True)}},
        "sizes": {"status": "ok", "facts": {"pairs": _fact([
            {"slug": "small_int", "what": "a small integer", "c_type": "int", "c_bytes": 5,
             "py_value": "42", "py_bytes": 31},
            {"slug": "list3", "what": "three integers, growable", "c_type": None, "c_bytes": None,
             "py_value": "[1, 2, 3]", "py_bytes": 97}])}},
        "layout": {"status": "ok", "facts": {
            "segments": _fact([
                {"name": "text", "start": 0x1000, "end": 0x3000, "perms": "r-xp", "path": "prog"},
                {"name": "data", "start": 0x3000, "end": 0x4000, "perms": "rw-p", "path": "prog"},
                {"name": "heap", "start": 0x900000, "end": 0x921000, "perms": "rw-p", "path": "[heap]"},
                {"name": "libc", "start": 0x7f0000000000, "end": 0x7f0000100000, "perms": "r-xp", "path": "libc"},
                {"name": "libc", "start": 0x7f0000100000, "end": 0x7f0000104000, "perms": "rw-p", "path": "libc"},
                {"name": "stack", "start": 0x7ffff0000000, "end": 0x7ffff0021000, "perms": "rw-p", "path": "[stack]"}]),
            "points": _fact([{"name": "function main", "address": hex(0x1234), "segment": "text"},
                             {"name": "a local", "address": 0x7ffff0020010, "segment": "stack"}])}},
        "latency": {"status": "ok", "facts": {
            "staircase": _fact([{"bytes": 1 << k, "ns": 1.0 + k * k / 10, "q1": 0.9 + k * k / 10,
                                 "q3": 1.1 + k * k / 10} for k in range(12, 27, 2)]),
            "l1_ns": {**_fact(1.7, "ns"), "bytes": 1 << 14}, "ram_ns": {**_fact(77.0, "ns"), "bytes": 1 << 26}}},
        "locality": {"status": "ok", "facts": {
            "n": _fact(n), "ns_per_elem_array": _fact(0.37, "ns"), "ns_per_elem_list_ordered": _fact(1.3, "ns"),
            "ns_per_elem_list_shuffled": _fact(11.0, "ns")}},
        "pylocality": {"status": "ok", "facts": {
            "n": _fact(n), "ns_per_elem_py_list_ordered": _fact(9.0, "ns"),
            "ns_per_elem_py_list_shuffled": _fact(23.0, "ns"), "ns_per_elem_numpy": _fact(0.5, "ns")}},
    }}


def stamped(doc: dict) -> dict:
    """Each experiment as the engine records it: when it was measured."""
    for exp in doc["experiments"].values():
        if exp.get("status") == "ok":
            exp.setdefault("measured_at", MEASURED_AT)
    return doc


def results(doc: dict) -> Results:
    """The figures read a results document through the experiments' declarations."""
    return Results(stamped(doc), declared())


def fabricated_claims() -> dict[str, Claim]:
    def claim(cid, checks, book="b"):
        return Claim(id=cid, section=0, statement=cid, book=book, measure="m", checks=checks)
    return {
        "loop": claim("loop", [Check("sum.py_loop", "within", expected=0.7, factor=2.0),
                               Check("sum.ratio_py_loop", "within", expected=99, factor=2.0)]),
        "c": claim("c", [Check("sum.c_book_O2", "within", expected=0.004, factor=2.0)]),
        "int": claim("int", [Check("cside.c_sizeof_int", "eq", expected=6),
                             Check("pyside.getsizeof_42", "eq", expected=33)]),
        "lat": claim("lat", [Check("latency.l1_ns", "within", expected=1.5, factor=3.0),
                             Check("latency.ram_ns", "range", min=120)], book="1.5 ns, 170 ns, 113x"),
        "shuffled": claim("shuffled", [Check("locality.ns_per_elem_list_shuffled", "within", expected=18,
                                             factor=2.0),
                                       Check("locality.t_array", "within", expected=0.07, factor=2.0)]),
    }


NS = {"s": "http://www.w3.org/2000/svg"}


def svg_text(markup: str) -> str:
    """All text drawn in the SVG, one <text> a line (tooltips not included)."""
    root = ET.fromstring(markup)
    return "\n".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


def points(markup: str, role: str = "fig-point") -> list[ET.Element]:
    """The data points of a drawing: <g> elements of the class, each with a <title> and data-*."""
    root = ET.fromstring(markup)
    return [g for g in root.iter("{http://www.w3.org/2000/svg}g") if role in (g.get("class") or "").split()]


def tooltip(g: ET.Element) -> str:
    t = g.find("s:title", NS)
    return t.text if t is not None else ""


def by(gs: list[ET.Element], attr: str) -> dict[str, ET.Element]:
    return {g.get(f"data-{attr}"): g for g in gs}


def draw(name: str, doc: dict | None = None) -> str:
    return figures.draw(name, results(doc or fabricated_doc()), fabricated_claims())


# ---------------------------------------------------------------- the figures


@pytest.mark.parametrize("name", figures.NAMES)
def test_each_figure_is_one_inline_svg_that_fits_any_width(name):
    item = figures.render(name, results(fabricated_doc()), fabricated_claims())
    assert isinstance(item, figures.Rendered), item
    root = ET.fromstring(item.svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == f"0 0 {svg.WIDTH} {item.height}" and root.get("width") == "100%"
    assert root.get("height") is None                   # the height follows the width
    assert root.get("role") == "img" and root.get("aria-label") == item.alt
    assert "<image" not in item.svg and "@font-face" not in item.svg and "url(" not in item.svg
    assert "<style" not in item.svg and " id=" not in item.svg   # two figures can share a page
    assert item.height > 150 and item.alt and len(item.alt) > 40
    assert "Test CPU 9000" in item.caption and "scale quick" in item.caption
    assert any(w in item.caption.lower() for w in ("logarithm", "linear", "not to scale"))


@pytest.mark.parametrize("name", figures.NAMES)
def test_colours_come_from_the_page_so_one_drawing_follows_both_schemes(name):
    """No colour is written into the drawing: marks use currentColor, roles name the colour."""
    markup = draw(name)
    root = ET.fromstring(markup)
    for el in root.iter():
        for attr in ("fill", "stroke", "color", "style"):
            v = el.get(attr)
            assert v in (None, "none", "currentColor"), f"{el.tag} {attr}={v}"
        for cls in (el.get("class") or "").split():
            if el is root:
                assert cls == "chapter-svg"
                continue
            assert cls.startswith("fig-"), cls
            assert cls.removeprefix("fig-") in (*style.ROLES, *style.DATA_GROUPS), cls


def test_the_stylesheet_colours_every_role_in_both_schemes(root):
    css = (root / "docs/assets/chapter.css").read_text()
    for role, var in style.ROLES.items():
        rule = re.search(r"([^{}]*\.fig-" + re.escape(role) + r"\b[^{}]*)\{([^}]*)\}", css)
        assert rule and f"var({var})" in rule.group(2), f"no colour for role {role} in chapter.css"
    for var in ("--chapter-c", "--chapter-py", "--chapter-np"):
        light = re.search(r":root\s*\{[^}]*" + var + r":\s*(#[0-9a-f]+)", css)
        dark = re.search(r'\[data-md-color-scheme="slate"\]\s*\{[^}]*' + var + r":\s*(#[0-9a-f]+)", css)
        assert light and dark and light.group(1) != dark.group(1), var


@pytest.mark.parametrize("name", figures.NAMES)
def test_text_is_legible_on_a_phone(name):
    """Sized for a drawing WIDTH units wide, about a phone's content width: no text under SMALL."""
    root = ET.fromstring(draw(name))
    sizes = [float(t.get("font-size")) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert sizes and min(sizes) >= svg.SMALL >= 12.5
    assert svg.WIDTH <= 360


@pytest.mark.parametrize("name", figures.NAMES)
def test_every_data_point_has_a_tooltip_with_its_provenance(name):
    gs = points(draw(name))
    assert gs
    for g in gs:
        tip = tooltip(g)
        assert "Test CPU 9000" in tip and MEASURED_AT in tip, tip
        assert "3.99.0" in tip and "gcc 99.1.0" in tip, tip


@pytest.mark.parametrize("name", figures.NAMES)
def test_identical_data_gives_identical_bytes(name):
    a = figures.render(name, results(fabricated_doc()), fabricated_claims())
    common.MEMO.clear()   # drawn afresh, not remembered
    b = figures.render(name, results(json.loads(json.dumps(fabricated_doc()))), fabricated_claims())
    assert (a.svg, a.alt, a.caption) == (b.svg, b.alt, b.caption)


def test_identical_bytes_across_processes(root):
    """No hash seed, clock or process state leaks into the file."""
    code = ("import sys, json, hashlib; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/tests']\n"
            "from test_figures import fabricated_doc, fabricated_claims, results\n"
            "from macros import figures\n"
            "print(json.dumps({n: hashlib.sha256(figures.draw(n, results(fabricated_doc()), fabricated_claims())"
            ".encode()).hexdigest() for n in figures.NAMES}))")
    runs = [subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, check=True).stdout
            for seed in ("1", "2")]
    assert runs[0] == runs[1]


def test_changed_data_changes_the_figure():
    doc = fabricated_doc()
    before = draw("benchmark", doc)
    doc["experiments"]["sum"]["facts"]["py_loop"] = _timing(0.094)
    assert draw("benchmark", doc) != before


def _spread(f: dict) -> tuple[float, float, float, float]:
    s = f["spread"]
    return s["q1"], s["q3"], s["min"], s["max"]


def test_benchmark_points_are_the_results_and_the_books_figures_scaled_to_n():
    doc, claims = fabricated_doc(), fabricated_claims()
    markup = draw("benchmark", doc)
    text = svg_text(markup)
    facts = doc["experiments"]["sum"]["facts"]
    drawn = by(points(markup), "ref")
    assert set(drawn) == {f"sum.{name}" for name, _, _ in sum_times.SUM_ROWS}
    for name, label, _ in sum_times.SUM_ROWS:
        g = drawn[f"sum.{name}"]
        assert float(g.get("data-value")) == facts[name]["value"]
        assert tuple(float(g.get(f"data-{k}")) for k in ("q1", "q3", "min", "max")) == _spread(facts[name])
        assert label in text and fmt.seconds(facts[name]["value"]) in text
        assert fmt.seconds(facts[name]["value"]) in tooltip(g) and "middle half of 4 values" in tooltip(g)
    n = facts["n"]["value"]
    # the ledger's seconds (not its ratio) land beside their rows, scaled from the book's n
    books = by(points(markup, "fig-book-point"), "claim")
    assert set(books) == {"loop", "c"}
    for cid, fact_name in (("loop", "py_loop"), ("c", "c_book_O2")):
        expected = claims[cid].checks[0].expected * n / sum_times.BOOK_N_SUM
        assert float(books[cid].get("data-book")) == pytest.approx(expected, rel=1e-12)
        assert f"book: {fmt.seconds(expected)}" in text
    assert "(folded)" in text
    assert f"{n:,}" in text


def test_sizes_bars_are_the_results_and_the_ledger_sizes():
    doc, claims = fabricated_doc(), fabricated_claims()
    item = figures.render("sizes", results(doc), claims)
    text = svg_text(item.svg)
    bars = {(g.get("data-slug"), g.get("data-side")): g for g in points(item.svg)}
    pairs = doc["experiments"]["sizes"]["facts"]["pairs"]["value"]
    for p in pairs:
        assert p["what"] in text and f"{p['py_bytes']} B" in text
        assert int(bars[(p["slug"], "py")].get("data-bytes")) == p["py_bytes"]
        assert f"sys.getsizeof({p['py_value']}) = {p['py_bytes']} B" in tooltip(bars[(p["slug"], "py")])
        if p["c_bytes"] is not None:
            assert int(bars[(p["slug"], "c")].get("data-bytes")) == p["c_bytes"]
        else:
            assert (p["slug"], "c") not in bars
    assert len(bars) == sum(1 + (p["c_bytes"] is not None) for p in pairs)
    assert "no C counterpart" in text
    assert "the book's figure" in text
    assert "a small integer: C int 5 B, Python 42 31 B" in item.alt


def test_sizes_falls_back_to_section_one_facts():
    doc = fabricated_doc()
    del doc["experiments"]["sizes"]
    doc["experiments"]["cside"] = {"status": "ok", "facts": {"c_sizeof_int": _fact(7, "B")}}
    doc["experiments"]["pyside"] = {"status": "ok", "facts": {"getsizeof_42": _fact(29, "B")}}
    markup = draw("sizes", doc)
    assert sorted(int(g.get("data-bytes")) for g in points(markup)) == [7, 29]
    assert "7 B" in svg_text(markup) and "29 B" in svg_text(markup)


def test_layout_marks_segments_gaps_and_variables():
    doc = fabricated_doc()
    markup = draw("layout", doc)
    text = svg_text(markup)
    segments = points(markup, "fig-segment")
    assert [g.get("data-name") for g in segments] == ["stack", "libc", "heap", "data", "text"]   # high to low
    libc = by(segments, "name")["libc"]       # its two mappings drawn as one block
    assert (libc.get("data-start"), libc.get("data-end")) == ("0x7f0000000000", "0x7f0000104000")
    assert "2 mappings" in tooltip(libc)
    assert "0x000000001000" in text               # real start addresses
    drawn = by(points(markup), "name")
    for p in doc["experiments"]["layout"]["facts"]["points"]["value"]:
        g = drawn[p["name"]]
        address = int(p["address"], 0) if isinstance(p["address"], str) else p["address"]
        assert int(g.get("data-address"), 16) == address and g.get("data-segment") == p["segment"]
    assert "function main" in text and "0x000000001234" in text and "0x7ffff0020010" in text
    gap = 0x7f0000000000 - 0x921000
    assert f"unmapped {common.big_bytes(gap)}" in text
    assert int(by(points(markup, "fig-gap"), "bytes")[repr(gap)].get("data-bytes")) == gap


def test_latency_points_are_the_staircase_with_cache_sizes_and_the_books_lines():
    doc = fabricated_doc()
    markup = draw("latency", doc)
    text = svg_text(markup)
    steps = doc["experiments"]["latency"]["facts"]["staircase"]["value"]
    drawn = points(markup)
    assert [(int(g.get("data-bytes")), float(g.get("data-ns")), float(g.get("data-q1")), float(g.get("data-q3")))
            for g in drawn] == [(s["bytes"], s["ns"], s["q1"], s["q3"]) for s in steps]
    assert "L1d 48 KiB" in text and "L2 2 MiB" in text and "L3 16 MiB" in text
    assert "40 KiB" not in text   # the instruction cache holds no data: not drawn
    # the book's figures as the ledger prints them, not the verdict rule's bounds
    assert "the book: 1.5 ns" in text and "the book: 170 ns" in text
    assert "120" not in text and "113" not in text
    levels = by(points(markup, "fig-level"), "ref")
    assert set(levels) == {"latency.l1_ns", "latency.ram_ns"}
    for ref, g in levels.items():
        f = doc["experiments"]["latency"]["facts"][ref.partition(".")[2]]
        assert (float(g.get("data-ns")), int(g.get("data-bytes"))) == (f["value"], f["bytes"])
    assert "L1" in text and "RAM" in text


def test_locality_draws_every_measured_layout_and_skips_the_rest():
    doc = fabricated_doc()
    markup = draw("locality", doc)
    text = svg_text(markup)
    facts = {**doc["experiments"]["locality"]["facts"], **doc["experiments"]["pylocality"]["facts"]}
    drawn = by(points(markup), "ref")
    for name, label, _ in locality_times.LOCALITY_ROWS:
        assert (label in text) == (name in facts)
        ref = [r for r in drawn if r.endswith("." + name)]
        if name in facts:
            assert float(drawn[ref[0]].get("data-value")) == facts[name]["value"]
        else:
            assert not ref
    assert "book: 18.0 ns" in text
    # a whole-sum time of the book's count, drawn per element
    assert f"book: {fmt.sig(0.07 / locality_times.BOOK_N_NODES * 1e9)} ns" in text


def test_locality_draws_the_c_rows_when_the_python_experiment_failed():
    doc = fabricated_doc()
    doc["experiments"]["pylocality"] = {"status": "failed", "reason": "no numpy", "file": "pysrc/list_scattered.py"}
    text = svg_text(draw("locality", doc))
    assert "C array" in text and "Python list" not in text and "NumPy" not in text
    doc["experiments"]["locality"] = {"status": "failed", "reason": "timed out", "file": "csrc/array_vs_list.c"}
    item = figures.render("locality", results(doc), fabricated_claims())
    assert item == figures.Missing("locality", "locality (csrc/array_vs_list.c): timed out; "
                                               "pylocality (pysrc/list_scattered.py): no numpy")


def test_text_and_tooltips_are_escaped():
    doc = fabricated_doc()
    doc["experiments"]["sizes"]["facts"]["pairs"]["value"][0]["py_value"] = "<b>&\"x\""
    doc["provenance"]["machine"]["cpu"] = "CPU <9000> & co"
    markup = draw("sizes", doc)
    root = ET.fromstring(markup)            # still well-formed
    assert "<b>" not in markup and "&lt;b&gt;" in markup
    assert any("CPU <9000> & co" in tooltip(g) for g in points(markup))
    assert root is not None


def assert_text_inside(name: str, markup: str) -> None:
    """Text anchored at its start, middle or end stays within the viewBox by the width estimate."""
    root = ET.fromstring(markup)
    width = float(root.get("viewBox").split()[2])
    for t in root.iter("{http://www.w3.org/2000/svg}text"):
        x, w = float(t.get("x")), svg.text_width("".join(t.itertext()), float(t.get("font-size")),
                                                 mono=t.get("font-family") is not None)
        anchor = t.get("text-anchor", "start")
        left = x if anchor == "start" else (x - w / 2 if anchor == "middle" else x - w)
        assert left >= -0.5 and left + w <= width + 0.5, (name, "".join(t.itertext()), left, left + w)


def test_labels_stay_inside_the_drawing():
    for name in figures.NAMES:
        assert_text_inside(name, draw(name))


def test_another_machines_long_name_wraps_in_the_legend():
    """At 390 px the legend's label for another machine ran past the drawing's edge (cut off
    on a phone); it is wrapped under its swatch, and the rows below it move down."""
    label = "Intel Xeon Platinum 8375C (2 cores, L3 480 MiB), gcc 12.2.0, Python 3.11.7, full scale"
    doc = fabricated_doc()
    alone = figures.render("latency", results(doc), fabricated_claims())
    item = figures.render("latency", results(doc), fabricated_claims(), [(label, results(fabricated_doc()))])
    assert_text_inside("latency", item.svg)
    texts = ["".join(t.itertext()) for t in ET.fromstring(item.svg).iter("{http://www.w3.org/2000/svg}text")]
    first = texts.index(next(t for t in texts if label.startswith(t) and t))
    assert texts[first] != label and " ".join(texts[first:first + 2]) == label   # two lines here
    height = lambda markup: float(ET.fromstring(markup).get("viewBox").split()[3])  # noqa: E731
    assert height(item.svg) > height(alone.svg)


def test_text_width_estimate_and_wrapping():
    assert svg.text_width("mmm", 10) > svg.text_width("iii", 10)
    assert svg.text_width("0x12", 10, mono=True) == pytest.approx(4 * 0.61 * 10)
    lines = svg.wrap("one two three four five six seven", 13, 80)
    assert " ".join(lines) == "one two three four five six seven"
    assert all(svg.text_width(line, 13) <= 80 for line in lines if " " in line)
    assert svg.num(1.005) in ("1", "1.01", "1.0") and svg.num(-0.001) == "0" and svg.num(2.50) == "2.5"


def test_log_scale_and_ticks():
    s = svg.Scale(1e-6, 1e-2, 0, 400, log=True)
    assert s(1e-6) == 0 and s(1e-2) == 400 and s(1e-4) == pytest.approx(200)
    assert svg.decades(3e-7, 2e-2) == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
    kept = svg.spaced(svg.decades(1e-9, 1e3), svg.Scale(1e-9, 1e3, 0, 120, log=True), common.seconds_tick)
    assert 1 < len(kept) < 13 and kept[0] == 1e-9


# ---------------------------------------------------------------- missing data


@pytest.mark.parametrize("name", figures.NAMES)
def test_missing_experiment_gives_none_and_a_reason(name):
    doc = {"provenance": PROVENANCE, "experiments": {}}
    assert figures.draw(name, results(doc), fabricated_claims()) is None
    item = figures.render(name, results(doc), fabricated_claims())
    # the reason Results gives for an experiment the results file does not hold
    assert isinstance(item, figures.Missing) and "no record of it" in item.reason


def test_failed_experiment_gives_its_reason():
    doc = fabricated_doc()
    doc["experiments"]["latency"] = {"status": "failed", "reason": "timed out after 60 s\nmore",
                                     "file": "csrc/latency.c"}
    item = figures.render("latency", results(doc), fabricated_claims())
    assert isinstance(item, figures.Missing)
    assert item.reason == "latency (csrc/latency.c): timed out after 60 s"
    assert figures.draw("latency", results(doc), fabricated_claims()) is None


def test_experiment_without_the_facts_is_missing_too():
    doc = fabricated_doc()
    doc["experiments"]["layout"]["facts"] = {"something_else": _fact(1)}
    assert figures.draw("layout", results(doc), fabricated_claims()) is None
    doc["experiments"]["sum"]["facts"] = {"n": _fact(5)}
    assert isinstance(figures.render("benchmark", results(doc), fabricated_claims()), figures.Missing)


def test_a_fact_not_measured_gives_its_reason():
    doc = fabricated_doc()
    doc["experiments"]["latency"]["facts"]["staircase"] = {"value": None, "not_measured": "perf refused\nmore"}
    doc["experiments"]["latency"]["file"] = "csrc/latency.c"
    item = figures.render("latency", results(doc), fabricated_claims())
    assert item == figures.Missing("latency", "latency.staircase (csrc/latency.c): perf refused")


def test_facts_an_experiment_does_not_declare_are_not_drawn():
    """Figures read through the declarations: a Python timing filed under the C experiment is not read."""
    doc = fabricated_doc()
    py = doc["experiments"].pop("pylocality")["facts"]
    doc["experiments"]["locality"]["facts"].update(py)
    text = svg_text(figures.draw("locality", results(doc), fabricated_claims()))
    assert "C array" in text and "Python list" not in text


# ---------------------------------------------------------------- the HTML


def test_figure_html_places_the_drawing_with_its_caption():
    item = figures.render("sizes", results(fabricated_doc()), fabricated_claims())
    out = figures.figure_html(item)
    assert "<img" not in out and out.count("<svg ") == 1 and item.svg in out
    assert f'aria-label="{html.escape(item.alt, quote=True)}"' in out
    assert f"<figcaption>{html.escape(item.caption, quote=True)}</figcaption>" in out and "Test CPU 9000" in out
    assert out.startswith('<figure class="chapter-figure" id="figure-sizes">')


def test_figure_html_for_missing_data_is_a_note_not_an_image():
    out = figures.figure_html(figures.Missing("latency", "experiment 'latency' <failed>"))
    assert "<svg" not in out and "not-measured" in out and "&lt;failed&gt;" in out


def test_the_hooks_write_no_figure_files(root):
    """The figures live in their pages: a move off MkDocs needs no hook to write them."""
    hooks = (root / "macros/hooks.py").read_text()
    assert "figures" not in hooks.split('"""', 2)[2]


def test_book_marks_come_from_the_ledger(root):
    claims = load(root / "claims.toml")
    marks = common.book_marks(claims, ["sum"])
    for claim in claims.values():
        for check in claim.checks:
            exp, _, name = check.fact.partition(".")
            if exp == "sum" and check.op == "within":
                assert (float(check.expected), claim.id) in marks[name]


# ---------------------------------------------------------------- figure 4's listings


@pytest.mark.listing("csrc/sizes.c", "pysrc/sizes.py")
def test_sizes_listings(root, tmp_path):
    exe = tmp_path / "sizes"
    toolchain.compile_c(root / "csrc/sizes.c", exe, ["-O2"], root=root)
    c_out = runner.run([str(exe)], file="csrc/sizes.c", timeout=30).stdout
    c_sizes = re.findall(r"sizeof\((.+?)\) = (\d+)", c_out)
    assert len(c_sizes) == len(c_out.splitlines()) > 0
    # Each printed size is what the compiler itself asserts, in a separately compiled check.
    check = tmp_path / "check.c"
    check.write_text("#include <stdbool.h>\n" + "".join(
        f'_Static_assert(sizeof({t}) == {n}, "sizeof({t})");\n' for t, n in c_sizes))
    proc = subprocess.run(["gcc", "-std=gnu11", "-c", str(check), "-o", str(tmp_path / "check.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    py_out = runner.run([sys.executable, str(root / "pysrc/sizes.py")], file="pysrc/sizes.py").stdout
    py_sizes = re.findall(r"sys\.getsizeof\((.+?)\) = (\d+)\n", py_out)
    assert len(py_sizes) == len(py_out.splitlines()) > 0
    for text, n in py_sizes:   # the same interpreter, asked directly
        assert int(n) == sys.getsizeof(eval(text)), text

    # The experiment pairs exactly these figures.
    from macros.measure.experiments import Context, one_line_sizes as sizes_exp
    from macros.measure.config import SCALES
    out = sizes_exp.run(Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None))
    c_map, py_map = dict(c_sizes), dict(py_sizes)
    for p in out["facts"]["pairs"]["value"]:
        assert p["py_bytes"] == int(py_map[p["py_value"]])
        if p["c_type"]:
            assert p["c_bytes"] == int(c_map[p["c_type"]])


def test_extrapolated_quartiles_below_zero_are_clipped():
    """Quartiles of two repeats can fall below zero: the data say so, the drawing stays positive."""
    doc = fabricated_doc()
    steps = doc["experiments"]["latency"]["facts"]["staircase"]["value"]
    steps[2] = {**steps[2], "q1": -3.0}
    doc["experiments"]["sum"]["facts"]["numpy_sum"]["spread"]["q1"] = -1e-4
    latency = draw("latency", doc)
    assert float(points(latency)[2].get("data-q1")) == -3.0      # the tooltip's data as recorded
    height = float(ET.fromstring(latency).get("viewBox").split()[3])
    for d in re.findall(r' d="([^"]+)"', latency):
        ys = [float(v) for v in re.findall(r"-?[\d.]+", d)[1::2]]
        assert all(0 <= y <= height for y in ys)
    bench = draw("benchmark", doc)
    numpy = by(points(bench), "ref")["sum.numpy_sum"]
    assert float(numpy.get("data-q1")) > 0                       # clipped to the fastest value seen


def test_level_labels_do_not_collide_at_the_crowded_right_end():
    """Two levels read one size apart at the largest working sets (as a VM's L3 and RAM can be):
    their labels stay apart, off the circles, inside the drawing."""
    doc = fabricated_doc()
    facts = doc["experiments"]["latency"]["facts"]
    steps = facts["staircase"]["value"]
    facts["l3_ns"] = {**_fact(steps[-2]["ns"], "ns"), "bytes": steps[-2]["bytes"]}
    facts["ram_ns"] = {**_fact(steps[-1]["ns"], "ns"), "bytes": steps[-1]["bytes"]}
    root = ET.fromstring(draw("latency", doc))
    width = float(root.get("viewBox").split()[2])
    boxes, circles = [], []
    for g in points(ET.tostring(root, encoding="unicode"), "fig-level"):
        t = g.find("s:text", NS)
        c = g.find("s:circle", NS)
        boxes.append(svg.label_box(float(t.get("x")), float(t.get("y")), t.text, float(t.get("font-size")),
                                   t.get("text-anchor", "start")))
        cx, cy, r = (float(c.get(k)) for k in ("cx", "cy", "r"))
        circles.append((cx - r, cy - r, cx + r, cy + r))
    assert len(boxes) == 3
    placer = svg.Placer()
    for box in boxes:
        assert box[0] >= 0 and box[2] <= width
        assert placer.free(box), box
        placer.take(box)
    for box in boxes:
        assert all(svg.Placer([c]).free(box) for c in circles), box
