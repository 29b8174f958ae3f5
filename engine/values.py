"""Runtime values, exact arithmetic on them, and their canonical encoding.

Money, decimals and percents are exact: a ``Decimal`` when the value has a
finite decimal expansion, a ``Fraction`` (in lowest terms) only when it has
none, such as 1000/3.41 (a percent is held as a fraction: 35% is
``Decimal("0.35")``). Arithmetic stays on Decimal while every result
terminates and moves to ``Fraction`` only for a quotient that does not;
a ``Fraction`` that comes back to a terminating value is a ``Decimal`` again.
Integers are ``int``; dates, datetimes and
durations are the ``datetime`` module's types; enum members are ``Member``;
records are dicts; lists are tuples; ``None`` is the value ``none``.
``Unknown`` marks a value that depends on facts the scenario left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from math import gcd
from typing import Any

from engine import types as T
from engine.periods import Period

# The fast path of exact arithmetic: Decimal at 40 significant digits with every
# inexact result trapped. A trapped result (a quotient that does not terminate, a
# product longer than 40 digits) is computed again as a Fraction by ``arith``, so
# nothing is ever rounded here; rounding happens only through the language's round().
EXACT = Context(prec=40, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])

# How many significant digits a value without a finite decimal expansion is written
# to (the canonical encoding, the eval table, memos); the value is marked as rounded.
SIGNIFICANT_DIGITS = 28
_SHOWN = Context(prec=SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])

Number = Decimal | int | Fraction


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

    # A scale's order, as the language compares its members (`A > B`: A ranks better), so
    # that min and max over a scale give its worst and best member.
    def __lt__(self, other: object) -> bool:
        return self._rank_of(other) < self.rank

    def __gt__(self, other: object) -> bool:
        return self._rank_of(other) > self.rank

    def __le__(self, other: object) -> bool:
        return self._rank_of(other) <= self.rank

    def __ge__(self, other: object) -> bool:
        return self._rank_of(other) >= self.rank

    def _rank_of(self, other: object) -> int:
        if not isinstance(other, Member) or other.type_name != self.type_name:
            raise TypeError(f"cannot order {self.type_name} against {other!r}")
        return other.rank


# ---------------------------------------------------------------- exact arithmetic


_FROM_COPRIME = getattr(Fraction, "_from_coprime_ints", None)


def _fraction(numerator: int, denominator: int) -> Fraction:
    """numerator/denominator, already in lowest terms with denominator > 1, without
    Fraction's second reduction (the constructor that skips it is private and its
    spelling differs between Python 3.11 and 3.12)."""
    if _FROM_COPRIME is not None:
        return _FROM_COPRIME(numerator, denominator)  # type: ignore[no-any-return]
    fraction: Fraction = Fraction(numerator, denominator, _normalize=False)  # type: ignore[call-overload]
    return fraction


def _ratio(numerator: int, denominator: int) -> Decimal | Fraction:
    """numerator/denominator (denominator != 0) as ``settle`` would give it."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    common = gcd(numerator, denominator)
    if common != 1:
        numerator //= common
        denominator //= common
    if denominator == 1:
        return Decimal(numerator)
    twos = (denominator & -denominator).bit_length() - 1
    rest = denominator >> twos
    fives = 0
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return _fraction(numerator, denominator)
    places = max(twos, fives)
    return Decimal(f"{numerator * (10 ** places // denominator)}E-{places}")


def settle(value: Fraction) -> Decimal | Fraction:
    """``value`` as a Decimal when its decimal expansion terminates (its denominator
    has no prime factor but 2 and 5); otherwise the Fraction itself."""
    return _ratio(value.numerator, value.denominator)


def add(left: Number, right: Number) -> Decimal | Fraction:
    try:
        return EXACT.add(left, right)  # type: ignore[arg-type]
    except (Inexact, TypeError):  # longer than 40 digits, or an operand is a Fraction
        return settle(Fraction(left) + Fraction(right))


def subtract(left: Number, right: Number) -> Decimal | Fraction:
    try:
        return EXACT.subtract(left, right)  # type: ignore[arg-type]
    except (Inexact, TypeError):
        return settle(Fraction(left) - Fraction(right))


def multiply(left: Number, right: Number) -> Decimal | Fraction:
    try:
        return EXACT.multiply(left, right)  # type: ignore[arg-type]
    except (Inexact, TypeError):
        return settle(Fraction(left) * Fraction(right))


def divide(left: Number, right: Number) -> Decimal | Fraction:
    """left / right exactly. Most quotients of amounts do not terminate, so the
    Decimal quotient is checked by multiplying back (exactly) rather than by
    trapping Inexact, which costs an exception each time."""
    if type(left) is not Fraction and type(right) is not Fraction:
        quotient = _QUOTIENT.divide(left, right)  # type: ignore[arg-type]
        if _UNBOUNDED.multiply(quotient, right) == left:  # type: ignore[arg-type]
            return quotient
    left_numerator, left_denominator = left.as_integer_ratio()
    right_numerator, right_denominator = right.as_integer_ratio()
    if right_numerator == 0:
        raise ZeroDivisionError("division by zero")
    return _ratio(left_numerator * right_denominator, left_denominator * right_numerator)


# divide(): the 40-digit quotient, rounded, then multiplied back with no rounding at all.
_QUOTIENT = Context(prec=40, traps=[InvalidOperation, DivisionByZero, Overflow])
_UNBOUNDED = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Overflow])


def arith(op: str, left: Number, right: Number) -> Decimal | Fraction:
    """``left op right`` (+, -, *, /) exactly: on Decimal while the result terminates
    in 40 digits, as a Fraction otherwise. Division by zero raises DivisionByZero
    or ZeroDivisionError."""
    return _OPERATIONS[op](left, right)


