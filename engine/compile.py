"""The compiler: a checked contract turned into one Python function per scenario shape.

The tree-walking evaluator (engine/evaluate.py) is the reference semantics;
this module produces the same values and readings, faster. It specialises the
contract on the *shape* of a scenario: which facts are given. Within one
shape every fact is either a runtime value (given) or a compile-time constant
(its default, or ``Unknown`` when it has none), so Unknown propagation,
defaults and every fact-independent rule (dates, zones, business-day
calendars, fixed prices) are settled at compile time, and the generated code
is plain exact arithmetic on the given facts: Decimal operations where the
operands are known to terminate (facts, rounded amounts, their sums and
products), the exact helpers of engine/values.py (Fraction for a quotient that
does not terminate) elsewhere.

The generated function evaluates the rules a request needs in dependency
order, each into a local variable; ``and``/``or``/``all of``/``any of``/
``unless``/``if``/``otherwise`` keep the reference's short-circuits, and the
readings each rule relied on are computed exactly as the reference computes
them (statically where the code path is certain, at run time inside
branches).

Errors are the slow path: when anything in the generated code raises (a
division by zero, an impossible date, an arithmetic trap), the scenario is
evaluated again by the reference evaluator, which produces the
``EvaluationError`` with its clause-file span. The generated source carries a
comment with the clause-file position of every rule, and its code object is
named after the contract, so a traceback through compiled code points at the
clause lines too.

Tracing is a compile option. Untraced code records nothing. Traced code
(``compile_traced_shape``, used by ``engine.api.evaluate(trace=True)``) is the
same code plus one store per node computed at run time, into a slot of a
record the function returns (an aggregate records a tuple of slots per item);
the compiler knows every other node's value (constants) or the trace can look
it up (literals, facts, rules' values, names in scope). ``TracedEvaluation``
builds the reference evaluator's ``RuleTrace``/``Step`` trees from the record
when they are first read: ``_Replay`` walks the expressions as the reference
does, taking each decision on the recorded values, and computes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from engine import ast
from engine import types as T
from engine.builtins import BUILTINS, words
from engine.calendars import calendar
from engine.check import Program
from engine.evaluate import (
    _COMPARE,
    Evaluation,
    ListSteps,
    RuleTrace,
    Step,
    _arith,
    _Done,
    _Frame,
    _member,
    _orderable,
    fold_label,
    in_effect,
    power,
    sort_items,
)
from engine.limits import TRACE_LIST_ITEMS
from engine.periods import period_arith
from engine.values import (
    EXACT,
    Member,
    Unknown,
    add,
    divide,
    first_unknowns,
    multiply,
    round_to,
    subtract,
    unknown,
)

if TYPE_CHECKING:
    from engine.scenario import ValidFacts

_ROUNDING = ("half_up", "half_even", "up", "down")
_DECIMAL_TYPES = (T.MONEY, T.PERCENT)
_NUMBERS = (T.INTEGER, T.DECIMAL, T.MONEY, T.PERCENT)
_PY_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "==", "!=": "!="}

# An enum value's comparison with one member, as member_compare writes it.
_RANK_IS = re.compile(r"\((\w+)\.rank == (\d+)\)")

# How many times the whole program may inline user functions into one another.
_MAX_INLINE_DEPTH = 40


class Unsupported(Exception):
    """A construct this compiler does not handle: the program stays on the reference evaluator."""


class _CompiledFailure(Exception):
    """Raised by generated code where a constant computation failed at compile time."""


# ---------------------------------------------------------------- runtime helpers
# Used by generated code where an operand may be Unknown at run time: each one
# is the reference evaluator's own rule for that node, applied to values.


def _g_arith(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return first_unknowns((left, right))
    return _arith(op, left, right)


_UNIONS_KEPT = 256  # per site: past this many different sets, unions are made, not kept


def _union(cache: dict[frozenset[str], frozenset[str]], left: frozenset[str],
           right: frozenset[str]) -> frozenset[str]:
    union = left | right
    if len(cache) < _UNIONS_KEPT:
        cache[left] = union
    return union


def _union_pair(cache: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]], left: frozenset[str],
                right: frozenset[str]) -> frozenset[str]:
    union = left | right
    if len(cache) < _UNIONS_KEPT:
        cache[(left, right)] = union
    return union


def _g_compare(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return first_unknowns((left, right))
    return _COMPARE[op](_orderable(left), _orderable(right))


def _g_not(value: Any) -> Any:
    return value if isinstance(value, Unknown) else not value


def _g_negate(value: Any) -> Any:
    return value if isinstance(value, Unknown) else -value


def _g_is_none(value: Any, negated: bool) -> Any:
    if isinstance(value, Unknown):
        return value
    return (value is not None) if negated else (value is None)


def _g_field(target: Any, name: str) -> Any:
    if isinstance(target, Unknown):
        return target
    if isinstance(target, dict):
        return target[name]
    raise _CompiledFailure(f"cannot take field {name} of {target!r}")


def _g_andor(decisive: bool, left: Any, right: Any) -> Any:
    """``left and/or right`` once ``left`` is known not to settle it."""
    if right is decisive:
        return decisive
    pending = first_unknowns((left, right))
    return pending if pending is not None else not decisive


def _g_conditions(decisive: bool, values: Sequence[Any]) -> Any:
    if any(v is decisive for v in values):
        return decisive
    pending = [v for v in values if isinstance(v, Unknown)]
    return unknown(*pending) if pending else not decisive


def _g_collect(values: Sequence[Any]) -> Unknown | None:
    return first_unknowns(values)


def _g_record(names: Sequence[str], values: Sequence[Any]) -> Any:
    pending = first_unknowns(values)
    return pending if pending is not None else dict(zip(names, values, strict=True))


def _g_list(values: tuple[Any, ...]) -> Any:
    pending = first_unknowns(values)
    return pending if pending is not None else values


def _g_power(base: Any, exponent: Any, decimal: bool) -> Any:
    pending = first_unknowns((base, exponent))
    return pending if pending is not None else power(base, exponent, decimal)


def _g_period(op: str, left: Any, right: Any, rule: str | None) -> Any:
    pending = first_unknowns((left, right))
    return pending if pending is not None else period_arith(op, left, right, rule)


def _g_index(target: Any, index: Any) -> Any:
    pending = first_unknowns((target, index))
    return pending if pending is not None else target[index]


def _g_update(target: Any, names: Sequence[str], values: Sequence[Any]) -> Any:
    pending = first_unknowns((target, *values))
    return pending if pending is not None else {**target, **dict(zip(names, values, strict=True))}


def _g_sort(source: Any, keys: tuple[tuple[str, ...], ...]) -> Any:
    return source if isinstance(source, Unknown) else sort_items(source, keys)


def _g_in_effect(source: Any, on: Any, key: tuple[str, ...]) -> Any:
    pending = first_unknowns((source, on))
    return pending if pending is not None else in_effect(source, on, key)


def _not_none(value: Any) -> Any:
    if value is None:
        raise _CompiledFailure("a built-in was given none")
    return value


def _enum_of(enum: T.EnumType, text: Any) -> Member:
    if text not in enum.members:
        raise _CompiledFailure(f"{text!r} is not a member of {enum.name}")
    return _member(enum, str(text))


def _fail(message: str) -> Any:
    raise _CompiledFailure(message)


class _Missing:
    """What a traced run's slot holds when the code that computes its node did not run."""

    def __repr__(self) -> str:
        return "<not evaluated>"


_MISSING = _Missing()


_HELPERS: dict[str, Any] = {
    "_Unknown": Unknown, "_D": Decimal, "_add_d": EXACT.add, "_sub_d": EXACT.subtract, "_mul_d": EXACT.multiply,
    "_add": add, "_sub": subtract, "_mul": multiply, "_div": divide, "_round": round_to,
    "_arith": _arith, "_g_arith": _g_arith, "_g_compare": _g_compare, "_g_not": _g_not,
    "_g_negate": _g_negate, "_g_is_none": _g_is_none, "_g_field": _g_field, "_g_andor": _g_andor,
    "_g_conditions": _g_conditions, "_g_collect": _g_collect, "_g_record": _g_record, "_g_list": _g_list,
    "_unknown": unknown, "_not_none": _not_none, "_enum_of": _enum_of, "_fail": _fail, "_isinstance": isinstance,
    "_M": _MISSING, "_g_index": _g_index, "_g_update": _g_update, "_g_sort": _g_sort, "_sort": sort_items,
    "_g_in_effect": _g_in_effect, "_in_effect": in_effect, "_power": power, "_g_power": _g_power,
    "_period": period_arith, "_g_period": _g_period,
    "_first_unknowns": first_unknowns, "_union": _union, "_union_pair": _union_pair,
}


# ---------------------------------------------------------------- compile-time values


@dataclass
class _Val:
    """An expression's compiled form: a constant, or Python code computing it at run time."""

    code: str | None = None  # None: a constant
    const: Any = None
    mu: bool = False  # the run-time value may be Unknown
    # The run-time value is never a Fraction (a given fact, a rounded amount, a sum or
    # product of such): +, -, * on it take the Decimal fast path.
    dec: bool = False

    @property
    def is_const(self) -> bool:
        return self.code is None

    @property
    def terminating(self) -> bool:
        return self.dec if self.code is not None else type(self.const) is not Fraction

    @property
    def maybe_unknown(self) -> bool:
        return self.mu or (self.code is None and isinstance(self.const, Unknown))


def _const(value: Any) -> _Val:
    return _Val(None, value)


