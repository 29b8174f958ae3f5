"""The memo's prose, checked across every memo the project can render: the examples of each
contract (their goldens), the model documents (the SAFE, the side letter that amends its cap
in force and not yet in force, the NVCA certificate) and small contracts written here.

- A figure cut short ends in "…"; a sentence that ends with one takes no second full stop.
- A year is not a quantity: 2026, never 2,026.
- A year is not a quantity: 2026, never 2,026.
- A negated condition reads as a plain negative, not "it is not the case that …".
- Every internal link of an HTML memo leads to an id in the page."""

from __future__ import annotations

import html.parser
import re
import textwrap
from collections.abc import Iterator

import pytest
from test_model_documents import NVCA_FACTS, SAFE_FACTS

from engine.api import evaluate, load_contract
from render.explain import negate
from render.memo import memo_for

from helpers import ROOT

GOLDEN = ROOT / "tests" / "golden" / "memos"
MODELS = ROOT / "tests" / "model_documents"

SMALL = '''
contract "Small Agreement"
fact principal: money "the principal converted"
fact price: money "the conversion price"
fact closing_date: date "the closing date"
fact start_date: date = 2023-09-30 "the start date"
section "1" "Conversion"
  result conversion_rate: decimal "the conversion rate" = principal / price
  result shares_delivered: integer "the shares delivered for the principal converted"
    = round(principal / price, 1, down)
  result paid_more: boolean "the holder is paid more as converted" = principal / price > 1
  result within_limit: boolean "the conversion rate is within the limit" = not (principal / price > 2000)
  result closing_year: integer "the closing year" = year(closing_date)
  result full_years: integer "the full years" = year(closing_date) - year(start_date)
'''


def _model_memos() -> Iterator[tuple[str, str]]:
    cases = [("safe", "safe.clause", SAFE_FACTS), ("nvca", "nvca.clause", NVCA_FACTS),
             ("side letter not in force", "side_letter.clause", {**SAFE_FACTS, "as_of": "2024-03-01"}),
             ("side letter in force", "side_letter.clause", {**SAFE_FACTS, "as_of": "2024-04-01"})]
    for name, path, facts in cases:
        outcome = evaluate(load_contract(MODELS / path), facts, trace=True)
        for fmt_name in ("md", "html"):
            yield f"{name}.{fmt_name}", memo_for(outcome, fmt_name)


@pytest.fixture(scope="module")
def memos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    found = {str(path.relative_to(GOLDEN)): path.read_text(encoding="utf-8")
             for path in sorted(GOLDEN.glob("*/*")) if path.suffix in (".md", ".html")}
    found.update(_model_memos())
    directory = tmp_path_factory.mktemp("small")
    (directory / "small.clause").write_text(textwrap.dedent(SMALL), encoding="utf-8")
    outcome = evaluate(load_contract(directory / "small.clause"),
                       {"principal": "4000", "price": "3", "closing_date": "2026-10-15"}, trace=True)
    for fmt_name in ("md", "html"):
        found[f"small.{fmt_name}"] = memo_for(outcome, fmt_name)
    assert len(found) >= 38
    return found


def test_a_figure_cut_short_ends_a_sentence_without_a_second_full_stop(memos: dict[str, str]) -> None:
    assert "1,333.3333…" in memos["small.md"]  # 4,000 / 3, cut short
    for name, text in memos.items():
        assert "…." not in text, (name, text[max(text.find("…."), 0) - 80:][:120])


def test_a_year_is_printed_without_a_thousands_separator(memos: dict[str, str]) -> None:
    small = memos["small.md"]
    assert "year(October 15, 2026) = 2026" in small
    assert "2026 − 2023 = 3" in small  # the full years: a count, from two years
    assert "1,333" in small  # a count of shares keeps its separator
    assert "2,026" not in memos["nvca.md"] and "2026 − 2023" in memos["nvca.md"]
    assert "2,009" not in memos["series_b/optional_redemption.md"]
    shown = 0
    for name, text in memos.items():  # what year() gives, wherever a memo writes it out
        for value in re.findall(r"year\([A-Z][a-z]+ \d{1,2}, \d{4}\) = (?:<span class=\"value\">)?([\d,]+)", text):
            assert re.fullmatch(r"\d{4}", value), (name, value)
            shown += 1
    assert shown >= 6


