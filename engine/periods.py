"""Calendar periods in whole months (`6 months`, `2 years`) and the month-end conventions.

Adding months to a date is open wherever the day does not exist in the month
reached (January 31 + 1 month). A contract states how it reads that once, with
`convention month_end = RULE uses READING`; every `date ± months` in it follows
that rule and cites its reading. The rules:

- ``last_day_if_short``: the same day of the month, or the month's last day when
  it is shorter (January 31 + 1 month = February 28, or 29 in a leap year).
- ``end_of_month``: as ``last_day_if_short``, and a date on the last day of its
  month moves to the last day of the month reached (February 28, 2023 + 1 month =
  March 31, 2023; April 30 + 6 months = October 31).
- ``roll_forward``: the same day of the month, or, when the month is shorter, as
  many days into the next month as the day overshoots (January 31, 2023 + 1 month
  = March 3, 2023).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTH_END_RULES = ("last_day_if_short", "end_of_month", "roll_forward")


@dataclass(frozen=True, order=True)
class Period:
    """A whole number of calendar months (a year is 12)."""

    months: int

    def __neg__(self) -> Period:
        return Period(-self.months)

    def iso(self) -> str:
        """ISO 8601, normalised: P6M, P2Y, P1Y6M, -P6M."""
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        text = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return f"{sign}P{text}"

    def words(self) -> str:
        years, months = divmod(abs(self.months), 12)
        parts = []
        if years:
            parts.append(f"{years} year" + ("" if years == 1 else "s"))
        if months or not years:
            parts.append(f"{months} month" + ("" if months == 1 else "s"))
        return ("minus " if self.months < 0 else "") + " and ".join(parts)


_PERIOD_TEXT = re.compile(r"^\s*(-)?P(?:(\d+)Y)?(?:(\d+)M)?\s*$", re.I)
_PERIOD_WORDS = re.compile(r"^\s*(-?\d+)\s*(months?|years?)\s*$", re.I)


def parse_period(text: str) -> Period | None:
    """``P6M``, ``P1Y6M``, ``6 months``, ``2 years``; None when it is none of these."""
    match = _PERIOD_TEXT.match(text)
    if match and (match[2] or match[3]):
        months = int(match[2] or 0) * 12 + int(match[3] or 0)
        return Period(-months if match[1] else months)
    match = _PERIOD_WORDS.match(text)
    if match:
        count = int(match[1])
        return Period(count * 12 if match[2].lower().startswith("year") else count)
    return None


def shift(day: dt.date, period: Period, rule: str) -> dt.date:
    """``day`` moved by ``period`` under the month-end ``rule``."""
    index = day.year * 12 + (day.month - 1) + period.months
    year, month = divmod(index, 12)
    month += 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise OverflowError(f"{day.isoformat()} moved by {period.words()} is outside the calendar")
    length = calendar.monthrange(year, month)[1]
    if rule == "end_of_month" and day.day == calendar.monthrange(day.year, day.month)[1]:
        return dt.date(year, month, length)
    if day.day <= length:
        return dt.date(year, month, day.day)
    if rule == "roll_forward":
        return dt.date(year, month, length) + dt.timedelta(days=day.day - length)
    return dt.date(year, month, length)


def period_arith(op: str, left: object, right: object, rule: str | None) -> object:
    """``date ± period``, ``period ± period``, ``period × integer``."""
    if isinstance(left, dt.date) and isinstance(right, Period):
        assert rule is not None  # the checker requires the convention
        return shift(left, right if op == "+" else -right, rule)
    if isinstance(left, Period) and isinstance(right, dt.date):
        assert rule is not None
        return shift(right, left, rule)
    if isinstance(left, Period) and isinstance(right, Period):
        return Period(left.months + right.months if op == "+" else left.months - right.months)
    if isinstance(left, Period) and isinstance(right, int):
        return Period(left.months * right)
    if isinstance(left, int) and isinstance(right, Period):
        return Period(left * right.months)
    raise TypeError(f"cannot apply {op} to {left!r} and {right!r}")
