"""The memo: one document model, rendered to Markdown, HTML and DOCX.

Expected values are worked out from the documents: the Special Conversion
Price of $2.83849 gives 1,000 / 2.83849 = 352.2999… shares per $1,000, so
$1,000 converts into 353 shares rounded upward, $2,000 into 704.59… → 705 on
the aggregate, or 2 × 353 = 706 when each $1,000 is rounded on its own. The
window opens at 5:00 p.m. EST = 6:00 p.m. EDT on June 18, 2003, so a notice at
5:30 p.m. EDT is early on the literal reading and timely on the New York-time
reading. The Change of Control example has a Triggering Event on May 10, 2006
unless Section 7(e) removes it.
"""

from __future__ import annotations

import datetime as dt
import html
import html.parser
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import Outcome, evaluate, load_contract
from engine.check import Program
from engine.errors import ClauseError
from engine.scenario import load_scenario, parse_scenario
from render import format as fmt
from render.build import MemoOptions, build_document
from render.document import Document, Section, Table, Tree
from render.explain import citation_list, house_style
from render.memo import html_code_spans, md_code_spans, md_escape, memo_bytes, memo_for, memo_text, render_document

from golden_files import assert_golden
from helpers import ROOT, clause

GENERATED = dt.datetime(2003, 6, 20, 9, 0, tzinfo=dt.UTC)
SPECIAL = "contracts/special_conversion.clause"
SERIES_B = "contracts/series_b_preferred.clause"
RIGHTS = "contracts/rights_agreement.clause"
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden" / "memos"
CONTRACTS = {"special_conversion": SPECIAL, "rights_agreement": RIGHTS, "series_b": SERIES_B}


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    yield


def _memo(scenario: str, fmt_name: str = "md", contract: str = SPECIAL) -> str:
    return memo_text(contract, scenario, fmt_name, generated=GENERATED)


def _example_scenarios() -> list[tuple[str, str]]:
    cases = []
    for folder, contract in CONTRACTS.items():
        for path in sorted((EXAMPLES / folder).glob("*.yaml")):
            if not path.name.endswith(".test.yaml"):
                cases.append((contract, str(path.relative_to(ROOT))))
    return cases


def _section(text: str, heading: str) -> str:
    """The text of one `## heading` part of a Markdown memo."""
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0].strip()


def _document(scenario: str, contract: str = SPECIAL) -> tuple[Outcome, Document]:
    outcome = evaluate(load_contract(contract), load_scenario(scenario), trace=True)
    return outcome, build_document(outcome, generated=GENERATED)


# ---------------------------------------------------------------- goldens


@pytest.mark.parametrize("fmt_name", ["md", "html"])
@pytest.mark.parametrize(("contract", "scenario"), _example_scenarios(), ids=[s for _, s in _example_scenarios()])
def test_memo_of_each_example_matches_its_golden(contract: str, scenario: str, fmt_name: str) -> None:
    text = _memo(scenario, fmt_name, contract)
    assert_golden(GOLDEN / Path(scenario).parent.name / f"{Path(scenario).stem}.{fmt_name}", text)


def test_every_example_has_a_golden() -> None:
    for _, scenario in _example_scenarios():
        assert (GOLDEN / Path(scenario).parent.name / f"{Path(scenario).stem}.md").exists(), scenario


@pytest.mark.parametrize(("contract", "scenario"), _example_scenarios(), ids=[s for _, s in _example_scenarios()])
def test_every_memo_has_the_parts_of_a_legal_memorandum_in_order(contract: str, scenario: str) -> None:
    text = _memo(scenario, "md", contract)
    order = ["# Memorandum", "| **To** |", "| **Re** |", "## Questions Presented", "## Short Answers",
             "## Facts and Assumptions", "## Discussion", "## Qualifications", "## Appendix A: The Computation",
             "## Appendix B: Provisions Cited"]
    positions = [text.find(part) for part in order]
    assert -1 not in positions, [p for p, at in zip(order, positions, strict=True) if at < 0]
    assert positions == sorted(positions)


# ---------------------------------------------------------------- decisive readings