@dataclass
class _Rule:
    """A compiled rule: its value and where its readings are."""

    val: _Val
    readings: frozenset[str] | None  # constant readings
    readings_var: str | None  # or a run-time set


@dataclass
class _RuleContext:
    name: str
    static: set[str] = field(default_factory=set)
    var: str = ""
    dynamic: bool = False
    # Run-time readings of rules this one certainly reads: complete before this rule
    # runs, so they start its set rather than being added to it one by one.
    inherited: list[str] = field(default_factory=list)


@dataclass
class _Scope:
    """Where a traced run keeps node values: the run as a whole, or one iteration of an aggregate."""

    vars: list[str] = field(default_factory=list)
    uncertain: set[str] = field(default_factory=set)  # assigned on some paths only: set to _M first


@dataclass
class _TracePlan:
    """How to read a traced run's record: where the value of each evaluated node is.

    A node is known by its *context* (a rule's body, a fact's default, one inlined
    call of a user function, the body of an aggregate) and its ``id``.
    ``sources`` maps (context, id(node)) to (index, constant): the index of the
    node's value in the record of its scope, or -1 and the value the compiler
    computed. The record of an aggregate (context, -id(node)) holds one tuple per
    item. Literals and names are not recorded: their values follow from the
    facts, the rules' values and the scope.
    """

    sources: dict[tuple[int, int], tuple[int, Any]] = field(default_factory=dict)
    rule_ctx: dict[str, int] = field(default_factory=dict)
    default_ctx: dict[str, int] = field(default_factory=dict)
    child_ctx: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass
class CompiledShape:
    """One contract compiled for one set of given facts."""

    facts: frozenset[str]
    results: tuple[str, ...]
    source: str
    run: Callable[[Mapping[str, object]], tuple[tuple[object, ...], tuple[frozenset[str] | set[str], ...]]]
    # Results whose value and readings are the same for every scenario of the shape.
    constant: tuple[bool, ...] = ()
    # Where each rule compiled into `source` was declared: the comment `# rule N`
    # above its code indexes this table. File names and other text the user wrote
    # never enter the generated source, so none of it can end a comment and run.
    positions: tuple[tuple[str, int, int], ...] = ()


_TracedRun = Callable[[Mapping[str, object]],
                      tuple[tuple[object, ...], tuple[frozenset[str] | set[str], ...], tuple[object, ...]]]


@dataclass
class TracedShape:
    """One contract compiled, with tracing, for one set of given facts: ``run`` also
    returns the record of every node value the trace needs (read by ``plan``)."""

    facts: frozenset[str]
    results: tuple[str, ...]
    source: str
    run: _TracedRun
    plan: _TracePlan
    positions: tuple[tuple[str, int, int], ...] = ()  # as CompiledShape.positions


