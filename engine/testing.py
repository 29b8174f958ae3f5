"""`clause test`: scenario files that state the results they expect.

A test file is a scenario file (YAML) with an ``expect:`` mapping next to its
facts, and/or a ``cases:`` list of ``{title, facts, expect}``; facts at the top
of the file are shared by every case (a case's own facts override them)::

    contract: ../../contracts/special_conversion.clause   # relative to this file
    title: Worked examples of the Special Conversion
    facts:                     # shared by every case
      owner_certificate_delivered: true
    cases:
      - title: A $1,000 Note at 8:00 p.m. New York time
        facts:
          notice_time: 2003-06-18T20:00:00-04:00
          principal_amount: 1000
          principal_to_convert: 1000
        expect:
          shares_issuable: 353
          conversion_permitted: true
          period_end: "2003-06-19T09:15:00-05:00"

Expected values are written in the canonical output encoding (`clause eval
--format json`). ``undetermined`` expects a result that waits for facts not
given, ``none`` the value none (e.g. no redemption happened); ``null`` accepts
either. Amounts compare as numbers (`0` matches `"0.00"`), datetimes compare
their instant and their UTC offset. Any result or define of the contract may
be expected.

A value without a finite decimal expansion (1000/3.327) is expected to a
precision: ``"≈300.571085"`` (within half a unit of the last digit written),
``{approx: "300.571085", places: 6}`` (the same, the places stated), or
``{approx: "300.57", tolerance: "0.01"}``; the 28 significant digits that
`clause eval` prints (and any longer correct rounding) also match as written.

The contract is the file's ``contract:`` key (a path relative to the test
file). Without it, the directory convention applies: a test file in a
directory named ``D`` tests ``contracts/D.clause`` or, failing that, the one
``contracts/D_*.clause``, in the nearest ancestor directory that has a
``contracts/`` folder (so ``examples/series_b/`` tests
``contracts/series_b_preferred.clause``).

``clause test PATH...`` runs the given files and every ``*.test.yaml`` under
the given directories; it prints a line per case, the details of every
failure (the case, the result, expected and actual, and the clause line that
produced the result), and ends with ``N passed, M failed``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import yaml

from engine import types as T
from engine.check import Program
from engine.errors import ClauseError, Diagnostic, SourceMap, Span, did_you_mean

TEST_PATTERNS = ("*.test.yaml", "*.test.yml")
FILE_KEYS = ("contract", "title", "description", "facts", "expect", "cases")
CASE_KEYS = ("title", "description", "facts", "expect")


@dataclass
class Case:
    """One scenario of a test file and the results it expects."""

    title: str
    line: int
    scenario: Any  # engine.scenario.Scenario
    expect: dict[str, Any] | None
    expect_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class TestFile:
    path: Path
    contract: Path | None
    cases: list[Case]


# ---------------------------------------------------------------- loading


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value}


def _span(shown: str, node: yaml.Node | None) -> Span:
    if node is None:
        return Span(shown, 1, 1, 1, 2)
    mark = node.start_mark
    return Span(shown, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2)


def load_test_file(path: Path, text: str | None = None) -> TestFile:
    """Read a test file (or a plain scenario file: one case, no expectations); ``text``, when
    given, stands for the file's content (an editor's unsaved text)."""
    from engine.scenario import Scenario, compose_and_load, fact_positions, load_scenario, parse_scenario

    shown = str(path)

    def scenario_file() -> Scenario:
        if text is None:
            return load_scenario(path)
        return parse_scenario(text, shown, json_format=path.suffix.lower() == ".json")

    if path.suffix.lower() == ".json":
        scenario = scenario_file()
        return TestFile(path, None, [Case(scenario.title or path.name, 1, scenario, scenario.expect)])
    from engine import limits

    try:
        if text is None:
            what = f"the test file {shown}"
            text = limits.decode_utf8(limits.read_bounded(path, limits.SCENARIO_FILE_BYTES, what), shown, what)
    except FileNotFoundError:
        raise ClauseError([Diagnostic(f"no such test file: {shown}", Span(shown, 0, 0, 0, 0))]) from None
    except (OSError, limits.LimitError) as error:
        raise ClauseError([Diagnostic(f"cannot read {shown}: {error}", Span(shown, 0, 0, 0, 0))]) from None
    limits.check_yaml(text, shown)  # nesting, alias expansion, digits: before anything is built
    try:
        root, data = compose_and_load(text)
    except yaml.YAMLError:
        scenario_file()  # reports the YAML error with its position
        raise
    if not isinstance(data, dict) or not ({"cases", "contract"} & set(data)):
        scenario = scenario_file()
        expect = scenario.expect if isinstance(scenario.expect, dict) else None
        return TestFile(path, None, [Case(scenario.title or path.name, 1, scenario, expect,
                                          _expect_lines(_mapping(root).get("expect")))])
    sources = SourceMap()
    sources.add(shown, text)
    nodes = _mapping(root)
    problems = [Diagnostic(f"unknown key `{key}` in a test file", _span(shown, nodes.get(key)),
                           help=did_you_mean(str(key), FILE_KEYS) or "a test file has " + ", ".join(FILE_KEYS))
                for key in data if key not in FILE_KEYS]
    contract = None
    if data.get("contract") is not None:
        contract = path.parent / str(data["contract"])
    shared = data.get("facts") or {}
    if not isinstance(shared, dict):
        problems.append(Diagnostic("`facts` must be a mapping of fact names to values",
                                   _span(shown, nodes.get("facts"))))
        shared = {}
    shared_positions = fact_positions(nodes.get("facts"))
    cases: list[Case] = []
    if data.get("expect") is not None:
        title = str(data.get("title") or path.name)
        scenario = Scenario(shown, title, _text(data.get("description")), dict(shared), shared_positions, sources)
        cases.append(Case(title, _span(shown, nodes.get("expect")).line, scenario, _expect(data["expect"]),
                          _expect_lines(nodes.get("expect"))))
    raw_cases = data.get("cases") or []
    case_nodes = nodes.get("cases")
    node_list = case_nodes.value if isinstance(case_nodes, yaml.SequenceNode) else []
    if not isinstance(raw_cases, list):
        problems.append(Diagnostic("`cases` is a list of {title, facts, expect}", _span(shown, case_nodes)))
        raw_cases = []
    for index, (raw, node) in enumerate(zip(raw_cases, node_list, strict=False), start=1):
        case_fields = _mapping(node)
        if not isinstance(raw, dict):
            problems.append(Diagnostic("a case is a mapping with `title`, `facts` and `expect`", _span(shown, node)))
            continue
        problems.extend(Diagnostic(f"unknown key `{key}` in a case", _span(shown, case_fields.get(key)),
                                   help=did_you_mean(str(key), CASE_KEYS) or "a case has " + ", ".join(CASE_KEYS))
                        for key in raw if key not in CASE_KEYS)
        facts = raw.get("facts") or {}
        if not isinstance(facts, dict):
            problems.append(Diagnostic("`facts` must be a mapping of fact names to values",
                                       _span(shown, case_fields.get("facts"))))
            continue
        title = str(raw.get("title") or f"case {index}")
        positions = {**shared_positions, **fact_positions(case_fields.get("facts"))}
        scenario = Scenario(shown, title, _text(raw.get("description")), {**shared, **facts}, positions, sources)
        cases.append(Case(title, _span(shown, node).line, scenario, _expect(raw.get("expect")),
                          _expect_lines(case_fields.get("expect"))))
    if problems:
        raise ClauseError(problems, sources)
    return TestFile(path, contract, cases)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _expect(value: object) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def _expect_lines(node: yaml.Node | None) -> dict[str, int]:
    return {name: value.start_mark.line + 1 for name, value in _mapping(node).items()}


def case_scenarios(path: Path) -> list[tuple[str, Any]]:
    """(title, Scenario) of every case of a file, for `clause run`."""
    test = load_test_file(path)
    if len(test.cases) == 1 and not test.cases[0].scenario.raw.get("cases") and test.contract is None:
        return [(str(path), test.cases[0].scenario)]
    return [(f"{path}#{case.title}", case.scenario) for case in test.cases]


def contract_for(test: TestFile) -> Path | None:
    """The contract a test file tests: its `contract:` key, or the directory convention."""
    if test.contract is not None:
        return test.contract
    directory = test.path.resolve().parent
    stem = directory.name
    for ancestor in (directory, *directory.parents):
        contracts = ancestor / "contracts"
        if not contracts.is_dir():
            continue
        exact = contracts / f"{stem}.clause"
        if exact.exists():
            return _relative(exact)
        candidates = sorted(contracts.glob(f"{stem}_*.clause"))
        if len(candidates) == 1:
            return _relative(candidates[0])
        return None
    return None


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


# ---------------------------------------------------------------- comparing


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip().replace(",", "").replace("_", "").replace("$", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _moment(value: Any) -> dt.datetime | None:
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


UNDETERMINED = "undetermined"
NONE = "none"
_ENCODED_ONLY = object()


def matches(expected: Any, actual: Any, t: T.Type, value: Any = _ENCODED_ONLY) -> bool:
    """Whether an expected value (as written in the test file) matches a result:
    ``actual`` is its canonical encoding, ``value`` the value itself (which tells
    undetermined from none, and holds a non-terminating number exactly)."""
    from engine.values import SIGNIFICANT_DIGITS, Unknown

    known = value is not _ENCODED_ONLY
    if isinstance(expected, str) and expected in (UNDETERMINED, NONE) and T.strip_optional(t) != T.TEXT:
        if not known:
            return actual is None
        return isinstance(value, Unknown) if expected == UNDETERMINED else value is None
    base = T.strip_optional(t)
    approximation = _approximation(expected, base)
    if approximation is not None:
        exact = _exact_number(value if known else actual, base)
        target, tolerance = approximation
        return exact is not None and abs(exact - target) <= tolerance
    if expected is None or actual is None:
        return expected is None and actual is None
    if base == T.BOOLEAN or isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(value, Fraction) and base in (T.MONEY, T.DECIMAL, T.PERCENT):
        # A non-terminating value written out to at least the digits `clause eval`
        # shows matches when it is the value rounded at its last digit.
        written = _decimal(str(expected).rstrip().removesuffix("%"))
        if written is None or len(written.as_tuple().digits) < SIGNIFICANT_DIGITS:
            return False
        return abs(Fraction(written) / (100 if base == T.PERCENT else 1) - value) <= _half_unit(written, base)
    if base in (T.MONEY, T.DECIMAL, T.INTEGER):
        left, right = _decimal(expected), _decimal(actual)
        return left is not None and right is not None and left == right
    if base == T.PERCENT:
        left = _decimal(str(expected).rstrip().removesuffix("%")) if str(expected).rstrip().endswith("%") else None
        right = _decimal(str(actual).removesuffix("%"))
        return left is not None and right is not None and left == right
    if base == T.DATETIME:
        a, b = _moment(expected), _moment(actual)
        return a is not None and b is not None and a == b and a.utcoffset() == b.utcoffset()
    if base == T.DURATION and isinstance(expected, int):
        return bool(actual == f"P{expected}D")
    if isinstance(base, T.ListType):
        items = value if known and isinstance(value, tuple) else [_ENCODED_ONLY] * len(actual or ())
        return isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual) and all(
            matches(e, a, base.element, v) for e, a, v in zip(expected, actual, items, strict=False))
    if isinstance(base, T.RecordType):
        fields = dict(base.fields)
        record = value if known and isinstance(value, dict) else {}
        return isinstance(expected, dict) and isinstance(actual, dict) and set(expected) == set(actual) and all(
            matches(expected[k], actual[k], fields.get(k, T.ANY), record.get(k, _ENCODED_ONLY)) for k in expected)
    return str(expected) == str(actual) if isinstance(expected, str) else bool(expected == actual)


def _half_unit(written: Decimal, base: T.Type) -> Fraction:
    exponent = written.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 0
    return Fraction(1, 2 * 10 ** places) / (100 if base == T.PERCENT else 1)


def _approximation(expected: Any, base: T.Type) -> tuple[Fraction, Fraction] | None:
    """``"≈X"``, ``{approx: X, places: N}`` or ``{approx: X, tolerance: T}`` as (X, the
    largest distance allowed), in the value's own units (a percent as a fraction)."""
    scale = 100 if base == T.PERCENT else 1
    if isinstance(expected, str) and expected.startswith("≈"):
        written = _decimal(expected[1:].strip().removesuffix("%"))
        if written is None:
            return None
        return Fraction(written) / scale, _half_unit(written, base)
    if not (isinstance(expected, dict) and "approx" in expected and set(expected) <= {"approx", "places", "tolerance"}):
        return None
    written = _decimal(str(expected["approx"]).strip().removesuffix("%"))
    if written is None:
        return None
    if "tolerance" in expected:
        tolerance = _decimal(str(expected["tolerance"]).strip().removesuffix("%"))
        allowed = Fraction(tolerance) / scale if tolerance is not None else Fraction(0)
    elif "places" in expected and isinstance(expected["places"], int):
        allowed = Fraction(1, 2 * 10 ** expected["places"]) / scale
    else:
        allowed = _half_unit(written, base)
    return Fraction(written) / scale, allowed


