"""Cache keys change when, and only when, something that can change a result changes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from macros.measure import cache, engine
from macros.measure.config import SCALES
from macros.measure.experiments import Experiment

BASE = dict(experiment="sum", sources={"csrc/sum_loop.c": "aaa", "pysrc/sum_loop.py": "bbb"},
            flags=["-O2"], compiler="gcc 12.2.0", interpreter={"version": "3.11.7", "build": "main"},
            machine="m1", scale=SCALES["full"].as_dict(), engine="e1")

VARIATIONS = {
    "a source": {"sources": {"csrc/sum_loop.c": "aab", "pysrc/sum_loop.py": "bbb"}},
    "a flag": {"flags": ["-O3"]},
    "the compiler": {"compiler": "gcc 13.1.0"},
    "the interpreter": {"interpreter": {"version": "3.12.1", "build": "main"}},
    "the scale": {"scale": SCALES["quick"].as_dict()},
    "the machine": {"machine": "m2"},
    "the engine code": {"engine": "e2"},
}


def test_key_is_stable_for_identical_inputs():
    assert cache.cache_key(**BASE) == cache.cache_key(**dict(BASE))


@pytest.mark.parametrize("what", sorted(VARIATIONS))
def test_key_changes_with(what):
    assert cache.cache_key(**{**BASE, **VARIATIONS[what]}) != cache.cache_key(**BASE)


def test_key_ignores_source_order():
    reordered = {**BASE, "sources": dict(reversed(list(BASE["sources"].items())))}
    assert cache.cache_key(**reordered) == cache.cache_key(**BASE)


def _project(tmp_path: Path, root: Path) -> tuple[Path, Experiment]:
    for d in ("csrc", "pysrc"):
        shutil.copytree(root / d, tmp_path / d)
    exp = Experiment("sum", "t", sources=("csrc/sum_loop.c", "pysrc/sum_loop.py"), run=lambda c: {},
                     flags=("-O2",), module=str(root / "macros/measure/experiments/benchmark.py"))
    return tmp_path, exp


def test_key_for_follows_the_files_it_names(tmp_path, root):
    proj, exp = _project(tmp_path, root)
    before = engine.key_for(exp, proj, SCALES["full"])
    (proj / "pysrc/one_line.py").write_text("# a listing this experiment does not use\n")
    assert engine.key_for(exp, proj, SCALES["full"]) == before
    (proj / "docs").mkdir()
    (proj / "docs/page.md").write_text("prose changes never invalidate measurements\n")
    assert engine.key_for(exp, proj, SCALES["full"]) == before
    with open(proj / "csrc/sum_loop.c", "a") as fh:
        fh.write("\n/* an edit */\n")
    assert engine.key_for(exp, proj, SCALES["full"]) != before


def test_key_for_changes_with_scale_and_flags(tmp_path, root):
    proj, exp = _project(tmp_path, root)
    full = engine.key_for(exp, proj, SCALES["full"])
    assert engine.key_for(exp, proj, SCALES["quick"]) != full
    other = Experiment(**{**exp.__dict__, "flags": ("-O3",)})
    assert engine.key_for(other, proj, SCALES["full"]) != full


def test_key_for_changes_with_compiler_and_interpreter(tmp_path, root, monkeypatch):
    proj, exp = _project(tmp_path, root)
    full = engine.key_for(exp, proj, SCALES["full"])
    monkeypatch.setattr(engine.toolchain, "compiler_version", lambda: "clang 99")
    assert engine.key_for(exp, proj, SCALES["full"]) != full
    monkeypatch.undo()
    monkeypatch.setattr(engine, "interpreter_id", lambda: {"version": "3.99"})
    assert engine.key_for(exp, proj, SCALES["full"]) != full


def test_store_round_trip_and_refuses_edits(tmp_path):
    store = cache.Store(tmp_path)
    payload = {"status": "ok", "facts": {"n": {"value": 1, "unit": None}}}
    path = store.save("sum", "k1", payload)
    assert store.load("sum", "k1") == payload
    path.write_text(path.read_text().replace('"value": 1', '"value": 2'))
    with pytest.raises(cache.CorruptEntry, match="digest"):
        store.load("sum", "k1")
    path.write_text(path.read_text()[:40])
    with pytest.raises(cache.CorruptEntry, match="JSON"):
        store.load("sum", "k1")


def test_key_is_the_same_whichever_name_starts_the_interpreter(root):
    """mkdocs may run as .../bin/python3 and scripts/measure.py as .../bin/python: one cache."""
    import subprocess
    import sys
    bindir = Path(sys.executable).parent
    names = [n for n in ("python", "python3") if (bindir / n).exists()]
    if len(names) < 2:
        pytest.skip("this environment has only one name for its interpreter")
    code = ("import sys; sys.path.insert(0, '.'); from macros.measure import engine; "
            "print(engine.interpreter_id())")
    ids = {subprocess.run([str(bindir / n), "-c", code], cwd=root, capture_output=True, text=True,
                          check=True).stdout for n in names}
    assert len(ids) == 1, ids


# ---------------------------------------------------------------- engine code, followed by import

def _by_module() -> dict[str, set[str]]:
    """experiment module (relative to the engine) -> the experiments it defines."""
    out: dict[str, set[str]] = {}
    for e in engine._discover():
        rel = str(Path(e.module).relative_to(engine.ENGINE_DIR))
        out.setdefault(rel, set()).add(e.name)
    return out


def _expected_users() -> dict[str, set[str]]:
    """Which experiments each engine file may change, stated from the code's structure by hand:
    the orchestration changes none, the shared record-keeping all, a helper its importers."""
    by = _by_module()
    every = set().union(*by.values())
    of = lambda *mods: set().union(*(by[f"experiments/{m}.py"] for m in mods))  # noqa: E731
    timed = of("benchmark", "stack_and_heap_cost", "cache_latency", "cache_locality")
    return {
        "engine.py": set(), "cache.py": set(), "__init__.py": set(), "ledger.py": set(), "deps.py": set(),
        "staircase.py": set(),   # read by the pages, after measuring
        # the supported-Python check changes no result; whether NumPy imports changes these
        "python_support.py": of("benchmark", "cache_locality"),
        "record.py": every, "results.py": every, "config.py": every, "errors.py": every,
        "facts.py": every, "stats.py": every, "runner.py": every, "toolchain.py": every,
        "experiments/__init__.py": every,
        "maps.py": of("one_line", "objects", "stack_and_heap"),
        "timing.py": timed, "paired_worker.py": timed, "adaptive.py": timed | of("objects"),
        "provenance.py": of("cache_latency", "cache_locality"),
        "machine.py": of("cache_latency", "cache_locality"),
        "cachegrind.py": of("cache_locality"),
        "valgrind.py": of("benchmark", "cache_locality"), "loadcheck.py": set(), "targets.py": set(),
        "machinecode.py": of("objects", "stack_and_heap", "stack_and_heap_cost", "benchmark",
                             "cache_locality"),
        **{mod: names | (of("cache_locality") if mod == "experiments/cache_latency.py" else set())
           for mod, names in by.items()},
    }


def test_touching_each_engine_module_invalidates_exactly_the_experiments_that_use_it(tmp_path, root):
    """Each engine file in turn gets a harmless edit in a copy of the project; the experiments
    whose cache keys change are the ones that import it (directly or not), and no others."""
    from conftest import copy_project
    from macros.measure import deps
    proj = copy_project(tmp_path / "p")
    experiments = engine._discover()
    scale = SCALES["quick"]
    keys = lambda: {e.name: engine.key_for(e, proj, scale) for e in experiments}  # noqa: E731
    deps.clear()
    before = keys()
    pkg = proj / "macros/measure"
    expected = _expected_users()
    seen = set()
    for path in sorted(pkg.rglob("*.py")):
        rel = str(path.relative_to(pkg))
        seen.add(rel)
        original = path.read_text()
        # No deps.clear() here: what is parsed is kept by each file's version, as under `mkdocs
        # serve`, so the touched file is parsed again and the others are not. The keys from
        # scratch are compared at the start and at the end.
        path.write_text(original + "\n# touched by the test\n")
        try:
            changed = {n for n, k in keys().items() if k != before[n]}
        finally:
            path.write_text(original)
        users = {e.name for e in experiments
                 if path.resolve() in deps.closure(pkg, pkg / Path(e.module).relative_to(engine.ENGINE_DIR))}
        assert changed == users, f"{rel}: re-measures {sorted(changed)}, its users are {sorted(users)}"
        if rel in expected:
            assert changed == expected[rel], f"{rel}: re-measures {sorted(changed)}, expected {sorted(expected[rel])}"
    deps.clear()
    assert keys() == before
    missing = set(expected) - seen
    assert not missing, f"engine files named here but gone: {missing}"
    unexplained = {r for r in seen if r not in expected and not r.startswith("experiments/")}
    assert not unexplained, f"say which experiments these engine files may change: {unexplained}"


def test_what_each_module_imports_is_kept_for_the_next_process(tmp_path, monkeypatch):
    """The names each engine module imports are kept in a file (by the module's place and
    text) and read back by the next process instead of parsing again; a damaged file is
    parsed around, and the closures are the same either way."""
    from macros.measure import deps
    pkg = engine.ENGINE_DIR.resolve()
    module = pkg / "experiments" / "cache_locality.py"
    deps.clear()
    expected = deps.closure(pkg, module)
    kept = tmp_path / "imports.json"
    deps.clear()
    deps.keep_in(kept)
    assert deps.closure(pkg, module) == expected and kept.is_file()
    deps.clear()
    deps.keep_in(kept)
    parsed = []
    real_parse = deps._parse
    monkeypatch.setattr(deps, "_parse", lambda *a: parsed.append(a[1]) or real_parse(*a))
    assert deps.closure(pkg, module) == expected and parsed == []
    monkeypatch.undo()
    kept.write_text("{ not json")
    deps.clear()
    deps.keep_in(kept)
    assert deps.closure(pkg, module) == expected
    deps.clear()
