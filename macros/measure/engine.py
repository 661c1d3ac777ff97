"""Orchestration: for each experiment, reuse its cached result or measure it; write the results."""
from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import importlib.util
import json
import logging
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

from . import cache, deps, loadcheck, provenance, record, timing, toolchain
from .config import NOISY_REL_IQR, TARGET_REL_CI, Scale
from .errors import CacheMissing, InputError, MeasureError
from .experiments import Context, Experiment, declarations, discover
from .results import RESULTS_SCHEMA

ENGINE_DIR = Path(__file__).parent
CACHE_DIR = ".chapter-cache"
RESULTS_DIR = "results"
DEFAULT_LOCK_WAIT_S = 900.0   # a second build waits this long for the first (CHAPTER_LOCK_WAIT)

Progress = Callable[[str, str], None]   # (level, message)


def _default_progress(level: str, message: str) -> None:
    logging.getLogger("chapter.measure").log(getattr(logging, level.upper()), message)


def interpreter_id() -> dict:
    """The interpreter and its environment. Not the executable's name: `python` and `python3`
    (as mkdocs and scripts/measure.py may be started) are the same interpreter."""
    import sys
    p = provenance.python_info()
    return {**{k: p[k] for k in ("version", "implementation", "build", "compiler")},
            "binary": os.path.realpath(sys.executable), "prefix": sys.prefix}


def _engine_files(root: Path, exp: Experiment) -> tuple[Path, Path]:
    """The engine folder and the experiment's module as found under `root` (a copy of the
    project keys its own files), else those this process imported."""
    here = Path(root) / "macros" / "measure"
    module = Path(exp.module)
    if here.is_dir() and module.is_relative_to(ENGINE_DIR):
        return here, here / module.relative_to(ENGINE_DIR)
    return ENGINE_DIR, module


def key_for(exp: Experiment, root: Path, scale: Scale) -> str:
    sources = {}
    for rel in exp.sources:
        path = root / rel
        sources[rel] = deps.file_digest(path, cache.digest_bytes) if path.exists() else "missing"
    return cache.cache_key(
        experiment=exp.name, sources=sources, flags=list(exp.flags),
        compiler=toolchain.compiler_version() if needs_compiler(exp) else "not used",
        interpreter=interpreter_id(),
        machine=provenance.fingerprint(), scale=scale.as_dict(),
        # The noisy threshold too: facts are marked noisy when measured.
        engine=cache.engine_digest(*_engine_files(root, exp)),
    )


def results_paths(root: Path, scale: Scale) -> tuple[Path, Path]:
    suffix = "" if scale.name == "full" else f".{scale.name}"
    base = root / RESULTS_DIR / f"{provenance.fingerprint()}{suffix}"
    return Path(f"{base}.json"), Path(f"{base}.pyperf.json")


def needs_compiler(exp: Experiment) -> bool:
    """Whether an experiment compiles C (it has C flags or C sources)."""
    return bool(exp.flags) or any(s.endswith((".c", ".h")) for s in exp.sources)


