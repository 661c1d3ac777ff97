"""Machine code: disassemble one function with objdump, and read facts from it.

`disassemble` runs the objdump that can read the binary's architecture (x86-64 or AArch64,
taken from the ELF header) and parses its output into a `Disassembly`. Every way it can fail
(no objdump, objdump fails, the symbol is not there) raises MeasureError(kind="toolchain"):
an error is never handed on as text a reader could take for machine code.

The readers below are pure functions of a Disassembly, written for what gcc and clang emit
on both architectures (objdump's Intel syntax on x86-64, its own syntax on AArch64).
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import MeasureError

X86_64 = "x86-64"
AARCH64 = "aarch64"

# ELF e_machine values, and what each architecture needs from binutils.
_E_MACHINE = {62: X86_64, 183: AARCH64}
_ARCH = {
    X86_64: {"objdumps": ("objdump", "x86_64-linux-gnu-objdump"), "bfd": "elf64-x86-64",
             "flags": ("-M", "intel"),
             "install": "Debian/Ubuntu: apt-get install binutils; Fedora: dnf install binutils"},
    AARCH64: {"objdumps": ("objdump", "aarch64-linux-gnu-objdump"), "bfd": "elf64-littleaarch64",
              "flags": (),
              "install": "Debian/Ubuntu: apt-get install binutils-aarch64-linux-gnu (or binutils on "
                         "an AArch64 machine); Fedora: dnf install binutils-aarch64-linux-gnu"},
}
_TIMEOUT = 60


@dataclass(frozen=True)
class Instruction:
    address: int
    mnemonic: str           # without prefixes such as `lock`, `rep`, `data16`, `cs`
    operands: str           # whitespace collapsed, objdump's comment removed
    comment: str = ""       # objdump's note after `#` (x86) or `//` (AArch64)
    text: str = ""          # as shown on the page: no addresses that change build to build

    @property
    def target(self) -> tuple[int, str] | None:
        """(address, symbol+offset) a direct branch or call goes to, if it names one."""
        m = re.search(r"(?:^|,\s*)([0-9a-f]+) <([^>]+)>$", self.operands)
        return (int(m.group(1), 16), m.group(2)) if m else None


@dataclass(frozen=True)
class Disassembly:
    symbol: str
    arch: str                           # "x86-64" | "aarch64"
    start: int                          # the function's address
    instructions: tuple[Instruction, ...]
    text: str                           # the page's listing: "symbol:" then one instruction a line


# ------------------------------------------------------------------ running objdump

def elf_arch(binary: Path) -> str:
    """'x86-64' or 'aarch64', from the ELF header's e_machine."""
    try:
        with open(binary, "rb") as fh:
            head = fh.read(20)
    except OSError as exc:
        raise MeasureError(f"cannot read {binary}: {exc.strerror}", kind="toolchain")
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise MeasureError(f"{binary.name} is not an ELF file: no machine code to read", kind="toolchain")
    order = "little" if head[5] == 1 else "big"
    machine = int.from_bytes(head[18:20], order)
    if machine not in _E_MACHINE:
        raise MeasureError(f"{binary.name} is for an architecture this engine does not read "
                           f"(ELF e_machine {machine}); it reads x86-64 and AArch64", kind="toolchain")
    return _E_MACHINE[machine]


