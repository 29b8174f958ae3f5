"""`clause run` over tables: the columnar evaluator where it applies, the scalar path row by row elsewhere.

Each batch of a table is read as columns (runner/tables.py) and evaluated by
the columnar evaluator (runner/columnar.py) for its shape. Rows the columns
cannot carry (an unusual cell, a value out of range, a failure) and results
the evaluator does not vectorise are evaluated by the scalar path
(engine/batch.py, ``evaluate_item``), so every row's results, missing facts
and errors are the scalar path's.

Output: ``--format jsonl`` writes one line per scenario shaped like
``clause eval --format json`` (every result, as interface.md says). CSV and
Parquet write one column per chosen result (``--results a,b,c``; by default
the results that can vary with the table's columns, not the constants), a
``missing`` column (the facts the row's undetermined results wait for) and an
``errors`` column. Parquet keeps money and decimals as ``decimal128`` with
the scale the values need, or as their exact canonical text when a value has
no finite decimal expansion; an undetermined value is null.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from engine import types as T
from engine.check import Program
from engine.values import Member, Unknown, encode, is_rounded
from runner.columnar import ColumnarShape, scalar_values
from runner.tables import (
    BATCH_ROWS,
    TableBatch,
    arrow_names,
    cell_columns,
    characters,
    given_columns,
    read_batches,
    row_facts,
)


@dataclass
class Outcome:
    """One row's outcome: its JSON line (jsonl) or its encoded results (csv, parquet)."""

    name: str
    failed: bool = False
    text: str = ""
    cells: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    report: str = ""


def _is_rounded(value: object) -> bool:
    return bool(is_rounded(value))


_MEMO_CLASSES = frozenset({bool, int, str, dt.date, Unknown, Member, type(None)})


class LineFormat:
    """A row's JSON line, written as engine/batch.py writes the scalar path's (``_FastRows``)."""

    def __init__(self, program: Program):
        self.program = program
        self.types = [program.rules[n].type for n in program.results]
        self.heads = [json.dumps(n, ensure_ascii=False) + ": " for n in program.results]
        self.tails = [json.dumps({"type": T.category(t), "cites": program.cites.get(n, [])}, ensure_ascii=False)[1:-1]
                      for n, t in zip(program.results, self.types, strict=True)]
        self.contract = '{"contract": ' + json.dumps(program.path, ensure_ascii=False) + ', "scenario": '
        self.memo: dict[tuple[Any, ...], str] = {}

    def part(self, index: int, value: object, used: frozenset[str] | set[str]) -> str:
        # A result's JSON for a value seen before (a boolean, a date, an undetermined result)
        # is looked up, not encoded again. Keys hold the exact class and, for a Decimal, its
        # text (1.0 and 1.00 are equal but written differently); datetimes are never keys
        # (equal instants in different zones are written differently).
        cls = value.__class__
        key: tuple[Any, ...] | None = None
        if cls in _MEMO_CLASSES:
            key = (index, cls, value, frozenset(used))
        elif cls is Decimal:
            key = (index, cls, str(value), frozenset(used))
        if key is not None:
            found = self.memo.get(key)
            if found is not None:
                return found
        if isinstance(value, Unknown):
            text = self.heads[index] + '{"value": null, ' + self.tails[index] + ', "missing": ' \
                + json.dumps(sorted(value.missing), ensure_ascii=False)
        else:
            text = self.heads[index] + '{"value": ' + json.dumps(encode(value, self.types[index]), ensure_ascii=False) \
                + (', "rounded": true, ' if is_rounded(value) else ", ") + self.tails[index] + ', "missing": []'
        if used:
            text += ', "readings": ' + json.dumps(sorted(used), ensure_ascii=False)
        text += "}"
        if key is not None and len(self.memo) < 100_000:
            self.memo[key] = text
        return text

    def line(self, name: str, parts: Sequence[str], notes: Sequence[str]) -> str:
        text = self.contract + json.dumps(name, ensure_ascii=False) + ', "results": {' + ", ".join(parts) + "}"
        if notes:
            text += ', "notes": ' + json.dumps(list(notes), ensure_ascii=False)
        return text + "}"


