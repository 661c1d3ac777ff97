"""The MkDocs side of the glue: run the engine at build time and register the page macros."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from jinja2 import UndefinedError
from mkdocs.exceptions import PluginError
from mkdocs_macros.errors import format_error

from . import render, safe_html
from .chapter import LEDGER_FILE, Chapter, PageError, provenance_summary, provenance_table
from .measure import CacheMissing, MeasureError, measure, mode_from_env, results_paths, scale_from_env
from .measure.engine import declared
from .measure.errors import InputError
from .measure.ledger import load
from .measure.results import Results

log = logging.getLogger("mkdocs.plugins.chapter")

CURRENT: Chapter | None = None     # the chapter of the build in progress, for the hooks


def _progress(level: str, message: str) -> None:
    getattr(log, level)(message)


class ChapterInputError(PluginError):
    """Bad input (ledger, listing, setting, results file, a name in a page): the build stops
    with status 2, as scripts/measure.py does (hooks.on_build_error)."""


class ChapterPageError(ChapterInputError):
    """A page names something the results or the ledger do not hold."""


def stop_for_input(error: Exception) -> None:
    """Stops the build with status 2 for a contributor's mistake, as a usage error does.
    SystemExit, not an Exception: mkdocs-macros turns those in a page into status 100."""
    log.error(f"{error}\nAborted: the input named above needs fixing.")
    raise SystemExit(2)


@format_error.register
def _format_page_error(error: ChapterPageError, markdown: str, page) -> str:
    # mkdocs-macros logs this and stops the build; the reader needs the page and the name only.
    return f"{error}"


@format_error.register
def _format_undefined(error: UndefinedError, markdown: str, page) -> str:
    return (f"page {page.file.src_path}: {error.message}; the page names a variable or macro "
            f"that does not exist (macros: fig, raw, book, verdict, output, claim, ...)")


# Macros whose HTML goes to the page untouched by Markdown (see safe_html.py).
HTML_MACROS = ("fig", "book", "verdict", "output", "claim", "claims_table")


def setup(env) -> Chapter:
    global CURRENT
    root = Path(env.project_dir)
    try:
        mode, scale = mode_from_env(), scale_from_env()
    except InputError as exc:
        raise ChapterInputError(f"{exc} (see README, 'Rebuilding with your own numbers')")
    t0 = time.perf_counter()
    log.info(f"measuring in mode {mode}, scale {scale.name} (CHAPTER_MEASURE, CHAPTER_SCALE)")
    try:
        # The ledger first: a mistake in it stops the build before anything is measured.
        decl = declared()
        probe = Results({"experiments": {}}, decl)
        claims = load(root / LEDGER_FILE, probe.fact_names(), probe.evidence_names())
        # TimeoutError: another build held the cache lock too long; MeasureError: e.g. an
        # experiment module that cannot be imported. Each message says what to do.
        doc = measure(root, mode=mode, scale=scale, progress=_progress)
    except InputError as exc:
        raise ChapterInputError(str(exc))
    except (CacheMissing, TimeoutError, MeasureError) as exc:
        raise PluginError(str(exc))
    chapter = Chapter(Results(doc, decl), claims)
    results, suite = results_paths(root, scale)
    chapter.results_file, chapter.suite_file = results, suite
    log.info(f"results ready in {time.perf_counter() - t0:.1f} s: {results.relative_to(root)}")
    CURRENT = chapter
    vault = safe_html.Vault()
    safe_html.install(env.conf, vault)

    def bind(method, html: bool = False):
        def macro(*args, **kwargs):
            chapter.page = env.page.file.src_uri if getattr(env, "page", None) else "?"
            try:
                out = method(*args, **kwargs)
            except PageError as exc:
                stop_for_input(ChapterPageError(str(exc)))
            return vault.protect(out) if html and isinstance(out, str) else out
        macro.__name__ = method.__name__
        macro.__doc__ = method.__doc__
        return macro

    for name in ("fig", "raw", "measured", "book", "verdict", "output", "claim", "claims_table", "verdict_counts"):
        env.macro(bind(getattr(chapter, name), html=name in HTML_MACROS), name)
    env.macro(bind(render.badge, html=True), "verdict_badge")
    env.macro(bind(lambda: provenance_summary(chapter)), "provenance_summary")
    env.macro(bind(lambda: provenance_table(chapter), html=True), "provenance_table")
    # Figures (macros/figures/): drawn once per build from the results; hooks.on_files adds the SVGs.
    from . import figures
    chapter.figures = figures.render_all(chapter.results, chapter.claims)
    env.macro(bind(lambda name: _figure(env, chapter, name), html=True), "figure")
    env.variables["provenance"] = chapter.prov
    env.variables["scale"] = chapter.scale
    env.variables["chapter"] = chapter
    return chapter


def _figure(env, chapter: Chapter, name: str) -> str:
    """{{ figure("name") }}: a figure's light and dark SVG with alt text and caption, or why not."""
    from . import figures
    page = env.page.file.src_uri
    if name not in figures.SPECS:
        raise PageError(f"page {page}: unknown figure {name!r}; known: {', '.join(figures.NAMES)}")
    item = chapter.figures[name]
    if isinstance(item, figures.Missing):
        log.warning(f"{page}: figure {name!r} not drawn: {item.reason}")
    return figures.figure_html(item, "../" * env.page.url.count("/"))


def banner() -> str:
    """A warning at the top of every page when its figures are not fit for publication."""
    ch = CURRENT
    if ch is None:
        return ""
    notes = []
    if ch.scale != "full":
        notes.append(f"This page was built at **{ch.scale} scale** (CHAPTER_SCALE={ch.scale}): "
                     "smaller inputs and fewer repeats, for tests. Its figures are not for publication.")
    stale = [(n, e.get("stale_reason")) for n, e in ch.doc.get("experiments", {}).items() if e.get("stale")]
    if stale:
        notes.append("Some figures come from **stale cached results**, not measured from the current sources: "
                     + "; ".join(f"{n} ({why})" if why else n for n, why in stale) + ".")
    failed = [n for n, e in ch.doc.get("experiments", {}).items() if e.get("status") != "ok"]
    if failed:
        notes.append("Some experiments were **not measured** on this build: " + ", ".join(failed) + ".")
    if not notes:
        return ""
    body = "\n".join("    " + n for n in notes)
    return f'!!! danger "Not the published figures"\n\n{body}\n\n'
