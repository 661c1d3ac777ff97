"""Figure "layout": the process's address space as /proc/self/maps gave it, with the sample
variables placed in their segments (section 1)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import fmt
from ..measure.ledger import Claim
from ..measure.results import Results
from . import svg
from .common import Spec, big_bytes, caption, fact, source_note
from .svg import BODY, MARGIN, SMALL, TITLE, Drawing


@dataclass(frozen=True)
class LayoutData:
    segments: list   # {name, start, end, perms, path, count}, merged, in address order
    points: list     # {name, address, segment}
    source: str


def _addr(value) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def _merge_segments(segments: list[dict]) -> list[dict]:
    """Touching mappings of the same name become one block (libc's five mappings, say)."""
    out: list[dict] = []
    for s in sorted(segments, key=lambda s: _addr(s["start"])):
        seg = {**s, "start": _addr(s["start"]), "end": _addr(s["end"]), "count": 1}
        if out and out[-1]["name"] == seg["name"] and seg["start"] == out[-1]["end"]:
            prev = out[-1]
            prev["end"] = max(prev["end"], seg["end"])
            prev["count"] += 1
            prev["perms"] = ",".join(dict.fromkeys((prev.get("perms") or "").split(",") + [seg.get("perms") or ""]))
            continue
        out.append(seg)
    return out


def extract(results: Results, claims: dict[str, Claim]) -> LayoutData | str:
    segments = fact(results, "layout.segments")
    if isinstance(segments, str):
        return segments
    segs = segments.get("value")
    if not segs or not isinstance(segs, list):
        return "experiment 'layout' recorded no segments"
    points = fact(results, "layout.points")
    merged = _merge_segments(segs)
    pts = []
    for p in (points.get("value") if isinstance(points, dict) else None) or []:
        try:
            pts.append({**p, "address": _addr(p["address"])})
        except (KeyError, TypeError, ValueError):
            continue
    return LayoutData(merged, pts, source_note(results, "layout"))


def _hex(a: int) -> str:
    return f"0x{a:012x}" if a < (1 << 48) else f"0x{a:x}"


def _perms(seg: dict) -> str:
    return ",".join(p.rstrip("p").rstrip("s") for p in (seg.get("perms") or "").split(",") if p)


def _polyline(x0: float, x1: float, y: float) -> str:
    n = max(int((x1 - x0) // 8), 2)
    return "M" + "L".join(f"{svg.num(x0 + (x1 - x0) * i / n)} {svg.num(y + (3 if i % 2 else -3))}"
                          for i in range(n + 1))


def draw(data: LayoutData) -> tuple[Drawing, float]:
    """Segments stacked high addresses at the top; each block holds its name, size, permissions,
    start address and the sample variables inside it; unmapped gaps are cut short."""
    d = Drawing()
    y = d.lines(MARGIN, MARGIN + TITLE, svg.wrap("The process's address space, as /proc/self/maps gave it", TITLE,
                                                 d.width - 2 * MARGIN), size=TITLE, bold=True)
    x0, x1 = MARGIN, d.width - MARGIN
    inner0, inner1 = x0 + 8, x1 - 8
    y = d.lines(MARGIN, y + SMALL + 6, ["↑ higher addresses"], role="muted")
    segs = data.segments
    for i in range(len(segs) - 1, -1, -1):
        s = segs[i]
        pts = sorted((p for p in data.points if s["start"] <= p["address"] < s["end"]),
                     key=lambda p: -p["address"])
        size_text = f"{fmt.nbytes(s['end'] - s['start'])} {_perms(s)}"
        addr = _hex(s["start"])
        one_line = (svg.text_width(s["name"], BODY) + 10 + svg.text_width(size_text, SMALL) + 16
                    + svg.text_width(addr, SMALL, mono=True)) <= inner1 - inner0
        top = y + 4
        h = 30 + (0 if one_line else 18) + 19 * len(pts)
        mappings = f"{s['count']} mappings" if s["count"] > 1 else "one mapping"
        tip = (f"{s['name']}: {_hex(s['start'])} to {_hex(s['end'])}, {fmt.nbytes(s['end'] - s['start'])}, "
               f"permissions {_perms(s) or 'none'} ({mappings}{' of ' + s['path'] if s.get('path') else ''}).\n"
               f"{data.source}")
        with d.group("segment", tip, name=s["name"], start=_hex(s["start"]), end=_hex(s["end"])):
            d.rect(x0, top, x1 - x0, h, "block", rx=3)
            d.rect(x0, top, x1 - x0, h, "muted", outline=True, rx=3)
            base = top + 20
            d.text(inner0, base, s["name"], "fg", size=BODY, bold=True)
            d.text(inner0 + svg.text_width(s["name"], BODY) + 10, base, size_text, "muted")
            if one_line:
                d.text(inner1, base, addr, "muted", anchor="end", mono=True)
            else:
                base += 18
                d.text(inner0, base, f"from {addr}", "muted", mono=True)
        for p in pts:
            base += 19
            tip = f"{p['name']} at {_hex(p['address'])}, in {s['name']}.\n{data.source}"
            with d.group("point", tip, name=p["name"], address=_hex(p["address"]), segment=s["name"]):
                d.circle(inner0 + 4, base - SMALL * 0.35, 4, "accent")
                d.text(inner0 + 14, base, p["name"], "fg")
                d.text(inner1, base, _hex(p["address"]), "fg", anchor="end", mono=True)
        y = top + h
        if i and s["start"] > segs[i - 1]["end"]:
            gap = s["start"] - segs[i - 1]["end"]
            with d.group("gap", f"Unmapped: {big_bytes(gap)} between {segs[i - 1]['name']} and {s['name']}.",
                         bytes=repr(gap)):
                d.path(_polyline(x0 + 10, x1 - 10, y + 9), "muted", width=1)
                d.text((x0 + x1) / 2, y + 24, f"unmapped {big_bytes(gap)}", "muted", anchor="middle", italic=True)
                d.path(_polyline(x0 + 10, x1 - 10, y + 33), "muted", width=1)
            y += 38
    y = d.lines(MARGIN, y + SMALL + 8, ["↓ lower addresses"], role="muted")
    return d, y + MARGIN


def describe(data: LayoutData, results: Results) -> tuple[str, str]:
    segs = "; ".join(f"{s['name']} at {_hex(s['start'])}, {fmt.nbytes(s['end'] - s['start'])}"
                     for s in data.segments)
    pts = "; ".join(f"{p['name']} at {_hex(p['address'])}" + (f" in {p['segment']}" if p.get("segment") else "")
                    for p in data.points)
    alt = f"Diagram of the address space from high to low addresses. Segments: {segs}. Variables: {pts}."
    cap = caption("The layout program's own address space, high addresses at the top: each mapped "
                  "segment with its real start address, size and permissions, and where each sample "
                  "variable lives.",
                  results, "Not to scale: each block is as tall as its labels need, and each unmapped "
                           "gap is cut short and labelled with its true size.")
    return alt, cap


SPEC = Spec("layout", extract, draw, describe)
