"""The canonical text of exact ratios, a column at a time.

engine/values.py's ``encode`` writes a quotient with a finite decimal expansion
with every digit, and any other to SIGNIFICANT_DIGITS significant digits (half
even); trailing zeros dropped, money with at least the cents. ``ratio_text``
writes the same text for int64 numerators and denominators without a Python
object per row: long division four digits at a time, rounding on those limbs,
and each limb spelled by one gather from a table of four-character words; Arrow
trims the blanks. It is checked against ``encode`` row for row
(tests/test_ratio_text.py, including carries through nines and ties that cannot
happen).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.values import SIGNIFICANT_DIGITS

_POWERS = 10 ** np.arange(19, dtype=np.int64)
_BLANK = ord(" ")


def _words(shortest: int) -> Any:
    """Each of 0 … 9999 as four ASCII digits in one uint32 (native byte order), with its trailing
    zeros blanked except the first ``shortest`` characters (4: every digit kept)."""
    values = np.arange(10_000)
    chars = (values[:, None] // 10 ** np.arange(3, -1, -1) % 10 + ord("0")).astype(np.uint8)
    significant = np.logical_or.accumulate((chars != ord("0"))[:, ::-1], axis=1)[:, ::-1]
    significant[:, :shortest] = True
    chars[~significant] = _BLANK
    return np.ascontiguousarray(chars).view(np.uint32).ravel()


# A limb of four digits spelled: all of them; without trailing zeros; without those past the cents.
_DIGITS4 = _words(4)
_TRIMMED4 = _words(0)
_CENTS4 = _words(2)
_BLANK4 = np.frombuffer(b"    ", dtype=np.uint32)[0]


def _digit_count(values: Any) -> Any:
    """Decimal digits of non-negative int64 values (none for 0)."""
    return np.searchsorted(_POWERS, values, side="right")


def ratio_text(numerator: Any, denominator: Any, money: bool) -> tuple[Any, Any] | None:
    """The text of numerator/denominator as a pyarrow string array, and the mask of the rows
    rounded for display (no finite expansion). None when the denominators are too large for
    int64 digit arithmetic: the caller writes those rows one by one.

    A column that repeats values (a rate computed from a price rounded to a tenth of a cent, a
    sweep's grid) is written once per distinct value and gathered."""
    import pyarrow as pa

    size = len(numerator)
    if size >= 4096:
        # a hash of each pair (wrapping int64 arithmetic); equal pairs are checked, not assumed
        key = numerator * np.int64(1_000_003) + denominator
        if len(np.unique(key[:1024])) <= 768:
            distinct, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            if len(distinct) <= size // 2 and (numerator[first][inverse] == numerator).all() \
                    and (denominator[first][inverse] == denominator).all():
                written = _ratio_text(numerator[first], denominator[first], money)
                if written is None:
                    return None
                text, rounded = written
                return text.take(pa.array(inverse.ravel())), rounded[inverse.ravel()]
    return _ratio_text(numerator, denominator, money)


def _ratio_text(numerator: Any, denominator: Any, money: bool) -> tuple[Any, Any] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = SIGNIFICANT_DIGITS
    size = len(numerator)
    if size == 0:
        return None
    largest = int(denominator.max())
    if largest >= 1 << 59 or int(denominator.min()) <= 0 or int(numerator.min()) == np.iinfo(np.int64).min:
        return None
    step = 4 if largest * 10**4 < 1 << 63 else 1  # the remainder times 10**step stays in int64
    negative = numerator < 0
    whole, remainder = np.divmod(np.abs(numerator), denominator)
    # The expansion terminates when the reduced denominator has no prime factor but 2 and 5,
    # that is when the denominator's part prime to 10 divides the numerator (so the remainder).
    rest = denominator // (denominator & -denominator)
    for exponent in (16, 8, 4, 2, 1):
        divisible = rest % 5**exponent == 0
        if divisible.any():
            rest = np.where(divisible, rest // 5**exponent, rest)
    terminating = remainder % rest == 0
    integer_count = _digit_count(whole)
    # Long division until each row has what it needs: a terminating expansion all of its digits,
    # any other its significant digits and the one after them.
    limbs: list[Any] = []
    produced = 0
    first = np.where(integer_count > 0, 0, -1)  # fraction index of the first significant digit
    needed = np.where(integer_count > 0, np.maximum(0, digits - integer_count) + 1, 0)
    scale = 10**step
    partial = remainder
    while np.where(terminating, partial != 0, (first < 0) | (produced < needed)).any():
        if produced > 160:  # (cannot happen below 2**59; a bound, not a hope)
            return None
        limb, partial = np.divmod(partial * scale, denominator)
        unset = (first < 0) & (limb != 0)
        if unset.any():
            where = produced + step - _digit_count(limb[unset])
            first[unset] = where
            needed[unset] = where + digits + 1
        limbs.append(limb)
        produced += step
    if step == 1:  # four digits to a limb
        limbs += [np.zeros(size, dtype=np.int64)] * (-len(limbs) % 4)
        limbs = [sum(limbs[i + j] * 10 ** (3 - j) for j in range(4)) for i in range(0, len(limbs), 4)]
    if money and not limbs:
        limbs = [np.zeros(size, dtype=np.int64)]
    count = len(limbs)
    fraction = np.stack(limbs, axis=1) if limbs else np.zeros((size, 0), dtype=np.int64)
    index = np.arange(count)
    if not terminating.all():
        # Rounded at the last significant digit kept. A non-terminating expansion is never exactly
        # half way, so the first digit dropped decides (half even and half up agree).
        rows = np.nonzero(~terminating)[0]
        kept = np.where(integer_count > 0, digits - integer_count - 1, first + digits - 1)[rows]
        word, offset = np.divmod(kept, 4)
        unit = 10 ** (3 - offset)
        next_word, next_offset = np.divmod(kept + 1, 4)
        part = fraction[rows]
        line = np.arange(len(rows))
        up = (part[line, next_word] // 10 ** (3 - next_offset)) % 10 >= 5
        part[index[None, :] > word[:, None]] = 0
        part[line, word] = part[line, word] // unit * unit + up * unit
        carry = np.zeros(len(rows), dtype=np.int64)
        for column in range(count - 1, -1, -1):
            value = part[:, column] + carry
            carry = (value >= 10_000).astype(np.int64)
            part[:, column] = value - carry * 10_000
        fraction[rows] = part
        whole[rows] += carry
        integer_count = _digit_count(whole)
    # Characters, four to a word: a word for the sign, the integer's digits then the point, the fraction.
    integer_words = int(integer_count.max()) // 4 + 1
    point = 4 + 4 * integer_words - 1
    chars = np.empty((size, 4 * (1 + integer_words + count)), dtype=np.uint8)
    words = chars.view(np.uint32)
    words[:, 0] = _BLANK4
    chunks = np.empty((size, integer_words), dtype=np.int64)
    left = whole
    for column in range(integer_words - 1, -1, -1):
        left, chunks[:, column] = np.divmod(left, 10_000)
    words[:, 1:1 + integer_words] = _DIGITS4[chunks]
    chars[:, 4:point] = chars[:, 5:point + 1]  # the first (a leading zero) makes room for the point
    chars[:, point] = ord(".")
    first_digit = point - np.maximum(integer_count, 1)
    chars[:, :point][np.arange(point)[None, :] < first_digit[:, None]] = _BLANK
    signed = negative & (numerator != 0)
    if signed.any():
        chars[signed, first_digit[signed] - 1] = ord("-")
    if count:
        nonzero = fraction != 0
        has = nonzero.any(axis=1)
        last = np.where(has, count - 1 - nonzero[:, ::-1].argmax(axis=1), -1)
        spelled = np.where(index[None, :] > last[:, None], _BLANK4, _DIGITS4[fraction])
        rows = np.nonzero(has)[0]
        spelled[rows, last[rows]] = _TRIMMED4[fraction[rows, last[rows]]]
        if money:
            short = last <= 0
            spelled[short, 0] = _CENTS4[fraction[short, 0]]
        else:
            chars[~has, point] = _BLANK
        words[:, 1 + integer_words:] = spelled
    else:
        chars[:, point] = _BLANK
    width = chars.shape[1]
    offsets = np.arange(0, size * width + 1, width, dtype=np.int32)
    text = pa.Array.from_buffers(pa.string(), size, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])
    return pc.utf8_trim(text, characters=" "), ~terminating
