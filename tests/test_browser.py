"""The built site in a real browser: Debian's Chromium driven by Playwright, served on 127.0.0.1.

The site is the one built at quick scale in a temporary copy (conftest.quick_site). Every page
loads cleanly (no failed request, none leaving 127.0.0.1, no broken image) in light and in dark.
At phone width (390 x 844) and desktop width (1280), light and dark: no page
scrolls sideways, every figure fits the width with text of at least 12 px, every verdict in a
table is in view without scrolling, a "noisy" mark stays inside its line. Each figure is the
SVG the results file draws, a tooltip on every point, its colours following the scheme (and
the palette toggle); a verdict badge opens the evidence. With CHAPTER_SCREENSHOTS=1,
screenshots of every page at both widths in
both schemes and of every figure (to look at; they assert nothing, and take most of the time).

Every page is loaded once per width, each in a tab of its own kept open for the tests that read
it (Tabs): light at phone width, on a touch screen, and dark at desktop width. A test that
changes a tab (opens a claim's evidence, follows a link) leaves it as it found it, and says so.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path

import pytest

from conftest import ROOT, declared
from macros import figures
from macros.measure import ledger
from macros.measure.results import Results

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHAPTER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = os.environ.get("CHAPTER_SCREENSHOTS", "") not in ("", "0")
SCHEMES = {"light": "default", "dark": "slate"}   # Playwright's colour scheme -> material's
OTHER_SCHEME = {"light": "dark", "dark": "light"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

try:
    from playwright.sync_api import Error as PlaywrightError, sync_playwright
except ImportError:   # pragma: no cover - depends on the environment
    sync_playwright = None

if sync_playwright is None:
    pytest.skip("the playwright package is not installed (pip install -r requirements-test.txt)",
                allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) "
                f"or point CHAPTER_CHROMIUM at one", allow_module_level=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(quick_site):
    """(base URL, site folder, results doc, drawn figures) for the quick site, served locally."""
    proj, results, _ = quick_site
    site = proj / "site"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    doc = json.loads(results.read_text())
    drawn = figures.render_all(Results(doc, declared()), ledger.load(proj / "claims.toml"))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site, doc, drawn
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def site_pages(site: Path) -> list[str]:
    """Every page of the site, as a URL path relative to its root ("" for the home page)."""
    out = []
    for p in site.rglob("index.html"):
        rel = p.parent.relative_to(site)
        if rel.parts and rel.parts[0] in ("assets", "search"):
            continue
        out.append(rel.as_posix() + "/" if rel.parts else "")
    return sorted(out)


class PageLog:
    """Everything a page asked for: failures, hosts, statuses."""

    def __init__(self, page, base: str) -> None:
        self.base = base
        self.failed: list[str] = []
        self.foreign: list[str] = []
        self.responses = []
        self._handlers = [("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}")),
                          ("request", self._request),
                          ("requestfinished", lambda r: self.responses.append(r))]
        for event, handler in self._handlers:
            page.on(event, handler)

    def _request(self, request) -> None:
        if not request.url.startswith(self.base) and not request.url.startswith("data:"):
            self.foreign.append(request.url)

    def check_statuses(self) -> list[str]:
        bad = []
        for r in self.responses:
            resp = r.response()
            if resp is not None and resp.status >= 400:
                bad.append(f"{r.url}: HTTP {resp.status}")
        return bad


class Tabs:
    """Every page of the site at one width, each loaded once, in a tab of its own (in a reused
    tab, the last page's late requests, its favicon, would be aborted by the next navigation
    and count against the next page), and kept open for the tests that read it. All are loaded
    before any test toggles the scheme, which the context would remember for pages loaded
    after: each shows the scheme the reader's system asks for (`scheme`), and `loaded_in`
    records the one it showed."""

    def __init__(self, browser, base: str, site: Path, viewport: dict, scheme: str, **options) -> None:
        self.ctx = browser.new_context(viewport=viewport, color_scheme=scheme, **options)
        self.base, self.width, self.scheme = base, viewport["width"], scheme
        self.pages, self.logs, self.loaded_in = {}, {}, {}
        for path in site_pages(site):
            page = self.ctx.new_page()
            self.logs[path] = PageLog(page, base)
            page.goto(base + path, wait_until="load")
            try:
                wait_for_scheme(page, scheme)
            except PlaywrightError:
                pass                    # test_every_page_loads_cleanly says which scheme it showed
            self.loaded_in[path] = page.evaluate(SCHEME_SHOWN)
            self.pages[path] = page

    def show(self, path: str):
        """The tab of `path`, brought to the front: a tab behind others gets no animation
        frames, and Playwright waits on those before it clicks or taps."""
        page = self.pages[path]
        page.bring_to_front()
        return page

    def close(self) -> None:
        self.ctx.close()


# The scheme each width's pages are loaded in: both widths read both schemes (the palette
# toggle), and every page is loaded afresh in both (light at phone width, dark at desktop).
# The phone is a touch screen.
FIRST_SCHEME = {PHONE["width"]: "light", DESKTOP["width"]: "dark"}
DEVICE = {PHONE["width"]: {"has_touch": True, "is_mobile": True}, DESKTOP["width"]: {}}


@pytest.fixture(scope="module")
def tabs(browser, served):
    """tabs(viewport): the site's pages at that width (Tabs), loaded when first asked for."""
    base, site, _, _ = served
    made: dict[int, Tabs] = {}

    def at(viewport: dict) -> Tabs:
        width = viewport["width"]
        if width not in made:
            made[width] = Tabs(browser, base, site, viewport, FIRST_SCHEME[width], **DEVICE[width])
        return made[width]
    try:
        yield at
    finally:
        for t in made.values():
            t.close()


