"""Every page rendered against every results file of the corpus (tests/corpus/*.json, real
results measured on differently configured machines; tests/corpus/README.md says how each
was made), read the way a reader reads it.

The rules checked are the ones a reader can state: no Python repr or empty figure in the
text, no internal identifier in prose, every verdict shown is the ledger's verdict on that
file, every link to a claim (or to anything else in the site) lands on something.
"""
from __future__ import annotations

import functools
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

import prewarmed
from conftest import ROOT, declared
from macros import fmt
from macros.measure import ledger
from macros.measure.results import Results, load_document

pytestmark = pytest.mark.slow

CORPUS = sorted((ROOT / "tests" / "corpus").glob("*.json"))
CORPUS = [p for p in CORPUS if not p.name.endswith(".pyperf.json")]

# Text a reader must never see: Python's own reprs and the marks of a value that was missing.
REPRS = ("<built-in", " object at 0x", "NotMeasured(", "<function ", "<bound method", "{'", "[{")
SKIP_TEXT = {"pre", "script", "style", "svg"}   # verbatim program text, drawings
CODE = {"code", "kbd"}


class Page(HTMLParser):
    """What a reader sees in one page: prose text (outside code), ids, links, verdicts shown."""

    VOID = {"br", "img", "hr", "meta", "link", "input", "source", "wbr", "col", "area", "base"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.prose: list[str] = []          # text outside blocks of program text
        self.plain: list[str] = []          # the same without inline code either
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.code_spans: list[str] = []     # inline <code> outside <pre>
        self.figure_code: list[str] = []    # inline code a macro made from a fact (it has a title)
        self.figures: list[str] = []        # text of each measured figure span
        self.claim_boxes: dict[str, str] = {}       # claim id -> verdict class shown
        self.badges: list[tuple[str, str]] = []     # (href of the badge's link, verdict shown)
        self.rows: list[tuple[list[str], list[str]]] = []   # table rows: (hrefs, verdicts)
        self.titles: list[str] = []
        self._code: list[str] | None = None
        self._code_from_fact = False
        self._figure: list[str] | None = None

    def _inside(self, tags: set[str]) -> bool:
        return any(t in tags for t, _ in self.stack)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("title"):
            self.titles.append(a["title"])
        cls = a.get("class", "").split()
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "tr":
            self.rows.append(([], []))
        if tag == "a" and a.get("href") and self.stack_has_row():
            self.rows[-1][0].append(a["href"])
        m = next((c for c in cls if c.startswith("claim--")), None)
        if tag == "div" and "claim" in cls and m and a.get("id", "").startswith("claim-"):
            self.claim_boxes[a["id"][len("claim-"):]] = m[len("claim--"):]
        v = next((c for c in cls if c.startswith("verdict--")), None)
        # Other machines' verdicts (machines/) are theirs, not this file's.
        if v and not self._in_class({"ct-other", "claim-machines"}):
            status = v[len("verdict--"):]
            link = next((at.get("href", "") for t, at in reversed(self.stack) if t == "a"), "")
            self.badges.append((link, status))
            if self.stack_has_row():
                self.rows[-1][1].append(status)
        if tag in self.VOID:
            return
        if tag == "code" and not self._inside({"pre"}):
            self._code = []
            self._code_from_fact = bool(a.get("title"))
        if tag == "span" and "measured" in cls:
            self._figure = []
        self.stack.append((tag, a))

    def _in_class(self, names: set[str]) -> bool:
        return any(names & set(at.get("class", "").split()) for _, at in self.stack)

    def stack_has_row(self) -> bool:
        return bool(self.rows) and any(t == "tr" for t, _ in self.stack)

    def handle_endtag(self, tag):
        if tag == "code" and self._code is not None:
            self.code_spans.append("".join(self._code))
            if self._code_from_fact:
                self.figure_code.append("".join(self._code))
            self._code = None
        if tag == "span" and self._figure is not None and self.stack and self.stack[-1][0] == "span" \
                and "measured" in self.stack[-1][1].get("class", "").split():
            self.figures.append("".join(self._figure))
            self._figure = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._code is not None:
            self._code.append(data)
        if self._figure is not None:
            self._figure.append(data)
        if not self._inside(SKIP_TEXT):
            self.prose.append(data)
            if not self._inside(CODE):
                self.plain.append(data)

    @property
    def text(self) -> str:
        """What a reader reads, inline code included."""
        return re.sub(r"\s+", " ", "".join(self.prose))

    @property
    def words(self) -> str:
        """The prose without any code: where internal names must not appear."""
        return re.sub(r"\s+", " ", " ".join(self.plain))


def build(results: Path, site: Path) -> str:
    env = {**os.environ, "CHAPTER_RESULTS": str(results)}
    env.pop("CHAPTER_MEASURE", None)
    proc = prewarmed.run(["-m", "mkdocs", "build", "-d", str(site)], cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, f"build against {results.name} failed:\n{proc.stderr[-4000:]}"
    return proc.stderr


@pytest.fixture(scope="module", params=CORPUS, ids=[p.name.removesuffix(".json") for p in CORPUS])
def rendered(request, tmp_path_factory):
    results = request.param
    site = tmp_path_factory.mktemp(results.stem.replace(".", "-")) / "site"
    log = build(results, site)
    pages = {}
    for path in site.rglob("*.html"):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(("assets/", "search/")) or rel == "404.html":
            continue
        p = Page()
        p.feed(path.read_text())
        pages[rel] = p
    doc = load_document(results)
    return results, site, pages, Results(doc, declared()), log


# Fact names whose words are also plain English the pages use ("link them into a single cycle"),
# or a tab's label ("C" beside "Output on this machine").
ENGLISH = {"single cycle", "c output", "grows down", "page size"}


def listing_names() -> set[str]:
    """Identifiers of the listings (csrc/, pysrc/): a reader meets them in the programs shown,
    so a page may name them ("heap_churn"); they are not internal names."""
    words = set()
    for path in list((ROOT / "csrc").glob("*.[ch]")) + list((ROOT / "pysrc").glob("*.py")):
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text()))
    return words


