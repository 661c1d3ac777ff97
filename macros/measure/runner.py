"""Running the chapter's programs under limits: wall clock, address space, CPU, no core dumps.

Every program runs in its own session (so a timeout kills the whole process group), in a
temporary working directory, with a minimal environment.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

from .errors import MeasureError

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_BYTES = 4 << 30   # address-space limit per program
MINIMAL_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED",
                    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass
class RunResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in MINIMAL_ENV_KEYS if k in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["LC_ALL"] = "C"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def _limits(memory_bytes: int | None, cpu_seconds: int | None):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        if cpu_seconds:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    return apply


def signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def run(argv: list[str], *, file: str, timeout: float = DEFAULT_TIMEOUT_S,
        memory_bytes: int | None = DEFAULT_MEMORY_BYTES, env: dict[str, str] | None = None,
        cwd: str | None = None, check: bool = True) -> RunResult:
    """Run `argv` to completion under limits; raise MeasureError naming `file` when it fails."""
    cpu = int(timeout) + 1 if timeout else None
    with tempfile.TemporaryDirectory(prefix="chapter-run-") as tmp:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, cwd=cwd or tmp, env=env if env is not None else minimal_env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    errors="replace", start_new_session=True,
                                    preexec_fn=_limits(memory_bytes, cpu))
        except OSError as exc:
            raise MeasureError(f"cannot start {argv[0]}: {exc.strerror}", file=file, kind="toolchain")
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            raise MeasureError(f"did not finish within the {timeout:g} s wall-clock limit "
                               f"(process group killed)", file=file, kind="timeout")
        except BaseException:
            _kill_group(proc)  # Ctrl-C while measuring: leave nothing running
            raise
        seconds = time.perf_counter() - start
    result = RunResult(list(argv), proc.returncode, out, err, seconds)
    if check and proc.returncode != 0:
        raise MeasureError(describe_failure(result, memory_bytes), file=file,
                           kind="memory" if _looks_like_oom(result) else "crash")
    return result


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _looks_like_oom(r: RunResult) -> bool:
    text = r.stderr.lower()
    return "memoryerror" in text or "cannot allocate memory" in text or "out of memory" in text \
        or "std::bad_alloc" in text


def describe_failure(r: RunResult, memory_bytes: int | None) -> str:
    tail = r.stderr.strip().splitlines()[-3:]
    detail = (": " + " | ".join(tail)) if tail else ""
    if r.returncode < 0:
        name = signal_name(-r.returncode)
        if name == "SIGXCPU":
            return "killed by SIGXCPU: passed its CPU-time limit" + detail
        return f"killed by {name}" + detail
    if _looks_like_oom(r) and memory_bytes:
        return f"ran out of memory under the {memory_bytes >> 20} MiB address-space limit" + detail
    return f"exited with status {r.returncode}" + detail
