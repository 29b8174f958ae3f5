"""`clause run` over random Series B histories against the independent oracle, row for row.

    python bench/history_agreement.py [ROWS] [--seed N] [--events N] [--jsonl] [--workers N]

Writes ROWS (default 10,000) random histories of up to --events (default 20) §6
events each (tests/history_oracle.py: random_history) to a CSV table, the events as
JSON in a cell (or to JSON Lines with --jsonl), runs
`clause run contracts/series_b_preferred.clause TABLE --format jsonl` as a child
process, and compares every row's conversion_price_history, _after_events, _as_of
and conversion_rate_after_events with tests/history_oracle.py (Fractions, the
recursive replay read straight from the text). Prints the figures; exits 1 on any
disagreement. tests/test_history_run.py runs a bounded version on every test run.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from history_oracle import compare_row, random_history, write_table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--jsonl", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    histories = [random_history(rng, args.events) for _ in range(args.rows)]
    kinds = Counter(e["kind"] for h in histories for e in h["events"])
    with tempfile.TemporaryDirectory() as directory:
        table = Path(directory) / ("histories.jsonl" if args.jsonl else "histories.csv")
        write_table(histories, table, args.jsonl)
        command = [sys.executable, "-m", "engine.cli", "run", str(ROOT / "contracts" / "series_b_preferred.clause"),
                   str(table), "--format", "jsonl", "-o", str(Path(directory) / "out.jsonl")]
        if args.workers:
            command += ["--workers", str(args.workers)]
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        lines = (Path(directory) / "out.jsonl").read_text(encoding="utf-8").splitlines()
    outputs = [json.loads(line) for line in lines]
    disagreements = 0
    failed = 0
    for number, (facts, output) in enumerate(zip(histories, outputs, strict=True)):
        assert output["scenario"] == f"history {number}" or output["scenario"].endswith(f":{number + 2}")
        if output.get("errors"):
            failed += 1
            print(f"history {number}: {output['errors']}", file=sys.stderr)
            continue
        problems = compare_row(facts, output["results"])
        if problems:
            disagreements += 1
            if disagreements <= 10:
                print(f"history {number}: {problems}\n  {json.dumps(facts)}", file=sys.stderr)
    events = sum(len(h["events"]) for h in histories)
    print(f"{args.rows} histories ({'JSON Lines' if args.jsonl else 'CSV'}), {events} events "
          f"(mean {events / max(1, args.rows):.1f}, max {max(len(h['events']) for h in histories)}); "
          f"kinds: {', '.join(f'{k} {n}' for k, n in kinds.most_common())}")
    print(f"clause run: exit {finished.returncode}, {elapsed:.1f} s wall, {args.rows / elapsed:.0f} histories/s")
    print(f"agree with the oracle: {args.rows - disagreements - failed}; disagree: {disagreements}; "
          f"failed: {failed}")
    return 1 if disagreements or failed or len(outputs) != args.rows else 0


if __name__ == "__main__":
    raise SystemExit(main())
