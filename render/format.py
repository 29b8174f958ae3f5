"""Values formatted for people: $1,000.00, 19.9%, 5:00 p.m. EST, June 18, 2003.

Used by the text table and, as Jinja filters, by the memos.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine import types as T
from engine.periods import Period
from engine.values import Member, Unknown, format_decimal, format_money, format_percent, shown

# Marks a value shown rounded because its exact value has no finite decimal expansion.
APPROXIMATELY = "≈"

AGENCY_NAMES = {"moodys": "Moody's", "sp": "S&P"}


def money(value: Decimal) -> str:
    """$1,000.00, $0.70, $3.327: the canonical amount, grouped, with a dollar sign."""
    sign = "-" if value < 0 else ""
    whole, _, fraction = format_money(abs(value)).partition(".")
    return f"{sign}${int(whole):,}.{fraction}"


def number(value: Decimal | int) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    whole, _, fraction = format_decimal(value).partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{abs(int(whole)):,}" if whole.lstrip("-") else "0"
    return sign + grouped + (f".{fraction}" if fraction else "")


def percent(value: Decimal) -> str:
    return format_percent(value)


def date(value: dt.date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def clock(value: dt.datetime) -> str:
    hour = value.hour % 12 or 12
    half = "a.m." if value.hour < 12 else "p.m."
    return f"{hour}:{value.minute:02d} {half}"


def datetime(value: dt.datetime) -> str:
    zone = value.tzname() or value.strftime("%z")
    return f"{clock(value)} {zone}, {date(value)}"


def duration(value: dt.timedelta) -> str:
    days = value.days
    return f"{days} day" + ("" if abs(days) == 1 else "s")


# Display only (no clause type): an integer that is a calendar year, written as a year is
# (2026, not 2,026). render/explain.py decides which integers are years.
YEAR = T.Prim("year")


def human(value: object, type_: T.Type | None = None) -> str:
    """Any runtime value, formatted for a reader."""
    if isinstance(value, Unknown):
        return "undetermined"
    if value is None:
        return "none"
    if isinstance(value, Fraction):
        return APPROXIMATELY + human(shown(value), type_)
    base = T.strip_optional(type_) if type_ is not None else None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if base == T.PERCENT:
            return percent(value)
        if base == T.MONEY:
            return money(value)
        return number(value)
    if isinstance(value, int):
        return str(value) if base == YEAR else number(value)
    if isinstance(value, dt.datetime):
        return datetime(value)
    if isinstance(value, dt.date):
        return date(value)
    if isinstance(value, dt.timedelta):
        return duration(value)
    if isinstance(value, Period):
        return value.words()
    if isinstance(value, dt.time):
        return clock(dt.datetime.combine(dt.date(2000, 1, 1), value))
    if isinstance(value, Member):
        return value.name
    if isinstance(value, dict):
        fields = dict(base.fields) if isinstance(base, T.RecordType) else {}
        return "; ".join(f"{AGENCY_NAMES.get(k, k)} {human(v, fields.get(k))}" for k, v in value.items())
    if isinstance(value, tuple):
        element = base.element if isinstance(base, T.ListType) else None
        if not value:
            return "none"
        return "; ".join(human(v, element) for v in value)
    return str(value)


def human_fact(value: Any, type_: T.Type) -> str:
    return human(value, type_)


# ---------------------------------------------------------------- prose (memos)
#
# The functions above format a value on its own; the ones below write values
# into sentences: whole dollars without cents, long decimals cut short with an
# ellipsis, datetimes named by the contract's home zone, distances in words.

_ELLIPSIS = "…"


def amount(value: Decimal) -> str:
    """Money in prose: $2,500 for whole dollars, otherwise every digit ($2.83849, $1,020.50).

    A whole amount under $100 keeps its cents ($3.00, $10.00): such amounts are prices and dividends
    per share, written beside others with cents ($3.41, $2.50), and "$3" there reads as a typo."""
    if value == value.to_integral_value() and 0 < abs(value) < 100:
        return money(value.quantize(Decimal("0.01")))
    if value == value.to_integral_value():
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(int(value)):,}"
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        return ("-" if value < 0 else "") + "$" + approx(abs(value))
    return money(value.normalize())


PLACES = 4  # decimals shown of a quotient that does not terminate, as a person writes it: 352.2999…


def approx(value: Decimal | int, places: int = PLACES) -> str:
    """A number with at most ``places`` decimals (more for a small number, to keep four significant
    digits), cut (not rounded) and marked with an ellipsis."""
    if isinstance(value, int):
        return number(value)
    text = format_decimal(value)
    whole, _, fraction = text.partition(".")
    if whole.lstrip("-") in ("", "0"):
        places = max(places, len(fraction) - len(fraction.lstrip("0")) + 4)
    if len(fraction) <= places:
        return number(value)
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{abs(int(whole)):,}" if whole.lstrip("-") else "0"
    return f"{sign}{grouped}.{fraction[:places]}{_ELLIPSIS}"


def points(value: Decimal) -> str:
    """A difference of two percents: 0.1 percentage points."""
    shown = format_percent(value)[:-1]
    unit = "percentage point" if Decimal(shown) == 1 else "percentage points"
    return f"{shown} {unit}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def elapsed(value: dt.timedelta) -> str:
    """A length of time in words: 1 day, 2 hours and 15 minutes."""
    seconds = int(abs(value).total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [_plural(n, w) for n, w in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second"))
             if n]
    if not parts:
        return "no time"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def zone_name(value: dt.datetime, home: dt.tzinfo | None = None) -> str:
    """The abbreviation shown after a time: EST, EDT; a bare UTC offset takes the
    home zone's name when the home zone observed that offset at that moment."""
    name = value.tzname() or value.strftime("%z")
    if home is not None and isinstance(value.tzinfo, dt.timezone) and name.startswith("UTC") \
            and value.utcoffset() != dt.timedelta(0):
        local = value.astimezone(home)
        if local.utcoffset() == value.utcoffset():
            return local.tzname() or name
    return name.replace("UTC-", "UTC−")