def screenshot(target, name: str, **options) -> None:
    if SCREENSHOTS:
        target.screenshot(path=str(ARTIFACTS / name), **options)


BROKEN_IMAGES = """() => [...document.images]
  .filter(i => i.checkVisibility() && (!i.complete || i.naturalWidth === 0))
  .map(i => i.getAttribute('src'))"""

# Each figure as the reader sees it: its box, its smallest text on screen (font size in viewBox
# units times the drawing's scale), its data points and those without a tooltip.
FIGURES = """() => [...document.querySelectorAll('figure.chapter-figure svg.chapter-svg')].map(s => {
  const r = s.getBoundingClientRect();
  const texts = [...s.querySelectorAll('text')];
  const points = [...s.querySelectorAll('g.fig-point, g.fig-book-point, g.fig-level, g.fig-segment, g.fig-gap')];
  return {name: s.dataset.figure, left: r.left, right: r.right, width: r.width, height: r.height,
          smallest: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)),
          points: points.length,
          untitled: points.filter(g => !(g.querySelector(':scope > title') || {}).textContent).length};
})"""

# A verdict badge inside a table, and whether all of it is in view without scrolling: inside the
# viewport and inside every ancestor that clips (a scrolling table, its wrapper).
TABLE_VERDICTS = """() => [...document.querySelectorAll('table .verdict')].map(v => {
  const r = v.getBoundingClientRect();
  let right = document.documentElement.clientWidth, left = 0;
  for (let a = v.parentElement; a; a = a.parentElement) {
    const cs = getComputedStyle(a);
    if (cs.overflowX !== 'visible') {
      const ar = a.getBoundingClientRect();
      right = Math.min(right, ar.right); left = Math.max(left, ar.left);
    }
  }
  return {text: v.textContent, left: r.left, right: r.right, inView: r.left >= left - 1 && r.right <= right + 1,
          shown: v.checkVisibility()};
})"""

# A noisy mark: inline in its sentence, on one line in prose; in a table cell it may wrap but
# stays inside the cell.
NOISY = """() => [...document.querySelectorAll('.noisy')].map(n => {
  const cell = n.closest('td, th');
  return {text: n.textContent, display: getComputedStyle(n).display, lines: n.getClientRects().length,
          right: n.getBoundingClientRect().right, cell: !!cell,
          cellRight: cell ? cell.getBoundingClientRect().right : null};
})"""


def shot_name(path: str) -> str:
    return path.strip("/").replace("/", "_") or "index"


SCHEME_SHOWN = "document.body.getAttribute('data-md-color-scheme')"


def wait_for_scheme(page, scheme: str) -> None:
    """Wait until the page shows Playwright's `scheme` (light/dark). Material applies the one
    matching the browser from its script, which a busy machine may run after the network went
    quiet; a page that never shows it fails."""
    page.wait_for_function(f"{SCHEME_SHOWN} === '{SCHEMES[scheme]}'", timeout=10_000)


def toggle_scheme(page) -> str:
    """Click the reader's palette toggle and wait for the other scheme; returns it (material's name)."""
    before = page.evaluate(SCHEME_SHOWN)
    page.locator("form[data-md-component=palette] label:visible").first.click()
    page.wait_for_function(f"{SCHEME_SHOWN} !== '{before}'")
    return page.evaluate(SCHEME_SHOWN)


