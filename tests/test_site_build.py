"""One whole build at quick scale in a temporary copy: the rendered page against its results file."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import prewarmed
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


def test_method_page_gives_each_budget_and_their_total(built):
    """The budgets on the method page are the ones the results record, and their total."""
    proj, doc, _, _ = built
    from macros import fmt
    budgets = doc["provenance"]["scale"]["budgets"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", (proj / "site" / "method" / "index.html").read_text()))
    for name, sec in budgets.items():
        assert f"{name} {fmt.sig(float(sec), 2)} s" in text, name
    assert f"({fmt.sig(sum(budgets.values()), 2)} s in all)" in text
    # The method's constants come from the code that applies them, never typed into the prose.
    from macros.measure import stats, targets
    assert f"{stats.LEVEL:.0%} confidence interval" in text and f"replacement {stats.RESAMPLES:,} times" in text
    assert f"within the {targets.SAME_SPREAD:.0%} a reader" in text and f"within {targets.COLD_BUILD_S:g} s" in text


def test_rebuild_in_cached_mode_measures_nothing(quick_site, tmp_path):
    from conftest import copy_built
    proj = copy_built(quick_site, tmp_path / "p")
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached"}
    out = prewarmed.run(["-m", "mkdocs", "build"], cwd=proj, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "measuring " not in out.stderr.replace("measuring in mode", "")


def test_cached_mode_without_cache_names_what_is_missing(tmp_path):
    from conftest import copy_project
    proj = copy_project(tmp_path / "p")
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached"}
    out = prewarmed.run(["-m", "mkdocs", "build"], cwd=proj, env=env, timeout=300)
    assert out.returncode != 0
    assert "no cached results for" in out.stderr and "sum" in out.stderr
    assert "Traceback" not in out.stderr


def test_warm_rebuild_measures_nothing(quick_site, tmp_path):
    """Nothing changed: an auto build reuses every result. (How long it takes, against a
    cached-only build, is scripts/bench.py's to say, not a timed test's.)"""
    from conftest import copy_built
    proj = copy_built(quick_site, tmp_path / "p")
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "auto"}
    out = prewarmed.run(["-m", "mkdocs", "build"], cwd=proj, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not re.search(r"measuring \w+:", out.stderr), "a warm auto build measured something"


def test_serve_dirty_rebuilds_every_page_when_what_they_show_changes(built, tmp_path):
    """`mkdocs serve --dirty` rebuilds only edited pages, so the fast preview must notice when
    the pages' inputs change under them: an edit of the ledger shows on every page it reaches,
    and a prose edit shows on its page."""
    import shutil
    import signal
    import socket
    import time
    import urllib.request
    from conftest import copy_project
    proj = copy_project(tmp_path / "p")
    shutil.copytree(built[0] / ".chapter-cache", proj / ".chapter-cache")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached"}
    server = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--dirty", "-a", f"127.0.0.1:{port}"],
                              cwd=proj, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)

    def page(path: str) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as r:
                return r.read().decode()
        except OSError:
            return ""

    def shows(path: str, text: str, within: float = 120.0) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and server.poll() is None:
            if text in page(path):
                return True
            time.sleep(0.2)
        return False

    try:
        assert shows("", "</html>"), "the server never served the site"
        ledger_file = proj / "claims.toml"
        old = 'statement = "A C int is four bytes."'
        assert old in ledger_file.read_text()
        ledger_file.write_text(ledger_file.read_text().replace(old, 'statement = "A C int is four octets, said the test."'))
        assert shows("claims/", "four octets, said the test"), "the claims page kept the old ledger"
        assert shows("chapter/one-line/", "four octets, said the test"), "a page not edited kept the old ledger"
        index = proj / "docs" / "index.md"
        index.write_text(index.read_text() + "\n\nA prose edit, said the test.\n")
        assert shows("", "A prose edit, said the test."), "the edited page was not rebuilt"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


REBUILD_IN_PROCESS = """
import os, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config
first, edited, page = sys.argv[1:4]
build(load_config(site_dir=first))
with open(page, "a") as fh:
    fh.write("\\n\\nA prose edit between two builds of one process.\\n")
