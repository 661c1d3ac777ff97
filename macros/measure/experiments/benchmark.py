"""Section 4, "The benchmark": sum 0..N-1 in C (three ways), with sum(), a for loop, NumPy.

The C functions are timed through cffi in the same pyperf harness as the Python ones, and
the machine code of each timed function is taken from the very module that was timed.
"""
from __future__ import annotations

import sys

from .. import machinecode, runner, toolchain
from ..config import TARGET_REL_CI
from ..facts import fact, paired_ratio, timing
from ..timing import run_paired
from ..results import declare, evidence
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


def run(ctx: Context) -> dict:
    n = ctx.scale.n_sum
    modules = _build(ctx)
    evidence = _standalone(ctx)
    facts = {"n": fact(n)}
    asm = {}
    gaps: dict[str, str] = {}
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
        facts["book_constant_O2"] = fact(machinecode.folded_constant(asm["sum_book_O2"]))
    argv = [sys.executable, str(ctx.src("pysrc/sum_loop.py"))] + ([str(n)] if n != 10_000_000 else [])
    evidence["py_output"] = runner.run(argv, file="pysrc/sum_loop.py", timeout=300).stdout.rstrip("\n")

    py = str(ctx.src("pysrc/sum_loop.py"))
    npy = str(ctx.src("pysrc/sum_numpy.py"))
    specs = []
    for opt, (folder, module) in modules.items():
        tag = opt.strip("-")
        specs.append({"name": f"c_book_{tag}", "kind": "cffi", "path": str(folder), "module": module,
                      "func": "sum_book", "description": f"the book's C loop at {opt}, via cffi"})
    folder, module = modules["-O2"]
    specs += [
        {"name": "c_opaque_O2", "kind": "cffi", "path": str(folder), "module": module, "func": "sum_opaque",
         "args": [n], "description": "C loop the optimiser cannot fold, -O2, via cffi"},
        {"name": "c_call_only", "kind": "cffi", "path": str(folder), "module": module, "func": "call_only",
         "description": "an empty C function via cffi: the call overhead"},
        {"name": "py_sum_builtin", "kind": "py", "path": py, "func": "sum_builtin", "args": [n],
         "description": "sum(range(n))", "loops": 1},
        {"name": "py_loop", "kind": "py", "path": py, "func": "sum_loop", "args": [n],
         "description": "explicit Python for loop", "loops": 1},
        {"name": "numpy_sum", "kind": "py", "path": npy, "func": "sum_numpy", "prepare": "make_data",
         "args": [n], "description": "NumPy sum of an int64 array (array built beforehand)"},
        {"name": "numpy_arange_sum", "kind": "py", "path": npy, "func": "arange_and_sum", "args": [n],
         "description": "NumPy: build the array and sum it"},
    ]
    specs.sort(key=lambda spec: ORDER.index(spec["name"]))
    outcome, suite = run_paired(specs, {r: RATIOS[r] for r in HEADLINE}, ctx.scale, file=SOURCE,
                                budget=ctx.scale.budget("sum"), target=TARGET_REL_CI, log=ctx.log)
    series = outcome.series
    rounds = outcome.summary()
    timings = {name: timing(values, rounds=rounds) for name, values in series.items()}
    facts.update(timings)
    for name, (num, den) in RATIOS.items():
        facts[name] = paired_ratio(series[num], series[den], rounds=rounds,
                                   **({"baseline": den} if den == BASELINE else {}))
    for name in ("c_opaque_O2", "c_book_O0", "py_sum_builtin", "py_loop", "numpy_sum"):
        facts[f"ns_per_add_{name}"] = fact(timings[name]["value"] / n * 1e9, "ns")
    facts["numpy_faster_than_builtin"] = fact(timings["numpy_sum"]["value"] < timings["py_sum_builtin"]["value"])
    return {"facts": facts, "evidence": evidence, "pyperf": suite, "missing_tools": gaps}


# What each experiment records (results.Results reads facts only by these names).
SUM_FACTS = declare(
    "csrc/sum_loop.c",
    ("book_loop_folded_O2", "flag", "objdump"),
    ("book_constant_O2", "count", "objdump", True),
    ("c_book_O0", "seconds"),
    ("c_book_O2", "seconds"),
    ("c_call_only", "seconds"),
    ("c_opaque_O2", "seconds"),
    ("instr_sum_book_O0", "instructions", "objdump"),
    ("instr_sum_book_O2", "instructions", "objdump"),
    ("instr_sum_opaque_O0", "instructions", "objdump"),
    ("instr_sum_opaque_O2", "instructions", "objdump"),
    ("n", "count"),
    ("ns_per_add_c_book_O0", "ns"),
    ("ns_per_add_c_opaque_O2", "ns"),
    ("ns_per_add_numpy_sum", "ns"),
    ("ns_per_add_py_loop", "ns"),
    ("ns_per_add_py_sum_builtin", "ns"),
    ("numpy_arange_sum", "seconds"),
    ("numpy_faster_than_builtin", "flag"),
    ("numpy_sum", "seconds"),
    ("py_loop", "seconds"),
    ("py_sum_builtin", "seconds"),
    ("ratio_builtin_vs_numpy", "ratio"),
    ("ratio_c_book_O0", "ratio"),
    ("ratio_c_book_O2", "ratio"),
    ("ratio_loop_vs_builtin", "ratio"),
    ("ratio_numpy_arange_sum", "ratio"),
    ("ratio_numpy_sum", "ratio"),
    ("ratio_py_loop", "ratio"),
    ("ratio_py_sum_builtin", "ratio"),
)
SUM_EVIDENCE = evidence(
    "csrc/sum_loop.c",
    ("asm_sum_book_O0", "objdump"),
    ("asm_sum_book_O2", "objdump"),
    ("asm_sum_opaque_O0", "objdump"),
    ("asm_sum_opaque_O2", "objdump"),
    "c_output_O0",
    "c_output_O2",
    "py_output",
)


EXPERIMENTS = [
    Experiment("sum", "sum 0..N-1: C at -O0/-O2 and opaque, sum(), for loop, NumPy (paired rounds)",
               sources=(SOURCE, "pysrc/sum_loop.py", "pysrc/sum_numpy.py"), run=run, facts=SUM_FACTS, evidence=SUM_EVIDENCE,
               flags=("-O0", "-O2", "-DNO_MAIN"), headline=HEADLINE),
]