FIGURE_COLOURS = """() => [...document.querySelectorAll('svg.chapter-svg')].map(s => ({
  name: s.dataset.figure,
  text: getComputedStyle(s.querySelector('text.fig-fg')).fill,
  muted: getComputedStyle(s.querySelector('text.fig-muted')).fill,
  marks: [...new Set([...s.querySelectorAll('.fig-c, .fig-py, .fig-np')].map(
      e => e.getAttribute('class') + ' ' + getComputedStyle(e).color))].sort()}))"""


def check_colours(page, path: str) -> list[dict]:
    """The drawings as shown now: their text stands out from the page; their colours, for
    comparing with the other scheme (differ_by_scheme)."""
    figs = page.evaluate(FIGURE_COLOURS)
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert all(f["text"] != bg for f in figs), f"{path}: figure text in the page's background colour"
    return figs


def differ_by_scheme(path: str, first: list[dict], second: list[dict]) -> None:
    """One page's drawings read in two schemes: their text and marks take each one's colours."""
    assert len(first) == len(second), path
    for a, b in zip(first, second):
        assert a["text"] != b["text"] and a["muted"] != b["muted"], (path, a["name"])
        # C, Python and NumPy marks take our own colours for each scheme (chapter.css)
        assert not set(a["marks"]) & set(b["marks"]), (path, a["name"])


def check_fits(page, path: str, width: int) -> None:
    """The page as shown now: nothing wider than the screen; each figure inside it, wide enough,
    its text at least 12 px and a tooltip on every point; verdicts in tables in view; noisy
    marks on their line."""
    client = page.evaluate("document.documentElement.clientWidth")
    overflow = page.evaluate("document.documentElement.scrollWidth") - client
    assert overflow <= 1, f"{path} at {width}px: the page is {overflow}px wider than the screen"
    for fig in page.evaluate(FIGURES):
        name = fig["name"]
        assert fig["left"] >= 0 and fig["right"] <= client + 0.5, f"{path}: figure {name} leaves the screen"
        assert fig["width"] > 0.8 * min(client - 40, 500), f"{path}: figure {name} is {fig['width']}px wide"
        assert fig["smallest"] >= 12, f"{path} at {width}px: figure {name} has text of {fig['smallest']:.1f}px"
        assert fig["points"] > 0 and fig["untitled"] == 0, f"{path}: figure {name}: points without a tooltip"
    for v in page.evaluate(TABLE_VERDICTS):
        assert v["shown"] and v["inView"], f"{path} at {width}px: verdict {v} needs scrolling to be seen"
    for n in page.evaluate(NOISY):
        assert n["display"] == "inline", f"{path}: noisy mark {n} is not inline"
        if n["cell"]:
            assert n["right"] <= n["cellRight"] + 0.5, f"{path} at {width}px: noisy mark {n} leaves its cell"
        else:
            assert n["lines"] == 1 and n["right"] <= client + 0.5, \
                f"{path} at {width}px: noisy mark {n} breaks its line or leaves the screen"


