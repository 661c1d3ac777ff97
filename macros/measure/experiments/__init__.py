"""The experiments: one module per family, each exporting EXPERIMENTS (a list of Experiment)."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Scale
from ..results import FactSpec


@dataclass
class Context:
    """What an experiment gets: the project root, the scale, a scratch folder, a logger."""
    root: Path
    scale: Scale
    workdir: Path
    log: Callable[[str], None]

    def src(self, rel: str) -> Path:
        return self.root / rel


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    sources: tuple[str, ...]                 # listings it compiles or runs (keyed by content)
    run: Callable[[Context], dict]           # -> {"facts": {...}, "evidence": {...}, "pyperf": suite?}
    flags: tuple[str, ...] = ()              # compiler flags it uses (part of its cache key)
    facts: tuple[FactSpec, ...] = ()         # every fact it records (results.declare)
    evidence: tuple[FactSpec, ...] = ()      # every piece of evidence it records (results.evidence)
    tools: tuple[str, ...] = ()              # programs besides the compiler it runs (objdump, valgrind)
    headline: tuple[str, ...] = ()           # the ratios its pages and claims quote: timed until
                                             # precise enough (adaptive.py), compared across builds
    without_compiler: bool = False           # runs with no C compiler, its C figures "not measured"
                                             # (else: this machine's cached result, or not measured)
    module: str = field(default="")          # engine module that defines it (keyed with its imports)

    def declarations(self) -> tuple[tuple[FactSpec, ...], tuple[FactSpec, ...]]:
        return self.facts, self.evidence


def discover() -> list[Experiment]:
    """Every Experiment of every module in this package, in module then list order."""
    found: list[Experiment] = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        for exp in getattr(mod, "EXPERIMENTS", []):
            found.append(Experiment(**{**exp.__dict__, "module": mod.__file__}))
    names = [e.name for e in found]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"experiment names defined twice: {sorted(dupes)}")
    for e in found:
        seen = [s.name for s in e.facts]
        twice = {n for n in seen if seen.count(n) > 1}
        if twice:
            raise RuntimeError(f"experiment {e.name} declares facts twice: {sorted(twice)}")
    return found


def declarations(experiments: list[Experiment]) -> dict[str, tuple[tuple[FactSpec, ...], tuple[FactSpec, ...]]]:
    """experiment name -> (declared facts, declared evidence): what results.Results reads by."""
    return {e.name: e.declarations() for e in experiments}
