"""`clause sweep`: a base scenario with some facts varied over a grid, as a table and a chart.

    clause sweep CONTRACT BASE --vary consideration=50e6..150e6:1e6 \\
        --vary average_current_market_price=2.00..4.00:0.05 --plot adjustment_triggered -o sweep.csv

Each ``--vary FACT=FROM..TO:STEP`` is an axis of exact decimal values (FROM,
FROM+STEP, ... up to TO included). The axes form a grid (every combination,
the first axis varying slowest) or, with ``--parallel``, are zipped (OpenFisca's
parallel axes: they must have as many points). The scenarios are the base
scenario's facts with the varied ones replaced; they are evaluated as a table
by the columnar evaluator (runner/run.py), and the table has one column per
axis before the results. ``--plot RESULT`` draws RESULT over one axis (a line)
or two (a heat map), marking where a boolean result flips; the chart goes to
``--plot-output`` (PNG or SVG by its extension; default: RESULT.png).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from engine import types as T
from engine.check import Program
from engine.errors import ClauseError, Diagnostic, Span
from engine.values import encode

MAX_POINTS = 5_000_000
_AXIS = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^.]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*\.\.\s*"
                   r"([^:]+)\s*:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Axis:
    fact: str
    values: tuple[Decimal, ...]


def _usage(message: str, help: str | None = None) -> ClauseError:
    return ClauseError([Diagnostic(message, Span("<command line>", 0, 0, 0, 0), help=help)])


def parse_axis(text: str, program: Program) -> Axis:
    match = _AXIS.match(text)
    if not match:
        raise _usage(f"--vary {text}: expected FACT=FROM..TO:STEP", help="e.g. --vary consideration=50e6..150e6:1e6")
    fact, low, high, step = match.groups()
    if fact not in program.facts:
        from engine.errors import did_you_mean

        hint = did_you_mean(fact, list(program.facts))
        raise _usage(f"--vary: the contract has no fact `{fact}`", help=hint)
    kind = T.strip_optional(program.facts[fact].type)
    if kind not in (T.INTEGER, T.MONEY, T.DECIMAL):
        raise _usage(f"--vary {fact}: only numbers (integer, money, decimal) can be varied; `{fact}` is {kind}")
    try:
        first, last, stride = Decimal(low.strip()), Decimal(high.strip()), Decimal(step.strip())
    except InvalidOperation:
        raise _usage(f"--vary {text}: FROM, TO and STEP must be numbers such as 2.00, 50e6 or 0.05") from None
    if not stride > 0 or last < first:
        raise _usage(f"--vary {text}: STEP must be positive and TO at least FROM")
    count = int((last - first) / stride) + 1
    if count > MAX_POINTS:
        raise _usage(f"--vary {text}: {count:,} points is more than {MAX_POINTS:,}")
    values = tuple(first + i * stride for i in range(count))
    if kind == T.INTEGER and any(v != v.to_integral_value() for v in values):
        raise _usage(f"--vary {text}: `{fact}` is an integer; FROM and STEP must be whole numbers")
    return Axis(fact, values)


def _cell(value: Decimal, kind: T.Type) -> str:
    if kind == T.INTEGER:
        return str(int(value))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def grid(axes: list[Axis], parallel: bool) -> list[tuple[Decimal, ...]]:
    if parallel:
        lengths = {len(a.values) for a in axes}
        if len(lengths) > 1:
            raise _usage("--parallel axes must have as many points: " +
                         ", ".join(f"{a.fact} has {len(a.values)}" for a in axes))
        return list(zip(*(a.values for a in axes), strict=True))
    points = 1
    for axis in axes:
        points *= len(axis.values)
    if points > MAX_POINTS:
        raise _usage(f"the grid has {points:,} points, more than {MAX_POINTS:,}")
    return list(itertools.product(*(a.values for a in axes)))


def sweep_table(program: Program, base: dict[str, object], axes: list[Axis], points: list[tuple[Decimal, ...]]) -> Any:
    """The scenarios as a table of text cells, as `clause run` reads a CSV table."""
    import pyarrow as pa

    varied = {a.fact for a in axes}
    columns: dict[str, Any] = {}
    names = [" ".join(f"{a.fact}={format(v, 'f')}"
                      for a, v in zip(axes, point, strict=True)) for point in points]
    columns["scenario"] = pa.array(names, pa.string())
    size = len(points)
    for name, value in base.items():
        if name in varied:
            continue
        encoded = encode(value, program.facts[name].type)
        text = "null" if encoded is None else encoded if isinstance(encoded, str) else \
            ("true" if encoded is True else "false") if isinstance(encoded, bool) else \
            json.dumps(encoded) if isinstance(encoded, (list, dict)) else str(encoded)
        columns[name] = pa.array([text] * size, pa.string())
    for index, axis in enumerate(axes):
        kind = T.strip_optional(program.facts[axis.fact].type)
        columns[axis.fact] = pa.array([_cell(point[index], kind) for point in points], pa.string())
    return pa.table(columns)


def sweep_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from engine.api import load_contract
    from engine.outputs import atomic_output, check_destination
    from engine.scenario import load_scenario, validate_facts
    from runner.run import TableRunner, default_results, open_writer
    from runner.tables import TableBatch

    program = load_contract(args.contract)
    scenario = load_scenario(args.scenario)
    base = validate_facts(program, scenario).values
    axes = [parse_axis(text, program) for text in args.vary]
    if not axes:
        raise _usage("give at least one --vary FACT=FROM..TO:STEP")
    if args.plot and args.plot not in program.results:
        raise _usage(f"--plot: the contract has no result `{args.plot}`")
    if args.plot and len(axes) > 2 and not args.parallel:
        raise _usage("--plot draws over one or two axes")
    destination = Path(args.output) if args.output else None
    chart = Path(args.plot_output) if args.plot_output else Path(f"{args.plot}.png") if args.plot else None
    for path in (destination, chart):
        if path is not None:
            check_destination(path, force=args.force, inputs=[args.contract, args.scenario])
    points = grid(axes, args.parallel)
    table = sweep_table(program, dict(base), axes, points)
    given = frozenset(n for n in table.column_names if n in program.facts)
    chosen = [n.strip() for n in args.results.split(",")] if args.results else default_results(program, given)
    if args.plot and args.plot not in chosen:
        chosen.append(args.plot)
    unknown_names = [n for n in chosen if n not in program.results]
    if unknown_names:
        raise _usage(f"--results: the contract has no result `{unknown_names[0]}`")
    fmt = args.format
    runner = TableRunner(program, "csv", chosen)  # cells by result, whatever the output format
    facts = table.drop_columns(["scenario"])
    batch = TableBatch(str(args.scenario), table.column("scenario").to_pylist(), list(range(1, len(points) + 1)),
                       facts, 0, None)
    outcomes = runner.batch(batch)
    if not args.results:  # by default the results the axes move: one value on every point is not a column
        moved = [n for n in chosen if n == args.plot or len({repr(o.cells.get(n)) for o in outcomes}) > 1]
        if moved != chosen:  # again, for the `missing` column of the results shown
            chosen = moved
            outcomes = TableRunner(program, "csv", chosen).batch(batch)
    failures = [o for o in outcomes if o.failed]
    for outcome in failures[:20]:
        err.write(f"scenario {outcome.name}: failed\n{outcome.report}\n")
    binary = fmt == "parquet"
    if binary and destination is None:
        raise _usage("--format parquet writes a file: give it with -o FILE")
    import contextlib

    output: contextlib.AbstractContextManager[Any] = \
        atomic_output(destination, binary=binary, **({} if binary else {"newline": ""})) \
        if destination else contextlib.nullcontext(out)
    with output as handle:
        writer = open_writer(program, fmt, handle, chosen, axes=[a.fact for a in axes])
        writer.write(outcomes, axes_values=points)
        writer.close()
    if chart is not None:
        kind = T.strip_optional(program.rules[args.plot].type)
        values = [o.cells.get(args.plot) for o in outcomes]
        with atomic_output(chart, binary=True, what="the chart") as handle:
            plot(handle, chart.suffix.lower().lstrip(".") or "png", args.plot, kind, axes, points, values,
                 args.parallel)
    err.write(f"{len(outcomes)} scenarios, {len(failures)} failed"
              + (f"; written to {destination}" if destination else "")
              + (f"; chart in {chart}" if chart else "") + "\n")
    return 1 if failures else 0


def _number(value: Any) -> float | None:
    """A value as a coordinate of the chart (display only: the table holds the exact values)."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "encoded":
        value = value[1]
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        value = value.rstrip("%")
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def plot(handle: Any, fmt: str, result: str, kind: T.Type, axes: list[Axis], points: list[tuple[Decimal, ...]],
         values: list[Any], parallel: bool) -> None:
    """RESULT over one axis (a line) or two (a heat map); where a boolean result flips is marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numbers = [_number(v) for v in values]
    figure, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    boolean = kind == T.BOOLEAN
    if len(axes) == 1 or parallel:
        xs = [float(p[0]) for p in points]
        ys = [float("nan") if n is None else n for n in numbers]
        if boolean:
            ax.step(xs, ys, where="mid", color="#1f4e79")
            ax.set_yticks([0, 1], ["false", "true"])
        else:
            ax.plot(xs, ys, color="#1f4e79", marker="." if len(xs) <= 60 else None)
        for index in range(1, len(points)):
            if boolean and numbers[index] is not None and numbers[index - 1] is not None \
                    and numbers[index] != numbers[index - 1]:
                at = (xs[index] + xs[index - 1]) / 2
                ax.axvline(at, color="#c0392b", linestyle="--", linewidth=1)
                ax.annotate(f"flips between {axes[0].fact} = {points[index - 1][0]:,f} and {points[index][0]:,f}",
                            (at, 0.5), rotation=90,
                            color="#c0392b", fontsize=8, ha="right", va="center")
        ax.set_xlabel(axes[0].fact)
        ax.set_ylabel(result)
    else:
        import numpy as np

        xs = [float(v) for v in axes[1].values]
        ys = [float(v) for v in axes[0].values]
        grid_values = np.array([float("nan") if n is None else n for n in numbers]).reshape(len(ys), len(xs))
        if boolean:  # two colours, not a gradient: a boolean has no values between
            from matplotlib.colors import BoundaryNorm, ListedColormap

            mesh = ax.pcolormesh(xs, ys, grid_values, shading="nearest",
                                 cmap=ListedColormap(["#dfe7ef", "#1f4e79"]), norm=BoundaryNorm([-0.5, 0.5, 1.5], 2))
        else:
            mesh = ax.pcolormesh(xs, ys, grid_values, shading="nearest", cmap="viridis")
        bar = figure.colorbar(mesh, ax=ax, label=result)
        if boolean:
            bar.set_ticks([0, 1], labels=["false", "true"])
            if np.nanmin(grid_values) != np.nanmax(grid_values) and len(xs) > 1 and len(ys) > 1:
                lines = ax.contour(xs, ys, grid_values, levels=[0.5], colors="black", linewidths=1.5)
                ax.clabel(lines, fmt={0.5: "flips"}, fontsize=8)
        ax.set_xlabel(axes[1].fact)
        ax.set_ylabel(axes[0].fact)
    from matplotlib.ticker import FuncFormatter

    # The axes' own numbers, with thousands separators: 50,000,000, not 0.5 and "1e8" in a corner.
    plain = FuncFormatter(lambda value, _position: f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    if not (boolean and (len(axes) == 1 or parallel)):
        ax.yaxis.set_major_formatter(plain)
    ax.set_title(f"{result} over {' and '.join(a.fact for a in axes)}")
    figure.tight_layout()
    figure.savefig(handle, format="svg" if fmt == "svg" else "png")
    plt.close(figure)
