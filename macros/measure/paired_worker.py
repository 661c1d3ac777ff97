"""Paired timing worker (standalone: timing.py runs it as a program, one process per batch).

    python paired_worker.py SPEC OUT

SPEC (JSON): {"benchmarks": [entry, ...], "rounds": R, "first": F, "min_time": S,
              "warmups": W, "cpu": N or null, "clock": "thread" or "wall"}
  entry: {"name": ..., "kind": "cffi", "path": DIR, "module": NAME, "func": F, "args": [...]}
         {"name": ..., "kind": "py", "path": FILE, "func": F, "args": [...], "prepare": G?}
  With "prepare", the timed call is F(G(*args)): G's work (building the data) is not timed.
  An entry's "loops" (calls per value) is used as given; 0 or absent: calibrated, doubling
  until one value lasts at least S seconds. Its "repeats" (default 1): values taken in a row
  within each round, of which the round keeps the median; for a short benchmark beside long
  ones, an occasional stall (page faults for a fresh array, an interrupt) is then out-voted
  within its round at little cost, instead of widening the interval over the rounds.

Every benchmark is loaded first; then each round times each benchmark once, forward on even
rounds and reversed on odd ones, numbered from F (A B | B A | A B ...): both sides of a
ratio are timed in this one process, seconds apart, as often first as second.

OUT (JSON): {"loops": {name: loops}, "values": {name: [seconds per call, one per round]},
             "warmups": {name: [seconds per call, ...]}}

The clock: "thread" (the default) is the CPU time of this thread (time.thread_time): every
call runs in it, and time the scheduler gives other programs is left out, which on a shared
machine is most of the noise; on a quiet one it agrees with the wall clock. "wall" is
time.perf_counter.
"""
import importlib
import importlib.util
import json
import os
import sys
import time


def _load_py(path):
    spec = importlib.util.spec_from_file_location("listing_" + str(abs(hash(path))), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make(entry):
    """(the function to call, its arguments) for one benchmark entry."""
    kind = entry["kind"]
    if kind == "cffi":
        sys.path.insert(0, entry["path"])
        lib = importlib.import_module(entry["module"]).lib
        return getattr(lib, entry["func"]), tuple(entry.get("args", ()))
    if kind == "py":
        mod = _load_py(entry["path"])
        args = tuple(entry.get("args", ()))
        if entry.get("prepare"):
            args = (getattr(mod, entry["prepare"])(*args),)
        return getattr(mod, entry["func"]), args
    raise SystemExit(f"unknown benchmark kind {kind!r}")


CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}
clock = CLOCKS["thread"]


def timed(call, args, loops):
    """Seconds per call, over `loops` calls."""
    t0 = clock()
    for _ in range(loops):
        call(*args)
    return (clock() - t0) / loops


def value(call, args, loops, repeats=1):
    """A round's value: the median of `repeats` values taken in a row."""
    if repeats <= 1:
        return timed(call, args, loops)
    values = sorted(timed(call, args, loops) for _ in range(repeats))
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def calibrate(call, args, min_time):
    """Calls per value, doubling until a value lasts at least min_time."""
    loops = 1
    while loops < 1 << 30:
        if timed(call, args, loops) * loops >= min_time:
            return loops
        loops *= 2
    return loops


def order(names, index):
    return names if index % 2 == 0 else names[::-1]


def main():
    global clock
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    clock = CLOCKS[spec.get("clock", "thread")]
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(spec["cpu"])})
    entries = spec["benchmarks"]
    names = [e["name"] for e in entries]
    funcs = {e["name"]: make(e) for e in entries}
    loops = {e["name"]: int(e.get("loops") or 0) or calibrate(*funcs[e["name"]], spec["min_time"])
             for e in entries}
    warmups = {n: [] for n in names}
    for w in range(int(spec.get("warmups", 1))):
        for n in order(names, w):
            warmups[n].append(timed(*funcs[n], loops[n]))
    repeats = {e["name"]: int(e.get("repeats") or 1) for e in entries}
    values = {n: [] for n in names}
    first = int(spec.get("first", 0))
    for r in range(first, first + int(spec["rounds"])):
        for n in order(names, r):
            values[n].append(value(*funcs[n], loops[n], repeats[n]))
    with open(sys.argv[2], "w") as fh:
        json.dump({"loops": loops, "values": values, "warmups": warmups}, fh)


if __name__ == "__main__":
    main()
