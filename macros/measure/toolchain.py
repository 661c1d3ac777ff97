"""The C toolchain: find gcc, compile listings, build cffi modules (machine code: machinecode.py)."""
from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

from .errors import MeasureError

BASE_FLAGS = ("-std=gnu11", "-Wall", "-g")


INSTALL_CC = "Debian/Ubuntu: apt-get install gcc; Fedora: dnf install gcc"
INSTALL_HEADERS = "Debian/Ubuntu: apt-get install python3-dev; Fedora: dnf install python3-devel"


def python_headers_missing(include: Path | None = None) -> str | None:
    """Why cffi cannot build a C extension for this Python, if its C headers are missing
    (distro Pythons ship them apart); None when Python.h is there."""
    folder = Path(include or sysconfig.get_paths()["include"])
    if (folder / "Python.h").is_file():
        return None
    return (f"this Python's C headers are not installed ({folder / 'Python.h'} is missing), and "
            f"cffi needs them to build the C functions it times ({INSTALL_HEADERS})")


@functools.lru_cache(maxsize=None)
def compiler() -> tuple[str, ...]:
    """The C compiler as a command: CC may hold arguments ("ccache gcc", "gcc -m64")."""
    given = os.environ.get("CC", "").strip()
    cc = given or "gcc"
    try:
        argv = shlex.split(cc)
    except ValueError as exc:
        raise MeasureError(f"CC={cc!r} cannot be read as a command ({exc}); set CC to a C compiler",
                           kind="toolchain")
    path = shutil.which(argv[0]) if argv else None
    if not path:
        named = f"{argv[0] if argv else cc!r}" + (f" (from CC={given!r})" if given and given != argv[0] else "")
        raise MeasureError(f"no C compiler: {named} is not on PATH. "
                           f"Install gcc ({INSTALL_CC}) or set CC to one; until then the C "
                           f"experiments show this machine's cached results, where there are any",
                           kind="toolchain")
    return (path, *argv[1:])


@functools.lru_cache(maxsize=None)
def compiler_version() -> str:
    try:
        out = subprocess.run([*compiler(), "--version"], capture_output=True, text=True, timeout=30)
    except MeasureError:
        return "none"
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


def compile_c(source: Path, out: Path, flags: list[str], *, root: Path,
              link: list[str] | None = None) -> Path:
    """Compile one listing to an executable; a diagnostic with file:line on failure."""
    rel = os.path.relpath(source, root)
    try:
        argv = [*compiler(), *BASE_FLAGS, *flags, "-o", str(out), rel, *(link or [])]
    except MeasureError as exc:
        raise MeasureError(exc.reason, file=rel, kind=exc.kind)
    _compile(argv, rel, flags, root)
    return out


def _compile(argv: list[str], rel: str, flags: list[str], root: Path) -> None:
    """Run the compiler; on failure, a MeasureError whose first line is gcc's first diagnostic."""
    try:
        proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MeasureError("the compiler did not finish within 120 s", file=rel, kind="compile")
    if proc.returncode != 0:
        # The first diagnostic goes on the first line: it is what a page's box shows.
        diag = [l for l in proc.stderr.splitlines() if re.match(r"^[^ ].*:\d+:\d+: (error|fatal)", l)]
        first = diag[0] if diag else (proc.stderr.strip().splitlines() or ["(no diagnostic)"])[-1]
        rest = "\n".join(diag[1:6])
        raise MeasureError(f"does not compile ({Path(argv[0]).name} {' '.join(flags)}): {first}"
                           + (f"\n{rest}" if rest else ""), file=rel, kind="compile")


def build_cffi(module: str, cdef: str, source: Path, flags: list[str], outdir: Path, *,
               root: Path) -> Path:
    """Build a cffi API-mode extension from one C file; returns the folder holding it."""
    import cffi  # engine-only dependency

    outdir.mkdir(parents=True, exist_ok=True)
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source(module, f'#include "{source.name}"\n', include_dirs=[str(source.parent)],
                   extra_compile_args=list(flags))
    rel = os.path.relpath(source, root)
    # cffi's own compiler errors print to the terminal and say only "exit code 1": check the
    # listing first, so a syntax error is reported with its file:line like any other.
    try:
        cc = compiler()
    except MeasureError as exc:
        raise MeasureError(exc.reason, file=rel, kind=exc.kind)
    _compile([*cc, *BASE_FLAGS, *flags, "-fsyntax-only", rel], rel, list(flags), root)
    headers = python_headers_missing()
    if headers:
        raise MeasureError(headers, file=rel, kind="toolchain")
    try:
        ffi.compile(tmpdir=str(outdir), verbose=False)
    except Exception as exc:  # distutils raises CompileError with the compiler's output on stderr
        raise MeasureError(f"cffi build of {module} failed: {exc}", file=rel, kind="compile")
    return outdir
