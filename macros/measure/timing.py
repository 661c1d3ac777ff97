"""Timing Python and C functions in pairs, in worker processes, until the figures hold still.

The benchmarks of an experiment are timed together by `paired_worker.py`, one process per
batch of rounds; each round times every benchmark once, the order alternating forward and
reversed (A B | B A ...), so both sides of every ratio are timed seconds apart in the same
process. adaptive.run decides how many rounds: until each headline figure's 95% interval is
within the target, or the experiment's time budget is spent. The values are also written as
a pyperf suite (one run per batch), for anyone who prefers pyperf's own tools.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Mapping

from . import adaptive, runner
from .config import Scale
from .errors import MeasureError

WORKER = Path(__file__).with_name("paired_worker.py")


def pin_cpu() -> str | None:
    """The CPU to pin workers to: the last one we may run on, if there is more than one."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    return str(cpus[-1]) if len(cpus) > 1 else None


class Paired:
    """The benchmarks of one experiment, timed batch by batch in fresh worker processes."""

    def __init__(self, specs: list[dict], scale: Scale, tmp: str, *, file: str, timeout: float,
                 clock: str = "thread") -> None:
        self.specs, self.scale, self.tmp, self.file, self.timeout = specs, scale, tmp, file, timeout
        self.clock = clock          # the timing thread's CPU time: see paired_worker.py
        self.cpu = pin_cpu()
        self.loops = {s["name"]: int(s.get("loops", 0)) for s in specs}
        self.runs: dict[str, list[tuple[list[float], list[float]]]] = {s["name"]: [] for s in specs}

    def batch(self, rounds: int, first: int) -> dict[str, list[float]]:
        tag = f"{first}-{rounds}"
        spec_path, out_path = Path(self.tmp, f"spec-{tag}.json"), Path(self.tmp, f"out-{tag}.json")
        spec_path.write_text(json.dumps({
            "benchmarks": [{**s, "loops": self.loops[s["name"]]} for s in self.specs],
            "rounds": rounds, "first": first, "min_time": self.scale.min_time,
            "warmups": self.scale.warmups, "cpu": self.cpu, "clock": self.clock}))
        env = runner.minimal_env({"PYTHONPATH": os.pathsep.join(sys.path[1:])})
        runner.run([sys.executable, str(WORKER), str(spec_path), str(out_path)], file=self.file,
                   timeout=self.timeout, memory_bytes=None, env=env)
        try:
            out = json.loads(out_path.read_text())
        except (OSError, ValueError) as exc:   # the worker ended without writing its values
            raise MeasureError(f"the timing worker wrote no readable values ({type(exc).__name__}: {exc})",
                               file=self.file, kind="crash")
        self.loops.update(out["loops"])
        for name, values in out["values"].items():
            self.runs[name].append((values, out["warmups"].get(name, [])))
        return out["values"]

    def suite(self) -> dict:
        """Every value as a pyperf suite: one benchmark per spec, one run per batch."""
        import pyperf

        benchmarks = []
        for s in self.specs:
            meta = {"name": s["name"], "loops": self.loops[s["name"]], "unit": "second"}
            if s.get("description"):          # pyperf refuses an empty one
                meta["description"] = s["description"]
            runs = [pyperf.Run(values, warmups=[(self.loops[s["name"]], w) for w in warm] or None,
                               metadata=meta, collect_metadata=False)
                    for values, warm in self.runs[s["name"]]]
            benchmarks.append(pyperf.Benchmark(runs))
        return suite_json(benchmarks)


def run_paired(specs: list[dict], figures: Mapping[str, adaptive.Figure], scale: Scale, *,
               file: str, budget: float, target: float, timeout: float = 300.0,
               guards: Mapping[str, adaptive.Figure] | None = None, guard_target: float | None = None,
               log: Callable[[str], None] | None = None) -> tuple[adaptive.Outcome, dict]:
    """Time `specs` in rounds until every figure in `figures` is within `target` (and every
    one in `guards` within `guard_target`) or `budget` seconds are spent; returns (the
    outcome: every value by benchmark, and why it stopped; the pyperf suite)."""
    with tempfile.TemporaryDirectory(prefix="chapter-paired-") as tmp:
        paired = Paired(specs, scale, tmp, file=file, timeout=timeout)
        outcome = adaptive.run(paired.batch, figures, target=target, budget=budget,
                               first=scale.first_rounds, guards=guards, guard_target=guard_target,
                               log=log)
        return outcome, paired.suite()


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
