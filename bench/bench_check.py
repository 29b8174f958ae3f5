"""`clause check` time against file size: the file doubled four times.

    python bench/bench_check.py [RULES]        (default: 250, so 250 … 4,000 rules)

Writes a contract of RULES results (optional facts narrowed by `is not none`,
and/or chains, rules reading earlier rules), then 2×, 4×, 8× and 16× as many,
and times parse + check of each in this process (the cache is bypassed: the
checker runs every time; best of three). Linear: each doubling about doubles
the time (the ratio column stays near 2; quadratic would approach 4).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.check import check_file  # noqa: E402

HEADER = """contract "Checker scale (bench)"
  dated 2024-01-01
  party "Example Co." as "Corporation"
  governing law "Delaware"
  home zone "America/New_York"

"""


def contract(rules: int) -> str:
    lines = [HEADER]
    facts = max(rules // 10, 1)
    for index in range(facts):
        lines.append(f'fact amount_{index}: optional money "amount {index}"\n')
        lines.append(f'fact count_{index}: integer "count {index}"\n')
    lines.append('\nsection "1" "Rules"\n')
    for index in range(rules):
        fact = index % facts
        earlier = f" + r_{index - 1}" if index else ""
        lines.append(
            f'  result r_{index}: money "rule {index}"\n'
            f"    = (if amount_{fact} is not none and count_{fact} > 0 then amount_{fact} * count_{fact}"
            f" else $0.00){earlier}\n")
    return "".join(lines)


def best(path: Path) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        check_file(path)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    base = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    previous = None
    print("rules   bytes      check s   ×previous")
    with tempfile.TemporaryDirectory() as name:
        for step in range(5):
            rules = base * 2**step
            path = Path(name) / f"scale_{rules}.clause"
            path.write_text(contract(rules), encoding="utf-8")
            seconds = best(path)
            ratio = f"{seconds / previous:6.2f}" if previous else "     –"
            print(f"{rules:5d} {path.stat().st_size:8d} {seconds:10.3f}   {ratio}", flush=True)
            previous = seconds


if __name__ == "__main__":
    main()
