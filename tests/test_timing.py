"""The timing worker runs the benchmarks of a round in alternating order (A B | B A), in one
process, and the adaptive loop drives it batch by batch."""
import json
import sys

import pytest

from macros.measure import runner
from macros.measure.config import SCALES, TARGET_REL_CI
from macros.measure.timing import WORKER, Paired, run_paired

LISTING = '''
import time

LOG = {log!r}


def mark(name):
    with open(LOG, "a") as fh:
        fh.write(name + "\\n")
    # Busy for that much CPU time (the worker's clock), however often the machine takes the
    # CPU away: a wall-clock deadline would give B less CPU than A on a loaded machine.
    end = time.thread_time() + (0.001 if name == "a" else 0.002)
    while time.thread_time() < end:
        pass


CALLS = []


def stall_now_and_then(name):
    """1 ms of CPU time, but 10 ms on every third call: a stall the median of three out-votes."""
    CALLS.append(name)
    end = time.thread_time() + (0.010 if len(CALLS) % 3 == 1 else 0.001)
    while time.thread_time() < end:
        pass


def nap(name):
    time.sleep(0.02)                     # no CPU time at all
'''


@pytest.fixture
def listing(tmp_path):
    log = tmp_path / "calls.log"
    path = tmp_path / "marks.py"
    path.write_text(LISTING.format(log=str(log)))
    specs = [{"name": n, "kind": "py", "path": str(path), "func": "mark", "args": [n], "loops": 1}
             for n in ("a", "b")]
    return specs, log


def test_worker_alternates_abba_within_one_process(listing, tmp_path):
    specs, log = listing
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"benchmarks": specs, "rounds": 4, "first": 0, "min_time": 0.0,
                                "warmups": 1, "cpu": None}))
    out = tmp_path / "out.json"
    runner.run([sys.executable, str(WORKER), str(spec), str(out)], file="paired_worker.py",
               env=runner.minimal_env())
    calls = log.read_text().split()
    assert calls == ["a", "b"] + list("abbaabba")         # one warm-up round, then A B | B A ...
    values = json.loads(out.read_text())["values"]
    assert [len(values["a"]), len(values["b"])] == [4, 4]
    assert all(b > a for a, b in zip(values["a"], values["b"]))   # the 2 ms side is the slower


def test_a_batch_starting_on_an_odd_round_starts_reversed(listing, tmp_path):
    specs, log = listing
    paired = Paired(specs, SCALES["quick"], str(tmp_path), file="marks.py", timeout=60)
    paired.batch(2, 1)
    assert log.read_text().split()[-4:] == list("baab")


def test_run_paired_gives_every_value_and_a_pyperf_suite(listing):
    specs, log = listing
    outcome, suite = run_paired(specs, {"r": ("b", "a")}, SCALES["quick"], file="marks.py",
                                budget=0.5, target=TARGET_REL_CI)
    assert outcome.rounds >= SCALES["quick"].first_rounds and outcome.rounds % 2 == 0
    assert len(outcome.series["a"]) == len(outcome.series["b"]) == outcome.rounds
    names = [b["metadata"]["name"] for b in suite["benchmarks"]]
    assert names == ["a", "b"]
    assert sum(len(r.get("values", [])) for r in suite["benchmarks"][0]["runs"]) == outcome.rounds


@pytest.mark.parametrize("clock, slept", [("thread", False), ("wall", True)])
def test_the_clock_is_the_threads_cpu_time_unless_asked(listing, tmp_path, clock, slept):
    specs, _ = listing
    specs = [{**specs[0], "name": "nap", "func": "nap"}]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"benchmarks": specs, "rounds": 2, "first": 0, "min_time": 0.0,
                                "warmups": 0, "cpu": None, "clock": clock}))
    out = tmp_path / "out.json"
    runner.run([sys.executable, str(WORKER), str(spec), str(out)], file="paired_worker.py",
               env=runner.minimal_env())
    values = json.loads(out.read_text())["values"]["nap"]
    # A 20 ms sleep: the wall clock sees it, the thread's CPU time does not.
    assert all((v > 0.015) == slept for v in values), values


def test_repeats_take_the_median_of_calls_in_a_row(listing, tmp_path):
    """A benchmark with "repeats": 3 is called three times in a row in each round, and the
    round keeps the median: the stall on one call in three never reaches the values."""
    specs, log = listing
    stalls = {**specs[1], "name": "s", "func": "stall_now_and_then", "repeats": 3}
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"benchmarks": [specs[0], stalls], "rounds": 4, "first": 0,
                                "min_time": 0.0, "warmups": 0, "cpu": None}))
    out = tmp_path / "out.json"
    runner.run([sys.executable, str(WORKER), str(spec), str(out)], file="paired_worker.py",
               env=runner.minimal_env())
    assert log.read_text().split() == list("aaaa")          # the other side: once per round
    values = json.loads(out.read_text())["values"]
    assert len(values["s"]) == 4
    assert all(0.0009 < v < 0.005 for v in values["s"]), values["s"]
