"""The GitHub Actions workflows: each valid against the workflow schema (check-jsonschema's
vendored copy, no network), and the publishing workflow doing what README.md says it does."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
PUBLISH = WORKFLOWS / "publish.yml"
RUNNERS = {"ubuntu-24.04", "ubuntu-24.04-arm"}


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed (pip install -r requirements-test.txt)")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_there_are_workflows():
    assert PUBLISH in workflow_files()


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflow_matches_the_schema(path):
    proc = check_jsonschema(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    """The check above can fail: steps that are not a list are refused."""
    bad = tmp_path / "broken.yml"
    bad.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps: run the tests\n")
    proc = check_jsonschema(bad)
    assert proc.returncode != 0 and "steps" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


# ---------------------------------------------------------------------- the publishing workflow

@pytest.fixture(scope="module")
def publish() -> dict:
    return yaml.safe_load(PUBLISH.read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def run_lines(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def test_triggers(publish):
    on = publish.get("on", publish.get(True))   # YAML 1.1 (PyYAML) reads a bare `on` as true
    assert on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in on


def test_measures_on_both_runners(publish):
    job = publish["jobs"]["measure"]
    assert set(job["strategy"]["matrix"]["runner"]) == RUNNERS
    assert job["runs-on"] == "${{ matrix.runner }}"
    python = steps_using(job, "actions/setup-python")[0]["with"]["python-version"]
    assert tuple(map(int, str(python).split("."))) >= (3, 11)
    runs = run_lines(job)
    assert all(pkg in runs for pkg in ("gcc", "binutils", "valgrind")), runs
    assert "pip install -r requirements.txt" in runs
    assert "python scripts/measure.py --scale full" in runs
    upload = steps_using(job, "actions/upload-artifact")
    assert len(upload) == 1 and "${{ matrix.runner }}" in upload[0]["with"]["name"], upload
    assert "results/" in upload[0]["with"]["path"]


def test_gathers_builds_and_deploys(publish):
    jobs = publish["jobs"]
    gather = jobs["gather"]
    assert gather["needs"] == "measure"
    download = steps_using(gather, "actions/download-artifact")
    assert len(download) == 1 and download[0]["with"]["path"] == "machines"
    assert "mkdocs build --strict" in run_lines(gather)
    order = [s.get("uses", "").split("@")[0] or s.get("run", "") for s in gather["steps"]]
    built = next(i for i, s in enumerate(order) if "mkdocs build" in s)
    assert order.index("actions/download-artifact") < built < order.index("actions/upload-pages-artifact")
    assert steps_using(gather, "actions/upload-pages-artifact")[0]["with"]["path"] == "site"

    deploy = jobs["deploy"]
    assert deploy["needs"] == "gather"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert steps_using(deploy, "actions/deploy-pages"), deploy["steps"]
    assert publish["concurrency"]["group"]
    assert publish["permissions"] == {"contents": "read"}


def test_every_action_is_pinned_to_a_version(publish):
    for name, job in publish["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert "@" in step["uses"], f"{name}: {step['uses']} has no version"
