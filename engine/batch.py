"""`clause run`: many scenarios against one contract, on every core.

Inputs are scenario files (YAML/JSON; a file with `cases:` gives one
scenario per case), directories of them, globs, and tables of scenarios:
CSV or JSON Lines with one scenario per row and one fact per column (lists
and records as JSON in a cell, an empty cell for a fact not given, `null`
for none; a `scenario`, `name` or `title` column names the row).

The contract is parsed and checked once (and cached, engine/cache.py); the
scenarios are evaluated by the compiled evaluator in worker processes, a
chunk at a time with a bounded number of chunks in flight, so memory stays
flat however many rows a table has, and results are written in input order
as they arrive. A scenario that fails is reported by name and never stops
the others; the exit status says whether any failed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import itertools
import json
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from engine.check import Program
from engine.errors import ClauseError, Diagnostic, SourceMap, Span
from engine.limits import RowProblem, loads_json, table_lines

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")
NAME_COLUMNS = ("scenario", "name", "title")
CHUNK = 256  # scenarios per task sent to a worker
IN_FLIGHT = 4  # chunks queued per worker: bounds memory
SHOWN_FAILURES = 20  # failures printed in full on stderr; the rest are counted


@dataclass(frozen=True)
class Item:
    """One unit of work: a scenario file, or one row of a table."""

    name: str
    path: str
    facts: dict[str, Any] | None = None  # a table row's facts (None: load the file)
    line: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # fact → column of the row
    title: str | None = None
    problem: str | None = None  # the row could not be read
    column: int = 0  # where on its line the problem is (0: the line as a whole)


@dataclass
class Row:
    """One scenario's outcome, ready to write: its JSON line, or its cells for a table."""

    name: str
    failed: bool
    text: str = ""  # the JSON line (jsonl)
    cells: list[Any] | None = None  # encoded result values (csv, table)
    errors: list[str] = field(default_factory=list)
    report: str = ""  # diagnostics for stderr


def _row(name: str, data: dict[str, Any], failed: bool, report: str, fmt: str, program: Program) -> Row:
    errors = list(data.get("errors", []))
    if fmt == "jsonl":
        return Row(name, failed, json.dumps(data, ensure_ascii=False), None, errors, report)
    results = data.get("results", {})
    cells = [results.get(n, {}).get("value") for n in program.results]
    if fmt == "table":  # for people, as `clause eval`'s table: a rounded value is marked
        cells = [_marked(cell, results.get(n, {}).get("rounded", False)) for n, cell in zip(program.results, cells,
                                                                                            strict=True)]
    return Row(name, failed, "", cells, errors, report)


def _marked(cell: Any, rounded: bool) -> Any:
    """A table cell of a value without a finite decimal expansion, marked ≈ (a CSV cell
    keeps the canonical encoding; JSON says "rounded": true)."""
    return "≈" + cell if rounded and isinstance(cell, str) else cell


class _FastRows:
    """Rows straight from the compiled code: the JSON of each result is written as
    ``Outcome.to_json`` writes it, and the JSON of a result that is the same in every
    scenario of a shape is written once."""

    def __init__(self, program: Program):
        from engine import types as T

        self.program = program
        self.types = [program.rules[n].type for n in program.results]
        self.heads = [json.dumps(n, ensure_ascii=False) + ": " for n in program.results]
        self.tails = [json.dumps({"type": T.category(t), "cites": program.cites.get(n, [])}, ensure_ascii=False)[1:]
                      for n, t in zip(program.results, self.types, strict=True)]
        self.contract = '{"contract": ' + json.dumps(program.path, ensure_ascii=False) + ', "scenario": '
        self.constants: dict[tuple[int, str], list[Any]] = {}

    def row(self, name: str, facts: dict[str, Any], fmt: str) -> Row | None:
        from engine.compile import shape_for, validate_fast
        from engine.values import Unknown, encode, is_rounded

        program = self.program
        valid = validate_fast(program, facts)
        if valid is None:
            return None
        compiled = shape_for(program, frozenset(valid.values))
        if compiled is None:
            return None
        try:
            values, readings = compiled.run(valid.values)
        except Exception:  # the reference evaluator reports it, with its position
            return None
        cached = self.constants.setdefault((id(compiled), fmt), [None] * len(values))
        constant = compiled.constant
        if fmt != "jsonl":
            cells = []
            for index, value in enumerate(values):
                cell = cached[index] if constant[index] else None
                if cell is None:
                    cell = None if isinstance(value, Unknown) else encode(value, self.types[index])
                    if fmt == "table":
                        cell = _marked(cell, is_rounded(value))
                    if constant[index]:
                        cached[index] = ("cell", cell)
                else:
                    cell = cell[1]
                cells.append(cell)
            return Row(name, False, "", cells)
        parts = []
        for index, value in enumerate(values):
            part = cached[index] if constant[index] else None
            if part is None:
                if isinstance(value, Unknown):
                    data: dict[str, Any] = {"value": None}
                    missing = sorted(value.missing)
                else:
                    data = {"value": encode(value, self.types[index])}
                    if is_rounded(value):
                        data["rounded"] = True
                    missing = []
                part = self.heads[index] + json.dumps(data, ensure_ascii=False)[:-1] + ", " + self.tails[index][:-1] \
                    + ', "missing": ' + json.dumps(missing, ensure_ascii=False)
                used = readings[index]
                if used:
                    part += ', "readings": ' + json.dumps(sorted(used), ensure_ascii=False)
                part += "}"
                if constant[index]:
                    cached[index] = part
            parts.append(part)
        text = self.contract + json.dumps(name, ensure_ascii=False) + ', "results": {' + ", ".join(parts) + "}"
        if valid.notes:
            text += ', "notes": ' + json.dumps(valid.notes, ensure_ascii=False)
        return Row(name, False, text + "}")


