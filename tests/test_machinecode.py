"""The machine-code readers, over objdump output recorded from gcc and clang for x86-64 and
AArch64 (tests/data/machinecode, README there), over the same listings compiled live, and
the failures: no objdump, a failing objdump, a missing symbol are MeasureErrors, never text.

Expectations are what those outputs contain, or follow from the listings and the ABIs.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from macros.measure import machinecode as mc
from macros.measure.errors import MeasureError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/data/machinecode"
TARGETS = ("x86-64-gcc", "x86-64-clang", "aarch64-gcc", "aarch64-clang")
NAME = re.compile(r"^(?P<binary>\w+-O\d)-(?P<symbol>\w+?)(?P<padded>-padded)?\.txt$")


def arch_of(target: str) -> str:
    return mc.AARCH64 if target.startswith("aarch64") else mc.X86_64


def kept(target: str, binary: str, symbol: str, padded: bool = False) -> mc.Disassembly:
    """The recorded disassembly of `symbol` in `binary` ("add-O2") made by `target`."""
    path = DATA / target / f"{binary}-{symbol}{'-padded' if padded else ''}.txt"
    return mc.parse_objdump(path.read_text(), symbol, arch_of(target), source=path.name)


def listing_define(listing: str, name: str) -> int:
    text = (ROOT / "csrc" / listing).read_text()
    return int(re.search(rf"^#define {name} (\d+)", text, re.M).group(1))


KEPT_FILES = sorted(p for p in DATA.glob("*/*.txt") if p.name != "tools.txt")


def test_every_target_recorded():
    assert {p.parent.name for p in KEPT_FILES} == set(TARGETS)
    names = {t: {p.name for p in KEPT_FILES if p.parent.name == t} for t in TARGETS}
    assert all(names[t] >= names["aarch64-clang"] for t in TARGETS)


# ------------------------------------------------------------------ every reader, every file

@pytest.mark.parametrize("path", KEPT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_readers_on_every_recorded_output(path):
    m = NAME.match(path.name)
    raw = path.read_text()
    d = mc.parse_objdump(raw, m["symbol"], arch_of(path.parent.name))
    assert d.symbol == m["symbol"] and d.arch == arch_of(path.parent.name)
    # One Instruction per instruction line of objdump's output, in order, none empty.
    lines = re.findall(r"^\s*([0-9a-f]+):\t", raw, re.M)
    assert [i.address for i in d.instructions] == [int(a, 16) for a in lines]
    assert d.start == d.instructions[0].address and all(i.mnemonic for i in d.instructions)
    # The page's text: the name, then each instruction, with no build-dependent address.
    shown = d.text.splitlines()
    assert shown[0] == f"{d.symbol}:" and len(shown) == len(d.instructions) + 1
    assert not any(re.search(r"\b[0-9a-f]{3,} <", line) for line in shown)
    # The readers' answers are well formed and consistent with one another.
    real = mc.instructions(d)
    assert mc.instruction_count(d) == len(real) <= len(d.instructions)
    assert not any(i.mnemonic.startswith("nop") for i in real)
    assert all(i in real for i in mc.body(d)) and not any(i.mnemonic == "ret" for i in mc.body(d))
    assert mc.sum_op(d) is None or mc.sum_op(d) in mc.body(d)
    assert all(i in real for i in mc.stack_allocations(d) + mc.stack_releases(d))
    assert mc.stack_bytes(d) >= 0 and isinstance(mc.has_loop(d), bool)
    assert isinstance(mc.uses_vector_registers(d), bool)
    assert all(name and "@" not in name and "+" not in name for name in mc.calls(d))
    const = mc.folded_constant(d)
    assert const is None or (-(1 << 63) <= const < (1 << 63) and len(mc.body(d)) <= 4)


# ------------------------------------------------------------------ what each output holds

@pytest.mark.parametrize("target", TARGETS)
def test_add(target):
    o2, o0 = kept(target, "add-O2", "add"), kept(target, "add-O0", "add")
    # -O2: the work is one instruction on the argument registers: lea on x86-64 (both
    # compilers, as recorded), add on AArch64.
    op = mc.sum_op(o2)
    assert [op] == mc.body(o2)
    if o2.arch == mc.X86_64:
        assert op.mnemonic == "lea" and re.search(r"\[rdi\+rsi\*1\]|\[rsi\+rdi\*1\]", op.operands)
    else:
        assert op.mnemonic == "add" and {"w0", "w1"} <= set(re.findall(r"w\d+", op.operands))
    assert not any(mc.accesses_memory(i) for i in mc.body(o2))
    # -O0: the arguments go through memory, and an add does the sum.
    assert mc.sum_op(o0).mnemonic == "add"
    assert sum(mc.accesses_memory(i) for i in mc.body(o0)) >= 2
    assert mc.instruction_count(o0) > mc.instruction_count(o2)
    for d in (o0, o2):
        assert not mc.has_loop(d) and mc.calls(d) == [] and mc.folded_constant(d) is None


@pytest.mark.parametrize("target", TARGETS)
def test_alloc_cost(target):
    size = listing_define("alloc_cost.c", "SIZE")
    block, vla = kept(target, "alloc_cost-O2", "stack_block"), kept(target, "alloc_cost-O2", "stack_vla")
    # One instruction makes room for the fixed array and one gives it back.
    assert len(mc.stack_allocations(block)) == 1 and len(mc.stack_releases(block)) == 1
    moved = mc.stack_bytes(block)
    if block.arch == mc.X86_64:
        assert size - 128 <= moved          # the rest may lie in the 128-byte red zone
    else:
        assert moved >= size and moved % 16 == 0   # AArch64: no red zone, sp 16-aligned
    # The VLA: one allocation of a size known at run time; gcc subtracts from the stack
    # pointer, clang computes the new top in a register and moves it there.
    (alloc,) = mc.stack_allocations(vla)
    assert mc.stack_bytes(vla) == 0 and len(mc.stack_releases(vla)) >= 1
    expected = {"x86-64-gcc": ("sub", "rsp,"), "x86-64-clang": ("mov", "rsp,"),
                "aarch64-gcc": ("sub", "sp, sp, x"), "aarch64-clang": ("mov", "sp, x")}[target]
    assert (alloc.mnemonic, alloc.operands[:len(expected[1])]) == expected, alloc
    # The heap side calls the allocator; the stack side and the empty call call nothing.
    for func in ("heap_block", "heap_churn"):
        assert {"malloc", "free"} <= set(mc.calls(kept(target, "alloc_cost-O2", func)))
    for func in ("stack_block", "stack_vla", "empty_call"):
        assert mc.calls(kept(target, "alloc_cost-O2", func)) == []
    # heap_block ends in a tail call to free: a jump (x86 jmp, AArch64 b), not a call.
    last = kept(target, "alloc_cost-O2", "heap_block").instructions[-1]
    assert last.mnemonic in ("jmp", "b") and last.target[1].startswith("free")


@pytest.mark.parametrize("target", TARGETS)
def test_sum_loop(target):
    n = listing_define("sum_loop.c", "N_TERMS")
    book_o2, book_o0 = kept(target, "sum_loop-O2", "sum_book"), kept(target, "sum_loop-O0", "sum_book")
    # -O2 folds the book's loop into the constant n(n-1)/2: x86 movabs, AArch64 mov + movk.
    assert not mc.has_loop(book_o2) and mc.folded_constant(book_o2) == n * (n - 1) // 2
    assert {i.mnemonic for i in mc.body(book_o2)} <= ({"movabs", "mov"} if book_o2.arch == mc.X86_64
                                                      else {"mov", "movk"})
    assert mc.has_loop(book_o0) and mc.folded_constant(book_o0) is None
    for opt in ("O0", "O2"):
        opaque = kept(target, f"sum_loop-{opt}", "sum_opaque")
        assert mc.has_loop(opaque) and mc.folded_constant(opaque) is None and mc.sum_op(opaque)


@pytest.mark.parametrize("target", TARGETS)
def test_array_vs_list(target):
    array, lst = kept(target, "array_vs_list-O2", "sum_array"), kept(target, "array_vs_list-O2", "sum_list")
    assert mc.has_loop(array) and mc.has_loop(lst)
    # As recorded: clang 14 vectorises the array loop at -O2 on both architectures (xmm
    # registers; NEON v<n>.2d), gcc 12 does not. A list cannot be vectorised.
    assert mc.uses_vector_registers(array) == target.endswith("clang")
    assert not mc.uses_vector_registers(lst)


@pytest.mark.parametrize("target", TARGETS)
def test_descend(target):
    d = kept(target, "stack_depth-O2", "descend")
    # Recursion with work after the call: it calls itself and printf, and has no loop.
    assert {"descend", "printf"} <= set(mc.calls(d)) and not mc.has_loop(d)
    # Room for the local whose address it prints (x86 sub rsp; AArch64 a pre-indexed stp
    # that moves sp further than the frame record it saves).
    assert len(mc.stack_allocations(d)) >= 1 and mc.stack_bytes(d) >= 16


@pytest.mark.parametrize("target,binary,symbol", [("x86-64-gcc", "sum_loop-O2", "sum_opaque"),
                                                  ("aarch64-gcc", "alloc_cost-O2", "heap_block")])
def test_padding_is_not_counted(target, binary, symbol):
    plain, padded = kept(target, binary, symbol), kept(target, binary, symbol, padded=True)
    assert len(padded.instructions) > len(plain.instructions)
    assert mc.instructions(padded) == mc.instructions(plain)
    assert mc.body(padded) == mc.body(plain) and mc.calls(padded) == mc.calls(plain)


def test_alignment_nops_inside_a_function():
    # gcc pads the loop head of sum_opaque with nops on both architectures.
    for target in ("x86-64-gcc", "aarch64-gcc"):
        d = kept(target, "sum_loop-O2", "sum_opaque")
        nops = [i for i in d.instructions if i.mnemonic.startswith("nop")]
        assert nops and mc.instruction_count(d) == len(d.instructions) - len(nops)


def test_comments_are_not_operands():
    d = kept("aarch64-gcc", "alloc_cost-O2", "heap_block")
    (mov,) = [i for i in d.instructions if i.mnemonic == "mov" and i.operands.startswith("x0")]
    assert mov.operands == "x0, #0x100" and mov.comment == f"#{int('0x100', 16)}"
    d = kept("x86-64-gcc", "stack_depth-O2", "descend")
    lea = next(i for i in d.instructions if "rip" in i.operands)
    assert "#" not in lea.operands and "<" in lea.comment


# ------------------------------------------------------------------ failures are typed

def test_missing_symbol_is_an_error():
    raw = (DATA / "x86-64-gcc/add-O2-add.txt").read_text()
    with pytest.raises(MeasureError) as err:
        mc.parse_objdump(raw, "no_such_function", mc.X86_64)
    assert err.value.kind == "toolchain" and "no_such_function" in err.value.reason


def test_no_objdump_on_path(tmp_path, monkeypatch):
    """An ELF of this machine (the Python interpreter), and a PATH with no objdump."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MeasureError) as err:
        mc.disassemble(Path(sys.executable).resolve(), "main")
    assert err.value.kind == "toolchain"
    assert "no objdump" in err.value.reason and "apt-get install binutils" in err.value.reason \
        and "dnf install binutils" in err.value.reason
    assert mc.asm_or_reason(Path(sys.executable).resolve(), "main") == (None, err.value.reason)


