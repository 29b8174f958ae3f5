"""Mutations of the shipped contracts, scenarios and tables, as an attacker or a
careless user would make them (issue #10), and a runner that drives the CLI on
each and says whether it broke a promise of the interface.

Used by tests/test_fuzz_hostile.py (a short run under hypothesis) and by
scripts/fuzz_hostile.py (the long release run). A case *breaks* when the
command exits 70 or prints `internal error` or a traceback, or when anything
escapes ``engine.cli.main``; a clear error with exit 1 is the expected answer
to most of these inputs.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent

# The contracts mutated, each with scenarios of its own (the small ones: a
# mutated clause file is checked from scratch every time).
CONTRACTS = {
    "special_conversion": ("contracts/special_conversion.clause", "examples/special_conversion"),
    "rights_agreement": ("contracts/rights_agreement.clause", "examples/rights_agreement"),
}
SERIES_B = ("contracts/series_b_preferred.clause", "examples/series_b")

# Values an attacker reaches for: numbers past every limit, dates past the
# calendar, text that would break out of Markdown or generated code, wrong types.
HOSTILE_VALUES: list[Any] = [
    "1e-999999", "1e999999999", "1e99999999%", "$1e999", "9" * 5000, "-" + "9" * 400, "0." + "0" * 200 + "1",
    "NaN", "Infinity", "-0", "1_000_000_000_000_000_000_000", "1,000,000,000,000,000,000,000", "35%%", "%", "$",
    "9999-12-31", "0001-01-01", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-14:00", "2003-02-30",
    "2003-06-18T25:00:00", "P99999999999D", "99999999999",
    "x\n~~~\n# injected", "a\"\"\"b'''c\\", "\u202e\u0000\x1b[2J", "```", "<script>alert(1)</script>", "{{ 7*7 }}",
    "Aaa", "nonexistent_member", "", " ", "null", "true",
    True, False, None, 0, -1, 10**30, 2**63, -(2**63), 1.5, [], {}, [[[]]], {"a": {"b": {}}},
]


def _deep(depth: int) -> str:
    """A placeholder for lists nested ``depth`` deep: written out as brackets once the
    file is dumped (json and yaml would recurse on the real thing)."""
    return f"DEEPNEST{depth}X"


_DEEP = re.compile(r'"DEEPNEST(\d+)X"|DEEPNEST(\d+)X')


def _undeep(text: str) -> str:
    return _DEEP.sub(lambda m: "[" * int(m[1] or m[2]) + "]" * int(m[1] or m[2]), text)


# ---------------------------------------------------------------- clause files

_TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:\\.|[^"\\\n])*"|\$[\d,]+(?:\.\d+)?|\d{4}-\d{2}-\d{2}|\d[\d_,]*(?:\.\d+)?%?'
                    r"|[A-Za-z_][A-Za-z0-9_]*|[^\s\w]")
_NUMBER = re.compile(r"\$?\d[\d_,]*(?:\.\d+)?%?|\d{4}-\d{2}-\d{2}")

CLAUSE_SNIPPETS = [
    "9" * 5000, "1e-999999", "$1e999", "1" + "0" * 120 + "%", "9999-12-31", "0001-01-01", "99999999999 days",
    " + ".join(["1"] * 3000), "abs(" * 1500 + "1" + ")" * 1500, "(" * 3000 + "1" + ")" * 3000,
    "[" * 2000 + "]" * 2000, '"\n    import os\n"', '"""\n' + "'''" + '\\ """', 'include "/dev/zero"',
    'include "../../../../../../etc/passwd"', 'include "contracts/special_conversion.clause"', "include",
    "min(x for x in [Aaa])", "1 / 0", "$1 / 0", "2003-06-18 + 99999999 days", "none", "if", "then", "else",
    "section", "result r: integer = ", "fact f: list of list of list of integer", "\x00", "\ufeff",
]


def mutate_clause(text: str, rng: random.Random) -> str | bytes:
    """A clause file with one to three token-level mutations (or a byte-level one)."""
    if rng.random() < 0.05:  # bytes that are not UTF-8, somewhere
        data = bytearray(text.encode())
        data[rng.randrange(len(data))] = rng.choice([0xFF, 0xC3, 0x80, 0xED])
        return bytes(data)
    if rng.random() < 0.03:
        return text[:rng.randrange(len(text))]
    tokens = list(_TOKEN.finditer(text))
    for _ in range(rng.randint(1, 3)):
        if not tokens:
            break
        match = rng.choice(tokens)
        start, end = match.span()
        kind = rng.random()
        if kind < 0.25:
            replacement = ""
        elif kind < 0.45:
            replacement = rng.choice(tokens).group()
        elif kind < 0.55:
            replacement = match.group() + " " + match.group()
        elif kind < 0.70 and _NUMBER.fullmatch(match.group()):
            replacement = rng.choice(CLAUSE_SNIPPETS[:7])
        else:
            replacement = rng.choice(CLAUSE_SNIPPETS)
        text = text[:start] + replacement + text[end:]
        tokens = list(_TOKEN.finditer(text))
    return text


