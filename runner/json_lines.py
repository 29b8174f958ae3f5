"""JSON lines of a batch's vectorised rows, built a column at a time.

The columnar evaluator gives each result as a column (or one value for every
row). The scalar path writes a row's line result by result
(runner/run.py ``LineFormat.part``); this module writes the same bytes for all
the rows of a batch with Arrow string kernels: each result's part is its
constant head and tail around a column of value texts (exact decimals by
runner/ratio_text.py), the readings a row relied on are spelled once per
distinct combination and gathered, and the parts are joined row by row. A
result it cannot spell this way (a percent, a datetime, a list) returns None
and the batch is written row by row as before; tests/test_json_lines.py holds
the two to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import types as T
from engine.values import Unknown, encode, is_rounded
from runner.columnar import Col, RuleValue

_MASKED_READINGS = 62  # combinations are numbered in an int64 bit set


def _quoted(text: Any) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise('"', text, '"', "")


def _value_texts(value: Col, t: T.Type) -> tuple[Any, Any] | None:
    """The JSON of each row's value (pyarrow strings) and the rows rounded for display."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from runner.ratio_text import ratio_text

    kind = value.kind
    size = len(value.a)
    rounded = None
    if kind == "int" and t == T.INTEGER:
        text = pa.array(value.a, pa.int64()).cast(pa.string())
    elif kind == "bool" and t == T.BOOLEAN:
        text = pc.if_else(pa.array(value.a, pa.bool_()), "true", "false")
    elif kind == "date" and t == T.DATE:
        text = _quoted(pa.array(value.a.astype(np.int32), pa.int32()).cast(pa.date32()).cast(pa.string()))
    elif kind == "enum" and value.enum is not None and isinstance(t, T.EnumType):
        members = pa.array([json.dumps(m, ensure_ascii=False) for m in value.enum.members], pa.string())
        text = members.take(pa.array(value.a))
    elif kind in ("fixed", "ratio") and t in (T.MONEY, T.DECIMAL):
        if kind == "fixed":
            if value.scale > 17:
                return None
            written = ratio_text(value.a, np.full(size, 10**value.scale, dtype=np.int64), t == T.MONEY)
        else:
            written = ratio_text(value.a, value.den, t == T.MONEY)
        if written is None:
            return None
        text, rounded = _quoted(written[0]), written[1]
    else:
        return None
    if value.none is not None and value.none.any():  # an optional value that is none on these rows
        none = pa.array(value.none, pa.bool_())
        text = pc.if_else(none, "null", text)
        if rounded is not None:
            rounded = rounded & ~value.none
    return text, rounded


def _readings_texts(rule: RuleValue, picked: Any) -> Any:
    """Each row's `, "readings": [...]` (or nothing): a row's readings are the rule's static ones
    and those of every mask it is in; each combination is spelled once."""
    import pyarrow as pa

    def spelled(names: set[str] | frozenset[str]) -> str:
        return ', "readings": ' + json.dumps(sorted(names), ensure_ascii=False) if names else ""

    static = set(rule.readings.static)
    masked = rule.readings.masked
    if not masked:
        return spelled(static)
    if len(masked) > _MASKED_READINGS:
        return None
    codes = np.zeros(len(picked), dtype=np.int64)
    for bit, (mask, _names) in enumerate(masked):
        codes |= mask[picked].astype(np.int64) << bit
    distinct, inverse = np.unique(codes, return_inverse=True)
    texts = []
    for code in distinct.tolist():
        used = set(static)
        for bit, (_mask, names) in enumerate(masked):
            if code >> bit & 1:
                used |= names
        texts.append(spelled(used))
    return pa.array(texts, pa.string()).take(pa.array(inverse.ravel()))


def _names_json(names: Any) -> Any:
    """JSON strings of the row names: quoted, with the few that need it escaped by json.dumps."""
    import pyarrow as pa
    import pyarrow.compute as pc

    escape = pc.match_substring_regex(names, r'["\\\x00-\x1f]').fill_null(False).to_numpy(zero_copy_only=False)
    quoted = _quoted(names)
    if escape.any():
        rows = np.nonzero(escape)[0]
        fixed = pa.array([json.dumps(names[int(i)].as_py(), ensure_ascii=False) for i in rows], pa.string())
        replaced = np.full(len(names), -1, dtype=np.int64)
        replaced[rows] = np.arange(len(rows))
        quoted = pc.if_else(pa.array(escape), fixed.take(pa.array(np.maximum(replaced, 0))), quoted)
    return quoted


def vectorised_lines(line_format: Any, program: Any, names: Any, picked: Any, values: dict[str, RuleValue],
                     line_names: Sequence[str], index_of: dict[str, int],
                     spelled: dict[str, Any] | None = None) -> Any | None:
    """The lines (without their newline) of the rows ``picked`` as a pyarrow string array, or None
    when a result cannot be spelled a column at a time. ``spelled``: results already written row by
    row (a string array of each result's part, one per picked row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces: list[Any] = [line_format.contract, _names_json(names.take(pa.array(picked))), ', "results": {']
    for position, name in enumerate(line_names):
        if position:
            pieces.append(", ")
        if spelled and name in spelled:
            pieces.append(spelled[name])
            continue
        rule = values.get(name)
        if rule is None:
            return None
        head, tail = line_format.heads[index_of[name]], line_format.tails[index_of[name]]
        t = T.strip_optional(program.rules[name].type)
        value = rule.value
        readings = _readings_texts(rule, picked)
        if readings is None:
            return None
        if isinstance(value, Col):
            sub = Col(value.kind, value.a[picked], value.scale, None if value.den is None else value.den[picked],
                      value.enum, none=None if value.none is None else value.none[picked])
            written = _value_texts(sub, t)
            if written is None:
                return None
            text, rounded = written
            pieces += [head + '{"value": ', text]
            if rounded is None or not rounded.any():
                pieces.append(", " + tail + ', "missing": []')
            else:
                pieces.append(pc.if_else(pa.array(rounded), ', "rounded": true, ' + tail + ', "missing": []',
                                         ", " + tail + ', "missing": []'))
        elif isinstance(value, Unknown):
            pieces.append(head + '{"value": null, ' + tail + ', "missing": '
                          + json.dumps(sorted(value.missing), ensure_ascii=False))
        else:
            try:
                encoded = json.dumps(encode(value, program.rules[name].type), ensure_ascii=False)
            except (TypeError, ValueError):
                return None
            pieces.append(head + '{"value": ' + encoded + (', "rounded": true, ' if is_rounded(value) else ", ")
                          + tail + ', "missing": []')
        pieces += [readings, "}"]
    pieces.append("}}")
    # constant pieces next to each other are one scalar; the kernel takes strings and arrays
    merged: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return pc.binary_join_element_wise(*merged, "")
