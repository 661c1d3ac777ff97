"""Several machines side by side (issue "Many machines"): a site built from a results file
with two others in machines/, read in Chromium at phone and desktop width, light and dark;
and a build with no C compiler and an empty cache that renders from machines/."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT, copy_project
from test_browser import DESKTOP, PHONE, _Quiet, browser, screenshot  # noqa: F401 - fixture

pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "corpus"
PRIMARY = "x86-64-gcc-py311.quick.json"
OTHERS = ("x86-64-clang-py311.quick.json", "fake-amd-epyc.quick.json")


def build(proj: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=proj, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env})


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


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_machines_side_by_side(machines_site, browser, viewport, scheme):  # noqa: F811
    base, proj = machines_site
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = ctx.new_page()
    try:
        for path, check in (("claims/", "claims"), ("chapter/benchmark/", "across"),
                            ("chapter/cache/", "latency")):
            page.goto(base + path, wait_until="load")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path}: scrolls sideways by {overflow}px at {viewport['width']}"
            if check == "claims":
                # every claim row carries a verdict for each other machine, in view
                rows = page.locator("table.claims-table tbody tr")
                assert rows.count() > 20
                for i in range(rows.count()):
                    cells = rows.nth(i).locator("td.ct-other")
                    assert cells.count() == len(OTHERS)
                    for j in range(cells.count()):
                        box = cells.nth(j).bounding_box()
                        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1
                assert page.locator(".claim-machines").count() == 0   # boxes live on the section pages
            elif check == "across":
                table = page.locator("table.across-machines").first
                table.scroll_into_view_if_needed()
                text = table.inner_text()
                assert "clang 14" in text and "L3 32 MiB" in text, text
                box = table.bounding_box()
                assert box["x"] + box["width"] <= viewport["width"] + 1
                assert page.locator(".claim-machines").count() >= 3
            else:
                fig = page.locator("#figure-latency svg")
                machines = set(fig.locator("g.fig-point[data-machine]").evaluate_all(
                    "els => els.map(e => e.dataset.machine)"))
                assert len(machines) == len(OTHERS), machines
                for title in fig.locator("g.fig-point[data-machine] > title").all_text_contents()[:5]:
                    assert title.split(":")[0] in machines
            screenshot(page, f"machines-{check}-{viewport['width']}-{scheme}.png", full_page=check != "claims")
    finally:
        ctx.close()


PAGES_WITH_FIGURES = ("chapter/one-line/", "chapter/stack-and-heap/", "chapter/benchmark/", "chapter/cache/")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_page_with_figures_shows_the_other_machines(machines_site, browser, viewport):  # noqa: F811
    """Each page with figures puts the other machines beside this one: every claim box says
    its verdict on each of them, in view, and the page never scrolls sideways."""
    base, proj = machines_site
    ctx = browser.new_context(viewport=viewport)
    page = ctx.new_page()
    try:
        for path in PAGES_WITH_FIGURES:
            page.goto(base + path, wait_until="load")
            assert page.locator("figure.chapter-figure svg").count() >= 1, path
            boxes = page.locator(".claim-machines")
            assert boxes.count() >= 1, path
            for i in range(boxes.count()):
                items = boxes.nth(i).locator("li")
                assert items.count() == len(OTHERS), path
                text = boxes.nth(i).inner_text()
                assert "clang 14" in text and "L3 32 MiB" in text, text
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path}: scrolls sideways by {overflow}px"
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
