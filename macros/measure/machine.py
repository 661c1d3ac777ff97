"""What the machine reports about itself: cpu0's caches (sysfs) and its memory (/proc/meminfo).

Every reader takes the filesystem root as an argument, so tests can hand it a faked tree,
and treats a missing file or folder as "not reported" rather than as an error: containers,
VMs and other architectures report less than a bare x86 machine does.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = "sys/devices/system/cpu/cpu0/cache"
MEMINFO = "proc/meminfo"
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
ROOT_ENV = "CHAPTER_SYSFS_ROOT"


def system_root() -> Path:
    """Where the readers look: "/", or the tree named by CHAPTER_SYSFS_ROOT. A testing aid:
    a faked sysfs/procfs tree makes the whole build measure as if on another cache geometry.
    Read here only, so every reader (provenance, the sweeps, cachegrind) agrees."""
    return Path(os.environ.get(ROOT_ENV) or "/")


@dataclass(frozen=True)
class Cache:
    """One cache as sysfs describes it; None where the kernel does not say."""
    level: int
    type: str                  # Data | Instruction | Unified
    size: int                  # bytes
    ways: int | None = None    # ways_of_associativity (0 in sysfs, "not reported", is None)
    sets: int | None = None    # number_of_sets
    line: int | None = None    # coherency_line_size, bytes
    shared_cpus: str | None = None

    @property
    def holds_data(self) -> bool:
        return self.type in ("Data", "Unified")


def parse_size(text: str) -> int | None:
    """sysfs sizes: "48K", "2048K", "1M", or plain bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)\s*", text)
    if not m:
        return None
    return int(m.group(1)) * _UNITS.get(m.group(2), 1)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text and text.isdigit() else None


def read_caches(root: Path | None = None) -> list[Cache]:
    """cpu0's caches, in index order. An index without a level, type or size is left out (it
    describes nothing usable); no cache folder at all gives an empty list."""
    base = Path(root or system_root()) / CACHE_DIR
    try:
        indexes = sorted((p for p in base.iterdir() if re.fullmatch(r"index\d+", p.name)),
                         key=lambda p: int(p.name[5:]))
    except OSError:
        return []
    caches = []
    for idx in indexes:
        level, kind = _int(idx / "level"), _read(idx / "type")
        size = parse_size(_read(idx / "size") or "")
        if level is None or not kind or size is None:
            continue
        caches.append(Cache(level=level, type=kind, size=size,
                            ways=_int(idx / "ways_of_associativity") or None,
                            sets=_int(idx / "number_of_sets") or None,
                            line=_int(idx / "coherency_line_size") or None,
                            shared_cpus=_read(idx / "shared_cpu_list")))
    return caches


def read_mem_total(root: Path | None = None) -> int | None:
    """MemTotal from /proc/meminfo, in bytes; None when the file or the line is missing."""
    text = _read(Path(root or system_root()) / MEMINFO) or ""
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.M)
    return int(m.group(1)) << 10 if m else None


def instruction_l1(caches: list[Cache]) -> Cache | None:
    return next((c for c in caches if c.level == 1 and c.type == "Instruction"), None)


def data_l1(caches: list[Cache]) -> Cache | None:
    """The level-1 cache loads go through: the data cache, or a unified L1."""
    return next((c for c in caches if c.level == 1 and c.type == "Data"), None) or \
        next((c for c in caches if c.level == 1 and c.type == "Unified"), None)


def last_level(caches: list[Cache]) -> Cache | None:
    """The highest-level cache that holds data (L3 on most machines, L2 where there is no L3)."""
    held = [c for c in caches if c.holds_data]
    return max(held, key=lambda c: c.level) if held else None


# -------------------------------------------------------------------------- what else runs

LOADAVG = "proc/loadavg"
STAT = "proc/stat"


def read_loadavg(root: Path = Path("/")) -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages; None when the file is missing or unreadable."""
    fields = (_read(Path(root) / LOADAVG) or "").split()
    try:
        return float(fields[0]), float(fields[1]), float(fields[2])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class CpuTimes:
    """All CPUs' time since boot, in clock ticks, from the "cpu" line of /proc/stat."""
    total: int
    idle: int       # idle + iowait: nobody was running
    steal: int      # taken by the hypervisor for other guests

    @property
    def busy(self) -> int:
        return self.total - self.idle - self.steal


def read_cpu_times(root: Path = Path("/")) -> CpuTimes | None:
    """The first line of /proc/stat: user nice system idle iowait irq softirq steal [guest
    guest_nice]. Guest time is already counted in user time, so it is left out of the total.
    Older kernels print fewer fields: the missing ones count as zero."""
    for line in (_read(Path(root) / STAT) or "").splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            try:
                v = [int(x) for x in parts[1:9]] + [0] * (8 - len(parts[1:9]))
            except ValueError:
                return None
            return CpuTimes(total=sum(v), idle=v[3] + v[4], steal=v[7])
    return None


def cpu_shares(before: CpuTimes, after: CpuTimes) -> dict[str, float]:
    """Between two readings: the share of all CPU time that was busy and that was stolen."""
    total = after.total - before.total
    if total <= 0:
        return {"busy": 0.0, "steal": 0.0}
    return {"busy": (after.busy - before.busy) / total, "steal": (after.steal - before.steal) / total}
