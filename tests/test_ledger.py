"""Verdict rules on fixed data, every claim's worked examples, and the ledger's validation."""
from __future__ import annotations

import textwrap

import pytest

from conftest import ROOT, declared, results_from
from macros.measure import ledger
from macros.measure.ledger import Check, Claim
from macros.measure.results import FactSpec, Results

DECL = {"e": ((FactSpec("size", "bytes", "x"), FactSpec("t", "seconds", "x"), FactSpec("a", "flag", "x"),
               FactSpec("b", "flag", "x"), FactSpec("r", "ratio", "x"), FactSpec("fast", "ns", "x"),
               FactSpec("slow", "ns", "x"), FactSpec("nope", "count", "x")), ())}


def doc(facts: dict, status: str = "ok", **extra) -> Results:
    exp = {"status": status, "facts": {k: v if isinstance(v, dict) else {"value": v, "unit": None}
                                       for k, v in facts.items()}, **extra}
    return Results({"experiments": {"e": exp}}, DECL)


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


def test_an_interval_across_the_bound_is_borderline_whichever_side_the_value_is():
    c = claim(Check("e.r", "range", min=10, max=100))
    inside = ledger.evaluate(c, doc({"r": {"value": 10.4, "low": 9.8, "high": 11.0}}))
    outside = ledger.evaluate(c, doc({"r": {"value": 9.9, "low": 9.5, "high": 10.2}}))
    clear = ledger.evaluate(c, doc({"r": {"value": 9.0, "low": 8.8, "high": 9.2}}))
    assert (inside.status, outside.status, clear.status) == ("borderline", "borderline", "does-not-hold")
    assert "10" in inside.reason and "interval" in inside.reason
    timing = ledger.evaluate(claim(Check("e.t", "within", expected=0.5, factor=2.0)),
                             doc({"t": {"value": 0.99, "spread": {"q1": 0.97, "q3": 1.02}}}))
    assert timing.status == "borderline"


def test_the_band_marks_a_value_near_its_bound():
    c = claim(Check("e.size", "range", max=100, band=0.05))
    assert ledger.evaluate(c, doc({"size": 96})).status == "borderline"
    assert ledger.evaluate(c, doc({"size": 94})).status == "holds"
    assert ledger.evaluate(c, doc({"size": 104})).status == "borderline"
    assert ledger.evaluate(c, doc({"size": 106})).status == "does-not-hold"


def test_a_failed_check_outweighs_a_borderline_one():
    c = claim(Check("e.r", "range", min=10), Check("e.a", "true"))
    v = ledger.evaluate(c, doc({"r": {"value": 10.1, "low": 9.9, "high": 10.3}, "a": False}))
    assert v.status == "differs"


def test_failed_experiment_is_not_measured_with_its_reason():
    src = doc({}, status="failed", reason="killed by SIGSEGV", file="csrc/x.c")
    v = ledger.evaluate(claim(Check("e.size", "eq", expected=4)), src)
    assert v.status == "not-measured"
    assert "SIGSEGV" in v.reason


def test_a_fact_recorded_as_not_measured_keeps_its_reason():
    src = doc({"size": {"value": None, "not_measured": "objdump is not installed"}})
    v = ledger.evaluate(claim(Check("e.size", "eq", expected=4)), src)
    assert v.status == "not-measured" and "objdump is not installed" in v.reason


# ---------------------------------------------------------------- the project's ledger

CLAIMS = ledger.load(ROOT / "claims.toml")
KINDS = {f"{e}.{s.name}": s.kind for e, (facts, _) in declared().items() for s in facts}


def test_the_projects_ledger_loads_and_names_every_chapter_claim(root):
    chapter = (root.parent / "shared" / "CHAPTER.md")
    if chapter.exists():
        import re
        listed = set(re.findall(r"^\| ([a-z0-9-]+) \| \d \|", chapter.read_text(), re.M))
        assert listed and listed <= set(CLAIMS), f"missing from the ledger: {listed - set(CLAIMS)}"
    probe = results_from({})
    ledger.load(root / "claims.toml", probe.fact_names(), probe.evidence_names())


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_every_example_in_the_ledger_gives_its_verdict(cid):
    c = CLAIMS[cid]
    for ex in c.examples:
        got = ledger.evaluate(c, results_from(ex["facts"]))
        assert got.status == ex["verdict"], f"{cid}: {ex['facts']} gave {got.status} ({got.reason})"


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_every_verdict_a_claim_can_give_has_an_example(cid):
    c = CLAIMS[cid]
    shown = {ex["verdict"] for ex in c.examples}
    wanted = c.verdicts(KINDS) - {"not-measured"}
    assert wanted <= shown, f"{cid}: no example for {sorted(wanted - shown)}"
    assert shown <= c.verdicts(KINDS), f"{cid}: examples give verdicts its rule cannot"


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_every_claim_is_not_measured_when_any_of_its_facts_is_missing(cid):
    c = CLAIMS[cid]
    full = c.examples[0]["facts"]
    for ref in c.facts():
        exp = ref.partition(".")[0]
        v = ledger.evaluate(c, results_from({k: v for k, v in full.items() if k.partition(".")[0] != exp},
                                            failed={exp: "exited with status 1"}))
        assert v.status == "not-measured" and "exited with status 1" in v.reason, ref


# ---------------------------------------------------------------- validation

HEAD = '[[claim]]\nid = "a"\nsection = 1\nstatement = "s"\nbook = "b"\nmeasure = "m"\n'


@pytest.mark.parametrize("body, message", [
    ('[[claim]]\nid = "a"\nsection = 1\nstatement = "s"\nbook = "b"\nchecks = []\n', "missing measure"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "about" }]\n', "op 'about' is not a rule"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "eqq", expected = 4 }]\n', "did you mean 'eq'"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "eq", expeted = 4 }]\n',
     "unknown key 'expeted'; did you mean 'expected'"),
    (HEAD + 'chekcs = [{ fact = "cside.c_sizeof_int", op = "eq", expected = 4 }]\n',
     "unknown key 'chekcs'; did you mean 'checks'"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "within", expected = 4 }]\n', "needs `factor`"),
    (HEAD.replace('book = "b"', 'book = ""') + 'checks = [{ fact = "cside.c_sizeof_int", op = "eq", expected = 4 }]\n',
     "`book` is empty"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_itn", op = "eq", expected = 4 }]\n',
     "no experiment declares the fact 'cside.c_sizeof_itn'; nearest declared: cside.c_sizeof_int"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "eq", expected = 4 }]\n'
            'examples = [{ verdict = "hold", facts = {} }]\n', "example verdict 'hold'"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "eq", expected = 4 }]\n',
     "the fact 'cside.c_sizeof_int' has no label; the claim box prints it"),
    (HEAD + 'checks = [{ fact = "cside.c_sizeof_int", op = "eq", expected = 4, label = "sizeof(int)" }]\n'
            'show = ["cside.c_sizeof_int", "cside.c_local_region"]\n',
     "the fact 'cside.c_local_region' has no label"),
    ("[[claim]\n", "not valid TOML"),
])
def test_bad_ledger_is_refused_with_a_reason(tmp_path, body, message):
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(body))
    probe = results_from({})
    with pytest.raises(ledger.LedgerError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        ledger.load(path, probe.fact_names(), probe.evidence_names())
    assert str(path) in str(info.value)
