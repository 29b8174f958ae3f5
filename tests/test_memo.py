"""`clause memo`: the explanatory memo of a scenario, in Markdown and HTML.

Goldens (tests/golden/memos/) hold the memo of every example scenario of each
shipped contract, with the generation time fixed; `pytest --update-goldens`
(or CLAUSE_UPDATE_GOLDENS=1) rewrites them. The other tests check what a
memo must say: the failing condition and why, the citation and its quoted
text, the readings relied on and no others, the time-zone note, the open
questions, and that scenario text is never executed.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import Outcome, evaluate, load_contract
from engine.errors import ClauseError
from engine.scenario import load_scenario, parse_scenario
from render import format as fmt
from render.explain import title
from render.memo import html_code_spans, md_code_spans, md_escape, memo_for, memo_text, render_memo
from render.viewmodel import Memo, build_memo

from golden_files import assert_golden
from helpers import ROOT, clause

GENERATED = dt.datetime(2003, 6, 20, 9, 0, tzinfo=dt.UTC)
SPECIAL = "contracts/special_conversion.clause"
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden" / "memos"
CONTRACTS = {
    "special_conversion": "contracts/special_conversion.clause",
    "rights_agreement": "contracts/rights_agreement.clause",
    "series_b": "contracts/series_b_preferred.clause",
}


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    yield


def _memo(scenario: str, fmt_name: str = "md", contract: str = SPECIAL) -> str:
    return memo_text(contract, scenario, fmt_name, generated=GENERATED)


def _example_scenarios() -> list[tuple[str, str]]:
    cases = []
    for folder, contract in CONTRACTS.items():
        if not (ROOT / contract).exists():
            continue
        for path in sorted((EXAMPLES / folder).glob("*.yaml")):
            if path.name.endswith(".test.yaml"):
                continue
            cases.append((contract, str(path.relative_to(ROOT))))
    return cases


# ---------------------------------------------------------------- goldens


@pytest.mark.parametrize("fmt_name", ["md", "html"])
@pytest.mark.parametrize(("contract", "scenario"), _example_scenarios(),
                         ids=[s for _, s in _example_scenarios()])
def test_memo_of_each_example_matches_its_golden(contract: str, scenario: str, fmt_name: str) -> None:
    text = _memo(scenario, fmt_name, contract)
    folder = Path(scenario).parent.name
    assert_golden(GOLDEN / folder / f"{Path(scenario).stem}.{fmt_name}", text)


def test_every_example_of_the_three_contracts_has_a_golden() -> None:
    covered = {folder for folder in CONTRACTS if any(EXAMPLES.joinpath(folder).glob("*.yaml"))}
    assert "special_conversion" in covered
    for contract, scenario in _example_scenarios():
        del contract
        name = Path(scenario)
        assert (GOLDEN / name.parent.name / f"{name.stem}.md").exists()


# ---------------------------------------------------------------- what the memos say


def test_failing_partial_conversion_says_which_condition_failed_and_why() -> None:
    text = _memo("examples/special_conversion/partial_conversion_fails.yaml")
    summary = text.split("## Reasoning")[0]
    assert "**Conversion permitted: no.**" in summary
    assert "the unconverted portion is not a permitted denomination (§ Exhibit A)" in summary
    assert "the principal amount left unconverted (§ Exhibit A), $2,500, is not $0 and is not an integral " \
           "multiple of $1,000" in summary
    assert "**Not met:** the unconverted portion is a permitted denomination (§ Exhibit A)" in text
    # Exhibit A is quoted from the clause file.
    clauses = text.split("## Clauses cited")[1]
    assert "### § Exhibit A — Special Conversion Notice" in clauses
    assert "PROVIDED that the unconverted portion of such principal amount is $1,000 or any integral multiple" \
        in clauses


def test_conversion_of_2000_of_5000_gives_705_shares_and_shows_the_rounding() -> None:
    text = _memo("examples/special_conversion/converts_2000_of_5000.yaml")
    assert "**Conversion permitted: yes.**" in text
    assert "**Shares issuable: 705.**" in text
    assert "$2,000 ÷ $1,000 × 352.2999904879… = 704.5999809758…, rounded up to the next whole number: 705" in text
    # The words that require the rounding, quoted, and the reading relied on.
    assert "shall round upward to the next whole number of shares" in text.split("## Interpretation notes")[0]
    assert "**fractions rounded upward** (relied on for Shares issuable)" in text


def test_notice_before_the_window_gives_the_distance_and_new_york_time() -> None:
    text = _memo("examples/special_conversion/before_window.yaml")
    assert "**Conversion permitted: no.**" in text
    assert ("the time when the Note and the Special Conversion Notice are surrendered, 5:30 p.m. EDT, June 18, "
            "2003, is 30 minutes before the start of the Special Conversion Period (§ 1.1(b)), 5:00 p.m. EST, "
            "June 18, 2003 (6:00 p.m. EDT in New York)") in text


def test_threshold_distance_is_written_in_percentage_points() -> None:
    program = load_contract(SPECIAL)
    scenario = load_scenario("examples/special_conversion/holder_converts.yaml")
    scenario.facts["owner_ownership_pct"] = "19.9%"
    text = memo_for(evaluate(program, scenario, trace=True), generated=GENERATED)
    assert "19.9%, is 0.1 percentage points below the ownership ceiling that applies to this owner" in text


def test_missing_facts_are_open_questions_with_their_descriptions() -> None:
    text = _memo("examples/special_conversion/missing_facts.yaml")
    questions = text.split("## Open questions")[1].split("## Facts")[0]
    assert "**Conversion permitted** (the holder may convert as designated), § 1.2(a) — needs `notice_time`, " \
           "`owner_ownership_pct`, `owner_voting_securities_pct`." in questions
    assert "| `notice_time` | when the Note and the Special Conversion Notice are surrendered | datetime |" \
        in questions
    assert "| `owner_ownership_pct` | Common Stock the owner and its Affiliates will beneficially own after " \
           "conversion | percent | § Schedule I(a) |" in questions
    assert "**Conversion permitted: undetermined.**" in text.split("## Reasoning")[0]


def test_est_note_appears_wherever_the_memo_states_the_window() -> None:
    note = "5:00 p.m. EST on June 18, 2003 is 6:00 p.m. EDT in New York, which observed daylight time that day."
    relied = _memo("examples/special_conversion/holder_converts.yaml")
    assert note in relied
    assert "**eastern standard time**" in relied
    # Without the notice time the outcome is undetermined, but its reasoning still states the window
    # (5:00 p.m. EST, June 18, 2003), so the reading that gives it and the note come with it.
    missing = _memo("examples/special_conversion/missing_facts.yaml")
    assert "5:00 p.m. EST, June 18, 2003 (6:00 p.m. EDT in New York)" in missing.split("## Reasoning")[1]
    assert note in missing
    assert "**eastern standard time** (relied on for" in missing
    # A memo that states no time of the window says nothing of it.
    other = _memo("examples/series_b/optional_redemption.yaml", contract=CONTRACTS["series_b"])
    assert "EST" not in other and "eastern standard time" not in other


def _stated_readings(outcome: Outcome, memo: Memo) -> set[str]:
    """What the memo must disclose: every reading of each determined result whose value it states."""
    return {reading for name in memo.stated if outcome.results[name].determined
            for reading in outcome.results[name].readings}


@pytest.mark.parametrize(("contract", "scenario"), _example_scenarios(), ids=[s for _, s in _example_scenarios()])
def test_readings_are_exactly_those_the_stated_results_relied_on(contract: str, scenario: str) -> None:
    program = load_contract(contract)
    outcome = evaluate(program, load_scenario(scenario), trace=True)
    memo = build_memo(outcome, generated=GENERATED)
    shown = {r.name for r in memo.readings}
    assert set(memo.outcomes) <= set(memo.stated)
    assert {v.name for v in memo.summary + memo.pending + memo.reasoning} <= set(memo.outcomes)
    # The memo states a value for exactly the results of its table; every other result is named only.
    assert [v.name for v in memo.results] == memo.stated
    named = [title for group in memo.not_addressed for title in group.results]
    assert sorted(named) == sorted(title(n) for n in program.results if n not in memo.stated)
    assert shown <= set(program.readings)
    assert _stated_readings(outcome, memo) <= shown  # every reading a stated value relied on is disclosed ...
    used = {r for name in memo.stated for r in outcome.results[name].readings}
    assert shown <= used  # ... and none that no stated result used


def test_special_conversion_memos_disclose_no_reading_of_other_results() -> None:
    for scenario in ("holder_converts", "missing_facts", "partial_conversion_fails"):
        outcome = evaluate(load_contract(SPECIAL), load_scenario(f"examples/special_conversion/{scenario}.yaml"),
                           trace=True)
        shown = {r.name for r in build_memo(outcome, generated=GENERATED).readings}
        assert {"trading_day", "close_of_business", "nearest_tenth_of_a_cent"} & shown == set()


def test_every_citation_link_in_the_html_has_its_quoted_clause() -> None:
    page = _memo("examples/special_conversion/partial_conversion_fails.yaml", "html")
    targets = set(re.findall(r'href="#([^"]+)"', page))
    ids = set(re.findall(r'id="([^"]+)"', page))
    assert targets and targets <= ids
    assert 'id="clause-exhibit-a"' in page
    assert "PROVIDED that the unconverted portion" in page


def test_html_is_one_self_contained_page_that_prints_well() -> None:
    page = _memo("examples/special_conversion/holder_converts.yaml", "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page and "@media print" in page and "break-inside: avoid" in page
    assert not re.search(r'<(link|script)\b|src="http', page)


def test_facts_are_formatted_for_people() -> None:
    text = _memo("examples/special_conversion/partial_conversion_fails.yaml")
    facts = text.split("## Facts")[1].split("## Results")[0]
    assert "| `principal_amount` | $5,000.00 |" in facts
    assert "| `owner_ownership_pct` | 12% |" in facts
    assert "| `notice_time` | 8:00 p.m. EDT, June 18, 2003 |" in facts
    assert "| `owner_is_national_indemnity` | no |" in facts  # a default, listed separately


# ---------------------------------------------------------------- scenario text is data


HOSTILE = "<script>alert('x')</script> {{ 7*7 }} {% raw %} **bold** [link](http://x)"


def _hostile_outcome() -> Outcome:
    source = (ROOT / "examples/special_conversion/holder_converts.yaml").read_text(encoding="utf-8")
    source = re.sub(r"^title: .*$", "title: \"" + HOSTILE.replace('"', '\\"') + "\"", source, flags=re.M)
    source = source.replace("description: >", "description: >\n  # heading? <b>{{ config }}</b>\n ", 1)
    scenario = parse_scenario(source, "hostile.yaml")
    return evaluate(load_contract(SPECIAL), scenario, trace=True)


def test_scenario_text_is_literal_in_html() -> None:
    page = memo_for(_hostile_outcome(), "html", generated=GENERATED)
    assert "<script>" not in page and "<b>{{" not in page
    assert html.escape(HOSTILE, quote=False).replace("'", "&#39;") in page
    assert "{{ 7*7 }}" in page and "49" not in page.split("<title>")[1].split("</title>")[0]


def test_scenario_text_is_literal_in_markdown() -> None:
    text = memo_for(_hostile_outcome(), "md", generated=GENERATED)
    title_line = text.splitlines()[0]
    assert title_line == "# Memorandum: " + md_escape(HOSTILE)
    assert "\\<script\\>" in title_line and "{{ 7\\*7 }}" in title_line and "49" not in title_line
    assert "\\*\\*bold\\*\\*" in title_line and "\\[link\\]" in title_line
    assert "\\<b\\>{{ config }}\\</b\\>" in text


def test_md_escape_leaves_ordinary_prose_readable() -> None:
    assert md_escape("$2,500 of the Note's 9% (Section 2.1)") == "$2,500 of the Note's 9% (Section 2.1)"
    assert md_escape("owner_is_affiliate") == "owner_is_affiliate"
    assert md_escape("a | b") == "a \\| b"


# ---------------------------------------------------------------- the command


def test_memo_command_writes_markdown_to_stdout_by_default() -> None:
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml")
    assert run.code == 0, run.err
    assert run.out.startswith("# Memorandum: Holder converts one $1,000 Note during the special window")
    assert "**Shares issuable: 353.**" in run.out


def test_memo_command_infers_html_from_the_extension_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "memo.html"
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target))
    assert run.code == 0, run.err
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    again = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target))
    assert again.code == 1
    assert f"{target}: error: already exists; not overwriting it" in again.err and "--force" in again.err
    assert "Traceback" not in again.err
    forced = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target),
                    "--format", "md", "--force")
    assert forced.code == 0
    assert target.read_text(encoding="utf-8").startswith("# Memorandum")


def test_memo_command_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    run = clause("memo", SPECIAL, "nope.yaml")
    assert run.code == 1 and "nope.yaml: error: no such scenario file" in run.err
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o",
                 str(tmp_path / "missing" / "memo.md"))
    assert run.code == 1 and "no such directory" in run.err


def test_a_broken_firm_template_is_reported_as_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "_summary.md.j2").write_text("{{ memo.__class__.__mro__ }}", encoding="utf-8")
    monkeypatch.setenv("CLAUSE_MEMO_TEMPLATES", str(tmp_path))
    with pytest.raises(ClauseError, match="memo template"):
        _memo("examples/special_conversion/holder_converts.yaml")
    (tmp_path / "md" / "_summary.md.j2").write_text("## Our summary\n", encoding="utf-8")
    assert "## Our summary" in _memo("examples/special_conversion/holder_converts.yaml")


# ---------------------------------------------------------------- formatting


def test_prose_formatting() -> None:
    assert fmt.amount(Decimal("2500")) == "$2,500"
    assert fmt.amount(Decimal("2.83849")) == "$2.83849"
    assert fmt.amount(Decimal("0.7000")) == "$0.70"
    assert fmt.approx(Decimal("352.2999904879002568")) == "352.2999904879…"
    assert fmt.points(Decimal("0.001")) == "0.1 percentage points"
    assert fmt.elapsed(dt.timedelta(hours=14, minutes=15)) == "14 hours and 15 minutes"
    assert fmt.money(Decimal("1000000")) == "$1,000,000.00"  # the existing functions are unchanged


# ---------------------------------------------------------------- the screenshot


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_screenshot_script_renders_the_html_memo(tmp_path: Path) -> None:
    png = tmp_path / "memo.png"
    subprocess.run(["bash", str(ROOT / "scripts" / "screenshot_memo.sh"), str(ROOT / SPECIAL),
                    str(ROOT / "examples/special_conversion/holder_converts.yaml"), str(png), "1000x1400"],
                   check=True, capture_output=True, timeout=120)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000


def test_contract_explain_sentences_lead_the_summary() -> None:
    examples = ROOT / "examples/special_conversion"
    contract = ROOT / "contracts/special_conversion.clause"
    permitted = memo_text(contract, examples / "converts_2000_of_5000.yaml", generated=GENERATED)
    assert ("The holder may convert $2,000 principal amount of the Note into 705 shares of Common Stock, "
            "to be issued on or before June 27, 2003 (§ 1.2(a))") in permitted
    refused = memo_text(contract, examples / "partial_conversion_fails.yaml", generated=GENERATED)
    assert "The holder may not convert $2,500 principal amount of the Note as designated (§ 1.2(a))" in refused
    assert "but the conversion as designated is not permitted" in refused


# ---------------------------------------------------------------- what a memo addresses and discloses

SERIES_B = CONTRACTS["series_b"]
REDEMPTION = "examples/series_b/optional_redemption.yaml"


def _section(text: str, heading: str) -> str:
    """The text of one `## heading` section of a Markdown memo."""
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _scenario_memo(source: str, contract: str = SERIES_B, fmt_name: str = "md") -> tuple[Outcome, Memo, str]:
    outcome = evaluate(load_contract(contract), parse_scenario(source, "given.yaml"), trace=True)
    return outcome, build_memo(outcome, generated=GENERATED), memo_for(outcome, fmt_name, generated=GENERATED)


def test_optional_redemption_memo_explains_conversion_rights_end_and_its_readings() -> None:
    text = _memo(REDEMPTION, contract=SERIES_B)
    summary, reasoning = _section(text, "Summary"), _section(text, "Reasoning")
    notes, results = _section(text, "Interpretation notes"), _section(text, "Results")
    # §5 result that depends only on the §8 redemption date: summarised and reasoned about.
    assert "**Conversion rights end: 5:00 p.m. EDT, July 31, 2009.**" in summary
    assert "Conversion rights end: 5:00 p.m. EDT, July 31, 2009" in reasoning
    assert "The previous Business Day before August 3, 2009: July 31, 2009" in reasoning
    # ... with the readings it relies on.
    for reading in ("business day", "close of business", "full business day"):
        line = next(line for line in notes.splitlines() if line.startswith(f"- **{reading}**"))
        assert "Conversion rights end" in line, line
    # The Mandatory Redemption Date is stated (the redemption-date test compares with it), so is its Sunday.
    assert "| Mandatory redemption date — the Mandatory Redemption Date | July 15, 2012 |" in results
    assert "falls on a Sunday" in notes


def test_the_sunday_note_comes_with_every_statement_of_the_mandatory_redemption_date() -> None:
    program = load_contract(SERIES_B)
    stated_somewhere = not_stated_somewhere = False
    for contract, scenario in _example_scenarios():
        if contract != SERIES_B:
            continue
        text = _memo(scenario, contract=SERIES_B)
        outcome = evaluate(program, load_scenario(scenario), trace=True)
        stated = "mandatory_redemption_date" in build_memo(outcome, generated=GENERATED).stated
        assert ("falls on a Sunday" in _section(text, "Interpretation notes")) == stated, scenario
        assert ("July 15, 2012" in text.split("## Clauses cited")[0]) == stated, scenario
        stated_somewhere |= stated
        not_stated_somewhere |= not stated
    assert stated_somewhere and not_stated_somewhere


def test_adjustment_statement_deadline_is_addressed_with_its_business_day_readings() -> None:
    text = _memo("examples/series_b/anti_dilution_issuance.yaml", contract=SERIES_B)
    assert "**Adjustment statement deadline: March 31, 2003.**" in _section(text, "Summary")
    notes = _section(text, "Interpretation notes")
    for reading in ("business day", "business days counted"):
        line = next(line for line in notes.splitlines() if line.startswith(f"- **{reading}**"))
        assert "Adjustment statement deadline" in line, line


def test_the_results_table_states_only_results_the_memo_accounts_for() -> None:
    text = _memo(REDEMPTION, contract=SERIES_B)
    results = _section(text, "Results")
    table = results.split("The document's other results")[0]
    others = results.split("The document's other results")[1]
    # Votes per share relies on readings this memo has no reason to disclose: it is named, not valued.
    assert "Votes per share" not in table and "293.255" not in text
    assert "- § 4(a): Votes per share, Holder votes, Votes with common as single class" in others
    assert "exact division" not in text and "votes equal conversion rate" not in text
    page = _memo(REDEMPTION, "html", SERIES_B)
    assert "293.255" not in page and "Votes per share" in page.split('id="results"')[1]


def test_a_scenario_giving_only_accrued_dividends_addresses_what_they_decide() -> None:
    _, memo, text = _scenario_memo("facts:\n  accrued_dividends_per_share: 5\n")
    assert "purchase_price_per_share" in memo.outcomes
    summary = _section(text, "Summary")
    assert "gives no facts that bear" not in text
    assert "**Purchase price per share: $1,015.**" in summary
    assert "**Mandatory redemption price per share: $1,005.**" in summary
    assert "**Liquidation preference per share: $1,005.**" in summary
    # What it bears on but cannot decide alone is named, and the open questions say what it needs.
    assert "Optional redemption price per share" in summary.split("**Not yet determined:**")[1]
    assert "**Optional redemption price per share** (the percentage of Stated Value plus accrued dividends; " \
           "none before July 15, 2007), § 8(b) — needs `redemption_date`." in _section(text, "Open questions")
    # The rounding of the dividend shares waits on facts not given: the memo does not rely on it yet.
    assert "fractions rounded upward" not in text


def test_results_sharing_one_fact_with_a_scenario_about_something_else_stay_out_of_it() -> None:
    text = _memo("examples/series_b/change_of_control.yaml", contract=SERIES_B)
    summary, questions = _section(text, "Summary"), _section(text, "Open questions")
    assert "**Purchase price per share: $1,020.**" in summary
    # The liquidation amounts need liquidation facts; the scenario gives one of them at most.
    for name in ("Liquidation payment per share", "Liquidation shortfall", "Conversion dividend amount",
                 "Optional redemption price per share"):
        assert name not in summary and name not in questions
        assert name not in _section(text, "Results").split("The document's other results")[0]
    assert "None: every outcome the scenario bears on is determined" in questions


def test_a_partial_scenario_summarises_what_it_decides_and_names_what_waits() -> None:
    text = _memo("examples/rights_agreement/partial_facts.yaml", contract=CONTRACTS["rights_agreement"])
    summary = _section(text, "Summary")
    assert "gives no facts that bear" not in summary
    assert "**Exercise day: February 16, 2005.**" in summary
    assert "**Not yet determined:** After distribution date; Exercisable (see Open questions)." in summary
    assert "**Exercisable** (the Rights may be exercised as surrendered), § 7(a) — needs" in text


def test_a_scenario_with_no_facts_states_no_result() -> None:
    _, memo, text = _scenario_memo("title: Nothing given\nfacts: {}\n")
    assert memo.outcomes == [] and memo.results == [] and memo.readings == []
    assert "gives no facts that bear on any result of this document, so this memo states none" in text
    assert "| Result | Value |" not in text
    assert "- § 8(a): Mandatory redemption date" in _section(text, "Results")


# ---------------------------------------------------------------- code spans in reading texts


def test_code_spans_of_reading_texts_render_as_code() -> None:
    text = _memo("examples/special_conversion/holder_converts.yaml")
    assert "(the `holidays` library's XFED calendar, not a hand-written list)" in text
    assert "\\`" not in text
    page = _memo("examples/special_conversion/holder_converts.yaml", "html")
    assert "(the <code>holidays</code> library&#39;s XFED calendar" in page


def test_code_spans_keep_everything_else_literal() -> None:
    assert md_code_spans("the `holidays` library") == "the `holidays` library"
    assert md_code_spans("`a_b` and *c* [d](e) <b> | `x|y`") == "`a_b` and \\*c\\* \\[d\\](e) \\<b\\> \\| `x|y`"
    assert md_code_spans("an unpaired ` stays literal") == "an unpaired \\` stays literal"
    assert md_code_spans("`<script>`\n# heading") == "`<script>`\n\\# heading"
    assert html_code_spans("the `<b>` tag & <i>") == "the <code>&lt;b&gt;</code> tag &amp; &lt;i&gt;"


def test_a_hostile_reading_text_cannot_inject_markdown_or_html() -> None:
    outcome = evaluate(load_contract(SPECIAL), load_scenario("examples/special_conversion/holder_converts.yaml"),
                       trace=True)
    memo = build_memo(outcome, generated=GENERATED)
    memo.readings[0].text = "# Heading <script>x</script> `<img src=x>` **bold** {{ 7*7 }}"
    text = render_memo(memo, "md")
    line = next(line for line in text.splitlines() if line.startswith("- **business day**"))
    # Mid-line, a `#` starts nothing; HTML and emphasis are escaped; the code span stays code.
    assert line.endswith("): # Heading \\<script\\>x\\</script\\> `<img src=x>` \\*\\*bold\\*\\* {{ 7\\*7 }}")
    page = render_memo(memo, "html")
    assert "&lt;script&gt;x&lt;/script&gt; <code>&lt;img src=x&gt;</code> **bold** {{ 7*7 }}" in page
    assert "<script>" not in page and "<img" not in page


# ---------------------------------------------------------------- the command's errors


def test_memo_command_reports_file_errors_in_the_project_format(tmp_path: Path) -> None:
    target = tmp_path / "memo.md"
    target.write_text("keep me\n", encoding="utf-8")
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(target))
    assert run.code == 1
    assert run.err.splitlines()[0] == f"{target}: error: already exists; not overwriting it"
    assert "help: pass --force" in run.err
    assert target.read_text(encoding="utf-8") == "keep me\n"
    run = clause("memo", SPECIAL, "examples/special_conversion/holder_converts.yaml", "-o", str(tmp_path))
    assert run.code == 1 and run.err.startswith(f"{tmp_path}: error: is a directory")
