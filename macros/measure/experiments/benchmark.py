"""Section 4, "The benchmark": sum 0..N-1 in C (three ways), with sum(), a for loop, NumPy.

The C functions are timed through cffi in the same pyperf harness as the Python ones, and
the machine code of each timed function is taken from the very module that was timed.
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from .. import machinecode, python_support, runner, toolchain, valgrind
from ..config import GUARD_REL_CI, TARGET_REL_CI
from ..facts import fact, paired_ratio, timing
from ..timing import run_paired
from ..errors import MeasureError
from ..results import declare, evidence, not_measured
from . import Context, Experiment

SOURCE = "csrc/sum_loop.c"
OPT_LEVELS = ("-O0", "-O2")
CDEF = "long long sum_book(void); long long sum_opaque(long long n); void call_only(void);"
BASELINE = "c_opaque_O2"   # does every addition, with the optimiser on: the honest C figure
# The order of a round (reversed every other round): the slow Python loops beside each other
# and beside the baseline, the sub-microsecond calls at the end.
ORDER = ("py_loop", "py_sum_builtin", "c_opaque_O2", "numpy_sum", "numpy_arange_sum",
         "c_book_O0", "c_book_O2", "c_call_only")
RATIOS = {f"ratio_{name}": (name, BASELINE)
          for name in ("py_sum_builtin", "py_loop", "numpy_sum", "numpy_arange_sum", "c_book_O0", "c_book_O2")}
RATIOS["ratio_loop_vs_builtin"] = ("py_loop", "py_sum_builtin")
RATIOS["ratio_builtin_vs_numpy"] = ("py_sum_builtin", "numpy_sum")
# The ratios the pages and the claims quote: timed until each is within the target.
HEADLINE = ("ratio_py_sum_builtin", "ratio_py_loop", "ratio_loop_vs_builtin", "ratio_builtin_vs_numpy")


def _build(ctx: Context) -> dict:
    """cffi modules of the listing at each optimisation level; their folders by level."""
    out = {}
    for opt in OPT_LEVELS:
        flags = [opt, "-DNO_MAIN", f"-DN_TERMS={ctx.scale.n_sum}LL"]
        module = f"_sum{opt.strip('-')}"
        out[opt] = (toolchain.build_cffi(module, CDEF, ctx.src(SOURCE), flags,
                                         ctx.workdir / module, root=ctx.root), module)
    return out


def _so_file(folder, module):
    return next(folder.glob(f"{module}*.so"))


def _standalone(ctx: Context) -> dict:
    """The listing compiled and run as written, at -O0 and -O2: output and machine code."""
    evidence = {}
    for opt in OPT_LEVELS:
        exe = ctx.workdir / f"sum_loop{opt}"
        toolchain.compile_c(ctx.src(SOURCE), exe, [opt, f"-DN_TERMS={ctx.scale.n_sum}LL"], root=ctx.root)
        evidence[f"c_output_{opt.strip('-')}"] = runner.run([str(exe)], file=SOURCE, timeout=60).stdout.rstrip("\n")
    return evidence


def _c_side(ctx: Context, facts: dict, evidence: dict, gaps: dict) -> dict | None:
    """The C functions built (cffi modules by level) and read; None, with why in `gaps`, when
    this machine cannot build them: the Python timings are measured all the same."""
    try:
        modules = _build(ctx)
        evidence.update(_standalone(ctx))
    except MeasureError as exc:
        if exc.kind != "toolchain":     # a broken listing fails the experiment (cache kept)
            raise
        gaps["cffi"] = exc.reason
        gaps["objdump"] = f"the C functions were not built: {exc.reason}"
        return None
    n = ctx.scale.n_sum
    asm = {}
    for opt, (folder, module) in modules.items():
        so = _so_file(folder, module)
        for func in ("sum_book", "sum_opaque"):
            tag = f"{func}{opt.replace('-', '_')}"
            asm[tag], why = machinecode.asm_or_reason(so, func)
            if asm[tag] is None:
                gaps["objdump"] = why   # its facts and evidence: not measured, with why
                continue
            evidence[f"asm_{tag}"] = asm[tag].text
            facts[f"instr_{tag}"] = fact(machinecode.instruction_count(asm[tag]), "instr")
    if asm["sum_book_O2"] is not None:
        facts["book_loop_folded_O2"] = fact(not machinecode.has_loop(asm["sum_book_O2"]))
        # The constant the folded function returns (None if it computes anything at run time).
        constant = machinecode.folded_constant(asm["sum_book_O2"])
        facts["book_constant_O2"] = fact(constant)
        # The constant is the sum itself: the compiler did the additions (n is as compiled).
        facts["book_constant_is_sum_O2"] = fact(constant == n * (n - 1) // 2)
    return modules


def _specs(ctx: Context, modules: dict | None, numpy: bool) -> list[dict]:
    """What is timed, in round order: the C functions (when built), the Python loops, NumPy
    (when installed)."""
    n = ctx.scale.n_sum
    py = str(ctx.src("pysrc/sum_loop.py"))
    npy = str(ctx.src("pysrc/sum_numpy.py"))
    specs = [
        {"name": "py_sum_builtin", "kind": "py", "path": py, "func": "sum_builtin", "args": [n],
         "description": "sum(range(n))", "loops": 1},
        {"name": "py_loop", "kind": "py", "path": py, "func": "sum_loop", "args": [n],
         "description": "explicit Python for loop", "loops": 1},
    ]
    if numpy:
        specs += [
            # Not repeated within a round: back to back, the array is partly still in the
            # cache from the call before, and the median of three measured that instead.
            {"name": "numpy_sum", "kind": "py", "path": npy, "func": "sum_numpy", "prepare": "make_data",
             "args": [n], "description": "NumPy sum of an int64 array (array built beforehand)"},
            # Each call maps a fresh array (80 MB at full scale), now and then with a stall of
            # several times its length: the median of three calls in a row is each round's value.
            {"name": "numpy_arange_sum", "kind": "py", "path": npy, "func": "arange_and_sum", "args": [n],
             "description": "NumPy: build the array and sum it", "repeats": 3},
        ]
    if modules:
        for opt, (folder, module) in modules.items():
            specs.append({"name": f"c_book_{opt.strip('-')}", "kind": "cffi", "path": str(folder),
                          "module": module, "func": "sum_book",
                          "description": f"the book's C loop at {opt}, via cffi"})
        folder, module = modules["-O2"]
        specs += [
            {"name": "c_opaque_O2", "kind": "cffi", "path": str(folder), "module": module,
             "func": "sum_opaque", "args": [n], "description": "C loop the optimiser cannot fold, -O2, via cffi"},
            {"name": "c_call_only", "kind": "cffi", "path": str(folder), "module": module,
             "func": "call_only", "description": "an empty C function via cffi: the call overhead"},
        ]
    return sorted(specs, key=lambda spec: ORDER.index(spec["name"]))


def run(ctx: Context) -> dict:
    n = ctx.scale.n_sum
    facts = {"n": fact(n)}
    evidence: dict = {}
    gaps: dict[str, str] = {}
    no_numpy = python_support.numpy_missing()
    if no_numpy:
        gaps["numpy"] = no_numpy
    modules = _c_side(ctx, facts, evidence, gaps)
    argv = [sys.executable, str(ctx.src("pysrc/sum_loop.py"))] + ([str(n)] if n != 10_000_000 else [])
    evidence["py_output"] = runner.run(argv, file="pysrc/sum_loop.py", timeout=300).stdout.rstrip("\n")

    specs = _specs(ctx, modules, numpy=not no_numpy)
    timed = {spec["name"] for spec in specs}
    ratios = {r: sides for r, sides in RATIOS.items() if set(sides) <= timed}
    # Every time is quoted too: each must be well inside the noise limit, if not as tight.
    guards = {name: (name, None) for name in timed}
    outcome, suite = run_paired(specs, {r: ratios[r] for r in HEADLINE if r in ratios}, ctx.scale,
                                file=SOURCE, budget=ctx.scale.budget("sum"), target=TARGET_REL_CI,
                                guards=guards, guard_target=GUARD_REL_CI, log=ctx.log)
    series = outcome.series
    rounds = outcome.summary()
    timings = {name: timing(values, rounds=rounds) for name, values in series.items()}
    facts.update(timings)
    for name, (num, den) in ratios.items():
        facts[name] = paired_ratio(series[num], series[den], rounds=rounds,
                                   **({"baseline": den} if den == BASELINE else {}))
    for name in ("c_opaque_O2", "c_book_O0", "py_sum_builtin", "py_loop", "numpy_sum"):
        if name in timings:
            facts[f"ns_per_add_{name}"] = fact(timings[name]["value"] / n * 1e9, "ns")
    if {"numpy_sum", "py_sum_builtin"} <= timed:
        facts["numpy_faster_than_builtin"] = fact(timings["numpy_sum"]["value"] < timings["py_sum_builtin"]["value"])
    # What was not timed gets the reason of the side it lacks (a ratio may lack either).
    for name in (*RATIOS, *ORDER):
        if name not in facts:
            untimed = next(s for s in RATIOS.get(name, (name,)) if s not in timed)
            facts[name] = not_measured(gaps[_side_tool(untimed)])
    return {"facts": facts, "evidence": evidence, "pyperf": suite, "missing_tools": gaps}


def _side_tool(name: str) -> str:
    """What a timed function needs besides Python, as its gap is named: the cffi build or NumPy
    (only those two can leave a function untimed)."""
    return "cffi" if name.startswith("c_") else "numpy"


# -------------------------------------------------------------------------- instruction counts

# The same sums counted, not timed: instructions executed per addition, from valgrind. The C
# loops are counted inside their own function (cachegrind's per-function Ir) over C_COUNT_N
# additions. A Python function runs inside the interpreter, so it is counted as a part of the
# run (callgrind starts a new part at each os.getppid() the driver makes) at two sizes, and
# the difference divided by the extra additions: start-up, the call and the first additions
# (small ints are shared, small totals fit one digit) cancel out.
C_COUNT_N = 1_000_000
PY_COUNT_N = (50_000, 100_000)
PY_COUNT_DRIVER = """
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("listing", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
sizes = [int(a) for a in sys.argv[2:4]]
for name in sys.argv[4:]:
    for n in sizes:
        os.getppid()                 # a new part of the count starts here
        getattr(mod, name)(n)
os.getppid()
"""
PY_COUNTED = ("sum_builtin", "sum_loop")


def count_c(ctx: Context, vg: str, opt: str) -> dict[str, int]:
    """Instructions executed inside sum_book and sum_opaque, the listing built at `opt`.
    -fno-inline keeps main from absorbing them (as it does at -O2): each is counted as the
    function the cffi module calls."""
    exe = ctx.workdir / f"count{opt}"
    toolchain.compile_c(ctx.src(SOURCE), exe, [opt, "-fno-inline", f"-DN_TERMS={C_COUNT_N}LL"], root=ctx.root)
    out_file = ctx.workdir / f"cachegrind{opt}.out"
    runner.run([vg, "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out_file}", str(exe)],
               file=SOURCE, timeout=120)
    text = out_file.read_text()
    return {func: valgrind.function_events(text, func).get("Ir", 0) for func in ("sum_book", "sum_opaque")}


def count_python(ctx: Context, vg: str) -> dict[str, float]:
    """Instructions per addition of each Python sum, from the difference of two sizes."""
    out_file = ctx.workdir / "callgrind.out"
    env = runner.minimal_env({"PYTHONHASHSEED": "0"})
    runner.run([vg, "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out_file}",
                sys.executable, "-c", PY_COUNT_DRIVER, str(ctx.src("pysrc/sum_loop.py")),
                *map(str, PY_COUNT_N), *PY_COUNTED], file="pysrc/sum_loop.py", timeout=300, env=env)
    parts = valgrind.part_instructions(valgrind.dumps(out_file))
    if len(parts) != 2 + 2 * len(PY_COUNTED):
        raise MeasureError(f"callgrind dumped {len(parts)} parts, expected {2 + 2 * len(PY_COUNTED)} "
                           f"(one per call, one before, one after)", file="pysrc/sum_loop.py", kind="toolchain")
    extra = PY_COUNT_N[1] - PY_COUNT_N[0]
    return {name: (parts[2 + 2 * i] - parts[1 + 2 * i]) / extra for i, name in enumerate(PY_COUNTED)}


def run_sumcount(ctx: Context) -> dict:
    vg = valgrind.find()
    if not vg:
        return {"facts": {}, "evidence": {}, "missing_tools": {"valgrind": valgrind.missing_reason()}}
    # Counts do not depend on what else runs, so the three valgrind runs go side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        o0, o2, counted = (pool.submit(count_c, ctx, vg, "-O0"), pool.submit(count_c, ctx, vg, "-O2"),
                           pool.submit(count_python, ctx, vg))
        c_o0, c_o2, py = o0.result(), o2.result(), counted.result()
    per_add = {"c_opaque_O2": c_o2["sum_opaque"] / C_COUNT_N, "c_book_O0": c_o0["sum_book"] / C_COUNT_N,
               "py_sum_builtin": py["sum_builtin"], "py_loop": py["sum_loop"]}
    facts = {f"ir_per_add_{k}": fact(round(v, 3)) for k, v in per_add.items()}
    facts["c_additions"] = fact(C_COUNT_N)
    facts["py_additions"] = fact(PY_COUNT_N[1] - PY_COUNT_N[0])
    version = runner.run([vg, "--version"], file=SOURCE, timeout=30).stdout.strip()
    table = "\n".join(f"{k:16} {v:10.3f}" for k, v in per_add.items())
    return {"facts": facts, "evidence": {"version": version,
                                         "table": "instructions executed per addition (valgrind)\n" + table}}


SUMCOUNT_FACTS = declare(
    "valgrind",
    ("c_additions", "count"),
    ("ir_per_add_c_book_O0", "number"),
    ("ir_per_add_c_opaque_O2", "number"),
    ("ir_per_add_py_loop", "number"),
    ("ir_per_add_py_sum_builtin", "number"),
    ("py_additions", "count"),
)
SUMCOUNT_EVIDENCE = evidence("valgrind", "table", "version")


# What each experiment records (results.Results reads facts only by these names).
SUM_FACTS = declare(
    "csrc/sum_loop.c",
    ("book_loop_folded_O2", "flag", "objdump"),
    ("book_constant_O2", "count", "objdump", True),
    ("book_constant_is_sum_O2", "flag", "objdump"),
    ("c_book_O0", "seconds", "cffi"),
    ("c_book_O2", "seconds", "cffi"),
    ("c_call_only", "seconds", "cffi"),
    ("c_opaque_O2", "seconds", "cffi"),
    ("instr_sum_book_O0", "instructions", "objdump"),
    ("instr_sum_book_O2", "instructions", "objdump"),
    ("instr_sum_opaque_O0", "instructions", "objdump"),
    ("instr_sum_opaque_O2", "instructions", "objdump"),
    ("n", "count"),
    ("ns_per_add_c_book_O0", "ns", "cffi"),
    ("ns_per_add_c_opaque_O2", "ns", "cffi"),
    ("ns_per_add_numpy_sum", "ns", "numpy"),
    ("ns_per_add_py_loop", "ns"),
    ("ns_per_add_py_sum_builtin", "ns"),
    ("numpy_arange_sum", "seconds", "numpy"),
    ("numpy_faster_than_builtin", "flag", "numpy"),
    ("numpy_sum", "seconds", "numpy"),
    ("py_loop", "seconds"),
    ("py_sum_builtin", "seconds"),
    ("ratio_builtin_vs_numpy", "ratio", "numpy"),
    ("ratio_c_book_O0", "ratio", "cffi"),
    ("ratio_c_book_O2", "ratio", "cffi"),
    ("ratio_loop_vs_builtin", "ratio"),
    ("ratio_numpy_arange_sum", "ratio", "numpy"),
    ("ratio_numpy_sum", "ratio", "numpy"),
    ("ratio_py_loop", "ratio", "cffi"),
    ("ratio_py_sum_builtin", "ratio", "cffi"),
)
SUM_EVIDENCE = evidence(
    "csrc/sum_loop.c",
    ("asm_sum_book_O0", "objdump"),
    ("asm_sum_book_O2", "objdump"),
    ("asm_sum_opaque_O0", "objdump"),
    ("asm_sum_opaque_O2", "objdump"),
    ("c_output_O0", "cffi"),
    ("c_output_O2", "cffi"),
    "py_output",
)


EXPERIMENTS = [
    Experiment("sum", "sum 0..N-1: C at -O0/-O2 and opaque, sum(), for loop, NumPy (paired rounds)",
               sources=(SOURCE, "pysrc/sum_loop.py", "pysrc/sum_numpy.py"), run=run, facts=SUM_FACTS, evidence=SUM_EVIDENCE,
               flags=("-O0", "-O2", "-DNO_MAIN"), headline=HEADLINE, without_compiler=True),
    Experiment("sumcount", "the same sums counted: instructions per addition, C and Python (valgrind)",
               sources=(SOURCE, "pysrc/sum_loop.py"), run=run_sumcount, facts=SUMCOUNT_FACTS,
               evidence=SUMCOUNT_EVIDENCE, flags=("-O0", "-O2", "-fno-inline"), tools=("valgrind",)),
]