def test_before_window_short_answer_states_the_decisive_reading_and_the_other_answer() -> None:
    answers = _section(_memo("examples/special_conversion/before_window.yaml"), "Short Answers")
    first = answers.split("\n2. ")[0]
    assert first.startswith("1. **No.** The holder may not convert $1,000 principal amount of the Note as designated")
    assert "30 minutes before the start of the Special Conversion Period" in first
    assert "“Eastern Standard Time” written in the text is read literally as UTC-5" in first.replace('"', "“", 1) \
        or '"Eastern Standard Time" written in the text is read literally as UTC-5' in first
    assert "On the other reading" in first and "New York as observed" in first
    assert "the answer would be yes: the holder may convert $1,000 principal amount of the Note into 353 shares" \
        in first


def test_change_of_control_short_answer_states_the_section_7e_reading_and_the_other_answer() -> None:
    text = _memo("examples/series_b/change_of_control.yaml", contract=SERIES_B)
    answers = _section(text, "Short Answers")
    offer = next(line for line in answers.splitlines() if "Offer to Purchase all outstanding" in line)
    assert offer.startswith("1. **Yes.**") and "by June 9, 2006, at $1,020 per share" in offer
    assert "Section 7(e) removes a Change of Control Triggering Event" in offer
    assert "the answer would be no" in offer
    assert "Decisive: Section 7(e)" in _section(text, "Qualifications")


def test_the_other_reading_is_set_off_by_dashes_and_stated_once_for_all_the_questions_it_decides() -> None:
    window = _section(_memo("examples/special_conversion/before_window.yaml"), "Short Answers")
    assert "On the other reading — “Eastern Standard Time” means the time in New York as observed that day, " \
           "Eastern Daylight Time in summer (5:00 p.m. EST is then 5:00 p.m. EDT) — the answer would be yes" in window
    text = _memo("examples/series_b/change_of_control.yaml", contract=SERIES_B)
    decisive = _section(text, "Qualifications").split("Other readings relied on")[0]
    assert decisive.count("- Decisive: Section 7(e)") == 1
    # The second answer that turns on it refers to the first instead of setting the reading out again.
    assert "2. **Yes.** Holders may require the Corporation to repurchase (§ 7(a)). A Change of Control Triggering " \
           "Event has occurred (§ 7(b)). This answer turns on the same reading as answer 1; on the other reading, " \
           "it would be no." in _section(text, "Short Answers")
    assert "the answer to question 1 would be no: no Offer to Purchase is required; and the answer to question 2 " \
           "would be no." in decisive


def test_a_condition_that_stands_for_others_is_explained_one_level_down() -> None:
    text = _memo("examples/series_b/change_of_control.yaml", contract=SERIES_B)
    first = _section(text, "Discussion").split("### 2.")[0]
    # The Triggering Event is a Change of Control (by clause (a), not (b) to (d)) and a Rating Decline.
    assert "A Change of Control Triggering Event has occurred (§ 7(b)). Both of its conditions are met: a Change " \
           "of Control (§ 7(c)(i)), because (a) a person or group other than the Permitted Holders owns 35% or " \
           "more of the voting power" in first
    assert "a Rating Decline (§ 7(c)(ix)), because a rating below the Issue Date Rating was assigned or " \
           "reaffirmed within the period" in first
    assert "substantially all the assets" not in first
    answers = _section(text, "Short Answers")
    assert "A Change of Control Triggering Event has occurred (§ 7(b)), and no exception applies." in answers
    assert "It suffices" not in answers


def test_a_computed_answer_shows_its_arithmetic_in_the_short_answer() -> None:
    answers = _section(_memo("examples/series_b/optional_redemption.yaml", contract=SERIES_B), "Short Answers")
    assert "2. **$1,019.75.** The optional redemption price per share (§ 8(b)) is $1,019.75. " \
           "$1,000 × 101.5% + $4.75 = $1,019.75." in answers
    assert "4. **July 4, 2009.** The last day to mail the Redemption Notice (§ 8(d)) is July 4, 2009. " \
           "August 3, 2009 − 30 days = July 4, 2009." in answers
    issue = _section(_memo("examples/series_b/anti_dilution_issuance.yaml", contract=SERIES_B), "Short Answers")
    assert "($3.41 × 300,000,000 + $75,000,000) ÷ (300,000,000 + 30,000,000) = $3.3272…, rounded to the nearest " \
           "tenth of a cent ($0.001), halves rounded up: $3.327." in issue