class _Generator:
    def __init__(self, program: Program, given: frozenset[str], results: Sequence[str], trace: bool = False):
        self.program = program
        self.given = given
        self.results = tuple(results)
        self.globals: dict[str, Any] = dict(_HELPERS)
        self.const_names: dict[tuple[type, int], str] = {}
        self.keep: list[object] = []  # keeps constants alive so their ids stay unique
        self.main: list[str] = []
        self.block: list[str] = self.main
        self.indent = 1
        self.certain = True
        self.ctx: _RuleContext | None = None
        self.rules: dict[str, _Rule] = {}
        self.compiling: set[str] = set()
        self.fact_vars: dict[str, str] = {}
        self.defaults: dict[str, _Val] = {}
        self.counter = itertools.count()
        self.depth = 0
        self.rule_index = {name: i for i, name in enumerate(program.rules)}
        self.constant: tuple[bool, ...] = ()
        # Tracing (a compile option): every evaluated node's value goes into a slot.
        self.tracing = trace
        self.plan = _TracePlan()
        self.tctx = 0
        self.ctx_ids = itertools.count(1)
        self.top_scope = _Scope()
        self.scope = self.top_scope
        self.ctx_scope: dict[int, _Scope] = {}
        self.slot_vars: dict[tuple[int, int], str] = {}
        self.positions: list[tuple[str, int, int]] = []

    # ------------------------------------------------------------ emission
    def emit(self, line: str) -> None:
        self.block.append("    " * self.indent + line)

    def temp(self) -> str:
        return f"t{next(self.counter)}"

    def k(self, value: Any) -> str:
        """A Python expression for a constant value."""
        if value is None or value is True or value is False:
            return repr(value)
        if type(value) is int:
            return repr(value)
        key = (type(value), id(value))
        name = self.const_names.get(key)
        if name is None:
            name = f"K{len(self.const_names)}"
            self.const_names[key] = name
            self.globals[name] = value
            self.keep.append(value)
        return name

    def expr(self, val: _Val) -> str:
        return self.k(val.const) if val.code is None else val.code

    def bind(self, val: _Val) -> _Val:
        """Give a run-time value a local name so it is computed once."""
        if val.code is None or val.code.isidentifier():
            return val
        name = self.temp()
        self.emit(f"{name} = {val.code}")
        return _Val(name, mu=val.mu, dec=val.dec)

    def drop(self, val: _Val) -> None:
        """A value computed for its errors only (the reference evaluates it, then ignores it)."""
        if val.code is not None and not val.code.isidentifier():
            self.emit(val.code)

    @contextmanager
    def branch(self, header: str) -> Iterator[None]:
        self.emit(header)
        self.indent += 1
        certain, self.certain = self.certain, False
        mark = len(self.block)
        try:
            yield
        finally:
            if len(self.block) == mark:
                self.emit("pass")
            self.indent -= 1
            self.certain = certain

    def add_readings(self, names: frozenset[str] | tuple[str, ...]) -> None:
        if not names or self.ctx is None:
            return
        if self.certain:
            self.ctx.static.update(names)
        else:
            self.ctx.dynamic = True
            self.emit(self.union(self.ctx.var, self.ctx.var, self.k(frozenset(names))))

    def union(self, target: str, left: str, right: str, both_vary: bool = False) -> str:
        """``target = left | right`` on readings (frozensets), through a cache of this
        site's unions: the same few sets recur scenario after scenario, so the union is
        made once and then looked up (a fraction of the cost of building it again)."""
        cache = self.k({})
        if both_vary:
            return f"{target} = {cache}.get(({left}, {right})) or _union_pair({cache}, {left}, {right})"
        return f"{target} = {cache}.get({left}) or _union({cache}, {left}, {right})"

    def add_rule_readings(self, rule: _Rule) -> None:
        if rule.readings_var is not None:
            assert self.ctx is not None
            self.ctx.dynamic = True
            if self.certain:
                if rule.readings_var not in self.ctx.inherited:
                    self.ctx.inherited.append(rule.readings_var)
            else:
                self.emit(self.union(self.ctx.var, self.ctx.var, rule.readings_var, both_vary=True))
        elif rule.readings:
            self.add_readings(rule.readings)

    # ------------------------------------------------------------ program
    def generate(self) -> str:
        try:
            outputs = [self.rule(name) for name in self.results]
        except RecursionError:  # rules read through a chain longer than Python's stack: the reference's
            raise Unsupported("rules nested too deeply to compile") from None
        self.constant = tuple(r.val.is_const and r.readings_var is None for r in outputs)
        facts = [f"    {var} = F[{name!r}]" for name, var in self.fact_vars.items()]
        values = ", ".join(self.expr(r.val) for r in outputs)
        readings = ", ".join(r.readings_var or self.k(r.readings or frozenset()) for r in outputs)
        if self.tracing:
            top = self.top_scope
            reset = [f"    {' = '.join(v for v in top.vars if v in top.uncertain)} = _M"] if top.uncertain else []
            record = "".join(f"{v}, " for v in top.vars)
            lines = ["def _run(F):", *facts, *reset, *self.main, f"    return ({values}{',' if outputs else ''}), "
                     f"({readings}{',' if outputs else ''}), ({record})"]
            return "\n".join(lines) + "\n"
        lines = ["def _run(F):", *facts, *self.main, f"    return ({values}{',' if outputs else ''}), "
                 f"({readings}{',' if outputs else ''})"]
        return "\n".join(lines) + "\n"

    def rule(self, name: str) -> _Rule:
        done = self.rules.get(name)
        if done is not None:
            return done
        # A traced shape compiles every rule: the trace shows how even a constant one was computed.
        folded = None if self.tracing else self.program.__dict__.get(_CONSTANT_RULES, {}).get(name)
        if folded is not None:  # a rule no fact reaches: its value was computed once (constant_rules)
            done = self.rules[name] = _Rule(_const(folded[0]), folded[1], None)
            return done
        if name in self.compiling:
            raise Unsupported(f"`{name}` depends on itself")
        info = self.program.rules[name]
        if info.decl.circular:
            raise Unsupported(f"`{name}` is circular: solved by the reference evaluator")
        self.compiling.add(name)
        saved = (self.block, self.indent, self.certain, self.ctx)
        traced = (self.tctx, self.scope)
        index = self.rule_index[name]
        self.block, self.indent, self.certain = [], 1, True
        self.ctx = _RuleContext(name, set(info.decl.uses.names), var=f"d{index}")
        if self.tracing:
            self.tctx = self.plan.rule_ctx[name] = next(self.ctx_ids)
            self.scope = self.top_scope
        try:
            val = self.cx(info.decl.expr, {})
            if val.code is not None and not val.code.isidentifier():
                self.emit(f"r{index} = {val.code}")
                val = _Val(f"r{index}", mu=val.mu, dec=val.dec)
            ctx = self.ctx
            body = self.block
        finally:
            self.block, self.indent, self.certain, self.ctx = saved
            self.tctx, self.scope = traced
            self.compiling.discard(name)
        span = info.decl.span
        self.main.append(f"    # rule {len(self.positions)}")  # an integer only: see CompiledShape.positions
        self.positions.append((str(span.file), span.line, span.column))
        if ctx.dynamic:
            self.main.extend(f"    {line}" for line in self.readings_start(ctx))
            self.main.extend(body)
            done = _Rule(val, None, ctx.var)
        else:
            self.main.extend(body)
            done = _Rule(val, frozenset(ctx.static), None)
        self.rules[name] = done
        return done

    def readings_start(self, ctx: _RuleContext) -> list[str]:
        """The lines that set a rule's run-time readings first: its certain readings and
        the sets of the rules it certainly reads. Readings are frozensets, so a rule's set
        may be another's (a branch rebinds its own variable; nothing is changed in place)."""
        static = self.k(frozenset(ctx.static)) if ctx.static else None
        if not ctx.inherited:
            return [f"{ctx.var} = {static or self.k(frozenset())}"]
        first, *others = ctx.inherited
        if not others and static is None:
            return [f"{ctx.var} = {first}"]
        lines = []
        left = first
        for other in others:
            lines.append(self.union(ctx.var, left, other, both_vary=True))
            left = ctx.var
        if static is not None:
            lines.append(self.union(ctx.var, left, static))
        return lines

    # ------------------------------------------------------------ expressions
    def cx(self, e: ast.Expr, scope: dict[str, _Val]) -> _Val:
        method = getattr(self, "c_" + type(e).__name__)
        result: _Val = method(e, scope)
        if self.tracing:
            return self.record(e, result)
        return result

    # ------------------------------------------------------------ tracing
    def record(self, e: ast.Expr, val: _Val) -> _Val:
        """Traced shapes: keep the value of ``e`` where the trace will find it, a
        constant in the plan or, computed at run time, in a slot of the record."""
        kind = type(e)
        if kind is ast.Literal:
            return val
        key = (self.tctx, id(e))
        if isinstance(e, ast.Name):  # its value follows from the scope, the facts or a rule
            if val.is_const and e.name in self.program.calendars:  # (a calendar is costly to build again)
                self.plan.sources[key] = (-1, val.const)
            return val
        if val.is_const:
            self.plan.sources[key] = (-1, val.const)
            return val
        var = self.slot(key)
        self.emit(f"{var} = {val.code}")
        return _Val(var, mu=val.mu, dec=val.dec)

    def slot(self, key: tuple[int, int]) -> str:
        var = self.slot_vars.get(key)
        if var is None:
            var = self.slot_vars[key] = f"s{len(self.slot_vars)}"
            self.plan.sources[key] = (len(self.scope.vars), None)
            self.scope.vars.append(var)
        if not self.certain:
            self.scope.uncertain.add(var)
        return var

    def child(self, node: ast.Expr, scope: _Scope | None = None) -> int:
        """The context of the expressions evaluated for ``node`` (an inlined call, an aggregate's items)."""
        key = (self.tctx, id(node))
        found = self.plan.child_ctx.get(key)
        if found is None:
            found = self.plan.child_ctx[key] = next(self.ctx_ids)
            self.ctx_scope[found] = scope or self.scope
        return found

    def fold(self, compute: Callable[[], Any]) -> _Val:
        """A constant computed now; a failure is deferred to run time (where it sends the
        scenario to the reference evaluator, for its error message)."""
        try:
            return _const(compute())
        except Exception as problem:
            return _Val(f"_fail({self.k(str(problem))})")

    def c_Literal(self, e: ast.Literal, scope: dict[str, _Val]) -> _Val:
        return _const(e.value)

    def c_Name(self, e: ast.Name, scope: dict[str, _Val]) -> _Val:
        name = e.name
        if name in scope:
            return scope[name]
        program = self.program
        if name in program.facts:
            return self.fact(name)
        if name in program.rules:
            rule = self.rule(name)
            self.add_rule_readings(rule)
            return rule.val
        if name in program.zones:
            self.add_readings(program.zone_decls[name].uses.names)
            return _const(program.zones[name])
        if name in program.calendars:
            decl = program.calendars[name]
            self.add_readings(decl.uses.names)
            return _const(calendar(decl.name, decl.financial_code))
        if name in T.ROUNDING_MODES:
            return _const(name)
        if name in program.enums:  # an enum named as an argument (member_of)
            return _const(program.enums[name])
        raise Unsupported(f"unknown name `{name}`")

    def fact(self, name: str) -> _Val:
        if name in self.given:
            var = self.fact_vars.get(name)
            if var is None:
                var = self.fact_vars[name] = f"f{len(self.fact_vars)}"
            return _Val(var, dec=True)  # a validated fact is never a Fraction
        info = self.program.facts[name]
        if info.decl.default is None:
            return _const(Unknown(frozenset((name,))))
        if name not in self.defaults:
            saved = (self.block, self.indent, self.certain, self.ctx)
            traced = (self.tctx, self.scope)
            self.block, self.indent, self.certain, self.ctx = [], 1, True, _RuleContext(name)
            if self.tracing:
                self.tctx = self.plan.default_ctx[name] = next(self.ctx_ids)
                self.scope = self.top_scope
            try:
                val = self.cx(info.decl.default, {})
                if self.block or self.ctx.static or self.ctx.dynamic or not val.is_const:
                    raise Unsupported(f"the default of `{name}` is not a constant")
            finally:
                self.block, self.indent, self.certain, self.ctx = saved
                self.tctx, self.scope = traced
            self.defaults[name] = val
        return self.defaults[name]

    def c_Binary(self, e: ast.Binary, scope: dict[str, _Val]) -> _Val:
        if e.op in ("and", "or"):
            return self.andor(e.op == "or", lambda: self.cx(e.left, scope), lambda: self.cx(e.right, scope))
        left = self.cx(e.left, scope)
        right = self.cx(e.right, scope)
        settled = self.unknown_operands(left, right)
        if settled is not None:
            return settled
        if e.op == "^" or T.PERIOD in (self._type(e.left), self._type(e.right)):
            return self.power_or_period(e, left, right)
        if left.is_const and right.is_const:
            op = e.op
            return self.fold(lambda: _arith(op, left.const, right.const))
        a, b = self.expr(left), self.expr(right)
        if left.mu or right.mu:
            return _Val(f"_g_arith({e.op!r}, {a}, {b})", mu=True)
        lt, rt = self._type(e.left), self._type(e.right)
        # An integer is never a Fraction, whatever computed it.
        fast = (left.terminating or lt == T.INTEGER) and (right.terminating or rt == T.INTEGER) and e.op != "/"
        return _Val(self.arith_code(e.op, a, b, lt, rt, left, right, fast), dec=fast)

    def power_or_period(self, e: ast.Binary, left: _Val, right: _Val) -> _Val:
        """``x ^ n``, and months moving a date under the contract's month-end convention
        (whose readings count once the date is moved, as in the reference)."""
        a, b, op = self.expr(left), self.expr(right), e.op
        mu = left.mu or right.mu
        if op == "^":
            decimal = self._type(e) == T.DECIMAL
            if left.is_const and right.is_const:
                return self.fold(lambda: power(left.const, right.const, decimal))
            return _Val(f"{'_g_power' if mu else '_power'}({a}, {b}, {decimal!r})", mu=mu)
        convention = self.program.month_end
        rule = convention.rule if convention is not None else None
        uses = convention.uses.names if convention is not None and self._type(e) == T.DATE else ()
        if left.is_const and right.is_const:
            value = self.fold(lambda: period_arith(op, left.const, right.const, rule))
            if value.is_const:
                self.add_readings(uses)
            return value
        if mu:
            t = self.temp()
            self.emit(f"{t} = _g_period({op!r}, {a}, {b}, {rule!r})")
            if uses:
                with self.branch(f"if not _isinstance({t}, _Unknown):"):
                    self.add_readings(uses)
            return _Val(t, mu=True)
        self.add_readings(uses)
        return _Val(f"_period({op!r}, {a}, {b}, {rule!r})")

    def arith_code(self, op: str, a: str, b: str, lt: T.Type, rt: T.Type, left: _Val, right: _Val,
                   fast: bool = False) -> str:
        if lt == T.INTEGER and rt == T.INTEGER and op in "+-*":
            return f"({a} {op} {b})"
        decimal_side = (lt in _DECIMAL_TYPES or rt in _DECIMAL_TYPES
                        or (left.is_const and type(left.const) is Decimal)
                        or (right.is_const and type(right.const) is Decimal))
        if (decimal_side or op == "/") and lt in _NUMBERS and rt in _NUMBERS:
            # Terminating operands: the trapping Decimal operation itself (a result
            # longer than 40 digits raises, and the reference computes it exactly).
            function = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div"}[op]
            return f"{function}{'_d' if fast else ''}({a}, {b})"
        if op in "+-" and ((lt in (T.DATE, T.DATETIME) and rt == T.DURATION)
                           or (lt == rt and lt in (T.DATE, T.DATETIME, T.DURATION))):
            return f"({a} {op} {b})"
        return f"_arith({op!r}, {a}, {b})"

    def unknown_operands(self, *vals: _Val) -> _Val | None:
        """The Unknown an operation yields when a constant operand is Unknown and the
        others cannot be (the others are still computed, for their errors)."""
        unknowns = [v.const for v in vals if v.is_const and isinstance(v.const, Unknown)]
        if not unknowns:
            return None
        if any(v.mu for v in vals):
            return None
        for v in vals:
            self.drop(v)
        return _const(unknown(*unknowns))

    def c_Compare(self, e: ast.Compare, scope: dict[str, _Val]) -> _Val:
        left = self.cx(e.left, scope)
        right = self.cx(e.right, scope)
        settled = self.unknown_operands(left, right)
        if settled is not None:
            return settled
        op = e.op
        if left.is_const and right.is_const:
            return self.fold(lambda: _COMPARE[op](_orderable(left.const), _orderable(right.const)))
        a, b = self.expr(left), self.expr(right)
        if left.maybe_unknown or right.maybe_unknown:
            return _Val(f"_g_compare({op!r}, {a}, {b})", mu=True)
        lt, rt = self._type(e.left), self._type(e.right)
        if isinstance(lt, T.EnumType) or isinstance(rt, T.EnumType) or \
                (left.is_const and isinstance(left.const, Member)) or \
                (right.is_const and isinstance(right.const, Member)):
            return _Val(self.member_compare(op, left, right, lt, rt))
        return _Val(f"({a} {_PY_COMPARE[op]} {b})")

    def member_compare(self, op: str, left: _Val, right: _Val, lt: T.Type, rt: T.Type) -> str:
        # The reference compares members by rank (best first); none compares unequal.
        if right.is_const and isinstance(right.const, Member) and isinstance(lt, T.EnumType):
            return f"({self.expr(left)}.rank {_MIRROR[op]} {right.const.rank})"
        if left.is_const and isinstance(left.const, Member) and isinstance(rt, T.EnumType):
            return f"({left.const.rank} {_MIRROR[op]} {self.expr(right)}.rank)"
        if isinstance(lt, T.EnumType) and isinstance(rt, T.EnumType):
            # -left.rank OP -right.rank  ⇔  right.rank OP left.rank
            return f"({self.expr(right)}.rank {_PY_COMPARE[op]} {self.expr(left)}.rank)"
        return f"_g_compare({op!r}, {self.expr(left)}, {self.expr(right)})"

    def andor(self, decisive: bool, left_fn: Callable[[], _Val], right_fn: Callable[[], _Val]) -> _Val:
        """``and`` (decisive False) and ``or`` (decisive True), as the reference decides them."""
        dec = repr(decisive)
        left = left_fn()
        if left.is_const:
            if left.const is decisive:
                return _const(decisive)
            right = right_fn()
            if right.is_const:
                if right.const is decisive:
                    return _const(decisive)
                pending = first_unknowns((left.const, right.const))
                return _const(pending if pending is not None else not decisive)
            if isinstance(left.const, Unknown):
                return _Val(f"_g_andor({dec}, {self.k(left.const)}, {right.code})", mu=True)
            return right
        t = self.temp()
        self.emit(f"{t} = {left.code}")
        if left.mu:
            header = f"if {t} is not {dec}:"
        else:
            header = f"if not {t}:" if decisive else f"if {t}:"
        mu = left.mu
        with self.branch(header):
            right = right_fn()
            if right.is_const:
                if right.const is decisive:
                    self.emit(f"{t} = {dec}")
                elif isinstance(right.const, Unknown):
                    self.emit(f"{t} = _g_andor({dec}, {t}, {self.k(right.const)})")
                    mu = True
            elif left.mu or right.mu:
                self.emit(f"{t} = _g_andor({dec}, {t}, {right.code})")
                mu = True
            else:
                self.emit(f"{t} = {right.code}")
        return _Val(t, mu=mu)

    def c_Unless(self, e: ast.Unless, scope: dict[str, _Val]) -> _Val:
        # `rule unless exception` decides exactly as `rule and not exception`.
        return self.andor(False, lambda: self.cx(e.rule, scope),
                          lambda: self.negation(self.cx(e.exception, scope)))

    def c_Conditions(self, e: ast.Conditions, scope: dict[str, _Val]) -> _Val:
        decisive = e.quantifier == "any"
        values = [self.cx(item.expr, scope) for item in e.items]
        if any(v.is_const and v.const is decisive for v in values):
            return _const(decisive)  # the reference swallows the other items' errors once settled
        codes = [v for v in values if not v.is_const]
        unknowns = [v.const for v in values if v.is_const and isinstance(v.const, Unknown)]
        if not codes:
            return _const(unknown(*unknowns) if unknowns else not decisive)
        if any(v.mu for v in codes):
            items = ", ".join(self.expr(v) for v in values)
            return _Val(f"_g_conditions({decisive!r}, ({items},))", mu=True)
        joiner = " or " if decisive else " and "
        parts = [v.code for v in codes]
        if decisive and not unknowns and len(parts) > 2:
            ranks = [m for p in parts if (m := _RANK_IS.fullmatch(str(p)))]
            if len(ranks) == len(parts) and len({m.group(1) for m in ranks}) == 1:
                # `any of: x = A, x = B, …` on one enum value: one set lookup, not a chain.
                members = frozenset(int(m.group(2)) for m in ranks)
                return _Val(f"({ranks[0].group(1)}.rank in {self.k(members)})")
        if unknowns:
            parts.append(self.k(unknown(*unknowns)))
        return _Val("(" + joiner.join(str(p) for p in parts) + ")", mu=bool(unknowns))

    def c_If(self, e: ast.If, scope: dict[str, _Val]) -> _Val:
        condition = self.cx(e.condition, scope)
        if condition.is_const:
            if isinstance(condition.const, Unknown):
                return self.undecided_if(e, scope, condition)
            return self.cx(e.then if condition.const else e.otherwise, scope)
        condition = self.bind(condition)
        t = self.temp()
        c = condition.code
        header = f"if {c}:"
        if condition.mu:
            with self.branch(f"if _isinstance({c}, _Unknown):"):
                undecided = self.undecided_if(e, scope, condition)
                self.emit(f"{t} = {self.expr(undecided)}")
            header = f"elif {c}:"
        with self.branch(header):
            then = self.cx(e.then, scope)
            self.emit(f"{t} = {self.expr(then)}")
        with self.branch("else:"):
            otherwise = self.cx(e.otherwise, scope)
            self.emit(f"{t} = {self.expr(otherwise)}")
        return _Val(t, mu=condition.mu or then.maybe_unknown or otherwise.maybe_unknown,
                    dec=then.terminating and otherwise.terminating)

    def undecided_if(self, e: ast.If, scope: dict[str, _Val], condition: _Val) -> _Val:
        """An `if` whose condition is Unknown: the reference evaluates both branches and
        names every fact either may need (a branch that fails here goes to the reference)."""
        branches = [self.bind(self.cx(e.then, scope)), self.bind(self.cx(e.otherwise, scope))]
        if condition.is_const and not any(b.mu for b in branches):
            return _const(unknown(condition.const, *[b.const for b in branches
                                                      if b.is_const and isinstance(b.const, Unknown)]))
        listed = ", ".join(self.expr(v) for v in (condition, *branches))
        return _Val(f"_g_collect(({listed},))", mu=True)

    def c_Otherwise(self, e: ast.Otherwise, scope: dict[str, _Val]) -> _Val:
        value = self.cx(e.value, scope)
        if value.is_const:
            return self.cx(e.fallback, scope) if value.const is None else value
        t = self.temp()
        self.emit(f"{t} = {value.code}")
        with self.branch(f"if {t} is None:"):
            fallback = self.cx(e.fallback, scope)
            self.emit(f"{t} = {self.expr(fallback)}")
        return _Val(t, mu=value.mu or fallback.maybe_unknown, dec=value.dec and fallback.terminating)

    def negation(self, value: _Val) -> _Val:
        if value.is_const:
            return value if isinstance(value.const, Unknown) else _const(not value.const)
        if value.mu:
            return _Val(f"_g_not({value.code})", mu=True)
        return _Val(f"(not {value.code})")

    def c_Not(self, e: ast.Not, scope: dict[str, _Val]) -> _Val:
        return self.negation(self.cx(e.operand, scope))

    def c_Negate(self, e: ast.Negate, scope: dict[str, _Val]) -> _Val:
        value = self.cx(e.operand, scope)
        if value.is_const:
            if isinstance(value.const, Unknown):
                return value
            return self.fold(lambda: -value.const)
        if value.mu:
            return _Val(f"_g_negate({value.code})", mu=True)
        return _Val(f"(-{value.code})", dec=value.dec)

    def c_IsNone(self, e: ast.IsNone, scope: dict[str, _Val]) -> _Val:
        value = self.cx(e.operand, scope)
        if value.is_const:
            if isinstance(value.const, Unknown):
                return value
            return _const((value.const is not None) if e.negated else (value.const is None))
        if value.mu:
            return _Val(f"_g_is_none({value.code}, {e.negated!r})", mu=True)
        return _Val(f"({value.code} is {'not ' if e.negated else ''}None)")

    def c_Field(self, e: ast.Field, scope: dict[str, _Val]) -> _Val:
        target_type = self.program.node_types.get(id(e.target))
        if isinstance(target_type, T.EnumType) and isinstance(e.target, ast.Name) and e.target.name not in scope \
                and e.target.name in self.program.enums:
            return _const(_member(target_type, e.name))
        target = self.cx(e.target, scope)
        if target.is_const:
            if isinstance(target.const, Unknown):
                return target
            return self.fold(lambda: _g_field(target.const, e.name))
        if target.mu:
            return _Val(f"_g_field({target.code}, {e.name!r})", mu=True)
        return _Val(f"{target.code}[{e.name!r}]")

    def c_RecordLiteral(self, e: ast.RecordLiteral, scope: dict[str, _Val]) -> _Val:
        values = [self.cx(v, scope) for _, v in e.fields]
        names = [n for n, _ in e.fields]
        settled = self.unknown_operands(*values)
        if settled is not None:
            return settled
        if all(v.is_const for v in values):
            pending = first_unknowns(v.const for v in values)
            return _const(pending if pending is not None else {n: v.const for n, v in zip(names, values, strict=True)})
        items = ", ".join(self.expr(v) for v in values)
        if any(v.maybe_unknown for v in values):
            return _Val(f"_g_record({self.k(tuple(names))}, ({items},))", mu=True)
        return _Val("{" + ", ".join(f"{n!r}: {self.expr(v)}" for n, v in zip(names, values, strict=True)) + "}")

    def c_ListLiteral(self, e: ast.ListLiteral, scope: dict[str, _Val]) -> _Val:
        values = [self.cx(v, scope) for v in e.items]
        settled = self.unknown_operands(*values)
        if settled is not None:
            return settled
        if all(v.is_const for v in values):
            pending = first_unknowns(v.const for v in values)
            return _const(pending if pending is not None else tuple(v.const for v in values))
        items = "".join(self.expr(v) + ", " for v in values)
        if any(v.maybe_unknown for v in values):
            return _Val(f"_g_list(({items}))", mu=True)
        return _Val(f"({items})")

    def c_Call(self, e: ast.Call, scope: dict[str, _Val]) -> _Val:
        program = self.program
        if e.function in program.enums:
            enum = program.enums[e.function]
            text = self.cx(e.args[0], scope)
            if text.is_const:
                if isinstance(text.const, Unknown):
                    return text
                return self.fold(lambda: _enum_of(enum, text.const))
            if text.mu:
                t = self.bind(text).code
                return _Val(f"({t} if _isinstance({t}, _Unknown) else _enum_of({self.k(enum)}, {t}))", mu=True)
            return _Val(f"_enum_of({self.k(enum)}, {text.code})")
        args = [self.cx(a, scope) for a in e.args]
        settled = self.unknown_operands(*args)
        if settled is not None:
            return settled
        if any(a.mu for a in args):
            # Unknown at run time or not: decide there, as the reference does.
            args = [self.bind(a) for a in args]
            t = self.temp()
            listed = ", ".join(self.expr(a) for a in args)
            self.emit(f"{t} = _g_collect(({listed},))")
            with self.branch(f"if {t} is None:"):
                value = self.call_known(e, [_Val(a.code, a.const, False) for a in args])
                self.emit(f"{t} = {self.expr(value)}")
            return _Val(t, mu=True)
        return self.call_known(e, args)

    def call_known(self, e: ast.Call, args: list[_Val]) -> _Val:
        program = self.program
        if e.function in program.functions:
            info = program.functions[e.function]
            if e.function in program.recursive:  # memoised and bounded by the reference evaluator
                raise Unsupported(f"`{e.function}` is recursive")
            self.add_readings(info.decl.uses.names)
            if self.depth > _MAX_INLINE_DEPTH:
                raise Unsupported(f"`{e.function}` calls itself")
            inner = {name: self.bind(arg) for (name, _), arg in zip(info.params, args, strict=True)}
            self.depth += 1
            tctx = self.tctx
            if self.tracing:
                self.tctx = self.child(e)
            try:
                return self.cx(info.decl.expr, inner)
            finally:
                self.depth -= 1
                self.tctx = tctx
        if e.function == "text":  # formatted by the argument's checked type
            formatter = functools.partial(words, type_=self._type(e.args[0]))
            if args[0].is_const:
                return self.fold(lambda: formatter(args[0].const))
            return _Val(f"{self.k(formatter)}({self.expr(args[0])})")
        builtin = BUILTINS[e.function]
        if all(a.is_const for a in args):
            values = [a.const for a in args]
            if not builtin.skips_none and any(v is None for v in values):
                return _Val(f"_fail({self.k(e.function + '() was given none')})")
            return self.fold(lambda: builtin.run(*values))
        if e.function == "round" and args[1].is_const and args[2].is_const:
            fast = self.round_code(args[0], args[1].const, args[2].const)
            if fast is not None:
                return _Val(fast, dec=True)
        texts = []
        for node, arg in zip(e.args, args, strict=True):
            text = self.expr(arg)
            node_type = self._type(node)
            if not builtin.skips_none and not arg.is_const and \
                    (isinstance(node_type, T.OptionalType) or node_type in (T.NONE, T.ANY)):
                text = f"_not_none({text})"
            texts.append(text)
        return _Val(f"{self.k(builtin.run)}({', '.join(texts)})")

    def round_code(self, value: _Val, increment: Any, mode: Any) -> str | None:
        """round(x, constant increment, mode) inline: on the exact value of x."""
        if mode not in _ROUNDING or isinstance(increment, bool) or not isinstance(increment, (int, Decimal)):
            return None
        if not increment > 0:
            return None
        rounded = f"_round({self.expr(value)}, {self.k(increment)}, {mode!r})"
        return f"int({rounded})" if isinstance(increment, int) else rounded

    def c_Aggregate(self, e: ast.Aggregate, scope: dict[str, _Val]) -> _Val:
        source = self.cx(e.source, scope)
        if source.is_const and isinstance(source.const, Unknown):
            return source
        if source.mu:
            return self.over_list_that_may_be_unknown(source, lambda known: self.aggregate(e, known, scope))
        return self.aggregate(e, source, scope)

    def over_list_that_may_be_unknown(self, source: _Val, compute: Callable[[_Val], _Val],
                                      initial: _Val | None = None) -> _Val:
        """An aggregate, scan or fold over a list known only at run time (a fold's state,
        a field of it): Unknown when the list is (with a fold's initial state, if that is
        Unknown too), as in the reference."""
        listed = self.bind(source)
        result = self.temp()
        with self.branch(f"if _isinstance({listed.code}, _Unknown):"):
            if initial is None:
                self.emit(f"{result} = {listed.code}")
            else:
                self.emit(f"{result} = _first_unknowns(({self.expr(initial)}, {listed.code}))")
        with self.branch("else:"):
            value = compute(_Val(listed.code))
            self.emit(f"{result} = {self.expr(value)}")
        return _Val(result, mu=True)

    def aggregate(self, e: ast.Aggregate, source: _Val, scope: dict[str, _Val]) -> _Val:
        function = e.function
        n = next(self.counter)
        item, values, pending, result = f"it{n}", f"vs{n}", f"pe{n}", f"ag{n}"
        count, found = f"cn{n}", f"fd{n}"
        preamble = len(self.block)  # the five lines below, which a lean loop rewrites
        self.emit(f"{values} = []")
        self.emit(f"{pending} = []")
        self.emit(f"{count} = 0")
        self.emit(f"{result} = None")
        self.emit(f"{found} = False")
        counted = appended = -1
        inner = {**scope, e.variable: _Val(item)}
        may_be_unknown = False
        if self.tracing:  # each item's values go into a tuple of the aggregate's record
            rec = self.slot((self.tctx, -id(e)))
            self.emit(f"{rec} = []")
            outer = (self.tctx, self.scope)
            self.tctx = self.child(e, _Scope())
            self.scope = self.ctx_scope[self.tctx]
        with self.branch(f"for {item} in {self.expr(source)}:"):
            if self.tracing:
                reset = len(self.block)
                self.emit("pass")  # becomes the reset of the item's slots
                self.emit("try:")
                self.indent += 1
            if e.where is not None:
                keep = self.bind(self.cx(e.where, inner))
                if keep.maybe_unknown:
                    may_be_unknown = True
                    self.emit(f"if _isinstance({self.expr(keep)}, _Unknown):")
                    self.emit(f"    {pending}.append({self.expr(keep)})")
                    self.emit("    continue")
                self.emit(f"if not {self.expr(keep)}:")
                self.emit("    continue")
            counted = len(self.block)
            self.emit(f"{count} += 1")
            if function != "count":
                value = self.bind(self.cx(e.body, inner))
                if value.maybe_unknown:
                    may_be_unknown = True
                    self.emit(f"if _isinstance({self.expr(value)}, _Unknown):")
                    self.emit(f"    {pending}.append({self.expr(value)})")
                appended = len(self.block)
                self.emit(f"{values}.append({self.expr(value)})")
            if function == "first":
                self.emit(f"if not {pending}:")
                self.emit(f"    {result} = {values}[0]")
                self.emit(f"    {found} = True")
                self.emit("    break")
            if self.tracing:
                self.indent -= 1
                slots = self.scope.vars
                self.emit("finally:")
                self.emit(f"    {rec}.append(({''.join(v + ', ' for v in slots)}))")
                if slots:
                    self.block[reset] = "    " * self.indent + f"{' = '.join(slots)} = _M"
                self.tctx, self.scope = outer
        if not self.tracing and not may_be_unknown and function in ("sum", "count"):
            return self.lean_aggregate(e, preamble, counted, appended, (values, count, result))
        # After the loop: what the reference returns, in its order of checks.
        if function == "first":
            self.emit(f"if not {found} and {pending}:")
            self.emit(f"    {result} = _unknown(*{pending})")
            return _Val(result, mu=may_be_unknown)
        checks = {
            "any": f"True if any(v is True for v in {values}) else (_unknown(*{pending}) if {pending} else False)",
            "all": f"False if any(v is False for v in {values}) else (_unknown(*{pending}) if {pending} else True)",
            "count": f"_unknown(*{pending}) if {pending} else {count}",
            "list": f"_unknown(*{pending}) if {pending} else tuple({values})",
        }
        if function in checks:
            self.emit(f"{result} = {checks[function]}")
            return _Val(result, mu=may_be_unknown)
        self.emit(f"if {pending}:")
        self.emit(f"    {result} = _unknown(*{pending})")
        if function == "sum":
            result_type = self.program.node_types.get(id(e))
            self.emit("else:")
            if result_type == T.INTEGER:
                self.emit(f"    {result} = sum({values})")
            else:
                self.emit(f"    {result} = _D(0)")
                self.emit(f"    for v in {values}:")
                self.emit(f"        {result} = _arith('+', {result}, v)")
        else:
            if function not in ("min", "max"):  # only names of Python built-ins go into the source
                raise Unsupported(f"the aggregate `{function}`")
            self.emit(f"elif {values}:")
            self.emit(f"    {result} = {function}({values})")
        return _Val(result, mu=may_be_unknown)

    def lean_aggregate(self, e: ast.Aggregate, preamble: int, counted: int, appended: int,
                       names: tuple[str, str, str]) -> _Val:
        """A sum or count none of whose items can be Unknown, accumulated in the loop
        itself: no list of values, no list of pending Unknowns (the §6(b) options'
        sum is one). The same left-to-right sum as the general form's."""
        block = self.block
        indent = block[preamble][: len(block[preamble]) - len(block[preamble].lstrip())]
        values, count, result = names
        block[preamble] = block[preamble + 1] = block[preamble + 4] = ""
        if e.function == "count":
            block[preamble + 3] = ""
            return _Val(count)
        block[counted] = ""
        block[preamble + 2] = ""
        line = block[appended]
        item = line.strip()[len(f"{values}.append("):-1]
        inner = line[: len(line) - len(line.lstrip())]
        if self.program.node_types.get(id(e)) == T.INTEGER:
            block[preamble + 3] = f"{indent}{result} = 0"
            block[appended] = f"{inner}{result} += {item}"
        else:
            block[preamble + 3] = f"{indent}{result} = _D(0)"
            block[appended] = f"{inner}{result} = _arith('+', {result}, {item})"
        return _Val(result)

    # ------------------------------------------------------------ lists in order
    def c_Index(self, e: ast.Index, scope: dict[str, _Val]) -> _Val:
        target = self.cx(e.target, scope)
        index = self.cx(e.index, scope)
        settled = self.unknown_operands(target, index)
        if settled is not None:
            return settled
        if target.is_const and index.is_const:
            return self.fold(lambda: _g_index(target.const, index.const))
        a, b = self.expr(target), self.expr(index)
        if target.maybe_unknown or index.maybe_unknown:
            return _Val(f"_g_index({a}, {b})", mu=True)
        return _Val(f"{a}[{b}]")  # out of range raises: the reference then reports it

    def c_RecordUpdate(self, e: ast.RecordUpdate, scope: dict[str, _Val]) -> _Val:
        target = self.cx(e.target, scope)
        values = [self.cx(v, scope) for _, v in e.fields]
        names = tuple(n for n, _ in e.fields)
        settled = self.unknown_operands(target, *values)
        if settled is not None:
            return settled
        if target.is_const and all(v.is_const for v in values):
            return self.fold(lambda: _g_update(target.const, names, [v.const for v in values]))
        items = "".join(self.expr(v) + ", " for v in values)
        if target.maybe_unknown or any(v.maybe_unknown for v in values):
            return _Val(f"_g_update({self.expr(target)}, {self.k(names)}, ({items}))", mu=True)
        replaced = ", ".join(f"{n!r}: {self.expr(v)}" for n, v in zip(names, values, strict=True))
        return _Val(f"{{**{self.expr(target)}, {replaced}}}")

    def c_Sort(self, e: ast.Sort, scope: dict[str, _Val]) -> _Val:
        source = self.cx(e.source, scope)
        if source.is_const:
            return source if isinstance(source.const, Unknown) else self.fold(lambda: sort_items(source.const, e.keys))
        if source.mu:
            return _Val(f"_g_sort({source.code}, {self.k(e.keys)})", mu=True)
        return _Val(f"_sort({source.code}, {self.k(e.keys)})")

    def c_InEffect(self, e: ast.InEffect, scope: dict[str, _Val]) -> _Val:
        source = self.cx(e.source, scope)
        on = self.cx(e.on, scope)
        settled = self.unknown_operands(source, on)
        if settled is not None:
            return settled
        if source.is_const and on.is_const:
            return self.fold(lambda: _g_in_effect(source.const, on.const, e.key))
        a, b = self.expr(source), self.expr(on)
        if source.maybe_unknown or on.maybe_unknown:
            return _Val(f"_g_in_effect({a}, {b}, {self.k(e.key)})", mu=True)
        return _Val(f"_in_effect({a}, {b}, {self.k(e.key)})")

    def c_Fold(self, e: ast.Fold, scope: dict[str, _Val]) -> _Val:
        initial = self.bind(self.cx(e.initial, scope))
        source = self.cx(e.source, scope)
        if source.is_const and isinstance(source.const, Unknown):
            if initial.is_const:
                return _const(first_unknowns((initial.const, source.const)))
            return _Val(f"_g_collect(({self.expr(initial)}, {self.k(source.const)}))", mu=True)
        if source.mu:
            return self.over_list_that_may_be_unknown(source, lambda known: self.fold_over(e, initial, known, scope),
                                                     initial)
        return self.fold_over(e, initial, source, scope)

    def fold_over(self, e: ast.Fold, initial: _Val, source: _Val, scope: dict[str, _Val]) -> _Val:
        n = next(self.counter)
        item, state, states = f"it{n}", f"st{n}", f"ss{n}"
        self.emit(f"{state} = {self.expr(initial)}")
        if e.kind == "scan":
            self.emit(f"{states} = []")
        inner = {**scope, e.variable: _Val(item), e.state: _Val(state, mu=True)}
        if self.tracing:  # each item's values go into a tuple of the fold's record, as an aggregate's
            rec = self.slot((self.tctx, -id(e)))
            self.emit(f"{rec} = []")
            outer = (self.tctx, self.scope)
            self.tctx = self.child(e, _Scope())
            self.scope = self.ctx_scope[self.tctx]
        with self.branch(f"for {item} in {self.expr(source)}:"):
            if self.tracing:
                reset = len(self.block)
                self.emit("pass")  # becomes the reset of the item's slots
                self.emit("try:")
                self.indent += 1
            step = self.cx(e.body, inner)
            self.emit(f"{state} = {self.expr(step)}")
            if e.kind == "scan":
                self.emit(f"{states}.append({state})")
            if self.tracing:
                self.indent -= 1
                slots = self.scope.vars
                self.emit("finally:")
                self.emit(f"    {rec}.append(({''.join(v + ', ' for v in slots)}))")
                if slots:
                    self.block[reset] = "    " * self.indent + f"{' = '.join(slots)} = _M"
                self.tctx, self.scope = outer
        if e.kind == "fold":
            return _Val(state, mu=True)
        return _Val(f"_g_list(tuple({states}))", mu=True)

    def _type(self, node: ast.Expr) -> T.Type:
        return self.program.node_types.get(id(node), T.ANY)


