"""The statistics of paired timings and the adaptive stop rule, on made-up data with a known answer."""
import math
import random

import pytest

from macros.measure import adaptive, stats
from macros.measure.facts import paired_ratio, timing


def noisy_pairs(ratio: float, n: int, sigma: float, seed: int, drift: float = 0.0):
    """n pairs (a, b) with a / b = ratio times log-normal noise; both sides share a machine
    speed that drifts by `drift` over the run (what pairing is meant to cancel)."""
    rng = random.Random(seed)
    a, b = [], []
    for i in range(n):
        speed = 1 + drift * i / max(n - 1, 1)
        base = 0.010 * speed
        b.append(base * math.exp(rng.gauss(0, sigma)))
        a.append(ratio * base * math.exp(rng.gauss(0, sigma)))
    return a, b


# -------------------------------------------------------------------------- stats

def test_median():
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        stats.median([])


def test_log_ratios_refuse_unpaired_or_non_positive():
    assert stats.log_ratios([2.0, 4.0], [1.0, 1.0]) == pytest.approx([math.log(2), math.log(4)])
    with pytest.raises(ValueError, match="unpaired"):
        stats.log_ratios([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="not positive"):
        stats.log_ratios([1.0, 0.0], [1.0, 1.0])


def test_exact_pairs_give_the_ratio_and_a_zero_width_interval():
    den = [0.01 * (1 + i / 10) for i in range(20)]        # the machine slows down by 2x
    num = [3 * d for d in den]
    est = stats.ratio_estimate(num, den)
    assert est.value == pytest.approx(3.0)
    assert est.ci_low == pytest.approx(3.0) and est.ci_high == pytest.approx(3.0)
    assert est.rel_halfwidth == pytest.approx(0.0, abs=1e-12) and est.n == 20


def test_the_same_data_give_the_same_interval():
    a, b = noisy_pairs(2.2, 150, 0.05, seed=1)
    first, second = stats.ratio_estimate(a, b), stats.ratio_estimate(list(a), list(b))
    assert first == second
    other_seed = stats.ratio_estimate(a, b, seed=stats.SEED + 1)
    assert other_seed.value == first.value          # only the interval involves random draws
    assert (other_seed.ci_low, other_seed.ci_high) != (first.ci_low, first.ci_high)


def test_ratio_and_its_reciprocal_agree():
    a, b = noisy_pairs(5.0, 41, 0.08, seed=2)
    ab, ba = stats.ratio_estimate(a, b), stats.ratio_estimate(b, a)
    assert ab.value * ba.value == pytest.approx(1.0)
    assert ab.ci_low * ba.ci_high == pytest.approx(1.0)
    assert ab.ci_high * ba.ci_low == pytest.approx(1.0)


def test_interval_width_matches_theory_for_the_median():
    # Normal data: the median's standard error is sqrt(pi/2) * sigma / sqrt(n).
    rng = random.Random(3)
    n, sigma = 400, 1.0
    values = [rng.gauss(10, sigma) for _ in range(n)]
    lo, hi = stats.bootstrap_median_ci(values)
    expected = 2 * 1.96 * math.sqrt(math.pi / 2) * sigma / math.sqrt(n)
    assert 0.7 * expected < hi - lo < 1.3 * expected


def test_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    true, covered, trials = 2.0, 0, 200
    for seed in range(trials):
        a, b = noisy_pairs(true, 60, 0.05, seed=100 + seed)
        est = stats.ratio_estimate(a, b, resamples=1000)
        covered += est.ci_low <= true <= est.ci_high
    assert 0.88 <= covered / trials <= 0.995


def test_pairing_cancels_drift_that_a_ratio_of_medians_does_not():
    # The numerator's runs all came during the first half of the rounds, the denominator's
    # during the second, while the machine slowed down: unpaired, the ratio is off.
    den = [0.01 * (1 + i / 20) for i in range(40)]
    num = [2 * d for d in den]
    assert stats.ratio_estimate(num, den).value == pytest.approx(2.0)
    unpaired = stats.median(num[:20]) / stats.median(den[20:])
    assert abs(unpaired / 2.0 - 1) > 0.2


def test_relative_spread():
    assert stats.relative_spread([375, 397, 672]) == pytest.approx(672 / 375 - 1)
    with pytest.raises(ValueError):
        stats.relative_spread([])


# -------------------------------------------------------------------------- the order (A B B A)

def test_two_variants_alternate_abba():
    assert stats.schedule(["A", "B"], 4) == list("ABBAABBA")
    assert stats.schedule(["A", "B"], 2, first=1) == list("BAAB")


def test_more_variants_alternate_forward_and_reverse():
    assert stats.schedule(["A", "B", "C"], 2) == list("ABCCBA")
    for r in range(6):      # each variant goes first as often as last over two rounds
        assert stats.round_order("ABC", r) == (list("ABC") if r % 2 == 0 else list("CBA"))


def test_abba_cancels_a_penalty_on_whoever_goes_first():
    # Whatever runs first in a round pays 10% (a cold cache): with A first every time the
    # ratio is off by 10%; alternating A B | B A, the median of the log-ratios is exact.
    def timed(order_of_round):
        a, b = [], []
        for r in range(20):
            order = order_of_round(r)
            t = {"A": 0.03, "B": 0.01}
            t[order[0]] *= 1.10
            a.append(t["A"])
            b.append(t["B"])
        return stats.ratio_estimate(a, b).value
    assert timed(lambda r: "AB") == pytest.approx(3 * 1.10)
    assert timed(lambda r: stats.round_order("AB", r)) == pytest.approx(3.0)


# -------------------------------------------------------------------------- facts

def test_paired_ratio_fact_carries_its_interval():
    a, b = noisy_pairs(4.0, 30, 0.03, seed=4)
    f = paired_ratio(a, b)
    assert f["unit"] == "x" and f["paired"] is True and f["ci_level"] == 0.95
    assert f["ci_low"] < f["value"] < f["ci_high"]
    assert f["spread"]["n"] == 30


def test_timing_fact_carries_the_interval_of_its_median():
    f = timing([1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02])
    assert f["value"] == 1.0 and f["ci_low"] <= 1.0 <= f["ci_high"]
    assert f["unit"] == "s" and timing([5.0, 6.0], unit="ns")["unit"] == "ns"


# -------------------------------------------------------------------------- the stop rule

class FakeMachine:
    """Timed rounds of two variants with a known ratio and noise; a clock that advances by
    what each batch would have taken (a fixed cost per batch, then each round)."""

    def __init__(self, sigma: float, overhead: float = 0.5, per_round: float = 0.2, seed: int = 7):
        self.rng = random.Random(seed)
        self.sigma, self.overhead, self.per_round = sigma, overhead, per_round
        self.now = 0.0
        self.calls: list[tuple[int, int]] = []

    def clock(self) -> float:
        return self.now

    def batch(self, rounds: int, first: int) -> dict:
        self.calls.append((rounds, first))
        self.now += self.overhead + rounds * self.per_round
        b = [0.01 * math.exp(self.rng.gauss(0, self.sigma)) for _ in range(rounds)]
        a = [2.0 * x * math.exp(self.rng.gauss(0, self.sigma)) for x in b]
        return {"a": a, "b": b}


FIGURES = {"ratio": ("a", "b"), "time_a": ("a", None)}


def test_quiet_machine_stops_at_the_target_after_the_first_batch():
    m = FakeMachine(sigma=0.002)
    out = adaptive.run(m.batch, FIGURES, target=0.02, budget=30, clock=m.clock)
    assert out.stopped == "target" and out.target_met
    assert out.rounds == adaptive.MIN_ROUNDS and out.batches == 1
    assert all(w <= 0.02 for w in out.widths.values())
    assert stats.ratio_estimate(out.series["a"], out.series["b"]).value == pytest.approx(2.0, rel=0.01)


def test_noisier_machine_adds_rounds_until_the_target():
    m = FakeMachine(sigma=0.04)
    out = adaptive.run(m.batch, FIGURES, target=0.02, budget=120, clock=m.clock)
    assert out.stopped == "target" and out.batches > 1 and out.rounds > adaptive.MIN_ROUNDS
    assert max(out.widths.values()) <= 0.02
    # Rounds come in even numbers and carry on from where the last batch stopped (A B | B A).
    assert all(r % 2 == 0 for r, _ in m.calls)
    assert [f for _, f in m.calls] == [sum(r for r, _ in m.calls[:i]) for i in range(len(m.calls))]


def test_noisy_machine_stops_when_the_budget_is_spent_without_overrunning_it():
    m = FakeMachine(sigma=0.3)
    out = adaptive.run(m.batch, FIGURES, target=0.02, budget=10, clock=m.clock)
    assert out.stopped == "budget" and not out.target_met
    assert out.seconds <= 10
    assert max(out.widths.values()) > 0.02


def test_the_cap_on_rounds_stops_it():
    m = FakeMachine(sigma=0.3)
    out = adaptive.run(m.batch, FIGURES, target=0.02, budget=1000, max_rounds=20, clock=m.clock)
    assert out.stopped == "rounds" and out.rounds == 20


def test_first_batch_runs_even_past_a_tiny_budget():
    m = FakeMachine(sigma=0.3)
    out = adaptive.run(m.batch, FIGURES, target=0.02, budget=0.1, clock=m.clock)
    assert out.stopped == "budget" and out.rounds == adaptive.MIN_ROUNDS and out.batches == 1


def test_decide_asks_for_what_the_widest_interval_needs():
    cost = adaptive.Cost(0.0, 0.1)
    # Twice the target after 10 rounds: about 4x the rounds are needed (1.2x margin).
    stop, more = adaptive.decide({"r": 0.04}, 10, target=0.02, elapsed=0, budget=100, cost=cost)
    assert stop is None and more == 38
    # ...but no more than the time left allows.
    stop, more = adaptive.decide({"r": 0.04}, 10, target=0.02, elapsed=99, budget=100, cost=cost)
    assert stop is None and more == 10
    assert adaptive.decide({"r": 0.01}, 10, target=0.02, elapsed=0, budget=100, cost=cost) == ("target", 0)
    # Too few rounds for an honest interval, however narrow.
    assert adaptive.decide({"r": 0.0}, 2, target=0.02, elapsed=0, budget=100, cost=cost) == (None, 4)


def test_cost_fit_separates_the_fixed_part():
    cost = adaptive.Cost.fit([(4, 0.5 + 4 * 0.2), (10, 0.5 + 10 * 0.2)])
    assert cost.overhead == pytest.approx(0.5) and cost.per_round == pytest.approx(0.2)
    one = adaptive.Cost.fit([(6, 1.8)])
    assert one.overhead == 0 and one.per_round == pytest.approx(0.3)   # errs long
    assert cost.rounds_within(2.5) == 10


def test_a_batch_of_the_wrong_size_is_a_bug():
    with pytest.raises(ValueError, match="returned"):
        adaptive.run(lambda r, f: {"a": [1.0], "b": [1.0]}, FIGURES, target=0.02, budget=1)


def test_guards_keep_rounds_going_until_within_their_looser_target():
    # The ratio is exact from the start; the time of "a" alone is noisy (its machine speed
    # varies, which the ratio cancels): as a guard at ±5% it adds rounds, not as far as ±2%.
    rng = random.Random(11)

    def batch(rounds, first):
        speed = [math.exp(rng.gauss(0, 0.15)) for _ in range(rounds)]
        return {"a": [2.0 * s for s in speed], "b": [1.0 * s for s in speed]}
    clock = iter(range(10_000)).__next__
    out = adaptive.run(batch, {"r": ("a", "b")}, target=0.02, budget=5000, clock=clock,
                       guards={"time_a": ("a", None)}, guard_target=0.05)
    assert out.stopped == "target" and out.rounds > adaptive.MIN_ROUNDS
    assert out.widths["r"] == pytest.approx(0.0, abs=1e-12)
    assert 0.02 < out.widths["time_a"] <= 0.05


def test_decide_with_a_fixed_step_and_per_figure_targets():
    cost = adaptive.Cost(0.0, 0.1)
    assert adaptive.decide({"r": 0.04}, 10, target=0.02, elapsed=0, budget=100, cost=cost,
                           step=4) == (None, 4)
    assert adaptive.decide({"r": 0.01, "g": 0.04}, 10, target=0.02, elapsed=0, budget=100, cost=cost,
                           targets={"g": 0.05}) == ("target", 0)


def _corpus_series() -> dict[str, list[float]]:
    """Every timing series of the corpus' full-scale pyperf file (real, noisy values)."""
    import json
    from pathlib import Path
    doc = json.loads((Path(__file__).parent / "corpus" / "x86-64-gcc-py311.pyperf.json").read_text())
    return {b["metadata"]["name"]: [v for r in b["runs"] for v in r.get("values", [])]
            for b in doc["benchmarks"]}


def test_bootstrap_without_numpy_agrees_with_numpys(monkeypatch):
    """A machine without NumPy gets its intervals from the pure-Python bootstrap: its own random
    stream, so not the same digits, but the same interval up to the resampling error."""
    series = {k: v for k, v in _corpus_series().items() if len(v) >= 5}
    assert len(series) >= 20
    with_numpy = {k: stats.bootstrap_median_ci(v) for k, v in series.items()}
    monkeypatch.setattr(stats, "np", None)
    for name, values in series.items():
        lo, hi = stats.bootstrap_median_ci(values)
        assert (lo, hi) == stats.bootstrap_median_ci(values)           # seeded: repeatable
        assert min(values) <= lo <= stats.median(values) <= hi <= max(values), name
        nlo, nhi = with_numpy[name]
        width = (nhi - nlo) or 1.0
        # With 15 or more values the ends agree to a tenth of the width; with fewer, the ends
        # fall on order statistics far apart, and either neighbour is a fair answer.
        if len(values) >= 15:
            assert abs(lo - nlo) <= 0.1 * width and abs(hi - nhi) <= 0.1 * width, (name, (lo, hi), (nlo, nhi))
