"""Amendment No. 2 to the Rights Agreement: Section 7(a) as amended and restated.

Expected values are worked out from the document: the Final Expiration Date is
the close of business on February 17, 2005, 5:00 p.m. in New York, which in
February is Eastern Standard Time (UTC-5); the Expiration Date is the earlier
of that and the time of a redemption under Section 23; Rights are exercised
"at any time after the Distribution Date" and "at or prior to" the Expiration
Date, once every step of the surrender is done and no restriction applies.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contracts" / "rights_agreement.clause"
EXAMPLES = ROOT / "examples" / "rights_agreement"
EST = dt.timezone(dt.timedelta(hours=-5))

EVERY_STEP_DONE = {
    "distribution_date": "2005-01-03",
    "redemption_time": None,
    "certificate_surrendered": True,
    "election_form_executed": True,
    "signature_guaranteed": True,
    "purchase_price_paid": True,
}


@pytest.fixture(scope="module")
def program() -> Program:
    return load_contract(CONTRACT, strict=True)


def _run(program: Program, **facts: Any) -> dict[str, Any]:
    outcome = evaluate(program, {**EVERY_STEP_DONE, **facts})
    return {name: r.value for name, r in outcome.results.items()}


# ---------------------------------------------------------------- the worked examples


def test_exercise_on_february_10_after_the_distribution_date_is_allowed(program: Program) -> None:
    results = _run(program, exercise_time="2005-02-10T11:00:00-05:00")
    assert results["exercisable"] is True
    assert results["final_expiration_date"] == dt.datetime(2005, 2, 17, 17, 0, tzinfo=EST)
    assert results["expiration_date"] == dt.datetime(2005, 2, 17, 17, 0, tzinfo=EST)


def test_exercise_the_morning_after_the_final_expiration_date_is_too_late(program: Program) -> None:
    results = _run(program, exercise_time="2005-02-18T09:00:00-05:00")
    assert results["exercisable"] is False
    assert results["after_distribution_date"] is True
    assert results["procedure_complete"] is True


@pytest.mark.parametrize(
    ("example", "exercisable"),
    [("exercise_before_expiration.yaml", True), ("exercise_after_expiration.yaml", False)],
)
def test_example_scenarios(program: Program, example: str, exercisable: bool) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / example))
    assert outcome.results["exercisable"].value is exercisable
    assert outcome.to_json()["results"]["final_expiration_date"]["value"] == "2005-02-17T17:00:00-05:00"


# ---------------------------------------------------------------- the Expiration Date


def test_the_final_expiration_date_is_5pm_new_york_time_on_february_17_2005(program: Program) -> None:
    outcome = evaluate(program, {})
    final = outcome.results["final_expiration_date"]
    assert isinstance(final.value, dt.datetime)
    assert final.value.isoformat() == "2005-02-17T17:00:00-05:00"
    assert "close_of_business" in final.readings


@pytest.mark.parametrize(
    ("moment", "exercisable"),
    [
        ("2005-02-17T17:00:00-05:00", True),   # at the close of business: "at or prior to"
        ("2005-02-17T16:59:59-05:00", True),
        ("2005-02-17T17:00:01-05:00", False),
        ("2005-02-17T21:59:00Z", True),        # 4:59 p.m. in New York
        ("2005-02-17T22:01:00Z", False),       # 5:01 p.m. in New York
    ],
)
def test_the_final_expiration_date_is_inclusive(program: Program, moment: str, exercisable: bool) -> None:
    assert _run(program, exercise_time=moment)["exercisable"] is exercisable


def test_a_redemption_brings_the_expiration_date_forward(program: Program) -> None:
    results = _run(program, exercise_time="2005-02-10T11:00:00-05:00",
                   redemption_time="2005-02-01T12:00:00-05:00")
    assert results["expiration_date"] == dt.datetime(2005, 2, 1, 12, 0, tzinfo=EST)
    assert results["exercisable"] is False


def test_an_exercise_before_the_redemption_is_still_allowed(program: Program) -> None:
    results = _run(program, exercise_time="2005-01-31T11:00:00-05:00",
                   redemption_time="2005-02-01T12:00:00-05:00")
    assert results["exercisable"] is True


def test_a_redemption_after_the_final_expiration_date_changes_nothing(program: Program) -> None:
    results = _run(program, exercise_time="2005-02-10T11:00:00-05:00",
                   redemption_time="2005-03-01T12:00:00-05:00")
    assert results["expiration_date"] == dt.datetime(2005, 2, 17, 17, 0, tzinfo=EST)


def test_no_redemption_is_the_default(program: Program) -> None:
    outcome = evaluate(program, {"exercise_time": "2005-02-10T11:00:00-05:00"})
    assert outcome.results["expiration_date"].value == dt.datetime(2005, 2, 17, 17, 0, tzinfo=EST)


# ---------------------------------------------------------------- the Distribution Date


def test_without_a_distribution_date_the_rights_cannot_be_exercised(program: Program) -> None:
    results = _run(program, exercise_time="2005-02-10T11:00:00-05:00", distribution_date=None)
    assert results["after_distribution_date"] is False
    assert results["exercisable"] is False


def test_an_exercise_on_the_distribution_date_itself_is_not_after_it(program: Program) -> None:
    results = _run(program, exercise_time="2005-01-03T15:00:00-05:00")
    assert results["after_distribution_date"] is False
    assert results["exercisable"] is False
    outcome = evaluate(program, {**EVERY_STEP_DONE, "exercise_time": "2005-01-03T15:00:00-05:00"})
    assert "after_the_distribution_date" in outcome.results["exercisable"].readings


def test_the_day_after_the_distribution_date_counts_in_new_york_time(program: Program) -> None:
    # 03:00 UTC on January 4 is still January 3 in New York.
    assert _run(program, exercise_time="2005-01-04T03:00:00Z")["exercisable"] is False
    assert _run(program, exercise_time="2005-01-04T09:00:00-05:00")["exercisable"] is True


# ---------------------------------------------------------------- procedure and restrictions


@pytest.mark.parametrize(
    "step",
    ["certificate_surrendered", "election_form_executed", "signature_guaranteed", "purchase_price_paid",
     "further_documentation_provided"],
)
def test_every_step_of_the_surrender_is_required(program: Program, step: str) -> None:
    results = _run(program, exercise_time="2005-02-10T11:00:00-05:00", **{step: False})
    assert results["procedure_complete"] is False
    assert results["exercisable"] is False


@pytest.mark.parametrize("restriction", ["restricted_7e", "restricted_9c", "restricted_11a_iii", "restricted_23a"])
def test_each_restriction_prevents_exercise(program: Program, restriction: str) -> None:
    outcome = evaluate(program, {**EVERY_STEP_DONE, "exercise_time": "2005-02-10T11:00:00-05:00",
                                 restriction: True})
    exercisable = outcome.results["exercisable"]
    assert exercisable.value is False
    assert exercisable.cites == ["7(a)"]


def test_restrictions_default_to_false(program: Program) -> None:
    assert _run(program, exercise_time="2005-02-10T11:00:00-05:00")["restricted"] is False


# ---------------------------------------------------------------- Section 2 and document data


def test_the_amendment_document_data(program: Program) -> None:
    results = evaluate(program, {}).results
    assert results["effective_date"].value == dt.date(2005, 2, 15)
    assert results["effective_date"].cites == ["2(f)"]
    assert results["governing_law"].value == "Delaware"
    assert results["rights_agreement_date"].value == dt.date(1998, 5, 29)
    assert results["amended_section"].value == "7(a)"
    assert results["rest_of_agreement_unchanged"].value is True
    assert program.header.governing_law == "Delaware"


# ---------------------------------------------------------------- partial facts


def test_only_the_exercise_time_leaves_exercisability_undetermined(program: Program) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / "partial_facts.yaml"))
    results = outcome.results
    assert results["expiration_date"].value == dt.datetime(2005, 2, 17, 17, 0, tzinfo=EST)
    exercisable = results["exercisable"]
    assert exercisable.value is None
    assert set(exercisable.missing) == {
        "distribution_date", "certificate_surrendered", "election_form_executed",
        "signature_guaranteed", "purchase_price_paid",
    }
    encoded = outcome.to_json()["results"]["exercisable"]
    assert encoded["value"] is None and "distribution_date" in encoded["missing"]
