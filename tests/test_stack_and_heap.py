"""Section 2, "The stack and the heap": its listings compiled and run, its parsers, its
verdict rules.

Expectations come from the programs' own printouts, from this process's own view of the
system (the listings inherit its limits), or from first principles; never from typed-in
measurements.
"""
from __future__ import annotations

import re
import resource
from pathlib import Path

import pytest

from conftest import verdict_on

from macros.measure import ledger, machinecode, maps, runner, toolchain
from macros.measure.config import SCALES
from macros.measure.experiments import Context
from macros.measure.experiments import stack_and_heap_cost as ac
from macros.measure.experiments import stack_and_heap as ml
from test_machinecode import kept


def build(root: Path, tmp_path: Path, name: str, flags=("-O2",), link=()) -> Path:
    exe = tmp_path / name
    toolchain.compile_c(root / f"csrc/{name}.c", exe, list(flags), root=root, link=list(link))
    return exe


def run(exe: Path, *args: str, src: str) -> str:
    return runner.run([str(exe), *args], file=src, timeout=60).stdout


def ctx(root: Path, tmp_path: Path) -> Context:
    return Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)


# ------------------------------------------------------------------ the layout

@pytest.mark.listing("csrc/layout.c", "csrc/show_maps.c", "csrc/show_maps.h")
def test_layout_listing(root, tmp_path):
    exe = build(root, tmp_path, "layout", link=["csrc/show_maps.c"])
    out = run(exe, src="csrc/layout.c")
    printed, linker, map_text = ml.parse_layout(out)
    mappings = maps.parse(map_text)
    where = dict(printed)
    assert set(where) == set(ml.LAYOUT_POINTS), "the program prints one line per sample"
    for name, addr in printed:
        assert maps.locate(addr, mappings) is not None, f"{name} at {addr:#x} is in no mapping"
    # The linker's own symbols order the globals: .data ends at edata, .bss at end.
    assert where["initialised global"] < linker["edata"] <= where["uninitialised global"] < linker["end"]
    assert where["function main"] < linker["etext"]
    # The kernel's names, read straight from the map.
    assert maps.locate(where["local variable"], mappings).path == "[stack]"
    assert maps.locate(where["malloc(64)"], mappings).path == "[heap]"
    assert "x" in maps.locate(where["function main"], mappings).perms
    assert "libc" in maps.locate(where["libc function printf"], mappings).path
    assert "w" not in maps.locate(where["string literal"], mappings).perms


@pytest.mark.listing("csrc/layout.c", "csrc/show_maps.c", "csrc/show_maps.h")
def test_layout_experiment_data_contract(root, tmp_path):
    """What the figure of the address space reads: points and segments, as agreed."""
    res = ml.run_layout(ctx(root, tmp_path))
    facts = res["facts"]
    points, segments = facts["points"], facts["segments"]
    assert points["unit"] is None and segments["unit"] is None
    pts = points["value"]
    assert all(set(p) == {"name", "address", "segment"} for p in pts)
    assert all(isinstance(p["address"], int) and isinstance(p["segment"], str) for p in pts)
    assert [p["address"] for p in pts] == sorted(p["address"] for p in pts)
    segs = segments["value"]
    assert all(set(s) == {"name", "start", "end", "perms", "path"} for s in segs)
    assert all(s["start"] < s["end"] for s in segs)
    assert all(a["end"] <= b["start"] for a, b in zip(segs, segs[1:])), "segments overlap"
    # Each point's segment is the one whose range holds it.
    for p in pts:
        holder = [s for s in segs if s["start"] <= p["address"] < s["end"]]
        assert len(holder) == 1 and holder[0]["name"] == p["segment"], p
    assert isinstance(facts["order_matches_book"]["value"], bool)
    # Two runs: the order is a property of the layout, so it must not depend on the run.
    assert facts["aslr_same_order"]["value"] is True
    if facts["aslr_setting"]["value"] == 2:
        assert facts["aslr_moved"]["value"] > 0, "full randomisation is on, yet nothing moved"


