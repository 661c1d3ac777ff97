"""Results measured on other machines: the files in machines/, named for readers, side by side.

Glue only: it reads results files (results.load_document checks each) and never measures.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .fmt import compiler_label
from .measure.results import Results, ResultsFileError, load_document

FOLDER = "machines"
PRIMARY_ENV = "CHAPTER_PRIMARY"   # a file in machines/ to render as the primary machine


@dataclass
class Machine:
    file: str            # its file name in machines/, or "this build"
    results: Results
    label: str           # what a reader sees: CPU, cores, compiler, Python

    @property
    def id(self) -> str:
        return str(self.results.prov.get("machine_id") or self.file)

    @property
    def key(self) -> tuple:
        """One configuration: the machine, its compiler and Python, the scale."""
        p = self.results.prov
        return (self.id, p.get("compiler"), (p.get("python") or {}).get("version"),
                (p.get("scale") or {}).get("name"))


def label(doc: dict) -> str:
    """A machine in words: "Intel Xeon (2 cores), gcc 12.2.0, Python 3.11.7"."""
    p = doc.get("provenance", {})
    m = p.get("machine", {})
    cpu = str(m.get("cpu") or "an unnamed CPU").replace("(R)", "").replace("(TM)", "")
    cpu = " ".join(w for w in cpu.split() if w not in ("Processor", "CPU"))
    cc = compiler_label(p.get("compiler"))
    py = p.get("python", {}).get("version", "?")
    arch = m.get("arch")
    caches = [c for c in m.get("caches", []) if c.get("size") and not str(c.get("type", "")).startswith("Instr")]
    last = max(caches, key=lambda c: (c.get("level") or 0), default=None)
    llc = f", L{last.get('level')} {_size(last['size'])}" if last else ""
    return (f"{cpu} ({m.get('cores', '?')} cores{', ' + arch if arch and arch != 'x86_64' else ''}{llc}), "
            f"{cc}, Python {py}")


def _size(n: int) -> str:
    from .fmt import nbytes
    return nbytes(int(n))


def load(root: Path, declared: Mapping) -> list[Machine]:
    """Every results file in machines/, in name order; a bad one raises naming it."""
    folder = Path(root) / FOLDER
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name.endswith(".pyperf.json"):
            continue
        doc = load_document(path)
        out.append(Machine(path.name, Results(doc, declared), label(doc)))
    return out


def primary_name(environ: Mapping[str, str] | None = None, config_extra: Mapping | None = None) -> str | None:
    """The machines/ file named as primary: CHAPTER_PRIMARY, else mkdocs.yml extra.chapter_primary."""
    env = os.environ if environ is None else environ
    return env.get(PRIMARY_ENV) or (config_extra or {}).get("chapter_primary")


def pick_primary(machines: list[Machine], wanted: str | None) -> Machine:
    """The machine to render as primary when this build measured nothing of its own."""
    if not machines:
        raise ResultsFileError(f"{FOLDER}/ holds no results file, and this build measured nothing: "
                               f"install a C compiler, or put a results file from "
                               f"`python scripts/measure.py` in {FOLDER}/")
    if wanted is None:
        return machines[0]
    for m in machines:
        if m.file == wanted or m.file == f"{wanted}.json" or m.id == wanted:
            return m
    raise ResultsFileError(f"{PRIMARY_ENV}={wanted!r}: no such file in {FOLDER}/; there are "
                           f"{', '.join(m.file for m in machines)}")


def others(machines: list[Machine], primary: Machine) -> list[Machine]:
    """The machines shown beside the primary: not itself, and no configuration twice."""
    seen = {primary.key}
    out = []
    for m in machines:
        if m is primary or m.key in seen:
            continue
        seen.add(m.key)
        out.append(m)
    return out


def differences(a: Machine, b: Machine) -> list[str]:
    """What sets two machines apart that can change a verdict, in words."""
    pa, pb = a.results.prov, b.results.prov
    out = []
    ma, mb = pa.get("machine", {}), pb.get("machine", {})
    if ma.get("cpu") != mb.get("cpu") or ma.get("arch") != mb.get("arch"):
        out.append(f"CPU {ma.get('cpu')} against {mb.get('cpu')}")
    ca = {(c.get("level"), c.get("type"), c.get("size")) for c in ma.get("caches", [])}
    cb = {(c.get("level"), c.get("type"), c.get("size")) for c in mb.get("caches", [])}
    if ca != cb:
        out.append("different cache sizes")
    if pa.get("compiler") != pb.get("compiler"):
        out.append(f"compiler {compiler_label(pa.get('compiler'), 'none')} against "
                   f"{compiler_label(pb.get('compiler'), 'none')}")
    va, vb = (pa.get("python") or {}).get("version"), (pb.get("python") or {}).get("version")
    if va != vb:
        out.append(f"Python {va} against {vb}")
    sa, sb = (pa.get("scale") or {}).get("name"), (pb.get("scale") or {}).get("name")
    if sa != sb:
        out.append(f"scale {sa} against {sb}")
    return out
