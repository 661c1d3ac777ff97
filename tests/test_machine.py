"""What the machine reports (machine.py), the cache geometry cachegrind is given for it
(cachegrind.py), how far the latency sweep goes, and the line a failing tool's reason keeps.

The faked sysfs trees are real machines' geometries, as their kernels report them. Whether a
geometry is acceptable is asked of cachegrind itself, never typed in.
"""
from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from macros.measure import cachegrind as cg
from macros.measure import machine, provenance, runner
from macros.measure.errors import MeasureError
from macros.measure.experiments import cache_latency as lat
from macros.measure.machine import Cache

VALGRIND = shutil.which("valgrind")
needs_valgrind = pytest.mark.skipif(not VALGRIND, reason="valgrind not installed "
                                    "(Debian/Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind)")
K, M = 1 << 10, 1 << 20

# (level, type, size in bytes, ways, sets, line, shared_cpu_list), in sysfs index order.
MACHINES: dict[str, list[tuple]] = {
    # The VM these tests were written on: L1i unlike L1d, and an L3 of 491,520 sets.
    "intel-xeon-vm": [(1, "Data", 48 * K, 12, 64, 64, "0"), (1, "Instruction", 64 * K, 16, 64, 64, "0"),
                      (2, "Unified", 2 * M, 16, 2048, 64, "0"), (3, "Unified", 480 * M, 16, 491520, 64, "0-1")],
    "amd-epyc-vm": [(1, "Data", 32 * K, 8, 64, 64, "0-1"), (1, "Instruction", 32 * K, 8, 64, 64, "0-1"),
                    (2, "Unified", 512 * K, 8, 1024, 64, "0-1"), (3, "Unified", 32 * M, 16, 32768, 64, "0-7")],
    "intel-i7-1165g7": [(1, "Data", 48 * K, 12, 64, 64, "0,4"), (1, "Instruction", 32 * K, 8, 64, 64, "0,4"),
                        (2, "Unified", 1280 * K, 20, 1024, 64, "0,4"), (3, "Unified", 12 * M, 12, 16384, 64, "0-7")],
    # Neoverse N1: its kernel reports no L3 (the mesh's cache is not described to it).
    "graviton2": [(1, "Data", 64 * K, 4, 256, 64, "0"), (1, "Instruction", 64 * K, 4, 256, 64, "0"),
                  (2, "Unified", 1 * M, 8, 2048, 64, "0")],
    # Zen 1 (Ryzen 7 1700): a 64 KiB 4-way L1i beside a 32 KiB 8-way L1d.
    "amd-zen1": [(1, "Data", 32 * K, 8, 64, 64, "0-1"), (1, "Instruction", 64 * K, 4, 256, 64, "0-1"),
                 (2, "Unified", 512 * K, 8, 1024, 64, "0-1"), (3, "Unified", 8 * M, 16, 8192, 64, "0-7")],
    # Cascade Lake (Azure, Xeon Platinum 8272CL): a 35.75 MiB 11-way L3, 53,248 sets.
    "azure-xeon-8272cl": [(1, "Data", 32 * K, 8, 64, 64, "0-1"), (1, "Instruction", 32 * K, 8, 64, 64, "0-1"),
                          (2, "Unified", 1 * M, 16, 1024, 64, "0-1"), (3, "Unified", 36608 * K, 11, 53248, 64, "0-3")],
    # A container or board whose kernel has no cache folder at all.
    "no-cache-folder": [],
}


