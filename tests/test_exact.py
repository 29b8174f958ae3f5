"""Exact arithmetic (issue 8, item 1) and recursion (item 6).

Expected values are worked out by hand or with Python's ``Fraction``:

* tests/exact/nvca_conversion.clause, §4: 3 shares of Series A at a $0.75
  Conversion Price and a $1.00 Original Issue Price convert into
  3 x 1.00 / 0.75 = 4 shares exactly, so no fraction is left and the cash in
  lieu is $0.00 (at 40 digits 3.999...9 rounded down to 3 shares and $0.75 cash).
* §5: 5% of 7,000,000 is 350,000. §6: a $10,000,000 cap over 7,000,000 shares
  is a Safe Price of $10/7 (no finite expansion); $500,000 / ($10/7) = 350,000.
* tests/exact/recursion.clause: 1 + ... + 1000 = 1000 x 1001 / 2 = 500,500;
  Fibonacci numbers from Python's own loop.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import types as T
from engine.api import evaluate, load_contract
from engine.check import Program
from engine.compile import compiled_evaluation, shape_for
from engine.evaluate import MAX_CALL_DEPTH, Evaluation
from engine.scenario import validate_mapping
from engine.testing import matches
from engine.values import Unknown, divide, encode, is_rounded, multiply, round_to

from helpers import clause

HERE = Path(__file__).resolve().parent / "exact"


@pytest.fixture(scope="module")
def nvca() -> Program:
    return load_contract(HERE / "nvca_conversion.clause", strict=True)


@pytest.fixture(scope="module")
def recursion() -> Program:
    return load_contract(HERE / "recursion.clause", strict=True)


def _both(program: Program, facts: dict[str, Any], names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reference evaluator's values and the compiled evaluator's."""
    valid = validate_mapping(program, facts).values
    reference = Evaluation(program, valid)
    compiled = compiled_evaluation(program, valid, names)
    return ({n: reference.rule(n).value for n in names}, {n: compiled.rule(n).value for n in names})


NVCA = {"preferred_shares": 3, "conversion_price": "$0.75", "fair_market_value": "$0.75",
        "ownership_percentage": "5%", "capitalization": 7_000_000, "valuation_cap": "$10,000,000",
        "purchase_amount": "$500,000"}


def test_three_shares_at_75_cents_convert_into_exactly_four_shares(nvca: Program) -> None:
    names = ("conversion_rate", "common_shares", "cash_in_lieu", "ownership_shares", "safe_shares")
    for values in _both(nvca, NVCA, names):
        assert values["conversion_rate"] == Fraction(4, 3)
        assert values["common_shares"] == 4
        assert values["cash_in_lieu"] == Decimal("0.00")
        assert values["ownership_shares"] == 350_000
        assert values["safe_shares"] == 350_000


def test_a_non_terminating_value_is_written_rounded_and_says_so(nvca: Program) -> None:
    result = evaluate(nvca, NVCA).to_json()["results"]
    assert result["conversion_rate"]["value"] == "1.333333333333333333333333333"  # 28 significant digits
    assert result["conversion_rate"]["rounded"] is True
    assert "rounded" not in result["common_shares"] and result["cash_in_lieu"]["value"] == "0.00"


def test_the_text_table_marks_a_rounded_value(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"facts": NVCA}), encoding="utf-8")
    run = clause("eval", str(HERE / "nvca_conversion.clause"), str(scenario))
    assert run.code == 0, run.err
    assert "≈1.333333333333333333333333333" in run.out
    data = json.loads(clause("eval", str(HERE / "nvca_conversion.clause"), str(scenario), "--format", "json").out)
    assert data["results"]["conversion_rate"]["rounded"] is True
    # `clause run`'s table marks it too (a scenario file, and a CSV row: $1.00 / $0.70 = 10/7); CSV keeps the encoding
    table = tmp_path / "rows.csv"
    table.write_text("scenario,preferred_shares,conversion_price,fair_market_value\nseventy,2,0.70,0.70\n",
                     encoding="utf-8")
    for source in (scenario, table):
        run = clause("run", str(HERE / "nvca_conversion.clause"), str(source))
        assert run.code == 0, run.err
        assert ("≈1.333333333333333333333333333" if source == scenario else "≈1.428571428571428571428571429") in run.out
    run = clause("run", str(HERE / "nvca_conversion.clause"), str(table), "--format", "csv")
    # 2 x 10/7 = 2.857142...: 2 shares, and 0.857142... x $0.70 = $0.60 exactly
    assert "seventy,1.428571428571428571428571429,2,0.60," in run.out and "≈" not in run.out


