"""Hostile and careless inputs give located errors within the limits (issue #10).

Each reproduction of the issue, run through the command line: a clear
`FILE:LINE:COL: error:` naming the problem (or the limit), a non-zero exit,
never a traceback or `internal error`. The limits themselves are in
engine/limits.py and docs/limits.md; what would once have taken gigabytes
(an alias bomb, `/dev/zero`, `1e-999999`) is refused before the work.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine import limits

from helpers import Run, clause_in

CONTRACT = '''contract "Hostile test"
  dated 2003-06-18
  source "source.txt"

scale Rating: Aaa > Aa1 > Baa > "B-"
record Item { amount: money, when: date }

section "1" "One"
  text """
  The holder may convert.
  """
  fact n: integer "a count"
  fact amount: money "an amount"
  fact rate: percent "a rate"
  fact start: date "a start"
  fact moment: datetime "a moment"
  fact span: duration "a span"
  fact items: list of Item "items"
  fact numbers: list of integer "numbers"
  fact ratings: list of Rating "ratings"
  result total: money = amount * n
  result after: date = start + span
  result moment_later: datetime = moment + span
  result worst: optional Rating = min(x for x in ratings)
  result best: optional Rating = max(x for x in ratings)
  result big: boolean = n > 10
  result sum_numbers: integer = sum(x for x in numbers)
  result share: money = amount / (n - n)
  result share_plus: money = share + $1
  result share_big: boolean = share_plus > $1
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "source.txt").write_text("The holder may convert. Nothing else.\n", encoding="utf-8")
    (tmp_path / "c.clause").write_text(CONTRACT, encoding="utf-8")
    return tmp_path


def _write(directory: Path, name: str, content: str | bytes) -> str:
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return name


def _refused(run: Run, where: str, message: str) -> None:
    """Exit 1 with the message at ``where`` (FILE:LINE:COL), and nothing a user should never see."""
    assert run.code == 1, (run.code, run.err)
    pattern = re.escape(where) + (r"\d+(:\d+)?" if where.endswith(":") else "") + ": error:"
    assert re.search(pattern, run.err), run.err
    assert message in run.err, run.err
    assert "internal error" not in run.err and "Traceback" not in run.err


def _bomb(levels: int) -> str:
    """YAML flow items: each anchor a list of nine aliases of the one before (9**levels values)."""
    items = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    items += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "[" + ", ".join(items) + "]"


# ---------------------------------------------------------------- resource exhaustion


@pytest.mark.parametrize("where", ["fact", "title"])
def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded(project: Path, where: str) -> None:
    bomb = _bomb(9)  # 9**10, some 3.5 billion values once expanded
    text = f"title: {bomb}\nfacts:\n  n: 3\n" if where == "title" else f"facts:\n  n: 3\n  numbers: {bomb}\n"
    run = clause_in(project, "eval", "c.clause", _write(project, "bomb.yaml", text))
    line = 1 if where == "title" else 3
    _refused(run, f"bomb.yaml:{line}:", f"more than {limits.SCENARIO_NODES:,} values once its aliases")


def test_aliases_within_the_limit_still_work(project: Path) -> None:
    text = "facts:\n  n: 3\n  numbers: &all [1, 2, 3]\n  amount: 10\n"
    run = clause_in(project, "eval", "c.clause", _write(project, "ok.yaml", text), "--format", "json")
    assert json.loads(run.out)["results"]["sum_numbers"]["value"] == 6


def test_an_include_of_dev_zero_is_refused(project: Path) -> None:
    (project / "zero.clause").symlink_to("/dev/zero")
    for include, message in [("/dev/zero", "lies outside"), ("zero.clause", "lies outside")]:
        contract = CONTRACT.replace('section "1"', f'include "{include}"\n\nsection "1"')
        run = clause_in(project, "check", _write(project, "inc.clause", contract))
        _refused(run, "inc.clause:8:1", message)
    # Widened to read outside the tree, the file is still read no further than the size limit.
    run = clause_in(project, "check", "--allow-outside", "inc.clause")
    _refused(run, "inc.clause:8:1", f"larger than the limit of {limits.describe_bytes(limits.CLAUSE_FILE_BYTES)}")
    contract = CONTRACT.replace('section "1"', 'include "/dev/zero"\n\nsection "1"')
    run = clause_in(project, "check", "--allow-outside", _write(project, "inc.clause", contract))
    _refused(run, "inc.clause:8:1", "is not a clause file")


def test_an_include_outside_the_tree_never_quotes_the_file(project: Path) -> None:
    contract = CONTRACT.replace('section "1"', 'include "../../../../../../etc/passwd"\n\nsection "1"')
    run = clause_in(project, "check", _write(project, "inc.clause", contract))
    _refused(run, "inc.clause:8:1", "lies outside")
    assert "root" not in run.err


@pytest.mark.parametrize(("name", "text", "where"), [
    ("e.yaml", "facts:\n  amount: 1e-999999\n", "e.yaml:2:11"),
    ("e.json", '{"facts": {"amount": 1e-999999}}', "e.json:1:22"),
    ("e2.json", '{"facts": {"n": 1e99999999}}', "e2.json:1:17"),
])
def test_a_huge_exponent_is_refused_before_it_is_computed(project: Path, name: str, text: str, where: str) -> None:
    run = clause_in(project, "eval", "c.clause", _write(project, name, text))
    _refused(run, where, f"exponent is at most {limits.NUMBER_EXPONENT} either way")


def test_a_percent_or_money_exponent_that_overflows_decimal_is_a_fact_error(project: Path) -> None:
    text = 'facts:\n  rate: "1e99999999%"\n  amount: "1e99999999"\n'
    run = clause_in(project, "eval", "c.clause", _write(project, "e.yaml", text))
    _refused(run, "e.yaml:2:9", "fact `rate` (percent): a number's exponent is at most 100")
    assert 'e.yaml:3:11: error: fact `amount` (money): expected an amount of money' in run.err
    table = _write(project, "e.jsonl", '{"amount": 1e99999999}\n{"rate": "1e99999999%"}\n')
    for fmt in ("jsonl", "table"):
        run = clause_in(project, "run", "c.clause", table, "--format", fmt)
        _refused(run, "e.jsonl:1:1", "exponent is at most 100")
        assert "e.jsonl:2:1: error: fact `rate` (percent): a number's exponent" in run.err


# ---------------------------------------------------------------- nesting, digits, dates


DEEP = 5000  # far past Python's recursion limit


@pytest.mark.parametrize(("name", "text", "where"), [
    ("deep.yaml", "facts:\n  numbers: " + "[" * DEEP + "]" * DEEP + "\n", "deep.yaml:2:74"),
    ("deep.json", '{"facts": {"numbers": ' + "[" * DEEP + "]" * DEEP + "}}", "deep.json:1:"),
    ("deep_list.yaml", "facts:\n  numbers:\n" + "".join("  " * (i + 1) + "-\n" for i in range(200)),
     "deep_list.yaml:"),
])
def test_nesting_deeper_than_the_limit_in_a_scenario(project: Path, name: str, text: str, where: str) -> None:
    run = clause_in(project, "eval", "c.clause", _write(project, name, text))
    _refused(run, where, f"nest more than {limits.NESTING_DEPTH} deep")


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_nesting_deeper_than_the_limit_in_a_table(project: Path, fmt: str) -> None:
    deep = "[" * DEEP + "]" * DEEP
    jsonl = _write(project, "deep.jsonl", '{"n": 1}\n{"n": 2, "numbers": ' + deep + "}\n")
    run = clause_in(project, "run", "c.clause", jsonl, "--format", fmt)
    _refused(run, "deep.jsonl:2:1", f"nest more than {limits.NESTING_DEPTH} deep")
    assert "1 failed" in run.err  # the first row is evaluated
    csv = _write(project, "deep.csv", f'n,numbers\n1,"{deep}"\n')
    run = clause_in(project, "run", "c.clause", csv, "--format", fmt)
    _refused(run, "deep.csv:2:3", f"fact `numbers` (list of integer): lists and mappings nest more than "
             f"{limits.NESTING_DEPTH} deep")


def test_a_number_of_thousands_of_digits(project: Path) -> None:
    digits = "9" * 5000  # past Python's 4,300-digit limit on int()
    contract = CONTRACT + f"  result huge: integer = {digits}\n"
    run = clause_in(project, "check", _write(project, "digits.clause", contract))
    _refused(run, "digits.clause:31:26", f"a number has at most {limits.NUMBER_DIGITS} digits (this one has 5000)")
    for name, text, where in [("d.yaml", f"facts:\n  n: {digits}\n", "d.yaml:2:6"),
                              ("d.json", f'{{"facts": {{"n": {digits}}}}}', "d.json:1:17")]:
        run = clause_in(project, "eval", "c.clause", _write(project, name, text))
        _refused(run, where, f"a number has at most {limits.NUMBER_DIGITS} digits")
    run = clause_in(project, "eval", "c.clause", _write(project, "d2.yaml", f'facts:\n  n: "{digits}"\n'))
    _refused(run, "d2.yaml:2:6", "fact `n` (integer)")
    assert len(run.err) < 2000  # the message does not spell the number out


def test_dates_and_durations_past_the_calendar(project: Path) -> None:
    contract = CONTRACT + "  result far: duration = 99999999999 days\n"
    run = clause_in(project, "check", _write(project, "far.clause", contract))
    _refused(run, "far.clause:31:26", f"a duration is at most {limits.DURATION_DAYS:,} days")
    text = "facts:\n  start: 9999-12-31\n  moment: 9999-12-31T23:59:59+00:00\n  span: 99999999999\n"
    run = clause_in(project, "eval", "c.clause", _write(project, "far.yaml", text))
    _refused(run, "far.yaml:2:10", "fact `start` (date): a date lies between the years 1000 and 9000")
    assert "far.yaml:3:11: error: fact `moment` (datetime): a date lies between" in run.err
    assert "far.yaml:4:9: error: fact `span` (duration): a duration is at most" in run.err
    # Within the limits, arithmetic that leaves the calendar is an error of the rule, in eval and in the memo.
    text = "facts:\n  start: 9000-12-31\n  moment: 9000-12-31T23:59:59+00:00\n  span: 3660000\n"
    scenario = _write(project, "edge.yaml", text)
    for command in (["eval"], ["memo"]):
        run = clause_in(project, *command, "c.clause", scenario)
        _refused(run, "c.clause:22:24", "cannot compute `after`: `start + span` falls outside the calendar")
        assert "cannot compute `moment_later`: `moment + span` falls outside the calendar" in run.err
    memo = clause_in(project, "memo", "c.clause", scenario).out
    assert "The moment later (§ 1) could not be computed" in memo and "falls outside the calendar" in memo


# ---------------------------------------------------------------- evaluation


def test_min_and_max_order_a_scale(project: Path) -> None:
    text = "facts:\n  ratings: [Aa1, Baa, Aaa, Baa]\n"
    run = clause_in(project, "eval", "c.clause", _write(project, "r.yaml", text), "--format", "json")
    results = json.loads(run.out)["results"]
    assert (results["worst"]["value"], results["best"]["value"]) == ("Baa", "Aaa")  # Aaa ranks best


@pytest.mark.parametrize("expression", [" + ".join(["n"] * 3000), "abs(" * 3000 + "n" + ")" * 3000],
                         ids=["plus", "calls"])
def test_long_chains_in_a_clause_file_are_refused_by_the_check(project: Path, expression: str) -> None:
    contract = CONTRACT + f"  result chain: integer = {expression}\n"
    run = clause_in(project, "check", _write(project, "chain.clause", contract))
    _refused(run, "chain.clause:31:", f"this expression nests more than {limits.EXPRESSION_DEPTH} operations deep")
    assert "define" in run.err  # the advice


def test_a_division_by_zero_is_reported_once_and_a_memo_explains_the_comparison_it_breaks(project: Path) -> None:
    scenario = _write(project, "z.yaml", "facts:\n  n: 3\n  amount: 5\n")
    run = clause_in(project, "eval", "c.clause", scenario)
    assert run.code == 1 and run.err.count("division by zero") == 1, run.err
    assert "c.clause:28:25: error: cannot compute `share`: division by zero: n - n is 0" in run.err
    memo = clause_in(project, "memo", "c.clause", scenario)
    assert memo.code == 1 and "internal error" not in memo.err and memo.err.count("division by zero") == 1
    assert "The share big (§ 1) could not be computed: division by zero" in memo.out


# ---------------------------------------------------------------- long lists


def test_a_trace_of_a_long_list_is_summarised(project: Path) -> None:
    count = 5000
    scenario = _write(project, "long.json", json.dumps({"facts": {"numbers": list(range(count))}}))
    run = clause_in(project, "eval", "c.clause", scenario, "--format", "json", "--trace")
    trace = json.loads(run.out)["trace"]["sum_numbers"]
    half = limits.TRACE_LIST_ITEMS // 2
    assert trace["reads"]["numbers"] == {"first": list(range(half)), "last": list(range(count - half, count)),
                                         "count": count}
    steps = trace["steps"]["steps"]
    assert {"omitted": count + 1 - 2 * limits.TRACE_LIST_ITEMS} in steps  # the list's step, then one per item
    assert len(steps) == 2 * limits.TRACE_LIST_ITEMS + 1
    assert json.loads(run.out)["results"]["sum_numbers"]["value"] == count * (count - 1) // 2
    full = clause_in(project, "eval", "c.clause", scenario, "--format", "json", "--trace", "--full-lists")
    assert json.loads(full.out)["trace"]["sum_numbers"]["reads"]["numbers"] == list(range(count))


def test_a_memo_of_a_long_list_is_readable(project: Path) -> None:
    count = 5000
    scenario = _write(project, "long.json", json.dumps({"facts": {"numbers": [7] * count}}))
    memo = clause_in(project, "memo", "c.clause", scenario).out
    assert "The sum over the numbers: 35,000" in memo
    assert "item 10: 7" in memo and "item 11: 7" not in memo and f"item {count}: 7" in memo
    assert f"… {count - limits.TRACE_LIST_ITEMS:,} more items …" in memo
    assert len(memo) < 10_000
    full = clause_in(project, "memo", "c.clause", scenario, "--full-lists").out
    assert "item 2500: 7" in full and "more items" not in full


# ---------------------------------------------------------------- smaller breaks


def test_a_title_cannot_break_the_markdown_memo(project: Path) -> None:
    text = 'title: "Conversion\\n~~~\\n# injected"\nfacts:\n  n: 3\n'
    memo = clause_in(project, "memo", "c.clause", _write(project, "t.yaml", text)).out
    assert "| **Re** | Conversion ~~~ # injected |" in memo
    assert not re.search(r"^\s*~~~", memo, re.MULTILINE)  # no fence opened by the title
    assert memo.count("```") % 2 == 0  # the memo's own code blocks (the encoding appendix) are closed


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_a_repeated_csv_column_or_jsonl_key_is_refused(project: Path, fmt: str) -> None:
    run = clause_in(project, "run", "c.clause", _write(project, "dup.csv", "n,amount,n\n1,10,5\n"), "--format", fmt)
    _refused(run, "dup.csv:1:10", "the column `n` is named twice in the header")
    run = clause_in(project, "run", "c.clause", _write(project, "dup.jsonl", '{"n": 1, "amount": 10, "n": 5}\n'),
                    "--format", fmt)
    _refused(run, "dup.jsonl:1:1", "`n` is given twice")


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_invalid_utf8_in_a_table_is_reported_at_its_line_and_column(project: Path, fmt: str) -> None:
    run = clause_in(project, "run", "c.clause", _write(project, "bad.jsonl", b'{"n": 1}\n{"n": "\xff"}\n'),
                    "--format", fmt)
    _refused(run, "bad.jsonl:2:8", "not UTF-8 text (byte 0xff")
    run = clause_in(project, "run", "c.clause", _write(project, "bad.csv", b"n,amount\n1,2\n3,\xff\n"),
                    "--format", fmt)
    _refused(run, "bad.csv:3:3", "not UTF-8 text (byte 0xff")


def test_invalid_utf8_in_a_clause_file_or_scenario_is_reported_at_its_line_and_column(project: Path) -> None:
    broken = CONTRACT.encode().replace(b"a count", b"a co\xffunt")
    run = clause_in(project, "check", _write(project, "bad.clause", broken))
    _refused(run, "bad.clause:12:24", "not UTF-8 text (byte 0xff")
    run = clause_in(project, "eval", "c.clause", _write(project, "bad.yaml", b'facts:\n  n: 3\n  amount: "\xe9"\n'))
    _refused(run, "bad.yaml:3:12", "not UTF-8 text (byte 0xe9")


def test_a_test_file_is_read_within_the_same_limits(project: Path) -> None:
    text = f"contract: c.clause\ncases:\n  - name: bomb\n    facts:\n      numbers: {_bomb(9)}\n"
    run = clause_in(project, "test", _write(project, "bomb.test.yaml", text))
    report = run.out + run.err  # `clause test` reports each file on stdout
    assert run.code == 1 and "internal error" not in report
    assert "bomb.test.yaml:5:" in report and f"more than {limits.SCENARIO_NODES:,} values" in report
    broken = b"contract: c.clause\ncases:\n  - name: \xff\n"
    run = clause_in(project, "test", _write(project, "bad.test.yaml", broken))
    report = run.out + run.err
    assert run.code == 1 and "bad.test.yaml:3:11: error: cannot read the test file" in report
    assert "not UTF-8 text (byte 0xff" in report


def test_a_json_scenario_of_too_many_values_is_refused_as_it_is_read(project: Path) -> None:
    """The value limit holds for JSON as for YAML (where it also bounds alias expansion): a list of
    SCENARIO_NODES numbers is refused with a located message, not evaluated."""
    numbers = ",".join(["1"] * limits.SCENARIO_NODES)
    run = clause_in(project, "eval", "c.clause", _write(project, "many.json", '{"facts": {"n": 3, "numbers": [' +
                                                            numbers + "]}}"))
    _refused(run, "many.json:1:", f"more than {limits.SCENARIO_NODES:,} values (the limit)")


@pytest.mark.parametrize("fmt", ["md", "html", "docx"])
def test_a_memo_of_a_chain_of_two_thousand_defines(tmp_path: Path, fmt: str) -> None:
    """A valid file whose result is reached through 2,000 defines, each the one before plus 1
    (under the expression-depth limit: each define is one level): the memo follows the chain
    without Python's recursion limit (an internal error before), and answers 1 + 2,000."""
    lines = ['contract "Chain" dated 2003-06-18', 'fact base : integer "a number"', 'section "1" "One"',
             "define d0 = base + 1", *(f"define d{i} = d{i - 1} + 1" for i in range(1, 2000)),
             'result total : integer "the total" = d1999']
    _write(tmp_path, "chain.clause", "\n".join(lines) + "\n")
    _write(tmp_path, "s.yaml", "facts:\n  base: 1\n")
    run = clause_in(tmp_path, "memo", "chain.clause", "s.yaml", "-o", f"memo.{fmt}")
    assert run.code == 0, run.err
    assert "internal error" not in run.err and "Traceback" not in run.err
    if fmt == "md":
        assert "**2,001.**" in (tmp_path / "memo.md").read_text(encoding="utf-8")
    elif fmt == "html":
        assert "2,001" in (tmp_path / "memo.html").read_text(encoding="utf-8")
    else:
        assert (tmp_path / "memo.docx").read_bytes()[:2] == b"PK"  # a Word (zip) file
