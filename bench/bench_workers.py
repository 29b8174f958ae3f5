"""`clause run --workers 2` against `--workers 1`: CSV → JSONL, the columnar and the scalar evaluator.

    python bench/bench_workers.py [ROWS] [EVALUATORS] [--rounds N] [--results A,B,C | --every-result]

(default: 1000000 rows, columnar,scalar, the results that vary from row to row: the 14 that
`clause run` writes to CSV or Parquet for this table by default, 3 rounds)

In one run, on one CSV table of §6(b) scenarios (bench/scenarios.py), as child
processes: `clause run contracts/series_b_preferred.clause TABLE --format jsonl
-o OUT --workers W --evaluator E --results ...` for E in (columnar, scalar) and W
in (1, 2), in turn (1, 2, 1, 2, ...) for N rounds, so a drift of the machine's
speed falls on both. Reports each run's wall and CPU time, the median of each
and the ratio of 2 workers to 1 (target: at most 0.6) round by round and of the
medians, and checks that all the outputs are the same bytes (SHA-256 of each,
computed while the next run is not running). Each output is deleted once
hashed.

With --every-result each line holds all 95 results (~17 KB a line, 17 GB for a
million rows): the runs then write faster than this machine's disk takes it
(~400 MB/s measured with dd), and a second core cannot help; use fewer rows.
Child processes run with bytecode written and read, as an installed package.
"""

from __future__ import annotations

import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from scenarios import write_csv  # noqa: E402

CONTRACT = "contracts/series_b_preferred.clause"


def varying() -> str:
    """What `clause run` writes by default to CSV and Parquet for this table: the results that vary."""
    sys.path.insert(0, str(ROOT))
    from scenarios import COLUMNS

    from engine.api import load_contract
    from runner.run import default_results

    program = load_contract(str(ROOT / CONTRACT))
    return ",".join(default_results(program, frozenset(c for c in COLUMNS if c in program.facts)))


def digest(path: Path) -> str:
    found = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            found.update(chunk)
    return found.hexdigest()


def run(table: Path, out: Path, workers: int, evaluator: str, results: str | None) -> tuple[float, float]:
    command = [sys.executable, "-m", "engine.cli", "run", CONTRACT, str(table), "--format", "jsonl", "-o", str(out),
               "--force", "--workers", str(workers), "--evaluator", evaluator]
    if results:
        command += ["--results", results]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr[-2000:]
    # CPU seconds of the run and its workers: on a loaded machine the wall time says little alone.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main() -> None:
    args = sys.argv[1:]
    results: str | None = varying()
    if "--results" in args:
        at = args.index("--results")
        results = args[at + 1]
        del args[at:at + 2]
    if "--every-result" in args:
        args.remove("--every-result")
        results = None
    rounds = 3
    if "--rounds" in args:
        at = args.index("--rounds")
        rounds = int(args[at + 1])
        del args[at:at + 2]
    rows = int(args[0]) if args else 1_000_000
    evaluators = args[1].split(",") if len(args) > 1 else ["columnar", "scalar"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "engine", "runner", "render"], cwd=ROOT, check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        table = directory / "issues.csv"
        with table.open("w", newline="", encoding="utf-8") as handle:
            write_csv(rows, handle)
        print(f"§6(b), {rows:,} scenarios, CSV → JSONL ({'results ' + results if results else 'every result'})")
        digests = set()
        for evaluator in evaluators:
            seconds: dict[int, list[float]] = {1: [], 2: []}
            for _round in range(rounds):
                for workers in (1, 2):
                    out = directory / f"out-{evaluator}-{workers}.jsonl"
                    wall, cpu = run(table, out, workers, evaluator, results)
                    seconds[workers].append(wall)
                    size = out.stat().st_size
                    digests.add(digest(out))
                    out.unlink()
                    print(f"  {evaluator:8} --workers {workers}: {wall:8.2f} s  {rows / wall:10,.0f} rows/s  "
                          f"({size / 1e9:.2f} GB; {cpu:.1f} CPU s, {rows / cpu:,.0f} rows per CPU s; "
                          f"load {os.getloadavg()[0]:.1f})", flush=True)
            pairs = ", ".join(f"{two / one:.3f}" for one, two in zip(seconds[1], seconds[2], strict=True))
            one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
            print(f"  {evaluator:8} medians: 1 worker {one:.2f} s, 2 workers {two:.2f} s; 2 workers / 1 worker: "
                  f"{two / one:.3f} of the wall time (round by round: {pairs})")
        assert len(digests) == 1, "the outputs differ"
        count = 2 * rounds * len(evaluators)
        print(f"  checked: the {count} outputs are the same bytes (sha256 {digests.pop()[:16]}…)")


if __name__ == "__main__":
    main()