def test_terminating_arithmetic_stays_decimal() -> None:
    assert type(divide(Decimal("1.00"), Decimal("0.75"))) is Fraction
    assert multiply(3, divide(Decimal("1.00"), Decimal("0.75"))) == 4
    assert type(multiply(3, divide(Decimal("1.00"), Decimal("0.75")))) is Decimal  # back on the fast path
    assert divide(Decimal(1), Decimal(8)) == Decimal("0.125") and type(divide(Decimal(1), 8)) is Decimal
    assert divide(Decimal(1), 2**70) == Fraction(1, 2**70)  # longer than 40 digits, still a Decimal
    assert type(divide(Decimal(1), 2**70)) is Decimal
    assert encode(Fraction(2, 3), T.PERCENT) == "66.66666666666666666666666667%" and is_rounded((Fraction(1, 3),))


MODES = ("half_up", "half_even", "up", "down")


def _fraction_round(q: Fraction, step: Fraction, mode: str) -> Fraction:
    """Python's Fraction rounding: round() is half even; half up takes ties away from zero."""
    units = q / step
    if mode == "half_even":
        whole = round(units)
    elif mode == "up":
        whole = math.ceil(units)
    elif mode == "down":
        whole = math.floor(units)
    else:  # ties away from zero, with no float on the way
        whole = math.floor(abs(units) + Fraction(1, 2)) * (1 if units >= 0 else -1)
    return whole * step


cents = st.integers(min_value=-10**9, max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))
positive = st.integers(min_value=1, max_value=10**8).map(lambda n: Decimal(n).scaleb(-2))
steps = st.sampled_from([Decimal("0.01"), Decimal("0.001"), Decimal("1"), Decimal("0.25"), Decimal("5")])


@settings(max_examples=300, deadline=None)
@given(a=cents, b=positive, step=steps, mode=st.sampled_from(MODES))
def test_every_rounding_of_a_quotient_matches_fraction(a: Decimal, b: Decimal, step: Decimal, mode: str) -> None:
    expected = _fraction_round(Fraction(a) / Fraction(b), Fraction(step), mode)
    assert round_to(divide(a, b), step, mode) == expected


@settings(max_examples=300, deadline=None)
@given(units=st.integers(min_value=-10**6, max_value=10**6), b=positive, step=steps,
       mode=st.sampled_from(MODES))
def test_exact_ties_round_as_fraction_does(units: int, b: Decimal, step: Decimal, mode: str) -> None:
    # a = (units + 1/2) x step x b, so a / b lies exactly halfway between two multiples of step.
    a = (Decimal(2 * units + 1) * step * b) / 2
    quotient = divide(a, b)
    assert Fraction(quotient) / Fraction(step) - units == Fraction(1, 2)
    assert round_to(quotient, step, mode) == _fraction_round(Fraction(a) / Fraction(b), Fraction(step), mode)


ROUNDING_CLAUSE = """
contract "Rounding (test)"
  dated 2024-01-01
  party "Example Co." as "Corporation"
  governing law "Delaware"
  home zone "America/New_York"

fact a: money "a dividend"
fact b: money "a divisor"

section "1" "Rounding"
  result rounded_half_up: money = round(a / b * $1, $0.01, half_up)
  result rounded_half_even: money = round(a / b * $1, $0.01, half_even)
  result rounded_up: money = round(a / b * $1, $0.01, up)
  result rounded_down: money = round(a / b * $1, $0.01, down)
  result whole: integer = round(3 * (a / b), 1, down)
"""


