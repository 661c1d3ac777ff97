"""The load check before timing, read from a fake /proc (machine.read_loadavg, read_cpu_times)."""
import os
import time
from pathlib import Path

import pytest

from macros.measure import loadcheck, machine

# user nice system idle iowait irq softirq steal guest guest_nice
STAT = "cpu  {user} 0 {system} {idle} {iowait} 0 0 {steal} 50 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 12345\n"


def fake_proc(root: Path, loadavg: str | None = "0.42 0.30 0.20 1/123 4567\n", **stat) -> Path:
    (root / "proc").mkdir(parents=True, exist_ok=True)
    if loadavg is not None:
        (root / "proc/loadavg").write_text(loadavg)
    if stat:
        write_stat(root, **stat)
    return root


def write_stat(root: Path, user=1000, system=500, idle=8000, iowait=100, steal=0):
    (root / "proc/stat").write_text(STAT.format(user=user, system=system, idle=idle, iowait=iowait, steal=steal))


def test_loadavg(tmp_path):
    assert machine.read_loadavg(fake_proc(tmp_path)) == (0.42, 0.30, 0.20)
    assert machine.read_loadavg(tmp_path / "nowhere") is None
    assert machine.read_loadavg(fake_proc(tmp_path / "bad", loadavg="garbage\n")) is None


def test_cpu_times_leave_guest_time_out(tmp_path):
    t = machine.read_cpu_times(fake_proc(tmp_path, user=1000, system=500, idle=8000, iowait=100, steal=40))
    # guest (50) is already part of user time: not counted twice.
    assert t == machine.CpuTimes(total=1000 + 500 + 8000 + 100 + 40, idle=8100, steal=40)
    assert t.busy == 1500


def test_cpu_times_of_an_old_kernel_without_steal(tmp_path):
    fake_proc(tmp_path)
    (tmp_path / "proc/stat").write_text("cpu  10 0 20 300 4\n")
    assert machine.read_cpu_times(tmp_path) == machine.CpuTimes(total=334, idle=304, steal=0)
    assert machine.read_cpu_times(tmp_path / "nowhere") is None


def test_shares_between_two_readings():
    a = machine.CpuTimes(total=1000, idle=800, steal=10)
    b = machine.CpuTimes(total=1200, idle=900, steal=20)
    assert machine.cpu_shares(a, b) == {"busy": pytest.approx(90 / 200), "steal": pytest.approx(10 / 200)}
    assert machine.cpu_shares(a, a) == {"busy": 0.0, "steal": 0.0}


def during(root: Path, jitter: float | None = 0.03, **stat):
    """A stand-in for the loop: while it 'runs', /proc/stat moves on to `stat`."""
    def run(interval: float) -> float | None:
        if stat:
            write_stat(root, **stat)
        return jitter
    return run


def own_cpu_of(seconds: float):
    """A clock of the check's own CPU time that advances by `seconds` over the check."""
    readings = iter([0.0, seconds])
    return lambda: next(readings)


TICK = os.sysconf("SC_CLK_TCK")


def test_before_timing_on_a_quiet_machine(tmp_path):
    root = fake_proc(tmp_path, user=1000, idle=8000)
    # 100 ticks pass on 2 CPUs: the check's own loop keeps one busy (50), 1 more is others' (1%).
    own = 50 / TICK
    check = loadcheck.before_timing(root, cores=2, jitter=during(root, user=1051, idle=8049),
                                    own_cpu=own_cpu_of(own))
    assert check["busy"] is False and check["why"] == "" and check["loop_jitter"] == 0.03
    assert check["others_share"] == pytest.approx(0.01) and check["steal_share"] == 0
    assert check["load_average"] == [0.42, 0.30, 0.20]
    assert "load average 0.42 0.30 0.20 on 2 CPUs" in loadcheck.describe(check)


def test_before_timing_on_a_busy_machine(tmp_path):
    root = fake_proc(tmp_path, user=1000, idle=8000, steal=0)
    # 200 ticks: the loop's own 50, another build's 60, 80 idle, 10 stolen by the hypervisor.
    check = loadcheck.before_timing(root, cores=2, jitter=during(root, user=1110, idle=8080, steal=10),
                                    own_cpu=own_cpu_of(50 / TICK))
    assert check["busy"] is True
    assert check["others_share"] == pytest.approx(0.3) and check["steal_share"] == pytest.approx(0.05)
    assert "other programs used 30%" in check["why"] and "hypervisor took 5.0%" in check["why"]


def test_before_timing_without_proc(tmp_path):
    check = loadcheck.before_timing(tmp_path, jitter=lambda s: None, own_cpu=own_cpu_of(0.1))
    assert check["busy"] is False and check["others_share"] is None and check["load_average"] is None
    assert loadcheck.describe(check) == "/proc/loadavg and /proc/stat not readable"


def clock_of(durations: list[float], gap: float = 0.0):
    """A clock read once when the check starts, then at the start and end of each run: runs
    `gap` apart, each taking its duration."""
    readings, t = [0.0], 0.0
    for d in durations:
        readings += [t + gap, t + gap + d]
        t += gap + d
    return lambda it=iter(readings): next(it)


