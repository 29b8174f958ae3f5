"""The columnar evaluator: one contract, one shape of scenario, a whole table at once.

For a table whose rows give the same facts (a *shape*, as engine/compile.py
specialises on), the contract is evaluated once per batch of rows on numpy
arrays instead of once per row. Values are exact, as in the scalar evaluator:

- integers are int64 arrays; money, decimals and percents given in the table
  are *fixed point*: int64 units of 10^-scale;
- a quotient is a *ratio*: int64 numerator and positive denominator arrays,
  never a float; comparisons cross-multiply, ``round`` divides the integers
  (floor, remainder, and the tie rule on twice the remainder), so a tie at
  0.0005 is decided on the exact value;
- every operation checks its range: a result at or beyond 2^62 in magnitude
  marks its row *bad*, and so does a division by zero.

A bad row, a row whose cells cannot be read as columns (a "$1,000.00", a
malformed date), and every row of a rule this module does not vectorise go
to the scalar compiled path (engine/compile.py) one row at a time, so the
results, missing facts and errors are the scalar path's row for row. What is
vectorised: facts, constants and rules; + - * /; comparisons; and/or/not,
``all of``/``any of``, ``unless``, ``if``; enum members and their comparison;
``round`` with a constant increment and mode; inlined user functions; and
``sum``/``count`` over a list of records (with ``where``). Anything else
raises ``Unsupported`` while the shape is compiled, and its rule goes to the
scalar path (a rule that depends on it too).

Within a shape Unknown is static (a fact is given or it is not), so the
missing facts of a result are the same on every row; only readings can
differ from row to row (a reading used in one branch of an ``if``): they are
kept as (row mask, names) pairs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from engine import ast
from engine import types as T
from engine.builtins import BUILTINS, words
from engine.check import Program
from engine.compile import constant_rules
from engine.evaluate import _arith, _member
from engine.values import Member, Unknown, unknown

# Magnitudes at or beyond this are out of range: two in-range operands add without
# wrapping, and a product is checked on its float estimate before it is formed.
LIMIT = 1 << 62
EPOCH = dt.date(1970, 1, 1)
_NUMBER_KINDS = ("int", "fixed", "ratio")
_ROUND_MODES = ("half_up", "half_even", "up", "down")
# Scales above this do not fit a day's money in int64 beside its integer part.
MAX_SCALE = 18


class Unsupported(Exception):
    """This construct is not vectorised: the rule goes to the scalar compiled path."""


@dataclass
class Col:
    """A value computed per row (or per list item inside an aggregate)."""

    kind: str  # int | fixed | ratio | bool | date | enum | records
    a: Any  # int/fixed: values or units; ratio: numerator; bool; date: days since 1970; enum: member index
    scale: int = 0  # fixed: units of 10^-scale
    den: Any = None  # ratio: positive denominator
    enum: T.EnumType | None = None
    offsets: Any = None  # records: item offsets per row
    fields: dict[str, Col] = field(default_factory=dict)  # records: one column per field, over all items
    level: int = 0  # 0: rows; 1: items of an aggregate
    none: Any = None  # rows whose value is none (an optional value); None: no row

    def take(self, index: Any) -> Col:
        if self.kind in ("records", "record"):
            raise Unsupported("a list inside an aggregate")
        return Col(self.kind, self.a[index], self.scale, None if self.den is None else self.den[index], self.enum,
                   level=1, none=None if self.none is None else self.none[index])


@dataclass
class Readings:
    """Readings a rule relied on: names on every row, and names on the rows of a mask."""

    static: set[str] = field(default_factory=set)
    masked: list[tuple[Any, frozenset[str]]] = field(default_factory=list)


@dataclass
class RuleValue:
    value: Any  # a Col, or a constant (possibly Unknown)
    readings: Readings


class _Context:
    """One batch: its size, the rows that must go to the scalar path, the active rows."""

    def __init__(self, size: int):
        self.size = size
        self.bad = np.zeros(size, dtype=bool)


class ColumnarShape:
    """A contract evaluated over columns for one shape; ``unsupported`` results go row by row."""

    def __init__(self, program: Program, given: frozenset[str], results: Sequence[str]):
        self.program = program
        self.given = given
        self.results = tuple(results)
        self.constants = constant_rules(program) if "_constant_rules" not in program.__dict__ \
            else program.__dict__["_constant_rules"]
        self.unsupported: set[str] = set()
        self._facts_free: Any = None
        # Dry run on a one-row batch of zeros: which results vectorise.
        for name in self.results:
            try:
                self.evaluate({f: _zero_column(program, f, 1) for f in given}, 1, (name,))
            except (Unsupported, RecursionError):  # a chain of rules deeper than Python's stack: row by row
                self.unsupported.add(name)
            except (ArithmeticError, ValueError, TypeError, KeyError):
                pass  # a failure of the zero row, not of the construct

    def fact_free(self, name: str) -> tuple[Any, frozenset[str]] | None:
        """A rule the columns cannot compute whose value does not depend on the given facts
        (a fold over a list fact left to its default of []): its value and readings, once,
        from the reference evaluator with every given fact unknown; None when it depends on them."""
        from engine.evaluate import Evaluation

        if self._facts_free is None:
            self._facts_free = Evaluation(self.program, {})
        try:
            done = self._facts_free.rule(name)
        except Exception:
            return None
        if getattr(done, "error", None) is not None:
            return None
        # Unknown only for facts no row gives (say `events`): the same on every row. Unknown
        # for a given fact: the rows' own values decide, so the rule goes row by row.
        if isinstance(done.value, Unknown) and done.value.missing & self.given:
            return None
        return done.value, frozenset(done.readings)

    def may_be_unknown(self, e: ast.Expr) -> bool:
        """Whether ``e`` may read a fact no row gives (without a default), or a rule with
        readings, through the rules and functions it names: over-approximated."""
        program = self.program
        seen: set[str] = set()
        stack: list[Any] = [e]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                name = node.name
                if name in program.facts and name not in self.given and program.facts[name].decl.default is None:
                    return True
                if name in program.rules and name not in seen:
                    seen.add(name)
                    decl = program.rules[name].decl
                    if decl.uses.names or getattr(decl, "circular", False):
                        return True
                    stack.append(decl.expr)
            elif isinstance(node, ast.FunctionDecl) and node.uses.names:
                return True
            elif isinstance(node, ast.Call) and node.function in program.functions \
                    and node.function not in seen:
                seen.add(node.function)
                stack.append(program.functions[node.function].decl)
            if dataclasses.is_dataclass(node):
                for item in dataclasses.fields(node):
                    if item.name != "span" and not item.name.endswith("_span"):
                        stack.append(getattr(node, item.name))
            elif isinstance(node, (tuple, list)):
                stack.extend(node)
        return False

    def evaluate(self, columns: dict[str, Col], size: int,
                 results: Sequence[str] | None = None) -> tuple[dict[str, RuleValue], Any]:
        """The values and readings of ``results`` (the vectorised ones by default), and the bad-row mask."""
        wanted = [r for r in self.results if r not in self.unsupported] if results is None else list(results)
        run = _Run(self, columns, _Context(size))
        values = {name: run.rule(name) for name in wanted}
        for name, done in values.items():
            if isinstance(done.value, Col) and done.value.kind == "record":
                raise Unsupported(f"`{name}` is a record")
        return values, run.context.bad


def _zero_column(program: Program, name: str, size: int) -> Col:
    t = T.strip_optional(program.facts[name].type)
    if t == T.INTEGER:
        return Col("int", np.ones(size, dtype=np.int64))
    if t in (T.MONEY, T.DECIMAL, T.PERCENT):
        return Col("fixed", np.ones(size, dtype=np.int64), 2)
    if t == T.BOOLEAN:
        return Col("bool", np.zeros(size, dtype=bool))
    if t == T.DATE:
        return Col("date", np.zeros(size, dtype=np.int64))
    if isinstance(t, T.EnumType):
        return Col("enum", np.zeros(size, dtype=np.int64), enum=t)
    if isinstance(t, T.ListType) and isinstance(t.element, T.RecordType):
        record = t.element
        fields = {}
        for field_name, field_type in record.fields:
            fields[field_name] = _zero_item(field_type)
        return Col("records", None, offsets=np.zeros(size + 1, dtype=np.int64), fields=fields)
    raise Unsupported(f"a fact of type {t} as a column")


def _zero_item(t: T.Type) -> Col:
    if t == T.INTEGER:
        return Col("int", np.zeros(0, dtype=np.int64), level=1)
    if t in (T.MONEY, T.DECIMAL):
        return Col("fixed", np.zeros(0, dtype=np.int64), 2, level=1)
    if t == T.BOOLEAN:
        return Col("bool", np.zeros(0, dtype=bool), level=1)
    if t == T.DATE:
        return Col("date", np.zeros(0, dtype=np.int64), level=1)
    if isinstance(t, T.EnumType):
        return Col("enum", np.zeros(0, dtype=np.int64), enum=t, level=1)
    raise Unsupported(f"a record field of type {t} as a column")


def column_type_supported(program: Program, name: str) -> bool:
    try:
        _zero_column(program, name, 0)
    except Unsupported:
        return False
    return True


# ---------------------------------------------------------------- checked integer arithmetic


class _Run:
    """One evaluation of a shape over one batch."""

    def __init__(self, shape: ColumnarShape, columns: dict[str, Col], context: _Context):
        self.shape = shape
        self.program = shape.program
        self.columns = columns
        self.context = context
        self.rules: dict[str, RuleValue] = {}
        self.defaults: dict[str, Any] = {}
        self.active: Any = None  # rows (or items) the current expression is evaluated for; None: all
        # Where readings count: a branch of and/or/unless/if, but not the later items of `all of`,
        # which the compiled code evaluates unconditionally (short-circuiting only their errors).
        self.reading_mask: Any = None
        self.readings: Readings | None = None
        self.items: Any = None  # inside an aggregate: the row of each item
        self.depth = 0

    # ---- bookkeeping
    def flag(self, rows: Any) -> None:
        """Rows whose value is out of range or fails: the scalar path computes them."""
        if self.active is not None:
            rows = rows & self.active
        if not rows.any():
            return
        if self.items is not None:
            self.context.bad[self.items[rows]] = True
        else:
            self.context.bad |= rows

    def add_readings(self, names: frozenset[str] | set[str] | tuple[str, ...], mask: Any = None) -> None:
        if not names or self.readings is None:
            return
        if mask is not None and self.reading_mask is not None:
            mask = mask & self.reading_mask
        elif mask is None:
            mask = self.reading_mask
        if mask is not None and self.items is not None:
            rows = np.zeros(self.context.size, dtype=bool)
            rows[self.items[mask]] = True
            mask = rows
        if mask is None:
            self.readings.static.update(names)
        else:
            self.readings.masked.append((mask, frozenset(names)))

    def typed(self, node: ast.Expr) -> T.Type:
        return self.program.node_types.get(id(node), T.ANY)

    # ---- rules and facts
    def rule(self, name: str) -> RuleValue:
        done = self.rules.get(name)
        if done is not None:
            return done
        folded = self.shape.constants.get(name)
        if folded is not None:
            done = self.rules[name] = RuleValue(folded[0], Readings(set(folded[1])))
            return done
        if name in self.shape.unsupported:
            raise Unsupported(f"`{name}` is computed row by row")
        info = self.program.rules[name]
        saved = (self.active, self.readings, self.items, self.depth, self.reading_mask)
        self.active, self.items, self.depth, self.reading_mask = None, None, 0, None
        self.readings = Readings(set(info.decl.uses.names))
        try:
            value = self.ev(info.decl.expr, {})
            readings = self.readings
        except Unsupported:
            folded = self.shape.fact_free(name)
            if folded is None:
                raise
            value, readings = folded[0], Readings(set(folded[1]))
        finally:
            self.active, self.readings, self.items, self.depth, self.reading_mask = saved
        done = self.rules[name] = RuleValue(value, readings)
        return done

    def fact(self, name: str) -> Any:
        if name in self.shape.given:
            column = self.columns[name]
            return column.take(self.items) if self.items is not None else column
        info = self.program.facts[name]
        if info.decl.default is None:
            return Unknown(frozenset((name,)))
        if name not in self.defaults:
            saved = (self.active, self.readings, self.items)
            self.active, self.readings, self.items = None, Readings(), None
            try:
                value = self.ev(info.decl.default, {})
                if isinstance(value, Col) or self.readings.static or self.readings.masked:
                    raise Unsupported(f"the default of `{name}` is not a constant")
            finally:
                self.active, self.readings, self.items = saved
            self.defaults[name] = value
        return self.defaults[name]

    # ---- expressions
    def ev(self, e: ast.Expr, scope: dict[str, Any]) -> Any:
        method: Callable[[Any, dict[str, Any]], Any] | None = getattr(self, "c_" + type(e).__name__, None)
        if method is None:
            raise Unsupported(type(e).__name__)
        return method(e, scope)

    def c_Literal(self, e: ast.Literal, scope: dict[str, Any]) -> Any:
        return e.value

    def c_Name(self, e: ast.Name, scope: dict[str, Any]) -> Any:
        name = e.name
        if name in scope:
            value = scope[name]
            if isinstance(value, Col) and self.items is not None and value.level == 0:
                return value.take(self.items)
            return value
        program = self.program
        if name in program.facts:
            return self.fact(name)
        if name in program.rules:
            rule = self.rule(name)
            self.add_readings(rule.readings.static)
            for mask, names in rule.readings.masked:
                if self.items is not None:
                    raise Unsupported("row-dependent readings inside an aggregate")
                self.add_readings(names, mask)
            value = rule.value
            if isinstance(value, Col) and self.items is not None:
                return value.take(self.items)
            return value
        if name in program.zones:
            self.add_readings(program.zone_decls[name].uses.names)
            return program.zones[name]
        if name in program.calendars:
            from engine.calendars import calendar

            decl = program.calendars[name]
            self.add_readings(decl.uses.names)
            return calendar(decl.name, decl.financial_code)
        if name in T.ROUNDING_MODES:
            return name
        raise Unsupported(f"the name `{name}`")

    def c_Field(self, e: ast.Field, scope: dict[str, Any]) -> Any:
        target_type = self.program.node_types.get(id(e.target))
        if isinstance(target_type, T.EnumType) and isinstance(e.target, ast.Name) and e.target.name not in scope \
                and e.target.name in self.program.enums:
            return _member(target_type, e.name)
        target = self.ev(e.target, scope)
        if isinstance(target, Unknown):
            return target
        if isinstance(target, Col) and target.kind == "record":
            return target.fields[e.name]
        if isinstance(target, dict) and e.name in target:
            return target[e.name]
        raise Unsupported("a field of a computed record")

    def c_Binary(self, e: ast.Binary, scope: dict[str, Any]) -> Any:
        if e.op in ("and", "or"):
            return self.andor(e.op == "or", lambda: self.ev(e.left, scope), lambda: self.ev(e.right, scope))
        left = self.ev(e.left, scope)
        right = self.ev(e.right, scope)
        settled = _unknowns(left, right)
        if settled is not None:
            return settled
        if not isinstance(left, Col) and not isinstance(right, Col):
            return _arith(e.op, left, right)
        return self.arith(e.op, self.number(left), self.number(right))

    def c_Compare(self, e: ast.Compare, scope: dict[str, Any]) -> Any:
        left = self.ev(e.left, scope)
        right = self.ev(e.right, scope)
        settled = _unknowns(left, right)
        if settled is not None:
            return settled
        if not isinstance(left, Col) and not isinstance(right, Col):
            from engine.evaluate import _COMPARE, _orderable

            return _COMPARE[e.op](_orderable(left), _orderable(right))
        return self.compare(e.op, left, right)

    def andor(self, decisive: bool, left_fn: Callable[[], Any], right_fn: Callable[[], Any]) -> Any:
        left = left_fn()
        if not isinstance(left, Col):
            if left is decisive:
                return decisive
            right = right_fn()
            if not isinstance(right, Col):
                if right is decisive:
                    return decisive
                pending = [v for v in (left, right) if isinstance(v, Unknown)]
                return unknown(*pending) if pending else (not decisive)
            if isinstance(left, Unknown):
                raise Unsupported("and/or with an unknown side")
            return self.boolean(right)
        left_bool = self.boolean(left).a
        undecided = ~left_bool if decisive else left_bool
        right = self.under(undecided, right_fn)
        if not isinstance(right, Col):
            if right is decisive:
                return Col("bool", np.ones_like(left_bool) if decisive else np.zeros_like(left_bool))
            if isinstance(right, Unknown):
                raise Unsupported("and/or with an unknown side")
            return left
        right_bool = self.boolean(right).a
        return Col("bool", (left_bool | right_bool) if decisive else (left_bool & right_bool))

    def under(self, mask: Any, compute: Callable[[], Any], readings: bool = True) -> Any:
        saved = (self.active, self.reading_mask)
        self.active = mask if saved[0] is None else (saved[0] & mask)
        if readings:
            self.reading_mask = mask if saved[1] is None else (saved[1] & mask)
        try:
            return compute()
        finally:
            self.active, self.reading_mask = saved

    def c_Unless(self, e: ast.Unless, scope: dict[str, Any]) -> Any:
        return self.andor(False, lambda: self.ev(e.rule, scope), lambda: self.negation(self.ev(e.exception, scope)))

    def c_Conditions(self, e: ast.Conditions, scope: dict[str, Any]) -> Any:
        decisive = e.quantifier == "any"
        # Evaluated as the compiled code evaluates them: items known at compile time first
        # settle the whole; the others run in order, each only where the earlier did not settle.
        values: list[Any] = []
        undecided: Any = None
        size = self.size()
        for item in e.items:
            expr = item.expr
            if undecided is not None:
                value = self.under(undecided, lambda expr=expr: self.ev(expr, scope), readings=False)  # type: ignore[misc]
            else:
                value = self.ev(expr, scope)
            values.append(value)
            if isinstance(value, Col):
                bits = self.boolean(value).a
                step = ~bits if decisive else bits
                undecided = step if undecided is None else (undecided & step)
            elif value is decisive:
                return decisive
        # A constant decisive item after a column one: the compiled code settles on it too.
        columns = [v for v in values if isinstance(v, Col)]
        unknowns = [v for v in values if isinstance(v, Unknown)]
        if not columns:
            return unknown(*unknowns) if unknowns else (not decisive)
        if unknowns:
            raise Unsupported("conditions with an unknown item")
        result = np.zeros(size, dtype=bool) if decisive else np.ones(size, dtype=bool)
        for column in columns:
            result = (result | self.boolean(column).a) if decisive else (result & self.boolean(column).a)
        return Col("bool", result)

    def c_If(self, e: ast.If, scope: dict[str, Any]) -> Any:
        condition = self.ev(e.condition, scope)
        if not isinstance(condition, Col):
            if isinstance(condition, Unknown):
                then = self.ev(e.then, scope)
                otherwise = self.ev(e.otherwise, scope)
                # As the reference: undetermined on every row; a branch known per row adds nothing.
                return unknown(condition, *[b for b in (then, otherwise) if isinstance(b, Unknown)])
            return self.ev(e.then if condition else e.otherwise, scope)
        bits = self.boolean(condition).a
        then = self.under(bits, lambda: self.ev(e.then, scope))
        otherwise = self.under(~bits, lambda: self.ev(e.otherwise, scope))
        if isinstance(then, Unknown) or isinstance(otherwise, Unknown):
            raise Unsupported("an if with one unknown branch")
        return self.select(bits, then, otherwise)

    def c_Not(self, e: ast.Not, scope: dict[str, Any]) -> Any:
        return self.negation(self.ev(e.operand, scope))

    def negation(self, value: Any) -> Any:
        if isinstance(value, Col):
            return Col("bool", ~self.boolean(value).a, level=value.level)
        if isinstance(value, Unknown):
            return value
        return not value

    def c_Negate(self, e: ast.Negate, scope: dict[str, Any]) -> Any:
        value = self.ev(e.operand, scope)
        if isinstance(value, Col):
            number = self.number(value)
            return Col(number.kind, -number.a, number.scale, number.den, level=number.level)
        if isinstance(value, Unknown):
            return value
        return -value

    def c_Otherwise(self, e: ast.Otherwise, scope: dict[str, Any]) -> Any:
        value = self.ev(e.value, scope)
        if isinstance(value, Col):
            if value.none is None:
                return value  # a column is never none (nullable facts are not read as columns)
            raise Unsupported("otherwise over an optional column")
        return self.ev(e.fallback, scope) if value is None else value

    def c_IsNone(self, e: ast.IsNone, scope: dict[str, Any]) -> Any:
        value = self.ev(e.operand, scope)
        if isinstance(value, Col):
            if value.none is None:
                return e.negated
            return Col("bool", ~value.none if e.negated else value.none.copy(), level=value.level)
        if isinstance(value, Unknown):
            return value
        return (value is not None) if e.negated else (value is None)

    def c_Call(self, e: ast.Call, scope: dict[str, Any]) -> Any:
        program = self.program
        if e.function in program.enums:
            raise Unsupported("an enum from text")
        args = [self.ev(a, scope) for a in e.args]
        settled = _unknowns(*args)
        if settled is not None:
            return settled
        if e.function in program.functions:
            info = program.functions[e.function]
            self.add_readings(info.decl.uses.names)
            if self.depth > 40:
                raise Unsupported(f"`{e.function}` calls itself")
            inner = {name: arg for (name, _), arg in zip(info.params, args, strict=True)}
            self.depth += 1
            try:
                return self.ev(info.decl.expr, inner)
            finally:
                self.depth -= 1
        if e.function == "text":  # written by the argument's checked type (money and decimals are both Decimal)
            if isinstance(args[0], Col):
                raise Unsupported("text() over a column")
            return words(args[0], program.node_types.get(id(e.args[0]), T.ANY))
        builtin = BUILTINS[e.function]
        if not any(isinstance(a, Col) for a in args):
            if not builtin.skips_none and any(v is None for v in args):
                raise Unsupported("a built-in given none")
            return builtin.run(*args)
        if e.function == "round" and len(args) == 3 and not isinstance(args[1], Col) \
                and not isinstance(args[2], Col) and args[2] in _ROUND_MODES and isinstance(args[0], Col):
            return self.round(self.number(args[0]), args[1], args[2])
        if e.function == "add_days" and isinstance(args[1], Col) and args[1].kind == "date" \
                and isinstance(args[2], int) and not isinstance(args[2], bool) and not isinstance(args[0], Col):
            return self.add_days(args[0], self.plain(args[1]), args[2])
        raise Unsupported(f"{e.function}() over a column")

    def plain(self, value: Col) -> Col:
        if value.none is not None:
            raise Unsupported("an optional value in an operation")
        return value

    def add_days(self, calendar: Any, day: Col, count: int) -> Col:
        """add_days(calendar, date, count): the count-th business day after (before) the date,
        as engine/calendars.py steps day by day, with numpy's business-day arithmetic."""
        if count == 0:
            return day
        dates = (day.a).astype("datetime64[D]")
        low, high = int(day.a.min()), int(day.a.max())
        first = (EPOCH + dt.timedelta(days=low)).year - 1
        last = (EPOCH + dt.timedelta(days=high)).year + 2 + abs(count) // 200
        days = np.array(calendar.holidays_between(first, last), dtype="datetime64[D]")
        moved = np.busday_offset(dates, count, roll="backward" if count > 0 else "forward", holidays=days)
        return Col("date", moved.astype(np.int64), level=day.level)

    def c_Index(self, e: ast.Index, scope: dict[str, Any]) -> Any:
        target = self.ev(e.target, scope)
        index = self.ev(e.index, scope)
        pending = [v for v in (target, index) if isinstance(v, Unknown)]
        if pending:  # a list no row gives
            return unknown(*pending)
        raise Unsupported("an item of a list")

    def c_InEffect(self, e: ast.InEffect, scope: dict[str, Any]) -> Any:
        source = self.ev(e.source, scope)
        on = self.ev(e.on, scope)
        pending = [v for v in (source, on) if isinstance(v, Unknown)]
        if pending:
            return unknown(*pending)
        raise Unsupported("the item in effect on a day")

    def c_Sort(self, e: ast.Sort, scope: dict[str, Any]) -> Any:
        source = self.ev(e.source, scope)
        if isinstance(source, Unknown):  # a list fact no row gives
            return source
        raise Unsupported("sorting a list")

    def c_Fold(self, e: ast.Fold, scope: dict[str, Any]) -> Any:
        # As the reference: the initial state first, then the list; only a list no row gives vectorises.
        source = self.ev(e.source, scope)
        if not isinstance(source, Unknown):
            raise Unsupported(f"`{e.kind}` over a list")
        try:
            state = self.ev(e.initial, scope)
        except Unsupported:
            # The initial state is built from the given facts only (no fact left unknown, no
            # reading): known on every row, so the fold waits for the list alone.
            if self.shape.may_be_unknown(e.initial):
                raise
            return source
        return unknown(state, source) if isinstance(state, Unknown) else source

    def c_RecordLiteral(self, e: ast.RecordLiteral, scope: dict[str, Any]) -> Any:
        values = {name: self.ev(expr, scope) for name, expr in e.fields}
        pending = [v for v in values.values() if isinstance(v, Unknown)]
        if pending:
            return unknown(*pending)
        if self.items is not None:
            raise Unsupported("a record inside an aggregate")
        # A record per row: its fields read (`.price`) or the record given to a fold; never a result.
        return Col("record", None, fields=values)

    def c_Aggregate(self, e: ast.Aggregate, scope: dict[str, Any]) -> Any:
        source = self.ev(e.source, scope)
        if isinstance(source, Unknown):
            return source
        if self.items is not None:
            raise Unsupported("an aggregate inside an aggregate")
        if e.function not in ("sum", "count"):
            raise Unsupported(f"the aggregate `{e.function}`")
        if not isinstance(source, Col):
            if isinstance(source, tuple) and not source:
                return 0 if e.function == "count" or self.typed(e) == T.INTEGER else Decimal(0)
            raise Unsupported("an aggregate over a constant list")
        if source.kind != "records":
            raise Unsupported("an aggregate over a computed list")
        offsets = source.offsets
        counts = np.diff(offsets)
        item_rows = np.repeat(np.arange(self.context.size), counts)
        item_active = None if self.active is None else self.active[item_rows]
        record = Col("record", None, fields=source.fields, level=1)
        saved = (self.items, self.active, self.reading_mask)
        # The loop body is a branch of the compiled code: its readings count on rows with items.
        item_readings = np.ones(len(item_rows), dtype=bool) if self.reading_mask is None \
            else self.reading_mask[item_rows]
        self.items, self.active, self.reading_mask = item_rows, item_active, item_readings
        try:
            inner = {**scope, e.variable: record}
            keep: Any = np.ones(len(item_rows), dtype=bool)
            if e.where is not None:
                kept = self.ev(e.where, inner)
                if isinstance(kept, Col):
                    keep = self.boolean(kept).a
                elif isinstance(kept, Unknown):
                    raise Unsupported("an unknown where")
                elif not kept:
                    keep = np.zeros(len(item_rows), dtype=bool)
            if e.function == "count":
                return Col("int", _segment_sum(keep.astype(np.int64), offsets))
            body = self.under(keep, lambda: self.ev(e.body, inner))
        finally:
            self.items, self.active, self.reading_mask = saved
        if not isinstance(body, Col):
            raise Unsupported("a constant summand")
        number = self.number(body)
        if number.kind == "ratio":
            raise Unsupported("a sum of quotients")
        values = np.where(keep, number.a, 0)
        estimate = _segment_sum_float(np.abs(values).astype(np.float64), offsets)
        self.flag(estimate >= LIMIT)
        total = _segment_sum(np.where(np.abs(values) < LIMIT, values, 0), offsets)
        if number.kind == "int" and self.typed(e) == T.INTEGER:
            return Col("int", total)
        return Col("fixed", total, number.scale)

    # ---- column helpers
    def size(self) -> int:
        return self.context.size if self.items is None else len(self.items)

    def boolean(self, value: Any) -> Col:
        if isinstance(value, Col):
            self.plain(value)
            if value.kind != "bool":
                raise Unsupported("a non-boolean condition")
            return value
        if isinstance(value, bool):
            return Col("bool", np.full(self.size(), value))
        raise Unsupported("a condition that is not a boolean")

    def number(self, value: Any) -> Col:
        """A number as a column (a constant broadcast)."""
        if isinstance(value, Col):
            self.plain(value)
            if value.kind not in _NUMBER_KINDS:
                raise Unsupported(f"arithmetic on {value.kind}")
            return value
        size = self.size()
        if isinstance(value, bool) or value is None:
            raise Unsupported("arithmetic on a non-number")
        if isinstance(value, int):
            if abs(value) >= LIMIT:
                raise Unsupported("a constant out of range")
            return Col("int", np.full(size, value, dtype=np.int64))
        if isinstance(value, Decimal):
            sign, digits, exponent = value.as_tuple()
            if not isinstance(exponent, int):
                raise Unsupported("a special decimal")
            units = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
            if exponent > 0:
                units, exponent = units * 10 ** exponent, 0
            if abs(units) >= LIMIT or -exponent > MAX_SCALE:
                raise Unsupported("a constant out of range")
            return Col("fixed", np.full(size, units, dtype=np.int64), -exponent)
        if isinstance(value, Fraction):
            if abs(value.numerator) >= LIMIT or value.denominator >= LIMIT:
                raise Unsupported("a constant out of range")
            return Col("ratio", np.full(size, value.numerator, dtype=np.int64),
                       den=np.full(size, value.denominator, dtype=np.int64))
        raise Unsupported(f"arithmetic on {type(value).__name__}")

    def mul(self, a: Any, b: Any) -> Any:
        estimate = a.astype(np.float64) * b.astype(np.float64)
        over = np.abs(estimate) >= LIMIT
        if over.any():
            self.flag(over)
            a = np.where(over, 0, a)
        return a * b

    def checked(self, values: Any) -> Any:
        over = np.abs(values) >= LIMIT
        if over.any():
            self.flag(over)
            values = np.where(over, 0, values)
        return values

    def rescale(self, value: Col, scale: int) -> Any:
        if value.scale == scale:
            return value.a
        if scale - value.scale > MAX_SCALE:
            raise Unsupported("a scale out of range")
        return self.mul(value.a, np.int64(10 ** (scale - value.scale)))

    def ratio(self, value: Col) -> tuple[Any, Any]:
        if value.kind == "ratio":
            return value.a, value.den
        if value.kind == "int" or value.scale == 0:
            return value.a, np.ones_like(value.a)
        return value.a, np.full_like(value.a, 10 ** value.scale)

    def arith(self, op: str, left: Col, right: Col) -> Col:
        if op == "/" or left.kind == "ratio" or right.kind == "ratio":
            ln, ld = self.ratio(left)
            rn, rd = self.ratio(right)
            if op == "/":
                zero = rn == 0
                if zero.any():
                    self.flag(zero)
                    rn = np.where(zero, 1, rn)
                numerator, denominator = self.mul(ln, rd), self.mul(ld, rn)
                negative = denominator < 0
                numerator = np.where(negative, -numerator, numerator)
                denominator = np.where(negative, -denominator, denominator)
            elif op == "*":
                numerator, denominator = self.mul(ln, rn), self.mul(ld, rd)
            else:
                cross = self.mul(rn, ld)
                numerator = self.checked(self.mul(ln, rd) + (cross if op == "+" else -cross))
                denominator = self.mul(ld, rd)
            return _reduce(Col("ratio", numerator, den=np.where(denominator == 0, 1, denominator)))
        if op == "*":
            kind = "int" if left.kind == "int" and right.kind == "int" else "fixed"
            scale = left.scale + right.scale
            if scale > MAX_SCALE:
                raise Unsupported("a product's scale out of range")
            return Col(kind, self.mul(left.a, right.a), scale)
        scale = max(left.scale, right.scale)
        a, b = self.rescale(left, scale), self.rescale(right, scale)
        kind = "int" if left.kind == "int" and right.kind == "int" else "fixed"
        return Col(kind, self.checked(a + b if op == "+" else a - b), scale)

    def compare(self, op: str, left: Any, right: Any) -> Col:
        if isinstance(left, Member) or isinstance(right, Member) or \
                (isinstance(left, Col) and left.kind == "enum") or (isinstance(right, Col) and right.kind == "enum"):
            # Ranks, best first: a < b when a's rank is larger (engine/evaluate.py, _orderable).
            a, b = self.rank(left), self.rank(right)
            return Col("bool", _COMPARE_ARRAYS[op](-a, -b))
        if (isinstance(left, Col) and left.kind == "date") or (isinstance(right, Col) and right.kind == "date"):
            return Col("bool", _COMPARE_ARRAYS[op](self.days(left), self.days(right)))
        if (isinstance(left, Col) and left.kind == "bool") or (isinstance(right, Col) and right.kind == "bool"):
            if op not in ("=", "!="):
                raise Unsupported("ordering booleans")
            return Col("bool", _COMPARE_ARRAYS[op](self.boolean(left).a, self.boolean(right).a))
        x, y = self.number(left), self.number(right)
        if x.kind == "ratio" or y.kind == "ratio":
            xn, xd = self.ratio(x)
            yn, yd = self.ratio(y)
            return Col("bool", _COMPARE_ARRAYS[op](self.mul(xn, yd), self.mul(yn, xd)))
        scale = max(x.scale, y.scale)
        return Col("bool", _COMPARE_ARRAYS[op](self.rescale(x, scale), self.rescale(y, scale)))

    def rank(self, value: Any) -> Any:
        if isinstance(value, Member):
            return np.int64(value.rank)
        if isinstance(value, Col) and value.kind == "enum":
            return self.plain(value).a
        raise Unsupported("comparing a member with a non-member")

    def days(self, value: Any) -> Any:
        if isinstance(value, Col) and value.kind == "date":
            return self.plain(value).a
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return np.int64((value - EPOCH).days)
        raise Unsupported("comparing a date with a non-date")

    def round(self, value: Col, increment: Any, mode: str) -> Col:
        """round(value, increment, mode) on the exact value: the integer quotient of
        value / increment, then the remainder decides (engine/values.py, round_units)."""
        if isinstance(increment, bool) or not isinstance(increment, (int, Decimal)) or not increment > 0:
            raise Unsupported("a rounding increment that is not a positive number")
        step = self.number(increment)
        numerator, denominator = self.ratio(value)
        step_n, step_d = self.ratio(step)
        # value / step = (numerator * step_d) / (denominator * step_n)
        top, bottom = self.mul(numerator, step_d), self.mul(denominator, step_n)
        floor, remainder = np.divmod(top, bottom)
        twice = self.mul(remainder, np.int64(2))
        if mode == "down":
            units = floor
        elif mode == "up":
            units = floor + (remainder != 0)
        else:
            above = twice > bottom
            tie = twice == bottom
            if mode == "half_up":  # a tie goes away from zero
                up = above | (tie & (top > 0))
            else:
                up = above | (tie & (floor % 2 != 0))
            units = floor + up
        units = units.astype(np.int64)
        if isinstance(increment, int):
            return Col("int", self.mul(units, np.int64(increment)))
        return Col("fixed", self.mul(units, step.a if step.kind == "fixed" else step_n), step.scale)

    def select(self, bits: Any, then: Any, otherwise: Any) -> Any:
        if (then is None) != (otherwise is None) and not any(isinstance(v, Col) and v.none is not None
                                                             for v in (then, otherwise)):
            # One branch is none: the other's values, and a mask of the rows that are none.
            value = then if otherwise is None else otherwise
            if not isinstance(value, Col):
                raise Unsupported("an optional constant")
            none = ~bits if otherwise is None else bits
            return Col(value.kind, value.a, value.scale, value.den, value.enum, level=value.level, none=none)
        kinds = {v.kind for v in (then, otherwise) if isinstance(v, Col)}
        if kinds <= {"bool"} and all(isinstance(v, (Col, bool)) for v in (then, otherwise)):
            return Col("bool", np.where(bits, self.boolean(then).a, self.boolean(otherwise).a))
        if kinds <= {"enum"} and all(isinstance(v, (Col, Member)) for v in (then, otherwise)):
            enum = next((v.enum for v in (then, otherwise) if isinstance(v, Col)), None)
            if enum is None or any(isinstance(v, Member) and v.type_name != enum.name for v in (then, otherwise)):
                raise Unsupported("an if over two enumerations")
            return Col("enum", np.where(bits, self.rank(then), self.rank(otherwise)), enum=enum)
        if kinds <= {"date"} and all(isinstance(v, Col) or type(v) is dt.date for v in (then, otherwise)):
            return Col("date", np.where(bits, self.days(then), self.days(otherwise)))
        x, y = self.number(then), self.number(otherwise)
        if x.kind == "int" and y.kind == "int":
            return Col("int", np.where(bits, x.a, y.a))
        if x.kind == "ratio" or y.kind == "ratio":
            xn, xd = self.ratio(x)
            yn, yd = self.ratio(y)
            return Col("ratio", np.where(bits, xn, yn), den=np.where(bits, xd, yd))
        scale = max(x.scale, y.scale)
        # Each side rescaled only where it is chosen: a value out of range elsewhere is not an error.
        a = self.under(bits, lambda: self.rescale(x, scale))
        b = self.under(~bits, lambda: self.rescale(y, scale))
        return Col("fixed", np.where(bits, a, b), scale)