# ---------------------------------------------------------------- inputs


def expand(inputs: Sequence[str]) -> tuple[list[Path | str], list[str]]:
    """Files to read (in order) and inputs that matched nothing."""
    found: list[Path | str] = []
    missing: list[str] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in
                           SCENARIO_SUFFIXES + TABLE_SUFFIXES)
            found.extend(files)
            if not files:
                missing.append(given)
        elif path.exists():
            found.append(path)
        elif glob.has_magic(given):
            matches = sorted(glob.glob(given, recursive=True))
            found.extend(Path(m) for m in matches if Path(m).is_file())
            if not matches:
                missing.append(given)
        else:
            missing.append(given)
    return found, missing


def items_of(path: Path) -> Iterator[Item]:
    """The scenarios one input file holds (table rows are read lazily)."""
    suffix = path.suffix.lower()
    shown = str(path)
    if suffix == ".csv":
        yield from _csv_items(path)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _jsonl_items(path)
    else:
        yield Item(shown, shown)


def _cell(text: str) -> Any:
    return None if text.strip() == "null" else text


def _text_lines(lines: Iterator[tuple[int, str | RowProblem]]) -> Iterator[str]:
    """Lines for csv.reader; a line that cannot be read stops it with its RowProblem."""
    for _number, text in lines:
        if isinstance(text, RowProblem):
            raise text
        yield text


def _csv_items(path: Path) -> Iterator[Item]:
    shown = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        yield Item(shown, shown, problem=f"cannot read {shown}: {error.strerror or error}")
        return
    with handle:
        reader = csv.reader(_text_lines(table_lines(handle)))
        try:
            header = next(reader)
        except StopIteration:
            return
        except RowProblem as problem:
            yield Item(shown, shown, line=problem.line, column=problem.column, problem=str(problem))
            return
        except csv.Error as error:
            yield Item(shown, shown, line=1, problem=f"not a CSV table: {error}")
            return
        header = [h.strip() for h in header]
        repeated = next((i for i, h in enumerate(header) if h and h in header[:i]), None)
        if repeated is not None:  # the last cell would silently win
            yield Item(shown, shown, line=1, column=len(",".join(header[:repeated])) + (1 if repeated else 0) + 1,
                       problem=f"the column `{header[repeated]}` is named twice in the header")
            return
        name_column = next((i for i, h in enumerate(header) if h.lower() in NAME_COLUMNS), None)
        start = 1
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except RowProblem as problem:
                yield Item(f"{shown}:{problem.line}", shown, line=problem.line, column=problem.column,
                           problem=str(problem))
                return
            except csv.Error as error:
                yield Item(f"{shown}:{line}", shown, line=line, problem=f"not a CSV row: {error}")
                return
            start = line
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                yield Item(f"{shown}:{start}", shown, line=start,
                           problem=f"the row has {len(cells)} cells but the header names {len(header)} columns")
                continue
            facts: dict[str, Any] = {}
            columns: dict[str, int] = {}
            offset = 1
            for index, (column, text) in enumerate(zip(header, cells, strict=False)):
                if index != name_column and text != "":
                    facts[column] = _cell(text)
                    columns[column] = offset
                offset += len(text) + 1
            name = cells[name_column].strip() if name_column is not None and name_column < len(cells) else ""
            yield Item(name or f"{shown}:{start}", shown, facts, start, columns)


