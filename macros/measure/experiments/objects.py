"""Section 3, "Everything is an object": where values live, what `a + b` costs, the GIL.

Four experiments:
  objheap  which mapping of the address map holds each kind of Python value
  cadd     C's `a + b`: the listing at -O0 and -O2, run, and its machine code
  pyadd    Python's `a + b`: its bytecode, and allocated blocks per addition
  gil      CPU-bound Python in 1 thread, N threads, N processes
"""
from __future__ import annotations

import json
import re
import sys

from .. import adaptive, machinecode, maps, runner, toolchain
from ..config import TARGET_REL_CI
from ..errors import MeasureError
from ..facts import fact, paired_ratio, timing
from ..results import declare, evidence
from . import Context, Experiment

WHERE = "pysrc/where_objects_live.py"
C_ADD = "csrc/add.c"
PY_ADD = "pysrc/add.py"
ADD_ALLOC = "pysrc/add_allocates.py"
GIL = "pysrc/gil_threads.py"
C_OPT_LEVELS = ("-O0", "-O2")


def key(name: str) -> str:
    """A fact-name fragment from a label: "small int 42" -> "small_int_42"."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _fail(file: str, what: str, output: str) -> MeasureError:
    tail = " | ".join(output.strip().splitlines()[-3:])
    return MeasureError(f"output not as expected ({what}): {tail}", file=file, kind="error")


# ------------------------------------------------------------------ objheap

_OBJ_LINE = re.compile(r"^(?P<name>\S.*?)\s+(?P<addr>0x[0-9a-f]+)\s+\S+")


def parse_where(stdout: str) -> tuple[dict[str, int], str, str]:
    """(address by value name, the table as printed, the address map) from the listing."""
    shown, map_text = maps.split_output(stdout)
    addresses = {}
    for line in shown.splitlines():
        m = _OBJ_LINE.match(line)
        if m:
            addresses[m.group("name")] = int(m.group("addr"), 16)
    return addresses, shown, map_text


def where_facts(addresses: dict[str, int], mappings: list[maps.Mapping]) -> tuple[dict, str]:
    """Facts region_<value> / dynamic_<value> and the summary counts; the evidence table."""
    facts: dict[str, dict] = {}
    rows, static = [], []
    for name, addr in addresses.items():
        mp = maps.locate(addr, mappings)
        region = mp.region if mp else "unmapped"
        dynamic = bool(mp and mp.dynamic)
        facts[f"region_{key(name)}"] = fact(region, None, address=hex(addr))
        facts[f"dynamic_{key(name)}"] = fact(dynamic)
        if not dynamic:
            static.append(name)
        rows.append(f"{name:<18} {addr:#014x}  {'run-time memory' if dynamic else 'program image  '}  {region}")
    facts["values_probed"] = fact(len(addresses))
    facts["values_dynamic"] = fact(len(addresses) - len(static))
    facts["values_static"] = fact(len(static))
    facts["static_values"] = fact(", ".join(static) if static else "none")
    return facts, "\n".join(rows)


def run_objheap(ctx: Context) -> dict:
    out = runner.run([sys.executable, str(ctx.src(WHERE)), "--maps"], file=WHERE).stdout
    addresses, shown, map_text = parse_where(out)
    if not addresses or not map_text:
        raise _fail(WHERE, "a table of addresses, then the address map", out)
    facts, table = where_facts(addresses, maps.parse(map_text))
    lib = [mp.line for mp in maps.parse(map_text) if "python" in mp.path.rsplit("/", 1)[-1]]
    return {"facts": facts,
            "evidence": {"output": shown, "table": table, "maps": map_text,
                         "interpreter_mappings": "\n".join(lib)}}


# ------------------------------------------------------------------ cadd

def run_cadd(ctx: Context) -> dict:
    gaps: dict[str, str] = {}
    facts: dict[str, dict] = {}
    evidence: dict[str, str] = {}
    for opt in C_OPT_LEVELS:
        tag = opt.strip("-")
        exe = ctx.workdir / f"add{tag}"
        toolchain.compile_c(ctx.src(C_ADD), exe, [opt], root=ctx.root)
        a, b = 40, 2
        out = runner.run([str(exe), str(a), str(b)], file=C_ADD).stdout.strip()
        m = re.search(r"= (-?\d+)$", out)
        if not m:
            raise _fail(C_ADD, "add(a, b) = sum", out)
        evidence[f"output_{tag}"] = out
        facts[f"sum_correct_{tag}"] = fact(int(m.group(1)) == a + b)
        dis, why = machinecode.asm_or_reason(exe, "add")
        if dis is None:
            gaps["objdump"] = why       # its facts and evidence: not measured, with why
            continue
        body = machinecode.body(dis)
        op = machinecode.sum_op(dis)
        evidence[f"asm_{tag}"] = dis.text
        facts[f"instr_{tag}"] = fact(machinecode.instruction_count(dis), "instr")
        facts[f"body_count_{tag}"] = fact(len(body), "instr")
        facts[f"body_{tag}"] = fact("; ".join(i.text for i in body))
        # The one instruction that computes the sum, when the work is that one instruction.
        facts[f"op_{tag}"] = fact(op.mnemonic if op and len(body) == 1 else None)
        facts[f"sum_instruction_{tag}"] = fact(op.text if op else None)
        facts[f"has_add_{tag}"] = fact(any(i.mnemonic == "add" for i in body))
        facts[f"memory_operands_{tag}"] = fact(sum(machinecode.accesses_memory(i) for i in body))
    return {"facts": facts, "evidence": evidence, "missing_tools": gaps}


# ------------------------------------------------------------------ pyadd

_ALLOC_LINE = re.compile(r"^(?P<tag>[a-z-]+)\s+(?P<a>-?\d+) \+ (?P<b>-?\d+) = (?P<r>-?\d+)\s+"
                         r"(?P<size>\d+)\s+(?P<kept>-?[\d.]+)\s+(?P<dropped>-?[\d.]+)\s+(?P<same>True|False)$")


def parse_allocates(stdout: str) -> dict[str, dict]:
    """Rows of the add_allocates table by case tag."""
    rows = {}
    for line in stdout.splitlines():
        m = _ALLOC_LINE.match(line.strip())
        if m:
            rows[m.group("tag")] = {"a": int(m.group("a")), "b": int(m.group("b")),
                                    "result": int(m.group("r")), "size": int(m.group("size")),
                                    "kept": float(m.group("kept")), "dropped": float(m.group("dropped")),
                                    "same": m.group("same") == "True"}
    return rows


OPNAMES_MARKER = "--- opnames (JSON) ---"


def parse_opnames(stdout: str) -> tuple[str, dict[str, list[str] | None]]:
    """(the listing's output as shown, its opnames by listing) from `add.py --opnames`.

    The names come from `dis.get_instructions` in the listing's own process: `dis`'s
    printed layout changes between versions (3.13 dropped the offsets column)."""
    shown, sep, tail = stdout.partition(OPNAMES_MARKER)
    if not sep:
        return shown.rstrip("\n"), {}
    try:
        data = json.loads(tail)
    except ValueError:
        return shown.rstrip("\n"), {}
    ok = isinstance(data, dict) and isinstance(data.get("compiled"), list)
    return shown.rstrip("\n"), data if ok else {}


def operand_loads(ops: list[str]) -> list[str]:
    """The instructions that push the operands: the loads before the first BINARY_* (none
    when there is no BINARY_*)."""
    end = next((i for i, o in enumerate(ops) if o.startswith("BINARY")), 0)
    return [o for o in ops[:end] if o.startswith("LOAD")]


def run_pyadd(ctx: Context) -> dict:
    out = runner.run([sys.executable, str(ctx.src(PY_ADD)), "--opnames"], file=PY_ADD).stdout
    dis_out, ops = parse_opnames(out)
    if not ops:
        raise _fail(PY_ADD, f"two bytecode listings, then {OPNAMES_MARKER} and a JSON line", out)
    plain, adaptive = ops["compiled"], ops.get("adaptive") or []
    loads = operand_loads(plain)
    n = 1_000_000 if ctx.scale.name == "full" else 100_000
    table = runner.run([sys.executable, str(ctx.src(ADD_ALLOC)), str(n)], file=ADD_ALLOC).stdout.rstrip("\n")
    rows = parse_allocates(table)
    if not rows:
        raise _fail(ADD_ALLOC, "one row per case", table)
    facts = {
        "n_additions": fact(n),
        "add_op": fact(next((o for o in plain if o.startswith("BINARY")), None)),
        "add_op_adaptive": fact(next((o for o in adaptive if o.startswith("BINARY")), None)),
        "load_op": fact(loads[0] if loads else None),
        "load_count": fact(len(loads), "instr"),
    }
    for tag, row in rows.items():
        k = key(tag)
        facts[f"blocks_per_add_{k}"] = fact(row["kept"])
        facts[f"blocks_dropped_{k}"] = fact(row["dropped"])
        facts[f"same_object_{k}"] = fact(row["same"])
        facts[f"result_size_{k}"] = fact(row["size"], "B")
    cached = [t for t, r in rows.items() if r["same"]]
    facts["cached_cases"] = fact(", ".join(cached) if cached else "none")
    # Every case whose result is not shared allocates one block per addition, to 1%.
    fresh = [r["kept"] for r in rows.values() if not r["same"]]
    facts["fresh_results_one_block"] = fact(bool(fresh) and all(abs(v - 1) < 0.01 for v in fresh))
    return {"facts": facts, "evidence": {"dis_output": dis_out, "allocates_output": table}}


# ------------------------------------------------------------------ gil

_REPEAT = re.compile(r"^repeat \d+: (.*)$")
_WAY = re.compile(r"(\d+) (threads?|process(?:es)?) ([\d.]+) s \(([\d.]+) cores\)")


def parse_gil(stdout: str) -> tuple[int, dict[str, list[float]], dict[str, list[float]]]:
    """(workers, wall seconds by way, cores busy by way); ways: serial, threads, processes."""
    m = re.search(r"workers = (\d+)", stdout)
    if not m:
        return 0, {}, {}
    walls: dict[str, list[float]] = {"serial": [], "threads": [], "processes": []}
    busy: dict[str, list[float]] = {"serial": [], "threads": [], "processes": []}
    for line in stdout.splitlines():
        rep = _REPEAT.match(line)
        if not rep:
            continue
        for count, kind, wall, cores in _WAY.findall(rep.group(1)):
            way = "processes" if kind.startswith("process") else ("serial" if count == "1" else "threads")
            walls[way].append(float(wall))
            busy[way].append(float(cores))
    return int(m.group(1)), walls, busy


def gil_size(scale_name: str) -> int:
    """Loop steps: full is some tens of milliseconds of work per way and repeat on a 2-core
    VM; quick a quarter of that. Short repeats, many of them: each pair of sides is timed
    close together, closer than the host's slow swings (the threads' interval narrowed about
    threefold against repeats five times as long: commit 69194b5)."""
    return 1_200_000 if scale_name == "full" else 300_000


GIL_RATIOS = {"speedup_threads": ("serial", "threads"), "speedup_processes": ("serial", "processes"),
              "speedup_processes_vs_threads": ("threads", "processes")}
GIL_HEADLINE = ("speedup_threads", "speedup_processes", "cpu_cost_processes")


def run_gil(ctx: Context) -> dict:
    import statistics

    steps = gil_size(ctx.scale.name)
    outputs: list[str] = []
    workers = 0

    def batch(rounds: int, first: int) -> dict[str, list[float]]:
        nonlocal workers
        out = runner.run([sys.executable, str(ctx.src(GIL)), str(steps), str(rounds)], file=GIL,
                         timeout=90).stdout.rstrip("\n")
        outputs.append(out)
        workers, walls, busy = parse_gil(out)
        if not workers or any(len(v) != rounds for v in walls.values()):
            raise _fail(GIL, f"{rounds} repeats of three timings", out)
        # CPU time for the same work: wall time x cores kept busy.
        return {**walls, **{f"cpu_{way}": [w * c for w, c in zip(walls[way], busy[way])] for way in walls},
                **{f"busy_{way}": busy[way] for way in walls}}

    figures = {**{k: v for k, v in GIL_RATIOS.items() if k in GIL_HEADLINE},
               "cpu_cost_processes": ("cpu_processes", "cpu_serial")}
    outcome = adaptive.run(batch, figures, target=TARGET_REL_CI, budget=ctx.scale.budget("gil"),
                           first=ctx.scale.first_rounds, max_rounds=100, log=ctx.log)
    series, out, repeats = outcome.series, "\n".join(outputs), outcome.rounds
    walls = {way: series[way] for way in ("serial", "threads", "processes")}
    busy = {way: series[f"busy_{way}"] for way in walls}
    cpu = {way: series[f"cpu_{way}"] for way in walls}
    facts = {"workers": fact(workers), "steps": fact(steps), "repeats": fact(repeats)}
    for way in walls:
        facts[f"wall_{way}"] = timing(walls[way])
        facts[f"busy_{way}"] = fact(round(statistics.median(busy[way]), 2), None,
                                    min=min(busy[way]), max=max(busy[way]))
        facts[f"cpu_{way}"] = timing(cpu[way])
    # Ratios are paired within each repeat (the three ways run back to back, in alternating
    # order), so a slow phase of this shared machine that spans a repeat slows both sides.
    rounds = outcome.summary()
    for name, (num, den) in GIL_RATIOS.items():
        facts[name] = paired_ratio(walls[num], walls[den], rounds=rounds)
    for way in ("threads", "processes"):
        # CPU time for the same work relative to one thread: above 1, each worker ran slower
        # than a lone thread (a shared core, caches, a busy host), not merely in parallel.
        facts[f"cpu_cost_{way}"] = paired_ratio(cpu[way], cpu["serial"], rounds=rounds)
    # A clear win only: on a shared machine a few per cent either way is noise.
    facts["processes_beat_threads"] = fact(facts["speedup_processes_vs_threads"]["value"] >= 1.25)
    return {"facts": facts, "evidence": {"output": out}}


# What each experiment records (results.Results reads facts only by these names).
OBJHEAP_FACTS = declare(
    "pysrc/where_objects_live.py",
    ("dynamic_dict", "flag"),
    ("dynamic_empty_tuple", "flag"),
    ("dynamic_float_at_run_time", "flag"),
    ("dynamic_float_literal", "flag"),
    ("dynamic_fresh_int", "flag"),
    ("dynamic_int_256", "flag"),
    ("dynamic_list", "flag"),
    ("dynamic_none", "flag"),
    ("dynamic_one_char_str", "flag"),
    ("dynamic_small_int_42", "flag"),
    ("dynamic_str_at_run_time", "flag"),
    ("dynamic_str_literal", "flag"),
    ("dynamic_the_type_int", "flag"),
    ("dynamic_true", "flag"),
    ("region_dict", "text"),
    ("region_empty_tuple", "text"),
    ("region_float_at_run_time", "text"),
    ("region_float_literal", "text"),
    ("region_fresh_int", "text"),
    ("region_int_256", "text"),
    ("region_list", "text"),
    ("region_none", "text"),
    ("region_one_char_str", "text"),
    ("region_small_int_42", "text"),
    ("region_str_at_run_time", "text"),
    ("region_str_literal", "text"),
    ("region_the_type_int", "text"),
    ("region_true", "text"),
    ("static_values", "text"),
    ("values_dynamic", "count"),
    ("values_probed", "count"),
    ("values_static", "count"),
)
OBJHEAP_EVIDENCE = evidence(
    "pysrc/where_objects_live.py",
    "interpreter_mappings",
    "maps",
    "output",
    "table",
)

CADD_FACTS = declare(
    "csrc/add.c",
    ("body_O0", "text", "objdump"),
    ("body_O2", "text", "objdump"),
    ("body_count_O0", "instructions", "objdump"),
    ("body_count_O2", "instructions", "objdump"),
    ("has_add_O0", "flag", "objdump"),
    ("has_add_O2", "flag", "objdump"),
    ("instr_O0", "instructions", "objdump"),
    ("instr_O2", "instructions", "objdump"),
    ("memory_operands_O0", "count", "objdump"),
    ("memory_operands_O2", "count", "objdump"),
    ("op_O0", "text", "objdump", True),
    ("op_O2", "text", "objdump", True),
    ("sum_correct_O0", "flag"),
    ("sum_correct_O2", "flag"),
    ("sum_instruction_O0", "text", "objdump", True),
    ("sum_instruction_O2", "text", "objdump", True),
)
CADD_EVIDENCE = evidence(
    "csrc/add.c",
    ("asm_O0", "objdump"),
    ("asm_O2", "objdump"),
    "output_O0",
    "output_O2",
)

PYADD_FACTS = declare(
    "pysrc/add.py",
    ("add_op", "text", "dis"),
    ("add_op_adaptive", "text", "dis"),
    ("load_count", "instructions", "dis"),
    ("load_op", "text", "dis"),
    ("blocks_dropped_edge", "number"),
    ("blocks_dropped_medium", "number"),
    ("blocks_dropped_negative", "number"),
    ("blocks_dropped_small", "number"),
    ("blocks_dropped_three_digit", "number"),
    ("blocks_dropped_two_digit", "number"),
    ("blocks_per_add_edge", "number"),
    ("blocks_per_add_medium", "number"),
    ("blocks_per_add_negative", "number"),
    ("blocks_per_add_small", "number"),
    ("blocks_per_add_three_digit", "number"),
    ("blocks_per_add_two_digit", "number"),
    ("cached_cases", "text"),
    ("fresh_results_one_block", "flag"),
    ("n_additions", "count"),
    ("result_size_edge", "bytes"),
    ("result_size_medium", "bytes"),
    ("result_size_negative", "bytes"),
    ("result_size_small", "bytes"),
    ("result_size_three_digit", "bytes"),
    ("result_size_two_digit", "bytes"),
    ("same_object_edge", "flag"),
    ("same_object_medium", "flag"),
    ("same_object_negative", "flag"),
    ("same_object_small", "flag"),
    ("same_object_three_digit", "flag"),
    ("same_object_two_digit", "flag"),
)
PYADD_EVIDENCE = evidence(
    "pysrc/add.py",
    "allocates_output",
    ("dis_output", "dis"),
)

GIL_FACTS = declare(
    "pysrc/gil_threads.py",
    ("busy_processes", "number"),
    ("busy_serial", "number"),
    ("busy_threads", "number"),
    ("cpu_cost_processes", "ratio"),
    ("cpu_cost_threads", "ratio"),
    ("cpu_processes", "seconds"),
    ("cpu_serial", "seconds"),
    ("cpu_threads", "seconds"),
    ("processes_beat_threads", "flag"),
    ("repeats", "count"),
    ("speedup_processes", "ratio"),
    ("speedup_processes_vs_threads", "ratio"),
    ("speedup_threads", "ratio"),
    ("steps", "count"),
    ("wall_processes", "seconds"),
    ("wall_serial", "seconds"),
    ("wall_threads", "seconds"),
    ("workers", "count"),
)
GIL_EVIDENCE = evidence(
    "pysrc/gil_threads.py",
    "output",
)


EXPERIMENTS = [
    Experiment("objheap", "which mapping holds None, True, ints, floats, strings, lists, dicts",
               sources=(WHERE,), run=run_objheap, facts=OBJHEAP_FACTS, evidence=OBJHEAP_EVIDENCE),
    Experiment("cadd", "C's a + b at -O0 and -O2: run, and its machine code",
               sources=(C_ADD,), run=run_cadd, facts=CADD_FACTS, evidence=CADD_EVIDENCE, flags=C_OPT_LEVELS),
    Experiment("pyadd", "Python's a + b: bytecode, and allocated blocks per addition",
               sources=(PY_ADD, ADD_ALLOC), run=run_pyadd, facts=PYADD_FACTS, evidence=PYADD_EVIDENCE),
    Experiment("gil", "CPU-bound Python in 1 thread, N threads and N processes",
               sources=(GIL,), run=run_gil, facts=GIL_FACTS, evidence=GIL_EVIDENCE,
               headline=GIL_HEADLINE),
]
