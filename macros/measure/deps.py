"""Which engine modules an experiment's result depends on, found from the code itself.

An experiment depends on its own module, on every engine module that module imports (followed
transitively), on the scripts of the engine it runs as programs (named in the code as
"x.py"), and on record.py, which turns its output into the stored record. The orchestration
(engine.py, cache.py) decides what to measure and where to keep it, never what a result
says, so it is no experiment's dependency. Nothing here is a list kept by hand.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

PACKAGE = "macros.measure"
RECORD = "record.py"   # every result passes through it


def _module_file(pkg_dir: Path, dotted: str) -> Path | None:
    """macros.measure.x.y -> <pkg_dir>/x/y.py (or its __init__.py), if it is an engine module."""
    if not (dotted == PACKAGE or dotted.startswith(PACKAGE + ".")):
        return None
    parts = dotted[len(PACKAGE):].lstrip(".").split(".") if dotted != PACKAGE else []
    base = pkg_dir.joinpath(*parts) if parts else pkg_dir
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _dotted(pkg_dir: Path, path: Path) -> str:
    rel = path.relative_to(pkg_dir).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


_DIRECT: dict[tuple, frozenset[Path]] = {}


def direct(pkg_dir: Path, path: Path) -> set[Path]:
    """Engine files one module imports or runs, read from its syntax tree (parsed once per
    version of the file: a rebuild under `mkdocs serve` reparses only what was edited)."""
    st = path.stat()
    key = (pkg_dir, path, st.st_mtime_ns, st.st_size)
    if key not in _DIRECT:
        _DIRECT[key] = frozenset(_direct(pkg_dir, path))
    return set(_DIRECT[key])


# What each module names (modules it imports, scripts it runs), by a digest of its place in
# the package and its text. Parsing the engine's modules is a tenth of a build that only
# renders cached results, so where a file is given (keep_in) they are kept there for the
# next process; the names are resolved to files anew each time, as files may come and go.
_NAMES: dict[str, list[list[str]]] = {}
_KEPT_IN: list[Path] = []
_KEEP = 500            # entries kept on disk, the newest: every version of every module, edits and all


def keep_in(file: Path) -> None:
    """Read the names kept in `file` (if any) and keep newly parsed ones there."""
    _KEPT_IN[:] = [file]
    try:
        kept = json.loads(file.read_text())
    except (OSError, ValueError):
        return                 # none kept yet, or unreadable: parsed again
    if isinstance(kept, dict):
        _NAMES.update({k: v for k, v in kept.items() if _well_formed(v)})


def _well_formed(value) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(part, list) and all(isinstance(n, str) for n in part) for part in value))


def _names(here: str, path: Path) -> list[list[str]]:
    text = path.read_bytes()
    key = hashlib.sha256(f"{here}\0{path.name}\0".encode() + text).hexdigest()
    if key not in _NAMES:
        _NAMES[key] = _parse(here, path, text)
        if _KEPT_IN:
            try:     # written whole, then renamed: a build beside this one reads all or nothing
                _KEPT_IN[0].parent.mkdir(parents=True, exist_ok=True)
                tmp = _KEPT_IN[0].with_name(f".{_KEPT_IN[0].name}.{os.getpid()}")
                newest = dict(list(_NAMES.items())[-_KEEP:])
                tmp.write_text(json.dumps(newest))
                os.replace(tmp, _KEPT_IN[0])
            except OSError:
                pass         # a read-only project: parsed again next time
    return _NAMES[key]


def _parse(here: str, path: Path, text: bytes) -> list[list[str]]:
    """[modules imported (dotted names, relative imports made absolute), "x.py" strings]."""
    tree = ast.parse(text, filename=str(path))
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    modules: list[str] = []
    scripts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            modules.append(mod)
            modules += [f"{mod}.{alias.name}" for alias in node.names]  # from . import runner: a module
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".py"):
            scripts.append(node.value)
    return [sorted(set(modules)), sorted(set(scripts))]


def _direct(pkg_dir: Path, path: Path) -> set[Path]:
    modules, scripts = _names(_dotted(pkg_dir, path), path)
    found: set[Path] = set()
    for dotted in modules:
        f = _module_file(pkg_dir, dotted)
        if f is not None and f != path:
            found.add(f)
    for name in scripts:
        script = path.parent / name
        if script.is_file() and script.resolve().is_relative_to(pkg_dir.resolve()):
            found.add(script)
    # A package's __init__ runs before any of its modules: importing a.b imports a.
    parent_init = path.parent / "__init__.py"
    if path.name != "__init__.py" and parent_init.is_file():
        found.add(parent_init)
    return found - {pkg_dir / "__init__.py"}   # the package's own __init__ only re-exports


def _closure(pkg_dir: Path, start: tuple[Path, ...]) -> tuple[Path, ...]:
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(direct(pkg_dir, p) - seen)
    return tuple(sorted(seen))


def closure(pkg_dir: Path, module_file: Path) -> list[Path]:
    """Every engine file an experiment module's results depend on, sorted."""
    pkg_dir = Path(pkg_dir).resolve()
    return list(_closure(pkg_dir, (Path(module_file).resolve(), (pkg_dir / RECORD).resolve())))


_DIGESTS: dict[tuple, str] = {}


def file_digest(path: Path, digest: Callable[[bytes], str]) -> str:
    """`digest` of a file's bytes, read once per version of the file (as `direct`): every
    experiment's key digests its listings and the engine files it depends on, most of them
    shared, and `mkdocs serve` computes every key again on each rebuild."""
    st = path.stat()
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = digest(path.read_bytes())
    return _DIGESTS[key]


def clear() -> None:
    """Forget parsed modules and digests (a test that edits a file within one clock tick calls it)."""
    _DIRECT.clear()
    _DIGESTS.clear()
    _NAMES.clear()
    _KEPT_IN.clear()