@pytest.fixture(scope="module")
def rounding(tmp_path_factory: pytest.TempPathFactory) -> Program:
    path = tmp_path_factory.mktemp("rounding") / "rounding.clause"
    path.write_text(ROUNDING_CLAUSE, encoding="utf-8")
    return load_contract(path)


@settings(max_examples=150, deadline=None)
@given(a=cents, b=positive, tie=st.booleans())
def test_both_evaluators_round_quotients_as_fraction_does(rounding: Program, a: Decimal, b: Decimal,
                                                          tie: bool) -> None:
    if tie:  # a / b exactly half a cent past a whole cent
        a = (Decimal(2 * int(a * 100) + 1) * Decimal("0.01") * b) / 2
    names = ("rounded_half_up", "rounded_half_even", "rounded_up", "rounded_down", "whole")
    q = Fraction(a) / Fraction(b)
    for values in _both(rounding, {"a": str(a), "b": str(b)}, names):
        for mode in MODES:
            assert values[f"rounded_{mode}"] == _fraction_round(q, Fraction(1, 100), mode), (mode, a, b)
        assert values["whole"] == math.floor(3 * q)


SERIES_B = Path(__file__).resolve().parent.parent / "contracts" / "series_b_preferred.clause"


@pytest.mark.parametrize(("consideration", "new_price"), [
    # 100,000,000 x $3.41 + $19,060,000.00 = $360,060,000 over 120,000,000 shares is
    # exactly $3.0005, a tie: half up gives $3.001 (half even would give $3.000).
    ("19060000.00", Decimal("3.001")),
    # one cent less: $3.0005 - $0.01/120,000,000, which does not terminate, is below the tie
    ("19059999.99", Decimal("3.000")),
    ("19060000.01", Decimal("3.001")),  # one cent more: above it
])
def test_the_6b_formula_decides_an_exact_tie_and_its_neighbours_on_the_exact_value(
        consideration: str, new_price: Decimal) -> None:
    program = load_contract(SERIES_B)
    facts = {"issue_date": "2003-03-03", "shares_issued": 20_000_000, "consideration": consideration,
             "common_shares_outstanding": 100_000_000, "average_current_market_price": "4.41",
             "conversion_price": "3.41"}
    names = ("adjustment_triggered", "new_conversion_price", "new_conversion_rate")
    for values in _both(program, facts, names):
        assert values["adjustment_triggered"] is True  # $0.953 a share is below $3.41 and $4.41
        assert values["new_conversion_price"] == new_price
        assert values["new_conversion_rate"] == Fraction(1000) / Fraction(new_price)  # Stated Value $1,000


AGGREGATES_CLAUSE = """
contract "Aggregates (test)"
  dated 2024-01-01
  party "Example Co." as "Corporation"
  governing law "Delaware"
  home zone "America/New_York"

enum Kind: plain | pledged | escrowed | vested | lapsed
record Grant { shares: integer, price: money, kind: Kind }

fact grants: list of Grant "grants"
fact ceiling: money "a price ceiling"
fact floor: money "a price floor"
fact kind: Kind "the kind of the next grant"

section "1" "Sums and counts"
  result cheap_shares: integer = sum(g.shares for g in grants where g.price < ceiling)
  result cheap_count: integer = count(g for g in grants where g.price < ceiling)
  result cheap_value: money = sum(g.shares * g.price for g in grants where g.price < ceiling)
  result between_shares: integer = sum(g.shares for g in grants where g.price < ceiling and g.price > floor)
  result restricted: boolean = any of (kind = Kind.pledged, kind = Kind.escrowed, kind = Kind.lapsed)
"""