def test_fractions_rounded_upward_is_decisive_for_705_against_706_shares() -> None:
    answers = _section(_memo("examples/special_conversion/converts_2000_of_5000.yaml"), "Short Answers")
    assert "into 705 shares of Common Stock" in answers
    assert "each $1,000 principal amount" in answers
    assert "the answer would be yes: the holder may convert $2,000 principal amount of the Note into 706 shares" \
        in answers


def test_a_reading_whose_alternative_changes_nothing_is_listed_briefly() -> None:
    text = _memo("examples/special_conversion/holder_converts.yaml")
    qualifications = _section(text, "Qualifications")
    assert "Decisive" not in qualifications
    line = next(line for line in qualifications.splitlines() if "read literally as UTC-5" in line)
    assert line.endswith("(The other reading gives the same answers.)")


def test_alternatives_are_whole_contracts_checked_with_the_replacement_in_force() -> None:
    program = load_contract(SPECIAL)
    assert set(program.alternatives) == {"eastern_standard_time", "fractions_rounded_upward"}
    scenario = load_scenario("examples/special_conversion/converts_2000_of_5000.yaml")
    assert evaluate(program, scenario).results["shares_issuable"].value == 705
    assert evaluate(program.alternatives["fractions_rounded_upward"], scenario).results["shares_issuable"].value \
        == 706


# ---------------------------------------------------------------- questions and answers


def test_scenario_memo_block_and_ask_shape_the_heading_and_questions() -> None:
    text = _memo("examples/special_conversion/holder_converts.yaml")
    assert "| **To** | Investment Committee |" in text
    assert "| **From** | Legal Department |" in text
    assert "| **Date** | June 18, 2003 |" in text
    assert "| **Re** | Conversion of one 9% Note during the Special Conversion Period |" in text
    assert "**Privileged & Confidential — Attorney Work Product**" in text
    questions = _section(text, "Questions Presented")
    assert questions.index("Whether the holder may convert") < questions.index("How many shares are delivered")
    answers = _section(text, "Short Answers")
    assert answers.startswith("1. **Yes.** The holder may convert $1,000 principal amount of the Note into 353 "
                              "shares of Common Stock, to be issued on or before June 27, 2003 (§ 1.2(a)).")
    assert "2. **353.**" in answers


def test_command_line_options_override_the_scenario_heading() -> None:
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "--to", "Board",
                 "--from", "Counsel", "--re", "Special conversion", "--legend", "Draft", "--date", "2003-06-19")
    assert run.code == 0, run.err
    for line in ("| **To** | Board |", "| **From** | Counsel |", "| **Re** | Special conversion |",
                 "| **Date** | June 19, 2003 |", "**Draft**"):
        assert line in run.out


def test_ask_with_the_question_in_words_and_an_unknown_result() -> None:
    source = (EXAMPLES / "special_conversion/holder_converts.yaml").read_text(encoding="utf-8")
    worded = source.replace("ask: [conversion_permitted, shares_issuable]",
                            "ask:\n  - {result: shares_issuable, question: 'How many shares does the holder get?'}")
    outcome = evaluate(load_contract(SPECIAL), parse_scenario(worded, "asked.yaml"), trace=True)
    text = memo_for(outcome, generated=GENERATED)
    assert _section(text, "Questions Presented").strip() == "1. How many shares does the holder get?"
    wrong = source.replace("ask: [conversion_permitted, shares_issuable]", "ask: [shares_issuable, share_count]")
    outcome = evaluate(load_contract(SPECIAL), parse_scenario(wrong, "asked.yaml"), trace=True)
    with pytest.raises(ClauseError, match="`ask` names `share_count`, which is not a result"):
        memo_for(outcome, generated=GENERATED)


def test_a_redemption_memo_says_nothing_about_change_of_control() -> None:
    text = _memo("examples/series_b/optional_redemption.yaml", contract=SERIES_B)
    assert "Change of Control" not in text and "7(b)" not in text.split("## Appendix B")[0]
    assert "Whether the Corporation may redeem on the redemption date (§ 8(e))?" in text


