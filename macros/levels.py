"""The staircase in words: the levels found in the measured latency curve (measure/staircase.py),
beside the caches the machine reports, with every disagreement said. Data in, HTML out."""
from __future__ import annotations

from . import fmt, render
from .measure.results import NotMeasured, Results
from .measure.staircase import FLAT, MIN_POINTS, Cache, Disagreement, Reading, levels, read_against

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _ns(x: float) -> str:
    return fmt.value({"value": x, "unit": "ns"})


def _size(n: int) -> str:
    return fmt.nbytes(n)


def _ordinal(i: int) -> str:
    return ORDINALS[i] if i < len(ORDINALS) else f"{i + 1}th"


def reported_caches(results: Results) -> list[Cache]:
    """The data caches the latency experiment recorded as reported (l1..l3_bytes)."""
    out = []
    for level in (1, 2, 3):
        size = results.value(f"latency.l{level}_bytes")
        if not isinstance(size, NotMeasured) and size:
            out.append(Cache(level, int(size)))
    return out


def read(results: Results) -> tuple[Reading, list[int], list[float]] | NotMeasured:
    rows = results.value("latency.staircase")
    if isinstance(rows, NotMeasured):
        return rows
    sizes, ns = [r["bytes"] for r in rows], [r["ns"] for r in rows]
    return read_against(levels(sizes, ns), reported_caches(results), sizes, ns), sizes, ns


def sentences(reading: Reading, results: Results, sizes: list[int], ns: list[float]) -> list[str]:
    """Each disagreement, and the far end of the sweep, in words."""
    index = {id(lv): i for i, (lv, _) in enumerate(reading.levels)}
    out = []
    if not reading.levels:
        out.append(f"The curve shows no level: no run of {MIN_POINTS} or more working-set sizes stays "
                   f"within {round((FLAT - 1) * 100)}% in latency. The measurement may be too noisy to "
                   f"show one at this scale; the table above has every point.")
    for d in reading.disagreements:
        out.append(_said(d, reading, index))
    largest = sizes[-1]
    if len(reading.beyond) > 1:
        steps = ", then ".join(f"about {_ns(lv.ns)} from {_size(lv.first)} (the {_ordinal(index[id(lv)])} level)"
                               for lv in reading.beyond)
        out.append(f"Past every cache the machine reports, the curve climbs more than once: {steps}. "
                   f"No cache the machine reports accounts for the steps between them.")
    if reading.beyond:
        lv = reading.beyond[-1]
        out.append(f"The {_ordinal(index[id(lv)])} level reaches past every cache the machine reports "
                   f"(to {_size(lv.last)}): loads there go to memory, at about {_ns(lv.ns)}.")
    elif sizes:
        past = results.value("latency.largest_past_llc")
        why = results.value("latency.largest_why")
        caches = reported_caches(results)
        where = (f", short of the {_size(caches[-1].size)} the machine reports for its {caches[-1].name}"
                 if past is False and caches else "")
        reason = why.partition(": ")[2] if isinstance(why, str) else ""
        stop = f"; it stops at {reason}" if reason else ""
        out.append(f"No level past the reported caches shows: the sweep ends at {_size(largest)}{where}, "
                   f"where a load costs {_ns(ns[-1])}{stop}.")
    return out


def _said(d: Disagreement, reading: Reading, index: dict[int, int]) -> str:
    c = d.cache
    lv = d.level
    nth = _ordinal(index[id(lv)]) if lv is not None else ""
    if d.kind == "past":
        return (f"The {nth} level still answers at {_size(d.at)}, past the {_size(c.size)} the machine "
                f"reports for its {c.name}.")
    if d.kind == "early":
        return (f"The {nth} level is left at about {_size(d.at)}, well inside the {_size(c.size)} the "
                f"machine reports for its {c.name}: latency climbs from there.")
    if d.kind == "again":
        prev = reading.levels[index[id(lv)] - 1][0]
        return (f"Inside the {_size(c.size)} the machine reports for its {c.name}, latency climbs to "
                f"another level from {_size(d.at)} on: about {_ns(lv.ns)}, against {_ns(prev.ns)} "
                f"below it.")
    if d.kind == "none":
        return f"No level of the curve lies within the machine's reported {c.name} ({_size(c.size)})."
    if d.kind == "memory":
        return (f"The {nth} level, memory's, starts at {_size(d.at)}, inside the {_size(c.size)} the "
                f"machine reports for its {c.name}: only part of that cache behaves as one here.")
    if d.kind == "slow":
        return (f"The {nth} level, from {_size(d.at)}, costs about {_ns(lv.ns)}, no less than the far end "
                f"of the sweep, so it is not counted as a level of the reported {c.name}.")
    raise ValueError(f"unknown disagreement {d.kind!r}")


def table(reading: Reading) -> str:
    rows = []
    for i, (lv, cache) in enumerate(reading.levels):
        reported = (f"{cache.name}, {_size(cache.size)}" if cache
                    else "none: it reaches past them all (memory)" if lv in reading.beyond
                    else "none: as slow as the far end")
        span = f"{_size(lv.first)} to {_size(lv.last)}"
        spread = f"{_ns(lv.low)} to {_ns(lv.high)}"
        rows.append(f"<tr><td>{_ordinal(i)}</td><td>{render.esc(span)}</td>"
                    f"<td>{render.esc(_ns(lv.ns))} <span class=\"level-spread\">({render.esc(spread)})</span></td>"
                    f"<td>{render.esc(reported)}</td></tr>")
    return ('<table class="levels"><thead><tr><th>level found</th><th>working sets</th>'
            '<th>latency (median; fastest to slowest)</th><th>reported cache it lies in</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def disagrees(results: Results, kind: str, cache: str | None = None) -> bool:
    """Whether the reading holds a disagreement of this kind ("past", "early", "again", "none",
    "slow"), for any cache, a named one ("L3"), or "last" (the last-level cache reported)."""
    got = read(results)
    if isinstance(got, NotMeasured):
        return False
    reading = got[0]
    caches = reported_caches(results)
    name = caches[-1].name if cache == "last" and caches else cache
    return any(d.kind == kind and (name is None or (d.cache and d.cache.name == name))
               for d in reading.disagreements)


def reading_html(results: Results) -> str:
    got = read(results)
    if isinstance(got, NotMeasured):
        return f"<p>The levels could not be read: {render.not_measured(got.reason)}</p>"
    reading, sizes, ns = got
    said = "".join(f"<li>{render.esc(s)}</li>" for s in sentences(reading, results, sizes, ns))
    body = table(reading) if reading.levels else ""
    return f'<div class="staircase-levels">{body}<ul class="level-notes">{said}</ul></div>'
