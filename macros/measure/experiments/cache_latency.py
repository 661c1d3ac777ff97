"""Section 5, "Cache locality": the cache line (a stride sweep) and load latency by working-set
size (a pointer chase through one random cycle), read against the caches the machine reports.
"""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

from .. import adaptive, machine, provenance, runner, toolchain
from ..config import TARGET_REL_CI
from ..errors import MeasureError
from ..facts import fact, paired_ratio, spread, timing
from ..timing import pin_cpu
from ..results import declare, evidence
from . import Context, Experiment

C_FLAGS = ("-O2",)
STRIDE_SRC = "csrc/stride.c"
LATENCY_SRC = "csrc/latency.c"
STRIDES = (4, 8, 16, 32, 64, 128, 256, 512)
COMPARE_STRIDE = 16   # several ints per line: the pass a line-sized stride is compared with
SMALLEST_CHASE = 16 << 10
THP_FILE = Path("/sys/kernel/mm/transparent_hugepage/enabled")


# -------------------------------------------------------------------------- shared helpers

def pinned(argv: list[str]) -> list[str]:
    """Run on one CPU, as the pyperf workers do, so the scheduler does not move a timed loop
    (and its warm caches) to the other core halfway through."""
    cpu = pin_cpu()
    taskset = shutil.which("taskset")
    return [taskset, "-c", cpu, *argv] if cpu is not None and taskset else argv


def data_cache(level: int) -> dict | None:
    """The data (or unified) cache of that level, as sysfs reports it for cpu0."""
    for c in provenance.machine()["caches"]:
        if c["level"] == level and c["type"] in ("Data", "Unified"):
            return c
    return None


def last_level() -> dict | None:
    caches = [c for c in provenance.machine()["caches"] if c["type"] in ("Data", "Unified")]
    return max(caches, key=lambda c: c["level"]) if caches else None


def ns_fact(values: list[float], **extra) -> dict:
    """A per-operation cost in ns with the spread of its repeats and the interval of its
    median (the same shape as a timing)."""
    return timing(values, unit="ns", **extra)


