"""`clause fmt`: lay out clause files the way the shipped contracts are written.

The formatter works on the token stream of the project's own lexer (the
grammar in grammar/clause.lark), not on a second grammar: the parser tells it
where statements start (from the AST spans), the lexer gives every token with
its comments. It only ever changes whitespace between tokens:

- every statement starts on a line of its own: declarations, sections, the
  header and includes at column 0; quotes and declarations of a section at 2;
  a defined term's `term` at 2, its quotes and declarations at 4;
  header fields, `require` and `explain` two columns in from their statement;
- continuation lines keep their hand-made layout, moved with their statement,
  and always stand at least two columns in from it;
- one space after commas and colons and around operators, none inside
  brackets, before commas or colons, around dots, or between a function and
  its parenthesis; other spaces are kept (collapsed to one);
- at most one blank line in a row, none at the start, one newline at the end.

Comments and quoted text (strings, ``\"\"\"`` blocks) are copied byte for byte,
and full-line comments keep their place. Constructs the formatter does not
know (new statements, new operators) are kept with their own spacing: their
tokens are only re-spaced by the generic rules above. As a last safeguard the
output is parsed again; if its AST differs from the input's, the input is
returned unchanged and the result says so.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Token
from lark.exceptions import LarkError

from engine import ast
from engine.errors import ClauseError, Diagnostic, SourceMap
from engine.parse import clause_parser, parse_text

INDENT = 2

# The keyword that opens each kind of statement (spans start at the keyword
# for declarations, but at the quoted block for `text` and `explain`).
_KEYWORD = {
    ast.Header: "contract", ast.Include: "include", ast.Reading: "reading", ast.ZoneDecl: "zone",
    ast.CalendarDecl: "calendar", ast.RecordDecl: "record", ast.FactDecl: "fact", ast.Define: "define",
    ast.FunctionDecl: "define", ast.ResultDecl: "result", ast.Section: "section", ast.Quote: "text",
    ast.Explain: "explain", ast.Requirement: "require", ast.ReadingAlternative: "reading",
}
# Parts of a statement written on lines of their own, two columns in.
_SUB_STATEMENTS = ("requirements", "explains")
_HEADER_FIELDS = frozenset({"dated", "party", "governing", "source", "home", "amends", "headline", "not"})

_NO_SPACE_BEFORE = frozenset({",", ")", "]", ":", "."})
_NO_SPACE_AFTER = frozenset({"(", "[", "."})
_SPACED_OPERATORS = frozenset({"=", "+", "*", "/", "<", ">", "<=", ">=", "!=", "|"})
# Tokens whose spacing is the writer's choice: `{ a: 1 }` or `{a: 1}`, `-x` or `a - b`.
_KEEP_SPACING = frozenset({"{", "}", "-"})
_WORDISH = re.compile(r'[\w"$%]')


@dataclass(frozen=True)
class Formatted:
    text: str
    changed: bool
    # True when the layout would have changed the file's meaning (a formatter
    # bug): the text is then the input, unchanged.
    kept_as_is: bool = False


def format_text(text: str, path: str = "<input>") -> Formatted:
    """Format one clause file's text. Raises ClauseError if it does not parse."""
    outcome = parse_text(text, path)
    if outcome.file is None or outcome.diagnostics:
        sources = SourceMap()
        sources.add(path, text)
        raise ClauseError(outcome.diagnostics or [Diagnostic(f"{path} could not be parsed")], sources)
    try:
        tokens = [t for t in clause_parser().lex(text, dont_ignore=True) if t.type != "WS"]
    except LarkError:  # the lexer alone cannot split it where the parser could: leave it
        return Formatted(text, False, kept_as_is=True)
    starts = _statement_starts(outcome.file, tokens)
    formatted = _layout(text, tokens, starts)
    again = parse_text(formatted, path)
    if again.file != outcome.file or again.diagnostics or _comments(formatted) != _comments(text):
        return Formatted(text, False, kept_as_is=True)
    return Formatted(formatted, formatted != text)


def _comments(text: str) -> list[str]:
    return [t.value for t in clause_parser().lex(text, dont_ignore=True) if t.type == "COMMENT"]


# ---------------------------------------------------------------- statements


def _statement_starts(file: ast.ClauseFile, tokens: list[Token]) -> dict[int, int]:
    """Token index → indentation, for every token that opens a statement."""
    by_position = {(t.line, t.column): i for i, t in enumerate(tokens)}
    starts: dict[int, int] = {}

    def mark(node: Any, indent: int) -> None:
        span = getattr(node, "span", None)
        if span is None or span.line == 0:
            return
        index = by_position.get((span.line, span.column))
        if index is None:
            return
        keyword = "term" if isinstance(node, ast.Section) and node.term else _KEYWORD.get(type(node))
        if keyword is not None and tokens[index].value != keyword:
            before = [j for j in range(index, -1, -1) if tokens[j].value == keyword and tokens[j].type != "STRING"]
            index = before[0] if before else index
        starts.setdefault(index, indent)
        for name in _SUB_STATEMENTS:
            for part in getattr(node, name, ()):
                mark(part, indent + INDENT)

    if file.header is not None:
        mark(file.header, 0)
    for node in _nodes(file):
        # a defined term's entry stands inside its definitions section, its text and rules inside it
        outer = INDENT if isinstance(node, ast.Section) and node.term else 0
        mark(node, outer)
        if isinstance(node, ast.Section):
            for inner in _nodes(node):
                mark(inner, outer + INDENT)
    _mark_header_fields(file, tokens, starts)
    return starts


