"""The columnar reader and evaluator against the scalar path on odd cells.

Random §6(b) rows (bench/scenarios.py) with some cells replaced by forms a table
holds in practice or by mistake: currency signs and separators, exponents, hex,
padded or unicode digits, impossible dates, percents, JSON values where text is
expected, floats, lists of records with a float, a missing or extra field, a key
given twice. Whatever the columns read or leave to the scalar path, `clause
run`'s JSON lines must be the bytes of `--evaluator scalar`, row for row."""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = str(ROOT / "contracts" / "series_b_preferred.clause")
sys.path.insert(0, str(ROOT / "bench"))

from scenarios import COLUMNS, rows  # noqa: E402

ODD_TEXT = ["$1,000.00", " 12 ", "1e3", "0x10", "+5", "-0", "00012", "1_000", "1,000", "12.000000001", "", "null",
            "true", "١٢", "9" * 30, "2003-2-3", "2003-02-03T00:00", "2003-02-30", "  2003-02-03", "3.41%", "-3.41",
            "0", "0.0", "1.5", "NaN", "inf", "[]", "{}", "[1]", '"x"', "none", "common", "Common", " common",
            "notes_conversion", "1.000", "1.", ".5", "-.5", "1e-3", "１２", "12\u00a0", "99999999999999999999",
            "922337203685477580", "123456789012.123456", "123456789012.1234567", "0.0000001"]
ODD_OPTIONS = ['[]', '[{"shares": 1.5, "exercise_price": "1.00"}]', '[{"shares": "1,000", "exercise_price": "1.00"}]',
               '[{"shares": 1, "exercise_price": 1}]', '[{"shares": 1, "exercise_price": 1.25}]', '[{"shares": 1}]',
               '[{"shares": 1, "exercise_price": "1.00", "x": 2}]', '[{"shares": -1, "exercise_price": "1.00"}]',
               '[{"shares": 1, "exercise_price": "$1.00"}]', '[{"shares": 1, "exercise_price": null}]', '[[1]]',
               'null', '', '[{"shares": true, "exercise_price": "1.00"}]', '  []  ', '[ ]',
               '[{"shares": 1, "shares": 2, "exercise_price": "1.00"}]',
               '[{"shares": 10000000000000000000, "exercise_price": "1.00"}]',
               '[{"exercise_price": "1.00", "shares": 2}]']
ODD_JSON: list[Any] = [1000, 12.5, 1e3, -0.0, 0, True, False, None, "12", "$1,000.00", [], {}, [1], "2003-02-30",
                       12345678901234567890, 3.41, "3.41", "common", "none", 1.0, 2**63, -1, "１２", "", " 5 "]


def _lines(table: Path, tmp_path: Path, evaluator: str) -> list[str]:
    out = tmp_path / f"{evaluator}.jsonl"
    main(["run", CONTRACT, str(table), "--format", "jsonl", "-o", str(out), "--force", "--workers", "1",
          "--evaluator", evaluator])
    return out.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("seed", [1, 2])
def test_odd_csv_cells_give_the_scalar_paths_lines(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    table = tmp_path / "odd.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows(150, seed=seed):
            for _ in range(rng.randrange(0, 3)):
                column = rng.choice(COLUMNS[1:])
                row[column] = rng.choice(ODD_OPTIONS if column == "options" else ODD_TEXT)
            writer.writerow(row)
    columnar = _lines(table, tmp_path, "columnar")
    assert len(columnar) == 150
    assert columnar == _lines(table, tmp_path, "scalar")
    assert sum('"errors"' in line for line in columnar) > 10  # the odd cells were read, and many refused


@pytest.mark.parametrize("seed", [3])
def test_odd_json_lines_values_give_the_scalar_paths_lines(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    table = tmp_path / "odd.jsonl"
    with table.open("w", encoding="utf-8") as handle:
        for row in rows(150, seed=seed):
            data: dict[str, Any] = {**row, "options": json.loads(row["options"])}
            for _ in range(rng.randrange(0, 3)):
                column = rng.choice(COLUMNS[1:])
                data[column] = rng.choice(ODD_JSON)
            handle.write(json.dumps(data) + "\n")
    columnar = _lines(table, tmp_path, "columnar")
    assert len(columnar) == 150
    assert columnar == _lines(table, tmp_path, "scalar")
