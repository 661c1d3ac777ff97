"""The claims ledger (claims.toml) and the rules that turn measurements into verdicts.

A claim's `checks` compare measured facts with the book's figures:
  op = "eq"      fact == expected
  op = "within"  expected / factor <= fact <= expected * factor
  op = "range"   min <= fact <= max
  op = "true"    fact is true
  op = "lt"/"gt" fact < / > the fact named by `than`
  band = 0.05    optional, numeric checks: a value within 5% of a bound is "borderline", and
                 so is a value whose measured interval (low..high) reaches across a bound
  label = "..."  the fact in words; every fact a claim prints needs a label (here or in `show`)
All checks pass: "holds". None pass: the claim's `fail` verdict (default "does-not-hold").
Some pass: its `partial` verdict (default "differs"). Any check borderline and none failed
outright: "borderline". Any fact not measured: "not-measured", with its reason.
Each claim carries `examples`: facts and the verdict they give, checked by the tests.
"""
from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError
from .results import NotMeasured, Results

VERDICTS = ("holds", "differs", "borderline", "does-not-hold", "not-measured")
OPS = ("eq", "within", "range", "true", "lt", "gt")
REQUIRED = ("id", "section", "statement", "book", "measure", "checks")
CLAIM_KEYS = REQUIRED + ("show", "evidence", "fail", "partial", "note", "examples")
CHECK_KEYS = ("fact", "op", "expected", "factor", "min", "max", "than", "band", "label")
OP_NEEDS = {"eq": ("expected",), "within": ("expected", "factor"), "range": (), "true": (),
            "lt": ("than",), "gt": ("than",)}
SHOW_KEYS = ("fact", "label")
EVIDENCE_KEYS = ("ref", "label", "lang")
EXAMPLE_KEYS = ("verdict", "facts", "why")
INTERVAL_KINDS = ("seconds", "ns", "ratio")   # measured with an interval that may reach a bound


class LedgerError(InputError):
    pass


@dataclass
class Check:
    fact: str
    op: str
    expected: object = None
    factor: float | None = None
    min: float | None = None
    max: float | None = None
    than: str | None = None
    band: float | None = None
    label: str | None = None   # the fact in words, as the claim box prints it


@dataclass
class Claim:
    id: str
    section: int
    statement: str
    book: str
    measure: str
    checks: list[Check] = field(default_factory=list)
    show: list[str] = field(default_factory=list)       # facts shown as "this machine"
    labels: dict[str, str] = field(default_factory=dict)  # fact -> label shown beside it
    evidence: list[dict] = field(default_factory=list)  # {ref, label, lang?}
    fail: str = "does-not-hold"
    partial: str = "differs"
    note: str = ""
    examples: list[dict] = field(default_factory=list)  # {verdict, facts: {ref: value}, why?}

    def facts(self) -> list[str]:
        """Every fact the claim's rule reads."""
        return [r for c in self.checks for r in (c.fact, c.than) if r]

    def verdicts(self, kinds: Mapping[str, str]) -> set[str]:
        """The verdicts its rule can give; `kinds`: fact name -> declared kind."""
        out = {"holds", self.fail, "not-measured"}
        if len(self.checks) > 1:
            out.add(self.partial)
        if any(c.band or (c.op in ("within", "range", "lt", "gt") and kinds.get(c.fact) in INTERVAL_KINDS)
               for c in self.checks):
            out.add("borderline")
        return out


@dataclass
class CheckResult:
    check: Check
    value: object
    other: object
    passed: bool | None       # None: the fact was not measured
    reason: str = ""
    borderline: str = ""      # why the check sits on its bound, if it does
    bound: float | None = None                    # that bound
    interval: tuple[float, float] | None = None   # the measured interval, when there is one


@dataclass
class Verdict:
    status: str
    results: list[CheckResult]
    reason: str = ""          # why not measured, or why borderline


def _unknown(where: str, what: str, bad: Iterable[str], valid: Iterable[str]) -> LedgerError | None:
    valid = list(valid)
    for key in bad:
        if key not in valid:
            near = difflib.get_close_matches(key, valid, n=2, cutoff=0.5)
            return LedgerError(f"{where}: unknown {what} {key!r}"
                               + (f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else "")
                               + f" Valid: {', '.join(valid)}")
    return None


