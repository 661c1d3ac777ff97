"""Instruction counts from valgrind: the parsers on recorded output, and the sumcount experiment."""
import json
import shutil
from pathlib import Path

import pytest

from macros.measure import record, valgrind
from macros.measure.config import SCALES
from macros.measure.experiments import Context, benchmark

DATA = Path(__file__).parent / "data/valgrind"


def test_function_events_on_recorded_cachegrind():
    text = (DATA / "cachegrind-sum_loop-O2.out").read_text()
    # N_TERMS = 1000: the opaque loop runs 4 instructions per addition, plus its entry and exit;
    # the book's loop, folded at -O2, returns a constant.
    assert valgrind.function_events(text, "sum_opaque") == {"Ir": 4006}
    assert valgrind.function_events(text, "sum_book") == {"Ir": 2}
    assert valgrind.function_events(text, "no_such_function") == {"Ir": 0}


def test_part_instructions_on_recorded_callgrind(tmp_path):
    for f in DATA.glob("callgrind.out*.head"):
        shutil.copy(f, tmp_path / f.name.removesuffix(".head"))
    (tmp_path / "callgrind.out.unrelated").write_text("not a dump")
    texts = valgrind.dumps(tmp_path / "callgrind.out")
    assert len(texts) == 4
    parts = valgrind.part_instructions(texts)
    assert parts == [46622187, 21869356, 47267946, 9278875]     # start-up, n=50000, n=100000, the rest
    assert (parts[2] - parts[1]) / 50000 == pytest.approx(507.97, abs=0.01)


def test_part_without_header_is_a_tool_failure():
    with pytest.raises(Exception, match="part number"):
        valgrind.part_instructions(["events: Ir\n"])


def _ctx(root, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None)


def test_without_valgrind_the_counts_are_not_measured_with_the_reason(root, tmp_path, monkeypatch):
    monkeypatch.setattr(valgrind, "find", lambda: None)
    out = benchmark.run_sumcount(_ctx(root, tmp_path))
    facts, ev = out["facts"], out["evidence"]
    filled = record.check_output("sumcount", "benchmark.py", facts, ev, benchmark.SUMCOUNT_FACTS,
                                 benchmark.SUMCOUNT_EVIDENCE, out["missing_tools"])
    assert filled == []
    for spec in benchmark.SUMCOUNT_FACTS:
        assert "valgrind is not installed" in facts[spec.name]["not_measured"]
        assert "apt-get install valgrind" in facts[spec.name]["not_measured"]


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed (apt-get install valgrind)")
def test_counts_are_the_same_on_every_run(root, tmp_path, quick_site):
    """A second run, in this process, against the quick build's own (another process, earlier,
    with the other tests running beside it): the counts agree exactly."""
    first = json.loads(quick_site[1].read_text())["experiments"]["sumcount"]["facts"]
    second = benchmark.run_sumcount(_ctx(root, tmp_path / "b"))["facts"]
    assert first == second
    per_add = {k: f["value"] for k, f in first.items() if k.startswith("ir_per_add_")}
    assert all(v > 0 for v in per_add.values()), per_add
    # The interpreter's loop does more per addition than sum()'s, which does more than C's.
    assert per_add["ir_per_add_py_loop"] > per_add["ir_per_add_py_sum_builtin"] > per_add["ir_per_add_c_book_O0"]