def fake_objdump(folder: Path, targets: str, failure: str | None) -> None:
    """An `objdump` that lists these BFD targets for -i and otherwise fails, or prints nothing."""
    script = folder / "objdump"
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" = -i ]; then echo "{targets}"; exit 0; fi\n'
                      + (f'echo "objdump: {failure}" >&2; exit 1\n' if failure else "exit 0\n"))
    script.chmod(0o755)


def test_failing_objdump(tmp_path, monkeypatch):
    fake_objdump(tmp_path, "elf64-x86-64", "this binary is damaged")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MeasureError) as err:
        mc.disassemble(Path(sys.executable).resolve(), "main")
    assert err.value.kind == "toolchain" and "this binary is damaged" in err.value.reason


def test_silent_objdump_is_a_missing_symbol(tmp_path, monkeypatch):
    fake_objdump(tmp_path, "elf64-x86-64", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MeasureError) as err:
        mc.disassemble(Path(sys.executable).resolve(), "main")
    assert err.value.kind == "toolchain" and "no function main" in err.value.reason


def elf_header(path: Path, machine: int) -> Path:
    """The first 64 bytes of a little-endian ELF64 file for e_machine `machine`."""
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    head[18:20] = machine.to_bytes(2, "little")
    path.write_bytes(bytes(head))
    return path


