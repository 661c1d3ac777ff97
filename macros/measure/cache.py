"""The content-addressed cache of experiment results, beside mkdocs.yml in .chapter-cache/.

An entry's key hashes everything that can change its result. Entries carry a digest of
their own content, so a truncated or hand-edited file is refused rather than used.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator

SCHEMA = 2


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    return digest_bytes(path.read_bytes())


def engine_digest(engine_dir: Path, module_file: Path) -> str:
    """The engine code an experiment depends on, found from its imports (deps.py).

    Files are named relative to the engine, so a copy of the project keys the same.
    """
    from . import deps
    parts = [f"{p.relative_to(engine_dir.resolve())} {deps.file_digest(p, digest_bytes)}"
             for p in deps.closure(engine_dir, module_file)]
    return digest_bytes("\n".join(parts).encode())


def cache_key(*, experiment: str, sources: dict[str, str], flags: list[str], compiler: str,
              interpreter: dict, machine: str, scale: dict, engine: str) -> str:
    """Hash of everything that can change an experiment's result (pure: all inputs given)."""
    blob = json.dumps({
        "schema": SCHEMA, "experiment": experiment, "sources": sources, "flags": list(flags),
        "compiler": compiler, "interpreter": interpreter, "machine": machine, "scale": scale,
        "engine": engine,
    }, sort_keys=True).encode()
    return digest_bytes(blob)[:20]


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def atomic_write_text(path: Path, text: str) -> None:
    """Write whole or not at all: a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class CorruptEntry(Exception):
    """A cache file that cannot be trusted; the message names it and the reason."""


class LockBusy(TimeoutError):
    """Another build held the cache's lock for longer than we were willing to wait."""


STATUSES = ("ok", "failed")


class Store:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, experiment: str, key: str) -> Path:
        return self.folder / experiment / f"{key}.json"

    def save(self, experiment: str, key: str, payload: dict) -> Path:
        body = {"schema": SCHEMA, "experiment": experiment, "key": key, "payload": payload,
                "digest": digest_bytes(_canonical(payload))}
        path = self.path(experiment, key)
        atomic_write_text(path, json.dumps(body, indent=1, sort_keys=True))
        return path

    def load(self, experiment: str, key: str) -> dict | None:
        """The payload stored under key, None if absent; CorruptEntry if it cannot be trusted."""
        path = self.path(experiment, key)
        if not path.exists():
            return None
        return self._read(path, experiment, key)

    def _read(self, path: Path, experiment: str, key: str | None) -> dict:
        try:
            body = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{path}: not readable JSON ({exc}); it will be measured again")
        if not isinstance(body, dict) or body.get("schema") != SCHEMA:
            raise CorruptEntry(f"{path}: schema {body.get('schema') if isinstance(body, dict) else '?'}"
                               f" is not {SCHEMA}; it will be measured again")
        if body.get("experiment") != experiment or (key and body.get("key") != key):
            raise CorruptEntry(f"{path}: holds another experiment or key; it will be measured again")
        payload = body.get("payload")
        if not isinstance(payload, dict) or body.get("digest") != digest_bytes(_canonical(payload)):
            raise CorruptEntry(f"{path}: content does not match its digest (edited or truncated);"
                               f" it will be measured again")
        if payload.get("status") not in STATUSES or (payload["status"] == "ok" and not (
                isinstance(payload.get("facts"), dict) and isinstance(payload.get("evidence", {}), dict))):
            raise CorruptEntry(f"{path}: not a result this engine writes (status "
                               f"{payload.get('status')!r}); it will be measured again")
        return payload

    def newest(self, experiment: str, machine: str | None = None,
               with_compiler: bool = False) -> tuple[str, dict] | None:
        """The most recently written trustworthy ok entry of an experiment, whatever its key.

        With `machine`, only an entry that records it was measured on that machine; with
        `with_compiler`, only one measured with a C compiler present.
        """
        entries = sorted((self.folder / experiment).glob("*.json"), key=lambda p: p.stat().st_mtime,
                         reverse=True) if (self.folder / experiment).is_dir() else []
        for path in entries:
            try:
                payload = self._read(path, experiment, path.stem)
            except CorruptEntry:
                continue
            if payload.get("status") != "ok" or (machine is not None and payload.get("machine") != machine):
                continue
            if with_compiler and (payload.get("toolchain") or {}).get("compiler") in (None, "none"):
                continue
            return path.stem, payload
        return None

    def sweep(self) -> list[Path]:
        """Remove temporary files a killed build left behind (call with the lock held)."""
        gone = []
        for path in self.folder.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()
                gone.append(path)
        return gone

    @contextlib.contextmanager
    def lock(self, wait_s: float = 900.0, on_wait=None) -> Iterator[None]:
        """One measuring build per folder: a second one waits, then gives up with a message.

        flock: the kernel releases it when the holder dies, however it dies.
        on_wait(holder) is called once, with what the holder wrote (its pid).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "lock"
        fh = open(path, "a+")
        try:
            deadline = time.monotonic() + wait_s
            told = False
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    holder = _holder(path)
                    if not told and on_wait:
                        on_wait(holder)
                        told = True
                    if time.monotonic() >= deadline:
                        raise LockBusy(f"another build ({holder}) is measuring in {self.folder} and "
                                       f"has held {path} for more than {wait_s:g} s; wait for it to "
                                       f"finish or stop it, then build again")
                    time.sleep(0.2)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fh.close()


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "pid unknown"
    except OSError:
        return "pid unknown"
