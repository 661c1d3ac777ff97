"""The claims ledger (claims.toml) and the rules that turn measurements into verdicts.

A claim's `checks` compare measured facts with the book's figures:
  op = "eq"      fact == expected
  op = "within"  expected / factor <= fact <= expected * factor
  op = "range"   min <= fact <= max
  op = "true"    fact is true
  op = "lt"/"gt" fact < / > the fact named by `than`
All checks pass: "holds". None pass: the claim's `fail` verdict (default "does-not-hold").
Some pass: its `partial` verdict (default "differs").
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

VERDICTS = ("holds", "differs", "does-not-hold", "not-measured")
OPS = ("eq", "within", "range", "true", "lt", "gt")
REQUIRED = ("id", "section", "statement", "book", "measure")


class LedgerError(ValueError):
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


@dataclass
class CheckResult:
    check: Check
    value: object
    other: object
    passed: bool | None       # None: the fact was not measured
    reason: str = ""


@dataclass
class Verdict:
    status: str
    results: list[CheckResult]
    reason: str = ""          # why not measured


def load(path: Path) -> dict[str, Claim]:
    """Read and validate the ledger; errors name the file, the claim and the fix."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"{path}: not valid TOML ({exc}); fix the syntax")
    claims: dict[str, Claim] = {}
    for i, raw in enumerate(data.get("claim", [])):
        where = f"{path}: claim #{i + 1} ({raw.get('id', '?')})"
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise LedgerError(f"{where}: missing {', '.join(missing)}")
        checks = []
        for c in raw.get("checks", []):
            if c.get("op") not in OPS:
                raise LedgerError(f"{where}: check op {c.get('op')!r} is not one of {', '.join(OPS)}")
            if "fact" not in c or "." not in c["fact"]:
                raise LedgerError(f"{where}: each check needs fact = \"experiment.fact\"")
            checks.append(Check(**c))
        for key in ("fail", "partial"):
            if raw.get(key, "differs") not in VERDICTS:
                raise LedgerError(f"{where}: {key} must be one of {', '.join(VERDICTS)}")
        if raw["id"] in claims:
            raise LedgerError(f"{where}: id {raw['id']!r} appears twice")
        show, labels = [], {}
        for item in raw.get("show", [c.fact for c in checks[:1]]):
            if isinstance(item, dict):
                show.append(item["fact"])
                labels[item["fact"]] = item.get("label", item["fact"])
            else:
                show.append(item)
        claims[raw["id"]] = Claim(
            id=raw["id"], section=int(raw["section"]), statement=raw["statement"], book=raw["book"],
            measure=raw["measure"], checks=checks,
            show=show, labels=labels,
            evidence=list(raw.get("evidence", [])), fail=raw.get("fail", "does-not-hold"),
            partial=raw.get("partial", "differs"), note=raw.get("note", ""))
    return claims


class FactSource:
    """Looks up "experiment.fact" in a results document."""

    def __init__(self, doc: dict) -> None:
        self.doc = doc

    def experiment(self, name: str) -> dict | None:
        return self.doc.get("experiments", {}).get(name)

    def get(self, ref: str) -> tuple[dict | None, str]:
        """(fact, "") when measured; (None, reason) when not."""
        exp_name, _, fact_name = ref.partition(".")
        exp = self.experiment(exp_name)
        if exp is None:
            return None, f"no experiment named {exp_name!r}"
        if exp.get("status") != "ok":
            where = f" ({exp['file']})" if exp.get("file") else ""
            return None, f"{exp_name}{where}: {exp.get('reason', 'failed')}"
        fact = exp.get("facts", {}).get(fact_name)
        if fact is None:
            return None, f"experiment {exp_name!r} records no fact {fact_name!r}"
        return fact, ""


def _apply(check: Check, value, other) -> bool:
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


def evaluate(claim: Claim, facts: FactSource) -> Verdict:
    if not claim.checks:
        return Verdict("not-measured", [], "no experiment measures this claim yet")
    results = []
    for check in claim.checks:
        fact, why = facts.get(check.fact)
        other = None
        if fact is not None and check.than:
            other_fact, why = facts.get(check.than)
            other = other_fact["value"] if other_fact else None
            if other_fact is None:
                fact = None
        if fact is None:
            results.append(CheckResult(check, None, None, None, why))
            continue
        results.append(CheckResult(check, fact["value"], other, _apply(check, fact["value"], other)))
    unmeasured = [r for r in results if r.passed is None]
    if unmeasured:
        return Verdict("not-measured", results, unmeasured[0].reason)
    passed = sum(r.passed for r in results)
    if passed == len(results):
        return Verdict("holds", results)
    return Verdict(claim.fail if passed == 0 else claim.partial, results)