def approximation_problem(expected: Any, t: T.Type) -> str | None:
    """What is wrong with an expectation written to a precision (``"≈X"``, ``{approx: X,
    places: N}``, ``{approx: X, tolerance: T}``), or None when it is well formed or not one."""
    if T.strip_optional(t) not in (T.MONEY, T.DECIMAL, T.PERCENT, T.INTEGER):
        return None  # a record may well have a field named `approx`
    if isinstance(expected, str) and expected.startswith("≈"):
        if _decimal(expected[1:].strip().removesuffix("%")) is None:
            return f"{json.dumps(expected, ensure_ascii=False)} is not a number after `≈` (write e.g. \"≈300.571085\")"
        return None
    if not (isinstance(expected, dict) and "approx" in expected):
        return None
    extra = sorted(str(k) for k in expected if k not in ("approx", "places", "tolerance"))
    if extra:
        return (f"has {', '.join(f'`{k}`' for k in extra)} beside `approx`; an approximate expectation takes "
                "`places: N` or `tolerance: T`")
    if "places" in expected and "tolerance" in expected:
        return "states both `places` and `tolerance`; give one"
    if _decimal(str(expected["approx"]).strip().removesuffix("%")) is None or isinstance(expected["approx"], bool):
        return f"`approx: {expected['approx']}` is not a number (write it as a string, e.g. approx: \"300.57\")"
    places = expected.get("places", 0)
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        return f"`places: {places}` is not a whole number of decimal places (e.g. places: 2)"
    if "tolerance" in expected:
        tolerance = _decimal(str(expected["tolerance"]).strip().removesuffix("%"))
        if tolerance is None or isinstance(expected["tolerance"], bool) or tolerance < 0:
            return (f"`tolerance: {expected['tolerance']}` is not a distance of zero or more "
                    "(e.g. tolerance: \"0.005\")")
    return None


