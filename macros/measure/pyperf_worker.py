"""pyperf benchmark script (standalone: pyperf re-runs this file for each worker process).

Spec entries:
  {"name": ..., "kind": "cffi", "path": DIR, "module": NAME, "func": F, "args": [...]}
  {"name": ..., "kind": "py", "path": FILE, "func": F, "args": [...], "prepare": G?}
With "prepare", the timed call is F(G(*args)): G's work (building the data) is not timed.
"""
import importlib
import importlib.util
import json
import sys
import time

import pyperf


def _load_py(path):
    spec = importlib.util.spec_from_file_location("listing_" + str(abs(hash(path))), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _timer(call, args):
    def time_func(loops):
        t0 = time.perf_counter()
        for _ in range(loops):
            call(*args)
        return time.perf_counter() - t0
    return time_func


def _lazy(entry):
    state = {}

    def time_func(loops):
        if "f" not in state:
            state["f"] = _timer(*make(entry))
        return state["f"](loops)
    return time_func


def make(entry):
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


def main():
    def add_args(cmd, args):
        cmd.extend(("--spec", args.spec))

    runner = pyperf.Runner(add_cmdline_args=add_args)
    runner.argparser.add_argument("--spec", required=True)
    args = runner.parse_args()
    with open(args.spec) as fh:
        specs = json.load(fh)
    for entry in specs:
        # Built lazily: each worker process runs only one benchmark of the list.
        runner.bench_time_func(entry["name"], _lazy(entry),
                               metadata={"description": entry.get("description", "")})


if __name__ == "__main__":
    main()
