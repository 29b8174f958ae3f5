"""A trace of a long list keeps whole only the items a memo or `clause eval --trace` writes out (#10).

The memo and the trace JSON of a pruned trace (the default) must be those of a trace that keeps
every item whole (``full_lists=True``, rendered without full lists), and the reference evaluator
and the replay of the compiled run must prune alike. The deciding items of a min, max, first, any
and all in the middle of a list are still written out, with the reason they were counted.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.api import Outcome, evaluate, load_contract
from engine.check import Program
from engine.compile import TracedEvaluation
from engine.evaluate import Evaluation, Step
from engine.limits import TRACE_LIST_ITEMS
from engine.scenario import load_scenario
from render.build import MemoOptions
from render.memo import memo_for
from render.trace import trace_json

CONTRACT = '''contract "Long lists"
  dated 2003-06-18
  source "source.txt"
  home zone "America/New_York"

record Lot { shares: integer, price: money, when: datetime, flagged: boolean }

section "1" "One"
  text """
  The holder may convert.
  """
  fact lots: list of Lot "the lots"
  fact limit: money "a price limit"
  fact deadline: datetime "the deadline"
  result cheapest: optional money = min(l.price for l in lots where l.price > $1)
  result dearest: optional money = max(l.price for l in lots)
  result first_big: optional integer = first(l.shares for l in lots where l.shares > 500)
  result any_flagged: boolean = any(l.flagged for l in lots)
  result all_cheap: boolean = all(l.price < limit for l in lots)
  result counted: integer = count(l for l in lots where l.price < limit)
  result total: integer = sum(l.shares for l in lots where l.price < limit)
  result rounded: money = sum((if l.shares = 777 then round(l.price * 1.5, $0.01, half_up) else l.price) for l in lots)
  result early: integer = count(l for l in lots where l.when < deadline)
  result running: integer = fold(s = 0 for l in lots: s + l.shares)
  result doubled: list of integer = [l.shares * 2 for l in lots]
'''

GENERATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HALF = TRACE_LIST_ITEMS // 2


def lots(count: int) -> list[dict[str, Any]]:
    """``count`` alike lots, and in the middle of the list the ones that decide."""
    out = [{"shares": 10, "price": "5.00", "when": "2003-01-15T10:00:00-05:00", "flagged": False}
           for _ in range(count)]
    if count >= 2000:
        out[600]["price"] = "9.00"  # item 601: the greatest, reached first ...
        out[1600]["price"] = "9.00"  # ... and again at item 1601
        out[700]["price"] = "7.00"
        out[1000]["price"] = "3.00"  # item 1001: the least for a while ...
        out[1233]["price"] = "2.00"  # ... until item 1234 (above $1)
        out[1500]["price"] = "0.50"  # item 1501: below the where, not the least
        out[800]["shares"] = 900  # item 801: the first big one
        out[900]["shares"] = 901
        out[777]["flagged"] = True  # item 778: the first flagged ...
        out[1777]["flagged"] = True
        out[1100]["shares"] = 777  # item 1101: the one item whose steps call round()
        out[1300]["when"] = "2003-07-01T10:00:00-05:00"  # item 1301: EST read on a summer day
    return out


def facts(count: int) -> dict[str, Any]:
    return {"lots": lots(count), "limit": "8.00", "deadline": "2003-12-01T00:00:00-05:00"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long_lists")
    (path / "source.txt").write_text("The holder may convert. Nothing else.\n", encoding="utf-8")
    (path / "c.clause").write_text(CONTRACT, encoding="utf-8")
    (path / "long.json").write_text(json.dumps({"facts": facts(2000)}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def program(project: Path) -> Program:
    return load_contract(project / "c.clause")


@pytest.fixture(scope="module")
def outcomes(project: Path, program: Program) -> dict[bool, Outcome]:
    scenario = load_scenario(project / "long.json")
    return {full: evaluate(program, scenario, trace=True, full_lists=full) for full in (False, True)}


def _memo(outcome: Outcome, full_lists: bool = False) -> str:
    return memo_for(outcome, "md", GENERATED, contract_path="c.clause", options=MemoOptions(full_lists=full_lists))


def _steps(step: Step) -> list[Step]:
    out, stack = [], [step]
    while stack:
        step = stack.pop()
        out.append(step)
        stack.extend(step.children)
    return out


def test_the_memo_and_the_trace_of_a_pruned_trace_are_those_of_a_whole_one(outcomes: dict[bool, Outcome]) -> None:
    pruned, whole = outcomes[False], outcomes[True]
    assert isinstance(pruned.evaluation, TracedEvaluation) and not pruned.evaluation.rebuilt_by_reference
    assert not pruned.full_lists and whole.full_lists
    # the pruned trace really is smaller: below the first and last items, an item keeps only its own steps
    assert any(s.elided for t in pruned.evaluation.traces.values() if t.step for s in _steps(t.step))
    assert not any(s.elided for t in whole.evaluation.traces.values() if t.step for s in _steps(t.step))
    memo = _memo(pruned)
    assert memo == _memo(whole)
    assert json.dumps(trace_json(pruned)) == json.dumps(trace_json(whole))
    # what only the steps inside a middle item show: the round() of item 1101, the summer EST of item 1301
    assert "10:00 a.m. UTC−05:00 on July 1, 2003 is 11:00 a.m. EDT in New York" in memo
    assert memo.count("round") == _memo(whole).count("round") and "half" in memo


def test_a_full_list_memo_or_trace_needs_a_whole_trace(outcomes: dict[bool, Outcome]) -> None:
    with pytest.raises(ValueError, match="full_lists=True"):
        _memo(outcomes[False], full_lists=True)
    with pytest.raises(ValueError, match="full_lists=True"):
        trace_json(outcomes[False], full=True)
    full = _memo(outcomes[True], full_lists=True)
    assert "item 1500:" in full and "item 1500:" not in _memo(outcomes[True])


def _item_lines(memo: str, heading: str) -> list[str]:
    """The item lines of the appendix's explanation that starts with ``heading``."""
    lines = memo.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"- {heading}"))  # the appendix's
    out = []
    for line in lines[start + 1:]:
        text = line.strip()
        if not text.startswith("- item ") and not text.startswith("- …"):
            if out:
                break
            continue
        out.append(text)
    return out


