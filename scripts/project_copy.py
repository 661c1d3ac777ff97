"""A throwaway copy of the project's sources (no site, cache or results), for the tests and
the build benchmark, which must never touch the work tree they run from."""
from __future__ import annotations

import shutil
from pathlib import Path

SOURCES = ("mkdocs.yml", "docs", "macros", "csrc", "pysrc", "claims.toml", "scripts", "README.md")


def copy_project(root: Path, dest: Path, items: tuple[str, ...] = SOURCES) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in items:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest
