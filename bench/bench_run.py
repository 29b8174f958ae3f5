"""`clause run` over a CSV of §6(b) scenarios: scenarios per second and peak memory.

    python bench/bench_run.py [ROWS...]        (default: 20000 100000)

For each size, writes the table (bench/scenarios.py), runs
`clause run contracts/series_b_preferred.clause TABLE --format jsonl -o OUT`
as a child process on every core, and reports wall time, scenarios per second
and the peak resident memory of the largest process (parent or worker).
Memory must not grow with the number of scenarios.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from scenarios import write_csv  # noqa: E402


def run(rows: int, directory: Path) -> dict[str, float]:
    table = directory / f"issues_{rows}.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        write_csv(rows, handle)
    out = directory / f"out_{rows}.jsonl"
    command = [sys.executable, "-c",
               "import resource, sys; from engine.cli import main; code = main(sys.argv[1:]); "
               "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "sys.stderr.write(f'PEAK {peak}\\n'); sys.exit(code)",
               "run", "contracts/series_b_preferred.clause", str(table), "--format", "jsonl", "-o", str(out),
               "--force"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak_kb = int(next(line for line in done.stderr.splitlines() if line.startswith("PEAK")).split()[1])
    with out.open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
        handle.seek(0)
        first = json.loads(handle.readline())
    assert lines == rows and "errors" not in first
    return {"rows": rows, "seconds": seconds, "per_second": rows / seconds, "peak_mb": peak_kb / 1024,
            "output_mb": out.stat().st_size / 2**20}


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [20_000, 100_000]
    print(f"clause run, §6(b) CSV, jsonl output, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as directory:
        for rows in sizes:
            r = run(rows, Path(directory))
            print(f"  {rows:>7} scenarios: {r['seconds']:6.2f} s  {r['per_second']:8.0f} scenarios/s  "
                  f"peak memory {r['peak_mb']:6.1f} MB  output {r['output_mb']:7.1f} MB")
    _ = resource


if __name__ == "__main__":
    main()
