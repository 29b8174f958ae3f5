"""Scenario files: loading YAML/JSON exactly, and validating facts.

Numbers are never read through a float: YAML floats and timestamps are kept
as their source text and JSON floats are parsed as ``Decimal``. The facts are
validated by a pydantic model generated from the contract's fact
declarations; each error names the fact, the form expected and the value
given, at the line of the scenario file where it was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml

from engine import limits
from engine import types as T
from engine.check import Program
from engine.errors import ClauseError, Diagnostic, SourceMap, Span, did_you_mean
from engine.periods import Period, parse_period
from engine.values import Member

if TYPE_CHECKING:  # pydantic and the parser load when needed: a cold `clause eval` needs neither
    import pydantic


@dataclass
class Scenario:
    path: str
    title: str | None
    description: str | None
    facts: dict[str, Any]
    # Where each fact was written: fact name → (line, column), 1-based.
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    sources: SourceMap = field(default_factory=SourceMap)
    expect: Any = None
    raw: dict[str, Any] = field(default_factory=dict)
    # What the memo answers: (result name, the question in words or None), in order.
    ask: list[tuple[str, str | None]] = field(default_factory=list)
    # The memo's heading: to, from, re, date, legend (every key optional).
    memo: dict[str, str] = field(default_factory=dict)


@dataclass
class ValidFacts:
    values: dict[str, object]
    notes: list[str]


# ---------------------------------------------------------------- loading


class _ExactLoader(yaml.SafeLoader):
    """A YAML loader that keeps floats and timestamps as their exact text."""


def _keep_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(node.value)


class _ExactText(str):
    """A scalar YAML would have read as a float: exact text, but not a string literal."""


def _exact_number(loader: yaml.SafeLoader, node: yaml.Node) -> _ExactText:
    return _ExactText(node.value)


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    """A mapping whose keys are each written once: a repeated fact would silently win."""
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, (str, int)) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"`{key}` is given twice (first on line {seen[key]}); give each fact once",
                key_node.start_mark,
            )
        if isinstance(key, (str, int)):
            seen[key] = key_node.start_mark.line + 1
    yield from yaml.SafeLoader.construct_yaml_map(loader, node)


_ExactLoader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)
_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_number)
_ExactLoader.add_constructor("tag:yaml.org,2002:timestamp", _keep_text)


try:
    from yaml.cyaml import CParser as _CParser  # type: ignore[attr-defined]
except ImportError:  # PyYAML built without libyaml
    _LOADERS: tuple[type[_ExactLoader], ...] = (_ExactLoader,)
else:
    class _ExactCLoader(_CParser, _ExactLoader):  # type: ignore[misc]
        """_ExactLoader on libyaml's parser."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _LOADERS = (_ExactCLoader, _ExactLoader)


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for positions) and the data of a YAML document, read exactly.

    libyaml's parser when PyYAML has it (some ten times faster on a long list),
    with the same constructors; a document it refuses is read again by the
    pure-Python parser, whose messages and positions the errors show."""
    for loader_class in _LOADERS:
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            return node, (loader.construct_document(node) if node is not None else None)
        except yaml.YAMLError:
            if loader_class is _ExactLoader:
                raise
        finally:
            loader.dispose()
    raise AssertionError("the pure-Python loader returns or raises")


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    shown = str(path)
    what = f"the scenario {shown}"
    try:
        text = limits.decode_utf8(limits.read_bounded(path, limits.SCENARIO_FILE_BYTES, what), shown, what)
    except FileNotFoundError:
        raise ClauseError([Diagnostic(f"no such scenario file: {shown}", Span(shown, 0, 0, 0, 0))]) from None
    except limits.LimitError as error:
        raise ClauseError([Diagnostic(str(error), Span(shown, 0, 0, 0, 0))]) from None
    except OSError as error:
        from engine.parse import describe_os_error

        raise ClauseError([Diagnostic(f"cannot read scenario {shown}: {describe_os_error(error)}",
                                      Span(shown, 0, 0, 0, 0))]) from None
    return parse_scenario(text, shown, json_format=path.suffix.lower() == ".json")


def parse_scenario(text: str, shown: str, json_format: bool = False) -> Scenario:
    sources = SourceMap()
    sources.add(shown, text)
    positions: dict[str, tuple[int, int]] = {}
    if json_format:
        try:
            data = json.loads(text, parse_float=limits.bounded_decimal, parse_constant=_no_constant,
                              object_pairs_hook=_unique_object, parse_int=limits.bounded_int)
        except RecursionError:
            raise limits.nesting_error(text, shown, sources) from None
        except limits.LimitError as error:
            raise _long_number(text, shown, str(error), sources) from None
        except json.JSONDecodeError as error:
            span = Span(shown, error.lineno, error.colno, error.lineno, error.colno + 1)
            raise ClauseError([Diagnostic(f"not valid JSON: {error.msg}", span)], sources) from None
        except _RepeatedKey as repeated:
            offset = text.rfind(f'"{repeated.key}"')
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            span = Span(shown, line, column, line, column + len(repeated.key) + 2)
            raise ClauseError([Diagnostic(f"not valid JSON: `{repeated.key}` is given twice; give each fact once",
                                          span)], sources) from None
        limits.check_nesting(data, shown, text, sources)
        positions = _json_positions(text)
    else:
        limits.check_yaml(text, shown, sources)  # nesting, alias expansion, digits: before anything is built
        try:
            node, data = compose_and_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = Span(shown, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else None
            problem = getattr(error, "problem", None) or str(error)
            raise ClauseError([Diagnostic(f"not valid YAML: {problem}", where)], sources) from None
        positions = _yaml_positions(node)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ClauseError([Diagnostic("a scenario is a mapping with `facts:` (and optional `title:`, "
                                      "`description:`)", Span(shown, 1, 1, 1, 2))], sources)
    unknown_keys = set(data) - {"title", "description", "facts", "expect", "cases", "ask", "memo"}
    diagnostics = [
        Diagnostic(f"unknown scenario key `{key}`", Span(shown, *positions.get(f"@{key}", (1, 1)),
                                                        *positions.get(f"@{key}", (1, 1))),
                   help=did_you_mean(str(key), ["title", "description", "facts", "expect", "ask", "memo"])
                   or "a scenario has `title`, `description`, `facts`, and for its memo `ask` and `memo`")
        for key in sorted(unknown_keys, key=str)
    ]
    ask, memo = _memo_keys(data, shown, positions, diagnostics)
    facts = data.get("facts") or {}
    if not isinstance(facts, dict):
        diagnostics.append(Diagnostic("`facts` must be a mapping of fact names to values",
                                      Span(shown, *positions.get("@facts", (1, 1)), *positions.get("@facts", (1, 1)))))
    if diagnostics:
        raise ClauseError(diagnostics, sources)
    return Scenario(shown, _text(data.get("title")), _text(data.get("description")), dict(facts),
                    positions, sources, data.get("expect"), data, ask, memo)


MEMO_KEYS = ("to", "from", "re", "date", "legend")


def _memo_keys(data: dict[str, Any], shown: str, positions: dict[str, tuple[int, int]],
               diagnostics: list[Diagnostic]) -> tuple[list[tuple[str, str | None]], dict[str, str]]:
    """`ask: [result, {result: name, question: words}, ...]` and `memo: {to, from, re, date, legend}`."""
    ask: list[tuple[str, str | None]] = []
    memo: dict[str, str] = {}

    def where(key: str) -> Span:
        line, column = positions.get(f"@{key}", (1, 1))
        return Span(shown, line, column, line, column + len(key))

    raw_ask = data.get("ask")
    if raw_ask is not None:
        items = raw_ask if isinstance(raw_ask, list) else [raw_ask]
        for item in items:
            if isinstance(item, str):
                ask.append((item, None))
            elif isinstance(item, dict) and isinstance(item.get("result"), str):
                question = item.get("question")
                ask.append((item["result"], str(question) if question is not None else None))
            else:
                diagnostics.append(Diagnostic("`ask` lists result names, or mappings `{result: NAME, question: "
                                              "WORDS}`", where("ask")))
    raw_memo = data.get("memo")
    if raw_memo is not None:
        if not isinstance(raw_memo, dict):
            diagnostics.append(Diagnostic("`memo` is a mapping with any of " + ", ".join(MEMO_KEYS), where("memo")))
        else:
            for key, value in raw_memo.items():
                if key not in MEMO_KEYS:
                    diagnostics.append(Diagnostic(f"unknown memo key `{key}`", where("memo"),
                                                  help=did_you_mean(str(key), MEMO_KEYS)
                                                  or "`memo` takes " + ", ".join(MEMO_KEYS)))
                elif value is not None:
                    memo[key] = str(value)
    return ask, memo


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _RepeatedKey(key)
        data[key] = value
    return data


def _long_number(text: str, shown: str, problem: str, sources: SourceMap) -> ClauseError:
    from engine.limits import NUMBER_DIGITS, located

    # The long digit run, or else the exponent, that went over the limit (the number's start).
    found = re.search(r"[-\d.]*\d{" + str(NUMBER_DIGITS + 1) + ",}", text) or \
        re.search(r"-?[\d.]+[eE][-+]?0*[1-9]\d{2,}", text)
    offset = found.start() if found else 0
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return located(problem, shown, line, column, sources)


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number a scenario can use", name, 0)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _yaml_positions(node: yaml.Node | None) -> dict[str, tuple[int, int]]:
    positions: dict[str, tuple[int, int]] = {}
    if not isinstance(node, yaml.MappingNode):
        return positions
    for key, value in node.value:
        positions[f"@{key.value}"] = (key.start_mark.line + 1, key.start_mark.column + 1)
        if key.value == "facts":
            positions.update(fact_positions(value))
    return positions


def fact_positions(facts: yaml.Node | None) -> dict[str, tuple[int, int]]:
    """Where each fact of a `facts:` mapping was written: its value, width and key."""
    positions: dict[str, tuple[int, int]] = {}
    if isinstance(facts, yaml.MappingNode):
        for key, value in facts.value:
            start, end = value.start_mark, value.end_mark
            width = end.column - start.column if end.line == start.line else 1
            positions[str(key.value)] = (start.line + 1, start.column + 1)
            positions[f"width:{key.value}"] = (max(width, 1), 0)
            positions[f"key:{key.value}"] = (key.start_mark.line + 1, key.start_mark.column + 1)
            if isinstance(value, yaml.SequenceNode):
                for index, item in enumerate(value.value, start=1):
                    positions[f"{key.value}#{index}"] = (item.start_mark.line + 1, item.start_mark.column + 1)
    return positions


_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')


def _json_positions(text: str) -> dict[str, tuple[int, int]]:
    positions: dict[str, tuple[int, int]] = {}
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for match in _JSON_KEY.finditer(text):
        offset = match.end()
        line = max(i for i, start in enumerate(line_starts) if start <= offset)
        positions.setdefault(match[1], (line + 1, offset - line_starts[line] + 1))
        positions.setdefault(f"key:{match[1]}", (line + 1, match.start() - line_starts[line] + 1))
    return positions


# ---------------------------------------------------------------- converting values


class FactError(ValueError):
    pass


_INTEGER_TEXT = re.compile(r"^\s*-?(\d{1,3}([,_]\d{3})+|\d+)\s*$")
_DATETIME_TEXT = r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?\s*$"
_MONEY_TEXT = re.compile(r"^\s*(-)?\s*\$?\s*(-)?(\d{1,3}(?:,\d{3})+|\d+)?(\.\d+)?\s*$")


def _show(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(str(value))
    return repr(value) if not isinstance(value, (int, Decimal)) else str(value)


# Amounts beyond these bounds are mistakes, not scenarios (and exact arithmetic
# on them would exhaust the 40 significant digits the engine works with).
LARGEST = Decimal(10) ** 18
FINEST_EXPONENT = -18


def _in_range(value: Decimal, what: str) -> Decimal:
    # adjusted() and the exponent, not abs() or format(): those go through the
    # context and overflow (or spell out a million digits) for 1e999999999.
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value.adjusted() >= 18 or (isinstance(exponent, int) and exponent < FINEST_EXPONENT):
        raise FactError(f"expected {what} below 10^18 with at most 18 decimal places; got {_shown_decimal(value)}")
    return value


def _shown_decimal(value: Decimal) -> str:
    """``value`` as people write it, or in scientific notation once that would be long."""
    if value.is_finite() and -30 <= value.adjusted() <= 30 and len(value.as_tuple().digits) <= 40:
        return format(value, "f")
    return format(value, ".6e") if value.is_finite() else str(value)


def parse_decimal(value: object, what: str = "an amount") -> Decimal:
    return _in_range(_parse_decimal(value, what), what)


def _parse_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise FactError(f"expected {what} such as 1000 or \"$1,000.00\"; got {_show(value)}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise FactError(f"expected {what} written exactly, as a string such as \"2.83849\"; got the float {value!r}")
    if isinstance(value, str):
        match = _MONEY_TEXT.match(value)
        if match and (match[3] or match[4]):
            sign = "-" if (match[1] or match[2]) else ""
            digits = (match[3] or "0").replace(",", "")
            try:
                return Decimal(sign + digits + (match[4] or ""))
            except InvalidOperation:
                pass
    raise FactError(f"expected {what} such as 1000 or \"$1,000.00\"; got {_show(value)}")


def parse_integer(value: object) -> int:
    if isinstance(value, bool):
        raise FactError(f"expected a whole number such as 300000000 or \"300,000,000\"; got {_show(value)}")
    if isinstance(value, int):
        return int(_in_range(Decimal(value), "a whole number"))
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(_in_range(value, "a whole number"))
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value) and not isinstance(value, _ExactText):
        problem = limits.check_number_text(value)
        if problem is not None:
            raise FactError(problem)
        return int(_in_range(Decimal(value.replace(",", "").replace("_", "")), "a whole number"))
    raise FactError(f"expected a whole number such as 300000000 or \"300,000,000\"; got {_show(value)}")


def parse_percent(value: object) -> Decimal:
    if isinstance(value, str) and not isinstance(value, _ExactText) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        problem = limits.check_number_text(number)
        if problem is not None:
            raise FactError(f"{problem}; got {_show(value)}")
        try:
            return _in_range(Decimal(number), "a percentage") / 100
        except InvalidOperation:
            pass
    if isinstance(value, (int, float, Decimal, _ExactText)) and not isinstance(value, bool):
        raise FactError(f"expected a percentage written with a percent sign, such as \"{value}%\"; "
                        f"got the bare number {value}")
    raise FactError(f"expected a percentage such as \"19.9%\"; got {_show(value)}")


def parse_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        raise FactError(f"expected a date such as 2003-06-27; got the datetime {value.isoformat()}")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = dt.date.fromisoformat(value.strip())
    if isinstance(value, dt.date):
        problem = limits.year_problem(value.year)
        if problem is not None:
            raise FactError(f"{problem}; got {value.isoformat()}")
        return value
    raise FactError(f"expected a date such as 2003-06-27; got {_show(value)}")


def parse_datetime(value: object, home: dt.tzinfo, notes: list[str], fact: str) -> dt.datetime:
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and re.match(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d", value):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None:
        raise FactError(f"expected a date and time with its UTC offset, such as 2003-06-18T20:00:00-04:00; "
                        f"got {_show(value)}")
    problem = limits.year_problem(moment.year)
    if problem is not None:
        raise FactError(f"{problem}; got {moment.isoformat()}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=home)
        round_trip = moment.astimezone(dt.UTC).astimezone(home)
        if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
            raise FactError(f"{moment.replace(tzinfo=None).isoformat()} never happened in {home}: the clocks "
                            "sprang forward over it; give the time with its UTC offset")
        ambiguous = moment.replace(fold=1).utcoffset() != moment.utcoffset()
        notes.append(f"`{fact}` was given without a UTC offset and is read in the contract's home time zone "
                     f"({home}): {moment.isoformat()}"
                     + (" (the first of the two times the clocks showed it, as they fell back)" if ambiguous else ""))
    return moment


def parse_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise FactError(f"expected true or false; got {_show(value)}")


def parse_text(value: object) -> str:
    if isinstance(value, str):
        return str(value)
    raise FactError(f"expected a text; got {_show(value)}")


def converter(t: T.Type, home: dt.tzinfo, notes: list[str], fact: str) -> Callable[[object], object]:
    """A function that turns an input-encoded value into a runtime value of type t."""
    if isinstance(t, T.OptionalType):
        inner = converter(t.inner, home, notes, fact)
        return lambda v: None if v is None else inner(v)
    if isinstance(t, T.ListType):
        element = converter(t.element, home, notes, fact)

        def convert_list(v: object) -> object:
            if isinstance(v, str) and v.strip().startswith("["):
                v = _json_cell(v)
            if not isinstance(v, list):
                raise FactError(f"expected a list; got {_show(v)}")
            out = []
            for index, item in enumerate(v):
                try:
                    out.append(element(item))
                except FactError as error:
                    raise FactError(f"item {index + 1}: {error}") from None
            return tuple(out)

        return convert_list
    if isinstance(t, T.RecordType):
        fields = {name: converter(ft, home, notes, fact) for name, ft in t.fields}
        defaults = dict(t.defaults)

        def convert_record(v: object) -> object:
            if isinstance(v, str) and v.strip().startswith("{"):
                v = _json_cell(v)
            if not isinstance(v, dict):
                raise FactError(f"expected a mapping with {', '.join(fields)}; got {_show(v)}")
            extra = set(v) - set(fields)
            if extra:
                name = sorted(map(str, extra))[0]
                hint = did_you_mean(name, fields)
                raise FactError(f"{t.name} has no field `{name}`" + (f"; {hint}" if hint else ""))
            missing = [n for n in fields if n not in v and n not in defaults]
            if missing:
                raise FactError(f"{t.name} needs the field(s) {', '.join(missing)}")
            out = {}
            for name, convert in fields.items():
                if name not in v:
                    out[name] = defaults[name]
                    continue
                try:
                    out[name] = convert(v[name])
                except FactError as error:
                    raise FactError(f"field `{name}`: {error}") from None
            return out

        return convert_record
    if isinstance(t, T.EnumType):
        members = t.members

        def convert_member(v: object) -> object:
            if isinstance(v, str) and v in members:
                return Member(t.name, v, members.index(v))
            hint = did_you_mean(str(v), members) if isinstance(v, str) else None
            shown = ", ".join(members) if len(members) <= 12 else ", ".join(members[:12]) + ", …"
            raise FactError(f"expected one of {shown}; got {_show(v)}" + (f" ({hint})" if hint else ""))

        return convert_member
    if t == T.DATETIME:
        return lambda v: parse_datetime(v, home, notes, fact)
    simple: dict[T.Type, Callable[[object], object]] = {
        T.MONEY: lambda v: parse_decimal(v, "an amount of money"),
        T.DECIMAL: lambda v: parse_decimal(v, "a number"),
        T.INTEGER: parse_integer,
        T.PERCENT: parse_percent,
        T.DATE: parse_date,
        T.BOOLEAN: parse_boolean,
        T.TEXT: parse_text,
        T.DURATION: parse_duration,
        T.PERIOD: parse_period_fact,
    }
    return simple[t]


def parse_duration(value: object) -> dt.timedelta:
    days = parse_integer(value)
    if abs(days) > limits.DURATION_DAYS:
        raise FactError(f"a duration is at most {limits.DURATION_DAYS:,} days (the limit); got {days}")
    return dt.timedelta(days=days)


def parse_period_fact(value: object) -> Period:
    """A period of months: "P6M", "P1Y6M", "6 months", "2 years", or a whole number of months."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Period(value)
    found = parse_period(value) if isinstance(value, str) else None
    if found is None:
        raise FactError("expected a number of months such as \"6 months\", \"2 years\" or \"P1Y6M\"; "
                        f"got {_show(value)}")
    return found