def test_a_section_6b_memo_lists_the_convertible_shares_default_as_an_assumption() -> None:
    facts = _section(_memo("examples/series_b/anti_dilution_issuance.yaml", contract=SERIES_B),
                     "Facts and Assumptions")
    terms, assumptions = facts.split("Assumptions of the encoding")
    assert "Convertible Securities" not in terms.split("Terms the document fixes")[-1]
    assert "The encoding assumes no Convertible Securities are outstanding, although Section 6(a)(y) counts " \
           "the Series B itself" in assumptions
    assert "| Common Stock issuable on conversion" not in facts


def test_failing_conditions_are_explained_with_their_distance() -> None:
    text = _memo("examples/special_conversion/partial_conversion_fails.yaml")
    answers = _section(text, "Short Answers")
    assert "The amount designated is not a permitted denomination (Exhibit A): the principal amount designated " \
           "for conversion, $2,500, is not an integral multiple of $1,000 (it leaves $500 over)" in answers
    discussion = _section(text, "Discussion")
    assert "These conditions are met: the Amendment applies to the Note (§ 2.1)" in discussion


def test_a_value_is_computed_once_in_words_next_to_the_words_that_require_the_rounding() -> None:
    holder = _section(_memo("examples/special_conversion/holder_converts.yaml"), "Discussion")
    assert "> “… the Company shall round upward to the next whole number of shares …” (§ 1.2(a))" in holder
    assert "Computation: $1,000 ÷ $1,000 × 352.2999… = 352.2999…, rounded up to the next whole " \
           "number: 353." in holder
    text = _memo("examples/series_b/anti_dilution_issuance.yaml", contract=SERIES_B)
    part = _section(text, "Discussion")
    assert "“… be reduced to the Conversion Price (calculated to the nearest tenth of a cent) …” (§ 6(b))" in part
    assert part.count("rounded to the nearest") + part.count("halves rounded up") >= 1


def test_a_headline_result_the_facts_cannot_answer_is_still_the_question() -> None:
    # Only the exercise time is given: the memo asks whether the Rights may be exercised (the contract's
    # headline), says what is settled (the time is before the Expiration Date) and what is missing.
    text = _memo("examples/rights_agreement/partial_facts.yaml", contract=RIGHTS)
    assert _section(text, "Questions Presented") == "1. Whether the Rights may be exercised as surrendered (§ 7(a))?"
    assert _section(text, "Short Answers").startswith("1. **Not determinable.** The answer depends on ")
    discussion = _section(text, "Discussion")
    assert "On the facts given, this condition is met: the exercise is at or prior to the Expiration Date (§ 7(a))." \
        in discussion
    assert "the Distribution Date" in discussion.split("do not state", 1)[1]


def test_undetermined_questions_say_what_they_need() -> None:
    answers = _section(_memo("examples/special_conversion/missing_facts.yaml"), "Short Answers")
    assert answers.startswith("1. **Not determinable.** The answer depends on the time when the Note and the "
                              "Special Conversion Notice are surrendered")


def test_dates_on_weekends_and_holidays_are_flagged_with_the_convention() -> None:
    text = _memo("examples/series_b/optional_redemption.yaml", contract=SERIES_B)
    dates = _section(text, "Dates Checked")
    assert "Saturday, July 4, 2009, is not a Business Day (Independence Day); the document states no " \
           "business-day convention for it" in dates
    assert "Saturday, July 4, 2009, is not a Business Day (Independence Day)" in _section(text, "Short Answers")
    # The memo's own words are typeset; the document's are quoted as written.
    assert "“Business Day” is every day but Saturday" in _section(text, "Qualifications")
    # The Mandatory Redemption Date (a Sunday) decides nothing in an optional redemption in 2009.
    assert "Mandatory" not in dates
    assert "The other dates stated fall on Business Days: the time when conversion rights end before the " \
           "redemption date, Friday, July 31, 2009; and the date fixed for the redemption, Monday, August 3, 2009." \
           in dates
    holder = _section(_memo("examples/special_conversion/holder_converts.yaml"), "Dates Checked")
    assert holder.startswith("The dates stated fall on Business Days: the last day to issue the shares, Friday, "
                             "June 27, 2003; and the time when the Note and the Special Conversion Notice are "
                             "surrendered, Wednesday, June 18, 2003.")


