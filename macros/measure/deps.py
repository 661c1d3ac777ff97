"""Which engine modules an experiment's result depends on, found from the code itself.

An experiment depends on its own module, on every engine module that module imports (followed
transitively), on the scripts of the engine it runs as programs (named in the code as
"x.py"), and on record.py, which turns its output into the stored record. The orchestration
(engine.py, cache.py) decides what to measure and where to keep it, never what a result
says, so it is no experiment's dependency. Nothing here is a list kept by hand.
"""
from __future__ import annotations

import ast
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


def _direct(pkg_dir: Path, path: Path) -> set[Path]:
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _dotted(pkg_dir, path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[Path] = set()

    def add(dotted: str) -> None:
        f = _module_file(pkg_dir, dotted)
        if f is not None and f != path:
            found.add(f)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            add(mod)
            for alias in node.names:     # from . import runner: runner is a module
                add(f"{mod}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".py"):
            script = path.parent / node.value
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
    experiment's key digests the engine files it depends on, most of them shared."""
    st = path.stat()
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = digest(path.read_bytes())
    return _DIGESTS[key]


def clear() -> None:
    """Forget parsed modules and digests (a test that edits a file within one clock tick calls it)."""
    _DIRECT.clear()
    _DIGESTS.clear()
