"""Adaptive repetitions: time more rounds until every headline figure is precise enough.

An experiment hands over a function that times a batch of rounds (each round times every
variant once, in the order of stats.round_order) and names its headline figures: ratios of
two variants, or a variant's own time. After each batch the interval of every headline
figure is computed; the rounds stop when each is within the target (±2% by default), or
when the experiment's time budget would be overrun by another batch. The decision is a
pure function of what was measured and how long it took (decide), so the rule can be
tested on made-up timings and a made-up clock.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from . import stats

Series = dict[str, list[float]]          # variant -> one value per round, rounds aligned
Figure = tuple[str, str | None]          # (numerator, denominator) or (variant, None): its time
MIN_ROUNDS = 6                           # fewer values than this give no honest interval


@dataclass
class Outcome:
    """What the rounds gave, and why they stopped."""
    series: Series
    rounds: int
    batches: int
    seconds: float
    stopped: str                          # "target" | "budget" | "rounds" (the cap on rounds)
    widths: dict[str, float] = field(default_factory=dict)   # figure -> relative half-width
    target: float = 0.0
    budget: float = 0.0

    @property
    def target_met(self) -> bool:
        return self.stopped == "target"

    def summary(self) -> dict:
        """For the facts: how the rounds went."""
        return {"rounds": self.rounds, "batches": self.batches, "seconds": round(self.seconds, 3),
                "stopped": self.stopped, "target": self.target, "budget_s": self.budget}


def estimate(series: Series, figure: Figure) -> stats.Estimate:
    num, den = figure
    if den is None:
        return stats.median_estimate(series[num])
    return stats.ratio_estimate(series[num], series[den])


def widths(series: Series, figures: Mapping[str, Figure]) -> dict[str, float]:
    """Each headline figure's interval half-width relative to its value."""
    return {name: estimate(series, fig).rel_halfwidth for name, fig in figures.items()}


@dataclass
class Cost:
    """What a batch costs: a fixed part (a process to start, data to build) and a part per
    round, fitted to the batches run so far."""
    overhead: float
    per_round: float

    @staticmethod
    def fit(batches: list[tuple[int, float]]) -> "Cost":
        """From (rounds, seconds) of each batch. With one batch size only, all of its time is
        counted per round: the estimate errs long, so a budget is not overrun."""
        sizes = {r for r, _ in batches}
        if len(sizes) < 2:
            r = sum(r for r, _ in batches)
            return Cost(0.0, sum(s for _, s in batches) / max(r, 1))
        n = len(batches)
        mr = sum(r for r, _ in batches) / n
        ms = sum(s for _, s in batches) / n
        var = sum((r - mr) ** 2 for r, _ in batches)
        slope = sum((r - mr) * (s - ms) for r, s in batches) / var
        if slope <= 0:
            r = sum(r for r, _ in batches)
            return Cost(0.0, sum(s for _, s in batches) / max(r, 1))
        return Cost(max(0.0, ms - slope * mr), slope)

    def rounds_within(self, seconds: float) -> int:
        return max(0, int((seconds - self.overhead) / self.per_round)) if self.per_round > 0 else 0


def decide(current: Mapping[str, float], rounds: int, *, target: float, elapsed: float,
           budget: float, cost: Cost, min_rounds: int = MIN_ROUNDS,
           max_rounds: int | None = None, targets: Mapping[str, float] | None = None,
           step: int | None = None) -> tuple[str | None, int]:
    """(why to stop, or None; how many rounds to run next, an even number).

    Stop when every figure is within its target (`targets`, else `target`) and there are at
    least `min_rounds`, when the cap on rounds is reached, or when no batch of two rounds fits
    in the time left. Otherwise ask for the rounds the widest interval needs (it narrows as
    1/sqrt(rounds)), or `step` rounds when given, at least two and at most what the time left
    allows.
    """
    goal = {name: (targets or {}).get(name, target) for name in current}
    if rounds >= min_rounds and all(w <= goal[name] for name, w in current.items()):
        return "target", 0
    if max_rounds is not None and rounds >= max_rounds:
        return "rounds", 0
    affordable = cost.rounds_within(budget - elapsed)
    if max_rounds is not None:
        affordable = min(affordable, max_rounds - rounds)
    affordable -= affordable % 2
    if affordable < 2:
        return "budget", 0
    worst = max((w / goal[name] for name, w in current.items()), default=0.0)
    if step:
        wanted = step
    elif rounds >= min_rounds and math.isfinite(worst) and worst > 0:
        wanted = math.ceil(rounds * (worst ** 2 * 1.2 - 1))
    else:
        wanted = min_rounds - rounds
    wanted = max(2, wanted + wanted % 2)
    return None, min(wanted, affordable)


def run(batch: Callable[[int, int], Series], figures: Mapping[str, Figure], *, target: float,
        budget: float, first: int = MIN_ROUNDS, min_rounds: int = MIN_ROUNDS,
        max_rounds: int | None = None, guards: Mapping[str, Figure] | None = None,
        guard_target: float | None = None, batch_rounds: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] | None = None) -> Outcome:
    """Time batches until decide() says stop.

    `batch(rounds, first_round)` times that many rounds, numbered from `first_round` (so the
    forward / reverse order carries on across batches), and returns one value per round for
    each variant. The first batch has `first` rounds, whatever the budget: a figure needs some.
    `guards` are further figures (a page's times, say) that must be within `guard_target`, a
    looser aim than the headline figures'. `batch_rounds` fixes the size of later batches (one
    process each, when processes differ more than rounds within one).
    """
    guards = {name: fig for name, fig in (guards or {}).items() if name not in figures}
    targets = {name: target if guard_target is None else guard_target for name in guards}
    figures = {**figures, **guards}
    series: Series = {}
    done: list[tuple[int, float]] = []
    rounds, start = 0, clock()
    want = first + first % 2
    while True:
        t0 = clock()
        got = batch(want, rounds)
        took = clock() - t0
        counts = {len(v) for v in got.values()}
        if counts != {want}:
            raise ValueError(f"a batch of {want} rounds returned {sorted(counts)} values per variant")
        for name, values in got.items():
            series.setdefault(name, []).extend(values)
        rounds += want
        done.append((want, took))
        current = widths(series, figures)
        stopped, want = decide(current, rounds, target=target, elapsed=clock() - start,
                               budget=budget, cost=Cost.fit(done), min_rounds=min_rounds,
                               max_rounds=max_rounds, targets=targets, step=batch_rounds)
        if log:
            worst = max(current, key=current.get) if current else None
            log(f"{rounds} rounds in {clock() - start:.1f} s; widest interval "
                + (f"{worst} ±{current[worst]:.1%}" if worst else "none")
                + (f"; stop ({stopped})" if stopped else f"; {want} more"))
        if stopped:
            return Outcome(series, rounds, len(done), clock() - start, stopped, current, target, budget)
