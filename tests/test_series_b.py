"""Certificate of Designations of the Series B Convertible Preferred Stock.

Expected values are worked out from the document, not copied from the program:

* 5(a)-(b): each share converts into Stated Value / Conversion Price shares;
  5 x $1,000 / $3.41 = 1,466.2756... shares, the fraction 0.2756... is 0.28 of a
  share to the nearest 1/100, and 0.28 x $2.50 = $0.70.
* 6(b): (300,000,000 x $3.41 + $75,000,000) / (300,000,000 + 30,000,000)
  = 1,098,000,000 / 330,000,000 = 3.32727..., $3.327 to the nearest tenth of a cent.
* 7: 50% owned by a group while the Permitted Holders own 5% is a Change of
  Control; S&P's B- (below the Issue Date Rating of B) 20 days after the Rating
  Date is a Rating Decline; both have occurred on May 10, 2006, the Offer is due
  30 days later (June 9) at 101% x $1,000 + $10.00 = $1,020.00.
* 8: August 3, 2009 falls in the twelve months beginning July 15, 2009: 101.5%.
  The Business Day before Monday August 3 is Friday July 31; 5:00 p.m. in New
  York in summer is EDT (UTC-4).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.errors import ClauseError
from engine.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contracts" / "series_b_preferred.clause"
EXAMPLES = ROOT / "examples" / "series_b"
EST = dt.timezone(dt.timedelta(hours=-5))
EDT = dt.timezone(dt.timedelta(hours=-4))


@pytest.fixture(scope="module")
def program() -> Program:
    return load_contract(CONTRACT, strict=True)


def _values(program: Program, facts: dict[str, Any]) -> dict[str, Any]:
    return {name: r.value for name, r in evaluate(program, facts).results.items()}


def _exactly(value: object, exact: Fraction) -> bool:
    """A quotient that does not terminate is held exactly (a Fraction), never rounded."""
    return isinstance(value, Fraction) and value == exact


# ================================================================ Section 1 and 2


def test_designation_and_amount(program: Program) -> None:
    results = _values(program, {})
    assert results["authorized_shares"] == 500_000
    assert results["designation"] == "Series B Convertible Preferred Stock"


def test_dividends_are_9_percent_of_stated_value_a_year(program: Program) -> None:
    results = _values(program, {})
    assert results["annual_dividend_per_share"] == Decimal("90")
    assert results["quarterly_dividend_per_share"] == Decimal("22.50")
    assert results["dividends_cumulative"] is True
    assert results["interest_on_arrears_per_share"] == Decimal("0")
    assert results["first_dividend_payment_date"] == dt.date(2002, 10, 15)


@pytest.mark.parametrize(
    ("as_of", "payment", "record"),
    [
        ("2002-07-20", dt.date(2002, 10, 15), dt.date(2002, 10, 1)),   # before the first payment
        ("2003-01-16", dt.date(2003, 4, 15), dt.date(2003, 4, 1)),
        ("2003-10-15", dt.date(2003, 10, 15), dt.date(2003, 10, 1)),   # a payment date itself
        ("2003-12-01", dt.date(2004, 1, 15), dt.date(2004, 1, 1)),     # into the next year
    ],
)
def test_next_dividend_payment_and_record_dates(program: Program, as_of: str, payment: dt.date,
                                                record: dt.date) -> None:
    results = _values(program, {"dividend_as_of": as_of})
    assert results["next_dividend_payment_date"] == payment
    assert results["next_dividend_record_date"] == record


def test_the_dividend_schedule_of_a_year(program: Program) -> None:
    schedule = _values(program, {"dividend_year": 2004})["dividend_schedule"]
    assert [(d["payment_date"], d["record_date"]) for d in schedule] == [
        (dt.date(2004, 1, 15), dt.date(2004, 1, 1)),
        (dt.date(2004, 4, 15), dt.date(2004, 4, 1)),
        (dt.date(2004, 7, 15), dt.date(2004, 7, 1)),
        (dt.date(2004, 10, 15), dt.date(2004, 10, 1)),
    ]
    first_year = _values(program, {"dividend_year": 2002})["dividend_schedule"]
    assert [(d["payment_date"], d["record_date"]) for d in first_year] == [
        (dt.date(2002, 10, 15), dt.date(2002, 10, 1)),
    ]
    assert len(_values(program, {"dividend_year": 2001})["dividend_schedule"]) == 0


def test_junior_dividends_wait_for_series_b_arrears(program: Program) -> None:
    assert _values(program, {"dividends_in_arrears_per_share": "$0"})["junior_dividends_permitted"] is True
    assert _values(program, {"dividends_in_arrears_per_share": "$22.50"})["junior_dividends_permitted"] is False


def test_section_2c_prohibition(program: Program) -> None:
    outcome = evaluate(program, {"dividend_prohibited_by_agreement": True})
    permitted = outcome.results["dividend_payment_permitted"]
    assert permitted.value is False
    assert permitted.cites == ["2(c)"]
    assert _values(program, {"dividend_prohibited_by_law": True})["dividend_payment_permitted"] is False
    assert _values(program, {})["dividend_payment_permitted"] is True


# ================================================================ Section 3


def test_liquidation_preference_is_stated_value_plus_accrued_dividends(program: Program) -> None:
    results = _values(program, {
        "accrued_dividends_per_share": "$50", "series_b_shares_outstanding": 100_000,
        "liquidation_assets_available": "$200,000,000", "parity_preferred_full_amount": "$35,000,000",
        "junior_preferred_preferential_amount": "$10,000,000",
    })
    assert results["liquidation_preference_per_share"] == Decimal("1050")
    assert results["liquidation_shortfall"] is False
    assert results["liquidation_payment_per_share"] == Decimal("1050")
    # 200,000,000 - 105,000,000 - 35,000,000 - 10,000,000
    assert results["residual_for_common"] == Decimal("50000000")


def test_a_shortfall_is_shared_ratably_with_parity_stock(program: Program) -> None:
    # Series B is owed 105,000,000 and the parity stock 35,000,000: 140,000,000 in
    # all. 84,000,000 of assets pay 3/4 of that: 105,000,000 x 0.6 = 63,000,000 to
    # the Series B, $630 a share.
    results = _values(program, {
        "accrued_dividends_per_share": "$50", "series_b_shares_outstanding": 100_000,
        "liquidation_assets_available": "$84,000,000", "parity_preferred_full_amount": "$35,000,000",
    })
    assert results["liquidation_shortfall"] is True
    assert results["liquidation_payment_per_share"] == Decimal("630")
    assert results["residual_for_common"] == Decimal("0")


@pytest.mark.parametrize(
    ("transaction", "is_liquidation"),
    [("liquidation", True), ("dissolution", True), ("winding_up", True), ("merger", False),
     ("consolidation", False), ("sale_of_substantially_all_assets", False),
     ("conveyance_mortgage_pledge_or_lease", False)],
)
def test_what_is_a_liquidation(program: Program, transaction: str, is_liquidation: bool) -> None:
    outcome = evaluate(program, {"transaction": transaction})
    assert outcome.results["is_liquidation"].value is is_liquidation
    assert outcome.results["deemed_not_liquidation"].value is (not is_liquidation)


# ================================================================ Section 4


def test_votes_per_share_equal_the_conversion_rate(program: Program) -> None:
    results = _values(program, {"holder_series_b_shares": 341})
    assert _exactly(results["votes_per_share"], Fraction(1000) / Fraction("3.41"))
    assert results["holder_votes"] == Decimal("100000")  # 341 x 1000 / 3.41


def test_adverse_changes_need_a_majority_of_the_outstanding_shares(program: Program) -> None:
    facts = {"change_adverse_to_series_b": True, "series_b_shares_outstanding": 100_000}
    half = _values(program, {**facts, "consenting_series_b_shares": 50_000})
    assert half["class_consent_required"] is True
    assert half["class_consent_obtained"] is False
    assert half["change_permitted"] is False
    majority = _values(program, {**facts, "consenting_series_b_shares": 50_001})
    assert majority["change_permitted"] is True


def test_senior_preferred_stock_is_deemed_adverse(program: Program) -> None:
    results = _values(program, {"change_adverse_to_series_b": False, "senior_preferred_authorized": True,
                                "series_b_shares_outstanding": 100_000, "consenting_series_b_shares": 0})
    assert results["class_consent_required"] is True
    assert results["change_permitted"] is False


# ================================================================ Section 5


CONVERSION = {"shares_to_convert": 5, "conversion_price": "3.41", "current_market_price": "$2.50"}


def test_five_shares_at_3_41_with_cash_for_the_fraction(program: Program) -> None:
    outcome = evaluate(program, {**CONVERSION, "fraction_settlement": "cash"})
    results = outcome.results
    assert results["common_shares_on_conversion"].value == 1466
    assert results["cash_in_lieu"].value == Decimal("0.70")
    assert results["fraction_on_conversion"].value == Decimal("0.28")
    assert _exactly(results["conversion_rate"].value, Fraction(1000) / Fraction("3.41"))
    assert Decimal(outcome.to_json()["results"]["cash_in_lieu"]["value"]) == Decimal("0.70")


def test_five_shares_rounded_up(program: Program) -> None:
    results = _values(program, {**CONVERSION, "fraction_settlement": "round_up"})
    assert results["common_shares_on_conversion"] == 1467
    assert results["cash_in_lieu"] == Decimal("0")


def test_the_fraction_is_rounded_half_up_to_a_hundredth(program: Program) -> None:
    # $1,000 / $64.00 = 15.625 shares: the fraction 0.625 is 0.63 of a share.
    results = _values(program, {"shares_to_convert": 1, "conversion_price": "$64.00",
                                "current_market_price": "$10.00", "fraction_settlement": "cash"})
    assert results["common_shares_on_conversion"] == 15
    assert results["cash_in_lieu"] == Decimal("6.30")


def test_the_example_scenario(program: Program) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / "conversion_cash_for_fraction.yaml"))
    assert outcome.results["common_shares_on_conversion"].value == 1466
    assert outcome.results["cash_in_lieu"].value == Decimal("0.70")


def test_certificates_are_delivered_within_10_business_days(program: Program) -> None:
    # Friday December 19, 2003: December 25 and January 1 are not Business Days.
    results = _values(program, {"conversion_date": "2003-12-19"})
    assert results["share_delivery_deadline"] == dt.date(2004, 1, 6)


def test_the_adjustment_statement_is_due_within_20_business_days(program: Program) -> None:
    results = _values(program, ADJUSTMENT_EXAMPLE)
    assert results["adjustment_statement_deadline"] == dt.date(2003, 3, 31)
    exempt = _values(program, {**ADJUSTMENT_EXAMPLE, "exemption": "public_offering"})
    assert exempt["adjustment_statement_deadline"] is None


def test_accrued_dividends_on_conversion_paid_in_shares(program: Program) -> None:
    # 5 x $22.50 = $112.50; / $3.41 = 32.99... shares: 32 shares and
    # $112.50 - 32 x $3.41 = $3.38 for the fraction.
    facts = {"shares_to_convert": 5, "accrued_dividends_per_share": "$22.50",
             "conversion_dividend_payment": "shares"}
    cash_fraction = _values(program, {**facts, "conversion_dividend_fraction_settlement": "cash"})
    assert cash_fraction["conversion_dividend_amount"] == Decimal("112.50")
    assert cash_fraction["conversion_dividend_shares"] == 32
    assert cash_fraction["conversion_dividend_cash"] == Decimal("3.38")
    rounded = _values(program, {**facts, "conversion_dividend_fraction_settlement": "round_up"})
    assert rounded["conversion_dividend_shares"] == 33
    assert rounded["conversion_dividend_cash"] == Decimal("0")
    in_cash = _values(program, {**facts, "conversion_dividend_payment": "cash"})
    assert in_cash["conversion_dividend_shares"] == 0
    assert in_cash["conversion_dividend_cash"] == Decimal("112.50")


def test_shares_to_reserve(program: Program) -> None:
    # 500,000 x 1,000 / 3.41 = 146,627,565.98... rounded up.
    assert _values(program, {"series_b_shares_outstanding": 500_000})["shares_to_reserve"] == 146_627_566


def test_conversion_ends_before_a_liquidation_payment(program: Program) -> None:
    # Tuesday January 2, 2007: the Business Day before is Friday December 29, 2006
    # (Monday January 1 is New Year's Day).
    results = _values(program, {"liquidation_payment_date": "2007-01-02"})
    assert results["liquidation_conversion_rights_end"] == dt.datetime(2006, 12, 29, 17, 0, tzinfo=EST)


# ================================================================ Section 6


ADJUSTMENT_EXAMPLE = {
    "issue_date": "2003-03-03",
    "shares_issued": 30_000_000,
    "consideration": "$75,000,000",
    "common_shares_outstanding": 300_000_000,
    "average_current_market_price": "$3.00",
    "conversion_price": "$3.41",
}


def test_the_worked_anti_dilution_example(program: Program) -> None:
    outcome = evaluate(program, ADJUSTMENT_EXAMPLE)
    results = outcome.results
    assert results["price_per_share"].value == Decimal("2.50")
    assert results["shares_deemed_outstanding"].value == 300_000_000
    assert results["adjustment_triggered"].value is True
    assert results["new_conversion_price"].value == Decimal("3.327")
    assert _exactly(results["new_conversion_rate"].value, Fraction(1000) / Fraction("3.327"))
    assert outcome.to_json()["results"]["new_conversion_price"]["value"] == "3.327"
    assert "nearest_tenth_of_a_cent" in results["new_conversion_price"].readings


def test_the_anti_dilution_example_scenario(program: Program) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / "anti_dilution_issuance.yaml"))
    assert outcome.results["adjustment_triggered"].value is True
    assert outcome.results["new_conversion_price"].value == Decimal("3.327")


def test_shares_deemed_outstanding_count_convertibles_and_cheap_options(program: Program) -> None:
    results = _values(program, {
        **ADJUSTMENT_EXAMPLE,
        "convertible_shares": 20_000_000,
        "options": [{"shares": 5_000_000, "exercise_price": "$3.00"},
                    {"shares": 2_000_000, "exercise_price": "$5.00"},
                    {"shares": 1_000_000, "exercise_price": "$3.41"}],  # not less than $3.41
    })
    assert results["shares_deemed_outstanding"] == 325_000_000
    # (325,000,000 x 3.41 + 75,000,000) / 355,000,000 = 3.33309... -> 3.333
    assert results["new_conversion_price"] == Decimal("3.333")


def test_options_are_deemed_issued_at_their_total_price(program: Program) -> None:
    # 10,000,000 Options granted for $1,000,000, exercisable at $2.00: $21,000,000
    # for 10,000,000 shares, $2.10 a share. (1,023,000,000 + 21,000,000) / 310,000,000
    # = 3.367741... -> 3.368.
    results = _values(program, {**ADJUSTMENT_EXAMPLE, "security": "option", "shares_issued": 10_000_000,
                                "consideration": "$1,000,000", "additional_consideration": "$20,000,000"})
    assert results["price_per_share"] == Decimal("2.10")
    assert results["adjustment_triggered"] is True
    assert results["new_conversion_price"] == Decimal("3.368")


def test_convertible_securities_disclose_the_6b2_reading(program: Program) -> None:
    outcome = evaluate(program, {**ADJUSTMENT_EXAMPLE, "security": "convertible"})
    assert "option_granting_day_in_6b2" in outcome.results["adjustment_triggered"].readings
    plain = evaluate(program, ADJUSTMENT_EXAMPLE)
    assert "option_granting_day_in_6b2" not in plain.results["adjustment_triggered"].readings


def test_options_issued_as_a_dividend_carry_no_consideration(program: Program) -> None:
    results = _values(program, {**ADJUSTMENT_EXAMPLE, "security": "option", "issued_as_dividend": True,
                                "shares_issued": 10_000_000, "consideration": "$5,000,000",
                                "additional_consideration": "$20,000,000"})
    assert results["price_per_share"] == Decimal("2.00")


def test_a_price_not_below_the_market_price_does_not_adjust(program: Program) -> None:
    results = _values(program, {**ADJUSTMENT_EXAMPLE, "average_current_market_price": "$2.50"})
    assert results["adjustment_triggered"] is False
    assert results["new_conversion_price"] == Decimal("3.41")


def test_an_issue_before_the_measurement_date_does_not_adjust(program: Program) -> None:
    assert _values(program, {**ADJUSTMENT_EXAMPLE, "issue_date": "2002-07-04"})["adjustment_triggered"] is False
    assert _values(program, {**ADJUSTMENT_EXAMPLE, "issue_date": "2002-07-05"})["adjustment_triggered"] is True


def test_a_record_date_is_the_date_of_issue(program: Program) -> None:
    results = _values(program, {**ADJUSTMENT_EXAMPLE, "issue_date": "2002-07-10",
                                "holders_record_date": "2002-07-01"})
    assert results["deemed_issue_date"] == dt.date(2002, 7, 1)
    assert results["adjustment_triggered"] is False


def test_a_subdivision_or_stock_dividend_is_left_to_6c(program: Program) -> None:
    outcome = evaluate(program, {**ADJUSTMENT_EXAMPLE, "capital_change_issue": True})
    assert outcome.results["adjustment_triggered"].value is False
    assert "6(c)" in outcome.results["adjustment_triggered"].cites


@pytest.mark.parametrize(
    ("before", "after", "rate", "price"),
    [
        (300_000_000, 600_000_000, Fraction(2000) / Fraction("3.41"), Decimal("1.705")),   # 2-for-1
        (300_000_000, 30_000_000, Fraction(100) / Fraction("3.41"), Decimal("34.10")),     # 1-for-10
    ],
)
def test_subdivisions_and_combinations(program: Program, before: int, after: int, rate: Fraction,
                                       price: Decimal) -> None:
    change = "subdivision" if after > before else "combination"
    results = _values(program, {"capital_change": change, "common_shares_before_change": before,
                                "common_shares_after_change": after})
    assert _exactly(results["conversion_rate_after_capital_change"], rate)
    assert results["conversion_price_after_capital_change"] == price
    assert results["capital_change_valid"] is True


def test_reorganization_consideration_per_series_b_share(program: Program) -> None:
    results = _values(program, {"reorganization_value_per_common_share": "$3.41"})
    assert results["reorganization_value_per_series_b_share"] == Decimal("1000")


def test_section_6f_notices(program: Program) -> None:
    results = _values(program, {"notice_event": "reorganization", "notice_record_date": "2006-03-01",
                                "notice_event_date": "2006-03-31"})
    assert results["record_date_notice_deadline"] == dt.date(2006, 2, 9)
    assert results["event_notice_deadline"] == dt.date(2006, 3, 11)
    offer = _values(program, {"notice_event": "subscription_offer", "notice_record_date": "2006-03-01",
                              "notice_event_date": "2006-03-31"})
    assert offer["event_notice_deadline"] is None


# ---------------------------------------------------------------- 6(b): property tests

EXEMPTIONS = ["employee_plan", "existing_rights", "series_b", "public_offering", "acquisition",
              "debt_exchange", "notes", "notes_conversion"]

MILLS = Decimal("0.001")
CENTS = Decimal("0.01")

prices = st.integers(min_value=10, max_value=100_000).map(lambda m: Decimal(m) * MILLS)  # $0.010-$100
amounts = st.integers(min_value=0, max_value=10**12).map(lambda c: Decimal(c) * CENTS)
share_counts = st.integers(min_value=1, max_value=10**10)
issue_dates = st.dates(min_value=dt.date(2002, 7, 5), max_value=dt.date(2012, 7, 15))

property_settings = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


def _issue(outstanding: int, issued: int, consideration: Decimal, market: Decimal, price: Decimal,
           day: dt.date, **extra: Any) -> dict[str, Any]:
    return {"issue_date": day.isoformat(), "shares_issued": issued, "consideration": str(consideration),
            "common_shares_outstanding": outstanding, "average_current_market_price": str(market),
            "conversion_price": str(price), **extra}


def _formula(outstanding: int, issued: int, consideration: Decimal, price: Decimal) -> Decimal:
    """6(b)(i)/(ii) in exact rational arithmetic, rounded half up to $0.001."""
    exact = (Fraction(outstanding) * Fraction(price) + Fraction(consideration)) / (outstanding + issued)
    mills = exact * 1000
    rounded = (mills.numerator * 2 + mills.denominator) // (2 * mills.denominator)  # floor(x + 1/2)
    return Decimal(rounded) * MILLS


@property_settings
@given(outstanding=share_counts, issued=share_counts, consideration=amounts, market=prices, price=prices,
       day=issue_dates)
def test_the_new_price_never_exceeds_the_old(program: Program, outstanding: int, issued: int,
                                              consideration: Decimal, market: Decimal, price: Decimal,
                                              day: dt.date) -> None:
    results = _values(program, _issue(outstanding, issued, consideration, market, price, day))
    assert results["new_conversion_price"] <= price
    if not results["adjustment_triggered"]:
        assert results["new_conversion_price"] == price


@property_settings
@given(outstanding=share_counts, issued=share_counts, market=prices, price=prices, day=issue_dates,
       fraction=st.fractions(min_value=0, max_value=1))
def test_the_new_price_is_the_formula_to_the_nearest_tenth_of_a_cent(
        program: Program, outstanding: int, issued: int, market: Decimal, price: Decimal, day: dt.date,
        fraction: Fraction) -> None:
    # A consideration per share below both prices, so the issue always triggers.
    ceiling = min(market, price) * issued
    consideration = (Decimal(fraction.numerator) * ceiling / fraction.denominator).quantize(
        CENTS, rounding="ROUND_DOWN")
    assume(consideration < ceiling)
    results = _values(program, _issue(outstanding, issued, consideration, market, price, day))
    assert results["adjustment_triggered"] is True
    assert results["new_conversion_price"] == _formula(outstanding, issued, consideration, price)


@property_settings
@given(outstanding=st.integers(min_value=1, max_value=10**9), issued=st.integers(min_value=1, max_value=10**9),
       price=prices, position=st.fractions(min_value=0, max_value=1))
def test_ties_are_rounded_up(program: Program, outstanding: int, issued: int, price: Decimal,
                             position: Fraction) -> None:
    # Choose an exact result r = k/1000 + 0.0005 between the lowest possible
    # result (consideration 0) and the old price, and the consideration giving it.
    total = outstanding + issued
    mills = int(price / MILLS)
    lowest = Fraction(outstanding) * Fraction(price) / total
    low_k = int(lowest * 1000 - Fraction(1, 2)) + 1   # the tie is at least the lowest result
    high_k = mills - 1                                # and below the old price
    assume(low_k <= high_k)
    k = low_k + int(position * (high_k - low_k))
    tie = Fraction(2 * k + 1, 2000)
    consideration = tie * total - Fraction(outstanding) * Fraction(price)  # a multiple of 1/2000
    amount = Decimal(consideration.numerator) / Decimal(consideration.denominator)
    assert consideration >= 0 and Fraction(amount) == consideration
    results = _values(program, _issue(outstanding, issued, amount, price + 1, price, dt.date(2003, 3, 3)))
    assert results["adjustment_triggered"] is True
    assert results["new_conversion_price"] == Decimal(k + 1) * MILLS


@property_settings
@given(outstanding=share_counts, issued=share_counts, consideration=amounts, market=prices, price=prices,
       day=issue_dates, exemption=st.sampled_from(EXEMPTIONS))
def test_an_exempt_issuance_never_adjusts(program: Program, outstanding: int, issued: int,
                                          consideration: Decimal, market: Decimal, price: Decimal,
                                          day: dt.date, exemption: str) -> None:
    outcome = evaluate(program, _issue(outstanding, issued, consideration, market, price, day,
                                       exemption=exemption))
    assert outcome.results["exempt"].value is True
    assert outcome.results["adjustment_triggered"].value is False
    assert outcome.results["new_conversion_price"].value == price


# ================================================================ Section 7


CHANGE_OF_CONTROL = {
    "change_of_control_date": "2006-05-01",
    "acquirer_voting_pct": "50%",
    "acquirer_is_permitted_holder": False,
    "permitted_holders_voting_pct": "5%",
    "acquisition_by_notes_holders": False,
    "rating_date": "2006-04-20",
    "rating_actions": [{"date": "2006-05-10", "agency": "sp", "rating": "B-"}],
    "accrued_dividends_per_share": "$10.00",
}


def test_the_worked_change_of_control_example(program: Program) -> None:
    results = _values(program, CHANGE_OF_CONTROL)
    assert results["change_of_control"] is True
    assert results["rating_decline"] is True
    assert results["rating_decline_date"] == dt.date(2006, 5, 10)
    assert results["triggering_event"] is True
    assert results["triggering_event_date"] == dt.date(2006, 5, 10)
    assert results["offer_required"] is True
    assert results["offer_deadline"] == dt.date(2006, 6, 9)
    assert results["purchase_price_per_share"] == Decimal("1020.00")
    assert results["repurchase_right"] is True


def test_the_change_of_control_example_scenario(program: Program) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / "change_of_control.yaml"))
    encoded = outcome.to_json()["results"]
    assert encoded["triggering_event"]["value"] is True
    assert encoded["triggering_event_date"]["value"] == "2006-05-10"
    assert encoded["offer_deadline"]["value"] == "2006-06-09"
    assert Decimal(encoded["purchase_price_per_share"]["value"]) == Decimal("1020.00")
    assert "section_7e_more_favorable" in encoded["triggering_event"]["readings"]


def test_the_example_works_without_the_optional_carve_outs(program: Program) -> None:
    facts = {k: v for k, v in CHANGE_OF_CONTROL.items()
             if k not in ("acquirer_is_permitted_holder", "acquisition_by_notes_holders")}
    assert _values(program, facts)["triggering_event"] is True


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"acquirer_voting_pct": "35%"}, True),                 # "35% or more"
        ({"acquirer_voting_pct": "34.9%"}, False),
        ({"acquirer_is_permitted_holder": True}, False),
        ({"permitted_holders_voting_pct": "50%"}, False),       # not a lesser percentage
        ({"permitted_holders_voting_pct": "49.9%"}, True),
        ({"acquisition_by_notes_holders": True}, False),        # the Notes proviso
    ],
)
def test_the_ownership_trigger(program: Program, change: dict[str, Any], expected: bool) -> None:
    assert _values(program, {**CHANGE_OF_CONTROL, **change})["change_of_control"] is expected


def test_the_other_three_triggers(program: Program) -> None:
    base = {**CHANGE_OF_CONTROL, "acquirer_voting_pct": "10%"}
    assert _values(program, base)["change_of_control"] is False
    assert _values(program, {**base, "substantially_all_assets_disposed": True})["change_of_control"] is True
    assert _values(program, {**base, "substantially_all_assets_disposed": True,
                             "disposition_to_wholly_owned_subsidiary_or_permitted_holder": True}
                   )["change_of_control"] is False
    assert _values(program, {**base, "continuing_directors_majority_lost": True})["change_of_control"] is True
    assert _values(program, {**base, "liquidation_plan_approved": True})["change_of_control"] is True


def test_a_rating_at_the_issue_date_rating_is_no_decline(program: Program) -> None:
    facts = {**CHANGE_OF_CONTROL, "rating_actions": [{"date": "2006-05-10", "agency": "sp", "rating": "B"},
                                                     {"date": "2006-05-11", "agency": "moodys", "rating": "B3"}]}
    results = _values(program, facts)
    assert results["rating_decline"] is False
    assert results["triggering_event"] is False
    assert results["offer_deadline"] is None


def test_a_moodys_downgrade_within_the_category_is_a_decline(program: Program) -> None:
    facts = {**CHANGE_OF_CONTROL, "rating_actions": [{"date": "2006-06-01", "agency": "moodys",
                                                      "rating": "Caa1"}]}
    results = _values(program, facts)
    assert results["rating_decline_date"] == dt.date(2006, 6, 1)
    assert results["offer_deadline"] == dt.date(2006, 7, 1)


def test_the_earliest_qualifying_rating_counts(program: Program) -> None:
    facts = {**CHANGE_OF_CONTROL, "rating_actions": [
        {"date": "2006-04-01", "agency": "sp", "rating": "CCC"},      # before the Rating Date
        {"date": "2006-06-01", "agency": "moodys", "rating": "B3"},
        {"date": "2006-05-20", "agency": "sp", "rating": "CCC+"},
        {"date": "2006-05-15", "agency": "moodys", "rating": "Caa1"},
    ]}
    assert _values(program, facts)["rating_decline_date"] == dt.date(2006, 5, 15)


def test_the_90_day_period_and_its_extension(program: Program) -> None:
    # April 20 + 90 days = July 19, 2006.
    late = {**CHANGE_OF_CONTROL, "rating_actions": [{"date": "2006-09-15", "agency": "moodys", "rating": "Caa1"}]}
    on_day_90 = {**CHANGE_OF_CONTROL, "rating_actions": [{"date": "2006-07-19", "agency": "sp", "rating": "B-"}]}
    assert _values(program, on_day_90)["rating_decline"] is True
    assert _values(program, late)["rating_decline"] is False
    extended = _values(program, {**late, "downgrade_review_until": "2006-09-30"})
    assert extended["rating_period_end"] == dt.date(2006, 9, 30)
    assert extended["rating_decline_date"] == dt.date(2006, 9, 15)
    assert extended["triggering_event_date"] == dt.date(2006, 9, 15)


def test_a_low_rating_not_raised_by_the_90th_day(program: Program) -> None:
    before = {**CHANGE_OF_CONTROL, "ratings_before_rating_date": {"moodys": "B3", "sp": "B-"}, "rating_actions": []}
    results = _values(program, before)
    assert results["rating_decline"] is True
    assert results["rating_decline_date"] == dt.date(2006, 7, 19)
    assert results["triggering_event_date"] == dt.date(2006, 7, 19)
    raised = {**before, "rating_actions": [{"date": "2006-06-01", "agency": "sp", "rating": "B"}]}
    assert _values(program, raised)["rating_decline"] is False
    raised_late = {**before, "rating_actions": [{"date": "2006-07-20", "agency": "sp", "rating": "B+"}]}
    assert _values(program, raised_late)["rating_decline_date"] == dt.date(2006, 7, 19)


def test_the_later_event_fixes_the_triggering_event_date(program: Program) -> None:
    facts = {**CHANGE_OF_CONTROL, "rating_actions": [{"date": "2006-04-25", "agency": "sp", "rating": "B-"}]}
    results = _values(program, facts)
    assert results["triggering_event_date"] == dt.date(2006, 5, 1)
    assert results["offer_deadline"] == dt.date(2006, 5, 31)


def test_a_prohibited_offer_is_deferred(program: Program) -> None:
    outcome = evaluate(program, {**CHANGE_OF_CONTROL, "offer_prohibited": True})
    results = outcome.results
    assert results["triggering_event"].value is True
    assert results["offer_required"].value is False
    assert results["offer_deferred"].value is True
    assert results["offer_deadline"].value == dt.date(2006, 6, 9)  # the deadline that is deferred
    assert results["offer_required"].cites == ["7(b)"]


def test_the_offer_timetable(program: Program) -> None:
    # Offer on June 1, 2006: expiration from July 1 to July 31; the latest
    # Purchase Date is five Business Days after Monday July 31: August 7.
    results = _values(program, {"offer_date": "2006-06-01", "offer_expiration_date": "2006-07-03"})
    assert results["offer_expiration_earliest"] == dt.date(2006, 7, 1)
    assert results["offer_expiration_latest"] == dt.date(2006, 7, 31)
    assert results["latest_purchase_date"] == dt.date(2006, 8, 7)
    assert results["offer_expiration_valid"] is True
    # Five Business Days after Monday July 3, 2006, skipping Independence Day.
    assert results["purchase_date_deadline"] == dt.date(2006, 7, 11)
    too_soon = _values(program, {"offer_date": "2006-06-01", "offer_expiration_date": "2006-06-30"})
    assert too_soon["offer_expiration_valid"] is False
    too_late = _values(program, {"offer_date": "2006-06-01", "offer_expiration_date": "2006-08-01"})
    assert too_late["offer_expiration_valid"] is False


def test_ratings_are_checked_against_their_scale(program: Program) -> None:
    # A Moody's rating under S&P is an invalid fact, refused before anything is computed.
    with pytest.raises(ClauseError, match="the rating must be on the agency's own scale"):
        evaluate(program, {**CHANGE_OF_CONTROL,
                           "rating_actions": [{"date": "2006-05-10", "agency": "sp", "rating": "Caa1"}]})


# ================================================================ Section 8


def test_redemption_on_august_3_2009(program: Program) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / "optional_redemption.yaml"))
    results = outcome.results
    assert results["optional_redemption_permitted"].value is True
    assert results["optional_redemption_percentage"].value == Decimal("1.015")
    assert outcome.to_json()["results"]["optional_redemption_percentage"]["value"] == "101.5%"
    assert results["conversion_rights_end"].value == dt.datetime(2009, 7, 31, 17, 0, tzinfo=EDT)
    assert outcome.to_json()["results"]["conversion_rights_end"]["value"] == "2009-07-31T17:00:00-04:00"
    # 101.5% x $1,000 + $4.75
    assert results["optional_redemption_price_per_share"].value == Decimal("1019.75")
    assert results["redemption_notice_deadline"].value == dt.date(2009, 7, 4)


@pytest.mark.parametrize(
    ("day", "percentage"),
    [
        ("2007-07-14", None),
        ("2007-07-15", Decimal("1.045")),
        ("2008-07-14", Decimal("1.045")),
        ("2008-07-15", Decimal("1.03")),
        ("2009-07-15", Decimal("1.015")),
        ("2010-07-14", Decimal("1.015")),
        ("2010-07-15", Decimal("1")),
        ("2016-01-04", Decimal("1")),
    ],
)
def test_the_optional_redemption_schedule(program: Program, day: str, percentage: Decimal | None) -> None:
    results = _values(program, {"redemption_date": day, "accrued_dividends_per_share": "$0"})
    assert results["optional_redemption_percentage"] == percentage
    assert results["optional_redemption_permitted"] is (percentage is not None)
    assert results["redemption_date_permitted"] is (percentage is not None)


def test_the_mandatory_redemption(program: Program) -> None:
    outcome = evaluate(program, {"accrued_dividends_per_share": "$22.50"})
    results = outcome.results
    assert results["mandatory_redemption_date"].value == dt.date(2012, 7, 15)
    assert dt.date(2012, 7, 15).weekday() == 6  # a Sunday, kept as written
    assert "mandatory_redemption_unadjusted" in results["mandatory_redemption_date"].readings
    assert results["mandatory_redemption_price_per_share"].value == Decimal("1022.50")
    assert results["mandatory_redemption_notice_deadline"].value == dt.date(2012, 6, 15)
    assert results["mandatory_redemption_required"].value is True
    blocked = evaluate(program, {"mandatory_redemption_prohibited": True}).results
    assert blocked["mandatory_redemption_required"].value is False


def test_conversion_ends_in_winter_at_5pm_est(program: Program) -> None:
    # Wednesday January 2, 2008: the Business Day before is Monday December 31, 2007.
    results = _values(program, {"redemption_date": "2008-01-02"})
    assert results["conversion_rights_end"] == dt.datetime(2007, 12, 31, 17, 0, tzinfo=EST)


def test_partial_redemption_is_pro_rata(program: Program) -> None:
    results = _values(program, {"shares_to_redeem": 100_000, "holder_series_b_shares": 1_000,
                                "series_b_shares_outstanding": 400_000})
    assert results["holder_shares_redeemed"] == Decimal("250")


def test_holder_rights_cease_on_the_redemption_date_unless_payment_defaults(program: Program) -> None:
    assert _values(program, {"redemption_date": "2009-08-03"})["holder_rights_cease"] == dt.date(2009, 8, 3)
    assert _values(program, {"redemption_date": "2009-08-03",
                             "redemption_payment_default": True})["holder_rights_cease"] is None


# ================================================================ partial facts


def test_one_sections_facts_leave_the_others_undetermined(program: Program) -> None:
    outcome = evaluate(program, load_scenario(EXAMPLES / "partial_facts_conversion_only.yaml"))
    results = outcome.results
    assert results["common_shares_on_conversion"].value == 1467
    assert results["cash_in_lieu"].value == Decimal("0")
    expected_missing = {
        # Until the trigger is decided, the formula's inputs may be needed too.
        "new_conversion_price": {"issue_date", "shares_issued", "consideration", "average_current_market_price",
                                 "common_shares_outstanding"},
        "triggering_event": {"acquirer_voting_pct", "permitted_holders_voting_pct", "rating_actions"},
        "purchase_price_per_share": {"accrued_dividends_per_share"},
        "optional_redemption_price_per_share": {"redemption_date", "accrued_dividends_per_share"},
        "conversion_rights_end": {"redemption_date"},
        "liquidation_payment_per_share": {"accrued_dividends_per_share", "liquidation_assets_available",
                                          "series_b_shares_outstanding"},
    }
    encoded = outcome.to_json()["results"]
    for name, missing in expected_missing.items():
        assert results[name].value is None, name
        assert set(results[name].missing) == missing, name
        assert encoded[name]["value"] is None
        assert set(encoded[name]["missing"]) == missing
