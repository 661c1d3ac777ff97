"""Running the chapter's programs under limits: wall clock, CPU, address space, file size, no cores.

Every program runs in its own session and process group, in a fresh temporary working
directory, with a minimal environment and no standard input. When it ends (or passes its
wall-clock limit, or the build is interrupted) the whole group is killed, so nothing it
started is left running; if the build itself is killed, the kernel kills the program
(PR_SET_PDEATHSIG). What it prints is kept up to a cap, so a program that prints forever
cannot fill the build's memory.
"""
from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

from .errors import MeasureError

DEFAULT_TIMEOUT_S = 120.0        # wall clock per program; CPU time is capped one second above
DEFAULT_MEMORY_BYTES = 4 << 30   # address-space limit per program (RLIMIT_AS)
DEFAULT_FILE_BYTES = 1 << 30     # largest file a program may write (RLIMIT_FSIZE)
MAX_OUTPUT_BYTES = 16 << 20      # stdout and stderr kept per program; the rest is read and dropped
MEMORY_NEAR_LIMIT = 0.75         # a failure with a peak this close to the limit is "out of memory"
MINIMAL_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED",
                    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not glibc/Linux: programs still die with their group
    _prctl = None


@dataclass
class RunResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int = 0            # bytes, the program's largest resident set; 0 when it stayed
                                 # below the build's own (counted from fork, before exec)
    truncated: bool = False      # output passed MAX_OUTPUT_BYTES and was cut


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in MINIMAL_ENV_KEYS if k in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["LC_ALL"] = "C"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def _limits(memory_bytes: int | None, cpu_seconds: int | None, parent: int):
    def apply() -> None:   # runs in the child between fork and exec
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:   # the build died before the line above
                os._exit(111)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (DEFAULT_FILE_BYTES, DEFAULT_FILE_BYTES))
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


def _drain(stream, sink: list[bytes], flags: dict) -> None:
    """Read a pipe to its end, keeping at most MAX_OUTPUT_BYTES."""
    kept = 0
    try:
        while True:
            block = stream.read(1 << 16)
            if not block:
                return
            if kept < MAX_OUTPUT_BYTES:
                block = block[:MAX_OUTPUT_BYTES - kept]
                sink.append(block)
                kept += len(block)
            else:
                flags["truncated"] = True
    except (OSError, ValueError):   # closed under us after the group was killed
        return


def run(argv: list[str], *, file: str, timeout: float | None = DEFAULT_TIMEOUT_S,
        memory_bytes: int | None = DEFAULT_MEMORY_BYTES, env: dict[str, str] | None = None,
        cwd: str | None = None, check: bool = True) -> RunResult:
    """Run `argv` to completion under limits; raise MeasureError naming `file` when it fails.

    kind of the error: "timeout" (wall clock), "memory" (address-space limit), "crash"
    (a signal or a non-zero status), "toolchain" (the program cannot be started).
    """
    cpu = int(timeout) + 1 if timeout else None
    with tempfile.TemporaryDirectory(prefix="chapter-run-", ignore_cleanup_errors=True) as tmp:
        inherited = _own_rss()
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, cwd=cwd or tmp, env=env if env is not None else minimal_env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, bufsize=0, start_new_session=True,
                                    preexec_fn=_limits(memory_bytes, cpu, os.getpid()))
        except OSError as exc:
            raise MeasureError(f"cannot start {argv[0]}: {exc.strerror}", file=file, kind="toolchain")
        out: list[bytes] = []
        err: list[bytes] = []
        flags: dict = {}
        readers = [threading.Thread(target=_drain, args=(proc.stdout, out, flags), daemon=True),
                   threading.Thread(target=_drain, args=(proc.stderr, err, flags), daemon=True)]
        exited = threading.Event()

        def wait_exit() -> None:
            # Wait without reaping: the group keeps its id until we have killed it.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            exited.set()

        waiter = threading.Thread(target=wait_exit, daemon=True)
        for t in (*readers, waiter):
            t.start()
        timed_out = False
        try:
            if not exited.wait(timeout):
                timed_out = True
        finally:
            # Normal end, timeout, or Ctrl-C in the build: whatever the program started dies too.
            _kill_group(proc.pid)
            exited.wait(10)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            for t in readers:
                t.join(5)   # a process that escaped the group may hold the pipes: stop waiting
            for stream in (proc.stdout, proc.stderr):
                stream.close()
        seconds = time.perf_counter() - start
    peak = usage.ru_maxrss * 1024
    result = RunResult(list(argv), proc.returncode, _text(out), _text(err), seconds,
                       peak_rss=peak if peak > 1.1 * inherited else 0,
                       truncated=bool(flags.get("truncated")))
    if timed_out:
        raise MeasureError(f"did not finish within the {timeout:g} s wall-clock limit; its process "
                           f"group was killed", file=file, kind="timeout")
    if check and proc.returncode != 0:
        raise MeasureError(describe_failure(result, memory_bytes), file=file,
                           kind="memory" if _is_memory(result, memory_bytes) else "crash")
    return result


