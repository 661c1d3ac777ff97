"""Section 3, "Everything is an object": its listings compiled and run, its parsers, its verdict rules.

Expectations come from first principles or from this interpreter itself (the listings run
under the same Python as the tests), never from numbers typed in.
"""
from __future__ import annotations

import os
import random
import re
import statistics
import sys

import pytest

from conftest import verdict_on

from macros.measure import machinecode, maps, runner, toolchain
from macros.measure.config import SCALES
from macros.measure.experiments import Context
from macros.measure.experiments import objects as po

PY = sys.executable


def run_py(root, rel: str, *args: str, timeout: float = 60) -> str:
    return runner.run([PY, str(root / rel), *args], file=rel, timeout=timeout).stdout


def own_region(obj) -> maps.Mapping | None:
    """The mapping of this test process that holds obj."""
    with open("/proc/self/maps") as fh:
        return maps.locate(id(obj), maps.parse(fh.read()))


# ------------------------------------------------------------------ listings

@pytest.mark.listing("pysrc/where_objects_live.py")
def test_where_objects_live(root):
    out = run_py(root, "pysrc/where_objects_live.py", "--maps")
    addresses, shown, map_text = po.parse_where(out)
    mappings = maps.parse(map_text)
    assert {"None", "True", "small int 42", "fresh int", "list", "dict", "str at run time"} <= set(addresses)
    for name, addr in addresses.items():
        assert maps.locate(addr, mappings) is not None, f"{name} at {addr:#x} is in no mapping"
    # Objects made while the program runs can only come from memory obtained at run time.
    for name in ("fresh int", "float at run time", "str at run time", "list", "dict"):
        assert maps.locate(addresses[name], mappings).dynamic, name
    # Singletons: same interpreter, same answer as in this very process.
    for name, obj in (("None", None), ("True", True), ("small int 42", 42), ("the type int", int)):
        assert maps.locate(addresses[name], mappings).dynamic == own_region(obj).dynamic, name
    # The listing's own lookup names the same mapping's path as the engine's parser.
    for line in shown.splitlines():
        name = line[:18].strip()
        mp = maps.locate(addresses[name], mappings)
        assert line.endswith(mp.path or "(anonymous)"), line


@pytest.mark.listing("csrc/add.c")
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_add_c(root, tmp_path, opt):
    exe = tmp_path / "add"
    toolchain.compile_c(root / "csrc/add.c", exe, [opt], root=root)
    a, b = random.randint(-10_000, 10_000), random.randint(-10_000, 10_000)
    out = runner.run([str(exe), str(a), str(b)], file="csrc/add.c").stdout
    assert out.strip() == f"add({a}, {b}) = {a + b}"
    dis = machinecode.disassemble(exe, "add")
    asm = dis.text
    assert asm.startswith("add:") and dis.instructions[-1].mnemonic == "ret", asm
    body = machinecode.body(dis)
    assert body, asm
    # The int arguments arrive in edi and esi (System V x86-64) or w0 and w1 (AArch64), and
    # the result leaves in eax or w0.
    first, second, result = ("di", "si", "eax") if dis.arch == machinecode.X86_64 else ("w0", "w1", "w0")
    text = " ".join(i.operands for i in body)
    assert re.search(rf"\b[re]?{first}\b", text) and re.search(rf"\b[re]?{second}\b", text), asm
    if opt == "-O2":
        assert not any(machinecode.accesses_memory(i) for i in body), "at -O2 the arguments stay in registers"
    else:
        assert machinecode.sum_op(dis).mnemonic == "add", asm
    assert re.search(rf"\b{result}\b", text), asm


@pytest.mark.listing("pysrc/add.py")
def test_add_py(root):
    """The opnames the listing reports are this interpreter's, and its printed `dis` shows them."""
    import dis

    def add(a, b):
        return a + b

    out = run_py(root, "pysrc/add.py", "--opnames")
    assert out.splitlines()[0] == f"add(2, 3) = {2 + 3}"
    shown, ops = po.parse_opnames(out)
    assert po.OPNAMES_MARKER not in shown and shown.strip(), out
    expected = [i.opname for i in dis.get_instructions(add)]
    assert ops["compiled"] == expected, out
    for i in range(100):
        add(i, 1000)
    assert ops["adaptive"] == [i.opname for i in dis.get_instructions(add, adaptive=True)], out
    # The evidence on the page (the printed listings) names every instruction the facts come from.
    compiled_text, adaptive_text = re.split(r"^--- .* ---$", shown, flags=re.M)[1:3]
    for names, text in ((ops["compiled"], compiled_text), (ops["adaptive"], adaptive_text)):
        assert all(re.search(rf"\b{n}\b", text) for n in names), (names, text)
    # A reader who runs the listing sees only the listings, no JSON.
    plain = run_py(root, "pysrc/add.py")
    assert po.OPNAMES_MARKER not in plain and plain.rstrip("\n") == shown


