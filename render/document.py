"""The memo as a document: one model, built once, rendered to Markdown, HTML and DOCX.

``render/build.py`` makes a ``Document`` from an evaluated scenario in one
pass; the renderers (``render/markdown.py`` through Jinja, ``render/docx.py``
through python-docx) lay it out and make no choices of their own: every word
is already here. Text is a ``Phrase`` (render/explain.py), a run of fragments
(plain text, values, citations, emphasis), so each renderer can mark values
and link citations in its own way.

The blocks are generic, so a new kind of result adds a section without a new
renderer: ``Paragraph``, ``Quote``, ``Bullets``, ``Table``, ``Figure``,
``Tree`` (the reasoning of the appendix), ``Code`` (the encoding, as written)
and ``Section`` (a heading with blocks, possibly nested).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from render.explain import Phrase, Point


@dataclass(frozen=True)
class Paragraph:
    text: Phrase
    style: str = "body"  # "body", "note" (small print), "lead-in" (introduces the table or list after it)


@dataclass(frozen=True)
class Quote:
    """Words of the document, with the section they come from."""

    text: str
    citation: Phrase  # "§ 1.2(a)", already in house style
    anchor: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[Phrase, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Table:
    """A table; ``code_columns`` are columns of identifiers (shown as code, kept out of prose)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Phrase, ...], ...]
    caption: str | None = None
    code_columns: tuple[int, ...] = ()
    widths: tuple[float, ...] = ()  # relative widths, for print and DOCX


@dataclass(frozen=True)
class Figure:
    """A chart or picture: an SVG for HTML and a PNG for DOCX (either may be missing), with its caption."""

    caption: str
    alt: str
    svg: str | None = None
    png: bytes | None = None


@dataclass(frozen=True)
class Tree:
    """The full reasoning of one result, for the reader who checks the work (the appendix)."""

    title: Phrase
    point: Point


@dataclass(frozen=True)
class Code:
    """Code as written in the clause file (the encoding of a provision), for the reader who
    checks the encoding against the words; renderers may colour it (HTML: the Pygments
    `clause` lexer)."""

    text: str
    caption: str = ""
    language: str = "clause"


Block = Paragraph | Quote | Bullets | Table | Figure | Tree | Code


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block | Section] = field(default_factory=list)
    appendix: bool = False  # after the memo proper; printed on a new page; collapsible in HTML


@dataclass(frozen=True)
class HeadingLine:
    label: str  # "To", "From", "Date", "Re"
    value: str


@dataclass
class Document:
    """The memo: the heading block, the sections in order, and what every page repeats."""

    title: str  # "Memorandum"
    legend: str | None  # "Privileged & Confidential — Attorney Work Product", "Draft"
    heading: list[HeadingLine]
    re_line: str  # repeated in the running header
    sections: list[Section]
    footer: str  # the disclaimer printed at the end of the memo proper
    generated: dt.datetime
    language: str = "en-US"

    def walk(self) -> list[Section]:
        """Every section, depth first."""
        out: list[Section] = []

        def visit(section: Section) -> None:
            out.append(section)
            for block in section.blocks:
                if isinstance(block, Section):
                    visit(block)

        for section in self.sections:
            visit(section)
        return out