# ---------------------------------------------------------------- no code in the prose


_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
_CAMEL = re.compile(r"\b[A-Z]?[a-z]+(?:[A-Z][a-z0-9]+)+\b")  # BusinessDay, EasternStandardTime, conversionPrice


def _prose(text: str) -> str:
    """A Markdown memo without its appendices and without the name column of the facts table."""
    body = text.split("## Appendix A")[0]
    return "\n".join(re.sub(r"\| `[a-z0-9_]+` \|$", "|", line) for line in body.splitlines())


class _HtmlProse(html.parser.HTMLParser):
    """The text a reader sees in the HTML memo proper: no appendix, no name column, no style sheet."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.code: list[str] = []
        self.skip: list[str] = []  # the open elements whose text is not prose
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag == "section" and dict(attrs).get("id", "").startswith("appendix"):
            self.done = True
        if self.done:  # the appendices may show the encoding as code
            return
        if self.skip or tag in ("style", "title") or (tag == "td" and "name" in classes.split()):
            self.skip.append(tag)
        elif tag == "code":
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data: str) -> None:
        if self.done or self.skip:
            return
        self.parts.append(data)
        if self.code:
            self.code[-1] += data


def _docx_prose(data: bytes) -> str:
    """The text of the DOCX memo proper: paragraphs and table cells before Appendix A, without the name column."""
    docx = pytest.importorskip("docx")
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph as DocxParagraph

    document = docx.Document(io.BytesIO(data))
    out: list[str] = []
    for child in document.element.body.iterchildren():
        if child.tag.endswith("}p"):
            paragraph = DocxParagraph(child, document)
            if paragraph.style.name.startswith("Heading") and paragraph.text.startswith("Appendix A"):
                break
            out.append(paragraph.text)
        elif child.tag.endswith("}tbl"):
            table = DocxTable(child, document)
            names = [i for i, cell in enumerate(table.rows[0].cells) if cell.text == "Name"]
            for row in table.rows:
                out.extend(cell.text for i, cell in enumerate(row.cells) if i not in names)
    return "\n".join(out)


def _forbidden(program: Program, prose: str) -> list[str]:
    """Every identifier of the clause file found in a memo's prose."""
    found = sorted(set(_IDENTIFIER.findall(prose)) | set(_CAMEL.findall(prose)))
    # Names of every kind the clause file declares, where they are not also plain words.
    names = {*program.facts, *program.rules, *program.readings, *program.calendars, *program.zones,
             *program.enums, *program.records, *program.functions}
    for name in names:
        if ("_" in name or _CAMEL.fullmatch(name) or re.search(r"[a-z][0-9]", name)) \
                and re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", prose):
            found.append(name)
    # Raw enum members, written as the clause file writes them or under their own name where a label exists.
    for enum_name, enum in program.enums.items():
        for member in enum.members:
            if f"{enum_name}.{member}" in prose:
                found.append(f"{enum_name}.{member}")
            # A member that is a plain word ("common", "none") may be a word of the prose; one that is
            # not ("employee_plan", "Caa1" aside, which is how agencies write it) never is.
            if ("_" in member or _CAMEL.fullmatch(member)) and re.search(rf"\b{re.escape(member)}\b", prose):
                found.append(member)
    return sorted(set(found))


@pytest.mark.parametrize(("contract", "scenario"), _example_scenarios(), ids=[s for _, s in _example_scenarios()])
def test_no_identifier_of_the_clause_file_appears_in_the_prose(contract: str, scenario: str) -> None:
    program = load_contract(contract)
    outcome = evaluate(program, load_scenario(scenario), trace=True)
    markdown = _prose(memo_for(outcome, "md", generated=GENERATED))
    assert _forbidden(program, markdown) == []
    assert "`" not in markdown  # no code span outside the name column
    parser = _HtmlProse()
    parser.feed(memo_for(outcome, "html", generated=GENERATED))
    page = " ".join(parser.parts)
    assert "Questions Presented" in page and "Qualifications" in page and "Appendix" not in page
    assert _forbidden(program, page) == []
    assert parser.code == []
    word = _docx_prose(memo_bytes(outcome, "docx", generated=GENERATED))
    assert "Short Answers" in word and "Provisions Cited" not in word
    assert _forbidden(program, word) == []