def test_parse_opnames_refuses_what_is_not_the_listings_json():
    shown = "add(2, 3) = 5\n--- bytecode, as compiled ---\n  RESUME 0\n"
    assert po.parse_opnames(shown) == (shown.rstrip("\n"), {})
    assert po.parse_opnames(shown + po.OPNAMES_MARKER + "\n{not json\n")[1] == {}
    assert po.parse_opnames(shown + po.OPNAMES_MARKER + '\n{"adaptive": null}\n')[1] == {}
    got = po.parse_opnames(shown + po.OPNAMES_MARKER + '\n{"compiled": ["RESUME"], "adaptive": null}\n')
    assert got == (shown.rstrip("\n"), {"compiled": ["RESUME"], "adaptive": None})


@pytest.mark.parametrize("ops, loads", [
    (["RESUME", "LOAD_FAST", "LOAD_FAST", "BINARY_OP", "RETURN_VALUE"], ["LOAD_FAST", "LOAD_FAST"]),
    (["RESUME", "LOAD_FAST_LOAD_FAST", "BINARY_OP", "RETURN_VALUE"], ["LOAD_FAST_LOAD_FAST"]),
    (["RESUME", "LOAD_CONST", "RETURN_VALUE"], []),
])
def test_operand_loads(ops, loads):
    assert po.operand_loads(ops) == loads


@pytest.mark.listing("pysrc/add_allocates.py")
def test_add_allocates(root):
    n = 5000
    out = run_py(root, "pysrc/add_allocates.py", str(n))
    rows = po.parse_allocates(out)
    assert len(rows) == 6, out
    for tag, r in rows.items():
        total = r["a"] + r["b"]
        assert r["result"] == total
        assert r["size"] == sys.getsizeof(total)
        assert r["same"] == ((r["a"] + r["b"]) is (r["a"] + r["b"])), tag
        # A shared result needs no block; a fresh one kept alive needs at least one.
        if r["same"]:
            assert abs(r["kept"]) <= 2 / n, (tag, r)
        else:
            assert r["kept"] >= 1 - 2 / n, (tag, r)
        # Dropped at once, a result's block goes back: nothing piles up.
        assert abs(r["dropped"]) <= 2 / n, (tag, r)


@pytest.mark.listing("pysrc/gil_threads.py")
def test_gil_threads(root):
    repeats = 2
    out = run_py(root, "pysrc/gil_threads.py", "600000", str(repeats))
    workers, walls, busy = po.parse_gil(out)
    assert workers == max(2, os.cpu_count() or 1)
    assert all(len(v) == repeats and min(v) > 0 for v in walls.values()), out
    # The medians the program prints are the medians of the times it printed.
    base = statistics.median(walls["serial"])
    for way, label in (("serial", "1 thread"), ("threads", f"{workers} threads"),
                       ("processes", f"{workers} processes")):
        m = re.search(rf"^median {label}: ([\d.]+) s, speed-up ([\d.]+)x", out, re.M)
        assert m, out
        med = statistics.median(walls[way])
        assert abs(float(m.group(1)) - med) <= 1.5e-4
        # Times are printed to a tenth of a millisecond: the speed-up lies within what that
        # rounding allows.
        lo, hi = (base - 5e-5) / (med + 5e-5), (base + 5e-5) / max(med - 5e-5, 1e-9)
        assert lo - 0.005 <= float(m.group(2)) <= hi + 0.005, (way, out)
    # With a GIL, threads of one process never run bytecode on two cores at once.
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        assert max(busy["threads"]) <= 1.15, out
    # The pool's processes report their own CPU time: some, and never more cores than there are.
    assert all(0 < b <= workers * 1.05 for b in busy["processes"]), out
    assert "Traceback" not in out


# ------------------------------------------------------------------ engine pieces

FAKE_MAPS = """\
55d000000000-55d000001000 r--p 00000000 fe:00 1   /usr/bin/python3.11
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
7f0000200000-7f0000300000 rw-p 00443000 fe:00 2   /usr/lib/libpython3.11.so.1.0
"""