build(load_config(site_dir=edited))
"""


def test_a_rebuild_in_the_same_process_writes_what_a_fresh_build_writes(quick_site, tmp_path):
    """`mkdocs serve` rebuilds in one process and reuses the compiled page templates and the
    search entries of pages whose text did not change (macros/rebuilds.py): after a prose
    edit, its site must be byte for byte the one a fresh build writes, search index included."""
    from conftest import copy_built
    proj = copy_built(quick_site, tmp_path / "p")
    # The provenance's date is the minute of the build: pinned, so that builds a minute apart compare.
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached", "SOURCE_DATE_EPOCH": "1764979200"}
    page = proj / "docs" / "chapter" / "objects.md"
    out = prewarmed.run(["-c", REBUILD_IN_PROCESS, str(tmp_path / "first"), str(tmp_path / "again"), str(page)],
                        cwd=proj, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    shutil.rmtree(proj / ".chapter-cache" / "templates")    # fresh: every template compiled anew
    fresh = prewarmed.run(["-m", "mkdocs", "build", "-d", str(tmp_path / "fresh")], cwd=proj, env=env, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    again, new = tmp_path / "again", tmp_path / "fresh"
    files = sorted(p.relative_to(new) for p in new.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    differ = [str(f) for f in files if (again / f).read_bytes() != (new / f).read_bytes()]
    assert differ == [], f"a rebuild in one process wrote other bytes than a fresh build: {differ}"
    assert "A prose edit between two builds" in (again / "chapter" / "objects" / "index.html").read_text()
    assert "A prose edit between two builds" in (again / "search" / "search_index.json").read_text()


COUNT_PAGE_COMPILES = """
import sys, jinja2
import pymdownx.highlight, pygments.lexer
from material.plugins.search import plugin as search
from mkdocs.commands.build import build
from mkdocs.config import load_config
compiled, highlighted, indexed = [], [], []
original = jinja2.Environment.compile
def compile(self, source, name=None, *args, **kwargs):
    if name is None and isinstance(source, str) and "{{" in source:
        compiled.append(source[:60])
    return original(self, source, name, *args, **kwargs)
jinja2.Environment.compile = compile
pygments_highlight = pymdownx.highlight.highlight     # what the glue's reuse calls on a miss
def highlight(code, *args, **kwargs):
    highlighted.append(code[:60])
    return pygments_highlight(code, *args, **kwargs)
pymdownx.highlight.highlight = highlight
feed = search.Parser.feed                             # Material reading a page for its index
def read(self, data):
    indexed.append(data[:60])
    return feed(self, data)
search.Parser.feed = read
rules = []                                            # a lexer's rules compiled (0.1 s for C)
process = pygments.lexer.RegexLexerMeta.process_tokendef
def tokendef(cls, name, *args, **kwargs):
    if name == "":
        rules.append(cls.__name__)
    return process(cls, name, *args, **kwargs)
pygments.lexer.RegexLexerMeta.process_tokendef = tokendef
import markdown
converted = []                                        # pages converted from Markdown
convert = markdown.Markdown.convert
def conversion(self, text):
    converted.append(text[:60])
    return convert(self, text)