def test_the_identifier_check_finds_identifiers() -> None:
    program = load_contract(SERIES_B)
    assert _forbidden(program, "the redemption year, 2,009, is not employee_plan") == ["employee_plan"]
    assert _forbidden(program, "computed on the BusinessDay calendar") == ["BusinessDay"]
    assert _forbidden(program, "may redeem on redemption_date") == ["redemption_date"]
    assert _forbidden(program, "a Rating Decline by Moody's, S&P or both") == []


# ---------------------------------------------------------------- errors and long lists


DIVIDES = '''contract "Division test"
  home zone "America/New_York"

fact shares: integer "shares outstanding"
fact amount: money "amount to share out"
result per_share: money "amount per share" = amount / shares
result doubled: money "twice the amount" = amount * 2
'''


def test_a_rule_dividing_by_zero_is_reported_as_not_determinable(tmp_path: Path) -> None:
    contract = tmp_path / "divides.clause"
    contract.write_text(DIVIDES, encoding="utf-8")
    scenario = tmp_path / "zero.yaml"
    scenario.write_text("ask: [per_share, doubled]\nfacts:\n  shares: 0\n  amount: 100\n", encoding="utf-8")
    run = clause("memo", str(contract), str(scenario))
    assert "Traceback" not in run.err and "internal error" not in run.err
    answers = _section(run.out, "Short Answers")
    assert "1. **Not determinable.** The amount per share could not be computed:" in answers
    assert "2. **$200.**" in answers
    assert "division by zero: the shares outstanding is 0" in answers  # the fact's words, not its name
    appendix = run.out.split("## Appendix A")[1]
    assert "$100 ÷ 0: cannot be computed (division by zero: the shares outstanding is 0)" in appendix


def test_a_list_of_100000_options_is_summarised() -> None:
    options = ", ".join('{"shares": 1, "exercise_price": "2.50"}' for _ in range(100_000))
    source = ('{"facts": {"issue_date": "2003-03-03", "security": "common", "shares_issued": 30000000, '
              '"consideration": "75000000", "common_shares_outstanding": 300000000, '
              '"average_current_market_price": "3.00", "conversion_price": "3.41", "exemption": "none", '
              '"options": [' + options + ']}}')
    outcome = evaluate(load_contract(SERIES_B), parse_scenario(source, "many.json", json_format=True), trace=True)
    text = memo_for(outcome, generated=GENERATED)
    assert "100,000 items" in text
    assert len(text) < 200_000


# ---------------------------------------------------------------- DOCX


def test_docx_has_word_headings_quotes_tables_and_page_numbers() -> None:
    docx = pytest.importorskip("docx")
    outcome = evaluate(load_contract(SPECIAL), load_scenario("examples/special_conversion/before_window.yaml"),
                       trace=True)
    data = memo_bytes(outcome, "docx", generated=GENERATED)
    document = docx.Document(io.BytesIO(data))
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    headings = [text for style, text in styles if style.startswith("Heading 1")]
    assert headings[:6] == ["Questions Presented", "Short Answers", "Facts and Assumptions", "Discussion",
                            "Qualifications", "Dates Checked"]
    assert any(style == "Heading 2" and text.startswith("1. Whether the holder may convert") for style, text in styles)
    quotes = [text for style, text in styles if style == "Quote"]
    assert any("During the Special Conversion Period, the Holder of this Note is entitled" in q for q in quotes)
    assert any(style == "List Number" and text.startswith("No. The holder may not convert") for style, text in styles)
    assert len(document.tables) >= 2  # the heading and the facts
    facts = next(t for t in document.tables if t.rows[0].cells[0].text == "Fact")
    assert facts.rows[1].cells[1].text == "5:30 p.m. EDT, June 18, 2003"
    # The short answers are numbered 1, 2 like the questions, not 3, 4: each numbered list restarts.
    numbered = [p for p in document.paragraphs if p.style.name == "List Number"]
    ids = [p._p.pPr.numPr.numId.val for p in numbered]
    assert len(ids) == 4 and ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    restart = document.part.numbering_part.element.xpath(f'//w:num[@w:numId="{ids[2]}"]//w:startOverride/@w:val')
    assert restart == ["1"]
    # A line that introduces a table or a list stays on its page.
    assert next(p for p in document.paragraphs if p.text == "The facts given:").paragraph_format.keep_with_next
    # The names of the scenario file are in the appendix, not in the facts the client reads.
    assert [c.text for c in facts.rows[0].cells] == ["Fact", "Value"]
    names = next(t for t in document.tables if t.rows[0].cells[0].text == "Name")
    assert [r.cells[0].text for r in names.rows[1:3]] == ["notice_time", "principal_amount"]
    footer = document.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    assert "PAGE" in document.sections[0].first_page_footer._element.xml
    assert "Re: Notice surrendered at 5:30 p.m." in document.sections[0].header.paragraphs[0].text