def test_the_loop_is_timed_for_the_whole_window():
    """It runs until the window is over, not a fixed number of times: a burst late in the
    window is seen."""
    quiet, burst = [1.0] * 30, [1.8] * 10
    durations = quiet + burst + [1.0] * 1000
    clock = clock_of(durations)
    # A window of 40 s of 1-s loops: the 30 quiet ones and the 10 slow ones, then it stops.
    varied = loadcheck.loop_jitter(window=40.0, clock=clock, min_runs=21)
    assert varied == pytest.approx(0.8)
    # Forty runs in a row taken from its start would have said "quiet" (all 1.0).
    assert loadcheck.loop_jitter(window=20.0, clock=clock_of(durations), min_runs=21) == 0
    # However short the window, at least min_runs timings.
    assert loadcheck.loop_jitter(window=0.0, clock=clock_of([1.0] * 20 + [2.0] * 5), min_runs=25) == pytest.approx(1.0)


def test_a_host_that_slows_this_guest_unseen_is_busy(tmp_path):
    """No steal, nothing else running, but the same loop takes 1.0 to 1.4 ms from run to run:
    other guests on the host, which the counters do not show. The check says so."""
    root = fake_proc(tmp_path, user=1000, idle=8000)
    clock = clock_of([1.0, 1.4, 1.1, 1.2, 1.3] * 9, gap=0.01)
    varied = loadcheck.loop_jitter(window=50.0, clock=clock)
    assert varied == pytest.approx((1.4 - 1.0) / 1.2)
    check = loadcheck.before_timing(root, cores=2, jitter=during(root, jitter=varied, user=1051, idle=8049),
                                    own_cpu=own_cpu_of(50 / TICK))
    assert check["busy"] is True and check["others_share"] == pytest.approx(0.01)
    assert "a fixed loop's time varied by 33%" in check["why"] and "no steal is reported" in check["why"]
    assert "a fixed loop's time varying by 33%" in loadcheck.describe(check)
    assert loadcheck.loop_jitter(window=40.0, clock=clock_of([1.0, 1.01, 1.02] * 14)) < loadcheck.BUSY_JITTER


def test_the_real_check_runs_its_loop_for_the_interval():
    t0 = time.perf_counter()
    check = loadcheck.before_timing(interval=0.05)
    assert time.perf_counter() - t0 >= 0.05
    assert check["loop_jitter"] is not None and check["loop_jitter"] >= 0
    assert check["others_share"] is None or 0 <= check["others_share"] <= 1


def test_this_machine_reads(root):
    assert machine.read_loadavg() is not None and machine.read_cpu_times().total > 0


def test_load_summary_names_the_timed_experiments_measured_busy():
    from macros.measure.engine import load_summary
    entries = {"sum": {"load": {"busy": True, "others_share": 0.4, "why": "x"}},
               "cadd": {"load": {"busy": True, "others_share": 0.5, "why": "x"}},     # not timed
               "alloc": {"load": {"busy": False, "others_share": 0.01, "why": ""}},
               "old": {}}                                                            # cached before
    summary = load_summary(entries, timed={"sum", "alloc", "old"})
    assert summary == {"before_timing": None, "busy_experiments": {"sum": 0.4}, "busy": True}
    quiet = load_summary({"alloc": entries["alloc"]}, timed={"alloc"})
    assert quiet["busy"] is False and quiet["busy_experiments"] == {}


def test_load_summary_keeps_the_checks_made_before_the_figures_it_shows_were_timed():
    """A result reused by a later build keeps the check made before it was timed: a busy one
    is said, whichever build measured it; one made before an untimed experiment is not."""
    from macros.measure.engine import load_summary
    quiet = {"busy": False, "why": "", "loop_jitter": 0.04}
    busy = {"busy": True, "why": "a fixed loop's time varied by 40%", "loop_jitter": 0.4}
    calm = {"busy": False, "others_share": 0.0}
    entries = {"sum": {"load": {**calm, "before_timing": quiet}},
               "gil": {"load": {**calm, "before_timing": busy}},
               "cadd": {"load": {**calm, "before_timing": {**busy, "loop_jitter": 0.9}}}}
    summary = load_summary(entries, timed={"sum", "gil"})
    assert summary == {"before_timing": busy, "busy_experiments": {}, "busy": True}
    assert load_summary({"sum": entries["sum"]}, timed={"sum"}) == {
        "before_timing": quiet, "busy_experiments": {}, "busy": False}
    assert load_summary({"cadd": entries["cadd"]}, timed={"sum"})["busy"] is False


def test_a_build_that_reuses_every_result_says_what_the_measuring_build_said(tmp_path, monkeypatch, root):
    """The first build measures on a busy machine; the second reuses its results and
    measures nothing: its provenance still says the machine was busy, and why."""
    from macros.measure import engine
    from macros.measure.config import SCALES
    from macros.measure.experiments import Experiment
    module = str(root / "macros/measure/experiments/benchmark.py")
    timed = Experiment("sum", "t", sources=(), run=lambda c: {"facts": {}, "evidence": {}},
                       headline=("ratio",), module=module)
    monkeypatch.setattr(engine, "_discover", lambda: [timed])
    monkeypatch.setattr(engine.record, "check_output", lambda *a, **k: [])
    checks = []
    busy = {"busy": True, "why": "a fixed loop's time varied by 40%", "loop_jitter": 0.4,
            "load_average": None, "others_share": 0.0, "steal_share": 0.0}
    monkeypatch.setattr(engine.loadcheck, "before_timing", lambda: checks.append(1) or dict(busy))
    first = engine.measure(tmp_path, mode="auto", scale=SCALES["quick"])
    again = engine.measure(tmp_path, mode="auto", scale=SCALES["quick"])
    assert checks == [1], "the second build measured something"
    assert again["experiments"]["sum"]["cached"] is True
    assert first["provenance"]["load"]["before_timing"] == busy
    assert again["provenance"]["load"] == first["provenance"]["load"]