def _nodes(container: Any) -> Iterator[Any]:
    """The statements a file or section holds, including kinds added after this was written."""
    for f in dataclasses.fields(container):
        value = getattr(container, f.name)
        if isinstance(value, tuple):
            yield from (v for v in value if hasattr(v, "span"))


def _mark_header_fields(file: ast.ClauseFile, tokens: list[Token], starts: dict[int, int]) -> None:
    if file.header is None:
        return
    header_index = next((i for i, t in enumerate(tokens) if t.value == "contract" and i in starts), None)
    if header_index is None:
        return
    for i in range(header_index + 1, len(tokens)):
        if i in starts:
            return
        if tokens[i].value in _HEADER_FIELDS and tokens[i].type not in ("STRING", "COMMENT"):
            starts[i] = INDENT


# ---------------------------------------------------------------- layout


def _layout(text: str, tokens: list[Token], starts: dict[int, int]) -> str:
    lines: list[str] = []
    statement_indent = 0
    shift = 0  # how far the current statement moved; its continuation lines move with it
    previous: Token | None = None
    for index, token in enumerate(tokens):
        on_new_line = previous is None or _end_line(previous) < (token.line or 0)
        if previous is not None and not on_new_line and index not in starts:
            gap = text[previous.end_pos : token.start_pos]
            lines[-1] += _space(previous, token, gap) + token.value
            previous = token
            continue
        if previous is not None and on_new_line:
            blank_lines = text[previous.end_pos : token.start_pos].count("\n") - 1
            if blank_lines > 0:
                lines.append("")
        original_indent = (token.column or 1) - 1
        if index in starts:
            indent = starts[index]
            shift = indent - original_indent
            statement_indent = indent
        elif token.type == "COMMENT":
            # A full-line comment stays where its writer put it.
            line_start = text.rfind("\n", 0, token.start_pos) + 1
            lines.append(text[line_start : token.start_pos] + token.value)
            previous = token
            continue
        else:
            indent = max(original_indent + shift, statement_indent + INDENT)
        lines.append(" " * indent + token.value)
        previous = token
    return "\n".join(lines) + "\n" if lines else ""


def _end_line(token: Token) -> int:
    return token.end_line or token.line or 0


def _space(left: Token, right: Token, gap: str) -> str:
    """The whitespace between two tokens on one line."""
    kept = "" if gap == "" else " "
    if right.type == "COMMENT":
        return gap if gap.strip() == "" and gap else " "
    a, b = left.value, right.value
    if a in _KEEP_SPACING or b in _KEEP_SPACING:
        return kept
    if b == "." and a in ("by", ",", ":"):
        return " "  # a field path starts: `sort(events by .date, .name)`, `by: .date`
    if b == "." and not (left.type in ("NAME", "STRING") or a in (")", "]")):
        return kept  # `by .price`: a field named on its own, not a field of a value
    if b in _NO_SPACE_BEFORE or a in _NO_SPACE_AFTER:
        return ""
    if a in (",", ":"):
        return " "
    if b == "(":
        # A call hugs its parenthesis; after a keyword (`any of (`, `any(`) the writer chose.
        return "" if left.type == "NAME" else kept
    if a in _SPACED_OPERATORS or b in _SPACED_OPERATORS:
        return " "
    if _WORDISH.match(a[-1]) and _WORDISH.match(b[0]):
        return " "  # `integer"description"` reads as one word
    return kept


# ---------------------------------------------------------------- files


def clause_files(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        found.extend(sorted(path.rglob("*.clause")) if path.is_dir() else [path])
    return found


def fmt_command(paths: list[str], check: bool, out: Any, err: Any) -> int:
    """`clause fmt PATH... [--check]`: rewrite files in place, or list those not formatted."""
    failed = unformatted = 0
    files = clause_files(paths)
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            err.write(f"{path}: error: cannot read it: {error}\n")
            failed += 1
            continue
        try:
            result = format_text(text, str(path))
        except ClauseError as error:
            err.write(error.render() + "\n")
            failed += 1
            continue
        if result.kept_as_is:
            err.write(f"{path}: warning: left as it is: formatting it would change its meaning "
                      "(a bug in clause fmt, please report it)\n")
        if not result.changed:
            continue
        if check:
            unformatted += 1
            diff = difflib.unified_diff(text.splitlines(keepends=True), result.text.splitlines(keepends=True),
                                        f"{path}", f"{path} (formatted)", n=1)
            out.write(f"{path}: not formatted\n")
            out.writelines(diff)
        else:
            path.write_text(result.text, encoding="utf-8")
            out.write(f"{path}: formatted\n")
    if check and unformatted:
        err.write(f"{unformatted} of {len(files)} file(s) would be reformatted; run `clause fmt` on them\n")
    if failed:
        err.write(f"{failed} of {len(files)} file(s) could not be formatted\n")
    return 1 if failed or unformatted else 0
