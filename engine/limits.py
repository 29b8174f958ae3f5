"""Every limit clause puts on its inputs, in one place (listed in docs/limits.md).

Each limit is checked before the work it bounds (a file's size before it is
read whole, a scenario's nesting and YAML alias expansion before it is built,
a number's digits and exponent before it is computed with), and a breach is
reported as a located `FILE:LINE:COL: error:` naming the limit. The limits are
far above anything a real contract or scenario needs; they exist so that a
hostile or broken input costs seconds and megabytes, not hours and gigabytes.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from engine.errors import ClauseError, Diagnostic, SourceMap, Span

# ---------------------------------------------------------------- the limits
CLAUSE_FILE_BYTES = 4 * 1024 * 1024  # one clause file (the largest shipped is 85 KB)
SOURCE_DOCUMENT_BYTES = 32 * 1024 * 1024  # one source document quotes are checked against
INCLUDE_DEPTH = 32  # include chains (a includes b includes c ...)
SCENARIO_FILE_BYTES = 64 * 1024 * 1024  # one YAML/JSON scenario or test file
TABLE_ROW_BYTES = 16 * 1024 * 1024  # one row of a CSV or JSONL table
NESTING_DEPTH = 64  # lists and mappings inside one another, in a scenario, a JSON(L) row or a CSV cell
SCENARIO_NODES = 5_000_000  # values in one scenario once YAML aliases are expanded
NUMBER_DIGITS = 100  # digits in one number (integer, money, decimal, percent), in a fact or a clause file
NUMBER_EXPONENT = 100  # a number's power of ten, either way ("1e-999999" is refused)
DURATION_DAYS = 3_660_000  # the longest duration literal or fact (about 10,000 years, the span of dates)
EXPRESSION_DEPTH = 400  # operators and calls inside one another in one clause expression
TABLE_ROWS = 10_000  # `clause run --format table` (the table is laid out whole; jsonl and csv stream)
TRACE_LIST_ITEMS = 20  # a list in a trace shows its first and last items and the count; --full-lists shows all

CLAUSE_SUFFIX = ".clause"


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
