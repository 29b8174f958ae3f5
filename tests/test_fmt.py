"""`clause fmt`: a fixed point on the shipped contracts, comments and quotes kept,
the meaning (the AST) unchanged on files laid out at random; the Pygments lexer."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from editor.fmt import format_text
from engine.cli import main
from engine.parse import clause_parser, parse_text

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = sorted((ROOT / "contracts").glob("*.clause"))


def _tokens(text: str, kinds: tuple[str, ...]) -> list[str]:
    return [t.value for t in clause_parser().lex(text, dont_ignore=True) if t.type in kinds]


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_shipped_contracts_are_a_fixed_point(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = format_text(text, str(path))
    assert not once.kept_as_is
    twice = format_text(once.text, str(path))
    assert twice.text == once.text
    # Comments and quoted text, byte for byte and in order.
    assert _tokens(once.text, ("COMMENT",)) == _tokens(text, ("COMMENT",))
    assert _tokens(once.text, ("STRING", "LONG_STRING")) == _tokens(text, ("STRING", "LONG_STRING"))


def test_shipped_contracts_are_formatted() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["fmt", "--check", str(ROOT / "contracts")], out, err) == 0, out.getvalue() + err.getvalue()


MESSY = '''\


contract "Messy"    party "A" as "B"
reading r:   """
  keep   these   spaces
"""
enum Kind: a|b   # a trailing   comment, kept as written
section "1"   "Title"    fact   amount : integer = 3 "an amount" fact other: integer"another"
  result total:integer"the total"=max( amount ,2)*3   uses r
      explain when amount>1:"big"



    # a full-line comment stays where it is
  define twice(x: integer): integer =
  x+1
'''

# Worked out by hand from the layout rules in editor/fmt.py's docstring.
MESSY_FORMATTED = '''\
contract "Messy"
  party "A" as "B"
reading r: """
  keep   these   spaces
