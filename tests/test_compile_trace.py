"""The traced compiled evaluator against the reference evaluator's trace.

`engine.api.evaluate(..., trace=True)` runs a traced shape (engine/compile.py):
generated code that keeps the value of every node it computes, from which the
trace is rebuilt when it is read. The trace must be the reference's, exactly:
the same rules in the same order, the same reads and readings, the same tree
of steps (only the nodes the reference evaluates, with its short-circuits),
with the same values, labels and errors. Compared here on every example
scenario and case, and on hypothesis-generated §6(b), special-conversion and
every-construct fact sets with facts left out; also what happens around it:
fallbacks, laziness, and what a caller may ask of the evaluation afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compile import CONSTRUCTS, facts_strategy  # the every-construct contract and its random facts

import engine.compile
from engine.api import Outcome, evaluate, load_contract
from engine.check import Program
from engine.compile import (
    _MISSING,
    TracedEvaluation,
    compile_shape,
    compile_traced_shape,
    compiled_evaluation,
    traced_evaluation,
    traced_shape_for,
)
from engine.evaluate import Evaluation, Step
from engine.scenario import load_scenario, validate_facts
from engine.testing import case_scenarios
from engine.values import Member, Unknown
from render.memo import memo_for
from render.trace import trace_json

from helpers import ROOT

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GENERATED = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
EXAMPLES = [("special_conversion", "special_conversion"), ("rights_agreement", "rights_agreement"),
            ("series_b", "series_b_preferred")]
# The §6(b) results bench/bench_anti_dilution.py times.
ANTI_DILUTION = ("price_per_share", "shares_deemed_outstanding", "adjustment_triggered", "new_conversion_price",
                 "new_conversion_rate")

_PROGRAMS: dict[str, Program] = {}


def program_of(name: str) -> Program:
    if name not in _PROGRAMS:
        _PROGRAMS[name] = load_contract(ROOT / "contracts" / f"{name}.clause")
    return _PROGRAMS[name]


# ---------------------------------------------------------------- comparison


def _exact(value: object) -> tuple[str, str]:
    """A value with its Python type and its repr (a Decimal's exponent, a Member's rank…)."""
    if isinstance(value, Unknown):
        return "Unknown", repr(sorted(value.missing))
    return type(value).__name__, repr(value)


def _tree(step: Step | None) -> Any:
    if step is None:
        return None
    return (id(step.node), type(step.node).__name__, _exact(step.value), step.label, step.error,
            [_tree(child) for child in step.children])


def snapshot(program: Program, evaluation: Evaluation) -> tuple[str, list[Any]]:
    """Everything a trace holds: its JSON as `--trace` prints it and the memos' reasoning
    reads it (in order), and the raw Step trees, literals and all."""
    text = json.dumps(trace_json(Outcome(program, {}, [], evaluation)))
    raw = [(name, t.section, _exact(t.value), [(read, _exact(v)) for read, v in t.reads.items()], t.readings,
            _tree(t.step)) for name, t in evaluation.traces.items()]
    return text, raw


def _done(evaluation: Evaluation, name: str) -> tuple[Any, ...]:
    done = evaluation.rule(name)
    error = None if done.error is None else (done.error.message, str(done.error.span), done.error.rule)
    return _exact(done.value), sorted(done.readings), error


def reference_traced(program: Program, facts: dict[str, Any], results: tuple[str, ...]) -> Evaluation:
    evaluation = Evaluation(program, facts, trace=True)
    for name in results:
        evaluation.rule(name)
    return evaluation


def assert_same_trace(program: Program, facts: dict[str, Any],
                      results: tuple[str, ...] | None = None) -> Evaluation:
    """The traced compiled evaluation of ``results`` (all by default) is the reference's."""
    wanted = tuple(program.results) if results is None else results
    reference = reference_traced(program, facts, wanted)
    compiled = traced_evaluation(program, facts, results)
    # The results first, as engine.api reads them (before any trace is built)…
    assert [_done(compiled, n) for n in wanted] == [_done(reference, n) for n in wanted]
    # …then the trace.
    assert snapshot(program, compiled) == snapshot(program, reference)
    if isinstance(compiled, TracedEvaluation):
        assert not compiled.rebuilt_by_reference  # built from the record, not by the fallback
    # Whatever is asked afterwards continues from the same state: every define and
    # default, and the trace of every rule evaluated on request.
    assert [_done(compiled, n) for n in program.rules] == [_done(reference, n) for n in program.rules]
    assert [_exact(compiled.fact(n)) for n in program.facts] == [_exact(reference.fact(n)) for n in program.facts]
    assert snapshot(program, compiled) == snapshot(program, reference)
    return compiled


