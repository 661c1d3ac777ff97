"""scripts/bench.py's report, on fabricated build results (the benchmark itself runs for minutes)."""
import importlib.util
import re

import pytest

from conftest import ROOT
from macros.measure.engine import _discover


def script(name: str):
    """scripts/<name>.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / f"scripts/{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return script("bench")


def doc_with(values: dict[str, float]) -> dict:
    exps: dict = {}
    for ref, v in values.items():
        exp, _, name = ref.partition(".")
        exps.setdefault(exp, {"facts": {}})["facts"][name] = {
            "value": v, "unit": "x", "rel_spread": 0.01, "noisy": False, "rounds": {"rounds": 12}}
    return {"experiments": exps}


def test_every_experiment_headline_is_a_declared_ratio():
    for exp in _discover():
        kinds = {s.name: s.kind for s in exp.facts}
        for name in exp.headline:
            assert kinds.get(name) == "ratio", f"{exp.name}.{name}"


def test_headline_reads_each_experiments_headline_ratios(bench):
    h = bench.headline(doc_with({"sum.ratio_py_loop": 90.0, "sum.n": 5, "latency.ram_over_l1": 200.0}))
    assert set(h) == {"sum.ratio_py_loop", "latency.ram_over_l1"}      # sum.n is not a headline
    assert h["sum.ratio_py_loop"] == {"value": 90.0, "rel": 0.01, "noisy": False, "rounds": 12}


def test_report_gives_each_ratio_its_spread_over_the_builds(bench):
    ratios = [bench.headline(doc_with({"sum.ratio_py_loop": v, "latency.ram_over_l1": w}))
              for v, w in ((100.0, 200.0), (102.0, 300.0), (101.0, 250.0))]
    build = {"seconds": 50.0, "status": 0, "log": "", "noisy": []}
    quiet = {"load_average": [0.1, 0.1, 0.1], "cores": 2, "others_share": 0.01, "steal_share": 0.0,
             "busy": False, "why": ""}
    warm = {**build, "seconds": 1.0, "runs": [1.2, 1.0, 0.9]}
    text = bench.report("full", quiet, [build] * 3, warm, {**build, "seconds": 1.5},
                        {"mkdocs serve": [0.5, 0.4, 0.45], "mkdocs serve --dirty": []}, ratios)
    assert "| sum.ratio_py_loop | 100 ±1.0% | 102 ±1.0% | 101 ±1.0% | 2.0% |" in text
    assert "| latency.ram_over_l1 | 200 ±1.0% | 300 ±1.0% | 250 ±1.0% | 50.0% |" in text
    assert "1 of 2 ratios within 3%" in text and "(quiet)" in text
    assert "| prose edit under `mkdocs serve`, until the page is rewritten (median of 3: 0.50, 0.40, 0.45) | 0.45 |" in text
    assert "| prose edit under `mkdocs serve --dirty`, until the page is rewritten (median of 0: ) | no rewrite seen |" in text
    assert "`--strict`: 3 of 3 cold builds passed." in text
    assert "| warm rebuild, nothing changed (median of 3: 1.20, 1.00, 0.90) | 1.0 | 0 | |" in text
    assert "| cached only (`CHAPTER_MEASURE=cached`) | 1.5 | 0 | | |" in text
    assert "The host was busy" not in text
    assert "Written by scripts/bench.py" in text and "(± its 95% interval)" in text


def test_report_says_when_the_host_was_busy_around_a_build(bench):
    """Each cold build's host is judged by the build's own check (its results) and one right
    after it; a busy one is named, and the report says the targets cannot be judged."""
    quiet = {"loop_jitter": 0.04, "busy": False, "why": ""}
    burst = {"loop_jitter": 0.45, "busy": True, "why": "a fixed loop's time varied by 45%"}
    doc = {"provenance": {"load": {"before_timing": quiet}}}
    calm, stormy = bench.host_during(doc, quiet), bench.host_during(doc, burst)
    assert calm == {"busy": False, "why": "", "text": "4%/4%"}
    assert stormy["busy"] and stormy["text"] == "4%/45%" and "45%" in stormy["why"]
    assert bench.host_during({}, {})["text"] == "not read"
    build = {"seconds": 50.0, "status": 1, "log": "", "noisy": ["sum.ratio_py_loop"]}
    text = bench.report("full", {"busy": False, "why": ""}, [{**build, "host": calm}, {**build, "host": stormy}],
                        {**build, "status": 0, "runs": [1.0]}, {**build, "status": 0},
                        {"mkdocs serve": [0.5]}, [])
    assert "| 50.0 | 1 (strict failed) | 4%/4% | 1: sum.ratio_py_loop |" in text
    assert "| 4%/45% **busy** |" in text
    assert "**The host was busy** (around cold build 2)" in text and "only be judged by a run on a quiet host" in text


def test_builds_write_bytecode_as_python_does_by_default(bench, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("CHAPTER_BENCH_PROBE", "kept")
    env = bench.builds_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["CHAPTER_BENCH_PROBE"] == "kept"


def test_verdicts_are_the_pages_on_real_results(bench):
    """Every claim of the ledger gets a verdict from a results file measured elsewhere; the
    machine without a compiler leaves the C claims not measured."""
    import json
    full = json.loads((ROOT / "tests/corpus/x86-64-gcc-py311.json").read_text())
    got = bench.verdicts(full)
    ids = re.findall(r'^id = "([^"]+)"', (ROOT / "claims.toml").read_text(), re.M)
    assert sorted(got) == sorted(ids)
    assert set(got.values()) <= {"holds", "differs", "does-not-hold", "borderline", "not-measured"}
    assert "not-measured" not in got.values(), got
    bare = bench.verdicts(json.loads((ROOT / "tests/corpus/no-c-compiler.quick.json").read_text()))
    assert bare["c-add-instruction"] == "not-measured" and bare["py-int-size"] != "not-measured"


def test_report_names_each_verdict_that_moved_between_builds(bench):
    same = {"a": "holds", "b": "differs", "c": "holds"}
    lines = bench.verdict_lines([same, {**same, "b": "borderline"}, {**same, "c": "does-not-hold"}])
    text = "\n".join(lines)
    assert "Verdicts: 1 of 3 claims gave the same verdict in every cold build; these moved:" in text
    assert "- `b`: differs / borderline / differs (through borderline" in text
    assert "- `c`: holds / holds / does-not-hold (**a flip between decided verdicts**)" in text
    assert "1 flip between decided verdicts." in text
    assert bench.verdict_lines([same, same]) == [
        "", "Verdicts: 3 of 3 claims gave the same verdict in every cold build."]
    assert bench.verdict_lines([]) == []


# ------------------------------------------------------------------ scripts/suite_time.py

@pytest.fixture(scope="module")
def suite_time():
    return script("suite_time")


def test_suite_time_report_gives_each_pair_and_the_ratio_of_the_medians(suite_time):
    run = lambda s: {"seconds": s, "busy": 1.9 * s, "summary": "9 passed in 1.00s", "status": 0}  # noqa: E731
    host = {"load_average": [0.5, 0.5, 0.5], "cores": 2, "loop_jitter": 0.4, "busy": True}
    times = [(300.0, 140.0), (280.0, 150.0), (400.0, 131.0)]   # means unlike medians
    text = suite_time.report("deca1dd", "abc1234", [{"host": host, "before": run(b), "after": run(a)}
                                                    for b, a in times])
    rows = re.findall(r"^\| (\d) \| .*\*\*busy\*\* \| ([\d.]+) \(\d+\) \| ([\d.]+) \(\d+\) \| ([\d.]+) \|$", text, re.M)
    assert [(float(b), float(a)) for _, b, a, _ in rows] == times
    assert [float(r) for *_, r in rows] == [round(a / b, 3) for b, a in times]
    ratio = sorted(a for _, a in times)[1] / sorted(b for b, _ in times)[1]
    assert f"ratio of the medians **{ratio:.3f}**" in text
    met = sum(a / b <= suite_time.TARGET for b, a in times)
    assert f"{met} of 3 pairs at {suite_time.TARGET} or less" in text


def test_suite_time_names_an_unknown_commit(suite_time, capsys):
    assert suite_time.main(["--before", "no-such-commit"]) == 2
    assert "no commit 'no-such-commit'" in capsys.readouterr().err
