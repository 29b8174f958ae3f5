"""The evaluator: lazy, memoised per scenario, exact, and traced on request.

A fact the scenario leaves out is ``Unknown``; every value computed from it is
``Unknown`` too, naming the missing facts, while ``and``/``or``/``all of``/
``any of``/``unless`` decide as soon as a known operand settles them. The
trace is a value built by this evaluation (no global state): one ``RuleTrace``
per rule evaluated, each holding the tree of ``Step``s of its expression.

A recursive function (one that calls itself, directly or through others:
``Program.recursive``) is memoised per rule and argument values, so a call
repeated with the same arguments is computed once, and bounded: a chain of
more than ``MAX_CALL_DEPTH`` recursive calls is an evaluation error at the
call. A call (or a rule read by another) made when the Python stack is already
``_FRESH_STACK_AT`` frames deep runs on a fresh thread, so neither a deep chain
nor a deeply nested body between two calls reaches Python's own recursion limit. Only the outermost call of a
recursion is traced step by step; the calls inside it appear by their values.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, DecimalException
from fractions import Fraction
from typing import Any

from engine import ast
from engine import types as T
from engine.builtins import BUILTINS, BuiltinError, words
from engine.calendars import Calendar, calendar
from engine.check import Program, RuleInfo
from engine.errors import Span
from engine.limits import TRACE_LIST_ITEMS
from engine.periods import Period, period_arith
from engine.values import Member, Unknown, arith, first_unknowns, unknown

# How deep a chain of recursive calls may go, and how many Python frames one thread
# may hold before a call moves to a fresh one (Python's limit is 1,000 a thread).
MAX_CALL_DEPTH = 5000
_FRESH_STACK_AT = 300


class EvaluationError(Exception):
    """A rule that cannot be computed from the facts given (e.g. division by zero)."""

    def __init__(self, message: str, span: Span, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.rule = rule


@dataclass(slots=True)
class Step:
    """One evaluated expression: its value and the steps it was computed from.

    ``elided``: the steps below were left out of a trace that is not of full lists
    (``ListSteps``); ``children`` then holds only witnesses of what they were."""

    node: ast.Expr
    value: object = None
    children: list[Step] = field(default_factory=list)
    label: str | None = None
    error: str | None = None
    # A name that is a loop variable or parameter here, not the fact or rule of that
    # name (which it may hide): explanations must not describe it as the declared one.
    local: bool = False
    elided: bool = False


@dataclass(frozen=True)
class Solution:
    """How a ``circular`` rule was solved: the values its definition gives when the rule is
    taken to be 1, 2 and 3 (on one line: linear), and the one value equal to its definition."""

    points: tuple[tuple[object, object], ...]
    value: object


@dataclass
class RuleTrace:
    name: str
    section: str | None
    value: object
    step: Step | None
    reads: dict[str, object]
    readings: list[str]
    solution: Solution | None = None


@dataclass
class _Frame:
    rule: str
    reads: dict[str, object] = field(default_factory=dict)
    readings: set[str] = field(default_factory=set)
    steps: list[Step] = field(default_factory=list)
    solution: Solution | None = None


@dataclass
class _Done:
    value: object
    readings: frozenset[str]
    error: EvaluationError | None = None


class Evaluation:
    """One scenario evaluated against one program; results computed on demand."""

    def __init__(self, program: Program, facts: Mapping[str, object], trace: bool = False,
                 full_lists: bool = False):
        self.program = program
        self.facts = facts
        self.tracing = trace
        # Traced: every item of a long list keeps all its steps (``--full-lists``); otherwise
        # only the items a memo or a trace writes out do (``ListSteps``).
        self.full_lists = full_lists
        self.done: dict[str, _Done] = {}
        self.fact_defaults: dict[str, object] = {}
        self.traces: dict[str, RuleTrace] = {}
        self.frames: list[_Frame] = []
        self.in_progress: set[str] = set()
        # Circular rules taken at a trial value, or at their solution (see _solve).
        self.overrides: dict[str, object] = {}
        self.call_depth = 0  # recursive calls under way
        self.calls: dict[tuple[object, ...], object] = {}  # recursive calls made: (rule, function, args) → value

    # ------------------------------------------------------------ public
    def rule(self, name: str) -> _Done:
        """Evaluate a result or define once; errors are kept, not raised."""
        done = self.done.get(name)
        if done is not None:
            return done
        info = self.program.rules[name]
        frame = _Frame(name, readings=set(info.decl.uses.names))
        self.frames.append(frame)
        error: EvaluationError | None = None
        value: object = None
        try:
            if info.decl.circular:
                value = self._solve(info, frame)
            elif self.frames[:-1] and _stack_is_deep():  # a rule read deep inside another's evaluation
                value = _on_fresh_stack(lambda: self.ev(info.decl.expr, {}))
            else:
                value = self.ev(info.decl.expr, {})
        except EvaluationError as problem:
            error = problem if problem.rule else EvaluationError(problem.message, problem.span, name)
        except RecursionError:  # an expression nested past Python's limit (recursion itself is bounded above)
            error = EvaluationError(f"`{name}` is nested too deeply to evaluate", info.decl.expr.span, name)
        finally:
            self.frames.pop()
        done = _Done(value, frozenset(frame.readings), error)
        self.done[name] = done
        if self.tracing:
            step = frame.steps[0] if frame.steps else None
            self.traces[name] = RuleTrace(name, info.section, value, step, frame.reads, sorted(frame.readings),
                                          frame.solution)
        return done

    def _solve(self, info: RuleInfo, frame: _Frame) -> object:
        """A ``circular`` rule: the one value ``x`` equal to its definition evaluated with the rule
        taken as ``x`` (through every rule it determines). The definition is evaluated, exactly,
        with the rule taken as 1, 2 and 3; when the three values lie on one line f(x) = a + b·x
        (b ≠ 1), x = a / (1 − b), and the definition evaluated at x must give x."""
        name, expr = info.name, info.decl.expr
        whole = info.type == T.INTEGER
        points = [(p if whole else Decimal(p)) for p in (1, 2, 3)]
        values = [self._trial(info, x, False)[0] for x in points]
        pending = first_unknowns(values)
        if pending is not None:
            return pending
        rise = [_arith("-", values[1], values[0]), _arith("-", values[2], values[1])]
        shown = ", ".join(f"{x} gives {v}" for x, v in zip(points, values, strict=True))
        if rise[0] != rise[1]:
            raise EvaluationError(
                f"`{name}` is defined in terms of itself, but not linearly ({shown}): "
                "only a definition linear in itself has one exact solution", expr.span)
        if rise[0] == 1:
            raise EvaluationError(
                f"`{name}` is defined in terms of itself, and every value or none satisfies it ({shown})", expr.span)
        intercept = _arith("-", values[0], _arith("*", rise[0], points[0]))
        solution = _arith("/", intercept, _arith("-", 1, rise[0]))
        if whole:
            if solution != int(solution):
                raise EvaluationError(f"`{name}` is a whole number, but the one value satisfying its definition "
                                      f"is {solution}", expr.span)
            solution = int(solution)
        check, trial = self._trial(info, solution, self.tracing)
        if check != solution:
            raise EvaluationError(
                f"`{name}` is defined in terms of itself, but not linearly: at the value the line through "
                f"({shown}) gives, {solution}, its definition gives {check}", expr.span)
        frame.steps.extend(trial.steps)
        frame.reads.update(trial.reads)
        frame.readings |= trial.readings
        frame.solution = Solution(tuple(zip(points, values, strict=True)), solution)
        return solution

    def _trial(self, info: RuleInfo, value: object, trace: bool) -> tuple[object, _Frame]:
        """The definition of a circular rule evaluated afresh with the rule taken as ``value``."""
        trial = Evaluation(self.program, self.facts, trace=trace, full_lists=self.full_lists)
        trial.overrides = {**self.overrides, info.name: value}
        frame = _Frame(info.name)
        trial.frames.append(frame)
        try:
            return trial.ev(info.decl.expr, {}), frame
        except EvaluationError as problem:
            raise EvaluationError(f"with `{info.name}` taken as {value}: {problem.message}", problem.span) from None

    def fact(self, name: str) -> object:
        if name in self.facts:
            return self.facts[name]
        info = self.program.facts[name]
        if info.decl.default is None:
            return Unknown(frozenset((name,)))
        if name not in self.fact_defaults:
            self.fact_defaults[name] = self.ev(info.decl.default, {})
        return self.fact_defaults[name]

    # ------------------------------------------------------------ expressions
    def ev(self, node: ast.Expr, env: dict[str, object]) -> object:
        if not self.tracing:
            return self._ev(node, env)
        step = Step(node, local=type(node) is ast.Name and node.name in env)  # type: ignore[union-attr]
        frame = self.frames[-1] if self.frames else None
        parent_steps = frame.steps if frame else []
        parent_steps.append(step)
        if frame is not None:
            saved = frame.steps
            frame.steps = step.children
        try:
            step.value = self._ev(node, env)
        except EvaluationError as problem:
            step.error = problem.message
            raise
        finally:
            if frame is not None:
                frame.steps = saved
        return step.value

    def _ev(self, e: ast.Expr, env: dict[str, object]) -> object:
        kind = type(e)
        if kind is ast.Literal:
            return e.value  # type: ignore[union-attr]
        if kind is ast.Name:
            return self._name(e, env)  # type: ignore[arg-type]
        if kind is ast.Binary:
            return self._binary(e, env)  # type: ignore[arg-type]
        if kind is ast.Compare:
            return self._compare(e, env)  # type: ignore[arg-type]
        method = _DISPATCH[kind]
        return method(self, e, env)

    def _name(self, e: ast.Name, env: dict[str, object]) -> object:
        name = e.name
        if name in env:
            return env[name]
        program = self.program
        frame = self.frames[-1] if self.frames else None
        if name in self.overrides:
            if frame is not None:
                frame.reads[name] = self.overrides[name]
            return self.overrides[name]
        if name in program.facts:
            value = self.fact(name)
            if frame is not None:
                frame.reads[name] = value
            return value
        if name in program.rules:
            if name in self.in_progress:
                raise EvaluationError(f"`{name}` depends on itself", e.span)
            self.in_progress.add(name)
            try:
                done = self.rule(name)
            finally:
                self.in_progress.discard(name)
            if frame is not None:
                frame.reads[name] = done.value
                frame.readings |= done.readings
            if done.error is not None:
                raise done.error
            return done.value
        if name in program.zones:
            if frame is not None:
                frame.readings.update(program.zone_decls[name].uses.names)
            return program.zones[name]
        if name in program.calendars:
            decl = program.calendars[name]
            if frame is not None:
                frame.readings.update(decl.uses.names)
            return calendar(decl.name, decl.financial_code)
        if name in T.ROUNDING_MODES:
            return name
        if name in program.enums:  # only as member_of's first argument
            return program.enums[name]
        raise EvaluationError(f"unknown name `{name}`", e.span)  # the checker prevents this

    def _binary(self, e: ast.Binary, env: dict[str, object]) -> object:
        op = e.op
        if op == "and" or op == "or":
            decisive = op == "or"  # the value that settles the connective
            left = self.ev(e.left, env)
            if left is decisive:
                return decisive
            right = self.ev(e.right, env)
            if right is decisive:
                return decisive
            pending = first_unknowns((left, right))
            return pending if pending is not None else not decisive
        left = self.ev(e.left, env)
        right = self.ev(e.right, env)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return first_unknowns((left, right))
        if op == "^" or type(left) is Period or type(right) is Period:
            return self._power_or_period(e, left, right)
        try:
            return _arith(op, left, right)
        except (DecimalException, ZeroDivisionError):
            if op == "/" and right == 0:
                raise EvaluationError(
                    f"division by zero: {self.program.sources.text(e.right.span) or 'the divisor'} is 0", e.span
                ) from None
            raise EvaluationError(f"arithmetic failed in `{self.program.sources.text(e.span)}`", e.span) from None
        except OverflowError:  # a date or duration past what a calendar can hold
            raise EvaluationError(f"`{self.program.sources.text(e.span)}` falls outside the calendar "
                                  "(dates run from 0001-01-01 to 9999-12-31)", e.span) from None

    def _power_or_period(self, e: ast.Binary, left: object, right: object) -> object:
        """``x ^ n`` and calendar months: ``date ± period`` follows the contract's month-end convention."""
        if e.op == "^":
            assert isinstance(right, int)
            try:
                return power(left, right, self.program.node_types.get(id(e)) == T.DECIMAL)
            except ZeroDivisionError:
                raise EvaluationError(f"0 cannot be raised to a negative power (`{self.program.sources.text(e.span)}`)",
                                      e.span) from None
            except (DecimalException, OverflowError):
                raise EvaluationError(f"arithmetic failed in `{self.program.sources.text(e.span)}`", e.span) from None
        convention = self.program.month_end
        try:
            value = period_arith(e.op, left, right, convention.rule if convention else None)
        except (OverflowError, ValueError) as problem:
            raise EvaluationError(str(problem), e.span) from None
        if isinstance(value, dt.date) and convention is not None and self.frames:
            self.frames[-1].readings.update(convention.uses.names)
        return value

    def _compare(self, e: ast.Compare, env: dict[str, object]) -> object:
        left = self.ev(e.left, env)
        right = self.ev(e.right, env)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return first_unknowns((left, right))
        if (left is None or right is None) and e.op not in ("=", "!="):
            side = e.left if left is None else e.right
            raise EvaluationError(f"`{self.program.sources.text(side.span)}` is none and cannot be ordered", e.span)
        return _COMPARE[e.op](_orderable(left), _orderable(right))

    def _field(self, e: ast.Field, env: dict[str, object]) -> object:
        target_type = self.program.node_types.get(id(e.target))
        if isinstance(target_type, T.EnumType) and isinstance(e.target, ast.Name) and e.target.name not in env \
                and e.target.name in self.program.enums:
            return _member(target_type, e.name)
        target = self.ev(e.target, env)
        if isinstance(target, Unknown):
            return target
        if isinstance(target, dict):
            return target[e.name]
        raise EvaluationError(f"cannot take field `{e.name}` of {target!r}", e.span)

    def _call(self, e: ast.Call, env: dict[str, object]) -> object:
        program = self.program
        if e.function in program.enums:
            enum = program.enums[e.function]
            text = self.ev(e.args[0], env)
            if isinstance(text, Unknown):
                return text
            if text not in enum.members:
                raise EvaluationError(f"\"{text}\" is not a member of {enum.name} "
                                      f"({', '.join(enum.members)})", e.span)
            return _member(enum, str(text))
        args = [self.ev(a, env) for a in e.args]
        pending = first_unknowns(args)
        if pending is not None:
            return pending
        if e.function in program.functions:
            info = program.functions[e.function]
            frame = self.frames[-1] if self.frames else None
            if frame is not None:
                frame.readings.update(info.decl.uses.names)
            scope = {name: value for (name, _), value in zip(info.params, args, strict=False)}
            if e.function in program.recursive:
                return self._recursive_call(e, scope, args, frame)
            return self.ev(info.decl.expr, scope)
        if e.function == "text":
            return words(args[0], self.program.node_types.get(id(e.args[0]), T.ANY))
        builtin = BUILTINS[e.function]
        if not builtin.skips_none and any(a is None for a in args):
            raise EvaluationError(f"{e.function}() was given none", e.span)
        try:
            return builtin.run(*args)
        except BuiltinError as problem:
            raise EvaluationError(str(problem), e.span) from None
        except (DecimalException, ZeroDivisionError, OverflowError, ValueError) as problem:
            raise EvaluationError(f"{e.function}() failed: {problem}", e.span) from None

    def _recursive_call(self, e: ast.Call, scope: dict[str, object], args: list[object],
                        frame: _Frame | None) -> object:
        # Memoised per rule: a call repeated within one rule adds nothing to its reads
        # and readings, which the first call already added to the same frame.
        key: tuple[object, ...] | None = (frame.rule if frame is not None else None, e.function,
                                          *map(_hashable, args))
        try:
            if key in self.calls:
                return self.calls[key]
        except TypeError:  # an argument without a value identity (a calendar): not memoised
            key = None
        if self.call_depth >= MAX_CALL_DEPTH:
            raise EvaluationError(f"`{e.function}` called itself more than {MAX_CALL_DEPTH:,} calls deep; "
                                  "a recursion must reach its base case sooner", e.span)
        body = self.program.functions[e.function].decl.expr
        tracing = self.tracing
        self.call_depth += 1
        if self.call_depth > 1:
            self.tracing = False
        try:
            if _stack_is_deep():
                value = _on_fresh_stack(lambda: self.ev(body, scope))
            else:
                value = self.ev(body, scope)
        finally:
            self.call_depth -= 1
            self.tracing = tracing
        if key is not None:
            self.calls[key] = value
        return value

    def _aggregate(self, e: ast.Aggregate, env: dict[str, object]) -> object:
        source = self.ev(e.source, env)
        if isinstance(source, Unknown):
            return source
        assert isinstance(source, tuple)
        selected: list[object] = []
        pending: list[Unknown] = []
        values: list[object] = []
        lists = self._list_steps(len(source), e.function, e.where is not None)
        for item in source:
            if lists is not None:
                lists.next()
            scope = {**env, e.variable: item}
            if e.where is not None:
                keep = self.ev(e.where, scope)
                if isinstance(keep, Unknown):
                    pending.append(keep)
                    continue
                if not keep:
                    continue
            selected.append(item)
            if e.function != "count":
                value = self.ev(e.body, scope)
                if isinstance(value, Unknown):
                    pending.append(value)
                values.append(value)
            if e.function == "first" and not pending:
                return values[0]
        if lists is not None:
            lists.done()
        function = e.function
        if function == "any" and any(v is True for v in values):
            return True
        if function == "all" and any(v is False for v in values):
            return False
        if pending:
            return unknown(*pending)
        if function == "count":
            return len(selected)
        if function == "list":
            return tuple(values)
        if function == "any":
            return False
        if function == "all":
            return True
        if function == "first":
            return None
        if function == "sum":
            result_type = self.program.node_types.get(id(e))
            total: Any = 0 if result_type == T.INTEGER else Decimal(0)
            for v in values:
                total = _arith("+", total, v)
            return total
        if not values:
            return None
        return min(values) if function == "min" else max(values)  # type: ignore[type-var]

    def _list_steps(self, count: int, function: str | None = None, where: bool = False) -> ListSteps | None:
        """How the steps of the items of a list of ``count`` are kept: all of them (None), or
        not all of a long list's unless full lists are traced."""
        if not self.tracing or self.full_lists or count <= 2 * TRACE_LIST_ITEMS or not self.frames:
            return None
        return ListSteps(self.frames[-1].steps, count, function, where)

    def _conditions(self, e: ast.Conditions, env: dict[str, object]) -> object:
        decisive = e.quantifier == "any"
        pending: list[Unknown] = []
        failure: EvaluationError | None = None
        settled = False
        for item in e.items:
            try:
                value = self.ev(item.expr, env)
            except EvaluationError as problem:
                failure = failure or problem
                continue
            if self.tracing and self.frames:
                self._label_last(item)
            if value is decisive:
                settled = True
            elif isinstance(value, Unknown):
                pending.append(value)
        if settled:
            return decisive
        if failure is not None:
            raise failure
        if pending:
            return unknown(*pending)
        return not decisive

    def _label_last(self, item: ast.Condition) -> None:
        siblings = self.frames[-1].steps
        if siblings and siblings[-1].node is item.expr:
            siblings[-1].label = item.label

    def _if(self, e: ast.If, env: dict[str, object]) -> object:
        condition = self.ev(e.condition, env)
        if isinstance(condition, Unknown):
            # Undetermined either way; name every fact that could still be needed,
            # not only those that would pick the branch.
            pending = [condition]
            for branch in (e.then, e.otherwise):
                try:
                    value = self.ev(branch, env)
                except EvaluationError:
                    continue
                if isinstance(value, Unknown):
                    pending.append(value)
            return unknown(*pending)
        return self.ev(e.then if condition else e.otherwise, env)

    def _unless(self, e: ast.Unless, env: dict[str, object]) -> object:
        rule = self.ev(e.rule, env)
        if rule is False:
            return False
        exception = self.ev(e.exception, env)
        if exception is True:
            return False
        pending = first_unknowns((rule, exception))
        return pending if pending is not None else True

    def _otherwise(self, e: ast.Otherwise, env: dict[str, object]) -> object:
        value = self.ev(e.value, env)
        if value is None:
            return self.ev(e.fallback, env)
        return value

    def _not(self, e: ast.Not, env: dict[str, object]) -> object:
        value = self.ev(e.operand, env)
        return value if isinstance(value, Unknown) else not value

    def _negate(self, e: ast.Negate, env: dict[str, object]) -> object:
        value = self.ev(e.operand, env)
        if isinstance(value, Unknown):
            return value
        return -value  # type: ignore[operator]

    def _is_none(self, e: ast.IsNone, env: dict[str, object]) -> object:
        value = self.ev(e.operand, env)
        if isinstance(value, Unknown):
            return value
        return (value is not None) if e.negated else (value is None)

    def _record(self, e: ast.RecordLiteral, env: dict[str, object]) -> object:
        values = {name: self.ev(v, env) for name, v in e.fields}
        pending = first_unknowns(values.values())
        return pending if pending is not None else values

    def _list(self, e: ast.ListLiteral, env: dict[str, object]) -> object:
        values = tuple(self.ev(v, env) for v in e.items)
        pending = first_unknowns(values)
        return pending if pending is not None else values

    # ------------------------------------------------------------ lists in order
    def _index(self, e: ast.Index, env: dict[str, object]) -> object:
        target = self.ev(e.target, env)
        index = self.ev(e.index, env)
        pending = first_unknowns((target, index))
        if pending is not None:
            return pending
        assert isinstance(target, tuple) and isinstance(index, int)
        if not -len(target) <= index < len(target):
            raise EvaluationError(
                f"`{self.program.sources.text(e.target.span)}` has {_items(len(target))}: there is no item {index}"
                " (0 is the first, -1 the last)", e.span)
        return target[index]

    def _record_update(self, e: ast.RecordUpdate, env: dict[str, object]) -> object:
        target = self.ev(e.target, env)
        values = {name: self.ev(v, env) for name, v in e.fields}
        pending = first_unknowns((target, *values.values()))
        if pending is not None:
            return pending
        assert isinstance(target, dict)
        return {**target, **values}

    def _sort(self, e: ast.Sort, env: dict[str, object]) -> object:
        source = self.ev(e.source, env)
        if isinstance(source, Unknown):
            return source
        assert isinstance(source, tuple)
        return sort_items(source, e.keys)

    def _in_effect(self, e: ast.InEffect, env: dict[str, object]) -> object:
        source = self.ev(e.source, env)
        on = self.ev(e.on, env)
        pending = first_unknowns((source, on))
        if pending is not None:
            return pending
        assert isinstance(source, tuple)
        return in_effect(source, on, e.key)

    def _fold(self, e: ast.Fold, env: dict[str, object]) -> object:
        state = self.ev(e.initial, env)
        source = self.ev(e.source, env)
        if isinstance(source, Unknown):
            return first_unknowns((state, source))
        assert isinstance(source, tuple)
        states: list[object] = []
        lists = self._list_steps(len(source))
        for number, item in enumerate(source, start=1):
            if lists is not None:
                lists.next()
            state = self.ev(e.body, {**env, e.variable: item, e.state: state})
            if self.tracing and self.frames:
                self.frames[-1].steps[-1].label = fold_label(number, len(source))
            states.append(state)
        if lists is not None:
            lists.done()
        if e.kind == "fold":
            return state
        pending = first_unknowns(states)
        return pending if pending is not None else tuple(states)