def _example_facts(directory: str, contract: str) -> list[dict[str, Any]]:
    program = program_of(contract)
    found = []
    for path in sorted((ROOT / "examples" / directory).glob("*.yaml")):
        for _, scenario in case_scenarios(path):  # a plain scenario, or every case of a test file
            found.append(validate_facts(program, scenario).values)
    return found


# ---------------------------------------------------------------- the examples


@pytest.mark.parametrize(("directory", "contract"), EXAMPLES)
def test_trace_of_every_example_is_the_references(directory: str, contract: str) -> None:
    program = program_of(contract)
    examples = _example_facts(directory, contract)
    assert examples
    compiled = [assert_same_trace(program, facts) for facts in examples]
    # The examples compute without errors: all of them take the compiled path.
    assert all(isinstance(evaluation, TracedEvaluation) for evaluation in compiled)


@pytest.mark.parametrize(("directory", "contract"), EXAMPLES)
def test_api_evaluate_with_trace_matches_the_reference_on_every_scenario_file(directory: str,
                                                                              contract: str) -> None:
    program = program_of(contract)
    for path in sorted((ROOT / "examples" / directory).glob("*.yaml")):
        if path.name.endswith(".test.yaml"):
            continue
        scenario = load_scenario(path)
        outcome = evaluate(program, scenario, trace=True)
        assert isinstance(outcome.evaluation, TracedEvaluation)
        reference = dataclasses.replace(
            outcome, evaluation=reference_traced(program, outcome.facts, tuple(program.results)))
        assert json.dumps(outcome.to_json()) == json.dumps(reference.to_json())
        assert json.dumps(trace_json(outcome)) == json.dumps(trace_json(reference))
        # The memo read from the compiled trace is the reference's, byte for byte.
        for fmt in ("md", "html"):
            assert memo_for(outcome, fmt, GENERATED) == memo_for(reference, fmt, GENERATED)


@pytest.mark.parametrize(("directory", "contract"), EXAMPLES)
def test_trace_matches_on_examples_with_facts_left_out(directory: str, contract: str) -> None:
    program = program_of(contract)
    bases = [facts for facts in _example_facts(directory, contract) if facts]

    @SETTINGS
    @given(st.sampled_from(bases).flatmap(
        lambda base: st.sets(st.sampled_from(sorted(base))).map(lambda drop: {
            k: v for k, v in base.items() if k not in drop})))
    def check(facts: dict[str, Any]) -> None:
        assert_same_trace(program, facts)

    check()


# ---------------------------------------------------------------- §6(b) and the special conversion


def _member(program: Program, enum: str) -> st.SearchStrategy[Member]:
    members = program.enums[enum].members
    return st.sampled_from([Member(enum, m, i) for i, m in enumerate(members)])


def _money(low: int, high: int) -> st.SearchStrategy[Decimal]:
    cents = st.integers(low * 100, high * 100).map(lambda c: Decimal(c) / 100)
    return st.one_of(cents, st.sampled_from([Decimal(low), Decimal("3.41"), Decimal("3.327")]))


def anti_dilution_facts(program: Program) -> st.SearchStrategy[dict[str, Any]]:
    """§6(a)-(b) issuances, as converted facts; any of them may be left out."""
    option = st.fixed_dictionaries({"shares": st.integers(0, 5_000_000), "exercise_price": _money(0, 6)})
    facts = {
        "issue_date": st.dates(dt.date(2001, 1, 1), dt.date(2005, 12, 31)),
        "holders_record_date": st.one_of(st.none(), st.dates(dt.date(2001, 1, 1), dt.date(2005, 12, 31))),
        "security": _member(program, "Security"),
        "shares_issued": st.one_of(st.integers(1, 60_000_000), st.just(0)),
        "consideration": _money(0, 200_000_000),
        "additional_consideration": _money(0, 5_000_000),
        "common_shares_outstanding": st.integers(0, 400_000_000),
        "convertible_shares": st.integers(0, 150_000_000),
        "options": st.lists(option, max_size=3).map(tuple),
        "average_current_market_price": _money(1, 5),
        "conversion_price": _money(1, 5),
        "exemption": _member(program, "Exemption"),
        "issued_as_dividend": st.booleans(),
        "capital_change_issue": st.booleans(),
        "consideration_form": _member(program, "ConsiderationForm"),
        "stated_value": st.sampled_from([Decimal(1000), Decimal("1000.00")]),
    }
    assert set(facts) <= set(program.facts)
    return st.fixed_dictionaries({}, optional=facts)