# ---------------------------------------------------------------- entry points


def compile_shape(program: Program, given: frozenset[str], results: Sequence[str] | None = None) -> CompiledShape:
    """Compile ``program`` for scenarios that give exactly the facts ``given``."""
    wanted = tuple(program.results if results is None else results)
    generator = _Generator(program, given, wanted)
    source = generator.generate()
    code = _code(source, "<clause>")
    namespace = generator.globals
    exec(code, namespace)
    run = namespace["_run"]
    return CompiledShape(given, wanted, source, run, generator.constant, tuple(generator.positions))


def _code(source: str, name: str) -> Any:
    try:
        return compile(source, name, "exec")
    except (RecursionError, SyntaxError, MemoryError):  # nested past what CPython compiles
        raise Unsupported("an expression nested too deeply to compile") from None


_UNSUPPORTED = "_compiled_unsupported"
_CONSTANT_RULES = "_constant_rules"


def constant_rules(program: Program) -> dict[str, tuple[object, frozenset[str]]]:
    """The rules no fact reaches (dates, prices, business days…): their values and
    readings, the same in every scenario. They are computed once and kept with the
    contract in the cache, so evaluating a cached contract needs no calendar library."""
    generator = _Generator(program, frozenset(program.facts), tuple(program.rules))
    try:
        generator.generate()
    except Unsupported:
        return {}
    return {name: (rule.val.const, rule.readings) for name, rule in generator.rules.items()
            if rule.val.is_const and rule.readings is not None}


