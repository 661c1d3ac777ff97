"""The levels of a measured latency curve, read against the caches the machine reports.

A pointer chase gives one latency per working-set size. Where the curve is flat over a range of
sizes, one level of the memory hierarchy answers; where it climbs, the working set has outgrown
that level. `levels` finds the flat runs (plateaus) from the numbers alone; `read_against` sets
them beside the cache sizes sysfs reports and lists, as data, where the two disagree. Pages turn
that into words; nothing here assumes the machine it was written on.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

FLAT = 1.30        # a plateau's slowest point is at most this many times its fastest
MIN_POINTS = 3     # fewer measured sizes than this are a step, not a level
EARLY = 2          # a level left at or before 1/EARLY of its cache's reported size leaves "early"


@dataclass(frozen=True)
class Level:
    """One plateau: working sets first..last (bytes) answered in about `ns` per load."""
    first: int
    last: int
    ns: float            # median latency over the plateau (spikes flattened)
    low: float           # its fastest and slowest points (spikes flattened)
    high: float
    points: int
    next_size: int | None = None     # the first size measured after it (where it is left)


@dataclass(frozen=True)
class Cache:
    """A data cache as the machine reports it."""
    level: int
    size: int

    @property
    def name(self) -> str:
        return f"L{self.level}"


@dataclass(frozen=True)
class Disagreement:
    """Where the measured levels and the reported caches do not tell the same story.

    kind: "past"   the level still holds at `at`, beyond the cache's reported size
          "early"  the level is left at `at`, well short of the cache's reported size
          "again"  latency rises to another level at `at`, inside the same reported cache
          "none"   no level of the curve lies in this cache's range of sizes, though the sweep
                   measured sizes there
          "slow"   a level inside a cache's range is no faster than the far end of the sweep
          "memory" the level past every reported cache (memory's) starts at `at`, inside
                   this cache's range
    """
    kind: str
    cache: Cache | None
    at: int | None = None
    level: Level | None = None


@dataclass(frozen=True)
class Reading:
    levels: list[tuple[Level, Cache | None]]   # each level and the reported cache it lies in
    disagreements: list[Disagreement] = field(default_factory=list)
    beyond: list[Level] = field(default_factory=list)   # levels past every reported cache (memory)
    ceiling_ns: float | None = None     # the far end: the last plateau past every cache, else the largest size's latency


def despike(ns: list[float], flat: float = FLAT) -> list[float]:
    """The curve with single spikes flattened: a point more than `flat` times slower than both
    its neighbours takes the slower neighbour's value. A timer interrupt or a busy neighbour
    makes such a point; a cache level never does. The two ends are left alone: with one
    neighbour, a spike and the first step of a climb look the same."""
    out = list(ns)
    for i in range(1, len(ns) - 1):
        if ns[i] > flat * max(ns[i - 1], ns[i + 1]):
            out[i] = max(ns[i - 1], ns[i + 1])
    return out


def levels(sizes: list[int], ns: list[float], flat: float = FLAT, min_points: int = MIN_POINTS) -> list[Level]:
    """The plateaus of a latency curve (sizes ascending), smallest working sets first.

    A plateau is a run of at least `min_points` consecutive sizes whose smoothed latencies stay
    within a factor `flat` of each other, taken greedily from the left; sizes between plateaus
    are the steps. Two levels whose latencies are within `flat` of each other are one (noise
    split it). A curve that climbs everywhere has no level, and gives an empty list."""
    if len(sizes) != len(ns):
        raise ValueError("sizes and latencies differ in length")
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError("sizes must ascend")
    sm = despike(ns, flat)
    found: list[Level] = []
    i = 0
    while i < len(sm):
        j = i
        lo = hi = sm[i]
        while j + 1 < len(sm) and max(hi, sm[j + 1]) <= flat * min(lo, sm[j + 1]):
            j += 1
            lo, hi = min(lo, sm[j]), max(hi, sm[j])
        if j - i + 1 >= min_points:
            found.append(Level(first=sizes[i], last=sizes[j], ns=statistics.median(sm[i:j + 1]),
                               low=min(sm[i:j + 1]), high=max(sm[i:j + 1]), points=j - i + 1,
                               next_size=sizes[j + 1] if j + 1 < len(sizes) else None))
            i = j + 1
        else:
            i += 1
    return _merge_flat(found, sizes, sm, flat)


def _merge_flat(found: list[Level], sizes: list[int], ns: list[float], flat: float) -> list[Level]:
    """A staircase only climbs: a level no slower than `flat` times the one before it is the
    same level, split by noise between them; the two become one (with the sizes between)."""
    out: list[Level] = []
    for lv in found:
        if out and lv.ns <= flat * out[-1].ns:
            a = out.pop()
            i, j = sizes.index(a.first), sizes.index(lv.last)
            lv = Level(first=a.first, last=lv.last, ns=statistics.median(ns[i:j + 1]),
                       low=min(ns[i:j + 1]), high=max(ns[i:j + 1]), points=j - i + 1,
                       next_size=lv.next_size)
        out.append(lv)
    return out


def read_against(found: list[Level], caches: list[Cache], sizes: list[int], ns: list[float]) -> Reading:
    """Each level beside the reported cache whose range of sizes holds most of its measured
    sizes (L1: up to its size; Lk: above the previous cache's size, up to its own), and every
    disagreement.

    The far end is the last plateau if it starts past every reported cache, else the latency of
    the largest working set measured. A level inside a cache's range that is no faster than
    the far end is not attributed to that cache (it is reported as "slow")."""
    bounds = []      # (cache, lower exclusive, upper inclusive), caches that grow with level
    below = 0
    for c in sorted(caches, key=lambda c: c.level):
        if c.size > below:
            bounds.append((c, below, c.size))
            below = c.size

    def range_of(size: int) -> Cache | None:
        return next((c for c, lo, hi in bounds if lo < size <= hi), None)

    top = bounds[-1][2] if bounds else 0

    def home(lv: Level) -> Cache | None:
        """None (memory) for the level that holds the largest working set measured when that
        lies past every reported cache: it is the far end's, wherever it starts. Otherwise the
        cache whose range holds most of the level's sizes (the first on a tie; None when most
        lie past every cache)."""
        if sizes and lv.last == sizes[-1] and sizes[-1] > top:
            return None
        votes: dict[int | None, int] = {}
        for s in sizes:
            if lv.first <= s <= lv.last:
                c = range_of(s)
                votes[c.level if c else None] = votes.get(c.level if c else None, 0) + 1
        best = max(votes.values())
        level = next(k for k in sorted(votes, key=lambda k: (k is None, k or 0)) if votes[k] == best)
        return next((c for c, _, _ in bounds if c.level == level), None)

    beyond = [lv for lv in found if home(lv) is None]
    ceiling = beyond[-1].ns if beyond else (ns[-1] if ns else None)
    out: list[tuple[Level, Cache | None]] = []
    notes: list[Disagreement] = []
    first_in: dict[int, Level] = {}
    for lv in found:
        c = home(lv)
        if c is None:
            out.append((lv, None))
            inside = range_of(lv.first)
            if inside is not None:
                notes.append(Disagreement("memory", inside, lv.first, lv))
            continue
        if ceiling is not None and lv.ns >= ceiling and lv is not found[-1]:
            notes.append(Disagreement("slow", c, lv.first, lv))
            out.append((lv, None))
            continue
        out.append((lv, c))
        if c.level in first_in:
            notes.append(Disagreement("again", c, lv.first, lv))
        else:
            first_in[c.level] = lv
        if lv.last > c.size:
            notes.append(Disagreement("past", c, lv.last, lv))
        elif first_in[c.level] is lv and lv.next_size is not None and lv.next_size * EARLY <= c.size:
            notes.append(Disagreement("early", c, lv.next_size, lv))
    again = {d.cache.level for d in notes if d.kind == "again"}
    notes = [d for d in notes if not (d.kind == "early" and d.cache.level in again)]   # "again" says more
    for c, lo, hi in bounds:
        if c.level not in first_in and any(lo < s <= hi for s in sizes):
            notes.append(Disagreement("none", c))
    return Reading(out, notes, beyond, ceiling)