def test_sums_and_counts_are_the_references_in_the_compiled_evaluator(tmp_path: Path) -> None:
    path = tmp_path / "aggregates.clause"
    path.write_text(AGGREGATES_CLAUSE, encoding="utf-8")
    program = load_contract(path)
    grants = [{"shares": 100, "price": "$1.50", "kind": "escrowed"}, {"shares": 40, "price": "$3.00", "kind": "plain"},
              {"shares": 7, "price": "$0.25", "kind": "vested"}]
    names = ("cheap_shares", "cheap_count", "cheap_value", "between_shares", "restricted")
    # Below $2.00: 100 at $1.50 and 7 at $0.25: 107 shares, 2 grants, $150.00 + $1.75 = $151.75.
    for values in _both(program, {"grants": grants, "ceiling": "$2.00", "kind": "escrowed"}, names):
        assert values["cheap_shares"] == 107 and values["cheap_count"] == 2
        assert values["cheap_value"] == Decimal("151.75") and values["restricted"] is True
        assert values["between_shares"] == Unknown(frozenset({"floor"}))  # the floor is not given
    for values in _both(program, {"grants": grants, "ceiling": "$2.00", "floor": "$1.00"}, names):
        assert values["between_shares"] == 100
    for values in _both(program, {"grants": grants[1:], "ceiling": "$0.10", "floor": "$0", "kind": "vested"}, names):
        assert values["cheap_shares"] == 0 and values["cheap_count"] == 0 and values["cheap_value"] == 0
        assert values["restricted"] is False
    for kind, restricted in [("plain", False), ("pledged", True), ("lapsed", True)]:
        for values in _both(program, {"grants": [], "ceiling": "$1", "kind": kind}, ("restricted",)):
            assert values["restricted"] is restricted, kind
    compiled = shape_for(program, frozenset({"grants", "ceiling", "kind"}), ("cheap_shares", "cheap_count",
                                                                             "restricted"))
    # accumulated in the loop (no lists); one set lookup for the three members
    assert compiled is not None and ".append(" not in compiled.source and ".rank in " in compiled.source


def _fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_recursion_1000_deep_is_exact_and_memoised(recursion: Program) -> None:
    facts = {"depth": 1000, "closings": [{"shares": 5, "price": "$1"}, {"shares": 7, "price": "$2"}]}
    names = ("triangle_number", "fibonacci", "depth_is_even", "repeated_shares")
    for values in _both(recursion, facts, names):  # the compiled evaluator hands recursion to the reference
        assert values == {"triangle_number": 500_500, "fibonacci": _fibonacci(1000), "depth_is_even": True,
                          "repeated_shares": 7000}


def test_recursion_past_the_bound_is_a_located_error(recursion: Program) -> None:
    evaluation = Evaluation(recursion, validate_mapping(recursion, {"depth": MAX_CALL_DEPTH + 1}).values)
    error = evaluation.rule("triangle_number").error
    assert error is not None and f"more than {MAX_CALL_DEPTH:,} calls deep" in error.message
    assert (error.span.line, error.span.column) == (14, 66)  # the recursive call `triangle(n - 1)`
    assert evaluation.rule("repeated_shares").value == 0  # the other results are still computed


def test_a_traced_recursion_shows_the_outermost_call(recursion: Program) -> None:
    outcome = evaluate(recursion, {"depth": 300}, trace=True)
    assert outcome.results["triangle_number"].value == 300 * 301 // 2
    step = outcome.evaluation.traces["triangle_number"].step
    assert step is not None and step.value == 45150 and step.children  # the call of triangle(300), explained