def fold_constant_rules(program: Program) -> None:
    program.__dict__[_CONSTANT_RULES] = constant_rules(program)

_SHAPES = "_compiled_shapes"


def shape_for(program: Program, given: frozenset[str], results: tuple[str, ...] | None = None) -> CompiledShape | None:
    """The compiled function for a shape, compiled once per program and shape (None: unsupported)."""
    state = program.__dict__
    if state.get(_UNSUPPORTED):
        return None
    shapes: dict[tuple[frozenset[str], tuple[str, ...] | None], CompiledShape] = state.setdefault(_SHAPES, {})
    key = (given, results)
    compiled = shapes.get(key)
    if compiled is None:
        try:
            compiled = compile_shape(program, given, results)
        except Unsupported:
            state[_UNSUPPORTED] = True
            return None
        shapes[key] = compiled
    return compiled


def compiled_evaluation(program: Program, facts: Mapping[str, object],
                        results: tuple[str, ...] | None = None) -> Evaluation:
    """An ``Evaluation`` whose results (all the contract's by default) the compiled code has already computed.

    It behaves like the reference ``Evaluation`` (defines not among the
    results are still computed lazily on request). When the compiled code
    fails, the scenario is left to the reference evaluator, which reports
    the error with its clause-file position.
    """
    evaluation = Evaluation(program, facts)
    computed = evaluate_values(program, facts, results)
    if computed is not None:
        done = evaluation.done
        for name, (value, used) in computed.items():
            done[name] = _Done(value, used)
    return evaluation


