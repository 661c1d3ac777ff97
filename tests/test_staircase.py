"""Levels found in latency curves (macros/measure/staircase.py): fabricated curves whose levels
are known by construction, and the corpus's real curves, where the rules a reader can state
must hold (levels climb, do not overlap, and none is attributed to a cache when it is no faster
than the far end of the sweep)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from macros.measure.experiments.cache_latency import chase_sizes
from macros.measure.staircase import FLAT, Cache, despike, levels, read_against

K, M = 1 << 10, 1 << 20
CORPUS = [p for p in sorted((Path(__file__).parent / "corpus").glob("*.json"))
          if "pyperf" not in p.name and json.loads(p.read_text())["experiments"]["latency"]["status"] == "ok"]


def curve(steps: list[tuple[int, float]], sizes: list[int], ramp: float = 1.0) -> list[float]:
    """A latency per size: the latency of the first step whose bound holds the size; `ramp`
    sizes past each bound climb geometrically into the next step (a real curve is not a cliff)."""
    out = []
    for s in sizes:
        for bound, ns in steps:
            if s <= bound:
                out.append(ns)
                break
        else:
            out.append(steps[-1][1])
    return out


SIZES = chase_sizes(256 * M)
DESKTOP = [(32 * K, 1.0), (1 * M, 4.0), (16 * M, 40.0), (1 << 40, 100.0)]


def test_a_clean_staircase_gives_its_levels_beside_its_caches():
    ns = curve(DESKTOP, SIZES)
    found = levels(SIZES, ns)
    assert [(lv.first, lv.last, lv.ns) for lv in found] == [
        (16 * K, 32 * K, 1.0), (48 * K, 1 * M, 4.0), (1536 * K, 16 * M, 40.0), (24 * M, 256 * M, 100.0)]
    caches = [Cache(1, 32 * K), Cache(2, 1 * M), Cache(3, 16 * M)]
    reading = read_against(found, caches, SIZES, ns)
    assert [c.name if c else None for _, c in reading.levels] == ["L1", "L2", "L3", None]
    assert reading.beyond == [found[-1]] and reading.ceiling_ns == 100.0
    assert reading.disagreements == []


def test_a_curve_that_only_climbs_has_no_level():
    ns = [1.0 * 1.35 ** i for i in range(len(SIZES))]
    assert levels(SIZES, ns) == []
    reading = read_against([], [Cache(1, 32 * K)], SIZES, ns)
    assert [d.kind for d in reading.disagreements] == ["none"]


def test_one_spike_does_not_split_a_level_nor_move_its_figure():
    ns = curve(DESKTOP, SIZES)
    i = SIZES.index(256 * K)
    ns[i] = 60.0                  # a timer interrupt in the middle of L2
    assert despike(ns)[i] == 4.0
    assert despike([1.0, 1.0, 9.0]) == [1.0, 1.0, 9.0]      # an end: a climb, not a spike
    found = levels(SIZES, ns)
    assert [(lv.first, lv.last, lv.ns) for lv in found][1] == (48 * K, 1 * M, 4.0)


def test_a_staircase_never_steps_down():
    # Noise split L2 in two, the second part faster: one level, not "another level inside L2".
    ns = curve([(32 * K, 1.0), (128 * K, 8.0), (1 * M, 5.0), (1 << 40, 90.0)], SIZES)
    found = levels(SIZES, ns)
    assert [(lv.first, lv.last) for lv in found][:2] == [(16 * K, 32 * K), (48 * K, 1 * M)]
    assert all(b.ns > FLAT * a.ns for a, b in zip(found, found[1:]))


def test_a_level_past_the_reported_size_and_a_cache_without_a_level():
    # The machine reports a 32 KiB L1 but loads stay fast to 48 KiB; nothing answers at L2's speed.
    ns = curve([(48 * K, 1.2), (8 * M, 40.0), (1 << 40, 100.0)], SIZES)
    reading = read_against(levels(SIZES, ns), [Cache(1, 32 * K), Cache(2, 256 * K), Cache(3, 8 * M)], SIZES, ns)
    kinds = {(d.kind, d.cache.name if d.cache else None, d.at) for d in reading.disagreements}
    assert ("past", "L1", 48 * K) in kinds and ("none", "L2", None) in kinds


def test_a_huge_reported_cache_that_the_curve_leaves_early():
    # The Intel VM of issue 13: a 480 MiB L3 reported, latency near 40 ns only to 12 MiB, then
    # another step to 70 ns and a climb toward memory within the reported size.
    steps = [(48 * K, 1.3), (1 * M, 4.5), (12 * M, 40.0), (48 * M, 70.0), (1 << 40, 175.0)]
    ns = curve(steps, SIZES)
    caches = [Cache(1, 48 * K), Cache(2, 2 * M), Cache(3, 480 * M)]
    reading = read_against(levels(SIZES, ns), caches, SIZES, ns)
    again = [d for d in reading.disagreements if d.kind == "again"]
    assert [d.at for d in again] == [16 * M, 64 * M] and all(d.cache.name == "L3" for d in again)
    # The sweep never passed the reported L3: the far end is its largest size, and nothing
    # is attributed to a cache with a latency above it.
    assert reading.beyond == [] and reading.ceiling_ns == ns[-1]
    assert all(lv.ns <= reading.ceiling_ns for lv, c in reading.levels if c)


def test_a_level_as_slow_as_the_far_end_is_not_a_cache_level():
    ns = curve([(32 * K, 1.0), (1 * M, 100.0), (4 * M, 200.0), (1 << 40, 100.0)], SIZES)
    ns[-1] = 90.0
    reading = read_against(levels(SIZES, ns), [Cache(1, 32 * K), Cache(2, 1 * M), Cache(3, 8 * M)], SIZES, ns)
    slow = [d for d in reading.disagreements if d.kind == "slow"]
    assert slow and all(c is None for lv, c in reading.levels if lv.ns >= reading.ceiling_ns and lv is not reading.levels[-1][0])


def test_a_plateau_through_the_largest_size_past_every_cache_is_memory():
    # Intel VM at full scale: the last plateau starts inside the reported 480 MiB L3 and runs
    # to twice it. It is memory's level, and the reported L3 is said to end early.
    sizes = chase_sizes(960 * M)
    ns = curve([(48 * K, 1.3), (1 * M, 5.0), (12 * M, 38.0), (32 * M, 100.0), (1 << 40, 300.0)], sizes)
    caches = [Cache(1, 48 * K), Cache(2, 2 * M), Cache(3, 480 * M)]
    reading = read_against(levels(sizes, ns), caches, sizes, ns)
    last, cache = reading.levels[-1]
    assert cache is None and reading.beyond == [last] and last.last == 960 * M and last.ns == 300.0
    assert ("memory", "L3", 48 * M) in {(d.kind, d.cache.name, d.at) for d in reading.disagreements}
    # A plateau that only passes the reported L3 on its way (a faked, too small L3) stays L3's.
    ns = curve([(48 * K, 1.3), (1 * M, 5.0), (48 * M, 40.0), (1 << 40, 180.0)], sizes)
    reading = read_against(levels(sizes, ns), [Cache(1, 48 * K), Cache(2, 2 * M), Cache(3, 32 * M)], sizes, ns)
    assert [c.name if c else None for _, c in reading.levels][:3] == ["L1", "L2", "L3"]
    assert ("past", "L3", 48 * M) in {(d.kind, d.cache.name, d.at) for d in reading.disagreements}


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        levels([1, 2], [1.0])
    with pytest.raises(ValueError):
        levels([2, 1], [1.0, 1.0])


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_levels_of_real_curves_follow_the_rules(path):
    doc = json.loads(path.read_text())
    rows = doc["experiments"]["latency"]["facts"]["staircase"]["value"]
    sizes, ns = [r["bytes"] for r in rows], [r["ns"] for r in rows]
    caches = [Cache(c["level"], c["size"]) for c in doc["provenance"]["machine"]["caches"]
              if c["type"] in ("Data", "Unified")]
    found = levels(sizes, ns)
    for a, b in zip(found, found[1:]):
        assert a.last < b.first, "levels overlap"
        assert b.ns > FLAT * a.ns, "a level no slower than the one before it"
    for lv in found:
        assert lv.points >= 3 and lv.low <= lv.ns <= lv.high
    reading = read_against(found, caches, sizes, ns)
    for lv, cache in reading.levels:
        if cache is not None and lv is not found[-1]:
            assert lv.ns < reading.ceiling_ns, f"{path.name}: a level above the far end labelled {cache.name}"


# ------------------------------------------------------------------ the same, in words (macros/levels.py)

def _latency_results(sizes, ns, caches, past: bool, why: str):
    from conftest import results_from
    facts = {"latency.staircase": {"value": [{"bytes": s, "ns": n, "q1": n, "q3": n} for s, n in zip(sizes, ns)]},
             "latency.largest_past_llc": past, "latency.largest_why": why}
    for level, size in caches.items():
        facts[f"latency.l{level}_bytes"] = size
    return results_from(facts)


def test_the_reading_in_words_names_sizes_and_disagreements():
    from macros import levels as words
    steps = [(48 * K, 1.3), (1 * M, 4.5), (12 * M, 40.0), (48 * M, 70.0), (1 << 40, 175.0)]
    ns = curve(steps, SIZES)
    results = _latency_results(SIZES, ns, {1: 48 * K, 2: 2 * M, 3: 480 * M}, False,
                               "256 MiB: the quick-scale cap, short of twice the reported L3 (960 MiB)")
    html = words.reading_html(results)
    assert "Inside the 480 MiB the machine reports for its L3, latency climbs to another level from 16 MiB on" in html
    assert "the sweep ends at 256 MiB, short of the 480 MiB the machine reports for its L3" in html
    assert "it stops at the quick-scale cap" in html
    assert words.disagrees(results, "again", "last") and not words.disagrees(results, "past")


def test_the_reading_says_when_the_curve_shows_no_level():
    from macros import levels as words
    ns = [1.0 * 1.35 ** i for i in range(len(SIZES))]
    html = words.reading_html(_latency_results(SIZES, ns, {1: 32 * K}, True, "x: y"))
    assert "The curve shows no level" in html and "<table" not in html


def test_the_reading_says_when_latency_was_not_measured():
    from conftest import results_from
    from macros import levels as words
    html = words.reading_html(results_from({}, failed={"latency": "no C compiler"}))
    assert "The levels could not be read" in html and "not measured" in html


def test_an_l3_left_at_half_its_size_and_two_steps_past_the_caches():
    """The AMD EPYC VM of this edition's builds: an 8 MiB L3 reported, the third level left at
    4 MiB, then two levels past every reported cache (the full-scale curve of 2026-12-02)."""
    from macros import levels as words
    sizes = chase_sizes(512 * M)
    ns = curve([(32 * K, 1.67), (256 * K, 5.0), (3 * M, 16.2), (32 * M, 124.0), (1 << 40, 162.0)], sizes)
    caches = [Cache(1, 32 * K), Cache(2, 512 * K), Cache(3, 8 * M)]
    reading = read_against(levels(sizes, ns), caches, sizes, ns)
    assert ("early", "L3", 4 * M) in {(d.kind, d.cache.name if d.cache else None, d.at) for d in reading.disagreements}
    assert [lv.ns for lv in reading.beyond] == [124.0, 162.0]
    results = _latency_results(sizes, ns, {1: 32 * K, 2: 512 * K, 3: 8 * M}, True, "512 MiB: the full-scale cap")
    html = words.reading_html(results)
    assert "The third level is left at about 4 MiB, well inside the 8 MiB the machine reports for its L3" in html
    assert ("the curve climbs more than once: about 124 ns from 4 MiB (the fourth level), then about "
            "162 ns from 48 MiB (the fifth level). No cache the machine reports accounts") in html
