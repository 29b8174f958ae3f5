"""Parse clause files into the AST.

The Lark parser is built once per process (LALR, positions propagated) and
its exceptions are wrapped into diagnostics with the position kept. On a
syntax error the statement at fault is blanked out (newlines kept, so every
other position is unchanged) and parsing resumes, so one run reports every
syntax error and the checker still sees every statement that did parse.
Raw ``lark.Tree`` objects never leave this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from engine import ast
from engine.errors import ClauseError, Diagnostic, SourceMap, Span, did_you_mean
from engine.periods import Period

GRAMMAR_PATH = Path(__file__).resolve().parent.parent / "grammar" / "clause.lark"

STATEMENT_KEYWORDS = (
    "contract", "include", "reading", "zone", "calendar", "enum", "scale", "record",
    "fact", "define", "result", "section", "text", "explain", "require", "convention", "amend",
)
_STATEMENT_START = re.compile(r"^\s*(" + "|".join(STATEMENT_KEYWORDS) + r")\b")
_DECLARED_NAME = re.compile(
    r"^\s*(?:fact|define|result|enum|scale|record|zone|calendar|reading)\s+([A-Za-z_]\w*)", re.M
)
MAX_RECOVERIES = 50

# How expected terminals are named in syntax errors.
_TERMINAL_WORDS = {
    "NAME": "a name", "STRING": "a quoted string", "LONG_STRING": 'a """quoted block"""',
    "MONEY": "an amount such as $1,000", "PERCENT": "a percentage such as 20%",
    "DECIMAL": "a decimal number", "INTEGER": "a whole number", "DATE": "a date such as 2003-06-18",
    "TIME": "a time such as 5:00 pm", "$END": "the end of the file",
}


@functools.cache
def clause_parser(strict: bool = False) -> lark.Lark:
    """The Lark parser, built once per process; ``strict`` in the tests."""
    return lark.Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        strict=strict,
        cache=not strict,
    )


@dataclass
class ParseOutcome:
    file: ast.ClauseFile | None
    diagnostics: list[Diagnostic]
    # Names declared in statements that failed to parse: the checker does not
    # report them as unknown, since the real error is already reported.
    broken_names: set[str]


def parse_text(text: str, path: str, strict: bool = False) -> ParseOutcome:
    parser = clause_parser(strict)
    diagnostics: list[Diagnostic] = []
    broken: set[str] = set()
    lines = text.split("\n")
    for _ in range(MAX_RECOVERIES):
        try:
            tree = parser.parse("\n".join(lines))
        except UnexpectedInput as error:
            diagnostics.append(_syntax_diagnostic(error, path, parser))
            start, end = _faulty_statement(lines, error)
            if start >= end:
                return ParseOutcome(None, diagnostics, broken)
            broken.update(_DECLARED_NAME.findall("\n".join(lines[start:end])))
            for i in range(start, end):
                lines[i] = ""
            continue
        too_much = _over_limits(tree, path)
        if too_much is not None:  # before the recursive passes (transform, check, evaluate) meet it
            diagnostics.append(too_much)
            return ParseOutcome(None, diagnostics, broken)
        try:
            file = _ToAst(path).transform(tree)
        except VisitError as error:
            if isinstance(error.orig_exc, _LiteralError):
                diagnostics.append(error.orig_exc.diagnostic)
                return ParseOutcome(None, diagnostics, broken)
            raise
        assert isinstance(file, ast.ClauseFile)
        diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        return ParseOutcome(file, diagnostics, broken)
    return ParseOutcome(None, diagnostics, broken)


_NUMBER_TOKENS = ("INTEGER", "DECIMAL", "MONEY", "PERCENT")


def _over_limits(tree: lark.Tree[Token], path: str) -> Diagnostic | None:
    """The first place ``tree`` goes over a limit: an expression nested more than
    EXPRESSION_DEPTH deep (long `+` or call chains), a number with too many digits.
    Walked without recursion, so any input is measured safely."""
    from engine.limits import EXPRESSION_DEPTH, check_number_text

    stack: list[tuple[lark.Tree[Token] | Token, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            if node.type in _NUMBER_TOKENS:
                problem = check_number_text(str(node))
                if problem is not None:
                    line, column = node.line or 0, node.column or 0
                    return Diagnostic(problem, Span(path, line, column, line, column + 1))
            continue
        if depth > EXPRESSION_DEPTH:
            meta = node.meta
            line, column = getattr(meta, "line", 0), getattr(meta, "column", 0)
            return Diagnostic(f"this expression nests more than {EXPRESSION_DEPTH} operations deep (the limit)",
                              Span(path, line, column, line, column + 1),
                              help="name parts of it with `define` and combine those")
        stack.extend((child, depth + 1) for child in node.children)
    return None


def _faulty_statement(lines: list[str], error: UnexpectedInput) -> tuple[int, int]:
    """Line range [start, end) (0-based) of the statement to blank out."""
    line = getattr(error, "line", -1)
    if isinstance(error, UnexpectedEOF) or line is None or line < 1:
        line = len(lines)
    index = min(line, len(lines)) - 1
    starts = [i for i, text in enumerate(lines) if _STATEMENT_START.match(text)]
    # An error reported on the keyword that opens a statement is nearly always
    # the previous statement's fault (an unclosed parenthesis, a missing value).
    token = getattr(error, "token", None)
    column = getattr(error, "column", 0)
    at_keyword = (
        isinstance(error, UnexpectedToken)
        and token is not None
        and str(token) in STATEMENT_KEYWORDS
        and _STATEMENT_START.match(lines[index]) is not None
        and lines[index][: max(column - 1, 0)].strip() == ""
    )
    # Inside an unfinished expression the contextual lexer reads the next
    # statement's keyword as a plain name; the error then lands just after it.
    keyword_as_name = _keyword_read_as_name(error) is not None
    if at_keyword or keyword_as_name:
        index -= 1
    before = [s for s in starts if s <= index]
    start = before[-1] if before else index
    after = [s for s in starts if s > index]
    end = after[0] if after else len(lines)
    if not any(lines[i].strip() for i in range(max(start, 0), end)):
        return (0, 0)
    return (max(start, 0), end)


def _keyword_read_as_name(error: UnexpectedInput) -> Token | None:
    """The statement keyword the lexer took for a name, if that caused the error."""
    state = getattr(error, "state", None)
    stack = getattr(state, "value_stack", None) or []
    previous = stack[-1] if stack else None
    if (
        isinstance(previous, Token)
        and previous.type == "NAME"
        and str(previous) in STATEMENT_KEYWORDS
        and previous.line == getattr(error, "line", None)
    ):
        return previous
    return None


_VALUE_STARTS = {"NAME", "MONEY", "INTEGER"}


def _describe_expected(expected: set[str], parser: lark.Lark) -> list[str]:
    if expected >= _VALUE_STARTS:
        # Where any expression may start, listing every token kind helps nobody.
        return ["a value: a name, a number, an amount such as $1,000, a date, or `(`"]
    words = []
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
            continue
        terminal = parser.get_terminal(name) if name in {t.name for t in parser.terminals} else None
        if terminal is not None and terminal.pattern.type == "str":
            words.append(f"`{terminal.pattern.value}`")
        else:
            words.append(name.lower())
    return sorted(set(words))


def _syntax_diagnostic(error: UnexpectedInput, path: str, parser: lark.Lark) -> Diagnostic:
    line = getattr(error, "line", 0) or 0
    column = getattr(error, "column", 0) or 0
    if isinstance(error, UnexpectedCharacters):
        char = error.char
        span = Span(path, line, column, line, column + 1)
        expected = _describe_expected(set(error.allowed or ()), parser)
        hint = None
        if char == "'":
            hint = 'strings are written with double quotes: "like this"'
        return Diagnostic(
            f"unexpected character `{char}`",
            span,
            help=hint or (f"expected {_join(expected)}" if expected else None),
        )
    if isinstance(error, UnexpectedEOF):
        expected = _describe_expected(set(error.expected), parser)
        return Diagnostic(
            "unexpected end of file", Span(path, line, column, line, column + 1),
            help=f"expected {_join(expected)}" if expected else None,
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    if token.type == "$END":
        expected = _describe_expected(set(error.expected), parser)
        return Diagnostic(
            "unexpected end of file", Span(path, line, column, line, column + 1),
            help=f"expected {_join(expected)}" if expected else None,
        )
    keyword = _keyword_read_as_name(error)
    if keyword is not None:
        span = Span(path, keyword.line or line, keyword.column or column,
                    keyword.line or line, (keyword.column or column) + len(str(keyword)))
        return Diagnostic(
            f"`{keyword}` starts a new statement, but the one before it is unfinished",
            span,
            help="look above for an unclosed parenthesis or an operator with nothing after it",
        )
    width = max(len(str(token)), 1)
    span = Span(path, line, column, getattr(token, "end_line", line) or line,
                getattr(token, "end_column", column + width) or column + width)
    expected = _describe_expected(set(error.expected), parser)
    if str(token) in STATEMENT_KEYWORDS and token.type != "NAME":
        return Diagnostic(
            f"`{token}` starts a new statement, but the one before it is unfinished",
            span,
            help=f"expected {_join(expected)} before it" if expected else None,
        )
    keywords = [w.strip("`") for w in expected if w.startswith("`")]
    hint = did_you_mean(str(token), keywords) if token.type == "NAME" else None
    shown = str(token).split("\n")[0]
    return Diagnostic(
        f"unexpected `{shown}`",
        span,
        help=hint or (f"expected {_join(expected)}" if expected else None),
    )


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    if len(words) > 8:
        return "one of " + ", ".join(words[:8]) + ", …"
    return "one of " + ", ".join(words)


# ---------------------------------------------------------------- tree → AST


class _LiteralError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


_CIRCULAR = object()  # the `circular` marker of a define or result, while it is parsed


def _unquote(token: str) -> str:
    if token.startswith('"""'):
        return token[3:-3]
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


