"""Section 4, the benchmark: its listings compiled and run; each asserts what the program really did."""
from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from macros.measure import machinecode, runner, toolchain
from test_one_line import compile_run

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
        dis = machinecode.disassemble(exe, "sum_book")
        assert dis.text.startswith("sum_book:")
        assert machinecode.has_loop(dis) != folded, dis.text
        if folded:
            n = int(re.search(r"#define N_TERMS (\d+)LL", (root / "csrc/sum_loop.c").read_text()).group(1))
            assert machinecode.folded_constant(dis) == n * (n - 1) // 2, dis.text