def evaluate_values(program: Program, facts: Mapping[str, object],
                    results: tuple[str, ...] | None = None) -> dict[str, tuple[object, frozenset[str]]] | None:
    """Compiled values and readings of the results (None when the compiled path
    does not apply: an unsupported program or a scenario whose evaluation fails)."""
    compiled = shape_for(program, frozenset(facts), results)
    if compiled is None:
        return None
    try:
        values, readings = compiled.run(facts)
    except Exception:
        return None
    pairs = zip(compiled.results, values, readings, strict=True)
    return {name: (value, frozenset(used)) for name, value, used in pairs}


# ---------------------------------------------------------------- traced evaluation


def compile_traced_shape(program: Program, given: frozenset[str],
                         results: Sequence[str] | None = None) -> TracedShape:
    """Compile ``program`` with tracing for scenarios that give exactly the facts ``given``.

    The code is the untraced shape's, except that the value of every node
    computed at run time is also kept in a local slot (one store), an
    aggregate keeps a tuple of its item's slots per item, and the function
    returns the slots with the results: the record from which ``_Replay``
    builds the reference evaluator's trace, when the trace is read."""
    wanted = tuple(program.results if results is None else results)
    generator = _Generator(program, given, wanted, trace=True)
    source = generator.generate()
    code = _code(source, "<clause traced>")
    namespace = generator.globals
    exec(code, namespace)
    return TracedShape(given, wanted, source, namespace["_run"], generator.plan, tuple(generator.positions))


