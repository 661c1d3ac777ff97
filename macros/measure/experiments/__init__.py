"""The experiments: one module per family, each exporting EXPERIMENTS (a list of Experiment)."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Scale


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
    module: str = field(default="")          # engine module that defines it (keyed by content)


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
    return found
