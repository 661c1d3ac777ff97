"""Shared test fixtures, and the bookkeeping that every listing is compiled and run by a test.

Mark a test that compiles and runs a listing with @pytest.mark.listing("csrc/x.c", ...).
test_listings_covered fails when a file in csrc/ or pysrc/ has no such test.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import py_compile
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COVERED: set[str] = set()
COLLECTED_FILES: set[str] = set()


def pytest_configure(config):
    config.addinivalue_line("markers", "listing(*paths): this test compiles and runs these listings")
    config.addinivalue_line("markers", "slow: a test that measures at quick scale or builds the site")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)).name, len(rank)))   # stable
    for item in items:
        COLLECTED_FILES.add(Path(str(item.fspath)).name)
        for mark in item.iter_markers("listing"):
            COVERED.update(mark.args)


@pytest.fixture
def root() -> Path:
    return ROOT


def copy_project(dest: Path) -> Path:
    """A throwaway copy of the project (sources only: no site, cache or results), its Python
    modules already compiled."""
    from scripts.project_copy import copy_project as copy
    copy(ROOT, dest)
    _seed_bytecode(dest)
    return dest


_BYTECODE: dict[tuple[str, bytes], bytes] = {}   # (module, its source) -> its .pyc, per process


def _seed_bytecode(dest: Path) -> None:
    """Write the .pyc files that a reader's own tree holds after its first build. Where
    PYTHONDONTWRITEBYTECODE is set (it is on the machines this suite runs on), every build in a
    copy would otherwise compile the glue and the engine again: 0.1 s of the second or so that
    each of the suite's ~60 builds in copies takes. Each .pyc is checked against its source's
    hash on import (not its mtime, which a test's edit may leave within the same second): a
    module a test then edits is compiled from its source, as anywhere."""
    for src in (dest / "macros").rglob("*.py"):
        key = (str(src.relative_to(dest)), src.read_bytes())
        pyc = Path(importlib.util.cache_from_source(str(src)))
        if key not in _BYTECODE:
            py_compile.compile(str(src), cfile=str(pyc), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
            _BYTECODE[key] = pyc.read_bytes()
        else:
            pyc.parent.mkdir(exist_ok=True)
            pyc.write_bytes(_BYTECODE[key])


def _build_quick_site(shared: Path) -> tuple[Path, Path]:
    """Build the quick site in `shared` unless it is there: (project dir, build log). Under
    a lock, so that one process builds and the others wait for it and reuse it."""
    with _locked(shared / "quick-site.lock"):
        proj = shared / "quick-site"
        log = shared / "quick-site.log"
        if not log.exists():
            shutil.rmtree(proj, ignore_errors=True)
            copy_project(proj)
            env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "auto"}
            proc = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=proj, env=env,
                                  capture_output=True, text=True, timeout=900)
            assert proc.returncode == 0, f"quick build failed:\n{proc.stderr[-4000:]}"
            log.write_text(proc.stderr)
    return proj, log


@pytest.fixture(scope="session")
def quick_site(tmp_path_factory):
    """The whole site built once at quick scale in a temporary copy: (project dir, results doc
    path, build log). Read-only: a test that changes it works on a copy (copy_built).

    Under pytest-xdist every worker asks for it; one process builds it in the folder the
    workers share (the controller starts it when the whole suite runs: see
    pytest_sessionstart) and the others wait and reuse it: one build per run, not per worker."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    proj, log = _build_quick_site(shared)
    results = sorted((proj / "results").glob("*.quick.json"))
    assert results, "the build wrote no results file"
    return proj, results[0], log.read_text()


# The test files that take longest go first, those that do not need the quick site before
# those that do: with a file per worker (--dist loadfile), the quick site is built beside
# them from the start, and the last files to run are short ones, so that no worker waits
# long for the other at the end. The rest keep their order.
LONG_FILES = ("test_faults.py", "test_browser_machines.py",                       # no quick site
              "test_browser.py", "test_site_build.py",  # the quick site
              "test_corpus.py", "test_browser_probe.py", "test_pyperf_file.py", "test_missing_tools.py",
              "test_messages.py", "test_machine.py", "test_cache_keys.py", "test_cache.py")

_BACKGROUND: list[threading.Thread] = []


def pytest_sessionstart(session):
    """On the controller of a whole-suite run over several workers, start the quick build at
    once, in the background: the workers' quick_site waits for it (the lock) instead of one of
    them building it when its first test asks."""
    config = session.config
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", None):
        return
    whole = (not config.args or all(Path(a).resolve() == ROOT / "tests" for a in config.args)) \
        and not config.option.keyword and not config.option.markexpr and not config.option.collectonly
    if not whole:
        return
    shared = config._tmp_path_factory.getbasetemp()

    def build() -> None:
        try:
            _build_quick_site(shared)
        except Exception:    # noqa: BLE001 - the workers build it again, and report why it fails
            pass
    thread = threading.Thread(target=build, name="quick-site", daemon=True)
    thread.start()
    _BACKGROUND.append(thread)


def pytest_sessionfinish(session, exitstatus):
    for thread in _BACKGROUND:
        thread.join()


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def copy_built(quick_site, dest: Path) -> Path:
    """A copy of the quick site's project with its measurements (cache and results), for a
    test that builds again: the shared one is read by other tests, maybe at the same time."""
    proj = copy_project(dest)
    for name in (".chapter-cache", "results"):
        shutil.copytree(quick_site[0] / name, proj / name)
    return proj


@functools.lru_cache(maxsize=None)
def declared() -> dict:
    from macros.measure.engine import declared as engine_declared
    return engine_declared()


def results_from(facts: dict[str, object], failed: dict[str, str] | None = None):
    """A Results over facts shaped as the engine records them, each checked against its
    declaration: {"experiment.fact": value or {"value": ..., "low"/"high"/"spread": ...}}.
    {"null": True} stands for a declared-nullable fact's None; `failed`: experiment -> reason."""
    from macros.measure.results import Results
    decl = declared()
    probe = Results({"experiments": {}}, decl)
    experiments: dict[str, dict] = {}
    for ref, given in facts.items():
        spec = probe.spec(ref)
        f = dict(given) if isinstance(given, dict) else {"value": given}
        if f.pop("null", False):
            f["value"] = None
        f["unit"] = spec.unit
        if isinstance(f.get("spread"), dict) and "median" not in f["spread"]:
            f["spread"] = {**f["spread"], "median": f["value"]}
        assert spec.accepts(f["value"]), f"{ref}: {f['value']!r} is not a {spec.kind}"
        exp, _, name = ref.partition(".")
        experiments.setdefault(exp, {"status": "ok", "facts": {}, "evidence": {}})["facts"][name] = f
    for exp, reason in (failed or {}).items():
        experiments[exp] = {"status": "failed", "reason": reason}
    return Results({"experiments": experiments}, decl)


def verdict_on(cid: str, facts: dict[str, object]) -> str:
    """The ledger's verdict on claim `cid` for fabricated facts {"experiment.fact": value}."""
    from macros.measure import ledger
    claim = ledger.load(ROOT / "claims.toml")[cid]
    return ledger.evaluate(claim, results_from(facts)).status
