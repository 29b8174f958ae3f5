"""`clause run`: many scenarios, tables of scenarios, output formats, failures by name."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import load_contract
from engine.batch import Item, evaluate_all

from helpers import ROOT, clause

SPECIAL = "contracts/special_conversion.clause"
SERIES_B = "contracts/series_b_preferred.clause"

OWNER = {
    "owner_certificate_delivered": "true", "owner_is_national_indemnity": "false",
    "owner_ownership_pct": "4.2%", "owner_voting_securities_pct": "4.2%", "owner_is_affiliate": "false",
    "owners_are_group": "false", "owner_is_institutional_investor": "true",
}


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_jsonl_lines_are_shaped_like_eval_json() -> None:
    scenario = "examples/special_conversion/holder_converts.yaml"
    run = clause("run", SPECIAL, scenario, "--format", "jsonl")
    assert run.code == 0, run.err
    [line] = _lines(run.out)
    single = json.loads(clause("eval", SPECIAL, scenario, "--format", "json").out)
    assert line == single
    assert line["results"]["shares_issuable"]["value"] == 353


def test_directories_and_globs_expand_to_every_scenario_file() -> None:
    by_directory = _lines(clause("run", SPECIAL, "examples/special_conversion/", "--format", "jsonl").out)
    by_glob = _lines(clause("run", SPECIAL, "examples/special_conversion/*.yaml", "--format", "jsonl").out)
    names = [line["scenario"] for line in by_directory]
    assert names == [line["scenario"] for line in by_glob]
    assert "examples/special_conversion/holder_converts.yaml" in names
    # A test file's cases are scenarios of their own, named after the case.
    assert any("worked_examples.test.yaml#" in str(name) for name in names)


def test_a_csv_table_gives_one_scenario_per_row_with_exact_results(tmp_path: Path) -> None:
    table = _write_csv(tmp_path / "notes.csv", [
        {"scenario": "eight pm", "notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": "1000",
         "principal_to_convert": "1000", **OWNER},
        {"scenario": "two of five", "notice_time": "2003-06-18T19:00:00-04:00", "principal_amount": "$5,000.00",
         "principal_to_convert": "2000", **OWNER},
        {"scenario": "", "notice_time": "", "principal_amount": "1000", "principal_to_convert": "1000", **OWNER},
    ])
    run = clause("run", SPECIAL, str(table), "--format", "jsonl")
    assert run.code == 0, run.err
    first, second, third = _lines(run.out)
    assert first["scenario"] == "eight pm" and first["results"]["shares_issuable"]["value"] == 353
    assert second["results"]["shares_issuable"]["value"] == 705
    assert second["results"]["conversion_permitted"]["value"] is True
    # An empty cell is a fact not given: the results that need it are undetermined.
    assert third["scenario"] == f"{table}:4"
    assert third["results"]["in_period"] == {**third["results"]["in_period"], "value": None,
                                             "missing": ["notice_time"]}


def test_lists_and_records_are_json_in_a_cell(tmp_path: Path) -> None:
    options = json.dumps([{"shares": 10_000_000, "exercise_price": "2.00"},
                          {"shares": 5_000_000, "exercise_price": "4.00"}])
    table = _write_csv(tmp_path / "issues.csv", [{
        "name": "with options", "issue_date": "2003-03-03", "shares_issued": "30,000,000",
        "consideration": "75000000", "common_shares_outstanding": "300000000", "options": options,
        "average_current_market_price": "3.00", "conversion_price": "3.41",
    }])
    [line] = _lines(clause("run", SERIES_B, str(table), "--format", "jsonl").out)
    results = line["results"]
    assert results["shares_deemed_outstanding"]["value"] == 310_000_000  # only the option below $3.41
    assert results["adjustment_triggered"]["value"] is True
    assert results["new_conversion_price"]["value"] == "3.33"  # (310M x 3.41 + 75M) / 340M = 3.32970..., to $0.001
    assert line["scenario"] == "with options"


def test_a_jsonl_table_of_scenarios(tmp_path: Path) -> None:
    table = tmp_path / "rows.jsonl"
    table.write_text("\n".join([
        json.dumps({"scenario": "flat", "notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": 1000,
                    "principal_to_convert": 1000}),
        json.dumps({"title": "nested", "facts": {"principal_amount": "2.5", "principal_to_convert": 1000}}),
    ]) + "\n", encoding="utf-8")
    flat, nested = _lines(clause("run", SPECIAL, str(table), "--format", "jsonl").out)
    assert flat["scenario"] == "flat" and flat["results"]["in_period"]["value"] is True
    assert nested["scenario"] == "nested"
    assert nested["results"]["unconverted_remainder"]["value"] == "-997.50"


def test_a_bad_scenario_is_reported_by_name_and_the_others_still_run(tmp_path: Path) -> None:
    table = _write_csv(tmp_path / "mixed.csv", [
        {"scenario": "good", "principal_amount": "1000", "principal_to_convert": "1000"},
        {"scenario": "bad amount", "principal_amount": "a thousand", "principal_to_convert": "1000"},
        {"scenario": "also good", "principal_amount": "2000", "principal_to_convert": "1000"},
    ])
    run = clause("run", SPECIAL, str(table), "examples/special_conversion/no_such_file.yaml", "--format", "jsonl")
    assert run.code == 1
    good, bad, also_good = _lines(run.out)
    assert good["scenario"] == "good" and "errors" not in good
    assert also_good["results"]["unconverted_remainder"]["value"] == "1000.00"
    assert bad["scenario"] == "bad amount" and bad["results"] == {}
    [error] = bad["errors"]
    assert error.startswith(f"{table}:3:") and "principal_amount" in error
    assert "scenario bad amount: failed" in run.err
    assert "no scenario file matches examples/special_conversion/no_such_file.yaml" in run.err
    assert "3 scenarios, 1 failed" in run.err
    assert "Traceback" not in run.err


def test_an_evaluation_error_fails_the_scenario_and_keeps_its_results(tmp_path: Path) -> None:
    table = _write_csv(tmp_path / "zero.csv", [{"shares_issued": "0", "consideration": "100"}])
    run = clause("run", SERIES_B, str(table), "--format", "jsonl")
    assert run.code == 1
    [line] = _lines(run.out)
    assert any("division by zero" in e for e in line["errors"])
    assert line["results"]["measurement_date"]["value"] == "2002-07-05"
    assert "series_b_preferred.clause:" in run.err


def test_output_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("keep me\n", encoding="utf-8")
    scenario = "examples/special_conversion/holder_converts.yaml"
    refused = clause("run", SPECIAL, scenario, "--format", "jsonl", "-o", str(target))
    assert refused.code == 1 and "already exists" in refused.err and "--force" in refused.err
    assert target.read_text(encoding="utf-8") == "keep me\n"
    forced = clause("run", SPECIAL, scenario, "--format", "jsonl", "-o", str(target), "--force")
    assert forced.code == 0 and forced.out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["scenario"] == scenario


def test_csv_and_table_formats(tmp_path: Path) -> None:
    scenario = "examples/special_conversion/holder_converts.yaml"
    rows = list(csv.DictReader(io.StringIO(clause("run", SPECIAL, scenario, "--format", "csv").out)))
    [row] = rows
    assert row["scenario"] == scenario
    assert row["shares_issuable"] == "353" and row["conversion_permitted"] == "true"
    assert row["period_end"] == "2003-06-19T09:15:00-05:00" and row["errors"] == ""
    table = clause("run", SPECIAL, scenario, "--format", "table").out
    header, rule, line = table.splitlines()[:3]
    assert header.split()[0] == "scenario" and "shares_issuable" in header and set(rule) <= {"-", " "}
    assert "353" in line and line.rstrip().endswith("ok")


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    rows = [{"principal_amount": str(1000 * (i % 5 + 1)), "principal_to_convert": "1000"} for i in range(300)]
    table = _write_csv(tmp_path / "many.csv", rows)
    run = clause("run", SPECIAL, str(table), "--format", "jsonl", "--workers", "2")
    assert run.code == 0
    assert run.err == "300 scenarios, 0 failed\n"


def test_workers_give_the_rows_in_input_order(tmp_path: Path) -> None:
    rows = [{"scenario": f"row {i}", "principal_amount": str(1000 * (i % 7 + 1)), "principal_to_convert": "1000"}
            for i in range(700)]
    rows[400]["principal_amount"] = "oops"
    table = _write_csv(tmp_path / "order.csv", rows)
    parallel = clause("run", SPECIAL, str(table), "--format", "jsonl", "--workers", "2")
    serial = clause("run", SPECIAL, str(table), "--format", "jsonl", "--workers", "1")
    assert parallel.out == serial.out
    assert [line["scenario"] for line in _lines(parallel.out)] == [f"row {i}" for i in range(700)]
    assert parallel.code == serial.code == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_scenarios_are_read_as_they_are_evaluated(workers: int) -> None:
    """Streaming: rows come out while the input is still being read (memory stays flat)."""
    program = load_contract(ROOT / SPECIAL)
    consumed = itertools.count()

    def endless() -> Iterator[Item]:
        for i in itertools.count():
            next(consumed)
            yield Item(f"row {i}", "endless", {"principal_amount": "1000", "principal_to_convert": "1000"}, i + 1)

    rows = evaluate_all(program, endless(), workers, chunk=50)
    taken = list(itertools.islice(rows, 120))
    assert [r.name for r in taken] == [f"row {i}" for i in range(120)]
    assert next(consumed) < 2000  # only a bounded number of chunks were read ahead
    rows.close()  # type: ignore[attr-defined]


def test_a_second_run_in_one_process_names_the_contract_as_given(tmp_path: Path) -> None:
    """Runs in one process (a test session, the workbench) keep evaluators between runs: a run
    must still write the name its own command gave the contract, not an earlier run's."""
    from engine.cli import main

    table = tmp_path / "issues.csv"
    table.write_text("scenario,shares_issued\nfirst,1000\n", encoding="utf-8")
    relative = "contracts/series_b_preferred.clause"
    absolute = str(Path(__file__).resolve().parent.parent / relative)
    for given in (relative, absolute, relative):
        out = tmp_path / "out.jsonl"
        assert main(["run", given, str(table), "--format", "jsonl", "-o", str(out), "--force", "--workers", "1"]) == 0
        assert json.loads(out.read_text(encoding="utf-8"))["contract"] == given
