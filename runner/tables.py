"""Tables of scenarios in (CSV, JSON Lines, Parquet) as batches of columns, read with pyarrow.

A CSV table is read with pyarrow's CSV reader, every column as text (never
through a float); a Parquet table with pyarrow's Parquet reader, typed
(int64, decimal128, date32, strings, lists of structs). JSON Lines are read
with the standard library's parser with exact decimals (pyarrow's JSON reader
reads a number with a fraction as a float64, which would not be exact).

Each column a contract reads as a fact becomes a ``Col`` of the columnar
evaluator plus a mask of the rows whose cell was read exactly; a row with a
cell this module cannot read as a column (a "$1,000.00", "35%", a malformed
date, a missing cell) keeps its facts as the scalar path reads them, and is
evaluated there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import types as T
from engine.check import Program
from runner.columnar import EPOCH, LIMIT, Col

NAME_COLUMNS = ("scenario", "name", "title")
BATCH_ROWS = 65_536
# Money and decimals given in a table are read at this many decimal places (the
# fixed point of the columns); a cell with more goes to the scalar path.
INPUT_SCALE = 6
_INTEGER = r"^-?[0-9]{1,18}$"
_DECIMAL = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class Names(Sequence[str]):
    """The names of a table's rows kept as an Arrow string array: a row's name becomes a Python
    string only when that row is reported or evaluated one by one."""

    def __init__(self, array: pa.Array):
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.array))
            if step != 1:
                return [self.array[i].as_py() for i in range(start, stop, step)]
            # a copy of the slice alone: a partition sent to a worker carries its own names only
            return Names(pa.concat_arrays([self.array.slice(start, max(stop - start, 0))]))
        return self.array[index].as_py()


def characters(strings: pa.Array) -> pa.Buffer:
    """The characters of a string array, one value after another, as UTF-8: its data buffer, sliced
    (not copied: a partition's 15 MB of JSON lines go from the kernel that joined them to the file)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset: strings.offset + len(strings) + 1]
    return strings.buffers()[2][int(offsets[0]):int(offsets[-1])]


def arrow_names(names: Sequence[str]) -> pa.Array:
    return names.array if isinstance(names, Names) else pa.array(list(names), pa.string())


@dataclass
class TableBatch:
    """Rows of one table: their names, where they are, and their cells."""

    path: str
    names: Sequence[str]  # a list, or Names (an Arrow array)
    lines: Sequence[int]  # 1-based line of each row (CSV: assuming one line per row); a range for CSV and Parquet
    table: pa.Table  # the fact columns (NAME_COLUMNS removed)
    first_index: int  # position of the batch's first row in the file
    raw: pa.Table | None = None  # every column as read (CSV: to say where a row's cells are)
    problems: dict[int, tuple[str, int]] = field(default_factory=dict)  # row → why it cannot be read, column


def table_suffix(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet", ".pq", ".jsonl", ".ndjson"):
        return suffix
    return None


def read_batches(path: Path, rows: int = BATCH_ROWS) -> Iterator[TableBatch]:
    suffix = path.suffix.lower()
    shown = str(path)
    if suffix == ".csv":
        yield from _csv_batches(path, shown, rows)
    elif suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(path)
        start = 0
        for record_batch in handle.iter_batches(batch_size=rows):
            table = pa.Table.from_batches([record_batch])
            yield _batch(shown, table, start, range(start + 1, start + table.num_rows + 1))
            start += table.num_rows
    else:
        yield from _jsonl_batches(path, shown, rows)


def _csv_batches(path: Path, shown: str, rows: int) -> Iterator[TableBatch]:
    import csv

    import pyarrow.csv as pacsv

    from engine.limits import RowProblem, first_row_problem, located, table_lines

    with path.open("rb") as handle:
        _number, first = next(table_lines(handle), (1, ""))
    if isinstance(first, RowProblem):
        raise located(str(first), shown, first.line, first.column)
    header = [h.strip() for h in next(csv.reader([first]), [])]
    repeated = next((i for i, h in enumerate(header) if h and h in header[:i]), None)
    if repeated is not None:  # the last cell would silently win
        raise located(f"the column `{header[repeated]}` is named twice in the header", shown, 1,
                      len(",".join(header[:repeated])) + 2)
    reader = None
    start = 0
    while True:
        try:
            if reader is None:  # (it reads its first block at once)
                reader = pacsv.open_csv(
                    path, read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 22),
                    convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                         strings_can_be_null=False, quoted_strings_can_be_null=False))
            record_batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:  # not UTF-8, a row too long, cells the header does not name
            problem = first_row_problem(path)
            if problem is not None:
                raise located(str(problem), shown, problem.line, problem.column) from None
            raise located(f"not a CSV table: {error}", shown) from None
        table = pa.Table.from_batches([record_batch])
        yield _batch(shown, table, start, range(start + 2, start + table.num_rows + 2))
        start += table.num_rows


