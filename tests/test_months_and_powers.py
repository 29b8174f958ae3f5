"""Calendar months and years under a declared month-end convention, and exact integer
powers (issue #8, item 2). Expected dates and values are worked out by hand."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract
from engine.errors import ClauseError
from engine.periods import Period, parse_period, shift


def _contract(tmp_path: Path, rule: str, body: str) -> Path:
    path = tmp_path / f"{rule}.clause"
    path.write_text(textwrap.dedent(f'''\
        contract "Months"
        reading month_end_reading: """How a period of months ends in a shorter month."""
        convention month_end = {rule} uses month_end_reading
        fact start: date
        fact term: period = 1 month
        fact n: integer = 3
        fact rate: percent = 8%
        {body}
        '''), encoding="utf-8")
    return path


@pytest.mark.parametrize(("rule", "start", "months", "expected"), [
    # January 31 + 1 month: February has no 31st.
    ("last_day_if_short", "2023-01-31", 1, "2023-02-28"),
    ("end_of_month", "2023-01-31", 1, "2023-02-28"),
    ("roll_forward", "2023-01-31", 1, "2023-03-03"),    # Feb 28 + the 3 days it overshoots
    ("last_day_if_short", "2024-01-31", 1, "2024-02-29"),  # a leap year
    # From the last day of a short month only end_of_month goes to the last day again.
    ("last_day_if_short", "2023-02-28", 1, "2023-03-28"),
    ("end_of_month", "2023-02-28", 1, "2023-03-31"),
    ("end_of_month", "2023-04-30", 6, "2023-10-31"),
    ("last_day_if_short", "2023-04-30", 6, "2023-10-30"),
    # Years are 12 months; February 29 a year on.
    ("last_day_if_short", "2024-02-29", 12, "2025-02-28"),
    ("roll_forward", "2024-02-29", 12, "2025-03-01"),
    ("end_of_month", "2023-08-31", -6, "2023-02-28"),  # backwards too
])
def test_months_move_dates_under_the_declared_convention(tmp_path: Path, rule: str, start: str, months: int,
                                                         expected: str) -> None:
    program = load_contract(_contract(tmp_path, rule, "result ends: date = start + term"))
    for trace in (False, True):
        outcome = evaluate(program, {"start": start, "term": months}, trace=trace)
        result = outcome.results["ends"]
        assert result.value == dt.date.fromisoformat(expected)
        assert result.readings == ["month_end_reading"]  # every moved date cites the convention
    assert shift(dt.date.fromisoformat(start), Period(months), rule) == dt.date.fromisoformat(expected)


def test_period_literals_arithmetic_and_encoding(tmp_path: Path) -> None:
    program = load_contract(_contract(tmp_path, "end_of_month", '''\
        result longer: period = term * 2 + 1 year
        result back: date = start - 2 years + 6 months
        '''))
    outcome = evaluate(program, {"start": "2020-02-29", "term": "P1Y6M"})
    assert outcome.results["longer"].value == Period(18 * 2 + 12)
    assert outcome.results["longer"].to_json()["value"] == "P4Y"  # 48 months
    # 2020-02-29 − 24 months = 2018-02-28 (the last day, end_of_month); + 6 months = 2018-08-31.
    assert outcome.results["back"].value == dt.date(2018, 8, 31)
    assert parse_period("6 months") == Period(6) and parse_period("P1Y6M") == Period(18)
    assert parse_period("-P6M") == Period(-6) and parse_period("soon") is None


def test_powers_are_exact(tmp_path: Path) -> None:
    program = load_contract(_contract(tmp_path, "end_of_month", '''\
        result factor: decimal = (100% + rate) ^ 3
        result compounded: money = $1,000 * (100% + rate) ^ n
        result cube: integer = n ^ 3
        result inverse: decimal = 2 ^ -n
        '''))
    values = {name: r.value for name, r in evaluate(program, {"start": "2020-01-01"}).results.items()}
    assert values["factor"] == Decimal("1.259712")        # 1.08 × 1.08 × 1.08
    assert values["compounded"] == Decimal("1259.712")    # $1,000 × 1.259712, not rounded
    assert values["cube"] == 27 and isinstance(values["cube"], int)
    assert values["inverse"] == Decimal("0.125")          # 1 / 2³
    outcome = evaluate(program, {"start": "2020-01-01", "n": 0})
    assert outcome.results["compounded"].value == Decimal("1000")  # x ^ 0 = 1
    zero = load_contract(_contract(tmp_path, "roll_forward", "result bad: decimal = (n - 3) ^ -1"))
    error = evaluate(zero, {"start": "2020-01-01"}).results["bad"].error
    assert error is not None and "0 cannot be raised to a negative power" in error.message


def _errors(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.clause"
    path.write_text('contract "Bad"\nfact d: date\nfact t: datetime\nfact m: money\nfact x: decimal\n' + text,
                    encoding="utf-8")
    try:
        load_contract(path)
    except ClauseError as error:
        return error.render()
    return "ok"


@pytest.mark.parametrize(("text", "message"), [
    ("result r: date = d + 6 months\n", "moving a date by months needs the contract's month-end convention"),
    ("convention month_end = eom\nresult r: date = d\n", "unknown month-end rule `eom`"),
    ('reading a: """a"""\nconvention month_end = end_of_month uses a\nconvention month_end = roll_forward\n'
     "result r: date = d\n", "the month-end convention is already stated"),
    ("result r: decimal = x ^ 0.5\n", "the exponent must be a whole number"),
    ("result r: decimal = x ^ x\n", "the exponent must be a whole number (an integer), not a decimal"),
    ("result r: money = m ^ 2\n", "cannot raise money to a power"),
    ("result r: date = d + 30 days + 1 month\n", "moving a date by months needs"),
    ('reading a: """a"""\nconvention month_end = end_of_month uses a\nresult r: datetime = t + 1 month\n',
     "months move dates, not datetimes"),
])
def test_the_checker_explains(tmp_path: Path, text: str, message: str) -> None:
    assert message in _errors(tmp_path, text)


def test_memos_write_powers_with_the_parentheses_they_need(tmp_path: Path) -> None:
    from render.memo import memo_for

    path = tmp_path / "powers.clause"
    path.write_text('contract "Powers"\nfact x: integer\nresult a: decimal = (-x) ^ 2 + x ^ -1\n'
                    "result b: decimal = (x ^ 2) ^ 3\n", encoding="utf-8")
    text = memo_for(evaluate(load_contract(path), {"x": 2}, trace=True), "md")
    assert "(−2) ^ 2 + 2 ^ −1 = 4.5" in text  # 4 + 1/2
    assert "(2 ^ 2) ^ 3 = 64" in text  # 4 cubed, not 2 ^ 8 = 256
