"""What a rebuild under `mkdocs serve` may reuse from the build before it.

MkDocs reloads the config and hooks.py for every build, so state that must outlive a build
lives here, for the life of the process:

- the theme's Jinja templates, compiled once (MkDocs makes a new Jinja environment per build,
  so each edit recompiled all of Material's templates; Jinja checks each template's source
  checksum, so an edited template is compiled anew). They are also kept on disk, in the
  project's cache folder, so that the next `mkdocs build` does not compile them again either
  (a third of a warm rebuild's time);
- the list of the installed theme's files, each unchanged page's conversion from Markdown to
  HTML, each code block as Pygments highlighted it, and each page's search entries, in memory
  and on disk beside the templates (the same theme, listings, evidence and pages on every
  build);
- what the pages were rendered from (results, ledger, other machines, the glue's code), so
  that `mkdocs serve --dirty`, which rebuilds only the pages whose source changed, rebuilds
  every page when a figure may have changed under them.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import marshal
import os
import re
import sys
import time
from pathlib import Path
from typing import Iterable

import jinja2

from . import render


class _Compiled(jinja2.BytecodeCache):
    """Compiled templates in memory, by Jinja's key for each template, and in `folder` when one
    is set (Jinja refuses bytecode of another Python or of a changed source by itself). Pages'
    compiled templates are kept in the same store (reuse_page_templates)."""

    UNUSED_DAYS = 30     # what no build read or wrote for this long is removed (sweep)

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}
        self.folder: Path | None = None
        self.swept: set[Path] = set()

    def get(self, key: str) -> bytes | None:
        if key not in self.store and self.folder is not None:
            path = self.folder / key
            try:
                self.store[key] = path.read_bytes()
                os.utime(path)        # used: the sweep keeps it
            except OSError:
                return None
        return self.store.get(key)

    def sweep(self, now: float | None = None) -> int:
        """Remove the folder's entries that no build has read or written for UNUSED_DAYS (every
        edit of a page leaves its old code and search entries behind); once per process and
        folder. Returns how many were removed."""
        if self.folder is None or self.folder in self.swept:
            return 0
        self.swept.add(self.folder)
        limit = (time.time() if now is None else now) - self.UNUSED_DAYS * 86400
        removed = 0
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return 0
        for path in entries:
            try:
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:
                pass      # gone already, or read-only: left
        return removed

    def put(self, key: str, data: bytes) -> None:
        self.store[key] = data
        if self.folder is None:
            return
        try:     # written whole, then renamed: a build running beside this one reads all or nothing
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key}.{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, self.folder / key)
        except OSError:
            pass         # a read-only project: compiled in memory, as before

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.put(bucket.key, bucket.bytecode_to_string())


COMPILED = _Compiled()


def _wrap_once(owner, name: str, make) -> None:
    """Replace owner.name by make(original), once per process (a rebuild under `mkdocs
    serve` installs the hooks again); left as it is if the library has no such name."""
    original = getattr(owner, name, None)
    if original is None or getattr(original, "_chapter_reuses", False):
        return
    wrapper = make(original)
    wrapper._chapter_reuses = True
    wrapper.__wrapped__ = original
    setattr(owner, name, wrapper)


def _kept_text(digest: str, make) -> str | None:
    """What COMPILED keeps under `digest`, else make()'s text, kept (None is not kept)."""
    kept = COMPILED.get(digest)
    if kept is not None:
        return kept.decode("utf-8")
    text = make()
    if text is not None:
        COMPILED.put(digest, text.encode("utf-8"))
    return text


def _kept_json(digest: str, valid) -> object | None:
    """What COMPILED keeps under `digest` as JSON, if it reads and `valid` accepts it."""
    data = COMPILED.get(digest)
    try:
        kept = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return kept if kept is not None and valid(kept) else None


# Under `mkdocs serve` every edit rebuilds every page, most of them unchanged. Two parts of
# a page's build are pure functions of what the page holds, so a rebuild in the same process
# reuses them for the pages whose text did not change (the first build does all the work):
# mkdocs-macros compiling the page's Markdown as a Jinja template, and Material's search
# plugin reading the rendered page into index entries. Both keyed by the page's whole text.
_KEEP = 64                               # entries kept of each: the pages, and some edits
_PAGE_CODE: dict[tuple, object] = {}
_SEARCH_ENTRIES: dict[tuple, list] = {}


def _remember(store: dict, key: tuple, value):
    store[key] = value
    while len(store) > _KEEP:
        store.pop(next(iter(store)))
    return value


