"""Timing through pyperf: each benchmark runs in worker processes spawned by pyperf.

A spec file lists the benchmarks; `pyperf_worker.py` (a standalone script, as pyperf
re-executes it for each worker) loads the code under test and times it.
"""
from __future__ import annotations

import json
import statistics
import os
import sys
import tempfile
from pathlib import Path

from .config import Scale
from .errors import MeasureError
from .facts import timing
from . import runner

WORKER = Path(__file__).with_name("pyperf_worker.py")


def pin_cpu() -> str | None:
    """The CPU to pin workers to: the last one we may run on, if there is more than one."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    return str(cpus[-1]) if len(cpus) > 1 else None


def _pyperf(group: list[dict], loops: int, scale: Scale, tmp: str, tag: str, cpu: str | None,
            file: str, timeout: float) -> list:
    """One pyperf run of a group of benchmarks sharing a loop count: one worker process each."""
    import pyperf

    spec_path = Path(tmp, f"spec-{tag}.json")
    out_path = Path(tmp, f"out-{tag}.json")
    spec_path.write_text(json.dumps(group))
    argv = [sys.executable, str(WORKER), "--spec", str(spec_path), "-o", str(out_path),
            "--quiet", "-p", "1", "-n", str(scale.values), "-w", str(scale.warmups),
            "--min-time", str(scale.min_time), "--loops", str(loops)]
    if cpu is not None:
        argv += ["--affinity", cpu]
    env = runner.minimal_env({"PYTHONPATH": os.pathsep.join(sys.path[1:])})
    runner.run(argv, file=file, timeout=timeout, memory_bytes=None, env=env)
    try:
        return pyperf.BenchmarkSuite.load(str(out_path)).get_benchmarks()
    except (OSError, ValueError) as exc:   # the workers ended without writing results
        raise MeasureError(f"pyperf wrote no readable results ({type(exc).__name__}: {exc})",
                           file=file, kind="crash")


def run_benchmarks(specs: list[dict], scale: Scale, *, file: str,
                   timeout: float = 600.0) -> tuple[dict, dict]:
    """Time each spec in pyperf workers; returns (facts by name, pyperf suite as JSON).

    The benchmarks run in rounds: each round gives every benchmark one fresh worker process,
    back to back, so a slow spell of this shared machine falls on all of them alike. Each
    fact keeps its per-round medians ("rounds"), from which paired_ratio() takes ratios
    within a round. Round 1 calibrates loop counts (unless a spec fixes "loops", e.g. 1 for a
    function that already takes tenths of a second); later rounds reuse them.
    """
    cpu = pin_cpu()
    loops_of = {spec["name"]: int(spec.get("loops", 0)) for spec in specs}
    merged: dict[str, object] = {}
    rounds: dict[str, list[float]] = {spec["name"]: [] for spec in specs}
    with tempfile.TemporaryDirectory(prefix="chapter-pyperf-") as tmp:
        for r in range(scale.processes):
            groups: dict[int, list[dict]] = {}
            for spec in specs:
                groups.setdefault(loops_of[spec["name"]], []).append(spec)
            for loops, group in sorted(groups.items()):
                for bench in _pyperf(group, loops, scale, tmp, f"{r}-{loops}", cpu, file, timeout):
                    name = bench.get_name()
                    loops_of[name] = bench.get_loops()
                    rounds[name].append(statistics.median(bench.get_values()))
                    if name in merged:
                        merged[name].add_runs(bench)
                    else:
                        merged[name] = bench
        benchmarks = [merged[spec["name"]] for spec in specs]
    suite = suite_json(benchmarks)
    facts = {}
    for bench in benchmarks:
        name = bench.get_name()
        facts[name] = timing(list(bench.get_values()), loops=bench.get_loops(), affinity=cpu,
                             rounds=rounds[name])
    return facts, suite


def suite_json(benchmarks: list) -> dict:
    """pyperf benchmarks as one suite document, written by pyperf itself (per-benchmark metadata
    kept apart, which a hand-made merge of two suites' JSON would not do)."""
    import pyperf

    with tempfile.TemporaryDirectory(prefix="chapter-suite-") as tmp:
        path = Path(tmp, "suite.json")
        pyperf.BenchmarkSuite(benchmarks).dump(str(path))
        return json.loads(path.read_text())


def merge_suites(suites: list[dict]) -> dict | None:
    """Several suite documents (e.g. one per experiment) as one."""
    import pyperf

    benchmarks = [b for s in suites for b in pyperf.BenchmarkSuite.loads(json.dumps(s)).get_benchmarks()]
    return suite_json(benchmarks) if benchmarks else None


def facts_suite(doc: dict, taken: set[str]) -> list:
    """Every other timing of a results document as pyperf benchmarks named "experiment.fact"
    (seconds; a per-operation cost in ns is converted), so `pyperf compare_to` between two
    machines' files covers allocation, locality, latency and the Python costs too."""
    import pyperf

    out = []
    for exp_name, exp in sorted(doc.get("experiments", {}).items()):
        if exp.get("status") != "ok":
            continue
        for name, f in sorted(exp.get("facts", {}).items()):
            values = (f.get("spread") or {}).get("values") if isinstance(f, dict) else None
            if not values or f.get("unit") not in ("s", "ns") or name in taken:
                continue
            scale = 1e-9 if f["unit"] == "ns" else 1.0
            run = pyperf.Run([v * scale for v in values], collect_metadata=False,
                             metadata={"name": f"{exp_name}.{name}", "unit": "second", "loops": 1,
                                       "description": f"{exp_name}.{name} ({f['unit']}, as measured)"})
            out.append(pyperf.Benchmark([run]))
    return out
