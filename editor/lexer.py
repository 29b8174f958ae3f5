"""A Pygments lexer for clause files (registered as the `clause` lexer).

Keywords are read from the project's grammar, built-in types and functions
from the engine, so a keyword or built-in added there is coloured here
without a second list to keep in step. Declared names (after `fact`,
`result`, `define`, ...) are coloured as declarations.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from engine.builtins import AGGREGATES, BUILTINS
from engine.parse import GRAMMAR_PATH
from engine.types import PRIMITIVES

_KEYWORD_LITERALS = re.compile(r'"([a-z_]+)"')
# `record`, `enum` and the like open a declaration whose name follows.
DECLARING = ("reading", "zone", "calendar", "enum", "scale", "record", "fact", "define", "result")


def grammar_keywords() -> list[str]:
    """Every word the grammar spells as a keyword, longest first."""
    grammar = re.sub(r"//[^\n]*", "", GRAMMAR_PATH.read_text(encoding="utf-8"))
    found = set(_KEYWORD_LITERALS.findall(grammar))
    return sorted(found, key=lambda w: (-len(w), w))


KEYWORDS = grammar_keywords()
TYPES = sorted({*PRIMITIVES, "time", "list", "optional"}, key=lambda w: (-len(w), w))
FUNCTIONS = sorted({*BUILTINS, *AGGREGATES}, key=lambda w: (-len(w), w))
CONSTANTS = ("true", "false", "none")


class ClauseLexer(RegexLexer):
    name = "clause"
    aliases: ClassVar[list[str]] = ["clause"]
    filenames: ClassVar[list[str]] = ["*.clause"]
    mimetypes: ClassVar[list[str]] = ["text/x-clause"]
    url = "https://example.invalid/clause"  # no public home yet; Pygments wants the attribute

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"""', String.Doc, "block"),
            (r'"([^"\\\n]|\\.)*"', String.Double),
            (r"\$(\d{1,3}(,\d{3})+|\d+)(\.\d+)?", Number),  # money
            (r"\d+(\.\d+)?%", Number),  # percent
            (r"\d{4}-\d{2}-\d{2}", Number),  # date
            (r"(?i)\d{1,2}:\d{2}(\s*(am|pm|a\.m\.|p\.m\.))?", Number),  # time of day
            (r"\d+\.\d+", Number.Float),
            (r"\d+(_\d{3})*", Number.Integer),
            (r"\b(" + "|".join(DECLARING) + r")(\s+)([A-Za-z_]\w*)",
             bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(TYPES, prefix=r"\b", suffix=r"\b"), Keyword.Type),
            (words(KEYWORDS, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(FUNCTIONS, prefix=r"\b", suffix=r"\b(?=\s*\()"), Name.Builtin),
            (r"[A-Za-z_]\w*", Name),
            (r"<=|>=|!=|[<>=+\-*/|^]", Operator),
            (r"[(){}\[\],.:;]", Punctuation),
        ],
        "block": [
            (r'"""', String.Doc, "#pop"),
            (r'[^"]+', String.Doc),
            (r'"', String.Doc),
        ],
    }