@functools.lru_cache(maxsize=None)
def _reads(objdump: str, bfd: str) -> bool:
    """Whether this objdump was built with the BFD target (`objdump -i` lists them)."""
    try:
        out = subprocess.run([objdump, "-i"], capture_output=True, text=True, timeout=_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and bfd in out.stdout.split()


def find_objdump(arch: str) -> str:
    """The path of an objdump that reads `arch`; the host's first, then the cross one."""
    spec = _ARCH[arch]
    found = [p for p in (shutil.which(name) for name in spec["objdumps"]) if p]
    for path in found:
        if _reads(path, spec["bfd"]):
            return path
    what = (f"found {', '.join(found)}, which cannot read {arch} machine code" if found
            else f"no objdump on PATH (looked for {', '.join(spec['objdumps'])})")
    raise MeasureError(f"cannot show the machine code: {what}. Install it ({spec['install']})",
                       kind="toolchain")


def disassemble(binary: Path, symbol: str) -> Disassembly:
    """One function's machine code; MeasureError(kind="toolchain") if it cannot be had."""
    binary = Path(binary)
    arch = elf_arch(binary)
    objdump = find_objdump(arch)
    argv = [objdump, "-d", "--no-show-raw-insn", *_ARCH[arch]["flags"], f"--disassemble={symbol}", str(binary)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MeasureError(f"objdump did not finish within {_TIMEOUT} s on {binary.name}", kind="toolchain")
    except OSError as exc:
        raise MeasureError(f"cannot run {objdump}: {exc.strerror}. Install binutils "
                           f"({_ARCH[arch]['install']})", kind="toolchain")
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise MeasureError(f"objdump failed on {binary.name}: {why} (objdump 2.32 or later is needed "
                           f"for --disassemble=SYMBOL; {_ARCH[arch]['install']})", kind="toolchain")
    return parse_objdump(proc.stdout, symbol, arch, source=binary.name, stderr=proc.stderr)


def asm_or_reason(binary: Path, symbol: str) -> tuple[Disassembly | None, str]:
    """(the disassembly, "") or (None, why not): for experiments that go on without it."""
    try:
        return disassemble(binary, symbol), ""
    except MeasureError as exc:
        return None, exc.reason


# ------------------------------------------------------------------ parsing objdump's output

_X86_PREFIXES = {"lock", "rep", "repz", "repnz", "repe", "repne", "bnd", "notrack", "data16",
                 "data32", "addr32", "cs", "ds", "es", "fs", "gs", "ss", "rex", "rex.W"}
_LINE = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")


def _split(raw: str, arch: str) -> tuple[str, str, str]:
    """objdump's instruction text -> (mnemonic, operands, comment)."""
    comment = ""
    if arch == X86_64:
        code, sep, rest = raw.partition("#")          # Intel operands never hold a '#'
    else:
        m = re.search(r"\s(//|;)\s?", raw)             # '#' starts AArch64 immediates
        code, sep, rest = (raw[:m.start()], m.group(1), raw[m.end():]) if m else (raw, "", "")
    if sep:
        comment = rest.strip()
    words = code.split()
    while arch == X86_64 and len(words) > 1 and words[0] in _X86_PREFIXES:
        words.pop(0)
    return (words[0] if words else ""), " ".join(words[1:]), comment


def parse_objdump(output: str, symbol: str, arch: str, *, source: str = "the binary",
                  stderr: str = "") -> Disassembly:
    """objdump -d --no-show-raw-insn output -> the Disassembly of `symbol` in it."""
    start = None
    instructions: list[Instruction] = []
    shown = [f"{symbol}:"]
    for line in output.splitlines():
        if start is None:
            m = re.match(rf"^([0-9a-f]+) <{re.escape(symbol)}>:$", line)
            if m:
                start = int(m.group(1), 16)
            continue
        if not line.strip() or re.match(r"^[0-9a-f]+ <.*>:$", line):
            break                                    # end of the function
        m = _LINE.match(line)
        if not m:
            continue                                 # "..." for skipped zeros, notes
        raw = re.sub(r"\s+", " ", m.group(2)).strip()
        # Jump targets keep their symbolic part only: addresses move from build to build.
        text = re.sub(r"\b[0-9a-f]+ <", "<", raw)
        mnemonic, operands, comment = _split(m.group(2), arch)
        instructions.append(Instruction(int(m.group(1), 16), mnemonic, operands, comment, text))
        shown.append("    " + text)
    if start is None:
        note = (stderr.strip().splitlines() or [""])[-1]
        raise MeasureError(f"no function {symbol} in {source}'s machine code (the compiler may have "
                           f"inlined or renamed it, e.g. {symbol}.constprop.0)"
                           + (f"; objdump said: {note}" if note else ""), kind="toolchain")
    return Disassembly(symbol, arch, start, tuple(instructions), "\n".join(shown))


# ------------------------------------------------------------------ readers

def _is_nop(ins: Instruction) -> bool:
    return ins.mnemonic.startswith("nop") or (ins.mnemonic == "xchg" and ins.operands == "ax,ax")


# Filler that only ever follows a function's last instruction: traps and zero words.
_TRAILING_FILL = {"int3", "udf", ".inst", ".word", "(bad)"}
# Control-flow-integrity landing pads and return-address signing: markers, not work.
_MARKERS = {"endbr64", "endbr32", "bti", "paciasp", "autiasp", "pacibsp", "autibsp"}


def _padding(d: Disassembly) -> set[int]:
    """Indexes of padding: nops anywhere (alignment), trap filler after the last instruction."""
    pad = {i for i, ins in enumerate(d.instructions) if _is_nop(ins)}
    for i in range(len(d.instructions) - 1, -1, -1):
        if d.instructions[i].mnemonic in _TRAILING_FILL or i in pad:
            pad.add(i)
        else:
            break
    return pad


def instructions(d: Disassembly) -> list[Instruction]:
    """The function's instructions without padding."""
    pad = _padding(d)
    return [ins for i, ins in enumerate(d.instructions) if i not in pad]


def instruction_count(d: Disassembly) -> int:
    """Instructions, counting the return but not the padding."""
    return len(instructions(d))


def _is_return(ins: Instruction) -> bool:
    return ins.mnemonic in ("ret", "retq", "retaa", "retab")


def _is_frame(ins: Instruction, arch: str) -> bool:
    """Frame setup or teardown: saving/restoring the frame pointer and callee-saved registers,
    and reserving or releasing a fixed-size frame."""
    op, args = ins.mnemonic, ins.operands
    if arch == X86_64:
        return (op in ("push", "pop", "leave") or args in ("rbp,rsp", "rsp,rbp")
                or (op in ("sub", "add") and re.fullmatch(r"rsp,0x[0-9a-f]+", args) is not None))
    if op in ("stp", "ldp", "str", "ldr") and re.search(r"\[sp(, #-?\d+)?\]", args):
        return re.match(r"(x(19|2\d|30)|d(8|9|1[0-5]))\b", args) is not None
    return (args in ("x29, sp", "sp, x29")
            or (op == "add" and re.fullmatch(r"x29, sp, #0x[0-9a-f]+", args) is not None)
            or (op in ("sub", "add") and re.fullmatch(r"sp, sp, #0x[0-9a-f]+", args) is not None))


def body(d: Disassembly) -> list[Instruction]:
    """The instructions that do the function's work: no padding, no return, no CFI markers,
    no frame setup at the start nor frame teardown just before a return."""
    ins = [i for i in instructions(d) if i.mnemonic not in _MARKERS]
    drop: set[int] = set()
    k = 0
    while k < len(ins) and _is_frame(ins[k], d.arch):
        drop.add(k)
        k += 1
    for j, i in enumerate(ins):
        if _is_return(i):
            drop.add(j)
            k = j - 1
            while k >= 0 and _is_frame(ins[k], d.arch):
                drop.add(k)
                k -= 1
    return [i for j, i in enumerate(ins) if j not in drop]


_X86_REG = r"(?:[re]?[a-d]x|[re]?[sd]i|[re]?bp|r\d+[dwb]?|[a-d]l)"


def sum_op(d: Disassembly) -> Instruction | None:
    """The first instruction of the body that adds two values held in registers or memory
    (not a constant, not the stack pointer): x86 `add` or `lea r,[a+b*1]`, AArch64 `add`."""
    for ins in body(d):
        if d.arch == X86_64:
            if ins.mnemonic == "add":
                dst, _, src = ins.operands.partition(",")
                if src and not re.fullmatch(r"-?(0x)?[0-9a-f]+", src) and "sp" not in dst:
                    return ins
            elif ins.mnemonic == "lea" and re.search(rf"\[{_X86_REG}\+{_X86_REG}\*1\]$", ins.operands):
                return ins
        elif ins.mnemonic == "add":
            regs = [a.strip() for a in ins.operands.split(",")]
            if len(regs) == 3 and all(re.fullmatch(r"[wx]\d+", r) for r in regs):
                return ins
    return None


def accesses_memory(ins: Instruction) -> bool:
    """Whether the instruction reads or writes memory (a bracketed operand that is not `lea`)."""
    return "[" in ins.operands and ins.mnemonic != "lea" and not ins.mnemonic.startswith("nop")


# Registers a function saves on entry and restores before returning (System V x86-64):
# pushing one of the others only moves the stack pointer, as clang's `push rax` does.
_X86_CALLEE_SAVED = {"rbx", "rbp", "r12", "r13", "r14", "r15"}


def _reg(name: str, arch: str) -> str:
    """A register's 64-bit name (eax -> rax, r8d -> r8, w8 -> x8); anything else unchanged."""
    name = name.strip()
    if arch == X86_64:
        if m := re.fullmatch(r"(r\d+)[dwb]", name):
            return m.group(1)
        return "r" + name[1:] if re.fullmatch(r"e(ax|bx|cx|dx|si|di|bp|sp)", name) else name
    return "x" + name[1:] if re.fullmatch(r"w\d+", name) else name


def _writes(ins: Instruction, arch: str) -> list[str]:
    """Registers the instruction writes (its destination operands), by 64-bit name."""
    op, args = ins.mnemonic, [a.strip() for a in ins.operands.split(",")]
    if not ins.operands:
        return []
    if arch == X86_64:
        if op in ("cmp", "test", "push", "call", "ret") or op.startswith("j") or "[" in args[0]:
            return []
        return [_reg(args[0], arch)]
    if op in ("cmp", "cmn", "tst", "ret", "bl", "blr", "br") or op.startswith("st") or _is_jump(ins, arch):
        return []
    return [_reg(a, arch) for a in args[:2 if op == "ldp" else 1]]


def _stack_moves(d: Disassembly) -> list[tuple[Instruction, str, int | None]]:
    """(instruction, "alloc" | "release", bytes or None when sized at run time) for each
    instruction that moves the stack pointer to make room for locals or to give it back.

    Saving a register is not making room: x86 pushes and pops of callee-saved registers, and
    AArch64 pre-/post-indexed stores and loads that move sp by no more than the 16 bytes they
    save, are left out. Setting the stack pointer from a register counts as an allocation
    (clang's variable-length arrays compute the new top in a register), unless that register
    holds a copy of an earlier stack pointer (`mov rsp,rbp`, `mov sp, x29`): that releases."""
    x86 = d.arch == X86_64
    sp = "rsp" if x86 else "sp"
    copies: set[str] = set()                # registers holding an earlier stack pointer
    moves: list[tuple[Instruction, str, int | None]] = []
    for ins in instructions(d):
        op, args = ins.mnemonic, [a.strip() for a in ins.operands.split(",")]
        move: tuple[str, int | None] | None = None
        if x86:
            if op == "push" and _reg(args[0], d.arch) not in _X86_CALLEE_SAVED:
                move = ("alloc", 8)
            elif op == "pop" and _reg(args[0], d.arch) not in _X86_CALLEE_SAVED:
                move = ("release", 8)
            elif op == "leave":
                move = ("release", None)
            elif args[0] == "rsp" and len(args) == 2:
                imm = _imm(args[1])
                src = _reg(args[1], d.arch)
                if op == "sub" or op == "and":       # `and` aligns it down: room too
                    move = ("alloc", imm if op == "sub" else None)
                elif op == "add":
                    move = ("release", imm)
                elif op == "lea" and (m := re.fullmatch(r"\[rsp([+-]0x[0-9a-f]+)\]", args[1])):
                    n = int(m.group(1), 16)
                    move = ("alloc", -n) if n < 0 else ("release", n)
                elif op in ("mov", "lea"):
                    restores = src in copies | {"rbp"} or args[1].startswith("[rbp")
                    move = ("release", None) if restores else ("alloc", None)
        else:
            pair = 32 if op in ("stp", "ldp") and args[0].startswith("q") else 16
            if args[0] == "sp" and op in ("sub", "add") and len(args) == 3 and args[1] == "sp":
                imm = _imm(args[2])
                move = ("alloc" if op == "sub" else "release", imm)
            elif args[0] == "sp" and op == "mov" and len(args) == 2:
                move = ("release", None) if _reg(args[1], d.arch) in copies else ("alloc", None)
            elif op in ("stp", "str") and (m := re.search(r"\[sp, #-(\d+)\]!$", ins.operands)):
                move = ("alloc", int(m.group(1))) if int(m.group(1)) > pair else None
            elif op in ("ldp", "ldr") and (m := re.search(r"\[sp\], #(\d+)$", ins.operands)):
                move = ("release", int(m.group(1))) if int(m.group(1)) > pair else None
        if move:
            moves.append((ins, *move))
        # Track copies of the stack pointer, forgetting a register once it is overwritten.
        written = _writes(ins, d.arch)
        if op == "mov" and len(args) == 2 and written and _reg(args[1], d.arch) in ({sp} | copies):
            copies.add(written[0])
        else:
            copies.difference_update(written)
    return moves


def stack_allocations(d: Disassembly) -> list[Instruction]:
    """Instructions that lower the stack pointer to make room for locals (constant or run-time size)."""
    return [ins for ins, kind, _ in _stack_moves(d) if kind == "alloc"]


def stack_releases(d: Disassembly) -> list[Instruction]:
    """Instructions that give that room back."""
    return [ins for ins, kind, _ in _stack_moves(d) if kind == "release"]


def stack_bytes(d: Disassembly) -> int:
    """Bytes by which the allocations of constant size lower the stack pointer (0 if none)."""
    return sum(n or 0 for _, kind, n in _stack_moves(d) if kind == "alloc")


def _is_jump(ins: Instruction, arch: str) -> bool:
    if arch == X86_64:
        return ins.mnemonic.startswith("j") or ins.mnemonic.startswith("loop")
    return ins.mnemonic in ("b", "cbz", "cbnz", "tbz", "tbnz") or ins.mnemonic.startswith("b.")


def has_loop(d: Disassembly) -> bool:
    """Whether some jump goes backwards within the function: a loop."""
    for ins in instructions(d):
        t = ins.target
        if _is_jump(ins, d.arch) and t and d.start <= t[0] <= ins.address:
            return True
    return False


def _imm(text: str) -> int | None:
    m = re.fullmatch(r"#?(-?(?:0x[0-9a-f]+|\d+))", text.strip())
    return int(m.group(1), 0) if m else None


def folded_constant(d: Disassembly) -> int | None:
    """The value the function returns if all it does is put a constant in the return register
    (rax/eax, x0/w0), as a signed 64-bit integer; None if it does anything else."""
    work = body(d)
    if not work or not any(_is_return(i) for i in instructions(d)):
        return None
    value: int | None = None
    for ins in work:
        op, args = ins.mnemonic, [a.strip() for a in ins.operands.split(",")]
        if d.arch == X86_64:
            if op == "xor" and args in (["eax", "eax"], ["rax", "rax"]):
                value = 0
            elif op in ("mov", "movabs") and len(args) == 2 and args[0] in ("rax", "eax") \
                    and (imm := _imm(args[1])) is not None:
                value = imm & (0xFFFFFFFF if args[0] == "eax" else (1 << 64) - 1)
            else:
                return None
        else:
            if op == "mov" and len(args) == 2 and args[0] in ("x0", "w0") and args[1] in ("xzr", "wzr"):
                value = 0
            elif op in ("mov", "movz") and len(args) == 2 and args[0] in ("x0", "w0") \
                    and (imm := _imm(args[1])) is not None:
                value = imm & (0xFFFFFFFF if args[0] == "w0" else (1 << 64) - 1)
            elif op == "movk" and args[0] in ("x0", "w0") and value is not None and (imm := _imm(args[1])) is not None:
                shift = int(re.fullmatch(r"lsl #(\d+)", args[2]).group(1)) if len(args) == 3 else 0
                value = (value & ~(0xFFFF << shift)) | (imm << shift)
            else:
                return None
    if value is None:
        return None
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


def uses_vector_registers(d: Disassembly) -> bool:
    """Whether any instruction names a SIMD vector register: x86 xmm/ymm/zmm, AArch64 NEON
    `v<n>.<arrangement>` or `q<n>`, SVE `z<n>.`."""
    pattern = r"\b[xyz]mm\d+\b" if d.arch == X86_64 else r"\b(v\d+\.\d*[bhsdq]|q\d+\b|z\d+\.[bhsdq])"
    return any(re.search(pattern, i.operands) for i in instructions(d))


def calls(d: Disassembly) -> list[str]:
    """Functions called, or jumped to as a tail call, by name without @plt/@GLIBC and offset."""
    names = []
    for ins in instructions(d):
        is_call = ins.mnemonic in (("call", "callq") if d.arch == X86_64 else ("bl",))
        if not (is_call or _is_jump(ins, d.arch)):
            continue
        t = ins.target
        name = t[1] if t else None
        if name is None and is_call:                  # call through the GOT: target in the comment
            m = re.search(r"<([^>]+)>$", ins.comment)
            name = m.group(1) if m else None
        if name is None or (not is_call and (re.fullmatch(rf"{re.escape(d.symbol)}\+0x[0-9a-f]+", name)
                                             or name.startswith(f"{d.symbol}."))):
            continue                                  # a jump inside the function or to its .cold part
        names.append(re.split(r"[@+]", name)[0])
    return names


def calls_function(d: Disassembly, name: str) -> bool:
    """Whether the function calls `name` (directly, through the PLT, or as a tail call)."""
    return name in calls(d)
