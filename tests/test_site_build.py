"""One whole build at quick scale in a temporary copy: the rendered page against its results file."""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import declared
from macros.measure.results import NotMeasured, Results

from macros import fmt
from macros.measure import ledger

pytestmark = pytest.mark.slow


class ElementText(HTMLParser):
    """Text and classes inside every element that carries an id (nesting-aware)."""

    VOID = {"br", "img", "hr", "meta", "link", "input", "source", "wbr", "col", "area", "base"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.text: dict[str, list[str]] = {}
        self.classes: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for open_tag, ident in self.stack:
            if ident and a.get("class"):
                self.classes[ident].append(a["class"])
        if tag in self.VOID:
            return
        ident = a.get("id")
        if ident:
            self.text.setdefault(ident, [])
            self.classes.setdefault(ident, [])
        self.stack.append((tag, ident))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for _, ident in self.stack:
            if ident:
                self.text[ident].append(data)


def parse(path: Path) -> ElementText:
    p = ElementText()
    p.feed(path.read_text())
    return p


@pytest.fixture(scope="module")
def built(quick_site):
    proj, results, log = quick_site
    doc = json.loads(results.read_text())
    pages = {p: parse(p) for p in (proj / "site").rglob("*.html")}
    return proj, doc, pages, log


def test_progress_is_logged_per_experiment(built):
    proj, doc, pages, log = built
    for name in doc["experiments"]:
        assert f"measuring {name}:" in log
        assert re.search(rf"(measured {name} in [\d.]+ s|experiment {name}\b.*not measured)", log)


def test_every_claim_renders_once_with_its_verdict_and_figures(built, root):
    proj, doc, pages, _ = built
    claims = ledger.load(proj / "claims.toml")
    facts = Results(doc, declared())
    for cid, c in claims.items():
        holders = [(path, p) for path, p in pages.items() if f"claim-{cid}" in p.text]
        assert len(holders) == 1, f"claim {cid} rendered on {len(holders)} pages"
        path, p = holders[0]
        text = "".join(p.text[f"claim-{cid}"])
        verdict = ledger.evaluate(c, facts)
        assert f"verdict--{verdict.status}" in " ".join(p.classes[f"claim-{cid}"]), cid
        assert c.book in text
        for ref in c.show:
            fact = facts.fact(ref)
            if not isinstance(fact, NotMeasured):
                assert fmt.with_spread(fact) in text, (cid, ref)
            else:
                assert "not measured" in text


def test_inline_figures_match_results(built):
    proj, doc, pages, _ = built
    body = (proj / "site/chapter/benchmark/index.html").read_text()
    sum_facts = doc["experiments"]["sum"]["facts"]
    for name in ("c_book_O0", "c_book_O2", "c_opaque_O2"):
        shown = html.escape(fmt.with_spread(sum_facts[name]), quote=True)
        assert shown in body, name
    assert html.escape(fmt.value(sum_facts["ratio_py_loop"])) in body


def test_listings_on_the_page_are_the_files_that_ran(built):
    proj, _, _, _ = built
    body = html.unescape(re.sub(r"<[^>]+>", "", (proj / "site/chapter/benchmark/index.html").read_text()))
    for listing in ("csrc/sum_loop.c", "pysrc/sum_loop.py"):
        for line in (proj / listing).read_text().splitlines():
            if line.strip():
                assert line.strip() in body, (listing, line)


def test_quick_scale_banner_on_every_chapter_page(built):
    proj, _, _, _ = built
    for page in (proj / "site/chapter").rglob("index.html"):
        assert "not for publication" in page.read_text(), page


def test_downloads_are_the_results(built):
    proj = built[0]
    res = sorted((proj / "results").glob("*.quick.json"))[0]
    assert (proj / "site/downloads/results.json").read_bytes() == res.read_bytes()
    suite = proj / "site/downloads/results.pyperf.json"
    out = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(suite)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "py_loop" in out.stdout


def test_provenance_is_recorded(built):
    _, doc, _, _ = built
    p = doc["provenance"]
    for key in ("machine", "compiler", "cflags", "python", "libraries", "date", "scale", "machine_id"):
        assert p.get(key), key
    assert p["scale"]["name"] == "quick"
    assert p["machine"]["page_size"] == os.sysconf("SC_PAGE_SIZE")


def test_rebuild_in_cached_mode_measures_nothing(built):
    proj = built[0]
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached"}
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=proj, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "measuring " not in out.stderr.replace("measuring in mode", "")


def test_cached_mode_without_cache_names_what_is_missing(tmp_path):
    from conftest import copy_project
    proj = copy_project(tmp_path / "p")
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached"}
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=proj, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "no cached results for" in out.stderr and "sum" in out.stderr
    assert "Traceback" not in out.stderr


def test_warm_rebuild_costs_no_more_than_twice_a_cached_build(built):
    """Nothing changed: an auto build measures nothing and is about as fast as cached-only."""
    import time
    proj = built[0]

    def build(mode: str) -> tuple[float, str]:
        env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": mode}
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=proj, env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return time.perf_counter() - t0, out.stderr

    # Best of three each: this machine is shared, and the question is cost, not noise.
    auto = [build("auto") for _ in range(3)]
    cached = [build("cached") for _ in range(3)]
    for _, log in auto:
        assert not re.search(r"measuring \w+:", log), "a warm auto build measured something"
    assert min(t for t, _ in auto) <= 2 * min(t for t, _ in cached)