# A page's compiled template is also kept in COMPILED (memory, and its folder on disk) by a
# digest of its text, its settings, Python's, Jinja's and the glue's code: a build in a new
# process whose page text did not change (a warm rebuild, a cached one) reads the code instead
# of compiling the page again. The glue is in the key because Jinja may fold a filter's result
# into the code; it is looked at again at each miss, as `mkdocs serve` may be running while it
# is edited (read again only when a file's time or size changed: a build asks for it per page).
_GLUE: dict[tuple, str] = {}


def _glue() -> str:
    files = sorted(Path(__file__).resolve().parent.rglob("*.py"))
    stamp = tuple((str(p), st.st_mtime_ns, st.st_size) for p in files for st in (p.stat(),))
    if stamp not in _GLUE:
        _GLUE.clear()
        _GLUE[stamp] = fingerprint(files)
    return _GLUE[stamp]


def _page_code(digest: str):
    data = COMPILED.get(f"page-{digest}")
    try:
        return marshal.loads(data) if data is not None else None
    except (ValueError, EOFError, TypeError):
        return None


def reuse_page_templates(env: jinja2.Environment) -> None:
    """Compile each page's Markdown once per process in `env` (mkdocs-macros' environment,
    made anew for every build): a template compiled from the same text with the same
    settings is the same code."""
    if getattr(env, "_chapter_reuses", False):
        return
    original = env.compile
    settings = (env.block_start_string, env.block_end_string, env.variable_start_string,
                env.variable_end_string, env.comment_start_string, env.comment_end_string,
                env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
                env.lstrip_blocks, env.keep_trailing_newline, env.optimized,
                tuple(sorted(env.extensions)))

    def compile(source, name=None, filename=None, raw=False, defer_init=False):
        if name is not None or filename is not None or raw or defer_init or not isinstance(source, str):
            return original(source, name, filename, raw, defer_init)
        key = (source, settings)
        code = _PAGE_CODE.get(key)
        if code is None:
            digest = hashlib.sha256(repr((key, sys.version, jinja2.__version__, _glue())).encode()).hexdigest()
            code = _page_code(digest)
            if code is None:
                code = original(source)
                COMPILED.put(f"page-{digest}", marshal.dumps(code))
            _remember(_PAGE_CODE, key, code)
        return code

    env.compile = compile
    env._chapter_reuses = True


# Highlighting a code block (Pygments, through pymdownx.highlight) is a pure function of the
# code, the lexer and its options, and the formatter and its options: the same listings and
# the same evidence are highlighted on every build (a good part of a build that renders
# cached results). The HTML is kept in COMPILED (memory, and its folder on disk) by a digest of all
# of those and of both libraries' versions; a lexer or formatter whose options cannot be
# written down exactly (an object among them) is highlighted anew every time.
def _highlight_key(code: str, lexer, formatter) -> str | None:
    import pygments
    import pymdownx
    try:
        described = json.dumps([
            pygments.__version__, getattr(pymdownx, "__version__", None),
            f"{type(lexer).__module__}.{type(lexer).__qualname__}", lexer.options,
            [f"{type(f).__module__}.{type(f).__qualname__}" for f in getattr(lexer, "filters", ())],
            f"{type(formatter).__module__}.{type(formatter).__qualname__}", formatter.options, code,
        ], sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, AttributeError):
        return None
    return "hl-" + hashlib.sha256(described.encode()).hexdigest()


def _compile_rules(lexer) -> None:
    """Pygments compiles a regex lexer's rules (hundreds of patterns, tens of milliseconds)
    the first time its class is called; the get_lexer_by_name below leaves that out, so a
    block about to be highlighted has it done now."""
    from pygments.lexer import RegexLexerMeta
    cls = type(lexer)
    if isinstance(cls, RegexLexerMeta) and "_tokens" not in cls.__dict__:
        cls(**lexer.options)