def _check_fact(where: str, ref: str, known: Iterable[str] | None) -> None:
    if not isinstance(ref, str) or "." not in ref:
        raise LedgerError(f"{where}: {ref!r} is not a fact name; write \"experiment.fact\"")
    if known is not None:
        known = list(known)
        if ref not in known:
            near = difflib.get_close_matches(ref, known, n=3, cutoff=0.5)
            raise LedgerError(f"{where}: no experiment declares the fact {ref!r}"
                              + (f"; nearest declared: {', '.join(near)}" if near else ""))


def load(path: Path, known_facts: Iterable[str] | None = None,
         known_evidence: Iterable[str] | None = None) -> dict[str, Claim]:
    """Read and validate the ledger; errors name the file, the claim, the key and the fix.

    With `known_facts` (results.Results.fact_names()), every fact a claim names must be declared.
    """
    known_facts = None if known_facts is None else list(known_facts)
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"{path}: not valid TOML ({exc}); fix the syntax")
    if err := _unknown(str(path), "table", data, ("claim",)):
        raise err
    claims: dict[str, Claim] = {}
    for i, raw in enumerate(data.get("claim", [])):
        where = f"{path}: claim #{i + 1} ({raw.get('id', '?')})"
        if err := _unknown(where, "key", raw, CLAIM_KEYS):
            raise err
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise LedgerError(f"{where}: missing {', '.join(missing)} (each claim needs "
                              f"{', '.join(REQUIRED)}; `book` is the book's figure as printed)")
        if not str(raw["book"]).strip():
            raise LedgerError(f"{where}: `book` is empty; quote the book's figure as printed")
        checks = []
        for c in raw["checks"]:
            if err := _unknown(f"{where}: check", "key", c, CHECK_KEYS):
                raise err
            if c.get("op") not in OPS:
                near = difflib.get_close_matches(str(c.get("op")), OPS, n=1)
                raise LedgerError(f"{where}: check op {c.get('op')!r} is not a rule"
                                  + (f"; did you mean {near[0]!r}?" if near else "")
                                  + f" Rules: {', '.join(OPS)}")
            for need in OP_NEEDS[c["op"]]:
                if need not in c:
                    raise LedgerError(f"{where}: op {c['op']!r} needs `{need}`")
            if c["op"] == "range" and "min" not in c and "max" not in c:
                raise LedgerError(f"{where}: op 'range' needs `min`, `max` or both")
            _check_fact(where, c.get("fact"), known_facts)
            if c.get("than"):
                _check_fact(where, c["than"], known_facts)
            checks.append(Check(**c))
        if not checks:
            raise LedgerError(f"{where}: `checks` is empty; a claim needs a rule")
        for key in ("fail", "partial"):
            if raw.get(key, "differs") not in VERDICTS:
                raise LedgerError(f"{where}: {key} must be one of {', '.join(VERDICTS)}")
        if raw["id"] in claims:
            raise LedgerError(f"{where}: id {raw['id']!r} appears twice")
        show, labels = [], {}
        for item in raw.get("show", [c.fact for c in checks[:1]]):
            if isinstance(item, dict):
                if err := _unknown(f"{where}: show", "key", item, SHOW_KEYS):
                    raise err
                _check_fact(where, item.get("fact"), known_facts)
                show.append(item["fact"])
                if item.get("label"):
                    labels[item["fact"]] = item["label"]
            else:
                _check_fact(where, item, known_facts)
                show.append(item)
        for item in raw.get("evidence", []):
            if err := _unknown(f"{where}: evidence", "key", item, EVIDENCE_KEYS):
                raise err
            if known_evidence is not None and item.get("ref") not in known_evidence:
                near = difflib.get_close_matches(str(item.get("ref")), list(known_evidence), n=3, cutoff=0.5)
                raise LedgerError(f"{where}: no experiment declares the evidence {item.get('ref')!r}"
                                  + (f"; nearest declared: {', '.join(near)}" if near else ""))
        examples = raw.get("examples", [])
        for ex in examples:
            if err := _unknown(f"{where}: example", "key", ex, EXAMPLE_KEYS):
                raise err
            if ex.get("verdict") not in VERDICTS:
                raise LedgerError(f"{where}: example verdict {ex.get('verdict')!r} is not one of "
                                  f"{', '.join(VERDICTS)}")
            for ref in ex.get("facts", {}):
                _check_fact(f"{where}: example", ref, known_facts)
        for c in checks:
            if c.label:
                labels.setdefault(c.fact, c.label)
        # A reader sees labels, never fact names: every fact the box prints needs one.
        for ref in show + [r for c in checks for r in (c.fact, c.than) if r]:
            if not labels.get(ref):
                raise LedgerError(f"{where}: the fact {ref!r} has no label; the claim box prints it, and "
                                  f"readers see words, not fact names: add label = \"...\" to its "
                                  f"check or its show entry")
        claims[raw["id"]] = Claim(
            id=raw["id"], section=int(raw["section"]), statement=raw["statement"], book=raw["book"],
            measure=raw["measure"], checks=checks,
            show=show, labels=labels,
            evidence=list(raw.get("evidence", [])), fail=raw.get("fail", "does-not-hold"),
            partial=raw.get("partial", "differs"), note=raw.get("note", ""), examples=examples)
    return claims