def write_tree(root: Path, caches: list[tuple], mem_kb: int | None = 8 << 20) -> Path:
    """A faked / with sysfs cache folders (sizes written as the kernel writes them) and meminfo."""
    if caches:
        base = root / machine.CACHE_DIR
        base.mkdir(parents=True)
        (base / "uevent").write_text("")          # sysfs has it beside the index folders
        for i, (level, kind, size, ways, sets, line, shared) in enumerate(caches):
            d = base / f"index{i}"
            d.mkdir()
            files = {"level": level, "type": kind, "size": f"{size // K}K", "ways_of_associativity": ways,
                     "number_of_sets": sets, "coherency_line_size": line, "shared_cpu_list": shared,
                     "physical_line_partition": 1}
            for name, value in files.items():
                (d / name).write_text(f"{value}\n")
    if mem_kb is not None:
        (root / "proc").mkdir(parents=True)
        (root / machine.MEMINFO).write_text(f"MemTotal:       {mem_kb} kB\nMemFree:         1234 kB\n"
                                            f"Hugepagesize:       2048 kB\n")
    return root


def as_cache(row: tuple) -> Cache:
    level, kind, size, ways, sets, line, shared = row
    return Cache(level=level, type=kind, size=size, ways=ways, sets=sets, line=line, shared_cpus=shared)


def machine_levels(rows: list[tuple]) -> dict[str, Cache | None]:
    """What cachegrind's three caches stand for on that machine, picked from the table."""
    caches = [as_cache(r) for r in rows]
    pick = lambda lv, kind: next((c for c in caches if c.level == lv and c.type == kind), None)  # noqa: E731
    upper = [c for c in caches if c.level >= 2 and c.type in ("Data", "Unified")]
    return {"I1": pick(1, "Instruction"), "D1": pick(1, "Data"),
            "LL": max(upper, key=lambda c: c.level) if upper else None}


@pytest.fixture(scope="module")
def cachegrind(tmp_path_factory):
    """run(options): cachegrind run with these options on a program that does nothing; its out
    file's text (MeasureError if refused). The program is a statically linked one where the C
    compiler can make it: cachegrind starts that in a quarter of the time it takes for a
    dynamically linked /bin/true, whose libraries' symbols it reads first. Else /bin/true. What
    the tests read, the options refused and the geometry simulated, is the same either way."""
    folder = tmp_path_factory.mktemp("cachegrind")
    (folder / "nothing.c").write_text("int main(void) { return 0; }\n")
    try:
        made = subprocess.run(["gcc", "-O2", "-static", "-o", str(folder / "nothing"), str(folder / "nothing.c")],
                              capture_output=True, timeout=60).returncode == 0
    except OSError:
        made = False
    program = str(folder / "nothing") if made else "/bin/true"
    out = folder / "cachegrind.out"

    def run(options: list[str]) -> str:
        out.unlink(missing_ok=True)
        runner.run([VALGRIND, "--tool=cachegrind", "--cache-sim=yes", *options,
                    f"--cachegrind-out-file={out}", program], file="cachegrind", timeout=60)
        return out.read_text()
    return run


def simulated(desc_text: str) -> dict[str, tuple[int, int, int]]:
    """The geometries cachegrind says it simulated (its desc: lines): name -> (size, ways, line)."""
    found = re.findall(r"^desc: (I1|D1|LL) cache:\s+(\d+) B, (\d+) B, (\d+)-way", desc_text, re.M)
    return {name: (int(size), int(ways), int(line)) for name, size, line, ways in found}


def accepted(cachegrind, options: list[str]) -> bool:
    try:
        cachegrind(options)
    except MeasureError:
        return False
    return True


# ------------------------------------------------------------------ reading the machine

@pytest.mark.parametrize("name", sorted(MACHINES))
def test_read_caches_from_a_faked_tree(tmp_path, name):
    root = write_tree(tmp_path, MACHINES[name], mem_kb=24683584)
    assert machine.read_caches(root) == [as_cache(r) for r in MACHINES[name]]
    assert machine.read_mem_total(root) == 24683584 * 1024


