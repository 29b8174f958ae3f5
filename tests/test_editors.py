"""The VS Code extension's files agree with each other and with the language."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"


def test_extension_manifest_points_at_its_files() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    assert (VSCODE / manifest["main"]).is_file()
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".clause"]
    assert json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))["comments"] == {
        "lineComment": "#"}
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["language"] == language["id"] == "clause"
    textmate = json.loads((VSCODE / grammar["path"]).read_text(encoding="utf-8"))
    assert textmate["scopeName"] == grammar["scopeName"]
    assert "vscode-languageclient" in manifest["dependencies"]
    assert "'clause', 'lsp'" in (VSCODE / manifest["main"]).read_text(encoding="utf-8")


def test_textmate_grammar_marks_up_a_contract() -> None:
    """Every pattern compiles, and each kind of token of a shipped line gets its scope."""
    textmate = json.loads((VSCODE / "syntaxes" / "clause.tmLanguage.json").read_text(encoding="utf-8"))
    patterns = {name: rule for name, rule in textmate["repository"].items()}
    for rule in patterns.values():
        for key in ("match", "begin", "end"):
            if key in rule:
                re.compile(rule[key])
    line = '  result annual_dividend_per_share: money "9% of the Stated Value a year"'
    declaration = re.search(patterns["declaration"]["match"], line)
    assert declaration is not None and declaration.group(2) == "annual_dividend_per_share"
    assert re.search(patterns["type"]["match"], line).group(1) == "money"  # type: ignore[union-attr]
    numbers = [re.compile(p["match"]) for p in patterns["number"]["patterns"]]
    assert any(n.fullmatch("$1,000") for n in numbers) and any(n.fullmatch("5:00 pm") for n in numbers)
    keywords = re.compile(patterns["keyword"]["match"])
    assert all(keywords.fullmatch(w) for w in ("uses", "unless", "under", "otherwise", "explain", "text"))


def test_textmate_grammar_knows_every_keyword_of_the_language() -> None:
    """A keyword added to grammar/clause.lark must be coloured in VS Code too (the Pygments
    lexer reads the grammar itself; the TextMate grammar is a static file)."""
    from editor.lexer import grammar_keywords

    textmate = json.loads((VSCODE / "syntaxes" / "clause.tmLanguage.json").read_text(encoding="utf-8"))
    repository = textmate["repository"]
    word_rules = [re.compile(repository[name]["match"]) for name in ("section", "declaration", "constant", "type",
                                                                    "keyword")]
    uncoloured = [word for word in grammar_keywords()
                  if not any((m := rule.match(f"{word} name")) and m.start() == 0 for rule in word_rules)]
    assert uncoloured == []


def test_clause_code_blocks_of_the_docs_highlight_without_errors() -> None:
    """Every ```clause block of the README and docs/ goes through the Pygments lexer cleanly
    (what a Markdown renderer using Pygments, e.g. MkDocs or Sphinx with MyST, will do)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Error, Keyword

    lexer = get_lexer_by_name("clause")
    blocks = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        blocks += [(page.name, block) for block in re.findall(r"^```clause\n(.*?)^```$", text, re.M | re.S)]
    assert len(blocks) >= 15
    for page, block in blocks:
        tokens = list(lexer.get_tokens(block))
        assert [v for t, v in tokens if t in Error] == [], (page, block)
        assert any(t in Keyword for t, _ in tokens), (page, block)
