"""Section 2, "The stack and the heap": the process layout, the stack's direction and size,
and where malloc puts small and large blocks.

Parsing and labelling are pure functions of a program's printed output, so the tests can
feed them fixed text; the run_* functions compile, run and collect.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .. import machinecode, maps, runner, toolchain
from ..errors import MeasureError
from ..facts import fact
from ..results import declare, evidence, not_measured
from . import Context, Experiment

C_FLAGS = ("-O2",)
THREAD_FLAGS = ("-O2", "-pthread")

# The book's picture, from low addresses to high. Every labelled segment belongs to one band.
BOOK_BANDS = ("text", "data", "bss", "heap", "mmap", "stack", "kernel")
SEGMENT_BAND = {"headers": "text", "text": "text", "rodata": "data", "relro": "data",
                "data": "data", "bss": "bss", "heap": "heap", "stack": "stack",
                "vsyscall": "kernel"}          # anything else (libraries, mmap, vdso): "mmap"

# layout.c's labels -> (short key for facts, the segment the book's picture puts it in)
LAYOUT_POINTS = {
    "function main": ("main", "text"),
    "string literal": ("literal", "rodata"),
    "initialised global": ("initialised", "data"),
    "uninitialised global": ("uninitialised", "bss"),
    "malloc(64)": ("small", "heap"),
    "malloc(1 MiB)": ("large", "mmap"),
    "libc function printf": ("printf", "libc"),
    "local variable": ("local", "stack"),
}

_POINT = re.compile(r"^(.+?)\s+(0x[0-9a-f]+)$")
_LINKER = re.compile(r"etext (0x[0-9a-f]+)\s+edata (0x[0-9a-f]+)\s+end (0x[0-9a-f]+)")


GLIBC_SIZE_WORD = 8   # bytes of header glibc keeps before each block (x86-64)
GLIBC_ALIGN = 16      # glibc rounds chunk sizes up to this (x86-64)


def band(segment: str) -> str:
    return SEGMENT_BAND.get(segment, "mmap")


def in_book_order(segments: list[str]) -> bool:
    """True when the segments, taken in address order, never step back in the book's order."""
    ranks = [BOOK_BANDS.index(band(s)) for s in segments]
    return all(a <= b for a, b in zip(ranks, ranks[1:]))


