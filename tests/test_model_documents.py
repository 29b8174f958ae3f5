"""The two model documents of issue #8, encoded in clause files written for these tests
(tests/model_documents/, each checked against a source text written for the test):

- safe.clause, a post-money SAFE with cap and discount: the circular Company Capitalization
  stated as the text states it and solved by the engine; its entries are defined terms; and
  side_letter.clause, which amends the cap effective March 15, 2024.
- nvca.clause, a Series A certificate in the manner of the NVCA model: a semi-annual dividend
  on a date six months on under the month-end convention, an Accreted Value compounding with
  `^`, a 1x non-participating preference, weighted average anti-dilution, cash in lieu.

Every expected value is worked out by hand in the comments, with exact fractions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from editor.fmt import format_text
from engine.api import evaluate, load_contract
from engine.check import Program
from render.memo import memo_for
from render.trace import trace_json

HERE = Path(__file__).parent / "model_documents"


@pytest.fixture(scope="module")
def safe() -> Program:
    return load_contract(HERE / "safe.clause")


@pytest.fixture(scope="module")
def side_letter() -> Program:
    return load_contract(HERE / "side_letter.clause")


@pytest.fixture(scope="module")
def nvca() -> Program:
    return load_contract(HERE / "nvca.clause")


SAFE_FACTS = {
    "capital_stock": 9_000_000, "options": 500_000, "unissued_option_pool": 500_000,
    "purchase_amount": "1000000", "other_safes_purchase_amount": "500000",
    "other_safes_valuation_cap": "10000000", "standard_preferred_price": "1.20",
}


def _values(program: Program, facts: dict[str, object]) -> dict[str, object]:
    plain = evaluate(program, facts)
    traced = evaluate(program, facts, trace=True)
    values = {name: result.value for name, result in plain.results.items()}
    assert values == {name: result.value for name, result in traced.results.items()}
    return values


def test_the_safe_solves_the_post_money_capitalization(safe: Program) -> None:
    # C = 9,000,000 + 500,000 + 500,000 + this Safe's $1,000,000 / ($10,000,000 / C)
    #     + the other Safes' $500,000 / ($10,000,000 / C) = 10,000,000 + 0.15 C,
    # so C = 10,000,000 / 0.85 = 200,000,000/17 (no finite decimal expansion).
    capitalization = Fraction(10_000_000) / Fraction("0.85")
    assert capitalization == Fraction(200_000_000, 17)
    values = _values(safe, SAFE_FACTS)
    assert values["company_capitalization"] == capitalization
    # Safe Price = $10,000,000 / C = $0.85; Discount Price = $1.20 × 80% = $0.96; the lower
    # price gives more shares: $0.85. $1,000,000 / $0.85 = 1,176,470.58…, rounded down.
    assert values["safe_price"] == Decimal("0.85")
    assert values["discount_price"] == Decimal("0.96")
    assert values["conversion_price"] == Decimal("0.85")
    assert values["safe_shares"] == 1_176_470
    # The post-money promise: this Safe's shares at the Safe Price are 10% of C, exactly.
    assert Fraction(1_000_000) / Fraction("0.85") / capitalization == Fraction(1, 10)


@pytest.mark.parametrize(("as_of", "cap", "safe_price", "conversion_price", "shares", "cite"), [
    # Before March 15, 2024: the cap of the Safe itself, as above.
    ("2024-03-14", Decimal(10_000_000), Decimal("0.85"), Decimal("0.85"), 1_176_470,
     '"Post-Money Valuation Cap" in § 2'),
    # From March 15, 2024: C = 10,000,000 + 1,000,000 C / 12,500,000 + 500,000 C / 10,000,000
    # = 10,000,000 + 0.13 C, so C = 10,000,000 / 0.87; Safe Price = $12,500,000 × 0.87 / 10,000,000
    # = $1.0875, now above the Discount Price of $0.96, which applies:
    # $1,000,000 / $0.96 = 1,041,666.66…, rounded down.
    ("2024-03-15", Decimal(12_500_000), Decimal("1.0875"), Decimal("0.96"), 1_041_666,
     '"Post-Money Valuation Cap" in § 2, as amended by Side Letter No. 1 § 1'),
])
def test_the_side_letter_amends_the_cap_from_its_effective_date(
        side_letter: Program, as_of: str, cap: Decimal, safe_price: Decimal, conversion_price: Decimal,
        shares: int, cite: str) -> None:
    facts = {**SAFE_FACTS, "as_of": as_of}
    values = _values(side_letter, facts)
    assert values["post_money_valuation_cap"] == cap
    assert values["safe_price"] == safe_price
    assert values["conversion_price"] == conversion_price
    assert values["safe_shares"] == shares
    outcome = evaluate(side_letter, facts, trace=True)
    assert outcome.results["post_money_valuation_cap"].cites == [cite]
    assert outcome.results["safe_price"].cites == ['"Safe Price" in § 2']
    assert outcome.results["safe_shares"].cites == ["1(a)"]
    memo = memo_for(outcome, "md")
    assert f"({cite})" in memo
    # The provisions cited are quoted, the Safe's (an included file) and, once it is in force,
    # the side letter's own § 1.
    assert '### "Post-Money Valuation Cap" in § 2\n\n> “"Post-Money Valuation Cap" is $10,000,000.”' in memo
    assert "### § 1(a) — Equity Financing" in memo
    assert ("### § 1 — Valuation Cap" in memo) == ("amended" in cite)
    if "amended" in cite:
        assert trace_json(outcome)["post_money_valuation_cap"]["cites"] == [cite]


def test_without_the_as_of_day_the_amended_cap_and_what_follows_are_undetermined(side_letter: Program) -> None:
    outcome = evaluate(side_letter, SAFE_FACTS)
    assert outcome.results["safe_shares"].missing == ("as_of",)
    assert outcome.results["discount_price"].value == Decimal("0.96")  # does not depend on the cap


NVCA_FACTS = {
    "original_issue_date": "2023-09-30", "liquidation_date": "2026-10-15", "series_a_shares": 1_000_000,
    "common_amount_per_share": "1.00", "common_deemed_outstanding": 10_000_000,
    "new_shares_issued": 1_500_000, "new_shares_consideration": "1200000", "common_fair_market_value": "0.90",
}


def test_the_dividend_falls_six_months_on_at_the_month_end(nvca: Program) -> None:
    values = _values(nvca, NVCA_FACTS)
    # September 30 is the last day of its month, so six months on is the last day of March:
    # 2024-03-31 (the same day of the month would be March 30).
    assert values["first_dividend_payment_date"] == dt.date(2024, 3, 31)
    # Half a year at 8% of $1.00: $0.04 a share; 1,000,000 shares: $40,000.
    assert values["dividend_per_payment"] == Decimal("0.04")
    assert values["holder_dividend_per_payment"] == Decimal(40_000)
    memo = memo_for(evaluate(nvca, NVCA_FACTS, trace=True), "md")
    assert "month_end_reading" in memo or "last day of a month" in memo  # the reading is disclosed


def test_the_accreted_value_compounds_and_the_preference_is_not_participating(nvca: Program) -> None:
    values = _values(nvca, NVCA_FACTS)
    # From 2023-09-30 to 2026-10-15 three anniversaries have passed (the third, 2026-09-30, on or
    # before the event): $1.00 × 1.08³ = $1.259712.
    assert values["accreted_value"] == Decimal("1.259712") == Decimal("1.08") ** 3
    # of which the Accruing Dividends, compounded: 1.259712 − 1 = $0.259712 (simple interest
    # would give 3 × 8% = $0.24).
    assert values["accruing_dividends"] == Decimal("0.259712")
    memo = memo_for(evaluate(nvca, NVCA_FACTS, trace=True), "md")
    assert "$1.00 × (100% + 8%) ^ 3 = $1.259712" in memo  # the power is shown, not only its value
    # Anti-dilution: CP2 = $1.00 × (10,000,000 + $1,200,000 / $1.00) / (10,000,000 + 1,500,000)
    # = 112/115 = $0.973913…, to the nearest one-hundredth of a cent: $0.9739.
    assert Fraction(11_200_000, 11_500_000) == Fraction(112, 115)
    assert values["adjusted_conversion_price"] == Decimal("0.9739")
    # Converted, a share would get $1.00 × $1.00 / $0.9739 = $1.0268 < $1.259712: the preference.
    assert values["converts_in_liquidation"] is False
    assert values["liquidation_amount_per_share"] == Decimal("1.259712")
    assert values["holder_liquidation_amount"] == Decimal("1259712.00")
    # Conversion: 1,000,000 × 10000/9739 = 10,000,000,000/9739 = 1,026,799 + 4539/9739 shares;
    # cash in lieu: 4539/9739 × $0.90 = $0.41945…, to the cent: $0.42.
    exact = Fraction(10**10, 9739)
    assert exact - 1_026_799 == Fraction(4539, 9739)
    assert values["conversion_shares"] == 1_026_799
    assert values["cash_in_lieu"] == Decimal("0.42")


def test_a_liquidation_where_converting_pays_more(nvca: Program) -> None:
    facts = {**NVCA_FACTS, "liquidation_date": "2026-09-29", "common_amount_per_share": "1.30"}
    values = _values(nvca, facts)
    # One day before the third anniversary: two full years, $1.00 × 1.08² = $1.1664.
    assert values["accreted_value"] == Decimal("1.1664")
    assert values["accruing_dividends"] == Decimal("0.1664")  # 8% on $1.00, then 8% on $1.08
    # Converted: $1.30 × 10000/9739 = 13000/9739 = $1.33484… > $1.1664, so the holder takes the
    # as-converted amount and does not also take the preference (not participating):
    # 1,000,000 × 13000/9739 = 130,000,000,000/9739 = $1,334,839.3058…, to the cent.
    assert values["converts_in_liquidation"] is True
    assert values["liquidation_amount_per_share"] == Fraction(13000, 9739)
    assert values["holder_liquidation_amount"] == Decimal("1334839.31")


def test_no_adjustment_without_a_dilutive_issue(nvca: Program) -> None:
    facts = {**NVCA_FACTS, "new_shares_issued": 1_000_000, "new_shares_consideration": "1000000"}
    values = _values(nvca, facts)  # $1.00 a share is not less than the $1.00 Conversion Price
    assert values["adjusted_conversion_price"] == Decimal("1.00")
    assert values["conversion_shares"] == 1_000_000
    assert values["cash_in_lieu"] == Decimal("0.00")


@pytest.mark.parametrize("name", ["safe.clause", "side_letter.clause", "nvca.clause"])
def test_the_encodings_are_laid_out_as_clause_fmt_keeps_them(name: str) -> None:
    text = (HERE / name).read_text(encoding="utf-8")
    formatted = format_text(text, name)
    assert not formatted.kept_as_is
    assert formatted.text == text
