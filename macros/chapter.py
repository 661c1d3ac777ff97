"""The glue between the engine's results and the pages: lookups, verdicts, and the macros.

It loads, formats and renders; it never times anything. Errors in a page (an unknown figure
or claim) raise PageError naming the page and the name, which fails the build.
"""
from __future__ import annotations

import difflib
import logging
import sys

from . import fmt, render
from .measure import ledger
from .measure.ledger import Claim, Verdict
from .measure.config import NOISY_REL_IQR
from .measure.results import NotMeasured, Results, UnknownName

log = logging.getLogger("mkdocs.plugins.chapter")

LEDGER_FILE = "claims.toml"


class PageError(Exception):
    pass


def template_line() -> int | None:
    """The line of the page being rendered that called the macro (Jinja keeps a map of them)."""
    frame = sys._getframe(1)
    while frame is not None:
        tmpl = frame.f_globals.get("__jinja_template__")
        if tmpl is not None:
            try:
                return tmpl.get_corresponding_lineno(frame.f_lineno)
            except Exception:
                return None
        frame = frame.f_back
    return None


class Chapter:
    def __init__(self, results: Results, claims: dict[str, Claim]) -> None:
        self.results = results
        self.doc = results.doc
        self.claims = claims
        self.verdicts: dict[str, Verdict] = {cid: ledger.evaluate(c, results) for cid, c in claims.items()}
        self.page = "?"          # set by the glue before each page renders
        self.warned: set[tuple[str, str]] = set()

    # -------------------------------------------------------------- provenance

    @property
    def prov(self) -> dict:
        return self.doc.get("provenance", {})

    @property
    def scale(self) -> str:
        return self.prov.get("scale", {}).get("name", "?")

    def provenance_line(self, experiment: str | None = None) -> str:
        p = self.prov
        m = p.get("machine", {})
        exp = self.results.experiment(experiment) if experiment else {}
        # A cached result names the compiler it was measured with (this build may have none).
        compiler = (exp.get("toolchain") or {}).get("compiler") or p.get("compiler", "?")
        parts = [f"Measured on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, Linux {m.get('kernel', '?')})",
                 f"Python {p.get('python', {}).get('version', '?')}", compiler]
        if experiment:
            flags = p.get("cflags", {}).get(experiment)
            if flags:
                parts.append("flags " + " ".join(flags))
            if exp.get("measured_at"):
                parts.append(f"measured {exp['measured_at']}" + (" (stale)" if exp.get("stale") else ""))
            if exp.get("stale_reason"):
                parts.append(exp["stale_reason"])
        parts.append(f"scale {self.scale}")
        return "; ".join(parts)

    # -------------------------------------------------------------- lookups

    def where(self) -> str:
        line = template_line()
        return f"page {self.page}" + (f", line {line}" if line else "")

    def _fact(self, ref: str) -> dict | NotMeasured:
        try:
            fact = self.results.fact(ref)
        except UnknownName as exc:
            raise PageError(f"{self.where()}: {exc}") from None
        if isinstance(fact, NotMeasured):
            self._warn_unmeasured(fact)
        return fact

    def _warn_unmeasured(self, missing: NotMeasured) -> None:
        exp_name = missing.ref.partition(".")[0]
        if (self.page, exp_name) not in self.warned:
            self.warned.add((self.page, exp_name))
            log.warning(f"{self.page}: figure {missing.ref} not measured: {missing.reason}")

    def claim_obj(self, cid: str) -> Claim:
        if cid not in self.claims:
            near = difflib.get_close_matches(cid, list(self.claims), n=3, cutoff=0.5)
            raise PageError(f"{self.where()}: unknown claim {cid!r}"
                            + (f"; nearest: {', '.join(near)}" if near else "")
                            + f" (claims are listed in {LEDGER_FILE})")
        return self.claims[cid]

    def evidence_text(self, ref: str) -> str | NotMeasured:
        try:
            text = self.results.evidence(ref)
        except UnknownName as exc:
            raise PageError(f"{self.where()}: {exc}") from None
        if isinstance(text, NotMeasured):
            self._warn_unmeasured(text)
        return text

    # -------------------------------------------------------------- macros

    def fig(self, ref: str, part: str = "value") -> str:
        """A measured figure inline: part = value | spread | both | raw."""
        if part not in ("value", "spread", "both", "raw"):
            raise PageError(f"{self.where()}: fig({ref!r}, {part!r}): the part must be one of "
                            f"value, spread, both, raw")
        fact = self._fact(ref)
        if isinstance(fact, NotMeasured):
            return render.not_measured(fact.reason)
        if part == "raw":
            return render.esc(fact["value"])
        text = {"value": fmt.value, "spread": fmt.spread, "both": fmt.with_spread}[part](fact)
        return (render.figure_span(text, self.provenance_line(ref.partition(".")[0]))
                + self._noisy(ref, fact, repeat_spread=part != "both"))

    def _noisy(self, ref: str, fact: dict, html: bool = True, repeat_spread: bool = True) -> str:
        """A timing marked noisy when measured: a visible marker with its spread, and a warning."""
        if not fact.get("noisy"):
            return ""
        limit = self.doc.get("noisy_rel_iqr", NOISY_REL_IQR)
        spread = fmt.spread(fact) or f"spread {fact.get('rel_spread', 0):.0%} of the value"
        # Said the way the spread is shown: an interval as ± its half-width, a timing's IQR as
        # ±half of it, an unpaired ratio's as its quartile bounds.
        allowed = (f"95% CI ±{fmt.sig(limit * 100, 2)}%" if fmt.has_interval(fact)
                   else f"IQR ±{fmt.sig(limit * 50, 2)}%" if fact.get("spread")
                   else f"quartile bounds {limit:.0%} of the value apart")
        if (self.page, ref) not in self.warned:
            self.warned.add((self.page, ref))
            log.warning(f"{self.page}: figure {ref} is noisy ({spread}; more than {allowed}): "
                        f"measure again on a quieter machine")
        if not html:
            return f" — noisy ({spread})" if fmt.spread(fact) == "" else " — noisy"
        title = f"spread more than {allowed}: this figure is not reliable"
        label = f"noisy: {spread}" if repeat_spread else "noisy"
        return f' <span class="noisy" title="{render.esc(title)}">{render.esc(label)}</span>'

    def raw(self, ref: str):
        """The measured value itself, for conditions in a page; NotMeasured (falsy, refuses
        arithmetic and comparison) when there is none: test measured(ref) first."""
        fact = self._fact(ref)
        return fact if isinstance(fact, NotMeasured) else fact["value"]

    def measured(self, ref: str) -> bool:
        """Whether a declared fact has a value on this build."""
        return not isinstance(self._fact(ref), NotMeasured)

    def book(self, cid: str) -> str:
        return render.figure_span(self.claim_obj(cid).book, "the book's figure (claims ledger)", "book")

    def verdict(self, cid: str) -> str:
        self.claim_obj(cid)
        return render.badge(self.verdicts[cid].status, f"#claim-{cid}")

    def output(self, ref: str, lang: str | None = None) -> str:
        text = self.evidence_text(ref)
        if isinstance(text, NotMeasured):
            return render.not_measured(text.reason)
        return f'<div class="program-output" title="{render.esc(self.provenance_line(ref.partition(".")[0]))}">' \
               f'{render.pre(text, lang)}</div>'

    def claim(self, cid: str) -> str:
        c = self.claim_obj(cid)
        v = self.verdicts[cid]
        if v.status == "not-measured":
            log.warning(f"{self.page}: claim {cid} not measured: {v.reason}")
        label = lambda ref: c.labels.get(ref) or self.fact_label(ref)  # noqa: E731
        shown = []
        for ref in c.show:
            fact = self._fact(ref)
            if isinstance(fact, NotMeasured):
                shown.append((label(ref), "", fact.reason))
            else:
                shown.append((label(ref), fmt.with_spread(fact) + self._noisy(ref, fact, html=False), ""))
        evidence = []
        for item in c.evidence:
            text = self.evidence_text(item["ref"])
            if not isinstance(text, NotMeasured):
                evidence.append((item.get("label", item["ref"]), text, item.get("lang")))
        checks = []
        for r in v.results:
            fact = self.results.fact(r.check.fact)
            other = self.results.fact(r.check.than) if r.check.than else None
            measured = not isinstance(fact, NotMeasured)
            rule = fmt.rule(r.check, fact.get("unit") if measured else None,
                            f"{label(r.check.than)} = {fmt.value(other)}" if other else "")
            checks.append(render.check_item(label(r.check.fact), r.passed, r.reason,
                                            fmt.value(fact) if measured else "", rule, r.borderline))
        exp_name = c.show[0].partition(".")[0] if c.show else None
        return render.claim_box(c, v, shown, evidence, self.provenance_line(exp_name), checks)

    def fact_label(self, ref: str) -> str:
        return ref.partition(".")[2].replace("_", " ")

    def claims_table(self) -> str:
        rows = []
        for cid, c in self.claims.items():
            v = self.verdicts[cid]
            page = SECTION_PAGES.get(c.section, "")
            shown = []
            for ref in c.show:
                fact = self.results.fact(ref)
                text = "not measured" if isinstance(fact, NotMeasured) else fmt.value(fact)
                label = c.labels.get(ref)
                shown.append(f"<li>{render.esc(label)}: <strong>{render.esc(text)}</strong></li>" if label
                             else f"<li><strong>{render.esc(text)}</strong></li>")
            machine = (f"<ul class=\"shown\">{''.join(shown)}</ul>" if shown
                       else render.not_measured(v.reason))
            rows.append(
                f"<tr><td>{c.section}</td><td><a href=\"../{page}#claim-{render.esc(cid)}\">{render.esc(cid)}</a></td>"
                f"<td>{render.esc(c.statement)}</td><td>{render.esc(c.book)}</td>"
                f"<td>{machine}</td><td>{render.badge(v.status)}</td></tr>")
        return ('<table class="claims-table"><thead><tr><th>§</th><th>claim</th><th>the book says</th>'
                '<th>book</th><th>this machine</th><th>verdict</th></tr></thead><tbody>'
                + "".join(rows) + "</tbody></table>")

    def verdict_counts(self) -> dict[str, int]:
        counts = {k: 0 for k in render.BADGE}
        for v in self.verdicts.values():
            counts[v.status] += 1
        return counts


