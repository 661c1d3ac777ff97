"""Every mistake a contributor can make gets one message naming the file, the name and the
nearest valid names, status 2, no traceback, and nothing already measured is lost."""
from __future__ import annotations

import json
import subprocess

import pytest

from test_faults import Lab, no_traceback
from macros.measure import results as results_mod


def measure(lab: Lab, *args: str) -> subprocess.CompletedProcess:
    return lab.measure(*args)


@pytest.mark.parametrize("args, says", [
    (["--only", "cisde"], "--only cisde: no experiment of that name; did you mean cside"),
    (["--mode", "frsh"], "argument --mode: invalid choice: 'frsh'"),
    (["--scale", "huge"], "argument --scale: invalid choice: 'huge'"),
])
def test_bad_command_line(tmp_path, args, says):
    lab = Lab(tmp_path, {})
    got = measure(lab, *args)
    assert got.returncode == 2 and says in got.stderr, got.stderr[-2000:]
    no_traceback(got.stderr)


def test_bad_mode_in_the_environment_stops_the_build(tmp_path):
    lab = Lab(tmp_path, {})
    got = lab.build(env={"CHAPTER_MEASURE": "fresch"})
    assert got.returncode == 2 and "CHAPTER_MEASURE='fresch' is not a mode" in got.stderr, got.stderr[-2000:]
    no_traceback(got.stderr)


@pytest.mark.parametrize("edit, says", [
    (lambda t: t.replace('checks = [{ fact = "cside.c_sizeof_int", op = "eq", expected = 4,',
                         'checks = [{ fact = "cside.c_sizeof_int", op = "eq", expectd = 4,'),
     "unknown key 'expectd'; did you mean 'expected'"),
    (lambda t: t.replace('op = "eq", expected = 4', 'op = "equals", expected = 4', 1), "op 'equals' is not a rule"),
    (lambda t: t.replace('book = "4 B"', 'book = ""', 1), "`book` is empty"),
    (lambda t: t.replace('"cside.c_sizeof_int"', '"cside.c_sizeof_in"', 1),
     "no experiment declares the fact 'cside.c_sizeof_in'; nearest declared: cside.c_sizeof_int"),
])
def test_bad_ledger_stops_the_build_before_measuring(tmp_path, edit, says):
    lab = Lab(tmp_path, {})
    first = lab.measure()
    assert first.returncode == 0, first.stderr[-2000:]
    cached = sorted(p.name for p in (lab.path / ".chapter-cache").rglob("*.json"))
    ledger = lab.path / "claims.toml"
    ledger.write_text(edit(ledger.read_text()))
    got = lab.build()
    assert got.returncode == 2, got.stderr[-2000:]
    assert says in got.stderr and "claims.toml: claim #1 (c-int-size)" in got.stderr, got.stderr[-2000:]
    assert "measuring" not in got.stderr.split("ERROR")[0].replace("measuring in mode", "")
    no_traceback(got.stderr)
    assert sorted(p.name for p in (lab.path / ".chapter-cache").rglob("*.json")) == cached


def test_a_listing_named_but_absent(tmp_path):
    lab = Lab(tmp_path, {})
    assert lab.measure().returncode == 0
    (lab.path / "csrc/one_line.c").rename(lab.path / "csrc/one_lin.c")
    for got in (lab.measure(), lab.build()):
        assert got.returncode == 2, got.stderr[-2000:]
        assert ("csrc/one_line.c: listing not found, but experiment cside (macros/measure/experiments/"
                "one_line.py) names it; nearest files in csrc/: one_lin.c") in got.stderr, got.stderr[-2000:]
        no_traceback(got.stderr)


def test_a_results_file_of_another_schema(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"schema": 1, "experiments": {}}))
    with pytest.raises(results_mod.ResultsFileError, match=f"other.json: results schema 1, this version "
                                                          f"reads schema {results_mod.RESULTS_SCHEMA}"):
        results_mod.load_document(path)
    path.write_text("[1, 2]")
    with pytest.raises(results_mod.ResultsFileError, match="not a results file of this chapter"):
        results_mod.load_document(path)
    path.write_text("{")
    with pytest.raises(results_mod.ResultsFileError, match="not a readable results file"):
        results_mod.load_document(path)


def test_the_engine_refuses_an_undeclared_fact_naming_the_module(tmp_path):
    lab = Lab(tmp_path, {"ok": {}})
    mod = lab.path / "macros/measure/experiments/zlab.py"
    mod.write_text(mod.read_text().replace('"ran": fact(True)', '"rann": fact(True)'))
    got = lab.measure("--only", "ok")
    assert got.returncode == 1
    assert ("experiment ok records fact 'rann', which it does not declare (nearest declared: ran)"
            in got.stderr), got.stderr[-2000:]
    no_traceback(got.stderr)



def test_a_python_without_the_engines_libraries(tmp_path):
    """Without site-packages (python -S) neither pyperf nor cffi can be imported: one message
    naming both and the command that installs them, before anything is measured."""
    import sys
    lab = Lab(tmp_path, {})
    got = subprocess.run([sys.executable, "-S", "scripts/measure.py", "--scale", "quick"], cwd=lab.path,
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 2, got.stderr[-2000:]
    assert "has no pyperf and no cffi" in got.stderr and "-m pip install -r requirements.txt" in got.stderr
    assert "measuring" not in got.stderr and not (lab.path / ".chapter-cache" / "quick").exists()
    no_traceback(got.stderr)
