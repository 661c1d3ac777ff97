"""The in-browser latency probe (docs/assets/latency-probe.js) on the quick site, in Debian's Chromium.

The probe runs for real in headless Chromium on this machine: its curve must have enough sizes
and climb (the largest working set at least 5x slower per load than the smallest), at phone and
desktop width, read in light and dark, without fetching anything. A results file written by the build is
dropped on it and drawn beside the build's staircase (which the test puts on the page in the shape
the page will carry it); files of other shapes get a message and draw nothing. Screenshots go to
test-artifacts/.
"""
from __future__ import annotations

import json
import math

import pytest

# The served quick site and the browser are test_browser's fixtures (that module also skips,
# with the reason, when Playwright or Chromium is missing).
from test_browser import (ARTIFACTS, DESKTOP, OTHER_SCHEME, PHONE, SCHEMES, PageLog, browser,  # noqa: F401
                          screenshot, served, toggle_scheme, wait_for_scheme)

pytestmark = pytest.mark.slow

PAGE = "chapter/cache/"
RUN_TIMEOUT_MS = 240_000
MIN_SIZES = 8
MIN_CLIMB = 5.0

READ_POINTS = """cls => [...document.querySelectorAll('#latency-probe .latency-probe__point--' + cls)].map(c => ({
    bytes: Number(c.dataset.bytes), ns: Number(c.dataset.ns), repeats: c.dataset.repeats,
    title: c.querySelector('title') ? c.querySelector('title').textContent : ''}))"""

# The on-screen size of the chart's smallest text: its font size in SVG units, scaled by the
# ratio of the drawn width to the viewBox width.
SMALLEST_TEXT_PX = """() => {
  const svg = document.querySelector('#latency-probe svg');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Math.min(...[...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale));
}"""

LUMINANCE = """sel => {
  const css = sel === 'body' ? getComputedStyle(document.body).backgroundColor
                             : getComputedStyle(document.querySelector(sel)).fill;
  const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}"""

DROP = """([name, text]) => {
  const dt = new DataTransfer();
  dt.items.add(new File([text], name, {type: 'application/json'}));
  document.getElementById('latency-probe').dispatchEvent(
      new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
}"""

PUT_BUILD = """data => {
  const s = document.createElement('script');
  s.type = 'application/json';
  s.id = 'build-latency';
  s.textContent = JSON.stringify(data);
  document.body.appendChild(s);
}"""


def staircase(doc: dict) -> list[dict]:
    return doc["experiments"]["latency"]["facts"]["staircase"]["value"]


def build_element(doc: dict) -> dict:
    """The build's staircase in the shape the page carries it (#build-latency)."""
    stairs = staircase(doc)
    return {"sizes_bytes": [s["bytes"] for s in stairs], "ns": [s["ns"] for s in stairs],
            "machine": doc["provenance"]["machine"]["cpu"]}


def open_page(browser, base: str, scheme: str, viewport: dict, device_memory_gib: float | None = None):
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme)
    if device_memory_gib is not None:   # as a device that reports this much memory (phones report 0.25-8)
        ctx.add_init_script(f"Object.defineProperty(Navigator.prototype, 'deviceMemory', "
                            f"{{get: () => {device_memory_gib}, configurable: true}})")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log = PageLog(page, base)
    page.goto(base + PAGE, wait_until="networkidle")
    wait_for_scheme(page, scheme)
    return ctx, page, log, errors


def wait_for_message(page) -> str:
    page.wait_for_function("document.querySelector('#latency-probe .latency-probe__message').textContent !== ''")
    return page.locator("#latency-probe .latency-probe__message").inner_text()


def readable_in_both_schemes(page, probe, scheme: str, width: int) -> None:
    """No text under 12 px on screen, nothing wider than the page, axis labels that stand out
    from the background: in the scheme shown, then in the other one (the reader's palette
    toggle switches the drawn chart's scheme); the page is left in the other scheme."""
    for shown in (scheme, OTHER_SCHEME[scheme]):
        if shown != scheme:
            assert toggle_scheme(page) == SCHEMES[shown]
        assert page.evaluate(SMALLEST_TEXT_PX) >= 12, (width, shown)
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 1
        contrast = abs(page.evaluate(LUMINANCE, "#latency-probe .latency-probe__axis text")
                       - page.evaluate(LUMINANCE, "body"))
        assert contrast > 0.3, f"{width}px {shown}: axis labels barely differ from the background ({contrast:.2f})"
        screenshot(probe, f"probe-{width}-{shown}.png")


