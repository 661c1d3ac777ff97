"""Section 1, one line two realities: its listings compiled and run; each asserts what the program really did."""
from __future__ import annotations

import ctypes
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
