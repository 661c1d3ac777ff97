"""The pyperf file holds every timing of the results, and two machines' files compare."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import prewarmed

pytestmark = pytest.mark.slow


def _timing_facts(doc: dict) -> set[str]:
    return {f"{e}.{n}" for e, exp in doc["experiments"].items() if exp.get("status") == "ok"
            for n, f in exp["facts"].items()
            if isinstance(f, dict) and f.get("unit") in ("s", "ns") and (f.get("spread") or {}).get("values")}


def test_every_timing_is_in_the_pyperf_file(quick_site):
    proj, results, _ = quick_site
    doc = json.loads(results.read_text())
    suite = json.loads(results.with_name(results.name.replace(".json", ".pyperf.json")).read_text())
    names = {b["metadata"]["name"] for b in suite["benchmarks"]}
    own = {b["metadata"]["name"] for e in doc["experiments"].values() if e.get("pyperf")
           for b in e["pyperf"]["benchmarks"]}
    timings = _timing_facts(doc)
    expected = {t for t in timings if t.partition(".")[2] not in own}
    assert {"alloc", "latency", "locality", "gil"} <= {t.partition(".")[0] for t in expected}
    assert expected <= names, sorted(expected - names)
    assert own <= names


def test_compare_to_between_two_results_files(quick_site, tmp_path):
    """A second measurement of allocation and latency (as another machine would make) against
    the site's: pyperf compare_to prints a row for each benchmark both files hold."""
    proj, results, _ = quick_site
    other = tmp_path / "other"
    shutil.copytree(proj, other, ignore=shutil.ignore_patterns("site"))
    got = prewarmed.run(["scripts/measure.py", "--scale", "quick", "--mode", "fresh", "--only", "alloc", "latency"],
                        cwd=other, timeout=300)
    assert got.returncode in (0, 1), got.stderr[-2000:]
    mine = results.with_name(results.name.replace(".json", ".pyperf.json"))
    theirs = other / "results" / mine.name
    out = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(mine), str(theirs), "--table"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("alloc.heap_pair", "alloc.stack_fixed", "latency.l1_ns", "latency.ram_ns"):
        assert name in out.stdout, out.stdout
    assert "faster" in out.stdout or "slower" in out.stdout or "not significant" in out.stdout
