"""Defined terms (issue #8, item 5): the entries of a definitions section are each cited as the
defined term ('"Company Capitalization" in § 2'), in results, traces, the text table and memos."""

from __future__ import annotations

from pathlib import Path

import pytest

from editor.fmt import format_text
from engine.api import evaluate, load_contract
from engine.check import Program
from engine.errors import ClauseError
from render.memo import memo_for
from render.table import results_table
from render.trace import trace_json

SOURCE = """\
Section 2. Definitions.

"Company Capitalization" means the sum of the Capital Stock and the Conversion Shares.

"Safe Price" means the Post-Money Valuation Cap divided by the Company Capitalization.

Exhibit A. "Conversion Shares" means the Purchase Amount divided by the Safe Price.
"""

CLAUSE = '''\
contract "Definitions"
  source "source.txt"

fact capital_stock: integer "the Capital Stock"
fact purchase_amount: money

section "2" "Definitions"
  text """Section 2. Definitions."""
  define cap: money = $7,000,000
  term "Company Capitalization"
    text """"Company Capitalization" means the sum of the Capital Stock and the Conversion Shares."""
    result company_capitalization: decimal = capital_stock + conversion_shares circular
  term "Safe Price"
    text """"Safe Price" means the Post-Money Valuation Cap divided by the Company Capitalization."""
    result safe_price: money = cap / company_capitalization

section "Exhibit A"
  term "Conversion Shares"
    text """"Conversion Shares" means the Purchase Amount divided by the Safe Price."""
    result conversion_shares: decimal = purchase_amount / safe_price
'''


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    directory = tmp_path_factory.mktemp("terms")
    (directory / "source.txt").write_text(SOURCE, encoding="utf-8")
    (directory / "terms.clause").write_text(CLAUSE, encoding="utf-8")
    return load_contract(directory / "terms.clause")


FACTS = {"capital_stock": 6_650_000, "purchase_amount": "350000"}


def test_each_entry_is_cited_as_its_term(program: Program) -> None:
    # C = 6,650,000 + $350,000 / ($7,000,000 / C) = 6,650,000 + 0.05·C, so C = 7,000,000
    outcome = evaluate(program, FACTS, trace=True)
    assert outcome.results["company_capitalization"].value == 7_000_000
    assert outcome.results["company_capitalization"].cites == ['"Company Capitalization" in § 2']
    assert outcome.results["safe_price"].cites == ['"Safe Price" in § 2']
    assert outcome.results["conversion_shares"].cites == ['"Conversion Shares" in Exhibit A']
    assert outcome.results["conversion_shares"].value == 350_000
    assert trace_json(outcome)["safe_price"]["section"] == '"Safe Price" in § 2'
    table = results_table(outcome, width=120)
    assert '"Safe Price" in § 2' in table and '§ "' not in table


def test_the_memo_cites_the_term_and_quotes_its_entry(program: Program) -> None:
    text = memo_for(evaluate(program, FACTS, trace=True), "md")
    assert 'the safe price ("Safe Price" in § 2)' in text
    assert '### "Company Capitalization" in § 2\n' in text  # the appendix of provisions cited
    assert '§ "' not in text


def test_a_term_keeps_its_place_in_fmt() -> None:
    flat = CLAUSE.replace("\n    ", "\n").replace("\n  term", "\nterm")
    assert format_text(flat).text == CLAUSE


def test_a_term_defined_twice_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "source.txt").write_text(SOURCE, encoding="utf-8")
    twice = CLAUSE.replace('term "Safe Price"', 'term "Company Capitalization"')
    (tmp_path / "twice.clause").write_text(twice, encoding="utf-8")
    with pytest.raises(ClauseError) as error:
        load_contract(tmp_path / "twice.clause")
    assert 'the term "Company Capitalization" is defined twice in section "2"' in error.value.render()


def test_a_misquoted_entry_is_located(tmp_path: Path) -> None:
    (tmp_path / "source.txt").write_text(SOURCE, encoding="utf-8")
    wrong = CLAUSE.replace("divided by the Safe Price", "times the Safe Price")
    (tmp_path / "wrong.clause").write_text(wrong, encoding="utf-8")
    with pytest.raises(ClauseError) as error:
        load_contract(tmp_path / "wrong.clause")
    assert "wrong.clause:19:10: error: quoted text does not match" in error.value.render()
