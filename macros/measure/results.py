"""The contract between measuring and rendering: declared facts, typed "not measured", lookups.

Each experiment declares the facts and evidence it records (name, kind, source) beside its
code. A page, a claim's check, a figure or a test reads them only through `Results`, which
knows those declarations: asking for a name nobody declares raises `UnknownName` with the
nearest declared names; a declared fact that could not be measured is a `NotMeasured`,
never None, an empty list or an error message dressed as output.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError

RESULTS_SCHEMA = 2

# kind -> (unit, the Python types a measured value may have)
KINDS: dict[str, tuple[str | None, tuple[type, ...]]] = {
    "bytes": ("B", (int, float)),
    "seconds": ("s", (int, float)),
    "ns": ("ns", (int, float)),
    "ratio": ("x", (int, float)),
    "instructions": ("instr", (int,)),
    "count": (None, (int,)),
    "number": (None, (int, float)),
    "flag": (None, (bool,)),
    "text": (None, (str,)),
    "address": (None, (str,)),
    "table": (None, (list, dict)),
    "evidence": (None, (str,)),      # text shown verbatim: program output, machine code, maps
}


@dataclass(frozen=True)
class FactSpec:
    """One declared fact (or piece of evidence) of an experiment."""
    name: str
    kind: str
    source: str              # the listing or tool that gives it: "csrc/add.c", "objdump", "sysfs"
    nullable: bool = False   # None is a measured answer ("no single instruction"), not a gap

    @property
    def unit(self) -> str | None:
        return KINDS[self.kind][0]

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        types = KINDS[self.kind][1]
        if isinstance(value, bool) and bool not in types:
            return False
        return isinstance(value, types)


def declare(source: str, *items: tuple) -> tuple[FactSpec, ...]:
    """Facts given as (name, kind) or (name, kind, source) or (name, kind, source, nullable)."""
    out = []
    for item in items:
        name, kind, *rest = item
        if kind not in KINDS:
            raise ValueError(f"fact {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        out.append(FactSpec(name, kind, rest[0] if rest else source, bool(rest[1]) if len(rest) > 1 else False))
    return tuple(out)


def evidence(source: str, *items: str | tuple[str, str]) -> tuple[FactSpec, ...]:
    """Evidence names, each with the experiment's source or (name, source)."""
    return tuple(FactSpec(i, "evidence", source) if isinstance(i, str) else FactSpec(i[0], "evidence", i[1])
                 for i in items)


class NotMeasured:
    """A declared fact without a value, and why. Falsy; never a number, a list or text to parse."""

    __slots__ = ("ref", "reason", "file")

    def __init__(self, ref: str, reason: str, file: str | None = None) -> None:
        self.ref, self.reason, self.file = ref, reason, file

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NotMeasured) and (self.ref, self.reason) == (other.ref, other.reason)

    __hash__ = None  # type: ignore[assignment]

    def _refuse(self, *_: Any) -> Any:
        raise TypeError(f"{self.ref} was not measured ({self.reason}); a page must test "
                        f"measured({self.ref!r}) before comparing or computing with it")

    __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __float__ = __int__ = __len__ = __iter__ = _refuse

    def __str__(self) -> str:
        return f"not measured: {self.reason}"

    def __repr__(self) -> str:
        return f"NotMeasured({self.ref!r}, {self.reason!r})"


def not_measured(reason: str) -> dict:
    """What an experiment records for a declared fact it could not measure, and why."""
    return {"value": None, "not_measured": reason}


class UnknownName(InputError, LookupError):
    """A name that no experiment declares; the message lists the nearest declared names."""

    def __init__(self, what: str, ref: str, known: Iterable[str]) -> None:
        near = difflib.get_close_matches(ref, list(known), n=4, cutoff=0.5)
        hint = f"; nearest declared: {', '.join(near)}" if near else ""
        super().__init__(f"unknown {what} {ref!r}: no experiment declares it{hint}")
        self.ref, self.near = ref, near


class ResultsFileError(InputError):
    """A results file that cannot be rendered: the message names the file and the fix."""