@SETTINGS
@given(data=st.data())
def test_trace_matches_on_anti_dilution_issuances(data: st.DataObject) -> None:
    program = program_of("series_b_preferred")
    facts = data.draw(anti_dilution_facts(program))
    assert_same_trace(program, facts, ANTI_DILUTION)  # what the benchmark times
    assert_same_trace(program, facts)  # and every result of the contract


def special_conversion_facts() -> st.SearchStrategy[dict[str, Any]]:
    new_york = [dt.timezone(dt.timedelta(hours=h)) for h in (-4, -5, 0)]
    near = st.datetimes(dt.datetime(2003, 6, 18, 12), dt.datetime(2003, 6, 20, 12), timezones=st.sampled_from(new_york))
    percent = st.integers(0, 300).map(lambda tenths: Decimal(tenths) / 1000)
    facts = {
        "notice_time": near.map(lambda d: d.replace(second=0, microsecond=0)),
        "principal_amount": st.sampled_from([Decimal(n) for n in (0, 1000, 2000, 5000, 1500, 1_000_000)]),
        "principal_to_convert": st.sampled_from([Decimal(n) for n in (0, 1000, 2000, 3000, 5000, 2500)]),
        "is_2012_note": st.booleans(),
        "owner_certificate_delivered": st.booleans(),
        "owners_are_group": st.booleans(),
        "owner_is_affiliate": st.booleans(),
        "owner_ownership_pct": percent,
        "owner_is_national_indemnity": st.booleans(),
        "owner_is_institutional_investor": st.booleans(),
        "owner_voting_securities_pct": percent,
    }
    return st.fixed_dictionaries({}, optional=facts)


@SETTINGS
@given(special_conversion_facts())
def test_trace_matches_on_special_conversions(facts: dict[str, Any]) -> None:
    program = program_of("special_conversion")
    assert set(facts) <= set(program.facts)
    assert_same_trace(program, facts)


# ---------------------------------------------------------------- every construct, and the corners

CORNERS = '''
contract "Tracing corners"
  home zone "America/New_York"

reading r_a: """a"""
reading r_b: """b"""
reading r_c: """c"""

scale Grade: A > B > C > D
record Item { shares: integer, price: money, grade: Grade }
zone EST = fixed "-05:00" uses r_c
calendar Biz = financial "XFED" uses r_b

fact p: boolean
fact q: boolean
fact n: integer
fact m: money
fact d: date
fact label: text
fact base: integer = 7
fact derived: integer = base
fact items: list of Item = []
fact maybe: optional date = none

define twice(x: integer): integer = x * 2 uses r_a
define over(xs: list of Item, k: integer): integer = count(i for i in xs where i.shares > k)
define pick(x: integer): integer = if p then twice(x) else x + derived uses r_b
define total: integer = sum(twice(i.shares) for i in items where i.price < m)

result nested: integer = sum(count(j for j in items where j.shares > i.shares) for i in items)
result via_function: integer = over(items, n) + over(items, 3)
result undecided: integer = if q then pick(n) else total
result labelled: boolean = all of ("p": p, "big": n > 3, "fine": not q, "const": base > 1)
result settled_any: boolean = any of (base > 1, p, n > 3)
result chain: boolean = (p unless q) unless (n > 3 and p)
result fallback: date = maybe otherwise next_day(Biz, d)
result grade: Grade = Grade(label)
result first_dear: optional money = first(i.price for i in items where i.shares > twice(n))
result any_unknown: boolean = any(i.shares > n for i in items where q)
result first_mixed: optional money = first(i.price for i in items where i.grade = Grade.A or i.shares > n)
result max_unknown: optional integer = max(i.shares for i in items where i.shares > n)
result lst: list of integer = [n, derived, pick(n)]
result rec: Item = {shares: derived, price: m, grade: Grade.A}
result defaults: integer = derived + base
result neg: integer = -(twice(n) - derived)
result when: datetime = at(next_day(Biz, d), 9:15 am, EST)
'''


def _contract(directory: Path, name: str, text: str) -> Program:
    path = directory / f"{name}.clause"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_contract(path)


