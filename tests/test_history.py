"""Section 6 of the Series B Certificate as a history of events (docs/history.md).

Every expected price below is worked out by hand from the Certificate, with the
arithmetic in the comment beside it. Unless a case says otherwise the history
starts from the Conversion Price of §5(a), $3.41, 100,000,000 shares of Common
Stock outstanding, no Convertible Securities and no Options, so that the Number
of Common Shares Deemed Outstanding (N) before the first event is 100,000,000.

§6(b): the new price is (N x P + consideration) / (N + shares), "calculated to
the nearest tenth of a cent" (half up); it applies only when the price per share
is below both the Average Current Market Price (ACMP) and P, on or after the
Measurement Date, and no §6(e) exemption applies.

The same cases pin the independent oracle (tests/history_oracle.py), so that the
10,000-row comparison in scripts/history_agreement.py compares the contract
with something that is itself right.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.compile import evaluate_values
from engine.errors import ClauseError
from engine.evaluate import Evaluation

import history_oracle as oracle

START: dict[str, Any] = {"conversion_price": "3.41", "common_shares_outstanding": 100_000_000}


def _issue(date: str, shares: int, consideration: int, market: str, **more: Any) -> dict[str, Any]:
    return {"date": date, "kind": "common_issue", "shares": shares, "consideration": consideration,
            "average_current_market_price": market, **more}


MARCH_WARRANTS = {"date": "2003-03-03", "kind": "option_grant", "name": "March warrants",
                  "shares": 40_000_000, "consideration": 0, "additional_consideration": 80_000_000,
                  "average_current_market_price": "2.50"}


@dataclass
class Case:
    id: str
    events: list[dict[str, Any]]
    prices: list[str]  # the Conversion Price just after each event, in the order applied
    start: dict[str, Any] = field(default_factory=lambda: dict(START))
    as_of: tuple[str, str] | None = None  # (date, price in effect at its end)


CASES = [
    # Two issues below market in sequence.
    # 1. 25,000,000 shares for $50,000,000: $2.00 < ACMP $2.50 and < $3.41.
    #    (100,000,000 x 3.41 + 50,000,000) / 125,000,000 = 391,000,000 / 125,000,000 = 3.128.
    # 2. 20,000,000 shares for $30,000,000: $1.50 < $1.80 and < $3.128; N = 125,000,000.
    #    (125,000,000 x 3.128 + 30,000,000) / 145,000,000 = 421,000,000 / 145,000,000
    #    = 2.90344..., $2.903.
    Case("two issues below market",
         [_issue("2003-01-15", 25_000_000, 50_000_000, "2.50"),
          _issue("2003-06-10", 20_000_000, 30_000_000, "1.80")],
         ["3.128", "2.903"],
         as_of=("2003-03-31", "3.128")),
    # A 2-for-1 subdivision, then an issue.
    # 1. §6(c): 100,000,000 -> 200,000,000 shares, ratio 2: 3.41 / 2 = 1.705.
    # 2. 50,000,000 shares for $50,000,000: $1.00 < $1.20 and < $1.705; N = 200,000,000.
    #    (200,000,000 x 1.705 + 50,000,000) / 250,000,000 = 391,000,000 / 250,000,000 = 1.564.
    Case("subdivision then issue",
         [{"date": "2003-02-01", "kind": "subdivision", "shares": 200_000_000},
          _issue("2003-03-01", 50_000_000, 50_000_000, "1.20")],
         ["1.705", "1.564"]),
    # An issue above the price, then one below: the first adds its shares.
    # 1. 20,000,000 shares for $80,000,000: $4.00 is not below $3.41: no adjustment, but
    #    Common Stock outstanding becomes 120,000,000.
    # 2. 30,000,000 shares for $60,000,000: $2.00 < $2.20 and < $3.41; N = 120,000,000.
    #    (120,000,000 x 3.41 + 60,000,000) / 150,000,000 = 469,200,000 / 150,000,000 = 3.128.
    #    (Without the first issue's shares it would be 401,000,000 / 130,000,000 = $3.085.)
    Case("issue above the price then below",
         [_issue("2003-01-15", 20_000_000, 80_000_000, "4.50"),
          _issue("2003-04-15", 30_000_000, 60_000_000, "2.20")],
         ["3.41", "3.128"]),
    # An Option grant below market, then its expiration: the price returns.
    # 1. §6(b)(1): 40,000,000 shares at $80,000,000 of additional consideration: $2.00 <
    #    $2.50 and < $3.41. (341,000,000 + 80,000,000) / 140,000,000 = 3.00714..., $3.007.
    # 2. §6(b)(4): had the Options never been issued there is no event before: $3.41.
    Case("option grant then expiration",
         [MARCH_WARRANTS,
          {"date": "2004-09-01", "kind": "expiration", "refers_to": "March warrants", "shares": 0}],
         ["3.007", "3.41"]),
    # An Option grant, a Common Stock issue, then the Option's expiration.
    # 1. As above: $3.007; the 40,000,000 shares are deemed outstanding.
    # 2. 20,000,000 shares for $30,000,000: $1.50 < $1.80 and < $3.007. N = 100,000,000 +
    #    40,000,000 deemed = 140,000,000 (counted once: not again under §6(a)(z) although
    #    $2.00 < $3.007). (140,000,000 x 3.007 + 30,000,000) / 160,000,000
    #    = (420,980,000 + 30,000,000) / 160,000,000 = 2.818625, $2.819.
    # 3. Replay without the grant: the issue alone, N = 100,000,000:
    #    (341,000,000 + 30,000,000) / 120,000,000 = 3.091666..., $3.092.
    Case("option grant, issue, expiration",
         [MARCH_WARRANTS,
          _issue("2003-06-10", 20_000_000, 30_000_000, "1.80"),
          {"date": "2004-09-01", "kind": "expiration", "refers_to": "March warrants", "shares": 0}],
         ["3.007", "2.819", "3.092"],
         as_of=("2004-08-31", "2.819")),
    # §6(b)(3): the Options' exercise price is changed to the market price at grant.
    # 1. As above: $3.007.
    # 2. New terms: 40,000,000 shares for $100,000,000 ($2.50). Replayed as if granted so:
    #    $2.50 is not below the ACMP of $2.50, so no adjustment: $3.41. The Options are now
    #    outstanding Options of §6(a)(z) (exercise price $2.50 < $3.41).
    # 3. 20,000,000 shares for $30,000,000: N = 100,000,000 + 40,000,000 under (z).
    #    (140,000,000 x 3.41 + 30,000,000) / 160,000,000 = 507,400,000 / 160,000,000
    #    = 3.17125, $3.171 (half up).
    Case("terms change to market",
         [MARCH_WARRANTS,
          {"date": "2003-08-01", "kind": "terms_change", "refers_to": "March warrants",
           "shares": 40_000_000, "additional_consideration": 100_000_000},
          _issue("2003-10-01", 20_000_000, 30_000_000, "1.80")],
         ["3.007", "3.41", "3.171"]),
    # An exempt issue between two others.
    # 1. As in the first case: $3.128; 125,000,000 outstanding.
    # 2. 10,000,000 shares for $10,000,000 in a public offering (§6(e)(iv)): no adjustment
    #    although $1.00 is below market and price; 135,000,000 outstanding.
    # 3. 20,000,000 shares for $30,000,000: N = 135,000,000.
    #    (135,000,000 x 3.128 + 30,000,000) / 155,000,000 = 452,280,000 / 155,000,000
    #    = 2.91793..., $2.918.
    Case("exempt issue between two others",
         [_issue("2003-01-15", 25_000_000, 50_000_000, "2.50"),
          _issue("2003-03-20", 10_000_000, 10_000_000, "2.40", exemption="public_offering"),
          _issue("2003-06-10", 20_000_000, 30_000_000, "1.80")],
         ["3.128", "3.128", "2.918"]),
    # Events given out of order are applied by date: the same history as the first case.
    Case("events applied by date",
         [_issue("2003-06-10", 20_000_000, 30_000_000, "1.80"),
          _issue("2003-01-15", 25_000_000, 50_000_000, "2.50")],
         ["3.128", "2.903"]),
    # Two issues on the same day, in the order given: the second sees the first's price.
    # 1. $3.128 as in the first case. 2. 25,000,000 shares for $25,000,000 ($1.00 < $1.50):
    #    (125,000,000 x 3.128 + 25,000,000) / 150,000,000 = 416,000,000 / 150,000,000
    #    = 2.77333..., $2.773.
    Case("same day, in the order given",
         [_issue("2003-01-15", 25_000_000, 50_000_000, "2.50"),
          _issue("2003-01-15", 25_000_000, 25_000_000, "1.50")],
         ["3.128", "2.773"]),
    # Convertible Securities (§6(b)(2)), then a change of their conversion rate (§6(b)(3)).
    # 1. Convertible into 30,000,000 shares for $60,000,000: $2.00 < $2.40 and < $3.41.
    #    (341,000,000 + 60,000,000) / 130,000,000 = 3.084615..., $3.085.
    # 2. Now convertible into 40,000,000 shares: replayed, $60,000,000 / 40,000,000 = $1.50:
    #    (341,000,000 + 60,000,000) / 140,000,000 = 2.864285..., $2.864.
    Case("convertible issue then rate change",
         [{"date": "2003-05-01", "kind": "convertible_issue", "name": "2003 notes", "shares": 30_000_000,
           "consideration": 60_000_000, "average_current_market_price": "2.40"},
          {"date": "2003-11-01", "kind": "terms_change", "refers_to": "2003 notes", "shares": 40_000_000}],
         ["3.085", "2.864"]),
    # An Option that never triggered, counted under §6(a)(z), then expiring.
    # 1. 50,000,000 shares at $150,000,000 ($3.00): not below the ACMP of $2.80: no
    #    adjustment; exercise price $3.00 < $3.41, so counted under §6(a)(z).
    # 2. 50,000,000 shares for $50,000,000: N = 150,000,000.
    #    (150,000,000 x 3.41 + 50,000,000) / 200,000,000 = 561,500,000 / 200,000,000
    #    = 2.8075, $2.808 (half up).
    # 3. Replay without the Options: (341,000,000 + 50,000,000) / 150,000,000 = 2.60666...,
    #    $2.607: lower than $2.808, taken all the same (reading expiration_replay_price).
    Case("expiration of an Option that never triggered",
         [{"date": "2003-02-01", "kind": "option_grant", "name": "B", "shares": 50_000_000,
           "additional_consideration": 150_000_000, "average_current_market_price": "2.80"},
          _issue("2003-04-01", 50_000_000, 50_000_000, "1.50"),
          {"date": "2003-09-01", "kind": "expiration", "refers_to": "B", "shares": 0}],
         ["3.41", "2.808", "2.607"]),
    # A combination between a grant and its expiration takes the price above where it was.
    # 1. $3.007 as above. 2. 1-for-2 combination, 100,000,000 -> 50,000,000: 3.007 x 2 = 6.014.
    # 3. Replay without the grant: 3.41 x 2 = 6.82, above the $3.41 before the grant.
    Case("expiration after a combination",
         [MARCH_WARRANTS,
          {"date": "2003-05-01", "kind": "combination", "shares": 50_000_000},
          {"date": "2004-09-01", "kind": "expiration", "refers_to": "March warrants", "shares": 0}],
         ["3.007", "6.014", "6.82"]),
    # examples/series_b/history_five_events.yaml.
    # 1. Warrants for 40,000,000 shares at $100,000,000 ($2.50): not below the ACMP of $2.40:
    #    no adjustment; counted under §6(a)(z) ($2.50 < $3.41).
    # 2. 20,000,000 shares for $30,000,000 ($1.50 < $1.80): N = 100,000,000 + 40,000,000.
    #    (140,000,000 x 3.41 + 30,000,000) / 160,000,000 = 3.17125, $3.171.
    # 3. Repriced to $50,000,000 ($1.25). Replayed as if granted so: $1.25 < $2.40 and < $3.41:
    #    (341,000,000 + 50,000,000) / 140,000,000 = 2.792857..., $2.793, the 40,000,000 shares
    #    deemed outstanding; then the issue: (140,000,000 x 2.793 + 30,000,000) / 160,000,000
    #    = 421,020,000 / 160,000,000 = 2.631375, $2.631.
    # 4. 2-for-1 (120,000,000 -> 240,000,000): 2.631 / 2 = 1.3155, exactly.
    # 5. Replay without the warrants: the issue, (341,000,000 + 30,000,000) / 120,000,000
    #    = 3.091666..., $3.092; the subdivision, 3.092 / 2 = $1.546.
    Case("five events: grant, issue, repricing, subdivision, expiration",
         [{"date": "2003-03-03", "kind": "option_grant", "name": "March 2003 warrants", "shares": 40_000_000,
           "additional_consideration": 100_000_000, "average_current_market_price": "2.40"},
          _issue("2003-06-10", 20_000_000, 30_000_000, "1.80"),
          {"date": "2003-11-17", "kind": "terms_change", "refers_to": "March 2003 warrants",
           "shares": 40_000_000, "additional_consideration": 50_000_000},
          {"date": "2004-05-03", "kind": "subdivision", "shares": 240_000_000},
          {"date": "2005-03-03", "kind": "expiration", "refers_to": "March 2003 warrants"}],
         ["3.41", "3.171", "2.631", "1.3155", "1.546"],
         as_of=("2004-12-31", "1.3155")),
    # A 10% stock dividend (§6(c)), then an issue.
    # 1. 100,000,000 -> 110,000,000, ratio 1.1: 3.41 / 1.1 = 3.10, exactly.
    # 2. 10,000,000 shares for $20,000,000: $2.00 < $2.50 and < $3.10; N = 110,000,000.
    #    (110,000,000 x 3.10 + 20,000,000) / 120,000,000 = 361,000,000 / 120,000,000
    #    = 3.008333..., $3.008.
    Case("stock dividend then issue",
         [{"date": "2003-02-01", "kind": "stock_dividend", "shares": 110_000_000},
          _issue("2003-03-01", 10_000_000, 20_000_000, "2.50")],
         ["3.10", "3.008"]),
    # Options granted under an employee plan (§6(e)): no adjustment although $1.00 is below
    # the market and the price, but counted under §6(a)(z) ($1.00 < $3.41).
    # 2. 20,000,000 shares for $30,000,000: N = 100,000,000 + 10,000,000.
    #    (110,000,000 x 3.41 + 30,000,000) / 130,000,000 = 405,100,000 / 130,000,000
    #    = 3.116153..., $3.116.
    Case("exempt option grant, then an issue",
         [{"date": "2003-02-01", "kind": "option_grant", "name": "plan options", "shares": 10_000_000,
           "additional_consideration": 10_000_000, "average_current_market_price": "2.50",
           "exemption": "employee_plan"},
          _issue("2003-03-01", 20_000_000, 30_000_000, "1.80")],
         ["3.41", "3.116"]),
    # Convertible Securities issued in an acquisition (§6(e)): no adjustment; their
    # 20,000,000 shares join §6(a)(y).
    # 2. 20,000,000 shares for $30,000,000: N = 100,000,000 + 20,000,000.
    #    (120,000,000 x 3.41 + 30,000,000) / 140,000,000 = 439,200,000 / 140,000,000
    #    = 3.137142..., $3.137.
    Case("exempt convertible issue, then an issue",
         [{"date": "2003-02-01", "kind": "convertible_issue", "name": "acquisition notes", "shares": 20_000_000,
           "consideration": 20_000_000, "average_current_market_price": "2.00", "exemption": "acquisition"},
          _issue("2003-03-01", 20_000_000, 30_000_000, "1.80")],
         ["3.41", "3.137"]),
    # Before the Measurement Date (July 5, 2002) an issue adds its shares but adjusts nothing.
    # 2. (120,000,000 x 3.41 + 30,000,000) / 140,000,000 = 439,200,000 / 140,000,000
    #    = 3.13714..., $3.137.
    Case("before the Measurement Date",
         [_issue("2002-07-04", 20_000_000, 20_000_000, "2.00"),
          _issue("2002-07-05", 20_000_000, 30_000_000, "2.00")],
         ["3.41", "3.137"]),
]


def _rows(case: Case) -> list[tuple[dt.date, str, str | None, Fraction]]:
    return oracle.conversion_price_history(case.events, **case.start)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_oracle_matches_the_hand_worked_history(case: Case) -> None:
    rows = _rows(case)
    assert [price for *_, price in rows] == [oracle.to_fraction(p) for p in case.prices]
    if case.as_of is not None:
        when, price = case.as_of
        assert oracle.price_as_of(rows, case.start["conversion_price"], dt.date.fromisoformat(when)) \
            == oracle.to_fraction(price)


# ---------------------------------------------------------------- the clause contract

CONTRACT = Path(__file__).resolve().parent.parent / "contracts" / "series_b_preferred.clause"


@pytest.fixture(scope="module")
def program() -> Program:
    return load_contract(CONTRACT, strict=True)


def _facts(case: Case) -> dict[str, Any]:
    facts: dict[str, Any] = {**case.start, "events": case.events}
    if case.as_of is not None:
        facts["as_of"] = case.as_of[0]
    return facts


@pytest.mark.parametrize("trace", [False, True], ids=["compiled", "traced"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_contract_matches_the_hand_worked_history(program: Program, case: Case, trace: bool) -> None:
    results = evaluate(program, _facts(case), trace=trace).results
    history = results["conversion_price_history"]
    assert history.error is None, history.error
    assert [Fraction(row["conversion_price"]) for row in history.value] == [Fraction(Decimal(p)) for p in case.prices]
    applied = oracle.ordered(case.events)
    assert [(row["date"], row["kind"].name, row["name"]) for row in history.value] \
        == [(e.date, e.kind, e.name if e.name is not None else e.refers_to) for e in applied]
    last = Fraction(Decimal(case.prices[-1]))
    assert Fraction(results["conversion_price_after_events"].value) == last
    # Stated Value / price; the 40-digit quotient for now (exact once arithmetic is).
    assert abs(Fraction(results["conversion_rate_after_events"].value) - 1000 / last) < Fraction(1, 10**30)
    if case.as_of is not None:
        assert Fraction(results["conversion_price_as_of"].value) == Fraction(Decimal(case.as_of[1]))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_histories_stay_on_the_compiled_path_and_match_the_reference(program: Program, case: Case) -> None:
    facts = dict(evaluate(program, _facts(case)).evaluation.facts)
    compiled = evaluate_values(program, facts)
    assert compiled is not None  # the compiled code ran (no fallback to the reference)
    reference = Evaluation(program, facts)
    for name in HISTORY_RESULTS:
        assert compiled[name][0] == reference.rule(name).value, name
        assert compiled[name][1] == reference.rule(name).readings, name


HISTORY_RESULTS = ("conversion_price_history", "conversion_price_after_events", "conversion_price_as_of",
                   "conversion_rate_after_events")


def test_no_events_leave_the_price_as_given(program: Program) -> None:
    results = evaluate(program, {"events": [], "conversion_price": "2.50", "common_shares_outstanding": 1,
                                 "as_of": "2003-01-01"}).results
    assert results["conversion_price_history"].value == ()
    assert results["conversion_price_after_events"].value == Decimal("2.50")
    assert results["conversion_price_as_of"].value == Decimal("2.50")
    assert results["conversion_rate_after_events"].value == 400  # $1,000 / $2.50


def test_a_history_without_its_starting_shares_is_undetermined(program: Program) -> None:
    results = evaluate(program, {"events": CASES[0].events}).results
    assert list(results["conversion_price_after_events"].missing) == ["common_shares_outstanding"]


def test_single_issuance_results_are_untouched_by_a_history(program: Program) -> None:
    # §6(b) for one issue, as before: (300,000,000 x 3.41 + 75,000,000) / 330,000,000 = $3.327.
    facts = {"issue_date": "2003-03-03", "shares_issued": 30_000_000, "consideration": 75_000_000,
             "common_shares_outstanding": 300_000_000, "average_current_market_price": "3.00",
             "events": CASES[0].events}
    results = evaluate(program, facts).results
    assert results["new_conversion_price"].value == Decimal("3.327")
    # ... and the history starts from the same 300,000,000 shares:
    # (300,000,000 x 3.41 + 50,000,000) / 325,000,000 = 3.30153..., $3.302.
    assert results["conversion_price_history"].value[0]["conversion_price"] == Decimal("3.302")


@pytest.mark.parametrize(("event", "message"), [
    ({"date": "2003-01-01", "kind": "common_issue", "shares": 10, "consideration": 10},
     "an issue, grant or sale states its Average Current Market Price"),
    ({"date": "2003-01-01", "kind": "expiration", "refers_to": "no such warrants"},
     "a change or expiration names, in refers_to, an Option or Convertible Security granted or issued"),
    ({"date": "2003-01-01", "kind": "subdivision"},
     "states a positive number of shares"),
])
def test_events_the_document_cannot_apply_are_refused(program: Program, event: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(ClauseError) as raised:
        evaluate(program, {**START, "events": [event]})
    assert message in str(raised.value)


def test_an_expiration_before_its_grant_is_refused(program: Program) -> None:
    expiry = {"date": "2003-03-02", "kind": "expiration", "refers_to": "March warrants"}
    with pytest.raises(ClauseError) as raised:
        evaluate(program, {**START, "events": [MARCH_WARRANTS, expiry]})
    assert "item 2: a change or expiration names" in str(raised.value)


def test_two_grants_of_one_name_are_refused(program: Program) -> None:
    with pytest.raises(ClauseError) as raised:
        evaluate(program, {**START, "events": [MARCH_WARRANTS, {**MARCH_WARRANTS, "date": "2003-04-01"}]})
    assert "a name is given to one grant or issue only" in str(raised.value)


def test_the_timeline_gives_each_event_its_section_and_the_price_before_and_after(program: Program) -> None:
    case = next(c for c in CASES if c.id.startswith("five events"))
    outcome = evaluate(program, _facts(case), trace=True)
    timeline = outcome.evaluation.rule("conversion_price_timeline").value
    assert [(t["section"], str(t["conversion_price_before"]), str(t["conversion_price_after"])) for t in timeline] == [
        ("6(b)(1)", "3.41", "3.41"), ("6(b)", "3.41", "3.171"), ("6(b)(3)", "3.171", "2.631"),
        ("6(c)", "2.631", "1.3155"), ("6(b)(4)", "1.3155", "1.546")]
    # A change and an expiration name the day the grant they concern was made.
    assert [t["grant_date"] for t in timeline] == [None, None, dt.date(2003, 3, 3), None, dt.date(2003, 3, 3)]
    exempt = next(c for c in CASES if c.id.startswith("exempt"))
    sections = [t["section"] for t in evaluate(program, _facts(exempt), trace=True).evaluation
                .rule("conversion_price_timeline").value]
    assert sections == ["6(b)", "6(e)", "6(b)"]
