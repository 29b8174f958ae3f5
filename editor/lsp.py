"""`clause lsp`: the clause language server (pygls, over stdio).

Every feature reads an ``Analysis`` (editor/analysis.py) made by the engine's
own parser and checker from the editor's text. Diagnostics are published a
moment after typing stops (debounced), every one at once; the others answer
from the text as it is when they are asked.

Positions: the protocol counts from 0, the engine from 1. Columns are taken
as characters; the contracts' code is ASCII, so UTF-16 counting agrees.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from editor.analysis import (
    BUILTIN_FUNCTIONS,
    DID_YOU_MEAN,
    PRIMITIVE_TYPES,
    Analysis,
    Symbol,
    analyse,
    lex,
    quote_at,
)
from editor.lexer import grammar_keywords
from engine import ast
from engine.builtins import BUILTINS
from engine.errors import Diagnostic, Span

DEBOUNCE_SECONDS = 0.3
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USES_CONTEXT = re.compile(r"\buses\s+(?:[A-Za-z_]\w*\s*,\s*)*[A-Za-z_]?\w*$")
_MEMBER_CONTEXT = re.compile(r"([A-Za-z_]\w*)\.(\w*)$")
_HEADLINE_CONTEXT = re.compile(r"^\s*headline\s+(?:[A-Za-z_]\w*\s*,\s*)*[A-Za-z_]?\w*$")
_AMEND_CONTEXT = re.compile(r"^\s*amend\s+[A-Za-z_]?\w*$")
KEYWORDS = tuple(grammar_keywords())

TOKEN_TYPES = ["keyword", "string", "comment", "number", "operator", "variable", "function", "type",
               "enumMember", "macro", "parameter"]
TOKEN_MODIFIERS = ["declaration"]
_KIND_TOKEN = {"fact": "variable", "define": "variable", "result": "variable", "function": "function",
               "zone": "variable", "calendar": "variable", "enum": "type", "scale": "type", "record": "type",
               "member": "enumMember", "reading": "macro"}
_SYMBOL_KIND = {"fact": lsp.SymbolKind.Field, "define": lsp.SymbolKind.Variable, "result": lsp.SymbolKind.Property,
                "function": lsp.SymbolKind.Function, "reading": lsp.SymbolKind.String,
                "zone": lsp.SymbolKind.Constant, "calendar": lsp.SymbolKind.Constant, "enum": lsp.SymbolKind.Enum,
                "scale": lsp.SymbolKind.Enum, "record": lsp.SymbolKind.Struct}
_COMPLETION_KIND = {"fact": lsp.CompletionItemKind.Field, "define": lsp.CompletionItemKind.Variable,
                    "result": lsp.CompletionItemKind.Property, "function": lsp.CompletionItemKind.Function,
                    "reading": lsp.CompletionItemKind.Reference, "zone": lsp.CompletionItemKind.Constant,
                    "calendar": lsp.CompletionItemKind.Constant, "enum": lsp.CompletionItemKind.Enum,
                    "scale": lsp.CompletionItemKind.Enum, "record": lsp.CompletionItemKind.Struct,
                    "member": lsp.CompletionItemKind.EnumMember}


class ClauseServer(LanguageServer):
    def __init__(self, debounce: float = DEBOUNCE_SECONDS) -> None:
        super().__init__("clause-lsp", "0.1.0")
        self.debounce = debounce
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}

    def text_of(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text (made now if the text changed)."""
        text = self.text_of(uri)
        current = self.analyses.get(uri)
        if current is None or current.text != text:
            current = analyse(Path(to_fs_path(uri) or uri), text)
            self.analyses[uri] = current
        return current

    def publish(self, uri: str) -> None:
        self.pending.pop(uri, None)
        analysis = self.analysis(uri)
        diagnostics = [to_lsp_diagnostic(d, analysis) for d in analysis.diagnostics if _in_file(d, analysis)]
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, diagnostics))

    def schedule(self, uri: str) -> None:
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.pending[uri] = asyncio.get_running_loop().call_later(self.debounce, self.publish, uri)


def _in_file(diagnostic: Diagnostic, analysis: Analysis) -> bool:
    from editor.analysis import absolute

    return diagnostic.span is None or absolute(diagnostic.span.file) == analysis.path


# ---------------------------------------------------------------- conversions


def to_range(span: Span) -> lsp.Range:
    if span.line == 0:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    end_line, end_column = (span.end_line, span.end_column) if span.end_line else (span.line, span.column + 1)
    return lsp.Range(lsp.Position(span.line - 1, max(span.column - 1, 0)),
                     lsp.Position(end_line - 1, max(end_column - 1, 0)))


