"""The listings of sections 1 and 4, compiled and run; each asserts what the program really did."""
from __future__ import annotations

import ctypes
import importlib.util
import json
import re
import sys

import pytest

from macros.measure import maps, runner, toolchain


def compile_run(root, tmp_path, source, flags, link=None):
    exe = tmp_path / "prog"
    toolchain.compile_c(root / source, exe, flags, root=root, link=link)
    return runner.run([str(exe)], file=source, timeout=60).stdout


@pytest.mark.listing("csrc/one_line.c", "csrc/show_maps.c", "csrc/show_maps.h")
def test_one_line_c(root, tmp_path):
    out = compile_run(root, tmp_path, "csrc/one_line.c", ["-O2"], link=["csrc/show_maps.c"])
    shown, map_text = maps.split_output(out)
    assert int(re.search(r"sizeof\(int\) = (\d+)", shown).group(1)) == ctypes.sizeof(ctypes.c_int)
    addr = int(re.search(r"&x = (0x[0-9a-f]+)", shown).group(1), 16)
    where = maps.locate(addr, maps.parse(map_text))
    assert where is not None and where.region == "stack"


@pytest.mark.listing("pysrc/one_line.py")
def test_one_line_py(root):
    out = runner.run([sys.executable, str(root / "pysrc/one_line.py")], file="pysrc/one_line.py").stdout
    assert f"sys.getsizeof(x) = {sys.getsizeof(42)} bytes" in out
    # The script is compiled as one unit, so its answer is what compiling it whole gives here.
    ns: dict = {}
    exec(compile("y = 257\nz = 257\nsame = id(y) == id(z)\n", "<s>", "exec"), ns)
    assert f"id(y) == id(z)   : {ns['same']}" in out


@pytest.mark.listing("pysrc/object_probe.py")
def test_object_probe(root):
    out = runner.run([sys.executable, str(root / "pysrc/object_probe.py")], file="pysrc/object_probe.py")
    data = json.loads(out.stdout)
    for n, same in data["identity"].items():
        assert same == (int(str(n)) is int(str(n))), n
    assert data["getsizeof_42"] == sys.getsizeof(42)
    assert data["object_sizeof"] == object().__sizeof__()
    assert data["int_basicsize"] == int.__basicsize__
    located = maps.locate(data["addresses"]["fresh_big_int"], maps.parse(data["maps"]))
    assert located is not None
    assert any(op.startswith("STORE") for op in data["dis_module_ops"])


@pytest.mark.listing("csrc/sum_loop.c")
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_sum_loop_c(root, tmp_path, opt):
    n = 12345
    out = compile_run(root, tmp_path, "csrc/sum_loop.c", [opt, f"-DN_TERMS={n}LL"])
    sums = [int(v) for v in re.findall(r":\s+(-?\d+) in ", out)]
    assert sums == [n * (n - 1) // 2] * 2, out


@pytest.mark.listing("pysrc/sum_loop.py")
def test_sum_loop_py(root):
    n = 54321
    out = runner.run([sys.executable, str(root / "pysrc/sum_loop.py"), str(n)], file="pysrc/sum_loop.py").stdout
    assert re.findall(r"^(\w+): (\d+) in [\d.]+ s$", out, re.M) == [
        ("sum_builtin", str(n * (n - 1) // 2)), ("sum_loop", str(n * (n - 1) // 2))]


@pytest.mark.listing("pysrc/sum_numpy.py")
def test_sum_numpy(root):
    spec = importlib.util.spec_from_file_location("sum_numpy", root / "pysrc/sum_numpy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    n = 100_003
    assert mod.sum_numpy(mod.make_data(n)) == n * (n - 1) // 2 == mod.arange_and_sum(n)


def test_folded_loop_machine_code(root, tmp_path):
    """At -O2 the book's loop has no jump left; at -O0 it has. Read from the compiled code."""
    for opt, folded in (("-O2", True), ("-O0", False)):
        exe = tmp_path / f"s{opt}"
        toolchain.compile_c(root / "csrc/sum_loop.c", exe, [opt], root=root)
        asm = toolchain.disassemble(exe, "sum_book")
        assert asm.startswith("sum_book:")
        has_jump = any(l.strip().startswith("j") for l in asm.splitlines()[1:])
        assert has_jump != folded, asm
