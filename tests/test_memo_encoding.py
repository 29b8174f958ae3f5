"""Appendix B shows each cited provision's encoding as the clause file writes it, coloured
in HTML memos by the Pygments `clause` lexer (issue #13: the lexer for clause code in
docs and in HTML memos' appendix)."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Iterator

import pytest

from engine.api import evaluate, load_contract
from engine.scenario import load_scenario
from render.memo import memo_bytes, memo_text

from helpers import ROOT

GENERATED = dt.datetime(2003, 6, 20, 9, 0, tzinfo=dt.UTC)
SPECIAL = "contracts/special_conversion.clause"
SCENARIO = "examples/special_conversion/holder_converts.yaml"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    yield


def _written(name: str) -> str:
    """A declaration of the contract exactly as written: from its keyword to the line before the next
    blank line or statement at its own indentation (worked out from the file, not from the memo)."""
    lines = (ROOT / SPECIAL).read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s*(result|define|fact) {name}\b", line))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and lines[end].strip() and len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1
    return "\n".join(line[indent:] for line in lines[start:end])


def _appendix_b_part(memo: str, heading: str) -> str:
    appendix = memo[memo.index("Appendix B"):]
    start = appendix.index(heading)
    following = re.search(r"\n### |<section id=", appendix[start + len(heading):])
    return appendix[start : start + len(heading) + (following.start() if following else len(appendix))]


def test_markdown_appendix_gives_the_encoding_of_a_provision_as_written() -> None:
    memo = memo_text(SPECIAL, SCENARIO, "md", generated=GENERATED)
    part = _appendix_b_part(memo, "### § 1.3 — Conversion Rate")
    assert "*As encoded in special_conversion.clause*" in part
    block = re.search(r"```clause\n(.*?)\n```", part, re.S)
    assert block is not None
    assert block[1] == _written("special_conversion_rate")


def test_html_appendix_colours_the_encoding_with_the_clause_lexer() -> None:
    memo = memo_text(SPECIAL, SCENARIO, "html", generated=GENERATED)
    part = _appendix_b_part(memo, "§ 1.3 — Conversion Rate")
    code = re.search(r'<div class="code"><pre><span></span><code>(.*?)</code></pre></div>', part, re.S)
    assert code is not None
    assert '<span class="kd">result</span>' in code[1]  # a declaration keyword, as the lexer marks it
    assert '<span class="nv">special_conversion_rate</span>' in code[1]
    assert html.unescape(re.sub(r"<[^>]+>", "", code[1])).rstrip("\n") == _written("special_conversion_rate")
    assert 'class="err"' not in memo  # no text the lexer could not read


def test_docx_appendix_has_the_encoding_in_a_fixed_width_font() -> None:
    from docx import Document

    outcome = evaluate(load_contract(SPECIAL), load_scenario(SCENARIO), trace=True)
    document = Document(io.BytesIO(memo_bytes(outcome, "docx", generated=GENERATED)))
    expected = _written("special_conversion_rate")
    found = [p for p in document.paragraphs if p.text == expected]
    assert len(found) == 1
    assert {run.font.name for run in found[0].runs if run.text} == {"Consolas"}


def test_each_declaration_shown_once() -> None:
    memo = memo_text(SPECIAL, SCENARIO, "md", generated=GENERATED)
    appendix = memo[memo.index("## Appendix B"):]
    shown = set(re.findall(r"^(?:result|define|fact) (\w+)", appendix, re.M))
    assert {"special_conversion_rate", "shares_issuable", "conversion_permitted"} <= shown
    # Each shown once, under its own section.
    assert all(len(re.findall(rf"^(?:result|define|fact) {name}\b", appendix, re.M)) == 1 for name in shown)
