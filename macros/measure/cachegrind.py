"""The caches cachegrind simulates (I1, D1, LL): which geometry to give it for this machine.

Cachegrind (valgrind 3.19, tried option by option) refuses a cache whose
- set count (size / (ways x line)) is not a whole power of two: "Cache set count is not a
  power of two." (ways of 0 makes it divide by zero and die of SIGFPE);
- line size is not a power of two, or under 16 B ("Cache line size is too small.");
- size is not larger than its line ("Cache size <= line size.");
and stops at start-up ("Cachegrind: cannot continue: the minimum line size ...") when any of
the three line sizes is narrower than the widest register it simulates: 32 B on x86-64.
Line sizes may differ between the three; the size need not be a power of two (48 KiB 12-way
with 64 sets is fine).

Real machines break the first rule: a VM reporting a 480 MiB 16-way L3 has 491,520 sets.
The choice, per level: the machine's own geometry when cachegrind accepts it; otherwise the
nearest one it accepts (same size and line with the nearest associativity that gives a power
of two of sets, or, when no such associativity is within a factor of two, same ways and line
with the set count rounded to the nearest power of two); and REFERENCE for a level the
machine does not report, since nothing measured is near it then. Every difference from the
machine is given as a reason in plain words.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .machine import Cache, data_l1, instruction_l1, last_level

MIN_LINE = 32          # bytes: the widest register cachegrind simulates on x86-64 (AVX)
FALLBACK_LINE = 64     # the line of nearly every x86 and Arm core


@dataclass(frozen=True)
class SimCache:
    """One simulated cache, in cachegrind's terms (--I1/--D1/--LL=size,ways,line)."""
    size: int
    ways: int
    line: int

    @property
    def sets(self) -> float:
        return self.size / (self.ways * self.line) if self.ways and self.line else 0.0

    def option(self) -> str:
        return f"{self.size},{self.ways},{self.line}"

    def describe(self) -> str:
        return f"{_bytes(self.size)} {self.ways}-way, {self.line} B lines, {_count(self.sets)} sets"


# Where the machine reports nothing: 32 KiB 8-way L1s and an 8 MiB 16-way last level with
# 64 B lines, the common shape of x86-64 desktop and server cores of 2015-2020 (cachegrind's
# own fallback, an early-2000s Athlon, is further from anything in use).
REFERENCE = {"I1": SimCache(32 << 10, 8, 64), "D1": SimCache(32 << 10, 8, 64), "LL": SimCache(8 << 20, 16, 64)}
REFERENCE_NAME = "the reference geometry (32 KiB 8-way L1s, an 8 MiB 16-way LL, 64 B lines)"


@dataclass(frozen=True)
class Geometry:
    I1: SimCache
    D1: SimCache
    LL: SimCache
    sources: dict[str, str] = field(default_factory=dict)   # "LL" -> "the L3", ...
    reasons: tuple[str, ...] = ()                           # each difference from the machine

    @property
    def adjusted(self) -> bool:
        return bool(self.reasons)

    def options(self) -> list[str]:
        return [f"--{name}={getattr(self, name).option()}" for name in ("I1", "D1", "LL")]

    def describe(self) -> str:
        return "; ".join(f"{name} {getattr(self, name).describe()} ({self.sources.get(name, '?')})"
                         for name in ("I1", "D1", "LL"))


def _pow2(n: float) -> bool:
    return n >= 1 and n == int(n) and int(n) & (int(n) - 1) == 0


def _bytes(n: float) -> str:
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift and n % (1 << (shift - 4)) == 0:
            return f"{n / (1 << shift):g} {unit}"
    return f"{n:,.0f} B"


def _count(n: float) -> str:
    return f"{n:,.0f}" if n == int(n) else f"{n:,.2f}"


