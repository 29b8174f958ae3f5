"""Record fields with defaults, and lists joined with `+` (used by the Section 6 history).

A field declared `consideration: money = $0` may be left out of a record a scenario
gives; it then takes its default, in every evaluator, and `clause schema` says so.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.errors import ClauseError
from engine.scenario import json_schema

CONTRACT = '''
contract "Defaults"

enum Exemption: none | public_offering
record Issue {
  shares: integer,
  name: optional text = none,
  consideration: money = $0,
  exemption: Exemption = Exemption."none",
}
record Line { shares: integer }

fact issues: list of Issue

section "1" "Issues"
  result total: money = sum(i.consideration for i in issues)
  result unnamed: integer = count(i for i in issues where i.name is none)
  result exempt: integer = count(i for i in issues where i.exemption = Exemption.public_offering)
  result lines: list of Line = [] + [{shares: 1}] + [{shares: 2}]
'''


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    path = tmp_path_factory.mktemp("defaults") / "defaults.clause"
    path.write_text(textwrap.dedent(CONTRACT), encoding="utf-8")
    return load_contract(path)


def test_fields_left_out_take_their_defaults(program: Program) -> None:
    facts = {"issues": [{"shares": 10},
                        {"shares": 5, "name": "B", "consideration": "7.50", "exemption": "public_offering"}]}
    for trace in (False, True):  # the compiled path, and the traced one
        results = evaluate(program, facts, trace=trace).results
        assert results["total"].value == Decimal("7.50")  # $0 (the default) + $7.50
        assert results["unnamed"].value == 1
        assert results["exempt"].value == 1
        assert [line["shares"] for line in results["lines"].value] == [1, 2]  # in order


def test_a_field_without_default_is_still_required(program: Program) -> None:
    with pytest.raises(ClauseError) as raised:
        evaluate(program, {"issues": [{"consideration": 1}]})
    assert "needs the field(s) shares" in str(raised.value)


def test_the_schema_requires_only_fields_without_defaults(program: Program) -> None:
    schema = json_schema(program.facts["issues"].type)["items"]
    assert schema["required"] == ["shares"]
    assert schema["properties"]["consideration"]["default"] == "0.00"
    assert schema["properties"]["exemption"]["default"] == "none"
    assert schema["properties"]["name"]["default"] is None


@pytest.mark.parametrize(("declaration", "message"), [
    ("record R { a: integer = $1 }", "the default of field `a` of R is money, but the field is an integer"),
    ("record R { a: integer = 1 + 1 }", "the default of field `a` of R must be a literal or an enum member"),
    ("enum E: x | y\nrecord R { a: E = E.z }", "E has no member `z`"),
])
def test_bad_defaults_are_reported(tmp_path: Path, declaration: str, message: str) -> None:
    path = tmp_path / "bad.clause"
    path.write_text(f'contract "Bad"\n{declaration}\n', encoding="utf-8")
    with pytest.raises(ClauseError) as raised:
        load_contract(path)
    assert message in str(raised.value)


def test_lists_of_different_types_do_not_join(tmp_path: Path) -> None:
    path = tmp_path / "bad.clause"
    path.write_text('contract "Bad"\nfact xs: list of integer\nresult r: list of integer = xs + [true]\n',
                    encoding="utf-8")
    with pytest.raises(ClauseError) as raised:
        load_contract(path)
    assert "cannot add a list of boolean to a list of integer" in str(raised.value)