def _items(count: int) -> str:
    return "no items" if count == 0 else "1 item" if count == 1 else f"{count} items"


def fold_label(number: int, total: int) -> str:
    """The label of one step of a scan or fold in the trace: which item it took."""
    return f"after item {number} of {total}"


# A step of one of these says nothing of its own in a memo: a name, a literal, a field read.
_PLAIN = (ast.Name, ast.Literal, ast.Field)
_DECIDING = ("min", "max", "first", "any", "all")
_NO_VALUE = object()
_NO_STEPS: list[Step] = []  # the children of every pruned step that leaves no witness (never appended to)


class _Item:
    """One item of a long list in the trace: its own steps, each with the witnesses it would leave."""

    __slots__ = ("decider", "index", "steps", "windowed")

    def __init__(self, index: int, steps: list[tuple[Step, list[Step]]]):
        self.index = index
        self.steps = steps
        self.windowed = False  # among the last TRACE_LIST_ITEMS evaluated
        self.decider = False  # the item a memo writes out as deciding an any/all


class ListSteps:
    """The steps of one aggregate or fold over a long list, in a trace not asked for full lists.

    Every item keeps its own steps (the ``where`` and the body, or a fold's step, with their
    values: a memo counts the items kept and finds the deciding one from them), but the steps
    below those only where a memo or ``clause eval --trace`` may write the item out; elsewhere
    they are dropped as soon as the item is done, so that a long list costs a trace in
    proportion to what is shown, not to the list. Kept whole:

    - the first ``TRACE_LIST_ITEMS`` items and the last ``TRACE_LIST_ITEMS`` evaluated (the end
      of the list, or the items before an error or before a ``first`` stopped): render/trace.py
      writes the first and last ``TRACE_LIST_ITEMS`` steps, the memo the first and last half;
    - the item the memo writes out as having decided a ``min``, ``max``, ``first``, ``any`` or
      ``all`` (render/explain.py: the first item outside the shown ones with the deciding
      value), found as the items come: for ``any``/``all`` the first true/false body; for
      ``min``/``max`` the first to reach the running extreme, given up (and pruned) when a
      later item passes it; for ``first`` the first to equal the first value;
    - a step that is undetermined or failed, or whose "deciding" (render/build.py ``_decides``)
      would depend on the steps below it (a name or field read of something that is computed).

    A pruned step (``elided``) holds, instead of its children, a childless copy of each step
    below it whose node, or whose date-time value, appears there for the first time in this
    list's steps: renderers that search a whole trace (for ``round`` or a calendar function,
    for the names a condition relies on in order, for date-times that need a time-zone note)
    find what they found before.
    """

    def __init__(self, steps: list[Step], count: int, function: str | None = None, where: bool = False):
        self.steps = steps  # the aggregate's (or fold's) children: each item's steps are appended here
        self.count = count
        self.function = function if function in _DECIDING else None  # None: no item decides (a fold, a sum...)
        self.where = where
        self.half = TRACE_LIST_ITEMS // 2
        self.seen: set[object] = set()  # the nodes and date-times met so far in the list's steps
        self.index = 0  # the item being evaluated (1 is the first)
        self.start = len(steps)
        self.window: deque[_Item] = deque()
        self.best: object = _NO_VALUE  # min/max/first: the value an item must equal to decide
        self.candidate: _Item | None = None  # ... and the first item outside the shown ones that does
        self.decided = False  # any/all: the deciding item is found
        self.keep_all = False
        for step in steps:  # the list's own step (and a fold's initial state) come first
            self._witnesses(step)

    def next(self) -> None:
        """Before each item's steps are made."""
        if self.index:
            self._close()
        self.index += 1
        self.start = len(self.steps)

    def done(self) -> None:
        """After the last item's steps."""
        if self.index:
            self._close()
        self.index = 0

    def _close(self) -> None:
        index, own = self.index, self.steps[self.start:]
        item = _Item(index, [(step, self._witnesses(step)) for step in own])
        if self.function is not None:
            self._decide(item, own)
        if index <= TRACE_LIST_ITEMS:
            return
        item.windowed = True
        self.window.append(item)
        if len(self.window) > TRACE_LIST_ITEMS:
            old = self.window.popleft()
            old.windowed = False
            self._release(old)

    def _decide(self, item: _Item, own: list[Step]) -> None:
        """As render/explain.py's ``Explainer.aggregate`` finds the item that decided."""
        body = 0
        if self.where:
            if not own or own[0].value is not True:
                return
            body = 1
        if len(own) <= body:
            return
        value = own[body].value
        if isinstance(value, Unknown):
            return  # the result is undetermined: only an undetermined item can have decided, and is kept
        shown = item.index <= self.half or item.index > self.count - self.half
        function = self.function
        if function == "any" or function == "all":
            if not self.decided and not shown and value is (function == "any"):
                self.decided = item.decider = True
            return
        best: Any = self.best
        try:
            better = best is _NO_VALUE or (function == "min" and value < best) or (function == "max" and value > best)
        except TypeError:  # values without an order: min/max fail in the evaluation anyway
            self.keep_all = True
            return
        if better:
            self.best = value
            old, self.candidate = self.candidate, None if shown else item
            if old is not None:
                self._release(old)
        elif self.candidate is None and not shown and value == best:
            self.candidate = item

    def _release(self, item: _Item) -> None:
        """An item no longer needed whole, unless it is for another reason."""
        if item.windowed or item.decider or item is self.candidate or item.index <= TRACE_LIST_ITEMS \
                or self.keep_all:
            return
        for step, witnesses in item.steps:
            if _prunable(step):
                step.children = witnesses or _NO_STEPS
                step.elided = True
        item.steps = []

    def _witnesses(self, top: Step) -> list[Step]:
        """Copies of the steps below ``top`` that are the first in the list's steps to show a node or a
        date-time (depth first, in order), each node and date-time then counted as seen."""
        seen = self.seen
        out: list[Step] = []
        stack = [top]
        while stack:
            step = stack.pop()
            fresh = False
            key: object = id(step.node)
            if key not in seen:
                seen.add(key)
                fresh = True
            if isinstance(step.value, dt.datetime):
                key = ("moment", repr(step.value))  # the zone too: a memo notes each moment in its zone
                if key not in seen:
                    seen.add(key)
                    fresh = True
            if fresh and step is not top:
                out.append(Step(step.node, step.value, [], local=step.local))
            if step.children:
                stack.extend(reversed(step.children))
        return out