def _json_cell(text: str) -> object:
    try:
        return limits.loads_json(text)
    except json.JSONDecodeError as error:
        raise FactError(f"not valid JSON: {error.msg}") from None
    except ValueError as error:  # over a limit, or a key given twice
        raise FactError(str(error)) from None


def _with_default(schema: dict[str, Any], t: T.Type, name: str,
                  defaults: tuple[tuple[str, object], ...]) -> dict[str, Any]:
    from engine.values import encode

    for field_name, value in defaults:
        if field_name == name:
            return {**schema, "default": encode(value, t)}
    return schema


def json_schema(t: T.Type) -> dict[str, Any]:
    if isinstance(t, T.OptionalType):
        return {"anyOf": [json_schema(t.inner), {"type": "null"}]}
    if isinstance(t, T.ListType):
        return {"type": "array", "items": json_schema(t.element)}
    if isinstance(t, T.RecordType):
        return {"type": "object", "title": t.name, "additionalProperties": False,
                "required": [n for n, _ in t.fields if n not in dict(t.defaults)],
                "properties": {n: _with_default(json_schema(ft), ft, n, t.defaults) for n, ft in t.fields}}
    if isinstance(t, T.EnumType):
        return {"enum": list(t.members), "title": t.name}
    number: dict[str, Any] = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _MONEY_TEXT.pattern},
                                        {"type": "number"}]}
    schemas: dict[T.Type, dict[str, Any]] = {
        T.MONEY: {**number, "description": "US dollars, exact: 1000 or \"$1,000.00\""},
        T.DECIMAL: {**number, "description": "an exact decimal, e.g. \"2.83849\""},
        T.INTEGER: {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _INTEGER_TEXT.pattern}]},
        T.PERCENT: {"type": "string", "pattern": r"^-?\d+(\.\d+)?\s*%$", "description": "e.g. \"19.9%\""},
        T.DATE: {"type": "string", "format": "date"},
        T.DATETIME: {"type": "string", "pattern": _DATETIME_TEXT,
                     "description": "ISO 8601 with a UTC offset; without one, the contract's home zone"},
        T.BOOLEAN: {"type": "boolean"},
        T.TEXT: {"type": "string"},
        T.DURATION: {"type": "integer", "description": "days"},
        T.PERIOD: {"anyOf": [{"type": "integer"}, {"type": "string"}],
                   "description": "calendar months: 6 (months), \"6 months\", \"2 years\" or \"P1Y6M\""},
    }
    return schemas[t]