def test_a_count_is_asked_how_many(memos: dict[str, str]) -> None:
    """An integer result whose description names what is counted asks "How many", its participle made
    the verb; without one, "What is the number of ..."; never "What are the shares ...?"."""
    assert "How many shares are delivered for the principal converted (§ 1)?" in memos["small.md"]
    assert "What is the number of full years (§ 1)?" in memos["small.md"]
    assert "How many shares are delivered for the principal converted (§ 1.2(a))?" in \
        memos["special_conversion/holder_converts.md"]
    assert "1. How many whole shares of Common Stock are issued (§ 5(b))?" in \
        memos["series_b/conversion_cash_for_fraction.md"]
    assert "1. What is the number of shares of Safe Preferred Stock this Safe converts into (§ 1(a))?" \
        in memos["safe.md"]
    assert "Whether converting pays the holder more than the Accreted Value (§ 2)?" in memos["nvca.md"]
    for name, text in memos.items():
        if name.endswith(".md"):
            questions = text.split("## Questions Presented\n", 1)[1].split("\n## ", 1)[0]
            assert "What are " not in questions, (name, questions)


@pytest.mark.parametrize(("statement", "negative"), [
    ("an agreement of the Corporation or the law prohibits the Offer to Purchase",
     "neither an agreement of the Corporation nor the law prohibits the Offer to Purchase"),
    ("converting pays the holder more", "converting does not pay the holder more"),
    ("the Board applies the rule", "the Board does not apply the rule"),
    ("the Company reaches a deal", "the Company does not reach a deal"),
    ("the holder may convert as designated", "the holder may not convert as designated"),
    # no verb it can be sure of: the long form, which is always correct
    ("a majority of the outstanding Series B shares consent",
     "it is not the case that a majority of the outstanding Series B shares consent"),
    ("the Corporation and the holder agree on the price",
     "it is not the case that the Corporation and the holder agree on the price"),
])
def test_a_negated_condition_reads_as_a_plain_negative(statement: str, negative: str) -> None:
    assert negate(statement) == negative


def test_no_memo_says_it_is_not_the_case(memos: dict[str, str]) -> None:
    assert "Neither an agreement of the Corporation nor the law prohibits the Offer to Purchase (§ 7(b))." in \
        memos["series_b/change_of_control.md"]
    for name, text in memos.items():
        assert "not the case that" not in text.lower(), name


def test_a_comparison_with_an_exact_quotient_states_the_distance(memos: dict[str, str]) -> None:
    # 4,000 / 3 = 1,333.3333… against 2,000: not "is not 2,000, but it must be more than 2,000", which,
    # under `not`, read as though the condition failed when it is met
    assert "1,333.3333… is 666.6666… below 2,000" in memos["small.md"]
    assert "$1.0267…, is $0.2329… below the accreted value" in memos["nvca.md"]  # 10000/9739 vs $1.259712
    for name, text in memos.items():
        assert not re.search(r"is not [^,]*, but it must be", text), name


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key == "id" and value:
                self.ids.add(value)
            if key == "href" and value and value.startswith("#"):
                self.hrefs.append(value[1:])


def test_every_internal_link_of_an_html_memo_leads_to_an_id_in_the_page(memos: dict[str, str]) -> None:
    checked = 0
    for name, text in memos.items():
        if not name.endswith(".html"):
            continue
        links = _Links()
        links.feed(text)
        assert links.hrefs, name
        dead = sorted({href for href in links.hrefs if href not in links.ids})
        assert not dead, (name, dead)
        checked += len(links.hrefs)
    # the amended cap links to the Safe's own definition, which Appendix B quotes
    assert 'href="#clause-post-money-valuation-cap-in-2"' in memos["side letter in force.html"]
    assert checked > 500


def test_the_golden_html_memos_are_all_checked() -> None:
    assert len(list(GOLDEN.glob("*/*.html"))) == len(list(GOLDEN.glob("*/*.md"))) >= 14