def test_where_facts_on_fixed_maps():
    addrs = {"None": 0x7f0000200010, "list": 0x7f0000000040, "lost": 0x1000}
    facts, table = po.where_facts(addrs, maps.parse(FAKE_MAPS))
    assert facts["region_none"]["value"] == "writable data of libpython3.11.so.1.0"
    assert facts["dynamic_none"]["value"] is False
    assert facts["region_list"]["value"] == "anonymous mmap" and facts["dynamic_list"]["value"] is True
    assert facts["region_lost"]["value"] == "unmapped"
    assert (facts["values_probed"]["value"], facts["values_dynamic"]["value"]) == (3, 1)
    assert facts["static_values"]["value"] == "None, lost"
    assert len(table.splitlines()) == 3


def test_parse_gil_on_fixed_output():
    text = ("os.cpu_count() = 4, workers = 4, 8 loop steps in 4 chunks, 2 repeats\n"
            "repeat 1: 1 thread 0.400 s (1.00 cores), 4 threads 0.410 s (1.00 cores), "
            "4 processes 0.120 s (3.50 cores)\n"
            "repeat 2: 1 thread 0.420 s (0.99 cores), 4 threads 0.430 s (1.01 cores), "
            "4 processes 0.110 s (3.70 cores)\n")
    workers, walls, busy = po.parse_gil(text)
    assert workers == 4
    assert walls == {"serial": [0.4, 0.42], "threads": [0.41, 0.43], "processes": [0.12, 0.11]}
    assert busy["processes"] == [3.5, 3.7]


def test_paired_ratio_cancels_a_common_slowdown():
    # Repeat 2 ran on a machine twice as slow: both sides slow down, the ratio does not.
    r = po.paired_ratio([2.0, 4.0, 2.2], [1.0, 2.0, 1.1])
    assert r["unit"] == "x" and r["value"] == pytest.approx(2.0)
    assert r["spread"]["rel_iqr"] == pytest.approx(0.0)


def test_experiments_quick(root, tmp_path):
    """The engine's section-3 experiments (not the timed one) at quick scale."""
    ctx = Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)
    heap = po.run_objheap(ctx)["facts"]
    assert heap["values_probed"]["value"] == heap["values_dynamic"]["value"] + heap["values_static"]["value"]
    cadd = po.run_cadd(ctx)["facts"]
    assert cadd["sum_correct_O0"]["value"] and cadd["sum_correct_O2"]["value"]
    assert cadd["instr_O2"]["value"] <= cadd["instr_O0"]["value"]
    pyadd = po.run_pyadd(ctx)["facts"]
    assert pyadd["add_op"]["value"].startswith("BINARY")
    assert pyadd["load_op"]["value"].startswith("LOAD_FAST")
    assert pyadd["load_count"]["value"] in (1, 2)
    assert pyadd["fresh_results_one_block"]["value"] is True


# ------------------------------------------------------------------ verdict rules, fixed data

HEAP_CHECKED = ("none", "true", "small_int_42", "fresh_int", "float_at_run_time",
                "str_at_run_time", "list", "dict")


@pytest.mark.parametrize("static, expected", [
    ((), "holds"),                                          # every value from run-time memory
    (("none", "true", "small_int_42"), "differs"),          # CPython 3.11: singletons are static
    (HEAP_CHECKED, "does-not-hold"),
])
def test_verdict_everything_heap(root, static, expected):
    facts = {f"objheap.dynamic_{k}": k not in static for k in HEAP_CHECKED}
    assert verdict_on("py-everything-heap", facts) == expected


@pytest.mark.parametrize("small, medium, big, expected", [
    (1.0, 1.0, 1.0, "holds"),
    (0.0, 1.0, 1.0, "differs"),        # the small result is a shared object
    (0.0, 0.0, 0.0, "does-not-hold"),
    (1.0, 2.0, 1.0, "differs"),        # two blocks per addition is not "an object"
])
def test_verdict_add_allocates(root, small, medium, big, expected):
    facts = {"pyadd.blocks_per_add_small": small, "pyadd.blocks_per_add_medium": medium,
             "pyadd.blocks_per_add_two_digit": big}
    assert verdict_on("py-add-allocates", facts) == expected


@pytest.mark.parametrize("count, op, expected", [
    (1, "add", "holds"),
    (1, "lea", "differs"),             # one instruction, but not an add
    (8, None, "does-not-hold"),        # -O0 style: loads, stores, then the add
])
def test_verdict_c_add(root, count, op, expected):
    assert verdict_on("c-add-instruction", {"cadd.body_count_O2": count, "cadd.op_O2": op}) == expected


@pytest.mark.parametrize("speedup, busy, expected", [
    (0.95, 1.0, "holds"),
    (1.9, 1.0, "differs"),
    (1.9, 1.95, "does-not-hold"),      # threads really running in parallel
])
def test_verdict_gil(root, speedup, busy, expected):
    assert verdict_on("gil-one-core", {"gil.speedup_threads": speedup, "gil.busy_threads": busy}) == expected