# ---------------------------------------------------------------- scenarios


def _hostile_value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return _deep(rng.choice([70, 1500, 5000]))
    if roll < 0.12:
        return [rng.choice(HOSTILE_VALUES) for _ in range(rng.choice([0, 1, 3, 300]))]
    return rng.choice(HOSTILE_VALUES)


def _mutate_value(value: Any, rng: random.Random) -> Any:
    if isinstance(value, list) and value and rng.random() < 0.5:
        items = list(value)
        index = rng.randrange(len(items))
        items[index] = _mutate_value(items[index], rng)
        if rng.random() < 0.2:
            items = items * rng.choice([2, 50])
        return items
    if isinstance(value, dict) and value and rng.random() < 0.6:
        mapping = dict(value)
        key = rng.choice(list(mapping))
        if rng.random() < 0.2:
            del mapping[key]
        else:
            mapping[key] = _mutate_value(mapping[key], rng)
        return mapping
    return _hostile_value(rng)


def _plain(value: Any) -> Any:
    """Scenario data as JSON can hold it (YAML dates as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def load_plain(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _plain(data) if isinstance(data, dict) else {}


YAML_TRICKS = [
    "title: &t [" + ", ".join(["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
                             + [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]) + "]\n",
    "facts: {a: 1, a: 2}\n", "facts:\n  x: !!python/object/apply:os.system [echo PWNED]\n", "facts: *undefined\n",
    "facts:\n  - 1\n  - 2\n", "%YAML 9.9\n---\nfacts: {}\n", "facts: {x: 1}\n---\nfacts: {y: 2}\n",
    "facts:\n  x: " + "[" * 3000 + "]" * 3000 + "\n", "facts:\n  x: !!binary AAAA\n", "facts: \"\n",
    "facts:\n  x: 1e-999999\n", "facts:\n  x: " + "9" * 5000 + "\n", "? [a, b]\n: c\n", "title: \"x\\n~~~\"\n",
]


def mutate_scenario(data: dict[str, Any], rng: random.Random, suffix: str) -> str | bytes:
    """A scenario file (YAML or JSON text) with its facts mutated, or a textual trick."""
    if suffix != ".json" and rng.random() < 0.08:
        return rng.choice(YAML_TRICKS) + yaml.safe_dump(data, sort_keys=False)
    mutated = json.loads(json.dumps(data))
    facts = mutated.get("facts")
    if not isinstance(facts, dict):
        facts = mutated["facts"] = {}
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if facts and roll < 0.7:
            key = rng.choice(list(facts))
            facts[key] = _mutate_value(facts[key], rng)
        elif facts and roll < 0.8:
            del facts[rng.choice(list(facts))]
        elif roll < 0.9:
            facts[rng.choice(["unknown_fact", "a" * 300, "", "__class__"])] = _hostile_value(rng)
        else:
            mutated[rng.choice(["title", "ask", "memo", "expect", "cases", "zzz"])] = _hostile_value(rng)
    text = _undeep(json.dumps(mutated, ensure_ascii=False) if suffix == ".json" else
                   yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True))
    if rng.random() < 0.04:
        data_bytes = bytearray(text.encode())
        data_bytes.insert(rng.randrange(len(data_bytes) + 1), 0xFF)
        return bytes(data_bytes)
    return text


# ---------------------------------------------------------------- tables


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    return json.dumps(value, default=str)


def mutate_table(rows: list[dict[str, Any]], rng: random.Random, suffix: str) -> str | bytes:
    """A CSV or JSON Lines table of scenarios, its cells and structure mutated."""
    rows = [dict(r) for r in rows]
    for _ in range(rng.randint(1, 4)):
        row = rng.choice(rows)
        if row and rng.random() < 0.8:
            key = rng.choice(list(row))
            row[key] = _mutate_value(row[key], rng)
        else:
            row[rng.choice(["unknown", "scenario", "name", "\"quoted\""])] = _hostile_value(rng)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    if suffix == ".csv":
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = list(columns)
        if rng.random() < 0.1 and header:
            header.append(rng.choice(header))  # a column named twice
        writer.writerow(header)
        for r in rows:
            writer.writerow([_cell(r.get(c, "")) for c in header])
        text = _undeep(out.getvalue())
        if rng.random() < 0.05:
            text += '"unclosed,1\n'
    else:
        lines = []
        for r in rows:
            try:
                line = json.dumps(r, ensure_ascii=False, default=str)
            except (ValueError, RecursionError):
                line = "{"
            if rng.random() < 0.05 and r:
                key = next(iter(r))
                line = line[:-1] + f', {json.dumps(key)}: 1}}'  # a key given twice
            lines.append(line)
        if rng.random() < 0.05:
            lines.append("[1, 2")
        text = _undeep("\n".join(lines) + "\n")
    if rng.random() < 0.05:
        data = bytearray(text.encode())
        data.insert(rng.randrange(len(data) + 1), 0xFE)
        return bytes(data)
    return text


# ---------------------------------------------------------------- running a case


@dataclass
class Case:
    kind: str  # "clause", "scenario", "table"
    command: list[str]  # the CLI arguments (paths relative to the case's directory)
    files: dict[str, str | bytes]  # written into the case's directory first


@dataclass
class Verdict:
    code: int
    broke: str | None  # why the case broke a promise (None: it kept them)
    err: str


def run_case(case: Case, directory: Path) -> Verdict:
    """Runs the CLI in this process, from ``directory``, on the case's files."""
    from engine.cli import main

    for name, content in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    # A mutated clause file is checked afresh, not cached (the cache would grow with every case).
    os.environ["CLAUSE_CACHE"] = "0" if case.kind == "clause" else "1"
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(directory)
    try:
        code = main(case.command, stdout=out, stderr=err)
    except BaseException as escaped:
        if isinstance(escaped, KeyboardInterrupt):
            raise
        return Verdict(-1, f"escaped main: {type(escaped).__name__}: {escaped}", err.getvalue())
    finally:
        os.chdir(before)
    text = err.getvalue()
    broke = None
    if code == 70 or "internal error" in text:
        broke = "internal error: " + text.strip().splitlines()[0][:300] if text.strip() else "exit 70"
    elif "Traceback (most recent call last)" in text:
        broke = "traceback"
    elif code not in (0, 1, 2):
        broke = f"exit {code}"
    return Verdict(code, broke, text)