def traced_shape_for(program: Program, given: frozenset[str],
                     results: tuple[str, ...] | None = None) -> TracedShape | None:
    """The traced function for a shape, compiled once per program and shape (None: unsupported)."""
    state = program.__dict__
    if state.get(_UNSUPPORTED):
        return None
    shapes: dict[Any, Any] = state.setdefault(_SHAPES, {})  # beside the untraced shapes, never cached on disk
    key = ("traced", given, results)
    if key in shapes:
        found: TracedShape | None = shapes[key]
        return found
    try:
        compiled: TracedShape | None = compile_traced_shape(program, given, results)
    except Unsupported:
        compiled = None
    shapes[key] = compiled
    return compiled


def traced_evaluation(program: Program, facts: Mapping[str, object],
                      results: tuple[str, ...] | None = None, *, full_lists: bool = False) -> Evaluation:
    """A traced ``Evaluation`` of ``results`` (all the contract's by default), computed by
    compiled code: the values and readings at once, the trace when it is read.
    ``full_lists``: every item of a long list keeps all its steps (else see ``ListSteps``).

    When the program or the scenario is not for the compiled code (an
    unsupported construct, an evaluation error), this is the reference
    evaluator's own traced ``Evaluation``."""
    compiled = traced_shape_for(program, frozenset(facts), results)
    if compiled is None:
        return Evaluation(program, facts, trace=True, full_lists=full_lists)
    try:
        values, readings, record = compiled.run(facts)
    except Exception:
        return Evaluation(program, facts, trace=True, full_lists=full_lists)
    return TracedEvaluation(program, facts, compiled, values, readings, record, full_lists=full_lists)


class TracedEvaluation(Evaluation):
    """The traced evaluation of a compiled run: what the reference ``Evaluation(trace=True)``
    holds once it has evaluated the shape's results, in order.

    ``done`` has the results at once; ``traces`` (and the defines in ``done``,
    and the facts' defaults) are built from the run's record when first read.
    Any rule, fact or expression asked for afterwards is the reference
    evaluator's business, continuing from that state exactly as it would."""

    def __init__(self, program: Program, facts: Mapping[str, object], shape: TracedShape,
                 values: tuple[object, ...], readings: tuple[frozenset[str] | set[str], ...],
                 record: tuple[object, ...], *, full_lists: bool = False):
        super().__init__(program, facts, trace=True, full_lists=full_lists)
        self._shape = shape
        self._pending: tuple[object, ...] | None = record
        self.rebuilt_by_reference = False  # set when the record did not fit the plan (see _materialize)
        done = self.done
        for name, value, used in zip(shape.results, values, readings, strict=True):
            done[name] = _Done(value, used if isinstance(used, frozenset) else frozenset(used))

    @property  # type: ignore[override]
    def traces(self) -> dict[str, RuleTrace]:
        if self._pending is not None:
            self._materialize()
        return self._traces

    @traces.setter
    def traces(self, value: dict[str, RuleTrace]) -> None:
        self._traces = value

    def _materialize(self) -> None:
        record, self._pending = self._pending, None
        if record is None:
            return
        results = self._shape.results
        try:
            replay = _Replay(self.program, self.facts, self._shape.plan, record, self.full_lists)
            for name in results:
                replay.rule(name)
            traces, done, defaults = replay.traces, replay.done, replay.defaults
        except Exception:  # the record does not fit the plan: never expected, and never wrong
            reference = Evaluation(self.program, self.facts, trace=True, full_lists=self.full_lists)
            for name in results:
                reference.rule(name)
            traces, done, defaults = reference.traces, reference.done, reference.fact_defaults
            self.rebuilt_by_reference = True
        self._traces.update(traces)
        for name, rule in done.items():
            self.done.setdefault(name, rule)
        for name, default in defaults.items():
            self.fact_defaults.setdefault(name, default)

    def rule(self, name: str) -> _Done:
        done = self.done.get(name)
        if done is not None:
            return done
        self._materialize()
        return super().rule(name)

    def fact(self, name: str) -> object:
        self._materialize()
        return super().fact(name)

    def ev(self, node: ast.Expr, env: dict[str, object]) -> object:
        self._materialize()
        return super().ev(node, env)


class _ReplayMismatch(Exception):
    """The record has no value where the reference evaluator evaluated a node."""


