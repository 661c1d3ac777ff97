"""The glue between the engine's results and the pages: lookups, verdicts, and the macros.

It loads, formats and renders; it never times anything. Errors in a page (an unknown figure
or claim) raise PageError naming the page and the name, which fails the build.
"""
from __future__ import annotations

import difflib
import logging
import re
import sys

from . import fmt, render
from .fmt import compiler_label, compiler_name
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
        self.given_results = None    # the results file rendered instead of measuring (CHAPTER_RESULTS)

    # -------------------------------------------------------------- provenance

    @property
    def prov(self) -> dict:
        return self.doc.get("provenance", {})

    @property
    def scale(self) -> str:
        return self.prov.get("scale", {}).get("name") or "unknown"

    def provenance_line(self, experiment: str | None = None) -> str:
        """Where a figure was measured, in words (a tooltip and the foot of each claim box)."""
        exp = self.results.experiment(experiment) if experiment else {}
        parts = [f"Measured on {self.prov_text('machine.cpu')} ({self.prov_text('machine.cores')} cores, "
                 f"Linux {self.prov_text('machine.kernel')})", f"Python {self.prov_text('python.version')}"]
        compiler = self.compiler_of(experiment) if experiment else None
        if compiler:
            parts.append(compiler)
        if experiment:
            flags = self.prov.get("cflags", {}).get(experiment)
            if flags:
                parts.append("flags " + " ".join(flags))
            if exp.get("measured_at"):
                parts.append(f"measured {exp['measured_at']}" + (" (stale)" if exp.get("stale") else ""))
            if exp.get("stale_reason"):
                parts.append(exp["stale_reason"])
        parts.append(f"scale {self.scale}")
        return "; ".join(parts)

    # Provenance a page may print: path in the results' provenance -> how to say it.
    PROV_FIELDS = {
        "machine.cpu": "text", "machine.cores": "count", "machine.kernel": "text", "machine.arch": "text",
        "machine.virtualised": "flag", "machine.page_size": "bytes", "machine.memory_bytes": "bytes",
        "machine.system_root": "text", "compiler": "text", "python.version": "text",
        "python.implementation": "text", "scale.name": "text", "scale.first_rounds": "count",
        "scale.warmups": "count", "scale.repeats": "count",
        "scale.min_time": "seconds", "scale.n_sum": "count", "date": "text", "git_commit": "text",
        "machine_id": "text",
    }

    def prov_value(self, path: str):
        """A provenance value by its dotted path, None when the results do not say."""
        if path not in self.PROV_FIELDS:
            near = difflib.get_close_matches(path, list(self.PROV_FIELDS), n=3, cutoff=0.5)
            raise PageError(f"{self.where()}: unknown provenance {path!r}"
                            + (f"; nearest: {', '.join(near)}" if near else "")
                            + f" (known: {', '.join(self.PROV_FIELDS)})")
        node = self.prov
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node

    def prov_text(self, path: str) -> str:
        """prov("machine.cpu"), prov("scale.warmups"): a provenance value in words; "unknown"
        when the results do not say (never a Python repr)."""
        value = self.prov_value(path)
        kind = self.PROV_FIELDS[path]
        if kind == "flag":
            return "yes" if value and value != "no" else ("no" if value in (False, "no") else "unknown")
        if value is None or value == "" or isinstance(value, (dict, list)):
            return "unknown"
        if kind == "bytes" and isinstance(value, int):
            return fmt.nbytes(value)
        if kind == "seconds" and isinstance(value, (int, float)):
            return fmt.seconds(value)
        if kind == "count" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return fmt.value({"value": int(value)})
        return str(value)

    def machine(self, key: str) -> str:
        """machine("cpu"), machine("virtualised"): shorthand for prov("machine.<key>")."""
        return self.prov_text(f"machine.{key}")

    def compiler_of(self, experiment: str | None = None) -> str | None:
        """The C compiler an experiment was built with (a cached result names its own), else
        the build's; None when neither says."""
        if experiment:
            tc = self.results.experiment(experiment).get("toolchain") or {}
            if "compiler" in tc:       # recorded: the compiler it used, or None (it compiles nothing)
                return tc["compiler"] if compiler_name(tc["compiler"])[0] else None
        got = self.prov.get("compiler")
        return got if got and got not in ("none", "unknown") else None

    def compiler(self, experiment: str | None = None) -> str:
        """compiler("cadd"): the compiler's name as prose says it ("gcc", "clang"), from the
        results; "the compiler" when they do not say."""
        return compiler_name(self.compiler_of(experiment))[0] or "the compiler"

    def levels_disagree(self, kind: str, cache: str | None = None) -> bool:
        """Whether the levels found in the latency curve disagree with the reported caches in
        this way ("past", "early", "again", "none", "slow"), for a cache or "last"."""
        from . import levels
        if kind not in ("past", "early", "again", "none", "slow", "memory"):
            raise PageError(f"{self.where()}: levels_disagree({kind!r}): the kind must be one of "
                            f"past, early, again, none, slow, memory")
        return levels.disagrees(self.results, kind, cache)

    def timings_available(self) -> bool:
        """Whether this build has a pyperf file of the timings to offer for download."""
        suite = getattr(self, "suite_file", None)
        return bool(suite and suite.exists())

    def staircase_levels(self) -> str:
        """The levels found in the latency curve beside the reported caches, in words."""
        from . import levels
        return levels.reading_html(self.results)

    def noisy_limit(self) -> str:
        """The noisy threshold as a percentage, as the results recorded it."""
        limit = self.doc.get("noisy_rel_iqr", NOISY_REL_IQR)
        return f"{round(limit * 100, 2):g}%"

    def confidence(self) -> str:
        """The confidence level of every interval, "95%" (the engine's bootstrap)."""
        from .measure import stats
        return f"{stats.LEVEL:.0%}"

    def resamples(self) -> str:
        """How many times the bootstrap resamples, "2,000"."""
        from .measure import stats
        return f"{stats.RESAMPLES:,}"

    def same_spread(self) -> str:
        """The spread over three builds a reader can call the same, "3%"."""
        from .measure import targets
        return f"{targets.SAME_SPREAD:.0%}"

    def cold_build_target(self) -> str:
        """The time a cold full-scale build is budgeted to, "60 s"."""
        from .measure import targets
        return f"{targets.COLD_BUILD_S:g} s"

    def timing_target(self) -> str:
        """The precision timed rounds aim for, "±2%", as the results recorded it."""
        target = self.prov.get("scale", {}).get("target")
        return f"±{round(target * 100, 2):g}%" if isinstance(target, (int, float)) else "the target"

    def timing_budgets(self) -> str:
        """Each experiment's time budget for its timed rounds, in words."""
        budgets = self.prov.get("scale", {}).get("budgets")
        if not isinstance(budgets, dict) or not budgets:
            return "the results do not record the budgets"
        given = {name: float(sec) for name, sec in budgets.items() if isinstance(sec, (int, float))}
        parts = [f"{render.esc(name)} {fmt.sig(sec, 2)} s" for name, sec in given.items()]
        return (", ".join(parts) + f" at scale {render.esc(self.scale)} "
                f"({fmt.sig(sum(given.values()), 2)} s in all)")

    def load_note(self) -> str:
        """Whether the machine was busy when the figures were measured, in a sentence."""
        load = self.prov.get("load")
        if not isinstance(load, dict):
            return "These results do not say how busy the machine was."
        if not load.get("busy"):
            return "Nothing else was busy when these figures were measured."
        parts = []
        before = load.get("before_timing") or {}
        if before.get("busy") and before.get("why"):
            parts.append(f"before timing, {before['why']}")
        shares = load.get("busy_experiments") or {}
        during = [f"{share:.0%} during {name}" for name, share in shares.items()
                  if isinstance(share, (int, float))]
        if during:
            parts.append("while the timed experiments ran, other programs used " + ", ".join(during)
                         + " of the CPU time")
        why = f" ({'; '.join(parts)})" if parts else ""
        return render.esc(f"This machine was busy when these figures were measured{why}: its "
                          f"timings are noisier than a quiet machine's.")

    # -------------------------------------------------------------- lookups

    def where(self) -> str:
        line = template_line()
        return f"page {self.page}" + (f", line {line}" if line else "")

    def _lookup(self, read, ref: str):
        """A fact or evidence for the page: an unknown name is a page error, a gap is warned."""
        try:
            got = read(ref)
        except UnknownName as exc:
            raise PageError(f"{self.where()}: {exc}") from None
        if isinstance(got, NotMeasured):
            self._warn_unmeasured(got)
        return got

    def _fact(self, ref: str) -> dict | NotMeasured:
        return self._lookup(self.results.fact, ref)

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
        return self._lookup(self.results.evidence, ref)

    # -------------------------------------------------------------- macros

    def fig(self, ref: str, part: str = "value") -> str:
        """A measured figure inline: part = value | spread | both | raw."""
        if part not in ("value", "spread", "both", "raw"):
            raise PageError(f"{self.where()}: fig({ref!r}, {part!r}): the part must be one of "
                            f"value, spread, both, raw")
        fact = self._fact(ref)
        if isinstance(fact, NotMeasured):
            return render.not_measured(fact.reason, short=True)
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

    def code(self, ref: str) -> str:
        """A text fact as inline code (an instruction, an opcode), a flag as Python's `True` or
        `False` (the value of an expression the page shows), or "not measured: why"."""
        fact = self._fact(ref)
        if isinstance(fact, NotMeasured):
            return render.not_measured(fact.reason, short=True)
        value = fact["value"]
        if isinstance(value, bool):
            value = repr(value)        # a Python expression's value, shown as Python shows it
        if not isinstance(value, str) or not value:
            raise PageError(f"{self.where()}: code({ref!r}): the fact is not text or a flag; use fig()")
        return f'<code title="{render.esc(self.provenance_line(ref.partition(".")[0]))}">{render.esc(value)}</code>'

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
        """A claim's verdict badge, linked to its box (on this page or another)."""
        self.claim_obj(cid)
        return render.badge(self.verdicts[cid].status, self.claim_href(cid))

    def check_outcome(self, cid: str, ref: str) -> str:
        """How one check of a claim came out, for a page's conditions: "pass", "above" or
        "below" (failed, the figure above or below what the claim allows), "fail" (a check
        with no side), "borderline" or "not-measured"."""
        self.claim_obj(cid)
        for r in self.verdicts[cid].results:
            if r.check.fact != ref:
                continue
            if r.passed is None:
                return "not-measured"
            if r.borderline:
                return "borderline"
            if r.passed:
                return "pass"
            bounds = ledger.bounds(r.check, r.other)
            if bounds and isinstance(r.value, (int, float)) and not isinstance(r.value, bool):
                return "above" if r.value > max(bounds) else "below" if r.value < min(bounds) else "fail"
            return "fail"
        raise PageError(f"{self.where()}: claim {cid!r} has no check on {ref!r}; its checks read "
                        + ", ".join(r.check.fact for r in self.verdicts[cid].results))

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
        label = c.labels.__getitem__      # the ledger refuses a printed fact without a label
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
                evidence.append((self.evidence_label(item), text, item.get("lang")))
        checks, edges = [], []
        for r in v.results:
            fact = self.results.fact(r.check.fact)
            if isinstance(fact, NotMeasured):
                checks.append(render.check_item(label(r.check.fact), None, fact.reason, "", ""))
                continue
            other = self.results.fact(r.check.than) if r.check.than else None
            other_text = (f"{label(r.check.than)} ({fmt.value(other)})"
                          if other is not None and not isinstance(other, NotMeasured) else "")
            wanted = fmt.rule(r.check, fact.get("unit"), other_text)
            edge = self.borderline_words(label(r.check.fact), fact, r) if r.borderline else ""
            checks.append(render.check_item(label(r.check.fact), r.passed, r.reason, fmt.value(fact),
                                            wanted, edge))
            if edge and v.status == "borderline":
                edges.append(edge)
        exp_name = c.show[0].partition(".")[0] if c.show else None
        return render.claim_box(c, v, shown, evidence, self.provenance_line(exp_name), checks, edges,
                                self.elsewhere(cid))

    # -------------------------------------------------------------- other machines

    def set_others(self, this, others: list) -> None:
        """The machine these pages show (machines.Machine) and those shown beside it."""
        self.this, self.others = this, others
        self.other_verdicts = [{cid: ledger.evaluate(c, m.results) for cid, c in self.claims.items()}
                               for m in others]

    def elsewhere(self, cid: str) -> str:
        """A claim's verdict on each other machine, and why they disagree where they do."""
        if not getattr(self, "others", None):
            return ""
        from . import machines
        c = self.claim_obj(cid)
        rows, differ = [], []
        for m, verdicts in zip(self.others, self.other_verdicts):
            v = verdicts[cid]
            first = m.results.fact(c.show[0]) if c.show else None
            text = "" if first is None or isinstance(first, NotMeasured) else f"{c.labels[c.show[0]]}: {fmt.value(first)}"
            rows.append((m.label, v.status, text))
            if v.status != self.verdicts[cid].status:
                diff = machines.differences(self.this, m)
                differ.append(f"{m.label} says {render.BADGE[v.status]}"
                              + (f" ({'; '.join(diff)})" if diff else ""))
        why = ("The machines disagree: here it " + render.BADGE[self.verdicts[cid].status] + "; "
               + "; ".join(differ) + ".") if differ else ""
        return render.machines_rows(self.this.label, rows, why)

    def across(self, *refs: str) -> str:
        """Figures side by side: one row per fact ("exp.fact" or ["exp.fact", "label"]), one
        column per machine; nothing when no other machine's results are shown."""
        if not getattr(self, "others", None):
            return ""
        cols = [self.this] + list(self.others)
        head = "".join(f"<th scope=\"col\">{render.esc(m.label)}</th>" for m in cols)
        body = []
        for item in refs:
            ref, given = (item[0], item[1]) if isinstance(item, (list, tuple)) else (item, None)
            self._fact(ref)      # an unknown name stops the build here, with the page and line
            cells = []
            for m in cols:
                f = m.results.fact(ref)
                cells.append(f"<td data-label=\"{render.esc(m.label)}\">"
                             + (render.not_measured(f.reason, short=True) if isinstance(f, NotMeasured)
                                else render.figure_span(fmt.with_spread(f), m.label)) + "</td>")
            label = given or next((c.labels[ref] for c in self.claims.values() if ref in c.labels), None)
            if label is None:
                raise PageError(f"{self.where()}: across({ref!r}): no claim of the ledger labels this "
                                f"fact; show it in a claim with a label first")
            body.append(f"<tr><th scope=\"row\">{render.esc(label)}</th>{''.join(cells)}</tr>")
        return (f'<table class="across-machines"><thead><tr><th></th>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>')

    def borderline_words(self, label: str, fact: dict, r) -> str:
        """Why a check cannot decide, with both numbers and the measured interval."""
        unit = fact.get("unit")
        q = lambda x: fmt.value({"value": x, "unit": unit})  # noqa: E731
        measured = f"{label}: measured {fmt.value(fact)}"
        if r.interval:
            measured += f" ({fmt.interval(fact, *r.interval)})"
        if r.bound is None:
            return f"{measured}; {r.borderline}."
        if r.interval and r.interval[0] < r.bound < r.interval[1]:
            return (f"{measured}, against the claim's bound of {q(r.bound)}: the measured spread "
                    f"reaches across the bound, so this figure cannot decide the verdict.")
        band = f"{r.check.band:.0%}" if r.check.band else "its band"
        return (f"{measured}, within {band} of the claim's bound of {q(r.bound)}: too close to call.")

    def evidence_label(self, item: dict) -> str:
        """An evidence label as the ledger writes it, with the compiler that built it said
        from the results (the ledger names no compiler: it is the build's)."""
        text = item.get("label") or "evidence"
        exp = item["ref"].partition(".")[0]
        name, version = compiler_name(self.compiler_of(exp))
        if "compiled" in text and name and self.results.experiment(exp).get("toolchain", {}).get("compiler"):
            text = text.replace("compiled", f"compiled by {name}{' ' + version if version else ''}", 1)
        return text

    def claim_href(self, cid: str) -> str:
        """The link to a claim's box from the page being rendered."""
        c = self.claim_obj(cid)
        target = SECTION_PAGES.get(c.section, "")
        here = self.page.removesuffix(".md").removesuffix("index")
        here_url = here + "/" if here and not here.endswith("/") else here
        if target == here_url:
            return f"#claim-{cid}"
        return "../" * here_url.count("/") + f"{target}#claim-{cid}"

    def claims_table(self) -> str:
        rows = []
        for cid, c in self.claims.items():
            v = self.verdicts[cid]
            shown = []
            for ref in c.show:
                fact = self.results.fact(ref)
                text = "not measured" if isinstance(fact, NotMeasured) else fmt.value(fact)
                shown.append(f"<li>{render.esc(c.labels[ref])}: <strong>{render.esc(text)}</strong></li>")
            machine = (f"<ul class=\"shown\">{''.join(shown)}</ul>" if shown
                       else render.not_measured(v.reason, short=True))
            box = self.claim_href(cid)
            # Each cell names its column (data-label): a phone shows a row as a card, verdict first.
            rows.append(
                f"<tr><td class=\"ct-section\" data-label=\"§\">{c.section}</td>"
                f"<td class=\"ct-statement\" data-label=\"the book says\"><a href=\"{render.esc(box)}\" "
                f"title=\"claim {render.esc(cid)}\">{render.esc(c.statement)}</a></td>"
                f"<td class=\"ct-book\" data-label=\"book\">{render.esc(c.book)}</td>"
                f"<td class=\"ct-machine\" data-label=\"this machine\">{machine}</td>"
                f"<td class=\"ct-verdict\" data-label=\"verdict\">{render.badge(v.status, box)}</td>"
                + "".join(f"<td class=\"ct-other\" data-label=\"{render.esc(m.label)}\">"
                          f"{render.badge(ov[cid].status)}</td>"
                          for m, ov in zip(getattr(self, "others", []), getattr(self, "other_verdicts", [])))
                + "</tr>")
        return ('<table class="claims-table"><thead><tr><th class="ct-section">§</th>'
                '<th class="ct-statement">the book says</th><th class="ct-book">book</th>'
                '<th class="ct-machine">this machine</th><th class="ct-verdict">verdict</th>'
                + "".join(f'<th class="ct-other">{render.esc(m.label)}</th>' for m in getattr(self, "others", []))
                + '</tr></thead><tbody>'
                + "".join(rows) + "</tbody></table>")

    def verdict_counts(self) -> dict[str, int]:
        counts = {k: 0 for k in render.BADGE}
        for v in self.verdicts.values():
            counts[v.status] += 1
        return counts

    def verdict_summary(self) -> str:
        """ "Of the book's 27 claims, 20 hold, 1 differs, ... and 1 was not measured.": each
        count with its verb in the right number; verdicts no claim got are left out."""
        counts = self.verdict_counts()
        verbs = {"holds": ("holds", "hold"), "differs": ("differs", "differ"),
                 "borderline": ("is borderline", "are borderline"),
                 "does-not-hold": ("does not hold", "do not hold"),
                 "not-measured": ("was not measured", "were not measured")}
        parts = [f"{n} {verbs[k][0] if n == 1 else verbs[k][1]}" for k, n in counts.items() if n]
        said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"Of the book's {fmt.plural(sum(counts.values()), 'claim')}, {said}."

    def fail_as_differs(self) -> str:
        """The claims whose rule reads a failure of every check as "differs" (claims about a
        figure the book measured once), each linked to its box: the method page lists them."""
        items = "".join(f'<li><a href="{render.esc(self.claim_href(cid))}">{render.esc(c.statement)}</a></li>'
                        for cid, c in self.claims.items() if c.fail == "differs")
        return f'<ul class="fail-as-differs">{items}</ul>'