def refusal(c: SimCache) -> str | None:
    """Why cachegrind would refuse this cache (its own words where it has some), or None."""
    if c.ways < 1:
        return "associativity must be at least 1"
    if c.line < 1 or c.size % (c.line * c.ways) or not _pow2(c.size // (c.line * c.ways)):
        return "Cache set count is not a power of two."
    if not _pow2(c.line):
        return "Cache line size is not a power of two."
    if c.line < 16:
        return "Cache line size is too small."
    if c.size <= c.line:
        return "Cache size <= line size."
    return None


def geometry_refusal(g: Geometry) -> str | None:
    """Why cachegrind would refuse or stop on this geometry, or None."""
    for name in ("I1", "D1", "LL"):
        why = refusal(getattr(g, name))
        if why:
            return f"{name}: {why}"
    narrowest = min(g.I1.line, g.D1.line, g.LL.line)
    if narrowest < MIN_LINE:
        return f"the minimum line size ({narrowest}) is under the widest register ({MIN_LINE})"
    return None


def _nearest_ways(size: int, line: int, want: int) -> int | None:
    """The associativity nearest `want` (by ratio) that splits size/line lines into a power of
    two of sets: the odd part of the line count times a power of two."""
    if size % line:
        return None
    lines = size // line
    odd = lines >> ((lines & -lines).bit_length() - 1)
    options = [odd << j for j in range(lines.bit_length()) if odd << j <= lines]
    return min(options, key=lambda w: (abs(math.log2(w / want)), -w)) if options else None


def fit(cache: Cache, name: str) -> tuple[SimCache, list[str]]:
    """The simulated cache nearest to one the machine reports, and how it differs, if it does."""
    label = f"{name} ({_label(cache)})"
    reasons = []
    line = cache.line
    if line is None:
        line = FALLBACK_LINE
        reasons.append(f"{label}: line size not reported; simulated with {line} B lines")
    elif not _pow2(line) or line < MIN_LINE:
        reasons.append(f"{label}: cachegrind cannot simulate {line} B lines (it needs a power of two "
                       f"of at least {MIN_LINE} B); simulated with {FALLBACK_LINE} B lines")
        line = FALLBACK_LINE
    ways = cache.ways
    if ways is None and cache.sets and cache.size % (cache.sets * line) == 0:
        ways = cache.size // (cache.sets * line)
    if ways is None:
        ways = _nearest_ways(cache.size, line, 8) or 8
        reasons.append(f"{label}: associativity not reported; simulated as {ways}-way")
    exact = SimCache(cache.size, ways, line)
    if refusal(exact) is None:
        return exact, reasons
    sets = exact.sets
    why = (f"{label}: {_bytes(cache.size)} in {ways}-way sets of {line} B lines makes "
           f"{_count(sets)} sets, not a power of two as cachegrind requires")
    near = _nearest_ways(cache.size, line, ways)
    if near and max(near, ways) / min(near, ways) <= 2 and refusal(SimCache(cache.size, near, line)) is None:
        sim = SimCache(cache.size, near, line)
        reasons.append(f"{why}: simulated as {near}-way with {_count(sim.sets)} sets (same size)")
        return sim, reasons
    rounded = 1 << max(0, round(math.log2(sets))) if sets > 0 else 1
    sim = SimCache(rounded * ways * line, ways, line)
    reasons.append(f"{why}: simulated with {_count(rounded)} sets, {_bytes(sim.size)} instead of "
                   f"{_bytes(cache.size)} (no associativity within a factor of two of {ways} keeps the size)")
    return sim, reasons


def _label(c: Cache) -> str:
    kind = {"Data": "d", "Instruction": "i"}.get(c.type, "")
    return f"L{c.level}{kind}" if kind or c.level > 1 else f"unified L{c.level}"


def choose_geometry(caches: list[Cache]) -> Geometry:
    """I1, D1 and LL for cachegrind from the caches the machine reports (see the module doc)."""
    if not caches:
        return Geometry(**REFERENCE, sources=dict.fromkeys(REFERENCE, "reference"),
                        reasons=(f"the machine reports no caches: simulated {REFERENCE_NAME}",))
    chosen: dict[str, SimCache] = {}
    sources: dict[str, str] = {}
    reasons: list[str] = []

    def use(name: str, cache: Cache | None, missing: str, note: str | None = None) -> None:
        if cache is None:
            chosen[name], sources[name] = REFERENCE[name], "reference"
            reasons.append(f"{missing}: {name} simulated as the reference one, {REFERENCE[name].describe()}")
            return
        chosen[name], why = fit(cache, name)
        sources[name] = f"the {_label(cache)}"
        reasons.extend(why)
        if note:
            reasons.append(note)

    d1 = data_l1(caches)
    i1 = instruction_l1(caches)
    use("D1", d1, "no level-1 data cache reported")
    if i1 is None and d1 is not None and d1.type == "Unified":
        use("I1", d1, "", note="the L1 is unified, one cache for code and data: cachegrind simulates "
                               "separate I1 and D1, each the L1's size")
    else:
        use("I1", i1, "no level-1 instruction cache reported")
    ll = last_level([c for c in caches if c.level >= 2])
    use("LL", ll, "no level-2 or level-3 cache reported")
    if ll is not None and ll.level == 2 and all(c.level <= 2 for c in caches):
        sources["LL"] += ", the last level this machine reports"
    geo = Geometry(chosen["I1"], chosen["D1"], chosen["LL"], sources, tuple(reasons))
    if geometry_refusal(geo):   # cannot happen by construction; never hand cachegrind a refusal
        return Geometry(**REFERENCE, sources=dict.fromkeys(REFERENCE, "reference"),
                        reasons=(f"no geometry near this machine's is one cachegrind accepts "
                                 f"({geometry_refusal(geo)}): simulated {REFERENCE_NAME}",))
    return geo
