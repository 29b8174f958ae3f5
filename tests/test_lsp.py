"""The language server, driven in-process by pygls's own client over a pair of pipes.

The server runs in a thread exactly as `clause lsp` runs it (start_io, with
the pipes for stdin/stdout); the test speaks the protocol through
``pygls.lsp.client.LanguageClient``. Expected positions are worked out from
the shipped contracts' text (searched, not hard-coded line numbers), so the
tests follow the contracts when others edit them.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path, to_fs_path

from editor.lsp import build_server
from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
SERIES_B = ROOT / "contracts" / "series_b_preferred.clause"
SPECIAL = ROOT / "contracts" / "special_conversion.clause"


class Session:
    """A client connected to an in-process server; collects published diagnostics."""

    def __init__(self, client: LanguageClient):
        self.client = client
        self.diagnostics: dict[str, list[lsp.Diagnostic]] = {}
        self.published = asyncio.Event()
        self.capabilities = lsp.ServerCapabilities()

    def open(self, path: Path, text: str | None = None) -> str:
        uri = from_fs_path(str(path))
        assert uri is not None
        body = path.read_text(encoding="utf-8") if text is None else text
        self.published.clear()
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="clause", version=1, text=body)))
        return uri

    async def diagnostics_for(self, uri: str) -> list[lsp.Diagnostic]:
        while uri not in self.diagnostics:
            self.published.clear()
            await asyncio.wait_for(self.published.wait(), 60)
        return list(self.diagnostics.pop(uri))


@asynccontextmanager
async def session(debounce: float = 0.05) -> AsyncIterator[Session]:
    to_server_r, to_server_w = os.pipe()
    to_client_r, to_client_w = os.pipe()
    server = build_server(debounce)
    thread = threading.Thread(
        target=server.start_io, args=(os.fdopen(to_server_r, "rb"), os.fdopen(to_client_w, "wb")), daemon=True)
    thread.start()
    client = LanguageClient("clause-tests", "1")
    state = Session(client)

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        state.diagnostics[params.uri] = params.diagnostics
        state.published.set()

    to_server = os.fdopen(to_server_w, "wb")
    client.protocol.set_writer(StdoutWriter(to_server))
    pool = ThreadPoolExecutor(1)
    reading = asyncio.create_task(run_async(
        stop_event=client._stop_event, reader=StdinAsyncReader(os.fdopen(to_client_r, "rb"), pool),
        protocol=client.protocol))
    initialized = await client.initialize_async(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=from_fs_path(str(ROOT))))
    state.capabilities = initialized.capabilities
    client.initialized(lsp.InitializedParams())
    try:
        yield state
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        thread.join(10)
        client._stop_event.set()
        to_server.close()
        reading.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def run(scenario: Callable[[Session], Any]) -> Any:
    async def main() -> Any:
        async with session() as state:
            return await asyncio.wait_for(scenario(state), 120)

    return asyncio.run(main())


def position_of(text: str, pattern: str, group: int = 0, offset: int = 0) -> lsp.Position:
    """The position of a regex match (of one group of it) in ``text``, ``offset`` characters in."""
    match = re.search(pattern, text, re.M)
    assert match is not None, pattern
    index = match.start(group) + offset
    line = text.count("\n", 0, index)
    return lsp.Position(line, index - (text.rfind("\n", 0, index) + 1))


def broken_copy(tmp_path: Path, edit: Callable[[str], str], name: str = "series_b_preferred.clause") -> Path:
    """A copy of the contracts folder (sources included) with one contract edited."""
    target = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", target)
    path = target / name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


# ---------------------------------------------------------------- diagnostics


def test_shipped_contracts_have_no_diagnostics() -> None:
    async def scenario(s: Session) -> None:
        for path in (SERIES_B, SPECIAL):
            assert await s.diagnostics_for(s.open(path)) == []

    run(scenario)


def test_every_error_at_once_with_ranges_and_a_quick_fix(tmp_path: Path) -> None:
    original = SERIES_B.read_text(encoding="utf-8")
    # Three mistakes: a syntax error (a missing expression after `=`), an unknown
    # name (stated_valu for stated_value) and a misquote (ninety for 9%).
    broken = (original
              .replace("result dividend_rate: percent \"annual dividend rate on the Stated Value\" = 9%",
                       "result dividend_rate: percent \"annual dividend rate on the Stated Value\" =")
              .replace("= stated_value + accrued_dividends_per_share", "= stated_valu + accrued_dividends_per_share", 1)
              .replace("share equal to 9% per annum", "share equal to ninety per annum"))
    assert broken.count("\n") == original.count("\n")
    path = broken_copy(tmp_path, lambda _: broken)

    async def scenario(s: Session) -> None:
        uri = s.open(path)
        diagnostics = await s.diagnostics_for(uri)
        by_message = {d.message.split("\n")[0]: d for d in diagnostics}
        assert len(diagnostics) == 3
        # The parser reports the missing value where the next statement begins.
        syntax = by_message["`result` starts a new statement, but the one before it is unfinished"]
        assert syntax.range.start == position_of(broken, r"^  (result) annual_dividend_per_share", 1)
        unknown = by_message["unknown name `stated_valu`"]
        assert unknown.range == lsp.Range(position_of(broken, r"= (stated_valu) \+", 1),
                                          position_of(broken, r"= stated_valu( )\+", 1))
        assert "did you mean `stated_value`?" in unknown.message
        misquote = next(d for m, d in by_message.items() if m.startswith("quoted text does not match"))
        assert "`ninety`" in misquote.message and "`9%`" in misquote.message
        assert misquote.range.start.line <= position_of(broken, "ninety per annum").line <= misquote.range.end.line

        actions = await s.client.text_document_code_action_async(lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri), unknown.range, lsp.CodeActionContext([unknown])))
        assert actions is not None and len(actions) == 1
        fix = actions[0]
        assert isinstance(fix, lsp.CodeAction) and fix.kind == lsp.CodeActionKind.QuickFix
        assert fix.edit is not None and fix.edit.changes is not None
        assert list(fix.edit.changes[uri]) == [lsp.TextEdit(unknown.range, "stated_value")]
        # Applied, as an editor would: that error is gone, the other two stay.
        fixed = _apply(broken, fix.edit.changes[uri])
        assert fixed == broken.replace("= stated_valu +", "= stated_value +", 1)
        s.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(fixed)]))
        after = {d.message.split("\n")[0] for d in await s.diagnostics_for(uri)}
        assert after == set(by_message) - {"unknown name `stated_valu`"}

    run(scenario)


def test_diagnostics_follow_edits_once_typing_stops(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, lambda t: t, "special_conversion.clause")
    text = path.read_text(encoding="utf-8")

    async def scenario(s: Session) -> None:
        uri = s.open(path)
        assert await s.diagnostics_for(uri) == []
        # Three quick edits: only the last text is checked and published.
        for version, wrong in enumerate(("principal_to_conver", "principal_to_conv", "principal_to_c"), start=2):
            s.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [lsp.TextDocumentContentChangeWholeDocument(
                    text.replace("= round(principal_to_convert /", f"= round({wrong} /"))]))
        diagnostics = await s.diagnostics_for(uri)
        assert [d.message.split("\n")[0] for d in diagnostics] == ["unknown name `principal_to_c`"]
        await asyncio.sleep(0.3)
        assert uri not in s.diagnostics  # the earlier versions were never published

    run(scenario)


# ---------------------------------------------------------------- hover, definition, references


def test_hover_on_a_quote_shows_the_source_passage() -> None:
    text = SERIES_B.read_text(encoding="utf-8")
    source = (ROOT / "contracts" / "sources" / "series_b_certificate_of_designations.txt").read_text(encoding="utf-8")

    async def scenario(s: Session) -> None:
        uri = s.open(SERIES_B)
        at = position_of(text, r"Stock shall be cumulative and shall", offset=2)
        hover = await s.client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), at))
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        shown = hover.contents.value
        assert shown.startswith("**Verified** against series_b_certificate_of_designations.txt:")
        # The passage is the source's own text: its first line as the filing wraps it.
        line = int(re.search(r"txt:(\d+)", shown)[1])  # type: ignore[index]
        assert "Dividends on the Series B Preferred Stock" in source.splitlines()[line - 1]
        assert "accumulate as against the holders of the Junior Stock" in " ".join(shown.split())

        definition = await s.client.text_document_definition_async(
            lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(definition, lsp.Location)
        assert definition.uri.endswith("sources/series_b_certificate_of_designations.txt")
        assert definition.range.start.line == line - 1

    run(scenario)


def test_hover_and_definition_on_a_rules_pinpoint_quote() -> None:
    """`quote "..."` under a rule: the words of its section, shown and found in the source."""
    text = SERIES_B.read_text(encoding="utf-8")
    source = (ROOT / "contracts" / "sources" / "series_b_certificate_of_designations.txt").read_text(encoding="utf-8")
    words = "by multiplying such fraction by the Current Market Price"
    found = re.search(r"\s+".join(map(re.escape, words.split())), source)
    assert found is not None and len(re.findall(r"\s+".join(map(re.escape, words.split())), source)) == 1
    expected_line = source.count("\n", 0, found.start())  # 0-based; the pinpoint ends with these words

    async def scenario(s: Session) -> None:
        uri = s.open(SERIES_B)
        at = position_of(text, r'quote "calculated to the nearest one-hundredth \(1/100\) of a share (by)', 1)
        hover = await s.client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), at))
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        shown = hover.contents.value
        assert shown.startswith("**Verified** against series_b_certificate_of_designations.txt:")
        quoted = " ".join(line.removeprefix("> ") for line in shown.split("\n")[1:] if line)  # a Markdown quote
        assert quoted == "calculated to the nearest one-hundredth (1/100) of a share " + words
        location = await s.client.text_document_definition_async(
            lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(location, lsp.Location) and location.uri.endswith("series_b_certificate_of_designations.txt")
        assert location.range.start.line <= expected_line <= location.range.end.line
        passage = source.split("\n")[location.range.start.line][location.range.start.character:]
        assert passage.startswith("calculated")

    run(scenario)


def test_hover_on_a_name_and_on_a_reading() -> None:
    text = SERIES_B.read_text(encoding="utf-8")

    async def scenario(s: Session) -> dict[str, str]:
        uri = s.open(SERIES_B)
        shown = {}
        for key, pattern in (("use", r"= (stated_value) \* dividend_rate"), ("reading", r"uses (quarterly_dividend)")):
            hover = await s.client.text_document_hover_async(lsp.HoverParams(
                lsp.TextDocumentIdentifier(uri), position_of(text, pattern, 1, offset=1)))
            assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
            shown[key] = hover.contents.value
        return shown

    shown = run(scenario)
    assert "fact stated_value: money" in shown["use"]
    assert "the Stated Value per share" in shown["use"]
    assert "Section 2(a) — Dividends" in shown["use"]
    assert "reading quarterly_dividend" in shown["reading"]
    assert "so a full quarterly\npayment is one quarter of the annual dividend" in shown["reading"]


def test_definition_of_period_end_lands_on_its_declaration() -> None:
    text = SPECIAL.read_text(encoding="utf-8")

    async def scenario(s: Session) -> None:
        uri = s.open(SPECIAL)
        use = re.search(r"(?<!result )\bperiod_end\b", text.split("result period_end", 1)[1])
        assert use is not None
        start = len(text.split("result period_end", 1)[0]) + len("result period_end") + use.start()
        at = lsp.Position(text.count("\n", 0, start), start - (text.rfind("\n", 0, start) + 1) + 1)
        location = await s.client.text_document_definition_async(
            lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(location, lsp.Location) and location.uri == uri
        declared = position_of(text, r"result (period_end)\b", 1)
        assert location.range == lsp.Range(declared, lsp.Position(declared.line, declared.character + 10))

    run(scenario)


def test_definition_into_an_included_file() -> None:
    text = SERIES_B.read_text(encoding="utf-8")

    async def scenario(s: Session) -> None:
        uri = s.open(SERIES_B)
        location = await s.client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(uri), position_of(text, r"uses (exact_division)", 1)))
        common = (ROOT / "contracts" / "common.clause").read_text(encoding="utf-8")
        assert isinstance(location, lsp.Location) and location.uri.endswith("contracts/common.clause")
        assert location.range.start == position_of(common, r"reading (exact_division)", 1)

    run(scenario)


# ---------------------------------------------------------------- rename


@pytest.mark.parametrize("name", ["period_end", "shares_issuable"])
def test_rename_changes_every_use_and_nothing_else(tmp_path: Path, name: str) -> None:
    # shares_issuable is also named by the header's `headline`, in `{shares_issuable}` of
    # explain sentences and by the replacement declaration of a reading's alternative.
    path = broken_copy(tmp_path, lambda t: t, "special_conversion.clause")
    text = path.read_text(encoding="utf-8")
    # Every use as a name, worked out from the text: whole words, outside strings and comments.
    code_uses = len(re.findall(rf"(?<![\w\"])\b{name}\b", re.sub(r'"""[\s\S]*?"""|"[^"\n]*"|#.*', "", text)))
    placeholders = text.count(f"{{{name}}}")
    assert code_uses >= 2

    async def scenario(s: Session) -> None:
        uri = s.open(path)
        at = position_of(text, rf"result ({name})\b", 1)
        edit = await s.client.text_document_rename_async(
            lsp.RenameParams(lsp.TextDocumentIdentifier(uri), at, f"special_{name}"))
        assert edit is not None and edit.changes is not None and list(edit.changes) == [uri]
        edits = edit.changes[uri]
        assert len(edits) == code_uses + placeholders
        lines = text.split("\n")
        for change in edits:
            line = lines[change.range.start.line]
            assert line[change.range.start.character : change.range.end.character] == name
        renamed = _apply(text, edits)
        assert renamed.replace(f"special_{name}", name) == text
        references = await s.client.text_document_references_async(lsp.ReferenceParams(
            context=lsp.ReferenceContext(include_declaration=True), text_document=lsp.TextDocumentIdentifier(uri),
            position=at))
        assert references is not None and len(references) == len(edits)
        # The renamed file still checks.
        s.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(renamed)]))
        assert await s.diagnostics_for(uri) == []

    run(scenario)


def _apply(text: str, edits: list[lsp.TextEdit]) -> str:
    lines = text.split("\n")
    for change in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = change.range.start, change.range.end
        assert start.line == end.line
        line = lines[start.line]
        lines[start.line] = line[: start.character] + change.new_text + line[end.character :]
    return "\n".join(lines)


@pytest.mark.parametrize(("contract", "reading"), [("series_b_preferred.clause", "exact_division"),
                                                   ("special_conversion.clause", "fractions_rounded_upward")])
def test_rename_across_an_include(tmp_path: Path, contract: str, reading: str) -> None:
    # fractions_rounded_upward is declared in common.clause and named again by
    # `reading fractions_rounded_upward alternative { ... }` in special_conversion.clause.
    path = broken_copy(tmp_path, lambda t: t, contract)
    common = path.parent / "common.clause"
    text, common_text = path.read_text(encoding="utf-8"), common.read_text(encoding="utf-8")

    async def scenario(s: Session) -> None:
        uri = s.open(path)
        edit = await s.client.text_document_rename_async(lsp.RenameParams(
            lsp.TextDocumentIdentifier(uri), position_of(text, rf"uses ({reading})", 1), "renamed_reading"))
        assert edit is not None and edit.changes is not None
        common_uri = from_fs_path(str(common))
        assert set(edit.changes) == {uri, common_uri}
        assert len(edit.changes[common_uri]) == len(re.findall(rf"\b{reading}\b", common_text))
        assert len(edit.changes[uri]) == len(re.findall(rf"\b{reading}\b", text))
        path.write_text(_apply(text, edit.changes[uri]), encoding="utf-8")
        common.write_text(_apply(common_text, edit.changes[common_uri]), encoding="utf-8")

    run(scenario)
    # Nothing else changed, and the contract still checks.
    assert path.read_text(encoding="utf-8").replace("renamed_reading", reading) == text
    assert common.read_text(encoding="utf-8").replace("renamed_reading", reading) == common_text
    out = io.StringIO()
    assert main(["check", str(path)], out, io.StringIO()) == 0, out.getvalue()


AMENDED = {  # a contract, a side letter amending it, and a second amendment (as tests/test_amendments.py)
    "base.clause": 'contract "Simple Agreement"\nfact purchase_amount: money\nsection "2" "Definitions"\n'
                   '  result valuation_cap: money "the Post-Money Valuation Cap" = $7,000,000\n'
                   '  result ownership: decimal = purchase_amount / valuation_cap\n',
    "side_letter.clause": 'contract "Side Letter No. 1"\ninclude "base.clause"\nsection "1" "Valuation Cap"\n'
                          '  amend valuation_cap effective 2024-03-15 = $8,000,000\n',
    "amendment_2.clause": 'contract "Amendment No. 2"\ninclude "side_letter.clause"\nsection "1" "Valuation Cap"\n'
                          '  amend valuation_cap effective 2025-01-01 = $10,000,000\n',
}


def test_an_amendment_names_the_provision_it_supersedes(tmp_path: Path) -> None:
    for name, text in AMENDED.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "amendment_2.clause"
    text = AMENDED["amendment_2.clause"]
    at = position_of(text, r"amend (valuation_cap)", 1)

    async def scenario(s: Session) -> None:
        uri = s.open(path)
        assert await s.diagnostics_for(uri) == []
        location = await s.client.text_document_definition_async(
            lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(location, lsp.Location) and location.uri == from_fs_path(str(tmp_path / "base.clause"))
        assert location.range.start == position_of(AMENDED["base.clause"], r"result (valuation_cap)", 1)
        hover = await s.client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), at))
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        assert "result valuation_cap: money" in hover.contents.value
        # Renaming it renames the declaration, its use and both amendments, in three files.
        edit = await s.client.text_document_rename_async(
            lsp.RenameParams(lsp.TextDocumentIdentifier(uri), at, "post_money_valuation_cap"))
        assert edit is not None and edit.changes is not None
        assert {Path(str(to_fs_path(u))).name: len(e) for u, e in edit.changes.items()} == {
            "base.clause": 2, "side_letter.clause": 1, "amendment_2.clause": 1}
        for changed, edits in edit.changes.items():
            file = Path(str(to_fs_path(changed)))
            file.write_text(_apply(file.read_text(encoding="utf-8"), edits), encoding="utf-8")
        # Completion after `amend `: the provisions that can be amended.
        edited = text.replace("amend valuation_cap", "amend ")
        s.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(edited)]))
        result = await s.client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), position_of(edited, r"amend ()", 1)))
        assert isinstance(result, lsp.CompletionList)
        assert {i.label for i in result.items} == {"purchase_amount", "post_money_valuation_cap", "ownership"}

    run(scenario)
    for name, text in AMENDED.items():
        renamed = text.replace("valuation_cap", "post_money_valuation_cap")
        assert (tmp_path / name).read_text(encoding="utf-8") == renamed
    out = io.StringIO()
    assert main(["check", str(path)], out, io.StringIO()) == 0, out.getvalue()


# ---------------------------------------------------------------- completion, outline, folding, tokens


def test_completion_after_uses_lists_the_readings(tmp_path: Path) -> None:
    marker = "    uses quarterly_dividend, exact_division"
    path = broken_copy(tmp_path, lambda t: t.replace(marker, "    uses "))
    text = path.read_text(encoding="utf-8")
    readings = set(re.findall(r"^reading (\w+):", text + (ROOT / "contracts" / "common.clause").read_text(), re.M))

    async def scenario(s: Session) -> None:
        uri = s.open(path)
        at = position_of(text, r"^    uses $", offset=len("    uses "))
        result = await s.client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(result, lsp.CompletionList)
        assert {item.label for item in result.items} == readings
        item = next(i for i in result.items if i.label == "quarterly_dividend")
        assert isinstance(item.documentation, lsp.MarkupContent)
        assert "one quarter of the annual dividend" in item.documentation.value

        # Elsewhere: names in scope with their descriptions, types, and after `Enum.` its members.
        at = position_of(text, r"= (stated_value) \* dividend_rate", 1)
        result = await s.client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(result, lsp.CompletionList)
        labels = {item.label: item for item in result.items}
        assert {"stated_value", "conversion_price", "BusinessDay", "Transaction", "money", "round"} <= set(labels)
        assert labels["stated_value"].detail == "fact: money"
        at = position_of(text, r"transaction = (Transaction\.)merger", 1, offset=len("Transaction."))
        result = await s.client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(result, lsp.CompletionList)
        # The members are the words after `:` and each `|` (each may be followed by its quoted label).
        block = re.search(r"^enum Transaction:(.*(?:\n +\|.*)*)", text, re.M)
        assert block is not None
        members = set(re.findall(r"(?:^|\|)\s*(\w+)", re.sub(r'"[^"]*"', "", block[1])))
        assert len(members) == 7  # liquidation ... conveyance_mortgage_pledge_or_lease
        assert {i.label for i in result.items} == members

    run(scenario)


def test_completion_after_headline_lists_the_results() -> None:
    text = SPECIAL.read_text(encoding="utf-8")
    results = set(re.findall(r"^\s*result (\w+)", text, re.M))

    async def scenario(s: Session) -> None:
        edited = text.replace("  headline conversion_permitted, shares_issuable", "  headline conversion_permitted, ")
        uri = s.open(SPECIAL, edited)
        at = position_of(edited, r"^  headline conversion_permitted, ()$", 1)
        result = await s.client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), at))
        assert isinstance(result, lsp.CompletionList)
        assert {item.label for item in result.items} == results

    run(scenario)


def test_outline_folding_and_semantic_tokens() -> None:
    text = SERIES_B.read_text(encoding="utf-8")

    async def scenario(s: Session) -> None:
        uri = s.open(SERIES_B)
        document = lsp.TextDocumentIdentifier(uri)
        symbols = await s.client.text_document_document_symbol_async(lsp.DocumentSymbolParams(document))
        assert symbols is not None
        sections = [x for x in symbols if isinstance(x, lsp.DocumentSymbol) and x.name.startswith("§ ")]
        assert [x.name for x in sections] == [
            f"§ {c} {t}" for c, t in re.findall(r'^section "([^"]+)" "([^"]+)"', text, re.M)]
        dividends = next(x for x in sections if x.name == "§ 2(a) Dividends")
        assert dividends.children is not None and "dividend_rate" in [c.name for c in dividends.children]

        folds = await s.client.text_document_folding_range_async(lsp.FoldingRangeParams(document))
        assert folds is not None
        start = position_of(text, r'^section "2\(a\)"').line
        assert any(f.start_line == start and f.end_line > start + 20 for f in folds)

        tokens = await s.client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(document))
        assert tokens is not None
        decoded = _decode(tokens.data)
        provider = s.capabilities.semantic_tokens_provider  # the legend the server announced
        assert isinstance(provider, lsp.SemanticTokensOptions)
        kinds = provider.legend.token_types
        lines = text.split("\n")

        def kind_at(pattern: str, group: int = 0) -> str:
            at = position_of(text, pattern, group)
            line, column, length, kind, _ = next(t for t in decoded if t[0] == at.line and t[1] == at.character)
            assert lines[line][column : column + length]
            return kinds[kind]

        assert kind_at(r"  (result) dividend_rate", 1) == "keyword"
        assert kind_at(r"result (dividend_rate)", 1) == "variable"
        assert kind_at(r"= (stated_value) \*", 1) == "variable"
        assert kind_at(r"uses (quarterly_dividend)", 1) == "macro"
        assert kind_at(r"^(#)", 1) == "comment"
        assert kind_at(r"fact stated_value: (money)", 1) == "type"

    run(scenario)


def _decode(data: list[int]) -> list[tuple[int, int, int, int, int]]:
    out, line, column = [], 0, 0
    for i in range(0, len(data), 5):
        delta_line, delta_column, length, kind, modifiers = data[i : i + 5]
        line += delta_line
        column = column + delta_column if delta_line == 0 else delta_column
        out.append((line, column, length, kind, modifiers))
    return out


def test_clause_lsp_is_a_command() -> None:
    import io

    from engine.cli import main

    out = io.StringIO()
    assert main(["lsp", "--help"], out, io.StringIO()) == 0
    assert "Language Server Protocol" in out.getvalue()
    assert "--stdio" in out.getvalue()  # accepted: vscode-languageclient and others pass it
