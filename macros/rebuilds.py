"""What a rebuild under `mkdocs serve` may reuse from the build before it.

MkDocs reloads the config and hooks.py for every build, so state that must outlive a build
lives here, for the life of the process:

- the theme's Jinja templates, compiled once (MkDocs makes a new Jinja environment per build,
  so each edit recompiled all of Material's templates; Jinja checks each template's source
  checksum, so an edited template is compiled anew). They are also kept on disk, in the
  project's cache folder, so that the next `mkdocs build` does not compile them again either
  (a third of a warm rebuild's time);
- what the pages were rendered from (results, ledger, other machines, the glue's code), so
  that `mkdocs serve --dirty`, which rebuilds only the pages whose source changed, rebuilds
  every page when a figure may have changed under them.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

import jinja2


class _Compiled(jinja2.BytecodeCache):
    """Compiled templates in memory, by Jinja's key for each template, and in `folder` when one
    is set (Jinja refuses bytecode of another Python or of a changed source by itself)."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}
        self.folder: Path | None = None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key not in self.store and self.folder is not None:
            try:
                self.store[bucket.key] = (self.folder / bucket.key).read_bytes()
            except OSError:
                return
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store[bucket.key] = bucket.bytecode_to_string()
        if self.folder is None:
            return
        try:     # written whole, then renamed: a build running beside this one reads all or nothing
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{bucket.key}.{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, self.folder / bucket.key)
        except OSError:
            pass         # a read-only project: compiled in memory, as before


COMPILED = _Compiled()




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
