"""HTML for the page: claim boxes, inline figures, evidence, tables. Pure: data in, HTML out.

Everything a program printed is escaped here, so output holding <script>, {{ or | is shown
as text. The result is a raw HTML block, which Markdown passes through untouched.
"""
from __future__ import annotations

import html
import re

from .measure.ledger import Claim, Verdict

BADGE = {"holds": "holds", "differs": "differs", "borderline": "borderline",
         "does-not-hold": "does not hold", "not-measured": "not measured"}
ICON = {"holds": "✓", "differs": "≠", "borderline": "≈", "does-not-hold": "✗", "not-measured": "?"}

def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def highlighted(text: str, lang: str) -> str | None:
    """Pygments' HTML for `text` in language `lang`, or None when Pygments has no such lexer.
    (The glue keeps what it returns between builds: rebuilds.reuse_highlighting.)"""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
        return highlight(text, get_lexer_by_name(lang), HtmlFormatter(cssclass="highlight"))
    except Exception:  # no lexer: plain text is still true
        return None


# Pygments puts each run of whitespace in code in a span of its own (Text.Whitespace, class
# "w") that no style sheet of the site styles: a quarter of the cache page's elements, which a
# phone's browser styles again each time the theme's script measures the page.
WHITESPACE_TOKEN = re.compile(r'<span class="w">(\s*)</span>')


def without_whitespace_spans(page_html: str) -> str:
    """The page with each whitespace token's span replaced by its whitespace: the same text,
    shown the same, in fewer elements."""
    return WHITESPACE_TOKEN.sub(r"\1", page_html)


def pre(text: str, lang: str | None = None) -> str:
    """Verbatim text, escaped; machine code highlighted with Pygments when asked."""
    shown = highlighted(text, lang) if lang else None
    return shown if shown is not None else f'<div class="highlight"><pre><code>{esc(text)}</code></pre></div>'


def badge(status: str, href: str | None = None) -> str:
    """A verdict; with `href` (a claim box, "#claim-<id>"), a link that opens its evidence
    (docs/assets/claims.js)."""
    inner = f'<span class="verdict verdict--{status}">{ICON[status]} {BADGE[status]}</span>'
    return f'<a class="verdict-link" href="{esc(href)}" title="Show the evidence">{inner}</a>' if href else inner


def evidence_toggle(status: str, cid: str) -> str:
    """A claim box's own badge: a button that shows and hides the box's evidence in place
    (docs/assets/claims.js); without scripts, a link to the box."""
    return (f'<a class="verdict-link verdict-toggle" href="#claim-{esc(cid)}" role="button" '
            f'aria-controls="claim-{esc(cid)}-evidence" aria-expanded="false" title="Show or hide the evidence">'
            f'<span class="verdict verdict--{status}">{ICON[status]} {BADGE[status]}</span></a>')


def figure_span(text: str, title: str, cls: str = "measured") -> str:
    return f'<span class="{cls}" title="{esc(title)}">{esc(text)}</span>'


_FACT_PREFIX = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9_]+: ")          # "sum.c_book_O2: "
_EXPERIMENT_PREFIX = re.compile(r"^[a-z][a-z0-9_]*(?: \(([^)]+)\))?: ")  # "sum (csrc/sum_loop.c): "


def reader_reason(reason: str) -> str:
    """A not-measured reason as a reader reads it: its first line, without the fact or
    experiment name the engine puts first (those stay in the tooltip), keeping the file."""
    line = (reason or "unknown reason").splitlines()[0]
    line = _FACT_PREFIX.sub("", line, count=1)
    m = _EXPERIMENT_PREFIX.match(line)
    if m:
        line = (f"{m.group(1)}: " if m.group(1) else "") + line[m.end():]
    return line


_FILE_PREFIX = re.compile(r"^(?:csrc|pysrc)/[\w.]+: ")


def short_reason(reason: str) -> str:
    """The reason as a figure's place in a sentence can carry it: the first clause, without the
    file or the install hint (both stay in the tooltip and in the evidence blocks)."""
    line = _FILE_PREFIX.sub("", reader_reason(reason), count=1)
    for stop in (". ", "; ", " (Debian", " (see "):
        line = line.split(stop, 1)[0]
    return line.rstrip(".")


def not_measured(reason: str, short: bool = False) -> str:
    """ "not measured: why", the full reason in the tooltip; `short` for a figure inside a
    sentence or a table cell, the whole first line for a block of evidence."""
    said = short_reason(reason) if short else reader_reason(reason)
    return f'<span class="not-measured" title="{esc(reason)}">not measured: {esc(said)}</span>'


def check_item(label: str, passed: bool | None, reason: str, value: str, wanted: str,
               borderline: str = "") -> str:
    """One check of a claim's rule, in words: the figure it read, what the claim needs, the outcome."""
    if passed is None:
        return f"<li>{esc(label)}: {not_measured(reason, short=True)}</li>"
    mark, cls = ("≈", "edge") if borderline else (("✓", "pass") if passed else ("✗", "fail"))
    edge = f" Borderline: {esc(borderline)}" if borderline else ""
    return (f"<li><span class=\"check check--{cls}\">{mark}</span> "
            f"{esc(label)}: <strong>{esc(value)}</strong> (the claim needs {esc(wanted)}).{edge}</li>")


def claim_box(claim: Claim, verdict: Verdict, shown: list[tuple[str, str, str]],
              evidence: list[tuple[str, str, str | None]], provenance: str, checks_html: list[str],
              why_borderline: list[str] | None = None, elsewhere: str = "") -> str:
    """One claim: the book's figure and this machine's, the verdict, evidence a click away.

    shown: (label, formatted figure or "", reason if not measured)
    evidence: (label, text, lang)
    why_borderline: for a borderline verdict, each undecided check in words (shown open)
    """
    rows = []
    for label, text, reason in shown:
        cell = figure_span(text, provenance) if not reason else not_measured(reason, short=True)
        rows.append(f"<tr><th scope=\"row\">{esc(label)}</th><td>{cell}</td></tr>")
    if not shown and verdict.reason:
        rows.append(f"<tr><th scope=\"row\">this machine</th><td>{not_measured(verdict.reason)}</td></tr>")
    ev = "".join(f"<p class=\"evidence-label\">{esc(label)}</p>{pre(text, lang)}"
                 for label, text, lang in evidence)
    checks = f"<ul class=\"checks\">{''.join(checks_html)}</ul>" if checks_html else ""
    note = f"<p class=\"claim-note\">{esc(claim.note)}</p>" if claim.note else ""
    edge = "".join(f'<p class="claim-borderline">{esc(w)}</p>' for w in why_borderline or [])
    return (
        f'<div class="claim claim--{verdict.status}" id="claim-{esc(claim.id)}">\n'
        f'<div class="claim-head">{evidence_toggle(verdict.status, claim.id)} '
        f'<a class="claim-id" href="#claim-{esc(claim.id)}" title="claim {esc(claim.id)} in claims.toml">#</a> '
        f'<span class="claim-statement">{esc(claim.statement)}</span></div>\n'
        f'<table class="claim-figures"><tbody>'
        f'<tr><th scope="row">the book</th><td class="book">{esc(claim.book)}</td></tr>'
        f'{"".join(rows)}</tbody></table>\n{edge}{elsewhere}'
        f'<details class="claim-evidence" id="claim-{esc(claim.id)}-evidence"><summary>Evidence: {esc(claim.measure)}</summary>'
        f'{checks}{note}{ev}<p class="provenance">{esc(provenance)}</p></details>\n'
        f'</div>'
    )


def machines_rows(this: str, rows: list[tuple[str, str, str]], why: str) -> str:
    """A claim on the other machines: (machine, verdict, its first figure); why they disagree."""
    items = "".join(f'<li><span class="machine-name">{esc(m)}</span>: {badge(v)} {esc(text)}</li>'
                    for m, v, text in rows)
    note = f'<p class="machines-disagree">{esc(why)}</p>' if why else ""
    return (f'<div class="claim-machines"><p class="evidence-label">The same claim on other machines '
            f'(this page: {esc(this)})</p><ul>{items}</ul>{note}</div>\n')
