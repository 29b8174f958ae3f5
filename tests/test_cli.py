"""The command line as a user meets it: help, bad input of every kind, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, clause

CONTRACT = "contracts/special_conversion.clause"
EXAMPLE = "examples/special_conversion/holder_converts.yaml"


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["evl"], 2, "did you mean `eval`?"),
    (["eval", "contracts/nope.clause", EXAMPLE], 1, "contracts/nope.clause: error: no such clause file"),
    (["eval", CONTRACT, "nope.yaml"], 1, "nope.yaml: error: no such scenario file"),
    (["eval", CONTRACT, "tests"], 1, "tests: error: cannot read scenario tests: it is a directory"),
    (["eval", CONTRACT, EXAMPLE, "--format", "xml"], 2, "invalid choice: 'xml'"),
    (["check", "contracts/nope.clause"], 1, "contracts/nope.clause: error: no such clause file"),
    (["schema"], 2, "the following arguments are required: CONTRACT"),
])
def test_bad_command_lines_get_a_clear_message_and_no_traceback(argv: list[str], code: int, message: str) -> None:
    run = clause(*argv)
    assert run.code == code
    assert message in run.err
    assert "Traceback" not in run.err


def test_binary_and_malformed_inputs_are_refused_cleanly(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x00\x01\xff")
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- 1\n")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"facts": ')
    bad_clause = tmp_path / "bad.clause"
    bad_clause.write_bytes(b"\xff\xfe")
    for argv, message in [
        (["eval", CONTRACT, str(binary)], "it is not UTF-8 text"),
        (["eval", CONTRACT, str(not_a_mapping)], "a scenario is a mapping with `facts:`"),
        (["eval", CONTRACT, str(bad_json)], "not valid JSON"),
        (["check", str(bad_clause)], "it is not UTF-8 text"),
    ]:
        run = clause(*argv)
        assert run.code == 1, argv
        assert message in run.err
        assert "Traceback" not in run.err


def test_json_scenarios_are_read_exactly(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text('{"facts": {"principal_amount": 5000.10, "principal_to_convert": "$2,000"}}')
    run = clause("eval", str(ROOT / CONTRACT), str(scenario), "--format", "json")
    assert run.code == 0, run.err
    results = json.loads(run.out)["results"]
    assert results["unconverted_remainder"]["value"] == "3000.10"
    assert results["shares_issuable"]["value"] == 705


def test_an_empty_scenario_leaves_every_fact_dependent_result_undetermined(tmp_path: Path) -> None:
    scenario = tmp_path / "empty.yaml"
    scenario.write_text("title: nothing known yet\n")
    run = clause("eval", str(ROOT / CONTRACT), str(scenario), "--format", "json")
    assert run.code == 0
    results = json.loads(run.out)["results"]
    assert results["special_conversion_price"]["value"] == "2.83849"
    assert results["shares_issuable"] == {"value": None, "type": "integer", "cites": ["1.2(a)"],
                                          "missing": ["principal_to_convert"],
                                          "readings": ["exact_division", "fractions_rounded_upward"]}


def test_schema_describes_every_fact() -> None:
    run = clause("schema", CONTRACT)
    assert run.code == 0, run.err
    schema = json.loads(run.out)
    facts = schema["properties"]["facts"]
    assert facts["additionalProperties"] is False
    properties = facts["properties"]
    assert properties["owner_ownership_pct"]["pattern"].endswith("%$")
    assert "T" in properties["notice_time"]["pattern"]  # ISO 8601, with or without an offset
    assert "principal amount of the Note surrendered" in properties["principal_amount"]["description"]


def test_help_teaches_with_examples() -> None:
    result = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    assert result.returncode == 0
    assert "clause eval contracts/special_conversion.clause" in result.stdout


def test_the_console_command_is_installed() -> None:
    result = subprocess.run(["clause", "check", CONTRACT], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert "quotes verified" in result.stdout
