"""Verdict rules on fixed data, and the ledger's validation."""
from __future__ import annotations

import textwrap

import pytest

from macros.measure import ledger
from macros.measure.ledger import Check, Claim, FactSource


def doc(facts: dict, status: str = "ok", **extra) -> FactSource:
    exp = {"status": status, "facts": {k: {"value": v, "unit": None} for k, v in facts.items()}, **extra}
    return FactSource({"experiments": {"e": exp}})


def claim(*checks: Check, fail="does-not-hold", partial="differs") -> Claim:
    return Claim(id="x", section=1, statement="s", book="b", measure="m", checks=list(checks),
                 fail=fail, partial=partial)


def test_eq_holds_and_fails():
    c = claim(Check("e.size", "eq", expected=4))
    assert ledger.evaluate(c, doc({"size": 4})).status == "holds"
    assert ledger.evaluate(c, doc({"size": 8})).status == "does-not-hold"


def test_within_factor_is_inclusive_both_ways():
    c = claim(Check("e.t", "within", expected=0.5, factor=2.0), fail="differs")
    assert ledger.evaluate(c, doc({"t": 0.25})).status == "holds"
    assert ledger.evaluate(c, doc({"t": 1.0})).status == "holds"
    assert ledger.evaluate(c, doc({"t": 0.2499})).status == "differs"
    assert ledger.evaluate(c, doc({"t": 1.0001})).status == "differs"


def test_partial_pass_gives_partial_verdict():
    c = claim(Check("e.a", "true"), Check("e.b", "true"))
    assert ledger.evaluate(c, doc({"a": True, "b": True})).status == "holds"
    assert ledger.evaluate(c, doc({"a": True, "b": False})).status == "differs"
    assert ledger.evaluate(c, doc({"a": False, "b": False})).status == "does-not-hold"


def test_range_and_comparisons():
    c = claim(Check("e.r", "range", min=10, max=100))
    assert ledger.evaluate(c, doc({"r": 10})).status == "holds"
    assert ledger.evaluate(c, doc({"r": 9.9})).status == "does-not-hold"
    c = claim(Check("e.fast", "lt", than="e.slow"))
    assert ledger.evaluate(c, doc({"fast": 1, "slow": 2})).status == "holds"
    assert ledger.evaluate(c, doc({"fast": 3, "slow": 2})).status == "does-not-hold"
    c = claim(Check("e.fast", "gt", than="e.slow"))
    assert ledger.evaluate(c, doc({"fast": 3, "slow": 2})).status == "holds"


def test_failed_experiment_is_not_measured_with_its_reason():
    src = doc({}, status="failed", reason="killed by SIGSEGV", file="csrc/x.c")
    v = ledger.evaluate(claim(Check("e.size", "eq", expected=4)), src)
    assert v.status == "not-measured"
    assert "SIGSEGV" in v.reason and "csrc/x.c" in v.reason


def test_missing_fact_and_claim_without_checks():
    v = ledger.evaluate(claim(Check("e.nope", "eq", expected=1)), doc({"size": 4}))
    assert v.status == "not-measured" and "nope" in v.reason
    assert ledger.evaluate(claim(), doc({})).status == "not-measured"


def test_the_projects_ledger_loads_and_names_every_chapter_claim(root):
    claims = ledger.load(root / "claims.toml")
    chapter = (root.parent / "shared" / "CHAPTER.md")
    ids = set(claims)
    if chapter.exists():
        import re
        listed = set(re.findall(r"^\| ([a-z0-9-]+) \| \d \|", chapter.read_text(), re.M))
        assert listed and listed <= ids, f"claims in CHAPTER.md missing from the ledger: {listed - ids}"
    for c in claims.values():
        for chk in c.checks:
            assert "." in chk.fact


@pytest.mark.parametrize("body, message", [
    ('[[claim]]\nid = "a"\nsection = 1\nstatement = "s"\nbook = "b"\n', "missing measure"),
    ('[[claim]]\nid = "a"\nsection = 1\nstatement = "s"\nbook = "b"\nmeasure = "m"\n'
     'checks = [{ fact = "e.f", op = "about" }]\n', "op 'about'"),
    ("[[claim]\n", "not valid TOML"),
])
def test_bad_ledger_is_refused_with_a_reason(tmp_path, body, message):
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(body))
    with pytest.raises(ledger.LedgerError, match=message) as info:
        ledger.load(path)
    assert str(path) in str(info.value)
