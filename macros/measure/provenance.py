"""Where figures came from: the machine, its caches, the toolchain and the interpreter."""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from . import machine as machine_facts, toolchain

LIBRARIES = ("pyperf", "cffi", "numpy", "mkdocs", "mkdocs-material",
             "mkdocs-macros-plugin", "pymdown-extensions")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cache_sizes(root: Path | None = None) -> list[dict]:
    """The caches cpu0 reports in sysfs: level, type, size in bytes, line size. A cache with no
    line size is left out, as the pages print every cache's line."""
    return [{"level": c.level, "type": c.type, "size": c.size, "line": c.line,
             "shared_cpus": c.shared_cpus}
            for c in machine_facts.read_caches(root) if c.line]


def memory_bytes(root: Path | None = None) -> int:
    """MemTotal (the same figure as sysconf's physical pages on Linux, which is the fallback)."""
    return machine_facts.read_mem_total(root) or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@functools.lru_cache(maxsize=None)
def machine() -> dict:
    """The stable facts of this machine (what makes a timing comparable)."""
    facts = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "caches": cache_sizes(),
        "memory_bytes": memory_bytes(),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "virtualised": _hypervisor(),
    }
    root = machine_facts.system_root()
    if root != Path("/"):
        # A faked tree (CHAPTER_SYSFS_ROOT): said in the results, so no page passes it off as real.
        facts["system_root"] = str(root)
    return facts


def _hypervisor() -> str | None:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return "yes" if " hypervisor" in flags else None


def python_info() -> dict:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "shared_lib": bool(sysconfig.get_config_var("Py_ENABLE_SHARED")),
        "executable": sys.executable,
    }


def fingerprint() -> str:
    """A short id for this machine: changes when its CPU, caches, memory or kernel do."""
    blob = json.dumps(machine(), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def library_versions() -> dict:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: Path) -> str | None:
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                           text=True, timeout=10).stdout.strip()
    return proc.stdout.strip() + ("+dirty" if dirty else "")


def build_time() -> _dt.datetime:
    """Now, or the time SOURCE_DATE_EPOCH gives (the reproducible-builds convention): two
    builds of the same results then write the same bytes, even a minute apart."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
    return _dt.datetime.now(_dt.timezone.utc)


def collect(root: Path, scale: dict, cflags: dict[str, list[str]]) -> dict:
    return {
        "machine": machine(),
        "machine_id": fingerprint(),
        "compiler": toolchain.compiler_version(),
        "cflags": cflags,
        "python": python_info(),
        "libraries": library_versions(),
        "date": build_time().strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit(root),
        "scale": scale,
    }
