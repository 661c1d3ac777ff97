"""Sizes: C's sizeof beside CPython's sys.getsizeof for the same kinds of value (a figure).

Both listings print `sizeof(T) = N` / `sys.getsizeof(V) = N` lines; the pairing of a C type
with a Python value is an editorial choice made here, in PAIRS, and recorded in the facts.
"""
from __future__ import annotations

import re
import sys

from .. import runner, toolchain
from ..errors import MeasureError
from ..facts import fact
from ..results import declare, evidence
from . import Context, Experiment

C_SOURCE = "csrc/sizes.c"
PY_SOURCE = "pysrc/sizes.py"
C_FLAGS = ("-O2",)

# (slug, what both hold, the C type as the listing prints it or None, the Python value as text)
PAIRS = (
    ("char", "a character", "char", "'a'"),
    ("bool", "a truth value", "bool", "True"),
    ("small_int", "a small integer", "int", "42"),
    ("big_int", "a 64-bit integer", "long", "2**62"),
    ("real", "a real number", "double", "1.5"),
    ("nothing", "nothing (a null pointer, None)", "void *", "None"),
    ("three_ints", "three integers", "int[3]", "(1, 2, 3)"),
    ("list3", "three integers, growable", None, "[1, 2, 3]"),
    ("mapping", "a one-entry mapping", None, "{'a': 1}"),
)


def _parse(text: str, pattern: str, file: str) -> dict[str, int]:
    found = {m.group(1): int(m.group(2)) for m in re.finditer(pattern, text)}
    if not found:
        raise MeasureError(f"no sizes in the program's output:\n{text[:500]}", file=file)
    return found


def run(ctx: Context) -> dict:
    exe = ctx.workdir / "sizes"
    toolchain.compile_c(ctx.src(C_SOURCE), exe, list(C_FLAGS), root=ctx.root)
    c_out = runner.run([str(exe)], file=C_SOURCE, timeout=30).stdout
    py_out = runner.run([sys.executable, str(ctx.src(PY_SOURCE))], file=PY_SOURCE, timeout=30).stdout
    c_sizes = _parse(c_out, r"sizeof\((.+?)\) = (\d+)", C_SOURCE)
    py_sizes = _parse(py_out, r"sys\.getsizeof\((.+?)\) = (\d+)\n", PY_SOURCE)
    facts, pairs = {}, []
    for slug, what, c_type, py_value in PAIRS:
        if c_type is not None and c_type not in c_sizes:
            raise MeasureError(f"the program printed no size for {c_type!r}", file=C_SOURCE)
        if py_value not in py_sizes:
            raise MeasureError(f"the program printed no size for {py_value!r}", file=PY_SOURCE)
        c_bytes = c_sizes.get(c_type) if c_type else None
        if c_bytes is not None:
            facts[f"c_{slug}"] = fact(c_bytes, "B", type=c_type)
        facts[f"py_{slug}"] = fact(py_sizes[py_value], "B", value_text=py_value)
        pairs.append({"slug": slug, "what": what, "c_type": c_type, "c_bytes": c_bytes,
                      "py_value": py_value, "py_bytes": py_sizes[py_value]})
    facts["pairs"] = fact(pairs)
    return {"facts": facts,
            "evidence": {"c_output": c_out.rstrip("\n"), "py_output": py_out.rstrip("\n")}}


# What each experiment records (results.Results reads facts only by these names).
SIZES_FACTS = declare(
    "csrc/sizes.c",
    ("c_big_int", "bytes"),
    ("c_bool", "bytes"),
    ("c_char", "bytes"),
    ("c_nothing", "bytes"),
    ("c_real", "bytes"),
    ("c_small_int", "bytes"),
    ("c_three_ints", "bytes"),
    ("pairs", "table"),
    ("py_big_int", "bytes"),
    ("py_bool", "bytes"),
    ("py_char", "bytes"),
    ("py_list3", "bytes"),
    ("py_mapping", "bytes"),
    ("py_nothing", "bytes"),
    ("py_real", "bytes"),
    ("py_small_int", "bytes"),
    ("py_three_ints", "bytes"),
)
SIZES_EVIDENCE = evidence(
    "csrc/sizes.c",
    "c_output",
    "py_output",
)


EXPERIMENTS = [
    Experiment("sizes", "sizeof in C beside sys.getsizeof in Python, kind by kind",
               sources=(C_SOURCE, PY_SOURCE), run=run, facts=SIZES_FACTS, evidence=SIZES_EVIDENCE, flags=C_FLAGS),
]