FAKE_MAPS = """\
555555554000-555555555000 r--p 00000000 fe:00 1 /tmp/x/layout
555555555000-555555556000 r-xp 00001000 fe:00 1 /tmp/x/layout
555555556000-555555557000 r--p 00002000 fe:00 1 /tmp/x/layout
555555557000-555555558000 r--p 00002000 fe:00 1 /tmp/x/layout
555555558000-555555559000 rw-p 00003000 fe:00 1 /tmp/x/layout
555555559000-55555555a000 rw-p 00000000 00:00 0
555555600000-555555621000 rw-p 00000000 00:00 0 [heap]
7ffff7d00000-7ffff7e00000 rw-p 00000000 00:00 0
7ffff7e00000-7ffff7f00000 r-xp 00026000 fe:00 2 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffff7fc0000-7ffff7fc2000 r-xp 00000000 00:00 0 [vdso]
7ffff7fc3000-7ffff7fc4000 r-xp 00001000 fe:00 3 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]
"""


def test_label_segments_fixed_map():
    mappings = maps.parse(FAKE_MAPS)
    edata, end = 0x555555558010, 0x555555559800
    segs = ml.label_segments(mappings, "/tmp/x/layout", edata, end)
    names = [s["name"] for s in segs]
    assert names == ["headers", "text", "rodata", "relro", "data", "bss", "bss", "heap", "mmap",
                     "libc", "vdso", "ld.so", "stack", "vsyscall"]
    data, bss = segs[4], segs[5]
    assert data["end"] == edata == bss["start"], "the writable mapping is split at edata"
    assert segs[0]["path"] == "layout", "the scratch folder is not shown"
    assert ml.in_book_order(names)
    assert ml.segment_of(0x555555600010, segs) == "heap"
    assert ml.segment_of(0x10, segs) == "unmapped"


def test_book_order_rule():
    assert ml.in_book_order(["text", "rodata", "data", "bss", "heap", "mmap", "libc", "stack"])
    assert not ml.in_book_order(["text", "heap", "data"])          # heap below data
    assert not ml.in_book_order(["stack", "mmap"])                   # stack below mmap
    assert ml.in_book_order(["libc", "mmap", "ld.so", "vdso"])        # all one band


def _layout_output(addrs: dict[str, int]) -> str:
    return "".join(f"{name:<22} {addr:#x}\n" for name, addr in addrs.items())


def test_aslr_compare_fixed():
    a = {"function main": 0x5555_0000_10d0, "malloc(64)": 0x5555_1000_02a0, "local variable": 0x7ffc_0000_0abc}
    b = {"function main": 0x5566_0000_10d0, "malloc(64)": 0x5566_2000_02a0, "local variable": 0x7ffd_0000_0cbc}
    facts, table = ml.aslr_compare(_layout_output(a), _layout_output(b))
    assert facts["aslr_moved"]["value"] == 3
    assert facts["aslr_same_order"]["value"] is True
    assert facts["aslr_offset_kept"]["value"] == 2
    assert facts["aslr_stack_offset_changed"]["value"] is True
    swapped = {**b, "malloc(64)": 0x5500_0000_02a0}
    assert ml.aslr_compare(_layout_output(a), _layout_output(swapped))[0]["aslr_same_order"]["value"] is False


# ------------------------------------------------------------------ the stack

@pytest.mark.listing("csrc/stack_depth.c")
def test_stack_depth_listing(root, tmp_path):
    exe = build(root, tmp_path, "stack_depth", flags=("-O2", "-pthread"))
    s = ml.parse_stack(run(exe, src="csrc/stack_depth.c"))
    depths = sorted(s["depths"])
    assert [d for d, _ in depths] == list(range(len(depths))) and len(depths) >= 2
    addrs = [a for _, a in depths]
    assert all(a > b for a, b in zip(addrs, addrs[1:])), "deeper locals must be lower"
    # The listing inherits this process's limit (the runner does not change it).
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    expect = lambda v: ml.RLIM_INFINITY if v == resource.RLIM_INFINITY else v  # noqa: E731
    assert s["limits"] == {"soft": expect(soft), "hard": expect(hard)}
    t = s["thread"]
    assert t["low"] <= t["local"] < t["high"], "a thread's local lies in its own stack"
    assert t["high"] - t["low"] == t["size"]
    assert t["size"] >= s["default_stacksize"] > 0