_TIME = re.compile(r"(\d{1,2}):(\d{2})\s*(am|pm|a\.m\.|p\.m\.)?$", re.I)


@v_args(meta=True)
class _ToAst(Transformer[Token, Any]):
    """Builds AST nodes bottom-up; runs once per file."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    # spans ---------------------------------------------------------------
    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 0, 0, 0, 0)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, token: Token) -> Span:
        return Span(self.path, token.line or 0, token.column or 0,
                    token.end_line or token.line or 0, token.end_column or token.column or 0)

    # header --------------------------------------------------------------
    def start(self, meta: Any, children: list[Any]) -> ast.ClauseFile:
        header = None
        includes: list[ast.Include] = []
        declarations: list[ast.Declaration] = []
        sections: list[ast.Section] = []
        for child in children:
            if isinstance(child, ast.Header):
                header = child
            elif isinstance(child, ast.Include):
                includes.append(child)
            elif isinstance(child, ast.Section):
                sections.append(child)
            elif isinstance(child, tuple):  # a section with defined terms, each cited as its own part
                sections.extend(child)
            else:
                declarations.append(child)
        return ast.ClauseFile(self.path, header, tuple(includes), tuple(declarations), tuple(sections))

    def header(self, meta: Any, children: list[Any]) -> ast.Header:
        title = _unquote(children[0])
        fields: dict[str, Any] = {"parties": [], "not_encoded": [], "headline": [], "headline_spans": []}
        source_span = zone_span = Span(self.path, 0, 0, 0, 0)
        for kind, value, span in children[1:]:
            if kind in ("party", "not_encoded"):
                fields["parties" if kind == "party" else kind].append(value)
            elif kind == "headline":
                fields["headline"].extend(name for name, _ in value)
                fields["headline_spans"].extend(where for _, where in value)
            else:
                fields[kind] = value
            if kind == "source":
                source_span = span
            if kind == "zone":
                zone_span = span
        return ast.Header(
            title, fields.get("dated"), tuple(fields["parties"]), fields.get("law"),
            fields.get("source"), fields.get("zone"), self._span(meta), source_span, zone_span,
            fields.get("amends"), tuple(fields["headline"]), tuple(fields["headline_spans"]),
            tuple(fields["not_encoded"]),
        )

    def header_amends(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("amends", _unquote(c[0]), self._span(meta))

    def header_headline(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("headline", [(str(t), self._tok_span(t)) for t in c], self._span(meta))

    def header_not_encoded(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("not_encoded", _unquote(c[0]), self._span(meta))

    def header_dated(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("dated", self._date(c[0]), self._span(meta))

    def header_party(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("party", ast.Party(_unquote(c[0]), _unquote(c[1])), self._span(meta))

    def header_law(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("law", _unquote(c[0]), self._span(meta))

    def header_source(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("source", _unquote(c[0]), self._tok_span(c[0]))

    def header_zone(self, meta: Any, c: list[Any]) -> tuple[str, object, Span]:
        return ("zone", _unquote(c[0]), self._tok_span(c[0]))

    # declarations --------------------------------------------------------
    def include(self, meta: Any, c: list[Any]) -> ast.Include:
        return ast.Include(_unquote(c[0]), self._span(meta))

    def reading(self, meta: Any, c: list[Any]) -> ast.Reading:
        alternative: tuple[str, tuple[ast.Declaration, ...]] | None = c[2] if len(c) > 2 else None
        return ast.Reading(str(c[0]), _normalise_block(_unquote(c[1])), self._span(meta),
                           alternative[0] if alternative else None, alternative[1] if alternative else ())

    def alternative(self, meta: Any, c: list[Any]) -> tuple[str, tuple[ast.Declaration, ...]]:
        return (_normalise_block(_unquote(c[0])), tuple(c[1:]))

    def reading_alternative(self, meta: Any, c: list[Any]) -> ast.ReadingAlternative:
        return ast.ReadingAlternative(str(c[0]), tuple(c[1:]), self._span(meta))

    def uses(self, meta: Any, c: list[Any]) -> ast.Uses:
        return ast.Uses(tuple(str(t) for t in c), tuple(self._tok_span(t) for t in c))

    def _uses(self, c: list[Any]) -> ast.Uses:
        return c[-1] if c and isinstance(c[-1], ast.Uses) else ast.NO_USES

    def zone(self, meta: Any, c: list[Any]) -> ast.ZoneDecl:
        kind, value, spec_span = c[1]
        fixed = value if kind == "fixed" else None
        named = value if kind == "named" else None
        return ast.ZoneDecl(str(c[0]), fixed, named, self._uses(c), self._span(meta), spec_span)

    def fixed_zone(self, meta: Any, c: list[Any]) -> tuple[str, str, Span]:
        return ("fixed", _unquote(c[0]), self._tok_span(c[0]))

    def named_zone(self, meta: Any, c: list[Any]) -> tuple[str, str, Span]:
        return ("named", _unquote(c[0]), self._tok_span(c[0]))

    def amendment(self, meta: Any, c: list[Any]) -> ast.Amendment:
        return ast.Amendment(str(c[0]), self._date(c[1]), c[2], self._uses(c), None, self._span(meta))

    def convention(self, meta: Any, c: list[Any]) -> ast.ConventionDecl:
        return ast.ConventionDecl(str(c[0]), str(c[1]), self._uses(c), self._span(meta), self._tok_span(c[1]))

    def calendar(self, meta: Any, c: list[Any]) -> ast.CalendarDecl:
        return ast.CalendarDecl(str(c[0]), _unquote(c[1]), self._uses(c), self._span(meta),
                                self._tok_span(c[1]))

    def member(self, meta: Any, c: list[Any]) -> tuple[str, str | None]:
        name = _unquote(c[0]) if c[0].type == "STRING" else str(c[0])
        return (name, _unquote(c[1]) if len(c) > 1 else None)

    def _enum(self, meta: Any, c: list[Any], ordered: bool) -> ast.EnumDecl:
        members: list[tuple[str, str | None]] = c[1:]
        return ast.EnumDecl(str(c[0]), tuple(name for name, _ in members), ordered, self._span(meta),
                            tuple((name, label) for name, label in members if label is not None))

    def enum(self, meta: Any, c: list[Any]) -> ast.EnumDecl:
        return self._enum(meta, c, False)

    def scale(self, meta: Any, c: list[Any]) -> ast.EnumDecl:
        return self._enum(meta, c, True)

    def record(self, meta: Any, c: list[Any]) -> ast.RecordDecl:
        fields = tuple(x for x in c[1:] if isinstance(x, ast.FieldDecl))
        requirements = tuple(x for x in c[1:] if isinstance(x, ast.Requirement))
        return ast.RecordDecl(str(c[0]), fields, self._span(meta), requirements)

    def requirement(self, meta: Any, c: list[Any]) -> ast.Requirement:
        return ast.Requirement(_unquote(c[0]), c[1], self._span(meta))

    def field_decl(self, meta: Any, c: list[Any]) -> ast.FieldDecl:
        default = next((x[1] for x in c[2:] if isinstance(x, tuple) and x[0] == "default"), None)
        return ast.FieldDecl(str(c[0]), c[1], self._span(meta), default)

    def fact(self, meta: Any, c: list[Any]) -> ast.FactDecl:
        default = next((x for x in c[2:] if isinstance(x, tuple) and x[0] == "default"), None)
        description = next((x[1] for x in c[2:] if isinstance(x, tuple) and x[0] == "description"), None)
        return ast.FactDecl(str(c[0]), c[1], default[1] if default else None, description, None, self._span(meta),
                            default[2] if default else None)

    def default(self, meta: Any, c: list[Any]) -> tuple[str, Any, str | None]:
        return ("default", c[0], c[1] if len(c) > 1 else None)

    def assumed(self, meta: Any, c: list[Any]) -> str:
        return _unquote(c[0])

    def pinpoint(self, meta: Any, c: list[Any]) -> tuple[str, str, Span]:
        return ("pinpoint", " ".join(_unquote(c[0]).split()), self._tok_span(c[0]))

    @staticmethod
    def _pinpoint(c: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        found = [x for x in c if isinstance(x, tuple) and x and x[0] == "pinpoint"]
        rest = [x for x in c if not (isinstance(x, tuple) and x and x[0] == "pinpoint")]
        return rest, ({"pinpoint": found[0][1], "pinpoint_span": found[0][2]} if found else {})

    def description(self, meta: Any, c: list[Any]) -> tuple[str, str]:
        return ("description", _unquote(c[0]))

    def define(self, meta: Any, c: list[Any]) -> ast.Define:
        circular = _CIRCULAR in c
        c, pinpoint = self._pinpoint([x for x in c if x is not _CIRCULAR])
        rest = [x for x in c[1:] if not isinstance(x, ast.Uses)]
        type_ref = rest[0] if len(rest) == 2 else None
        return ast.Define(str(c[0]), type_ref, rest[-1], self._uses(c), None, self._span(meta), circular,
                          **pinpoint)

    def result(self, meta: Any, c: list[Any]) -> ast.ResultDecl:
        explains = tuple(x for x in c if isinstance(x, ast.Explain))
        circular = _CIRCULAR in c
        c, pinpoint = self._pinpoint([x for x in c if not isinstance(x, ast.Explain) and x is not _CIRCULAR])
        rest = [x for x in c[2:] if not isinstance(x, ast.Uses)]
        description = rest[0][1] if len(rest) == 2 else None
        return ast.ResultDecl(str(c[0]), c[1], description, rest[-1], self._uses(c), None, self._span(meta),
                              explains, circular, **pinpoint)

    def circular(self, meta: Any, c: list[Any]) -> object:
        return _CIRCULAR

    def explain(self, meta: Any, c: list[Any]) -> ast.Explain:
        condition = c[0] if len(c) == 2 else None
        return ast.Explain(condition, _normalise_block(_unquote(c[-1])).replace("\n", " "), self._tok_span(c[-1]))

    def function(self, meta: Any, c: list[Any]) -> ast.FunctionDecl:
        return ast.FunctionDecl(str(c[0]), tuple(c[1]), c[2], c[3], self._uses(c), None, self._span(meta))

    def params(self, meta: Any, c: list[Any]) -> list[ast.Param]:
        return list(c)

    def param(self, meta: Any, c: list[Any]) -> ast.Param:
        return ast.Param(str(c[0]), c[1], self._span(meta))

    # sections ------------------------------------------------------------
    def section(self, meta: Any, c: list[Any]) -> ast.Section | tuple[ast.Section, ...]:
        citation = _unquote(c[0])
        rest = c[1:]
        title = None
        if rest and isinstance(rest[0], Token):
            title = _unquote(rest[0])
            rest = rest[1:]
        terms = [x for x in rest if isinstance(x, _Term)]
        rest = [x for x in rest if not isinstance(x, _Term)]
        quotes = tuple(x for x in rest if isinstance(x, ast.Quote))
        declarations = tuple(_in_section(x, citation) for x in rest if not isinstance(x, ast.Quote))
        section = ast.Section(citation, title, quotes, declarations, self._span(meta))
        if not terms:
            return section
        entries = []
        for term in terms:
            cited = ast.term_citation(term.name, citation)
            entries.append(ast.Section(cited, term.name, term.quotes,
                                       tuple(_in_section(x, cited) for x in term.declarations),
                                       term.span, term=term.name, within=citation))
        return (section, *entries)

    def term(self, meta: Any, c: list[Any]) -> _Term:
        rest = c[1:]
        return _Term(_unquote(c[0]), tuple(x for x in rest if isinstance(x, ast.Quote)),
                     tuple(x for x in rest if not isinstance(x, ast.Quote)), self._span(meta))

    def quote(self, meta: Any, c: list[Any]) -> ast.Quote:
        return ast.Quote(_normalise_block(_unquote(c[0])), self._tok_span(c[0]))

    # types ---------------------------------------------------------------
    def named_type(self, meta: Any, c: list[Any]) -> ast.NamedTypeRef:
        return ast.NamedTypeRef(str(c[0]), self._span(meta))

    def list_type(self, meta: Any, c: list[Any]) -> ast.ListTypeRef:
        return ast.ListTypeRef(c[0], self._span(meta))

    def optional_type(self, meta: Any, c: list[Any]) -> ast.OptionalTypeRef:
        return ast.OptionalTypeRef(c[0], self._span(meta))

    # expressions ---------------------------------------------------------
    def if_expr(self, meta: Any, c: list[Any]) -> ast.If:
        return ast.If(c[0], c[1], c[2], self._span(meta))

    def unless(self, meta: Any, c: list[Any]) -> ast.Unless:
        citation = _unquote(c[2]) if len(c) > 2 else None
        cite_span = self._tok_span(c[2]) if len(c) > 2 else Span(self.path, 0, 0, 0, 0)
        return ast.Unless(c[0], c[1], citation, self._span(meta), cite_span)

    def otherwise(self, meta: Any, c: list[Any]) -> ast.Otherwise:
        return ast.Otherwise(c[0], c[1], self._span(meta))

    def or_(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary("or", c[0], c[1], self._span(meta))

    def and_(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary("and", c[0], c[1], self._span(meta))

    def not_(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(c[0], self._span(meta))

    def compare(self, meta: Any, c: list[Any]) -> ast.Compare:
        op, op_span = c[1]
        return ast.Compare(op, c[0], c[2], self._span(meta), op_span)

    def comp_op(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return (str(c[0]), self._tok_span(c[0]))

    add_op = comp_op
    mul_op = comp_op
    pow_op = comp_op

    def binary(self, meta: Any, c: list[Any]) -> ast.Binary:
        op, op_span = c[1]
        return ast.Binary(op, c[0], c[2], self._span(meta), op_span)

    def is_none(self, meta: Any, c: list[Any]) -> ast.IsNone:
        return ast.IsNone(c[0], False, self._span(meta))

    def is_not_none(self, meta: Any, c: list[Any]) -> ast.IsNone:
        return ast.IsNone(c[0], True, self._span(meta))

    def negate(self, meta: Any, c: list[Any]) -> ast.Negate:
        return ast.Negate(c[1], self._span(meta))

    def field(self, meta: Any, c: list[Any]) -> ast.Field:
        name = _unquote(c[1]) if c[1].type == "STRING" else str(c[1])
        return ast.Field(c[0], name, self._span(meta))

    def name(self, meta: Any, c: list[Any]) -> ast.Name:
        return ast.Name(str(c[0]), self._span(meta))

    def call(self, meta: Any, c: list[Any]) -> ast.Call:
        args = tuple(c[1]) if len(c) > 1 else ()
        return ast.Call(str(c[0]), args, self._span(meta), self._tok_span(c[0]))

    def arguments(self, meta: Any, c: list[Any]) -> list[Any]:
        return list(c)

    def quantifier(self, meta: Any, c: list[Any]) -> Token:
        token: Token = c[0]
        return token

    def aggregate(self, meta: Any, c: list[Any]) -> ast.Aggregate:
        where = c[4] if len(c) > 4 else None
        return ast.Aggregate(str(c[0]), c[1], str(c[2]), c[3], where, self._span(meta), self._tok_span(c[0]))

    def list_comprehension(self, meta: Any, c: list[Any]) -> ast.Aggregate:
        where = c[3] if len(c) > 3 else None
        span = self._span(meta)
        return ast.Aggregate("list", c[0], str(c[1]), c[2], where, span, span)

    def index(self, meta: Any, c: list[Any]) -> ast.Index:
        return ast.Index(c[0], c[1], self._span(meta))

    def record_update(self, meta: Any, c: list[Any]) -> ast.RecordUpdate:
        return ast.RecordUpdate(c[0], tuple(c[1:]), self._span(meta))

    def field_path(self, meta: Any, c: list[Any]) -> tuple[str, ...]:
        return tuple(str(t) for t in c)

    def sort(self, meta: Any, c: list[Any]) -> ast.Sort:
        return ast.Sort(c[0], tuple(c[1:]), self._span(meta))

    def in_effect(self, meta: Any, c: list[Any]) -> ast.InEffect:
        return ast.InEffect(c[0], c[1], c[2], self._span(meta))

    def fold_kind(self, meta: Any, c: list[Any]) -> Token:
        token: Token = c[0]
        return token

    def fold(self, meta: Any, c: list[Any]) -> ast.Fold:
        return ast.Fold(str(c[0]), str(c[1]), c[2], str(c[3]), c[4], c[5], self._span(meta))

    def conditions(self, meta: Any, c: list[Any]) -> ast.Conditions:
        return ast.Conditions(str(c[0]), tuple(c[1:]), self._span(meta))

    def condition(self, meta: Any, c: list[Any]) -> ast.Condition:
        label = _unquote(c[0]) if len(c) == 2 else None
        return ast.Condition(label, c[-1], self._span(meta))

    def record_literal(self, meta: Any, c: list[Any]) -> ast.RecordLiteral:
        return ast.RecordLiteral(tuple(c), self._span(meta))

    def field_value(self, meta: Any, c: list[Any]) -> tuple[str, Any]:
        return (str(c[0]), c[1])

    def list_literal(self, meta: Any, c: list[Any]) -> ast.ListLiteral:
        return ast.ListLiteral(tuple(c), self._span(meta))

    # literals ------------------------------------------------------------
    def _lit(self, meta: Any, kind: str, value: object, token: Token) -> ast.Literal:
        return ast.Literal(kind, value, str(token), self._span(meta))

    def money(self, meta: Any, c: list[Any]) -> ast.Literal:
        return self._lit(meta, "money", Decimal(c[0][1:].replace(",", "")), c[0])

    def percent(self, meta: Any, c: list[Any]) -> ast.Literal:
        return self._lit(meta, "percent", Decimal(c[0][:-1]) / 100, c[0])

    def decimal(self, meta: Any, c: list[Any]) -> ast.Literal:
        return self._lit(meta, "decimal", Decimal(c[0]), c[0])

    def integer(self, meta: Any, c: list[Any]) -> ast.Literal:
        return self._lit(meta, "integer", int(c[0].replace("_", "")), c[0])

    def date(self, meta: Any, c: list[Any]) -> ast.Literal:
        return self._lit(meta, "date", self._date(c[0]), c[0])

    def time(self, meta: Any, c: list[Any]) -> ast.Literal:
        match = _TIME.match(str(c[0]))
        assert match is not None
        hour, minute, half = int(match[1]), int(match[2]), (match[3] or "").lower().replace(".", "")
        if (half and not 1 <= hour <= 12) or hour > 23 or minute > 59:
            raise _LiteralError(Diagnostic(f"`{c[0]}` is not a time of day", self._tok_span(c[0])))
        if half == "pm" and hour != 12:
            hour += 12
        if half == "am" and hour == 12:
            hour = 0
        return self._lit(meta, "time", dt.time(hour, minute), c[0])

    def duration(self, meta: Any, c: list[Any]) -> ast.Literal:
        from engine.limits import DURATION_DAYS

        days = int(c[0].replace("_", ""))
        if days > DURATION_DAYS:
            raise _LiteralError(Diagnostic(f"a duration is at most {DURATION_DAYS:,} days (the limit: about the "
                                           "span of the calendar)", self._tok_span(c[0])))
        return ast.Literal("duration", dt.timedelta(days=days), f"{c[0]} {c[1]}", self._span(meta))

    def period(self, meta: Any, c: list[Any]) -> ast.Literal:
        from engine.limits import DURATION_DAYS

        count = int(c[0].replace("_", ""))
        months = count * 12 if str(c[1]).startswith("year") else count
        if months > DURATION_DAYS // 30:
            raise _LiteralError(Diagnostic(f"a period is at most {DURATION_DAYS // 30:,} months (the limit: about "
                                           "the span of the calendar)", self._tok_span(c[0])))
        return ast.Literal("period", Period(months), f"{c[0]} {c[1]}", self._span(meta))

    def month_unit(self, meta: Any, c: list[Any]) -> Token:
        token: Token = c[0]
        return token

    def day_unit(self, meta: Any, c: list[Any]) -> Token:
        token: Token = c[0]
        return token

    def true(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("boolean", True, "true", self._span(meta))

    def false(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("boolean", False, "false", self._span(meta))

    def none(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("none", None, "none", self._span(meta))

    def text(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("text", _unquote(c[0]), str(c[0]), self._span(meta))

    def _date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            raise _LiteralError(
                Diagnostic(f"`{token}` is not a calendar date", self._tok_span(token),
                           help="write dates as YYYY-MM-DD, e.g. 2003-06-18")
            ) from None


def _normalise_block(text: str) -> str:
    """Strip the indentation of a quoted block, keep its words and line breaks."""
    lines = text.strip("\n").split("\n")
    return "\n".join(line.strip() for line in lines).strip()


@dataclass(frozen=True)
class _Term:
    """A `term` block while its section is built."""

    name: str
    quotes: tuple[ast.Quote, ...]
    declarations: tuple[Any, ...]
    span: Span


def _in_section(declaration: Any, citation: str) -> Any:
    if isinstance(declaration, (ast.FactDecl, ast.Define, ast.ResultDecl, ast.FunctionDecl, ast.Amendment)):
        from dataclasses import replace

        return replace(declaration, section=citation)
    return declaration


# ---------------------------------------------------------------- files and includes


@dataclass
class LoadedFiles:
    """The main file and everything it includes, in dependency order."""

    files: list[ast.ClauseFile]
    diagnostics: list[Diagnostic]
    broken_names: set[str]
    sources: SourceMap
    texts: dict[str, str]
    # The SHA-256 of the bytes read of every file the check read (resolved path:
    # digest), clause files and source documents alike: what the cache keys on,
    # so the program and its key come from the same bytes, read once.
    digests: dict[str, str] = field(default_factory=dict)
    # Includes and source documents are read only inside this directory tree
    # (the main file's directory) unless `allow_outside`.
    root: Path = Path(".")
    allow_outside: bool = False


def load(path: str | Path, strict: bool = False, *, content: bytes | None = None,
         allow_outside: bool = False) -> LoadedFiles:
    """Read and parse ``path`` and everything it includes. ``content``: the main
    file's bytes, when the caller has read them already (they are not read again)."""
    sources = SourceMap()
    main = Path(path)
    loaded = LoadedFiles([], [], set(), sources, {}, root=main.parent, allow_outside=allow_outside)
    _load_into(main, loaded, strict, seen=set(), include_span=None, content=content)
    return loaded


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _whole(path: str) -> Span:
    """A span naming a file as a whole (no line): rendered as `FILE: error: ...`."""
    return Span(path, 0, 0, 0, 0)


