"""Section 5, "Cache locality": the same sums over data laid out differently.

- locality: the chapter's C program (array, list in memory order, shuffled list), run as
  written and then with repeats (the program times each pass itself; in each repeat the quick
  layouts run before and after the slow one), ratios within each repeat.
- cachesim: the same program under cachegrind, a simulated cache with this machine's sizes:
  misses per element, deterministic. Recorded as unavailable when valgrind is missing.
- pylocality: sum() over a Python list whose int objects lie in memory order, over the
  same objects shuffled, over array.array and over NumPy.
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from .. import adaptive, machine, machinecode, python_support, runner, toolchain, valgrind
from ..cachegrind import Geometry, choose_geometry
from ..config import GUARD_REL_CI, TARGET_REL_CI
from ..errors import MeasureError
from ..facts import fact, paired_ratio, timing
from ..results import declare, evidence
from . import Context, Experiment
from .cache_latency import ns_fact, pinned

C_FLAGS = ("-O2",)
VALGRIND_HINT = valgrind.HINT
parse_cachegrind = valgrind.function_events   # the events of one function in a cachegrind file
AVL_SRC = "csrc/array_vs_list.c"
PY_SRC = "pysrc/list_scattered.py"
LAYOUTS = ("array", "ordered", "shuffled")
# Repeats of the first batch, by scale: at full scale a repeat takes seconds (the shuffled
# list), so two, then more while the budget allows; the interval of two is their range.
LOCALITY_FIRST = {"full": 2, "quick": 6}
MAX_REPEATS = 1000       # the program's own limit per run
LOCALITY_RATIOS = {"ratio_shuffled_vs_array": ("shuffled", "array"),
                   "ratio_ordered_vs_array": ("ordered", "array"),
                   "ratio_shuffled_vs_ordered": ("shuffled", "ordered")}
# A batch per process: where the objects land differs from process to process, so more than
# one process counts. But building the data costs a process more than a second, so at full
# scale each one times many rounds (with a few, building took most of the budget and the
# shuffled / ordered ratio moved about twice as much between runs: commit 4267b86).
PY_FIRST = {"full": 12, "quick": 6}
PY_RATIOS = {"ratio_py_shuffled_vs_ordered": ("list_shuffled", "list_ordered"),
             "ratio_py_ordered_vs_numpy": ("list_ordered", "numpy")}


def parse_times(out: str) -> dict[str, list[float]]:
    """The `times NAME: t1 t2 ...` lines both listings print."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"times (\w+):((?: [\d.]+)+)$", line.strip())
        if m:
            found[m.group(1)] = [float(v) for v in m.group(2).split()]
    return found


def batches(argv: list[str], names, file: str, timeout: float, outputs: list[str]):
    """A batch runner for adaptive.run: the listing run with the rounds asked for (its last
    argument), its output kept in `outputs`, its `times` lines checked to hold exactly
    `names`, each with one value per round."""
    def batch(rounds: int, first: int) -> dict[str, list[float]]:
        got = runner.run(pinned([*argv, str(rounds)]), file=file, timeout=timeout).stdout
        outputs.append(got.rstrip("\n"))
        times = parse_times(got)
        if sorted(times) != sorted(names) or any(len(v) != rounds for v in times.values()):
            raise MeasureError(f"unexpected output:\n{got[-500:]}", file=file)
        return times
    return batch