def internal_names() -> set[str]:
    """Fact and evidence names as a reader might meet them by mistake: "c_sizeof_int",
    "c sizeof int", "cside.c_sizeof_int". Single words ("n", "repeats") are English."""
    names = set()
    listed = listing_names()
    probe = Results({"experiments": {}}, declared())
    for ref in probe.fact_names() + probe.evidence_names():
        names.add(ref)
        name = ref.partition(".")[2]
        if "_" in name and name not in listed:
            names.add(name)
            if name.replace("_", " ").lower() not in ENGLISH:
                names.add(name.replace("_", " "))
    return names


@functools.lru_cache(maxsize=None)
def internal_names_pattern() -> re.Pattern:
    """Any internal name, as a word of its own: one pattern, the longest names first, so that a
    page is read once, not once per name."""
    names = sorted({n.lower() for n in internal_names()}, key=lambda n: (-len(n), n))
    return re.compile(r"(?<![\w.-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w])")


def test_corpus_is_there():
    assert len(CORPUS) >= 5, "tests/corpus holds fewer than five results files"


def test_no_repr_or_empty_figure(rendered):
    results, _, pages, _, _ = rendered
    problems = []
    for rel, p in pages.items():
        text = p.text
        for mark in REPRS:
            if mark in text:
                problems.append(f"{rel}: {mark!r} in the text: {_around(text, mark)}")
            problems += [f"{rel}: {mark!r} in a tooltip: {t[:200]!r}" for t in p.titles if mark in t]
        problems += [f"{rel}: a figure reads {f!r}" for f in p.figures
                     if f.strip() in ("", "None", "True", "False", "[]", "{}")]
        problems += [f"{rel}: an empty code span" for c in p.code_spans if not c.strip()]
        problems += [f"{rel}: a measured code span holds {c!r}" for c in p.figure_code
                     if c.strip() in ("None", "[]", "{}") or c.startswith("not measured")]
        # "( elements)", "()" after a space: a figure that printed nothing ("sum()" is code).
        for m in re.finditer(r"\(\s+\w|(?<![\w.>\]])\(\s*\)", text):
            problems.append(f"{rel}: empty parentheses: {_around(text, m.group(0), at=m.start())}")
        for m in re.finditer(r"= (None|True|False)\b|\b(None|True|False) (ns|B|bytes|instructions?|s)\b", text):
            problems.append(f"{rel}: a Python value standing as a figure: {_around(text, m.group(0), at=m.start())}")
    _report(results, problems)


def test_numbers_agree_with_their_nouns(rendered):
    results, _, pages, _, _ = rendered
    problems = []
    for rel, p in pages.items():
        for m in re.finditer(r"(?<![\d.,×])\b1 (were|are|have|hold|differ|do|claims|experiments|values|repeats)\b",
                             p.text):
            problems.append(f"{rel}: {_around(p.text, m.group(0), at=m.start())}")
    _report(results, problems)


def test_no_internal_identifiers_in_prose(rendered):
    results, _, pages, _, _ = rendered
    any_name = internal_names_pattern()
    problems = []
    for rel, p in pages.items():
        low = p.words.lower()
        for m in any_name.finditer(low):
            problems.append(f"{rel}: internal name {m.group(0)!r}: {_around(low, m.group(0), at=m.start())}")
        for m in re.finditer(r"rule: ", low):
            problems.append(f"{rel}: {_around(low, m.group(0), at=m.start())}")
        # An experiment's name where a reason is given ("not measured: sum (csrc/...): ...").
        for m in re.finditer(r"not measured: ([a-z_]+)\b", p.words):
            if m.group(1) in declared():
                problems.append(f"{rel}: experiment {m.group(1)!r} named: {_around(p.words, m.group(0), at=m.start())}")
    _report(results, problems)


