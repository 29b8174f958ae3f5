"""What the workbench does, apart from HTTP: check, describe the facts, evaluate, test.

Every answer is a JSON-ready dict. The engine is reached through its public
interface only: ``engine.api`` (check_text, evaluate), the checker's
diagnostics, ``clause schema``'s JSON Schema, the trace as ``render.trace``
writes it, scenario and test-file parsing, and the memo (``workbench.memo``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
import itertools
import json
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from engine import types as T
from engine.api import CheckedText, Outcome, check_text, evaluate
from engine.check import Program
from engine.errors import ClauseError, Diagnostic, SourceMap
from engine.quotes import ELISION, SourceDocument, normalise, verify_quote
from engine.scenario import Scenario, parse_scenario
from workbench.files import Tree

CACHED_CHECKS = 16
_CLAUSE_POSITION = re.compile(r"(\S+\.clause)(:\d+:\d+)")
SCENARIO_NAME = "scenario.yaml"


class BadRequest(ValueError):
    """A request the workbench cannot act on, said in words for the page."""


# ---------------------------------------------------------------- diagnostics


def diagnostic_json(diagnostic: Diagnostic, tree: Tree, main: Path, sources: SourceMap | None) -> dict[str, Any]:
    span = diagnostic.span
    file = tree.relative(span.file) if span else ""
    in_main = span is not None and _same_file(span.file, main)
    return {
        "message": diagnostic.message,
        "help": diagnostic.help,
        "severity": diagnostic.severity,
        "extra": list(diagnostic.extra),
        "file": file,
        "main": in_main,
        "line": span.line if span else 0,
        "column": span.column if span else 0,
        "end_line": span.end_line if span else 0,
        "end_column": span.end_column if span else 0,
        "rendered": diagnostic.render(sources),
    }


def _same_file(shown: str, path: Path) -> bool:
    try:
        return Path(shown).resolve() == path.resolve()
    except OSError:
        return False


def error_json(error: ClauseError, tree: Tree, main: Path) -> list[dict[str, Any]]:
    return [diagnostic_json(d, tree, main, error.sources) for d in error.diagnostics]


# ---------------------------------------------------------------- source documents and quotes


@dataclass
class _Words:
    """The words of a source document with where each starts and ends in the raw text.

    Joined by single spaces they are the normalised text the checker verifies
    quotes against (engine.quotes: whitespace collapsed, page footers dropped)."""

    raw: str
    starts: list[int] = field(default_factory=list)  # in the normalised text
    spans: list[tuple[int, int]] = field(default_factory=list)  # in the raw text

    @staticmethod
    def of(raw: str) -> _Words:
        from engine.quotes import _PAGE_FOOTER

        blanked = _PAGE_FOOTER.sub(lambda m: " " * len(m[0]), raw)  # same length: offsets stay raw offsets
        words = _Words(raw)
        position = 0
        for match in re.finditer(r"\S+", blanked):
            words.starts.append(position)
            words.spans.append((match.start(), match.end()))
            position += len(match[0]) + 1
        return words

    def raw_range(self, start: int, end: int) -> tuple[int, int]:
        """The raw text covering normalised text [start, end)."""
        first = bisect.bisect_right(self.starts, start) - 1
        last = bisect.bisect_right(self.starts, max(end - 1, start)) - 1
        return (self.spans[first][0] + (start - self.starts[first]),
                min(self.spans[last][0] + (end - self.starts[last]), self.spans[last][1]))


def _closest_passage(fragment: str, document: SourceDocument) -> tuple[int, int] | None:
    """Word range of the passage a misquote is closest to (as engine.quotes reports it)."""
    words = fragment.split(" ")
    matcher = difflib.SequenceMatcher(None, document.words, words, autojunk=False)
    best = max(matcher.get_matching_blocks(), key=lambda block: block.size)
    if best.size == 0:
        return None
    start = max(best.a - best.b, 0)
    return start, min(start + len(words), len(document.words))


def source_view(tree: Tree, contract: Path, text: str, program: Program | None) -> dict[str, Any] | None:
    """The contract's source document, cut into segments marked by the quotes that cover them.

    A program that checks has the file's header and sections already (in file order); only a file
    that does not check is parsed again here, so typing in a large contract parses it once."""
    from engine import ast

    header: ast.Header | None
    if program is not None:
        header, file_sections = program.header, list(program.sections.values())
    else:
        from engine.parse import parse_text

        parsed = parse_text(text, str(contract)).file
        if parsed is None:
            return None
        header, file_sections = parsed.header, list(parsed.sections)
    if header is None or header.source is None:
        return None
    path = (contract.parent / header.source).resolve()
    if not path.is_relative_to(tree.root) or not path.is_file():
        return None
    raw = path.read_text(encoding="utf-8", errors="replace")
    document = SourceDocument.load(path)
    words = _Words.of(raw)
    marks: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    for section in file_sections:
        entry: dict[str, Any] = {"citation": section.citation, "title": section.title,
                                 "line": section.span.line, "quotes": []}
        for quote in section.quotes:
            index = len(marks)
            problem = verify_quote(quote.text, document)
            ranges: list[tuple[int, int]] = []
            differs: dict[str, Any] | None = None
            if problem is None:
                position = 0
                for fragment in (normalise(f) for f in quote.text.split(ELISION)):
                    if not fragment:
                        continue
                    found = document.text.find(fragment, position)
                    ranges.append(words.raw_range(found, found + len(fragment)))
                    position = found + len(fragment)
            else:
                earlier: list[str] = []  # the quote's words before the misquoted fragment
                for fragment in (normalise(f) for f in quote.text.split(ELISION)):
                    if fragment and document.text.find(fragment) >= 0:
                        earlier.extend(fragment.split(" "))
                    elif fragment:
                        closest = _closest_passage(fragment, document)
                        if closest is not None:
                            first, last = closest
                            ranges.append((words.spans[first][0], words.spans[last - 1][1]))
                            passage = list(document.words[first:last])
                            differs = _first_difference(fragment.split(" "), passage, first, words, earlier)
                        break
            marks.append({"index": index, "citation": section.citation, "verified": problem is None,
                          "message": problem.message if problem else None, "line": quote.span.line,
                          "column": quote.span.column, "end_line": quote.span.end_line,
                          "end_column": quote.span.end_column, "ranges": ranges, "differs": differs})
            entry["quotes"].append(index)
        sections.append(entry)
    return {"path": tree.relative(path), "segments": _segments(raw, marks), "marks": marks, "sections": sections}


def _first_difference(quoted: list[str], passage: list[str], first: int, words: _Words,
                      earlier: list[str]) -> dict[str, Any] | None:
    """Where a misquote parts from its closest passage (the word engine.quotes names): the quoted
    word and which occurrence of it in the quote it is, and that word's range in the source's raw text."""
    differ = next((i for i, (q, p) in enumerate(zip(quoted, passage, strict=False)) if q != p), None)
    if differ is None:
        return None
    source = words.spans[first + differ] if first + differ < len(words.spans) else None
    return {"quoted": quoted[differ], "occurrence": (earlier + quoted[:differ]).count(quoted[differ]),
            "source": list(source) if source else None}


def _segments(raw: str, marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw text cut at every mark boundary; each piece lists the marks covering it, and says
    whether it is the word where a misquote parts from the source."""
    bounds = {0, len(raw)}
    differing = [tuple(m["differs"]["source"]) for m in marks if m.get("differs") and m["differs"]["source"]]
    for mark in marks:
        for start, end in mark["ranges"]:
            bounds.update((start, end))
    for start, end in differing:
        bounds.update((start, end))
    cuts = sorted(bounds)
    out: list[dict[str, Any]] = []
    for start, end in itertools.pairwise(cuts):
        covering = [m["index"] for m in marks if any(s <= start and end <= e for s, e in m["ranges"])]
        segment: dict[str, Any] = {"text": raw[start:end], "marks": covering}
        if any(s <= start and end <= e for s, e in differing):
            segment["differs"] = True
        out.append(segment)
    return out