def _written(memo: str, heading: str) -> list[int]:
    """The numbers of the items written out under ``heading`` (beyond the first and last)."""
    numbers = [int(line.split(":")[0].removeprefix("- item ")) for line in _item_lines(memo, heading)
               if line.startswith("- item ")]
    return [n for n in numbers if HALF < n <= 2000 - HALF]


def test_the_items_that_decide_in_the_middle_of_a_long_list_are_written_with_their_reason(
        outcomes: dict[bool, Outcome]) -> None:
    memo = _memo(outcomes[False])
    # the least price above $1 is item 1234's $2.00 (item 1001's $3.00 was the least until then;
    # item 1501's $0.50 is left out by the where)
    assert _written(memo, "The least over the lots") == [1234]
    line = next(x for x in _item_lines(memo, "The least over the lots") if x.startswith("- item 1234:"))
    assert "price $2.00" in line and "counted ($2.00 is $1.00 above $1.00)" in line
    assert _written(memo, "The greatest over the lots") == [601]  # $9.00 first at item 601, again at 1601
    assert _written(memo, "Whether any over the lots") == [778]  # the first flagged
    assert _written(memo, "Whether all over the lots") == [601]  # the first price not below the $8.00 limit
    first = _item_lines(memo, "The first over the lots")
    assert any(x.startswith("- item 801:") and "(900 is 400 above 500)" in x for x in first)


def test_the_reference_evaluator_and_the_replay_prune_alike(program: Program, outcomes: dict[bool, Outcome]) -> None:
    values = outcomes[False].facts
    reference = Evaluation(program, values, trace=True)
    for name in program.results:
        reference.rule(name)
    replayed = outcomes[False].evaluation.traces
    assert set(reference.traces) == set(replayed)
    for name, trace in reference.traces.items():
        assert trace == replayed[name], name
    whole = Evaluation(program, values, trace=True, full_lists=True)
    for name in program.results:
        whole.rule(name)
    assert whole.traces == outcomes[True].evaluation.traces


def test_below_the_first_and_last_items_only_the_deciding_ones_keep_their_steps(
        outcomes: dict[bool, Outcome]) -> None:
    for name, trace in outcomes[False].evaluation.traces.items():
        assert trace.step is not None
        for step in _steps(trace.step):
            if len(step.children) > 4 * TRACE_LIST_ITEMS:  # a long list's steps: the list's, then each item's
                whole = [child for child in step.children[1:] if child.children and not child.elided]
                # the first and last TRACE_LIST_ITEMS items (a where and a body each at most), and a decider
                assert len(whole) <= 4 * TRACE_LIST_ITEMS + 2, name


MEASURE = '''
import json, sys, tracemalloc
from engine.api import evaluate, load_contract
sys.path.insert(0, {tests!r})
from test_trace_long_lists import facts
program = load_contract({contract!r})
out = {{}}
for full in (False, True):
    given = facts({count})
    tracemalloc.start()
    outcome = evaluate(program, given, trace=True, full_lists=full)
    before = tracemalloc.get_traced_memory()[0]
    traces = outcome.evaluation.traces
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out[str(full)] = {{"held": after - before, "peak": peak - before}}
print(json.dumps(out))
'''


def test_a_long_list_traces_in_bounded_memory(project: Path) -> None:
    """The steps of a 10,000-item list: the trace holds the items' own steps (about 600 bytes an
    item over the eleven aggregates, against 6,400 with every step), not everything evaluated in
    them, and building it does not first hold the whole."""
    count = 10_000
    script = MEASURE.format(tests=str(Path(__file__).parent), contract=str(project / "c.clause"), count=count)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    pruned, whole = measured["False"], measured["True"]
    assert pruned["held"] < whole["held"] / 3, measured
    assert pruned["peak"] < whole["peak"] / 2, measured
    assert pruned["peak"] < count * 1_200, measured  # 11 aggregates' own steps, at about 90 bytes each