markdown.Markdown.convert = conversion
build(load_config(site_dir=sys.argv[1]))
print(len(compiled), len(highlighted), len(indexed), len(rules), len(converted))
"""


def test_a_build_in_a_new_process_reads_the_pages_compiled_before(quick_site, tmp_path):
    """Each page's compiled template is kept on disk (.chapter-cache/templates, by a digest of
    its text, settings, Python, Jinja and the glue's code), so is each highlighted code block
    (by its code, lexer, formatter and their options), each page's conversion from Markdown
    and its search entries (by what they are read from): a cached build in a new process
    compiles, converts and indexes no page whose text is unchanged, only the one edited,
    highlights no code block again, and writes the same site as a build that did all of it."""
    from conftest import copy_built
    proj = copy_built(quick_site, tmp_path / "p")
    env = {**os.environ, "CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "cached", "SOURCE_DATE_EPOCH": "1764979200"}
    shutil.rmtree(proj / ".chapter-cache" / "templates", ignore_errors=True)

    def build(site: str) -> tuple[int, int, int]:
        out = prewarmed.run(["-c", COUNT_PAGE_COMPILES, str(tmp_path / site)], cwd=proj, env=env, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        compiled, highlighted, indexed, rules, converted = map(int, out.stdout.split()[-5:])
        # A lexer's rules are compiled only for a block that is highlighted; a page whose
        # template is not compiled again is not converted again either.
        assert (rules > 0) == (highlighted > 0), (highlighted, rules)
        assert converted == compiled, (compiled, converted)
        return compiled, highlighted, indexed

    pages = len(list((proj / "docs").rglob("*.md")))
    compiled, highlighted, indexed = build("compiled")
    assert compiled >= pages - 1                   # nothing kept yet: (nearly) every page compiled
    assert pages - 1 <= indexed <= pages          # and read for search (one may be excluded)
    blocks = sum(text.count('class="highlight"') for text in
                 (p.read_text() for p in (tmp_path / "compiled").rglob("*.html")))
    assert highlighted >= 10 and highlighted <= blocks    # every distinct block highlighted once
    assert build("read") == (0, 0, 0)
    first, read = tmp_path / "compiled", tmp_path / "read"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(read) for p in read.rglob("*") if p.is_file())
    assert [str(f) for f in files if (first / f).read_bytes() != (read / f).read_bytes()] == []
    with open(proj / "docs" / "chapter" / "costs.md", "a") as fh:
        fh.write("\n\nAn edit: {{ 1 + 1 }}.\n")
    assert build("edited") == (1, 0, 1)
    assert "An edit: 2." in (tmp_path / "edited" / "chapter" / "costs" / "index.html").read_text()
    assert "2025-12-06 00:00 UTC" in (read / "downloads" / "results.json").read_text()   # SOURCE_DATE_EPOCH


def test_serve_polls_and_rebuilds_sooner_on_mkdocs_own_server(tmp_path):
    """The hook works on the server MkDocs really makes (not started here): every watched path
    is polled at the hook's interval, and a rebuild waits only the hook's settling time."""
    from mkdocs.livereload import LiveReloadServer
    from macros import hooks
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=str(tmp_path))
    try:
        server.watch(str(tmp_path))
        assert server.observer._timeout > hooks.POLL_S and server.build_delay > hooks.SETTLE_S
        assert hooks.on_serve(server, None, None) is server
        assert server.observer._timeout == hooks.POLL_S
        assert server.build_delay == hooks.SETTLE_S
        assert list(server._watched_paths) == [str(tmp_path)]
    finally:
        server.server_close()


def test_search_reads_the_same_sections_without_the_highlighters_spans(quick_site):
    """The search indexer is given code blocks without their highlighting (rebuilds.
    code_without_highlighting): on every built page, Material's own parser finds the same
    sections, titles and text either way, and there were spans to take out."""
    from material.plugins.search.plugin import Parser

    from macros.rebuilds import code_without_highlighting

    def sections(text: str) -> list[tuple]:
        parser = Parser()
        parser.feed(text)
        parser.close()
        return [(s.id, "".join(s.title), "".join(s.text)) for s in parser.data]

    fewer = 0
    for path in sorted((quick_site[0] / "site").rglob("index.html")):
        page = path.read_text()
        plain = code_without_highlighting(page)
        fewer += page.count("<span") - plain.count("<span")
        assert sections(plain) == sections(page), path
    assert fewer > 1000, f"only {fewer} spans taken out of code blocks"


def test_whitespace_in_code_is_text_not_elements(built, root):
    """Pygments' whitespace spans (class "w", styled by nothing) are taken out of every page:
    on a real listing, the text and every other span stay as they were; on the built site, none
    is left and the code is still highlighted."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import CLexer

    from macros import render
    listing = highlight((root / "csrc/latency.c").read_text(), CLexer(), HtmlFormatter())
    out = render.without_whitespace_spans(listing)
    text = lambda h: html.unescape(re.sub(r"<[^>]+>", "", h))  # noqa: E731
    others = lambda h: re.findall(r'<span class="(?!w")[^"]*">', h)  # noqa: E731
    assert listing.count('<span class="w">') > 100 and '<span class="w">' not in out
    assert text(out) == text(listing) and others(out) == others(listing)
    proj = built[0]
    pages = {p: p.read_text() for p in (proj / "site").rglob("*.html")}
    assert not [p for p, t in pages.items() if '<span class="w">' in t]
    assert pages[proj / "site/chapter/cache/index.html"].count('<span class="n">') > 100


