"""The language itself: grammar build, units, evaluation semantics, traces."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.api import evaluate, load_contract
from engine.errors import ClauseError
from engine.parse import clause_parser, parse_text

from golden_files import assert_golden
from helpers import ROOT, clause

FEATURES = ROOT / "tests/golden/check/good/features.clause"


def test_grammar_builds_in_strict_mode() -> None:
    # strict=True makes lark refuse terminal collisions and LALR conflicts.
    assert clause_parser(strict=True) is clause_parser(strict=True)


def test_every_shipped_contract_parses_strictly() -> None:
    for path in sorted((ROOT / "contracts").glob("*.clause")):
        outcome = parse_text(path.read_text(), str(path), strict=True)
        assert outcome.diagnostics == [], path


def test_spans_do_not_take_part_in_equality() -> None:
    a = parse_text('contract "A"\nfact x: money\n', "a.clause").file
    b = parse_text('contract "A"\n\n\n   fact   x: money\n', "b.clause").file
    assert a is not None and b is not None
    assert a.declarations == b.declarations
    assert a.declarations[0].span != b.declarations[0].span


def _check(source: str, tmp_path: Path) -> str:
    path = tmp_path / "unit.clause"
    path.write_text('contract "Units"\nfact m: money\nfact d: date\nfact p: percent\nfact n: integer\n'
                    f'section "1"\n  result r: {source}\n')
    try:
        load_contract(path)
    except ClauseError as error:
        return error.render()
    return "ok"


@pytest.mark.parametrize(("rule", "message"), [
    ("decimal = m / m", "ok"),
    ("money = m * 2", "ok"),
    ("money = m * p", "ok"),
    ("money = m / n", "ok"),
    ("decimal = n / n", "ok"),
    ("date = d + 30 days", "ok"),
    ("money = m * m", "cannot multiply money by money"),
    ("date = d + m", "cannot add money to a date"),
    ("money = m + d", "cannot add a date to money"),
    ("boolean = m > 1000", "cannot compare money with an integer"),
    ("decimal = n / m", "cannot divide an integer by money"),
    ("boolean = p < 20", "write percentages with a percent sign"),
    ("integer = m / m", "declared as an integer, but its rule computes a decimal"),
])
def test_units_are_enforced_by_the_checker(rule: str, message: str, tmp_path: Path) -> None:
    assert message in _check(rule, tmp_path)


def test_feature_tour_evaluates(tmp_path: Path) -> None:
    program = load_contract(FEATURES, strict=True, allow_outside=True)  # it includes contracts/common.clause
    grants = [{"shares": 100, "exercise_price": "$3.00"}, {"shares": 50, "exercise_price": "$4.00"},
              {"shares": 25, "exercise_price": "3.40"}]
    outcome = evaluate(program, {"grants": grants, "redeemed_at": None})
    ev = outcome.evaluation
    values: dict[str, Any] = {name: ev.rule(name).value for name in program.rules}
    assert values["cheap_shares"] == 125
    assert values["count_cheap"] == 2
    assert values["first_cheap"] == {"shares": 100, "exercise_price": Decimal("3.00")}
    assert values["dearest"] == Decimal("4.00")
    assert values["rounded"] == Decimal("1.137")  # 3.41 / 3 = 1.13666..., half up to 0.001
    assert values["whole"] == 3
    assert values["scaled"] == Decimal("6.8882")
    # July 5, 2002 + 30 days is August 4, 2002, a Sunday; close of business in New York is 17:00 EDT.
    assert values["ends"] == dt.datetime(2002, 8, 4, 21, 0, tzinfo=dt.UTC)
    assert values["next_open"] == dt.date(2002, 7, 8)  # Friday July 5 → Monday July 8
    assert values["anniversary"] == dt.date(2003, 7, 5)
    assert values["gap"] == 365
    assert values["downgraded"] is False
    assert values["fallback"] == values["ends"]
    assert outcome.results["verdict"].value is True
    assert outcome.results["amount"].value == Decimal("7.8882")


def test_none_given_differs_from_a_fact_left_out() -> None:
    program = load_contract(FEATURES, allow_outside=True)
    left_out = evaluate(program, {}).evaluation.rule("present").value
    assert left_out is not None and getattr(left_out, "missing", None) == frozenset({"redeemed_at"})
    assert evaluate(program, {"redeemed_at": None}).evaluation.rule("present").value is False
    moment = "2003-01-02T10:00:00-05:00"
    assert evaluate(program, {"redeemed_at": moment}).evaluation.rule("present").value is True


def test_trace_is_pinned_for_the_example_scenario() -> None:
    run = clause("eval", "contracts/special_conversion.clause", "examples/special_conversion/holder_converts.yaml",
                 "--format", "json", "--trace")
    assert run.code == 0, run.err
    trace = json.loads(run.out)["trace"]
    permitted = trace["conversion_permitted"]
    assert permitted["section"] == "1.2(a)"
    labels = [step.get("label") for step in permitted["steps"]["steps"]]
    assert labels[1] == "the notice is given during the Special Conversion Period"
    shares = trace["shares_issuable"]
    assert shares["reads"] == {"principal_to_convert": "1000.00",
                               "special_conversion_rate": "352.2999904879002568266930657"}
    assert_golden(ROOT / "tests/golden/traces/holder_converts.json", json.dumps(trace, indent=2) + "\n")


def test_division_by_zero_is_an_error_at_the_clause_line(tmp_path: Path) -> None:
    path = tmp_path / "div.clause"
    path.write_text('contract "Division"\nfact a: money\nfact n: integer\nsection "1"\n  result r: money = a / n\n')
    scenario = tmp_path / "s.yaml"
    scenario.write_text("facts:\n  a: 10\n  n: 0\n")
    run = clause("eval", str(path), str(scenario), "--format", "json")
    assert run.code == 1
    assert "div.clause:5:21: error: cannot compute `r`: division by zero: n is 0" in run.err
    assert json.loads(run.out)["results"]["r"]["value"] is None


NARROWING = '''contract "Narrowing"
fact d: optional date
fact e: date
fact pick: boolean
fact m: money
fact n: money
section "1"
  result with_and: boolean = d is not none and d < e
  result with_all: boolean = all of ("there is a d": d is not none, "d is before e": d < e)
  result with_if: date = if d is none then e else d
  result chosen: money = if pick then m else n
'''


def test_is_not_none_narrows_an_optional_value(tmp_path: Path) -> None:
    path = tmp_path / "narrow.clause"
    path.write_text(NARROWING)
    program = load_contract(path)
    none_given = evaluate(program, {"d": None, "e": "2005-01-03"}).results
    assert none_given["with_and"].value is False
    assert none_given["with_all"].value is False  # the later condition is not evaluated into an error
    assert none_given["with_if"].value == dt.date(2005, 1, 3)
    given = evaluate(program, {"d": "2005-01-02", "e": "2005-01-03"}).results
    assert given["with_and"].value is True
    assert given["with_all"].value is True


def test_comparing_an_optional_without_narrowing_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.clause"
    path.write_text(NARROWING + "  result bad: boolean = d < e\n")
    with pytest.raises(ClauseError, match="an optional value may be none"):
        load_contract(path)


def test_an_undecided_if_names_every_fact_it_may_need(tmp_path: Path) -> None:
    path = tmp_path / "narrow.clause"
    path.write_text(NARROWING)
    result = evaluate(load_contract(path), {}).results["chosen"]
    assert result.missing == ("m", "n", "pick")
    decided = evaluate(load_contract(path), {"pick": True}).results["chosen"]
    assert decided.missing == ("m",)


def test_explain_sentences_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "explain.clause"
    path.write_text('contract "Explain"\nfact m: money\nsection "1"\n'
                    '  result r: boolean = m > $1\n'
                    '    explain when m: "r is {r} for {mm}"\n')
    with pytest.raises(ClauseError) as raised:
        load_contract(path)
    message = raised.value.render()
    assert "the condition of `explain when` must be a boolean, not money" in message
    assert "unknown name `mm` in an explain sentence" in message
    assert "did you mean `m`?" in message