def _jsonl_items(path: Path) -> Iterator[Item]:
    shown = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        yield Item(shown, shown, problem=f"cannot read {shown}: {error.strerror or error}")
        return
    with handle:
        for number, text in table_lines(handle):
            default = f"{shown}:{number}"
            if isinstance(text, RowProblem):
                yield Item(default, shown, line=number, column=text.column, problem=str(text))
                continue
            if not text.strip():
                continue
            try:
                data = loads_json(text)  # exact, within the limits, each key once
            except json.JSONDecodeError as error:
                yield Item(default, shown, line=number, column=error.colno, problem=f"not valid JSON: {error.msg}")
                continue
            except ValueError as error:
                yield Item(default, shown, line=number, problem=str(error))
                continue
            if not isinstance(data, dict):
                yield Item(default, shown, line=number, problem="a row is a JSON object of facts")
                continue
            title = None
            if isinstance(data.get("facts"), dict):
                title = data.get("title")
                name = data.get("scenario") or data.get("name") or title
                facts = dict(data["facts"])
            else:
                name = next((data[k] for k in NAME_COLUMNS if isinstance(data.get(k), str)), None)
                facts = {k: v for k, v in data.items() if k not in NAME_COLUMNS}
            yield Item(str(name) if name else default, shown, facts, number, title=title)


def count_items(paths: Iterable[Path | str]) -> int:
    """About how many scenarios the inputs hold (for the progress bar)."""
    total = 0
    for path in paths:
        p = Path(path)
        if p.suffix.lower() in TABLE_SUFFIXES:
            try:
                lines = 0
                with p.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        lines += chunk.count(b"\n")
            except OSError:
                lines = 1
            total += max(lines - (1 if p.suffix.lower() == ".csv" else 0), 1)
        else:
            total += 1
    return total


# ---------------------------------------------------------------- evaluating one scenario

_PROGRAM: Program | None = None
_FORMAT = "jsonl"


def _errors_json(diagnostics: Iterable[Diagnostic]) -> list[str]:
    out = []
    for d in diagnostics:
        text = d.render().split("\n", 1)[0]
        if d.help:
            text += f" (help: {d.help})"
        out.append(text)
    return out


def evaluate_item(program: Program, item: Item, fmt: str = "jsonl") -> list[Row]:
    """Rows for one item; never raises: a scenario that fails in any way, even by
    a fault of the engine, is a failed row, and the other scenarios go on."""
    try:
        return _evaluate_item(program, item, fmt)
    except Exception as problem:
        return [_failed(program, item.name, [_fault(item.path, item.line, problem)], None, fmt)]


def _fault(path: str, line: int, problem: Exception) -> Diagnostic:
    span = Span(path, line, 1, line, 2) if line else Span(path, 0, 0, 0, 0)
    return Diagnostic(f"this scenario could not be evaluated: {type(problem).__name__}: {problem}", span)


def _evaluate_item(program: Program, item: Item, fmt: str) -> list[Row]:
    from engine.api import evaluate
    from engine.scenario import Scenario, load_scenario

    if item.problem is not None:
        column = item.column or 1
        diagnostic = Diagnostic(item.problem, Span(item.path, item.line, column, item.line, column + 1) if item.line
                                else Span(item.path, 0, 0, 0, 0))
        return [_failed(program, item.name, [diagnostic], None, fmt)]
    scenarios: list[tuple[str, Scenario]] = []
    if item.facts is None:
        from engine.testing import case_scenarios

        try:
            if Path(item.path).suffix.lower() == ".json":
                scenarios = [(item.name, load_scenario(item.path))]
            else:
                scenarios = case_scenarios(Path(item.path))
        except ClauseError as error:
            return [_failed(program, item.name, error.diagnostics, error.sources, fmt)]
    else:
        fast = _fast_rows(program).row(item.name, item.facts, fmt)
        if fast is not None:
            return [fast]
        positions = {name: (item.line, column) for name, column in item.columns.items()}
        positions.update({f"key:{name}": (item.line, column) for name, column in item.columns.items()})
        for name in item.facts:  # a JSON Lines row: the row's line, at least
            positions.setdefault(name, (item.line, 1))
            positions.setdefault(f"key:{name}", (item.line, 1))
        scenarios = [(item.name, Scenario(item.path, item.title, None, item.facts, positions, SourceMap()))]
    rows = []
    for name, scenario in scenarios:
        try:
            outcome = evaluate(program, scenario)
        except ClauseError as error:
            rows.append(_failed(program, name, error.diagnostics, error.sources, fmt))
            continue
        except Exception as problem:  # one case of a test file: the file's other cases still run
            rows.append(_failed(program, name, [_fault(item.path, item.line, problem)], None, fmt))
            continue
        data = outcome.to_json()
        data["scenario"] = name
        report = ""
        if outcome.errors:
            report = "\n".join(
                Diagnostic(f"cannot compute `{e.rule}`: {e.message}", e.span).render(program.sources)
                for e in outcome.errors)
        rows.append(_row(name, data, bool(outcome.errors), report, fmt, program))
    return rows


