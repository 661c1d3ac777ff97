"""Exact formatting of figures, from fixed data (no measurement involved)."""
import pytest

from macros import fmt

TIMING = {"value": 0.0357, "unit": "s",
          "spread": {"n": 18, "median": 0.0357, "rel_iqr": 0.024, "q1": 0.0353, "q3": 0.0362}}


@pytest.mark.parametrize("value, text", [
    (1.234, "1.23 s"), (0.52, "520 ms"), (0.0357, "35.7 ms"), (0.00035, "350 µs"),
    (1.2e-7, "120 ns"), (8.4e-8, "84.0 ns"), (0.005, "5.00 ms"),
])
def test_seconds(value, text):
    assert fmt.seconds(value) == text


@pytest.mark.parametrize("value, text", [
    (4, "4 B"), (28, "28 B"), (1024, "1 KiB"), (32 << 10, "32 KiB"), (32 << 20, "32 MiB"),
    (1_500_000, "1.43 MiB"), (8 << 20, "8 MiB"),
])
def test_bytes(value, text):
    assert fmt.nbytes(value) == text


@pytest.mark.parametrize("value, text", [
    (104.2, "104×"), (2.77, "2.77×"), (0.000343, "0.000343×"), (53.86, "53.9×"),
    (1_234_567.0, "1,230,000×"), (24.0, "24.0×"),
])
def test_ratio(value, text):
    assert fmt.ratio(value) == text


@pytest.mark.parametrize("fact, text", [
    ({"value": True, "unit": None}, "yes"),
    ({"value": False, "unit": None}, "no"),
    ({"value": "STORE_NAME", "unit": None}, "STORE_NAME"),
    ({"value": 10_000_000, "unit": None}, "10,000,000"),
    ({"value": -5, "unit": None}, "-5"),
    ({"value": 2, "unit": "instr"}, "2 instructions"),
    ({"value": 1, "unit": "instr"}, "1 instruction"),
    ({"value": 35.7, "unit": "ns"}, "35.7 ns"),
    ({"value": 28, "unit": "B"}, "28 B"),
])
def test_value(fact, text):
    assert fmt.value(fact) == text


def test_timing_with_spread():
    assert fmt.with_spread(TIMING) == "35.7 ms (IQR ±1.2% over 18 values)"


def test_ratio_spread():
    r = {"value": 104.0, "unit": "x", "low": 98.123, "high": 110.4}
    assert fmt.with_spread(r) == "104× (98.1–110× between quartiles)"


def test_ratio_with_interval():
    r = {"value": 2.178, "unit": "x", "ci_low": 2.151, "ci_high": 2.2049, "paired": True,
         "spread": {"n": 150, "median": 2.18, "rel_iqr": 0.05, "q1": 2.1, "q3": 2.2}}
    assert fmt.with_spread(r) == "2.18× (95% CI 2.15–2.20×, 150 pairs)"


def test_timing_with_interval():
    t = {**TIMING, "ci_low": 0.0353, "ci_high": 0.0361}
    assert fmt.with_spread(t) == "35.7 ms (95% CI ±1.1%, 18 values)"


def test_plural():
    assert [fmt.plural(n, "claim") for n in (0, 1, 2)] == ["0 claims", "1 claim", "2 claims"]
    assert fmt.plural(1, "was", "were") == "1 was" and fmt.plural(3, "was", "were") == "3 were"


def test_rule_in_words():
    from macros.measure.ledger import Check
    assert fmt.rule(Check("a.b", "true"), None) == "yes"
    assert fmt.rule(Check("a.b", "eq", expected=4), "B") == "4 B"
    assert fmt.rule(Check("a.b", "within", expected=24, factor=2.0), "x") == "within 2× of 24.0× (12.0× to 48.0×)"
    assert fmt.rule(Check("a.b", "range", min=50), "ns") == "at least 50.0 ns"
    assert fmt.rule(Check("a.b", "range", min=0, max=1.3), "x") == "at most 1.30×"