def _prunable(step: Step) -> bool:
    """Whether the steps below ``step`` can be left out without changing what any renderer
    makes of ``step`` (beyond writing it out): it is known, and it decides by itself, or
    nothing below it could (a field of a name)."""
    if step.error is not None or isinstance(step.value, Unknown):
        return False
    if step.label is not None or not isinstance(step.node, _PLAIN):
        return True
    stack = list(step.children)
    while stack:
        below = stack.pop()
        if not isinstance(below.node, _PLAIN):
            return False
        stack.extend(below.children)
    return True


def field_path(item: object, path: tuple[str, ...]) -> object:
    for name in path:
        item = item[name]  # type: ignore[index]
    return item


def sort_items(items: tuple[object, ...], keys: tuple[tuple[str, ...], ...]) -> tuple[object, ...]:
    """Stably sorted by the fields ``keys`` name (scales best first): ties keep their order."""
    return tuple(sorted(items, key=lambda item: tuple(_orderable(field_path(item, k)) for k in keys)))


def in_effect(items: tuple[object, ...], on: object, key: tuple[str, ...]) -> object:
    """The item with the latest ``key`` on or before ``on`` (the last given, on a tie), or None."""
    found: object = None
    found_key: Any = None
    for item in items:
        at: Any = field_path(item, key)
        if at <= on and (found is None or at >= found_key):
            found, found_key = item, at
    return found