def test_reader_tolerates_missing_files(tmp_path):
    rows = MACHINES["graviton2"]
    base = write_tree(tmp_path, rows, mem_kb=None) / machine.CACHE_DIR
    (base / "index1" / "size").unlink()                      # an index without a size: left out
    (base / "index2" / "ways_of_associativity").unlink()     # not reported: None
    (base / "index0" / "number_of_sets").write_text("0\n")   # 0 means "not reported" too
    (base / "index3").mkdir()                                # an empty index folder
    caches = machine.read_caches(tmp_path)
    assert [(c.level, c.type) for c in caches] == [(1, "Data"), (2, "Unified")]
    assert caches[0].sets is None and caches[1].ways is None and caches[1].sets == rows[2][4]
    assert machine.read_mem_total(tmp_path) is None
    assert machine.read_caches(tmp_path / "nowhere") == []


def test_parse_size():
    assert [machine.parse_size(s) for s in ("48K", "2048K", "1M", "4096", " 12M\n", "", "3X")] == \
        [48 * K, 2 * M, M, 4096, 12 * M, None, None]


def test_provenance_keeps_its_keys(tmp_path):
    root = write_tree(tmp_path, MACHINES["amd-epyc-vm"], mem_kb=1000)
    got = provenance.cache_sizes(root)
    assert [sorted(c) for c in got] == [["level", "line", "shared_cpus", "size", "type"]] * 4
    assert [(c["level"], c["type"], c["size"], c["line"]) for c in got] == \
        [(r[0], r[1], r[2], r[5]) for r in MACHINES["amd-epyc-vm"]]
    assert provenance.memory_bytes(root) == 1000 * 1024


# ------------------------------------------------------------------ the geometry cachegrind gets

@needs_valgrind
@pytest.mark.parametrize("name", sorted(MACHINES))
def test_geometry_is_accepted_and_differs_only_with_reasons(tmp_path, cachegrind, name):
    rows = MACHINES[name]
    geo = cg.choose_geometry(machine.read_caches(write_tree(tmp_path / "root", rows)))
    assert cg.geometry_refusal(geo) is None
    # Cachegrind runs with it and says it simulated exactly that.
    sim = simulated(cachegrind(geo.options()))
    assert sim == {n: (getattr(geo, n).size, getattr(geo, n).ways, getattr(geo, n).line) for n in ("I1", "D1", "LL")}

    reported = machine_levels(rows)
    raw_ok = {}
    for n, cache in reported.items():
        if cache is not None:     # would cachegrind take this level exactly as the machine reports it?
            raw_ok[n] = accepted(cachegrind, [f"--{n}={cache.size},{cache.ways},{cache.line}"])
    exact = all(raw_ok.get(n) for n in ("I1", "D1", "LL"))
    if exact:
        assert not geo.reasons, geo.reasons
        assert all(sim[n] == (c.size, c.ways, c.line) for n, c in reported.items())
    else:
        assert geo.adjusted and geo.reasons
    for n, cache in reported.items():
        if cache is None:
            ref = cg.REFERENCE[n]
            assert geo.reasons and sim[n] == (ref.size, ref.ways, ref.line)
        elif raw_ok[n]:
            assert sim[n] == (cache.size, cache.ways, cache.line)
        else:
            # Nearest: the same line, and the same size or the same associativity; and said so.
            size, ways, line = sim[n]
            assert line == cache.line and (size == cache.size or ways == cache.ways)
            assert any(r.startswith(n) and f"{cache.sets:,} sets" in r for r in geo.reasons), geo.reasons


def test_which_machines_need_adjusting():
    """The reasons name what differs, in words a reader can check against the machine."""
    xeon = cg.choose_geometry([as_cache(r) for r in MACHINES["intel-xeon-vm"]])
    assert len(xeon.reasons) == 1 and "491,520 sets" in xeon.reasons[0] and "same size" in xeon.reasons[0]
    assert xeon.LL.size == 480 * M and xeon.I1.ways == 16 and xeon.D1.ways == 12
    azure = cg.choose_geometry([as_cache(r) for r in MACHINES["azure-xeon-8272cl"]])
    assert azure.LL.ways == 11 and "53,248 sets" in azure.reasons[0] and "instead of 35.75 MiB" in azure.reasons[0]
    none = cg.choose_geometry([])
    assert none.reasons == (f"the machine reports no caches: simulated {cg.REFERENCE_NAME}",)
    grav = cg.choose_geometry([as_cache(r) for r in MACHINES["graviton2"]])
    assert not grav.reasons and "L2, the last level this machine reports" in grav.describe()


