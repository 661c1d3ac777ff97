"""Run settings: the measuring mode and the scale, read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, asdict

from .errors import InputError

MODES = ("auto", "fresh", "cached", "stale")

# A figure is "noisy" when the half-width of its 95% confidence interval is more than this
# fraction of its value (for older records without an interval: a timing's interquartile
# range over its median, a ratio's quartile bounds). Marked when measured; the page shows
# the interval beside it and the build warns (fatal under --strict).
NOISY_REL_IQR = 0.10

# Timed rounds go on until every headline figure's 95% interval is within this fraction of
# its value (adaptive.py), or the experiment's budget below is spent.
TARGET_REL_CI = 0.02
# The other timed figures a page quotes (times, per-element costs) are held to a looser aim:
# half the noise limit, so that they are not marked noisy.
GUARD_REL_CI = NOISY_REL_IQR / 2

# Seconds of timed rounds each experiment may spend reaching the target, by scale (on top
# of compiling and building its data). Full: chosen so that a cold full build of the site
# stays within 60 s on a 2-core VM (see docs/method.md); quick: tests, which check what
# the figures are and say, not how tight they are (every quick page says it is not for
# publication), so a little over half a second each.
BUDGETS = {
    "full": {"sum": 10.0, "alloc": 2.0, "locality": 8.0, "pylocality": 7.0, "latency": 4.0,
             "cacheline": 4.0, "gil": 6.0},
    "quick": {"sum": 1.2, "alloc": 0.6, "locality": 1.0, "pylocality": 0.6, "latency": 0.6,
              "cacheline": 0.6, "gil": 1.0},
}


@dataclass(frozen=True)
class Scale:
    name: str
    n_sum: int            # integers summed by the benchmark (the book: 10,000,000)
    first_rounds: int     # rounds of the first batch of paired timings (more follow as needed)
    warmups: int          # untimed values per benchmark at the start of each worker
    min_time: float       # minimum seconds per timed value (a short function is called in a loop)
    n_nodes: int          # elements in the array-vs-list experiment
    max_chase_bytes: int  # largest working set for the latency staircase
    repeats: int          # repeats of whole-program measurements (the latency staircase)

    def budget(self, experiment: str) -> float:
        """Seconds of timed rounds an experiment may spend (BUDGETS)."""
        return BUDGETS[self.name][experiment]

    def as_dict(self) -> dict:
        return {**asdict(self), "budgets": dict(BUDGETS[self.name]), "target": TARGET_REL_CI}


SCALES = {
    "full": Scale("full", n_sum=10_000_000, first_rounds=6, warmups=1, min_time=0.02,
                  n_nodes=10_000_000, max_chase_bytes=512 << 20, repeats=7),
    "quick": Scale("quick", n_sum=1_000_000, first_rounds=6, warmups=1, min_time=0.01,
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
