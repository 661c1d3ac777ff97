"""The MkDocs side of the glue: run the engine at build time and register the page macros."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from jinja2 import UndefinedError
from mkdocs.exceptions import PluginError
from mkdocs_macros.errors import format_error

from . import machines, render, safe_html
from .chapter import LEDGER_FILE, Chapter, PageError, provenance_summary, provenance_table
from .fmt import compiler_label
from .measure import CacheMissing, MeasureError, measure, mode_from_env, results_paths, scale_from_env
from .measure.engine import declared
from .measure.errors import InputError
from .measure.ledger import load
from .measure.results import Results, load_document

RESULTS_ENV = "CHAPTER_RESULTS"   # render this results file instead of measuring

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
            f"that does not exist (macros: fig, code, raw, measured, book, verdict, output, claim, "
            f"prov, machine, compiler, check_outcome, ...; pages have no raw results or ledger)")


# Macros whose HTML goes to the page untouched by Markdown (see safe_html.py).
HTML_MACROS = ("fig", "code", "book", "verdict", "output", "claim", "claims_table", "staircase_levels",
               "fail_as_differs", "across")


def setup(env) -> Chapter:
    global CURRENT
    root = Path(env.project_dir)
    given = os.environ.get(RESULTS_ENV)
    t0 = time.perf_counter()
    try:
        # The ledger first: a mistake in it stops the build before anything is measured.
        decl = declared()
        probe = Results({"experiments": {}}, decl)
        claims = load(root / LEDGER_FILE, probe.fact_names(), probe.evidence_names())
        found = machines.load(root, decl)
        borrowed = None
        if given:
            results, suite, doc = _given_results(Path(given))
        else:
            results, suite, doc = _measured_results(root)
            lacking = _no_compiler(doc)
            if lacking and found:
                # No compiler here: the chapter shows a machine measured elsewhere, whole.
                borrowed = machines.pick_primary(found, machines.primary_name(os.environ, env.conf.get("extra")))
                results = root / machines.FOLDER / borrowed.file
                suite = results.with_name(results.name.removesuffix(".json") + ".pyperf.json")
                doc = borrowed.results.doc
                log.warning(f"no C compiler here ({', '.join(lacking)} not measured): the chapter shows "
                            f"{machines.FOLDER}/{borrowed.file}, measured on {borrowed.label}")
    except InputError as exc:
        raise ChapterInputError(str(exc))
    except (CacheMissing, TimeoutError, MeasureError) as exc:
        raise PluginError(str(exc))
    chapter = Chapter(Results(doc, decl), claims)
    chapter.results_file, chapter.suite_file = results, suite
    chapter.given_results = results if given or borrowed else None
    this = machines.Machine(borrowed.file if borrowed else "this build", chapter.results, machines.label(doc))
    chapter.set_others(this, machines.others(found, borrowed or this))
    if chapter.others:
        log.info("shown beside it: " + "; ".join(f"{m.file} ({m.label})" for m in chapter.others))
    shown = results.relative_to(root) if results.is_relative_to(root) else results
    log.info(f"results ready in {time.perf_counter() - t0:.1f} s: {shown}")
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

    for name in ("fig", "code", "raw", "measured", "book", "verdict", "output", "claim", "claims_table", "across",
                 "verdict_counts", "verdict_summary", "machine", "compiler", "noisy_limit",
                 "check_outcome", "fail_as_differs", "staircase_levels", "timings_available", "levels_disagree",
                 "timing_target", "timing_budgets", "load_note",
                 "confidence", "resamples", "same_spread", "cold_build_target"):
        env.macro(bind(getattr(chapter, name), html=name in HTML_MACROS), name)
    env.macro(bind(chapter.prov_text), "prov")
    env.macro(bind(render.badge, html=True), "verdict_badge")
    env.macro(bind(lambda: provenance_summary(chapter)), "provenance_summary")
    env.macro(bind(lambda: provenance_table(chapter), html=True), "provenance_table")
    # Figures (macros/figures/): drawn once per build from the results, placed inline in their pages.
    from . import figures
    chapter.figures = figures.render_all(chapter.results, chapter.claims,
                                         [(m.label, m.results) for m in chapter.others])
    env.macro(bind(lambda name: _figure(env, chapter, name), html=True), "figure")
    # Pages reach results only through the macros above: no raw dicts (Jinja's attribute
    # lookup found dict.values for {{ provenance.scale.values }}), no Chapter object.
    env.variables["scale"] = chapter.scale
    return chapter


def _measured_results(root: Path) -> tuple[Path, Path, dict]:
    """Measure what is missing or stale (CHAPTER_MEASURE, CHAPTER_SCALE) and return the results."""
    try:
        mode, scale = mode_from_env(), scale_from_env()
    except InputError as exc:
        raise InputError(f"{exc} (see README, 'Rebuilding with your own numbers')")
    log.info(f"measuring in mode {mode}, scale {scale.name} (CHAPTER_MEASURE, CHAPTER_SCALE)")
    # TimeoutError: another build held the cache lock too long; MeasureError: e.g. an
    # experiment module that cannot be imported. Each message says what to do.
    doc = measure(root, mode=mode, scale=scale, progress=_progress)
    results, suite = results_paths(root, scale)
    return results, suite, doc


def _no_compiler(doc: dict) -> list[str]:
    """The experiments this build could not measure for want of a C compiler (none cached)."""
    return [n for n, e in doc.get("experiments", {}).items()
            if e.get("status") != "ok" and e.get("kind") == "toolchain" and "no C compiler" in str(e.get("reason"))]


def _given_results(path: Path) -> tuple[Path, Path, dict]:
    """CHAPTER_RESULTS: render a results file measured elsewhere (another machine, another
    compiler), checked against this version's schema; nothing is measured."""
    path = path.expanduser().resolve()
    doc = load_document(path)
    ignored = [v for v in ("CHAPTER_MEASURE", "CHAPTER_SCALE") if os.environ.get(v)]
    log.info(f"{RESULTS_ENV}={path}: rendering these results, measuring nothing"
             + (f" ({', '.join(ignored)} ignored)" if ignored else ""))
    suite = path.with_name(path.name.removesuffix(".json") + ".pyperf.json")
    return path, suite, doc


