"""Text built from values (issue #8, item 2's list): `text(x)` writes a value as a memo does,
and `+` joins texts; both evaluators agree."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract
from engine.cli import main
from engine.compile import evaluate_values
from engine.errors import ClauseError

CLAUSE = '''
contract "Notice"
record Holder { name: text, shares: integer }
enum Kind: issuance | split
fact price: money
fact rate: percent
fact effective: date
fact holder: Holder
fact kind: Kind
fact waived: optional date
result notice: text = "The Conversion Price is " + text(price) + " from " + text(effective) + "."
result dividend: text = text(rate) + " a year"
result holding: text = holder.name + " holds " + text(holder.shares) + " shares (" + text(kind) + ")"
result third: text = text(round(price / 3, $0.01, half_up))
result waiver: text = "waived: " + text(waived)
'''

FACTS = {"price": "1.25", "rate": "8%", "effective": "2024-03-15",
         "holder": {"name": "Acme Ventures", "shares": 1_234_567}, "kind": "split", "waived": None}


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    path = tmp_path / "notice.clause"
    path.write_text(textwrap.dedent(CLAUSE), encoding="utf-8")
    return path


def test_text_reads_as_a_memo_writes_values(contract: Path) -> None:
    program = load_contract(contract)
    outcome = evaluate(program, FACTS)
    values = {name: result.value for name, result in outcome.results.items()}
    assert values == {
        "notice": "The Conversion Price is $1.25 from March 15, 2024.",
        "dividend": "8% a year",
        "holding": "Acme Ventures holds 1,234,567 shares (split)",
        "third": "$0.42",  # $1.25 / 3 = $0.41666…, to the cent half up
        "waiver": "waived: none",
    }
    compiled = evaluate_values(program, dict(outcome.evaluation.facts))
    assert compiled is not None
    assert {name: value for name, (value, _) in compiled.items()} == values


def test_an_unknown_value_leaves_the_text_undetermined(contract: Path) -> None:
    outcome = evaluate(load_contract(contract), {k: v for k, v in FACTS.items() if k != "price"})
    assert outcome.results["notice"].missing == ("price",)
    assert outcome.results["dividend"].value == "8% a year"


@pytest.mark.parametrize(("expr", "message"), [
    ('"Price: " + price', "cannot add money to a text: write text(...) around it to join its words"),
    ("text(price, rate)", "takes 1 argument, got 2"),
])
def test_the_checker_refuses(tmp_path: Path, expr: str, message: str) -> None:
    path = tmp_path / "bad.clause"
    path.write_text(textwrap.dedent(CLAUSE) + f"result bad: text = {expr}\n", encoding="utf-8")
    with pytest.raises(ClauseError) as error:
        load_contract(path)
    assert message in error.value.render()


def test_a_table_run_writes_the_same_text(tmp_path: Path) -> None:
    # `clause run` over a CSV (the table runner: columns where it can, row by row elsewhere)
    # writes text(...) by the argument's type too: $1,250.00, not 1,250.
    contract = tmp_path / "label.clause"
    contract.write_text('contract "Label"\nfact price: money\nresult cap: text = "cap " + text($1250)\n'
                        'result notice: text = "price " + text(price)\n', encoding="utf-8")
    table = tmp_path / "prices.csv"
    table.write_text("price\n1.25\n2.50\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["run", str(contract), str(table), "--format", "jsonl", "-o", str(out)]) == 0
    lines = [json.loads(line)["results"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["cap"]["value"], r["notice"]["value"]) for r in lines] == [
        ("cap $1,250.00", "price $1.25"), ("cap $1,250.00", "price $2.50")]
