"""§6(b) anti-dilution: compiled evaluator vs traced compiled evaluator vs a hand-written function.

    python bench/bench_anti_dilution.py [SCENARIOS]

All three compute, on the same scenarios (facts already converted to exact
values), the §6(b) results of contracts/series_b_preferred.clause:
price_per_share, shares_deemed_outstanding, adjustment_triggered,
new_conversion_price and new_conversion_rate. The hand-written function is
exact arithmetic written from the certificate: Decimal while a result
terminates (every inexact sum or product trapped; a quotient checked by
multiplying back), a Fraction for a quotient that does not (the price per
share, the conversion rate), the new Conversion Price rounded half up to
$0.001 from the exact quotient. The benchmark first
checks that the three agree on every scenario, and that the trace built from
the traced run's record is the reference evaluator's. Targets: compiled
within 1.2x of hand-written, traced within 3x.

The exact-tie check (printed first): issues whose formula result is exactly
halfway between two tenths of a cent, and their neighbours one cent of
consideration below and above (quotients without a finite expansion). Half up
must take each tie up and each neighbour to its side; the compiled, traced and
reference evaluators and the hand-written function must agree on every result.

"traced" is the traced shape's function (engine/compile.py,
compile_traced_shape), as `engine.api.evaluate(trace=True)` runs it: the
results, their readings and the record of every node value the trace needs.
The Step trees are built from the record only when the trace is read; that
cost has its own line ("the trace read"), as have the traced Evaluation
object and the reference tree-walker with trace=True (the traced path before
tracing became a compile option).

Also shown, for context: the compiled evaluator computing all 91 results of
the contract, the untraced reference (tree-walking) evaluator, and
`engine.api.evaluate` (validation + compiled evaluation + result objects),
untraced and traced.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scenarios import rows  # noqa: E402

from engine.api import Outcome, evaluate, load_contract  # noqa: E402
from engine.compile import (  # noqa: E402
    TracedEvaluation,
    compiled_evaluation,
    shape_for,
    traced_evaluation,
    traced_shape_for,
    validate_fast,
)
from engine.evaluate import Evaluation  # noqa: E402
from render.trace import trace_json  # noqa: E402

RESULTS = ("price_per_share", "shares_deemed_outstanding", "adjustment_triggered", "new_conversion_price",
           "new_conversion_rate")

# ---------------------------------------------------------------- hand-written §6(b)

_C = Context(prec=40, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_ROUNDED = Context(prec=40, traps=[InvalidOperation, DivisionByZero, Overflow])
_UNROUNDED = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Overflow])
_MEASUREMENT_DATE = dt.date(2002, 7, 5)
_TENTH_OF_A_CENT = Decimal("0.001")
_STATED_VALUE = Decimal(1000)


def _quotient(a: Decimal | int, b: Decimal | int) -> Decimal | Fraction:
    """a / b exactly: a Decimal when the quotient terminates, else a Fraction. The
    40-digit quotient is exact when multiplying it back (with no rounding) gives a."""
    q = _ROUNDED.divide(a, b)
    if _UNROUNDED.multiply(q, b) == a:
        return q
    a_numerator, a_denominator = a.as_integer_ratio()
    b_numerator, b_denominator = b.as_integer_ratio()
    exact = Fraction(a_numerator * b_denominator, a_denominator * b_numerator)
    d = exact.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return exact
    places = len(str(exact.denominator))  # 10**places is a multiple of the denominator
    return Decimal(exact.numerator * 10 ** places // exact.denominator).scaleb(-places, _C)


def _to_tenth_of_a_cent(q: Decimal | Fraction) -> Decimal:
    """Round half up (ties away from zero; q > 0) to $0.001, on the exact value."""
    if isinstance(q, Decimal):
        return q.quantize(_TENTH_OF_A_CENT, rounding=ROUND_HALF_UP)
    units = (2000 * q.numerator + q.denominator) // (2 * q.denominator)
    return Decimal(units).scaleb(-3)


def hand_written(f: dict[str, Any]) -> tuple[object, ...]:
    """§6(a)-(b) for one issuance, straight from the certificate."""
    consideration = Decimal(0) if f.get("issued_as_dividend", False) else f["consideration"]
    # Additional consideration (on exercise or conversion, or any a scenario states for common stock) counts.
    total = _C.add(consideration, f.get("additional_consideration", Decimal(0)))
    issued = f["shares_issued"]
    price = _quotient(total, issued)
    conversion_price = f.get("conversion_price", Decimal("3.41"))
    deemed = f["common_shares_outstanding"] + f.get("convertible_shares", 0) + sum(
        o["shares"] for o in f.get("options", ()) if o["exercise_price"] < conversion_price)
    exemption = f.get("exemption")
    issue_date = f.get("holders_record_date") or f["issue_date"]
    triggered = (issue_date >= _MEASUREMENT_DATE and price < f["average_current_market_price"]
                 and price < conversion_price and (exemption is None or exemption.name == "none")
                 and not f.get("capital_change_issue", False))
    if triggered:
        exact = _quotient(_C.add(_C.multiply(conversion_price, deemed), total), deemed + issued)
        new_price = _to_tenth_of_a_cent(exact)
    else:
        new_price = conversion_price
    return price, deemed, triggered, new_price, _quotient(f.get("stated_value", _STATED_VALUE), new_price)


# ---------------------------------------------------------------- exact ties


def tie_rows(count: int, seed: int = 8) -> Iterator[tuple[dict[str, str], Decimal]]:
    """Triggering issues whose §6(b) formula (N x P + C) / (N + S) is exactly halfway
    between two tenths of a cent (k + 1/2 mills), each with its two neighbours one cent
    of consideration below and above (quotients that mostly do not terminate: N + S
    has a prime factor other than 2 and 5). Yields the row and the new Conversion
    Price worked out from the tie: half up takes the tie and the one above to k + 1
    mills, the one below to k mills."""
    rng = random.Random(seed)
    made = 0
    while made < count:
        price = Decimal(rng.choice(["3.41", "3.327", "2.95"]))
        # Multiples of 20 make every tie x (N + S) and N x P a whole number of cents.
        outstanding = 20 * rng.randrange(5_000_000, 20_000_000)
        issued = 20 * rng.randrange(50_000, 3_000_000)
        total = outstanding + issued
        lowest = Fraction(outstanding) * Fraction(price) / total  # the formula with no consideration
        low_k = math.floor(lowest * 1000 - Fraction(1, 2)) + 1
        high_k = int(price * 1000) - 1
        if low_k > high_k:
            continue
        k = rng.randrange(low_k, high_k + 1)
        tie = Fraction(2 * k + 1, 2000)
        consideration = tie * total - Fraction(outstanding) * Fraction(price)
        assert consideration >= 0 and (consideration * 100).denominator == 1
        for offset, mills in ((Fraction(-1, 100), k), (Fraction(0), k + 1), (Fraction(1, 100), k + 1)):
            amount = consideration + offset
            if amount < 0:
                continue
            row = {"issue_date": "2003-03-03", "security": "common", "shares_issued": str(issued),
                   "consideration": f"{Decimal(amount.numerator) / amount.denominator:.2f}",
                   "additional_consideration": "0", "common_shares_outstanding": str(outstanding),
                   "convertible_shares": "0", "options": "[]", "average_current_market_price": str(price + 1),
                   "conversion_price": str(price), "exemption": "none"}
            yield row, Decimal(mills).scaleb(-3)
        made += 1


# ---------------------------------------------------------------- timing


def best_of(repeats: int, function: Callable[[], object]) -> float:
    # CPU time of this process: on a shared machine, wall time measures the neighbours too.
    times = []
    for _ in range(repeats):
        gc.collect()  # each run starts from the same heap: the figures do not depend on what ran before
        gc.disable()  # as timeit does: a collection's cost depends on everything else alive
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
        gc.enable()
    return min(times)


def paired(repeats: int, first: Callable[[], object], second: Callable[[], object]) -> tuple[float, float, float]:
    """Both timed by turns (first, second, first, ...), so a change in the machine's load
    falls on both alike: the best time of each and the median of the pairs' ratios."""
    firsts, seconds = [], []
    for _ in range(repeats):
        firsts.append(best_of(1, first))
        seconds.append(best_of(1, second))
    return min(firsts), min(seconds), statistics.median(b / a for a, b in zip(firsts, seconds, strict=True))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    program = load_contract(ROOT / "contracts" / "series_b_preferred.clause")
    raw = [{k: v for k, v in row.items() if k != "scenario"} for row in rows(count)]
    facts = []
    for row in raw:
        valid = validate_fast(program, row)
        assert valid is not None
        facts.append(valid.values)

    def shape(results: tuple[str, ...] | None) -> Any:
        compiled = shape_for(program, frozenset(facts[0]), results)
        assert compiled is not None
        return compiled.run

    compiled5 = shape(RESULTS)
    compiled_all = shape(None)
    traced_shape = traced_shape_for(program, frozenset(facts[0]), RESULTS)
    assert traced_shape is not None
    traced5 = traced_shape.run

    def compiled_object(f: dict[str, Any]) -> tuple[object, ...]:
        evaluation = compiled_evaluation(program, f, RESULTS)
        return tuple(evaluation.rule(name).value for name in RESULTS)

    def traced_object(f: dict[str, Any]) -> tuple[object, ...]:
        evaluation = traced_evaluation(program, f, RESULTS)
        return tuple(evaluation.rule(name).value for name in RESULTS)

    def trace_read(f: dict[str, Any]) -> None:
        _ = traced_evaluation(program, f, RESULTS).traces

    def traced_reference(f: dict[str, Any]) -> tuple[object, ...]:
        evaluation = Evaluation(program, f, trace=True)
        return tuple(evaluation.rule(name).value for name in RESULTS)

    def trace_of(evaluation: Evaluation) -> object:
        return trace_json(Outcome(program, {}, [], evaluation))

    def reference(f: dict[str, Any]) -> tuple[object, ...]:
        evaluation = Evaluation(program, f)
        return tuple(evaluation.rule(name).value for name in RESULTS)

    # The three agree, exactly (values and their Python types), on every scenario;
    # the compiled trace is the reference's (checked on every tenth scenario).
    for index, f in enumerate(facts):
        expected = hand_written(f)
        for got in (compiled5(f)[0], traced5(f)[0]):
            assert got == expected and [type(v) for v in got] == [type(v) for v in expected], (f, got, expected)
        assert traced_reference(f) == expected and traced_object(f) == expected and compiled_object(f) == expected
        if index % 10 == 0:
            compiled = traced_evaluation(program, f, RESULTS)
            assert isinstance(compiled, TracedEvaluation)
            walked = Evaluation(program, f, trace=True)
            for name in RESULTS:
                walked.rule(name)
            assert trace_of(compiled) == trace_of(walked) and not compiled.rebuilt_by_reference

    # Exact ties: every evaluator and the hand-written function round (N x P + C) / (N + S)
    # half up on its exact value, and agree on every result.
    ties = {"tie": 0, "below": 0, "above": 0, "non-terminating": 0}
    for row, expected_price in tie_rows(max(count // 10, 50)):
        valid = validate_fast(program, row)
        assert valid is not None
        f = valid.values
        expected = hand_written(f)
        assert expected[2] is True and expected[3] == expected_price, (row, expected, expected_price)
        assert expected[4] == Fraction(_STATED_VALUE) / Fraction(expected_price)
        for got in (compiled5(f)[0], traced5(f)[0], reference(f), compiled_object(f)):
            assert got == expected and [type(v) for v in got] == [type(v) for v in expected], (row, got, expected)
        exact = _quotient(_C.add(_C.multiply(f["conversion_price"], expected[1]), f["consideration"]),
                          expected[1] + f["shares_issued"])
        ties["non-terminating"] += isinstance(exact, Fraction)
        mills = Fraction(exact) * 1000
        position = "tie" if mills.denominator == 2 else ("below" if mills % 1 < Fraction(1, 2) else "above")
        ties[position] += 1
    print(f"exact ties: {ties['tie']} formula results exactly k + 1/2 mills, each rounded up; "
          f"{ties['below']} one cent below (rounded down), {ties['above']} one cent above (rounded up); "
          f"{ties['non-terminating']} of the neighbours do not terminate; compiled, traced, reference and "
          "hand-written agree on all")

    def each(function: Callable[[dict[str, Any]], object]) -> Callable[[], None]:
        def run() -> None:  # the traces are not kept: each is dropped once read
            for f in facts:
                function(f)
        return run

    repeats = 5
    hand, compiled, pair_ratio = paired(15, lambda: [hand_written(f) for f in facts],
                                        lambda: [compiled5(f) for f in facts])
    timings = {
        "hand-written Decimal function": hand,
        "compiled (5 §6(b) results)": compiled,
        "  compiled, as an Evaluation": best_of(repeats, lambda: [compiled_object(f) for f in facts]),
        "traced (compiled, 5 results + trace record)": best_of(repeats, lambda: [traced5(f) for f in facts]),
        "  traced, as an Evaluation (trace not yet read)": best_of(repeats, lambda: [traced_object(f) for f in facts]),
        "  traced, and the trace read (Step trees built)": best_of(repeats, each(trace_read)),
        "  traced by the reference evaluator (trace=True before)": best_of(
            repeats, lambda: [traced_reference(f) for f in facts]),
        "compiled (all 91 results)": best_of(repeats, lambda: [compiled_all(f) for f in facts]),
        "reference evaluator, untraced (5 results)": best_of(repeats, lambda: [reference(f) for f in facts]),
        "engine.api.evaluate (validate + compiled + results)": best_of(
            3, lambda: [evaluate(program, r) for r in raw[: count // 4]]) * 4,
        "engine.api.evaluate(trace=True) (same, traced)": best_of(
            3, lambda: [evaluate(program, r, trace=True) for r in raw[: count // 4]]) * 4,
    }
    base = timings["hand-written Decimal function"]
    print(f"§6(b) anti-dilution, {count} scenarios, best of {repeats} (the first two: best of 15, timed by turns) "
          "(per scenario; ratio to hand-written)")
    for label, seconds in timings.items():
        print(f"  {label:<56} {seconds / count * 1e6:9.2f} µs   {seconds / base:6.2f}x")
    compiled_ratio = timings["compiled (5 §6(b) results)"] / base
    traced_ratio = timings["traced (compiled, 5 results + trace record)"] / base
    print(f"target compiled <= 1.2x: {'met' if compiled_ratio <= 1.2 else 'MISSED'} "
          f"({compiled_ratio:.2f}x best to best; median of 15 interleaved pairs {pair_ratio:.2f}x)")
    print(f"target traced   <= 3x:   {'met' if traced_ratio <= 3 else 'MISSED'} ({traced_ratio:.2f}x)")


if __name__ == "__main__":
    main()
