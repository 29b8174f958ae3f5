"""Pinned error messages: every bad clause file and scenario, exactly as users see them."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden_files import assert_golden
from helpers import ROOT, clause

BAD_CLAUSES = sorted((ROOT / "tests/golden/check/bad").glob("*.clause"))
BAD_SCENARIOS = sorted((ROOT / "tests/golden/scenarios/bad").glob("*.yaml"))
GOOD_CLAUSES = sorted((ROOT / "tests/golden/check/good").glob("*.clause"))


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", BAD_CLAUSES, ids=lambda p: p.stem)
def test_bad_clause_file_diagnostics_are_pinned(path: Path) -> None:
    # --allow-outside: the bad files quote the shipped source documents, in contracts/sources/.
    run = clause("check", "--allow-outside", _relative(path))
    assert run.code == 1
    assert "Traceback" not in run.err
    assert_golden(path.with_suffix(".err"), run.err)


@pytest.mark.parametrize("path", BAD_SCENARIOS, ids=lambda p: p.stem)
def test_bad_scenario_diagnostics_are_pinned(path: Path) -> None:
    run = clause("eval", "contracts/special_conversion.clause", _relative(path))
    assert run.code == 1
    assert run.out == ""
    assert "Traceback" not in run.err
    assert_golden(path.with_suffix(".err"), run.err)


@pytest.mark.parametrize("path", GOOD_CLAUSES, ids=lambda p: p.stem)
def test_good_clause_files_check_clean(path: Path) -> None:
    run = clause("check", "--allow-outside", _relative(path))  # they include contracts/common.clause
    assert run.code == 0, run.err
    assert run.err == ""


def test_one_file_reports_a_type_error_an_unknown_name_and_a_syntax_error_together() -> None:
    run = clause("check", "tests/golden/check/bad/three_errors.clause")
    errors = [line for line in run.err.splitlines() if ": error: " in line]
    assert [e.split(": error: ")[0] for e in errors] == [
        "tests/golden/check/bad/three_errors.clause:8:44",
        "tests/golden/check/bad/three_errors.clause:10:28",
        "tests/golden/check/bad/three_errors.clause:12:45",
    ]
    assert "cannot multiply money by money" in errors[0]
    assert "unknown name `principal_amout`" in errors[1]
    assert "did you mean `principal_amount`?" in run.err
    assert "unexpected `*`" in errors[2]
    # The caret sits under the misspelt name, over its full width.
    assert "                            ^^^^^^^^^^^^^^^" in run.err


def test_bare_number_for_a_percent_is_refused_naming_the_fact() -> None:
    run = clause("eval", "contracts/special_conversion.clause", "tests/golden/scenarios/bad/bare_percent.yaml")
    assert run.code == 1
    assert "fact `owner_ownership_pct`" in run.err
    assert 'such as "19.9%"' in run.err


def test_unknown_fact_is_refused_with_a_suggestion() -> None:
    run = clause("eval", "contracts/special_conversion.clause", "tests/golden/scenarios/bad/unknown_fact.yaml")
    assert run.code == 1
    assert "unknown fact `principal_to_conver`" in run.err
    assert "did you mean `principal_to_convert`?" in run.err


def test_every_bad_value_is_reported_at_once() -> None:
    run = clause("eval", "contracts/special_conversion.clause", "tests/golden/scenarios/bad/bad_values.yaml")
    reported = {line.split("fact `")[1].split("`")[0] for line in run.err.splitlines() if ": error: fact `" in line}
    assert reported == {"notice_time", "principal_amount", "principal_to_convert",
                        "owner_certificate_delivered", "owner_is_affiliate"}
