"""Deterministic §6(b) scenarios (Series B anti-dilution, one issuance) for the benchmarks.

    python bench/scenarios.py 100000 > /tmp/6b.csv

Each row is one issuance: the facts `clause run` reads from a CSV table (one
column per fact, options as JSON in a cell). The same generator feeds the
in-process benchmarks, so every figure is measured on the same scenarios.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections.abc import Iterator
from typing import Any

COLUMNS = ["scenario", "issue_date", "security", "shares_issued", "consideration", "additional_consideration",
           "common_shares_outstanding", "convertible_shares", "options", "average_current_market_price",
           "conversion_price", "exemption"]
SECURITIES = ["common", "common", "option", "convertible"]
EXEMPTIONS = ["none"] * 8 + ["employee_plan", "public_offering", "notes_conversion"]


def rows(count: int, seed: int = 6) -> Iterator[dict[str, Any]]:
    """Rows of text cells, as they would stand in a CSV file."""
    rng = random.Random(seed)
    for index in range(count):
        outstanding = rng.randrange(100_000_000, 400_000_000)
        issued = rng.randrange(1_000_000, 60_000_000)
        price_cents = rng.randrange(150, 420)
        options = [{"shares": rng.randrange(100_000, 5_000_000),
                    "exercise_price": f"{rng.randrange(100, 600) / 100:.2f}"} for _ in range(rng.randrange(0, 4))]
        yield {
            "scenario": f"issue-{index + 1}",
            "issue_date": f"{rng.choice([2002, 2003, 2004])}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "security": rng.choice(SECURITIES),
            "shares_issued": str(issued),
            "consideration": f"{issued * price_cents // 100}.{issued * price_cents % 100:02d}",
            "additional_consideration": str(rng.choice([0, 0, 1_000_000, 5_000_000])),
            "common_shares_outstanding": str(outstanding),
            "convertible_shares": str(rng.choice([0, 146_627_566, 20_000_000])),
            "options": json.dumps(options),
            "average_current_market_price": f"{rng.randrange(200, 450) / 100:.2f}",
            "conversion_price": rng.choice(["3.41", "3.41", "3.327", "2.95"]),
            "exemption": rng.choice(EXEMPTIONS),
        }


def write_csv(count: int, out: Any) -> None:
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(count):
        writer.writerow(row)


if __name__ == "__main__":
    write_csv(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, sys.stdout)
