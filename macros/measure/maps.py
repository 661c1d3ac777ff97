"""Reading /proc/PID/maps: which mapping holds an address, and what kind of memory it is."""
from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+\d+\s*(.*)$")


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    perms: str
    path: str
    line: str

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def region(self) -> str:
        """The chapter's name for this kind of memory."""
        p = self.path
        if p == "[heap]":
            return "heap"
        if p == "[stack]" or p.startswith("[stack:"):
            return "stack"
        if p in ("[vdso]", "[vvar]", "[vsyscall]", "[vvar_vclock]"):
            return "kernel-provided"
        if not p:
            return "anonymous mmap"
        name = p.rsplit("/", 1)[-1]
        if "x" in self.perms:
            return f"code of {name}"
        if "w" in self.perms:
            return f"writable data of {name}"
        return f"read-only data of {name}"

    @property
    def dynamic(self) -> bool:
        """Allocated at run time (brk heap or anonymous mmap), as opposed to the program image."""
        return self.region in ("heap", "anonymous mmap")


def parse(text: str) -> list[Mapping]:
    out = []
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out.append(Mapping(int(m.group(1), 16), int(m.group(2), 16), m.group(3),
                               m.group(4).strip(), line.rstrip()))
    return out


def locate(address: int, mappings: list[Mapping]) -> Mapping | None:
    for mp in mappings:
        if mp.start <= address < mp.end:
            return mp
    return None


def split_output(stdout: str, marker: str = "--- /proc/self/maps ---") -> tuple[str, str]:
    """A program's own output, and the address map it printed after the marker."""
    head, sep, tail = stdout.partition(marker)
    return head.rstrip("\n"), tail.lstrip("\n") if sep else ""
