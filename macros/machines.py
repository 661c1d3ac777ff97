"""Results measured on other machines: the files in machines/, named for readers, side by side.

Glue only: it reads results files (results.load_document checks each) and never measures.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

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


def label(doc: dict) -> str:
    """A machine in words: "Intel Xeon (2 cores), gcc 12.2.0, Python 3.11.7"."""
    p = doc.get("provenance", {})
    m = p.get("machine", {})
    cpu = str(m.get("cpu") or "an unnamed CPU").replace("(R)", "").replace("(TM)", "")
    cpu = " ".join(w for w in cpu.split() if w not in ("Processor", "CPU"))
    cc = str(p.get("compiler") or "no C compiler")
    words = cc.split()
    if len(words) > 1 and words[0] in ("gcc", "clang", "cc", "Debian", "Ubuntu"):
        version = next((w for w in reversed(words) if w[:1].isdigit()), "")
        cc = f"{'clang' if 'clang' in cc else 'gcc'} {version}".strip()
    py = p.get("python", {}).get("version", "?")
    arch = m.get("arch")
    return (f"{cpu} ({m.get('cores', '?')} cores{', ' + arch if arch and arch != 'x86_64' else ''}), "
            f"{cc}, Python {py}")


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
    """The machines shown beside the primary: not itself, and not the same machine twice."""
    seen = {primary.id}
    out = []
    for m in machines:
        if m is primary or m.id in seen:
            continue
        seen.add(m.id)
        out.append(m)
    return out
