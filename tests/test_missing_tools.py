"""A machine without a tool: the facts that need it are "not measured", with the reason and
the install command for Debian/Ubuntu and Fedora; nothing parses an error as a result."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_project, declared
from macros.measure import ledger
from macros.measure.results import NotMeasured, Results

pytestmark = pytest.mark.slow


def path_without(tmp_path: Path, *tools: str) -> str:
    """A PATH folder of links to everything on this PATH except the tools named."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for entry in os.listdir(d):
            if entry in tools or any(entry.endswith("-" + t) for t in tools) or (folder / entry).exists():
                continue
            (folder / entry).symlink_to(Path(d, entry))
    for t in tools:
        assert shutil.which(t, path=str(folder)) is None
    return str(folder)


def measure_without(tmp_path: Path, tools: tuple[str, ...], only: list[str]) -> Results:
    proj = copy_project(tmp_path / "p")
    env = {**os.environ, "PATH": path_without(tmp_path, *tools)}
    got = subprocess.run([sys.executable, "scripts/measure.py", "--scale", "quick", "--only", *only],
                         cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in got.stderr, got.stderr[-2000:]
    doc = json.loads(next((proj / "results").glob("*.quick.json")).read_text())
    return Results(doc, declared())


CLAIMS = ledger.load(Path(__file__).resolve().parents[1] / "claims.toml")


@pytest.mark.parametrize("tool, only, facts, claims, hint", [
    ("objdump", ["cadd", "alloc"], ["cadd.op_O2", "cadd.body_count_O2", "alloc.alloc_instructions",
                                    "alloc.vla_alloc_instructions"],
     ["c-add-instruction", "stack-alloc-instruction"], "install binutils"),
    ("valgrind", ["cachesim", "sumcount"], ["cachesim.d1_misses_per_elem_array", "cachesim.d1_misses_per_elem_shuffled",
                                            "sumcount.ir_per_add_py_loop", "sumcount.ir_per_add_c_opaque_O2"],
     ["list-misses"], "install valgrind"),
])
def test_a_missing_tool_makes_its_facts_not_measured(tmp_path, tool, only, facts, claims, hint):
    res = measure_without(tmp_path, (tool,), only)
    for name in only:   # the experiment itself ran: what the tool does not give is still measured
        assert res.measured_experiment(name), res.experiment(name)
    for ref in facts:
        f = res.fact(ref)
        assert isinstance(f, NotMeasured), (ref, f)
        assert f"apt-get {hint}" in f.reason and f"dnf {hint}" in f.reason, f.reason
    for cid in claims:
        v = ledger.evaluate(CLAIMS[cid], res)
        assert v.status == "not-measured" and hint in v.reason, (cid, v)


def test_no_c_compiler_and_no_cache_names_the_experiments(tmp_path):
    res = measure_without(tmp_path, ("gcc", "cc", "clang"), ["cside", "pyside"])
    assert res.measured_experiment("pyside")            # Python needs no compiler
    f = res.fact("cside.c_sizeof_int")
    assert isinstance(f, NotMeasured) and "no C compiler" in f.reason and "apt-get install gcc" in f.reason


@pytest.mark.parametrize("cc", ["env gcc", "gcc -m64"])
def test_cc_may_be_a_command_with_arguments(tmp_path, monkeypatch, root, cc):
    """CC as many users set it ("ccache gcc"): the words after the program are its arguments."""
    from macros.measure import runner, toolchain
    monkeypatch.setenv("CC", cc)
    toolchain.compiler.cache_clear()
    toolchain.compiler_version.cache_clear()
    try:
        assert toolchain.compiler()[1:] == tuple(cc.split()[1:])
        assert "gcc" in toolchain.compiler_version().lower()
        exe = toolchain.compile_c(root / "csrc/sizes.c", tmp_path / "sizes", ["-O2"], root=root)
        assert "sizeof(int) = " in runner.run([str(exe)], file="csrc/sizes.c").stdout
    finally:
        toolchain.compiler.cache_clear()
        toolchain.compiler_version.cache_clear()


def test_cc_naming_no_program(monkeypatch):
    from macros.measure import toolchain
    from macros.measure.errors import MeasureError
    monkeypatch.setenv("CC", "no-such-cc --flag")
    toolchain.compiler.cache_clear()
    try:
        with pytest.raises(MeasureError, match="no C compiler: 'no-such-cc'.*dnf install gcc"):
            toolchain.compiler()
    finally:
        toolchain.compiler.cache_clear()