def describe_os_error(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(error, IsADirectoryError):
        return "it is a directory"
    return getattr(error, "strerror", None) or str(error)


def _load_into(path: Path, loaded: LoadedFiles, strict: bool, seen: set[Path],
               include_span: Span | None, content: bytes | None = None, depth: int = 0,
               written: str = "") -> None:
    from engine import limits

    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    shown = _display(path)
    where = include_span or _whole(shown)
    if include_span is not None:
        # An include names a clause file in the contract's tree; anything else is refused unread.
        if not loaded.allow_outside and not limits.confined(path, loaded.root):
            loaded.diagnostics.append(Diagnostic(limits.outside_message("the include", include_span_text(written),
                                                                        loaded.root), where,
                                                 help=limits.OUTSIDE_HELP))
            return
        if path.suffix != limits.CLAUSE_SUFFIX:
            loaded.diagnostics.append(Diagnostic(f"`{include_span_text(written)}` is not a clause file: an include "
                                                 f"names a file ending in {limits.CLAUSE_SUFFIX}", where))
            return
        if depth > limits.INCLUDE_DEPTH:
            loaded.diagnostics.append(Diagnostic(f"includes go more than {limits.INCLUDE_DEPTH} files deep "
                                                 "(the limit)", where))
            return
    try:
        data = content if content is not None else \
            limits.read_bounded(path, limits.CLAUSE_FILE_BYTES, f"the clause file {shown}")
        text = limits.decode_utf8(data, shown, shown)
    except FileNotFoundError:
        loaded.diagnostics.append(Diagnostic(f"no such clause file: {shown}", where))
        return
    except limits.LimitError as error:
        loaded.diagnostics.append(Diagnostic(str(error), where))
        return
    except ClauseError as error:  # not UTF-8: the line and column of the first bad byte
        loaded.diagnostics.extend(error.diagnostics)
        return
    except OSError as error:
        problem = f"cannot read {shown}: {describe_os_error(error)}"
        loaded.diagnostics.append(Diagnostic(problem, where))
        return
    loaded.digests[str(resolved)] = hashlib.sha256(data).hexdigest()
    outcome = parse_text(text, shown, strict)
    if outcome.diagnostics and path.suffix != limits.CLAUSE_SUFFIX and not _looks_like_clause(text):
        # Not a clause file (`clause check /etc/passwd`): say so, and never quote its content.
        first = outcome.diagnostics[0].span
        line, column = (first.line, first.column) if first else (0, 0)
        loaded.diagnostics.append(Diagnostic(f"{shown} is not a clause file: it does not read as one "
                                             f"(clause files end in {limits.CLAUSE_SUFFIX})",
                                             Span(shown, line, column, line, column + 1 if line else 0)))
        return
    loaded.sources.add(shown, text)
    loaded.texts[shown] = text
    loaded.diagnostics.extend(outcome.diagnostics)
    loaded.broken_names |= outcome.broken_names
    if outcome.file is None:
        return
    for include in outcome.file.includes:
        _load_into(path.parent / include.path, loaded, strict, seen, include.span, depth=depth + 1,
                   written=include.path)
    loaded.files.append(outcome.file)


def include_span_text(written: str) -> str:
    """An include's path as written, for a message: printable, on one line."""
    return repr(written)[1:-1]


def _looks_like_clause(text: str) -> bool:
    """Whether the first statement of ``text`` starts with a keyword of the language."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.split()[0] in STATEMENT_KEYWORDS
    return True