def test_unified_l1_and_missing_levels():
    geo = cg.choose_geometry([Cache(1, "Unified", 32 * K, 8, 64, 64)])
    assert geo.I1 == geo.D1 == cg.SimCache(32 * K, 8, 64)
    assert any("unified" in r for r in geo.reasons) and any(r.startswith("no level-2") for r in geo.reasons)
    geo = cg.choose_geometry([Cache(1, "Data", 32 * K, None, 64, None), Cache(2, "Unified", M, 16, 1024, 64)])
    assert geo.D1 == cg.SimCache(32 * K, 8, 64)               # ways from the sets, the line assumed
    assert any("line size not reported" in r for r in geo.reasons)
    assert cg.geometry_refusal(geo) is None


@needs_valgrind
def test_refusal_agrees_with_cachegrind(cachegrind):
    """What cachegrind.refusal predicts, cachegrind does: one level at a time, beside valid ones."""
    cases = [(65536, 12, 64), (49152, 12, 64), (503316480, 16, 64), (503316480, 15, 64),
             (1310720, 20, 64), (32768, 8, 48), (32768, 3, 64), (64, 1, 64), (32768, 0, 64),
             (32768, 8, 128), (1 << 20, 1 << 16, 64)]
    for size, ways, line in cases:
        sim = cg.SimCache(size, ways, line)
        assert accepted(cachegrind, [f"--D1={sim.option()}"]) == (cg.refusal(sim) is None), sim


@needs_valgrind
@pytest.mark.skipif(platform.machine() != "x86_64", reason="the 32 B minimum line is x86-64's widest register")
def test_narrow_lines_stop_cachegrind(cachegrind):
    narrow = cg.Geometry(cg.SimCache(32 * K, 8, 16), cg.SimCache(32 * K, 8, 16), cg.SimCache(M, 8, 16))
    assert cg.geometry_refusal(narrow) is not None
    with pytest.raises(MeasureError) as exc:
        cachegrind(narrow.options())
    assert "minimum line size" in exc.value.reason


# ------------------------------------------------------------------ why a tool failed

@needs_valgrind
def test_failure_reason_is_the_bad_option_line(cachegrind):
    with pytest.raises(MeasureError) as exc:
        cachegrind(["--I1=65536,12,64"])
    reason = exc.value.reason
    assert reason.startswith("exited with status 1: ")
    assert "valgrind: Bad option: --I1=65536,12,64" in reason
    assert "not a power of two" in reason and "Use --help" not in reason


# valgrind 3.19's stderr for a refused option, and a Python traceback, as recorded.
VALGRIND_STDERR = """valgrind: Cache set count is not a power of two.
valgrind: Bad option: --I1=65536,12,64
valgrind: Bad argument '65536,12,64'
valgrind: Use --help for more information or consult the user manual.
"""
CACHEGRIND_STOP = """==12181== Cachegrind, a cache and branch-prediction profiler
==12181== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote et al.
==12181== Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info
==12181== Command: /bin/true
==12181==
==12181== Cachegrind: cannot continue: the minimum line size (16)
==12181==   must be equal to or larger than the maximum register size (32)
==12181==   but it is not.  Exiting now.
"""
TRACEBACK = """Traceback (most recent call last):
  File "<string>", line 1, in <module>
  File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
"""


def test_why_lines_on_recorded_output():
    assert runner.why_lines(VALGRIND_STDERR) == ["valgrind: Cache set count is not a power of two.",
                                                 "valgrind: Bad option: --I1=65536,12,64",
                                                 "valgrind: Bad argument '65536,12,64'"]
    assert runner.why_lines(CACHEGRIND_STOP) == [
        "Cachegrind: cannot continue: the minimum line size (16)",
        "must be equal to or larger than the maximum register size (32)"]
    assert runner.why_lines(TRACEBACK) == [TRACEBACK.splitlines()[-1]]
    assert runner.why_lines("all good\n3 items\n") == []
    failed = runner.RunResult(["x"], 2, "", "giving up\nfor today\n", 0.0)
    assert runner.describe_failure(failed, None) == "exited with status 2: giving up | for today"