def _to_places(value: Fraction, base: T.Type, places: int) -> str:
    """A value rounded half even to ``places`` decimals, as an expectation writes it."""
    scaled = value * (100 if base == T.PERCENT else 1) * 10 ** places
    return f"{Decimal(round(scaled)).scaleb(-places):f}{'%' if base == T.PERCENT else ''}"


def _exact_number(value: Any, base: T.Type) -> Fraction | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (Fraction, Decimal, int)):
        return Fraction(value)
    if isinstance(value, str):  # an encoded value
        written = _decimal(value.removesuffix("%"))
        if written is None:
            return None
        return Fraction(written) / (100 if value.endswith("%") else 1)
    return None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(str(value), ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


# ---------------------------------------------------------------- running


@dataclass
class CaseOutcome:
    passed: bool
    lines: list[str]


def run_case(program: Program, case: Case) -> CaseOutcome:
    from engine.api import evaluate
    from engine.values import Unknown, encode, is_rounded

    if not case.expect:
        return CaseOutcome(False, [f"{case.scenario.path}:{case.line}: error: the case `{case.title}` expects "
                                   "nothing; add `expect:` with the results it should produce"])
    try:
        outcome = evaluate(program, case.scenario)
    except ClauseError as error:
        return CaseOutcome(False, [error.render()])
    problems: list[str] = []
    for name, expected in case.expect.items():
        where = f"{case.scenario.path}:{case.expect_lines.get(name, case.line)}"
        info = program.rules.get(str(name))
        if info is None:
            hint = did_you_mean(str(name), program.rules)
            problems.append(f"{where}: error: `{name}` is not a result of {program.path}"
                            + (f" ({hint})" if hint else ""))
            continue
        malformed = approximation_problem(expected, info.type)
        if malformed is not None:
            problems.append(f"{where}: error: the expectation for `{name}`: {malformed}")
            continue
        done = outcome.evaluation.rule(str(name))
        value = done.value
        actual = encode(value, info.type)
        if done.error is None and matches(expected, actual, info.type, value):
            continue
        if done.error is not None:
            shown = f"error: {done.error.message} ({done.error.span})"
        elif isinstance(value, Unknown):
            shown = f"null (undetermined: waits for {', '.join(sorted(value.missing))})"
        elif value is None:
            shown = "null (none)"
        else:
            shown = _shown(actual) + (" (rounded: the exact value does not terminate)" if is_rounded(value) else "")
        span = info.decl.span
        section = f", section {info.section}" if info.section else ""
        lines = [f"{where}: `{name}`",
                 f"    expected: {_shown(expected)}",
                 f"    actual:   {shown}",
                 f"    produced by {span} ({'result' if info.public else 'define'} `{name}`{section})"]
        source_line = program.sources.line(span.file, span.line)
        if source_line is not None:
            lines.append(f"      {span.line} | {source_line.strip()}")
        base = T.strip_optional(info.type)
        if done.error is None and isinstance(value, Fraction) and _approximation(expected, base) is None:
            lines.append(f"    help: the exact value has no finite decimal expansion; expect it to a precision, "
                         f"e.g. \"≈{_to_places(value, base, 6)}\" or {{approx: \"{_to_places(value, base, 2)}\", "
                         "places: 2} (docs/scenarios.md)")
        problems.extend(lines)
    return CaseOutcome(not problems, problems)


def discover(paths: list[str]) -> tuple[list[Path], list[str]]:
    found: list[Path] = []
    missing: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted({p for pattern in TEST_PATTERNS for p in path.rglob(pattern)})
            if not files:
                missing.append(f"{given}: no *.test.yaml files")
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            missing.append(f"{given}: no such file or directory")
    return found, missing


def iter_results(paths: list[str]) -> Iterator[tuple[str, CaseOutcome | None, str]]:
    """(file, outcome or None for a file-level problem, heading or message) in order."""
    from engine.api import load_contract

    programs: dict[str, Program | ClauseError] = {}
    files, missing = discover(paths)
    for message in missing:
        yield (message, None, f"error: {message}")
    for path in files:
        shown = str(path)
        try:
            test = load_test_file(path)
        except ClauseError as error:
            yield (shown, None, error.render())
            continue
        contract = contract_for(test)
        if contract is None:
            yield (shown, None, f"{shown}: error: no contract for this test file\n"
                   "  = help: add `contract: path/to/contract.clause` (relative to the test file), or keep the "
                   "file in a directory named after a contract in contracts/")
            continue
        key = str(contract)
        if key not in programs:
            try:
                programs[key] = load_contract(contract)
            except ClauseError as error:
                programs[key] = error
        program = programs[key]
        if isinstance(program, ClauseError):
            yield (shown, None, f"{shown}: error: its contract {contract} does not check\n" + program.render())
            continue
        for case in test.cases:
            yield (shown, run_case(program, case), f"{shown}:{case.line}: {case.title}")


def test_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    passed = failed = 0
    current = None
    for file, outcome, text in iter_results(list(args.paths)):
        if outcome is None:
            failed += 1
            out.write(f"ERROR {text}\n")
            continue
        if file != current:
            current = file
        if outcome.passed:
            passed += 1
            out.write(f"PASS  {text}\n")
        else:
            failed += 1
            out.write(f"FAIL  {text}\n")
            for line in outcome.lines:
                out.write(f"  {line}\n")
    out.write(f"{passed} passed, {failed} failed\n")
    return 1 if failed or not passed else 0
