"""The columnar evaluator (runner/) against the scalar compiled path, row for row.

Every row of a table run by `clause run` through runner/ must give the JSON line
the scalar path (engine/batch.py) gives it: values, missing facts, readings and
errors, including ties at 0.0005 under §6(b)'s round to the nearest tenth of a cent,
cells the columns cannot carry (they go to the scalar path) and failing rows.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.api import load_contract
from engine.batch import evaluate_all, items_of
from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = str(ROOT / "contracts" / "series_b_preferred.clause")
sys.path.insert(0, str(ROOT / "bench"))

from scenarios import COLUMNS, rows  # noqa: E402

# Ties worked by hand: 1,000 shares outstanding at a Conversion Price of $3.41 and
# 1,000 shares issued for $591 give (3.41 * 1000 + 591) / 2000 = 2.0005 exactly, which
# rounds half up to $2.001; for $589, 3999 / 2000 = 1.9995 rounds to $2.000.
TIES = [("tie-up", "591", "2.001"), ("tie-down", "589", "2.00")]


def _tie(name: str, consideration: str) -> dict[str, str]:
    return {"scenario": name, "issue_date": "2003-01-01", "security": "common", "shares_issued": "1000",
            "consideration": consideration, "additional_consideration": "0", "common_shares_outstanding": "1000",
            "convertible_shares": "0", "options": "[]", "average_current_market_price": "2.00",
            "conversion_price": "3.41", "exemption": "none"}


def _table(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows(150, seed=12):
            writer.writerow(row)
        for name, consideration, _ in TIES:
            writer.writerow(_tie(name, consideration))
        odd = _tie("dollar-sign", "$1,000.00")  # not a column cell: the scalar path reads it
        writer.writerow(odd)
        writer.writerow({**_tie("bad-date", "591"), "issue_date": "2003-02-30"})  # fails, with its error
        writer.writerow({**_tie("no-shares", "591"), "shares_issued": "0"})  # a division by zero
        writer.writerow({**_tie("not-given", "591"), "average_current_market_price": ""})  # another shape


def _scalar_lines(path: Path) -> list[str]:
    program = load_contract(CONTRACT)
    return [row.text for row in evaluate_all(program, items_of(path), 1, "jsonl")]


def test_jsonl_lines_are_the_scalar_paths(tmp_path: Path) -> None:
    table = tmp_path / "issues.csv"
    _table(table)
    out = tmp_path / "out.jsonl"
    assert main(["run", CONTRACT, str(table), "--format", "jsonl", "-o", str(out)]) == 1  # bad-date fails
    columnar = out.read_text(encoding="utf-8").splitlines()
    assert columnar == _scalar_lines(table)
    by_name = {json.loads(line)["scenario"]: json.loads(line) for line in columnar}
    for name, _, price in TIES:
        assert by_name[name]["results"]["new_conversion_price"]["value"] == price
    assert by_name["bad-date"]["errors"]
    assert by_name["not-given"]["results"]["adjustment_triggered"]["missing"] == ["average_current_market_price"]


def test_parquet_in_and_out_with_chosen_results(tmp_path: Path) -> None:
    names = [name for name, _, _ in TIES]
    table = pa.table({
        "scenario": names, "issue_date": pa.array([__import__("datetime").date(2003, 1, 1)] * 2, pa.date32()),
        "security": ["common", "common"], "shares_issued": pa.array([1000, 1000], pa.int64()),
        "consideration": pa.array([__import__("decimal").Decimal(c) for _, c, _ in TIES], pa.decimal128(12, 2)),
        "common_shares_outstanding": pa.array([1000, 1000], pa.int64()),
        "options": pa.array([[], [{"shares": 5, "exercise_price": __import__("decimal").Decimal("9.00")}]],
                            pa.list_(pa.struct([("shares", pa.int64()), ("exercise_price", pa.decimal128(12, 2))]))),
        "average_current_market_price": pa.array([__import__("decimal").Decimal("2.00")] * 2, pa.decimal128(12, 2)),
    })
    source = tmp_path / "issues.parquet"
    pq.write_table(table, source)
    out = tmp_path / "out.parquet"
    code = main(["run", CONTRACT, str(source), "--format", "parquet", "-o", str(out),
                 "--results", "new_conversion_price,adjustment_triggered,price_per_share"])
    assert code == 0
    written = pq.read_table(out)
    assert written.column_names == ["scenario", "new_conversion_price", "adjustment_triggered", "price_per_share",
                                    "missing", "errors"]
    assert pa.types.is_decimal(written.schema.field("new_conversion_price").type)
    # The option's exercise price is above the Conversion Price, so it is not deemed outstanding.
    assert [str(v) for v in written.column("new_conversion_price").to_pylist()] and \
        [float(v) for v in written.column("new_conversion_price").to_pylist()] == [2.001, 2.0]
    assert written.column("price_per_share").to_pylist() in (
        [__import__("decimal").Decimal("0.591"), __import__("decimal").Decimal("0.589")], ["0.591", "0.589"])


def test_unknown_result_name_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "issues.csv"
    _table(table)
    code = main(["run", CONTRACT, str(table), "--format", "csv", "--results", "new_conversion_prise"])
    assert code == 1


@pytest.mark.parametrize("fmt", ["csv"])
def test_csv_defaults_to_results_that_vary(tmp_path: Path, fmt: str) -> None:
    table = tmp_path / "issues.csv"
    _table(table)
    out = tmp_path / "out.csv"
    main(["run", CONTRACT, str(table), "--format", fmt, "-o", str(out)])
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "new_conversion_price" in header and "missing" in header
    assert "designation" not in header  # the same constant on every row


def test_sweep_table_and_chart(tmp_path: Path) -> None:
    """The base scenario issues 30,000,000 shares when 300,000,000 are outstanding at a Conversion
    Price of $3.41 and a market price of $3.00: the issue triggers an adjustment while the price per
    share, consideration / 30,000,000, is below $3.00, i.e. for consideration below $90,000,000."""
    out = tmp_path / "sweep.csv"
    chart = tmp_path / "chart.png"
    code = main(["sweep", CONTRACT, str(ROOT / "examples" / "series_b" / "anti_dilution_issuance.yaml"),
                 "--vary", "consideration=88e6..92e6:1e6", "--plot", "adjustment_triggered",
                 "--plot-output", str(chart), "-o", str(out), "--results", "adjustment_triggered,new_conversion_price"])
    assert code == 0
    table = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["consideration"] for r in table] == ["88000000", "89000000", "90000000", "91000000", "92000000"]
    assert [r["adjustment_triggered"] for r in table] == ["true", "true", "false", "false", "false"]
    # (300,000,000 x 3.41 + 88,000,000) / 330,000,000 = 3.3666..., $3.367 to the tenth of a cent.
    assert table[0]["new_conversion_price"] == "3.367"
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_a_key_given_twice_in_a_cell_is_refused_as_the_scalar_path_refuses_it(tmp_path: Path) -> None:
    """A list of records in a CSV cell that gives a field twice: the last would silently win. The
    columnar reader leaves the row to the scalar path, which reports it (as in a scenario file)."""
    table = tmp_path / "issues.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows(20, seed=3):
            writer.writerow(row)
        writer.writerow({**_tie("twice", "591"),
                         "options": '[{"shares": 1, "shares": 2, "exercise_price": "1.00"}]'})
    out = tmp_path / "out.jsonl"
    assert main(["run", CONTRACT, str(table), "--format", "jsonl", "-o", str(out), "--workers", "1"]) == 1
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == _scalar_lines(table)
    last = json.loads(lines[-1])
    assert last["scenario"] == "twice" and "`shares` is given twice" in last["errors"][0]
