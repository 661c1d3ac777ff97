"""The figures: drawn from fixed, fabricated data; byte-identical when the data is; absent when it is.

The numbers below are made up for the tests (they are never measured results): each test
asserts what the drawing did with them, which labels and values reach the SVG.
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import declared
from macros import figures, fmt
from macros.figures import common, locality_times, sum_times
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
                           {"level": 1, "type": "Instruction", "size": 32 << 10, "line": 64},
                           {"level": 2, "type": "Unified", "size": 2 << 20, "line": 64},
                           {"level": 3, "type": "Unified", "size": 16 << 20, "line": 64}]},
    "python": {"implementation": "CPython", "version": "3.99.0"},
    "compiler": "gcc (Test) 99.1.0",
    "scale": {"name": "quick"},
}


def fabricated_doc() -> dict:
    n = 2_000_000
    return {"provenance": PROVENANCE, "experiments": {
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
            "l1_ns": _fact(1.7, "ns"), "ram_ns": _fact(77.0, "ns")}},
        "locality": {"status": "ok", "facts": {
            "n": _fact(n), "ns_per_elem_array": _fact(0.37, "ns"), "ns_per_elem_list_ordered": _fact(1.3, "ns"),
            "ns_per_elem_list_shuffled": _fact(11.0, "ns")}},
        "pylocality": {"status": "ok", "facts": {
            "n": _fact(n), "ns_per_elem_py_list_ordered": _fact(9.0, "ns"),
            "ns_per_elem_py_list_shuffled": _fact(23.0, "ns"), "ns_per_elem_numpy": _fact(0.5, "ns")}},
    }}


def results(doc: dict) -> Results:
    """The figures read a results document through the experiments' declarations."""
    return Results(doc, declared())


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


def svg_text(svg: bytes) -> str:
    """All text drawn in the SVG (svg.fonttype 'none' keeps it as <text>)."""
    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


# ---------------------------------------------------------------- the figures


@pytest.mark.parametrize("name", figures.NAMES)
def test_each_figure_draws_valid_svg_in_both_schemes(name):
    doc, claims = fabricated_doc(), fabricated_claims()
    item = figures.render(name, results(doc), claims)
    assert isinstance(item, figures.Rendered), item
    for svg in (item.light, item.dark):
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        text = svg.decode()
        assert "<image" not in text and "@font-face" not in text and "url(http" not in text
        assert "<dc:date>" not in text   # no timestamp
    assert item.light != item.dark
    assert item.width > 200 and item.height > 100
    assert "Test CPU 9000" in item.caption and "scale quick" in item.caption
    assert "logarithm" in item.caption.lower() or "linear" in item.caption.lower()
    assert item.alt and len(item.alt) > 40


@pytest.mark.parametrize("name", figures.NAMES)
def test_identical_data_gives_identical_bytes(name):
    a = figures.render(name, results(fabricated_doc()), fabricated_claims())
    common.MEMO.clear()   # drawn afresh, not remembered
    b = figures.render(name, results(json.loads(json.dumps(fabricated_doc()))), fabricated_claims())
    assert (a.light, a.dark, a.alt, a.caption) == (b.light, b.dark, b.alt, b.caption)


def test_identical_bytes_across_processes(root):
    """No hash seed, clock or process state leaks into the file."""
    code = ("import sys, json, hashlib; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/tests']\n"
            "from test_figures import fabricated_doc, fabricated_claims, results\n"
            "from macros import figures\n"
            "print(json.dumps({n: hashlib.sha256(figures.draw(n, results(fabricated_doc()), fabricated_claims(),"
            " 'dark')).hexdigest() for n in figures.NAMES}))")
    runs = [subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, check=True).stdout
            for seed in ("1", "2")]
    assert runs[0] == runs[1]


def test_changed_data_changes_the_figure():
    doc = fabricated_doc()
    before = figures.draw("benchmark", results(doc), fabricated_claims())
    doc["experiments"]["sum"]["facts"]["py_loop"] = _timing(0.094)
    assert figures.draw("benchmark", results(doc), fabricated_claims()) != before


def test_benchmark_draws_each_timing_and_the_books_figures_scaled_to_n():
    doc, claims = fabricated_doc(), fabricated_claims()
    text = svg_text(figures.draw("benchmark", results(doc), claims))
    facts = doc["experiments"]["sum"]["facts"]
    for name, label, _ in sum_times.SUM_ROWS:
        assert label in text
        assert fmt.seconds(facts[name]["value"]) in text
    n = facts["n"]["value"]
    # the ledger's seconds (not its ratio) land beside their rows, scaled from the book's n
    for cid, fact_name in (("loop", "py_loop"), ("c", "c_book_O2")):
        expected = claims[cid].checks[0].expected
        assert f"book: {fmt.seconds(expected * n / sum_times.BOOK_N_SUM)}" in text
    assert "(folded)" in text
    assert f"{n:,}" in text


