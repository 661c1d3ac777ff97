"""Section 5, "Cache locality": its listings compiled and run, its parsers, its verdict rules.

Expectations come from first principles (sums of 0..n-1, sizes from ctypes and sysfs, the
definition of a single cycle), never from measured numbers typed in.
"""
from __future__ import annotations

import ctypes
import importlib.util
import random
import re
import shutil
import subprocess
import sys

import pytest

from macros.measure import record

from conftest import verdict_on

from macros.measure import runner, toolchain
from macros.measure.config import SCALES
from macros.measure.errors import MeasureError
from macros.measure.experiments import Context
from macros.measure.experiments import cache_latency as lat
from macros.measure.experiments import cache_locality as loc


def build(root, tmp_path, rel: str, opt: str = "-O2"):
    exe = tmp_path / rel.rsplit("/", 1)[-1].removesuffix(".c")
    return toolchain.compile_c(root / rel, exe, [opt], root=root)


def line_size() -> int:
    """The L1 data cache line as sysfs reports it (what the listings should see too)."""
    cache = lat.data_cache(1)
    return cache["line"] if cache else 64


# ------------------------------------------------------------------ csrc/latency.c

@pytest.mark.listing("csrc/latency.c")
def test_latency_builds_one_cycle_through_every_slot(root, tmp_path):
    exe = build(root, tmp_path, "csrc/latency.c")
    sizes = [16 << 10, 64 << 10, 1 << 20, 3 * 64 * 1001, 128]
    out = runner.run([str(exe), "--check", *map(str, sizes)], file="csrc/latency.c").stdout
    slot = int(re.search(r"slot (\d+) B", out).group(1))
    assert slot == line_size()
    found = [tuple(map(int, m)) for m in re.findall(r"size (\d+) slots (\d+) cycle (\d+)", out)]
    assert [f[0] for f in found] == sizes
    for size, slots, cycle in found:
        assert slots == size // slot
        # Sattolo: following the links from slot 0 returns to it after visiting all of them.
        assert cycle == slots, (size, out)


@pytest.mark.listing("csrc/latency.c")
def test_latency_times_each_size_and_far_memory_is_slower(root, tmp_path):
    exe = build(root, tmp_path, "csrc/latency.c")
    llc = lat.last_level()
    big = max(4 * (llc["size"] if llc else 0), 64 << 20)
    repeats = 3
    out = runner.run([str(exe), "--loads", "65536", "--repeats", str(repeats), str(16 << 10), str(big)],
                     file="csrc/latency.c").stdout
    rows = lat.parse_chase(out)
    assert [r["bytes"] for r in rows] == [16 << 10, big]
    assert all(len(r["ns"]) == repeats and min(r["ns"]) > 0 for r in rows)
    # A working set four times the last-level cache cannot be served as fast as one that
    # fits in L1: the margin is loose on purpose, the machine is shared.
    assert min(rows[1]["ns"]) > 2 * max(rows[0]["ns"]), out
    assert lat.huge_granted(out) is not None


@pytest.mark.listing("csrc/latency.c")
def test_latency_pairs_a_small_cycle_with_each_size(root, tmp_path):
    exe = build(root, tmp_path, "csrc/latency.c")
    big, repeats = 64 << 20, 4
    out = runner.run([str(exe), "--loads", "65536", "--repeats", str(repeats), "--pair", str(16 << 10),
                      "--pair-loads", "131072", str(1 << 20), str(big)], file="csrc/latency.c").stdout
    rows, small = lat.parse_chase(out), lat.parse_paired(out)
    assert [r["bytes"] for r in rows] == [1 << 20, big]
    assert [r["bytes"] for r in small] == [16 << 10] * 2 and all(r["slots"] == 256 for r in small)
    assert all(len(r["ns"]) == repeats and min(r["ns"]) > 0 for r in rows + small)
    assert min(rows[1]["ns"]) > 2 * max(small[1]["ns"]), out


@pytest.mark.listing("csrc/latency.c")
def test_latency_refuses_bad_arguments(root, tmp_path):
    exe = build(root, tmp_path, "csrc/latency.c")
    with pytest.raises(MeasureError):
        runner.run([str(exe), "--loads", "12", "4096"], file="csrc/latency.c")   # not a multiple of 8
    with pytest.raises(MeasureError):
        runner.run([str(exe), "64"], file="csrc/latency.c")                       # fewer than two slots


# ------------------------------------------------------------------ csrc/stride.c