def _own_rss() -> int:
    """This process's resident set: a forked child starts its high-water mark there."""
    try:
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _looks_like_oom(r: RunResult) -> bool:
    text = r.stderr.lower()
    return "memoryerror" in text or "cannot allocate memory" in text or "out of memory" in text \
        or "std::bad_alloc" in text


def _is_memory(r: RunResult, memory_bytes: int | None) -> bool:
    """Out of memory: it said so, or it failed with its resident set near the limit."""
    if r.returncode == 0:
        return False
    return _looks_like_oom(r) or bool(memory_bytes and r.peak_rss >= MEMORY_NEAR_LIMIT * memory_bytes)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


# Words in a line that says why a program failed. A tool's last lines are often advice
# ("Use --help for more information") or a summary, not the cause.
_WHY = re.compile(r"error|bad |invalid|cannot|can't|could not|couldn't|unable|not found|no such|"
                  r"unknown|unrecognized|unrecognised|not a |must |failed|failure|fatal|denied|"
                  r"refused|abort|too small|too large|too big|exceed|out of memory|segmentation|"
                  r"assert|panic|exception|usage:", re.I)
_TOOL_PREFIX = re.compile(r"^==\d+==\s*|^--\d+--\s*")   # valgrind's ==pid== / --pid-- margins
WHY_LINES = 3          # lines of a program's output kept in a failure reason
WHY_LINE_CHARS = 300   # each cut to this length


def why_lines(text: str, keep: int = WHY_LINES) -> list[str]:
    """The first lines of `text` that say why something failed (error, bad option, cannot, ...),
    at most `keep`, with valgrind's pid margins taken off; [] when no line says so. Indented
    lines (a traceback's source lines, a compiler's quoted code) count only if no other does."""
    lines = [(l[:1].isspace(), _TOOL_PREFIX.sub("", l).strip()) for l in text.splitlines()]
    said = [(indented, l[:WHY_LINE_CHARS]) for indented, l in lines if l and _WHY.search(l)]
    return ([l for indented, l in said if not indented] or [l for _, l in said])[:keep]


def describe_failure(r: RunResult, memory_bytes: int | None) -> str:
    """One line a reader can act on: what happened, then the lines of its output that say why
    (from stderr, else stdout), or failing those, the last lines of stderr."""
    tail = why_lines(r.stderr) or why_lines(r.stdout) or \
        [l[:WHY_LINE_CHARS] for l in r.stderr.strip().splitlines()[-WHY_LINES:]]
    detail = (": " + " | ".join(tail)) if tail else ""
    if r.returncode < 0:
        name = signal_name(-r.returncode)
        how = f"killed by {name}"
        if name == "SIGXCPU":
            how += " (passed its CPU-time limit)"
        elif name == "SIGXFSZ":
            how += f" (wrote a file larger than the {_mib(DEFAULT_FILE_BYTES)} limit)"
        elif name == "SIGKILL":
            how += " (not by this build's limits; perhaps the kernel's out-of-memory killer)"
    else:
        how = f"exited with status {r.returncode}"
    if _is_memory(r, memory_bytes):
        limit = f"the {_mib(memory_bytes)} address-space limit" if memory_bytes else "the machine's memory"
        peak = f" (peak resident {_mib(r.peak_rss)})" if r.peak_rss else ""
        return f"ran out of memory under {limit}{peak}, then {how}{detail}"
    return how + detail
