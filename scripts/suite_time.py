#!/usr/bin/env python3
"""Time the test suite against an earlier commit's, in turns, on this machine.

    python scripts/suite_time.py [--before deca1dd] [--pairs 3] [--before-python PATH]
                                 [--write reports/suite-time.md]

Clones this repository's HEAD and the `--before` commit (by default deca1dd, the suite when
issue 10 asked for one twice as fast) into a temporary folder, gives each a virtual environment
made from its own requirements-test.txt (or runs the earlier one with `--before-python`), then
runs `python -m pytest -q -p no:cacheprovider` in each, before and after in turns, `--pairs`
times (before first in odd pairs, after first in even ones): a shared host's slow minutes then
fall on both. Prints a Markdown report: each run's wall
time, the CPU time the whole machine was busy for meanwhile (/proc/stat), pytest's summary line
and the host's loop check before each pair; each pair's ratio (after / before) and the ratio of
the medians. With --write, the report also goes to that file.

Nothing else should run meanwhile: a pair takes about seven minutes here.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from macros.measure import loadcheck, machine, stats  # noqa: E402

DEFAULT_BEFORE = "deca1dd"
TARGET = 0.5               # issue 10: the suite in half of its time before, or less
SUITE = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]


def clone(commit: str, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "checkout", "-q", commit], cwd=dest, check=True)
    return dest


def venv(proj: Path) -> str:
    """A virtual environment in `proj` with its own test requirements: its python."""
    subprocess.run([sys.executable, "-m", "venv", str(proj / ".venv")], check=True)
    python = str(proj / ".venv" / "bin" / "python")
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "-r", "requirements-test.txt"], cwd=proj,
                         capture_output=True, text=True)
    if pip.returncode != 0:
        sys.exit(f"suite_time: pip could not install {proj.name}'s requirements-test.txt:\n{pip.stderr[-3000:]}")
    return python


def busy_seconds() -> float | None:
    times = machine.read_cpu_times()
    return None if times is None else times.busy / os.sysconf("SC_CLK_TCK")


def run_suite(proj: Path, python: str) -> dict:
    b0, t0 = busy_seconds(), time.monotonic()
    proc = subprocess.run([python, *SUITE], cwd=proj, capture_output=True, text=True)
    seconds, b1 = time.monotonic() - t0, busy_seconds()
    lines = [l for l in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", l)]
    return {"seconds": seconds, "busy": None if b0 is None or b1 is None else b1 - b0,
            "summary": lines[-1].strip("= ") if lines else f"exit status {proc.returncode}, no summary",
            "status": proc.returncode}


def report(before: str, after: str, pairs: list[dict]) -> str:
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# The test suite's time: `{after}` against `{before}`", "",
             f"{when}, {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
             f"`python {' '.join(SUITE)}` in clean clones, before and after in turns "
             f"(`python scripts/suite_time.py --before {before}`).", "",
             "| pair | host before the pair | before: s (busy CPU-s) | after: s (busy CPU-s) | after / before |",
             "|---|---|---|---|---|"]
    for i, p in enumerate(pairs, 1):
        b, a = p["before"], p["after"]
        cell = lambda r: f"{r['seconds']:.1f} ({r['busy']:.0f})" if r["busy"] is not None else f"{r['seconds']:.1f}"  # noqa: E731
        lines.append(f"| {i} | {loadcheck.describe(p['host'])}{' **busy**' if p['host'].get('busy') else ''} "
                     f"| {cell(b)} | {cell(a)} | {a['seconds'] / b['seconds']:.3f} |")
    mb = stats.median([p["before"]["seconds"] for p in pairs])
    ma = stats.median([p["after"]["seconds"] for p in pairs])
    ratios = [p["after"]["seconds"] / p["before"]["seconds"] for p in pairs]
    met = sum(r <= TARGET for r in ratios)
    lines += ["", f"Medians: before {mb:.1f} s, after {ma:.1f} s; ratio of the medians **{ma / mb:.3f}**. "
                  f"{met} of {len(ratios)} pairs at {TARGET} or less.", "",
              "pytest's summaries:", ""]
    for i, p in enumerate(pairs, 1):
        lines.append(f"- pair {i}: before `{p['before']['summary']}`; after `{p['after']['summary']}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=DEFAULT_BEFORE, help=f"the earlier commit (default {DEFAULT_BEFORE})")
    ap.add_argument("--pairs", type=int, default=3, help="runs of each, in turns (default 3)")
    ap.add_argument("--before-python", help="a python with the earlier commit's test requirements "
                                            "(default: a new virtual environment)")
    ap.add_argument("--write", type=Path, help="also write the report to this file")
    args = ap.parse_args(argv)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    if subprocess.run(["git", "rev-parse", "--verify", "-q", f"{args.before}^{{commit}}"], cwd=ROOT,
                      capture_output=True).returncode != 0:
        print(f"suite_time: no commit {args.before!r} in {ROOT}: name one `git log` shows", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="chapter-suite-time-") as tmp:
        before, after = clone(args.before, Path(tmp) / "before"), clone(head, Path(tmp) / "after")
        print("making the virtual environments ...", file=sys.stderr)
        py_before = args.before_python or venv(before)
        py_after = venv(after)
        pairs = []
        for i in range(args.pairs):
            host = loadcheck.before_timing(interval=1.0)
            pair = {"host": host}
            sides = [("before", before, py_before), ("after", after, py_after)]
            for side, proj, python in sides if i % 2 == 0 else sides[::-1]:   # neither always goes first
                pair[side] = run_suite(proj, python)
                print(f"pair {i + 1}, {side}: {pair[side]['seconds']:.1f} s, {pair[side]['summary']}", file=sys.stderr)
            pairs.append(pair)
    text = report(args.before, head, pairs)
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