def default_results(program: Program, given: frozenset[str]) -> list[str]:
    """The results that can vary with the given facts: not constant in the compiled shape."""
    from engine.compile import shape_for

    compiled = shape_for(program, given)
    if compiled is None:
        return list(program.results)
    return [n for n, constant in zip(compiled.results, compiled.constant, strict=True) if not constant]


class TableRunner:
    """Evaluates batches of one table; keeps the compiled shapes between batches."""

    def __init__(self, program: Program, fmt: str, chosen: Sequence[str], lines: Sequence[str] | None = None,
                 text_rows: int | None = None):
        self.program = program
        self.fmt = fmt
        self.chosen = list(chosen)
        # JSON lines: every result (as `clause eval --format json`), or those --results names.
        self.line_names = list(lines) if lines is not None else list(program.results)
        self.text_rows = text_rows or rows_for_text(TEXT_BYTES, len(self.line_names))  # rows of one text buffer
        self.subset = lines is not None and list(lines) != list(program.results)
        self.shapes: dict[frozenset[str], ColumnarShape] = {}
        self.lines = LineFormat(program)
        self.index = {name: i for i, name in enumerate(program.results)}
        self.constant_parts: dict[tuple[frozenset[str], str], str] = {}

    def shape(self, given: frozenset[str]) -> ColumnarShape:
        found = self.shapes.get(given)
        if found is None:
            found = self.shapes[given] = ColumnarShape(self.program, given, self.program.results)
        return found

    def batch(self, batch: TableBatch) -> list[Outcome]:
        program = self.program
        size = batch.table.num_rows
        given, columns, ok = given_columns(program, batch)
        values: dict[str, Any] = {}
        if ok.any():
            shape = self.shape(given)
            wanted = self.line_names if self.fmt == "jsonl" else self.chosen
            values, bad = shape.evaluate(columns, size, [n for n in wanted if n not in shape.unsupported])
            ok &= ~bad
        return self._outcomes(batch, given, ok, values)

    def batch_text(self, batch: TableBatch) -> tuple[list[Any], list[Outcome]]:
        """JSON lines: the batch's text as chunks of UTF-8 (bytes, or Arrow buffers), and its failed
        rows. The rows the columns carry are written a column at a time (runner/json_lines.py), in
        buffers of ``text_rows`` rows, the others row by row, in order."""
        import pyarrow as pa

        from runner.json_lines import vectorised_lines

        program = self.program
        size = batch.table.num_rows
        given, columns, ok = given_columns(program, batch)
        values: dict[str, Any] = {}
        lines = None
        if ok.any():
            shape = self.shape(given)
            values, bad = shape.evaluate(columns, size, [n for n in self.line_names if n not in shape.unsupported])
            ok &= ~bad
            # Results the columns do not compute: by the scalar compiled code row by row, spelled
            # row by row, and joined with the others a column at a time.
            unsupported = [n for n in self.line_names if n in shape.unsupported]
            spelled: dict[str, Any] = {}
            refused = False  # the scalar code for those results could not be compiled for this shape
            if unsupported:
                rows = ok.nonzero()[0].tolist()
                computed = self._scalar(batch, rows, given, unsupported)
                if computed is None:
                    refused = True
                else:
                    ok[[row for row in rows if row not in computed]] = False  # evaluated whole, with errors
                    kept = [row for row in rows if row in computed]
                    for at, name in enumerate(unsupported):
                        index = self.index[name]
                        spelled[name] = pa.array([self.lines.part(index, computed[row][0][at], computed[row][1][at])
                                                  for row in kept], pa.string())
            picked = ok.nonzero()[0]
            if len(picked) == size and size and not refused:
                # every row by the columns: the lines' characters, newline-terminated, in buffers
                # of text_rows rows (a batch is evaluated at once, its text written a stretch at a time)
                chunks = self._column_text(batch, picked, values, spelled)
                if chunks is not None:
                    return chunks, []
            elif len(picked) and not refused:
                lines = vectorised_lines(self.lines, program, arrow_names(batch.names), picked, values,
                                         self.line_names, self.index, spelled)
        if lines is None:
            outcomes = self._outcomes(batch, given, ok, values) if size else []
            return ["".join(o.text + "\n" for o in outcomes).encode("utf-8")], [o for o in outcomes if o.failed]
        rest = (~ok).nonzero()[0]
        texts: list[str | None] = [None] * size
        for row, text in zip(picked.tolist(), lines.to_pylist(), strict=True):
            texts[row] = text
        failed = []
        for row in rest.tolist():
            outcome = self._scalar_row(batch, row)
            texts[row] = outcome.text
            if outcome.failed:
                failed.append(outcome)
        return ["".join(t + "\n" for t in texts if t is not None).encode("utf-8")], failed

    def _column_text(self, batch: TableBatch, picked: Any, values: dict[str, Any],
                     spelled: dict[str, Any]) -> list[Any] | None:
        import pyarrow.compute as pc

        from runner.json_lines import vectorised_lines

        names = arrow_names(batch.names)
        chunks = []
        step = self.text_rows
        for start in range(0, len(picked), step):
            lines = vectorised_lines(self.lines, self.program, names, picked[start:start + step], values,
                                     self.line_names, self.index,
                                     {name: array.slice(start, step) for name, array in spelled.items()})
            if lines is None:
                return None
            chunks.append(characters(pc.binary_join_element_wise(lines, "\n", "")))
        return chunks

    def _outcomes(self, batch: TableBatch, given: frozenset[str], ok: Any, values: dict[str, Any]) -> list[Outcome]:
        size = batch.table.num_rows
        outcomes: list[Outcome | None] = [None] * size
        if ok.any():
            shape = self.shape(given)
            wanted = self.line_names if self.fmt == "jsonl" else self.chosen
            rows = [int(i) for i in ok.nonzero()[0]]
            unsupported = [n for n in wanted if n in shape.unsupported]
            scalar_unsupported = self._scalar(batch, rows, given, unsupported) if unsupported else {}
            if scalar_unsupported is None:
                ok[:] = False
            else:
                if unsupported:  # a row the scalar code refused is evaluated whole, with its errors
                    rows = [row for row in rows if row in scalar_unsupported]
                self._fill(batch, rows, values, scalar_unsupported, outcomes, given)
        for index in range(size):
            if outcomes[index] is None:
                outcomes[index] = self._scalar_row(batch, index)
        return [o for o in outcomes if o is not None]

    def batch_arrow(self, batch: TableBatch) -> tuple[Any, list[Outcome]]:
        """Parquet: the batch's result columns as Arrow, vectorised rows without a Python
        object per row; the rows the scalar path computes are merged in input order."""
        import numpy as np
        import pyarrow as pa

        from runner.columnar import Col, arrow_column

        program = self.program
        size = batch.table.num_rows
        given, columns, ok = given_columns(program, batch)
        pieces: list[tuple[Any, Any]] = []
        if ok.any():
            shape = self.shape(given)
            if any(n in shape.unsupported for n in self.chosen):
                ok[:] = False
            else:
                values, bad = shape.evaluate(columns, size, self.chosen)
                ok &= ~bad
        picked = ok.nonzero()[0]
        if len(picked):
            names = arrow_names(batch.names).take(pa.array(picked))
            arrays: dict[str, Any] = {"scenario": names}
            missing: set[str] = set()
            for name in self.chosen:
                value = values[name].value
                t = T.strip_optional(program.rules[name].type)
                array = None
                if isinstance(value, Col):
                    sub = Col(value.kind, value.a[picked], value.scale,
                              None if value.den is None else value.den[picked], value.enum,
                              none=None if value.none is None else value.none[picked])
                    array = arrow_column(sub, len(picked), t)
                    if array is None:
                        array = _arrow_column(scalar_values(sub, len(picked)), t, None)
                else:
                    if isinstance(value, Unknown):
                        missing |= value.missing
                    array = _arrow_column([value] * len(picked), t, None)
                arrays[name] = array
            arrays["missing"] = pa.array([sorted(missing)] * len(picked), pa.list_(pa.string()))
            arrays["errors"] = pa.array([[]] * len(picked), pa.list_(pa.string()))
            pieces.append((picked, pa.table(arrays)))
        rest = (~ok).nonzero()[0]
        failed: list[Outcome] = []
        if len(rest):
            outcomes = [self._scalar_row(batch, int(i)) for i in rest]
            failed = [o for o in outcomes if o.failed]
            pieces.append((rest, outcomes_table(program, self.chosen, outcomes)))
        if len(pieces) == 1:
            return pieces[0][1], failed
        first, second = pieces[0][1], pieces[1][1]
        columns_out = {}
        for name in first.column_names:
            a, b = first.column(name), second.column(name)
            if a.type != b.type:
                a, b = _common(a, b, T.strip_optional(program.rules[name].type) if name in program.rules else None)
            columns_out[name] = pa.chunked_array(a.chunks + b.chunks, a.type)
        table = pa.table(columns_out)
        order = np.concatenate([pieces[0][0], pieces[1][0]])
        return table.take(pa.array(np.argsort(order, kind="stable"))), failed

    def _scalar(self, batch: TableBatch, rows: list[int], given: frozenset[str],
                names: list[str]) -> dict[int, tuple[list[Any], list[Any]]] | None:
        """Results the columns do not compute, by the scalar compiled code, row by row."""
        from engine.compile import shape_for, validate_fast

        compiled = shape_for(self.program, given, tuple(names))
        if compiled is None:
            return None
        out = {}
        for row in rows:
            valid = validate_fast(self.program, row_facts(batch, row))
            if valid is None:
                continue
            try:
                computed, readings = compiled.run(valid.values)
            except Exception:
                continue
            out[row] = (list(computed), list(readings))
        return out

    def _fill(self, batch: TableBatch, rows: list[int], values: dict[str, Any],
              unsupported: dict[int, tuple[list[Any], list[Any]]], outcomes: list[Outcome | None],
              given: frozenset[str]) -> None:
        wanted = self.line_names if self.fmt == "jsonl" else self.chosen
        line_indexed = [(self.index[n], n) for n in self.line_names]
        import numpy as np

        picked = np.array(rows, dtype=np.int64)
        columns: dict[str, list[Any]] = {}
        readings: dict[str, list[frozenset[str]]] = {}
        for name in wanted:
            if name not in values:
                continue
            rule = values[name]
            value = rule.value
            if hasattr(value, "kind"):
                from runner.columnar import Col

                assert isinstance(value, Col)
                sub = Col(value.kind, value.a[picked], value.scale,
                          None if value.den is None else value.den[picked], value.enum,
                          none=None if value.none is None else value.none[picked])
                columns[name] = scalar_values(sub, len(rows))
            else:
                columns[name] = [value] * len(rows)
            static = frozenset(rule.readings.static)
            if rule.readings.masked:
                per_row = []
                for row in rows:
                    used = set(static)
                    for mask, names in rule.readings.masked:
                        if mask[row]:
                            used |= names
                    per_row.append(frozenset(used))
                readings[name] = per_row
            else:
                readings[name] = [static] * len(rows)
        unsupported_names = [n for n in wanted if n not in values]
        # A result that is the same constant, with the same readings, on every row is written once.
        same: dict[str, str] = {}
        if self.fmt == "jsonl" and rows:
            for index, result in line_indexed:
                if result in values and not hasattr(values[result].value, "kind") \
                        and not values[result].readings.masked:
                    same[result] = self.lines.part(index, columns[result][0], readings[result][0])
        for position, row in enumerate(rows):
            name = batch.names[row]
            extra = unsupported.get(row)
            if self.fmt == "jsonl":
                parts = []
                for index, result in line_indexed:
                    if result in same:
                        parts.append(same[result])
                    elif result in columns:
                        parts.append(self._part(given, index, result, columns[result][position],
                                                readings[result][position]))
                    else:
                        assert extra is not None
                        where = unsupported_names.index(result)
                        parts.append(self.lines.part(index, extra[0][where], extra[1][where]))
                outcomes[row] = Outcome(name, text=self.lines.line(name, parts, ()))
                continue
            cells: dict[str, Any] = {}
            missing: set[str] = set()
            for result in self.chosen:
                if result in columns:
                    value = columns[result][position]
                else:
                    assert extra is not None
                    value = extra[0][unsupported_names.index(result)]
                if isinstance(value, Unknown):
                    missing |= value.missing
                    cells[result] = None
                else:
                    cells[result] = value
            outcomes[row] = Outcome(name, cells=cells, missing=sorted(missing))

    def _part(self, given: frozenset[str], index: int, result: str, value: Any, used: frozenset[str]) -> str:
        return self.lines.part(index, value, used)

    def _scalar_row(self, batch: TableBatch, index: int) -> Outcome:
        from engine.batch import Item, evaluate_item

        facts = row_facts(batch, index)
        line = batch.lines[index]
        if index in batch.problems or "\0unreadable" in facts:
            problem, column = batch.problems.get(index, ("not valid JSON", 1))
            item = Item(batch.names[index], batch.path, line=line, problem=problem, column=column)
        else:
            item = Item(batch.names[index], batch.path, facts, line, cell_columns(batch, index))
        rows = evaluate_item(self.program, item, "jsonl")
        row = rows[0]
        if self.fmt == "jsonl" and not self.subset:  # the line as written: no cells wanted
            return Outcome(row.name, row.failed, row.text, {}, [], list(row.errors), row.report)
        data = json.loads(row.text, parse_float=Decimal)
        if self.subset and self.fmt == "jsonl":  # the results --results names, in its order
            data = json.loads(row.text)
            found = data.get("results", {})
            data["results"] = {n: found[n] for n in self.line_names if n in found}
            row.text = json.dumps(data, ensure_ascii=False)
            data = json.loads(row.text, parse_float=Decimal)
        cells: dict[str, Any] = {}
        missing: set[str] = set()
        results = data.get("results", {})
        for result in self.chosen:
            entry = results.get(result)
            if entry is None:
                cells[result] = None
                continue
            missing.update(entry.get("missing", []))
            cells[result] = _decoded(entry.get("value"), self.program.rules[result].type)
        return Outcome(row.name, row.failed, row.text, cells, sorted(missing), list(row.errors), row.report)


