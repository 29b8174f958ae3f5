"""Built-in functions: each one's type rule next to its runtime behaviour.

The checker calls ``signature`` (argument types in, result type or an error
message out); the evaluator calls ``run`` with argument values that are all
known (unknowns are propagated before a built-in is called).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine import types as T
from engine.calendars import Calendar
from engine.values import Number, is_multiple, round_to

Check = Callable[[Sequence[T.Type], Sequence[object]], "T.Type | str"]
Run = Callable[..., object]


class BuiltinError(Exception):
    """A runtime failure inside a built-in (e.g. an impossible date)."""


@dataclass(frozen=True)
class Builtin:
    name: str
    usage: str
    check: Check
    run: Run
    # Whether none arguments are skipped rather than making the call fail.
    skips_none: bool = False


def _arity(types: Sequence[T.Type], *expected: int) -> str | None:
    if len(types) not in expected:
        want = " or ".join(str(n) for n in expected)
        return f"takes {want} argument{'s' if expected != (1,) else ''}, got {len(types)}"
    return None


def _expect(t: T.Type, allowed: Sequence[T.Type], what: str) -> str | None:
    if T.is_error(t) or (T.strip_optional(t) in allowed and not isinstance(t, T.OptionalType)):
        return None
    names = ", ".join(str(a) for a in allowed)
    return f"{what} must be {names}, not {t}"


def _numbers_of_one_unit(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
    if not types:
        return "takes at least one argument"
    known = [t for t in types if not T.is_error(t)]
    if not known:
        return T.ERROR
    allowed = (*T.NUMERIC, T.DATE, T.DATETIME, T.DURATION)
    for t in known:
        if t not in allowed:
            return f"takes numbers, amounts or dates, not {t}"
    kinds = set(known)
    if kinds == {T.INTEGER, T.DECIMAL}:
        return T.DECIMAL
    if len(kinds) > 1:
        return "takes arguments of one unit, got " + " and ".join(sorted(map(str, kinds)))
    return known[0]


def _dates(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
    if not types:
        return "takes at least one argument"
    bases = {T.strip_optional(t) for t in types if t != T.NONE and not T.is_error(t)}
    if not bases:
        return T.ERROR
    if len(bases) > 1 or not bases <= {T.DATE, T.DATETIME}:
        return "takes dates or datetimes of one kind, got " + " and ".join(sorted(map(str, bases)))
    base = bases.pop()
    all_optional = all(isinstance(t, T.OptionalType) or t == T.NONE for t in types)
    return T.OptionalType(base) if all_optional else base


def _round(types: Sequence[T.Type], nodes: Sequence[object]) -> T.Type | str:
    if problem := _arity(types, 3):
        return problem
    value, increment, mode = types
    if problem := _expect(value, T.NUMERIC, "the value to round"):
        return problem
    if problem := _expect(increment, T.NUMERIC, "the increment"):
        return problem
    if mode != T.ROUNDING and not T.is_error(mode):
        return "the rounding mode must be one of " + ", ".join(T.ROUNDING_MODES)
    if T.is_error(value, increment):
        return T.ERROR
    if value == T.MONEY and increment != T.MONEY:
        return "round money to an amount of money, e.g. round(price, $0.001, half_up)"
    if value != T.MONEY and increment == T.MONEY:
        return f"cannot round {value} to an amount of money"
    if value in (T.INTEGER, T.DECIMAL) and increment == T.INTEGER:
        return T.INTEGER
    return value


def _run_round(value: Number, increment: Number, mode: str) -> Decimal | int:
    if not increment > 0:
        raise BuiltinError("the rounding increment must be positive")
    try:
        rounded = round_to(value, increment, mode)
    except ArithmeticError as problem:
        raise BuiltinError(str(problem)) from None
    return int(rounded) if isinstance(increment, int) else rounded


def _multiple_of(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
    if problem := _arity(types, 2):
        return problem
    a, b = types
    if T.is_error(a, b):
        return T.BOOLEAN
    if (a != b and {a, b} != {T.INTEGER, T.DECIMAL}) or a not in T.NUMERIC:
        return f"compares amounts of one unit, got {a} and {b}"
    return T.BOOLEAN


def _run_multiple_of(value: Number, unit: Number) -> bool:
    if unit == 0:
        raise BuiltinError("multiple_of needs a non-zero unit")
    return is_multiple(value, unit)


def _signature(*params: T.Type, returns: T.Type) -> Check:
    def check(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
        if problem := _arity(types, len(params)):
            return problem
        for position, (given, wanted) in enumerate(zip(types, params, strict=False), start=1):
            if T.is_error(given):
                continue
            if given != wanted and not (given == T.INTEGER and wanted == T.DECIMAL):
                return f"argument {position} must be {_article(wanted)}, not {given}"
        return returns

    return check


def _article(t: T.Type) -> str:
    name = str(t)
    return ("an " if name[0] in "aeiou" else "a ") + name


def _numeric_same(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
    if problem := _arity(types, 1):
        return problem
    if problem := _expect(types[0], T.NUMERIC, "the argument"):
        return problem
    return types[0]


def _count(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
    if problem := _arity(types, 1):
        return problem
    if T.is_error(types[0]) or isinstance(types[0], T.ListType):
        return T.INTEGER
    return f"counts the items of a list, not {_article(types[0])}"


def _min(*values: Any) -> Any:
    return min(values)


def _max(*values: Any) -> Any:
    return max(values)


def _earlier(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _later(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise BuiltinError(f"date({year}, {month}, {day}) is not a calendar date: {error}") from None


def _text(types: Sequence[T.Type], _nodes: Sequence[object]) -> T.Type | str:
    if problem := _arity(types, 1):
        return problem
    if types[0] in (T.ZONE, T.CALENDAR, T.ENUM_TYPE):
        return f"cannot write {_article(types[0])} as text"
    return T.TEXT


def words(value: object, type_: T.Type) -> str:
    """``text(x)``: the value in the words a memo writes it in ($1,000.00, 5%, March 15, 2024).
    The evaluators call this with the argument's checked type (money and decimals are both
    Decimal at run time), not through ``run``."""
    from render.format import human  # one place decides how values read; it needs only engine modules

    return human(value, type_)


def _text_untyped(value: object) -> str:
    return words(value, T.ANY)


def _add_days(calendar: Calendar, day: dt.date, count: int) -> dt.date:
    return calendar.add_days(day, count)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("min", "min(a, b, ...)", _numbers_of_one_unit, _min),
        Builtin("max", "max(a, b, ...)", _numbers_of_one_unit, _max),
        Builtin("earlier", "earlier(a, b, ...)", _dates, _earlier, skips_none=True),
        Builtin("later", "later(a, b, ...)", _dates, _later, skips_none=True),
        Builtin("round", "round(value, increment, half_up|half_even|up|down)", _round, _run_round),
        Builtin("multiple_of", "multiple_of(value, unit)", _multiple_of, _run_multiple_of),
        Builtin("at", "at(date, time, zone)", _signature(T.DATE, T.TIME, T.ZONE, returns=T.DATETIME),
                lambda d, t, z: dt.datetime.combine(d, t, tzinfo=z)),
        Builtin("local", "local(datetime, zone)", _signature(T.DATETIME, T.ZONE, returns=T.DATETIME),
                lambda moment, z: moment.astimezone(z)),
        Builtin("date_of", "date_of(datetime)", _signature(T.DATETIME, returns=T.DATE), lambda m: m.date()),
        Builtin("next_day", "next_day(calendar, date)", _signature(T.CALENDAR, T.DATE, returns=T.DATE),
                lambda c, d: c.next_day(d)),
        Builtin("previous_day", "previous_day(calendar, date)",
                _signature(T.CALENDAR, T.DATE, returns=T.DATE), lambda c, d: c.previous_day(d)),
        Builtin("add_days", "add_days(calendar, date, count)",
                _signature(T.CALENDAR, T.DATE, T.INTEGER, returns=T.DATE), _add_days),
        Builtin("is_day", "is_day(calendar, date)", _signature(T.CALENDAR, T.DATE, returns=T.BOOLEAN),
                lambda c, d: c.is_day(d)),
        Builtin("date", "date(year, month, day)",
                _signature(T.INTEGER, T.INTEGER, T.INTEGER, returns=T.DATE), _date),
        Builtin("year", "year(date)", _signature(T.DATE, returns=T.INTEGER), lambda d: d.year),
        Builtin("month", "month(date)", _signature(T.DATE, returns=T.INTEGER), lambda d: d.month),
        Builtin("day", "day(date)", _signature(T.DATE, returns=T.INTEGER), lambda d: d.day),
        Builtin("days_between", "days_between(from, to)",
                _signature(T.DATE, T.DATE, returns=T.INTEGER), lambda a, b: (b - a).days),
        Builtin("abs", "abs(value)", _numeric_same, abs),
        Builtin("count", "count(list), or count(x for x in list where ...)", _count, len),
        Builtin("text", "text(value)", _text, _text_untyped, skips_none=True),
        Builtin("member_of", "member_of(Scale, text)", _signature(T.ENUM_TYPE, T.TEXT, returns=T.BOOLEAN),
                lambda enum, text: text in enum.members),
    )
}

AGGREGATES = ("sum", "count", "any", "all", "min", "max", "first")