def huge_page_size() -> int | None:
    """The size of a huge page (Hugepagesize in /proc/meminfo), in bytes."""
    try:
        m = re.search(r"^Hugepagesize:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1)) << 10 if m else None


def thp_mode() -> str:
    try:
        text = THP_FILE.read_text()
    except OSError:
        return "unknown"
    m = re.search(r"\[(\w+)\]", text)
    return m.group(1) if m else text.strip()


def nbytes(n: int) -> str:
    """Sizes for the evidence tables (powers of two and their halves read best in KiB/MiB)."""
    for shift, unit in ((20, "MiB"), (10, "KiB")):
        if n >= 1 << shift:
            return f"{n / (1 << shift):g} {unit}"
    return f"{n} B"


def _compile(ctx: Context, src: str, name: str) -> Path:
    exe = ctx.workdir / name
    return toolchain.compile_c(ctx.src(src), exe, list(C_FLAGS), root=ctx.root)


# -------------------------------------------------------------------------- how far to sweep

QUICK_LARGEST = 256 << 20   # quick builds are tests: no working set beyond this, whatever the LLC
MEMORY_SHARE = 4            # at most MemTotal / 4: the build shares the machine with everything else
ADDRESS_SHARE = 2           # at most half the runner's address-space limit: the program's code,
                            # libraries and stack live in it too


def largest_working_set(floor: int, llc: dict | None, scale_name: str, mem_total: int | None,
                        address_limit: int | None) -> tuple[int, str]:
    """The largest buffer to sweep, and why it stops there: twice the last-level cache (surely
    past it) or the scale's `floor` if larger, then bounded by the quick-scale cap, the
    machine's memory and the runner's address-space limit, whichever is lowest."""
    wanted, why = floor, "the scale's largest working set"
    if llc and 2 * llc["size"] > floor:
        wanted, why = 2 * llc["size"], f"twice the reported L{llc['level']}"
    largest = wanted
    bounds = [(QUICK_LARGEST if scale_name != "full" else None, f"the {scale_name}-scale cap"),
              (mem_total // MEMORY_SHARE if mem_total else None,
               f"1/{MEMORY_SHARE} of the machine's memory (MemTotal {nbytes(mem_total or 0)})"),
              (address_limit // ADDRESS_SHARE if address_limit else None,
               f"1/{ADDRESS_SHARE} of the {nbytes(address_limit or 0)} address-space limit on each program")]
    for limit, name in bounds:
        if limit is not None and limit < largest:
            largest, why = limit, f"{name}, short of {why} ({nbytes(wanted)})"
    if largest >= 1 << 20:
        largest -= largest % (1 << 20)     # whole MiB: any slot size divides it
    largest = max(SMALLEST_CHASE, largest)
    why = f"{nbytes(largest)}: {why}"
    return largest, why


# -------------------------------------------------------------------------- the cache line

def parse_stride(out: str) -> list[dict]:
    rows = []
    for line in out.splitlines():
        m = re.match(r"stride (\d+) reads (\d+) ns_per_pass((?: [\d.]+)+)$", line.strip())
        if m:
            passes = [float(v) for v in m.group(3).split()]
            rows.append({"stride": int(m.group(1)), "reads": int(m.group(2)), "pass_ns": passes})
    return rows


def line_from_passes(rows: list[dict], drop: float = 0.7) -> int | None:
    """The stride after which a pass first gets clearly cheaper (the next one takes under
    `drop` times as long): up to there, reads share lines and every line is fetched anyway.
    Stride 4 is left out: there the loop's own work, not memory, can set the pace."""
    med = {r["stride"]: spread(r["pass_ns"])["median"] for r in rows}
    for s in sorted(med):
        if s >= 16 and 2 * s in med and med[2 * s] < drop * med[s]:
            return s
    return None


MAX_STRIDE_REPEATS = 100   # the program's own limit per run
STRIDE_FIRST = {"full": 4}  # repeats of the whole sweep (seconds each at full scale); more of
                            # the strides compared follow as needed


def run_cacheline(ctx: Context) -> dict:
    exe = _compile(ctx, STRIDE_SRC, "stride")
    llc = last_level()
    # Larger than every cache the machine reports, so each pass streams from RAM.
    buffer, buffer_why = largest_working_set(ctx.scale.max_chase_bytes // 2, llc, ctx.scale.name,
                                             machine.read_mem_total(), runner.DEFAULT_MEMORY_BYTES)
    l1 = data_cache(1)
    expected_line = (l1 or {}).get("line") or 64
    figures = {"pass_line_vs_small": (str(expected_line), str(COMPARE_STRIDE)),
               "pass_4line_vs_line": (str(4 * expected_line), str(expected_line))}
    figures = {k: v for k, v in figures.items() if all(int(s) in STRIDES for s in v)}
    outputs: list[str] = []

    compared = sorted({int(s) for pair in figures.values() for s in pair})

    def batch(rounds: int, first: int) -> dict[str, list[float]]:
        # The first batch sweeps every stride; later ones only the strides compared, as the
        # small strides cost the most (a read per int of a buffer larger than every cache).
        strides = STRIDES if first == 0 else compared
        argv = pinned([str(exe), "--repeats", str(rounds), str(buffer), *map(str, strides)])
        outputs.append(runner.run(argv, file=STRIDE_SRC, timeout=120).stdout)
        got = parse_stride(outputs[-1])
        if [r["stride"] for r in got] != list(strides):
            raise MeasureError(f"unexpected output:\n{outputs[-1][-500:]}", file=STRIDE_SRC)
        return {str(r["stride"]): r["pass_ns"] for r in got}

    outcome = adaptive.run(batch, figures, target=TARGET_REL_CI, budget=ctx.scale.budget("cacheline"),
                           first=STRIDE_FIRST.get(ctx.scale.name, ctx.scale.first_rounds),
                           max_rounds=MAX_STRIDE_REPEATS, log=ctx.log)
    out = outputs[0] if len(outputs) == 1 else "\n".join(o.rstrip("\n") for o in outputs) + "\n"
    rows = [{"stride": st, "reads": r["reads"], "pass_ns": outcome.series[str(st)]}
            for st, r in zip(STRIDES, parse_stride(outputs[0]))]
    sysfs_line = l1["line"] if l1 else None
    m = re.search(r"\(sysconf\): (-?\d+) B", out)
    conf_line = int(m.group(1)) if m and int(m.group(1)) > 0 else None
    line = sysfs_line or conf_line or 64
    table, by_stride = [], {}
    for r in rows:
        s = spread(r["pass_ns"])
        by_stride[r["stride"]] = ns_fact(r["pass_ns"])
        table.append({"stride": r["stride"], "pass_ns": s["median"], "q1": s["q1"], "q3": s["q3"],
                      "ns_per_read": s["median"] / r["reads"]})
    facts = {
        "line_sysfs": fact(sysfs_line, "B"),
        "line_sysconf": fact(conf_line, "B"),
        "buffer_bytes": fact(buffer, "B"),
        "buffer_why": fact(buffer_why),
        "buffer_past_llc": fact(bool(llc) and buffer > llc["size"]),   # False when a bound stopped it short
        "strides": fact(table, None),
        "line_from_strides": fact(line_from_passes(rows), "B"),
    }
    # Reads within one line ride along: a pass reading once per line should take about as
    # long as one reading every COMPARE_STRIDE bytes, which makes line/COMPARE_STRIDE times
    # as many reads.
    small = COMPARE_STRIDE
    facts["compare_stride"] = fact(small, "B")
    facts["reads_per_line_small"] = fact(line // small)
    passes = outcome.series
    rounds = outcome.summary()
    facts["pass_line_vs_small"] = paired_ratio(passes[str(line)], passes[str(small)], rounds=rounds) \
        if line in by_stride and small in by_stride else fact(None, "x")
    facts["reads_share_lines"] = fact(facts["pass_line_vs_small"]["value"] is not None
                                      and facts["pass_line_vs_small"]["value"] <= 1.25)
    facts["pass_4line_vs_line"] = paired_ratio(passes[str(4 * line)], passes[str(line)], rounds=rounds) \
        if 4 * line in by_stride and line in by_stride else fact(None, "x")
    for r in table:
        facts[f"ns_per_read_{r['stride']}"] = fact(r["ns_per_read"], "ns")
    per_read = {r["stride"]: r["ns_per_read"] for r in table}
    facts["ns_per_read_small"] = fact(per_read.get(small), "ns")
    facts["ns_per_read_line"] = fact(per_read.get(line), "ns")
    text = "\n".join(f"{r['stride']:>6} B  {r['pass_ns'] / 1e6:9.3f} ms per pass  "
                     f"{r['ns_per_read']:7.2f} ns per read" for r in table)
    return {"facts": facts,
            "evidence": {"output": out.rstrip("\n"),
                         "table": f"stride  time for one pass over {buffer >> 20} MiB (median)\n" + text}}


# -------------------------------------------------------------------------- the staircase

def chase_sizes(largest: int) -> list[int]:
    """16 KiB up to `largest`: powers of two, with a point halfway (x1.5) between them up
    to 64 MiB, where the levels change; beyond that, RAM is RAM and costs the most to time."""
    sizes, s = [], SMALLEST_CHASE
    while s <= largest:
        sizes.append(s)
        if s * 3 // 2 <= largest and s < 64 << 20:
            sizes.append(s * 3 // 2)
        s *= 2
    if sizes[-1] != largest:
        sizes.append(largest)
    return sorted(set(sizes))


def parse_chase(out: str) -> list[dict]:
    rows = []
    for line in out.splitlines():
        m = re.match(r"size (\d+) slots (\d+) ns((?: [\d.]+)+)", line.strip())
        if m:
            rows.append({"bytes": int(m.group(1)), "slots": int(m.group(2)),
                         "ns": [float(v) for v in m.group(3).split()]})
    return rows


def parse_paired(out: str) -> list[dict]:
    """The small cycle's figures of `latency --pair`: one row after each size's own."""
    return parse_chase("\n".join(line.strip()[len("paired "):] for line in out.splitlines()
                                 if line.strip().startswith("paired size ")))


MAX_CHASE_REPEATS = 100   # the program's own limit per run


def huge_granted(out: str) -> int | None:
    m = re.search(r"\((-?\d+) KiB granted as huge pages\)", out)
    return int(m.group(1)) if m else None


def level_points(stairs: list[dict], caches: dict[str, int | None]) -> dict[str, dict]:
    """Which measured size stands for each level: the largest working set no bigger than half
    of that cache (it fits with room to spare), and for RAM the largest size measured."""
    points = {}
    for name in ("l1", "l2", "l3"):
        size = caches.get(name)
        fits = [s for s in stairs if size and s["bytes"] <= size // 2]
        if fits:
            points[name] = fits[-1]
    points["ram"] = stairs[-1]
    return points


def effective_llc(stairs: list[dict], fast_ns: float, ram_ns: float) -> int | None:
    """The largest working set still served well below RAM latency: its load is cheaper than
    the geometric mean of the L2 figure and the RAM figure."""
    cut = math.sqrt(fast_ns * ram_ns)
    below = [s["bytes"] for s in stairs if s["ns"] < cut]
    return max(below) if below else None


def run_latency(ctx: Context) -> dict:
    exe = _compile(ctx, LATENCY_SRC, "latency")
    m = provenance.machine()
    caches = {f"l{lv}": (data_cache(lv) or {}).get("size") for lv in (1, 2, 3)}
    llc = last_level()
    largest, largest_why = largest_working_set(ctx.scale.max_chase_bytes, llc, ctx.scale.name,
                                               machine.read_mem_total(), runner.DEFAULT_MEMORY_BYTES)
    sizes = chase_sizes(largest)
    quick = ctx.scale.name != "full"
    # Loads per repeat: ~0.05 s at RAM latency (full scale). Sizes that fit in L2 take a few ns
    # per load, so they get 8x the loads, to outlast a timer interrupt by far.
    loads = 1 << (16 if quick else 18)
    # The two ends of the staircase, L1 and RAM, are timed in pairs (their ratio is a headline
    # figure), the sizes between them once each, repeats in a row.
    l1_point = max((s for s in sizes if caches.get("l1") and s <= caches["l1"] // 2), default=sizes[0])
    ram_point = sizes[-1]
    near = [s for s in sizes if s <= (caches.get("l2") or 0) and s != l1_point]
    far = [s for s in sizes if s not in near and s not in (l1_point, ram_point)]

    def chase(count: int, extra: list[str], repeats: int = ctx.scale.repeats) -> str:
        argv = [str(exe), "--loads", str(count), "--repeats", str(repeats), *extra]
        return runner.run(pinned(argv), file=LATENCY_SRC, timeout=300).stdout

    check = runner.run([str(exe), "--check", str(SMALLEST_CHASE), str(1 << 20)], file=LATENCY_SRC).stdout
    cycles = re.findall(r"slots (\d+) cycle (\d+)", check)
    out = "\n".join(chase(c, [str(s) for s in group]).rstrip("\n") for c, group in ((8 * loads, near), (loads, far)) if group)
    paired_out: list[str] = []

    def batch(rounds: int, first: int) -> dict[str, list[float]]:
        got = chase(loads, ["--pair", str(l1_point), "--pair-loads", str(8 * loads), str(ram_point)], rounds)
        paired_out.append(got.rstrip("\n"))
        ram, l1 = parse_chase(got), parse_paired(got)
        if [r["bytes"] for r in ram] != [ram_point] or [r["bytes"] for r in l1] != [l1_point]:
            raise MeasureError(f"unexpected output:\n{got[-500:]}", file=LATENCY_SRC)
        return {"ram": ram[0]["ns"], "l1": l1[0]["ns"]}

    outcome = adaptive.run(batch, {"ram_over_l1": ("ram", "l1")}, target=TARGET_REL_CI,
                           budget=ctx.scale.budget("latency"), first=ctx.scale.first_rounds,
                           max_rounds=MAX_CHASE_REPEATS, log=ctx.log)
    ends = [{"bytes": l1_point, "ns": outcome.series["l1"]}, {"bytes": ram_point, "ns": outcome.series["ram"]}]
    rows = sorted(parse_chase(out) + ends, key=lambda r: r["bytes"])
    if [r["bytes"] for r in rows] != sizes:
        raise MeasureError(f"unexpected output:\n{out[-500:]}", file=LATENCY_SRC)
    out = "\n".join([out, *paired_out])
    # The same chase over the largest working set, with huge pages asked for: the part of
    # the RAM figure that is address translation (TLB misses and page walks).
    huge_out = chase(loads, ["--huge", str(sizes[-1])])
    huge_rows = parse_chase(huge_out)

    stairs = []
    per_size = {}
    for r in rows:
        s = spread(r["ns"])
        stairs.append({"bytes": r["bytes"], "ns": s["median"], "q1": s["q1"], "q3": s["q3"]})
        per_size[r["bytes"]] = ns_fact(r["ns"])
    points = level_points(stairs, caches)
    facts = {
        "staircase": fact(stairs, None),
        "loads_per_size": fact(loads),
        "loads_per_size_near": fact(8 * loads),
        "repeats": fact(ctx.scale.repeats),
        "page_size": fact(m["page_size"], "B"),
        "thp_mode": fact(thp_mode()),
        "huge_page_size": fact(huge_page_size(), "B"),
        "single_cycle": fact(bool(cycles) and all(a == b for a, b in cycles)),
        "largest_bytes": fact(sizes[-1], "B"),
        "largest_why": fact(largest_why),
        "largest_past_llc": fact(bool(llc) and sizes[-1] > llc["size"]),
    }
    for name, size in caches.items():
        facts[f"{name}_bytes"] = fact(size, "B")
    # Every key is always recorded (None where it does not apply), so a page can test for it.
    for name in ("l1", "l2", "l3", "ram"):
        point = points.get(name)
        facts[f"{name}_ns"] = {**per_size[point["bytes"]], "bytes": point["bytes"]} if point else fact(None, "ns")
        facts[f"{name}_at_bytes"] = fact(point["bytes"] if point else None, "B")
    facts["ram_over_l1"] = paired_ratio(outcome.series["ram"], outcome.series["l1"], rounds=outcome.summary())
    eff = effective_llc(stairs, points["l2"]["ns"], points["ram"]["ns"]) if "l2" in points else None
    facts["effective_llc_bytes"] = fact(eff, "B")
    inside = [st for st in stairs if eff and st["bytes"] <= eff // 2]
    facts["effective_llc_ns"] = {**per_size[inside[-1]["bytes"]], "bytes": inside[-1]["bytes"]} \
        if inside else fact(None, "ns")
    facts["llc_bytes"] = fact(llc["size"] if llc else None, "B")
    facts["llc_smaller_than_reported"] = fact(bool(eff and llc and eff < llc["size"] // 2))
    huge = huge_rows[0] if huge_rows else None
    facts["ram_ns_huge"] = (ns_fact(huge["ns"], bytes=huge["bytes"]) if huge
                            else fact(None, "ns", why="the kernel granted no huge pages"))
    facts["huge_granted_bytes"] = fact((huge_granted(huge_out) or 0) << 10, "B")
    facts["huge_pages_granted"] = fact(bool(huge) and facts["huge_granted_bytes"]["value"] >= huge["bytes"] // 2)
    facts["tlb_ns"] = fact(facts["ram_ns"]["value"] - huge_ns if (huge_ns := facts["ram_ns_huge"]["value"]) else None,
                           "ns", why="no timing on huge pages to compare with")
    # Faster beyond the noise: the slowest quarter on huge pages beats the fastest on small ones.
    facts["huge_pages_faster"] = fact(bool(huge) and facts["huge_pages_granted"]["value"]
                                      and facts["ram_ns_huge"]["spread"]["q3"] < facts["ram_ns"]["spread"]["q1"])

    names = {points[k]["bytes"]: k.upper() for k in points}
    table = "\n".join(f"{nbytes(s['bytes']):>10}  {s['ns']:8.2f} ns  [{s['q1']:.2f} .. {s['q3']:.2f}]"
                      + (f"   <- stands for {names[s['bytes']]}" if s["bytes"] in names else "")
                      for s in stairs)
    reported = ", ".join(f"{k.upper()} {nbytes(v)}" for k, v in caches.items() if v)
    return {"facts": facts,
            "evidence": {"output": out.rstrip("\n"), "huge_output": huge_out.rstrip("\n"),
                         "check_output": check.rstrip("\n"),
                         "table": f"working set  ns per load (median) [quartiles]   caches reported: {reported}\n"
                                  + table}}


# What each experiment records (results.Results reads facts only by these names).
CACHELINE_FACTS = declare(
    "csrc/stride.c",
    ("buffer_bytes", "bytes"),
    ("buffer_past_llc", "flag"),
    ("buffer_why", "text"),
    ("compare_stride", "bytes"),
    ("line_from_strides", "bytes"),
    ("line_sysconf", "bytes", "sysconf"),
    ("line_sysfs", "bytes", "sysfs"),
    ("ns_per_read_128", "ns"),
    ("ns_per_read_16", "ns"),
    ("ns_per_read_256", "ns"),
    ("ns_per_read_32", "ns"),
    ("ns_per_read_4", "ns"),
    ("ns_per_read_512", "ns"),
    ("ns_per_read_64", "ns"),
    ("ns_per_read_8", "ns"),
    ("ns_per_read_line", "ns"),
    ("ns_per_read_small", "ns"),
    ("pass_4line_vs_line", "ratio"),
    ("pass_line_vs_small", "ratio"),
    ("reads_per_line_small", "count"),
    ("reads_share_lines", "flag"),
    ("strides", "table"),
)
CACHELINE_EVIDENCE = evidence(
    "csrc/stride.c",
    "output",
    "table",
)

LATENCY_FACTS = declare(
    "csrc/latency.c",
    ("effective_llc_bytes", "bytes"),
    ("effective_llc_ns", "ns"),
    ("huge_granted_bytes", "bytes"),
    ("huge_page_size", "bytes", "sysfs"),
    ("huge_pages_faster", "flag"),
    ("huge_pages_granted", "flag"),
    ("l1_at_bytes", "bytes"),
    ("l1_bytes", "bytes"),
    ("l1_ns", "ns"),
    ("l2_at_bytes", "bytes"),
    ("l2_bytes", "bytes"),
    ("l2_ns", "ns"),
    ("l3_at_bytes", "bytes"),
    ("l3_bytes", "bytes"),
    ("l3_ns", "ns"),
    ("largest_bytes", "bytes"),
    ("largest_past_llc", "flag"),
    ("largest_why", "text"),
    ("llc_bytes", "bytes"),
    ("llc_smaller_than_reported", "flag"),
    ("loads_per_size", "count"),
    ("loads_per_size_near", "count"),
    ("page_size", "bytes"),
    ("ram_at_bytes", "bytes"),
    ("ram_ns", "ns"),
    ("ram_ns_huge", "ns"),
    ("ram_over_l1", "ratio"),
    ("repeats", "count"),
    ("single_cycle", "flag"),
    ("staircase", "table"),
    ("thp_mode", "text", "sysfs"),
    ("tlb_ns", "ns"),
)
LATENCY_EVIDENCE = evidence(
    "csrc/latency.c",
    "check_output",
    "huge_output",
    "output",
    "table",
)


EXPERIMENTS = [
    Experiment("cacheline", "the cache line: line size reported, and a stride sweep over a large buffer",
               sources=(STRIDE_SRC,), run=run_cacheline, facts=CACHELINE_FACTS, evidence=CACHELINE_EVIDENCE, flags=C_FLAGS,
               headline=("pass_line_vs_small", "pass_4line_vs_line")),
    Experiment("latency", "load latency by working-set size (pointer chase through one random cycle)",
               sources=(LATENCY_SRC,), run=run_latency, facts=LATENCY_FACTS, evidence=LATENCY_EVIDENCE, flags=C_FLAGS,
               headline=("ram_over_l1",)),
]