# What a first visit to the page shown costs: the page and everything it fetched, as the
# server sent them (encoded bytes), whether or not a tab before it had them in its cache.
PAGE_WEIGHT = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .reduce((sum, e) => sum + e.encodedBodySize, 0)"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_page_loads_cleanly(tabs, viewport):
    """Each page, loaded afresh in a tab of its own: no failed request, none leaving
    127.0.0.1, no broken image, the scheme the reader's system asks for (light at phone width,
    dark at desktop width). The weight of each page goes to test-artifacts/transfer-<scheme>.json."""
    at = tabs(viewport)
    weights: dict[str, int] = {}
    for path in at.pages:
        page = at.show(path)
        where = f"{path or '/'} ({at.scheme}, {at.width}px)"
        assert at.loaded_in[path] == SCHEMES[at.scheme], f"{where}: shown in {at.loaded_in[path]}"
        # wait until it has asked for nothing for half a second (its late requests: the search
        # index, the favicon), then look at all of them
        page.wait_for_load_state("networkidle", timeout=60_000)
        log = at.logs[path]
        assert not log.failed, f"{where}: failed requests {log.failed}"
        assert not log.check_statuses(), f"{where}: {log.check_statuses()}"
        assert not log.foreign, f"{where}: requests leaving 127.0.0.1: {log.foreign}"
        assert page.evaluate(BROKEN_IMAGES) == [], f"{where}: broken images"
        weights[path or "/"] = page.evaluate(PAGE_WEIGHT)
    (ARTIFACTS / f"transfer-{at.scheme}.json").write_text(json.dumps(weights, indent=1, sort_keys=True))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_page_fits_the_screen(tabs, viewport):
    """Each page read in the scheme it was loaded in and then in the other, the reader's
    palette toggle switching it in place: no page scrolls sideways; every figure fits the
    width, its text at least 12 px and a tooltip on every point, its text and marks in the
    colours of the scheme shown; every verdict in a table is in view; a noisy mark keeps to its
    line. With CHAPTER_SCREENSHOTS=1, a full-page screenshot of each page goes to
    test-artifacts/<page>-<width>-<scheme>.png."""
    at = tabs(viewport)
    names = {v: k for k, v in SCHEMES.items()}
    for path in at.pages:
        page = at.show(path)
        seen, colours = [], []
        for turn in range(2):
            shown = toggle_scheme(page) if turn else page.evaluate(SCHEME_SHOWN)
            seen.append(shown)
            screenshot(page, f"{shot_name(path)}-{at.width}-{names[shown]}.png", full_page=True)
            check_fits(page, path, at.width)
            colours.append(check_colours(page, path))
        assert sorted(seen) == sorted(SCHEMES.values()), f"{path}: read in {seen}"
        differ_by_scheme(path, *colours)


def test_the_claims_table_shows_every_verdict_without_scrolling(tabs):
    """At phone width each row is a card with the verdict first; at desktop width the table fits."""
    for viewport in (PHONE, DESKTOP):
        page = tabs(viewport).show("claims/")
        rows = page.locator("table.claims-table tbody tr")
        assert rows.count() > 0
        client = page.evaluate("document.documentElement.clientWidth")
        table = page.locator("table.claims-table")
        assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1"), "the claims table scrolls"
        for i in range(rows.count()):
            row = rows.nth(i)
            cell = row.locator("td.ct-verdict").bounding_box()
            assert cell and cell["x"] >= 0 and cell["x"] + cell["width"] <= client + 0.5, (viewport, i)
            if viewport is PHONE:   # the verdict comes first, on the row's top line
                claim = row.locator("td.ct-statement").bounding_box()
                assert cell["y"] < claim["y"], f"row {i}: the verdict is not first"


def test_figures_are_inline_and_are_the_results(served, tabs):
    """Each drawn figure is on one page, byte for byte the SVG the results draw, with its alt
    text and caption; a figure whose data is missing says so instead."""
    base, site, _, drawn = served
    placed = {}
    for path in site_pages(site):
        body = (site / path / "index.html").read_text()
        for name in drawn:
            if f'id="figure-{name}"' in body:
                placed.setdefault(name, []).append(path)
    assert not list(site.rglob("*.svg")) or all("figures" not in p.parts for p in site.rglob("*.svg"))
    for name, item in drawn.items():
        assert len(placed.get(name, [])) == 1, f"figure {name} is placed on {placed.get(name)}"
        body = (site / placed[name][0] / "index.html").read_text()
        if isinstance(item, figures.Missing):
            continue
        assert body.count(item.svg) == 1, f"{name}: the page does not hold the SVG the results draw"
    for name, paths in placed.items():
        item = drawn[name]
        page = tabs(DESKTOP).show(paths[0])
        fig = page.locator(f"#figure-{name}")
        if isinstance(item, figures.Missing):
            assert fig.locator("svg").count() == 0 and "not measured" in fig.inner_text()
            continue
        svg = fig.locator("svg.chapter-svg")
        assert svg.get_attribute("aria-label") == item.alt and svg.get_attribute("role") == "img"
        assert item.caption in fig.locator("figcaption").inner_text()
        titles = svg.evaluate("s => [...s.querySelectorAll('g > title')].map(t => t.textContent)")
        assert len(titles) == item.svg.count("<title>") > 0
        screenshot(fig, f"figure-{name}-1280.png")


def _figure_pages(site: Path) -> list[str]:
    return [p for p in site_pages(site) if "chapter-svg" in (site / p / "index.html").read_text()]