def test_a_highlighted_block_is_kept_by_everything_that_shapes_it():
    """The key of a kept code block changes with the code, the lexer, the lexer's options and
    the formatter's options (highlighted lines, say); options that cannot be written down
    exactly give no key, and the block is highlighted anew."""
    from pygments.lexers import get_lexer_by_name
    from pymdownx.highlight import BlockHtmlFormatter
    from macros import rebuilds
    key = rebuilds._highlight_key
    c, py = get_lexer_by_name("c", stripnl=True), get_lexer_by_name("python", stripnl=True)
    fmt = lambda **options: BlockHtmlFormatter(cssclass="highlight", wrapcode=True, **options)  # noqa: E731
    base = key("int x = 42;", c, fmt())
    assert base == key("int x = 42;", get_lexer_by_name("c", stripnl=True), fmt())
    others = {key("int x = 43;", c, fmt()), key("int x = 42;", py, fmt()),
              key("int x = 42;", get_lexer_by_name("c", stripnl=False), fmt()),
              key("int x = 42;", c, fmt(hl_lines=[1])), key("int x = 42;", c, fmt(linenos="table"))}
    assert len(others) == 5 and base not in others
    odd = fmt()
    odd.options["style"] = object()
    assert key("int x = 42;", c, odd) is None


def test_the_installed_themes_files_are_listed_once_and_the_docs_own_file_still_wins(root, monkeypatch):
    """The theme's files are listed once, and kept (its ~14,000 icons are filtered one by one
    on each listing); each build still gets the same files as MkDocs' own listing, and a file
    of the docs at a theme file's path still replaces it."""
    import logging
    from mkdocs.config import load_config
    from mkdocs.structure.files import File, Files
    from macros import rebuilds
    logging.disable(logging.WARNING)
    try:
        config = load_config(str(root / "mkdocs.yml"), site_dir=str(root / "site-unused"))
    finally:
        logging.disable(logging.NOTSET)
    env = config.theme.get_env()
    original = Files.add_files_from_theme
    original = getattr(original, "__wrapped__", original)     # MkDocs' own, if the glue's is in
    mkdocs_own = Files([])
    original(mkdocs_own, env, config)
    assert len(mkdocs_own) > 10
    listings = []
    monkeypatch.setattr(rebuilds, "_THEME_FILES", {})
    monkeypatch.setattr(rebuilds, "COMPILED", rebuilds._Compiled())
    monkeypatch.setattr(Files, "add_files_from_theme", original)
    real_list = type(env).list_templates
    monkeypatch.setattr(type(env), "list_templates",
                        lambda self, *a, **k: listings.append(1) or real_list(self, *a, **k))
    rebuilds.reuse_theme_files()
    first, second = Files([]), Files([])
    first.add_files_from_theme(env, config)
    ours = File(next(iter(mkdocs_own)).src_uri, str(root / "docs"), config.site_dir, config.use_directory_urls)
    second.append(ours)
    second.add_files_from_theme(env, config)
    assert len(listings) == 1
    assert [(f.src_uri, f.src_dir, f.dest_uri) for f in first] == [(f.src_uri, f.src_dir, f.dest_uri) for f in mkdocs_own]
    assert second.get_file_from_path(ours.src_uri) is ours and len(second) == len(mkdocs_own)
    # A new process: nothing in memory, the list read from the kept store, not listed again.
    rebuilds._THEME_FILES.clear()
    rebuilds.COMPILED.store = {k: v for k, v in rebuilds.COMPILED.store.items() if k.startswith("theme-")}
    third = Files([])
    third.add_files_from_theme(env, config)
    assert len(listings) == 1 and [f.src_uri for f in third] == [f.src_uri for f in first]


def test_kept_templates_unused_for_a_month_are_swept(tmp_path):
    """Every edit leaves a page's old compiled code and search entries behind: entries that no
    build read or wrote for UNUSED_DAYS are removed, once per process; reading one keeps it."""
    import time
    from macros.rebuilds import _Compiled
    store = _Compiled()
    store.folder = tmp_path / "templates"
    store.put("page-old", b"old")
    store.put("page-read", b"read")
    store.put("page-new", b"new")
    month_ago = time.time() - (_Compiled.UNUSED_DAYS + 1) * 86400
    for key in ("page-old", "page-read"):
        os.utime(store.folder / key, (month_ago, month_ago))
    fresh = _Compiled()
    fresh.folder = store.folder
    assert fresh.get("page-read") == b"read"          # a build read it: used
    assert fresh.sweep() == 1
    assert sorted(p.name for p in store.folder.iterdir()) == ["page-new", "page-read"]
    assert fresh.sweep() == 0                          # once per process and folder


