"""Amendments (issue #8, item 4): a clause file supersedes a provision of the contract it
includes from an effective date; evaluation uses the provision in force on `as_of`,
and results cite "§ 2, as amended by Side Letter No. 1 § 1"."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.compile import evaluate_values
from engine.errors import ClauseError
from render.memo import memo_for
from render.trace import trace_json

BASE = '''
contract "Simple Agreement"
fact purchase_amount: money
fact discount: percent = 20%
section "2" "Definitions"
  result valuation_cap: money "the Post-Money Valuation Cap" = $7,000,000
  result ownership: decimal = purchase_amount / valuation_cap
  result discount_rate: percent = 100% - discount
'''

SIDE_LETTER = '''
contract "Side Letter No. 1"
include "base.clause"
section "1" "Valuation Cap"
  amend valuation_cap effective 2024-03-15 = $8,000,000
'''

AMENDMENT_2 = '''
contract "Amendment No. 2"
include "side_letter.clause"
section "1" "Valuation Cap"
  amend valuation_cap effective 2025-01-01 = $10,000,000
'''


@pytest.fixture(scope="module")
def amended(tmp_path_factory: pytest.TempPathFactory) -> Program:
    directory = tmp_path_factory.mktemp("amended")
    for name, text in (("base", BASE), ("side_letter", SIDE_LETTER), ("amendment_2", AMENDMENT_2)):
        (directory / f"{name}.clause").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_contract(directory / "amendment_2.clause")


@pytest.mark.parametrize(("day", "cap", "ownership", "cite"), [
    # $400,000 / $7,000,000 = 0.0571428…; / $8,000,000 = 0.05; / $10,000,000 = 0.04
    ("2024-03-14", Decimal(7_000_000), None, "2"),
    ("2024-03-15", Decimal(8_000_000), Decimal("0.05"), "2, as amended by Side Letter No. 1 § 1"),
    ("2024-12-31", Decimal(8_000_000), Decimal("0.05"), "2, as amended by Side Letter No. 1 § 1"),
    ("2025-01-01", Decimal(10_000_000), Decimal("0.04"), "2, as amended by Amendment No. 2 § 1"),
])
def test_the_provision_as_of_the_day_applies(amended: Program, day: str, cap: Decimal,
                                                   ownership: Decimal | None, cite: str) -> None:
    facts = {"purchase_amount": "400000", "as_of": day}
    for trace in (False, True):
        outcome = evaluate(amended, facts, trace=trace)
        assert outcome.results["valuation_cap"].value == cap
        assert outcome.results["valuation_cap"].cites == [cite]
        if ownership is not None:
            assert outcome.results["ownership"].value == ownership
    assert evaluate_values(amended, dict(evaluate(amended, facts).evaluation.facts)) is not None  # compiled


def test_a_fact_default_can_be_amended(tmp_path: Path) -> None:
    (tmp_path / "base.clause").write_text(textwrap.dedent(BASE), encoding="utf-8")
    (tmp_path / "letter.clause").write_text('contract "Letter"\ninclude "base.clause"\nsection "2"\n'
                                            "  amend discount effective 2024-06-01 = 25%\n", encoding="utf-8")
    amended = load_contract(tmp_path / "letter.clause")
    # 100% − 20% = 80% before June 1, 2024; 100% − 25% = 75% from then on.
    # (A default that depends on a fact is the reference evaluator's: the compiled path falls back.)
    before = evaluate(amended, {"purchase_amount": 1, "as_of": "2024-05-31"})
    after = evaluate(amended, {"purchase_amount": 1, "as_of": "2024-06-01"})
    assert before.results["discount_rate"].value == Decimal("0.80")
    assert after.results["discount_rate"].value == Decimal("0.75")
    given = evaluate(amended, {"purchase_amount": 1, "as_of": "2024-06-01", "discount": "10%"})
    assert given.results["discount_rate"].value == Decimal("0.90")  # a stated fact is not a provision


def test_without_the_day_the_amended_provisions_are_undetermined(amended: Program) -> None:
    outcome = evaluate(amended, {"purchase_amount": "400000"})
    assert outcome.results["valuation_cap"].missing == ("as_of",)


def test_the_memo_and_the_trace_cite_the_amendment(amended: Program) -> None:
    outcome = evaluate(amended, {"purchase_amount": "400000", "as_of": "2024-04-01"}, trace=True)
    text = memo_for(outcome, "md")
    assert "(§ 2, as amended by Side Letter No. 1 § 1)" in text
    trace = trace_json(outcome)
    assert trace["valuation_cap"]["cites"] == ["2, as amended by Side Letter No. 1 § 1"]
    assert "cites" not in trace["discount_rate"]  # not amended: its section says it all


def _errors(tmp_path: Path, text: str) -> str:
    (tmp_path / "base.clause").write_text(textwrap.dedent(BASE), encoding="utf-8")
    path = tmp_path / "bad.clause"
    path.write_text('contract "Bad"\ninclude "base.clause"\n' + text, encoding="utf-8")
    try:
        load_contract(path)
    except ClauseError as error:
        return error.render()
    return "ok"


@pytest.mark.parametrize(("text", "message"), [
    ("result valuation_cap: money = $1\n", "write `amend valuation_cap effective YYYY-MM-DD = ...`"),
    ("amend valuation_caps effective 2024-01-01 = $1\n", "did you mean `valuation_cap`"),
    ("amend purchase_amount effective 2024-01-01 = $1\n", "fact `purchase_amount` has no default to amend"),
    ("amend valuation_cap effective 2024-01-01 = 5%\n",
     "the amendment gives a percent, but the provision it supersedes gives money"),
    ("amend valuation_cap effective 2024-01-01 = $1\namend valuation_cap effective 2024-01-01 = $2\n",
     "`valuation_cap` is amended twice effective 2024-01-01"),
    ("fact as_of: datetime\namend valuation_cap effective 2024-01-01 = $1\n",
     "`as_of` is datetime, but amendments read it as the day the provisions in force are read"),
])
def test_the_checker_explains(tmp_path: Path, text: str, message: str) -> None:
    assert message in _errors(tmp_path, text)


def test_a_declared_optional_as_of_none_reads_the_provisions_as_last_amended(tmp_path: Path) -> None:
    # The same `as_of` a history is read to (Series B's `conversion_price_as_of`): none there means
    # "after every event", and here "every amendment", the latest one effective 2025-01-01.
    (tmp_path / "base.clause").write_text(textwrap.dedent(BASE), encoding="utf-8")
    (tmp_path / "side_letter.clause").write_text(textwrap.dedent(SIDE_LETTER), encoding="utf-8")
    (tmp_path / "amendment_2.clause").write_text(
        textwrap.dedent(AMENDMENT_2) + '  fact as_of: optional date "the day asked about"\n', encoding="utf-8")
    program = load_contract(tmp_path / "amendment_2.clause")
    latest = evaluate(program, {"purchase_amount": "400000", "as_of": None})
    assert latest.results["valuation_cap"].value == Decimal(10_000_000)
    assert latest.results["valuation_cap"].cites == ["2, as amended by Amendment No. 2 § 1"]
    dated = evaluate(program, {"purchase_amount": "400000", "as_of": "2024-06-30"})
    assert dated.results["valuation_cap"].value == Decimal(8_000_000)
    assert evaluate(program, {"purchase_amount": "400000"}).results["valuation_cap"].missing == ("as_of",)


def test_the_memo_says_which_amendment_is_in_force_and_from_when(amended: Program) -> None:
    # 2024-06-30: Amendment No. 2 (from 2025-01-01) is not yet in force; the Side Letter (from
    # 2024-03-15) is, so the cap is $8,000,000.
    text = memo_for(evaluate(amended, {"purchase_amount": "400000", "as_of": "2024-06-30"}, trace=True), "md")
    assert ("Amendment No. 2 § 1 supersedes the provision only from January 1, 2025, after June 30, 2024, "
            "the day the scenario is read as of; the provision as it stood applies") in text
    assert ("Side Letter No. 1 § 1 supersedes the provision from March 15, 2024, in force on June 30, 2024, "
            "the day the scenario is read as of") in text
    assert "so the value is $8,000,000" in text