"""
enum Kind: a | b   # a trailing   comment, kept as written
section "1" "Title"
  fact amount: integer = 3 "an amount"
  fact other: integer "another"
  result total: integer "the total" = max(amount, 2) * 3 uses r
    explain when amount > 1: "big"

    # a full-line comment stays where it is
  define twice(x: integer): integer =
    x + 1
'''


def test_layout_rules_on_a_messy_file() -> None:
    result = format_text(MESSY)
    assert result.text == MESSY_FORMATTED
    assert format_text(result.text).text == MESSY_FORMATTED


@pytest.mark.parametrize("name", ["special_conversion", "series_b_preferred", "rights_agreement"])
def test_fmt_rewrites_and_check_passes_on_the_output(tmp_path: Path, name: str) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", contracts)
    target = contracts / f"{name}.clause"
    original = target.read_text(encoding="utf-8")
    # Wider spaces inside lines (splitting joined statements is test_layout_rules_on_a_messy_file's).
    tokens = list(clause_parser().lex(original, dont_ignore=True))
    spread = "".join("   " if t.type == "WS" and "\n" not in t.value else t.value for t in tokens)
    target.write_text(spread, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["fmt", "--check", str(target)], out, err) == 1
    assert "not formatted" in out.getvalue()
    assert main(["fmt", str(target)], io.StringIO(), io.StringIO()) == 0
    assert target.read_text(encoding="utf-8") == original
    out = io.StringIO()
    assert main(["check", str(target)], out, io.StringIO()) == 0
    assert ": ok (" in out.getvalue()


def test_fmt_refuses_a_file_that_does_not_parse(tmp_path: Path) -> None:
    broken = tmp_path / "broken.clause"
    broken.write_text("fact x: integer =\n", encoding="utf-8")
    err = io.StringIO()
    assert main(["fmt", str(broken)], io.StringIO(), err) == 1
    assert "broken.clause:2:1: error" in err.getvalue() or "broken.clause:1" in err.getvalue()
    assert broken.read_text(encoding="utf-8") == "fact x: integer =\n"


# ---------------------------------------------------------------- random layouts

SMALL = [ROOT / "contracts" / "special_conversion.clause", ROOT / "contracts" / "common.clause"]
_GAPS = [" ", "  ", "\n", "\n    ", "\n\n\n", "\n" + " " * 9, "\t"]


def _relayout(text: str, choices: list[tuple[int, int]]) -> str:
    """The text with the whitespace between some tokens replaced (the meaning cannot change)."""
    tokens = list(clause_parser().lex(text, dont_ignore=True))
    gaps = [i for i, t in enumerate(tokens) if t.type == "WS" and 0 < i < len(tokens) - 1]
    replaced = {}
    for position, choice in choices:
        index = gaps[position % len(gaps)]
        gap = _GAPS[choice % len(_GAPS)]
        if tokens[index - 1].type == "COMMENT" and "\n" not in gap:
            gap = "\n" + gap  # a comment runs to the end of its line
        replaced[index] = gap
    return "".join(replaced.get(i, t.value) for i, t in enumerate(tokens))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SMALL),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 100)), min_size=1, max_size=40),
)
def test_random_layouts_keep_their_meaning(path: Path, choices: list[tuple[int, int]]) -> None:
    text = path.read_text(encoding="utf-8")
    mutated = _relayout(text, choices)
    original_ast = parse_text(text, "f.clause").file
    assert parse_text(mutated, "f.clause").file == original_ast  # the mutation itself is harmless
    once = format_text(mutated, "f.clause")
    assert not once.kept_as_is
    assert parse_text(once.text, "f.clause").file == original_ast
    assert format_text(once.text, "f.clause").text == once.text
    kept = ("COMMENT", "STRING", "LONG_STRING")
    assert _tokens(once.text, kept) == _tokens(text, kept)


# ---------------------------------------------------------------- highlighting


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_pygments_lexer_reads_every_shipped_contract(path: Path) -> None:
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    from pygments.token import Error, Keyword, Name, String

    lexer = get_lexer_by_name("clause")  # through the entry point, as Sphinx or a memo would
    assert type(lexer) is type(get_lexer_for_filename(path.name))
    text = path.read_text(encoding="utf-8")
    tokens = list(lexer.get_tokens(text))
    assert [v for t, v in tokens if t in Error] == []
    assert "".join(v for _, v in tokens) == text if text.endswith("\n") else text + "\n"
    kinds = {v: t for t, v in tokens}
    assert kinds["uses"] in Keyword
    assert any(t in String.Doc for t, _ in tokens)  # every contract has a reading or a quote
    assert any(t in Name.Variable for t, _ in tokens)  # and declares something


def test_field_paths_keep_their_space() -> None:
    # `by .date` and `, .name` start field paths; `events.date` is a field access.
    text = ('contract "t"\nrecord E { date: date, name: text }\nfact events: list of E\n'
            "result r: list of E = sort(events by .date, .name)\n"
            "result q: optional E = in_effect(events, on: 2003-01-01, by: .date)\n")
    assert format_text(text).text == text


# ---------------------------------------------------------------- random files

_NAMES = st.sampled_from(["amount", "price", "rate", "closing_date", "holder", "shares", "cap", "notice"])
_LITERALS = st.sampled_from(["$1,000", "$2.83849", "20%", "3", "1_000", "2.5", "2003-06-18", "true", "false", "none",
                             '"some text"', "30 days", "6 months", "5:00 pm"])
_TYPES = st.sampled_from(["money", "integer", "percent", "date", "boolean", "optional date", "list of money",
                          "Kind", "decimal"])
_GAP = st.sampled_from([" ", " ", " ", "  ", "\n  ", "\n      ", "\n\n", "\t", "  # a note,  kept\n   ",
                        " #no space after the hash\n"])


def _expression() -> st.SearchStrategy[list[str]]:
    """Token lists of valid expressions (parse-valid; types are not the point here)."""
    leaf = st.one_of(_LITERALS.map(lambda v: [v]), _NAMES.map(lambda n: [n]),
                     st.sampled_from(["Kind.first", "holder.name", "Kind.\"B-\""]).map(lambda v: [v]))

    def extend(inner: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "<", "<=", "=", "!=", "and", "or", "^",
                                                  "otherwise", "unless"]), inner)
        return st.one_of(
            binary.map(lambda t: ["(", *t[0], t[1], *t[2], ")"]),
            inner.map(lambda e: ["not", "(", *e, ")"]),
            inner.map(lambda e: ["-", "(", *e, ")"]),
            st.tuples(inner, inner).map(lambda t: ["max", "(", *t[0], ",", *t[1], ")"]),
            st.tuples(inner, inner, inner).map(lambda t: ["(", "if", *t[0], "then", *t[1], "else", *t[2], ")"]),
            st.tuples(inner, inner).map(lambda t: ["all", "of", "(", '"the first"', ":", *t[0], ",", *t[1], ",", ")"]),
            st.tuples(inner, inner).map(lambda t: ["[", *t[0], ",", *t[1], "]"]),
            inner.map(lambda e: ["sum", "(", "x", "*", "2", "for", "x", "in", *e, ")"]),
            # parenthesised whole: `is not none` does not take a comparison's operand (`a < b is not none`)
            inner.map(lambda e: ["(", "(", *e, ")", "is", "not", "none", ")"]),
        )

    return st.recursive(leaf, extend, max_leaves=6)


def _statement(kind: str, name: str, type_: str, expr: list[str], flags: list[bool]) -> list[str]:
    if kind == "fact":
        default = ["=", *expr] + (["assumed", '"why not"'] if flags[0] else []) if flags[1] else []
        return ["fact", name, ":", *type_.split(), *default, *(['"a fact"'] if flags[2] else [])]
    if kind == "define":
        return ["define", name, "=", *expr, *(["uses", "r1", ",", "r2"] if flags[0] else [])]
    if kind == "enum":
        return ["enum", name.capitalize(), ":", "first", "|", "second", '"the second"', "|", '"B-"']
    if kind == "record":
        return ["record", name.capitalize(), "{", "name", ":", "text", ",", "shares", ":", "integer", "=", "0", "}",
                *(["require", '"positive"', ":", "shares", ">", "0"] if flags[0] else [])]
    tokens = ["result", name, ":", *type_.split(), *(['"a result"'] if flags[2] else []), "=", *expr]
    if flags[0]:
        tokens += ["uses", "r1"]
    if flags[1]:
        tokens += ["quote", '"the words"']
    if flags[2]:
        tokens += ["explain", "when", name, ":", '"""\n  It is {' + name + "}   exactly\n"
                   '"""', "explain", ":", '"otherwise {' + name + '}"']
    return tokens


