"""The columnar writer's text of exact ratios (runner/ratio_text.py) against the
scalar path's canonical encoding (engine/values.py ``encode`` of the engine's own
quotient), row for row: terminating and non-terminating, money and decimals,
signs, carries through nines, reducible fractions, denominators of every size."""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import types as T
from engine.evaluate import _arith
from engine.values import encode
from runner.ratio_text import ratio_text

LARGEST_DENOMINATOR = (1 << 59) - 1  # beyond it ratio_text declines and rows are written one by one


def expected(numerator: int, denominator: int, money: bool) -> str:
    quotient = _arith("/", Decimal(numerator), Decimal(denominator))
    return encode(quotient, T.MONEY if money else T.DECIMAL)


def check(pairs: list[tuple[int, int]], money: bool) -> None:
    numerators = np.array([n for n, _ in pairs], dtype=np.int64)
    denominators = np.array([d for _, d in pairs], dtype=np.int64)
    written = ratio_text(numerators, denominators, money)
    assert written is not None
    text, rounded = written
    for (n, d), got, was_rounded in zip(pairs, text.to_pylist(), rounded.tolist(), strict=True):
        assert got == expected(n, d, money), (n, d, money)
        assert was_rounded == (_arith("/", Decimal(n), Decimal(d)).__class__.__name__ == "Fraction"), (n, d)


EDGES = [
    (0, 1), (0, 3), (1, 1), (5, 2), (1, 8), (1, 3), (2, 3), (29_999, 3), (999, 1), (9_999, 1), (10_000, 1),
    (10**18, 3), (9 * 10**18, 7), (10**17, 7), (1, 1 << 58), (3 * 10**18, 1 << 58),
    (3, 3 * 2**50),            # terminating once reduced: every one of its 35 significant digits
    (3, 6), (7, 7 * 3 * 2**40), (21, 3 * 5**20), (1, 5**25), (1, 10**17),
    (999_999_999_999_999_999, 333_333_333_333_333_334),  # a denominator past 10**14: one digit a step
]
# Just below and above a power of ten by less than the last digit kept: the rounding carries
# through 27 nines into a new leading digit.
EDGES += [(10**e * 30_000_000_001 + s, 30_000_000_001) for e in range(1, 8) for s in (-1, 1)]
EDGES += [(1, 10**e * 3 + 1) for e in range(15)]  # leading zeros before the first significant digit


@pytest.mark.parametrize("money", [False, True])
def test_edges_in_both_signs(money: bool) -> None:
    check(EDGES + [(-n, d) for n, d in EDGES], money)


@pytest.mark.parametrize("money", [False, True])
def test_random_ratios_of_every_size(money: bool) -> None:
    rng = random.Random(20261201)
    pairs = []
    for _ in range(3_000):
        size = rng.randrange(1, 19)
        denominator = rng.randrange(1, min(10 ** rng.randrange(1, 18), LARGEST_DENOMINATOR))
        pairs.append((rng.randrange(-(10**size), 10**size), denominator))
    check(pairs, money)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**62), 2**62), st.integers(1, LARGEST_DENOMINATOR)), min_size=1,
                max_size=20), st.booleans())
def test_any_int64_ratio(pairs: list[tuple[int, int]], money: bool) -> None:
    check(pairs, money)


def test_declines_what_int64_digits_cannot_hold() -> None:
    assert ratio_text(np.array([1], dtype=np.int64), np.array([1 << 59], dtype=np.int64), False) is None
    assert ratio_text(np.array([], dtype=np.int64), np.array([], dtype=np.int64), False) is None


def test_repeated_values_are_written_once_and_gathered_in_place() -> None:
    """A column of few distinct ratios (as a rate from a rounded price) takes the gathering path;
    every row still gets its own value, in its place."""
    rng = random.Random(7)
    prices = [rng.randrange(2_000, 3_400) for _ in range(300)]
    pairs = [(1_000_000 * (1 if i % 5 else -1), rng.choice(prices)) for i in range(20_000)]
    check(pairs, money=False)
    check(pairs, money=True)