def test_one_failing_row_of_clause_run_never_stops_the_others(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.api

    table = tmp_path / "depths.csv"
    table.write_text("scenario,depth\nten,10\ntoo_deep,6000\nbroken,7\ntwenty,20\n", encoding="utf-8")
    real = engine.api.evaluate

    def evaluate_or_crash(program: Program, scenario: Any, **options: Any) -> Any:
        if str(getattr(scenario, "facts", {}).get("depth")) == "7":  # an engine fault, in one row only
            raise RuntimeError("a fault inside the engine")
        return real(program, scenario, **options)

    monkeypatch.setattr(engine.api, "evaluate", evaluate_or_crash)
    run = clause("run", str(HERE / "recursion.clause"), str(table), "--format", "jsonl", "--workers", "1")
    assert run.code == 1  # some scenarios failed
    rows = {row["scenario"]: row for row in map(json.loads, run.out.splitlines())}
    assert list(rows) == ["ten", "too_deep", "broken", "twenty"]
    assert rows["ten"]["results"]["triangle_number"]["value"] == 55
    assert rows["twenty"]["results"]["triangle_number"]["value"] == 210
    assert "more than 5,000 calls deep" in rows["too_deep"]["results"]["triangle_number"]["error"]
    assert "RuntimeError: a fault inside the engine" in rows["broken"]["errors"][0]
    assert "broken" in run.err


RATE = Fraction(1000) / Fraction("3.327")  # 300.57108506161707243763149984971...


@pytest.mark.parametrize(("expected", "value", "type_", "ok"), [
    ("undetermined", Unknown(frozenset({"x"})), T.MONEY, True),
    ("undetermined", None, T.OptionalType(T.MONEY), False),
    ("none", None, T.OptionalType(T.MONEY), True),
    ("none", Unknown(frozenset({"x"})), T.OptionalType(T.MONEY), False),
    (None, None, T.OptionalType(T.MONEY), True),  # null: either
    (None, Unknown(frozenset({"x"})), T.MONEY, True),
    ("≈300.571085061617", RATE, T.DECIMAL, True),
    ("≈300.571085061618", RATE, T.DECIMAL, False),  # not the value rounded at its last digit
    ({"approx": "300.57", "places": 2}, RATE, T.DECIMAL, True),
    ({"approx": "300.58", "places": 2}, RATE, T.DECIMAL, False),
    ({"approx": "300.6", "tolerance": "0.05"}, RATE, T.DECIMAL, True),
    ({"approx": "300.6", "tolerance": "0.01"}, RATE, T.DECIMAL, False),
    ("300.5710850616170724376314998", RATE, T.DECIMAL, True),  # as `clause eval` prints it (28 digits)
    ("≈300.5710850616170724376314998", RATE, T.DECIMAL, True),  # as the table prints it
    ("300.5710850616170724376314998497144574692", RATE, T.DECIMAL, True),  # 40 digits, correctly rounded
    ("300.57", RATE, T.DECIMAL, False),  # a short plain decimal claims an exact value
    ("≈33.333%", Fraction(1, 3), T.PERCENT, True),
    ("≈1.25", Decimal("1.25"), T.MONEY, True),
])
def test_expectations_for_undetermined_none_and_non_terminating_values(expected: object, value: object,
                                                                        type_: T.Type, ok: bool) -> None:
    assert matches(expected, encode(value, type_), type_, value) is ok


def test_a_local_hiding_a_declared_name_is_a_located_warning() -> None:
    run = clause("check", str(HERE / "shadowing.clause"))
    assert run.code == 0, run.err  # a warning, not an error
    lines = run.err.splitlines()
    loop = next(i for i, line in enumerate(lines) if "loop variable `closing` hides the result `closing`" in line)
    assert lines[loop].startswith("tests/exact/shadowing.clause:22:30: warning: ")
    assert lines[loop + 3].index("^") == lines[loop + 2].index("for closing") + len("for ")
    assert "`each_closing`" in lines[loop + 4]
    assert any(":15:17: warning: the parameter `price` hides the fact `price`" in line for line in lines)
    assert "`c`" not in run.err  # a loop variable with a name of its own is no concern


def test_traces_mark_locals_in_both_evaluators() -> None:
    program = load_contract(HERE / "shadowing.clause")
    facts = {"closings": [{"shares": 5, "price": "$1"}, {"shares": 7, "price": "$2"}]}
    reference = Evaluation(program, validate_mapping(program, facts).values, trace=True)
    reference.rule("proceeds")
    compiled = evaluate(program, facts, trace=True).evaluation  # the compiled evaluator's trace

    def names(step: Any) -> list[tuple[str, bool]]:
        own = [(step.node.name, step.local)] if type(step.node).__name__ == "Name" else []
        return own + [pair for child in step.children for pair in names(child)]

    for evaluation in (reference, compiled):
        step = evaluation.traces["proceeds"].step
        # the argument `price` is the fact; inside `at_price`, `price` and `shares` are its parameters
        assert names(step) == [("price", False), ("shares_sold", False), ("price", True), ("shares", True)]
    assert evaluate(program, facts).results["shares_sold"].value == 12


def test_every_subcommand_describes_its_positionals() -> None:
    import argparse

    from engine.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if not action.option_strings:  # a positional
                assert action.help, f"`clause {name} --help` does not describe {action.metavar or action.dest}"


EXPECTATIONS_CLAUSE = """
contract "Expectations (test)"
  dated 2024-01-01
  party "Example Co." as "Corporation"
  governing law "Delaware"
  home zone "America/New_York"

fact redemption_price: optional money "the redemption price, or none if no redemption"
fact conversion_price: money "the Conversion Price"

section "1" "Results"
  result redemption: optional money "the redemption price" = redemption_price
  result conversion_rate: decimal "shares per $1,000" = $1,000 / conversion_price
"""


def _case(title: str, facts: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "facts": facts, "expect": expect}


def test_clause_test_tells_none_from_undetermined_and_takes_the_eval_tables_rounded_value(tmp_path: Path) -> None:
    contract = tmp_path / "expectations.clause"
    contract.write_text(EXPECTATIONS_CLAUSE, encoding="utf-8")
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"facts": {"conversion_price": "3.327"}}), encoding="utf-8")
    # 1000 / 3.327 = 300.571085061617072437631499849714457...: as `clause eval` writes it, in its table and JSON
    table = clause("eval", str(contract), str(scenario)).out
    shown = next(line.split()[1] for line in table.splitlines() if line.startswith("conversion_rate"))
    assert shown == "≈300.5710850616170724376314998"
    encoded = json.loads(clause("eval", str(contract), str(scenario), "--format", "json").out)
    assert encoded["results"]["conversion_rate"] == {**encoded["results"]["conversion_rate"],
                                                     "value": shown[1:], "rounded": True}
    price = {"conversion_price": "3.327"}
    cases = [
        _case("none given", {**price, "redemption_price": None}, {"redemption": "none"}),
        _case("none is not undetermined", {**price, "redemption_price": None}, {"redemption": "undetermined"}),
        _case("left out", price, {"redemption": "undetermined"}),
        _case("undetermined is not none", price, {"redemption": "none"}),
        _case("null takes either", price, {"redemption": None}),
        _case("the table's value", price, {"conversion_rate": shown}),
        _case("the JSON value", price, {"conversion_rate": shown[1:]}),
        _case("to six places", price, {"conversion_rate": "≈300.571085"}),
        _case("to two places", price, {"conversion_rate": {"approx": "300.57", "places": 2}}),
        _case("within a tolerance", price, {"conversion_rate": {"approx": "300.6", "tolerance": "0.03"}}),
        _case("outside it", price, {"conversion_rate": {"approx": "300.6", "tolerance": "0.02"}}),
        _case("a short plain decimal", price, {"conversion_rate": "300.57"}),
        _case("a malformed tolerance", price, {"conversion_rate": {"approx": "300.6", "tolerance": "some"}}),
    ]
    tests = tmp_path / "expectations.test.yaml"
    tests.write_text(json.dumps({"contract": "expectations.clause", "cases": cases}), encoding="utf-8")
    run = clause("test", str(tests))
    verdicts = {line.split(": ", 1)[1]: line.split()[0] for line in run.out.splitlines()
                if line.startswith(("PASS ", "FAIL "))}
    assert verdicts == {
        "none given": "PASS", "none is not undetermined": "FAIL", "left out": "PASS",
        "undetermined is not none": "FAIL", "null takes either": "PASS", "the table's value": "PASS",
        "the JSON value": "PASS", "to six places": "PASS", "to two places": "PASS", "within a tolerance": "PASS",
        "outside it": "FAIL", "a short plain decimal": "FAIL", "a malformed tolerance": "FAIL"}
    assert run.code == 1 and "8 passed, 5 failed" in run.out
    assert 'help: the exact value has no finite decimal expansion; expect it to a precision, e.g. "≈300.571085"' \
        in run.out
    assert "error: the expectation for `conversion_rate`: `tolerance: some` is not a distance" in run.out
    assert "actual:   null (none)" in run.out and "actual:   null (undetermined: waits for redemption_price)" in run.out


