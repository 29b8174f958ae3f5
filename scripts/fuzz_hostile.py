"""The long fuzz run of issue #10, for release checks.

    python scripts/fuzz_hostile.py --cases 100000 --workers 2 [--seed 1] [--minutes 60] [--out DIR]

Each case is a grammar-aware mutation of a shipped contract, scenario or
table (tests/hostile_mutations.py) run through the CLI in a worker process.
A case fails when it gives an internal error, a traceback or an exception out
of the CLI, or runs past --hang seconds (10). The run prints its figures:
cases by kind, exit codes, failures, the slowest case (wall and CPU time) and
each worker's peak resident memory; a failing case's files and command are
saved under --out to be replayed with `clause` by hand.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from hostile_mutations import Case, Corpus, link_corpus, run_case  # noqa: E402


class Hang(BaseException):
    """A case that ran past the hard stop (not an Exception: the CLI must not catch it)."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hang


def _save(out: Path, seed: int, case: Case, why: str, err: str) -> None:
    where = out / f"case-{seed}"
    where.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        path = where / Path(name).name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    (where / "case.json").write_text(json.dumps({"seed": seed, "kind": case.kind, "command": case.command,
                                                 "why": why, "stderr": err[-5000:]}, indent=2), encoding="utf-8")


def worker(index: int, seeds: list[int], hang: float, hard_stop: int, deadline: float, out: str,
           series_b: bool, queue: Any) -> None:
    signal.signal(signal.SIGALRM, _alarm)
    directory = Path(tempfile.mkdtemp(prefix=f"clause-fuzz-{index}-"))
    link_corpus(directory)
    os.environ["CLAUSE_CACHE_DIR"] = str(directory / ".cache")
    corpus = Corpus(series_b=series_b)
    kinds: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    failures: list[dict[str, Any]] = []
    slowest = (0.0, 0.0, -1, "")
    done = 0
    for seed in seeds:
        if time.time() > deadline:
            break
        case = corpus.case(random.Random(seed))
        kinds[case.kind] += 1
        wall, cpu = time.perf_counter(), time.process_time()
        signal.alarm(hard_stop)
        try:
            verdict = run_case(case, directory)
            broke, code, err = verdict.broke, verdict.code, verdict.err
        except Hang:
            broke, code, err = f"stopped after {hard_stop} s", -2, ""
        finally:
            signal.alarm(0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall > slowest[0]:
            slowest = (wall, cpu, seed, " ".join(case.command[:2]))
        if broke is None and cpu > hang:
            broke = f"took {cpu:.1f} s of CPU (over {hang:g} s)"
        codes[code] += 1
        if broke is not None:
            failures.append({"seed": seed, "kind": case.kind, "command": case.command, "why": broke})
            _save(Path(out), seed, case, broke, err)
        done += 1
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"worker": index, "cases": done, "kinds": dict(kinds), "codes": {str(k): v for k, v in codes.items()},
               "failures": failures, "slowest": slowest, "peak_rss_mib": round(peak_kib / 1024, 1)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=0, help="stop after this long (0: when the cases are done)")
    parser.add_argument("--hang", type=float, default=10.0, help="CPU seconds a case may take")
    parser.add_argument("--out", default="fuzz-failures", help="where failing cases are saved")
    parser.add_argument("--series-b", action="store_true", help="also mutate the 2,000-line Series B contract")
    args = parser.parse_args()
    start = time.time()
    deadline = start + args.minutes * 60 if args.minutes else float("inf")
    seeds = [args.seed * 1_000_000_007 + i for i in range(args.cases)]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=worker, args=(i, seeds[i::args.workers], args.hang, int(max(60, args.hang * 6)),
                                                      deadline, args.out, args.series_b, queue))
                 for i in range(args.workers)]
    for process in processes:
        process.start()
    reports = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.time() - start
    kinds: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    failures = [f for r in reports for f in r["failures"]]
    for report in reports:
        kinds.update(report["kinds"])
        codes.update(report["codes"])
    total = sum(r["cases"] for r in reports)
    slowest = max((tuple(r["slowest"]) for r in reports), default=(0.0, 0.0, -1, ""))
    summary = {
        "cases": total, "by_kind": dict(kinds), "exit_codes": dict(codes), "failures": len(failures),
        "internal_errors": sum(1 for f in failures if f["why"].startswith(("internal error", "escaped", "exit 70"))),
        "hangs": sum(1 for f in failures if f["why"].startswith(("took", "stopped"))),
        "elapsed_s": round(elapsed, 1), "cases_per_s": round(total / elapsed, 1) if elapsed else 0,
        "slowest_case": {"wall_s": round(slowest[0], 2), "cpu_s": round(slowest[1], 2), "seed": slowest[2],
                         "command": slowest[3]},
        "peak_rss_mib_per_worker": [r["peak_rss_mib"] for r in sorted(reports, key=lambda r: r["worker"])],
    }
    print(json.dumps(summary, indent=2))
    for failure in failures[:20]:
        print(f"FAIL seed={failure['seed']} {failure['kind']} {' '.join(failure['command'])}: {failure['why']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