_DISPATCH: dict[type, Any] = {
    ast.Field: Evaluation._field,
    ast.Call: Evaluation._call,
    ast.Aggregate: Evaluation._aggregate,
    ast.Conditions: Evaluation._conditions,
    ast.If: Evaluation._if,
    ast.Unless: Evaluation._unless,
    ast.Otherwise: Evaluation._otherwise,
    ast.Not: Evaluation._not,
    ast.Negate: Evaluation._negate,
    ast.IsNone: Evaluation._is_none,
    ast.RecordLiteral: Evaluation._record,
    ast.ListLiteral: Evaluation._list,
    ast.Index: Evaluation._index,
    ast.RecordUpdate: Evaluation._record_update,
    ast.Sort: Evaluation._sort,
    ast.InEffect: Evaluation._in_effect,
    ast.Fold: Evaluation._fold,
}


def _hashable(value: object) -> object:
    """A value as a memo key: records and lists by their contents."""
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    return value


def _stack_is_deep() -> bool:
    """Whether this thread's Python stack holds ``_FRESH_STACK_AT`` frames or more
    (a walk of that many frames in C: about a microsecond)."""
    try:
        sys._getframe(_FRESH_STACK_AT)
    except ValueError:
        return False
    return True


def _on_fresh_stack(compute: Callable[[], object]) -> object:
    """``compute()`` on a new thread, which starts with an empty Python stack; the
    caller waits for it, so the evaluation still runs one step at a time."""
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, compute()))
        except BaseException as problem:  # handed back to the caller's thread as is
            outcome.append((False, problem))

    thread = threading.Thread(target=run, name="clause-recursion")
    thread.start()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value  # type: ignore[misc]
    return value


