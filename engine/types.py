"""Types of the clause language and the unit rules of its arithmetic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prim:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class EnumType:
    name: str
    members: tuple[str, ...]
    ordered: bool

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class RecordType:
    name: str
    fields: tuple[tuple[str, Type], ...]
    # Values of the fields a scenario may leave out (declared `field: type = default`).
    defaults: tuple[tuple[str, object], ...] = ()

    def field(self, name: str) -> Type | None:
        return next((t for n, t in self.fields if n == name), None)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ListType:
    element: Type

    def __str__(self) -> str:
        return f"list of {self.element}"


@dataclass(frozen=True)
class OptionalType:
    inner: Type

    def __str__(self) -> str:
        return f"optional {self.inner}"


@dataclass(frozen=True)
class FunctionType:
    params: tuple[Type, ...]
    returns: Type

    def __str__(self) -> str:
        return f"function({', '.join(map(str, self.params))}) -> {self.returns}"


Type = Prim | EnumType | RecordType | ListType | OptionalType | FunctionType

MONEY = Prim("money")
DECIMAL = Prim("decimal")
INTEGER = Prim("integer")
PERCENT = Prim("percent")
DATE = Prim("date")
DATETIME = Prim("datetime")
DURATION = Prim("duration")
PERIOD = Prim("period")  # whole calendar months: `6 months`, `2 years`
BOOLEAN = Prim("boolean")
TEXT = Prim("text")
TIME = Prim("time of day")
ZONE = Prim("zone")
CALENDAR = Prim("calendar")
ROUNDING = Prim("rounding mode")
ENUM_TYPE = Prim("enum type")  # an enum or scale named as an argument: member_of(Moodys, text)
NONE = Prim("none")
# The type of an expression that already produced an error: compatible with
# everything, so one mistake is reported once rather than cascading.
ERROR = Prim("<error>")
# The element type of an empty list literal.
ANY = Prim("<any>")

PRIMITIVES: dict[str, Prim] = {
    t.name: t for t in (MONEY, DECIMAL, INTEGER, PERCENT, DATE, DATETIME, DURATION, PERIOD, BOOLEAN, TEXT)
}
NUMERIC = (INTEGER, DECIMAL, MONEY, PERCENT)
ROUNDING_MODES = ("half_up", "half_even", "up", "down")


def strip_optional(t: Type) -> Type:
    return t.inner if isinstance(t, OptionalType) else t


def is_error(*types: Type) -> bool:
    return any(t in (ERROR, ANY) for t in types)


def assignable(value: Type, target: Type) -> bool:
    """Whether a value of type ``value`` may stand where ``target`` is expected."""
    if is_error(value, target) or value == target:
        return True
    if isinstance(target, OptionalType):
        return value == NONE or assignable(strip_optional(value), target.inner)
    if isinstance(value, ListType) and isinstance(target, ListType):
        return assignable(value.element, target.element)
    return value == INTEGER and target == DECIMAL


def category(t: Type) -> str:
    """The canonical type name used in JSON output."""
    t = strip_optional(t)
    if isinstance(t, EnumType):
        return "enumeration"
    if isinstance(t, RecordType):
        return "record"
    if isinstance(t, ListType):
        return "list"
    return str(t)


def arithmetic(op: str, left: Type, right: Type) -> Type | str:
    """The type of ``left op right``, or a message saying why it has none."""
    if is_error(left, right):
        return ERROR
    pair = (left, right)
    if op == "+" and isinstance(left, ListType) and isinstance(right, ListType):
        # `grants + [grant]`: the items of both, in order.
        if assignable(right, left):
            return left
        if assignable(left, right):
            return right
        return f"cannot add {_a(right)} to {_a(left)}"
    if op == "^":
        if right != INTEGER:
            return f"the exponent must be a whole number (an integer), not {_a(right)}"
        if left == INTEGER:
            return INTEGER  # a negative exponent makes a decimal: the checker widens this (check.py)
        if left in (DECIMAL, PERCENT):
            return DECIMAL
        return f"cannot raise {_a(left)} to a power"
    if op == "+" and left == right == TEXT:
        return TEXT  # "Conversion Price: " + text(price): the texts one after the other
    if op == "+" and TEXT in pair and not is_error(left, right):
        other = right if left == TEXT else left
        return f"cannot add {_a(other)} to a text: write text(...) around it to join its words"
    if op in "+-":
        if left == right and left in (INTEGER, DECIMAL, MONEY, PERCENT, DURATION, PERIOD):
            return left
        if left == DATE and right == PERIOD:
            return DATE
        if op == "+" and left == PERIOD and right == DATE:
            return DATE
        if PERIOD in pair and DATETIME in pair:
            return "months move dates, not datetimes: take date_of(...) first"
        if set(pair) == {INTEGER, DECIMAL}:
            return DECIMAL
        if left in (DATE, DATETIME) and right == DURATION:
            return left
        if op == "+" and left == DURATION and right in (DATE, DATETIME):
            return right
        if op == "-" and left == right and left in (DATE, DATETIME):
            return DURATION
        return f"cannot {'add' if op == '+' else 'subtract'} {_a(right)} {'to' if op == '+' else 'from'} {_a(left)}"
    if op == "*":
        if MONEY in pair:
            other = right if left == MONEY else left
            if other in (INTEGER, DECIMAL, PERCENT):
                return MONEY
            if other == MONEY:
                return "cannot multiply money by money"
            return f"cannot multiply money by {_a(other)}"
        if left == right == INTEGER:
            return INTEGER
        if left == right == PERCENT:
            return PERCENT
        if set(pair) <= {INTEGER, DECIMAL, PERCENT}:
            return DECIMAL
        if DURATION in pair and set(pair) == {DURATION, INTEGER}:
            return DURATION
        if PERIOD in pair and set(pair) == {PERIOD, INTEGER}:
            return PERIOD
        return f"cannot multiply {_a(left)} by {_a(right)}"
    if op == "/":
        if left == MONEY and right == MONEY:
            return DECIMAL
        if left == MONEY and right in (INTEGER, DECIMAL, PERCENT):
            return MONEY
        if right == MONEY:
            return f"cannot divide {_a(left)} by money; divide money by money to get a ratio"
        if left == right == PERCENT:
            return DECIMAL
        if set(pair) <= {INTEGER, DECIMAL, PERCENT}:
            return DECIMAL
        return f"cannot divide {_a(left)} by {_a(right)}"
    raise AssertionError(op)


def comparable(op: str, left: Type, right: Type) -> str | None:
    """None when ``left op right`` is meaningful, else a message saying why not."""
    if is_error(left, right):
        return None
    if NONE in (left, right) and op in ("=", "!="):
        return None
    left, right = strip_optional(left), strip_optional(right)
    if left == right:
        if op in ("=", "!="):
            return None
        if left in (INTEGER, DECIMAL, MONEY, PERCENT, DATE, DATETIME, DURATION, PERIOD, TIME, TEXT):
            return None
        if isinstance(left, EnumType) and left.ordered:
            return None
        if isinstance(left, EnumType):
            return f"{left.name} is an enum, not a scale: its members have no order"
        return f"{_a(left)} has no order"
    if {left, right} == {INTEGER, DECIMAL}:
        return None
    hint = ""
    if MONEY in (left, right) and {left, right} & {INTEGER, DECIMAL}:
        hint = "; write amounts of money with a dollar sign, e.g. $1,000"
    if PERCENT in (left, right) and {left, right} & {INTEGER, DECIMAL}:
        hint = "; write percentages with a percent sign, e.g. 20%"
    return f"cannot compare {_a(left)} with {_a(right)}{hint}"


def _a(t: Type) -> str:
    name = str(t)
    if isinstance(t, (EnumType, RecordType)):
        return name
    return ("an " if name[0] in "aeiou" else "a ") + name if t not in (MONEY,) else "money"