def test_architecture_from_the_elf_header(tmp_path):
    assert mc.elf_arch(elf_header(tmp_path / "a", 183)) == mc.AARCH64
    assert mc.elf_arch(elf_header(tmp_path / "x", 62)) == mc.X86_64
    for bad in (elf_header(tmp_path / "riscv", 243), tmp_path / "text"):
        if not bad.exists():
            bad.write_text("not machine code\n")
        with pytest.raises(MeasureError) as err:
            mc.elf_arch(bad)
        assert err.value.kind == "toolchain"


def test_aarch64_needs_an_objdump_that_reads_it(tmp_path, monkeypatch):
    cross = shutil.which("aarch64-linux-gnu-objdump")
    fake_objdump(tmp_path, "elf64-x86-64", None)          # a host objdump without AArch64
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MeasureError) as err:
        mc.disassemble(elf_header(tmp_path / "arm", 183), "main")
    assert err.value.kind == "toolchain" and "cannot read aarch64" in err.value.reason
    assert "binutils-aarch64-linux-gnu" in err.value.reason
    if not cross:
        pytest.skip("aarch64-linux-gnu-objdump is not installed (apt-get install binutils-aarch64-linux-gnu)")
    os.symlink(cross, tmp_path / "aarch64-linux-gnu-objdump")
    assert mc.find_objdump(mc.AARCH64) == str(tmp_path / "aarch64-linux-gnu-objdump")


