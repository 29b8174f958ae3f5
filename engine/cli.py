"""`clause`: check clause files, evaluate scenarios, write memos.

Every error a user can cause is printed as FILE:LINE:COL: error: MESSAGE
(with a source excerpt and a hint where there is one) and exits non-zero;
no user ever sees a Python traceback. Set CLAUSE_DEBUG=1 to see one for an
internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from engine.errors import ClauseError, Diagnostic, Span

EXIT_OK = 0
EXIT_FAILED = 1  # bad input, a failing check or a failing test
EXIT_USAGE = 2
EXIT_INTERNAL = 70

DESCRIPTION = """\
clause encodes contract clauses in a small language and evaluates them
against the facts of a scenario, citing the sections it relied on.

examples:
  clause check contracts/*.clause
  clause eval contracts/special_conversion.clause examples/special_conversion/holder_converts.yaml
  clause eval CONTRACT SCENARIO --format json
  clause memo CONTRACT SCENARIO -o memo.html --format html
  clause schema contracts/series_b_preferred.clause
  clause run CONTRACT examples/series_b/ --format jsonl
  clause test examples/
  clause serve . --port 8421
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in the project's format and a did-you-mean."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "invalid choice" in message and "'" in message:
            wrong = message.split("'")[1]
            close = difflib.get_close_matches(wrong, COMMANDS, n=1)
            if close:
                hint = f"\n  = help: did you mean `{close[0]}`?"
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}{hint}\n")
        raise SystemExit(EXIT_USAGE)


COMMANDS = ("check", "eval", "schema", "memo", "run", "test", "fmt", "serve", "lsp")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="clause", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    check = sub.add_parser("check", help="parse and check clause files, verifying every quote",
                           description="Parse and check clause files: names, types and units, citations, "
                           "readings, and every quoted passage against its source document. "
                           "Every problem is reported at once.")
    check.add_argument("paths", nargs="+", metavar="PATH", help="clause files or directories of them")

    ev = sub.add_parser("eval", help="evaluate one scenario against a contract",
                        description="Evaluate one scenario (YAML or JSON) against a contract and print "
                        "every result. Results that need facts the scenario does not give are "
                        "undetermined and name the facts they wait for.")
    ev.add_argument("contract", metavar="CONTRACT", help="the clause file")
    ev.add_argument("scenario", metavar="SCENARIO", help="the scenario file (.yaml, .yml or .json)")
    ev.add_argument("--format", choices=("text", "json"), default="text", help="text table (default) or JSON")
    ev.add_argument("--trace", action="store_true", help="with --format json: include the evaluation trace")
    ev.add_argument("--full-lists", action="store_true",
                    help="with --trace: every item of a long list (by default its first and last items and a count)")

    schema = sub.add_parser("schema", help="print the JSON Schema of a contract's scenario facts",
                            description="Print the JSON Schema of the `facts` a scenario may give.")
    schema.add_argument("contract", metavar="CONTRACT", help="the clause file whose facts to describe")

    memo = sub.add_parser("memo", help="write the explanatory memo for a scenario",
                          description="Render a memo that explains each outcome and cites the clauses.")
    memo.add_argument("contract", metavar="CONTRACT", help="the clause file")
    memo.add_argument("scenario", metavar="SCENARIO", help="the scenario file (.yaml, .yml or .json) to explain")
    memo.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    memo.add_argument("--format", choices=("md", "html", "docx"), default=None,
                      help="md (default), html or docx; taken from the -o extension when not given")
    memo.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    # The heading; each overrides the scenario's `memo:` key of the same name.
    memo.add_argument("--to", help="the To line (default: the scenario's memo.to, else File)")
    memo.add_argument("--from", dest="sender", metavar="FROM", help="the From line")
    memo.add_argument("--re", help="the Re line (default: the scenario's memo.re, else its title)")
    memo.add_argument("--date", help="the memo's date, YYYY-MM-DD (default: today)")
    memo.add_argument("--legend", help='printed on every page, e.g. "Privileged & Confidential", "Draft"')
    memo.add_argument("--full-lists", action="store_true",
                      help="the appendix writes out every item of a long list (by default its first and last items)")

    run = sub.add_parser("run", help="evaluate many scenarios",
                         description="Evaluate many scenarios: files, directories, globs, or CSV/JSONL "
                         "tables with one scenario per row.")
    run.add_argument("contract", metavar="CONTRACT", help="the clause file")
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                     help="scenario files, directories of them, globs, or CSV/JSONL/Parquet tables with a "
                     "scenario per row")
    run.add_argument("--format", choices=("jsonl", "csv", "table", "parquet"), default="table",
                     help="jsonl: one `clause eval --format json` object a line; csv, parquet (needs -o): "
                     "one column per result")
    run.add_argument("--results", metavar="A,B,C", default=None,
                     help="csv/parquet: the result columns (default: the results that vary with the table's "
                     "facts); jsonl: the results each line holds (default: every one)")
    run.add_argument("-o", "--output", metavar="FILE", help="the output file; DIR/ for a file per partition")
    run.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    run.add_argument("--workers", type=int, default=None,
                     help="worker processes, or Dask workers of the local cluster (default: every core)")
    run.add_argument("--engine", choices=("local", "dask"), default="local",
                     help="dask: tables in partitions on a Dask cluster (--scheduler, else a local cluster)")
    run.add_argument("--scheduler", metavar="ADDRESS", help="--engine dask: the scheduler, e.g. tcp://10.0.0.5:8786")
    run.add_argument("--evaluator", choices=("columnar", "scalar"), default="columnar",
                     help="tables: columnar (default), or every row by the scalar compiled path")
    run.add_argument("--partition-rows", type=int, default=None, metavar="N",
                     help="tables: rows per partition (a worker's task; a file of -o DIR/)")

    sweep = sub.add_parser("sweep", help="evaluate a grid of scenarios varying facts of a base scenario",
                           description="Vary facts of a base scenario over a grid (or parallel axes) and write "
                           "the results as a table; with --plot RESULT, a chart of a result over one or two axes "
                           "with the points where a boolean result flips marked.")
    sweep.add_argument("contract", metavar="CONTRACT", help="the clause file")
    sweep.add_argument("scenario", metavar="BASE_SCENARIO", help="the scenario whose facts the axes vary")
    sweep.add_argument("--vary", action="append", default=[], metavar="FACT=FROM..TO:STEP",
                       help="an axis: exact values FROM, FROM+STEP, ... up to TO (repeat for more axes)")
    sweep.add_argument("--parallel", action="store_true", help="zip the axes instead of taking every combination")
    sweep.add_argument("--format", choices=("csv", "parquet"), default="csv")
    sweep.add_argument("--results", metavar="A,B,C", default=None,
                       help="the result columns (default: the results that vary with the facts)")
    sweep.add_argument("-o", "--output", metavar="FILE")
    sweep.add_argument("--plot", metavar="RESULT", help="chart RESULT over the axes")
    sweep.add_argument("--plot-output", metavar="FILE", help="the chart's file, .png or .svg (default: RESULT.png)")
    sweep.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    test = sub.add_parser("test", help="run scenario test files that state expected results",
                          description="Run scenario test files: YAML with facts and the results expected.")
    test.add_argument("paths", nargs="+", metavar="PATH",
                      help="*.test.yaml files, or directories searched for them")

    fmt = sub.add_parser("fmt", help="lay out clause files the way the shipped contracts are written",
                         description="Rewrite clause files in place with the project's layout; comments and "
                         "quoted text are kept byte for byte. With --check, change nothing: list the files "
                         "that are not formatted (with a diff) and exit 1 if there are any.")
    fmt.add_argument("paths", nargs="+", metavar="PATH", help="clause files or directories of them")
    fmt.add_argument("--check", action="store_true", help="report unformatted files instead of rewriting them")
    for command in sub.choices.values():  # every subcommand reads clause files
        command.add_argument("--allow-outside", action="store_true",
                             help="let includes and source documents lie outside the contract's directory tree")

    serve = sub.add_parser("serve", help="the local web workbench: edit, check, evaluate, memo, test",
                           description="Start the workbench in the browser, on this machine only (127.0.0.1): "
                           "the contract with its diagnostics and source document, a scenario form, results "
                           "with their trace and memo, and test files. It reads and saves files only inside "
                           "PATH (a folder, default the current one, or a clause file to open first).")
    serve.add_argument("path", nargs="?", default=None, metavar="PATH",
                       help="the folder to work in (default: the current one), or a clause file to open first")
    serve.add_argument("--port", type=int, default=8421, help="the port to listen on (default 8421)")
    serve.add_argument("--open", action="store_true", help="open the workbench in the web browser")

    lsp = sub.add_parser("lsp", help="run the language server on stdin/stdout (for editors)",
                         description="The clause language server (Language Server Protocol over stdio): "
                         "diagnostics, hover, definitions, references, rename, completion, outline.")
    # Many clients (vscode-languageclient's stdio transport among them) pass --stdio.
    lsp.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default, and the only way)")
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        handler = _HANDLERS[args.command]
        with _widened(bool(getattr(args, "allow_outside", False))):
            return handler(args, out, err)
    except ClauseError as error:
        err.write(error.render() + "\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.write("clause: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:
        if os.environ.get("CLAUSE_DEBUG"):
            raise
        err.write(f"clause: internal error: {type(error).__name__}: {error}\n"
                  "  = help: this is a bug in clause; rerun with CLAUSE_DEBUG=1 for details\n")
        return EXIT_INTERNAL


@contextlib.contextmanager
def _widened(allow_outside: bool) -> Any:
    """--allow-outside for this command (and the worker processes it starts)."""
    if not allow_outside:
        yield
        return
    before = os.environ.get("CLAUSE_ALLOW_OUTSIDE")
    os.environ["CLAUSE_ALLOW_OUTSIDE"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["CLAUSE_ALLOW_OUTSIDE"]
        else:
            os.environ["CLAUSE_ALLOW_OUTSIDE"] = before


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from engine.api import load_contract

    paths: list[Path] = []
    for given in args.paths:
        path = Path(given)
        if path.is_dir():
            paths.extend(sorted(path.glob("*.clause")))
        else:
            paths.append(path)
    failed = 0
    for path in paths:
        if not path.exists():
            err.write(Diagnostic(f"no such clause file: {path}", Span(str(path), 0, 0, 0, 0)).render() + "\n")
            failed += 1
            continue
        try:
            program = load_contract(path)
        except ClauseError as error:
            err.write(error.render() + "\n")
            failed += 1
            continue
        for warning in program.warnings:
            err.write(warning.render(program.sources) + "\n")
        quotes = sum(len(s.quotes) for s in program.sections.values())
        out.write(f"{path}: ok ({len(program.sections)} sections, {quotes} quotes verified, "
                  f"{len(program.facts)} facts, {len(program.results)} results)\n")
    if failed:
        err.write(f"{failed} of {len(paths)} file(s) failed the check\n")
    return EXIT_FAILED if failed else EXIT_OK


def _eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from engine.api import evaluate, load_contract
    from engine.scenario import load_scenario

    if args.trace and args.format != "json":
        err.write("clause eval: error: --trace goes with --format json (the memo explains a text outcome: "
                  "clause memo)\n")
        return EXIT_USAGE
    program = load_contract(args.contract)
    scenario = load_scenario(args.scenario)
    outcome = evaluate(program, scenario, trace=args.trace, full_lists=args.trace and args.full_lists)
    if args.format == "json":
        data: dict[str, Any] = outcome.to_json()
        if args.trace:
            from render.trace import trace_json

            data["trace"] = trace_json(outcome, full=args.full_lists)
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        from render.table import results_table

        out.write(results_table(outcome) + "\n")
    for problem in outcome.errors:
        err.write(Diagnostic(f"cannot compute `{problem.rule}`: {problem.message}", problem.span)
                  .render(program.sources) + "\n")
    return EXIT_FAILED if outcome.errors else EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from engine.api import load_contract

    program = load_contract(args.contract)
    out.write(json.dumps(scenario_schema(program), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def scenario_schema(program: Any) -> dict[str, Any]:
    """The JSON Schema of a scenario for a checked contract: what `clause schema` prints."""
    from engine.scenario import scenario_model

    facts = scenario_model(program).model_json_schema()
    _schema_defaults(program, facts)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Scenario for {program.header.title}",
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "facts": facts,
        },
        "required": ["facts"],
        "additionalProperties": False,
    }


def _schema_defaults(program: Any, facts: dict[str, Any]) -> None:
    """Each fact's own default in the schema (pydantic would say null for all)."""
    from engine.evaluate import Evaluation
    from engine.values import Unknown, encode

    evaluation = Evaluation(program, {})
    for name, schema in facts.get("properties", {}).items():
        schema.pop("default", None)
        info = program.facts.get(name)
        if info is None or info.decl.default is None:
            continue
        value = evaluation.fact(name)
        if not isinstance(value, Unknown):
            schema["default"] = encode(value, info.type)


def _memo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from render.memo import memo_command

    return int(memo_command(args, out, err))


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from runner.allocator import tune_for_columns

    tune_for_columns()  # before the contract and the tables are read: every later array benefits
    from engine.batch import run_command

    return int(run_command(args, out, err))


def _sweep(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from runner.allocator import tune_for_columns

    tune_for_columns()
    from runner.sweep import sweep_command

    return int(sweep_command(args, out, err))


def _test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from engine.testing import test_command

    return int(test_command(args, out, err))


def _fmt(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from editor.fmt import fmt_command

    return fmt_command(args.paths, args.check, out, err)


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from workbench.app import serve

    if args.path is not None and not Path(args.path).exists():
        err.write(Diagnostic(f"no such file or folder: {args.path}", Span(args.path, 0, 0, 0, 0)).render() + "\n")
        return EXIT_FAILED
    if not 0 < args.port < 65536:
        err.write(f"clause serve: error: --port must be between 1 and 65535, not {args.port}\n")
        return EXIT_USAGE
    return int(serve(args.path, args.port, open_browser=args.open))


def _lsp(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from editor.lsp import serve

    serve()
    return EXIT_OK


_HANDLERS = {"check": _check, "eval": _eval, "schema": _schema, "memo": _memo, "run": _run, "sweep": _sweep,
             "test": _test, "fmt": _fmt, "serve": _serve, "lsp": _lsp}


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
