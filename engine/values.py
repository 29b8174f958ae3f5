"""Runtime values and their canonical encoding.

Money, decimals and percents are ``Decimal`` (a percent is held as a fraction:
35% is ``Decimal("0.35")``); integers are ``int``; dates, datetimes and
durations are the ``datetime`` module's types; enum members are ``Member``;
records are dicts; lists are tuples; ``None`` is the value ``none``.
``Unknown`` marks a value that depends on facts the scenario left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from engine import types as T
from engine.periods import Period

# Exact arithmetic: 40 significant digits, and every inexact corner an error.
# Rounding happens only through the language's round().
EXACT = Context(prec=40, traps=[InvalidOperation, DivisionByZero, Overflow])


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be computed: ``missing`` names the facts it waits for."""

    missing: frozenset[str]

    def __bool__(self) -> bool:  # pragma: no cover - guards against misuse
        raise TypeError("an Unknown has no truth value")


def unknown(*parts: Unknown) -> Unknown:
    missing: frozenset[str] = frozenset()
    for part in parts:
        missing |= part.missing
    return Unknown(missing)


def first_unknowns(values: Iterable[object]) -> Unknown | None:
    found = [v for v in values if isinstance(v, Unknown)]
    return unknown(*found) if found else None


@dataclass(frozen=True, order=False)
class Member:
    """A member of an enum or scale; ``rank`` 0 is the best of a scale."""

    type_name: str
    name: str
    rank: int

    def __str__(self) -> str:
        return self.name


def encode(value: object, type_: T.Type) -> Any:
    """The canonical JSON encoding of a value (interface.md)."""
    if value is None or isinstance(value, Unknown):
        return None
    base = T.strip_optional(type_)
    if base == T.PERCENT and isinstance(value, Decimal):
        return format_percent(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return format_money(value) if base == T.MONEY else format_decimal(value)
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"P{value.days}D"
    if isinstance(value, Period):
        return value.iso()
    if isinstance(value, Member):
        return value.name
    if isinstance(value, dict):
        field_types = dict(base.fields) if isinstance(base, T.RecordType) else {}
        return {k: encode(v, field_types.get(k, T.ANY)) for k, v in value.items()}
    if isinstance(value, tuple):
        element = base.element if isinstance(base, T.ListType) else T.ANY
        return [encode(v, element) for v in value]
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, (str, int)):
        return value
    # Zones, calendars and rounding modes appear in traces as arguments.
    return str(getattr(value, "name", None) or value)


def format_decimal(value: Decimal) -> str:
    """The exact decimal, canonically: no exponent, no trailing zeros, no float detour.

    One value has one spelling however the inputs were written: 0.7 = 0.700.
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_money(value: Decimal) -> str:
    """Money canonically: every significant digit, and at least the cents (1020.00, 0.70, 3.327)."""
    whole, _, fraction = format_decimal(value).partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def format_percent(fraction: Decimal) -> str:
    percent = (fraction * 100).normalize()
    text = format(percent, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"