def _jsonl_batches(path: Path, shown: str, rows: int) -> Iterator[TableBatch]:
    """JSON Lines as text cells (exact decimals kept as written)."""
    names: list[str] = []
    lines: list[int] = []
    records: list[dict[str, str | None]] = []
    columns: dict[str, None] = {}
    start = 0

    def flush() -> TableBatch:
        table = pa.table({c: pa.array([r.get(c, "") for r in records], pa.string()) for c in columns})
        batch = TableBatch(shown, list(names), list(lines), table, start, problems=dict(problems))
        return batch

    from engine.limits import RowProblem, loads_json, table_lines

    problems: dict[int, tuple[str, int]] = {}
    with path.open("rb") as handle:
        for number, text in table_lines(handle):
            data: Any = None
            if isinstance(text, RowProblem):
                problems[len(records)] = (str(text), text.column)
            elif not text.strip():
                continue
            else:
                try:
                    data = loads_json(text)  # exact, within the limits, each key once
                except json.JSONDecodeError as error:
                    problems[len(records)] = (f"not valid JSON: {error.msg}", error.colno)
                except ValueError as error:  # over a limit, or a key given twice
                    problems[len(records)] = (str(error), 1)
            cells: dict[str, str | None] = {}
            name = None
            if isinstance(data, dict):
                facts = data["facts"] if isinstance(data.get("facts"), dict) else \
                    {k: v for k, v in data.items() if k not in NAME_COLUMNS}
                name = (data.get("scenario") or data.get("name") or data.get("title")) \
                    if isinstance(data.get("facts"), dict) else \
                    next((data[k] for k in NAME_COLUMNS if isinstance(data.get(k), str)), None)
                for key, value in facts.items():
                    columns.setdefault(str(key))
                    cells[str(key)] = _json_text(value)
            else:
                cells["\0unreadable"] = "1"  # the scalar path reports it
                columns.setdefault("\0unreadable")
                problems.setdefault(len(records), ("a row is a JSON object of facts", 1))
            names.append(str(name) if name else f"{shown}:{number}")
            lines.append(number)
            records.append(cells)
            if len(records) >= rows:
                yield flush()
                start += len(records)
                names.clear()
                lines.clear()
                records.clear()
                problems.clear()
    if records:
        yield flush()


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "\0" + json.dumps(value)  # never read as a column; the scalar path sees the JSON value
    if isinstance(value, (int, Decimal)):
        return str(value)
    return json.dumps(value, default=str)


def _batch(shown: str, table: pa.Table, start: int, lines: range) -> TableBatch:
    raw = table
    lowered = {name.lower(): name for name in table.column_names}
    name_column = next((lowered[k] for k in NAME_COLUMNS if k in lowered), None)
    # A row without a name is called by where it is: FILE:LINE.
    where = pc.binary_join_element_wise(shown + ":", pa.array(np.arange(lines.start, lines.stop)).cast(pa.string()),
                                        "")
    if name_column is not None:
        given = table.column(name_column).combine_chunks()
        if pa.types.is_dictionary(given.type):
            given = given.dictionary_decode()
        if not pa.types.is_string(given.type):
            given = given.cast(pa.string())
        given = pc.utf8_trim_whitespace(given)
        names = pc.if_else(pc.fill_null(pc.not_equal(given, ""), False), given, where)
        table = table.drop_columns([c for c in table.column_names if c.lower() in NAME_COLUMNS])
    else:
        names = where
    return TableBatch(shown, Names(names), lines, table, start, raw)


def cell_columns(batch: TableBatch, index: int) -> dict[str, int]:
    """CSV: the column (1-based character offset in its line) where each fact of a row is written."""
    if batch.raw is None or not batch.path.lower().endswith(".csv"):
        return {}
    columns: dict[str, int] = {}
    offset = 1
    for name in batch.raw.column_names:
        text = batch.raw.column(name)[index].as_py() or ""
        if name.lower() not in NAME_COLUMNS and text != "":
            columns[name] = offset
        offset += len(text) + 1
    return columns


