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

import prewarmed
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
    got = prewarmed.run(["scripts/measure.py", "--scale", "quick", "--only", *only], cwd=proj, env=env,
                        timeout=300)
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
    res = measure_without(tmp_path, ("gcc", "cc", "clang"), ["cside", "pyside", "sum"])
    assert res.measured_experiment("pyside")            # Python needs no compiler
    f = res.fact("cside.c_sizeof_int")
    assert isinstance(f, NotMeasured) and "no C compiler" in f.reason and "apt-get install gcc" in f.reason
    # The benchmark loses its C side only: the Python loops are timed all the same.
    assert res.measured_experiment("sum"), res.experiment("sum")
    for ref in ("sum.py_loop", "sum.py_sum_builtin", "sum.ratio_loop_vs_builtin", "sum.numpy_sum"):
        assert not isinstance(res.fact(ref), NotMeasured), ref
        assert res.value(ref) > 0, ref
    for ref in ("sum.c_opaque_O2", "sum.ratio_py_loop", "sum.ratio_numpy_sum", "sum.ns_per_add_c_opaque_O2",
                "sum.book_loop_folded_O2", "sum.instr_sum_book_O2"):
        f = res.fact(ref)
        assert isinstance(f, NotMeasured) and "no C compiler" in f.reason and "dnf install gcc" in f.reason, (ref, f)
    v = ledger.evaluate(CLAIMS["py-loop"], res)
    assert v.status == "not-measured" and "no C compiler" in v.reason, v
    assert ledger.evaluate(CLAIMS["numpy-sum"], res).status != "not-measured"


@pytest.fixture(scope="module")
def python_without_numpy(tmp_path_factory) -> Path:
    """This environment's Python as a venv in which `import numpy` fails as if NumPy were not
    installed: a stub package that raises, ahead of a .pth line that brings in the rest."""
    import sysconfig
    venv = tmp_path_factory.mktemp("no-numpy") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "numpy").mkdir()
    (site / "numpy" / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'numpy\'", name="numpy")\n')
    (site / "zz-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    gone = subprocess.run([str(python), "-c", "import numpy"], capture_output=True, text=True)
    assert gone.returncode != 0 and "No module named 'numpy'" in gone.stderr
    return python


def test_no_numpy_leaves_its_figures_not_measured(tmp_path, python_without_numpy):
    proj = copy_project(tmp_path / "p")
    got = subprocess.run([str(python_without_numpy), "scripts/measure.py", "--scale", "quick",
                          "--only", "sum", "pylocality"],
                         cwd=proj, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr[-2000:]
    res = Results(json.loads(next((proj / "results").glob("*.quick.json")).read_text()), declared())
    for ref in ("sum.numpy_sum", "sum.ratio_builtin_vs_numpy", "sum.numpy_faster_than_builtin",
                "pylocality.ns_per_elem_numpy", "pylocality.ratio_py_ordered_vs_numpy"):
        f = res.fact(ref)
        assert isinstance(f, NotMeasured), (ref, f)
        assert "pip install numpy" in f.reason and "apt-get install python3-numpy" in f.reason \
            and "dnf install python3-numpy" in f.reason, f.reason
    # Everything else is measured, intervals included (the bootstrap runs without NumPy too).
    for ref in ("sum.py_loop", "sum.c_opaque_O2", "sum.ratio_py_loop", "pylocality.ns_per_elem_py_array",
                "pylocality.ratio_py_shuffled_vs_ordered"):
        f = res.fact(ref)
        assert not isinstance(f, NotMeasured), ref
        assert f["value"] > 0 and f.get("ci_low", f["value"]) <= f["value"], (ref, f)
    assert "NumPy is not installed" in res.evidence("pylocality.output")
    v = ledger.evaluate(CLAIMS["numpy-sum"], res)
    assert v.status == "not-measured" and "NumPy" in v.reason, v
    for cid in ("py-loop", "py-sum-builtin", "c-loop-time"):
        assert ledger.evaluate(CLAIMS[cid], res).status != "not-measured", cid


def test_python_headers_missing_names_the_package(tmp_path):
    """cffi builds a C extension, which needs Python.h (distros ship it apart from Python)."""
    import sysconfig
    from macros.measure import toolchain
    why = toolchain.python_headers_missing(tmp_path)
    assert why and str(tmp_path / "Python.h") in why
    assert "apt-get install python3-dev" in why and "dnf install python3-devel" in why
    (tmp_path / "Python.h").write_text("")
    assert toolchain.python_headers_missing(tmp_path) is None
    assert toolchain.python_headers_missing() is None, sysconfig.get_paths()["include"]


def test_without_python_headers_the_c_side_is_not_measured(tmp_path, monkeypatch, root):
    """The C functions are not built, with the reason; a broken listing still fails outright."""
    from macros.measure import toolchain
    from macros.measure.config import SCALES
    from macros.measure.experiments import Context, benchmark
    monkeypatch.setattr(toolchain, "python_headers_missing", lambda include=None: "no headers (apt-get install python3-dev)")
    ctx = Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)
    facts, evidence, gaps = {}, {}, {}
    assert benchmark._c_side(ctx, facts, evidence, gaps) is None
    assert gaps["cffi"] == "no headers (apt-get install python3-dev)" and "python3-dev" in gaps["objdump"]
    assert not facts and not evidence


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
