"""The load check before timing, read from a fake /proc (machine.read_loadavg, read_cpu_times)."""
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


def test_before_timing_on_a_quiet_machine(tmp_path):
    root = fake_proc(tmp_path, user=1000, idle=8000)
    # During the wait, 50 ticks pass on 2 CPUs: 49 idle, 1 busy (2%).
    check = loadcheck.before_timing(root, cores=2, sleep=lambda s: write_stat(root, user=1001, idle=8049),
                                    jitter=lambda: 0.03)
    assert check["busy"] is False and check["why"] == "" and check["loop_jitter"] == 0.03
    assert check["others_share"] == pytest.approx(0.02) and check["steal_share"] == 0
    assert check["load_average"] == [0.42, 0.30, 0.20]
    assert "load average 0.42 0.30 0.20 on 2 CPUs" in loadcheck.describe(check)


def test_before_timing_on_a_busy_machine(tmp_path):
    root = fake_proc(tmp_path, user=1000, idle=8000, steal=0)
    # 100 ticks: 60 busy (another build), 30 idle, 10 stolen by the hypervisor.
    check = loadcheck.before_timing(root, cores=2, sleep=lambda s: write_stat(root, user=1060, idle=8030, steal=10),
                                    jitter=lambda: 0.03)
    assert check["busy"] is True
    assert check["others_share"] == pytest.approx(0.6) and check["steal_share"] == pytest.approx(0.1)
    assert "other programs used 60%" in check["why"] and "hypervisor took 10.0%" in check["why"]


def test_before_timing_without_proc(tmp_path):
    check = loadcheck.before_timing(tmp_path, sleep=lambda s: None, jitter=lambda: None)
    assert check["busy"] is False and check["others_share"] is None and check["load_average"] is None
    assert loadcheck.describe(check) == "/proc/loadavg and /proc/stat not readable"


def test_a_host_that_slows_this_guest_unseen_is_busy(tmp_path):
    """No steal, nothing else running, but the same loop takes 1.0 to 1.4 ms from run to run:
    other guests on the host, which the counters do not show. The check says so."""
    root = fake_proc(tmp_path, user=1000, idle=8000)
    def clock_of(durations: list[float]):
        """A clock read at the start and end of each run: runs 10 apart, each taking its duration."""
        readings = iter([t for i, d in enumerate(durations) for t in (10.0 * i, 10.0 * i + d)])
        return lambda: next(readings)
    clock = clock_of([1.0, 1.4, 1.1, 1.2, 1.3] * 9)
    varied = loadcheck.loop_jitter(runs=41, clock=clock)
    assert varied == pytest.approx((1.4 - 1.0) / 1.2)
    check = loadcheck.before_timing(root, cores=2, sleep=lambda s: write_stat(root, user=1001, idle=8049),
                                    jitter=lambda: varied)
    assert check["busy"] is True and check["others_share"] == pytest.approx(0.02)
    assert "a fixed loop's time varied by 33%" in check["why"] and "no steal is reported" in check["why"]
    assert "a fixed loop's time varying by 33%" in loadcheck.describe(check)
    assert loadcheck.loop_jitter(runs=41, clock=clock_of([1.0, 1.01, 1.02] * 14)) < loadcheck.BUSY_JITTER


def test_this_machine_reads(root):
    assert machine.read_loadavg() is not None and machine.read_cpu_times().total > 0


def test_load_summary_names_the_timed_experiments_measured_busy():
    from macros.measure.engine import load_summary
    entries = {"sum": {"load": {"busy": True, "others_share": 0.4, "why": "x"}},
               "cadd": {"load": {"busy": True, "others_share": 0.5, "why": "x"}},     # not timed
               "alloc": {"load": {"busy": False, "others_share": 0.01, "why": ""}},
               "old": {}}                                                            # cached before
    summary = load_summary(entries, None, timed={"sum", "alloc", "old"})
    assert summary == {"before_timing": None, "busy_experiments": {"sum": 0.4}, "busy": True}
    quiet = load_summary({"alloc": entries["alloc"]}, {"busy": False}, timed={"alloc"})
    assert quiet["busy"] is False and quiet["busy_experiments"] == {}