# ---------------------------------------------------------------- the fact form


def _kind(t: T.Type) -> dict[str, Any]:
    """How the page asks for a value of type t (the schema's shape, named)."""
    if isinstance(t, T.OptionalType):
        return {**_kind(t.inner), "nullable": True}
    if isinstance(t, T.ListType):
        return {"kind": "list", "items": _kind(t.element)}
    if isinstance(t, T.RecordType):
        return {"kind": "record", "record": t.name, "fields": [{"name": n, **_kind(ft)} for n, ft in t.fields]}
    if isinstance(t, T.EnumType):
        return {"kind": "enum", "members": list(t.members)}
    return {"kind": T.category(t)}


def fact_schema(program: Program) -> dict[str, Any]:
    """`clause schema`'s JSON Schema, each fact annotated with its clause type (``x-clause``), so the
    form asks for money, percents, dates, choices and records in their own terms."""
    from engine.cli import scenario_schema

    document = scenario_schema(program)
    facts = document["properties"]["facts"]
    for name, schema in facts.get("properties", {}).items():
        info = program.facts.get(name)
        if info is not None:
            schema["x-clause"] = _kind(info.type)
    return document


# ---------------------------------------------------------------- YAML text


def yaml_scalar(value: Any) -> str:
    """A value written back as YAML: exact numbers stay plain, text is double-quoted (JSON style)."""
    from engine.scenario import _ExactText

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, _ExactText)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


