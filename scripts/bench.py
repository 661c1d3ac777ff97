#!/usr/bin/env python3
"""Benchmark the build itself, in a temporary copy of the project.

    python scripts/bench.py [--scale full|quick] [--builds 3] [--write reports/bench.md]

Runs, one after the other: cold builds (`CHAPTER_MEASURE=fresh mkdocs build --strict`), a warm
rebuild with nothing changed, a build from the cache only (`CHAPTER_MEASURE=cached`), and
three prose edits under `mkdocs serve` and under `mkdocs serve --dirty` (the time from saving a
page to the server returning it rewritten). Prints a Markdown report: the build times, each
claim's verdict where it differed between the cold builds, and for each headline ratio (each
experiment's `headline`) its value in each cold build, its 95% interval and its spread over
the builds (max / min - 1). With --write, the report also goes to that file.

A cold full-scale build measures everything: run it on a quiet machine (the report starts
with the load check; `uptime` below 0.5 is quiet), or the figures say more about the
neighbours than about the method.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from macros.measure import ledger, loadcheck, stats  # noqa: E402
from macros.measure.targets import SAME_SPREAD as SPREAD_TARGET  # noqa: E402
from macros.measure.config import NOISY_REL_IQR, SCALES, TARGET_REL_CI  # noqa: E402
from macros.measure.experiments import declarations, discover  # noqa: E402
from macros.measure.results import Results  # noqa: E402
from scripts.project_copy import copy_project as _copy  # noqa: E402


# Verdicts that decide nothing: a claim may move through these between builds.
UNDECIDED = ("borderline", "not-measured")
# Issue "Figures that hold still": each headline ratio within this of itself over the cold builds.


def copy_project(dest: Path) -> Path:
    return _copy(ROOT, dest)

EDITED_PAGE = "docs/index.md"     # served at /
SERVE_TIMEOUT_S = 300.0


def builds_env() -> dict[str, str]:
    """The environment the timed builds run in: this one, but writing bytecode as Python does
    by default. The copy has no __pycache__, and where PYTHONDONTWRITEBYTECODE is set (as on
    some CI and sandbox machines) every build would compile the glue from source again, which
    no reader's second build does (0.17 s of a cached build here)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build(proj: Path, scale: str, mode: str, strict: bool = False) -> dict:
    """One `mkdocs build`: its wall time, exit status, and the tail of its log."""
    env = {**builds_env(), "CHAPTER_SCALE": scale, "CHAPTER_MEASURE": mode}
    argv = [sys.executable, "-m", "mkdocs", "build"] + (["--strict"] if strict else [])
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=proj, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    noisy = set(re.findall(r"figure (\S+) is noisy", proc.stderr))
    return {"seconds": seconds, "status": proc.returncode, "log": proc.stderr, "noisy": sorted(noisy)}


def repeated(proj: Path, scale: str, mode: str, times: int = 3) -> dict:
    """`times` builds one after the other (a second is a moment on a shared host): their
    median, each run's seconds, and the worst exit status."""
    runs = [build(proj, scale, mode) for _ in range(times)]
    return {"seconds": stats.median([r["seconds"] for r in runs]), "runs": [round(r["seconds"], 2) for r in runs],
            "status": max(r["status"] for r in runs), "log": runs[-1]["log"], "noisy": []}


def results_doc(proj: Path, scale: str) -> dict:
    suffix = "" if scale == "full" else f".{scale}"
    files = sorted(p for p in (proj / "results").glob(f"*{suffix}.json")
                   if not p.name.endswith(".pyperf.json") and (scale != "full" or p.name.count(".") == 1))
    return json.loads(files[0].read_text()) if files else {}


def headline(doc: dict) -> dict[str, dict]:
    """Every headline ratio of the results: value, interval half-width, rounds."""
    out = {}
    for exp in discover():
        facts = doc.get("experiments", {}).get(exp.name, {}).get("facts", {})
        for name in exp.headline:
            f = facts.get(f"{name}") or {}
            if isinstance(f.get("value"), (int, float)):
                out[f"{exp.name}.{name}"] = {"value": f["value"], "rel": f.get("rel_spread"),
                                             "noisy": bool(f.get("noisy")),
                                             "rounds": (f.get("rounds") or {}).get("rounds")}
    return out


def verdicts(doc: dict, ledger_file: Path = ROOT / "claims.toml") -> dict[str, str]:
    """Each claim's verdict on one build's results, as the pages give it."""
    results = Results(doc, declarations(discover()))
    claims = ledger.load(ledger_file, results.fact_names(), results.evidence_names())
    return {cid: ledger.evaluate(claim, results).status for cid, claim in claims.items()}


