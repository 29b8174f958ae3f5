"""Circular definitions (issue #8, item 3): a rule marked `circular` refers to itself through
the rules it determines, and is solved exactly when its definition is linear in itself."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.compile import compiled_evaluation, shape_for
from engine.errors import ClauseError
from engine.evaluate import Evaluation
from render.trace import trace_json

# The post-money capitalization: the SAFE's shares are its Purchase Amount at the Safe
# Price, which is the cap divided by a capitalization that counts those very shares.
SAFE = '''
contract "Circular"
fact capital_stock: integer
fact option_pool: integer
fact purchase_amount: money
fact valuation_cap: money

define safe_price: money = valuation_cap / company_capitalization
define conversion_shares: decimal = purchase_amount / safe_price
result company_capitalization: decimal = capital_stock + option_pool + conversion_shares circular
result shares: integer = round(conversion_shares, 1, down)
result rounded_inside: decimal = capital_stock + round(purchase_amount / (valuation_cap / rounded_inside), 1, down)
  circular
result no_solution: decimal = no_solution + capital_stock circular
'''


@pytest.fixture(scope="module")
def safe(tmp_path_factory: pytest.TempPathFactory) -> Program:
    path = tmp_path_factory.mktemp("circular") / "safe.clause"
    path.write_text(textwrap.dedent(SAFE), encoding="utf-8")
    return load_contract(path)


FIVE_PERCENT = {"capital_stock": 6_000_000, "option_pool": 650_000, "purchase_amount": "350000",
                "valuation_cap": "7000000"}


def test_the_post_money_capitalization_is_solved_exactly(safe: Program) -> None:
    for trace in (False, True):
        outcome = evaluate(safe, FIVE_PERCENT, trace=trace)
        # C = 6,650,000 + 350,000 / (7,000,000 / C) = 6,650,000 + 0.05 C, so 0.95 C = 6,650,000
        # and C = 7,000,000; the SAFE holds 350,000 / $1.00 = 350,000 shares, exactly 5%.
        assert outcome.results["company_capitalization"].value == Decimal(7_000_000)
        assert outcome.results["shares"].value == 350_000


def test_the_trace_and_memo_say_how_it_was_solved(safe: Program) -> None:
    outcome = evaluate(safe, FIVE_PERCENT, trace=True)
    solved = trace_json(outcome)["company_capitalization"]["solved"]
    # Taken as 1, 2, 3 the definition gives 6,650,000 + 0.05 × 1, × 2, × 3.
    assert solved == {"at": [{"taken_as": "1", "gives": "6650000.05"}, {"taken_as": "2", "gives": "6650000.1"},
                             {"taken_as": "3", "gives": "6650000.15"}], "value": "7000000"}
    from render.memo import memo_for

    text = memo_for(outcome, "md")
    assert "is defined in terms of itself. Its definition is linear in it" in text


def test_a_definition_that_is_not_linear_in_itself_is_refused(safe: Program) -> None:
    error = evaluate(safe, FIVE_PERCENT).results["rounded_inside"].error
    # round(...) inside: 350,000 / (7,000,000 / x) = 0.05 x rounds down to 0 at 1, 2 and 3,
    # so the line is flat (x = 6,000,000), where the definition gives 6,300,000.
    assert error is not None and "not linearly" in error.message
    error = evaluate(safe, FIVE_PERCENT).results["no_solution"].error
    assert error is not None and "every value or none satisfies it" in error.message


def test_missing_facts_leave_it_undetermined(safe: Program) -> None:
    outcome = evaluate(safe, {"capital_stock": 1})
    assert set(outcome.results["company_capitalization"].missing) == {"option_pool", "purchase_amount",
                                                                       "valuation_cap"}


def test_the_compiled_path_falls_back_to_the_reference_and_agrees(safe: Program) -> None:
    assert shape_for(safe, frozenset(FIVE_PERCENT)) is None
    facts = dict(evaluate(safe, FIVE_PERCENT).evaluation.facts)
    reference = Evaluation(safe, facts)
    routed = compiled_evaluation(safe, facts)
    for name in safe.results:
        assert routed.rule(name).value == reference.rule(name).value


def _errors(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.clause"
    path.write_text('contract "Bad"\nfact n: integer\n' + text, encoding="utf-8")
    try:
        load_contract(path)
    except ClauseError as error:
        return error.render()
    return "ok"


@pytest.mark.parametrize(("text", "message"), [
    ("define a: decimal = b + 1\ndefine b: decimal = a / 2\n", "mark the rule `circular`"),
    ("define a = b + 1 circular\ndefine b: decimal = a / 2\n", "the circular rule `a` needs a declared type"),
    ("define b = a / 2\ndefine a: decimal = b + 1 circular\n", "`b` is part of a circular definition"),
    ("define a: boolean = not a circular\n", "solved for a number, money or a decimal, not a boolean"),
])
def test_the_checker_explains(tmp_path: Path, text: str, message: str) -> None:
    assert message in _errors(tmp_path, text)