def to_location(span: Span) -> lsp.Location:
    return lsp.Location(from_fs_path(span.file) or span.file, to_range(span))


def to_lsp_diagnostic(diagnostic: Diagnostic, analysis: Analysis) -> lsp.Diagnostic:
    message = diagnostic.message
    if diagnostic.extra:
        message += "\n" + "\n".join(line.strip() for line in diagnostic.extra)
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    suggestion = DID_YOU_MEAN.search(diagnostic.help or "")
    severity = lsp.DiagnosticSeverity.Warning if diagnostic.severity == "warning" else lsp.DiagnosticSeverity.Error
    return lsp.Diagnostic(
        range=to_range(diagnostic.span) if diagnostic.span else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
        message=message, severity=severity, source="clause",
        data={"replacement": suggestion[1]} if suggestion else None,
    )


def _engine_position(position: lsp.Position) -> tuple[int, int]:
    return position.line + 1, position.character + 1


def _markdown(text: str) -> lsp.Hover:
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text))


def describe(symbol: Symbol) -> str:
    """The hover text of a declaration: what it is, its type, its description, its section."""
    lines = [f"```clause\n{symbol.kind} {symbol.name}" + (f": {symbol.detail}" if symbol.detail else "") + "\n```"]
    if symbol.kind == "reading":
        lines.append(str(getattr(symbol.decl, "text", "")))
    if symbol.description:
        lines.append(symbol.description)
    if symbol.section is not None:
        title = f" — {symbol.section.title}" if symbol.section.title else ""
        lines.append(f"Section {symbol.section.citation}{title}")
    lines.append(f"declared at {Path(symbol.span.file).name}:{symbol.span.line}")
    return "\n\n".join(lines)


# ---------------------------------------------------------------- the server