def parse_sums(out: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(array|ordered list|shuffled list)\s+sum (\d+)", out, re.M)}


def _build(ctx: Context) -> Path:
    exe = ctx.workdir / "array_vs_list"
    return toolchain.compile_c(ctx.src(AVL_SRC), exe, list(C_FLAGS), root=ctx.root)


# -------------------------------------------------------------------------- C: array vs list

def run_locality(ctx: Context) -> dict:
    exe = _build(ctx)
    n = ctx.scale.n_nodes
    as_written = [str(exe)] + ([] if n == 10_000_000 else [str(n)])
    written = runner.run(pinned(as_written), file=AVL_SRC, timeout=120).stdout
    outputs: list[str] = []

    batch = batches([str(exe), str(n)], LAYOUTS, AVL_SRC, 300, outputs)

    first = LOCALITY_FIRST.get(ctx.scale.name, 6)
    outcome = adaptive.run(batch, LOCALITY_RATIOS, target=TARGET_REL_CI, budget=ctx.scale.budget("locality"),
                           first=first, min_rounds=first, max_rounds=MAX_REPEATS, log=ctx.log)
    times, repeats, out = outcome.series, outcome.rounds, "\n".join(outputs)
    expected = n * (n - 1) // 2
    sums = parse_sums(written)
    sums_all = [int(m) for m in re.findall(r"^(?:array|ordered list|shuffled list)\s+sum (\d+)", out, re.M)]
    t = {name: timing(v) for name, v in times.items()}
    sizes = re.search(r"ints of (\d+) B; a list node is (\d+) B", written)
    facts = {
        "n": fact(n),
        "int_bytes": fact(int(sizes.group(1)) if sizes else None, "B"),
        "node_bytes": fact(int(sizes.group(2)) if sizes else None, "B"),
        "repeats": fact(repeats),
        "repeats_fast": fact(2 * repeats),      # the quick layouts: twice per repeat
        "sums_correct": fact(len(sums) == 3 and all(s == expected for s in [*sums.values(), *sums_all])),
        "t_array": t["array"], "t_list_ordered": t["ordered"], "t_list_shuffled": t["shuffled"],
    }
    for name, (num, den) in LOCALITY_RATIOS.items():
        facts[name] = paired_ratio(times[num], times[den], rounds=outcome.summary())
    for name, key in (("array", "array"), ("ordered", "list_ordered"), ("shuffled", "list_shuffled")):
        facts[f"ns_per_elem_{key}"] = ns_fact([v / n * 1e9 for v in times[name]])
    evidence = {"output_as_written": written.rstrip("\n"), "output_repeats": out.rstrip("\n"),
                "command_as_written": " ".join(["./array_vs_list", *as_written[1:]])}
    gaps: dict[str, str] = {}
    for func in ("sum_array", "sum_list"):
        dis, why = machinecode.asm_or_reason(exe, func)
        if dis is None:
            gaps["objdump"] = why       # its facts and evidence: not measured, with why
            continue
        evidence[f"asm_{func}"] = dis.text
        if func == "sum_array":
            # Vector registers in the array loop: the compiler adds several ints per instruction.
            facts["array_loop_vectorised"] = fact(machinecode.uses_vector_registers(dis))
    return {"facts": facts, "evidence": evidence, "missing_tools": gaps}


# -------------------------------------------------------------------------- cachegrind

def cachegrind_geometry() -> Geometry:
    """I1/D1/LL for cachegrind from the caches this machine reports, made valid for it where
    they are not (see macros/measure/cachegrind.py). Cachegrind's own detection reads CPUID
    and falls back to guesses under a hypervisor; here it is told."""
    return choose_geometry(machine.read_caches())


def hardware_counters() -> bool:
    """Whether perf can count cache misses here (virtual machines often hide the counters)."""
    perf = shutil.which("perf")
    if not perf:
        return False
    try:
        out = runner.run([perf, "stat", "-x,", "-e", "cache-misses", "true"], file=AVL_SRC,
                         timeout=30, check=False)
    except MeasureError:
        return False
    first = (out.stderr.strip().splitlines() or [""])[-1].split(",")[0]
    return out.returncode == 0 and first.isdigit()


def run_cachesim(ctx: Context) -> dict:
    vg = valgrind.find()
    counters = hardware_counters()
    if not vg:
        # Every fact from the simulation is "not measured", with the install command.
        return {"facts": {"available": fact(False), "hw_counters": fact(counters)}, "evidence": {},
                "missing_tools": {"valgrind": valgrind.missing_reason()}}
    exe = _build(ctx)
    n = 250_000 if ctx.scale.name == "full" else 50_000
    geo = cachegrind_geometry()
    facts = {"available": fact(True), "hw_counters": fact(counters), "n": fact(n),
             "simulated_geometry": fact(geo.describe()), "geometry_adjusted": fact(geo.adjusted)}
    lines = [f"cachegrind (simulated caches: {' '.join(geo.options())}; size,ways,line), "
             f"{n:,} ints, events inside the summing function only",
             f"{'layout':10} {'loads':>10} {'D1 misses':>10} {'per element':>12} {'LL misses':>10} {'per element':>12}"]
    version = runner.run([vg, "--version"], file=AVL_SRC, timeout=30).stdout.strip()
    for layout in LAYOUTS:
        out_file = ctx.workdir / f"cachegrind.{layout}"
        argv = [vg, "--tool=cachegrind", "--cache-sim=yes", *geo.options(),
                f"--cachegrind-out-file={out_file}", str(exe), str(n), "1", layout]
        runner.run(argv, file=AVL_SRC, timeout=120)
        func = "sum_array" if layout == "array" else "sum_list"
        ev = parse_cachegrind(out_file.read_text(), func)
        d1, ll, loads = ev.get("D1mr", 0), ev.get("DLmr", 0), ev.get("Dr", 0)
        facts[f"d1_misses_per_elem_{layout}"] = fact(d1 / n)
        facts[f"ll_misses_per_elem_{layout}"] = fact(ll / n)
        lines.append(f"{layout:10} {loads:>10,} {d1:>10,} {d1 / n:>12.3f} {ll:>10,} {ll / n:>12.3f}")
    notes = "\n".join(geo.reasons) or "The simulated caches are the machine's own, as it reports them."
    return {"facts": facts, "evidence": {"summary": "\n".join(lines), "version": version,
                                         "geometry_notes": notes}}


# -------------------------------------------------------------------------- Python

PY_NAMES = {"list_ordered": "py_list_ordered", "list_shuffled": "py_list_shuffled",
            "array": "py_array", "numpy": "numpy"}


def run_pylocality(ctx: Context) -> dict:
    # A quarter of the C program's n: 32-byte objects then fill 2.5x the reported L3 at full
    # scale, and the Python-level shuffle stays within the time budget.
    n = ctx.scale.n_nodes // 4
    outputs: list[str] = []
    no_numpy = python_support.numpy_missing()
    names = {k: v for k, v in PY_NAMES.items() if not (no_numpy and k == "numpy")}
    ratios = {r: sides for r, sides in PY_RATIOS.items() if all(s in names for s in sides)}

    batch = batches([sys.executable, str(ctx.src(PY_SRC)), str(n)], names, PY_SRC, 180, outputs)

    first = PY_FIRST.get(ctx.scale.name, 6)
    outcome = adaptive.run(batch, ratios, target=TARGET_REL_CI, budget=ctx.scale.budget("pylocality"),
                           first=first, batch_rounds=first, guards={k: (k, None) for k in names},
                           guard_target=GUARD_REL_CI, log=ctx.log)
    times, out = outcome.series, "\n".join(outputs)
    facts = {"n": fact(n), "repeats": fact(outcome.rounds)}
    for name, key in names.items():
        facts[f"ns_per_elem_{key}"] = ns_fact([v / n * 1e9 for v in times[name]])
    for name, (num, den) in ratios.items():
        facts[name] = paired_ratio(times[num], times[den], rounds=outcome.summary())
    o, s = facts["ns_per_elem_py_list_ordered"], facts["ns_per_elem_py_list_shuffled"]
    # Slower beyond the noise: the fastest quarter of shuffled runs is slower than the
    # slowest quarter of ordered ones.
    facts["shuffled_slower"] = fact(s["spread"]["q1"] > o["spread"]["q3"])
    for name in ("list_ordered", "list_shuffled"):
        m = re.search(rf"^{name}\s+next object is ([\d,]+) B away \(median\), (\d+)% of steps forward", out, re.M)
        if m:
            facts[f"gap_{name}"] = fact(int(m.group(1).replace(",", "")), "B")
            facts[f"forward_{name}"] = fact(int(m.group(2)) / 100)
    return {"facts": facts, "evidence": {"output": outputs[0]},
            "missing_tools": {"numpy": no_numpy} if no_numpy else {}}


# What each experiment records (results.Results reads facts only by these names).
LOCALITY_FACTS = declare(
    "csrc/array_vs_list.c",
    ("array_loop_vectorised", "flag", "objdump"),
    ("int_bytes", "bytes"),
    ("n", "count"),
    ("node_bytes", "bytes"),
    ("ns_per_elem_array", "ns"),
    ("ns_per_elem_list_ordered", "ns"),
    ("ns_per_elem_list_shuffled", "ns"),
    ("ratio_ordered_vs_array", "ratio"),
    ("ratio_shuffled_vs_array", "ratio"),
    ("ratio_shuffled_vs_ordered", "ratio"),
    ("repeats", "count"),
    ("repeats_fast", "count"),
    ("sums_correct", "flag"),
    ("t_array", "seconds"),
    ("t_list_ordered", "seconds"),
    ("t_list_shuffled", "seconds"),
)
LOCALITY_EVIDENCE = evidence(
    "csrc/array_vs_list.c",
    ("asm_sum_array", "objdump"),
    ("asm_sum_list", "objdump"),
    "command_as_written",
    "output_as_written",
    "output_repeats",
)

CACHESIM_FACTS = declare(
    "valgrind",
    ("available", "flag", "PATH"),
    ("hw_counters", "flag", "perf"),
    ("n", "count"),
    ("d1_misses_per_elem_array", "number"),
    ("ll_misses_per_elem_array", "number"),
    ("d1_misses_per_elem_ordered", "number"),
    ("ll_misses_per_elem_ordered", "number"),
    ("d1_misses_per_elem_shuffled", "number"),
    ("ll_misses_per_elem_shuffled", "number"),
    ("simulated_geometry", "text"),
    ("geometry_adjusted", "flag"),
)
CACHESIM_EVIDENCE = evidence(
    "valgrind",
    "summary",
    "version",
    "geometry_notes",
)

PYLOCALITY_FACTS = declare(
    "pysrc/list_scattered.py",
    ("forward_list_ordered", "number"),
    ("forward_list_shuffled", "number"),
    ("gap_list_ordered", "bytes"),
    ("gap_list_shuffled", "bytes"),
    ("n", "count"),
    ("ns_per_elem_numpy", "ns", "numpy"),
    ("ns_per_elem_py_array", "ns"),
    ("ns_per_elem_py_list_ordered", "ns"),
    ("ns_per_elem_py_list_shuffled", "ns"),
    ("ratio_py_ordered_vs_numpy", "ratio", "numpy"),
    ("ratio_py_shuffled_vs_ordered", "ratio"),
    ("repeats", "count"),
    ("shuffled_slower", "flag"),
)
PYLOCALITY_EVIDENCE = evidence(
    "pysrc/list_scattered.py",
    "output",
)


EXPERIMENTS = [
    Experiment("locality", "sum N ints: array, list in memory order, shuffled list (the chapter's program)",
               sources=(AVL_SRC,), run=run_locality, facts=LOCALITY_FACTS, evidence=LOCALITY_EVIDENCE, flags=C_FLAGS,
               headline=tuple(LOCALITY_RATIOS)),
    Experiment("cachesim", "the same sums under cachegrind, caches sized as this machine reports",
               sources=(AVL_SRC,), run=run_cachesim, facts=CACHESIM_FACTS, evidence=CACHESIM_EVIDENCE, flags=C_FLAGS),
    Experiment("pylocality", "sum() over a list of int objects in memory order, shuffled, array.array, NumPy",
               sources=(PY_SRC,), run=run_pylocality, facts=PYLOCALITY_FACTS, evidence=PYLOCALITY_EVIDENCE,
               headline=tuple(PY_RATIOS)),
]
