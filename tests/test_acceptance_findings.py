"""Regressions for what an outside-in acceptance run found.

Each test states the spec line it holds the engine to.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract

from helpers import ROOT, clause

SERIES_B = "contracts/series_b_preferred.clause"
SPECIAL = "contracts/special_conversion.clause"


def _eval(tmp_path: Path, contract: str, text: str, suffix: str = ".yaml") -> tuple[int, dict[str, object], str]:
    scenario = tmp_path / f"scenario{suffix}"
    scenario.write_text(text)
    run = clause("eval", str(ROOT / contract), str(scenario), "--format", "json")
    return run.code, (json.loads(run.out) if run.out else {}), run.err


@pytest.mark.parametrize("written", ["2.50", "2.500", "\"$2.5000\"", "2.5"])
def test_one_money_value_has_one_spelling(tmp_path: Path, written: str) -> None:
    # interface.md: money is "a string holding the exact decimal"; the encoding is canonical.
    code, data, err = _eval(tmp_path, SERIES_B, "facts:\n  shares_to_convert: 5\n  conversion_price: 3.41\n"
                            f"  current_market_price: {written}\n  fraction_settlement: cash\n")
    assert code == 0, err
    results = data["results"]
    assert isinstance(results, dict)
    assert results["cash_in_lieu"]["value"] == "0.70"  # 0.28 of a share at $2.50
    assert results["common_shares_on_conversion"]["value"] == 1466


def test_price_per_share_adds_additional_consideration_as_the_vocabulary_defines(tmp_path: Path) -> None:
    # vocabulary.md: price_per_share = (consideration + additional consideration) / shares issued.
    program = load_contract(ROOT / SERIES_B)
    results = evaluate(program, {
        "issue_date": "2003-03-03", "shares_issued": 30_000_000, "consideration": "75000000",
        "additional_consideration": "30000000", "common_shares_outstanding": 300_000_000,
        "average_current_market_price": "3.00", "conversion_price": "3.41",
    }).results
    assert results["price_per_share"].value == Decimal("3.5")
    assert results["adjustment_triggered"].value is False
    assert results["new_conversion_price"].value == Decimal("3.41")


def test_converting_more_than_the_note_does_not_leave_a_valid_remainder() -> None:
    program = load_contract(ROOT / SPECIAL)
    results = evaluate(program, {"principal_amount": 1000, "principal_to_convert": 2000}).results
    assert results["unconverted_remainder"].value == Decimal("-1000")
    assert results["remainder_valid"].value is False
    assert results["conversion_permitted"].value is False


@pytest.mark.parametrize(("text", "suffix", "message"), [
    ("facts:\n  principal_amount: 1000\n  principal_amount: 2000\n", ".yaml",
     "3:3: error: not valid YAML: `principal_amount` is given twice (first on line 2)"),
    ('{"facts": {"principal_amount": 1000, "principal_amount": 2000}}', ".json",
     "1:38: error: not valid JSON: `principal_amount` is given twice"),
    ('{"facts": {"principal_amount": 1e50}}', ".json",
     "1:32: error: fact `principal_amount` (money): expected an amount of money below 10^18"),
    # An exponent past the limits (docs/limits.md) is refused as the number is read.
    ('{"facts": {"principal_amount": 1e999}}', ".json",
     "1:32: error: a number's exponent is at most 100 either way (e999)"),
    ("facts:\n  principal_amount: 100000000000000000000000000\n", ".yaml",
     "2:21: error: fact `principal_amount` (money): expected an amount of money below 10^18"),
    ('{"facts": {"principal_amount": NaN}}', ".json", "not valid JSON: NaN is not a number"),
])
def test_repeated_facts_and_absurd_numbers_are_refused(tmp_path: Path, text: str, suffix: str,
                                                        message: str) -> None:
    code, _, err = _eval(tmp_path, SPECIAL, text, suffix)
    assert code == 1
    assert message in err
    assert "internal error" not in err and "Traceback" not in err


def test_schema_states_each_facts_own_default_and_accepts_what_the_cli_accepts() -> None:
    import re

    run = clause("schema", SERIES_B)
    facts = json.loads(run.out)["properties"]["facts"]["properties"]
    assert facts["conversion_price"]["default"] == "3.41"
    assert facts["ratings_before_rating_date"]["default"] == {"moodys": "B3", "sp": "B"}
    assert "default" not in facts["issue_date"]
    integer_pattern = facts["shares_issued"]["anyOf"][1]["pattern"]
    assert re.match(integer_pattern, "300,000,000") and re.match(integer_pattern, "1_000")
    special = json.loads(clause("schema", SPECIAL).out)["properties"]["facts"]["properties"]
    datetime_pattern = special["notice_time"]["pattern"]
    for accepted in ("2003-06-18T20:00:00-04:00", "2003-06-18T20:00:00Z", "2003-06-18T19:30:00"):
        assert re.match(datetime_pattern, accepted)


def test_trace_with_text_output_is_a_usage_error() -> None:
    run = clause("eval", SPECIAL, "examples/special_conversion/holder_converts.yaml", "--trace")
    assert run.code == 2
    assert "--trace goes with --format json" in run.err


def test_the_text_table_names_every_missing_fact() -> None:
    run = clause("eval", SPECIAL, "examples/special_conversion/missing_facts.yaml")
    assert "needs owner_ownership_pct, owner_voting_securities_pct" in run.out


def test_a_rating_off_its_agencys_scale_is_an_invalid_fact_at_its_line(tmp_path: Path) -> None:
    # interface.md: given but invalid facts are an error naming the fact, what was expected and what was given.
    code, _, err = _eval(tmp_path, SERIES_B, (
        "facts:\n  change_of_control_date: 2006-05-01\n  rating_date: 2006-04-20\n  rating_actions:\n"
        '    - {date: 2006-05-10, agency: sp, rating: "B-"}\n'
        '    - {date: 2006-05-12, agency: sp, rating: "Caa1"}\n'))
    assert code == 1
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1
    assert errors[0].endswith(
        ":6:7: error: fact `rating_actions` item 2: the rating must be on the agency's own scale: "
        'Moody\'s Aaa to C, S&P AAA to D; got {"date": "2006-05-12", "agency": "sp", "rating": "Caa1"}')


def test_record_requirements_are_checked_by_clause_run_too(tmp_path: Path) -> None:
    table = tmp_path / "ratings.jsonl"
    table.write_text(json.dumps({"scenario": "bad", "change_of_control_date": "2006-05-01",
                                 "rating_date": "2006-04-20",
                                 "rating_actions": [{"date": "2006-05-12", "agency": "moodys", "rating": "B-"}]})
                     + "\n")
    run = clause("run", str(ROOT / SERIES_B), str(table), "--format", "jsonl")
    assert run.code == 1
    line = json.loads(run.out.splitlines()[0])
    assert "the rating must be on the agency's own scale" in " ".join(line["errors"])


def test_local_times_that_never_happened_or_happened_twice(tmp_path: Path) -> None:
    code, _, err = _eval(tmp_path, SPECIAL, "facts:\n  notice_time: 2003-04-06T02:30:00\n")
    assert code == 1
    assert "2003-04-06T02:30:00 never happened in America/New_York" in err
    code, data, _ = _eval(tmp_path, SPECIAL, "facts:\n  notice_time: 2003-10-26T01:30:00\n")
    assert code == 0
    notes = data["notes"]
    assert isinstance(notes, list)
    assert "2003-10-26T01:30:00-04:00 (the first of the two times the clocks showed it" in notes[0]