_OPERATIONS = {"+": add, "-": subtract, "*": multiply, "/": divide}

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def round_units(numerator: int, denominator: int, mode: str) -> int:
    """The integer numerator/denominator (denominator > 0) rounds to: half_up takes
    a tie away from zero, half_even to the even neighbour; up is toward +infinity,
    down toward -infinity (ceiling and floor, the Decimal modes the language has
    always meant by up and down)."""
    if mode == "half_up":  # floor(|n/d| + 1/2), signed: a tie goes away from zero
        if numerator >= 0:
            return (2 * numerator + denominator) // (2 * denominator)
        return -((denominator - 2 * numerator) // (2 * denominator))
    if mode == "down":
        return numerator // denominator
    floor, remainder = divmod(numerator, denominator)
    if remainder == 0:
        return floor
    if mode == "up":
        return floor + 1
    twice = 2 * remainder  # half_even
    if twice != denominator:
        return floor + 1 if twice > denominator else floor
    return floor if floor % 2 == 0 else floor + 1


def round_to(value: Number, increment: Number, mode: str) -> Decimal:
    """``value`` rounded to a multiple of ``increment`` (> 0) by ``mode``, decided on the
    exact value; the result has the increment's decimal places (1.2 to $0.01 is 1.20)."""
    if type(increment) is int and increment == 1:  # to a whole number
        if type(value) is Decimal:
            return value.to_integral_value(rounding=ROUNDING[mode])  # exact at any length
        if type(value) is Fraction:
            return Decimal(round_units(value.numerator, value.denominator, mode))
    elif type(increment) is Decimal:
        # 1, 0.1, 0.01, ... written so: one spelling is one coefficient and exponent (0.010
        # rounds to hundredths, and is no power of ten here)
        power = _POWERS_OF_TEN.get(str(increment))
        if power is not None:
            exponent, scale = power
            if type(value) is Decimal:
                try:  # one step, and the result has the increment's places
                    return _QUANTIZE[mode].quantize(value, increment)
                except InvalidOperation:  # longer than 40 digits
                    pass
            elif type(value) is Fraction:
                count = round_units(value.numerator * scale, value.denominator, mode)
                return _UNBOUNDED.scaleb(Decimal(count), exponent)  # count x 10^exponent, exactly
    if type(value) is not Fraction and type(increment) is not Fraction:
        try:
            units = EXACT.divide(value, increment).to_integral_value(rounding=ROUNDING[mode])  # type: ignore[arg-type]
            return _quantized(EXACT.multiply(units, increment), increment)  # type: ignore[arg-type]
        except Inexact:
            pass
    value_numerator, value_denominator = value.as_integer_ratio()
    step_numerator, step_denominator = increment.as_integer_ratio()
    count = round_units(value_numerator * step_denominator, value_denominator * step_numerator, mode)
    if type(increment) is not Fraction:
        try:
            return _quantized(EXACT.multiply(count, increment), increment)  # type: ignore[arg-type]
        except Inexact:
            pass
    product = _ratio(count * step_numerator, step_denominator)
    if isinstance(product, Fraction):  # an increment without a finite expansion, e.g. 1/3
        raise ArithmeticError("the rounding increment must be a terminating decimal")
    return _quantized(product, increment)


# round_to's fast path: the increments that are powers of ten (10^0 ... 10^-40), and a
# quantize for each rounding mode (40 digits; a longer result is InvalidOperation).
_POWERS_OF_TEN = {str(Decimal(1).scaleb(-places)): (-places, 10**places) for places in range(41)}
_QUANTIZE = {mode: Context(prec=40, rounding=rounding, traps=[InvalidOperation, DivisionByZero, Overflow])
             for mode, rounding in ROUNDING.items()}


def _quantized(value: Decimal, increment: Number) -> Decimal:
    if isinstance(increment, Decimal):
        exponent = increment.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            return value.quantize(increment, context=_QUOTIENT)
    return value


def is_multiple(value: Number, unit: Number) -> bool:
    if type(value) is not Fraction and type(unit) is not Fraction:
        try:
            return EXACT.remainder(value, unit) == 0  # type: ignore[arg-type]
        except InvalidOperation:
            pass  # a quotient longer than 40 digits
    return (Fraction(value) / Fraction(unit)).denominator == 1


def is_rounded(value: object) -> bool:
    """Whether a value's canonical encoding is rounded: it is (or holds) a number
    without a finite decimal expansion, written to SIGNIFICANT_DIGITS digits."""
    if isinstance(value, Fraction):
        return True
    if isinstance(value, dict):
        return any(is_rounded(v) for v in value.values())
    if isinstance(value, tuple):
        return any(is_rounded(v) for v in value)
    return False


def shown(value: Fraction) -> Decimal:
    """A Fraction to SIGNIFICANT_DIGITS significant digits (half even), for display only."""
    return _SHOWN.divide(Decimal(value.numerator), Decimal(value.denominator))


def displayable(value: object) -> object:
    """``value`` with every Fraction replaced by its rounded Decimal (``shown``), for
    code that formats Decimals; pair it with ``is_rounded`` to mark the result "≈"."""
    if isinstance(value, Fraction):
        return shown(value)
    if isinstance(value, dict):
        return {k: displayable(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(displayable(v) for v in value)
    return value


# ---------------------------------------------------------------- canonical encoding


def encode(value: object, type_: T.Type) -> Any:
    """The canonical JSON encoding of a value (interface.md). A Fraction is written
    to SIGNIFICANT_DIGITS significant digits (``is_rounded`` says so)."""
    if value is None or isinstance(value, Unknown):
        return None
    if isinstance(value, Fraction):
        value = shown(value)
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
