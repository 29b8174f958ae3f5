"""Cold start: `clause eval --format json` of one scenario vs a hand-written script.

    python bench/bench_cold_start.py [RUNS]

Both run as fresh processes on the same scenario file, in one run, alternating;
the figure is the median wall time. `clause eval` is measured with a warm
contract cache (the usual case: the contract was checked before) and with the
cache turned off (CLAUSE_CACHE=0: parse and check every time). Target: within
3x of the hand-written script.

Python's own bytecode cache matters as much: where PYTHONDONTWRITEBYTECODE is
set (as on the project's machines), every run compiles every module from
source. Both configurations are measured: with bytecode caching (as a normal
install runs; the .pyc files go to a temporary PYTHONPYCACHEPREFIX) and
without it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = "contracts/special_conversion.clause"
SCENARIO = "examples/special_conversion/holder_converts.yaml"


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(runs: int, bytecode: bool) -> float:
    cache = tempfile.mkdtemp(prefix="clause-cache-")
    env = {**os.environ, "CLAUSE_CACHE_DIR": cache}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="clause-pyc-")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    cold_env = {**env, "CLAUSE_CACHE": "0"}
    clause = [sys.executable, "-m", "engine.cli", "eval", CONTRACT, SCENARIO, "--format", "json"]
    script = [sys.executable, "bench/handwritten_special_conversion.py", SCENARIO]
    bare = [sys.executable, "-c", "pass"]
    wall(clause, env)  # fills the contract cache (and the bytecode cache)
    wall(script, env)
    times: dict[str, list[float]] = {"python -c pass": [], "hand-written script": [], "clause eval (cache warm)": [],
                                     "clause eval (no cache)": []}
    for _ in range(runs):
        times["python -c pass"].append(wall(bare, env))
        times["hand-written script"].append(wall(script, env))
        times["clause eval (cache warm)"].append(wall(clause, env))
        times["clause eval (no cache)"].append(wall(clause, cold_env))
    base = statistics.median(times["hand-written script"])
    label = "with bytecode cache" if bytecode else "without bytecode cache (PYTHONDONTWRITEBYTECODE=1)"
    print(f"cold start {label}, {runs} runs each, median wall time (ratio to the hand-written script)")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"  {label:<28} {median * 1000:7.1f} ms   {median / base:5.2f}x")
    ratio = statistics.median(times["clause eval (cache warm)"]) / base
    print(f"  target clause eval <= 3x hand-written: {'met' if ratio <= 3 else 'MISSED'} ({ratio:.2f}x)")
    return ratio


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    measure(runs, bytecode=True)
    measure(runs, bytecode=False)


if __name__ == "__main__":
    main()