# ---------------------------------------------------------------- cells to columns


def row_facts(batch: TableBatch, index: int) -> dict[str, Any]:
    """One row's facts as the scalar path reads a table row: text cells from CSV and
    JSON Lines (an empty cell is a fact not given, `null` is none), typed values from Parquet."""
    facts: dict[str, Any] = {}
    for name in batch.table.column_names:
        value = batch.table.column(name)[index].as_py()
        if isinstance(value, str):
            if value == "":
                continue
            if value.startswith("\0"):
                value = json.loads(value[1:], parse_float=Decimal)
            elif value.strip() == "null":
                value = None
        elif value is None and batch.path.lower().endswith((".parquet", ".pq")):
            continue
        facts[name] = value
    return facts


def given_columns(program: Program, batch: TableBatch) -> tuple[frozenset[str], dict[str, Col], Any]:
    """The shape every fully given row has, its columns, and the rows that are read exactly as columns."""
    from runner.columnar import column_type_supported

    size = batch.table.num_rows
    ok = np.ones(size, dtype=bool)
    columns: dict[str, Col] = {}
    names = batch.table.column_names
    for name in names:
        if name not in program.facts or not column_type_supported(program, name):
            ok[:] = False
            return frozenset(n for n in names if n in program.facts), {}, ok
        t = T.strip_optional(program.facts[name].type)
        column, valid = to_column(batch.table.column(name), t)
        columns[name] = column
        ok &= valid
    return frozenset(names), columns, ok