def _decoded(value: Any, t: T.Type) -> Any:
    """A scalar-path cell back to a value the table writers encode the same way."""
    return ("encoded", value)


# ---------------------------------------------------------------- writers


class _CsvOut:
    def __init__(self, program: Program, out: TextIO, chosen: Sequence[str], axes: Sequence[str] = (),
                 header: bool = True):
        import csv

        self.program = program
        self.chosen = list(chosen)
        self.types = [program.rules[n].type for n in chosen]
        self.csv = csv.writer(out, lineterminator="\n")
        if header:
            self.csv.writerow(["scenario", *axes, *chosen, "missing", "errors"])

    def write(self, outcomes: list[Outcome], axes_values: Sequence[Sequence[Decimal]] | None = None) -> None:
        for index, o in enumerate(outcomes):
            cells = [_text(_encoded(o.cells.get(n), t)) for n, t in zip(self.chosen, self.types, strict=True)]
            axis_cells = [format(v, "f") for v in axes_values[index]] if axes_values is not None else []
            self.csv.writerow([o.name, *axis_cells, *cells, " ".join(o.missing), "; ".join(o.errors)])

    def close(self) -> None:
        pass


def _encoded(value: Any, t: T.Type) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "encoded":
        return value[1]
    return encode(value, t)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _JsonlOut:
    def __init__(self, program: Program, out: TextIO, chosen: Sequence[str], axes: Sequence[str] = ()):
        self.out = out

    def write(self, outcomes: list[Outcome], axes_values: Any = None) -> None:
        self.out.write("".join(o.text + "\n" for o in outcomes))

    def close(self) -> None:
        pass