def test_palette_toggle_recolours_the_figures(served, tabs):
    """The reader's toggle, clicked twice on a page with figures, gives the other scheme's
    colours and then exactly the first ones back."""
    base, site, _, _ = served
    page = tabs(PHONE).show(_figure_pages(site)[0])
    first = page.evaluate(SCHEME_SHOWN)          # whichever the tests before left it in
    before = page.evaluate(FIGURE_COLOURS)
    assert toggle_scheme(page) != first
    after = page.evaluate(FIGURE_COLOURS)
    assert [f["text"] for f in after] != [f["text"] for f in before]
    screenshot(page, "toggle-scheme.png")
    assert toggle_scheme(page) == first
    assert page.evaluate(FIGURE_COLOURS) == before


OPEN = "el => el.querySelector('details.claim-evidence').open"


def test_a_claim_badge_opens_and_closes_its_evidence_in_place(tabs):
    page = tabs(PHONE).show("chapter/benchmark/")
    box = page.locator(".claim").first
    box.scroll_into_view_if_needed()
    toggle = box.locator(".claim-head .verdict-toggle")
    evidence = box.locator("details.claim-evidence")
    assert not box.evaluate(OPEN) and toggle.get_attribute("aria-expanded") == "false"
    y = page.evaluate("window.scrollY")
    toggle.click()
    assert box.evaluate(OPEN) and toggle.get_attribute("aria-expanded") == "true"
    assert evidence.locator(".checks").is_visible()     # the check's numbers, in place
    assert page.evaluate("window.scrollY") == y and page.url.endswith("chapter/benchmark/")
    screenshot(page, "badge-opens-evidence-390.png")
    toggle.click()
    assert not box.evaluate(OPEN) and toggle.get_attribute("aria-expanded") == "false"
    evidence.locator("summary").click()                  # the summary still works, and the badge follows
    assert box.evaluate(OPEN) and toggle.get_attribute("aria-expanded") == "true"
    evidence.locator("summary").click()                  # and closes it: the tab is left as it was
    assert not box.evaluate(OPEN) and toggle.get_attribute("aria-expanded") == "false"


def test_an_inline_verdict_opens_the_claim_it_links_to(served, tabs):
    """A verdict() badge in the prose goes to its claim box and opens the evidence; a badge in
    the claims table does the same on the claim's own page."""
    base, site, _, _ = served
    phone = tabs(PHONE)
    inline = [p for p in site_pages(site)
              if re.search(r'<a class="verdict-link" href="#claim-', (site / p / "index.html").read_text())]
    assert inline, "no page has an inline verdict badge"
    page = phone.show(inline[0])
    link = page.locator('a.verdict-link[href^="#claim-"]:not(.verdict-toggle)').first
    target = link.get_attribute("href")
    box = page.locator(target)
    assert not box.evaluate(OPEN)
    link.click()
    page.wait_for_function(f"document.querySelector('{target} details.claim-evidence').open")
    assert box.evaluate("b => { const r = b.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }")
    link.click()                                          # again, with the address already there
    assert box.evaluate(OPEN)
    box.locator("details.claim-evidence > summary").click()   # the tab is left as it was: closed
    assert not box.evaluate(OPEN)

    page = phone.show("claims/")
    link = page.locator("table.claims-table td.ct-verdict a.verdict-link").first
    cid = link.get_attribute("href").rsplit("#", 1)[1]
    link.click()                                          # to the claim's own page
    page.wait_for_function(f"document.getElementById('{cid}') && "
                           f"document.getElementById('{cid}').querySelector('details.claim-evidence').open")
    assert page.locator(f"#{cid} .verdict-toggle").get_attribute("aria-expanded") == "true"
    page.go_back(wait_until="load")                       # the tab is left on the claims page
    assert page.url == base + "claims/"


def test_tapping_a_point_shows_its_tooltip_under_the_figure(served, tabs):
    """A phone has no hover: a tap on a data point writes its tooltip under the drawing. (Last
    in this file: it leaves a point selected on each page with figures.)"""
    base, site, _, drawn = served
    phone = tabs(PHONE)
    for path in _figure_pages(site):
        page = phone.show(path)
        for fig in page.locator("figure.chapter-figure:has(svg.chapter-svg)").all():
            point = fig.locator("g.fig-point").first
            mark = point.locator("circle, rect").last      # the topmost mark of the point
            mark.scroll_into_view_if_needed()
            mark.tap()
            readout = fig.locator(".chapter-figure__readout")
            title = point.evaluate("g => g.querySelector(':scope > title').textContent")
            assert readout.inner_text().split() == title.split()
            assert point.evaluate("g => g.classList.contains('is-selected')")
        screenshot(page, f"tap-readout-{shot_name(path)}-390.png")
