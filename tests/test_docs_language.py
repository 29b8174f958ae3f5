"""docs/language.md documents every construct of the language with an example (issue #8,
item 9): a grammar rule or keyword, a built-in, a type, a rounding mode or a month-end rule
added without its documentation fails here."""

from __future__ import annotations

import re
from pathlib import Path

import lark

from engine import types as T
from engine.builtins import AGGREGATES, BUILTINS
from engine.parse import GRAMMAR_PATH, clause_parser
from engine.periods import MONTH_END_RULES

DOC = (Path(__file__).parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
GRAMMAR = "\n".join(line.split("//")[0] for line in GRAMMAR_PATH.read_text(encoding="utf-8").splitlines())

_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
FENCED = _FENCE.findall(DOC)
INLINE = [a or b for a, b in re.findall(r"``(.+?)``|`([^`\n]+)`", _FENCE.sub("", DOC))]
CODE_WORDS = set(re.findall(r"[A-Za-z_]+", " ".join([*FENCED, *INLINE])))


def _constructs_shown() -> set[str]:
    """The grammar rules the examples use: each code block parsed as a file, each inline
    example as an expression, a type or statements of a section, whichever it is."""
    parser = clause_parser()
    shown: set[str] = set()
    for text in [*FENCED, *INLINE]:
        for candidate in (text, f"define x_ = {text}", f"fact x_: {text}", f'section "1"\n{text}'):
            try:
                tree = parser.parse(candidate)
            except lark.exceptions.LarkError:
                continue
            shown.update(str(t.data) for t in tree.iter_subtrees())
            break
    return shown


def test_every_grammar_rule_has_an_example_that_parses() -> None:
    # Rules written `?rule` are inlined into their one child; the named forms (aliases) remain.
    rules = set(re.findall(r"^!?([a-z_]+):", GRAMMAR, re.M)) | set(re.findall(r"->\s*(\w+)", GRAMMAR))
    assert len(rules) > 60
    missing = sorted(rules - _constructs_shown())
    assert missing == [], f"docs/language.md has no example of: {missing}"


def test_every_keyword_built_in_type_and_mode_is_written_in_the_docs() -> None:
    keywords = set(re.findall(r'"([a-z_]+)"', GRAMMAR))
    assert {"amend", "effective", "term", "circular", "scan", "in_effect"} <= keywords
    names = keywords | set(BUILTINS) | set(AGGREGATES) | set(T.PRIMITIVES) | set(T.ROUNDING_MODES) \
        | set(MONTH_END_RULES)
    missing = sorted(name for name in names if name not in CODE_WORDS)
    assert missing == [], f"docs/language.md never writes: {missing}"


def test_every_operator_is_written_in_the_docs() -> None:
    operators = re.findall(r'^[A-Z]+:\s*"([^"a-z]+)"', GRAMMAR, re.M)
    assert "^" in operators and "<=" in operators
    code = " ".join([*FENCED, *INLINE])
    missing = [op for op in operators if op not in code]
    assert missing == [], f"docs/language.md never writes the operators {missing}"