def _run_one(exp: Experiment, root: Path, scale: Scale, progress: Progress,
             before: dict | None = None) -> dict:
    """Measure one experiment; a failure becomes a record with its reason, never an exception.
    `before` is the check made before this build's timing: kept with the result, so a later
    build that reuses it still says how busy the machine was when it was measured."""
    t0 = time.perf_counter()
    progress("info", f"measuring {exp.name}: {exp.title} ...")
    workdir = Path(tempfile.mkdtemp(prefix=f"chapter-{exp.name}-"))
    span = loadcheck.Span()
    try:
        ctx = Context(root=root, scale=scale, workdir=workdir,
                      log=lambda m: progress("debug", f"{exp.name}: {m}"))
        out = exp.run(ctx)
        facts, evidence = out.get("facts", {}), out.get("evidence", {})
        filled = record.check_output(exp.name, _shown_path(exp.module, root), facts, evidence,
                                     exp.facts, exp.evidence, out.get("missing_tools"))
        if filled:
            progress("warning", f"experiment {exp.name} recorded nothing for {', '.join(filled)} "
                                f"(shown as not measured); a bug in {_shown_path(exp.module, root)}")
        payload = {"status": "ok", "facts": facts, "evidence": evidence, "pyperf": out.get("pyperf")}
    except MeasureError as exc:
        payload = {"status": "failed", "reason": exc.reason, "file": exc.file, "kind": exc.kind}
    except Exception as exc:  # an engine bug must not lose the other experiments' results
        payload = {"status": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}",
                   "file": _shown_path(exp.module, root), "kind": "internal", "traceback": traceback.format_exc(limit=6)}
        progress("debug", f"{exp.name}: {payload['traceback'].rstrip()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    payload["load"] = {**span.end(), "before_timing": before}
    payload["measured_at"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    payload["sources"] = list(exp.sources)
    payload["machine"] = provenance.fingerprint()
    payload["toolchain"] = {"compiler": toolchain.compiler_version() if needs_compiler(exp) else None,
                            "python": platform.python_version()}
    if payload["status"] == "ok":
        noisy = record.mark_noisy(payload["facts"])
        progress("info", f"measured {exp.name} in {payload['seconds']:.1f} s")
        if noisy:
            progress("info", f"{exp.name}: 95% interval wider than ±{NOISY_REL_IQR:.0%} of the value "
                             f"(noisy): " + ", ".join(noisy))
        if payload["load"]["busy"] and exp.headline:
            progress("info", f"{exp.name}: the machine was busy while it was measured "
                             f"({payload['load']['why']}): its timings are noisier")
        missed = record.missed_target(payload["facts"], exp.headline)
        if missed:
            progress("info", f"{exp.name}: target ±{TARGET_REL_CI:.0%} not reached within the time "
                             f"budget: " + ", ".join(missed))
    else:
        where = f" ({payload['file']})" if payload.get("file") else ""
        progress("warning", f"experiment {exp.name}{where} not measured: {payload['reason']}\n"
                            f"  fix: {fix_hint(exp.name, payload)}")
    return payload


def fix_hint(name: str, failure: dict) -> str:
    """What to do about a failed experiment, by the kind of failure."""
    alone = f"`python scripts/measure.py --scale quick --only {name} -v` runs it alone"
    return {
        "compile": "correct the listing where the compiler points; the last good result stays cached "
                   "and is used again once the file is back as it was",
        "crash": f"the program fails when run; {alone}",
        "timeout": "the program did not end: look for a loop that never exits, or pass a larger "
                   "timeout= to runner.run in the experiment",
        "memory": "the program allocates more than its limit: look for an allocation without bound, "
                  "or pass a larger memory_bytes= to runner.run in the experiment",
        "toolchain": "install the tool the message names (its install command is given), or set CC "
                     "to a C compiler",
        "internal": f"a bug in the experiment's module; {alone} and shows the traceback",
    }.get(failure.get("kind"), alone)


def _shown_path(path: str | None, root: Path) -> str | None:
    if path and Path(path).is_relative_to(root):
        return str(Path(path).relative_to(root))
    return path


def _discover() -> list[Experiment]:
    """The experiments; an experiment module that cannot be imported is named, not dumped."""
    try:
        return discover()
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = getattr(exc, "filename", None) or next(
            (f.filename for f in reversed(tb) if "/experiments/" in f.filename), None)
        line = getattr(exc, "lineno", None) or next(
            (f.lineno for f in reversed(tb) if f.filename == where), None)
        raise MeasureError(f"an experiment module cannot be loaded ({type(exc).__name__}: {exc}); "
                           f"fix it or move it out of macros/measure/experiments/",
                           file=f"{where}:{line}" if where and line else where, kind="internal")


def declared() -> dict:
    """Every experiment's declared facts and evidence (what results.Results reads by)."""
    return declarations(_discover())


def _lock_wait() -> float:
    try:
        return float(os.environ.get("CHAPTER_LOCK_WAIT", DEFAULT_LOCK_WAIT_S))
    except ValueError:
        return DEFAULT_LOCK_WAIT_S


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """`kill` (SIGTERM) stops a measuring build the way Ctrl-C does: programs killed, cache intact."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def measure(root: Path, *, mode: str, scale: Scale, progress: Progress | None = None,
            only: list[str] | None = None) -> dict:
    """Bring every experiment's result up to date per `mode` and write the results document.

    Returns the results document (also written atomically under results/).
    """
    progress = progress or _default_progress
    root = Path(root).resolve()
    store = cache.Store(root / CACHE_DIR / scale.name)
    deps.keep_in(root / CACHE_DIR / "imports.json")
    experiments = _discover()
    check_only(only, experiments)
    check_sources(root, experiments)
    check_libraries()
    machine = provenance.fingerprint()
    try:
        toolchain.compiler()
        no_cc = None
    except MeasureError as exc:
        no_cc = exc
        progress("warning", f"{exc.reason}")
    entries: dict[str, dict] = {}
    load: dict | None = None                 # the check before timing, when this build measures
    todo: list[tuple[Experiment, str]] = []
    missing: list[str] = []
    for exp in experiments:
        if no_cc is not None and needs_compiler(exp):
            asked = not only or exp.name in only
            entry = _without_compiler(store, exp, no_cc, machine, progress if asked else _quiet)
            if entry is None and exp.without_compiler:
                pass    # measured below: what needs no compiler is measured all the same
            else:
                if entry is None and mode == "cached" and asked:
                    missing.append(exp.name)
                elif entry is not None or asked:
                    entries[exp.name] = entry or _failed(exp, no_cc)
                continue
        key = key_for(exp, root, scale)
        if only and exp.name not in only:
            # Not asked for: keep its cached result in the document if there is one.
            cached = _try_load(store, exp.name, key)
            if cached is not None:
                entries[exp.name] = {**cached, "key": key, "cached": True}
            continue
        cached = None
        if mode != "fresh":
            try:
                cached = store.load(exp.name, key)
            except cache.CorruptEntry as exc:
                progress("warning", str(exc))
        if cached is not None and (cached.get("status") == "ok" or mode in ("cached", "stale")):
            entries[exp.name] = {**cached, "key": key, "cached": True}
            continue
        if mode == "cached":
            missing.append(exp.name)
        elif mode == "stale":
            newest = store.newest(exp.name, machine)
            if newest:
                entries[exp.name] = {**newest[1], "key": newest[0], "cached": True, "stale": True,
                                     "stale_reason": "CHAPTER_MEASURE=stale: its sources or the engine "
                                                     "changed since it was measured"}
                progress("warning", f"{exp.name}: using stale results from {newest[1].get('measured_at')}")
            else:
                missing.append(exp.name)
        else:
            todo.append((exp, key))
    if missing:
        hint = ("Install a C compiler, or copy in a cache measured on this machine."
                if no_cc is not None else
                "Build once with CHAPTER_MEASURE=auto on this machine "
                f"(scale {scale.name}) to measure them.")
        raise CacheMissing(missing, hint)
    if todo:
        wait = _lock_wait()
        on_wait = lambda holder: progress(  # noqa: E731
            "info", f"another build ({holder}) holds the cache lock in {store.folder}; "
                    f"waiting up to {wait:g} s for it (CHAPTER_LOCK_WAIT)")
        done: list[str] = []
        current = None
        try:
            with _sigterm_as_interrupt(), store.lock(wait_s=wait, on_wait=on_wait):
                store.sweep()
                load = loadcheck.before_timing()
                # info, not a warning: a busy machine alone must not fail a --strict build;
                # the figures it made too noisy do.
                progress("info", f"before measuring: {loadcheck.describe(load)}"
                         + (f" -- busy ({load['why']}): timings will be noisier than on a quiet "
                            f"machine" if load["busy"] else ""))
                for exp, key in todo:
                    current = exp.name
                    # The other build may have measured it while we waited.
                    cached = None if mode == "fresh" else _try_load(store, exp.name, key)
                    if cached and cached.get("status") == "ok":
                        payload = cached
                    else:
                        payload = _run_one(exp, root, scale, progress, before=load)
                        store.save(exp.name, key, payload)
                    entries[exp.name] = {**payload, "key": key, "cached": payload is cached}
                    done.append(exp.name)
                    current = None
        except KeyboardInterrupt:
            left = [e.name for e, _ in todo if e.name not in done]
            progress("error", "interrupted" + (f" while measuring {current}" if current else "")
                     + f"; its programs were stopped. Kept: {', '.join(done) or 'nothing new'}. "
                     f"The next build measures only {', '.join(left)}.")
            raise
    doc = build_document(root, scale, experiments, entries)
    write_results(root, scale, doc)
    return doc


def check_only(only: list[str] | None, experiments: list[Experiment]) -> None:
    """--only names: each must be an experiment (InputError with the nearest names)."""
    known = [e.name for e in experiments]
    for name in only or ():
        if name not in known:
            near = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
            raise InputError(f"--only {name}: no experiment of that name"
                             + (f"; did you mean {' or '.join(near)}?" if near else "")
                             + f" Experiments: {', '.join(known)}")


# The libraries the engine itself needs (numpy is optional: its figures are "not measured").
LIBRARIES = {"pyperf": "to write the timings as a pyperf suite",
             "cffi": "to build the C functions that Python times"}


def check_libraries(find=importlib.util.find_spec) -> None:
    """Refuse, before anything is measured, a Python without the engine's libraries: else the
    run would end in a traceback once the measuring is done."""
    missing = [name for name in LIBRARIES if find(name) is None]
    if missing:
        raise InputError(f"{sys.executable} has no {' and no '.join(missing)} "
                         f"({'; '.join(f'{m}: {LIBRARIES[m]}' for m in missing)}). Run it in the "
                         f"project's virtual environment, or install the requirements into this Python: "
                         f"{sys.executable} -m pip install -r requirements.txt (README, Quick start).")


def check_sources(root: Path, experiments: list[Experiment]) -> None:
    """Every listing an experiment names must exist before anything is measured."""
    for e in experiments:
        for rel in e.sources:
            path = root / rel
            if not path.is_file():
                folder = path.parent
                others = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
                near = difflib.get_close_matches(path.name, others, n=3, cutoff=0.4)
                raise InputError(f"{rel}: listing not found, but experiment {e.name} "
                                 f"({_shown_path(e.module, root)}) names it"
                                 + (f"; nearest files in {folder.relative_to(root)}/: {', '.join(near)}"
                                    if near else "")
                                 + ". Restore the file or correct the experiment's sources.")


def _quiet(level: str, message: str) -> None:
    pass


def _try_load(store: cache.Store, name: str, key: str) -> dict | None:
    try:
        return store.load(name, key)
    except cache.CorruptEntry:
        return None


def _failed(exp: Experiment, exc: MeasureError) -> dict:
    c_sources = [s for s in exp.sources if s.endswith(".c")]
    return {"status": "failed", "reason": exc.reason, "file": exc.file or (c_sources[:1] or [None])[0],
            "kind": exc.kind, "sources": list(exp.sources)}


def _without_compiler(store: cache.Store, exp: Experiment, exc: MeasureError, machine: str,
                      progress: Progress) -> dict | None:
    """No C compiler: this machine's newest cached result, labelled with where it came from."""
    newest = store.newest(exp.name, machine, with_compiler=True)
    if not newest:
        if not exp.without_compiler:
            progress("warning", f"experiment {exp.name} not measured: no C compiler, and no cached "
                                f"result of it for this machine")
        return None
    key, payload = newest
    cc = (payload.get("toolchain") or {}).get("compiler") or "an earlier compiler"
    why = (f"no C compiler on this machine now; figures from the cached results measured "
           f"{payload.get('measured_at', '?')} with {cc}")
    progress("warning", f"{exp.name}: {why}")
    return {**payload, "key": key, "cached": True, "stale": True, "stale_reason": why}


def cflags_of(experiments: list[Experiment]) -> dict[str, list[str]]:
    return {e.name: list(e.flags) for e in experiments if e.flags}


def load_summary(entries: dict, timed: set[str]) -> dict:
    """How busy the machine was when the figures in `entries` were measured: the checks made
    before timing them (kept with each result, whichever build measured it; the busiest one if
    any was busy), and each timed experiment (one with headline figures) measured on a busy
    machine, with the share of CPU time others used."""
    loads = {name: e["load"] for name, e in entries.items()
             if name in timed and isinstance(e.get("load"), dict)}
    busy = {name: load.get("others_share") for name, load in loads.items() if load.get("busy")}
    checks = [c for c in (load.get("before_timing") for load in loads.values()) if isinstance(c, dict)]
    busy_checks = [c for c in checks if c.get("busy")]
    before = (max(busy_checks, key=lambda c: c.get("loop_jitter") or 0) if busy_checks
              else checks[-1] if checks else None)
    return {"before_timing": before, "busy_experiments": busy,
            "busy": bool(busy) or bool(busy_checks)}


def build_document(root: Path, scale: Scale, experiments: list[Experiment], entries: dict) -> dict:
    return {
        "schema": RESULTS_SCHEMA,
        "provenance": {**provenance.collect(root, scale.as_dict(), cflags_of(experiments)),
                       "load": load_summary(entries, {e.name for e in experiments if e.headline})},
        "experiments": {e.name: entries[e.name] for e in experiments if e.name in entries},
        "declared": {e.name: {"module": _shown_path(e.module, root), "sources": list(e.sources),
                              "facts": {f.name: {"kind": f.kind, "unit": f.unit, "source": f.source}
                                        for f in e.facts},
                              "evidence": {f.name: {"source": f.source} for f in e.evidence}}
                     for e in experiments},
        "noisy_rel_iqr": NOISY_REL_IQR,
    }


def pyperf_suite(doc: dict) -> dict | None:
    """Every timing as one pyperf suite document: the experiments' own pyperf benchmarks,
    then each other timing fact as a benchmark named "experiment.fact"."""
    import pyperf
    own = [e["pyperf"] for e in doc["experiments"].values() if e.get("status") == "ok" and e.get("pyperf")]
    benchmarks = [b for s in own for b in pyperf.BenchmarkSuite.loads(json.dumps(s)).get_benchmarks()]
    taken = {b.get_name() for b in benchmarks}
    benchmarks += timing.facts_suite(doc, taken)
    return timing.suite_json(benchmarks) if benchmarks else None


def write_results(root: Path, scale: Scale, doc: dict) -> tuple[Path, Path | None]:
    """The results document and its pyperf suite, written atomically. The suite is written
    first, and only when the timings differ from those of the results already on disk (a
    warm or cached build then never imports pyperf, a twentieth of its time)."""
    results, suite_path = results_paths(root, scale)
    if not (suite_path.exists() and _same_timings(_read_json(results), doc)):
        suite = pyperf_suite(doc)
        if suite:
            cache.atomic_write_text(suite_path, json.dumps(suite, sort_keys=True))
        else:
            suite_path.unlink(missing_ok=True)
    cache.atomic_write_text(results, json.dumps(doc, indent=1, sort_keys=True))
    return results, (suite_path if suite_path.exists() else None)


def _read_json(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _same_timings(before: dict | None, doc: dict) -> bool:
    """Whether a suite made from `before` is the suite of `doc`: the same experiments, entry
    for entry (a fresh measurement has new values under the same key), made with the same
    libraries (pyperf writes the suite)."""
    return (before is not None and before.get("experiments") == doc.get("experiments")
            and (before.get("provenance") or {}).get("libraries") == (doc.get("provenance") or {}).get("libraries"))