_STATEMENT = st.builds(_statement, st.sampled_from(["fact", "define", "result", "result", "enum", "record"]),
                       _NAMES, _TYPES, _expression(), st.lists(st.booleans(), min_size=3, max_size=3))
_HEADER = ["contract", '"A Random Agreement"', "dated", "2003-06-18", "party", '"A, Inc."', "as", '"Company"',
           "headline", "amount", ",", "price", "not", "encoded", '"the rest"']


@st.composite
def _random_file(draw: st.DrawFn) -> str:
    tokens = list(_HEADER)
    tokens += ["reading", "r1", ":", '"""\nread   it  this way\n"""', "reading", "r2", ":", '"the other"']
    for statement in draw(st.lists(_STATEMENT, max_size=4)):
        tokens += statement
    for number in range(draw(st.integers(0, 2))):
        tokens += ["section", f'"{number + 1}(a)"', '"A Title"', "text", '"""\n  the words,   as written\n"""']
        for statement in draw(st.lists(_STATEMENT, max_size=3)):
            tokens += statement
    text = tokens[0]
    for token in tokens[1:]:
        text += draw(_GAP) + token
    return text + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_random_file())
def test_random_files_format_to_the_same_ast(text: str) -> None:
    parsed = parse_text(text, "f.clause")
    assert parsed.diagnostics == [] and parsed.file is not None, text  # the generator writes valid files
    once = format_text(text, "f.clause")
    assert not once.kept_as_is, text
    assert parse_text(once.text, "f.clause").file == parsed.file
    assert format_text(once.text, "f.clause").text == once.text  # a fixed point
    kept = ("COMMENT", "STRING", "LONG_STRING")
    assert _tokens(once.text, kept) == _tokens(text, kept)