_COMPARE_ARRAYS: dict[str, Callable[[Any, Any], Any]] = {
    "=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
}


def _unknowns(*values: Any) -> Unknown | None:
    found = [v for v in values if isinstance(v, Unknown)]
    return unknown(*found) if found else None


def _reduce(value: Col) -> Col:
    common = np.gcd(value.a, value.den)
    common = np.where(common == 0, 1, common)
    return Col("ratio", value.a // common, den=value.den // common, level=value.level)


def _segment_sum(values: Any, offsets: Any) -> Any:
    totals = np.zeros(len(offsets) - 1, dtype=values.dtype)
    if len(values):
        counts = np.diff(offsets)
        nonempty = counts > 0
        totals[nonempty] = np.add.reduceat(values, offsets[:-1][nonempty])
    return totals


def _segment_sum_float(values: Any, offsets: Any) -> Any:
    return _segment_sum(values, offsets)


# ---------------------------------------------------------------- back to scalar values


def scalar_values(value: Any, size: int) -> list[Any]:
    """The values of a column as the scalar evaluator holds them (Decimal, Fraction, int, …)."""
    if not isinstance(value, Col):
        return [value] * size
    if value.none is not None:
        plain = Col(value.kind, value.a, value.scale, value.den, value.enum)
        return [None if none else v for v, none in zip(scalar_values(plain, size), value.none.tolist(), strict=True)]
    kind = value.kind
    if kind == "int":
        return value.a.tolist()  # type: ignore[no-any-return]
    if kind == "bool":
        return value.a.tolist()  # type: ignore[no-any-return]
    if kind == "fixed":
        scale = value.scale
        return [Decimal(units).scaleb(-scale) for units in value.a.tolist()]
    if kind == "ratio":
        out = []
        for numerator, denominator in zip(value.a.tolist(), value.den.tolist(), strict=True):
            out.append(_arith("/", Decimal(numerator), Decimal(denominator)))
        return out
    if kind == "date":
        return [EPOCH + dt.timedelta(days=d) for d in value.a.tolist()]
    if kind == "enum":
        enum = value.enum
        assert enum is not None
        members = [Member(enum.name, name, index) for index, name in enumerate(enum.members)]
        return [members[i] for i in value.a.tolist()]
    raise Unsupported(kind)


# ---------------------------------------------------------------- columns to Arrow, vectorised


def fixed_decimal(units: Any, scale: int, none: Any = None) -> Any:
    """A decimal128 array of int64 units at ``scale``, built from its buffers."""
    import pyarrow as pa

    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    validity = None
    if none is not None and none.any():
        validity = pa.array(~none).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(units),
                                 [validity, pa.py_buffer(words.tobytes())], null_count=-1)


def arrow_column(value: Any, size: int, t: T.Type) -> Any | None:
    """A result column as Arrow, without a Python object per row (None: not vectorised)."""
    import pyarrow as pa

    if not isinstance(value, Col):
        return None
    none = value.none
    kind = value.kind
    if kind == "int":
        return pa.array(value.a, pa.int64(), mask=none)
    if kind == "bool":
        return pa.array(value.a, pa.bool_(), mask=none)
    if kind == "date":
        return pa.array(value.a.astype(np.int32), pa.int32(), mask=none).cast(pa.date32())
    if kind == "enum":
        assert value.enum is not None
        return pa.DictionaryArray.from_arrays(pa.array(value.a.astype(np.int32), mask=none),
                                              pa.array(list(value.enum.members))).cast(pa.string())
    money = T.strip_optional(t) == T.MONEY
    if kind == "fixed":
        units, scale = value.a, value.scale
        if money and scale < 2:
            units, scale = units * 10 ** (2 - scale), 2
        return fixed_decimal(units, scale, none)
    if kind == "ratio" and none is None:
        from runner.ratio_text import ratio_text

        written = ratio_text(value.a, value.den, money)
        return None if written is None else written[0]
    return None