def verdict_lines(per_build: list[dict[str, str]]) -> list[str]:
    """The verdicts over the cold builds: how many held still, and each one that moved. A
    verdict may move only through "borderline" (an interval across the book's bound says it
    may); one that moved between two decided verdicts is a flip the intervals did not allow."""
    if not per_build:
        return []
    names = list(per_build[0])
    moved = [cid for cid in names if len({b.get(cid) for b in per_build}) > 1]
    lines = ["", f"Verdicts: {len(names) - len(moved)} of {len(names)} claims gave the same verdict "
                 f"in every cold build" + ("." if not moved else "; these moved:"), ]
    flips = 0
    for cid in moved:
        seen = [b.get(cid, "—") for b in per_build]
        decided = {v for v in seen if v not in UNDECIDED}
        flip = len(decided) > 1
        flips += flip
        lines.append(f"- `{cid}`: {' / '.join(seen)}"
                     + (" (**a flip between decided verdicts**)" if flip else " (through borderline: its interval reached the bound)"))
    if moved:
        lines += ["", f"{flips} flip{'s' if flips != 1 else ''} between decided verdicts."]
    return lines


def host_during(doc: dict, after: dict) -> dict:
    """How quiet the host was around one cold build: the build's own check before it timed
    anything (in its results), and the benchmark's check of a second right after it."""
    before = ((doc.get("provenance") or {}).get("load") or {}).get("before_timing") or {}
    checks = [c for c in (before, after) if c]
    jitters = [c["loop_jitter"] for c in checks if isinstance(c.get("loop_jitter"), (int, float))]
    busy = [c["why"] for c in checks if c.get("busy")]
    text = "/".join(f"{j:.0%}" for j in jitters) or "not read"
    return {"busy": bool(busy), "why": "; ".join(busy), "text": text}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except OSError:
        return None


