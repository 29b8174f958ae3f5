"""`clause eval`'s evaluation of the special conversion vs a hand-written Python function (issue #2).

    python bench/bench_special_conversion.py [REPEATS]

Both start from the same converted facts (examples/special_conversion's
scenarios) and compute the same results; the hand-written function is
bench/handwritten_special_conversion.py's. Printed: time per evaluation and
the ratio, for the path `clause eval` takes (engine.api.evaluate: fact
validation, compiled evaluation, result objects), for the compiled evaluator
alone, for the traced compiled evaluator (the results and the record the
trace is built from, as `clause eval --trace` and `clause memo` run it; then
with the trace read, which builds its Step trees), and for the reference
(tree-walking) evaluator untraced and traced.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from handwritten_special_conversion import special_conversion  # noqa: E402

from engine.api import evaluate, load_contract  # noqa: E402
from engine.compile import TracedEvaluation, shape_for, traced_evaluation, traced_shape_for, validate_fast  # noqa: E402
from engine.evaluate import Evaluation  # noqa: E402
from engine.scenario import load_scenario  # noqa: E402

SCENARIOS = ["holder_converts.yaml"]


def per_call(repeats: int, function: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    program = load_contract(ROOT / "contracts" / "special_conversion.clause")
    scenario = load_scenario(ROOT / "examples" / "special_conversion" / "holder_converts.yaml")
    valid = validate_fast(program, scenario.facts)
    assert valid is not None
    facts = valid.values
    compiled = shape_for(program, frozenset(facts))
    assert compiled is not None
    traced = traced_shape_for(program, frozenset(facts))
    assert traced is not None
    names = list(special_conversion(facts))

    expected = special_conversion(facts)
    outcome = evaluate(program, scenario)
    assert all(outcome.results[n].value == expected[n] for n in names), "the two disagree"
    assert traced.run(facts)[0] == compiled.run(facts)[0]
    assert isinstance(traced_evaluation(program, facts), TracedEvaluation)

    def reference(trace: bool) -> None:
        evaluation = Evaluation(program, facts, trace=trace)
        for name in program.results:
            evaluation.rule(name)

    def trace_read() -> None:
        _ = traced_evaluation(program, facts).traces

    timings = {
        "hand-written function": per_call(repeats, lambda: special_conversion(facts)),
        "clause eval's path (engine.api.evaluate)": per_call(repeats, lambda: evaluate(program, scenario)),
        "compiled evaluator (all 17 results)": per_call(repeats, lambda: compiled.run(facts)),
        "traced compiled evaluator (+ trace record)": per_call(repeats, lambda: traced.run(facts)),
        "  traced, as an Evaluation (trace not read)": per_call(repeats, lambda: traced_evaluation(program, facts)),
        "  traced, and the trace read (Steps built)": per_call(repeats // 4, trace_read),
        "clause eval --trace's path (trace=True)": per_call(
            repeats, lambda: evaluate(program, scenario, trace=True)),
        "reference evaluator, untraced": per_call(repeats // 4, lambda: reference(False)),
        "reference evaluator, traced": per_call(repeats // 4, lambda: reference(True)),
    }
    base = timings["hand-written function"]
    print(f"special conversion, {scenario.path}: time per evaluation (ratio to the hand-written function)")
    for label, seconds in timings.items():
        print(f"  {label:<42} {seconds * 1e6:9.2f} µs   {seconds / base:6.2f}x")


if __name__ == "__main__":
    main()