def test_memo_command_writes_docx_from_the_extension(tmp_path: Path) -> None:
    target = tmp_path / "memo.docx"
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target))
    assert run.code == 0, run.err
    assert target.read_bytes()[:2] == b"PK"
    refused = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "--format", "docx")
    assert refused.code == 1 and "-o memo.docx" in refused.err


# ---------------------------------------------------------------- the model


def test_one_document_model_is_built_once_for_every_format() -> None:
    _, document = _document("examples/special_conversion/partial_conversion_fails.yaml")
    titles = [s.title for s in document.sections]
    assert titles[:2] == ["Questions Presented", "Short Answers"]
    assert [s.appendix for s in document.sections][-2:] == [True, True]
    assert any(isinstance(b, Tree) for s in document.sections for b in s.blocks)
    assert any(isinstance(b, Table) for s in document.sections for b in s.blocks)
    assert render_document(document, "md").startswith("# Memorandum")
    assert render_document(document, "html").startswith("<!DOCTYPE html>")


def test_every_citation_link_in_the_html_has_its_quoted_clause() -> None:
    page = _memo("examples/special_conversion/partial_conversion_fails.yaml", "html")
    targets = set(re.findall(r'href="#([^"]+)"', page))
    ids = set(re.findall(r'id="([^"]+)"', page))
    assert targets and targets <= ids
    assert "PROVIDED that the unconverted portion" in page
    assert '<details class="reasoning" open>' in page


def test_html_prints_on_letter_with_page_numbers_running_header_and_no_split_rows() -> None:
    page = _memo("examples/special_conversion/holder_converts.yaml", "html")
    assert "size: Letter" in page and "counter(page)" in page
    assert '@top-left { content: "Re: Conversion of one 9% Note during the Special Conversion Period"; }' in page
    assert "break-after: avoid" in page and "tr, li.point > .statement" in page
    assert not re.search(r'<(link|script)\b|src="http', page)
    # The facts table gives the fact two thirds of the line, so a date never wraps in the Value column.
    assert '<colgroup><col style="width: 68.4%"><col style="width: 31.6%"></colgroup><thead><tr><th>Fact</th>' in page
    assert "thead, p.lead-in { break-after: avoid" in page  # a line introducing a table keeps with it
    assert "table { break-inside: avoid" in page  # and a table shorter than a page is not split


def test_citations_follow_the_house_style() -> None:
    assert citation_list(["6(b)", "6(c)", "6(e)"]).plain == "§§ 6(b), 6(c) and 6(e)"
    assert citation_list(["Exhibit A"]).plain == "Exhibit A"
    assert citation_list(["Schedule I(d)", "1.2(a)"]).plain == "§ 1.2(a) and Schedule I(d)"
    assert house_style("the Note (Section 2.1)") == "the Note (§ 2.1)"
    text = _memo("examples/special_conversion/holder_converts.yaml")
    assert "§ Exhibit" not in text and "§ Schedule" not in text and "(Section 2.1)" not in text