# Where each section's claims are written up (relative to the site root, directory URLs).
SECTION_PAGES = {1: "chapter/one-line/", 2: "chapter/stack-and-heap/", 3: "chapter/objects/",
                 4: "chapter/benchmark/", 5: "chapter/cache/", 6: "chapter/costs/"}


def _cache_text(caches: list[dict]) -> str:
    from .fmt import nbytes
    return ", ".join(f"L{c['level']} {c['type'].lower()} {nbytes(c['size'])}" for c in caches) or "unknown"


def provenance_summary(ch: Chapter) -> str:
    p = ch.prov
    m = p.get("machine", {})
    py = p.get("python", {})
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, caches {_cache_text(m.get('caches', []))}; "
            f"Linux {m.get('kernel', '?')}; {p.get('compiler', '?')}; "
            f"{py.get('implementation', 'Python')} {py.get('version', '?')}; measured at scale "
            f"**{ch.scale}**, {p.get('date', '?')}, from commit `{p.get('git_commit') or 'unknown'}`.")


def provenance_table(ch: Chapter) -> str:
    from .fmt import nbytes
    p = ch.prov
    m = p.get("machine", {})
    py = p.get("python", {})
    rows = [
        ("CPU", m.get("cpu")), ("cores", m.get("cores")), ("caches", _cache_text(m.get("caches", []))),
        ("cache line", ", ".join(sorted({nbytes(c["line"]) for c in m.get("caches", [])}))),
        ("memory", nbytes(m.get("memory_bytes", 0))), ("page size", nbytes(m.get("page_size", 0))),
        ("virtualised", m.get("virtualised") or "no"), ("kernel", f"Linux {m.get('kernel')} ({m.get('arch')})"),
        ("C compiler", p.get("compiler")),
        ("compiler flags", "; ".join(f"{k}: {' '.join(v)}" for k, v in p.get("cflags", {}).items())),
        ("Python", f"{py.get('implementation')} {py.get('version')} ({py.get('build')}, {py.get('compiler')})"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in p.get("libraries", {}).items() if v)),
        ("measured", p.get("date")), ("git commit", p.get("git_commit") or "unknown"),
        ("scale", ch.scale), ("machine id", p.get("machine_id")),
    ]
    body = "".join(f"<tr><th scope=\"row\">{render.esc(k)}</th><td>{render.esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="provenance-table"><tbody>{body}</tbody></table>'
