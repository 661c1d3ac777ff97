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
    """Time each spec in pyperf workers; returns (facts by name, pyperf suite as JSON)."""
    with tempfile.TemporaryDirectory(prefix="chapter-pyperf-") as tmp:
        spec_path = Path(tmp, "spec.json")
        out_path = Path(tmp, "out.json")
        spec_path.write_text(json.dumps(specs))
        argv = [sys.executable, str(WORKER), "--spec", str(spec_path), "-o", str(out_path),
                "--quiet", "-p", str(scale.processes), "-n", str(scale.values),
                "-w", str(scale.warmups), "--min-time", str(scale.min_time)]
        cpu = pin_cpu()
        if cpu is not None:
            argv += ["--affinity", cpu]
        env = runner.minimal_env({"PYTHONPATH": os.pathsep.join(sys.path[1:])})
        runner.run(argv, file=file, timeout=timeout, memory_bytes=None, env=env)
        suite = json.loads(out_path.read_text())
    facts = {}
    import pyperf
    loaded = pyperf.BenchmarkSuite.loads(json.dumps(suite))
    for bench in loaded.get_benchmarks():
        name = bench.get_name()
        facts[name] = timing(list(bench.get_values()), loops=bench.get_loops(), affinity=cpu)
    return facts, suite

