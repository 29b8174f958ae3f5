"""The evaluation trace as JSON: every rule evaluated, its inputs and steps.

A list longer than TRACE_LIST_ITEMS (a value, or the steps of an aggregate
over it) is summarised: its first and last items and how many were left out,
`{"first": [...], "last": [...], "count": N}` for a value and a step
`{"omitted": K}` among the steps; `full=True` (`clause eval --trace
--full-lists`) writes every item.
"""

from __future__ import annotations

from typing import Any

from engine import types as T
from engine.api import Outcome
from engine.check import IN_FORCE, Program
from engine.evaluate import Step
from engine.limits import TRACE_LIST_ITEMS
from engine.values import Unknown, encode
from render import format as fmt


def _value(value: object, type_: T.Type, full: bool) -> Any:
    """A value's encoding, every long list in it summarised (one inside a record too: a
    history's state holds the list of grants) unless ``full``."""
    if full:
        return encode(value, type_)
    type_ = T.strip_optional(type_)
    if isinstance(value, tuple):
        element = type_.element if isinstance(type_, T.ListType) else T.ANY
        if len(value) > TRACE_LIST_ITEMS:
            half = TRACE_LIST_ITEMS // 2
            return {"first": [_value(v, element, full) for v in value[:half]],
                    "last": [_value(v, element, full) for v in value[-half:]], "count": len(value)}
        return [_value(v, element, full) for v in value]
    if isinstance(value, dict):
        fields = dict(type_.fields) if isinstance(type_, T.RecordType) else {}
        return {k: _value(v, fields.get(k, T.ANY), full) for k, v in value.items()}
    return encode(value, type_)


def _steps(children: list[Step], full: bool) -> list[Step | int]:
    """The steps written out: all, or the first and last with the count left out between."""
    if full or len(children) <= 2 * TRACE_LIST_ITEMS:
        return list(children)
    return [*children[:TRACE_LIST_ITEMS], len(children) - 2 * TRACE_LIST_ITEMS, *children[-TRACE_LIST_ITEMS:]]


def step_json(program: Program, step: Step, full: bool = False) -> dict[str, Any]:
    type_ = T.strip_optional(program.node_types.get(id(step.node), T.ANY))
    data: dict[str, Any] = {
        "expr": program.sources.text(step.node.span),
        "at": str(step.node.span),
        "value": _value(step.value, type_, full),
    }
    if isinstance(step.value, Unknown):
        data["missing"] = sorted(step.value.missing)
    if step.local:  # a loop variable or parameter, not the fact or rule it may share a name with
        data["local"] = True
    if step.label:
        data["label"] = step.label
    if step.error:
        data["error"] = step.error
    children = [{"omitted": child} if isinstance(child, int) else step_json(program, child, full)
                for child in _steps(step.children, full) if isinstance(child, int)
                or child.node.__class__.__name__ != "Literal"]
    if children:
        data["steps"] = children
    return data


def trace_json(outcome: Outcome, full: bool = False) -> dict[str, Any]:
    """``full``: every item of a long list, of an outcome evaluated with ``full_lists=True``."""
    if full and not outcome.full_lists:  # the items not written out by default were not all traced
        raise ValueError("a trace of full lists needs an outcome evaluated with full_lists=True")
    program = outcome.program
    rules = {}
    for name, trace in list(outcome.evaluation.traces.items()):  # a timeline evaluates more rules
        info = program.rules[name]
        rules[name] = {
            "section": trace.section,
            "value": _value(trace.value, T.strip_optional(info.type), full),
            "reads": {
                read: _value(value, T.strip_optional(program.facts[read].type if read in program.facts
                                                     else program.rules[read].type), full)
                for read, value in trace.reads.items()
            },
            "readings": trace.readings,
            "steps": step_json(program, trace.step, full) if trace.step else None,
        }
        if info.public and trace.step is not None:
            timeline = _timeline(outcome, name)
            if timeline:  # a history: each event in words, each Section 6(b)(3)/(4) replay said as the memo says it
                rules[name]["timeline"] = timeline
        if name in program.amendments:  # the provision in force on the scenario's as_of day
            rules[name]["cites"] = program.cites_in_force(name, outcome.evaluation.fact(IN_FORCE))
        if trace.solution is not None:  # a circular rule: its definition at 1, 2, 3, and the one solution
            rules[name]["solved"] = {
                "at": [{"taken_as": encode(x, info.type), "gives": encode(v, info.type)}
                       for x, v in trace.solution.points],
                "value": encode(trace.solution.value, info.type),
            }
    return rules


def _timeline(outcome: Outcome, name: str) -> list[dict[str, Any]] | None:
    from render.timeline import event_words, find_timeline, replay_sentence

    found = find_timeline(outcome, name)
    if found is None:
        return None
    program = outcome.program

    def show(value: object, type_: T.Type) -> str:
        return fmt.prose(value, type_, program.home_zone, program.enum_labels)

    out = []
    for row in found.rows:
        entry: dict[str, Any] = {
            "date": row["date"].isoformat(),
            "event": event_words(found, row, show).plain,
            "section": row.get("section"),
            "before": show(row[f"{found.field}_before"], T.MONEY),
            "after": show(row[f"{found.field}_after"], T.MONEY),
        }
        replay = replay_sentence(found, row, show)
        if replay is not None:
            entry["replay"] = replay.plain
        out.append(entry)
    return out