@pytest.mark.listing("csrc/stride.c")
def test_stride_reads_every_stride(root, tmp_path):
    exe = build(root, tmp_path, "csrc/stride.c")
    size, strides, repeats = (1 << 20) + 12, [4, 8, 64, 256, 1 << 20], 2
    out = runner.run([str(exe), "--repeats", str(repeats), str(size), *map(str, strides)],
                     file="csrc/stride.c").stdout
    rows = lat.parse_stride(out)
    assert [r["stride"] for r in rows] == strides
    for r in rows:
        assert r["reads"] == -(-size // r["stride"])      # ceil: the last partial stride counts
        assert len(r["pass_ns"]) == repeats
    # The program adds up the ints it read (each is 1) and checks the count itself.
    assert int(re.search(r"reads checked: (\d+)", out).group(1)) == sum(r["reads"] for r in rows)
    getconf = shutil.which("getconf")
    m = re.search(r"\(sysconf\): (-?\d+) B", out)
    if getconf:
        want = subprocess.run([getconf, "LEVEL1_DCACHE_LINESIZE"], capture_output=True, text=True).stdout.strip()
        assert m.group(1) == want


@pytest.mark.listing("csrc/stride.c")
def test_stride_refuses_a_stride_that_splits_an_int(root, tmp_path):
    exe = build(root, tmp_path, "csrc/stride.c")
    with pytest.raises(MeasureError):
        runner.run([str(exe), "4096", "6"], file="csrc/stride.c")


# ------------------------------------------------------------------ csrc/array_vs_list.c

@pytest.mark.listing("csrc/array_vs_list.c")
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_array_vs_list_sums(root, tmp_path, opt):
    exe = build(root, tmp_path, "csrc/array_vs_list.c", opt)
    for n in (1, 2, random.randint(1000, 50_000)):
        out = runner.run([str(exe), str(n), "3"], file="csrc/array_vs_list.c").stdout
        sums = loc.parse_sums(out)
        assert sums == dict.fromkeys(("array", "ordered list", "shuffled list"), n * (n - 1) // 2), out
        times = loc.parse_times(out)
        assert sorted(times) == sorted(loc.LAYOUTS) and all(len(v) == 3 for v in times.values())
        assert f"summing {n} ints" in out


@pytest.mark.listing("csrc/array_vs_list.c")
def test_array_vs_list_one_layout_and_usage(root, tmp_path):
    exe = build(root, tmp_path, "csrc/array_vs_list.c")
    n = 4321
    out = runner.run([str(exe), str(n), "1", "shuffled"], file="csrc/array_vs_list.c").stdout
    assert loc.parse_sums(out) == {"shuffled list": n * (n - 1) // 2}
    assert "times" not in out and "/ array" not in out      # one repeat, one layout
    with pytest.raises(MeasureError):
        runner.run([str(exe), str(n), "1", "tree"], file="csrc/array_vs_list.c")


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind not installed")
def test_cachegrind_misses_follow_the_layout(root, tmp_path):
    """Simulated D1 misses per element, against sizes from first principles: an array of int
    misses once per line (sizeof(int)/line per element), a list in memory order once per line
    of nodes (sizeof(node)/line), a shuffled list nearly once per node."""
    ctx = Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)
    facts = loc.run_cachesim(ctx)["facts"]
    assert facts["available"]["value"] is True

    class Node(ctypes.Structure):
        _fields_ = [("value", ctypes.c_int), ("next", ctypes.c_void_p)]
    line = line_size()
    per_int = ctypes.sizeof(ctypes.c_int) / line
    per_node = ctypes.sizeof(Node) / line
    assert facts["d1_misses_per_elem_array"]["value"] == pytest.approx(per_int, rel=0.05)
    assert facts["d1_misses_per_elem_ordered"]["value"] == pytest.approx(per_node, rel=0.05)
    assert facts["d1_misses_per_elem_shuffled"]["value"] > 0.9


def test_cachesim_without_valgrind(root, tmp_path, monkeypatch):
    monkeypatch.setattr(loc.valgrind, "find", lambda: None)
    ctx = Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)
    out = loc.run_cachesim(ctx)
    assert out["facts"]["available"]["value"] is False
    facts, evidence = out["facts"], out["evidence"]
    exp = next(e for e in loc.EXPERIMENTS if e.name == "cachesim")
    bugs = record.check_output("cachesim", "x.py", facts, evidence, exp.facts, exp.evidence,
                               out.get("missing_tools"))
    # Every count and the summary are "not measured" with the tool's reason, never text to parse.
    assert bugs == []
    for name in ("n", "d1_misses_per_elem_array", "ll_misses_per_elem_shuffled"):
        assert facts[name]["not_measured"].startswith("valgrind is not installed"), name
        assert "apt-get install valgrind" in facts[name]["not_measured"]
    assert evidence["summary"]["not_measured"].startswith("valgrind is not installed")


# ------------------------------------------------------------------ pysrc/list_scattered.py

def _listing_module(root):
    spec = importlib.util.spec_from_file_location("list_scattered", root / "pysrc/list_scattered.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.listing("pysrc/list_scattered.py")
def test_list_scattered(root):
    n, repeats = 20_000, 2
    out = runner.run([sys.executable, str(root / "pysrc/list_scattered.py"), str(n), str(repeats)],
                     file="pysrc/list_scattered.py").stdout
    first = _listing_module(root).FIRST
    assert first > 256                                     # outside the small-int cache
    total = int(re.search(r"sum of each: ([\d,]+)", out).group(1).replace(",", ""))
    assert total == n * first + n * (n - 1) // 2
    times = loc.parse_times(out)
    assert sorted(times) == sorted(loc.PY_NAMES) and all(len(v) == repeats for v in times.values())
    steps = {m.group(1): (int(m.group(2).replace(",", "")), int(m.group(3)))
             for m in re.finditer(r"^(list_\w+)\s+next object is ([\d,]+) B away \(median\), (\d+)%", out, re.M)}
    # Created one after another, the ints sit one allocator block apart: their size rounded
    # up to the allocator's 16-byte alignment.
    block = -(-sys.getsizeof(first) // 16) * 16
    assert steps["list_ordered"][0] == block and steps["list_ordered"][1] >= 95
    assert steps["list_shuffled"][0] > 10 * block


@pytest.mark.listing("pysrc/list_scattered.py")
def test_list_scattered_data_holds_the_same_objects(root):
    data = _listing_module(root).make_data(1000)
    ordered, shuffled = data["list_ordered"], data["list_shuffled"]
    assert sorted(map(id, ordered)) == sorted(map(id, shuffled))   # same objects, not copies
    assert ordered != shuffled and sorted(shuffled) == ordered
    assert list(data["array"]) == ordered and data["numpy"].tolist() == ordered


# ------------------------------------------------------------------ engine pieces, fixed data

def test_parsers_on_fixed_output():
    chase = ("# line 64 B (sysconf), slot 64 B, page 4096 B, small pages requested (0 KiB granted "
             "as huge pages), 1024 loads x 2 repeats\nsize 16384 slots 256 ns 1.100 1.200  # median 1.2\n"
             "size 32768 slots 512 ns 3.000 4.000  # median 4.0\n")
    assert lat.parse_chase(chase) == [{"bytes": 16384, "slots": 256, "ns": [1.1, 1.2]},
                                      {"bytes": 32768, "slots": 512, "ns": [3.0, 4.0]}]
    assert lat.huge_granted(chase) == 0
    stride = "# buffer 100 B, 2 repeats\nstride 4 reads 25 ns_per_pass 10 12\n# reads checked: 25\n"
    assert lat.parse_stride(stride) == [{"stride": 4, "reads": 25, "pass_ns": [10.0, 12.0]}]
    text = ("summing 3 ints\narray          sum 3 in 0.0000 s\nshuffled list  sum 3 in 0.0001 s\n"
            "times array: 0.000001 0.000002\ntimes shuffled: 0.5 0.25\n")
    assert loc.parse_sums(text) == {"array": 3, "shuffled list": 3}
    assert loc.parse_times(text) == {"array": [1e-6, 2e-6], "shuffled": [0.5, 0.25]}


def test_parse_cachegrind_sums_one_function():
    text = ("desc: D1 cache: 32768 B, 64 B, 8-way associative\ncmd: ./a\n"
            "events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw\nfl=a.c\nfn=main\n5 10 0 0 4 4 4 0 0 0\n"
            "fn=sum_list\n60 1 1 1 0 0 0 0 0 0\n62 400 0 0 200 150 7 0 0 0\nfn=other\n1 1 1 1 1 1 1 1 1 1\n"
            "summary: 1 1 1 1 1 1 1 1 1\n")
    ev = loc.parse_cachegrind(text, "sum_list")
    assert (ev["Ir"], ev["Dr"], ev["D1mr"], ev["DLmr"]) == (401, 200, 150, 7)


def test_line_from_passes():
    def rows(passes):
        return [{"stride": s, "reads": 1, "pass_ns": [p, p]} for s, p in passes.items()]
    flat_to_64 = {4: 30, 8: 11, 16: 10, 32: 10, 64: 10, 128: 5, 256: 2.5}
    assert lat.line_from_passes(rows(flat_to_64)) == 64
    flat_to_128 = {16: 10, 32: 10, 64: 10, 128: 15, 256: 7}
    assert lat.line_from_passes(rows(flat_to_128)) == 128
    assert lat.line_from_passes(rows({16: 10, 32: 10, 64: 10})) is None
    # Stride 4 is compute-bound and never counts as the line.
    assert lat.line_from_passes(rows({4: 30, 8: 10, 16: 10, 32: 5})) == 16


def test_chase_sizes():
    sizes = lat.chase_sizes(512 << 20)
    assert sizes[0] == lat.SMALLEST_CHASE and sizes[-1] == 512 << 20 and sizes == sorted(set(sizes))
    powers = [s for s in sizes if s & (s - 1) == 0]
    assert powers == [lat.SMALLEST_CHASE << k for k in range(len(powers))]
    assert all(s < 64 << 20 for s in sizes if s & (s - 1))   # halfway points only below 64 MiB
    assert lat.chase_sizes(100 << 20)[-1] == 100 << 20


def test_level_points_and_effective_llc():
    stairs = [{"bytes": b, "ns": ns, "q1": ns, "q3": ns} for b, ns in
              ((16 << 10, 1.0), (256 << 10, 4.0), (4 << 20, 15.0), (16 << 20, 150.0), (512 << 20, 200.0))]
    caches = {"l1": 32 << 10, "l2": 1 << 20, "l3": 32 << 20}
    points = lat.level_points(stairs, caches)
    assert {k: p["bytes"] for k, p in points.items()} == {"l1": 16 << 10, "l2": 256 << 10,
                                                          "l3": 16 << 20, "ram": 512 << 20}
    # Below sqrt(4 * 200) ~ 28 ns: up to 4 MiB.
    assert lat.effective_llc(stairs, points["l2"]["ns"], points["ram"]["ns"]) == 4 << 20
    assert "l3" not in lat.level_points(stairs, {"l1": 32 << 10, "l2": 1 << 20, "l3": None})


# ------------------------------------------------------------------ the experiments, quick scale

def test_experiments_quick_keep_the_data_contract(root, tmp_path):
    ctx = Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)
    latency = lat.run_latency(ctx)["facts"]
    stairs = latency["staircase"]["value"]
    assert latency["staircase"]["unit"] is None
    assert [s["bytes"] for s in stairs] == sorted(s["bytes"] for s in stairs)
    assert stairs[0]["bytes"] == lat.SMALLEST_CHASE and stairs[-1]["bytes"] >= SCALES["quick"].max_chase_bytes
    eps = 1e-9      # quartiles of equal values may differ from them in the last bit
    assert all(set(s) == {"bytes", "ns", "q1", "q3"} and s["q1"] - eps <= s["ns"] <= s["q3"] + eps
               for s in stairs)
    assert latency["l1_ns"]["unit"] == latency["ram_ns"]["unit"] == "ns"
    assert latency["ram_over_l1"]["unit"] == "x"
    # Taken pair by pair, with its interval: close to, not equal to, the ratio of the medians.
    r = latency["ram_over_l1"]
    assert r["paired"] is True and r["ci_low"] <= r["value"] <= r["ci_high"]
    assert r["value"] == pytest.approx(latency["ram_ns"]["value"] / latency["l1_ns"]["value"], rel=0.5)
    assert latency["single_cycle"]["value"] is True

    line = lat.run_cacheline(ctx)["facts"]
    assert line["line_sysfs"]["value"] == line_size()
    assert [r["stride"] for r in line["strides"]["value"]] == list(lat.STRIDES)

    avl = loc.run_locality(ctx)["facts"]
    assert avl["sums_correct"]["value"] is True
    for key in ("ns_per_elem_array", "ns_per_elem_list_ordered", "ns_per_elem_list_shuffled"):
        assert avl[key]["unit"] == "ns" and avl[key]["value"] > 0
    assert avl["ratio_shuffled_vs_array"]["unit"] == "x"
    n = avl["n"]["value"]
    assert avl["ns_per_elem_array"]["value"] == pytest.approx(avl["t_array"]["value"] / n * 1e9)

    py = loc.run_pylocality(ctx)["facts"]
    for key in ("ns_per_elem_py_list_ordered", "ns_per_elem_py_list_shuffled", "ns_per_elem_py_array",
                "ns_per_elem_numpy"):
        assert py[key]["unit"] == "ns" and py[key]["value"] > 0


# ------------------------------------------------------------------ verdict rules, fixed data

@pytest.mark.parametrize("sysfs, conf, shared, expected", [
    (64, 64, True, "holds"),
    (128, 128, True, "differs"),      # another line size, the sweep still consistent with it
    (64, 64, False, "differs"),       # reported 64, but a pass per line costs more than per 16 B
    (128, 128, False, "does-not-hold"),
])
def test_verdict_cache_line(root, sysfs, conf, shared, expected):
    assert verdict_on("cache-line", {"cacheline.line_sysfs": sysfs, "cacheline.line_sysconf": conf,
                                        "cacheline.reads_share_lines": shared}) == expected


@pytest.mark.parametrize("l1, ram, ratio, expected", [
    (1.0, 100.0, 100.0, "holds"),
    (1.1, 250.0, 227.0, "differs"),   # RAM slower than the book's: the ratio leaves its factor 2
    (5.0, 20.0, 4.0, "differs"),      # nothing matches: still "differs", a figure not a direction
])
def test_verdict_cache_latency(root, l1, ram, ratio, expected):
    assert verdict_on("cache-latency", {"latency.l1_ns": l1, "latency.ram_ns": ram,
                                           "latency.ram_over_l1": ratio}) == expected


@pytest.mark.parametrize("t_array, t_shuffled, ratio, expected", [
    (0.008, 0.18, 22.5, "holds"),
    (0.003, 1.7, 560.0, "differs"),   # the direction holds, the figures do not
    (0.2, 0.1, 0.5, "differs"),
])
def test_verdict_array_vs_list(root, t_array, t_shuffled, ratio, expected):
    assert verdict_on("array-vs-list", {"locality.t_array": t_array, "locality.t_list_shuffled": t_shuffled,
                                           "locality.ratio_shuffled_vs_array": ratio}) == expected


@pytest.mark.parametrize("slower, numpy, ordered, expected", [
    (True, 0.3, 4.5, "holds"),
    (True, 6.0, 4.5, "differs"),
    (False, 6.0, 4.5, "does-not-hold"),
])
def test_verdict_py_list_scattered(root, slower, numpy, ordered, expected):
    assert verdict_on("py-list-scattered", {"pylocality.shuffled_slower": slower,
                                               "pylocality.ns_per_elem_numpy": numpy,
                                               "pylocality.ns_per_elem_py_list_ordered": ordered}) == expected


@pytest.mark.parametrize("array, shuffled, expected", [
    (0.0625, 0.99, "holds"),
    (0.0625, 0.1, "differs"),         # the shuffled list barely misses: something kept it local
    (0.5, 0.1, "does-not-hold"),
])
def test_verdict_list_misses(root, array, shuffled, expected):
    assert verdict_on("list-misses", {"cachesim.d1_misses_per_elem_array": array,
                                         "cachesim.d1_misses_per_elem_shuffled": shuffled}) == expected



def test_the_pyperf_suite_is_written_again_only_when_the_timings_change(tmp_path, monkeypatch, root):
    """A warm or cached build writes the same timings again: the suite on disk is kept (pyperf
    is not even imported); a fresh measurement, a changed library or a missing suite file
    writes it again, and it is always written before the results that describe it."""
    import json
    from macros.measure import engine
    from macros.measure.config import SCALES
    doc = json.loads((root / "tests/corpus/x86-64-gcc-py311.quick.json").read_text())
    made = []
    real = engine.pyperf_suite
    monkeypatch.setattr(engine, "pyperf_suite", lambda d: made.append(1) or real(d))
    scale = SCALES["quick"]
    results, suite = engine.write_results(tmp_path, scale, doc)
    assert made == [1] and suite is not None and suite.is_file() and results.is_file()
    first = suite.read_bytes()
    engine.write_results(tmp_path, scale, json.loads(json.dumps(doc)))           # the same timings
    assert made == [1] and suite.read_bytes() == first
    changed = json.loads(json.dumps(doc))
    changed["experiments"]["sum"]["measured_at"] = "another moment"
    engine.write_results(tmp_path, scale, changed)
    assert made == [1, 1]
    newer = json.loads(json.dumps(changed))
    newer["provenance"]["libraries"]["pyperf"] = "99.0"
    engine.write_results(tmp_path, scale, newer)
    assert made == [1, 1, 1]
    suite.unlink()
    engine.write_results(tmp_path, scale, newer)
    assert made == [1, 1, 1, 1] and suite.is_file()
