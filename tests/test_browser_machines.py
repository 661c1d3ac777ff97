"""Several machines side by side (issue "Many machines"): a site built from a results file
with two others in machines/, read in Chromium at phone and desktop width, light and dark;
and a build with no C compiler and an empty cache that renders from machines/."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

import prewarmed
from conftest import ROOT, copy_project
from test_browser import (DESKTOP, PHONE, SCHEME_SHOWN, SCHEMES, _Quiet, browser, screenshot,  # noqa: F401
                          toggle_scheme)

pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "corpus"
PRIMARY = "x86-64-gcc-py311.quick.json"
OTHERS = ("x86-64-clang-py311.quick.json", "fake-amd-epyc.quick.json")


def build(proj: Path, env: dict) -> subprocess.CompletedProcess:
    return prewarmed.run(["-m", "mkdocs", "build"], cwd=proj, timeout=600,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env})


@pytest.fixture(scope="module")
def machines_site(tmp_path_factory):
    proj = copy_project(tmp_path_factory.mktemp("machines-site"))
    (proj / "machines").mkdir(exist_ok=True)
    for name in OTHERS:
        shutil.copy(CORPUS / name, proj / "machines" / name)
    got = build(proj, {"CHAPTER_RESULTS": str(CORPUS / PRIMARY)})
    assert got.returncode == 0, got.stderr[-3000:]
    assert "shown beside it:" in got.stderr
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Quiet, directory=str(proj / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", proj
    finally:
        server.shutdown()
        server.server_close()


# Each claim row's cells for the other machines, with their boxes, in one call to the page.
OTHER_CELLS = """() => [...document.querySelectorAll('table.claims-table tbody tr')].map(r =>
  [...r.querySelectorAll('td.ct-other')].map(c => {
    const b = c.getBoundingClientRect();
    return {x: b.left, width: b.width, shown: c.checkVisibility() && b.width > 0 && b.height > 0};
  }))"""


# The pages read, each with what is checked there; those with a figure-specific check are read
# in both schemes.
PAGES = (("claims/", "claims"), ("chapter/one-line/", None), ("chapter/stack-and-heap/", None),
         ("chapter/benchmark/", "across"), ("chapter/cache/", "latency"))
PAGES_WITH_FIGURES = tuple(path for path, _ in PAGES if path.startswith("chapter/"))

CLAIM_BOXES = """() => [...document.querySelectorAll('.claim-machines')].map(
  b => ({items: b.querySelectorAll('li').length, text: b.innerText}))"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_machines_side_by_side(machines_site, browser, viewport):  # noqa: F811
    """The claims table gives each claim's verdict on every other machine, in view; each page
    with figures puts the other machines beside this one (every claim box says its verdict on
    each of them); the benchmark's table and the latency curve have a column and a series per
    machine; no page scrolls sideways. Each page is loaded once per width; the claims, benchmark
    and cache pages are read in both schemes (the palette toggle switches them in place; the
    scheme read first alternates, as the toggle's choice is kept)."""
    base, proj = machines_site
    ctx = browser.new_context(viewport=viewport, color_scheme="light")
    page = ctx.new_page()
    names = {v: k for k, v in SCHEMES.items()}
    try:
        for path, check in PAGES:
            for turn in range(2 if check else 1):
                if turn:
                    scheme = names[toggle_scheme(page)]
                else:
                    page.goto(base + path, wait_until="load")
                    scheme = names[page.evaluate(SCHEME_SHOWN)]
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 1, f"{path}: scrolls sideways by {overflow}px at {viewport['width']}"
                if path in PAGES_WITH_FIGURES and not turn:
                    assert page.locator("figure.chapter-figure svg").count() >= 1, path
                    boxes = page.evaluate(CLAIM_BOXES)
                    assert len(boxes) >= 1, path
                    for box in boxes:
                        assert box["items"] == len(OTHERS), (path, box)
                        assert "clang 14" in box["text"] and "L3 32 MiB" in box["text"], box["text"]
                if check == "claims":
                    # every claim row carries a verdict for each other machine, in view
                    rows = page.evaluate(OTHER_CELLS)
                    assert len(rows) > 20
                    for i, cells in enumerate(rows):
                        assert len(cells) == len(OTHERS), (i, cells)
                        for box in cells:
                            assert box["shown"] and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, \
                                (i, box)
                    assert page.locator(".claim-machines").count() == 0   # boxes live on the section pages
                elif check == "across":
                    table = page.locator("table.across-machines").first
                    table.scroll_into_view_if_needed()
                    text = table.inner_text()
                    assert "clang 14" in text and "L3 32 MiB" in text, text
                    box = table.bounding_box()
                    assert box["x"] + box["width"] <= viewport["width"] + 1
                    assert page.locator(".claim-machines").count() >= 3
                elif check == "latency":
                    fig = page.locator("#figure-latency svg")
                    machines = set(fig.locator("g.fig-point[data-machine]").evaluate_all(
                        "els => els.map(e => e.dataset.machine)"))
                    assert len(machines) == len(OTHERS), machines
                    for title in fig.locator("g.fig-point[data-machine] > title").all_text_contents()[:5]:
                        assert title.split(":")[0] in machines
                if check:
                    screenshot(page, f"machines-{check}-{viewport['width']}-{scheme}.png", full_page=check != "claims")
    finally:
        ctx.close()


def test_no_compiler_and_no_cache_renders_from_machines(tmp_path):
    """No C compiler on PATH, nothing cached: the chapter is machines/' primary, every figure
    drawn, and every page says whose machine it shows."""
    proj = copy_project(tmp_path / "p")
    (proj / "machines").mkdir(exist_ok=True)
    shutil.copy(CORPUS / PRIMARY, proj / "machines" / PRIMARY)
    folder = tmp_path / "bin"
    folder.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(d):
            for entry in os.listdir(d):
                if entry not in ("gcc", "cc", "clang") and not entry.endswith(("-gcc", "-cc")) \
                        and not (folder / entry).exists():
                    (folder / entry).symlink_to(Path(d, entry))
    got = build(proj, {"PATH": str(folder), "CHAPTER_SCALE": "quick", "CC": "gcc"})
    assert got.returncode == 0, got.stderr[-3000:]
    assert f"the chapter shows machines/{PRIMARY}" in got.stderr
    for page in ("chapter/benchmark", "chapter/cache", "chapter/stack-and-heap", "chapter/one-line"):
        html = (proj / "site" / page / "index.html").read_text()
        assert "Results measured elsewhere" in html and PRIMARY in html and "no C compiler" in html
        assert "chapter-figure--missing" not in html, page
