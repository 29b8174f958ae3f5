"""Time zones and business-day calendars.

Calendars come from the ``holidays`` library's financial calendars (XFED for
the Federal Reserve, XNYS for the New York Stock Exchange), never from a
hand-written list. Zones are IANA zones (prevailing local time) or fixed
offsets read literally.

A calendar loads a year's holidays when a day of that year is first asked
about, and keeps them in the contract cache's directory (engine/cache.py:
sealed with the user's key, filed under the engine's fingerprint, which
includes the holidays version), so a run whose years are cached never imports
``holidays`` (a fifth of a second).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Calendar:
    """Days that are not weekends and not holidays of a financial calendar."""

    name: str
    code: str
    _years: dict[int, dict[dt.date, str]] = field(default_factory=dict, compare=False, repr=False)

    def _year(self, year: int) -> dict[dt.date, str]:
        found = self._years.get(year)
        if found is None:
            found = self._years[year] = holiday_year(self.code, year)
        return found

    def is_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self._year(day.year)

    def holiday_name(self, day: dt.date) -> str | None:
        return self._year(day.year).get(day)

    def holidays_between(self, first_year: int, last_year: int) -> list[dt.date]:
        return sorted(day for year in range(first_year, last_year + 1) for day in self._year(year))

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
    """A calendar of ``holidays.financial_holidays(code)``; each year loads when first asked about."""
    if code not in _KNOWN_CODES and code not in financial_codes():
        raise ValueError(f"`{code}` is not a financial calendar")
    return Calendar(name, code)


_KNOWN_CODES = frozenset({"XFED", "XNYS"})


def holiday_year(code: str, year: int) -> dict[dt.date, str]:
    """The holidays of ``code`` in ``year`` (date: name): from the cache, else from ``holidays``."""
    cached = _cached_year(code, year)
    if cached is not None:
        return cached
    import holidays

    # The neighbouring years too: a holiday observed on a day of this year may belong to the next.
    table = holidays.financial_holidays(code, years=[year - 1, year, year + 1])
    found = {day: str(name) for day, name in sorted(table.items()) if day.year == year}
    _store_year(code, year, found)
    return found


def _year_entry(code: str, year: int) -> tuple[Path, bytes] | None:
    """The cache file of a calendar year, and the user's key; None when there is no usable cache."""
    from engine import cache

    directory = cache.cache_dir()
    if directory is None or not re.fullmatch(r"[A-Z]{2,8}", code):
        return None
    if not cache._private_directory(directory):
        return None
    key = cache._user_key(directory)
    if key is None:
        return None
    return directory / f"calendar-{code}-{year}-{cache.engine_fingerprint()[:24]}.entry", key


def _cached_year(code: str, year: int) -> dict[dt.date, str] | None:
    from engine import cache

    entry = _year_entry(code, year)
    if entry is None:
        return None
    path, key = entry
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = cache._unseal(key, data)
    if payload is None:
        return None
    try:
        return {dt.date.fromisoformat(day): str(name) for day, name in json.loads(payload).items()}
    except (ValueError, AttributeError, TypeError):
        return None


def _store_year(code: str, year: int, days: dict[dt.date, str]) -> None:
    import contextlib
    import os
    import tempfile

    from engine import cache

    entry = _year_entry(code, year)
    if entry is None:
        return
    path, key = entry
    payload = json.dumps({day.isoformat(): name for day, name in days.items()}, sort_keys=True).encode("utf-8")
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".calendar-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(cache._seal(key, payload))
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        pass  # a cache: a read-only directory only costs the next run the import


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