def test_every_verdict_shown_is_the_ledgers(rendered):
    results, _, pages, facts, _ = rendered
    claims = ledger.load(ROOT / "claims.toml")
    verdicts = {cid: ledger.evaluate(c, facts).status for cid, c in claims.items()}
    boxes: dict[str, str] = {}
    problems = []
    for rel, p in pages.items():
        for cid, shown in p.claim_boxes.items():
            if cid in boxes:
                problems.append(f"claim {cid} has a box on {boxes[cid]} and on {rel}")
            boxes[cid] = rel
            if shown != verdicts[cid]:
                problems.append(f"{rel}: claim {cid} shows {shown}, the ledger gives {verdicts[cid]}")
        for href, shown in p.badges:
            m = re.search(r"#claim-([\w-]+)$", href)
            if m and shown != verdicts[m.group(1)]:
                problems.append(f"{rel}: the badge of {m.group(1)} shows {shown}, the ledger gives {verdicts[m.group(1)]}")
        for hrefs, shown in p.rows:
            cids = {m.group(1) for h in hrefs if (m := re.search(r"#claim-([\w-]+)$", h))}
            if len(cids) == 1 and shown and set(shown) != {verdicts[next(iter(cids))]}:
                problems.append(f"{rel}: the row of {next(iter(cids))} shows {shown}")
    problems += [f"claim {cid} has no box on any page" for cid in sorted(set(claims) - set(boxes))]
    _report(results, problems)


def test_every_link_inside_the_site_lands(rendered):
    results, site, pages, _, _ = rendered
    problems = []
    for rel, p in pages.items():
        for href in p.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            url, frag = urldefrag(href)
            target = rel if not url else _resolve("/" + rel, url)
            path = site / target
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                problems.append(f"{rel}: link {href!r} leads nowhere")
                continue
            key = path.relative_to(site).as_posix()
            if frag and key in pages and frag not in pages[key].ids:
                problems.append(f"{rel}: link {href!r}: no #{frag} on {key}")
    _report(results, sorted(set(problems)))


def test_banner_says_whose_results_these_are(rendered):
    results, _, pages, facts, _ = rendered
    cpu = facts.prov["machine"]["cpu"]
    problems = []
    for rel, p in pages.items():
        if rel.startswith("chapter/"):
            if cpu not in p.text:
                problems.append(f"{rel}: the banner does not name the machine ({cpu})")
            if results.name not in p.text:
                problems.append(f"{rel}: the banner does not name the file {results.name}")
    _report(results, problems)


def _report(results: Path, problems: list[str]) -> None:
    assert not problems, f"{results.name}: {len(problems)} problems:\n" + "\n".join(problems[:40])


def _resolve(base: str, url: str) -> str:
    from posixpath import dirname, normpath, join
    return normpath(join(dirname(base), url)).lstrip("/")


def _around(text: str, mark: str, width: int = 90, at: int | None = None) -> str:
    i = text.find(mark) if at is None else at
    return repr(text[max(0, i - width): i + len(mark) + width]) if i >= 0 else repr(mark)


def test_verdicts_follow_the_rules_the_method_page_states(rendered):
    """The method page's rules, applied to each claim's checks, give the verdict shown; the
    claims it lists as reading a failure as "differs" are the ledger's."""
    results, _, pages, facts, _ = rendered
    claims = ledger.load(ROOT / "claims.toml")
    listed = {c.statement for c in claims.values() if c.statement in pages["method/index.html"].text
              and c.fail == "differs"}
    problems = [f"method page does not list {c.statement!r}" for c in claims.values()
                if c.fail == "differs" and c.statement not in listed]
    for cid, c in claims.items():
        v = ledger.evaluate(c, facts)
        outcome = [r.passed for r in v.results]
        edge = [bool(r.borderline) for r in v.results]
        if None in outcome:
            said = "not-measured"
        elif any(edge) and all(p or e for p, e in zip(outcome, edge)):
            said = "borderline"
        elif all(outcome):
            said = "holds"
        elif any(outcome):
            said = "differs"
        else:
            said = "differs" if c.statement in listed else "does-not-hold"
        if said != v.status:
            problems.append(f"claim {cid}: the method page's rules give {said}, the box shows {v.status}")
    _report(results, problems)


def test_a_borderline_verdict_shows_both_numbers_and_the_spread(rendered):
    results, _, pages, facts, _ = rendered
    claims = ledger.load(ROOT / "claims.toml")
    box_page = {cid: rel for rel, p in pages.items() for cid in p.claim_boxes}
    problems = []
    for cid, c in claims.items():
        v = ledger.evaluate(c, facts)
        if v.status != "borderline":
            continue
        text = pages[box_page[cid]].text
        for r in v.results:
            if not r.borderline:
                continue
            fact = facts.fact(r.check.fact)
            for number in (fmt.value(fact), fmt.value({"value": r.bound, "unit": fact.get("unit")})):
                if number not in text:
                    problems.append(f"claim {cid}: {number} not shown beside its borderline verdict")
            if r.interval and fmt.interval(fact, *r.interval) not in text:
                problems.append(f"claim {cid}: the interval {fmt.interval(fact, *r.interval)} not shown")
    _report(results, problems)
