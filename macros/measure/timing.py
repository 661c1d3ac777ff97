"""Timing through pyperf: each benchmark runs in worker processes spawned by pyperf.

A spec file lists the benchmarks; `pyperf_worker.py` (a standalone script, as pyperf
re-executes it for each worker) loads the code under test and times it.
"""
from __future__ import annotations

import json
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


def run_benchmarks(specs: list[dict], scale: Scale, *, file: str,
                   timeout: float = 600.0) -> tuple[dict, dict]:
    """Time each spec in pyperf workers; returns (facts by name, pyperf suite as JSON).

    A spec may fix "loops" (e.g. 1 for a function that already takes tenths of a second):
    pyperf then skips its calibration runs, which would otherwise cost more than the timing.
    """
    import pyperf

    groups: dict[int, list[dict]] = {}
    for spec in specs:
        groups.setdefault(int(spec.get("loops", 0)), []).append(spec)
    cpu = pin_cpu()
    benchmarks = []
    with tempfile.TemporaryDirectory(prefix="chapter-pyperf-") as tmp:
        for loops, group in sorted(groups.items()):
            spec_path = Path(tmp, f"spec-{loops}.json")
            out_path = Path(tmp, f"out-{loops}.json")
            spec_path.write_text(json.dumps(group))
            argv = [sys.executable, str(WORKER), "--spec", str(spec_path), "-o", str(out_path),
                    "--quiet", "-p", str(scale.processes), "-n", str(scale.values),
                    "-w", str(scale.warmups), "--min-time", str(scale.min_time), "--loops", str(loops)]
            if cpu is not None:
                argv += ["--affinity", cpu]
            env = runner.minimal_env({"PYTHONPATH": os.pathsep.join(sys.path[1:])})
            runner.run(argv, file=file, timeout=timeout, memory_bytes=None, env=env)
            try:
                benchmarks += pyperf.BenchmarkSuite.load(str(out_path)).get_benchmarks()
            except (OSError, ValueError) as exc:   # the workers ended without writing results
                raise MeasureError(f"pyperf wrote no readable results ({type(exc).__name__}: {exc})",
                                   file=file, kind="crash")
        merged = Path(tmp, "suite.json")
        pyperf.BenchmarkSuite(benchmarks).dump(str(merged))
        suite = json.loads(merged.read_text())
    facts = {}
    for bench in benchmarks:
        facts[bench.get_name()] = timing(list(bench.get_values()), loops=bench.get_loops(), affinity=cpu)
    return facts, suite