# ------------------------------------------------------------------ how far the latency sweep goes

@pytest.mark.parametrize("name", sorted(MACHINES))
def test_latency_sweep_bounds(name):
    llc = machine.last_level([as_cache(r) for r in MACHINES[name]])
    llc_dict = {"level": llc.level, "size": llc.size} if llc else None
    for scale, floor in (("quick", 64 * M), ("full", 512 * M)):
        for mem, limit in ((24683584 * K, 4 << 30), (1 << 30, 4 << 30), (64 << 30, 1 << 30), (None, None)):
            largest, why = lat.largest_working_set(floor, llc_dict, scale, mem, limit)
            wanted = max(floor, 2 * llc.size) if llc else floor
            bounds = [b for b in (lat.QUICK_LARGEST if scale == "quick" else None,
                                  mem // lat.MEMORY_SHARE if mem else None,
                                  limit // lat.ADDRESS_SHARE if limit else None) if b]
            assert largest <= min([wanted, *bounds]) and largest > min([wanted, *bounds]) - M
            assert why.startswith(lat.nbytes(largest) + ": ")
            if largest < wanted - M:
                assert "short of" in why
            else:
                assert "short of" not in why and ("twice the reported" in why) == (wanted > floor)


# ------------------------------------------------------------------ the cachesim experiment records it

@needs_valgrind
@pytest.mark.listing("csrc/array_vs_list.c")
@pytest.mark.parametrize("name", ["azure-xeon-8272cl", "amd-epyc-vm"])
def test_cachesim_records_the_simulated_geometry(root, tmp_path, monkeypatch, name):
    from macros.measure.config import SCALES
    from macros.measure.experiments import Context
    from macros.measure.experiments import cache_locality as loc
    caches = [as_cache(r) for r in MACHINES[name]]
    monkeypatch.setattr(loc.machine, "read_caches", lambda root=None: caches)
    out = loc.run_cachesim(Context(root=root, scale=SCALES["quick"], workdir=tmp_path, log=lambda m: None))
    geo = cg.choose_geometry(caches)
    facts, evidence = out["facts"], out["evidence"]
    assert facts["simulated_geometry"]["value"] == geo.describe()
    assert facts["geometry_adjusted"]["value"] is bool(geo.reasons)
    assert " ".join(geo.options()) in evidence["summary"]
    if geo.reasons:
        assert evidence["geometry_notes"].splitlines() == list(geo.reasons)
    else:
        assert "machine's own" in evidence["geometry_notes"]


# ------------------------------------------------------------------ CHAPTER_SYSFS_ROOT (a testing aid)

def test_sysfs_root_from_the_environment_reaches_every_reader(tmp_path, monkeypatch):
    root = write_tree(tmp_path / "root", MACHINES["amd-zen1"], mem_kb=4000)
    real = provenance.cache_sizes()
    monkeypatch.setenv(machine.ROOT_ENV, str(root))
    assert machine.system_root() == root
    assert [c.size for c in machine.read_caches()] == [r[2] for r in MACHINES["amd-zen1"]]
    assert machine.read_mem_total() == 4000 * 1024
    assert [c["size"] for c in provenance.cache_sizes()] == [r[2] for r in MACHINES["amd-zen1"]]
    # The latency sweep and cachegrind read the same tree, through machine.read_caches().
    assert cg.choose_geometry(machine.read_caches()).describe() == \
        cg.choose_geometry([as_cache(r) for r in MACHINES["amd-zen1"]]).describe()
    monkeypatch.delenv(machine.ROOT_ENV)
    assert machine.system_root() == Path("/") and provenance.cache_sizes() == real