def test_sizes_draws_each_pair_and_the_ledger_sizes():
    doc, claims = fabricated_doc(), fabricated_claims()
    item = figures.render("sizes", results(doc), claims)
    text = svg_text(item.light)
    for p in doc["experiments"]["sizes"]["facts"]["pairs"]["value"]:
        assert p["what"] in text and f"{p['py_bytes']} B" in text
        if p["c_bytes"] is not None:
            assert f"{p['c_bytes']} B" in text
    assert "no C counterpart" in text
    assert "the book's figure" in text
    assert "a small integer: C int 5 B, Python 42 31 B" in item.alt


def test_sizes_falls_back_to_section_one_facts():
    doc = fabricated_doc()
    del doc["experiments"]["sizes"]
    doc["experiments"]["cside"] = {"status": "ok", "facts": {"c_sizeof_int": _fact(7, "B")}}
    doc["experiments"]["pyside"] = {"status": "ok", "facts": {"getsizeof_42": _fact(29, "B")}}
    text = svg_text(figures.draw("sizes", results(doc), fabricated_claims()))
    assert "7 B" in text and "29 B" in text


def test_layout_marks_segments_gaps_and_variables():
    doc = fabricated_doc()
    item = figures.render("layout", results(doc), fabricated_claims())
    text = svg_text(item.light)
    for name in ("text", "data", "heap", "libc", "stack"):
        assert name in text
    assert text.count("libc") == 1               # its two mappings drawn as one block
    assert "0x000000001000" in text               # real start addresses
    assert "function main  0x000000001234" in text and "a local  0x7ffff0020010" in text
    gap = 0x7f0000000000 - 0x921000
    assert f"unmapped {common.big_bytes(gap)}" in text


def test_latency_draws_cache_sizes_and_the_books_reference_lines():
    doc, claims = fabricated_doc(), fabricated_claims()
    text = svg_text(figures.draw("latency", results(doc), claims))
    assert "L1d 48 KiB" in text and "L2 2 MiB" in text and "L3 16 MiB" in text
    assert "32 KiB" not in text   # the instruction cache holds no data: not drawn
    # the book's figures as the ledger prints them, not the verdict rule's bounds
    assert "the book: 1.5 ns" in text and "the book: 170 ns" in text
    assert "120" not in text and "113" not in text


def test_locality_draws_every_measured_layout_and_skips_the_rest():
    doc, claims = fabricated_doc(), fabricated_claims()
    text = svg_text(figures.draw("locality", results(doc), claims))
    facts = {**doc["experiments"]["locality"]["facts"], **doc["experiments"]["pylocality"]["facts"]}
    for name, label, _ in locality_times.LOCALITY_ROWS:
        assert (label in text) == (name in facts)
    assert "book: 18.0 ns" in text
    # a whole-sum time of the book's count, drawn per element
    assert f"book: {fmt.sig(0.07 / locality_times.BOOK_N_NODES * 1e9)} ns" in text


def test_locality_draws_the_c_rows_when_the_python_experiment_failed():
    doc = fabricated_doc()
    doc["experiments"]["pylocality"] = {"status": "failed", "reason": "no numpy", "file": "pysrc/list_scattered.py"}
    text = svg_text(figures.draw("locality", results(doc), fabricated_claims()))
    assert "C array" in text and "Python list" not in text and "NumPy" not in text
    doc["experiments"]["locality"] = {"status": "failed", "reason": "timed out", "file": "csrc/array_vs_list.c"}
    item = figures.render("locality", results(doc), fabricated_claims())
    assert item == figures.Missing("locality", "locality (csrc/array_vs_list.c): timed out; "
                                               "pylocality (pysrc/list_scattered.py): no numpy")


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


def test_figure_html_pairs_light_and_dark_with_alt_and_caption():
    item = figures.render("sizes", results(fabricated_doc()), fabricated_claims())
    out = figures.figure_html(item, "../../")
    assert out.count("<img ") == 2
    assert 'src="../../figures/sizes-light.svg#only-light"' in out
    assert 'src="../../figures/sizes-dark.svg#only-dark"' in out
    assert out.count(f'alt="{html.escape(item.alt, quote=True)}"') == 2
    assert "<figcaption>" in out and "Test CPU 9000" in out
    assert 'id="figure-sizes"' in out


def test_figure_html_for_missing_data_is_a_note_not_an_image():
    out = figures.figure_html(figures.Missing("latency", "experiment 'latency' <failed>"), "../")
    assert "<img" not in out and "not-measured" in out and "&lt;failed&gt;" in out


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


def test_extrapolated_quartiles_below_zero_are_clipped(recwarn):
    """Quartiles of two repeats can fall below zero; a log axis must not be asked to show them."""
    doc = fabricated_doc()
    steps = doc["experiments"]["latency"]["facts"]["staircase"]["value"]
    steps[2] = {**steps[2], "q1": -3.0}
    doc["experiments"]["sum"]["facts"]["numpy_sum"]["spread"]["q1"] = -1e-4
    assert figures.draw("latency", results(doc), fabricated_claims()) is not None
    assert figures.draw("benchmark", results(doc), fabricated_claims()) is not None
    assert not [w for w in recwarn if "non-positive" in str(w.message)]