@pytest.mark.listing("csrc/stack_overflow.c")
def test_stack_overflow_listing(root, tmp_path):
    exe = build(root, tmp_path, "stack_overflow", flags=("-O2", "-pthread"))
    over = ml.parse_overflow(run(exe, src="csrc/stack_overflow.c"))
    frame = int(re.search(r"#define FRAME (\d+)", (root / "csrc/stack_overflow.c").read_text()).group(1))
    depth_exe = build(root, tmp_path, "stack_depth", flags=("-O2", "-pthread"))
    limits = ml.parse_stack(run(depth_exe, src="csrc/stack_depth.c"))
    soft = limits["limits"]["soft"]
    budgets = {"new thread": limits["default_stacksize"]}
    if soft != ml.RLIM_INFINITY and soft <= 256 << 20:
        budgets["main thread"] = soft
    for who, budget in budgets.items():
        o = over[who]
        # It ran out of stack: used no more than it had, and more than half of it.
        assert budget // 2 < o["used"] <= budget, (who, o, budget)
        # Each frame holds at least the FRAME-byte array.
        assert o["frames"] * frame <= o["used"] + frame


def test_stack_parsers_fixed():
    depth_out = ("depth 0: &local = 0x7ffc00000100\ndepth 1: &local = 0x7ffc000000e0\n"
                 "depth 2: &local = 0x7ffc000000c0\n"
                 "main thread: RLIMIT_STACK soft 4194304 bytes\nmain thread: RLIMIT_STACK hard unlimited\n"
                 "new thread: default stacksize 2097152 bytes\n"
                 "new thread: stack 0x7f0000000000-0x7f0000200000, 2097152 bytes; &local = 0x7f00001ffe7c\n")
    over_out = "main thread:\n  frames before the crash: 10\n  stack used: 40960\nnew thread:\n  skipped\n"
    f = ml.stack_facts(depth_out, over_out)
    assert f["grows_down"]["value"] is True
    assert f["frame_bytes"]["value"] == 0x20
    assert f["main_stack_limit"]["value"] == 4 << 20 and f["main_stack_limit_mib"]["value"] == 4
    assert f["main_stack_hard_limit"]["unlimited"] is True
    assert f["thread_default_stacksize_mib"]["value"] == 2
    assert f["thread_local_in_own_stack"]["value"] and f["thread_local_near_top"]["value"]
    assert f["overflow_main_used"]["value"] == 40960 and f["overflow_thread_used"]["value"] is None
    up = depth_out.replace("0x7ffc000000e0", "0x7ffc00000120")
    assert ml.stack_facts(up, over_out)["grows_down"]["value"] is False


# ------------------------------------------------------------------ malloc

@pytest.mark.listing("csrc/malloc_where.c", "csrc/show_maps.c", "csrc/show_maps.h")
def test_malloc_listing(root, tmp_path):
    exe = build(root, tmp_path, "malloc_where", link=["csrc/show_maps.c"])
    out = run(exe, src="csrc/malloc_where.c")
    facts, evidence = ml.malloc_facts(out)
    # The program's own test (program break) and the kernel's map agree on every block.
    assert facts["own_view_agrees"]["value"] is True
    lo, hi = facts["switch_last_in_heap"]["value"], facts["switch_bytes"]["value"]
    assert hi == lo + 1, "the search narrows to adjacent sizes"
    # The blocks printed first fall on the side of the switch their size says.
    for size, _, own in ml._BLOCK.findall(out):
        assert (own == "brk heap") == (int(size) < hi), (size, own, hi)
    assert facts["small_region"]["value"] == "heap"
    assert facts["switch_chunk"]["value"] % 16 == 0 and facts["switch_chunk"]["value"] >= hi