def reuse_highlighting() -> None:
    """Highlight each code block once (left as it is if pymdownx.highlight no longer calls
    Pygments' highlight and get_lexer_by_name by those names). The lexer pymdownx asks for
    only names the block in the key, so it is made without compiling its rules, which are
    compiled only when a block is highlighted for want of a kept one."""
    try:
        from pymdownx import highlight as module
    except ImportError:
        return

    def make(original):
        def highlight(code, lexer, formatter, outfile=None):
            key = _highlight_key(code, lexer, formatter) if outfile is None and isinstance(code, str) else None
            if key is None:
                _compile_rules(lexer)
                return original(code, lexer, formatter, outfile)
            def made():
                _compile_rules(lexer)
                return original(code, lexer, formatter)
            return _kept_text(key, made)
        return highlight

    def make_getter(original):
        def get_lexer_by_name(_alias, **options):
            from pygments.lexer import RegexLexerMeta
            from pygments.lexers import find_lexer_class_by_name
            cls = find_lexer_class_by_name(_alias)          # ClassNotFound, as the original
            if not isinstance(cls, RegexLexerMeta):
                return original(_alias, **options)
            return type.__call__(cls, **options)          # the instance, its rules not compiled
        return get_lexer_by_name

    _wrap_once(module, "highlight", make)
    _wrap_once(module, "get_lexer_by_name", make_getter)
    _wrap_once(render, "highlighted", _kept_evidence_highlighting)


def _kept_evidence_highlighting(original):
    """render.highlighted (machine code in the claim boxes), kept like the code blocks, by
    the text, the language, Pygments' version and the glue's code (which sets the formatter)."""
    def highlighted(text, lang):
        import pygments
        key = "hl-" + hashlib.sha256(json.dumps(["render", pygments.__version__, _glue(), lang, text])
                                     .encode()).hexdigest()
        return _kept_text(key, lambda: original(text, lang))
    return highlighted


_PRE = re.compile(r"(<pre\b[^>]*>)(.*?)(</pre>)", re.S)
_SPAN = re.compile(r"</?span\b[^>]*>")


def code_without_highlighting(html: str) -> str:
    """The page's HTML with the highlighter's spans taken out of its code blocks, for the
    search indexer: inside <pre> it keeps the text as it is, so the entries are the same, but
    the spans are most of the tags its HTML parser would walk (a listing of a few hundred lines
    is thousands of them). Blocks marked for the indexer (excluded, line numbers) are left."""
    def plain(m: re.Match) -> str:
        body = m.group(2)
        if "data-search-exclude" in body or "linenodiv" in body:
            return m.group(0)
        return m.group(1) + _SPAN.sub("", body) + m.group(3)
    return _PRE.sub(plain, html)


# A page's search entries are also kept in COMPILED (memory, and its folder on disk) by a
# digest of what they are read from, Material's version, whether it segments Chinese text
# (jieba), and the glue's code (code_without_highlighting shapes what it reads): a build in
# a new process reads no unchanged page again.
def _search_digest(key: tuple) -> str:
    import material
    from material.plugins.search import plugin
    described = repr((key, getattr(material, "__version__", None), bool(getattr(plugin, "jieba", None)), _glue()))
    return "search-" + hashlib.sha256(described.encode("utf-8")).hexdigest()


def reuse_search_entries() -> None:
    """Read each rendered page into search entries once per process (Material's SearchIndex;
    left as it is if its shape is not the one this was written against)."""
    try:
        from material.plugins.search.plugin import SearchIndex
    except ImportError:
        return

    def make(original):
        def add_entry_from_context(self, page):
            entries = getattr(self, "entries", None)
            if not isinstance(entries, list):
                return original(self, page)
            key = (page.url, page.title, page.content, str(page.toc), repr(page.meta))
            kept = _SEARCH_ENTRIES.get(key)
            if kept is None:
                digest = _search_digest(key)
                kept = _kept_json(digest, lambda v: isinstance(v, list) and all(isinstance(e, dict) for e in v))
                if kept is None:
                    start = len(entries)
                    content = page.content
                    try:
                        page.content = code_without_highlighting(content)
                        original(self, page)
                    finally:
                        page.content = content
                    kept = entries[start:]
                    del entries[start:]          # added below, as a kept page's are
                    COMPILED.put(digest, json.dumps(kept).encode("utf-8"))   # key order kept: the index keeps it
                _remember(_SEARCH_ENTRIES, key, kept)
            entries.extend(copy.deepcopy(kept))
        return add_entry_from_context

    _wrap_once(SearchIndex, "add_entry_from_context", make)


# Under `mkdocs serve` every unchanged page's Markdown is converted to HTML again on each
# rebuild: a third of a rebuild here. The conversion is a pure function of the page's
# Markdown (after the macros), its place, the other files' places, the Markdown and link
# settings, and the files its snippets (pymdownx.snippets: the listings) include, so a
# rebuild in the same process reuses what it gave, the HTML, the table of contents, the title
# and the anchors, while every included file is as it was. Only a conversion that logged
# nothing and included only files is kept: a page with a warning is converted, and warns, on
# every build as before.
_PAGE_RENDERS: dict[tuple, dict] = {}
_INCLUDED: list[list[str | None]] = []     # the files snippets include, for each render under way


