"""Reading valgrind's counts: events per function from a cachegrind file, instructions per
part from callgrind's dumps. Counts of instructions executed are the same on every run of
the same binary with the same input, which timings never are."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from .errors import MeasureError

HINT = "Debian/Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind"


def find() -> str | None:
    return shutil.which("valgrind")


def missing_reason() -> str:
    return f"valgrind is not installed on this machine ({HINT})"


def function_events(text: str, function: str) -> dict[str, int]:
    """Total events of one function in a cachegrind.out file (summed over its lines)."""
    events = next((l.split()[1:] for l in text.splitlines() if l.startswith("events:")), None)
    if not events:
        raise MeasureError("cachegrind wrote no events line", kind="toolchain")
    totals = dict.fromkeys(events, 0)
    inside = False
    for line in text.splitlines():
        if line.startswith("fn="):
            inside = line[3:].strip() == function
        elif inside and line[:1].isdigit():
            for name, v in zip(events, line.split()[1:]):
                totals[name] += int(v)
    return totals


def part_instructions(texts: list[str]) -> list[int]:
    """Instructions executed in each part of a run that callgrind dumped in parts
    (--dump-before=FN writes a file each time FN is entered), in part order."""
    parts = []
    for text in texts:
        part = re.search(r"^part:\s*(\d+)", text, re.M)
        total = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
        if not part or not total:
            raise MeasureError("callgrind wrote a dump without its part number or total", kind="toolchain")
        parts.append((int(part.group(1)), int(total.group(1))))
    return [total for _, total in sorted(parts)]


def dumps(out_file: Path) -> list[str]:
    """The texts of callgrind's dumps written to `out_file`, `out_file`.1, .2 ..."""
    files = [p for p in out_file.parent.glob(out_file.name + "*")
             if p.name == out_file.name or re.fullmatch(re.escape(out_file.name) + r"\.\d+", p.name)]
    return [p.read_text() for p in files]
