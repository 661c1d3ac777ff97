"""Results files from other machines (machines/): loaded, checked, named, one primary."""
from __future__ import annotations

import json

import pytest

from conftest import declared
from macros import machines
from macros.measure.results import RESULTS_SCHEMA, ResultsFileError


def doc(cpu: str, cc: str, py: str, mid: str, arch: str = "x86_64") -> dict:
    return {"schema": RESULTS_SCHEMA, "experiments": {},
            "provenance": {"machine_id": mid, "compiler": cc, "python": {"version": py},
                           "machine": {"cpu": cpu, "cores": 2, "arch": arch}}}


def write(tmp_path, name: str, d: dict) -> None:
    folder = tmp_path / machines.FOLDER
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(d))


def test_labels_say_whose_machine_in_words():
    assert machines.label(doc("Intel(R) Xeon(R) Processor", "gcc (Debian 12.2.0-14+deb12u1) 12.2.0",
                              "3.11.7", "a")) == "Intel Xeon (2 cores), gcc 12.2.0, Python 3.11.7"
    assert machines.label(doc("Neoverse-N1", "Ubuntu clang version 18.1.3 (1ubuntu1)", "3.12.3", "b",
                              arch="aarch64")) == "Neoverse-N1 (2 cores, aarch64), clang 18.1.3, Python 3.12.3"


def test_load_pick_and_others(tmp_path):
    write(tmp_path, "amd.json", doc("AMD EPYC", "gcc 12", "3.11.7", "m-amd"))
    write(tmp_path, "intel.json", doc("Intel Xeon", "gcc 12", "3.11.7", "m-intel"))
    write(tmp_path, "intel-again.json", doc("Intel Xeon", "gcc 12", "3.11.7", "m-intel"))
    (tmp_path / machines.FOLDER / "intel.pyperf.json").write_text("{}")   # timings: not a results file
    found = machines.load(tmp_path, declared())
    assert [m.file for m in found] == ["amd.json", "intel-again.json", "intel.json"]
    primary = machines.pick_primary(found, "intel")
    assert primary.file == "intel.json"
    assert [m.file for m in machines.others(found, primary)] == ["amd.json"]   # same machine once
    assert machines.pick_primary(found, None).file == "amd.json"
    with pytest.raises(ResultsFileError, match="CHAPTER_PRIMARY='arm': no such file in machines/; there are amd.json"):
        machines.pick_primary(found, "arm")


def test_primary_named_by_environment_or_config():
    assert machines.primary_name({"CHAPTER_PRIMARY": "x.json"}, {"chapter_primary": "y.json"}) == "x.json"
    assert machines.primary_name({}, {"chapter_primary": "y.json"}) == "y.json"
    assert machines.primary_name({}, {}) is None


def test_a_bad_file_is_named(tmp_path):
    write(tmp_path, "old.json", {**doc("X", "gcc", "3.11", "o"), "schema": 1})
    with pytest.raises(ResultsFileError, match=r"machines/old.json: results schema 1, this version reads"):
        machines.load(tmp_path, declared())


def test_no_machines_and_nothing_measured(tmp_path):
    with pytest.raises(ResultsFileError, match="machines/ holds no results file"):
        machines.pick_primary(machines.load(tmp_path, declared()), None)