def outcomes_table(program: Program, chosen: Sequence[str], outcomes: list[Outcome],
                   axes: Sequence[str] = (), axes_values: Sequence[Sequence[Decimal]] | None = None) -> Any:
    import pyarrow as pa

    arrays = {"scenario": pa.array([o.name for o in outcomes], pa.string())}
    for index, axis in enumerate(axes):
        assert axes_values is not None
        column = [p[index] for p in axes_values]
        scale = max(_scale(v) for v in column) if column else 0
        arrays[axis] = pa.array([v.quantize(Decimal(1).scaleb(-scale)) for v in column], pa.decimal128(38, scale))
    for name in chosen:
        t = T.strip_optional(program.rules[name].type)
        arrays[name] = _arrow_column([o.cells.get(name) for o in outcomes], t, None)
    arrays["missing"] = pa.array([o.missing for o in outcomes], pa.list_(pa.string()))
    arrays["errors"] = pa.array([o.errors for o in outcomes], pa.list_(pa.string()))
    return pa.table(arrays)


def _common(a: Any, b: Any, t: T.Type | None) -> tuple[Any, Any]:
    """Two pieces of one column in one Arrow type: the wider decimal scale, or canonical text."""
    import pyarrow as pa

    if pa.types.is_decimal(a.type) and pa.types.is_decimal(b.type):
        wider = pa.decimal128(38, max(a.type.scale, b.type.scale))
        return a.cast(wider), b.cast(wider)
    if pa.types.is_null(a.type):
        return a.cast(b.type), b
    if pa.types.is_null(b.type):
        return a, b.cast(a.type)

    def text(column: Any) -> Any:
        if pa.types.is_string(column.type):
            return column
        kind = t or T.ANY
        return pa.chunked_array([pa.array([None if v is None else _plain(encode(v, kind)) for v in column.to_pylist()],
                                          pa.string())])

    return text(a), text(b)


