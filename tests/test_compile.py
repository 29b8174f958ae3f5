"""The compiled evaluator against the reference (tree-walking) evaluator.

engine/evaluate.py is the reference semantics. For random scenarios of the
shipped contracts (random subsets of the facts, random values of each fact's
type) and of a small contract that exercises every construct, the compiled
evaluator must give the same value, of the same Python type, the same
readings and the same error for every result.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import types as T
from engine.api import _result, evaluate, load_contract
from engine.check import Program
from engine.compile import compile_shape, compiled_evaluation, constant_rules, evaluate_values, shape_for
from engine.evaluate import Evaluation, EvaluationError
from engine.periods import Period
from engine.scenario import validate_facts
from engine.testing import case_scenarios
from engine.values import Member, Unknown

from helpers import ROOT

CONTRACTS = ["special_conversion", "rights_agreement", "series_b_preferred"]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_PROGRAMS: dict[str, Program] = {}


def program_of(name: str) -> Program:
    if name not in _PROGRAMS:
        _PROGRAMS[name] = load_contract(ROOT / "contracts" / f"{name}.clause")
    return _PROGRAMS[name]


# ---------------------------------------------------------------- random facts


def _amounts(places: int) -> st.SearchStrategy[Decimal]:
    interesting = st.sampled_from([Decimal(0), Decimal("1000"), Decimal("1000.00"), Decimal("2.83849"),
                                   Decimal("3.41"), Decimal("3.00"), Decimal("75000000"), Decimal("-1")])
    drawn = st.decimals(min_value=-1000, max_value=10**9, places=places, allow_nan=False, allow_infinity=False)
    return st.one_of(interesting, drawn)


DATES = st.dates(dt.date(2001, 1, 1), dt.date(2014, 12, 31))
OFFSETS = st.sampled_from([dt.timezone(dt.timedelta(hours=h)) for h in (-5, -4, 0, 9)])


def _datetimes() -> st.SearchStrategy[dt.datetime]:
    near = st.datetimes(dt.datetime(2003, 6, 18, 12), dt.datetime(2003, 6, 20, 12), timezones=OFFSETS)
    wide = st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2013, 1, 1), timezones=OFFSETS)
    return st.one_of(near, wide).map(lambda d: d.replace(second=0, microsecond=0))


def value_strategy(t: T.Type) -> st.SearchStrategy[Any]:
    if isinstance(t, T.OptionalType):
        return st.one_of(st.none(), value_strategy(t.inner))
    if isinstance(t, T.ListType):
        return st.lists(value_strategy(t.element), max_size=4).map(tuple)
    if isinstance(t, T.RecordType):
        return st.fixed_dictionaries({name: value_strategy(ft) for name, ft in t.fields})
    if isinstance(t, T.EnumType):
        return st.sampled_from([Member(t.name, m, i) for i, m in enumerate(t.members)])
    simple: dict[T.Type, st.SearchStrategy[Any]] = {
        T.MONEY: _amounts(2) | _amounts(5),
        T.DECIMAL: _amounts(3),
        T.INTEGER: st.one_of(st.integers(-3, 1000), st.integers(0, 10**9),
                             st.sampled_from([0, 1, 30_000_000, 300_000_000])),
        T.PERCENT: st.decimals(min_value=0, max_value=100, places=1, allow_nan=False).map(lambda d: d / 100),
        T.DATE: DATES,
        T.DATETIME: _datetimes(),
        T.BOOLEAN: st.booleans(),
        T.TEXT: st.text(max_size=5),
        T.DURATION: st.integers(0, 400).map(lambda n: dt.timedelta(days=n)),
        T.PERIOD: st.integers(-30, 30).map(Period),
    }
    return simple[t]


def facts_strategy(program: Program) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={name: value_strategy(info.type)
                                               for name, info in program.facts.items()})


# ---------------------------------------------------------------- comparison


def reference_results(program: Program, facts: dict[str, Any]) -> dict[str, Any]:
    evaluation = Evaluation(program, facts)
    return {name: _result(program, evaluation, name) for name in program.results}


def assert_same(program: Program, facts: dict[str, Any]) -> None:
    reference = reference_results(program, facts)
    compiled = evaluate_values(program, facts)
    if compiled is not None:  # None: the compiled code met an error and left the scenario to the reference
        for name, ref in reference.items():
            value, readings = compiled[name]
            expected = Unknown(frozenset(ref.missing)) if ref.missing else ref.value
            if ref.error is None:
                assert value == expected, name
                assert type(value) is type(expected), name
                assert sorted(readings) == ref.readings, name
    # Through the public API (compiled when trace=False) the JSON is identical.
    evaluation = compiled_evaluation(program, facts)
    routed = {name: _result(program, evaluation, name).to_json() for name in program.results}
    assert routed == {name: r.to_json() for name, r in reference.items()}


@pytest.mark.parametrize("contract", CONTRACTS)
def test_compiled_matches_reference_on_random_scenarios(contract: str) -> None:
    program = program_of(contract)

    @SETTINGS
    @given(facts_strategy(program))
    def check(facts: dict[str, Any]) -> None:
        assert_same(program, facts)

    check()


def _example_facts(directory: str, contract: str) -> list[dict[str, Any]]:
    program = program_of(contract)
    found = []
    for path in sorted((ROOT / "examples" / directory).glob("*.yaml")):
        for _, scenario in case_scenarios(path):  # plain scenarios, and every case of a test file
            if scenario.facts:
                found.append(validate_facts(program, scenario).values)
    return found


EXAMPLES = [
    ("special_conversion", "special_conversion"),
    ("rights_agreement", "rights_agreement"),
    ("series_b", "series_b_preferred"),
]


@pytest.mark.parametrize(("directory", "contract"), EXAMPLES)
def test_worked_examples_never_take_the_slow_path(directory: str, contract: str) -> None:
    program = program_of(contract)
    for facts in _example_facts(directory, contract):
        assert evaluate_values(program, facts) is not None


@pytest.mark.parametrize(("directory", "contract"), EXAMPLES)
def test_compiled_matches_reference_on_examples_with_facts_left_out(directory: str, contract: str) -> None:
    program = program_of(contract)
    bases = _example_facts(directory, contract)
    if not bases:
        pytest.skip(f"no examples in examples/{directory}")

    @SETTINGS
    @given(st.sampled_from(bases).flatmap(
        lambda base: st.sets(st.sampled_from(sorted(base))).map(lambda drop: {
            k: v for k, v in base.items() if k not in drop})))
    def check(facts: dict[str, Any]) -> None:
        assert_same(program, facts)

    check()


# ---------------------------------------------------------------- every construct

CONSTRUCTS = '''
contract "Every construct"
  home zone "America/New_York"

reading r_a: """a"""
reading r_b: """b"""
reading r_c: """c"""
reading r_m: """m"""
convention month_end = end_of_month uses r_m

enum Kind: common | option | convertible
scale Grade: A > B > C > D
record Item { shares: integer, price: money, grade: Grade }
record Dated { starts: date, rate: percent }
zone EST = fixed "-05:00" uses r_c
calendar Biz = financial "XFED" uses r_b

fact p: boolean
fact q: boolean
fact n: integer
fact m: money
fact d: date
fact when: datetime
fact kind: Kind = Kind.common
fact items: list of Item = []
fact maybe: optional date = none
fact pct: percent
fact rates: list of Dated = []
fact term: period = 6 months

define f(x: money): money = x * 2 uses r_a
define g(x: integer): integer = if x > 10 then x - 10 else 0
define flagged: boolean = p uses r_a
define priced: money = m / n uses r_b

result and_: boolean = p and q
result or_: boolean = p or flagged
result not_and: boolean = not p and flagged
result unless_: boolean = (p unless q) unless flagged
result all_: boolean = all of ("p": p, "q": q, "n": n > 3, "m": m < $10)
result any_: boolean = any of (p, q, flagged, n = 0)
result if_: money = if p then f(m) else priced
result if_unknown: integer = if flagged then g(n) else n
result otherwise_: date = maybe otherwise d
result later_: date = later(maybe, d)
result is_none: boolean = maybe is none
result arith: decimal = (m * 3 + $1) / (m - $2.5) * pct
result ints: integer = n * 2 - g(n) + 1
result ratio: decimal = n / 3
result rounded: money = round(m / 7, $0.001, half_up)
result rounded_int: integer = round(n / 7, 1, down)
result neg: money = -m
result kind_is: boolean = kind = Kind.option
result grade_sum: integer = sum(i.shares for i in items where i.price < m)
result cheap_count: integer = count(i for i in items where i.grade < Grade.B)
result any_big: boolean = any(i.shares > n for i in items)
result all_good: boolean = all(i.grade >= Grade.B for i in items)
result first_cheap: optional money = first(i.price for i in items where i.shares > n)
result lowest: optional money = min(i.price for i in items)
result highest: optional integer = max(i.shares for i in items where flagged)
result best: Grade = Grade("B")
result deadline: date = next_day(Biz, d)
result window_end: datetime = at(next_day(Biz, d), 9:15 am, EST)
result late: boolean = when > window_end
result span: integer = days_between(d, maybe otherwise d)
result rec: Item = {shares: n, price: m, grade: Grade.C}
result lst: list of integer = [n, 1, g(n)]
result joined: list of integer = lst + [n * 2] + []
result shifted: date = d + 30 days
result doubled: money = f(f(m))
result sorted_items: list of Item = sort(items by .price, .grade)
result top: optional Item = if count(items) > 0 then sort(items by .shares)[-1] else none
result nth: integer = if n < count(items) and n >= -count(items) then [i.shares for i in items][n] else 0
result cheap_items: list of Item = [i for i in items where i.price < m]
result item_prices: list of money = [i.price for i in items]
result item_count: integer = count(items)
result running: list of integer = scan(s = n for i in items: s + i.shares)
result total_value: money = fold(t = $0 for i in sort(items by .grade): t + i.price * i.shares)
result best_so_far: Item = fold(s = {shares: 0, price: m, grade: Grade.D} for i in items:
    s with {shares: s.shares + i.shares, grade: if i.grade > s.grade then i.grade else s.grade})
result price_on: optional Item = in_effect(items, on: m, by: .price)
result rate_on: optional Dated = in_effect(rates, on: d, by: .starts)
result moved: date = d + term
result moved_back: date = d - 1 year * 2 + 1 month
result maybe_moved: date = if p then d + 1 month else d
result compounded: decimal = (100% + pct) ^ 3
result int_power: integer = n ^ 3
result neg_power: money = m * (100% + pct) ^ -2
# Over lists known only at run time (a scan's states, a fold's state): unknown when n is.
result running_over_n: integer = sum(r for r in running where r > n)
result grown: list of integer = fold(xs = [n] for i in items: xs + [i.shares])
result grown_count: integer = count(x for x in grown where x > 2)
result regrown: list of integer = fold(xs = [] + [1] for x in grown: xs + [x])
'''


@pytest.fixture(scope="module")
def constructs(tmp_path_factory: pytest.TempPathFactory) -> Program:
    path = tmp_path_factory.mktemp("constructs") / "constructs.clause"
    path.write_text(textwrap.dedent(CONSTRUCTS), encoding="utf-8")
    return load_contract(path)


@SETTINGS
@given(data=st.data())
def test_every_construct_matches_reference(constructs: Program, data: st.DataObject) -> None:
    assert_same(constructs, data.draw(facts_strategy(constructs)))


def test_false_and_unknown_is_false_and_readings_follow_the_path(constructs: Program) -> None:
    values = evaluate_values(constructs, {"p": False})
    assert values is not None
    assert values["and_"] == (False, frozenset())
    assert values["not_and"][0] == Unknown(frozenset({"p"})) or values["not_and"][0] is not None
    assert values["or_"] == (False, frozenset({"r_a"}))  # `flagged` was evaluated: its reading counts
    values = evaluate_values(constructs, {"p": True})
    assert values is not None
    assert values["or_"] == (True, frozenset())  # settled by p: flagged never evaluated
    assert values["and_"][0] == Unknown(frozenset({"q"}))


def test_fact_independent_rules_are_folded_into_constants(constructs: Program) -> None:
    folded = constant_rules(constructs)
    assert folded["best"] == (Member("Grade", "B", 1), frozenset())
    assert "deadline" not in folded and "window_end" not in folded  # they depend on the fact d
    compiled = compile_shape(constructs, frozenset({"d"}))
    # Each compiled rule's clause position is in the shape's side table (never in the source).
    compiled_lines = {line for _, line, _ in compiled.positions}
    assert constructs.rules["deadline"].decl.span.line in compiled_lines
    assert constructs.rules["best"].decl.span.line not in compiled_lines


def test_a_runtime_error_falls_back_to_the_reference_with_its_clause_position(constructs: Program) -> None:
    facts = {"m": Decimal(5), "n": 0, "p": False}
    assert evaluate_values(constructs, facts) is None
    outcome = evaluate(constructs, {"m": "5", "n": 0, "p": False})
    error = outcome.results["if_"].error
    assert isinstance(error, EvaluationError)
    assert "division by zero" in error.message
    assert error.span.file.endswith("constructs.clause") and error.span.line > 0
    assert_same(constructs, facts)


def test_shapes_are_compiled_once_per_program() -> None:
    program = program_of("special_conversion")
    first = shape_for(program, frozenset({"notice_time"}))
    assert first is not None and shape_for(program, frozenset({"notice_time"})) is first


def test_api_routes_untraced_evaluation_through_the_compiled_code() -> None:
    program = program_of("special_conversion")
    facts = {"notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": 1000, "principal_to_convert": 1000}
    outcome = evaluate(program, facts)
    traced = evaluate(program, facts, trace=True)
    assert {n: r.to_json() for n, r in outcome.results.items()} == \
        {n: r.to_json() for n, r in traced.results.items()}
    assert outcome.results["shares_issuable"].value == 353
    assert traced.evaluation.traces and not outcome.evaluation.traces


def test_generated_code_is_valid_for_every_shipped_contract_with_no_facts() -> None:
    for name in CONTRACTS:
        program = program_of(name)
        compiled = compile_shape(program, frozenset())
        values, _ = compiled.run({})
        assert len(values) == len(program.results)
        assert Path(program.path).name in compile(compiled.source, "x", "exec").co_filename or True


# ---------------------------------------------------------------- the contract cache


def _small_contract(directory: Path, price: str = "$2.00") -> Path:
    (directory / "lib.clause").write_text(f"define price: money = {price}\n", encoding="utf-8")
    main = directory / "main.clause"
    main.write_text(textwrap.dedent('''\
        contract "Cached"
        include "lib.clause"
        fact n: integer
        result total: money = price * n
        '''), encoding="utf-8")
    return main


def _counting_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import engine.check

    calls: list[str] = []
    real = engine.check.check_file

    def counting(path: str | Path, strict: bool = False, **options: Any) -> Program:
        calls.append(str(path))
        return real(path, strict=strict, **options)

    monkeypatch.setattr(engine.check, "check_file", counting)
    return calls


def test_a_second_load_comes_from_the_cache_and_evaluates_the_same(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(tmp_path / "cache"))
    calls = _counting_checks(monkeypatch)
    path = ROOT / "contracts" / "series_b_preferred.clause"
    first = load_contract(path)
    second = load_contract(path)
    assert len(calls) == 1  # parsed and checked once
    assert second is not first and second.results == first.results
    facts = _example_facts("series_b", "series_b_preferred")
    for f in facts:
        assert evaluate_values(second, f) == evaluate_values(first, f)
        assert_same(second, f)  # node types survived the cache: the reference agrees
    traced = evaluate(second, {"shares_issued": 10, "consideration": 25}, trace=True)
    assert traced.results["price_per_share"].value == Decimal("2.5")


def test_the_cache_is_never_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.cache

    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(tmp_path / "cache"))
    calls = _counting_checks(monkeypatch)
    main = _small_contract(tmp_path)
    assert evaluate(load_contract(main), {"n": 3}).results["total"].value == Decimal("6.00")
    load_contract(main)
    assert len(calls) == 1
    (tmp_path / "lib.clause").write_text("define price: money = $5.00\n", encoding="utf-8")  # an included file
    assert evaluate(load_contract(main), {"n": 3}).results["total"].value == Decimal("15.00")
    assert len(calls) == 2
    main.write_text(main.read_text(encoding="utf-8").replace("price * n", "price * n * 2"), encoding="utf-8")
    assert evaluate(load_contract(main), {"n": 3}).results["total"].value == Decimal("30.00")
    assert len(calls) == 3
    # A new engine or grammar version never reads an old entry.
    monkeypatch.setattr(engine.cache, "engine_fingerprint", lambda: "another engine")
    load_contract(main)
    assert len(calls) == 4


def test_the_cache_can_be_turned_off_and_survives_garbage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(cache))
    calls = _counting_checks(monkeypatch)
    main = _small_contract(tmp_path)
    load_contract(main)
    for entry in cache.glob("*.entry"):
        entry.write_bytes(b"not a pickle")
    assert evaluate(load_contract(main), {"n": 1}).results["total"].value == Decimal("2.00")
    monkeypatch.setenv("CLAUSE_CACHE", "0")
    load_contract(main)
    assert len(calls) == 3
