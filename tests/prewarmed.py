"""`python -m mkdocs ...` for the tests, started from a process that has imported MkDocs already.

Each of the suite's sixty or so builds in a subprocess spent about 0.4 s of its second importing
MkDocs, its plugins, Markdown's extensions and Pygments before it read a page. run() hands the
command to a server (this file, run as a script) that has imported them once: it forks, and the
fork runs the command as `python` would, in the test's folder, with the test's environment and
its own stdout and stderr, then exits with the command's status. Nothing of the project is
imported before the fork (the glue and the engine are the copy's own, read afresh by each
build), nor any module that reads the environment when imported (material.templates).

A command the server cannot run as the interpreter would (other Python options, another
PYTHON* variable than the server started with) runs in a subprocess as before, and so does
every command where CHAPTER_TESTS_PREWARMED=0. Builds that a test interrupts or signals start
their own process (subprocess.Popen), as a terminal would.
"""
from __future__ import annotations

import atexit
import json
import locale
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# What a build imports that is not the project's; each pulls in its own dependencies.
PRELOAD = ("mkdocs.__main__", "mkdocs.commands.build", "mkdocs.config.defaults", "mkdocs.structure.pages",
           "mkdocs.livereload", "mkdocs_macros.plugin", "material.plugins.search.plugin",
           "markdown", "markdown.extensions.toc", "markdown.extensions.tables", "markdown.extensions.attr_list",
           "markdown.extensions.abbr", "markdown.extensions.fenced_code",
           "markdown.extensions.admonition", "markdown.extensions.codehilite", "markdown.extensions.md_in_html",
           "markdown.extensions.footnotes", "pymdownx.highlight", "pymdownx.superfences",
           "pymdownx.tabbed", "pymdownx.details", "pymdownx.inlinehilite", "pymdownx.snippets",
           "pygments.lexers.c_cpp", "pygments.lexers.python", "pygments.lexers.asm",
           "pygments.formatters.html", "pyperf", "psutil", "colorama", "difflib", "tomllib", "pkgutil", "secrets")
# Never imported before the fork: the project's own modules (each build reads its copy's) and
# those that read os.environ when imported (each build has its own).
NOT_BEFORE_THE_FORK = ("macros", "material.templates")

ENABLED = os.environ.get("CHAPTER_TESTS_PREWARMED", "1") != "0"


# ------------------------------------------------------------------ the server (run as a script)

def _serve(path: str) -> None:
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass                      # an older or newer release without it: the fork imports what it needs
    early = [m for m in sys.modules if m.split(".")[0] in NOT_BEFORE_THE_FORK or m in NOT_BEFORE_THE_FORK]
    for m in early:
        del sys.modules[m]
    import gc
    gc.freeze()          # what is imported stays out of every fork's collections: its pages stay shared
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(16)
    print("ready", flush=True)
    waiting: dict[int, socket.socket] = {}
    while True:
        ready, _, _ = select.select([listener, wake_r, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return                    # the test process is gone
        if wake_r in ready:
            os.read(wake_r, 4096)
        if listener in ready:
            conn, _ = listener.accept()
            msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 2)
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_r)
                os.close(wake_w)
                _run(json.loads(msg), fds)          # exits
            for fd in fds:
                os.close(fd)
            conn.send(f"{pid}".encode())
            waiting[pid] = conn
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is not None:
                try:
                    conn.send(f"{os.waitstatus_to_exitcode(status)}".encode())
                except OSError:
                    pass                  # the test stopped waiting for it
                conn.close()


def _run(req: dict, fds: list[int]) -> None:
    """In the fork: become `python <argv>` in `cwd` with `env`, and exit as it would."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in (null, *fds):
        os.close(fd)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    argv = req["argv"]
    import runpy
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = os.getcwd()
        sys.modules.pop(f"{argv[1]}.__main__", None)    # run afresh as __main__, as `python -m` does
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        import types
        sys.argv = ["-c", *argv[2:]]
        sys.path[0] = ""
        main = sys.modules["__main__"] = types.ModuleType("__main__")
        exec(compile(argv[1], "<string>", "exec"), main.__dict__)
    else:
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
        runpy.run_path(argv[0], run_name="__main__")
    sys.exit(0)                   # as the interpreter ends: atexit handlers, buffers flushed


# ------------------------------------------------------------------ the client (in the tests)

_lock = threading.Lock()
_server: dict[str, object] = {}


def _environment_fixed_at_start(env: dict) -> dict:
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


def _start() -> tuple[str, dict] | None:
    """The server for this test process, started on first use (None where it cannot start)."""
    with _lock:
        if "path" not in _server:
            folder = tempfile.mkdtemp(prefix="prewarmed-")
            path = os.path.join(folder, "socket")
            env = dict(os.environ)
            proc = subprocess.Popen([sys.executable, __file__, path], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, env=env, cwd=folder)
            ready = False
            for line in proc.stdout:      # an import may have printed something before
                if line == b"ready\n":
                    ready = True
                    break
            _server.update(path=path if ready else None, env=_environment_fixed_at_start(env), proc=proc)

            def stop() -> None:
                proc.stdin.close()              # the server ends when its stdin does
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                Path(path).unlink(missing_ok=True)
                os.rmdir(folder)
            atexit.register(stop)
        return (_server["path"], _server["env"]) if _server["path"] else None


def run(argv: list[str], *, cwd: Path | str, env: dict | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True,
    timeout=timeout), served by a fork of the prewarmed server where it can be."""
    env = dict(os.environ if env is None else env)
    as_python = argv[0] in ("-m", "-c") or not argv[0].startswith("-")
    server = _start() if ENABLED and as_python else None
    if server is None or _environment_fixed_at_start(env) != server[1]:
        return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    path, _ = server
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        try:
            conn.connect(path)
        except OSError:                 # the server is gone: say so, and run it the usual way
            _server["path"] = None
            print(f"prewarmed: no server at {path}; starting processes afresh", file=sys.stderr)
            return run(argv, cwd=cwd, env=env, timeout=timeout)
        req = {"argv": list(argv), "cwd": str(Path(cwd).resolve()), "env": env}
        socket.send_fds(conn, [json.dumps(req).encode()], [out.fileno(), err.fileno()])
        pid = int(conn.recv(64))
        conn.settimeout(timeout)
        try:
            code = int(conn.recv(64))
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            conn.settimeout(None)
            conn.recv(64)
            raise subprocess.TimeoutExpired([sys.executable, *argv], timeout, _read(out), _read(err)) from None
        return subprocess.CompletedProcess([sys.executable, *argv], code, _read(out), _read(err))


def _read(fh) -> str:
    """As subprocess.run(text=True) decodes: the locale's encoding, universal newlines."""
    fh.seek(0)
    text = fh.read().decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    _serve(sys.argv[1])