class Corpus:
    """The shipped inputs the cases are made from, read once."""

    def __init__(self, root: Path = ROOT, series_b: bool = False):
        self.root = root
        self.contracts: dict[str, tuple[str, str, list[Path]]] = {}
        chosen = dict(CONTRACTS)
        if series_b:
            chosen["series_b"] = SERIES_B
        for name, (contract, examples) in chosen.items():
            text = (root / contract).read_text(encoding="utf-8")
            scenarios = sorted((root / examples).glob("*.yaml"))
            self.contracts[name] = (contract, text, scenarios)

    def case(self, rng: random.Random, kinds: tuple[str, ...] = ("clause", "scenario", "table")) -> Case:
        name = rng.choice(sorted(self.contracts))
        contract, text, scenarios = self.contracts[name]
        kind = rng.choice(kinds)
        scenario_path = rng.choice(scenarios)
        data = load_plain(scenario_path)
        if "cases" in data and rng.random() < 0.7:  # a test file: one of its cases as a scenario
            cases = data.get("cases") or []
            picked = rng.choice(cases) if isinstance(cases, list) and cases else {}
            data = {"facts": picked.get("facts", {})} if isinstance(picked, dict) else {"facts": {}}
        # Files sit where the shipped ones do, so includes and sources resolve as they would.
        contract_dir = str(Path(contract).parent)
        if kind == "clause":
            mutated = mutate_clause(text, rng)
            clause_name = f"{contract_dir}/fuzzed.clause"
            command = rng.choice([["check", clause_name], ["eval", clause_name, "s.yaml", "--format", "json"]])
            files: dict[str, str | bytes] = {clause_name: mutated, "s.yaml": yaml.safe_dump(data)}
            return Case(kind, command, files)
        if kind == "scenario":
            suffix = rng.choice([".yaml", ".json"])
            scenario = "s" + suffix
            command = rng.choice([["eval", contract, scenario], ["eval", contract, scenario, "--format", "json"],
                                  ["eval", contract, scenario, "--format", "json", "--trace"],
                                  ["memo", contract, scenario]])
            return Case(kind, command, {scenario: mutate_scenario(data, rng, suffix)})
        suffix = rng.choice([".csv", ".jsonl"])
        facts = data.get("facts") if isinstance(data.get("facts"), dict) else {}
        rows = [dict(facts, scenario=f"row {i}") for i in range(rng.randint(1, 4))]
        table = "t" + suffix
        fmt = rng.choice(["jsonl", "csv", "table"])
        return Case(kind, ["run", contract, table, "--format", fmt, "--workers", "1"],
                    {table: mutate_table(rows, rng, suffix)})


def link_corpus(directory: Path, root: Path = ROOT) -> None:
    """The shipped contracts and their sources, copied into a case directory once."""
    import shutil

    shutil.copytree(root / "contracts", directory / "contracts", dirs_exist_ok=True)
    shutil.copytree(root / "examples", directory / "examples", dirs_exist_ok=True)


ALL_KINDS: tuple[str, ...] = ("clause", "scenario", "table")
Runner = Callable[[Case, Path], Verdict]