# ---------------------------------------------------------------- the model


def scenario_model(program: Program) -> type[pydantic.BaseModel]:
    """The pydantic model of a contract's facts (built once per program)."""
    import pydantic

    cached = program.__dict__.get("_scenario_model")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    fields: dict[str, Any] = {}
    for name, info in program.facts.items():
        validator = pydantic.BeforeValidator(_model_validator(info.type, name))
        schema = json_schema(info.type)
        if info.decl.description:
            schema = {**schema, "description": info.decl.description}
        annotated = Annotated[Any, validator, pydantic.WithJsonSchema(schema)]
        fields[name] = (annotated, None)
    model = pydantic.create_model(  # type: ignore[call-overload]
        "Facts",
        __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True,
                                       title=f"Facts of {program.header.title}"),
        **fields,
    )
    program.__dict__["_scenario_model"] = model
    return model  # type: ignore[no-any-return]


def _model_validator(t: T.Type, fact: str) -> Callable[[object, pydantic.ValidationInfo], object]:
    def validate(value: object, info: pydantic.ValidationInfo) -> object:
        context = info.context or {}
        convert = converter(t, context["home"], context["notes"], fact)
        if value is None and not isinstance(t, T.OptionalType):
            raise FactError(f"`{fact}` cannot be null: leave it out if it is unknown")
        try:
            return convert(value)
        except FactError as error:
            raise ValueError(str(error)) from None

    return validate


