"""Amendment No. 1 to the Third Supplemental Indenture: the worked examples.

Expected values are worked out from the document: the Special Conversion
Price is $2.83849, so each $1,000 converts into 1000 / 2.83849 = 352.2999...
shares, rounded upward on the aggregate (1.2(a)); the period runs from
5:00 p.m. EST (UTC-5, read literally) on June 18, 2003 to 9:15 a.m. EST on the
next Business Day, Thursday June 19, 2003 (1.1(b)).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program

from helpers import clause

CONTRACT = "contracts/special_conversion.clause"
EST = dt.timezone(dt.timedelta(hours=-5))

OWNER_MEETS_EVERY_REPRESENTATION = {
    "owner_certificate_delivered": True,
    "owner_is_national_indemnity": False,
    "owner_ownership_pct": "4.2%",
    "owner_voting_securities_pct": "4.2%",
    "owner_is_affiliate": False,
    "owners_are_group": False,
    "owner_is_institutional_investor": True,
}


@pytest.fixture(scope="module")
def program() -> Program:
    from helpers import ROOT

    return load_contract(ROOT / CONTRACT, strict=True)


def _run(program: Program, **facts: Any) -> dict[str, Any]:
    outcome = evaluate(program, {**OWNER_MEETS_EVERY_REPRESENTATION, **facts})
    return {name: r.value for name, r in outcome.results.items()}


def test_a_1000_note_at_8pm_new_york_time_converts_into_353_shares(program: Program) -> None:
    results = _run(program, notice_time="2003-06-18T20:00:00-04:00", principal_amount=1000,
                   principal_to_convert=1000)
    assert results["conversion_permitted"] is True
    assert results["shares_issuable"] == 353
    assert results["period_end"] == dt.datetime(2003, 6, 19, 9, 15, tzinfo=EST)
    assert results["period_end"].isoformat() == "2003-06-19T09:15:00-05:00"


def test_2000_of_a_5000_note_converts_into_705_shares(program: Program) -> None:
    results = _run(program, notice_time="2003-06-18T19:00:00-04:00", principal_amount=5000,
                   principal_to_convert=2000)
    # 2000 / 2.83849 = 704.5999..., rounded upward on the aggregate.
    assert results["shares_issuable"] == 705
    assert results["unconverted_remainder"] == Decimal("3000")
    assert results["conversion_permitted"] is True


def test_2500_of_a_5000_note_is_not_an_integral_multiple(program: Program) -> None:
    results = _run(program, notice_time="2003-06-18T19:00:00-04:00", principal_amount=5000,
                   principal_to_convert=2500)
    assert results["denomination_valid"] is False
    assert results["remainder_valid"] is False
    assert results["conversion_permitted"] is False


def test_a_notice_at_5_30_pm_edt_is_before_5pm_est(program: Program) -> None:
    # 17:30 EDT is 16:30 EST: half an hour before the window opens.
    results = _run(program, notice_time="2003-06-18T17:30:00-04:00", principal_amount=1000,
                   principal_to_convert=1000)
    assert results["in_period"] is False
    assert results["conversion_permitted"] is False


def test_window_bounds_are_inclusive(program: Program) -> None:
    start = _run(program, notice_time="2003-06-18T17:00:00-05:00", principal_amount=1000, principal_to_convert=1000)
    end = _run(program, notice_time="2003-06-19T09:15:00-05:00", principal_amount=1000, principal_to_convert=1000)
    after = _run(program, notice_time="2003-06-19T09:15:01-05:00", principal_amount=1000, principal_to_convert=1000)
    assert start["in_period"] is True
    assert end["in_period"] is True
    assert after["in_period"] is False


def test_the_window_on_new_york_clocks_is_an_hour_later(program: Program) -> None:
    results = _run(program, principal_amount=1000, principal_to_convert=1000)
    assert results["period_start_new_york"].isoformat() == "2003-06-18T18:00:00-04:00"
    assert results["period_end_new_york"].isoformat() == "2003-06-19T10:15:00-04:00"


def test_special_conversion_rate_is_exact(program: Program) -> None:
    # $1,000 / $2.83849 has no finite decimal expansion: it is held exactly, as the fraction.
    rate = _run(program)["special_conversion_rate"]
    assert rate == Fraction(1000) / Fraction("2.83849") and rate * Fraction("2.83849") == 1000


def test_rounding_upward_is_on_the_aggregate_not_per_1000(program: Program) -> None:
    # Per $1,000 rounding would give 3 * 353 = 1059; the aggregate 1056.899... rounds to 1057.
    results = _run(program, notice_time="2003-06-18T19:00:00-04:00", principal_amount=3000,
                   principal_to_convert=3000)
    assert results["shares_issuable"] == 1057


@pytest.mark.parametrize(("facts", "failing"), [
    ({"owners_are_group": True}, "owners_are_group"),
    ({"owner_is_affiliate": True}, "owner_is_affiliate"),
    ({"owner_ownership_pct": "20%"}, "20% is not below 20%"),
    ({"owner_voting_securities_pct": "15.01%"}, "over 15%"),
    ({"owner_is_institutional_investor": False}, "not institutional"),
    ({"owner_certificate_delivered": False}, "no certificate"),
    ({"principal_to_convert": 6000}, "more than the Note"),
    ({"is_2012_note": False}, "another series (2.1)"),
])
def test_each_requirement_can_defeat_the_conversion(program: Program, facts: dict[str, Any], failing: str) -> None:
    base = {"notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": 5000, "principal_to_convert": 1000}
    assert _run(program, **base)["conversion_permitted"] is True
    assert _run(program, **{**base, **facts})["conversion_permitted"] is False, failing


def test_national_indemnity_threshold_is_15_percent(program: Program) -> None:
    base = {"notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": 1000, "principal_to_convert": 1000,
            "owner_ownership_pct": "16%"}
    assert _run(program, **base)["conversion_permitted"] is True
    results = _run(program, **base, owner_is_national_indemnity=True)
    assert results["ownership_threshold"] == Decimal("0.15")
    assert results["conversion_permitted"] is False


def test_missing_facts_leave_exactly_the_dependent_results_undetermined(program: Program) -> None:
    outcome = evaluate(program, {"principal_amount": 5000, "principal_to_convert": 2000})
    results = outcome.results
    assert results["shares_issuable"].value == 705
    assert results["denomination_valid"].value is True
    assert results["in_period"].value is None
    assert results["in_period"].missing == ("notice_time",)
    assert results["representations_hold"].missing == (
        "owner_is_affiliate", "owner_is_institutional_investor", "owner_ownership_pct",
        "owner_voting_securities_pct", "owners_are_group",
    )
    assert results["conversion_permitted"].value is None
    assert "notice_time" in results["conversion_permitted"].missing
    assert "owner_certificate_delivered" in results["conversion_permitted"].missing


def test_a_known_failure_decides_even_when_other_facts_are_missing(program: Program) -> None:
    outcome = evaluate(program, {"principal_amount": 5000, "principal_to_convert": 2500})
    result = outcome.results["conversion_permitted"]
    assert result.value is False
    assert result.missing == ()


def test_eval_json_follows_the_public_interface() -> None:
    run = clause("eval", CONTRACT, "examples/special_conversion/holder_converts.yaml", "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert data["contract"] == CONTRACT
    assert data["scenario"] == "examples/special_conversion/holder_converts.yaml"
    results = data["results"]
    assert results["shares_issuable"] == {
        "value": 353, "type": "integer", "cites": ["1.2(a)"], "missing": [],
        "readings": ["exact_division", "fractions_rounded_upward"],
    }
    assert results["special_conversion_price"]["value"] == "2.83849"
    assert results["special_conversion_price"]["type"] == "money"
    assert results["period_end"]["value"] == "2003-06-19T09:15:00-05:00"
    assert results["conversion_permitted"]["value"] is True
    assert results["ownership_threshold"]["value"] == "20%"
    assert results["share_issue_deadline"] == {"value": "2003-06-27", "type": "date", "cites": ["Exhibit A"],
                                               "missing": []}
    assert "eastern_standard_time" in results["period_end"]["readings"]


def test_eval_text_is_a_readable_table() -> None:
    run = clause("eval", CONTRACT, "examples/special_conversion/holder_converts.yaml")
    assert run.code == 0, run.err
    assert "shares_issuable           353" in run.out
    assert "9:15 a.m. EST, June 19, 2003" in run.out


def test_datetime_without_offset_is_read_in_new_york_and_said(tmp_path: Any) -> None:
    scenario = tmp_path / "naive.yaml"
    scenario.write_text("facts:\n  notice_time: 2003-06-18T19:30:00\n  principal_amount: 1000\n"
                        "  principal_to_convert: 1000\n")
    from helpers import ROOT

    run = clause("eval", str(ROOT / CONTRACT), str(scenario), "--format", "json")
    data = json.loads(run.out)
    assert data["results"]["in_period"]["value"] is True  # 7:30 p.m. EDT is 6:30 p.m. EST
    assert any("home time zone" in note and "2003-06-18T19:30:00-04:00" in note for note in data["notes"])