def test_prose_formatting() -> None:
    assert fmt.amount(Decimal("2500")) == "$2,500"
    assert fmt.amount(Decimal("2.83849")) == "$2.83849"
    assert fmt.approx(Decimal("352.2999904879002568")) == "352.2999…"  # four places, cut, not rounded up
    assert fmt.approx(Decimal("0.0000123456789")) == "0.00001234…"  # a small number keeps four digits
    assert fmt.approx(Decimal("1.5")) == "1.5"
    assert fmt.amount(Decimal("3")) == "$3.00"  # a price per share beside $3.41 and $2.50
    assert fmt.amount(Decimal("10")) == "$10.00"
    assert fmt.amount(Decimal("0")) == "$0"
    assert fmt.amount(Decimal("1020")) == "$1,020"
    assert fmt.amount(Decimal("3.3272727272727")) == "$3.3272…"
    assert fmt.points(Decimal("0.001")) == "0.1 percentage points"
    assert fmt.prose(tuple(range(20))) == "20 items: 0; 1; … ; 19"


# ---------------------------------------------------------------- scenario text is data


HOSTILE = "<script>alert('x')</script> {{ 7*7 }} {% raw %} **bold** [link](http://x)"


def _hostile_outcome() -> Outcome:
    source = (ROOT / "examples/special_conversion/holder_converts.yaml").read_text(encoding="utf-8")
    source = re.sub(r"^  re: .*$", "  re: \"" + HOSTILE.replace('"', '\\"') + "\"", source, flags=re.M)
    source = source.replace("description: >", "description: >\n  # heading? <b>{{ config }}</b>\n ", 1)
    return evaluate(load_contract(SPECIAL), parse_scenario(source, "hostile.yaml"), trace=True)


def test_scenario_text_is_literal_in_html() -> None:
    page = memo_for(_hostile_outcome(), "html", generated=GENERATED)
    assert "<script>" not in page and "<b>{{" not in page
    assert html.escape(HOSTILE, quote=False).replace("'", "&#39;") in page
    assert "49" not in page.split("<title>")[1].split("</title>")[0]


def test_scenario_text_is_literal_in_markdown() -> None:
    text = memo_for(_hostile_outcome(), "md", generated=GENERATED)
    re_line = next(line for line in text.splitlines() if line.startswith("| **Re** |"))
    assert re_line == "| **Re** | " + md_escape(HOSTILE) + " |"
    assert "\\<b\\>{{ config }}\\</b\\>" in text


def test_code_spans_keep_everything_else_literal() -> None:
    assert md_code_spans("the `holidays` library") == "the `holidays` library"
    assert md_code_spans("`a_b` and *c* [d](e) <b> | `x|y`") == "`a_b` and \\*c\\* \\[d\\](e) \\<b\\> \\| `x|y`"
    assert html_code_spans("the `<b>` tag & <i>") == "the <code>&lt;b&gt;</code> tag &amp; &lt;i&gt;"


def test_a_broken_firm_template_is_reported_as_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "memo.md.j2").write_text("{{ doc.__class__.__mro__ }}", encoding="utf-8")
    monkeypatch.setenv("CLAUSE_MEMO_TEMPLATES", str(tmp_path))
    with pytest.raises(ClauseError, match="memo template"):
        _memo("examples/special_conversion/holder_converts.yaml")
    (tmp_path / "md" / "memo.md.j2").write_text("# Our memo: {{ doc.re_line }}\n", encoding="utf-8")
    assert _memo("examples/special_conversion/holder_converts.yaml").startswith("# Our memo: Conversion")


# ---------------------------------------------------------------- the command


def test_memo_command_infers_html_from_the_extension_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "memo.html"
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target))
    assert run.code == 0, run.err
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    again = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target))
    assert again.code == 1
    assert f"{target}: error: already exists; not overwriting it" in again.err and "--force" in again.err
    run = clause("memo", SPECIAL, "nope.yaml")
    assert run.code == 1 and "nope.yaml: error: no such scenario file" in run.err


def test_memo_options_are_a_value() -> None:
    assert MemoOptions(to="Board").to == "Board"
    assert isinstance(Section("x", "x").blocks, list)
