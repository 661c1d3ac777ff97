"""The tests' prewarmed Python (prewarmed.py) runs a command as `python` itself would."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import prewarmed

pytestmark = pytest.mark.skipif(not prewarmed.ENABLED, reason="CHAPTER_TESTS_PREWARMED=0")

# What a command can see of how it was started.
SHOW = ("import json, os, sys; print(json.dumps({'argv': sys.argv, 'path0': sys.path[0], 'cwd': os.getcwd(), "
        "'name': __name__, 'env': os.environ.get('PREWARMED_PROBE'), 'stdin': sys.stdin.read(), "
        "'early': sorted(m for m in sys.modules if m.split('.')[0] == 'macros' or m == 'material.templates')})); "
        "print('to stderr', file=sys.stderr); sys.exit(int(sys.argv[1]))")


def both(argv: list[str], tmp_path, **env: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    full = {**os.environ, **env}
    real = subprocess.run([sys.executable, *argv], cwd=tmp_path, env=full, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    return real, prewarmed.run(argv, cwd=tmp_path, env=full, timeout=60)


def test_a_command_sees_what_it_would_see_from_python(tmp_path):
    (tmp_path / "script.py").write_text(SHOW)
    for argv in (["-c", SHOW, "3", "x"], ["script.py", "0"]):
        real, warm = both(argv, tmp_path, PREWARMED_PROBE="seen")
        assert (warm.returncode, warm.stdout, warm.stderr) == (real.returncode, real.stdout, real.stderr), argv
    assert '"early": []' in warm.stdout and '"env": "seen"' in warm.stdout


def test_mkdocs_prints_and_exits_as_from_the_command_line(tmp_path):
    real, warm = both(["-m", "mkdocs", "build", "--no-such-option"], tmp_path)
    assert warm.returncode == real.returncode == 2
    assert warm.stderr == real.stderr and "No such option" in warm.stderr
    real, warm = both(["-m", "mkdocs", "--version"], tmp_path)
    assert (warm.returncode, warm.stdout) == (real.returncode, real.stdout)


def test_an_uncaught_exception_and_a_timeout(tmp_path):
    warm = prewarmed.run(["-c", "raise ValueError('shown')"], cwd=tmp_path)
    assert warm.returncode == 1 and warm.stderr.rstrip().endswith("ValueError: shown")
    with pytest.raises(subprocess.TimeoutExpired):
        prewarmed.run(["-c", "import time; print('started', flush=True); time.sleep(30)"], cwd=tmp_path,
                      timeout=0.5)


def test_what_python_fixes_at_start_runs_in_a_subprocess(tmp_path):
    """A PYTHON* variable the server did not start with (the hash seed here) takes effect."""
    code = "import sys; print(sys.flags.hash_randomization, hash('chapter'))"
    runs = {prewarmed.run(["-c", code], cwd=tmp_path, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "1", "2")}
    assert len(runs) == 2