def _fast_rows(program: Program) -> _FastRows:
    fast = program.__dict__.get("_batch_rows")
    if not isinstance(fast, _FastRows):
        fast = program.__dict__["_batch_rows"] = _FastRows(program)
    return fast


def _failed(program: Program, name: str, diagnostics: Sequence[Diagnostic], sources: SourceMap | None,
            fmt: str) -> Row:
    data = {"contract": program.path, "scenario": name, "results": {}, "errors": _errors_json(diagnostics)}
    report = "\n".join(d.render(sources) for d in diagnostics)
    return _row(name, data, True, report, fmt, program)


def _init_worker(program: Program | None, contract: str, fmt: str) -> None:
    global _PROGRAM, _FORMAT
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends the pool, with one line
    if program is None:
        from engine.api import load_contract

        program = load_contract(contract)
    _PROGRAM, _FORMAT = program, fmt


def _run_chunk(chunk: list[Item]) -> list[Row]:
    assert _PROGRAM is not None
    rows: list[Row] = []
    for item in chunk:
        rows.extend(evaluate_item(_PROGRAM, item, _FORMAT))
    return rows


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def start_method() -> str:
    """How worker processes start: forked where that is safe, so they share what this process
    has loaded. fork copies only the calling thread, and a lock another thread held at that
    moment stays held for good in the child (a worker that never answers); with other threads
    alive (an embedding server, a test runner) workers start from a fresh interpreter."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def evaluate_all(program: Program, items: Iterable[Item], workers: int, fmt: str = "jsonl",
                 chunk: int = CHUNK) -> Iterator[Row]:
    """Rows in input order, evaluated in ``workers`` processes (in this one when 1)."""
    chunks = _chunks(items, chunk)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if workers <= 1 or second is None:
        for part in itertools.chain((first, second), chunks):
            if part:
                for item in part:
                    yield from evaluate_item(program, item, fmt)
        return
    # fork shares the parsed, checked and compiled program with the workers;
    # elsewhere each worker loads it from the cache.
    context = multiprocessing.get_context(start_method())
    inherited = program if context.get_start_method() == "fork" else None
    pool = context.Pool(workers, initializer=_init_worker, initargs=(inherited, program.path, fmt))
    try:
        pending: deque[Any] = deque()
        for part in itertools.chain((first, second), chunks):
            pending.append(pool.apply_async(_run_chunk, (part,)))
            while len(pending) >= workers * IN_FLIGHT:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()
    finally:
        _end_pool(pool)


def _end_pool(pool: Any) -> None:
    """Ends the workers, even when the run stops early (Ctrl-C, a reader that stops).

    Pool.terminate can wait for good: once its result thread stops reading, a
    worker still writing a large result blocks with the queue's lock held, and
    terminate then waits on that lock. So terminate runs in a thread of its own,
    and the workers are killed if it has not returned within a second."""
    ender = threading.Thread(target=pool.terminate, name="clause-pool-end", daemon=True)
    ender.start()
    ender.join(1.0)
    if ender.is_alive():
        for process in list(getattr(pool, "_pool", ())):
            with contextlib.suppress(Exception):
                process.kill()
        ender.join(1.0)


# ---------------------------------------------------------------- writing


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Writer:
    def __init__(self, program: Program, out: TextIO):
        self.program = program
        self.out = out

    def write(self, row: Row) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _JsonlWriter(_Writer):
    def write(self, row: Row) -> None:
        self.out.write(row.text + "\n")


class _CsvWriter(_Writer):
    def __init__(self, program: Program, out: TextIO):
        super().__init__(program, out)
        self.csv = csv.writer(out, lineterminator="\n")
        self.csv.writerow(["scenario", *program.results, "errors"])

    def write(self, row: Row) -> None:
        cells = [_cell_text(value) for value in row.cells or []]
        self.csv.writerow([row.name, *cells, "; ".join(row.errors)])


class _TableWriter(_Writer):
    """A table for people: buffered, showing the results determined in some scenario."""

    def __init__(self, program: Program, out: TextIO):
        super().__init__(program, out)
        self.rows: list[Row] = []

    def write(self, row: Row) -> None:
        self.rows.append(row)

    def close(self) -> None:
        names = self.program.results
        shown = [i for i in range(len(names)) if any(r.cells and r.cells[i] is not None for r in self.rows)]
        header = ["scenario", *(names[i] for i in shown), "status"]
        lines = [header]
        for row in self.rows:
            status = "FAILED" if row.failed else "ok"
            cells = row.cells or [None] * len(names)
            lines.append([row.name, *(_cell_text(cells[i]) or "–" for i in shown), status])
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for number, line in enumerate(lines):
            self.out.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                           + "\n")
            if number == 0:
                self.out.write("  ".join("-" * width for width in widths) + "\n")
        hidden = len(self.program.results) - len(shown)
        if hidden and self.rows:
            self.out.write(f"({hidden} results undetermined in every scenario are not shown)\n")


WRITERS: dict[str, Callable[[Program, TextIO], _Writer]] = {
    "jsonl": _JsonlWriter, "csv": _CsvWriter, "table": _TableWriter,
}


# ---------------------------------------------------------------- the command


def _progress(total: int, err: TextIO) -> Any:
    """A progress bar on stderr for long runs; silent when stderr is not a terminal."""
    isatty = getattr(err, "isatty", None)
    if not (callable(isatty) and isatty()):
        return None
    from tqdm import tqdm

    # No monitor thread: workers are forked only from a process without other threads (start_method).
    tqdm.monitor_interval = 0
    return tqdm(total=total, file=err, unit=" scenarios", delay=0.5, leave=False)


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from engine.api import load_contract
    from engine.limits import TABLE_ROWS
    from engine.outputs import atomic_output, check_destination

    paths, missing = expand(args.scenarios)
    directory = _output_directory(args)
    destination: Path | None = Path(args.output) if args.output and directory is None else None
    if destination is not None:  # before any work, and never over an input
        check_destination(destination, force=args.force, inputs=[args.contract, *paths], what="the results")
    program = load_contract(args.contract)
    failures = 0
    for given in missing:
        err.write(Diagnostic(f"no scenario file matches {given}", Span(given, 0, 0, 0, 0)).render() + "\n")
    workers = args.workers if args.workers and args.workers > 0 else (os.cpu_count() or 1)
    if _columnar(args, paths) or directory is not None or getattr(args, "engine", "local") == "dask":
        # tables: the columnar evaluator (runner/), the scalar path row by row where needed, in partitions
        return _run_tables(program, args, paths, missing, destination, out, err, directory, workers)
    items = (item for path in paths for item in items_of(Path(path)))
    count = count_items(paths)
    if args.format == "table" and count > TABLE_ROWS:
        raise ClauseError([Diagnostic(f"about {count:,} scenarios are too many for a table (the limit is "
                                      f"{TABLE_ROWS:,} rows)", Span(str(args.scenarios[0]), 0, 0, 0, 0),
                                      help="use --format jsonl or --format csv, which stream any number of rows")])
    bar = _progress(count, err)
    total = 0
    output: contextlib.AbstractContextManager[Any] = atomic_output(destination, newline="", what="the results") \
        if destination else contextlib.nullcontext(out)
    with output as handle:
        try:
            writer = WRITERS[args.format](program, handle)
            for row in evaluate_all(program, items, workers, args.format):
                total += 1
                writer.write(row)
                if row.failed:
                    failures += 1
                    if failures <= SHOWN_FAILURES:
                        if bar is not None:
                            bar.clear()
                        err.write(f"scenario {row.name}: failed\n{row.report}\n")
                if bar is not None:
                    bar.update(1)
            writer.close()
        finally:
            if bar is not None:
                bar.close()
    if failures > SHOWN_FAILURES:
        err.write(f"… and {failures - SHOWN_FAILURES} more failed scenarios (their errors are in the output)\n")
    failed_inputs = len(missing)
    err.write(f"{total} scenarios, {failures} failed" + (f", {failed_inputs} inputs not found" if missing else "")
              + (f"; written to {destination}" if destination else "") + "\n")
    return 1 if failures or failed_inputs else 0


def _columnar(args: argparse.Namespace, paths: Sequence[Path | str]) -> bool:
    tables = (".csv", ".jsonl", ".ndjson", ".parquet", ".pq")
    every_table = bool(paths) and all(Path(p).suffix.lower() in tables for p in paths)
    return bool(every_table and args.format != "table") or args.format == "parquet"


def _run_tables(program: Program, args: argparse.Namespace, paths: Sequence[Path | str], missing: list[str],
                destination: Path | None, out: TextIO, err: TextIO, directory: Path | None = None,
                workers: int = 1) -> int:
    from runner.run import Plan, run_partitioned

    chosen = [n.strip() for n in args.results.split(",") if n.strip()] if getattr(args, "results", None) else None
    unknown = [n for n in chosen or () if n not in program.results]
    if unknown:
        err.write(Diagnostic(f"--results: the contract has no result `{unknown[0]}`", Span(program.path, 0, 0, 0, 0),
                             help="results: " + ", ".join(program.results)).render() + "\n")
        return 1
    scenario_files = [str(p) for p in paths if Path(p).suffix.lower() in SCENARIO_SUFFIXES]
    if scenario_files:
        err.write(Diagnostic(f"--format {args.format} with --engine, --evaluator or -o DIR/ is written from tables "
                             "(CSV, JSON Lines, Parquet), not scenario files",
                             Span(scenario_files[0], 0, 0, 0, 0)).render() + "\n")
        return 1
    if args.format == "parquet" and destination is None and directory is None:
        err.write(Diagnostic("--format parquet writes a file: give it with -o FILE",
                             Span("<command line>", 0, 0, 0, 0)).render() + "\n")
        return 1
    from engine.outputs import atomic_output

    engine = getattr(args, "engine", "local") or "local"
    plan = Plan(workers=workers, engine=engine, scheduler=getattr(args, "scheduler", None),
                evaluator=getattr(args, "evaluator", None) or "columnar",
                part_rows=getattr(args, "partition_rows", None), directory=directory,
                scratch=destination.parent if destination is not None else None)
    binary = args.format == "parquet"
    output: contextlib.AbstractContextManager[Any] = contextlib.nullcontext(None) if directory is not None else \
        atomic_output(destination, binary=binary, what="the results", **({} if binary else {"newline": ""})) \
        if destination else contextlib.nullcontext(out)
    total = failures = 0
    with output as handle:
        for done in run_partitioned(program, args.contract, [Path(p) for p in paths], args.format, handle, chosen,
                                    chosen if args.format == "jsonl" else None, plan):
            total += done.rows
            for name, report in done.reports:
                if failures < SHOWN_FAILURES:
                    err.write(f"scenario {name}: failed\n{report}\n")
                failures += 1
            failures += done.failed - len(done.reports)
    if failures > SHOWN_FAILURES:
        err.write(f"… and {failures - SHOWN_FAILURES} more failed scenarios (their errors are in the output)\n")
    where = destination or directory
    err.write(f"{total} scenarios, {failures} failed" + (f", {len(missing)} inputs not found" if missing else "")
              + (f"; written to {where}" if where else "") + "\n")
    return 1 if failures or missing else 0


def _output_directory(args: argparse.Namespace) -> Path | None:
    """`-o DIR/` (the trailing slash says it): one output file per input partition."""
    given = getattr(args, "output", None)
    if not given or not given.endswith(("/", os.sep)):
        return None
    directory = Path(given)
    if directory.exists() and not directory.is_dir():
        raise ClauseError([Diagnostic("is not a directory", Span(given, 0, 0, 0, 0))])
    if args.format == "table":
        raise ClauseError([Diagnostic("-o DIR/ writes a file per partition of a table: give --format jsonl, csv "
                                      "or parquet", Span(given, 0, 0, 0, 0))])
    directory.mkdir(parents=True, exist_ok=True)
    earlier = sorted(directory.glob("part-*"))
    if earlier and not args.force:
        raise ClauseError([Diagnostic(f"already holds {len(earlier)} partition files; not overwriting them",
                                      Span(given, 0, 0, 0, 0),
                                      help="pass --force to replace them, or choose another -o DIR/")])
    for old in earlier:
        old.unlink()
    return directory