def _watch_snippets() -> None:
    """Note each file pymdownx.snippets includes (None for one it could not find, or a URL)."""
    try:
        from pymdownx.snippets import SnippetPreprocessor
    except ImportError:
        return
    find, fetch = SnippetPreprocessor.get_snippet_path, SnippetPreprocessor.download
    if getattr(find, "_chapter_watches", False):
        return

    def get_snippet_path(self, path):
        found = find(self, path)
        if _INCLUDED:
            _INCLUDED[-1].append(found)
        return found

    def download(self, url):
        if _INCLUDED:
            _INCLUDED[-1].append(None)       # not a file whose time can be checked: not kept
        return fetch(self, url)

    for name in ("cache_clear", "cache_info"):      # it is an lru_cache, cleared per instance
        if hasattr(fetch, name):
            setattr(download, name, getattr(fetch, name))
    get_snippet_path._chapter_watches = True
    SnippetPreprocessor.get_snippet_path = get_snippet_path
    SnippetPreprocessor.download = download


def _stamps(paths) -> dict[str, tuple[int, int]] | None:
    """Each file's time and size, or None if one is gone."""
    out = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            return None
        out[path] = (st.st_mtime_ns, st.st_size)
    return out


class _Heard(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.INFO:
            self.records.append(record)


def _with_macro_html(markdown: str, extensions: list) -> str | None:
    """The page's Markdown as its conversion sees it: each macro's token (safe_html, a new
    one on every build) replaced by the macro's HTML, and the extensions named. None when an
    extension is an object this cannot name exactly (its conversion is not kept)."""
    from . import safe_html
    names = []
    for ext in extensions:
        if isinstance(ext, str):
            names.append(ext)
        elif isinstance(ext, safe_html.ProtectExtension):
            vault = ext.vault
            markdown = vault.pattern.sub(lambda m, v=vault: f"\0{v.items[int(m.group(1))]}\0", markdown)
            names.append("chapter-protect")
        else:
            return None
    return f"{names!r}\0{markdown}"


# A page's conversion is also kept in COMPILED (memory, and its folder on disk) by a digest
# of the same key, the versions of what converts it and the glue's code: a warm or cached
# build in a new process converts only the pages whose text changed (an eighth of such a
# build's time). Its table of contents is kept as the tokens MkDocs builds it from.
def _render_digest(key: tuple) -> str:
    import markdown
    import mkdocs
    import pygments
    import pymdownx
    versions = (mkdocs.__version__, markdown.__version__, getattr(pymdownx, "__version__", None),
                pygments.__version__, sys.version)
    return "render-" + hashlib.sha256(repr((key, versions, _glue())).encode()).hexdigest()


def _toc_tokens(items) -> list[dict]:
    return [{"name": a.title, "id": a.id, "level": a.level, "children": _toc_tokens(a.children)}
            for a in items]


def _keep_render(digest: str, kept: dict) -> None:
    try:
        data = json.dumps({**kept, "toc": _toc_tokens(kept["toc"]), "anchors": sorted(kept["anchors"]),
                           "included": [[p, *st] for p, st in kept["included"].items()]})
    except (TypeError, ValueError, AttributeError):
        return
    COMPILED.put(digest, data.encode("utf-8"))


def _kept_render(digest: str) -> dict | None:
    from mkdocs.structure.toc import get_toc
    kept = _kept_json(digest, lambda k: isinstance(k, dict) and {"content", "toc", "title", "anchors",
                                                                "included"} <= set(k))
    if kept is None:
        return None
    try:
        return {**kept, "toc": get_toc(kept["toc"]), "anchors": set(kept["anchors"]),
                "included": {p: (mtime, size) for p, mtime, size in kept["included"]}}
    except (TypeError, ValueError, KeyError):
        return None


def reuse_page_renders() -> None:
    """Convert each page's Markdown once while what it depends on is unchanged, in this
    process and in later ones (left as it is if Page no longer has the shape this was
    written against)."""
    from mkdocs.structure.pages import Page
    _watch_snippets()

    def make(original):
        def render(self, config, files):
            try:
                text = _with_macro_html(self.markdown, config["markdown_extensions"])
                places = tuple((f.src_uri, f.dest_uri, str(f.inclusion)) for f in files)
                key = (self.file.src_uri, text, places, repr(config["mdx_configs"]),
                       config.use_directory_urls, repr(config.validation))
            except (AttributeError, KeyError, TypeError):
                return original(self, config, files)
            if text is None:
                return original(self, config, files)
            kept = _PAGE_RENDERS.get(key)
            digest = None if kept is not None else _render_digest(key)
            kept = kept or _kept_render(digest)
            if kept is not None and _stamps(kept["included"]) == kept["included"]:
                self.content = kept["content"]
                self.toc = copy.deepcopy(kept["toc"])
                self._title_from_render = kept["title"]
                self.present_anchor_ids = set(kept["anchors"])
                if "links" in kept:
                    self.links_to_anchors = {files.get_file_from_path(uri): dict(anchors)
                                             for uri, anchors in kept["links"].items()}
                _remember(_PAGE_RENDERS, key, kept)
                return None
            heard = _Heard()
            loggers = (logging.getLogger(), logging.getLogger("mkdocs"))
            for logger in loggers:
                logger.addHandler(heard)
            _INCLUDED.append([])
            try:
                original(self, config, files)
            finally:
                included = _INCLUDED.pop()
                for logger in loggers:
                    logger.removeHandler(heard)
            stamps = None if None in included else _stamps(included)
            if heard.records or stamps is None:
                return None
            kept = {"content": self.content, "toc": copy.deepcopy(self.toc), "title": self._title_from_render,
                    "anchors": set(self.present_anchor_ids), "included": stamps}
            links = getattr(self, "links_to_anchors", None)
            if isinstance(links, dict):
                kept["links"] = {f.src_uri: dict(anchors) for f, anchors in links.items()}
            _keep_render(digest or _render_digest(key), kept)
            _remember(_PAGE_RENDERS, key, kept)
            return None
        return render

    _wrap_once(Page, "render", make)


# MkDocs lists the theme's files on every build, filtering Material's some fourteen thousand
# (its icons, mostly) one by one: a tenth of a second of each build, and of each rebuild under
# `mkdocs serve`, where the installed theme does not change. The list is made once, kept in
# memory and in COMPILED's folder, by the theme's folders (and their times), the patterns
# that filter them, and MkDocs' and the theme's versions; a theme with a folder of overrides
# (custom_dir, which a contributor may be editing) is listed every time, as before.
_THEME_FILES: dict[tuple, list[list[str]]] = {}


def _mtime(folder: str) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def _versions() -> tuple:
    """MkDocs' and the theme package's versions: an upgrade changes the files."""
    import mkdocs
    try:
        import material
    except ImportError:
        material = None
    return getattr(mkdocs, "__version__", None), getattr(material, "__version__", None)


def reuse_theme_files() -> None:
    """List the installed theme's files once (left as it is if Files no longer has the method
    this was written against)."""
    from mkdocs import utils
    from mkdocs.structure.files import File, Files

    def pairs(value) -> bool:
        return isinstance(value, list) and all(
            isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in value)

    def make(original):
        def add_files_from_theme(self, env, config):
            if getattr(config.theme, "custom_dir", None):     # a folder of overrides, maybe being edited
                return original(self, env, config)
            dirs = tuple(str(d) for d in config.theme.dirs)
            key = (dirs, tuple(_mtime(d) for d in dirs), tuple(config.theme.static_templates),
                   tuple(utils.markdown_extensions), _versions())
            found = _THEME_FILES.get(key)
            if found is None:
                digest = "theme-" + hashlib.sha256(repr(key).encode("utf-8")).hexdigest()
                found = _kept_json(digest, pairs)
                if found is None:
                    every = Files([])            # no page of the docs to override a theme file
                    original(every, env, config)
                    found = [[f.src_uri, f.src_dir] for f in every]
                    COMPILED.put(digest, json.dumps(found).encode("utf-8"))
                _THEME_FILES[key] = found
            for path, src_dir in found:
                if self.get_file_from_path(path) is None:   # the docs' own file wins, as in MkDocs
                    self.append(File(path, src_dir, config.site_dir, config.use_directory_urls))
        return add_files_from_theme

    _wrap_once(Files, "add_files_from_theme", make)


_RENDERED_FROM: list[str] = []    # the fingerprint of the last build's inputs, if any


def fingerprint(paths: Iterable[Path]) -> str:
    """A digest of the files the pages are rendered from (missing files count as such)."""
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        h.update(str(path).encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"(missing)")
    return h.hexdigest()


def inputs_changed(now: str) -> bool:
    """Whether the pages' inputs differ from the previous build's in this process (False for
    the first build: everything is built then anyway)."""
    before = _RENDERED_FROM[-1] if _RENDERED_FROM else None
    _RENDERED_FROM[:] = [now]
    return before is not None and before != now
