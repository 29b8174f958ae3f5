"""The memo of a Series B history: the timeline, the step chart, the replays in words.

The prices are the hand-worked ones of tests/test_history.py and of
examples/series_b/history_five_events.yaml: warrants for 40,000,000 shares at
$2.50 against a market of $2.40 (no adjustment, $3.41); 20,000,000 shares at
$1.50 ((100,000,000 × 3.41 + 30,000,000) / 120,000,000 = 3.1916…, counting the
warrants under §6(a)(z) while $2.50 < $3.41: (140,000,000 × 3.41 + 30,000,000)
/ 160,000,000 = 3.17125, $3.171); the warrants repriced to $1.25, replayed as if
granted so ($2.793, then $2.631); a 2-for-1 subdivision ($1.3155); and their
expiration, replayed without them ($3.092 after the issue alone, halved by the
subdivision: $1.546).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from engine.api import evaluate, load_contract
from engine.scenario import load_scenario
from render.build import build_document
from render.document import Document, Figure, Paragraph, Section, Table
from render.memo import memo_bytes, render_document

from helpers import ROOT, clause

SERIES_B = ROOT / "contracts" / "series_b_preferred.clause"
FIVE = ROOT / "examples" / "series_b" / "history_five_events.yaml"
GENERATED = dt.datetime(2005, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def document() -> Document:
    outcome = evaluate(load_contract(SERIES_B), load_scenario(FIVE), trace=True)
    return build_document(outcome, GENERATED)


def _blocks(document: Document) -> Iterator[object]:
    for section in document.walk():
        yield from (b for b in section.blocks if not isinstance(b, Section))


def _timeline(document: Document) -> Table:
    return next(b for b in _blocks(document)
                if isinstance(b, Table) and b.caption == "Timeline of the Conversion Price")


def test_the_timeline_table_gives_date_event_section_and_the_price_before_and_after(document: Document) -> None:
    table = _timeline(document)
    assert table.columns == ("Date", "Event", "Section applied", "Shares deemed outstanding before",
                             "Conversion Price before", "Conversion Price after")
    # The Number of Common Shares Deemed Outstanding immediately prior: 100,000,000; then
    # 140,000,000 with the warrants under §6(a)(z) ($2.50 < $3.41); 160,000,000 with the
    # issue (the warrants' $2.50 still below $3.171); the same after the repricing (deemed
    # outstanding from the grant, replayed); the expiration sees 320,000,000 after the 2-for-1.
    assert [tuple(cell.plain for cell in row) for row in table.rows] == [
        ("March 3, 2003", "Grant of Options (March 2003 warrants)", "§ 6(b)(1)", "100,000,000", "$3.41", "$3.41"),
        ("June 10, 2003", "Issue of Common Stock", "§ 6(b)", "140,000,000", "$3.41", "$3.171"),
        ("November 17, 2003", "Change of terms (March 2003 warrants)", "§ 6(b)(3)", "160,000,000", "$3.171",
         "$2.631"),
        ("May 3, 2004", "Subdivision", "§ 6(c)", "160,000,000", "$2.631", "$1.3155"),
        ("March 3, 2005", "Expiration (March 2003 warrants)", "§ 6(b)(4)", "320,000,000", "$1.3155", "$1.546"),
    ]


def test_the_replays_are_said_in_words(document: Document) -> None:
    said = [b.text.plain for b in _blocks(document) if isinstance(b, Paragraph) and b.text.plain.startswith("Had ")]
    assert said == [
        "Had the Options granted on March 3, 2003 (the March 2003 warrants) provided for the changed terms at the "
        "time initially granted, the Conversion Price on November 17, 2003 would have been $2.631 (§ 6(b)(3)); so "
        "the Conversion Price goes from $3.171 to $2.631.",
        "Had the Options granted on March 3, 2003 (the March 2003 warrants) never been issued, the Conversion Price "
        "on March 3, 2005 would have been $1.546 (§ 6(b)(4)); so the Conversion Price goes from $1.3155 to $1.546.",
    ]


def test_the_short_answer_of_the_history_is_a_sentence_not_the_list(document: Document) -> None:
    answers = next(s for s in document.sections if s.title == "Short Answers")
    first = answers.blocks[0].items[0].plain  # type: ignore[union-attr]
    assert first.startswith("$3.41 to $1.546. Five events from March 3, 2003 to March 3, 2005 took the Conversion "
                            "Price from $3.41 to $1.546")
    assert "two of them by replaying the history" in first
    assert "kind" not in first


def test_the_events_given_are_a_table_of_their_own(document: Document) -> None:
    events = next(b for b in _blocks(document) if isinstance(b, Table) and b.caption is not None
                  and b.caption.startswith("The Section 6 events"))
    # No event claims a §6(e) exemption, so that column is left out and the caption says so.
    assert events.caption.endswith("(each with the default exemption: no exemption)")
    assert "Exemption" not in events.columns
    assert [row[0].plain for row in events.rows] == ["March 3, 2003", "June 10, 2003", "November 17, 2003",
                                                      "May 3, 2004", "March 3, 2005"]


def test_the_step_chart_steps_at_each_event(document: Document) -> None:
    figure = next(b for b in _blocks(document) if isinstance(b, Figure))
    assert figure.svg is not None and figure.svg.startswith("<svg")
    assert figure.png is not None and figure.png.startswith(b"\x89PNG")
    # Every event is labelled with the section applied and the exact price after it.
    for label in ("§ 6(b)(1)", "§ 6(b)(3)", "§ 6(c)", "§ 6(b)(4)", "$1.3155", "$1.546", "$2.631"):
        assert label in html.unescape(figure.svg)
    assert "from $3.41 to $1.546, in 5 events" in figure.alt


def test_html_embeds_the_chart_and_docx_the_picture(document: Document) -> None:
    page = render_document(document, "html")
    assert '<figure role="img" aria-label="Step chart of the Conversion Price' in page and "<svg" in page
    docx = pytest.importorskip("docx")
    outcome = evaluate(load_contract(SERIES_B), load_scenario(FIVE), trace=True)
    word = docx.Document(io.BytesIO(memo_bytes(outcome, "docx", generated=GENERATED)))
    assert len(word.inline_shapes) == 1
    texts = [p.text for p in word.paragraphs]
    assert any(t.startswith("The Conversion Price over time") for t in texts)


def test_the_replay_of_an_expiration_after_an_issue_names_the_price_of_the_issue_alone() -> None:
    # Options below market ($3.007), an issue ($2.819), the Options' expiration: the
    # issue alone gives (341,000,000 + 30,000,000) / 120,000,000 = 3.0916…, $3.092.
    facts = {"conversion_price": "3.41", "common_shares_outstanding": 100_000_000, "events": [
        {"date": "2003-03-03", "kind": "option_grant", "name": "March warrants", "shares": 40_000_000,
         "additional_consideration": 80_000_000, "average_current_market_price": "2.50"},
        {"date": "2003-06-10", "kind": "common_issue", "shares": 20_000_000, "consideration": 30_000_000,
         "average_current_market_price": "1.80"},
        {"date": "2004-09-01", "kind": "expiration", "refers_to": "March warrants"}]}
    outcome = evaluate(load_contract(SERIES_B), facts, trace=True)
    text = render_document(build_document(outcome, GENERATED), "md")
    assert ("Had the Options granted on March 3, 2003 (the March warrants) never been issued, the Conversion "
            "Price on September 1, 2004 would have been $3.092") in text


def test_a_memo_without_a_history_does_not_import_matplotlib() -> None:
    code = ("import sys, datetime as dt\n"
            "from render.memo import memo_text\n"
            "memo_text('contracts/special_conversion.clause', 'examples/special_conversion/holder_converts.yaml')\n"
            "memo_text('contracts/series_b_preferred.clause', 'examples/series_b/anti_dilution_issuance.yaml')\n"
            "print('matplotlib' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


def test_the_trace_of_a_history_says_each_event_and_each_replay_in_words() -> None:
    run = clause("eval", str(SERIES_B), str(FIVE), "--format", "json", "--trace")
    timeline = json.loads(run.out)["trace"]["conversion_price_history"]["timeline"]
    assert [(t["date"], t["section"], t["before"], t["after"]) for t in timeline] == [
        ("2003-03-03", "6(b)(1)", "$3.41", "$3.41"), ("2003-06-10", "6(b)", "$3.41", "$3.171"),
        ("2003-11-17", "6(b)(3)", "$3.171", "$2.631"), ("2004-05-03", "6(c)", "$2.631", "$1.3155"),
        ("2005-03-03", "6(b)(4)", "$1.3155", "$1.546")]
    assert timeline[4]["replay"].startswith("Had the Options granted on March 3, 2003 (the March 2003 warrants) "
                                            "never been issued, the Conversion Price on March 3, 2005 would have "
                                            "been $1.546")
    assert "replay" not in timeline[1]


def test_the_price_as_of_a_day_names_the_last_event_before_it(document: Document) -> None:
    answers = next(s for s in document.sections if s.title == "Short Answers")
    items = [i.plain for i in answers.blocks[0].items]  # type: ignore[union-attr]
    assert items[1] == ("$1.546. The Conversion Price after the last event, the expiration of March 3, 2005, is "
                        "$1.546 (§ 6(a)).")
    assert items[2] == ("$1.3155. The Conversion Price in effect at the end of December 31, 2004 was $1.3155: the "
                        "price after the last event on or before that day, the subdivision of May 3, 2004 (§ 6(a)).")
