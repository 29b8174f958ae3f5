"""The engine's small public interface: load a contract, evaluate facts.

    contract = load_contract("contracts/special_conversion.clause")
    outcome = evaluate(contract, {"notice_time": "2003-06-18T20:00:00-04:00", ...})
    outcome.results["shares_issuable"].value

Everything behind it (parse → check → evaluate) can change, including how
evaluation is carried out, without touching callers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import types as T
from engine.check import IN_FORCE, Program
from engine.errors import Diagnostic, SourceMap
from engine.evaluate import Evaluation, EvaluationError
from engine.scenario import Scenario, validate_facts, validate_mapping
from engine.values import Unknown, encode, is_rounded


@dataclass
class ResultValue:
    name: str
    type: T.Type
    value: object
    missing: tuple[str, ...]
    cites: list[str]
    readings: list[str]
    description: str | None
    error: EvaluationError | None = None

    @property
    def determined(self) -> bool:
        return not self.missing and self.error is None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": encode(self.value, self.type)}
        if is_rounded(self.value):  # no finite decimal expansion: "value" holds SIGNIFICANT_DIGITS digits
            data["rounded"] = True
        data["type"] = T.category(self.type)
        data["cites"] = self.cites
        data["missing"] = list(self.missing)
        if self.readings:
            data["readings"] = self.readings
        if self.error is not None:
            data["error"] = f"{self.error.span}: {self.error.message}"
        return data


@dataclass
class Outcome:
    program: Program
    results: dict[str, ResultValue]
    notes: list[str]
    evaluation: Evaluation
    scenario: Scenario | None = None
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def full_lists(self) -> bool:
        """Traced with every item of a long list whole (``evaluate(..., full_lists=True)``)."""
        return self.evaluation.tracing and self.evaluation.full_lists

    @property
    def errors(self) -> list[EvaluationError]:
        """Each failure once: a result that fails because a rule it uses failed carries that rule's error."""
        unique: dict[tuple[str | None, object, str], EvaluationError] = {}
        for result in self.results.values():
            error = result.error
            if error is not None:
                unique.setdefault((error.rule, error.span, error.message), error)
        return list(unique.values())

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "contract": self.program.path,
            "scenario": self.scenario.path if self.scenario else None,
            "results": {name: r.to_json() for name, r in self.results.items()},
        }
        if self.notes:
            data["notes"] = self.notes
        if self.errors:
            data["errors"] = [f"{e.span}: error: {e.message}" for e in self.errors]
        return data


def load_contract(path: str | Path, strict: bool = False, *, allow_outside: bool | None = None) -> Program:
    """Parse and check a clause file; raises ClauseError listing every problem.

    A contract checked before, whose files have not changed, comes from the
    cache (engine/cache.py) without parsing or checking. Includes and source
    documents are read only in the contract's directory tree unless
    ``allow_outside`` (default: `CLAUSE_ALLOW_OUTSIDE=1` in the environment)."""
    from engine.cache import load_program
    from engine.limits import allow_outside_from_environment

    widened = allow_outside_from_environment() if allow_outside is None else allow_outside
    return load_program(path, strict=strict, allow_outside=widened)


@dataclass
class CheckedText:
    """An editor's text checked: the program when it checks, else every diagnostic."""

    program: Program | None
    diagnostics: list[Diagnostic]
    sources: SourceMap


def check_text(path: str | Path, text: str) -> CheckedText:
    """Parse and check the unsaved text of the clause file at ``path`` (its includes and
    source documents are read from beside it), reporting problems instead of raising."""
    from engine.check import check_program
    from engine.parse import load

    loaded = load(path, content=text.encode("utf-8"))
    program, diagnostics = check_program(loaded, str(path))
    if program is not None:
        program.digests = loaded.digests
    if program is None and not diagnostics:
        diagnostics = [Diagnostic(f"{path} could not be read")]
    return CheckedText(program, diagnostics, loaded.sources)


def evaluate(program: Program, facts: Mapping[str, Any] | Scenario, *, trace: bool = False,
             full_lists: bool = False) -> Outcome:
    """Validate the facts and compute every result the contract declares.

    ``trace``: keep how each rule was computed (``outcome.evaluation.traces``), for memos and
    ``render.trace``. Of a long list the trace keeps whole only the items those write out (the
    first and last, the deciding one; the others keep their values), so that its size follows
    what is shown, not the list; ``full_lists`` keeps every item whole, for
    ``--full-lists`` (a memo or trace of every item needs an outcome traced so)."""
    from engine.compile import validate_fast  # valid facts convert without the model; it reports the invalid

    if isinstance(facts, Scenario):
        scenario: Scenario | None = facts
        valid = validate_fast(program, facts.facts) or validate_facts(program, facts)
    else:
        scenario = None
        valid = validate_fast(program, facts) or validate_mapping(program, facts)
    if trace:
        from engine.compile import traced_evaluation

        evaluation = traced_evaluation(program, valid.values,  # compiled with tracing; the trace built when read
                                       full_lists=full_lists)
    else:
        from engine.compile import compiled_evaluation

        evaluation = compiled_evaluation(program, valid.values)  # same results, compiled (engine/compile.py)
    results = {name: _result(program, evaluation, name) for name in program.results}
    return Outcome(program, results, valid.notes, evaluation, scenario, dict(valid.values))


def _result(program: Program, evaluation: Evaluation, name: str) -> ResultValue:
    info = program.rules[name]
    done = evaluation.rule(name)
    missing = tuple(sorted(done.value.missing)) if isinstance(done.value, Unknown) else ()
    value = None if isinstance(done.value, Unknown) else done.value
    description = getattr(info.decl, "description", None)
    cites = program.cites.get(name, [])
    if name in program.amendments:  # which provision is in force depends on the day asked about
        cites = program.cites_in_force(name, evaluation.fact(IN_FORCE))
    return ResultValue(name, info.type, value, missing, cites, sorted(done.readings),
                       description, done.error)
