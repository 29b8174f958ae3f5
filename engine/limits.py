"""Every limit clause puts on its inputs, in one place (listed in docs/limits.md).

Each limit is checked before the work it bounds (a file's size before it is
read whole, a scenario's nesting and YAML alias expansion before it is built,
a number's digits and exponent before it is computed with), and a breach is
reported as a located `FILE:LINE:COL: error:` naming the limit. The limits are
far above anything a real contract or scenario needs; they exist so that a
hostile or broken input costs seconds and megabytes, not hours and gigabytes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import ClauseError, Diagnostic, SourceMap, Span

# ---------------------------------------------------------------- the limits
CLAUSE_FILE_BYTES = 4 * 1024 * 1024  # one clause file (the largest shipped is 85 KB)
SOURCE_DOCUMENT_BYTES = 32 * 1024 * 1024  # one source document quotes are checked against
INCLUDE_DEPTH = 32  # include chains (a includes b includes c ...)
SCENARIO_FILE_BYTES = 16 * 1024 * 1024  # one YAML/JSON scenario or test file (tables have no such limit)
TABLE_ROW_BYTES = 16 * 1024 * 1024  # one row of a CSV or JSONL table
NESTING_DEPTH = 64  # lists and mappings inside one another, in a scenario, a JSON(L) row or a CSV cell
# Values in one scenario (YAML: once its aliases are expanded; JSON, a JSON Lines row): its memo
# stays under 1 GB (a list of 330,000 two-field records: 432 MB).
SCENARIO_NODES = 1_000_000
NUMBER_DIGITS = 100  # digits in one number (integer, money, decimal, percent), in a fact or a clause file
NUMBER_EXPONENT = 100  # a number's power of ten, either way ("1e-999999" is refused)
FACT_YEARS = (1000, 9000)  # a date or datetime fact lies within these years (room for arithmetic and time zones)
DURATION_DAYS = 3_660_000  # the longest duration literal or fact (about 10,000 years, the span of dates)
EXPRESSION_DEPTH = 100  # tree levels of one clause expression (the shipped contracts reach 11): long `+` or call chains
TABLE_ROWS = 10_000  # `clause run --format table` (the table is laid out whole; jsonl and csv stream)
TRACE_LIST_ITEMS = 20  # a list in a trace shows its first and last items and the count; --full-lists shows all

CLAUSE_SUFFIX = ".clause"


def year_problem(year: int) -> str | None:
    low, high = FACT_YEARS
    if not low <= year <= high:
        return f"a date lies between the years {low} and {high} (the limit)"
    return None


class LimitError(ValueError):
    """An input over one of the limits above; the message names the limit."""


def describe_bytes(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:g} {unit}"
    return f"{count} bytes"


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refusing (LimitError) a file larger than ``limit``
    before reading more than ``limit + 1`` bytes of it (so `/dev/zero` is refused too)."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"{what} is larger than the limit of {describe_bytes(limit)}")
    return data


def decode_utf8(data: bytes, shown: str, what: str) -> str:
    """``data`` as text (newlines made \\n, as Python's text mode does); invalid
    UTF-8 is a ClauseError at the line and column of the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start:error.start].decode("utf-8", errors="replace")) + 1
        bad = data[error.start:error.start + 1].hex()
        raise ClauseError([Diagnostic(f"cannot read {what}: it is not UTF-8 text (byte 0x{bad}, here, is not "
                                      "part of a UTF-8 character)", Span(shown, line, column, line, column + 1),
                                      help="save the file as UTF-8")]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_number_text(text: str) -> str | None:
    """Why the number written as ``text`` is over the limits (None: it is within them).
    Looks at the digits only, so it costs nothing even for `1e-999999`."""
    body = text.strip().lstrip("+-$").replace(",", "").replace("_", "").rstrip("%")
    mantissa, _, exponent_text = body.lower().partition("e")
    digits = sum(ch.isdigit() for ch in mantissa)
    if digits > NUMBER_DIGITS:
        return f"a number has at most {NUMBER_DIGITS} digits (this one has {digits})"
    if exponent_text:
        exponent_digits = exponent_text.lstrip("+-").lstrip("0")
        if len(exponent_digits) > 6 or (exponent_digits and int(exponent_digits) > NUMBER_EXPONENT):
            return f"a number's exponent is at most {NUMBER_EXPONENT} either way (e{exponent_text})"
    return None


def check_decimal(value: Decimal) -> str | None:
    """Why the exact ``value`` is over the limits (None: it is within them)."""
    if not value.is_finite():
        return "a number must be finite"
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > NUMBER_DIGITS:
        return f"a number has at most {NUMBER_DIGITS} digits (this one has {len(digits)})"
    magnitude = len(digits) + exponent  # the power of ten of its leading digit
    if magnitude > NUMBER_EXPONENT or exponent < -NUMBER_EXPONENT:
        return f"a number lies within 10^-{NUMBER_EXPONENT} to 10^{NUMBER_EXPONENT}"
    return None


def check_integer(value: int) -> str | None:
    # bit_length first: str() of a huge integer is itself the slow (and refused) step.
    if value.bit_length() > NUMBER_DIGITS * 4 or len(str(abs(value))) > NUMBER_DIGITS:
        return f"a number has at most {NUMBER_DIGITS} digits"
    return None


def confined(path: Path, root: Path) -> bool:
    """Whether ``path`` (after symbolic links) lies in the directory tree of ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def outside_message(kind: str, written: str, root: Path) -> str:
    return (f"{kind} `{written}` lies outside {_shown_root(root)}, the directory of the contract; "
            "clause reads only files in that tree")


OUTSIDE_HELP = "move the file into the contract's directory, or pass --allow-outside to read it there"


def _shown_root(root: Path) -> str:
    try:
        return str(root.resolve().relative_to(Path.cwd())) or "."
    except ValueError:
        return str(root)


def located(message: str, shown: str, line: int = 0, column: int = 0, sources: SourceMap | None = None,
            help: str | None = None) -> ClauseError:
    """A ClauseError at ``shown:line:column`` (line 0: the file as a whole)."""
    return ClauseError([Diagnostic(message, Span(shown, line, column, line, column + 1 if line else 0),
                                   help=help)], sources)


def allow_outside_from_environment() -> bool:
    """`CLAUSE_ALLOW_OUTSIDE=1` widens the confinement for front ends without a flag."""
    return os.environ.get("CLAUSE_ALLOW_OUTSIDE", "") == "1"


# ---------------------------------------------------------------- nested data (scenarios, JSON(L) rows, CSV cells)
_NUMBER_LIKE = re.compile(r"[-+]?[\d_,.]*\d[\d_,.]*([eE][-+]?\d+)?%?")


def check_yaml(text: str, shown: str, sources: SourceMap | None = None) -> None:
    """Refuse, before building anything, YAML nested deeper than NESTING_DEPTH,
    whose aliases expand to more than SCENARIO_NODES values (an alias bomb), or
    with a plain number over the digit limits. One pass over the parser's
    events: no recursion, no expansion, linear in the text."""
    import yaml

    depth = 0
    sizes: list[int] = []  # the values counted in each open collection
    anchors: dict[str, int] = {}
    opened: list[str | None] = []
    total = 0
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            mark = event.start_mark
            assert mark is not None  # the parser marks every event
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > NESTING_DEPTH:
                    raise located(f"lists and mappings nest more than {NESTING_DEPTH} deep here (the limit)",
                                  shown, mark.line + 1, mark.column + 1, sources)
                sizes.append(1)
                opened.append(event.anchor)
                continue
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
                size = sizes.pop()
                anchor = opened.pop()
                if anchor is not None:
                    anchors[anchor] = size
                count = size
            elif isinstance(event, yaml.AliasEvent):
                count = anchors.get(event.anchor or "", 1)
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    anchors[event.anchor] = 1
                if event.implicit[0] and _NUMBER_LIKE.fullmatch(event.value):
                    problem = check_number_text(event.value)
                    if problem is not None:
                        raise located(problem, shown, mark.line + 1, mark.column + 1, sources)
                count = 1
            else:
                continue
            if sizes:
                sizes[-1] += count
            total += count if not sizes else 0
            if (sizes and sizes[-1] > SCENARIO_NODES) or total > SCENARIO_NODES:
                raise located(f"this holds more than {SCENARIO_NODES:,} values once its aliases (*name) are "
                              "expanded (the limit)", shown, mark.line + 1, mark.column + 1, sources,
                              help="write the values out, or use fewer aliases")
    except yaml.YAMLError:
        return  # the loader reports it, with its position


def check_nesting(data: object, shown: str, text: str, sources: SourceMap | None = None,
                  line_offset: int = 0) -> None:
    """Refuse loaded JSON-like ``data`` nested deeper than NESTING_DEPTH, or holding more than
    SCENARIO_NODES values (walked without recursion)."""
    problem = _shape_problem(data)
    if problem == "deep":
        raise nesting_error(text, shown, sources, line_offset)
    if problem == "many":
        raise located(f"this holds more than {SCENARIO_NODES:,} values (the limit)", shown, 1 + line_offset, 1,
                      sources, help="give many scenarios as a table for `clause run` (CSV, JSON Lines, Parquet)")


def _shape_problem(data: object) -> str | None:
    """"deep" past NESTING_DEPTH, "many" past SCENARIO_NODES values, or None."""
    stack: list[tuple[object, int]] = [(data, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > SCENARIO_NODES:
            return "many"
        if isinstance(value, (list, dict)):
            if depth >= NESTING_DEPTH:
                return "deep"
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return None


def nesting_error(text: str, shown: str, sources: SourceMap | None = None, line_offset: int = 0) -> ClauseError:
    """The error for JSON ``text`` nested too deep, at the bracket that goes over the limit."""
    depth, line, column, in_string, escaped = 0, 1, 0, False, False
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > NESTING_DEPTH:
                break
        elif char in "]}":
            depth -= 1
    return located(f"lists and mappings nest more than {NESTING_DEPTH} deep here (the limit)", shown,
                   line + line_offset, max(column, 1), sources)


def bounded_decimal(text: str) -> Decimal:
    """``Decimal`` for json.loads(parse_float=...): refuses (LimitError) a number over
    the digit or exponent limits before Decimal arithmetic can overflow on it."""
    problem = check_number_text(text)
    if problem is not None:
        raise LimitError(problem)
    return Decimal(text)


def bounded_int(text: str) -> int:
    """``int`` for json.loads(parse_int=...): refuses (LimitError) more than NUMBER_DIGITS digits."""
    problem = check_number_text(text)
    if problem is not None:
        raise LimitError(problem)
    return int(text)


class RepeatedKey(ValueError):
    """A JSON object that gives one key twice (a repeated fact would silently win)."""

    def __init__(self, key: str):
        super().__init__(f"`{key}` is given twice; give each fact once")
        self.key = key


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict; RepeatedKey (a ValueError) when a key is given twice."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise RepeatedKey(key)
        data[key] = value
    return data


def loads_json(text: str) -> Any:
    """JSON read exactly (decimals as Decimal), within the limits: at most
    NESTING_DEPTH deep, NUMBER_DIGITS digits a number, each key of an object once.
    Raises json.JSONDecodeError, LimitError or RepeatedKey."""
    try:
        data = json.loads(text, parse_float=bounded_decimal, parse_int=bounded_int, object_pairs_hook=unique_pairs)
    except RecursionError:
        raise LimitError(f"lists and mappings nest more than {NESTING_DEPTH} deep (the limit)") from None
    problem = _shape_problem(data)
    if problem == "deep":
        raise LimitError(f"lists and mappings nest more than {NESTING_DEPTH} deep (the limit)")
    if problem == "many":
        raise LimitError(f"this holds more than {SCENARIO_NODES:,} values (the limit)")
    return data


# ---------------------------------------------------------------- table rows (CSV, JSON Lines), read as bytes


class RowProblem(ValueError):
    """A row of a table that cannot be read: over TABLE_ROW_BYTES, or not UTF-8.
    ``line`` and ``column`` say where (1-based; the column counts characters)."""

    def __init__(self, message: str, line: int, column: int = 1, encoding: bool = False):
        super().__init__(message)
        self.line = line
        self.column = column
        self.encoding = encoding  # not UTF-8 (rather than too long)


def table_lines(handle: BinaryIO, first_line: int = 1) -> Iterator[tuple[int, str | RowProblem]]:
    """The lines of a binary ``handle`` as text, numbered from ``first_line``; a
    line that is not UTF-8 or is longer than TABLE_ROW_BYTES comes as a
    RowProblem instead (a long line is skipped without being held whole)."""
    number = first_line - 1
    while True:
        raw = handle.readline(TABLE_ROW_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > TABLE_ROW_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield number, RowProblem(f"the row is longer than the limit of {describe_bytes(TABLE_ROW_BYTES)}",
                                     number)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            column = len(raw[:error.start].decode("utf-8", errors="replace")) + 1
            yield number, RowProblem(f"not UTF-8 text (byte 0x{raw[error.start:error.start + 1].hex()}, here, is "
                                     "not part of a UTF-8 character); save the table as UTF-8", number, column, True)
            continue
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield number, text


def first_row_problem(path: Path) -> RowProblem | None:
    """The first line of ``path`` that is not UTF-8 or is too long (None: there is none)."""
    with path.open("rb") as handle:
        for _number, text in table_lines(handle):
            if isinstance(text, RowProblem):
                return text
    return None
