"""Section 2: what a block of memory costs, malloc + free against a local array on the stack,
and the machine code of each timed function.

The listing times itself with clock_gettime over many calls per repeat (a call here is a
few nanoseconds, far below what a per-call clock or a Python harness could resolve); each
repeat reports its fastest batch, so a batch interrupted by other work on this shared
machine does not count. The functions take turns within each repeat, in alternating order,
so each ratio is taken within a repeat (facts.paired_ratio); the program is run again for
more repeats until the headline ratios are precise enough (adaptive.py).
"""
from __future__ import annotations

import re

from .. import adaptive, machinecode, runner, toolchain
from ..config import TARGET_REL_CI
from ..machinecode import Disassembly
from ..facts import fact, paired_ratio, timing
from ..timing import pin_cpu
from ..results import declare, evidence
from . import Context, Experiment

SOURCE = "csrc/alloc_cost.c"
C_FLAGS = ("-O2",)
FUNCS = {"heap": "heap_block", "churn": "heap_churn", "stack": "stack_block", "vla": "stack_vla",
         "empty": "empty_call"}
# Calls per repeat by scale: they make each repeat some milliseconds long.
CALLS = {"full": 1_000_000, "quick": 50_000}
MAX_REPEATS = 200
RATIOS = {"ratio_heap_stack": ("heap", "stack"), "ratio_heap_vla": ("heap", "vla"),
          "ratio_churn_stack": ("churn", "churn_stack"), "ratio_stack_empty": ("stack", "empty")}
HEADLINE = ("ratio_heap_stack", "ratio_churn_stack", "ratio_stack_empty")

_HEADER = re.compile(r"block of (\d+) bytes, (\d+) calls per repeat")
_REPEAT = re.compile(r"^repeat \d+: (.*)$", re.M)


def parse_repeats(stdout: str) -> tuple[dict[str, list[float]], dict]:
    """alloc_cost's output -> ({kind: [ns per call, one per repeat]}, {"block": B, "calls": N}).

    The stack block is timed twice: beside the other three ("stack"), and later beside the
    busy heap ("churn_stack")."""
    per: dict[str, list[float]] = {}
    for line in _REPEAT.findall(stdout):
        pairs = re.findall(r"(\w+) ([0-9.]+)", line)
        churn = any(kind == "churn" for kind, _ in pairs)
        for kind, value in pairs:
            key = "churn_stack" if churn and kind == "stack" else kind
            per.setdefault(key, []).append(float(value))
    m = _HEADER.search(stdout)
    meta = {"block": int(m.group(1)), "calls": int(m.group(2))} if m else {}
    return per, meta


def rsp_instructions(asm: Disassembly) -> tuple[int, int]:
    """(instructions that make room on the stack, instructions that give it back)."""
    return len(machinecode.stack_allocations(asm)), len(machinecode.stack_releases(asm))


def cost_facts(stdout: str, asm: dict[str, Disassembly] | None, **extra) -> dict:
    """Facts from the timings, and from the machine code when there is some (None: not measured).
    `extra` goes into each ratio (how the rounds went)."""
    per, meta = parse_repeats(stdout)
    t = {kind: timing([v * 1e-9 for v in vals]) for kind, vals in per.items()}
    facts = {
        "block_bytes": fact(meta.get("block"), "B"),
        "calls_per_repeat": fact(meta.get("calls")),
        "repeats": fact(len(per.get("heap", []))),
        "heap_pair": t["heap"],
        "heap_churn": t["churn"],
        "stack_fixed": t["stack"],
        "stack_vla": t["vla"],
        "empty_call": t["empty"],
        # What malloc and free add on top of the call that both sides pay.
        "heap_net": fact(t["heap"]["value"] - t["empty"]["value"], "s"),
        "heap_slower": fact(t["heap"]["value"] > t["stack"]["value"]),
    }
    for name, (num, den) in RATIOS.items():
        facts[name] = paired_ratio(per[num], per[den], **extra)
    if asm is None:     # no machine code: run() reports why, and the asm facts are not measured
        return facts
    for kind, func in FUNCS.items():
        facts[f"instr_{kind}"] = fact(machinecode.instruction_count(asm[func]), "instr")
    lowers, releases = rsp_instructions(asm["stack_block"])
    facts["alloc_instructions"] = fact(lowers, "instr")
    facts["release_instructions"] = fact(releases, "instr")
    facts["rsp_moved"] = fact(machinecode.stack_bytes(asm["stack_block"]), "B")
    facts["vla_alloc_instructions"] = fact(rsp_instructions(asm["stack_vla"])[0], "instr")
    facts["heap_calls_allocator"] = fact(machinecode.calls_function(asm["heap_block"], "malloc")
                                         and machinecode.calls_function(asm["heap_block"], "free"))
    return facts