def yaml_block(data: Any, indent: int) -> list[str]:
    """Block-style YAML lines for a mapping or list, each indented by ``indent`` spaces."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.extend(yaml_block(value, indent + 2))
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(value) if not isinstance(value, (dict, list)) else '[]'}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, (dict, list)) and item:
                inner = yaml_block(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {yaml_scalar(item)}")
    return lines


# ---------------------------------------------------------------- the workbench


class Workbench:
    """The served tree and the contracts checked lately (by path and text)."""

    def __init__(self, root: Path):
        self.tree = Tree.at(root)
        self._checked: OrderedDict[tuple[str, str], CheckedText] = OrderedDict()

    # -------------------------------------------------------- contracts
    def checked(self, relative: str, text: str) -> tuple[Path, CheckedText]:
        path = self.tree.resolve(relative, (".clause",))
        key = (str(path), text)
        hit = self._checked.get(key)
        if hit is not None:
            self._checked.move_to_end(key)
            return path, hit
        escaping = self.tree.escaping_references(path, text)
        if escaping:
            from engine.errors import Span

            shown = str(path)
            sources = SourceMap()
            sources.add(shown, text)
            diagnostics = [Diagnostic(message, Span(shown, line, 1, line, 2) if line else Span(shown, 0, 0, 0, 0))
                           for line, message in escaping]
            result = CheckedText(None, diagnostics, sources)
        else:
            result = check_text(path, text)
        self._checked[key] = result
        while len(self._checked) > CACHED_CHECKS:
            self._checked.popitem(last=False)
        return path, result

    def program(self, relative: str, text: str) -> tuple[Path, Program]:
        path, result = self.checked(relative, text)
        if result.program is None:
            raise BadRequest("the contract does not check; fix the errors in the contract pane first")
        return path, result.program

    def check(self, relative: str, text: str) -> dict[str, Any]:
        path, result = self.checked(relative, text)
        diagnostics = [diagnostic_json(d, self.tree, path, result.sources) for d in result.diagnostics]
        program = result.program
        summary = None
        if program is not None:
            summary = {"title": program.header.title, "sections": len(program.sections),
                       "quotes": sum(len(s.quotes) for s in program.sections.values()),
                       "facts": len(program.facts), "results": len(program.results)}
        return {"ok": program is not None, "diagnostics": diagnostics, "summary": summary,
                "source": None if self.tree.escaping_references(path, text)
                else source_view(self.tree, path, text, program)}

    def schema(self, relative: str, text: str) -> dict[str, Any]:
        _, program = self.program(relative, text)
        return fact_schema(program)

    # -------------------------------------------------------- scenarios
    def scenario(self, text: str, shown: str | None) -> Scenario:
        return parse_scenario(text, shown or SCENARIO_NAME, json_format=(shown or "").lower().endswith(".json"))

    def parse_scenario(self, text: str, shown: str | None) -> dict[str, Any]:
        """A scenario's YAML as JSON for the form: numbers kept as their exact text."""
        scenario = self.scenario(text, shown)
        # Keys besides the facts (the memo's `ask:` and `memo:`, say) go back into the YAML the form writes.
        other = {k: v for k, v in scenario.raw.items() if k not in ("title", "description", "facts")}
        return {"title": scenario.title, "description": scenario.description,
                "facts": json.loads(json.dumps(scenario.facts, default=str)),
                "other": json.loads(json.dumps(other, default=str))}

    def outcome(self, relative: str, text: str, scenario_text: str, scenario_path: str | None) -> Outcome:
        _, program = self.program(relative, text)
        return evaluate(program, self.scenario(scenario_text, scenario_path), trace=True)

    def evaluate(self, relative: str, text: str, scenario_text: str, scenario_path: str | None) -> dict[str, Any]:
        from render.format import human
        from render.trace import trace_json

        path, program = self.program(relative, text)
        try:
            outcome = self.outcome(relative, text, scenario_text, scenario_path)
        except ClauseError as error:
            return {"ok": False, "diagnostics": error_json(error, self.tree, path)}
        results = []
        for name, result in outcome.results.items():
            info = program.rules[name]
            encoded = result.to_json()
            results.append({
                "name": name, "description": result.description, "type": encoded["type"],
                "value": encoded["value"], "missing": list(result.missing), "cites": result.cites,
                "readings": result.readings, "section": info.section, "line": info.decl.span.line,
                "display": None if not result.determined else human(result.value, result.type),
                "error": f"{result.error.message} ({self.tree.relative(result.error.span.file)}:"
                         f"{result.error.span.line})" if result.error else None,
            })
        given = sorted(outcome.scenario.facts) if outcome.scenario else []
        unknown = [name for name, info in program.facts.items()
                   if name not in given and info.decl.default is None]
        return {"ok": True, "results": results, "notes": outcome.notes, "given": given, "unknown": unknown,
                "trace": json.loads(json.dumps(trace_json(outcome), default=str)),
                "expect": {r["name"]: r["value"] for r in results if not r["missing"] and not r["error"]}}

    # -------------------------------------------------------- tests
    def run_tests(self, relative: str, text: str, contract_texts: dict[str, str] | None = None) -> dict[str, Any]:
        """Run a test file's unsaved text; its contract is the editor's text when the page has it open."""
        from engine.testing import TestFile, contract_for, load_test_file, run_case

        path = self.tree.resolve(relative, (".yaml", ".yml", ".json"))
        try:
            test = load_test_file(path, text)
        except ClauseError as error:
            return {"ok": False, "diagnostics": error_json(error, self.tree, path), "cases": []}
        contract = contract_for(TestFile(path, test.contract, test.cases))
        if contract is None:
            raise BadRequest("no contract for this test file: add `contract: path/to/contract.clause`")
        contract_relative = self.tree.relative(contract)
        contract_path = self.tree.resolve(contract_relative, (".clause",))
        contract_text = (contract_texts or {}).get(contract_relative)
        if contract_text is None:
            contract_text = contract_path.read_text(encoding="utf-8")
        _, checked = self.checked(contract_relative, contract_text)
        if checked.program is None:
            return {"ok": False, "contract": contract_relative, "cases": [],
                    "diagnostics": [diagnostic_json(d, self.tree, contract_path, checked.sources)
                                    for d in checked.diagnostics]}
        cases = []
        for case in test.cases:
            outcome = run_case(checked.program, case)
            cases.append({"title": case.title, "line": case.line, "passed": outcome.passed,
                          "lines": [self._served_paths(line.replace(str(path), relative)) for line in outcome.lines]})
        passed = sum(1 for c in cases if c["passed"])
        return {"ok": True, "contract": contract_relative, "cases": cases, "passed": passed,
                "failed": len(cases) - passed, "diagnostics": []}

    def _served_paths(self, line: str) -> str:
        """A failure line with its clause-file positions named as the page names files (from the served
        folder), not from wherever the server was started."""
        return _CLAUSE_POSITION.sub(lambda m: self.tree.relative(m[1]) + m[2], line)

    def case_text(self, title: str, scenario_text: str, expect: dict[str, Any], dash: int) -> list[str]:
        """A case as YAML lines, its `-` at column ``dash`` (as the file's other cases)."""
        facts = self.scenario(scenario_text, None).facts
        pad = " " * dash
        lines = [f"{pad}- title: {yaml_scalar(title)}"]
        lines.append(f"{pad}  facts:" if facts else f"{pad}  facts: {{}}")
        lines.extend(yaml_block(facts, dash + 4))
        lines.append(f"{pad}  expect:")
        lines.extend(yaml_block(expect, dash + 4))
        return lines

    def add_case(self, relative: str, base_hash: str | None, contract: str, title: str, scenario_text: str,
                 expect: dict[str, Any], force: bool = False) -> dict[str, Any]:
        """Append the scenario and its results to a test file as a new case (a new file when there is none)."""
        from engine.testing import load_test_file

        path = self.tree.resolve(relative, (".yaml", ".yml"))
        if not expect:
            raise BadRequest("no result is determined yet: nothing to expect")
        if path.exists():
            current = path.read_text(encoding="utf-8")
            text = _with_case(current, lambda dash: self.case_text(title, scenario_text, expect, dash))
        else:
            contract_path = self.tree.resolve(contract, (".clause",))
            reference = Path(os.path.relpath(contract_path, path.parent)).as_posix()
            text = "\n".join([f"contract: {yaml_scalar(reference)}", f"title: {yaml_scalar(path.stem)}",
                              "", "cases:", *self.case_text(title, scenario_text, expect, 2)]) + "\n"
        try:
            loaded = load_test_file(path, text)
        except ClauseError as error:
            raise BadRequest("the new case would not read back: " + error.render()) from None
        if not loaded.cases or loaded.cases[-1].title != title:
            raise BadRequest("the new case would not read back as the file's last case; add it by hand")
        new_hash = self.tree.write(relative, text, base_hash, force)
        return {"path": relative, "text": text, "hash": new_hash, "cases": len(loaded.cases)}


def _with_case(text: str, case: Callable[[int], list[str]]) -> str:
    """The test file with one more case at the end of its `cases:` list (comments kept)."""
    root = yaml.compose(text)
    cases_node = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "cases":
                cases_node = value
    if cases_node is None:
        return text.rstrip("\n") + "\n\ncases:\n" + "\n".join(case(2)) + "\n"
    if not isinstance(cases_node, yaml.SequenceNode) or cases_node.flow_style:
        raise BadRequest("this test file's `cases` is not a block list; add the case by hand")
    # The dash sits two columns before an item's first key.
    dash = cases_node.value[0].start_mark.column - 2 if cases_node.value else 2
    block = "\n".join(case(max(dash, 0))) + "\n"
    end = cases_node.end_mark.index
    before = text[:end]
    if not before.endswith("\n"):
        before += "\n"
    return before.rstrip("\n") + "\n\n" + block + text[end:]