def _figure(env, chapter: Chapter, name: str) -> str:
    """{{ figure("name") }}: a figure's inline SVG with alt text and caption, or why not."""
    from . import figures
    page = env.page.file.src_uri
    if name not in figures.SPECS:
        raise PageError(f"page {page}: unknown figure {name!r}; known: {', '.join(figures.NAMES)}")
    item = chapter.figures[name]
    if isinstance(item, figures.Missing):
        log.warning(f"{page}: figure {name!r} not drawn: {item.reason}")
    return figures.figure_html(item)


def _experiment_titles() -> dict[str, str]:
    from .measure.experiments import discover
    return {e.name: e.title for e in discover()}


def _named(names: list[str], why: dict[str, str] | None = None, say_why: bool = False) -> str:
    """Experiments in words (their titles), each with its id and reason in a tooltip; with
    `say_why`, the reason in words after the title as well."""
    titles = _experiment_titles()
    out = []
    for n in names:
        reason = (why or {}).get(n) or ""
        tip = f"experiment {n}" + (f": {reason}" if reason else "")
        said = f" ({render.esc(render.reader_reason(reason))})" if say_why and reason else ""
        out.append(f'<span title="{render.esc(tip)}">{render.esc(titles.get(n, "an experiment"))}</span>{said}')
    return "; ".join(out)


def banner() -> str:
    """A note at the top of every page: whose results these are when they were not measured by
    this build, and a warning when its figures are not fit for publication."""
    ch = CURRENT
    if ch is None:
        return ""
    out = ""
    if ch.given_results is not None:
        compiler = compiler_label(ch.prov.get("compiler"))
        faked = (f" Its caches were read from a faked tree ({ch.machine('system_root')}), a testing aid."
                 if ch.prov_value("machine.system_root") else "")
        how = ("CHAPTER_RESULTS" if os.environ.get(RESULTS_ENV)
               else f"{machines.FOLDER}/: this machine has no C compiler")
        out += (f'!!! info "Results measured elsewhere"\n\n'
                f"    These pages show results read from `{ch.given_results.name}` "
                f"({how}), measured on {ch.machine('cpu')} ({ch.machine('cores')} cores, "
                f"Linux {ch.machine('kernel')}, {ch.machine('arch')}) with {compiler} and Python "
                f"{ch.prov_text('python.version')}, on {ch.prov_text('date')}. This build measured "
                f"nothing.{faked}\n\n")
    notes = []
    if ch.scale != "full":
        notes.append(f"This page was built at **{ch.scale} scale** (CHAPTER_SCALE={ch.scale}): "
                     "smaller inputs and fewer repeats, for tests. Its figures are not for publication.")
    experiments = ch.doc.get("experiments", {})
    stale = [n for n, e in experiments.items() if e.get("stale")]
    if stale:
        notes.append("Some figures come from **stale cached results**, not measured from the current sources: "
                     + _named(stale, {n: experiments[n].get("stale_reason", "") for n in stale}, say_why=True) + ".")
    failed = [n for n, e in experiments.items() if e.get("status") != "ok"]
    if failed:
        notes.append("Some figures were **not measured** on this build; their places say why. Not measured: "
                     + _named(failed, {n: experiments[n].get("reason", "") for n in failed}) + ".")
    if not notes:
        return out
    body = "\n".join("    " + n for n in notes)
    return out + f'!!! danger "Not the published figures"\n\n{body}\n\n'