# The run is as on a device that reports 1 GiB of memory: the probe then stops at a sixteenth
# of it, 64 MiB (past the last-level cache of the machines this runs on, which the climb needs),
# instead of its own cap of 256 MiB: the largest sizes cost most of a run's time, and the cap
# taken from the device is a path of the probe's own to test.
DEVICE_MEMORY_GIB = 1
DEVICE_CAP = DEVICE_MEMORY_GIB * 2 ** 30 // 16


def test_probe_measures_a_climbing_curve(served, browser):
    """One run (it takes seconds of the machine's time, and its curve depends neither on the
    width nor on the colours), read at desktop width in both schemes as the page is now, then
    with the build's staircase on the page (as the page will carry it) at phone width, in both
    schemes: the chart is redrawn for the new width and the second series."""
    base, _, doc, _ = served
    ctx, page, log, errors = open_page(browser, base, "dark", DESKTOP, device_memory_gib=DEVICE_MEMORY_GIB)
    try:
        probe = page.locator("#latency-probe")
        probe.scroll_into_view_if_needed()
        assert probe.get_attribute("data-state") == "idle"
        probe.locator("button").click()
        page.wait_for_function("document.getElementById('latency-probe').dataset.state !== 'running'",
                               timeout=RUN_TIMEOUT_MS, polling=500)
        assert probe.get_attribute("data-state") == "done", probe.inner_text()
        points = page.evaluate(READ_POINTS, "reader")
        curve = json.loads(probe.get_attribute("data-curve"))
        sizes, ns = [p["bytes"] for p in points], [p["ns"] for p in points]
        assert (sizes, ns) == (curve["sizes_bytes"], curve["ns"]), "the drawn points are not the run's"
        assert len(sizes) >= MIN_SIZES, f"only {len(sizes)} sizes measured ({curve['stopped_because']})"
        assert sizes == [sizes[0] * 2 ** i for i in range(len(sizes))], sizes
        assert all(math.isfinite(v) and v > 0 for v in ns), ns
        assert ns[-1] >= MIN_CLIMB * ns[0], \
            f"flat curve: {ns[-1]:.3g} ns at {sizes[-1]} B against {ns[0]:.3g} ns at {sizes[0]} B"
        assert curve["timer_resolution_ms"] > 0 and curve["sample_ms_min"] >= 20
        (ARTIFACTS / "probe-curve.json").write_text(json.dumps(curve, indent=1))   # kept if a check fails
        # Each size's sample length (hops x ns) is in that artifact. It is not asserted: under load, samples of 260-780 ms were seen at some sizes even with the
        # hop count's growth bounded per short sample, for reasons not yet understood.
        assert sizes[-1] == DEVICE_CAP and curve["stopped_at_bytes"] is None, (sizes[-1], curve)
        assert f"navigator.deviceMemory: {DEVICE_MEMORY_GIB} GiB" in curve["stopped_because"], curve
        for p in points:
            assert "ns per load" in p["title"] and f"median of {p['repeats']} repeats" in p["title"], p
        summary = probe.locator(".latency-probe__summary").inner_text()
        assert "times as long" in summary and "stopped at" in summary and "deviceMemory" in summary, summary
        assert "performance.now()" in probe.locator(".latency-probe__caveat").inner_text()
        assert str(curve["sink"]) in probe.locator(".latency-probe__sink").inner_text()
        assert page.evaluate(READ_POINTS, "build") == [] and probe.locator(".latency-probe__key").count() == 1
        readable_in_both_schemes(page, probe, "dark", DESKTOP["width"])

        # The page as it will be: the build's staircase beside the reader's, on a phone.
        page.evaluate(PUT_BUILD, build_element(doc))
        page.set_viewport_size(PHONE)
        page.wait_for_function("document.querySelectorAll('#latency-probe .latency-probe__point--build').length > 0")
        assert [p["bytes"] for p in page.evaluate(READ_POINTS, "build")] == build_element(doc)["sizes_bytes"]
        assert [(p["bytes"], p["ns"]) for p in page.evaluate(READ_POINTS, "reader")] == list(zip(sizes, ns))
        assert probe.locator(".latency-probe__key").count() == 2
        readable_in_both_schemes(page, probe, "light", PHONE["width"])
        assert not errors, errors
        assert not log.failed and not log.foreign, (log.failed, log.foreign)
        (ARTIFACTS / "probe-curve.json").write_text(json.dumps(curve, indent=1))
    finally:
        ctx.close()