def test_a_memo_states_the_precision_of_a_value_that_does_not_terminate(tmp_path: Path) -> None:
    contract = str(HERE / "nvca_conversion.clause")
    inexact = tmp_path / "inexact.json"
    inexact.write_text(json.dumps({"facts": NVCA}), encoding="utf-8")
    memo = clause("memo", contract, str(inexact))
    assert memo.code == 0, memo.err
    # $1.00 / $0.75 = 4/3, shown cut at four places with the precision said once
    assert "$1.00 ÷ $0.75 = 1.3333…" in memo.out
    assert memo.out.count("Precision: a figure ending in “…” is cut short, to four decimal places") == 1
    exact = tmp_path / "exact.json"  # $1.00 / $0.50 = 2: nothing to qualify
    exact.write_text(json.dumps({"facts": {"preferred_shares": 3, "conversion_price": "$0.50",
                                           "fair_market_value": "$0.50"}}), encoding="utf-8")
    memo = clause("memo", contract, str(exact))
    assert memo.code == 0, memo.err
    assert "$1.00 ÷ $0.50 = 2" in memo.out and "Precision:" not in memo.out


def _deep_clause(definitions: list[str], result: str) -> str:
    return ('contract "Deep (test)"\n  dated 2024-01-01\n  party "Example Co." as "Corporation"\n'
            '  governing law "Delaware"\n  home zone "America/New_York"\n\nfact depth: integer "how deep"\n\n'
            + "\n".join(definitions) + f'\n\nsection "1" "Deep"\n  result deep: integer "the answer" = {result}\n')