def to_column(array: pa.ChunkedArray | pa.Array, t: T.Type) -> tuple[Col, Any]:
    """A column of values of type ``t`` and the mask of the cells read exactly (the others hold 1)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    size = len(array)
    if t == T.INTEGER:
        if pa.types.is_integer(array.type):
            values = array.cast(pa.int64()).to_numpy(zero_copy_only=False) if array.null_count == 0 else \
                array.fill_null(1).cast(pa.int64()).to_numpy(zero_copy_only=False)
            valid = _not_null(array) & (np.abs(values) < 10**18)
            return Col("int", np.where(valid, values, 1)), valid
        if pa.types.is_string(array.type):
            valid = _matches(array, _INTEGER)
            text = pc.if_else(pa.array(valid), array, "1")
            return Col("int", text.cast(pa.int64()).to_numpy(zero_copy_only=False)), valid
    elif t in (T.MONEY, T.DECIMAL):
        if pa.types.is_decimal(array.type) and array.type.scale <= INPUT_SCALE:
            # at the column's own scale: cents stay cents (smaller integers: quotients reduce faster
            # and products overflow later); the bound is the same, below 10^12 whole units
            units, valid = _decimal_units(array)
            valid &= np.abs(units.astype(np.float64)) * 10 ** (INPUT_SCALE - array.type.scale) < 1e18
            return Col("fixed", np.where(valid, units, 1), array.type.scale), valid
        if pa.types.is_integer(array.type):
            values = array.fill_null(1).cast(pa.int64()).to_numpy(zero_copy_only=False)
            valid = _not_null(array) & (np.abs(values) < 10**12)
            return Col("fixed", np.where(valid, values, 1) * 10**INPUT_SCALE, INPUT_SCALE), valid
        if pa.types.is_string(array.type):
            valid = _matches(array, _DECIMAL)
            text = pc.if_else(pa.array(valid), array, "1")
            decimals = text.cast(pa.decimal128(18 + INPUT_SCALE, INPUT_SCALE))
            units, _ = _decimal_units(decimals)
            return Col("fixed", units, INPUT_SCALE), valid
    elif t == T.DATE:
        if pa.types.is_date(array.type):
            days = array.fill_null(0).cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
            return Col("date", days.astype(np.int64)), _not_null(array)
        if pa.types.is_string(array.type):
            valid = _matches(array, _DATE)
            parsed = pc.strptime(pc.if_else(pa.array(valid), array, "1970-01-01"), format="%Y-%m-%d", unit="s",
                                 error_is_null=True)
            valid &= _not_null(parsed)
            # strptime rolls 2003-02-30 over to March 2: a date is read only when it prints back as written.
            printed = pc.strftime(parsed.fill_null(0), format="%Y-%m-%d")
            valid &= pc.equal(printed, pc.if_else(pa.array(valid), array, "")).fill_null(False) \
                .to_numpy(zero_copy_only=False)
            days = parsed.fill_null(0).cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
            return Col("date", days.astype(np.int64)), valid
    elif t == T.BOOLEAN:
        if pa.types.is_boolean(array.type):
            return Col("bool", array.fill_null(False).to_numpy(zero_copy_only=False)), _not_null(array)
        if pa.types.is_string(array.type):
            true = pc.equal(array, "true").fill_null(False).to_numpy(zero_copy_only=False)
            false = pc.equal(array, "false").fill_null(False).to_numpy(zero_copy_only=False)
            return Col("bool", true), true | false
    elif isinstance(t, T.EnumType):
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            index = pc.index_in(array, value_set=pa.array(list(t.members), pa.string()))
            valid = _not_null(index)
            return Col("enum", index.fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False), enum=t), valid
    elif isinstance(t, T.ListType) and isinstance(t.element, T.RecordType):
        return _records_column(array, t.element)
    return _ones(size, t), np.zeros(size, dtype=bool)


def _ones(size: int, t: T.Type) -> Col:
    if isinstance(t, T.ListType) and isinstance(t.element, T.RecordType):
        return _empty_records(size, t.element)
    return Col("int", np.ones(size, dtype=np.int64))


def _not_null(array: pa.Array) -> Any:
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return array.is_valid().to_numpy(zero_copy_only=False)


def _matches(array: pa.Array, pattern: str) -> Any:
    return pc.match_substring_regex(array, pattern).fill_null(False).to_numpy(zero_copy_only=False)


def _decimal_units(array: pa.Array) -> tuple[Any, Any]:
    """The unscaled integers of a decimal128 array (low 64 bits) and where they fit in int64."""
    array = array.cast(pa.decimal128(38, array.type.scale)) if not isinstance(array.type, pa.Decimal128Type) \
        else array
    buffer = array.buffers()[1]
    words = np.frombuffer(buffer, dtype=np.int64)[2 * array.offset: 2 * (array.offset + len(array))]
    low, high = words[0::2], words[1::2]
    fits = (high == (low >> 63)) & (np.abs(low) < LIMIT) & _not_null(array)
    return np.where(fits, low, 1), fits


def _empty_records(size: int, record: T.RecordType) -> Col:
    from runner.columnar import _zero_item

    fields = {name: _zero_item(field_type) for name, field_type in record.fields}
    return Col("records", None, offsets=np.zeros(size + 1, dtype=np.int64), fields=fields)


def _records_column(array: pa.Array, record: T.RecordType) -> tuple[Col, Any]:
    """A list of records: a list<struct> column (Parquet), or JSON text in a cell (CSV)."""
    size = len(array)
    if record.defaults:
        return _empty_records(size, record), np.zeros(size, dtype=bool)
    if pa.types.is_string(array.type):
        return _records_from_text(array, record)
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)) or \
            not pa.types.is_struct(array.type.value_type):
        return _empty_records(size, record), np.zeros(size, dtype=bool)
    valid = _not_null(array)
    filled = array.fill_null(pa.scalar([], array.type)) if array.null_count else array
    offsets = filled.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = offsets - offsets[0]
    items = filled.flatten()
    item_valid = np.ones(len(items), dtype=bool)
    fields: dict[str, Col] = {}
    struct_names = {items.type.field(i).name for i in range(items.type.num_fields)}
    if struct_names != {name for name, _ in record.fields}:
        return _empty_records(size, record), np.zeros(size, dtype=bool)
    for name, field_type in record.fields:
        column, ok = to_column(items.field(name), field_type)
        column.level = 1
        fields[name] = column
        item_valid &= ok
    bad_items = ~item_valid
    if bad_items.any():
        rows = np.repeat(np.arange(size), np.diff(offsets))
        valid[rows[bad_items]] = False
    return Col("records", None, offsets=offsets, fields=fields), valid


# A JSON list of flat objects, written as json.dumps writes it, with no bracket or brace inside
# a string and no line break: a cell of this form is one JSON value whatever its neighbours hold.
_FLAT_RECORDS = r"^\[(\{[^{}\[\]\n\r]*\}(, ?\{[^{}\[\]\n\r]*\})*)?\]$"


def _records_from_text(array: pa.Array, record: T.RecordType) -> tuple[Col, Any]:
    """Lists of records written as JSON in CSV cells: read by Arrow's JSON reader when the cells
    are plain (any other cell's row goes to the scalar path, which reads it as it reads a scenario),
    else one cell at a time."""
    found = _records_from_json_lines(array, record)
    return found if found is not None else _records_cell_by_cell(array, record)


def _records_from_json_lines(array: pa.Array, record: T.RecordType) -> tuple[Col, Any] | None:
    """Each plain cell as a line `{"v": CELL}` of one JSON Lines buffer, read by pyarrow. None when
    the values are not of the types the record's fields are read from (integers and strings)."""
    import pyarrow.json as pajson

    size = len(array)
    if size == 0:
        return None
    names = {name for name, _ in record.fields}
    texts = array.fill_null("")
    plain = _matches(texts, _FLAT_RECORDS)
    cells = pc.if_else(pa.array(plain), texts, "[]")
    data = characters(pc.binary_join_element_wise('{"v": ', cells, "}\n", ""))
    try:
        table = pajson.read_json(pa.BufferReader(data),
                                 read_options=pajson.ReadOptions(use_threads=False, block_size=max(len(data), 1 << 20)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a field both a number and a string, a huge integer
        return None
    if table.num_rows != size or table.column_names != ["v"]:
        return None
    lists = table.column("v").combine_chunks()
    if not pa.types.is_list(lists.type):  # (every cell null: a null type)
        return None
    element = lists.type.value_type
    if pa.types.is_null(element):  # every list empty
        return _empty_records(size, record), plain & pc.equal(texts, "[]").to_numpy(zero_copy_only=False)
    if not pa.types.is_struct(element) or {element.field(i).name for i in range(element.num_fields)} != names or \
            any(not (pa.types.is_int64(element.field(i).type) or pa.types.is_string(element.field(i).type))
                for i in range(element.num_fields)):
        return None
    column, valid = _records_column(lists, record)
    # every key of every object counted: an object that gives a field twice (the last would win) or
    # spells a key some other way is the scalar path's, which refuses or reads it
    keys = pc.count_substring(texts, '":').to_numpy(zero_copy_only=False)
    items = np.diff(lists.offsets.to_numpy(zero_copy_only=False))
    return column, valid & plain & (keys == items * len(names))


def _records_cell_by_cell(array: pa.Array, record: T.RecordType) -> tuple[Col, Any]:
    size = len(array)
    valid = np.ones(size, dtype=bool)
    counts = np.zeros(size, dtype=np.int64)
    names = [name for name, _ in record.fields]
    wanted = set(names)
    cells: dict[str, list[Any]] = {name: [] for name in names}
    appends = [cells[name].append for name in names]
    # exact: money fields as strings or integers below; a key given twice makes the row the
    # scalar path's, which refuses it as it refuses one in a scenario (the last would win)
    from engine.limits import unique_pairs

    decode = json.JSONDecoder(object_pairs_hook=unique_pairs).decode
    for row, text in enumerate(array.to_pylist()):
        if text == "[]":  # (most rows of a table of issuances: no options)
            continue
        try:
            items = decode(text) if text else None
        except (ValueError, RecursionError):  # not JSON (JSONDecodeError), or nested past Python's stack
            items = None
        if type(items) is not list or not all(type(i) is dict and i.keys() == wanted for i in items) \
                or any(type(i[n]) in (float, bool) or i[n] is None for i in items for n in names):
            valid[row] = False
            continue
        counts[row] = len(items)
        for item in items:
            for name, append in zip(names, appends, strict=True):
                value = item[name]
                append(value if type(value) is str else str(value))
    offsets = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    fields: dict[str, Col] = {}
    item_valid = np.ones(int(offsets[-1]), dtype=bool)
    for name, field_type in record.fields:
        column, ok = to_column(pa.array(cells[name], pa.string()), field_type)
        column.level = 1
        fields[name] = column
        item_valid &= ok
    if (~item_valid).any():
        rows = np.repeat(np.arange(size), counts)
        valid[rows[~item_valid]] = False
    return Col("records", None, offsets=offsets, fields=fields), valid


__all__ = ["EPOCH", "TableBatch", "given_columns", "read_batches", "row_facts", "table_suffix", "to_column"]