# ------------------------------------------------------------------ live: compile and compare

COMPILERS = {"x86-64-gcc": ["gcc"], "x86-64-clang": ["clang"],
             "aarch64-gcc": ["aarch64-linux-gnu-gcc"], "aarch64-clang": ["clang", "--target=aarch64-linux-gnu"]}
# (binary name, listing, flags, symbols): as in tests/data/machinecode/README.md
BUILDS = [("add-O0", "add.c", ["-O0"], ["add"]),
          ("add-O2", "add.c", ["-O2"], ["add"]),
          ("alloc_cost-O2", "alloc_cost.c", ["-O2"],
           ["heap_block", "heap_churn", "stack_block", "stack_vla", "empty_call"]),
          ("sum_loop-O0", "sum_loop.c", ["-O0", "-DNO_MAIN", "-shared", "-fPIC"], ["sum_book", "sum_opaque"]),
          ("sum_loop-O2", "sum_loop.c", ["-O2", "-DNO_MAIN", "-shared", "-fPIC"], ["sum_book", "sum_opaque"]),
          ("array_vs_list-O2", "array_vs_list.c", ["-O2"], ["sum_array", "sum_list"]),
          ("stack_depth-O2", "stack_depth.c", ["-O2", "-pthread"], ["descend"])]


def conclusions(d: mc.Disassembly) -> dict:
    op = mc.sum_op(d)
    return {"loop": mc.has_loop(d), "constant": mc.folded_constant(d), "calls": sorted(set(mc.calls(d))),
            "count": mc.instruction_count(d), "sum_op": op.mnemonic if op else None,
            "alloc": [i.mnemonic for i in mc.stack_allocations(d)], "releases": len(mc.stack_releases(d)),
            "bytes": mc.stack_bytes(d), "vector": mc.uses_vector_registers(d),
            "body": [i.mnemonic for i in mc.body(d)]}


# What does not change with the compiler's version: the listings make sure of it.
STABLE = ("loop", "constant", "calls")


@pytest.mark.parametrize("target", TARGETS)
def test_live_compile_agrees_with_recorded(target, tmp_path):
    argv = COMPILERS[target]
    if not shutil.which(argv[0]):
        pytest.skip(f"{argv[0]} is not installed: no live {target} build")
    try:
        mc.find_objdump(arch_of(target))
    except MeasureError as exc:
        pytest.skip(f"no objdump for {arch_of(target)}: {exc.reason}")
    version = subprocess.run([*argv, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    same = version == (DATA / target / "tools.txt").read_text().splitlines()[0]
    for binary, listing, flags, symbols in BUILDS:
        out = tmp_path / binary
        proc = subprocess.run([*argv, "-std=gnu11", "-Wall", "-g", *flags, "-o", str(out),
                               str(ROOT / "csrc" / listing)], capture_output=True, text=True)
        if proc.returncode != 0 and target == "aarch64-clang":
            pytest.skip(f"clang cannot build for AArch64 here (needs gcc-aarch64-linux-gnu's "
                        f"libraries): {proc.stderr.strip().splitlines()[-1:]}")
        assert proc.returncode == 0, proc.stderr
        for symbol in symbols:
            live, rec = conclusions(mc.disassemble(out, symbol)), conclusions(kept(target, binary, symbol))
            keys = list(rec) if same else STABLE
            assert {k: live[k] for k in keys} == {k: rec[k] for k in keys}, (binary, symbol, version)