def _member(enum: T.EnumType, name: str) -> Member:
    return Member(enum.name, name, enum.members.index(name))


def _orderable(value: object) -> object:
    # A scale lists its best member first (rank 0); "lower" means a larger rank.
    if isinstance(value, Member):
        return -value.rank
    return value


def power(base: Any, exponent: int, decimal: bool = False) -> Any:
    """``base ^ exponent`` exactly, by repeated multiplication (a negative exponent divides 1
    by the power); ``decimal``: the result is a decimal even for an integer base."""
    if isinstance(base, int) and decimal:
        base = Decimal(base)
    if exponent < 0 and base == 0:
        raise ZeroDivisionError("0 to a negative power")
    result: Any = 1 if isinstance(base, int) else Decimal(1)
    square, remaining = base, abs(exponent)
    while remaining:
        if remaining & 1:
            result = _arith("*", result, square)
        remaining >>= 1
        if remaining:
            square = _arith("*", square, square)
    return _arith("/", 1, result) if exponent < 0 else result


def _arith(op: str, left: Any, right: Any) -> Any:
    if type(left) is int and type(right) is int and op != "/":
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        return left * right
    if isinstance(left, _NUMBER) and isinstance(right, _NUMBER) and not isinstance(left, bool):
        return arith(op, left, right)
    if isinstance(left, dt.timedelta) and isinstance(right, int):
        return left * right
    if isinstance(left, int) and isinstance(right, dt.timedelta):
        return right * left
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    raise EvaluationError(f"cannot apply {op} to {left!r} and {right!r}", Span("<engine>", 0, 0, 0, 0))


_NUMBER = (Decimal, int, Fraction)

_COMPARE: dict[str, Any] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def rule_info(program: Program, name: str) -> RuleInfo:
    return program.rules[name]


__all__ = ["Calendar", "Evaluation", "EvaluationError", "ListSteps", "RuleTrace", "Step"]