# Where each section's claims are written up (relative to the site root, directory URLs).
SECTION_PAGES = {1: "chapter/one-line/", 2: "chapter/stack-and-heap/", 3: "chapter/objects/",
                 4: "chapter/benchmark/", 5: "chapter/cache/", 6: "chapter/costs/"}


def _cache_text(caches: list[dict]) -> str:
    from .fmt import nbytes
    return ", ".join(f"L{c['level']} {c['type'].lower()} {nbytes(c['size'])}" for c in caches) or "unknown"


def provenance_summary(ch: Chapter) -> str:
    p = ch.prov
    compiler = compiler_label(p.get("compiler"))
    return (f"{ch.machine('cpu')}, {ch.machine('cores')} cores, caches "
            f"{_cache_text(p.get('machine', {}).get('caches', []))}; Linux {ch.machine('kernel')}; "
            f"{compiler}; {ch.prov_text('python.implementation')} {ch.prov_text('python.version')}; "
            f"measured at scale **{ch.scale}**, {ch.prov_text('date')}, from commit "
            f"`{ch.prov_text('git_commit')}`.")


def _flags_text(ch: Chapter) -> str:
    """Compiler flags by listing ("-O2: csrc/add.c, ..."), not by experiment name."""
    by_flags: dict[str, set[str]] = {}
    declared = ch.doc.get("declared", {})
    for exp, flags in ch.prov.get("cflags", {}).items():
        sources = [s for s in declared.get(exp, {}).get("sources", []) if s.endswith(".c")]
        by_flags.setdefault(" ".join(flags), set()).update(sources)
    return "; ".join(f"{flags}: {', '.join(sorted(src))}" for flags, src in sorted(by_flags.items()) if src) \
        or "unknown"


