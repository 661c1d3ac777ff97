"""Run settings: the measuring mode and the scale, read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, asdict

from .errors import InputError

MODES = ("auto", "fresh", "cached", "stale")

# A timing is "noisy" when its interquartile range is more than this fraction of its median
# (a ratio: when its quartile bounds are that far apart relative to it). Marked when
# measured; the page shows the spread beside it and the build warns (fatal under --strict).
NOISY_REL_IQR = 0.10


@dataclass(frozen=True)
class Scale:
    name: str
    n_sum: int            # integers summed by the benchmark (the book: 10,000,000)
    processes: int        # pyperf worker processes per benchmark
    values: int           # values per worker process
    warmups: int
    min_time: float       # pyperf: minimum seconds per value
    n_nodes: int          # elements in the array-vs-list experiment
    max_chase_bytes: int  # largest working set for the latency staircase
    repeats: int          # repeats of whole-program measurements

    def as_dict(self) -> dict:
        return asdict(self)


SCALES = {
    "full": Scale("full", n_sum=10_000_000, processes=5, values=3, warmups=1, min_time=0.02,
                  n_nodes=10_000_000, max_chase_bytes=512 << 20, repeats=5),
    "quick": Scale("quick", n_sum=1_000_000, processes=2, values=2, warmups=1, min_time=0.01,
                   n_nodes=1_000_000, max_chase_bytes=64 << 20, repeats=2),
}


class ConfigError(InputError):
    pass


def mode_from_env(environ: os._Environ | dict | None = None) -> str:
    env = os.environ if environ is None else environ
    mode = env.get("CHAPTER_MEASURE", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ConfigError(f"CHAPTER_MEASURE={mode!r} is not a mode; use one of {', '.join(MODES)}")
    return mode


def scale_from_env(environ: os._Environ | dict | None = None) -> Scale:
    env = os.environ if environ is None else environ
    name = env.get("CHAPTER_SCALE", "full").strip().lower() or "full"
    if name not in SCALES:
        raise ConfigError(f"CHAPTER_SCALE={name!r} is not a scale; use one of {', '.join(SCALES)}")
    return SCALES[name]
