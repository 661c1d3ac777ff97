"""MkDocs hooks: add the results downloads to the site without writing into docs/; keep
what a rebuild under `mkdocs serve` may reuse (macros/rebuilds.py).

The figures need no files: they are drawn inline into their pages (macros/figures/)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jinja2  # noqa: E402

from macros import rebuilds  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402


TEMPLATES_CACHE = ".chapter-cache/templates"   # beside the measurements' cache, ignored by git


def on_env(env: jinja2.Environment, config, files) -> jinja2.Environment:
    env.bytecode_cache = rebuilds.COMPILED      # its folder is set in on_pre_build
    return env


POLL_S = 0.05   # MkDocs polls the watched files every 0.5 s: on average 0.25 s of each preview
SETTLE_S = 0.02  # and waits 0.1 s for a change to settle: a save is one write, or a write and a rename


def on_serve(server, config, builder):
    """Poll the watched files more often and start a rebuild sooner after a change, so a saved
    edit is shown sooner. The paths already watched are watched again at the new interval;
    where the server is not the one this was written against (MkDocs 1.6's, with watchdog's
    observer), it is left as it is."""
    observer = getattr(server, "observer", None)
    if observer is None or not isinstance(getattr(observer, "_timeout", None), (int, float)):
        return server
    observer._timeout = POLL_S
    for path in list(getattr(server, "_watched_paths", {})):
        server.unwatch(path)
        server.watch(path)
    if isinstance(getattr(server, "build_delay", None), (int, float)):
        server.build_delay = min(server.build_delay, SETTLE_S)
    return server


def on_pre_build(config) -> None:
    """What a rebuild in the same process (`mkdocs serve`) may reuse of the build before it,
    and where compiled templates are kept between processes (pages are compiled before on_env)."""
    rebuilds.COMPILED.folder = Path(config.config_file_path).parent / TEMPLATES_CACHE
    rebuilds.COMPILED.sweep()
    macros = config.plugins.get("macros")
    env = getattr(macros, "_env", None)
    if isinstance(env, jinja2.Environment):
        rebuilds.reuse_page_templates(env)
    rebuilds.reuse_search_entries()
    rebuilds.reuse_highlighting()
    rebuilds.reuse_theme_files()
    rebuilds.reuse_page_renders()


def on_build_error(error: Exception, **kwargs) -> None:
    from macros import site
    if isinstance(error, site.ChapterInputError):
        site.stop_for_input(error)

def on_post_page(output: str, page, config) -> str:
    from macros import render
    return render.without_whitespace_spans(output)


DOWNLOADS = "downloads"


def on_files(files: Files, config) -> Files:
    from macros import site
    ch = site.CURRENT
    if ch is None:
        return files
    _rebuild_all_if_inputs_changed(files, ch)
    files.append(File.generated(config, f"{DOWNLOADS}/results.json", content=ch.results_file.read_bytes()))
    if ch.suite_file.exists():
        files.append(File.generated(config, f"{DOWNLOADS}/results.pyperf.json",
                                    content=ch.suite_file.read_bytes()))
    return files


def _rebuild_all_if_inputs_changed(files: Files, ch) -> None:
    """Under `mkdocs serve --dirty` a page is rebuilt only when its source is newer than its
    output. When what the pages are rendered from changed (new results after a listing was
    edited, the ledger, another machine's file, the glue's code), every page's output is
    removed so that every page is rebuilt with it."""
    root = Path(__file__).resolve().parents[1]
    glue = [p for p in (root / "macros").rglob("*.py") if "measure" not in p.relative_to(root / "macros").parts]
    inputs = [ch.results_file, ch.suite_file, root / "claims.toml", root / "mkdocs.yml",
              *(root / "machines").glob("*.json"), *glue]
    if rebuilds.inputs_changed(rebuilds.fingerprint(inputs)):
        for f in files.documentation_pages():
            Path(f.abs_dest_path).unlink(missing_ok=True)
