"""What the language server knows about a clause file, built with the engine.

One ``Analysis`` per edit: the project's own parser and checker run on the
editor's text (unsaved buffers included), and the AST is indexed into
declarations and occurrences (every place a name is used), which hover,
definition, references, rename, completion, the outline and semantic tokens
all read. Nothing here knows about the protocol; positions are the engine's
(1-based lines and columns, end column exclusive).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token
from lark.exceptions import LarkError

from engine import ast
from engine.builtins import AGGREGATES, BUILTINS
from engine.check import Program, check_program
from engine.errors import Diagnostic, Span
from engine.parse import clause_parser, load
from engine.quotes import ELISION, SourceDocument, normalise, verify_quote
from engine.types import PRIMITIVES

# The kinds of declaration, as the hover and the outline name them.
_KINDS: dict[type, str] = {
    ast.Reading: "reading", ast.ZoneDecl: "zone", ast.CalendarDecl: "calendar", ast.RecordDecl: "record",
    ast.FactDecl: "fact", ast.Define: "define", ast.ResultDecl: "result", ast.FunctionDecl: "function",
}
VALUE_KINDS = ("fact", "define", "result", "function", "zone", "calendar", "enum", "scale", "record", "member")
DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def absolute(file: str) -> str:
    """Spans name files as the engine shows them (relative to the working directory)."""
    return str((Path.cwd() / file).resolve())


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str
    span: Span  # the declared name, with an absolute file
    decl: Any
    section: ast.Section | None = None
    detail: str = ""  # its type, as written or as the checker found it
    description: str | None = None

    @property
    def namespace(self) -> str:
        return "reading" if self.kind == "reading" else "value"


@dataclass(frozen=True)
class Occurrence:
    """One use of a name: ``namespace`` is "value" (facts, rules, types, ...) or "reading"."""

    name: str
    namespace: str
    span: Span


@dataclass
class Analysis:
    path: str  # absolute
    text: str
    diagnostics: list[Diagnostic]
    files: list[ast.ClauseFile]
    texts: dict[str, str]  # absolute path -> text, for every loaded file
    program: Program | None
    symbols: dict[str, Symbol] = field(default_factory=dict)
    readings: dict[str, Symbol] = field(default_factory=dict)
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def main(self) -> ast.ClauseFile | None:
        return self.files[-1] if self.files and absolute(self.files[-1].path) == self.path else None

    def lookup(self, name: str, namespace: str) -> Symbol | None:
        return (self.readings if namespace == "reading" else self.symbols).get(name)

    def at(self, line: int, column: int) -> tuple[str, str] | None:
        """The (name, namespace) declared or used at a position of the main file."""
        for symbol in [*self.symbols.values(), *self.readings.values()]:
            if symbol.span.file == self.path and _contains(symbol.span, line, column):
                return symbol.name, symbol.namespace
        for occurrence in self.occurrences:
            if occurrence.span.file == self.path and _contains(occurrence.span, line, column):
                return occurrence.name, occurrence.namespace
        return None

    def references(self, name: str, namespace: str, include_declaration: bool = True) -> list[Span]:
        found = [o.span for o in self.occurrences if o.name == name and o.namespace == namespace]
        symbol = self.lookup(name, namespace)
        if include_declaration and symbol is not None and symbol.kind != "member":
            found.insert(0, symbol.span)
        return found

    def sections(self) -> list[ast.Section]:
        main = self.main
        return list(main.sections) if main else []


def _contains(span: Span, line: int, column: int) -> bool:
    if span.line == 0:
        return False
    after_start = (line, column) >= (span.line, span.column)
    before_end = (line, column) <= (span.end_line, span.end_column)
    return after_start and before_end


# ---------------------------------------------------------------- building


def analyse(path: str | Path, text: str) -> Analysis:
    """Parse and check ``text`` as the file at ``path``; its includes are read from disk."""
    resolved = Path(path).resolve()
    loaded = load(resolved, content=text.encode("utf-8"))
    program, diagnostics = check_program(loaded, str(resolved))
    if program is not None:  # a checked program: what is left to show are its warnings
        diagnostics = [*loaded.diagnostics, *program.warnings]
    texts = {absolute(name): body for name, body in loaded.texts.items()}
    analysis = Analysis(str(resolved), text, diagnostics, loaded.files, texts, program)
    for file in loaded.files:
        _index_file(analysis, file)
    return analysis


def _index_file(analysis: Analysis, file: ast.ClauseFile) -> None:
    path = absolute(file.path)
    text = analysis.texts.get(path, "")
    if file.header is not None:  # `headline a, b`: uses of results
        for name, span in zip(file.header.headline, file.header.headline_spans, strict=False):
            analysis.occurrences.append(Occurrence(name, "value", _absolute_span(span, path)))
    for decl in file.declarations:
        _declare(analysis, decl, None, path, text)
    for section in file.sections:
        for decl in section.declarations:
            _declare(analysis, decl, section, path, text)
    for node in [*file.declarations, *file.sections]:
        _walk(analysis, node, path, text, frozenset())


def _declare(analysis: Analysis, decl: Any, section: ast.Section | None, path: str, text: str) -> None:
    name = getattr(decl, "name", None)
    span = getattr(decl, "span", None)
    if not isinstance(name, str) or span is None or span.line == 0:
        return
    if _names_another(decl):
        _refer(analysis, decl, path, text)
        return
    if isinstance(decl, ast.Reading):  # `alternative """...""" { define x ... }` replaces x: a use of x
        for replacement in decl.alternative_decls:
            _refer(analysis, replacement, path, text)
    kind = _KINDS.get(type(decl), type(decl).__name__.lower())
    if isinstance(decl, ast.EnumDecl):
        kind = "scale" if decl.ordered else "enum"
    name_span = _find_word(text, path, span, name) or _absolute_span(span, path)
    symbol = Symbol(name, kind, name_span, decl, section, _detail(analysis, decl), getattr(decl, "description", None))
    if kind == "reading":
        analysis.readings.setdefault(name, symbol)
        return
    analysis.symbols.setdefault(name, symbol)
    if isinstance(decl, ast.EnumDecl):
        after = name_span
        for member in decl.members:
            member_span = _find_word(text, path, _after(after, span), member)
            if member_span is not None:
                after = member_span
                qualified = f"{name}.{member}"
                analysis.symbols.setdefault(qualified, Symbol(qualified, "member", member_span, decl, section,
                                                              name))


def _names_another(decl: Any) -> bool:
    """A statement whose name is one declared elsewhere: it adds to or amends that declaration.

    `reading r alternative { ... }` names a reading; `amend x effective DATE = ...`
    supersedes the provision x (matched by class name, so it is known here as soon
    as the language has it)."""
    return isinstance(decl, ast.ReadingAlternative) or type(decl).__name__ == "Amendment"


def _refer(analysis: Analysis, decl: Any, path: str, text: str) -> None:
    """The name of ``decl`` as a use of the declaration it replaces (renamed with it)."""
    name, span = getattr(decl, "name", None), getattr(decl, "span", None)
    if not isinstance(name, str) or span is None or span.line == 0:
        return
    namespace = "reading" if isinstance(decl, ast.ReadingAlternative) else "value"
    keyword = re.match(r"[a-z]+", text[_offset(text, span.line, span.column):]) if text else None
    after = Span(path, span.line, span.column + (len(keyword[0]) if keyword else 0), span.end_line, span.end_column)
    name_span = _find_word(text, path, after, name)
    if name_span is not None:
        analysis.occurrences.append(Occurrence(name, namespace, name_span))
    if isinstance(decl, ast.ReadingAlternative):
        for replacement in decl.declarations:
            _refer(analysis, replacement, path, text)


def _offset(text: str, line: int, column: int) -> int:
    starts = _line_starts(text)
    return starts[min(line, len(starts)) - 1] + column - 1


def _detail(analysis: Analysis, decl: Any) -> str:
    ref = getattr(decl, "type", None)
    if ref is not None:
        return type_text(ref)
    program = analysis.program
    if program is not None and isinstance(decl, ast.Define) and decl.name in program.rules:
        return str(program.rules[decl.name].type)
    if isinstance(decl, ast.EnumDecl):
        return (" > " if decl.ordered else " | ").join(decl.members)
    return ""


def type_text(ref: Any) -> str:
    if isinstance(ref, ast.ListTypeRef):
        return f"list of {type_text(ref.element)}"
    if isinstance(ref, ast.OptionalTypeRef):
        return f"optional {type_text(ref.inner)}"
    return str(getattr(ref, "name", ref))


def _walk(analysis: Analysis, node: Any, path: str, text: str, bound: frozenset[str]) -> None:
    """Record every use of a name under ``node``; ``bound`` are aggregate variables in scope."""
    add = analysis.occurrences.append
    if isinstance(node, ast.Name):
        if node.name not in bound:
            add(Occurrence(node.name, "value", _absolute_span(node.span, path)))
        return
    if isinstance(node, ast.NamedTypeRef):
        add(Occurrence(node.name, "value", _absolute_span(node.span, path)))
        return
    if isinstance(node, ast.Uses):
        for name, span in zip(node.names, node.spans, strict=False):
            add(Occurrence(name, "reading", _absolute_span(span, path)))
        return
    if isinstance(node, ast.Call) and node.function_span.line:
        add(Occurrence(node.function, "value", _absolute_span(node.function_span, path)))
    if isinstance(node, ast.Field) and isinstance(node.target, ast.Name) and node.target.span.line:
        target = node.target.span
        start = target.end_column + 1  # past the dot
        add(Occurrence(f"{node.target.name}.{node.name}", "value",
                       Span(path, target.end_line, start, target.end_line, start + len(node.name))))
    if isinstance(node, ast.Aggregate):
        bound = bound | {node.variable}
    if isinstance(node, ast.Explain):
        _placeholders(analysis, node, path, text)
    if isinstance(node, ast.FunctionDecl):
        bound = bound | {p.name for p in node.params}
    if isinstance(node, tuple):
        for item in node:
            _walk(analysis, item, path, text, bound)
        return
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            child = getattr(node, f.name)
            if isinstance(child, (tuple, ast.Uses)) or dataclasses.is_dataclass(child):
                _walk(analysis, child, path, text, bound)


def _placeholders(analysis: Analysis, explain: ast.Explain, path: str, text: str) -> None:
    """`{name}` in an explain sentence is a use of that name (renamed with it)."""
    span = explain.span
    if span.line == 0:
        return
    starts = _line_starts(text)
    begin = starts[span.line - 1] + span.column - 1
    end = starts[span.end_line - 1] + span.end_column - 1
    for match in _PLACEHOLDER.finditer(text, begin, end):
        start = _position(starts, match.start(1))
        analysis.occurrences.append(Occurrence(
            match[1], "value", Span(path, start[0], start[1], start[0], start[1] + len(match[1]))))


# ---------------------------------------------------------------- positions


@functools.lru_cache(maxsize=16)
def _line_starts(text: str) -> tuple[int, ...]:
    """Offsets where lines begin; cached because every declaration of a file asks (read-only)."""
    return (0, *(match.end() for match in re.finditer("\n", text)))


def _position(starts: tuple[int, ...], offset: int) -> tuple[int, int]:
    """1-based (line, column) of a text offset."""
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1, offset - starts[lo] + 1


def _absolute_span(span: Span, path: str) -> Span:
    return Span(path, span.line, span.column, span.end_line, span.end_column)


def _after(first: Span, whole: Span) -> Span:
    return Span(first.file, first.end_line, first.end_column, whole.end_line, whole.end_column)


def _find_word(text: str, path: str, within: Span, word: str) -> Span | None:
    """The first whole-word ``word`` inside ``within``: where a declaration's name is written."""
    if within.line == 0 or not text:
        return None
    starts = _line_starts(text)
    if within.line > len(starts):
        return None
    begin = starts[within.line - 1] + within.column - 1
    end = starts[min(within.end_line, len(starts)) - 1] + within.end_column - 1 if within.end_line else len(text)
    match = re.compile(r"(?<![\w.])" + re.escape(word) + r"(?!\w)").search(text, begin, max(end, begin))
    if match is None:
        return None
    line, column = _position(starts, match.start())
    return Span(path, line, column, line, column + len(word))