class _ParquetOut:
    """Parquet: one row group per batch; the schema is the first batch's."""

    def __init__(self, program: Program, path: Any, chosen: Sequence[str], axes: Sequence[str] = ()):
        self.program = program
        self.axes = list(axes)
        self.path = path  # a binary file object
        self.chosen = list(chosen)
        self.types = [T.strip_optional(program.rules[n].type) for n in chosen]
        self.writer: Any = None
        self.schema: Any = None

    def write(self, outcomes: list[Outcome], axes_values: Sequence[Sequence[Decimal]] | None = None) -> None:
        self.write_table(outcomes_table(self.program, self.chosen, outcomes, self.axes, axes_values))

    def write_table(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            # Money columns keep the scale their values need; a later batch is cast to it.
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self.schema = pa.schema(fields)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        columns = []
        for field_ in self.schema:
            column = table.column(field_.name)
            if column.type != field_.type:
                if pa.types.is_decimal(column.type) and pa.types.is_decimal(field_.type) \
                        and column.type.scale > field_.type.scale:
                    raise ValueError(f"`{field_.name}` needs {column.type.scale} decimal places in a later batch "
                                     f"than the {field_.type.scale} of the first")
                name = field_.name
                t = T.strip_optional(self.program.rules[name].type) if name in self.program.rules else None
                column = _common(column, pa.chunked_array([], field_.type), t)[0] \
                    if pa.types.is_string(field_.type) else column.cast(field_.type)
            columns.append(column)
        self.writer.write_table(pa.table(columns, schema=self.schema))

    def close(self) -> None:
        if self.writer is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            fields = [pa.field("scenario", pa.string())] + [pa.field(n, pa.string()) for n in self.chosen]
            pq.write_table(pa.table({f.name: pa.array([], f.type) for f in fields}), self.path)
            return
        self.writer.close()


def _arrow_column(values: list[Any], t: T.Type, fixed: Any) -> Any:
    """A result column: int64, bool, date32, decimal128 at the scale the values need, or canonical text."""
    import pyarrow as pa

    decoded = []
    for value in values:
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "encoded":
            value = _from_encoding(value[1], t)
        decoded.append(value)
    if t == T.INTEGER:
        return pa.array(decoded, pa.int64())
    if t == T.BOOLEAN:
        return pa.array(decoded, pa.bool_())
    if t == T.DATE:
        return pa.array(decoded, pa.date32())
    if t in (T.MONEY, T.DECIMAL):
        if all(v is None or (isinstance(v, Decimal) and not _is_rounded(v)) for v in decoded):
            scale = max([_scale(v) for v in decoded if v is not None] or [2])
            if fixed is not None and pa.types.is_decimal(fixed) and fixed.scale >= scale:
                scale = fixed.scale
            if fixed is None or pa.types.is_decimal(fixed):
                try:
                    return pa.array(decoded, pa.decimal128(38, scale))
                except (pa.ArrowInvalid, ValueError):
                    pass
        return pa.array([None if v is None else encode(v, t) for v in decoded], pa.string())
    return pa.array([None if v is None else _plain(encode(v, t)) for v in decoded], pa.string())


def _plain(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def _from_encoding(value: Any, t: T.Type) -> Any:
    import datetime as dt

    if value is None:
        return None
    if t in (T.MONEY, T.DECIMAL) and isinstance(value, str):
        return Decimal(value)
    if t == T.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


# ---------------------------------------------------------------- the command


def run_tables(program: Program, paths: Sequence[Path], fmt: str, out: Any,
               chosen: Sequence[str] | None) -> Iterator[Outcome]:
    """Evaluate every table, write the chosen format, and yield the outcomes (for counting and errors)."""
    results = list(chosen) if chosen else None
    writer: Any = None
    runner: TableRunner | None = None
    try:
        for path in paths:
            for batch in read_batches(path):
                if results is None:
                    given = frozenset(n for n in batch.table.column_names if n in program.facts)
                    results = default_results(program, given)
                if writer is None:
                    writer = open_writer(program, fmt, out, results)
                if runner is None:
                        runner = TableRunner(program, fmt, results)
                if fmt == "parquet":
                    table, failed = runner.batch_arrow(batch)
                    writer.write_table(table)
                    yield from failed
                    yield from (Outcome("") for _ in range(table.num_rows - len(failed)))
                    continue
                outcomes = runner.batch(batch)
                writer.write(outcomes)
                yield from outcomes
        if writer is None:
            writer = open_writer(program, fmt, out, results or list(program.results))
    finally:
        if writer is not None:
            writer.close()


@dataclass
class Plan:
    """How `clause run` evaluates its tables: where, on how many processes, in what partitions."""

    workers: int = 1
    engine: str = "local"  # or "dask"
    scheduler: str | None = None
    evaluator: str = "columnar"  # or "scalar"
    part_rows: int | None = None  # rows per partition (default: by format)
    directory: Path | None = None  # -o DIR/: one file per partition
    scratch: Path | None = None  # Dask, one output file: where its partitions' files are written first


LINE_BYTES = 175  # a result's part of a JSON line, about (17 KB for every §6(b) result)
TEXT_BYTES = 16 << 20  # one buffer of JSON lines
PART_TEXT_BYTES = 64 << 20  # the JSON lines of one partition


def rows_for_text(size: int, results: int) -> int:
    return max(1_024, min(BATCH_ROWS, size // (LINE_BYTES * max(results, 1)) // 1_024 * 1_024))


def part_rows_for(fmt: str, lines: Sequence[str] | None, program: Program) -> int:
    """Rows per partition: a batch as read for CSV and Parquet; for JSON lines, as many rows as
    make ~64 MB of text (26,624 rows for the 14 results of §6(b) that vary, 3,072 for every
    result; at most a batch as read), written in buffers of ~16 MB (``TableRunner.text_rows``). Measured on
    1,000,000 rows of 14 results, one worker: partitions of 6,144 rows 6.9 s of evaluation, of
    26,624 rows 5.8–6.3 s; one buffer of 26,624 rows' text (65 MB) cost two workers 2 s more
    system time than 16 MB buffers (memory fresh from the kernel for every partition)."""
    if fmt == "jsonl":
        return rows_for_text(PART_TEXT_BYTES, len(program.results) if lines is None else len(lines))
    return BATCH_ROWS  # CSV and Parquet: a batch as read (fewer passes of the evaluator's Python per row)


def run_partitioned(program: Program, contract: str, paths: Sequence[Path], fmt: str, out: Any,
                    chosen: Sequence[str] | None, lines: Sequence[str] | None, plan: Plan) -> Iterator[Any]:
    """Every table, cut into partitions, on local worker processes or a Dask cluster; yields each
    partition's summary (rows, failures) in order. ``out`` is the output handle (None: -o DIR/)."""
    import shutil
    import tempfile

    from runner import parallel

    results = list(chosen) if chosen else None
    if results is None:
        first = next((b for p in paths for b in read_batches(p)), None)
        given = frozenset(n for n in (first.table.column_names if first else ()) if n in program.facts)
        results = default_results(program, given)
    job = parallel.make_job(program, contract, fmt, results, lines, plan.evaluator)
    rows = plan.part_rows or part_rows_for(fmt, lines, program)
    # Partitions cross to other processes as Arrow IPC; evaluated here, they stay tables.
    parts = parallel.partitions(list(paths), rows, serialize=plan.engine == "dask" or plan.workers > 1)
    sink: Any = None
    if out is not None:
        from runner.streaming import StreamedWriter

        writer = open_writer(program, fmt, out, results)  # the CSV header, the Parquet schema
        sink = StreamedWriter(writer.write_table if fmt == "parquet" else _text_writer(out), out)
    count = 0
    try:
        if plan.engine == "dask":
            directory = plan.directory
            scratch = None
            if directory is None:  # one output: the partitions' files joined once all are written
                scratch = Path(tempfile.mkdtemp(prefix=".clause-parts-", dir=plan.scratch))
                directory = scratch
            try:
                for done in parallel.run_dask(program, job, parts, plan.workers, plan.scheduler, directory):
                    count += 1
                    yield done
                if scratch is not None:
                    parallel.join_parts(scratch, fmt, count, sink if fmt == "parquet" else _binary(out))
            finally:
                if scratch is not None:
                    shutil.rmtree(scratch, ignore_errors=True)
        elif plan.workers <= 1:
            yield from parallel.run_in_process(job, program, parts, plan.directory, sink)
        else:
            yield from parallel.run_local(program, job, parts, plan.workers, out, plan.directory, sink)
        if sink is not None:
            sink.finish()
    finally:
        if out is not None:
            writer.close()


def _text_writer(out: Any) -> Any:
    """Writes a partition's text to ``out``: a str as it is, UTF-8 bytes (an Arrow buffer of JSON
    lines) to the handle's bytes underneath, after what its text layer holds, when the handle
    writes UTF-8 and "\n" as they are (else decoded and written as text)."""
    import codecs
    import os

    from runner.parallel import chunks_of

    binary = getattr(out, "buffer", None)
    try:
        plain = codecs.lookup(out.encoding).name == "utf-8" and os.linesep == "\n"
    except (AttributeError, LookupError, TypeError):
        plain = False
    if not plain:
        binary = None

    def write(data: Any) -> None:
        if isinstance(data, str):
            out.write(data)
        elif binary is None:  # a handle of text only (io.StringIO), or of another encoding
            for chunk in chunks_of(data):
                out.write(bytes(chunk).decode("utf-8"))
        else:
            out.flush()  # what its text layer holds goes first
            for chunk in chunks_of(data):
                binary.write(chunk)

    return write


def _binary(out: Any) -> Any:
    """A text handle's bytes underneath (flushed first), for copying partition files into it."""
    out.flush()
    return getattr(out, "buffer", out)


def open_writer(program: Program, fmt: str, out: Any, results: Sequence[str], axes: Sequence[str] = ()) -> Any:
    if fmt == "parquet":
        return _ParquetOut(program, out, results, axes)
    if fmt == "csv":
        return _CsvOut(program, out, results, axes)
    return _JsonlOut(program, out, results, axes)
