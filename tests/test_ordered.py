"""Lists in order: sort, indexing, list comprehensions, count, scan/fold with record
update, and the value in effect on a date (issue #8, item 2).

Values are worked out by hand in the comments; every result is evaluated by the
reference evaluator, the compiled code and the traced compiled code (through
`engine.api.evaluate`), which must agree.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.api import evaluate, load_contract
from engine.check import Program
from engine.compile import evaluate_values
from engine.errors import ClauseError
from engine.evaluate import Evaluation
from render.trace import trace_json

HISTORY = '''
contract "A history of events"

enum Kind: issuance | split | conversion
record Event { date: date, kind: Kind, shares: integer, price: money }
record Capital { price: money, outstanding: integer }
record Price { effective: date, price: money }

fact events: list of Event
fact prices: list of Price = []
fact asked_on: date

section "1" "Events"
  result in_time: list of Event = sort(events by .date)
  result first_event: Event = in_time[0]
  result last_event: Event = in_time[-1]
  result issuances: list of Event = [e for e in events where e.kind = Kind.issuance]
  result issued_shares: list of integer = [e.shares for e in in_time where e.kind = Kind.issuance]
  result how_many: integer = count(events)
  result capital: list of Capital = scan(c = {price: $1.00, outstanding: 100} for e in in_time:
      if e.kind = Kind.split
      then c with {outstanding: c.outstanding * 2, price: c.price / 2}
      else c with {outstanding: c.outstanding + e.shares})
  result final: Capital = fold(c = {price: $1.00, outstanding: 100} for e in in_time:
      if e.kind = Kind.split
      then c with {outstanding: c.outstanding * 2, price: c.price / 2}
      else c with {outstanding: c.outstanding + e.shares})
  result total: integer = fold(t = 0 for e in events: t + e.shares)
  result price_then: optional Price = in_effect(prices, on: asked_on, by: .effective)
'''

EVENTS = [
    {"date": "2020-03-01", "kind": "issuance", "shares": 10, "price": "2"},
    {"date": "2020-01-01", "kind": "split", "shares": 0, "price": "1"},
    {"date": "2020-03-01", "kind": "conversion", "shares": 5, "price": "3"},
]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Program:
    path = tmp_path_factory.mktemp("history") / "history.clause"
    path.write_text(textwrap.dedent(HISTORY), encoding="utf-8")
    return load_contract(path)


def _all_ways(program: Program, facts: dict[str, Any]) -> dict[str, Any]:
    """Values from the compiled path, checked against the reference and the traced path."""
    compiled = evaluate(program, facts)
    traced = evaluate(program, facts, trace=True)
    reference = Evaluation(program, traced.evaluation.facts)
    values = {}
    for name in program.results:
        value = compiled.results[name].value
        assert traced.results[name].value == value, name
        assert reference.rule(name).value == value, name
        values[name] = value
    if not any(result.error for result in compiled.results.values()):  # an error is the reference's to report
        assert evaluate_values(program, dict(traced.evaluation.facts)) is not None
    return values


def test_sort_index_filter_count(history: Program) -> None:
    values = _all_ways(history, {"events": EVENTS, "asked_on": "2020-02-01"})
    # Sorted by date, stable: the split (Jan 1) first, then the two March 1 events in the
    # order given (issuance before conversion).
    assert [e["kind"].name for e in values["in_time"]] == ["split", "issuance", "conversion"]
    assert values["first_event"]["date"] == dt.date(2020, 1, 1)
    assert values["last_event"]["kind"].name == "conversion"
    assert [e["shares"] for e in values["issuances"]] == [10]
    assert values["issued_shares"] == (10,)
    assert values["how_many"] == 3


def test_scan_and_fold_carry_a_record_from_event_to_event(history: Program) -> None:
    values = _all_ways(history, {"events": EVENTS, "asked_on": "2020-02-01"})
    # Start {$1.00, 100}. Split: 100 × 2 = 200 shares at $1.00 / 2 = $0.50.
    # Issuance of 10: 210 shares. Conversion of 5: 215 shares; the price stays $0.50.
    assert values["capital"] == (
        {"price": Decimal("0.5"), "outstanding": 200},
        {"price": Decimal("0.5"), "outstanding": 210},
        {"price": Decimal("0.5"), "outstanding": 215},
    )
    assert values["final"] == values["capital"][-1]
    assert values["total"] == 15  # 10 + 0 + 5


def test_fold_over_no_events_is_the_initial_state(history: Program) -> None:
    values = _all_ways(history, {"events": [], "asked_on": "2020-02-01"})
    assert values["final"] == {"price": Decimal("1.00"), "outstanding": 100}
    assert values["capital"] == ()
    assert values["total"] == 0


PRICES = [
    {"effective": "2021-01-01", "price": "3.00"},
    {"effective": "2020-01-01", "price": "2.00"},
    {"effective": "2021-01-01", "price": "3.50"},  # a later entry for the same day supersedes
]


@pytest.mark.parametrize(("day", "expected"), [
    ("2019-12-31", None),             # before the first entry: nothing in effect
    ("2020-01-01", Decimal("2.00")),  # on the day it takes effect
    ("2020-12-31", Decimal("2.00")),
    ("2021-01-01", Decimal("3.50")),  # two entries that day: the last given
    ("2030-01-01", Decimal("3.50")),
])
def test_the_value_in_effect_on_a_date(history: Program, day: str, expected: Decimal | None) -> None:
    values = _all_ways(history, {"events": EVENTS, "prices": PRICES, "asked_on": day})
    found = values["price_then"]
    assert (found["price"] if found is not None else None) == expected


def test_indexing_past_the_end_is_an_error_at_its_position(history: Program) -> None:
    outcome = evaluate(history, {"events": [], "asked_on": "2020-01-01"})
    error = outcome.results["first_event"].error
    assert error is not None
    assert "has no items: there is no item 0" in error.message
    assert (error.span.line, error.span.column) == (15, 31)  # `in_time[0]` in the rule first_event


def test_missing_facts_leave_the_fold_undetermined(history: Program) -> None:
    outcome = evaluate(history, {"asked_on": "2020-01-01"})
    assert list(outcome.results["final"].missing) == ["events"]
    assert outcome.results["price_then"].value is None  # prices defaults to []


def test_each_step_of_a_scan_is_in_the_trace_with_its_item(history: Program) -> None:
    outcome = evaluate(history, {"events": EVENTS, "asked_on": "2020-02-01"}, trace=True)
    steps = trace_json(outcome)["capital"]["steps"]
    assert steps["expr"].startswith("scan(")
    initial, in_time, *each = steps["steps"]
    assert in_time["expr"] == "in_time"
    assert initial["value"] == {"price": "1.00", "outstanding": 100}
    assert [s["label"] for s in each] == ["after item 1 of 3", "after item 2 of 3", "after item 3 of 3"]
    assert [s["value"]["outstanding"] for s in each] == [200, 210, 215]


def _errors(body: str, tmp_path: Path) -> str:
    path = tmp_path / "bad.clause"
    path.write_text('contract "Bad"\nrecord Event { date: date, shares: integer }\nfact events: list of Event\n'
                    f'fact n: integer\nresult r: {body}\n', encoding="utf-8")
    try:
        load_contract(path)
    except ClauseError as error:
        return error.render()
    return "ok"


@pytest.mark.parametrize(("body", "message"), [
    ("list of Event = sort(events by .when)", "Event has no field `when`"),
    ("list of Event = sort(n by .date)", "`sort` goes over a list, but this is an integer"),
    ("Event = events[$1]", "indexed by a whole number"),
    ("Event = events[0] with {shares: $1}", "field `shares` of Event is an integer, not money"),
    ("Event = events[0] with {when: 1}", "Event has no field `when`"),
    ("integer = fold(s = 0 for e in events: e.date)", "must give the state's type, an integer, but this is a date"),
    ("integer = fold(n = 0 for e in events: n + e.shares)", "`n` names the state here and also a fact"),
    ("optional Event = in_effect(events, on: n, by: .date)",
     "`.date` is a date, but the day asked about is an integer"),
    ("integer = count(n)", "counts the items of a list, not an integer"),
])
def test_the_checker_explains_misuse(body: str, message: str, tmp_path: Path) -> None:
    assert message in _errors(body, tmp_path)