def moment(value: dt.datetime, home: dt.tzinfo | None = None) -> str:
    """5:00 p.m. EST, June 18, 2003 (a bare offset named by the home zone when it matches)."""
    return f"{clock(value)} {zone_name(value, home)}, {date(value)}"


def home_clock(value: dt.datetime, home: dt.tzinfo) -> dt.datetime | None:
    """The same instant on the home zone's clocks, when a fixed-offset time reads differently there."""
    if not isinstance(value.tzinfo, dt.timezone):
        return None
    local = value.astimezone(home)
    if local.utcoffset() == value.utcoffset():
        return None
    return local


def place_name(zone_key: str | None) -> str:
    """America/New_York → New York."""
    if not zone_key:
        return "the home zone"
    return zone_key.rsplit("/", 1)[-1].replace("_", " ")


Labels = Mapping[str, Mapping[str, str]]
LONG_LIST = 8  # a list longer than this is summarised in prose: its count, first and last items


def member_words(value: Member, labels: Labels | None = None) -> str:
    """An enum member as people read it: its label from the clause file, else its name in words."""
    label = (labels or {}).get(value.type_name, {}).get(value.name)
    if label is not None:
        return label
    if value.name in AGENCY_NAMES:
        return AGENCY_NAMES[value.name]
    return value.name.replace("_", " ")


def field_words(name: str, labels: Labels | None = None) -> str:
    """A record field in prose: an agency's name, or the field's name in words."""
    for members in (labels or {}).values():
        if name in members:
            return members[name]
    return AGENCY_NAMES.get(name, name.replace("_", " "))


def prose(value: object, type_: T.Type | None = None, home: dt.tzinfo | None = None,
          labels: Labels | None = None) -> str:
    """A value as written in a sentence of a memo."""
    if isinstance(value, Fraction):  # cut short with an ellipsis, or else marked ≈
        text = prose(shown(value), type_, home)
        return text if _ELLIPSIS in text else APPROXIMATELY + text
    base = T.strip_optional(type_) if type_ is not None else None
    if isinstance(value, Member):
        return member_words(value, labels)
    if isinstance(value, Decimal) and not isinstance(value, bool):
        if base == T.MONEY:
            return amount(value)
        if base == T.PERCENT:
            return percent(value)
        return approx(value)
    if isinstance(value, dt.datetime):
        return moment(value, home)
    if isinstance(value, dict):
        fields = dict(base.fields) if isinstance(base, T.RecordType) else {}
        return "; ".join(f"{field_words(k, labels)} {prose(v, fields.get(k), home, labels)}"
                         for k, v in value.items())
    if isinstance(value, tuple):
        element = base.element if isinstance(base, T.ListType) else None
        if not value:
            return "none"
        if len(value) > LONG_LIST:
            first = "; ".join(prose(v, element, home, labels) for v in value[:2])
            return f"{len(value):,} items: {first}; … ; {prose(value[-1], element, home, labels)}"
        return "; ".join(prose(v, element, home, labels) for v in value)
    return human(value, type_)
