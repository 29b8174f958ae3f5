"""JSON lines written a column at a time (runner/json_lines.py) are the bytes the
row-by-row writer gives (runner/run.py ``TableRunner.batch``, itself held to the
scalar path by tests/test_columnar.py and tests/test_conformance.py): every
result and a chosen few, three shapes of §6(b) rows with ties, names that JSON
must escape, rows without a name, and rows the columns cannot carry merged back
in their places."""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path
from typing import Any

import pytest

import runner.json_lines as json_lines
from engine.api import load_contract
from runner.run import TableRunner
from runner.tables import read_batches

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = str(ROOT / "contracts" / "series_b_preferred.clause")
sys.path.insert(0, str(ROOT / "bench"))

from scenarios import COLUMNS, rows  # noqa: E402

CHOSEN = ["price_per_share", "shares_deemed_outstanding", "adjustment_triggered", "new_conversion_price",
          "new_conversion_rate"]
LEFT_OUT = {"every_fact": (), "no_market_price": ("average_current_market_price",),
            "no_date_no_options": ("issue_date", "options")}
NAMES = ['plain', 'with "quotes"', "back\\slash", "tab\there", "naïve — ünïcode", "", "  padded  "]


def _tie(index: int, rng: random.Random) -> dict[str, str]:
    outstanding = 1000 * rng.randrange(1_000, 300_000)
    target = rng.randrange(2000, 3400) * 10 + 5  # x.xxx5 before rounding
    total = outstanding * (2 * target - 34100)
    return {"scenario": f"tie-{index}", "issue_date": "2003-03-03", "security": "common",
            "shares_issued": str(outstanding), "consideration": f"{total // 10000}.{total % 10000 // 100:02d}",
            "additional_consideration": "0", "common_shares_outstanding": str(outstanding),
            "convertible_shares": "0", "options": "[]", "average_current_market_price": "4.00",
            "conversion_price": "3.41", "exemption": "none"}


def _write(path: Path, left_out: tuple[str, ...], odd_rows: bool) -> None:
    rng = random.Random(5)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [c for c in COLUMNS if c not in left_out], lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        for index, row in enumerate(rows(160, seed=44)):
            row = _tie(index, rng) if index % 4 == 3 else row
            if index < len(NAMES):
                row["scenario"] = NAMES[index]
            writer.writerow(row)
        if odd_rows:  # cells the columns cannot read, a failing row, a division by zero
            writer.writerow({**_tie(900, rng), "scenario": "dollars", "consideration": "$1,000.00"})
            writer.writerow({**_tie(901, rng), "scenario": "bad-date", "issue_date": "2003-02-30"})
            writer.writerow({**_tie(902, rng), "scenario": "no-shares", "shares_issued": "0"})


def _both(path: Path, lines: list[str] | None, monkeypatch: pytest.MonkeyPatch,
          by_columns: bool = True, text_rows: int = 1 << 20) -> tuple[str, str, int]:
    program = load_contract(CONTRACT)
    [batch] = list(read_batches(path))
    taken = []
    original = json_lines.vectorised_lines

    def spy(*args: Any) -> Any:
        found = original(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(json_lines, "vectorised_lines", spy)
    chunks, failed = TableRunner(program, "jsonl", CHOSEN, lines, text_rows=text_rows).batch_text(batch)
    text = b"".join(bytes(chunk) for chunk in chunks).decode("utf-8")
    if by_columns and text_rows < 160:  # in buffers of text_rows rows
        assert [bytes(c).count(b"\n") for c in chunks] == [text_rows] * (160 // text_rows) + \
            ([160 % text_rows] if 160 % text_rows else [])
    row_by_row = "".join(o.text + "\n" for o in TableRunner(program, "jsonl", CHOSEN, lines).batch(batch))
    # (with a fact left out, the results the columns do not compute are spelled row by row and joined)
    assert (bool(taken) and all(taken)) if by_columns else taken == [], "the batch was not written as expected"
    return text, row_by_row, len(failed)


@pytest.mark.parametrize("shape", list(LEFT_OUT))
@pytest.mark.parametrize("chosen", [True, False], ids=["chosen_results", "every_result"])
@pytest.mark.parametrize("text_rows", [1 << 20, 7], ids=["one_buffer", "buffers_of_7_rows"])
def test_column_lines_are_the_row_lines(shape: str, chosen: bool, text_rows: int, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "issues.csv"
    _write(table, LEFT_OUT[shape], odd_rows=False)
    text, row_by_row, failed = _both(table, CHOSEN if chosen else None, monkeypatch, text_rows=text_rows)
    assert text == row_by_row
    assert failed == 0
    assert text.count("\n") == 160


def test_rows_the_columns_cannot_carry_keep_their_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "issues.csv"
    _write(table, (), odd_rows=True)
    text, row_by_row, failed = _both(table, CHOSEN, monkeypatch)
    assert text == row_by_row
    assert failed == 2  # bad-date (February 30) and no-shares (a division by zero)
    lines = text.splitlines()
    assert '"errors"' in lines[-2] and '"errors"' in lines[-1] and '"errors"' not in lines[-3]
    assert '"scenario": "dollars"' in lines[-3] and '"scenario": "no-shares"' in lines[-1]
    assert '"scenario": "with \\"quotes\\""' in lines[1] and '"scenario": "tab\\there"' in lines[3]
    assert f'"scenario": "{table}:7"' in lines[5]  # a row without a name is called by its line