# ---------------------------------------------------------------- quotes


@dataclass(frozen=True)
class QuoteReport:
    quote: ast.Quote
    verified: bool
    problem: str | None
    passage: str  # the source's own text (or the closest passage)
    document: Path | None
    location: Span | None  # where the passage is in the source document


def quote_at(analysis: Analysis, line: int, column: int) -> QuoteReport | None:
    main = analysis.main
    if main is None:
        return None
    for section in main.sections:
        for quote in section.quotes:
            if _contains(quote.span, line, column):
                return report_quote(analysis, quote)
        for decl in section.declarations:
            pinpoint, where = getattr(decl, "pinpoint", None), getattr(decl, "pinpoint_span", None)
            if isinstance(pinpoint, str) and isinstance(where, Span) and _contains(where, line, column):
                return report_pinpoint(analysis, section, ast.Quote(pinpoint, where))
    return None


def _fold(text: str) -> str:
    """As the checker compares a pinpoint with its section's text (engine/check.py)."""
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    return " ".join(text.split())


def report_pinpoint(analysis: Analysis, section: ast.Section, pinpoint: ast.Quote) -> QuoteReport:
    """A rule's `quote "..."`: words of one of its section's `text` blocks, found in the source there."""
    wanted = _fold(pinpoint.text)
    home = next((q for q in section.quotes if wanted in _fold(q.text)), None)
    if home is None:
        return QuoteReport(pinpoint, False, f'the quoted words are not in the text of section "{section.citation}"',
                           "", None, None)
    block = report_quote(analysis, home)
    if not block.verified or block.document is None:
        return dataclasses.replace(block, quote=pinpoint)
    raw = block.document.read_text(encoding="utf-8", errors="replace")
    starts = _line_starts(raw)
    begin = _offset(raw, block.location.line, block.location.column) if block.location else 0
    found = _find_words(raw, wanted, begin, from_start=True) or _find_words(raw, wanted, 0, from_start=True)
    if found is None:  # written differently in the filing (curly quotes, a page break): the block's place
        return dataclasses.replace(block, quote=pinpoint, passage=pinpoint.text)
    (line, column), (end_line, end_column) = _position(starts, found[0]), _position(starts, found[1])
    return QuoteReport(pinpoint, True, None, raw[found[0]:found[1]], block.document,
                       Span(str(block.document), line, column, end_line, end_column))