def test_malloc_facts_fixed():
    out = ("malloc(16) = 0x555555600010  brk heap\n"
           "malloc(1048576) = 0x7ffff7d00010  elsewhere\n"
           "switch: 131048 bytes lands in the heap, 131049 bytes does not\n"
           "before free: malloc(1048576) = 0x7ffff7d00010  elsewhere\n"
           "after free:  malloc(1048576) = 0x555555610010  brk heap\n"
           "program break moved by 135168 bytes\n--- /proc/self/maps ---\n" + FAKE_MAPS)
    f, ev = ml.malloc_facts(out)
    assert f["small_region"]["value"] == "heap" and f["large_region"]["value"] == "anonymous mmap"
    assert f["switch_bytes"]["value"] == 131049
    # request + 8-byte size word, rounded up to 16 (glibc on x86-64)
    assert f["switch_chunk"]["value"] == (131049 + 8 + 15) // 16 * 16
    assert f["threshold_moves"]["value"] is True and f["own_view_agrees"]["value"] is True
    assert "anonymous mmap" in ev["malloc_table"]


# ------------------------------------------------------------------ heap vs stack cost

@pytest.mark.listing("csrc/alloc_cost.c")
def test_alloc_cost_listing(root, tmp_path):
    exe = build(root, tmp_path, "alloc_cost")
    out = run(exe, "20000", "3", src="csrc/alloc_cost.c")
    per, meta = ac.parse_repeats(out)
    assert meta == {"block": int(re.search(r"#define SIZE (\d+)", (root / "csrc/alloc_cost.c").read_text()).group(1)),
                    "calls": 20000}
    assert set(per) == {"heap", "churn", "stack", "vla", "empty", "churn_stack"}
    # Each repeat runs the four in turn, reversed every other repeat (A B | B A).
    assert all(len(v) == 3 and all(x > 0 for x in v) for v in per.values())
    asm = {f: machinecode.disassemble(exe, f) for f in ac.FUNCS.values()}
    # The optimiser kept what is timed: the allocator calls, and the store into each block.
    for f in ("heap_block", "heap_churn"):
        assert {"malloc", "free"} <= set(machinecode.calls(asm[f])), asm[f].text
    for f in ("stack_block", "stack_vla"):
        assert re.search(r"BYTE PTR \[|\bstrb\b", asm[f].text), f"{f} lost its store:\n{asm[f].text}"
        lowers, releases = ac.rsp_instructions(asm[f])
        assert lowers >= 1 and releases >= 1, asm[f].text
    assert machinecode.calls(asm["stack_block"]) == [], "the stack side calls no allocator"


def test_alloc_parsers_fixed(root):
    # Recorded machine code (tests/data/machinecode): gcc's VLA subtracts from rsp, clang's
    # computes the new top in another register and moves it into rsp.
    for target in ("x86-64-gcc", "x86-64-clang", "aarch64-gcc", "aarch64-clang"):
        for func in ("stack_block", "stack_vla"):
            assert ac.rsp_instructions(kept(target, "alloc_cost-O2", func)) == (1, 1), (target, func)
    out = ("block of 64 bytes, 10 calls per repeat, ns per call\n"
           "repeat 0: heap 20.0 stack 2.0 vla 2.5 empty 2.0\n"
           "repeat 1: heap 22.0 stack 2.0 vla 2.5 empty 2.0\n"
           "repeat 2: heap 21.0 stack 2.0 vla 2.5 empty 2.0\n"
           "repeat 0: churn 40.0 stack 2.0\n"
           "repeat 1: churn 44.0 stack 2.2\n"
           "repeat 2: churn 42.0 stack 2.0\n")
    asms = {f: kept("x86-64-gcc", "alloc_cost-O2", f) for f in ac.FUNCS.values()}
    f = ac.cost_facts(out, asms)
    assert f["heap_pair"]["unit"] == "s" and f["heap_pair"]["value"] == pytest.approx(21e-9)
    assert f["ratio_heap_stack"]["value"] == pytest.approx(10.5)
    assert f["ratio_churn_stack"]["value"] == pytest.approx(20.0)   # 20, 20, 21: paired, not 42 / 2
    assert f["ratio_heap_stack"]["paired"] is True and f["ratio_heap_stack"]["ci_low"] <= 10.5
    assert f["heap_net"]["value"] == pytest.approx(19e-9)
    # A leaf function may leave up to 128 bytes of its array below rsp (the System V red zone).
    size = int(re.search(r"#define SIZE (\d+)", (root / "csrc/alloc_cost.c").read_text()).group(1))
    assert f["alloc_instructions"]["value"] == 1 and size - 128 <= f["rsp_moved"]["value"] < size
    assert f["heap_calls_allocator"]["value"] is True and f["heap_slower"]["value"] is True
    # Without machine code (no objdump) the timings stand and no asm fact is made up.
    g = ac.cost_facts(out, None)
    assert g["heap_pair"] == f["heap_pair"] and not {"alloc_instructions", "instr_heap", "rsp_moved"} & set(g)


