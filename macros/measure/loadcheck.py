"""What else was using the CPU while figures were measured.

Before any timing starts, the build looks at the load averages and, over a short wait during
which it runs nothing itself, at the share of CPU time other programs used and the share the
hypervisor stole (/proc/stat). Around each experiment it reads the same counters again: CPU
time spent by anything that is not the build or its programs, and steal. A busy machine does
not stop the build; it is said in the log, in the provenance and on the method page.
"""
from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Callable

from . import machine

BUSY_OTHERS_SHARE = 0.10   # other programs used more than this share of all CPU time
BUSY_STEAL_SHARE = 0.02    # the hypervisor took more than this share (a neighbour's load)
SAMPLE_S = 0.25            # the wait before timing: long enough for a few dozen clock ticks


def judge(others: float | None, steal: float | None) -> tuple[bool, str]:
    """(busy?, why) from the share of CPU time others used and the share stolen."""
    why = []
    if others is not None and others > BUSY_OTHERS_SHARE:
        why.append(f"other programs used {others:.0%} of the CPU time")
    if steal is not None and steal > BUSY_STEAL_SHARE:
        why.append(f"the hypervisor took {steal:.1%} of it for other guests")
    return bool(why), "; ".join(why)


def before_timing(root: Path = Path("/"), *, interval: float = SAMPLE_S,
                  sleep: Callable[[float], None] = time.sleep, cores: int | None = None) -> dict:
    """The check before timing: load averages, and over `interval` seconds of doing nothing,
    the CPU shares others used and the hypervisor stole. Unreadable counters give None."""
    cores = cores or os.cpu_count() or 1
    load = machine.read_loadavg(root)
    a = machine.read_cpu_times(root)
    sleep(interval)
    b = machine.read_cpu_times(root)
    shares = machine.cpu_shares(a, b) if a and b else None
    others = shares["busy"] if shares else None     # the build slept: all busy time is others'
    steal = shares["steal"] if shares else None
    busy, why = judge(others, steal)
    return {"load_average": list(load) if load else None, "cores": cores, "interval_s": interval,
            "others_share": others, "steal_share": steal, "busy": busy, "why": why}


def describe(check: dict) -> str:
    """One line for the log and the page."""
    parts = []
    if check.get("load_average"):
        la = check["load_average"]
        parts.append(f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} on {check.get('cores')} CPUs")
    if check.get("others_share") is not None:
        parts.append(f"other programs {check['others_share']:.0%} of the CPU time")
    if check.get("steal_share") is not None:
        parts.append(f"steal {check['steal_share']:.1%}")
    return ", ".join(parts) or "/proc/loadavg and /proc/stat not readable"


def own_cpu_seconds() -> float:
    """CPU time of this process and of every program it ran and waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Span:
    """The counters around one experiment: what others used while it ran."""

    def __init__(self, root: Path = Path("/"), clock: Callable[[], float] = time.monotonic) -> None:
        self.root, self.clock = root, clock
        self.t0, self.cpu0, self.own0 = clock(), machine.read_cpu_times(root), own_cpu_seconds()

    def end(self) -> dict:
        wall = self.clock() - self.t0
        cpu1, own = machine.read_cpu_times(self.root), own_cpu_seconds() - self.own0
        if not (self.cpu0 and cpu1) or wall <= 0:
            return {"others_share": None, "steal_share": None, "busy": False, "why": ""}
        ticks = os.sysconf("SC_CLK_TCK")
        cores = os.cpu_count() or 1
        total = cpu1.total - self.cpu0.total
        busy_s = (cpu1.busy - self.cpu0.busy) / ticks
        others = max(0.0, busy_s - own) / (wall * cores)
        steal = (cpu1.steal - self.cpu0.steal) / total if total > 0 else 0.0
        busy, why = judge(others, steal)
        return {"others_share": round(others, 4), "steal_share": round(steal, 4), "busy": busy, "why": why}