@pytest.fixture(scope="module")
def constructs(tmp_path_factory: pytest.TempPathFactory) -> Program:
    return _contract(tmp_path_factory.mktemp("constructs"), "constructs", CONSTRUCTS)


@pytest.fixture(scope="module")
def corners(tmp_path_factory: pytest.TempPathFactory) -> Program:
    return _contract(tmp_path_factory.mktemp("corners"), "corners", CORNERS)


@SETTINGS
@given(data=st.data())
def test_trace_matches_on_every_construct(constructs: Program, data: st.DataObject) -> None:
    assert_same_trace(constructs, data.draw(facts_strategy(constructs)))


@SETTINGS
@given(data=st.data())
def test_trace_matches_on_the_corners(corners: Program, data: st.DataObject) -> None:
    assert_same_trace(corners, data.draw(facts_strategy(corners)))


@pytest.mark.parametrize("contract", ["special_conversion", "rights_agreement", "series_b_preferred"])
def test_trace_matches_on_random_facts_of_every_contract(contract: str) -> None:
    program = program_of(contract)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(facts_strategy(program))
    def check(facts: dict[str, Any]) -> None:
        assert_same_trace(program, facts)  # errors included: those go to the reference

    check()


def test_corner_scenario_takes_the_compiled_path(corners: Program) -> None:
    # Without n, `first_mixed` meets an undecided item, selects the next and goes on.
    items = ({"shares": 5, "price": Decimal(1), "grade": Member("Grade", "C", 2)},
             {"shares": 9, "price": Decimal(4), "grade": Member("Grade", "A", 0)},
             {"shares": 12, "price": Decimal(2), "grade": Member("Grade", "B", 1)})
    facts = {"p": True, "n": 5, "m": Decimal(3), "d": dt.date(2003, 6, 18), "label": "B", "items": items}
    for given_facts in (facts, {**facts, "q": False}, {**facts, "q": True}, {"items": items, "q": True}):
        evaluation = assert_same_trace(corners, given_facts)
        assert isinstance(evaluation, TracedEvaluation)


# ---------------------------------------------------------------- around the trace


def test_an_evaluation_error_falls_back_to_the_reference_with_its_error_steps(constructs: Program) -> None:
    facts = {"m": Decimal(5), "n": 0, "p": False}  # priced = m / n divides by zero
    evaluation = assert_same_trace(constructs, facts)
    assert not isinstance(evaluation, TracedEvaluation)  # the reference evaluator's own
    errors = [s for t in evaluation.traces.values() for s in _steps(t.step) if s.error]
    assert errors and "division by zero" in str(errors[0].error)


def _steps(step: Step | None) -> list[Step]:
    return [] if step is None else [step, *(s for child in step.children for s in _steps(child))]


def test_a_record_that_does_not_fit_is_rebuilt_by_the_reference() -> None:
    program = program_of("series_b_preferred")
    facts = _example_facts("series_b", "series_b_preferred")[0]
    shape = traced_shape_for(program, frozenset(facts))
    assert shape is not None
    values, readings, record = shape.run(facts)
    spoiled = TracedEvaluation(program, facts, shape, values, readings, tuple(_MISSING for _ in record))
    reference = reference_traced(program, facts, tuple(program.results))
    assert snapshot(program, spoiled) == snapshot(program, reference)
    assert spoiled.rebuilt_by_reference


def test_the_trace_is_built_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    real = engine.compile._Replay

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:
            built.append(1)
            super().__init__(*args)

    monkeypatch.setattr(engine.compile, "_Replay", Counting)
    program = program_of("special_conversion")
    outcome = evaluate(program, load_scenario(ROOT / "examples" / "special_conversion" / "holder_converts.yaml"),
                       trace=True)
    assert outcome.results["shares_issuable"].value == 353 and not built
    assert outcome.evaluation.traces and built == [1]
    assert outcome.evaluation.traces and built == [1]  # once


def test_untraced_shapes_carry_nothing_of_the_trace() -> None:
    program = program_of("series_b_preferred")
    facts = _example_facts("series_b", "series_b_preferred")[0]
    untraced = compile_shape(program, frozenset(facts)).source
    traced = compile_traced_shape(program, frozenset(facts)).source
    assert "_M" not in untraced and " s0 = " not in untraced and "try:" not in untraced
    assert " s0 = " in traced
    # The untraced evaluation stays the untraced shape's (no record, no trace).
    untraced_evaluation = compiled_evaluation(program, facts)
    assert not isinstance(untraced_evaluation, TracedEvaluation) and not untraced_evaluation.traces
