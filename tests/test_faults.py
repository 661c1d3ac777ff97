"""Bad input and faults: nothing lost, every failure explained (issue 6).

Each test builds a throwaway copy of the project, breaks the copy (a listing that does not
compile, a test-only experiment whose program crashes, hangs or eats memory, a corrupt cache
file, a killed build...) and checks four things: the message the user sees names the file,
the experiment and the fix, with no Python traceback; what the page shows in a plain build;
that `mkdocs build --strict` fails; and that results measured earlier survive.

The test-only experiments live in one module, written into the copy's
macros/measure/experiments/ (never into the real project); their C programs go to the
copy's csrc/lab_<name>.c.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import prewarmed
from conftest import copy_project

from macros.measure import cache, engine, record, runner
from macros.measure.config import NOISY_REL_IQR, TARGET_REL_CI

# ------------------------------------------------------------------ the throwaway project

LAB_MODULE = '''"""Test-only experiments, written by tests/test_faults.py into a throwaway copy."""
from __future__ import annotations

from .. import runner, toolchain
from ..facts import fact, timing
from ..results import declare, evidence, not_measured
from . import Context, Experiment

SPECS = {specs!r}


def _make(name: str, spec: dict) -> Experiment:
    src = f"csrc/lab_{{name}}.c"

    def run(ctx: Context) -> dict:
        if spec.get("bug"):
            return {{}}["a key the experiment forgot to set"]
        exe = ctx.workdir / name
        toolchain.compile_c(ctx.src(src), exe, ["-O0"], root=ctx.root)
        values, out = [], ""
        for i in range(spec.get("runs", 1)):
            r = runner.run([str(exe), str(ctx.root / "lab-state"), str(i)], file=src,
                           timeout=spec.get("timeout", 20), memory_bytes=spec.get("memory", 256 << 20))
            values.append(r.seconds)
            out = r.stdout
        facts = {{"first_line": fact(out.splitlines()[0] if out else ""), "ran": fact(True)}}
        facts["seconds"] = timing(values) if len(values) > 1 else not_measured("one run: no spread to show")
        return {{"facts": facts, "evidence": {{"output": out}}}}
    return Experiment(name, f"test-only program {{name}}", sources=(src,), run=run, flags=("-O0",),
                      facts=declare(src, ("first_line", "text"), ("ran", "flag"), ("seconds", "seconds")),
                      evidence=evidence(src, "output"))


EXPERIMENTS = [_make(n, s) for n, s in SPECS.items()]
'''

HEAD = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n"

PROGRAMS = {
    "ok": HEAD + 'int main(void) { printf("fine\\n"); return 0; }\n',
    "segv": HEAD + 'int main(void) { volatile int *p = NULL; printf("before\\n"); fflush(stdout);'
                   ' return *p; }\n',
    "abort": HEAD + 'int main(void) { fprintf(stderr, "giving up\\n"); abort(); }\n',
    # Parent and child both sleep forever; both write their pid so the test can look for them.
    "hang": HEAD + '''
int main(int argc, char **argv) {
    char path[4096];
    pid_t child = fork();
    snprintf(path, sizeof path, "%s/%s.pid", argv[1], child == 0 ? "hang-child" : "hang-parent");
    FILE *f = fopen(path, "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
    for (;;) pause();
}
''',
    "hog": HEAD + '''
int main(void) {
    for (;;) { char *p = malloc(1 << 20); memset(p, 1, 1 << 20); }   /* no NULL check: */
}                                                                   /* as careless as can be */
''',
    # Runs while the file argv[1]/hold exists, so a test can interrupt it mid-measurement.
    "slow": HEAD + '''
int main(int argc, char **argv) {
    char hold[4096], path[4096];
    snprintf(hold, sizeof hold, "%s/hold", argv[1]);
    snprintf(path, sizeof path, "%s/slow.pid", argv[1]);
    FILE *f = fopen(path, "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
    while (access(hold, F_OK) == 0) usleep(20000);
    printf("released\\n");
    return 0;
}
''',
    "echo": HEAD + r'''
int main(void) {
    puts("<script>alert('x')</script> {{ 7 * 7 }} {% raw %} | *star* __dunder__ `tick` [a](b)");
    puts("");
    puts("| col | col |");
    puts("|-----|-----|");
    puts("# not a heading & not &amp; an entity");
    return 0;
}
''',
    # Alternate runs nap 2 ms and 30 ms: a spread no threshold can call steady.
    "jitter": HEAD + 'int main(int c, char **v) { usleep(atoi(v[2]) % 2 ? 30000 : 2000); puts("z"); return 0; }\n',
}

PAGE_FOR = {  # what docs/lab.md shows of each test-only experiment
    "echo": '{{ fig("echo.first_line") }}\n\n{{ output("echo.output") }}\n\n{{ claim("lab-echo") }}\n',
    "jitter": 'Time: {{ fig("jitter.seconds") }}.\n\n| what | time |\n|---|---|\n'
              '| nap | {{ fig("jitter.seconds", "both") }} |\n',
}

LAB_CLAIM = '''
[[claim]]
id = "lab-echo"
section = 1
statement = "Test only: a program's output is shown as text."
book = "text"
measure = "test_faults.py"
checks = [{ fact = "echo.ran", op = "true", label = "it ran" }]
show = [{ fact = "echo.first_line", label = "the first line it printed" }]
evidence = [{ ref = "echo.output", label = "what it printed" }]
'''

ENV = {"CHAPTER_SCALE": "quick", "CHAPTER_MEASURE": "auto", "NO_MKDOCS_2_WARNING": "1"}


# `python -m mkdocs`, with Python's own Ctrl-C handling whatever SIGINT disposition it inherited.
AS_FROM_A_TERMINAL = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                      "sys.argv[0] = 'mkdocs'; runpy.run_module('mkdocs', run_name='__main__', alter_sys=True)")


class Lab:
    """A throwaway copy of the project holding the real section-1 experiments (one_line.py),
    the ledger's claims on them, and the test-only experiments asked for."""

    def __init__(self, path: Path, experiments: dict[str, dict]) -> None:
        self.path = copy_project(path)
        self.state = self.path / "lab-state"
        self.state.mkdir()
        exp_dir = self.path / "macros/measure/experiments"
        for mod in exp_dir.glob("*.py"):
            if mod.name not in ("__init__.py", "one_line.py"):
                mod.unlink()
        (exp_dir / "zlab.py").write_text(LAB_MODULE.format(specs=experiments))
        for name, spec in experiments.items():
            (self.path / f"csrc/lab_{name}.c").write_text(PROGRAMS[spec.get("program", name)])
        # Pages: only what these experiments can fill.
        docs = self.path / "docs"
        for page in docs.rglob("*.md"):
            page.unlink()
        (docs / "index.md").write_text(
            "# Lab\n\nsizeof(int): {{ fig(\"cside.c_sizeof_int\") }}\n\n{{ output(\"cside.c_output\") }}\n")
        (docs / "lab.md").write_text("# Faults\n\n" + "".join(PAGE_FOR.get(n, f'{n}: {{{{ fig("{n}.first_line") }}}}\n\n')
                                                            for n in experiments))
        yml = self.path / "mkdocs.yml"
        yml.write_text(re.sub(r"^nav:\n(?:[ \t]+.*\n|[ \t]*\n)*", "nav:\n  - index.md\n  - lab.md\n",
                              yml.read_text(), flags=re.M))
        ledger = self.path / "claims.toml"
        blocks = re.split(r"(?=^\[\[claim\]\]$)", ledger.read_text(), flags=re.M)
        kept = [b for b in blocks[1:] if not re.search(r'"(?!cside\.|pyside\.)[a-z]+\.[A-Za-z_0-9]+"', b)]
        ledger.write_text(blocks[0] + "".join(kept) + (LAB_CLAIM if "echo" in experiments else ""))

    def build(self, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return prewarmed.run(["-m", "mkdocs", "build", *args], cwd=self.path,
                             env={**os.environ, **ENV, **(env or {})}, timeout=timeout)

    def measure(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """The engine alone (scripts/measure.py): what a build measures, without building pages."""
        return prewarmed.run(["scripts/measure.py", "--scale", "quick", *args],
                             cwd=self.path, env={**os.environ, **ENV, **(env or {})}, timeout=120)

    def start(self, *args: str, env: dict | None = None, log: str = "build.log") -> tuple[subprocess.Popen, Path]:
        """A build in the background, as a terminal starts one: Ctrl-C (SIGINT) interrupts it
        even when these tests run where SIGINT is ignored (a job started with `&` by a
        non-interactive shell), which the build would otherwise inherit and never see."""
        out = self.path / log
        fh = open(out, "w")
        proc = subprocess.Popen([sys.executable, "-c", AS_FROM_A_TERMINAL, "build", *args], cwd=self.path,
                                env={**os.environ, **ENV, **(env or {})}, stdout=fh, stderr=subprocess.STDOUT)
        fh.close()
        return proc, out

    def page(self, name: str) -> str:
        return (self.path / "site" / ("index.html" if name == "index" else f"{name}/index.html")).read_text()

    def store(self) -> cache.Store:
        return cache.Store(self.path / engine.CACHE_DIR / "quick")

    def entries(self, experiment: str) -> dict[str, dict]:
        """Every cache file of an experiment, loaded through the engine's own checks."""
        folder = self.store().folder / experiment
        return {p.stem: self.store().load(experiment, p.stem) for p in sorted(folder.glob("*.json"))}

    def write(self, rel: str, text: str) -> None:
        (self.path / rel).write_text(text)


def measured(log: str) -> set[str]:
    """Experiments a build measured (not taken from the cache), from its progress lines."""
    return set(re.findall(r"measuring (\w+): ", log))


def no_traceback(log: str) -> None:
    assert "Traceback" not in log and 'File "' not in log, log[-3000:]


def wait_for(predicate, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pid_in(path: Path, what: str) -> int:
    """The pid a test program writes to `path`, once the whole line is there: the file exists
    from the program's fopen, before its fprintf and fclose have filled it."""
    wait_for(lambda: path.exists() and path.read_text().endswith("\n"), 60, what)
    return int(path.read_text())


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def text_of(html_page: str) -> str:
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", html_page))


# ------------------------------------------------------------------ 1. does not compile

@pytest.mark.slow
def test_listing_that_does_not_compile(tmp_path):
    lab = Lab(tmp_path, {})
    first = lab.measure()
    assert first.returncode == 0, first.stderr[-3000:]
    good = lab.entries("cside")
    src = lab.path / "csrc/one_line.c"
    original = src.read_text()
    broken = original + "\nint broken(void) { return 1 }\n"
    line = broken.splitlines().index("int broken(void) { return 1 }") + 1
    src.write_text(broken)

    plain = lab.build()
    assert plain.returncode == 0, plain.stderr[-3000:]
    no_traceback(plain.stderr)
    msg = re.search(r"experiment cside \(csrc/one_line.c\) not measured: does not compile.*", plain.stderr)
    assert msg, plain.stderr[-3000:]
    assert f"csrc/one_line.c:{line}:" in msg.group(0)          # gcc's own file:line, on the first line
    page = text_of(lab.page("index"))
    assert "not measured" in page and f"csrc/one_line.c:{line}:" in page

    strict = lab.build("--strict")
    assert strict.returncode != 0
    assert f"csrc/one_line.c:{line}:" in strict.stderr and "cside" in strict.stderr
    no_traceback(strict.stderr)

    # The result measured before the break is still there, and is used as soon as the
    # listing is fixed: nothing is measured again.
    for key, payload in good.items():
        assert lab.store().load("cside", key) == payload
    src.write_text(original)
    fixed = lab.measure()
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert "cside" not in measured(fixed.stderr)


# ------------------------------------------------------------------ 2-4. crash, hang, memory

# The hang costs its limit in each of the two builds that run it: one second, which the
# well-behaved version of the same program, run first under the same limit, needs a thousandth of.
FAULTS = {"segv": {}, "abort": {}, "hang": {"timeout": 1}, "hog": {"memory": 512 << 20}}


@pytest.mark.slow
def test_crash_hang_and_memory(tmp_path):
    lab = Lab(tmp_path, {name: {**spec, "program": "ok"} for name, spec in FAULTS.items()})
    first = lab.measure()
    assert first.returncode == 0, first.stderr[-3000:]
    good = {name: lab.entries(name) for name in FAULTS}
    for name in FAULTS:   # the same experiments, now with programs that misbehave
        lab.write(f"csrc/lab_{name}.c", PROGRAMS[name])

    t0 = time.monotonic()
    plain = lab.build()
    elapsed = time.monotonic() - t0
    assert plain.returncode == 0, plain.stderr[-3000:]
    no_traceback(plain.stderr)
    expect = {
        "segv": r"killed by SIGSEGV",
        "abort": r"killed by SIGABRT: giving up",
        "hang": rf"did not finish within the {FAULTS['hang']['timeout']} s wall-clock limit; its process group was killed",
        "hog": r"ran out of memory under the 512 MiB address-space limit",
    }
    page = text_of(lab.page("lab"))
    for name, pattern in expect.items():
        line = re.search(rf"experiment {name} \(csrc/lab_{name}.c\) not measured: (.*)", plain.stderr)
        assert line and re.search(pattern, line.group(1)), (name, plain.stderr[-3000:])
        # A figure's place gives the reason in short; the experiment and file stay in the tooltip.
        assert re.search(rf"not measured: {pattern.split('; ')[0]}", page), name
    assert elapsed < 60   # the hang cost its limit, not forever

    # Nothing the hanging program started is left running: parent and child are gone.
    pids = [int((lab.state / f"{who}.pid").read_text()) for who in ("hang-parent", "hang-child")]
    wait_for(lambda: not any(alive(p) for p in pids), 5, "the hanging programs to be gone")

    strict = lab.build("--strict")
    assert strict.returncode != 0
    for name in expect:
        assert f"experiment {name} (csrc/lab_{name}.c) not measured" in strict.stderr
    no_traceback(strict.stderr)

    # The earlier results were not overwritten; with the programs fixed they are used again.
    for name, entries in good.items():
        for key, payload in entries.items():
            assert lab.store().load(name, key) == payload
        lab.write(f"csrc/lab_{name}.c", PROGRAMS["ok"])
    again = lab.measure()
    assert again.returncode == 0 and not measured(again.stderr) & set(FAULTS), again.stderr[-3000:]


@pytest.mark.slow
def test_runner_reports_each_fault_directly(tmp_path):
    """The runner alone: signal names, the limits, and the process group."""
    from macros.measure.errors import MeasureError
    with pytest.raises(MeasureError) as e:
        runner.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
                   file="x.py")
    assert e.value.kind == "crash" and "SIGSEGV" in e.value.reason and e.value.file == "x.py"
    with pytest.raises(MeasureError) as e:
        runner.run([sys.executable, "-c", "bytearray(1 << 30)"], file="x.py", memory_bytes=128 << 20)
    assert e.value.kind == "memory" and "128 MiB" in e.value.reason
    pidfile = tmp_path / "grandchild.pid"
    code = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
            f"'import time; time.sleep(60)']); open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)")
    with pytest.raises(MeasureError) as e:
        runner.run([sys.executable, "-c", code], file="x.py", timeout=1.5)
    assert e.value.kind == "timeout"
    wait_for(lambda: not alive(int(pidfile.read_text())), 5, "the grandchild to be killed")
    # A program that prints without end fills no memory: its output is capped.
    r = runner.run(["sh", "-c", "yes | head -c 40000000"], file="x.sh")
    assert r.truncated and len(r.stdout) == runner.MAX_OUTPUT_BYTES


# ------------------------------------------------------------------ 5. no C compiler

@pytest.mark.slow
def test_no_compiler_uses_this_machines_cache(tmp_path):
    lab = Lab(tmp_path, {})
    first = lab.measure()
    assert first.returncode == 0, first.stderr[-3000:]
    results = sorted((lab.path / "results").glob("*.quick.json"))[0]
    shown = str(json.loads(results.read_text())["experiments"]["cside"]["facts"]["c_sizeof_int"]["value"])
    compiler = next(iter(lab.entries("cside").values()))["toolchain"]["compiler"]   # gcc, or $CC
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("python3", "git"):
        os.symlink(sys.executable if tool == "python3" else "/usr/bin/git", bare / tool)
    env = {k: v for k, v in os.environ.items() if k != "CC"}
    env.update(ENV, PATH=str(bare))
    run = lambda *a, mode="auto": prewarmed.run(  # noqa: E731
        ["-m", "mkdocs", "build", *a], cwd=lab.path, env={**env, "CHAPTER_MEASURE": mode}, timeout=120)
    plain = run()
    assert plain.returncode == 0, plain.stderr[-3000:]
    no_traceback(plain.stderr)
    assert "no C compiler: 'gcc' is not on PATH" in plain.stderr
    assert re.search(r"cside: no C compiler on this machine now; figures from the cached results "
                     rf"measured .* with {re.escape(compiler)}", plain.stderr), plain.stderr[-3000:]
    page = lab.page("index")
    assert f">{shown} B<" in page                     # the cached figure, as the first run measured it
    assert "no C compiler on this machine now" in text_of(page)   # and where it came from
    assert "cside" not in measured(plain.stderr)
    cached_mode = run(mode="cached")
    assert cached_mode.returncode == 0, cached_mode.stderr[-3000:]
    assert f">{shown} B<" in lab.page("index")
    strict = run("--strict")
    assert strict.returncode != 0 and "no C compiler" in strict.stderr
    no_traceback(strict.stderr)


# ------------------------------------------------------------------ 6. corrupt cache and results

def _entry(lab: Lab, name: str) -> Path:
    files = sorted((lab.store().folder / name).glob("*.json"))
    assert len(files) == 1, files
    return files[0]


CORRUPTIONS = {
    "truncated": (lambda t: t[: len(t) // 2], "not readable JSON"),
    "another schema": (lambda t: t.replace(f'"schema": {cache.SCHEMA}', '"schema": 99'),
                       f"schema 99 is not {cache.SCHEMA}"),
    "edited by hand": (lambda t: t.replace('"value": 4', '"value": 8'), "does not match its digest"),
    "another key": (lambda t: re.sub(r'"key": "\w+"', '"key": "0000"', t), "another experiment or key"),
    "empty": (lambda t: "", "not readable JSON"),
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_store_refuses_corrupt_entries(tmp_path, how):
    store = cache.Store(tmp_path)
    path = store.save("cside", "k1", {"status": "ok", "facts": {"size": {"value": 4, "unit": "B"}},
                                      "evidence": {}})
    change, reason = CORRUPTIONS[how]
    path.write_text(change(path.read_text()))
    with pytest.raises(cache.CorruptEntry, match=re.escape(reason)) as e:
        store.load("cside", "k1")
    assert str(path) in str(e.value) and "measured again" in str(e.value)
    assert store.newest("cside") is None


@pytest.mark.slow
def test_corrupt_cache_is_refused_and_measured_again(tmp_path):
    lab = Lab(tmp_path, {})
    assert lab.measure().returncode == 0
    path = _entry(lab, "cside")
    good = json.loads(path.read_text())
    path.write_text(path.read_text().replace('"value": 4', '"value": 8'))   # sizeof(int) "edited"
    results = sorted((lab.path / "results").glob("*.quick.json"))[0]
    results.write_text(results.read_text()[:100])                          # and a truncated results file

    strict = lab.build("--strict")
    assert strict.returncode != 0          # a refused cache file is worth a warning
    no_traceback(strict.stderr)
    assert re.search(rf"{re.escape(str(path))}: content does not match its digest .*measured again",
                     strict.stderr)
    assert "cside" in measured(strict.stderr) and "pyside" not in measured(strict.stderr)
    facts = json.loads(path.read_text())["payload"]["facts"]
    assert facts["c_sizeof_int"] == good["payload"]["facts"]["c_sizeof_int"]
    assert json.loads(results.read_text())["experiments"]["cside"]["status"] == "ok"
    again = lab.measure()                  # measured again, so the next build is clean
    assert again.returncode == 0 and not measured(again.stderr) and "WARNING" not in again.stderr


# ------------------------------------------------------------------ 7. interrupted build

@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_interrupted_build_keeps_what_it_measured(tmp_path, sig):
    lab = Lab(tmp_path, {"slow": {}, "after": {"program": "ok"}})
    (lab.state / "hold").touch()
    stray = lab.store().folder / "cside" / ".0123.json.abcd.tmp"   # as left by a build killed mid-write
    stray.parent.mkdir(parents=True)
    stray.write_text('{"schema": 1, "payl')
    proc, log = lab.start()
    program = pid_in(lab.state / "slow.pid", "the slow program to start")
    proc.send_signal(sig)
    proc.wait(30)
    assert proc.returncode != 0
    wait_for(lambda: not alive(program), 5, "the interrupted program to be gone")
    text = log.read_text()
    if sig != signal.SIGKILL:      # Ctrl-C and `kill` are told; after kill -9 nobody can speak
        no_traceback(text)
        assert "interrupted while measuring slow" in text
        assert "The next build measures only slow, after" in text
    # What was measured before the interruption is in the cache, whole; nothing of slow is.
    assert lab.entries("cside") and lab.entries("pyside")
    assert not (lab.store().folder / "slow").exists() or not lab.entries("slow")
    assert set(lab.store().folder.rglob("*.tmp")) <= {stray}

    (lab.state / "hold").unlink()
    nxt = lab.measure()
    assert nxt.returncode == 0, nxt.stderr[-3000:]
    assert measured(nxt.stderr) == {"slow", "after"}
    assert not list(lab.store().folder.rglob("*.tmp"))       # the stray temporary file is swept
    assert lab.entries("slow") and lab.entries("after")


# ------------------------------------------------------------------ 8. two builds at once

@pytest.mark.slow
def test_two_builds_at_once(tmp_path):
    lab = Lab(tmp_path, {"slow": {}})
    (lab.state / "hold").touch()
    first, first_log = lab.start(log="first.log")
    wait_for(lambda: (lab.state / "slow.pid").exists(), 60, "the first build to measure")
    # A second build that will not wait refuses, with a message.
    refused = lab.build(env={"CHAPTER_LOCK_WAIT": "0.5"})
    assert refused.returncode != 0
    no_traceback(refused.stderr)
    assert re.search(rf"another build \(pid {first.pid}\) is measuring in .* wait for it to finish or "
                     rf"stop it, then build again", refused.stderr), refused.stderr[-2000:]
    # One that waits, waits, then uses what the first measured.
    second_log = lab.path / "second.log"
    with open(second_log, "w") as fh:
        second = subprocess.Popen([sys.executable, "scripts/measure.py", "--scale", "quick"], cwd=lab.path,
                                  env={**os.environ, **ENV}, stdout=fh, stderr=subprocess.STDOUT)
    wait_for(lambda: "holds the cache lock" in second_log.read_text(), 60, "the second build to wait")
    (lab.state / "hold").unlink()
    assert first.wait(60) == 0, first_log.read_text()[-3000:]
    assert second.wait(60) == 0, second_log.read_text()[-3000:]
    assert measured(first_log.read_text()) == {"cside", "pyside", "slow"}
    assert not measured(second_log.read_text()), second_log.read_text()[-3000:]
    for name in ("cside", "pyside", "slow"):
        assert all(p["status"] == "ok" for p in lab.entries(name).values())


# ------------------------------------------------------------------ 9. unknown names

@pytest.mark.slow
@pytest.mark.parametrize("expr, says", [
    ('{{ fig("cside.no_such_fact") }}', "page lab.md, line 3: unknown fact 'cside.no_such_fact': no "
                                        "experiment declares it; nearest declared: cside.c_sizeof_int"),
    ('{{ claim("py-int-sise") }}', "page lab.md, line 3: unknown claim 'py-int-sise'; nearest: py-int-size"),
])
def test_page_naming_an_unknown_figure_or_claim(tmp_path, expr, says):
    lab = Lab(tmp_path, {})
    lab.write("docs/lab.md", f"# Faults\n\nA figure: {expr}\n")
    plain = lab.build()
    assert plain.returncode == 2          # not even a plain build goes on
    assert says in plain.stderr, plain.stderr[-3000:]
    no_traceback(plain.stderr)


# ------------------------------------------------------------------ 10. output is text

@pytest.mark.slow
def test_program_output_is_shown_as_text(tmp_path):
    lab = Lab(tmp_path, {"echo": {}})
    # A Markdown link to a claim box's anchor still validates, though the box is stashed HTML.
    with open(lab.path / "docs/index.md", "a") as fh:
        fh.write("\nSee [the claim](lab.md#claim-lab-echo).\n")
    with open(lab.path / "mkdocs.yml", "a") as fh:
        fh.write("\nvalidation:\n  anchors: warn\n")
    plain = lab.build("--strict")
    assert plain.returncode == 0, plain.stderr[-3000:]
    page = lab.page("lab")
    for bad in ("<script>alert", "<em>star", "<strong>dunder", "<code>tick", '<a href="b"', "<h1 id=\"not",
                "<th>col"):
        assert bad not in page, bad
    body = text_of(page)
    line = "<script>alert('x')</script> {{ 7 * 7 }} {% raw %} | *star* __dunder__ `tick` [a](b)"
    assert body.count(line) >= 3          # inline figure, output block, claim box
    assert "| col | col |\n|-----|-----|\n# not a heading & not &amp; an entity" in body


# ------------------------------------------------------------------ 11. noisy timings

def test_mark_noisy_uses_the_documented_threshold():
    from macros.measure.facts import ratio, timing
    steady = timing([1.0, 1.0, 1.0, 1.0])
    spread = timing([1.0, 1.0 + 4 * NOISY_REL_IQR, 1.0, 1.0 + 4 * NOISY_REL_IQR])
    facts = {"steady": steady, "spread": spread, "r": ratio(spread, steady), "n": {"value": 3, "unit": None}}
    assert record.mark_noisy(facts) == ["spread", "r"]
    assert facts["steady"]["noisy"] is False and "noisy" not in facts["n"]
    assert facts["spread"]["rel_spread"] > NOISY_REL_IQR


@pytest.mark.slow
def test_noisy_timing_is_marked_and_warned(tmp_path):
    lab = Lab(tmp_path, {"jitter": {"runs": 8}})
    plain = lab.build()
    assert plain.returncode == 0, plain.stderr[-3000:]
    results = json.loads(sorted((lab.path / "results").glob("*.quick.json"))[0].read_text())
    fact = results["experiments"]["jitter"]["facts"]["seconds"]
    half_width = (fact["ci_high"] - fact["ci_low"]) / 2 / fact["value"]
    assert fact["noisy"] is True and half_width > results["noisy_rel_iqr"] == NOISY_REL_IQR
    assert fact["rel_spread"] == pytest.approx(half_width)
    assert re.search(r"WARNING\s+-\s+lab.md: figure jitter.seconds is noisy \(95% CI ±[\d.]+%, 8 values",
                     plain.stderr), plain.stderr[-2000:]
    page = lab.page("lab")
    markers = re.findall(r'<span class="noisy" title="[^"]*">noisy(: 95% CI ±[\d.]+%, 8 values)?</span>', page)
    # In the prose the marker carries the interval; in the table cell the figure already shows it.
    assert len(markers) == 2 and markers[0].startswith(": 95% CI") and markers[1] == ""
    assert "<td>" in page and page.count("<tr>") == 2     # the marker did not break the table
    strict = lab.build("--strict")
    assert strict.returncode != 0 and "is noisy" in strict.stderr
    no_traceback(strict.stderr)


def test_unknown_names_in_every_macro():
    """The same checks without a build: each lookup names the page and the name."""
    from macros.chapter import Chapter, PageError
    from conftest import results_from
    ch = Chapter(results_from({"cside.c_sizeof_int": 4}), {})
    ch.page = "p.md"
    for call, says in [(lambda: ch.fig("nosuch.fact"), "unknown fact 'nosuch.fact': no experiment declares it"),
                       (lambda: ch.raw("cside.c_sizeof_itn"), "unknown fact 'cside.c_sizeof_itn': no experiment "
                                                              "declares it; nearest declared: cside.c_sizeof_int"),
                       (lambda: ch.measured("cside.nope"), "unknown fact 'cside.nope'"),
                       (lambda: ch.output("cside.c_outptu"), "unknown evidence 'cside.c_outptu': no experiment "
                                                             "declares it; nearest declared: cside.c_output"),
                       (lambda: ch.book("nope"), "unknown claim 'nope'"),
                       (lambda: ch.verdict("nope"), "unknown claim 'nope'"),
                       (lambda: ch.fig("cside.c_sizeof_int", "bold"), "fig('cside.c_sizeof_int', 'bold'): the part")]:
        with pytest.raises(PageError, match=re.escape(f"page p.md: {says}")):
            call()


def test_undefined_name_in_a_page_is_named_without_traceback():
    from jinja2 import Environment, StrictUndefined, UndefinedError
    from mkdocs_macros.errors import format_error

    import macros.site  # noqa: F401 - registers the chapter's error formats

    class Page:
        class file:
            src_path = "p.md"
    with pytest.raises(UndefinedError) as e:
        Environment(undefined=StrictUndefined).from_string("{{ no_such_macro('x') }}").render()
    text = format_error(e.value, "", Page)
    assert text.startswith("page p.md: 'no_such_macro' is undefined") and "Traceback" not in text


def test_readme_states_the_limits_the_code_applies(root):
    """The README's limits section says what runner.py, engine.py and config.py really do."""
    text = (root / "README.md").read_text().split("## What the build runs, and its limits", 1)[1]
    text = " ".join(text.split("\n## ", 1)[0].split())

    def size(n: int) -> str:
        return f"{n >> 30} GiB" if n >= 1 << 30 else f"{n >> 20} MiB"
    for phrase in (f"{runner.DEFAULT_TIMEOUT_S:g} s per program", f"{size(runner.DEFAULT_MEMORY_BYTES)} per program",
                   f"| {size(runner.DEFAULT_FILE_BYTES)} |", f"{size(runner.MAX_OUTPUT_BYTES)} per stream",
                   f"({engine.DEFAULT_LOCK_WAIT_S:g} by default)",
                   f"half-width is more than {NOISY_REL_IQR:.0%} of its value", f"within ±{TARGET_REL_CI:.0%}",
                   '"figure … is noisy (95% CI ±…)"',
                   "PR_SET_PDEATHSIG", "/dev/null", "not a sandbox"):
        assert phrase in text, phrase
    for key in runner.MINIMAL_ENV_KEYS:
        assert key.split("_")[0] in text, key


def test_cffi_build_of_a_broken_listing_names_file_and_line(tmp_path):
    """The timed C (built through cffi) reports a syntax error like a compiled listing does."""
    from macros.measure import toolchain
    from macros.measure.errors import MeasureError
    src = tmp_path / "csrc/broken.c"
    src.parent.mkdir()
    src.write_text("long long f(void) {\n    return 1\n}\n")
    with pytest.raises(MeasureError) as e:
        toolchain.build_cffi("_broken", "long long f(void);", src, ["-O2"], tmp_path / "out", root=tmp_path)
    assert e.value.kind == "compile" and e.value.file == "csrc/broken.c"
    assert re.match(r"does not compile \(\S+ -O2\): csrc/broken.c:[23]:\d+: error", e.value.reason), e.value.reason


@pytest.mark.slow
def test_engine_bugs_are_named_not_dumped(tmp_path):
    """An experiment that raises, and an experiment module that does not even import."""
    lab = Lab(tmp_path, {"bug": {"bug": True, "program": "ok"}})
    out = lab.measure()
    assert out.returncode == 1
    no_traceback(out.stderr)
    assert re.search(r"experiment bug \(macros/measure/experiments/zlab.py\) not measured: internal error: "
                     r"KeyError: 'a key the experiment forgot to set'\n\s+fix: a bug in the experiment's module; "
                     r"`python scripts/measure.py --scale quick --only bug -v` runs it alone", out.stderr), out.stderr
    assert lab.entries("cside")          # the other experiments were measured all the same
    (lab.path / "macros/measure/experiments/zbroken.py").write_text("EXPERIMENTS = [\n")
    build = lab.build()
    assert build.returncode != 0
    no_traceback(build.stderr)
    assert re.search(r"macros/measure/experiments/zbroken.py:1: an experiment module cannot be loaded "
                     r"\(SyntaxError: .*\); fix it or move it out of macros/measure/experiments/", build.stderr), \
        build.stderr[-2000:]


def test_programs_run_in_a_temporary_folder_with_limits_and_a_minimal_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTER_TEST_SECRET", "should not leak")
    probe = ("import json, os, resource, sys; print(json.dumps({'cwd': os.getcwd(), 'env': sorted(os.environ), "
             "'core': resource.getrlimit(resource.RLIMIT_CORE), 'as': resource.getrlimit(resource.RLIMIT_AS), "
             "'cpu': resource.getrlimit(resource.RLIMIT_CPU), 'fsize': resource.getrlimit(resource.RLIMIT_FSIZE), "
             "'stdin': sys.stdin.read(), 'sid': os.getsid(0) == os.getpid()}))")
    seen = json.loads(runner.run([sys.executable, "-c", probe], file="probe.py", timeout=30).stdout)
    assert seen["cwd"] != os.getcwd() and Path(seen["cwd"]).name.startswith("chapter-run-")
    assert not Path(seen["cwd"]).exists()                  # removed afterwards
    assert set(seen["env"]) <= set(runner.MINIMAL_ENV_KEYS) | {"LC_ALL", "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}
    assert seen["core"] == [0, 0]
    assert seen["as"] == [runner.DEFAULT_MEMORY_BYTES] * 2
    assert seen["cpu"][0] == 30 + 1 and seen["fsize"][0] == runner.DEFAULT_FILE_BYTES
    assert seen["stdin"] == "" and seen["sid"]               # no input; its own session and group