def build_server(debounce: float = DEBOUNCE_SECONDS) -> ClauseServer:
    server = ClauseServer(debounce)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ClauseServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ClauseServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ClauseServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ClauseServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        waiting = ls.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        ls.analyses.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_action(ls: ClauseServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        lines = ls.text_of(uri).split("\n")
        actions = []
        for diagnostic in params.context.diagnostics:
            data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
            replacement = data.get("replacement")
            if not replacement:
                continue
            target = _misspelt_range(diagnostic, lines)
            if target is None:
                continue
            edit = lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(target, replacement)]})
            actions.append(lsp.CodeAction(f"Change to `{replacement}`", kind=lsp.CodeActionKind.QuickFix,
                                          diagnostics=[diagnostic], edit=edit, is_preferred=True))
        return actions

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: ClauseServer, params: lsp.HoverParams) -> lsp.Hover | None:
        analysis = ls.analysis(params.text_document.uri)
        line, column = _engine_position(params.position)
        found = analysis.at(line, column)
        if found is not None:
            symbol = analysis.lookup(*found)
            if symbol is not None:
                return _markdown(describe(symbol))
            if found[0] in BUILTINS:
                return _markdown(f"```clause\n{BUILTINS[found[0]].usage}\n```\n\nbuilt-in function")
            return None
        report = quote_at(analysis, line, column)
        if report is None:
            return None
        if report.verified:
            where = (f"{report.document.name}:{report.location.line}"
                     if report.document and report.location else "the source document")
            passage = "\n".join("> " + part.strip() for part in report.passage.splitlines() if part.strip())
            return _markdown(f"**Verified** against {where}:\n\n{passage}")
        closest = f"\n\nClosest passage of the source:\n\n> {report.passage}" if report.passage else ""
        return _markdown(f"**Not verified**: {report.problem}{closest}")

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: ClauseServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        analysis = ls.analysis(params.text_document.uri)
        line, column = _engine_position(params.position)
        found = analysis.at(line, column)
        if found is not None:
            symbol = analysis.lookup(*found)
            return to_location(symbol.span) if symbol is not None else None
        report = quote_at(analysis, line, column)
        if report is not None and report.location is not None:
            return to_location(report.location)
        return None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls: ClauseServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        analysis = ls.analysis(params.text_document.uri)
        found = analysis.at(*_engine_position(params.position))
        if found is None:
            return []
        spans = analysis.references(*found, include_declaration=params.context.include_declaration)
        return [to_location(s) for s in spans]

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(ls: ClauseServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
        analysis = ls.analysis(params.text_document.uri)
        line, column = _engine_position(params.position)
        found = analysis.at(line, column)
        if found is None or analysis.lookup(*found) is None or "." in found[0]:
            return None
        for span in analysis.references(*found):
            if span.file == analysis.path and span.line == line and span.column <= column <= span.end_column:
                return to_range(span)
        return None

    @server.feature(lsp.TEXT_DOCUMENT_RENAME)
    def rename(ls: ClauseServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        analysis = ls.analysis(params.text_document.uri)
        found = analysis.at(*_engine_position(params.position))
        if found is None or analysis.lookup(*found) is None or "." in found[0]:
            return None
        new_name = params.new_name
        if not _NAME.match(new_name):
            raise ValueError(f"`{new_name}` is not a name: use letters, digits and _")
        if analysis.lookup(new_name, found[1]) is not None:
            raise ValueError(f"`{new_name}` is already declared")
        changes: dict[str, list[lsp.TextEdit]] = {}
        for span in analysis.references(*found):
            uri = from_fs_path(span.file) or span.file
            changes.setdefault(uri, []).append(lsp.TextEdit(to_range(span), new_name))
        return lsp.WorkspaceEdit(changes=changes)

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", " "]))
    def completion(ls: ClauseServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        lines = ls.text_of(uri).split("\n")
        line = lines[params.position.line] if params.position.line < len(lines) else ""
        return lsp.CompletionList(False, complete(analysis, line[: params.position.character]))

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: ClauseServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        return outline(ls.analysis(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    def folding_range(ls: ClauseServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
        return folds(ls.analysis(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: ClauseServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        """`clause fmt` on the buffer: one edit replacing the whole text, none if it does not parse."""
        from editor.fmt import format_text
        from engine.errors import ClauseError

        text = ls.text_of(params.text_document.uri)
        try:
            result = format_text(text)
        except ClauseError:
            return None
        if not result.changed:
            return []
        lines = text.split("\n")
        whole = lsp.Range(lsp.Position(0, 0), lsp.Position(len(lines) - 1, len(lines[-1])))
        return [lsp.TextEdit(whole, result.text)]

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                    lsp.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS))
    def semantic_tokens(ls: ClauseServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
        return lsp.SemanticTokens(data=semantic_data(ls.analysis(params.text_document.uri)))

    return server


def _misspelt_range(diagnostic: lsp.Diagnostic, lines: list[str]) -> lsp.Range | None:
    """The misspelt word inside a diagnostic's range (the range may be a whole sentence)."""
    wrong = re.search(r"`([^`]+)`", diagnostic.message)
    start, end = diagnostic.range.start, diagnostic.range.end
    if wrong is None or start.line >= len(lines):
        return None
    line = lines[start.line]
    stop = end.character if end.line == start.line else len(line)
    match = re.compile(r"(?<![\w])" + re.escape(wrong[1]) + r"(?!\w)").search(line, start.character, stop)
    if match is None:
        return None
    return lsp.Range(lsp.Position(start.line, match.start()), lsp.Position(start.line, match.end()))


# ---------------------------------------------------------------- completion


def complete(analysis: Analysis, before: str) -> list[lsp.CompletionItem]:
    """What may be written at the end of ``before`` (the line up to the cursor)."""
    if _USES_CONTEXT.search(before):
        return [_item(s) for s in analysis.readings.values()]
    if _HEADLINE_CONTEXT.search(before):  # the results a memo leads with
        return [_item(s) for s in analysis.symbols.values() if s.kind == "result"]
    if _AMEND_CONTEXT.search(before):  # the provisions an amendment may supersede
        return [_item(s) for s in analysis.symbols.values() if s.kind in ("fact", "define", "result")]
    member = _MEMBER_CONTEXT.search(before)
    if member is not None:
        prefix = member[1] + "."
        return [_item(s, label=s.name[len(prefix):]) for name, s in analysis.symbols.items()
                if s.kind == "member" and name.startswith(prefix)]
    items = [_item(s) for s in analysis.symbols.values() if s.kind != "member"]
    items += [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Function, detail=BUILTINS[name].usage
                                 if name in BUILTINS else f"{name}(x for x in xs)", documentation="built-in")
              for name in sorted(BUILTIN_FUNCTIONS)]
    items += [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.TypeParameter, detail="type")
              for name in sorted(PRIMITIVE_TYPES)]
    items += [lsp.CompletionItem(word, kind=lsp.CompletionItemKind.Keyword) for word in KEYWORDS]
    return items


def _item(symbol: Symbol, label: str | None = None) -> lsp.CompletionItem:
    documentation = symbol.description
    if symbol.kind == "reading":
        documentation = str(getattr(symbol.decl, "text", ""))
    elif symbol.section is not None:
        cited = f"Section {symbol.section.citation}"
        documentation = f"{documentation}\n\n{cited}" if documentation else cited
    return lsp.CompletionItem(
        label or symbol.name, kind=_COMPLETION_KIND.get(symbol.kind, lsp.CompletionItemKind.Text),
        detail=f"{symbol.kind}" + (f": {symbol.detail}" if symbol.detail else ""),
        documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, documentation) if documentation else None,
    )


# ---------------------------------------------------------------- outline, folding, tokens


def outline(analysis: Analysis) -> list[lsp.DocumentSymbol]:
    main = analysis.main
    if main is None:
        return []
    by_decl = {id(s.decl): s for s in [*analysis.symbols.values(), *analysis.readings.values()]}

    def entry(decl: Any) -> lsp.DocumentSymbol | None:
        symbol = by_decl.get(id(decl))
        if symbol is None or symbol.kind == "member":
            return None
        return lsp.DocumentSymbol(symbol.name, _SYMBOL_KIND.get(symbol.kind, lsp.SymbolKind.Variable),
                                  to_range(decl.span), to_range(symbol.span), detail=symbol.detail or symbol.kind)

    symbols = [e for e in map(entry, main.declarations) if e is not None]
    for section in main.sections:
        title = f"§ {section.citation}" + (f" {section.title}" if section.title else "")
        children = [e for e in map(entry, section.declarations) if e is not None]
        head = to_range(section.span)
        selection = lsp.Range(head.start, lsp.Position(head.start.line, head.start.character + len("section")))
        symbols.append(lsp.DocumentSymbol(title, lsp.SymbolKind.Namespace, head, selection, children=children))
    return symbols


def folds(analysis: Analysis) -> list[lsp.FoldingRange]:
    ranges: list[lsp.FoldingRange] = []
    main = analysis.main
    if main is not None:
        nodes: list[Any] = [*main.declarations]
        for section in main.sections:
            nodes.append(section)
            nodes.extend(section.quotes)
            nodes.extend(section.declarations)
        for node in nodes:
            span = node.span
            if span.line and span.end_line > span.line:
                kind = lsp.FoldingRangeKind.Region if isinstance(node, ast.Section) else None
                ranges.append(lsp.FoldingRange(span.line - 1, span.end_line - 1, kind=kind))
    comment_lines = sorted({(t.line or 0) - 1 for t in lex(analysis.text) if t.type == "COMMENT"})
    run: list[int] = []
    for line in [*comment_lines, -2]:
        if run and line != run[-1] + 1:
            if len(run) > 1:
                ranges.append(lsp.FoldingRange(run[0], run[-1], kind=lsp.FoldingRangeKind.Comment))
            run = []
        run.append(line)
    return ranges


def semantic_data(analysis: Analysis) -> list[int]:
    """Semantic tokens, encoded relative to the previous token as the protocol wants."""
    declared = {(s.span.line, s.span.column): s.kind for s in [*analysis.symbols.values(), *analysis.readings.values()]
                if s.span.file == analysis.path}
    used: dict[tuple[int, int], str] = {}
    for occurrence in analysis.occurrences:
        if occurrence.span.file == analysis.path:
            symbol = analysis.lookup(occurrence.name, occurrence.namespace)
            used[(occurrence.span.line, occurrence.span.column)] = symbol.kind if symbol else ""
    tokens = lex(analysis.text)
    pieces: list[tuple[int, int, int, int, int]] = []  # line, column, length, type, modifiers (0-based)
    for index, token in enumerate(tokens):
        position = (token.line or 0, token.column or 0)
        modifiers = 0
        if token.type == "COMMENT":
            kind = "comment"
        elif token.type in ("STRING", "LONG_STRING"):
            kind = "string"
        elif token.type in ("MONEY", "PERCENT", "DATE", "TIME", "DECIMAL", "INTEGER"):
            kind = "number"
        elif position in declared:
            kind, modifiers = _KIND_TOKEN.get(declared[position], "variable"), 1
        elif position in used:
            kind = _KIND_TOKEN.get(used[position], "variable")
            if token.value in PRIMITIVE_TYPES:
                kind = "type"
        elif token.type == "NAME" or not token.value.isalpha():
            following = tokens[index + 1].value if index + 1 < len(tokens) else ""
            if token.value in BUILTIN_FUNCTIONS and following == "(":
                kind = "function"
            elif token.type == "NAME":
                kind = "type" if token.value in PRIMITIVE_TYPES else "parameter"
            else:
                kind = "operator"
        else:
            kind = "keyword"
        for offset, part in enumerate(token.value.split("\n")):
            column = (token.column or 1) - 1 if offset == 0 else 0
            if part:
                pieces.append((position[0] - 1 + offset, column, len(part), TOKEN_TYPES.index(kind), modifiers))
    data: list[int] = []
    last_line = last_column = 0
    for line, column, length, kind_index, modifiers in pieces:
        delta_column = column - last_column if line == last_line else column
        data.extend([line - last_line, delta_column, length, kind_index, modifiers])
        last_line, last_column = line, column
    return data


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    build_server().start_io()
