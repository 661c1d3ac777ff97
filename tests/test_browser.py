"""The built site in a real browser: Debian's Chromium driven by Playwright, served on 127.0.0.1.

The site is the one built at quick scale in a temporary copy (conftest.quick_site). Every page
loads with no failed request, no request leaving 127.0.0.1 and no broken image, in light and
dark mode; each figure is visible and is exactly the SVG the results file draws; the palette
toggle switches scheme and figure. Screenshots and the page weights go to test-artifacts/.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
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
SCHEMES = {"light": "default", "dark": "slate"}   # Playwright's colour scheme -> material's
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

try:
    from playwright.sync_api import sync_playwright
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
    """Everything a page asked for: failures, hosts, bytes transferred."""

    def __init__(self, page, base: str) -> None:
        self.base = base
        self.failed: list[str] = []
        self.foreign: list[str] = []
        self.responses = []
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self.responses.append(r))

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

    def transferred(self) -> int:
        total = 0
        for r in self.responses:
            s = r.sizes()
            total += s["responseBodySize"] + s["responseHeadersSize"]
        return total


def load(browser, base: str, path: str, scheme: str, viewport=DESKTOP):
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = ctx.new_page()
    log = PageLog(page, base)
    page.goto(base + path, wait_until="networkidle")
    # Figures load lazily: bring each into view and wait for the one this scheme shows.
    for fig in page.locator("figure.chapter-figure").all():
        fig.scroll_into_view_if_needed()
        for img in fig.locator("img").all():
            if img.is_visible():
                img.evaluate("i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })")
    page.wait_for_load_state("networkidle")
    return ctx, page, log


BROKEN_IMAGES = """() => [...document.images]
  .filter(i => i.checkVisibility() && (!i.complete || i.naturalWidth === 0))
  .map(i => i.getAttribute('src'))"""


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_page_loads_cleanly(served, browser, scheme):
    base, site, _, _ = served
    weights = {}
    for path in site_pages(site):
        ctx, page, log = load(browser, base, path, scheme)
        try:
            assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == SCHEMES[scheme]
            assert not log.failed, f"{path}: failed requests {log.failed}"
            assert not log.check_statuses(), f"{path}: {log.check_statuses()}"
            assert not log.foreign, f"{path}: requests leaving 127.0.0.1: {log.foreign}"
            assert page.evaluate(BROKEN_IMAGES) == [], f"{path}: broken images"
            weights[path or "/"] = log.transferred()
            name = (path.strip("/").replace("/", "_") or "index")
            page.screenshot(path=str(ARTIFACTS / f"{name}-{scheme}.png"), full_page=True)
        finally:
            ctx.close()
    (ARTIFACTS / f"transfer-{scheme}.json").write_text(json.dumps(weights, indent=1, sort_keys=True))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_figures_are_visible_and_are_the_results(served, browser, scheme):
    """Each drawn figure appears once, in view, and is byte for byte what the results draw."""
    base, site, _, drawn = served
    placed = {}
    for path in site_pages(site):
        html = (site / path / "index.html").read_text()
        for name in drawn:
            if f'id="figure-{name}"' in html:
                placed.setdefault(name, []).append(path)
    for name, item in drawn.items():
        if isinstance(item, figures.Rendered):
            assert len(placed.get(name, [])) == 1, f"figure {name} is placed on {placed.get(name)}"
    for name, paths in placed.items():
        item = drawn[name]
        ctx, page, log = load(browser, base, paths[0], scheme)
        try:
            fig = page.locator(f"#figure-{name}")
            if isinstance(item, figures.Missing):
                assert fig.locator("img").count() == 0 and "not measured" in fig.inner_text()
                continue
            shown = [img for img in fig.locator("img").all() if img.is_visible()]
            assert len(shown) == 1, f"{name}: {len(shown)} variants visible in {scheme} mode"
            img = shown[0]
            src = img.get_attribute("src")
            assert src.endswith(f"figures/{name}-{scheme}.svg#only-{scheme}"), src
            box = img.bounding_box()
            assert box and box["width"] > 150 and box["height"] > 80, box
            assert img.evaluate("i => i.complete && i.naturalWidth > 0")
            assert img.get_attribute("alt") == item.alt
            assert item.caption in fig.locator("figcaption").inner_text()
            url = img.evaluate("i => i.currentSrc").split("#")[0]
            got = [r for r in log.responses if r.url.split("#")[0] == url]
            assert got, f"{name}: the browser did not fetch {url}"
            assert got[0].response().body() == getattr(item, scheme), f"{name}: not the figure the results draw"
            fig.screenshot(path=str(ARTIFACTS / f"figure-{name}-{scheme}.png"))
        finally:
            ctx.close()


def test_palette_toggle_switches_scheme_and_figures(served, browser):
    base, site, _, drawn = served
    shown = [n for n, item in drawn.items() if isinstance(item, figures.Rendered)]
    if "benchmark" not in shown:
        pytest.skip("the benchmark figure was not drawn on this build")
    ctx, page, _ = load(browser, base, "chapter/benchmark/", "light")
    try:
        def visible_src() -> list[str]:
            return [i.get_attribute("src") for i in page.locator("#figure-benchmark img").all() if i.is_visible()]
        assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "default"
        assert [s.rsplit("#", 1)[1] for s in visible_src()] == ["only-light"]
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
        page.locator("#figure-benchmark").scroll_into_view_if_needed()
        assert [s.rsplit("#", 1)[1] for s in visible_src()] == ["only-dark"]
        page.wait_for_function("""() => [...document.querySelectorAll('#figure-benchmark img')]
            .filter(i => i.checkVisibility()).every(i => i.complete && i.naturalWidth > 0)""")
        page.screenshot(path=str(ARTIFACTS / "toggle-to-dark.png"))
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'default'")
        assert [s.rsplit("#", 1)[1] for s in visible_src()] == ["only-light"]
    finally:
        ctx.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_phone_width(served, browser, scheme):
    """At phone width nothing pushes the page sideways; a figure scrolls inside its own frame."""
    base, site, _, _ = served
    for path in [p for p in site_pages(site) if p.startswith("chapter/")]:
        ctx, page, log = load(browser, base, path, scheme, viewport=PHONE)
        try:
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path}: the page is {overflow}px wider than the phone"
            assert page.evaluate(BROKEN_IMAGES) == [], f"{path}: broken images"
            name = path.strip("/").replace("/", "_")
            page.screenshot(path=str(ARTIFACTS / f"phone-{name}-{scheme}.png"), full_page=True)
        finally:
            ctx.close()