def _lib_name(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    if base.startswith("libc.so") or base.startswith("libc-"):
        return "libc"
    if base.startswith("ld-linux") or base.startswith("ld-"):
        return "ld.so"
    return base


def label_segments(mappings: list[maps.Mapping], exe_path: str, edata: int, end: int) -> list[dict]:
    """Name each mapping as the chapter does. The program's writable mapping holds both .data
    and .bss; it is divided at the linker's `edata` symbol, and an anonymous mapping that
    continues it up to `end` is BSS too."""
    out: list[dict] = []
    seen_text = False
    ro_after_text = 0
    prev: maps.Mapping | None = None
    for mp in sorted(mappings, key=lambda m: m.start):
        # The program runs from a scratch folder: show its file name, not that folder.
        path = mp.path.rsplit("/", 1)[-1] if mp.path == exe_path else mp.path
        seg = {"start": mp.start, "end": mp.end, "perms": mp.perms, "path": path}
        if mp.path == exe_path:
            if "x" in mp.perms:
                seen_text = True
                out.append({"name": "text", **seg})
            elif "w" in mp.perms:
                if mp.start < edata < mp.end:
                    out.append({"name": "data", **seg, "end": edata})
                    out.append({"name": "bss", **seg, "start": edata})
                else:
                    out.append({"name": "data" if edata >= mp.end else "bss", **seg})
            elif not seen_text:
                out.append({"name": "headers", **seg})
            else:
                out.append({"name": "rodata" if ro_after_text == 0 else "relro", **seg})
                ro_after_text += 1
        elif (not mp.path and prev is not None and prev.path == exe_path and "w" in prev.perms
              and prev.end == mp.start and mp.start < end):
            out.append({"name": "bss", **seg})
        elif mp.path == "[heap]":
            out.append({"name": "heap", **seg})
        elif mp.path == "[stack]":
            out.append({"name": "stack", **seg})
        elif mp.path == "[vsyscall]":
            out.append({"name": "vsyscall", **seg})
        elif mp.path in ("[vdso]", "[vvar]", "[vvar_vclock]"):
            out.append({"name": "vdso", **seg})
        elif not mp.path:
            out.append({"name": "mmap", **seg})
        else:
            out.append({"name": _lib_name(mp.path), **seg})
        prev = mp
    return out


def segment_of(address: int, segments: list[dict]) -> str:
    for s in segments:
        if s["start"] <= address < s["end"]:
            return s["name"]
    return "unmapped"


def parse_layout(stdout: str) -> tuple[list[tuple[str, int]], dict[str, int], str]:
    """layout.c's output -> ([(label, address)] in printed order, linker symbols, map text)."""
    shown, map_text = maps.split_output(stdout)
    points, linker = [], {}
    for line in shown.splitlines():
        m = _LINKER.search(line)
        if m:
            linker = {"etext": int(m.group(1), 16), "edata": int(m.group(2), 16),
                      "end": int(m.group(3), 16)}
            continue
        m = _POINT.match(line.strip())
        if m:
            points.append((m.group(1), int(m.group(2), 16)))
    return points, linker, map_text


def layout_facts(stdout: str) -> tuple[dict, dict]:
    """Facts and evidence from one run of layout.c."""
    printed, linker, map_text = parse_layout(stdout)
    mappings = maps.parse(map_text)
    main_addr = dict(printed)["function main"]
    exe = maps.locate(main_addr, mappings)
    segments = label_segments(mappings, exe.path if exe else "", linker.get("edata", 0), linker.get("end", 0))
    points = sorted(({"name": name, "address": addr, "segment": segment_of(addr, segments)}
                     for name, addr in printed), key=lambda p: p["address"])
    facts = {
        "points": fact(points),
        "segments": fact(segments),
        "order_matches_book": fact(in_book_order([p["segment"] for p in points])),
        "map_in_book_order": fact(in_book_order([s["name"] for s in segments])),
        "each_where_expected": fact(all(p["segment"] == LAYOUT_POINTS.get(p["name"], ("", ""))[1]
                                        for p in points)),
    }
    for p in points:
        key = LAYOUT_POINTS.get(p["name"], (p["name"],))[0]
        facts[f"segment_{key}"] = fact(p["segment"], None, address=hex(p["address"]))
    heap = next((s for s in segments if s["name"] == "heap"), None)
    image_end = max((s["end"] for s in segments if band(s["name"]) in ("text", "data", "bss")), default=None)
    if heap and image_end:
        facts["heap_gap"] = fact(heap["start"] - image_end, "B")
    else:   # e.g. under qemu-user, whose address map names no [heap] (brk memory is anonymous)
        facts["heap_gap"] = not_measured("the process's address map has no " + (
            "[heap] mapping" if not heap else "program image") + " to measure the gap from")
    table = [f"{'address':>18}  {'what':<22} {'segment':<9} book's place"]
    for p in points:
        table.append(f"{p['address']:#18x}  {p['name']:<22} {p['segment']:<9} {band(p['segment'])}")
    seg_table = [f"{'start':>18} {'end':>18} {'perms':<5} {'segment':<9} mapping"]
    for s in segments:
        seg_table.append(f"{s['start']:#18x} {s['end']:#18x} {s['perms']:<5} {s['name']:<9} {s['path']}")
    shown, _ = maps.split_output(stdout)
    evidence = {"layout_output": shown, "layout_maps": map_text.rstrip("\n"),
                "layout_table": "\n".join(table), "segment_table": "\n".join(seg_table)}
    return facts, evidence


def aslr_compare(first: str, second: str) -> tuple[dict, str]:
    """Two runs of layout.c: which addresses moved, and whether the order stayed."""
    a, _, _ = parse_layout(first)
    b, _, _ = parse_layout(second)
    da, db = dict(a), dict(b)
    names = [n for n, _ in a if n in db]
    order_a = sorted(names, key=lambda n: da[n])
    order_b = sorted(names, key=lambda n: db[n])
    moved = [n for n in names if da[n] != db[n]]
    # The kernel slides whole mappings by whole pages: the position inside the page stays,
    # unless something (the stack's start, on x86-64) is also shifted by less than a page.
    page = _page_size()
    kept = [n for n in names if da[n] % page == db[n] % page]
    lines = [f"{'what':<22} {'run 1':>18} {'run 2':>18}"]
    for n in order_a:
        lines.append(f"{n:<22} {da[n]:#18x} {db[n]:#18x}" + ("" if n in moved else "   (same)"))
    facts = {"aslr_moved": fact(len(moved)), "aslr_points": fact(len(names)),
             "aslr_same_order": fact(order_a == order_b),
             "aslr_offset_kept": fact(len(kept)),
             "aslr_offset_changed": fact(", ".join(n for n in order_a if n not in kept)),
             "aslr_stack_offset_changed": fact("local variable" in names and "local variable" not in kept)}
    return facts, "\n".join(lines)


def _page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


def _aslr_setting() -> int | None:
    try:
        return int(Path("/proc/sys/kernel/randomize_va_space").read_text().strip())
    except (OSError, ValueError):
        return None


def run_layout(ctx: Context) -> dict:
    exe = ctx.workdir / "layout"
    toolchain.compile_c(ctx.src("csrc/layout.c"), exe, list(C_FLAGS), root=ctx.root,
                        link=["csrc/show_maps.c"])
    first = runner.run([str(exe)], file="csrc/layout.c", timeout=30).stdout
    second = runner.run([str(exe)], file="csrc/layout.c", timeout=30).stdout
    facts, evidence = layout_facts(first)
    aslr, table = aslr_compare(first, second)
    facts.update(aslr)
    facts["aslr_setting"] = fact(_aslr_setting())
    evidence["aslr_table"] = table
    return {"facts": facts, "evidence": evidence}


# ---------------------------------------------------------------- the stack

_DEPTH = re.compile(r"^depth (\d+): &local = (0x[0-9a-f]+)", re.M)
_LIMIT = re.compile(r"RLIMIT_STACK (soft|hard) (unlimited|(\d+) bytes)")
_DEFAULT = re.compile(r"default stacksize (\d+) bytes")
_THREAD = re.compile(r"new thread: stack (0x[0-9a-f]+)-(0x[0-9a-f]+), (\d+) bytes; &local = (0x[0-9a-f]+)")
RLIM_INFINITY = (1 << 64) - 1      # what getrlimit reports for "no limit"


def parse_stack(stdout: str) -> dict:
    depths = [(int(d), int(a, 16)) for d, a in _DEPTH.findall(stdout)]
    limits = {kind: RLIM_INFINITY if word == "unlimited" else int(num)
              for kind, word, num in _LIMIT.findall(stdout)}
    out = {"depths": depths, "limits": limits}
    m = _DEFAULT.search(stdout)
    out["default_stacksize"] = int(m.group(1)) if m else None
    m = _THREAD.search(stdout)
    if m:
        out["thread"] = {"low": int(m.group(1), 16), "high": int(m.group(2), 16),
                         "size": int(m.group(3)), "local": int(m.group(4), 16)}
    return out


def parse_overflow(stdout: str) -> dict:
    """stack_overflow.c's output -> {"main thread": {...}, "new thread": {...}}."""
    out: dict[str, dict] = {}
    current = None
    for line in stdout.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            current = out.setdefault(line[:-1], {})
        elif current is not None:
            m = re.match(r"\s+(frames before the crash|stack used): (\d+)", line)
            if m:
                current["frames" if m.group(1).startswith("frames") else "used"] = int(m.group(2))
    return out


def stack_facts(depth_out: str, overflow_out: str) -> dict:
    s = parse_stack(depth_out)
    addrs = [a for _, a in sorted(s["depths"])]
    steps = [a - b for a, b in zip(addrs, addrs[1:])]
    facts = {
        "depth_addresses": fact([hex(a) for a in addrs]),
        "grows_down": fact(len(addrs) >= 2 and all(st > 0 for st in steps)),
        "frame_bytes": fact(sorted(steps)[len(steps) // 2] if steps else None, "B"),
        "depth_drop": fact(addrs[0] - addrs[-1] if addrs else None, "B"),
        "main_stack_limit": fact(s["limits"].get("soft"), "B",
                                 unlimited=s["limits"].get("soft") == RLIM_INFINITY),
        "main_stack_hard_limit": fact(s["limits"].get("hard"), "B",
                                      unlimited=s["limits"].get("hard") == RLIM_INFINITY),
        "thread_default_stacksize": fact(s["default_stacksize"], "B"),
    }
    # The same two sizes in MiB, for the ledger's range rule (the book's "1-8 MB").
    for key in ("main_stack_limit", "thread_default_stacksize"):
        b = facts[key]["value"]
        facts[f"{key}_mib"] = fact(None if b is None else (b >> 20 if b % (1 << 20) == 0 else b / (1 << 20)))
    t = s.get("thread")
    if t:
        facts["thread_stacksize"] = fact(t["size"], "B")
        facts["thread_local_in_own_stack"] = fact(t["low"] <= t["local"] < t["high"])
        # The thread's stack starts at the top of its block: the local sits near the high end.
        facts["thread_local_near_top"] = fact(t["high"] - t["local"] < t["size"] // 2)
    over = parse_overflow(overflow_out)
    frame = re.search(r"each call holds a (\d+)-byte local array", overflow_out)
    facts["overflow_frame_bytes"] = fact(int(frame.group(1)) if frame else None, "B")
    for who, key in (("main thread", "main"), ("new thread", "thread")):
        o = over.get(who, {})
        facts[f"overflow_{key}_used"] = fact(o.get("used"), "B")
        facts[f"overflow_{key}_frames"] = fact(o.get("frames"))
    return facts


def run_stack(ctx: Context) -> dict:
    evidence = {}
    outs = {}
    gaps: dict[str, str] = {}
    for name in ("stack_depth", "stack_overflow"):
        exe = ctx.workdir / name
        src = f"csrc/{name}.c"
        toolchain.compile_c(ctx.src(src), exe, list(THREAD_FLAGS), root=ctx.root)
        outs[name] = runner.run([str(exe)], file=src, timeout=30).stdout.rstrip("\n")
        evidence[f"{name}_output"] = outs[name]
        if name == "stack_depth":
            dis, why = machinecode.asm_or_reason(exe, "descend")
            if dis is not None:
                evidence["descend_asm"] = dis.text
            else:
                gaps["objdump"] = why
    facts = stack_facts(outs["stack_depth"], outs["stack_overflow"])
    missing = [k for k in ("main_stack_limit", "thread_default_stacksize") if facts[k]["value"] is None]
    if missing or not facts["depth_addresses"]["value"]:
        raise MeasureError(f"output not understood (no {', '.join(missing) or 'depth lines'}):\n"
                           f"{outs['stack_depth'][:400]}", file="csrc/stack_depth.c", kind="crash")
    return {"facts": facts, "evidence": evidence, "missing_tools": gaps}


# ---------------------------------------------------------------- malloc: heap or mapping

_BLOCK = re.compile(r"^malloc\((\d+)\) = (0x[0-9a-f]+)\s+(brk heap|elsewhere)", re.M)
_SWITCH = re.compile(r"switch: (\d+) bytes lands in the heap, (\d+) bytes does not")
_FREE = re.compile(r"^(before|after) free:\s+malloc\((\d+)\) = (0x[0-9a-f]+)\s+(brk heap|elsewhere)", re.M)
_BRK = re.compile(r"program break moved by (-?\d+) bytes")


def malloc_facts(stdout: str) -> tuple[dict, dict]:
    shown, map_text = maps.split_output(stdout)
    mappings = maps.parse(map_text)
    blocks = []
    for size, addr, own in _BLOCK.findall(shown):
        mp = maps.locate(int(addr, 16), mappings)
        blocks.append({"size": int(size), "address": int(addr, 16), "own_view": own,
                       "region": mp.region if mp else "unmapped", "mapping": mp.line if mp else ""})
    blocks.sort(key=lambda b: b["size"])
    small, large = blocks[0], blocks[-1]
    facts = {
        "small_size": fact(small["size"], "B"),
        "small_region": fact(small["region"], None, address=hex(small["address"])),
        "large_size": fact(large["size"], "B"),
        "large_region": fact(large["region"], None, address=hex(large["address"])),
        # The program's own test (between the first and the current program break) and the
        # kernel's map must tell the same story for every block.
        "own_view_agrees": fact(all((b["own_view"] == "brk heap") == (b["region"] == "heap")
                                    for b in blocks)),
        "largest_in_heap": fact(max((b["size"] for b in blocks if b["region"] == "heap"), default=None), "B"),
        "smallest_elsewhere": fact(min((b["size"] for b in blocks if b["region"] != "heap"), default=None), "B"),
    }
    m = _SWITCH.search(shown)
    facts["switch_bytes"] = fact(int(m.group(2)) if m else None, "B")
    # glibc compares chunk sizes with its threshold: the request plus one size word, rounded
    # up to its alignment (glibc's constants on x86-64). The chunk the first mapped request needs:
    facts["switch_chunk"] = fact(-(-(int(m.group(2)) + GLIBC_SIZE_WORD) // GLIBC_ALIGN) * GLIBC_ALIGN
                                 if m else None, "B")
    facts["switch_last_in_heap"] = fact(int(m.group(1)) if m else None, "B")
    frees = {when: (int(size), own) for when, size, _, own in _FREE.findall(shown)}
    if "before" in frees and "after" in frees:
        facts["refree_size"] = fact(frees["before"][0], "B")
        facts["refree_before"] = fact(frees["before"][1])
        facts["refree_after"] = fact(frees["after"][1])
        facts["threshold_moves"] = fact(frees["before"][1] == "elsewhere" and frees["after"][1] == "brk heap")
    m = _BRK.search(shown)
    facts["brk_moved"] = fact(int(m.group(1)) if m else None, "B")
    table = [f"{'size':>10}  {'address':>16}  {'mapping (from /proc/self/maps)'}"]
    for b in blocks:
        table.append(f"{b['size']:>10}  {b['address']:#16x}  {b['region']}")
    evidence = {"malloc_output": shown, "malloc_table": "\n".join(table),
                "malloc_maps": map_text.rstrip("\n")}
    return facts, evidence


def run_malloc(ctx: Context) -> dict:
    exe = ctx.workdir / "malloc_where"
    toolchain.compile_c(ctx.src("csrc/malloc_where.c"), exe, list(C_FLAGS), root=ctx.root,
                        link=["csrc/show_maps.c"])
    out = runner.run([str(exe)], file="csrc/malloc_where.c", timeout=60).stdout
    facts, evidence = malloc_facts(out)
    return {"facts": facts, "evidence": evidence}


# What each experiment records (results.Results reads facts only by these names).
LAYOUT_FACTS = declare(
    "csrc/layout.c",
    ("aslr_moved", "count"),
    ("aslr_offset_changed", "text"),
    ("aslr_offset_kept", "count"),
    ("aslr_points", "count"),
    ("aslr_same_order", "flag"),
    ("aslr_setting", "count", "/proc/sys/kernel/randomize_va_space"),
    ("aslr_stack_offset_changed", "flag"),
    ("each_where_expected", "flag"),
    ("heap_gap", "bytes"),
    ("map_in_book_order", "flag"),
    ("order_matches_book", "flag"),
    ("points", "table"),
    ("segment_initialised", "text"),
    ("segment_large", "text"),
    ("segment_literal", "text"),
    ("segment_local", "text"),
    ("segment_main", "text"),
    ("segment_printf", "text"),
    ("segment_small", "text"),
    ("segment_uninitialised", "text"),
    ("segments", "table"),
)
LAYOUT_EVIDENCE = evidence(
    "csrc/layout.c",
    "aslr_table",
    "layout_maps",
    "layout_output",
    "layout_table",
    "segment_table",
)

STACK_FACTS = declare(
    "csrc/stack_depth.c",
    ("depth_addresses", "table"),
    ("depth_drop", "bytes"),
    ("frame_bytes", "bytes"),
    ("grows_down", "flag"),
    ("main_stack_hard_limit", "bytes", "getrlimit"),
    ("main_stack_limit", "bytes"),
    ("main_stack_limit_mib", "number"),
    ("overflow_frame_bytes", "bytes"),
    ("overflow_main_frames", "count"),
    ("overflow_main_used", "bytes"),
    ("overflow_thread_frames", "count"),
    ("overflow_thread_used", "bytes"),
    ("thread_default_stacksize", "bytes"),
    ("thread_default_stacksize_mib", "number"),
    ("thread_local_in_own_stack", "flag"),
    ("thread_local_near_top", "flag"),
    ("thread_stacksize", "bytes"),
)
STACK_EVIDENCE = evidence(
    "csrc/stack_depth.c",
    ("descend_asm", "objdump"),
    "stack_depth_output",
    "stack_overflow_output",
)

MALLOC_FACTS = declare(
    "csrc/malloc_where.c",
    ("brk_moved", "bytes"),
    ("large_region", "text"),
    ("large_size", "bytes"),
    ("largest_in_heap", "bytes"),
    ("own_view_agrees", "flag"),
    ("refree_after", "text"),
    ("refree_before", "text"),
    ("refree_size", "bytes"),
    ("small_region", "text"),
    ("small_size", "bytes"),
    ("smallest_elsewhere", "bytes"),
    ("switch_bytes", "bytes"),
    ("switch_chunk", "bytes"),
    ("switch_last_in_heap", "bytes"),
    ("threshold_moves", "flag"),
)
MALLOC_EVIDENCE = evidence(
    "csrc/malloc_where.c",
    "malloc_maps",
    "malloc_output",
    "malloc_table",
)


EXPERIMENTS = [
    Experiment("layout", "the process layout: one address from each segment, and the address map (run twice)",
               sources=("csrc/layout.c", "csrc/show_maps.c", "csrc/show_maps.h"), run=run_layout, facts=LAYOUT_FACTS, evidence=LAYOUT_EVIDENCE,
               flags=C_FLAGS),
    Experiment("stack", "the stack: locals in nested calls, stack limits, and a deliberate overflow",
               sources=("csrc/stack_depth.c", "csrc/stack_overflow.c"), run=run_stack, facts=STACK_FACTS, evidence=STACK_EVIDENCE,
               flags=THREAD_FLAGS),
    Experiment("malloc", "malloc: where small and large blocks land, and the size where it switches",
               sources=("csrc/malloc_where.c", "csrc/show_maps.c", "csrc/show_maps.h"), run=run_malloc, facts=MALLOC_FACTS, evidence=MALLOC_EVIDENCE,
               flags=C_FLAGS),
]