def _apply(check: Check, value: Any, other: Any) -> bool:
    if check.op == "eq":
        return value == check.expected
    if check.op == "true":
        return bool(value)
    if check.op == "within":
        lo, hi = check.expected / check.factor, check.expected * check.factor
        return lo <= value <= hi
    if check.op == "range":
        return (check.min is None or value >= check.min) and (check.max is None or value <= check.max)
    if check.op == "lt":
        return value < other
    if check.op == "gt":
        return value > other
    raise LedgerError(f"unknown op {check.op}")


def bounds(check: Check, other: Any = None) -> list[float]:
    """The numbers a numeric check's verdict turns on."""
    if check.op == "within":
        return [check.expected / check.factor, check.expected * check.factor]
    if check.op == "range":
        return [b for b in (check.min, check.max) if b is not None]
    if check.op in ("lt", "gt") and isinstance(other, (int, float)):
        return [other]
    return []


def _interval(fact: dict) -> tuple[float, float] | None:
    """The measured interval of a fact: its confidence interval, else its quartile bounds."""
    for lo_key, hi_key in (("ci_low", "ci_high"), ("low", "high")):
        if isinstance(fact.get(lo_key), (int, float)) and isinstance(fact.get(hi_key), (int, float)):
            return float(fact[lo_key]), float(fact[hi_key])
    sp = fact.get("spread")
    if isinstance(sp, dict) and "q1" in sp and "q3" in sp:
        return float(sp["q1"]), float(sp["q3"])
    return None


def _borderline(check: Check, fact: dict, value: Any, other: Any) -> tuple[str, float | None, tuple | None]:
    """Why a numeric check cannot be decided (its interval crosses a bound, or it lies in the
    band), the bound and the measured interval; ("", None, None) when it can."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "", None, None
    iv = _interval(fact)
    for b in bounds(check, other):
        if iv and iv[0] < b < iv[1]:
            return f"the measured interval {iv[0]:.4g}..{iv[1]:.4g} contains the bound {b:.4g}", b, iv
        if check.band and b and abs(value - b) <= check.band * abs(b):
            return (f"{value:.4g} is within {check.band:.0%} of the bound {b:.4g} "
                    f"(the claim's borderline band)"), b, iv
    return "", None, None


def evaluate(claim: Claim, results: Results) -> Verdict:
    out = []
    for check in claim.checks:
        fact = results.fact(check.fact)
        other = results.fact(check.than) if check.than else None
        missing = next((f for f in (fact, other) if isinstance(f, NotMeasured)), None)
        if missing is not None:
            out.append(CheckResult(check, None, None, None, f"{missing.ref}: {missing.reason}"))
            continue
        value = fact["value"]
        other_value = other["value"] if other else None
        passed = _apply(check, value, other_value)
        why, bound, iv = _borderline(check, fact, value, other_value)
        out.append(CheckResult(check, value, other_value, passed, borderline=why, bound=bound, interval=iv))
    unmeasured = [r for r in out if r.passed is None]
    if unmeasured:
        return Verdict("not-measured", out, unmeasured[0].reason)
    passed = sum(bool(r.passed) for r in out)
    edge = [r for r in out if r.borderline]
    if edge and all(r.passed or r.borderline for r in out):
        return Verdict("borderline", out, edge[0].borderline)
    if passed == len(out):
        return Verdict("holds", out)
    return Verdict(claim.fail if passed == 0 else claim.partial, out)
