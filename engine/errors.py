"""Diagnostics: every error the user can cause, with a position they can act on.

A diagnostic renders as ``FILE:LINE:COL: error: MESSAGE``, then the source
line with a caret under the offending text, then an optional ``help:`` line
(a "did you mean" or a hint on how to write the thing correctly).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of a source file. Never takes part in AST equality."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<unknown>", 0, 0, 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    message: str
    span: Span | None = None
    help: str | None = None
    severity: str = "error"
    # Lines shown under the message when the excerpt is not a source line
    # (e.g. the closest passage of a quoted source document).
    extra: tuple[str, ...] = field(default=())

    def render(self, sources: SourceMap | None = None) -> str:
        where = f"{self.span}: " if self.span and self.span.line else ""
        if self.span and self.span.line == 0 and self.span.file != NO_SPAN.file:
            where = f"{self.span.file}: "
        out = [f"{where}{self.severity}: {self.message}"]
        if self.span and self.span.line and sources is not None:
            excerpt = sources.excerpt(self.span)
            if excerpt:
                out.extend(excerpt)
        out.extend(self.extra)
        if self.help:
            out.append(f"  = help: {self.help}")
        return "\n".join(out)


_EXCERPT_WIDTH = 160  # characters of a source line shown under a message


class SourceMap:
    """The text of every file a diagnostic may point into."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, file: str, text: str) -> None:
        self._lines[file] = text.splitlines()

    def line(self, file: str, line: int) -> str | None:
        lines = self._lines.get(file)
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]

    def text(self, span: Span) -> str:
        """The source text a span covers (used to show expressions in traces)."""
        lines = self._lines.get(span.file)
        if lines is None or span.line == 0:
            return ""
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1 : span.end_column - 1]
        parts = [lines[span.line - 1][span.column - 1 :]]
        parts.extend(lines[span.line : span.end_line - 1])
        parts.append(lines[span.end_line - 1][: span.end_column - 1])
        return " ".join(p.strip() for p in parts)

    def excerpt(self, span: Span) -> list[str]:
        text = self.line(span.file, span.line)
        if text is None:
            return []
        gutter = str(span.line)
        pad = " " * len(gutter)
        width = 1
        if span.end_line == span.line and span.end_column > span.column:
            width = span.end_column - span.column
        elif span.end_line > span.line:
            width = max(1, len(text) - span.column + 1)
        column = span.column
        if len(text) > _EXCERPT_WIDTH:  # a very long line: the stretch around the caret, marked as cut
            start = max(0, min(column - 1 - _EXCERPT_WIDTH // 2, len(text) - _EXCERPT_WIDTH))
            shown = text[start:start + _EXCERPT_WIDTH]
            text = ("…" if start else "") + shown + ("…" if start + _EXCERPT_WIDTH < len(text) else "")
            column = column - start + (1 if start else 0)
            width = max(1, min(width, len(text) - column + 1))
        caret = " " * (column - 1) + "^" * width
        return [f" {pad} |", f" {gutter} | {text}", f" {pad} | {caret}"]


class ClauseError(Exception):
    """One or more diagnostics; the CLI prints them all and exits non-zero."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: SourceMap | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = sources
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render(self.sources) for d in self.diagnostics)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean" for a misspelt name, or None when nothing is close."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        close = [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)]
    return f"did you mean `{close[0]}`?" if close else None