def test_a_recursive_body_nested_deep_gets_its_answer_at_depth_1000(tmp_path: Path) -> None:
    # f(n) = (1 + (1 + ... f(n - 1) ... - 1) - 1) + 1, forty parentheses deep, is f(n - 1) + 1: f(n) = n
    body = "f(n - 1)"
    for _ in range(40):
        body = f"(1 + {body} - 1)"
    path = tmp_path / "deep.clause"
    path.write_text(_deep_clause([f"define f(n: integer): integer = if n <= 0 then 0 else {body} + 1"], "f(depth)"),
                    encoding="utf-8")
    program = load_contract(path)
    for depth in (10, 1000):
        for values in _both(program, {"depth": depth}, ("deep",)):
            assert values == {"deep": depth}


def test_a_chain_of_600_defines_is_computed_by_every_path(tmp_path: Path) -> None:
    # d0 = depth, d(i) = d(i - 1) + 1: d599 = depth + 599
    chain = ["define d0: integer = depth", *(f"define d{i}: integer = d{i - 1} + 1" for i in range(1, 600))]
    path = tmp_path / "chain.clause"
    path.write_text(_deep_clause(chain, "d599"), encoding="utf-8")
    program = load_contract(path)
    for values in _both(program, {"depth": 10}, ("deep",)):
        assert values == {"deep": 609}
    table = tmp_path / "depths.csv"
    table.write_text("depth\n1\n2\n", encoding="utf-8")
    run = clause("run", str(path), str(table), "--format", "jsonl")
    assert run.code == 0, run.err
    assert [row["results"]["deep"]["value"] for row in map(json.loads, run.out.splitlines())] == [600, 601]


@pytest.mark.parametrize("mode", MODES)
def test_whole_unit_rounding_matches_fraction_on_a_grid_of_signs_and_ties(mode: str) -> None:
    from engine.values import round_units

    for numerator in range(-60, 61):
        for denominator in range(1, 13):  # halves (ties) at every even denominator
            expected = _fraction_round(Fraction(numerator, denominator), Fraction(1), mode)
            assert round_units(numerator, denominator, mode) == expected, (numerator, denominator)