def source_document(analysis: Analysis) -> Path | None:
    main = analysis.main
    if main is None or main.header is None or main.header.source is None:
        return None
    return Path(analysis.path).parent / main.header.source


def report_quote(analysis: Analysis, quote: ast.Quote) -> QuoteReport:
    path = source_document(analysis)
    if path is None or not path.is_file():
        return QuoteReport(quote, False, "the contract names no source document that exists", "", None, None)
    document = SourceDocument.load(path)
    problem = verify_quote(quote.text, document)
    raw = path.read_text(encoding="utf-8", errors="replace")
    if problem is not None:
        passage = "\n".join(line.strip() for line in problem.extra[1:]) or ""
        return QuoteReport(quote, False, problem.message, passage, path, None)
    first = next((normalise(f) for f in quote.text.split(ELISION) if normalise(f)), "")
    last = next((normalise(f) for f in reversed(quote.text.split(ELISION)) if normalise(f)), first)
    start = _find_words(raw, first, 0, from_start=True)
    if start is None:
        return QuoteReport(quote, True, None, first, path, None)
    end = _find_words(raw, last, start[0], from_start=False)
    stop = end[1] if end is not None else start[1]
    starts = _line_starts(raw)
    (line, column), (end_line, end_column) = _position(starts, start[0]), _position(starts, stop)
    return QuoteReport(quote, True, None, raw[start[0]:stop], path, Span(str(path), line, column, end_line, end_column))


def _find_words(raw: str, fragment: str, offset: int, from_start: bool) -> tuple[int, int] | None:
    """Where ``fragment`` is written in the raw source, whatever its line breaks and spacing."""
    words = fragment.split(" ")
    if not words or words == [""]:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    match = pattern.search(raw, offset)
    return (match.start(), match.end()) if match else None


# ---------------------------------------------------------------- tokens


def lex(text: str) -> list[Token]:
    """The project's lexer over the whole text, comments included (no whitespace)."""
    try:
        return [t for t in clause_parser().lex(text, dont_ignore=True) if t.type != "WS"]
    except LarkError:
        tokens: list[Token] = []
        return tokens


BUILTIN_FUNCTIONS = frozenset({*BUILTINS, *AGGREGATES})
PRIMITIVE_TYPES = frozenset({*PRIMITIVES, "time"})