# ------------------------------------------------------------------ verdict rules

CLAIMS = ledger.load(Path(__file__).resolve().parents[1] / "claims.toml")


def verdict(cid: str, **experiments: dict) -> str:
    return verdict_on(cid, {f"{exp}.{k}": v for exp, facts in experiments.items() for k, v in facts.items()})


def test_stack_and_heap_claims_have_rules():
    for cid in ("layout-order", "stack-grows-down", "stack-size", "malloc-mmap",
                "heap-vs-stack-cost", "stack-alloc-instruction"):
        assert CLAIMS[cid].checks, cid
        assert CLAIMS[cid].evidence, cid


@pytest.mark.parametrize("order, whole_map, expected", [
    (True, True, "holds"), (True, False, "differs"), (False, False, "does-not-hold")])
def test_verdict_layout_order(order, whole_map, expected):
    assert verdict("layout-order", layout={"order_matches_book": order, "map_in_book_order": whole_map,
                                           "aslr_same_order": True}) == expected


@pytest.mark.parametrize("down, expected", [(True, "holds"), (False, "does-not-hold")])
def test_verdict_stack_grows_down(down, expected):
    assert verdict("stack-grows-down", stack={"grows_down": down, "frame_bytes": 32,
                                              "thread_local_near_top": True}) == expected


@pytest.mark.parametrize("main, thread, expected", [
    (8, 8, "holds"), (1, 2, "holds"), (16, 8, "differs"), (0.5, 0.25, "differs"),
    ((1 << 64) / (1 << 20), 32, "differs")])
def test_verdict_stack_size(main, thread, expected):
    facts = {"main_stack_limit_mib": main, "thread_default_stacksize_mib": thread,
             "main_stack_limit": main * (1 << 20), "thread_default_stacksize": thread * (1 << 20),
             "overflow_main_used": 1, "overflow_thread_used": 1}
    assert verdict("stack-size", stack=facts) == expected


@pytest.mark.parametrize("small, large, expected", [
    ("heap", "anonymous mmap", "holds"), ("heap", "heap", "differs"),
    ("anonymous mmap", "heap", "does-not-hold")])
def test_verdict_malloc_mmap(small, large, expected):
    facts = {"small_region": small, "large_region": large, "switch_bytes": 1, "threshold_moves": True}
    assert verdict("malloc-mmap", malloc=facts) == expected


@pytest.mark.parametrize("ratio, slower, expected", [
    (20.0, True, "holds"), (7.0, True, "differs"), (150.0, True, "differs"), (0.8, False, "does-not-hold")])
def test_verdict_heap_vs_stack(ratio, slower, expected):
    facts = {"ratio_heap_stack": ratio, "heap_slower": slower, "heap_pair": 1.0, "stack_fixed": 1.0,
             "heap_churn": 1.0, "ratio_churn_stack": 1.0}
    assert verdict("heap-vs-stack-cost", alloc=facts) == expected


@pytest.mark.parametrize("count, expected", [(1, "holds"), (0, "does-not-hold"), (3, "does-not-hold")])
def test_verdict_stack_alloc_instruction(count, expected):
    facts = {"alloc_instructions": count, "release_instructions": 1, "vla_alloc_instructions": 1}
    assert verdict("stack-alloc-instruction", alloc=facts) == expected
