"""`clause test`: test files lawyers can edit, and what a failing expectation shows."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from engine import types as T
from engine.testing import matches

from helpers import ROOT, clause

CONTRACT = ROOT / "contracts" / "special_conversion.clause"

CASES = """\
contract: {contract}
facts:
  owner_certificate_delivered: true
  owner_ownership_pct: "4.2%"
  owner_voting_securities_pct: "4.2%"
  owner_is_affiliate: false
  owners_are_group: false
  owner_is_institutional_investor: true
cases:
  - title: $2,000 of a $5,000 Note
    facts:
      notice_time: 2003-06-18T19:00:00-04:00
      principal_amount: 5000
      principal_to_convert: 2000
    expect:
      shares_issuable: {shares}
      conversion_permitted: true
  - title: no notice time
    facts:
      principal_amount: 1000
      principal_to_convert: 1000
    expect:
      in_period: null
      unconverted_remainder: 0
"""


def _test_file(directory: Path, shares: int = 705, name: str = "cases.test.yaml") -> Path:
    path = directory / name
    relative = os.path.relpath(CONTRACT, directory)
    path.write_text(CASES.format(contract=relative, shares=shares), encoding="utf-8")
    return path


def test_the_shipped_examples_pass() -> None:
    run = clause("test", "examples/")
    assert run.code == 0, run.out + run.err
    last = run.out.splitlines()[-1]
    passed, failed = last.split(", ")
    assert failed == "0 failed" and int(passed.split()[0]) >= 4
    assert "PASS  examples/special_conversion/worked_examples.test.yaml" in run.out


def test_passing_cases(tmp_path: Path) -> None:
    run = clause("test", str(_test_file(tmp_path)))
    assert run.code == 0, run.out
    assert run.out.splitlines()[-1] == "2 passed, 0 failed"


def test_a_wrong_expectation_fails_with_a_readable_diff(tmp_path: Path) -> None:
    path = _test_file(tmp_path, shares=704)
    run = clause("test", str(path))
    assert run.code == 1
    assert run.out.splitlines()[-1] == "1 passed, 1 failed"
    failure = run.out[run.out.index("FAIL"):]
    assert failure.startswith(f"FAIL  {path}:10: $2,000 of a $5,000 Note")
    assert f"{path}:16: `shares_issuable`" in failure  # the line of the expectation
    assert "expected: 704" in failure
    assert "actual:   705" in failure
    assert "produced by contracts/special_conversion.clause:" in failure
    assert "(result `shares_issuable`, section 1.2(a))" in failure
    assert "result shares_issuable: integer" in failure  # the clause line itself


def test_an_undetermined_result_names_the_facts_it_waits_for(tmp_path: Path) -> None:
    path = tmp_path / "undetermined.test.yaml"
    path.write_text(textwrap.dedent(f"""\
        contract: {os.path.relpath(CONTRACT, tmp_path)}
        facts:
          principal_amount: 1000
          principal_to_convert: 1000
        expect:
          in_period: true
        """), encoding="utf-8")
    run = clause("test", str(path))
    assert run.code == 1
    assert "actual:   null (undetermined: waits for notice_time)" in run.out


def test_unknown_results_invalid_facts_and_unknown_keys_are_reported(tmp_path: Path) -> None:
    contract = os.path.relpath(CONTRACT, tmp_path)
    (tmp_path / "names.test.yaml").write_text(
        f"contract: {contract}\nfacts:\n  principal_amount: 1000\nexpect:\n  shares_isuable: 353\n", encoding="utf-8")
    (tmp_path / "facts.test.yaml").write_text(
        f"contract: {contract}\nfacts:\n  principal_amount: lots\nexpect:\n  in_period: null\n", encoding="utf-8")
    (tmp_path / "keys.test.yaml").write_text(
        f"contract: {contract}\nexpected:\n  in_period: null\n", encoding="utf-8")
    run = clause("test", str(tmp_path))
    assert run.code == 1
    assert "`shares_isuable` is not a result of" in run.out and "did you mean `shares_issuable`?" in run.out
    assert f"{tmp_path / 'facts.test.yaml'}:3:" in run.out and "principal_amount" in run.out
    assert "unknown key `expected`" in run.out and "did you mean `expect`?" in run.out
    assert run.out.splitlines()[-1] == "0 passed, 3 failed"


def test_the_directory_convention_finds_the_contract(tmp_path: Path) -> None:
    (tmp_path / "contracts").symlink_to(ROOT / "contracts", target_is_directory=True)
    directory = tmp_path / "examples" / "series_b"  # → contracts/series_b_preferred.clause
    directory.mkdir(parents=True)
    (directory / "issue.test.yaml").write_text(textwrap.dedent("""\
        facts:
          issue_date: 2003-03-03
          shares_issued: 30,000,000
          consideration: $75,000,000
          common_shares_outstanding: 300,000,000
          average_current_market_price: $3.00
        expect:
          adjustment_triggered: true
          new_conversion_price: "3.327"
          price_per_share: 2.5
          offer_deadline: null
        """), encoding="utf-8")
    run = clause("test", str(tmp_path / "examples"))
    assert run.code == 0, run.out
    assert run.out.splitlines()[-1] == "1 passed, 0 failed"


def test_no_test_files_is_an_error(tmp_path: Path) -> None:
    run = clause("test", str(tmp_path))
    assert run.code == 1
    assert "no *.test.yaml files" in run.out


@pytest.mark.parametrize(("expected", "actual", "type_", "ok"), [
    (353, 353, T.INTEGER, True),
    ("353", 353, T.INTEGER, True),
    (True, 1, T.INTEGER, False),
    (0, "0.00", T.MONEY, True),
    ("3.327", "3.327", T.MONEY, True),
    ("3.327", "3.328", T.MONEY, False),
    ("$1,000", "1000.00", T.MONEY, True),
    ("20%", "20%", T.PERCENT, True),
    ("20", "20%", T.PERCENT, False),
    (False, False, T.BOOLEAN, True),
    ("false", False, T.BOOLEAN, False),
    (None, None, T.DATE, True),
    ("2003-06-27", "2003-06-27", T.DATE, True),
    ("2003-06-19T09:15:00-05:00", "2003-06-19T09:15:00-05:00", T.DATETIME, True),
    ("2003-06-19T10:15:00-04:00", "2003-06-19T09:15:00-05:00", T.DATETIME, False),  # same instant, other offset
    (30, "P30D", T.DURATION, True),
    (["a", 1], ["a", 1], T.ListType(T.TEXT), True),
])
def test_expected_values_compare_as_written(expected: object, actual: object, type_: T.Type, ok: bool) -> None:
    assert matches(expected, actual, type_) is ok