def validate_facts(program: Program, scenario: Scenario) -> ValidFacts:
    import pydantic

    notes: list[str] = []
    model = scenario_model(program)
    given = scenario.facts
    try:
        validated = model.model_validate(given, context={"home": program.home_zone, "notes": notes})
    except pydantic.ValidationError as errors:
        raise ClauseError(_fact_diagnostics(program, scenario, errors), scenario.sources) from None
    values = {name: getattr(validated, name) for name in given if name in program.facts}
    check_requirements(program, values, scenario)
    return ValidFacts(values, notes)


def _fact_diagnostics(program: Program, scenario: Scenario, errors: pydantic.ValidationError) -> list[Diagnostic]:
    diagnostics = []
    for error in errors.errors():
        location = error.get("loc") or ("?",)
        name = str(location[0])
        position = scenario.positions.get(name) or scenario.positions.get(f"key:{name}") or (0, 0)
        width = scenario.positions.get(f"width:{name}", (1, 0))[0]
        span = Span(scenario.path, position[0], position[1], position[0], position[1] + width) if position[0] else \
            Span(scenario.path, 0, 0, 0, 0)
        if error["type"] == "extra_forbidden":
            key_position = scenario.positions.get(f"key:{name}", position)
            span = Span(scenario.path, key_position[0], key_position[1], key_position[0],
                        key_position[1] + len(name)) if key_position[0] else span
            diagnostics.append(Diagnostic(
                f"unknown fact `{name}` for {Path(program.path).name}", span,
                help=did_you_mean(name, program.facts) or "`clause schema CONTRACT` lists the facts",
            ))
            continue
        message = str(error.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        info = program.facts.get(name)
        expected = f" ({info.type})" if info else ""
        diagnostics.append(Diagnostic(f"fact `{name}`{expected}: {message}", span))
    return diagnostics


def validate_mapping(program: Program, facts: Mapping[str, Any], name: str = "<facts>") -> ValidFacts:
    """Validate facts given directly (the Python API, table rows)."""
    return validate_facts(program, Scenario(name, None, None, dict(facts)))


# ---------------------------------------------------------------- record requirements


def check_requirements(program: Program, values: Mapping[str, object], scenario: Scenario | None = None) -> None:
    """Every record a scenario gives meets its type's `require` conditions, or ClauseError."""
    if not program.requirements:
        return
    checked = _facts_with_requirements(program)
    names = [name for name in values if name in checked]
    if not names:  # the usual row: no fact holds a record that has requirements
        return
    from engine.evaluate import Evaluation, EvaluationError

    evaluation: Evaluation | None = None
    diagnostics: list[Diagnostic] = []
    for name in names:
        info = program.facts[name]
        for where, record, record_type in _records(values[name], info.type, 0):
            for requirement in program.requirements.get(record_type.name, ()):
                if evaluation is None:
                    # A requirement may look at the scenario's other facts (a change names an earlier grant).
                    evaluation = Evaluation(program, values)
                try:
                    held = evaluation.ev(requirement.condition, dict(record))
                except EvaluationError:
                    held = False
                if held is not True:
                    diagnostics.append(_requirement_diagnostic(scenario, name, where, requirement.message, record))
    if diagnostics:
        raise ClauseError(diagnostics, scenario.sources if scenario else None)


def _facts_with_requirements(program: Program) -> frozenset[str]:
    """The facts whose value may hold a record with `require` conditions (worked out once)."""
    found = program.__dict__.get("_required_facts")
    if not isinstance(found, frozenset):
        def has(t: T.Type) -> bool:
            t = T.strip_optional(t)
            if isinstance(t, T.ListType):
                return has(t.element)
            return isinstance(t, T.RecordType) and t.name in program.requirements

        found = program.__dict__["_required_facts"] = frozenset(
            name for name, info in program.facts.items() if has(info.type))
    return found


def _records(value: object, t: T.Type, item: int) -> list[tuple[int, dict[str, object], T.RecordType]]:
    """The records in a fact's value, each with its 1-based item number in a list (0 if none)."""
    t = T.strip_optional(t)
    if isinstance(t, T.RecordType) and isinstance(value, dict):
        return [(item, value, t)]
    if isinstance(t, T.ListType) and isinstance(value, tuple):
        found = []
        for index, element in enumerate(value, start=1):
            found.extend(_records(element, t.element, index))
        return found
    return []


def _requirement_diagnostic(scenario: Scenario | None, fact: str, item: int, message: str,
                            record: dict[str, object]) -> Diagnostic:
    from engine.values import encode

    shown = json.dumps({k: encode(v, T.ANY) for k, v in record.items()}, ensure_ascii=False)
    span = None
    if scenario is not None:
        position = scenario.positions.get(f"{fact}#{item}") or scenario.positions.get(fact)
        span = Span(scenario.path, position[0], position[1], position[0], position[1] + 1) if position \
            else Span(scenario.path, 0, 0, 0, 0)
    where = f" item {item}" if item else ""
    return Diagnostic(f"fact `{fact}`{where}: {message}; got {shown}", span)
