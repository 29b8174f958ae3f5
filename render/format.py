"""Values formatted for people: $1,000.00, 19.9%, 5:00 p.m. EST, June 18, 2003.

Used by the text table and, as Jinja filters, by the memos.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine import types as T
from engine.values import Member, Unknown, format_decimal, format_percent

AGENCY_NAMES = {"moodys": "Moody's", "sp": "S&P"}


def money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    whole, _, fraction = format_decimal(value).partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}${grouped}" + (f".{fraction}" if fraction else "")


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


def human(value: object, type_: T.Type | None = None) -> str:
    """Any runtime value, formatted for a reader."""
    if isinstance(value, Unknown):
        return "undetermined"
    if value is None:
        return "none"
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
        return number(value)
    if isinstance(value, dt.datetime):
        return datetime(value)
    if isinstance(value, dt.date):
        return date(value)
    if isinstance(value, dt.timedelta):
        return duration(value)
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