def serve_edits(proj: Path, scale: str, dirty: bool, edits: int = 3) -> list[float]:
    """Seconds from saving an edit of a page to `mkdocs serve` returning the page with it, for
    `edits` edits in a row (an empty list if the server never showed one)."""
    port = free_port()
    env = {**builds_env(), "CHAPTER_SCALE": scale, "CHAPTER_MEASURE": "auto"}
    argv = [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"] + (["--dirty"] if dirty else [])
    proc = subprocess.Popen(argv, cwd=proj, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    page = proj / EDITED_PAGE
    original = page.read_text()
    times: list[float] = []
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while fetch(url) is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                return times
            time.sleep(0.1)
        for _ in range(edits):
            time.sleep(1.0)                # let the server settle after its last build
            marker = f"bench-edit-{time.time_ns()}"
            t0 = time.perf_counter()
            page.write_text(original + f"\n\n{marker}\n")
            while time.monotonic() < deadline:
                body = fetch(url)
                if body and marker in body:
                    times.append(time.perf_counter() - t0)
                    break
                time.sleep(0.01)
            else:
                return times
        return times
    finally:
        page.write_text(original)
        os.killpg(proc.pid, signal.SIGTERM)     # the server this script started, and its children
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def report(scale: str, load: dict, cold: list[dict], warm: dict, cached: dict,
           edits: dict[str, list[float]], ratios: list[dict[str, dict]],
           per_build: list[dict[str, str]] | None = None) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Benchmark of the build", "",
             "<!-- Written by scripts/bench.py (--write): every figure below is its output or one of "
             "the engine's constants. Run it again rather than editing this file. -->", "",
             f"`python scripts/bench.py --scale {scale}`, {now}, {os.cpu_count()} CPUs. "
             f"Load before it started: {loadcheck.describe(load)}"
             + (f" (**busy**: {load['why']})." if load["busy"] else " (quiet)."), "",
             "| build | seconds | exit status | host: loop jitter before / after | noisy figures |",
             "|---|---|---|---|---|"]
    for i, b in enumerate(cold, 1):
        noisy = b.get("noisy") or []
        host = b.get("host") or {}
        lines.append(f"| cold {i} (`CHAPTER_MEASURE=fresh mkdocs build --strict`) | {b['seconds']:.1f} | "
                     f"{b['status']}{' (strict failed)' if b['status'] else ''} | "
                     f"{host.get('text', '—')}{' **busy**' if host.get('busy') else ''} | "
                     f"{len(noisy)}{': ' + ', '.join(noisy) if noisy else ''} |")
    for what, b in (("warm rebuild, nothing changed", warm), ("cached only (`CHAPTER_MEASURE=cached`)", cached)):
        runs = b.get("runs")
        of = f" (median of {len(runs)}: {', '.join(f'{t:.2f}' for t in runs)})" if runs else ""
        lines.append(f"| {what}{of} | {b['seconds']:.1f} | {b['status']} | | |")
    for how, times in edits.items():
        lines.append(f"| prose edit under `{how}`, until the page is rewritten (median of "
                     f"{len(times)}: {', '.join(f'{t:.2f}' for t in times)}) | "
                     + (f"{stats.median(times):.2f} | | | |" if times else "no rewrite seen | | | |"))
    passed = sum(1 for b in cold if b["status"] == 0)
    lines += ["", f"`--strict`: {passed} of {len(cold)} cold builds passed."]
    lines += verdict_lines(per_build or [])
    busy = [i for i, b in enumerate(cold, 1) if (b.get("host") or {}).get("busy")]
    if busy or load.get("busy"):
        lines += ["", f"**The host was busy** ({'before the benchmark' if load.get('busy') else ''}"
                      f"{', ' if busy and load.get('busy') else ''}"
                      f"{'around cold build ' + ', '.join(map(str, busy)) if busy else ''}): "
                      f"a fixed loop's time varied by more than the noise limit ({NOISY_REL_IQR:.0%}). "
                      f"The spreads and `--strict` results below say more about the host than about "
                      f"the method; the targets can only be judged by a run on a quiet host."]
    names = sorted(set().union(*ratios)) if ratios else []
    head = " | ".join(f"build {i}" for i in range(1, len(ratios) + 1))
    lines += ["", f"Headline ratios: value in each cold build (± its {stats.LEVEL:.0%} interval), and the spread "
                  f"over the builds (max / min - 1). Target: interval within ±{TARGET_REL_CI:.0%}, "
                  f"spread within {SPREAD_TARGET:.0%}; noisy beyond ±{NOISY_REL_IQR:.0%}.", "",
              f"| ratio | {head} | spread |", "|---|" + "---|" * (len(ratios) + 1)]
    spreads = []
    for name in names:
        cells, values = [], []
        for r in ratios:
            f = r.get(name)
            if f is None:
                cells.append("—")
                continue
            values.append(f["value"])
            rel = f" ±{f['rel']:.1%}" if isinstance(f.get("rel"), (int, float)) else ""
            cells.append(f"{f['value']:.4g}{rel}{' noisy' if f['noisy'] else ''}")
        sp = stats.relative_spread(values) if len(values) > 1 else None
        if sp is not None:
            spreads.append(sp)
        lines.append(f"| {name} | {' | '.join(cells)} | {f'{sp:.1%}' if sp is not None else '—'} |")
    if spreads:
        within = sum(s <= SPREAD_TARGET for s in spreads)
        lines += ["", f"Spread: median {stats.median(spreads):.1%}, worst {max(spreads):.1%}; "
                      f"{within} of {len(spreads)} ratios within {SPREAD_TARGET:.0%}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=sorted(SCALES))
    ap.add_argument("--builds", type=int, default=3, help="cold builds (default 3)")
    ap.add_argument("--write", type=Path, help="also write the report to this file")
    args = ap.parse_args(argv)
    load = loadcheck.before_timing(interval=1.0)
    print(f"load before the benchmark: {loadcheck.describe(load)}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="chapter-bench-") as tmp:
        proj = copy_project(Path(tmp))
        cold, ratios, per_build = [], [], []
        for i in range(args.builds):
            for leftover in (".chapter-cache", "results", "site"):
                shutil.rmtree(proj / leftover, ignore_errors=True)
            b = build(proj, args.scale, "fresh", strict=True)
            doc = results_doc(proj, args.scale)
            b["host"] = host_during(doc, loadcheck.before_timing(interval=1.0))
            print(f"cold build {i + 1}: {b['seconds']:.1f} s, status {b['status']}, host {b['host']['text']}",
                  file=sys.stderr)
            cold.append(b)
            ratios.append(headline(doc))
            per_build.append(verdicts(doc, proj / "claims.toml"))
        warm = repeated(proj, args.scale, "auto")
        print(f"warm rebuild: {warm['runs']} s", file=sys.stderr)
        cached = repeated(proj, args.scale, "cached")
        print(f"cached-only build: {cached['runs']} s", file=sys.stderr)
        edits = {}
        for how, dirty in (("mkdocs serve", False), ("mkdocs serve --dirty", True)):
            edits[how] = serve_edits(proj, args.scale, dirty)
            print(f"prose edit under {how}: {edits[how]} s", file=sys.stderr)
    text = report(args.scale, load, cold, warm, cached, edits, ratios, per_build)
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
