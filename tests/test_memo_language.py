"""Language for memos: reading alternatives, assumed defaults, member labels, pinpoint quotes,
and the header's amends / headline / not encoded fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api import evaluate
from engine.check import check_file
from engine.errors import ClauseError

SOURCE = "The Company shall round upward to the next whole number of shares. Notice by 5:00 p.m.\n"

CONTRACT = '''contract "Test"
  amends "the Original Agreement"
  headline shares, on_time
  not encoded "Section 9 of the Original Agreement"
  source "source.txt"
  home zone "America/New_York"

reading literal_est: """
"EST" is UTC-5 every day.
"""
  alternative """
  "EST" is New York time as observed.
  """ {
    zone Est = "America/New_York" uses literal_est
  }

zone Est = fixed "-05:00" uses literal_est

enum Kind: plain "a plain kind" | fancy_kind "a fancy kind"

fact others: integer = 0 assumed "no other shares are assumed" "other shares"
fact units: decimal "units converted"
fact kind: Kind = Kind.plain "the kind"
fact sent: datetime "when the notice is sent"

section "1" "Shares"
  text """
  The Company shall round upward to the next whole number of shares.
  """
  result shares: integer "shares issued" = round(units, 1, up) + others
    quote "round upward to the next whole number"
  result on_time: boolean "the notice is on time" = sent <= at(2003-06-18, 5:00 pm, Est)
'''


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "source.txt").write_text(SOURCE, encoding="utf-8")
    path = tmp_path / "test.clause"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_memo_language_parses_and_checks(tmp_path: Path) -> None:
    program = check_file(_write(tmp_path, CONTRACT))
    assert program.header.amends == "the Original Agreement"
    assert program.header.headline == ("shares", "on_time")
    assert program.header.not_encoded == ("Section 9 of the Original Agreement",)
    assert program.enum_labels == {"Kind": {"plain": "a plain kind", "fancy_kind": "a fancy kind"}}
    assert program.facts["others"].decl.assumption == "no other shares are assumed"
    assert program.facts["others"].decl.description == "other shares"
    assert program.rules["shares"].decl.pinpoint == "round upward to the next whole number"
    assert program.readings["literal_est"].alternative == '"EST" is New York time as observed.'


def test_the_alternative_is_the_contract_with_the_replacement_in_force(tmp_path: Path) -> None:
    program = check_file(_write(tmp_path, CONTRACT))
    facts = {"units": "2.5", "sent": "2003-06-18T17:30:00-04:00"}
    # 5:30 p.m. EDT is 4:30 p.m. EST: on time read literally; half an hour late on New York clocks.
    assert evaluate(program, facts).results["on_time"].value is True
    assert evaluate(program.alternatives["literal_est"], facts).results["on_time"].value is False
    assert evaluate(program, facts).results["shares"].value == 3


@pytest.mark.parametrize(("change", "message"), [
    (("headline shares, on_time", "headline shares, on_tim"), "`on_tim` is not a result of this contract"),
    (('quote "round upward to the next whole number"', 'quote "round downward"'),
     'the quoted words are not in the text of section "1"'),
    (('zone Est = "America/New_York" uses literal_est', 'zone Eastern = "America/New_York"'),
     "the alternative replaces `Eastern`, which the contract does not declare"),
])
def test_mistakes_in_the_memo_language_are_diagnosed(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(ClauseError) as raised:
        check_file(_write(tmp_path, CONTRACT.replace(*change)))
    assert message in str(raised.value.diagnostics[0].message)


def test_replacements_for_a_reading_without_an_alternative_are_refused(tmp_path: Path) -> None:
    text = CONTRACT + '''
reading other: """
Another reading.
"""

reading other alternative {
  zone Est = "America/New_York"
}
'''
    with pytest.raises(ClauseError) as raised:
        check_file(_write(tmp_path, text))
    assert "reading `other` states no alternative" in str(raised.value.diagnostics[0].message)
