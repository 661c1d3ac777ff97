"""What else was using the CPU while figures were measured.

Before any timing starts, the build looks at the load averages and, for a quarter of a second
in which it times one small loop over and over, at the share of CPU time other programs used,
the share the hypervisor stole (/proc/stat) and how much the loop's time varied. Around each experiment it reads the same counters again: CPU
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
SAMPLE_S = 0.25            # the check before timing: a few dozen clock ticks, a few hundred loops


# A host shared with other guests can slow this one without its counters showing it (no
# steal reported, nothing else running here): a fixed loop, timed over and over, shows it.
# Such slowdowns come in bursts of milliseconds whose density changes from second to second,
# so the loop fills the whole wait (a few hundred timings) rather than a moment of it: forty
# timings in a row (30 ms) read 3% here while the same quarter-second read 70%.
JITTER_LOOP = 20_000       # additions per timing: a millisecond or two of one core
JITTER_MIN_RUNS = 21       # at least this many timings, however slow the loop
BUSY_JITTER = 0.10         # its 10th and 90th percentiles further apart than this share of its median
                           # (the noise limit: under 10% on a quiet VM here, 45-90% in bursts)


def judge(others: float | None, steal: float | None, jitter: float | None = None) -> tuple[bool, str]:
    """(busy?, why) from the share of CPU time others used, the share stolen, and how much
    a fixed loop's time varied (10th to 90th percentile over the median)."""
    why = []
    if others is not None and others > BUSY_OTHERS_SHARE:
        why.append(f"other programs used {others:.0%} of the CPU time")
    if steal is not None and steal > BUSY_STEAL_SHARE:
        why.append(f"the hypervisor took {steal:.1%} of it for other guests")
    if jitter is not None and jitter > BUSY_JITTER:
        why.append(f"a fixed loop's time varied by {jitter:.0%} from run to run (10th to 90th "
                   f"percentile), a sign of other guests on the host even where no steal is reported")
    return bool(why), "; ".join(why)


def loop_jitter(window: float = SAMPLE_S, clock: Callable[[], float] = time.perf_counter,
                min_runs: int = JITTER_MIN_RUNS) -> float | None:
    """How much the time of the same small loop varies here, timed again and again for
    `window` seconds (and at least `min_runs` times): (p90 - p10) / median."""
    times: list[float] = []
    end = clock() + window
    while True:
        t0 = clock()
        total = 0
        for i in range(JITTER_LOOP):
            total += i
        t1 = clock()
        times.append(t1 - t0)
        if t1 >= end and len(times) >= min_runs:
            break
    times.sort()
    median = times[len(times) // 2]
    if median <= 0:
        return None
    pick = lambda q: times[min(len(times) - 1, round(q * (len(times) - 1)))]  # noqa: E731
    return (pick(0.9) - pick(0.1)) / median


def before_timing(root: Path = Path("/"), *, interval: float = SAMPLE_S, cores: int | None = None,
                  jitter: Callable[[float], float | None] = loop_jitter,
                  own_cpu: Callable[[], float] | None = None) -> dict:
    """The check before timing: load averages; then, for `interval` seconds, a fixed loop
    timed over and over (loop_jitter), and the shares of CPU time that others used (all busy
    time less the loop's own) and that the hypervisor stole. Unreadable counters give None."""
    cores = cores or os.cpu_count() or 1
    own_cpu = own_cpu or own_cpu_seconds
    load = machine.read_loadavg(root)
    a, own0 = machine.read_cpu_times(root), own_cpu()
    varied = jitter(interval)
    b, own = machine.read_cpu_times(root), own_cpu() - own0
    others = steal = None
    if a and b and b.total > a.total:
        shares = machine.cpu_shares(a, b)
        # The loop's own CPU time, as a share of all the ticks that passed, is not others'.
        others = max(0.0, shares["busy"] - own * os.sysconf("SC_CLK_TCK") / (b.total - a.total))
        steal = shares["steal"]
    busy, why = judge(others, steal, varied)
    return {"load_average": list(load) if load else None, "cores": cores, "interval_s": interval,
            "others_share": others, "steal_share": steal,
            "loop_jitter": round(varied, 4) if varied is not None else None, "busy": busy, "why": why}


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
    if check.get("loop_jitter") is not None:
        parts.append(f"a fixed loop's time varying by {check['loop_jitter']:.0%} (10th to 90th percentile)")
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