RENDER_TWICE = """
import logging, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO)
from mkdocs.commands.build import build
from mkdocs.config import load_config
import mkdocs.structure.pages as pages
sys.path.insert(0, sys.argv[1])
from macros import rebuilds
calls = []
converted = pages.Page.render
def counted(self, config, files):
    calls.append(self.file.src_uri)
    return converted(self, config, files)
pages.Page.render = counted
rebuilds.reuse_page_renders()
def once(site):
    calls.clear()
    build(load_config(site_dir=site))
    print(site, sorted(calls))
once("one")
once("two")                                            # nothing changed
Path("snip.txt").write_text("the listing, edited\\n")  # a file a snippet includes
once("three")
"""


def test_a_rebuild_in_the_same_process_converts_only_what_may_have_changed(root, tmp_path):
    """Under `mkdocs serve` a page whose Markdown, included files and settings are unchanged
    is not converted again; a page that warned is converted (and warns) every time; a page
    whose snippet file was edited is converted again and shows the edit."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nmarkdown_extensions:\n  - pymdownx.snippets:\n      base_path: ['.']\n")
    (tmp_path / "snip.txt").write_text("the listing\n")
    (tmp_path / "docs" / "index.md").write_text('# Home\n\n```\n--8<-- "snip.txt"\n```\n')
    (tmp_path / "docs" / "warns.md").write_text("# Warns\n\nA [link](missing.md) to nothing.\n")
    out = prewarmed.run(["-c", RENDER_TWICE, str(root)], cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines == {"one": "['index.md', 'warns.md']", "two": "['warns.md']", "three": "['index.md', 'warns.md']"}
    assert out.stderr.count("missing.md") >= 3                     # warned on each build
    assert "the listing" in (tmp_path / "two" / "index.html").read_text()
    assert "the listing, edited" in (tmp_path / "three" / "index.html").read_text()


SWAP_RESULTS_IN_PROCESS = """
import os, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config
first, second, a, b = sys.argv[1:5]
os.environ["CHAPTER_RESULTS"] = a
build(load_config(site_dir=first))
os.environ["CHAPTER_RESULTS"] = b        # other figures under the same page text
build(load_config(site_dir=second))
"""


def test_a_rebuild_in_the_same_process_with_other_figures_writes_them(root, tmp_path):
    """The pages' text is the same but a figure is not: every page whose macros' HTML changed
    is converted again (a page here differs only inside one macro's HTML), and the site is
    byte for byte a fresh build's."""
    from conftest import copy_project
    proj = copy_project(tmp_path / "p")
    (proj / "docs" / "one-figure.md").write_text("# One figure\n\nRAM / L1: {{ fig('latency.ram_over_l1') }}.\n")
    a = root / "tests/corpus/fake-amd-epyc.quick.json"
    doc = json.loads(a.read_text())      # the same machine, one figure measured twice as large
    ratio = doc["experiments"]["latency"]["facts"]["ram_over_l1"]
    ratio.update({k: 2 * ratio[k] for k in ("value", "low", "high")})
    b = tmp_path / "other" / a.name      # the same name: the note atop each page is the same
    b.parent.mkdir()
    b.write_text(json.dumps(doc))
    shutil.copy(a.with_name(a.name.replace(".json", ".pyperf.json")), b.parent)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764979200"}
    env.pop("CHAPTER_RESULTS", None)
    out = prewarmed.run(["-c", SWAP_RESULTS_IN_PROCESS, str(tmp_path / "a"), str(tmp_path / "b"),
                         str(a), str(b)], cwd=proj, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    fresh = prewarmed.run(["-m", "mkdocs", "build", "-q", "-d", str(tmp_path / "fresh")], cwd=proj,
                          env={**env, "CHAPTER_RESULTS": str(b)}, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    again, new = tmp_path / "b", tmp_path / "fresh"
    files = sorted(p.relative_to(new) for p in new.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert [str(f) for f in files if (again / f).read_bytes() != (new / f).read_bytes()] == []
    one = "one-figure/index.html"
    assert (tmp_path / "a" / one).read_bytes() != (again / one).read_bytes()
