"""Supported Pythons: an older one gets one message, from pip and from the build, before any
install or import fails on it; a newer one a warning. The live tests run an old interpreter
when this machine has one (pyenv's, or python3.7..3.10 on PATH)."""
from __future__ import annotations

import glob
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from macros.measure import python_support as ps

ROOT = Path(__file__).resolve().parents[1]
GUARD = ROOT / "scripts/python-check"


def guard_module():
    spec = importlib.util.spec_from_file_location("python_check", GUARD / "python_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def first_requirement() -> str:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return next(line for line in lines if line.strip() and not line.startswith("#"))


def old_pythons() -> list[tuple[str, tuple[int, ...], str]]:
    """(path, version, its sys.executable) of each working interpreter older than the oldest
    supported one on this machine, newest first (pyenv's shims may exist and not run)."""
    found = []
    for minor in range(ps.OLDEST[1] - 1, 6, -1):
        hits = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/python3")))
        hits.append(shutil.which(f"python3.{minor}"))
        for exe in filter(None, hits):
            try:
                out = subprocess.run([exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]);"
                                      "print(sys.executable)"], capture_output=True, text=True, timeout=30)
            except OSError:
                continue
            lines = out.stdout.split("\n")
            if out.returncode == 0 and len(lines) >= 2:
                found.append((exe, tuple(int(p) for p in lines[0].split(".")), lines[1]))
                break
    return found


@pytest.mark.parametrize("version", [(3, 10, 13), (3, 7, 0), (2, 7, 18)])
def test_too_old_names_the_range_this_python_and_the_fix(version):
    msg = ps.too_old(version)
    name = ".".join(map(str, version))
    assert f"this is Python {name} " in msg
    assert f"Python {ps.OLDEST[0]}.{ps.OLDEST[1]} to {ps.NEWEST[0]}.{ps.NEWEST[1]}" in msg
    assert "apt-get install" in msg and "dnf install" in msg
    with pytest.raises(SystemExit) as exc:
        ps.require_supported(version)
    assert isinstance(exc.value, ps.UnsupportedPython) and exc.value.code == msg


@pytest.mark.parametrize("minor", range(ps.OLDEST[1], ps.NEWEST[1] + 1))
def test_supported_versions_pass_quietly(minor, caplog):
    version = (3, minor, 0)
    assert ps.too_old(version) is None and ps.untested(version) is None
    with caplog.at_level(logging.WARNING):
        ps.require_supported(version)
    assert not caplog.records


def test_newer_python_is_warned_not_stopped(caplog):
    newer = (ps.NEWEST[0], ps.NEWEST[1] + 1, 2)
    assert ps.too_old(newer) is None
    with caplog.at_level(logging.WARNING):
        ps.require_supported(newer)
    assert [r.getMessage() for r in caplog.records] == [ps.untested(newer)]
    assert f"Python 3.{ps.NEWEST[1] + 1}.2 is newer" in caplog.records[0].getMessage()


def test_this_python_is_supported():
    assert ps.OLDEST <= sys.version_info[:2] <= ps.NEWEST, sys.version


def test_pip_guard_agrees_with_the_engine():
    guard = guard_module()
    assert (guard.OLDEST, guard.NEWEST) == (ps.OLDEST, ps.NEWEST)
    # requirements.txt names the guard first, for exactly the Pythons the engine refuses.
    m = re.fullmatch(r'\./scripts/python-check ; python_version < "(\d+)\.(\d+)"', first_requirement())
    assert m and (int(m.group(1)), int(m.group(2))) == ps.OLDEST, first_requirement()
    assert (ROOT / "requirements-test.txt").read_text().splitlines()[1] == "-r requirements.txt"


def test_guard_backend_never_builds():
    """Asked by pip on a supported Python (it is not: the marker skips it), it still only stops."""
    out = subprocess.run([sys.executable, "-c", "import python_check; python_check.build_wheel('.')"],
                         cwd=GUARD, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "not a package" in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_pip_skips_the_guard_on_this_python(tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(first_requirement() + "\n")
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--isolated",
                          "-r", str(reqs)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "markers 'python_version <" in out.stdout and "Would install" not in out.stdout, out.stdout


OLD = old_pythons()


@pytest.mark.skipif(not OLD, reason="no Python older than the supported range on this machine")
def test_old_python_stops_at_pip_with_one_message():
    old = OLD[0][0]
    out = subprocess.run([old, "-m", "pip", "install", "--dry-run", "--no-index", "--isolated",
                          "-r", "requirements.txt"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert len(re.findall(r"This site needs Python 3\.\d+ to 3\.\d+; this is Python ", text)) == 1, text
    # Stopped at the guard: nothing else was even looked for.
    assert "Collecting" not in text and "No matching distribution" not in text, text


@pytest.mark.skipif(not OLD, reason="no Python older than the supported range on this machine")
@pytest.mark.parametrize("entry", [["scripts/measure.py", "--only", "pyadd"],
                                   ["-c", "import sys; sys.path.insert(0, '.'); import macros.site"]],
                         ids=["script", "build"])
def test_old_python_stops_the_engine_with_one_message(entry):
    old, version, executable = OLD[0]
    out = subprocess.run([old, *entry], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ""})
    assert out.returncode == 1 and out.stdout == "", out
    assert out.stderr.strip() == ps.too_old(version).replace(sys.executable, executable), out.stderr
