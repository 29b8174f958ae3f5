"""Time zones and business-day calendars.

Calendars come from the ``holidays`` library's financial calendars (XFED for
the Federal Reserve, XNYS for the New York Stock Exchange), never from a
hand-written list. Zones are IANA zones (prevailing local time) or fixed
offsets read literally.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:  # holidays loads with the first calendar used, not with the engine
    import holidays

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Calendar:
    """Days that are not weekends and not holidays of a financial calendar."""

    name: str
    code: str
    _holidays: holidays.HolidayBase = field(compare=False, repr=False)

    def is_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def holiday_name(self, day: dt.date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name is not None else None

    def next_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while not self.is_day(day):
            day += dt.timedelta(days=1)
        return day

    def previous_day(self, day: dt.date) -> dt.date:
        day -= dt.timedelta(days=1)
        while not self.is_day(day):
            day -= dt.timedelta(days=1)
        return day

    def add_days(self, day: dt.date, count: int) -> dt.date:
        step = self.next_day if count >= 0 else self.previous_day
        for _ in range(abs(count)):
            day = step(day)
        return day


def financial_codes() -> list[str]:
    import holidays

    return sorted(holidays.list_supported_financial())


@functools.cache
def calendar(name: str, code: str) -> Calendar:
    """A calendar backed by ``holidays.financial_holidays(code)``; years load lazily."""
    import holidays

    return Calendar(name, code, holidays.financial_holidays(code))


def zone(fixed_offset: str | None, tz_name: str | None, label: str) -> dt.tzinfo:
    """A tzinfo for a zone declaration; raises ValueError with a readable message."""
    if fixed_offset is not None:
        match = _OFFSET.match(fixed_offset)
        if not match:
            raise ValueError(f"`{fixed_offset}` is not a UTC offset; write it as -05:00")
        sign = -1 if match[1] == "-" else 1
        delta = dt.timedelta(hours=int(match[2]), minutes=int(match[3]))
        return dt.timezone(sign * delta, _abbreviation(label))
    assert tz_name is not None
    return named_zone(tz_name)


@functools.cache
def named_zone(tz_name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"`{tz_name}` is not an IANA time zone, e.g. America/New_York") from None


def zone_abbreviation(moment: dt.datetime) -> str:
    return moment.tzname() or moment.strftime("%z")


def _abbreviation(name: str) -> str:
    """EasternStandardTime → EST: how a fixed zone is shown next to a time."""
    capitals = "".join(c for c in name if c.isupper())
    return capitals if len(capitals) >= 2 else name