def provenance_table(ch: Chapter) -> str:
    from .fmt import nbytes
    p = ch.prov
    m = p.get("machine", {})
    py = p.get("python", {})
    lines = sorted({nbytes(c["line"]) for c in m.get("caches", []) if c.get("line")})
    rows = [
        ("CPU", ch.machine("cpu")), ("cores", ch.machine("cores")), ("caches", _cache_text(m.get("caches", []))),
        ("cache line", ", ".join(lines) or "unknown"),
        ("memory", ch.machine("memory_bytes")), ("page size", ch.machine("page_size")),
        ("virtual machine", ch.machine("virtualised")),
        ("kernel", f"Linux {ch.machine('kernel')} ({ch.machine('arch')})"),
        ("C compiler", p.get("compiler") if p.get("compiler") not in (None, "none") else "none found"),
        ("compiler flags", _flags_text(ch)),
        ("Python", f"{ch.prov_text('python.implementation')} {ch.prov_text('python.version')}"
                   + (f" ({py['build']}, {py['compiler']})" if py.get("build") and py.get("compiler") else "")),
        ("libraries", ", ".join(f"{k} {v}" for k, v in p.get("libraries", {}).items() if v) or "unknown"),
        ("measured", ch.prov_text("date")), ("git commit", ch.prov_text("git_commit")),
        ("scale", ch.scale), ("machine id (names the results file)", ch.prov_text("machine_id")),
    ]
    if m.get("system_root"):
        rows.insert(3, ("caches read from", f"a faked tree, {m['system_root']} (CHAPTER_SYSFS_ROOT, a testing aid)"))
    body = "".join(f"<tr><th scope=\"row\">{render.esc(k)}</th><td>{render.esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="provenance-table"><tbody>{body}</tbody></table>'