def run(ctx: Context) -> dict:
    exe = ctx.workdir / "alloc_cost"
    toolchain.compile_c(ctx.src(SOURCE), exe, list(C_FLAGS), root=ctx.root)
    calls = CALLS.get(ctx.scale.name, CALLS["quick"])
    cpu = pin_cpu()
    outputs: list[str] = []

    def batch(rounds: int, first: int) -> dict[str, list[float]]:
        # Each run starts with the forward order: batches have an even number of repeats.
        argv = [str(exe), str(calls), str(rounds)] + ([cpu] if cpu is not None else [])
        outputs.append(runner.run(argv, file=SOURCE, timeout=60).stdout.rstrip("\n"))
        per, _ = parse_repeats(outputs[-1])
        return {k: per.get(k, []) for k in ("heap", "stack", "vla", "empty", "churn", "churn_stack")}

    outcome = adaptive.run(batch, {r: RATIOS[r] for r in HEADLINE}, target=TARGET_REL_CI,
                           budget=ctx.scale.budget("alloc"), first=ctx.scale.first_rounds,
                           max_rounds=MAX_REPEATS, log=ctx.log)
    out = "\n".join(outputs)
    asm: dict[str, Disassembly] | None = {}
    gaps: dict[str, str] = {}
    for func in FUNCS.values():
        dis, why = machinecode.asm_or_reason(exe, func)
        if dis is None:
            asm, gaps["objdump"] = None, why
            break
        asm[func] = dis
    evidence = {"cost_output": out, **{f"asm_{func}": d.text for func, d in (asm or {}).items()}}
    return {"facts": cost_facts(out, asm, rounds=outcome.summary()), "evidence": evidence,
            "missing_tools": gaps}


# What each experiment records (results.Results reads facts only by these names).
ALLOC_FACTS = declare(
    "csrc/alloc_cost.c",
    ("alloc_instructions", "instructions", "objdump"),
    ("block_bytes", "bytes"),
    ("calls_per_repeat", "count"),
    ("empty_call", "seconds"),
    ("heap_calls_allocator", "flag", "objdump"),
    ("heap_churn", "seconds"),
    ("heap_net", "seconds"),
    ("heap_pair", "seconds"),
    ("heap_slower", "flag"),
    ("instr_churn", "instructions", "objdump"),
    ("instr_empty", "instructions", "objdump"),
    ("instr_heap", "instructions", "objdump"),
    ("instr_stack", "instructions", "objdump"),
    ("instr_vla", "instructions", "objdump"),
    ("ratio_churn_stack", "ratio"),
    ("ratio_heap_stack", "ratio"),
    ("ratio_heap_vla", "ratio"),
    ("ratio_stack_empty", "ratio"),
    ("release_instructions", "instructions", "objdump"),
    ("repeats", "count"),
    ("rsp_moved", "bytes", "objdump"),
    ("stack_fixed", "seconds"),
    ("stack_vla", "seconds"),
    ("vla_alloc_instructions", "instructions", "objdump"),
)
ALLOC_EVIDENCE = evidence(
    "csrc/alloc_cost.c",
    ("asm_empty_call", "objdump"),
    ("asm_heap_block", "objdump"),
    ("asm_heap_churn", "objdump"),
    ("asm_stack_block", "objdump"),
    ("asm_stack_vla", "objdump"),
    "cost_output",
)


EXPERIMENTS = [
    Experiment("alloc", "malloc + free against a stack array: ns per call, and the machine code",
               sources=(SOURCE,), run=run, facts=ALLOC_FACTS, evidence=ALLOC_EVIDENCE, flags=C_FLAGS,
               headline=HEADLINE),
]
