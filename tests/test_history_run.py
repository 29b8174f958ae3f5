"""`clause run` over tables of Series B histories agrees with the oracle, row for row.

A bounded version of bench/history_agreement.py (which runs 10,000 histories of up
to 20 events): seeded random histories (tests/history_oracle.py: random_history),
one per row, the events as JSON in a CSV cell or in a JSON Lines object, compared
with the independent Fraction oracle on every history result.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from helpers import clause
from history_oracle import compare_row, random_history, write_table

CONTRACT = "contracts/series_b_preferred.clause"


@pytest.mark.parametrize(("jsonl", "rows", "seed"), [(False, 300, 2003), (True, 100, 2004)], ids=["csv", "jsonl"])
def test_clause_run_agrees_with_the_oracle_row_for_row(tmp_path: Path, jsonl: bool, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    histories = [random_history(rng) for _ in range(rows)]
    table = tmp_path / ("histories.jsonl" if jsonl else "histories.csv")
    write_table(histories, table, jsonl)
    out = tmp_path / "out.jsonl"
    run = clause("run", CONTRACT, str(table), "--format", "jsonl", "--workers", "1", "-o", str(out))
    assert run.code == 0, run.err
    outputs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [o["scenario"] for o in outputs] == [f"history {n}" for n in range(rows)]
    for facts, output in zip(histories, outputs, strict=True):
        assert not output.get("errors"), output["errors"]
        assert compare_row(facts, output["results"]) == [], json.dumps(facts)
    # The sample is not trivial: every kind of event occurs, and many histories are long.
    kinds = {e["kind"] for h in histories for e in h["events"]}
    assert len(kinds) == 8
    assert sum(len(h["events"]) >= 15 for h in histories) >= rows // 5


def test_a_bad_history_in_a_table_fails_alone(tmp_path: Path) -> None:
    rng = random.Random(7)
    histories = [random_history(rng) for _ in range(3)]
    histories[1]["events"] = [{"date": "2003-01-01", "kind": "expiration", "refers_to": "nothing"}]
    table = tmp_path / "histories.csv"
    write_table(histories, table, jsonl=False)
    out = tmp_path / "out.jsonl"
    run = clause("run", CONTRACT, str(table), "--format", "jsonl", "--workers", "1", "-o", str(out))
    assert run.code == 1
    outputs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [bool(o.get("errors")) for o in outputs] == [False, True, False]
    assert "a change or expiration names, in refers_to" in outputs[1]["errors"][0]
    assert compare_row(histories[2], outputs[2]["results"]) == []