def load_document(path: Path) -> dict:
    """A results file written by scripts/measure.py, checked before anything reads it."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(f"{path}: not a readable results file ({exc}); measure again with "
                               f"`python scripts/measure.py`")
    if not isinstance(doc, dict) or "experiments" not in doc:
        raise ResultsFileError(f"{path}: not a results file of this chapter (no 'experiments'); "
                               f"results files come from `python scripts/measure.py`")
    if doc.get("schema") != RESULTS_SCHEMA:
        raise ResultsFileError(f"{path}: results schema {doc.get('schema')!r}, this version reads "
                               f"schema {RESULTS_SCHEMA}; measure again with this version's "
                               f"`python scripts/measure.py`")
    return doc


class Results:
    """A results document read through the experiments' declarations."""

    def __init__(self, doc: dict, declared: Mapping[str, tuple[tuple[FactSpec, ...], tuple[FactSpec, ...]]]) -> None:
        self.doc = doc
        self.declared = declared          # experiment -> (facts, evidence)
        self._facts = {f"{e}.{s.name}": s for e, (fs, _) in declared.items() for s in fs}
        self._evidence = {f"{e}.{s.name}": s for e, (_, ev) in declared.items() for s in ev}

    # --------------------------------------------------------------- names

    def fact_names(self) -> list[str]:
        return list(self._facts)

    def evidence_names(self) -> list[str]:
        return list(self._evidence)

    def spec(self, ref: str) -> FactSpec:
        if ref not in self._facts:
            raise UnknownName("fact", ref, self._facts)
        return self._facts[ref]

    def experiment(self, name: str) -> dict:
        """An experiment's record; UnknownName if no experiment of that name exists."""
        if name not in self.declared:
            raise UnknownName("experiment", name, self.declared)
        return self.doc.get("experiments", {}).get(name) or {
            "status": "failed", "reason": "this results file holds no record of it"}

    def measured_experiment(self, name: str) -> bool:
        return self.experiment(name).get("status") == "ok"

    # --------------------------------------------------------------- values

    def _why_not(self, exp_name: str) -> tuple[str, str | None]:
        """Why a whole experiment has no results, naming it and its file."""
        exp = self.experiment(exp_name)
        where = f" ({exp['file']})" if exp.get("file") else ""
        return f"{exp_name}{where}: {exp.get('reason', 'failed')}", exp.get("file")

    def _measured(self, ref: str) -> dict | NotMeasured:
        """The record of the experiment `ref` belongs to, or why it has none."""
        exp_name = ref.partition(".")[0]
        exp = self.experiment(exp_name)
        if exp.get("status") != "ok":
            reason, file = self._why_not(exp_name)
            return NotMeasured(ref, reason, file)
        return exp

    def fact(self, ref: str) -> dict | NotMeasured:
        """The measured fact (value, unit, spread...) or NotMeasured with the reason."""
        self.spec(ref)
        exp = self._measured(ref)
        if isinstance(exp, NotMeasured):
            return exp
        f = exp.get("facts", {}).get(ref.partition(".")[2])
        if not isinstance(f, dict):
            return NotMeasured(ref, "the results hold no value for it (measured by an older "
                                    "version of the experiment)", exp.get("file"))
        if "not_measured" in f:
            return NotMeasured(ref, str(f["not_measured"]), exp.get("file"))
        return f

    def value(self, ref: str) -> Any:
        f = self.fact(ref)
        return f if isinstance(f, NotMeasured) else f.get("value")

    def evidence(self, ref: str) -> str | NotMeasured:
        if ref not in self._evidence:
            raise UnknownName("evidence", ref, self._evidence)
        exp = self._measured(ref)
        if isinstance(exp, NotMeasured):
            return exp
        text = exp.get("evidence", {}).get(ref.partition(".")[2])
        if isinstance(text, dict) and "not_measured" in text:
            return NotMeasured(ref, str(text["not_measured"]))
        if not isinstance(text, str):
            return NotMeasured(ref, "the results hold no such evidence (measured by an older "
                                    "version of the experiment)")
        return text

    def facts_of(self, exp_name: str) -> dict[str, dict] | NotMeasured:
        """Every measured fact of one experiment by name (not-measured ones left out)."""
        exp = self.experiment(exp_name)
        if exp.get("status") != "ok":
            reason, file = self._why_not(exp_name)
            return NotMeasured(exp_name, reason, file)
        specs = self.declared[exp_name][0]
        out = {}
        for s in specs:
            f = self.fact(f"{exp_name}.{s.name}")
            if not isinstance(f, NotMeasured):
                out[s.name] = f
        return out

    def not_measured(self) -> list[NotMeasured]:
        """Every declared fact without a value, for the build's summary and --strict."""
        return [f for ref in self._facts if isinstance(f := self.fact(ref), NotMeasured)]

    @property
    def prov(self) -> dict:
        return self.doc.get("provenance", {})