def other_shapes(doc: dict, suite_text: str) -> dict[str, tuple[str, str]]:
    """Files that are not a latency staircase: name -> (content, what the message must say)."""
    no_latency = {**doc, "experiments": {k: v for k, v in doc["experiments"].items() if k != "latency"}}
    failed = json.loads(json.dumps(doc))
    failed["experiments"]["latency"] = {"status": "failed", "reason": "latency.c: killed by SIGSEGV"}
    bad_point = json.loads(json.dumps(doc))
    staircase(bad_point)[1]["ns"] = "fast"
    return {
        "suite.pyperf.json": (suite_text, 'no "experiments"'),
        "notes.txt": ("not json at all", "is not JSON"),
        "list.json": ("[1, 2, 3]", "not a JSON object"),
        "partial.json": (json.dumps(no_latency), "no latency experiment"),
        "failed.json": (json.dumps(failed), "killed by SIGSEGV"),
        "bad-point.json": (json.dumps(bad_point), "point 2"),
    }


def test_results_files_given_to_the_probe(served, browser, quick_site, tmp_path):
    """Files of other shapes, dropped or chosen with the file input, each get a message naming
    the file and what is wrong, and draw nothing; then a results file written by the build,
    dropped, is drawn beside the build's staircase (which the test puts on the page in the
    shape the page will carry it). One page, on a phone, in dark."""
    base, _, doc, _ = served
    _, results, _ = quick_site
    suites = sorted(results.parent.glob("*.pyperf.json"))
    assert suites, "the quick build wrote no pyperf suite"
    ctx, page, log, errors = open_page(browser, base, "dark", PHONE)
    try:
        for i, (name, (text, says)) in enumerate(other_shapes(doc, suites[0].read_text()).items()):
            page.evaluate("document.querySelector('#latency-probe .latency-probe__message').textContent = ''")
            if i % 2:   # both ways in: dropped, and chosen with the file input
                page.evaluate(DROP, [name, text])
            else:
                path = tmp_path / name
                path.write_text(text)
                page.locator("#latency-probe input[type=file]").set_input_files(str(path))
            message = wait_for_message(page)
            assert says in message and name in message, (name, message)
            assert page.locator("#latency-probe .latency-probe__message--error").count() == 1
            assert page.evaluate(READ_POINTS, "file") == [], f"{name} was drawn"
            assert page.locator("#latency-probe svg").count() == 0

        page.evaluate(PUT_BUILD, build_element(doc))
        page.evaluate(DROP, ["other-machine.json", json.dumps(doc)])
        assert "Drawn" in wait_for_message(page)
        assert page.locator("#latency-probe .latency-probe__message--error").count() == 0
        stairs = staircase(doc)
        drawn = page.evaluate(READ_POINTS, "file")
        assert [(p["bytes"], p["ns"]) for p in drawn] == [(s["bytes"], s["ns"]) for s in stairs]
        assert [p["bytes"] for p in page.evaluate(READ_POINTS, "build")] == [s["bytes"] for s in stairs]
        legend = page.locator("#latency-probe .latency-probe__legend").inner_text()
        assert "other-machine.json" in legend and "build machine" in legend, legend
        assert not errors and not log.foreign, (errors, log.foreign)
        screenshot(page.locator("#latency-probe"), "probe-dropped-file.png")
    finally:
        ctx.close()