@pytest.mark.parametrize(("value", "increment", "mode", "rounded"), [
    (Decimal("1.2"), Decimal("0.01"), "half_up", "1.20"),            # the increment's places
    (Decimal("2.675"), Decimal("0.01"), "half_up", "2.68"),          # a tie away from zero
    (Decimal("-2.675"), Decimal("0.01"), "half_up", "-2.68"),
    (Decimal("2.675"), Decimal("0.01"), "half_even", "2.68"),        # 8 is even
    (Decimal("2.665"), Decimal("0.01"), "half_even", "2.66"),
    (Decimal("-2.671"), Decimal("0.01"), "down", "-2.68"),           # toward -infinity
    (Decimal("-2.679"), Decimal("0.01"), "up", "-2.67"),             # toward +infinity
    (Decimal("0.0149"), Decimal("0.010"), "half_up", "0.010"),       # 0.010 is hundredths, written to 3 places
    (Decimal("0.015"), Decimal("0.010"), "half_up", "0.020"),
    (Decimal("7.5"), Decimal("1"), "half_even", "8"),
    (Decimal("12345"), Decimal("1E+1"), "half_up", "12350"),         # tens
    (Fraction(10, 3), Decimal("0.001"), "half_up", "3.333"),
    (Fraction(-20, 3), Decimal("0.001"), "half_up", "-6.667"),
    (Fraction(1, 8000), Decimal("0.001"), "half_even", "0.000"),     # 0.000125 is below half a unit
    (Fraction(1, 2000), Decimal("0.001"), "half_even", "0.000"),     # 0.0005: a tie, to even
    (Fraction(1, 2000), Decimal("0.001"), "half_up", "0.001"),
    (Decimal("1" + "0" * 45 + ".5"), Decimal("1"), "half_up", "1" + "0" * 44 + "1"),  # past 40 digits
])
def test_round_to_decides_each_mode_on_the_exact_value(value: Any, increment: Decimal, mode: str,
                                                       rounded: str) -> None:
    result = round_to(value, increment, mode)
    assert str(result) == rounded or format(result, "f") == rounded
    assert result == _fraction_round(Fraction(value), Fraction(increment), mode)


def test_compiled_readings_follow_each_scenarios_branches_as_the_reference_does() -> None:
    # One compiled shape, scenarios taking different branches by turns: each one's readings
    # are the reference evaluator's (the compiled code keeps the unions it has made).
    program = load_contract(SERIES_B)
    base = {"issue_date": "2003-03-03", "shares_issued": 20_000_000, "common_shares_outstanding": 100_000_000,
            "average_current_market_price": "4.41", "conversion_price": "3.41", "security": "common"}
    scenarios = [{**base, "consideration": "19060000.00"},                                # triggers
                 {**base, "consideration": "99000000.00", "security": "convertible"},     # $4.95 a share: no
                 {**base, "consideration": "19060000.00", "security": "convertible"},     # 6(b)(2) read
                 {**base, "consideration": "19060000.00", "exemption": "employee_plan"}]  # exempt
    names = ("adjustment_triggered", "new_conversion_price", "new_conversion_rate")
    triggered, readings = [], set()
    for facts in scenarios * 3:
        valid = validate_mapping(program, facts).values
        reference = Evaluation(program, valid)
        compiled = compiled_evaluation(program, valid, names)
        for name in names:
            assert compiled.rule(name).value == reference.rule(name).value, (facts, name)
            assert compiled.rule(name).readings == reference.rule(name).readings, (facts, name)
        triggered.append(compiled.rule("adjustment_triggered").value)
        readings.add(compiled.rule("adjustment_triggered").readings)
    assert triggered == [True, False, True, False] * 3
    assert len(readings) == 2  # a Convertible Security's issue reads the 6(b)(2) granting day as well
