"""Orchestration: for each experiment, reuse its cached result or measure it; write the results."""
from __future__ import annotations

import datetime as _dt
import json
import logging
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

from . import cache, provenance, toolchain
from .config import Scale
from .errors import CacheMissing, MeasureError
from .experiments import Context, Experiment, discover

ENGINE_DIR = Path(__file__).parent
CACHE_DIR = ".chapter-cache"
RESULTS_DIR = "results"
RESULTS_SCHEMA = 1

Progress = Callable[[str, str], None]   # (level, message)


def _default_progress(level: str, message: str) -> None:
    logging.getLogger("chapter.measure").log(getattr(logging, level.upper()), message)


def interpreter_id() -> dict:
    p = provenance.python_info()
    return {k: p[k] for k in ("version", "implementation", "build", "compiler", "executable")}


def key_for(exp: Experiment, root: Path, scale: Scale) -> str:
    sources = {}
    for rel in exp.sources:
        path = root / rel
        sources[rel] = cache.file_digest(path) if path.exists() else "missing"
    return cache.cache_key(
        experiment=exp.name, sources=sources, flags=list(exp.flags),
        compiler=toolchain.compiler_version(), interpreter=interpreter_id(),
        machine=provenance.fingerprint(), scale=scale.as_dict(),
        engine=cache.engine_digest(ENGINE_DIR, exp.module),
    )


def results_paths(root: Path, scale: Scale) -> tuple[Path, Path]:
    suffix = "" if scale.name == "full" else f".{scale.name}"
    base = root / RESULTS_DIR / f"{provenance.fingerprint()}{suffix}"
    return Path(f"{base}.json"), Path(f"{base}.pyperf.json")


def _run_one(exp: Experiment, root: Path, scale: Scale, progress: Progress) -> dict:
    """Measure one experiment; a failure becomes a record with its reason, never an exception."""
    t0 = time.perf_counter()
    progress("info", f"measuring {exp.name}: {exp.title} ...")
    workdir = Path(tempfile.mkdtemp(prefix=f"chapter-{exp.name}-"))
    try:
        ctx = Context(root=root, scale=scale, workdir=workdir,
                      log=lambda m: progress("debug", f"{exp.name}: {m}"))
        out = exp.run(ctx)
        payload = {"status": "ok", "facts": out.get("facts", {}), "evidence": out.get("evidence", {}),
                   "pyperf": out.get("pyperf")}
    except MeasureError as exc:
        payload = {"status": "failed", "reason": exc.reason, "file": exc.file, "kind": exc.kind}
    except Exception as exc:  # an engine bug must not lose the other experiments' results
        payload = {"status": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}",
                   "file": exp.module and Path(exp.module).name, "kind": "internal",
                   "traceback": traceback.format_exc(limit=6)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    payload["seconds"] = round(time.perf_counter() - t0, 3)
    payload["measured_at"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    payload["sources"] = list(exp.sources)
    if payload["status"] == "ok":
        progress("info", f"measured {exp.name} in {payload['seconds']:.1f} s")
    else:
        where = f" ({payload['file']})" if payload.get("file") else ""
        progress("warning", f"experiment {exp.name}{where} not measured: {payload['reason']}")
    return payload


def measure(root: Path, *, mode: str, scale: Scale, progress: Progress | None = None,
            only: list[str] | None = None) -> dict:
    """Bring every experiment's result up to date per `mode` and write the results document.

    Returns the results document (also written atomically under results/).
    """
    progress = progress or _default_progress
    root = Path(root).resolve()
    store = cache.Store(root / CACHE_DIR / scale.name)
    experiments = discover()
    unknown = sorted(set(only or ()) - {e.name for e in experiments})
    if unknown:
        raise ValueError(f"unknown experiments {unknown}; known: {', '.join(e.name for e in experiments)}")
    entries: dict[str, dict] = {}
    todo: list[tuple[Experiment, str]] = []
    missing: list[str] = []
    for exp in experiments:
        if only and exp.name not in only:
            # Not asked for: keep its cached result in the document if there is one.
            cached = _try_load(store, exp.name, key_for(exp, root, scale))
            if cached is not None:
                entries[exp.name] = {**cached, "cached": True}
            continue
        try:
            key = key_for(exp, root, scale)
        except MeasureError as exc:   # e.g. no compiler: the key cannot name one
            key = "no-toolchain"
            if mode in ("auto", "fresh"):
                entries[exp.name] = _stale_or_failed(store, exp, exc, progress)
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
            newest = store.newest(exp.name)
            if newest:
                entries[exp.name] = {**newest[1], "key": newest[0], "cached": True, "stale": True}
                progress("warning", f"{exp.name}: using stale results from {newest[1].get('measured_at')}")
            else:
                missing.append(exp.name)
        else:
            todo.append((exp, key))
    if missing:
        raise CacheMissing(missing, "Build once with CHAPTER_MEASURE=auto on this machine "
                                    f"(scale {scale.name}) to measure them.")
    if todo:
        with store.lock(on_wait=lambda: progress("warning", "another build is measuring in "
                                                 f"{store.folder}; waiting for it")):
            for exp, key in todo:
                # The other build may have measured it while we waited.
                cached = None if mode == "fresh" else _try_load(store, exp.name, key)
                payload = cached if cached and cached.get("status") == "ok" else _run_one(exp, root, scale, progress)
                store.save(exp.name, key, payload)
                entries[exp.name] = {**payload, "key": key, "cached": payload is cached}
    doc = build_document(root, scale, experiments, entries)
    write_results(root, scale, doc)
    return doc


def _try_load(store: cache.Store, name: str, key: str) -> dict | None:
    try:
        return store.load(name, key)
    except cache.CorruptEntry:
        return None


def _stale_or_failed(store: cache.Store, exp: Experiment, exc: MeasureError, progress: Progress) -> dict:
    newest = store.newest(exp.name)
    if newest:
        progress("warning", f"{exp.name}: cannot measure ({exc.reason.splitlines()[0]}); "
                            f"showing results from {newest[1].get('measured_at')}")
        return {**newest[1], "key": newest[0], "cached": True, "stale": True}
    progress("warning", f"experiment {exp.name} not measured: {exc.reason}")
    return {"status": "failed", "reason": exc.reason, "file": exc.file, "kind": exc.kind,
            "sources": list(exp.sources)}


def cflags_of(experiments: list[Experiment]) -> dict[str, list[str]]:
    return {e.name: list(e.flags) for e in experiments if e.flags}


def build_document(root: Path, scale: Scale, experiments: list[Experiment], entries: dict) -> dict:
    return {
        "schema": RESULTS_SCHEMA,
        "provenance": provenance.collect(root, scale.as_dict(), cflags_of(experiments)),
        "experiments": {e.name: entries[e.name] for e in experiments if e.name in entries},
    }


def pyperf_suite(doc: dict) -> dict | None:
    """All experiments' pyperf benchmarks as one suite document (pyperf's JSON format)."""
    suites = [e["pyperf"] for e in doc["experiments"].values() if e.get("pyperf")]
    if not suites:
        return None
    merged = json.loads(json.dumps(suites[0]))
    for other in suites[1:]:
        merged["benchmarks"].extend(other["benchmarks"])
    return merged


def write_results(root: Path, scale: Scale, doc: dict) -> tuple[Path, Path | None]:
    results, suite_path = results_paths(root, scale)
    cache.atomic_write_text(results, json.dumps(doc, indent=1, sort_keys=True))
    suite = pyperf_suite(doc)
    if suite:
        cache.atomic_write_text(suite_path, json.dumps(suite, sort_keys=True))
        return results, suite_path
    return results, None
