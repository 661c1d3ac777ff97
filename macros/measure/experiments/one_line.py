"""Section 1, "One line, two realities": sizes, identity and whereabouts of `x = 42`."""
from __future__ import annotations

import json
import re
import sys

from .. import maps, runner, toolchain
from ..facts import fact
from ..results import declare, evidence
from . import Context, Experiment

C_FLAGS = ("-O2",)


def _where(address: int, mappings: list[maps.Mapping]) -> dict:
    mp = maps.locate(address, mappings)
    return {"address": hex(address), "region": mp.region if mp else "unmapped",
            "dynamic": bool(mp and mp.dynamic), "mapping": mp.line if mp else ""}


def run_c(ctx: Context) -> dict:
    exe = ctx.workdir / "one_line"
    toolchain.compile_c(ctx.src("csrc/one_line.c"), exe, list(C_FLAGS), root=ctx.root,
                        link=["csrc/show_maps.c"])
    out = runner.run([str(exe)], file="csrc/one_line.c").stdout
    shown, map_text = maps.split_output(out)
    size = int(re.search(r"sizeof\(int\) = (\d+)", shown).group(1))
    addr = int(re.search(r"&x = (0x[0-9a-f]+)", shown).group(1), 16)
    where = _where(addr, maps.parse(map_text))
    return {
        "facts": {
            "c_sizeof_int": fact(size, "B"),
            "c_local_region": fact(where["region"], None, address=where["address"]),
            "c_local_on_stack": fact(where["region"] == "stack"),
        },
        "evidence": {"c_output": shown, "c_local_mapping": where["mapping"],
                     "c_maps": map_text},
    }


def run_py(ctx: Context) -> dict:
    listing = runner.run([sys.executable, str(ctx.src("pysrc/one_line.py"))], file="pysrc/one_line.py")
    probe = runner.run([sys.executable, str(ctx.src("pysrc/object_probe.py"))],
                       file="pysrc/object_probe.py")
    data = json.loads(probe.stdout)
    mappings = maps.parse(data["maps"])
    where = {name: _where(addr, mappings) for name, addr in data["addresses"].items()}
    ident = {int(k): v for k, v in data["identity"].items()}
    cached = sorted(n for n, same in ident.items() if same)
    # The cache's bounds as observed: the smallest and largest shared value probed.
    facts = {
        "getsizeof_42": fact(data["getsizeof_42"], "B"),
        "object_sizeof": fact(data["object_sizeof"], "B"),
        "int_basicsize": fact(data["int_basicsize"], "B"),
        "int_itemsize": fact(data["int_itemsize"], "B"),
        "header_bytes": fact(data["object_sizeof"], "B"),
        "header_is_two_words": fact(data["object_sizeof"] == 2 * data["pointer_size"]),
        "small_int_low": fact(min(cached) if cached else None),
        "small_int_high": fact(max(cached) if cached else None),
        "small_int_bounds_match": fact(bool(cached) and min(cached) == -5 and max(cached) == 256
                                       and not ident[-6] and not ident[257]),
        "same_257_script": fact(data["same_257_script"]),
        "same_257_repl": fact(data["same_257_repl"]),
        "same_257_runtime": fact(data["same_257_runtime"]),
        "listing_257_same": fact("id(y) == id(z)   : True" in listing.stdout),
        "dis_module_store": fact(next((o for o in data["dis_module_ops"] if o.startswith("STORE")), None)),
        "dis_function_store": fact(next((o for o in data["dis_function_ops"] if o.startswith("STORE")), None)),
        "module_binding_is_dict": fact("STORE_NAME" in data["dis_module_ops"]),
        "function_binding_is_dict": fact("STORE_NAME" in data["dis_function_ops"]),
    }
    for name, w in where.items():
        key = name.lower()
        facts[f"region_{key}"] = fact(w["region"], None, address=w["address"])
        facts[f"dynamic_{key}"] = fact(w["dynamic"])
    identity_table = "\n".join(f"{n:>5}: {'same object' if ident[n] else 'two objects'}"
                               for n in sorted(ident))
    return {
        "facts": facts,
        "evidence": {
            "py_output": listing.stdout.rstrip("\n"),
            "identity_table": identity_table,
            "identity_257": (f"as a script (one code object):     {data['same_257_script']}\n"
                             f"line by line (interactive prompt): {data['same_257_repl']}\n"
                             f"built at run time with int('257'): {data['same_257_runtime']}"),
            "py_mappings": "\n".join(f"{n:>14} at {w['address']}: {w['region']}\n"
                                     f"{'':>14} {w['mapping']}" for n, w in where.items()),
            "dis_module": data["dis_module"].rstrip(),
            "dis_function": data["dis_function"].rstrip(),
            "python_version": data["python"],
        },
    }


# What each experiment records (results.Results reads facts only by these names).
CSIDE_FACTS = declare(
    "csrc/one_line.c",
    ("c_local_on_stack", "flag"),
    ("c_local_region", "text"),
    ("c_sizeof_int", "bytes"),
)
CSIDE_EVIDENCE = evidence(
    "csrc/one_line.c",
    "c_local_mapping",
    "c_maps",
    "c_output",
)

PYSIDE_FACTS = declare(
    "pysrc/one_line.py",
    ("dis_function_store", "text", "dis"),
    ("dis_module_store", "text", "dis"),
    ("dynamic_42", "flag"),
    ("dynamic_fresh_big_int", "flag"),
    ("dynamic_none", "flag"),
    ("dynamic_true", "flag"),
    ("function_binding_is_dict", "flag"),
    ("getsizeof_42", "bytes"),
    ("header_bytes", "bytes"),
    ("header_is_two_words", "flag"),
    ("int_basicsize", "bytes"),
    ("int_itemsize", "bytes"),
    ("listing_257_same", "flag"),
    ("module_binding_is_dict", "flag"),
    ("object_sizeof", "bytes"),
    ("region_42", "text"),
    ("region_fresh_big_int", "text"),
    ("region_none", "text"),
    ("region_true", "text"),
    ("same_257_repl", "flag"),
    ("same_257_runtime", "flag"),
    ("same_257_script", "flag"),
    ("small_int_bounds_match", "flag"),
    ("small_int_high", "count"),
    ("small_int_low", "count"),
)
PYSIDE_EVIDENCE = evidence(
    "pysrc/one_line.py",
    ("dis_function", "dis"),
    ("dis_module", "dis"),
    "identity_257",
    "identity_table",
    "py_mappings",
    "py_output",
    ("python_version", "the interpreter"),
)


EXPERIMENTS = [
    Experiment("cside", "the C side of x = 42 (sizeof, &x and its mapping)",
               sources=("csrc/one_line.c", "csrc/show_maps.c", "csrc/show_maps.h"),
               run=run_c, facts=CSIDE_FACTS, evidence=CSIDE_EVIDENCE, flags=C_FLAGS),
    Experiment("pyside", "the Python side of x = 42 (sizes, identity, mappings, bytecode)",
               sources=("pysrc/one_line.py", "pysrc/object_probe.py"), run=run_py, facts=PYSIDE_FACTS, evidence=PYSIDE_EVIDENCE),
]