class _Replay:
    """The reference evaluator's trace, rebuilt from a traced run's record.

    It walks the expressions exactly as ``engine.evaluate.Evaluation`` does
    (the same order, the same short-circuits, both branches of an undecided
    ``if``, every item of ``all of``/``any of``) and makes the same ``Step``
    for each node it evaluates; but it computes nothing: each node's value is
    read from the record (or is the constant the compiler computed), and a
    decision (``and``, ``if``, ``where``…) is taken on the values read. Reads
    and readings are gathered as the reference gathers them.

    A replay that raises is thrown away (the reference evaluator then builds
    the trace), so it does not restore its state on the way out. It reads
    each item's slots once, and drops them from the record as it goes: a long
    list's record is freed while its (pruned, ``ListSteps``) steps are made.
    """

    def __init__(self, program: Program, facts: Mapping[str, object], plan: _TracePlan,
                 record: tuple[object, ...], full_lists: bool = False):
        self.program = program
        self.facts = facts
        self.plan = plan
        self.full_lists = full_lists
        self.sources = plan.sources
        self.top = record
        self.rec: Sequence[object] = record
        self.ctx = 0
        self.done: dict[str, _Done] = {}
        self.traces: dict[str, RuleTrace] = {}
        self.defaults: dict[str, object] = {}
        self.frame = _Frame("")
        self.steps: list[Step] = []

    def rule(self, name: str) -> _Done:
        done = self.done.get(name)
        if done is not None:
            return done
        info = self.program.rules[name]
        frame = _Frame(name, {}, set(info.decl.uses.names), [])
        saved = (self.frame, self.steps, self.ctx, self.rec)
        self.frame, self.steps, self.ctx, self.rec = frame, frame.steps, self.plan.rule_ctx[name], self.top
        value = self.ev(info.decl.expr, {})
        self.frame, self.steps, self.ctx, self.rec = saved
        done = self.done[name] = _Done(value, frozenset(frame.readings))
        step = frame.steps[0] if frame.steps else None
        self.traces[name] = RuleTrace(name, info.section, value, step, frame.reads, sorted(frame.readings))
        return done

    def value(self, e: ast.Expr) -> object:
        index, const = self.sources[(self.ctx, id(e))]
        if index < 0:
            return const
        value = self.rec[index]
        if value is _MISSING:
            raise _ReplayMismatch(self.program.sources.text(e.span))
        return value

    def ev(self, e: ast.Expr, env: dict[str, object]) -> object:
        kind = type(e)
        parent = self.steps
        if kind is ast.Literal:
            value = e.value  # type: ignore[union-attr]
            parent.append(Step(e, value, []))
            return value
        step = Step(e, None, [])
        parent.append(step)
        self.steps = step.children
        if kind is ast.Name:
            value = self.name(e, env)  # type: ignore[arg-type]
            step.local = e.name in env  # type: ignore[union-attr]
        else:
            value = _REPLAY[kind](self, e, env)
        self.steps = parent
        step.value = value
        return value

    def name(self, e: ast.Name, env: dict[str, object]) -> object:
        name = e.name
        if name in env:
            return env[name]
        program = self.program
        frame = self.frame
        if name in program.facts:
            value = self.fact(name)
            frame.reads[name] = value
            return value
        if name in program.rules:
            done = self.rule(name)
            frame.reads[name] = done.value
            frame.readings |= done.readings
            return done.value
        if name in program.zones:
            frame.readings.update(program.zone_decls[name].uses.names)
            return program.zones[name]
        if name in program.calendars:
            decl = program.calendars[name]
            frame.readings.update(decl.uses.names)
            found = self.sources.get((self.ctx, id(e)))
            return found[1] if found is not None else calendar(decl.name, decl.financial_code)
        if name in T.ROUNDING_MODES:
            return name
        if name in program.enums:
            return program.enums[name]
        raise _ReplayMismatch(f"unknown name `{name}`")

    def fact(self, name: str) -> object:
        if name in self.facts:
            return self.facts[name]
        info = self.program.facts[name]
        if info.decl.default is None:
            return Unknown(frozenset((name,)))
        if name not in self.defaults:
            saved = (self.ctx, self.rec)
            self.ctx, self.rec = self.plan.default_ctx[name], self.top
            self.defaults[name] = self.ev(info.decl.default, {})
            self.ctx, self.rec = saved
        return self.defaults[name]

    # Each method below evaluates the children the reference evaluates, in its
    # order, then reads the node's own value.

    def binary(self, e: ast.Binary, env: dict[str, object]) -> object:
        if e.op == "and" or e.op == "or":
            if self.ev(e.left, env) is not (e.op == "or"):
                self.ev(e.right, env)
            return self.value(e)
        self.ev(e.left, env)
        self.ev(e.right, env)
        value = self.value(e)
        convention = self.program.month_end
        if convention is not None and isinstance(value, dt.date) and \
                T.PERIOD in (self.program.node_types.get(id(e.left)), self.program.node_types.get(id(e.right))):
            self.frame.readings.update(convention.uses.names)
        return value

    def compare(self, e: ast.Compare, env: dict[str, object]) -> object:
        self.ev(e.left, env)
        self.ev(e.right, env)
        return self.value(e)

    def field(self, e: ast.Field, env: dict[str, object]) -> object:
        target_type = self.program.node_types.get(id(e.target))
        if not (isinstance(target_type, T.EnumType) and isinstance(e.target, ast.Name)
                and e.target.name not in env and e.target.name in self.program.enums):
            self.ev(e.target, env)
        return self.value(e)

    def call(self, e: ast.Call, env: dict[str, object]) -> object:
        program = self.program
        if e.function in program.enums:
            self.ev(e.args[0], env)
            return self.value(e)
        args = [self.ev(a, env) for a in e.args]
        if e.function in program.functions and not any(isinstance(a, Unknown) for a in args):
            info = program.functions[e.function]
            self.frame.readings.update(info.decl.uses.names)
            scope = {name: value for (name, _), value in zip(info.params, args, strict=False)}
            ctx = self.ctx
            self.ctx = self.plan.child_ctx[(ctx, id(e))]
            self.ev(info.decl.expr, scope)
            self.ctx = ctx
        return self.value(e)

    def aggregate(self, e: ast.Aggregate, env: dict[str, object]) -> object:
        source = self.ev(e.source, env)
        if not isinstance(source, Unknown):
            assert isinstance(source, tuple)
            ctx, rec = self.ctx, self.rec
            items = rec[self.sources[(ctx, -id(e))][0]]
            assert isinstance(items, list)
            self.ctx = self.plan.child_ctx[(ctx, id(e))]
            pending = False
            lists = self.list_steps(len(source), e.function, e.where is not None)
            for index, item in enumerate(source):
                if lists is not None:
                    lists.next()
                self.rec, items[index] = items[index], None  # read once: let it go with the item
                scope = {**env, e.variable: item}
                if e.where is not None:
                    keep = self.ev(e.where, scope)
                    if isinstance(keep, Unknown):
                        pending = True
                        continue
                    if not keep:
                        continue
                if e.function != "count" and isinstance(self.ev(e.body, scope), Unknown):
                    pending = True
                if e.function == "first" and not pending:
                    break
            else:
                if lists is not None:
                    lists.done()
            self.ctx, self.rec = ctx, rec
        return self.value(e)

    def list_steps(self, count: int, function: str | None = None, where: bool = False) -> ListSteps | None:
        """As ``Evaluation._list_steps``: the items' steps of a long list kept as a memo needs them."""
        if self.full_lists or count <= 2 * TRACE_LIST_ITEMS:
            return None
        return ListSteps(self.steps, count, function, where)

    def conditions(self, e: ast.Conditions, env: dict[str, object]) -> object:
        for item in e.items:
            self.ev(item.expr, env)
            self.steps[-1].label = item.label
        return self.value(e)

    def if_(self, e: ast.If, env: dict[str, object]) -> object:
        condition = self.ev(e.condition, env)
        if isinstance(condition, Unknown):
            self.ev(e.then, env)
            self.ev(e.otherwise, env)
        else:
            self.ev(e.then if condition else e.otherwise, env)
        return self.value(e)

    def unless(self, e: ast.Unless, env: dict[str, object]) -> object:
        if self.ev(e.rule, env) is not False:
            self.ev(e.exception, env)
        return self.value(e)

    def otherwise(self, e: ast.Otherwise, env: dict[str, object]) -> object:
        if self.ev(e.value, env) is None:
            self.ev(e.fallback, env)
        return self.value(e)

    def operand(self, e: ast.Not | ast.Negate | ast.IsNone, env: dict[str, object]) -> object:
        self.ev(e.operand, env)
        return self.value(e)

    def record(self, e: ast.RecordLiteral, env: dict[str, object]) -> object:
        for _, v in e.fields:
            self.ev(v, env)
        return self.value(e)

    def list_(self, e: ast.ListLiteral, env: dict[str, object]) -> object:
        for v in e.items:
            self.ev(v, env)
        return self.value(e)

    def children(self, *nodes: ast.Expr, env: dict[str, object]) -> list[object]:
        return [self.ev(node, env) for node in nodes]

    def index(self, e: ast.Index, env: dict[str, object]) -> object:
        self.children(e.target, e.index, env=env)
        return self.value(e)

    def record_update(self, e: ast.RecordUpdate, env: dict[str, object]) -> object:
        self.children(e.target, *(v for _, v in e.fields), env=env)
        return self.value(e)

    def sort(self, e: ast.Sort, env: dict[str, object]) -> object:
        self.ev(e.source, env)
        return self.value(e)

    def in_effect(self, e: ast.InEffect, env: dict[str, object]) -> object:
        self.children(e.source, e.on, env=env)
        return self.value(e)

    def fold(self, e: ast.Fold, env: dict[str, object]) -> object:
        state = self.ev(e.initial, env)
        source = self.ev(e.source, env)
        if not isinstance(source, Unknown):
            assert isinstance(source, tuple)
            ctx, rec = self.ctx, self.rec
            items = rec[self.sources[(ctx, -id(e))][0]]
            assert isinstance(items, list)
            self.ctx = self.plan.child_ctx[(ctx, id(e))]
            lists = self.list_steps(len(source))
            for number, item in enumerate(source, start=1):
                if lists is not None:
                    lists.next()
                self.rec, items[number - 1] = items[number - 1], None
                state = self.ev(e.body, {**env, e.variable: item, e.state: state})
                self.steps[-1].label = fold_label(number, len(source))
            if lists is not None:
                lists.done()
            self.ctx, self.rec = ctx, rec
        return self.value(e)


_REPLAY: dict[type, Any] = {
    ast.Binary: _Replay.binary,
    ast.Compare: _Replay.compare,
    ast.Field: _Replay.field,
    ast.Call: _Replay.call,
    ast.Aggregate: _Replay.aggregate,
    ast.Conditions: _Replay.conditions,
    ast.If: _Replay.if_,
    ast.Unless: _Replay.unless,
    ast.Otherwise: _Replay.otherwise,
    ast.Not: _Replay.operand,
    ast.Negate: _Replay.operand,
    ast.IsNone: _Replay.operand,
    ast.RecordLiteral: _Replay.record,
    ast.ListLiteral: _Replay.list_,
    ast.Index: _Replay.index,
    ast.RecordUpdate: _Replay.record_update,
    ast.Sort: _Replay.sort,
    ast.InEffect: _Replay.in_effect,
    ast.Fold: _Replay.fold,
}


# ---------------------------------------------------------------- facts, fast


def validate_fast(program: Program, given: Mapping[str, Any]) -> ValidFacts | None:
    """The facts converted as engine/scenario.py's validation converts them, without
    building a model per call; None when any fact is not valid (the pydantic
    validation then reports every problem with its position)."""
    from engine.errors import ClauseError
    from engine.scenario import FactError, ValidFacts, check_requirements, converter

    state = program.__dict__.get("_fast_facts")
    if state is None:
        notes: list[str] = []
        converters = {name: converter(info.type, program.home_zone, notes, name)
                      for name, info in program.facts.items()}
        nullable = {name for name, info in program.facts.items() if isinstance(info.type, T.OptionalType)}
        order = {name: index for index, name in enumerate(program.facts)}
        state = program.__dict__["_fast_facts"] = (notes, converters, nullable, order)
    notes, converters, nullable, order = state
    for name in given:
        if name not in converters or (given[name] is None and name not in nullable):
            return None
    notes.clear()
    converted: dict[str, object] = {}
    try:
        # In declaration order, as the model validates them (the notes come in that order).
        for name in sorted(given, key=order.__getitem__):
            converted[name] = converters[name](given[name])
    except (FactError, ValueError, TypeError, ArithmeticError):
        return None
    if program.requirements:
        try:
            check_requirements(program, converted)
        except ClauseError:
            return None  # validate_facts reports it, at its position
    return ValidFacts({name: converted[name] for name in given}, list(notes))


__all__ = ["CompiledShape", "TracedEvaluation", "TracedShape", "Unsupported", "compile_shape", "compile_traced_shape",
           "compiled_evaluation", "evaluate_values", "shape_for", "traced_evaluation", "traced_shape_for",
           "validate_fast"]
