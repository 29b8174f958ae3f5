"""The C allocator tuned for column-at-a-time work.

glibc serves an allocation above its mmap threshold (128 KiB to start) with a
fresh mmap and returns it on free, and trims the heap above 128 KiB free: a
columnar run allocates and frees arrays of a few MB for every operation of
every partition, so the kernel zeroes the same pages over and over (measured:
0.4-0.8 s of system time in a 1,000,000-row §6(b) run, 0.1-0.2 s once tuned).
Raising both thresholds keeps those pages in the heap for the next partition.
Nothing changes where the allocator is not glibc.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest (64-bit)
_TRIM_THRESHOLD = 256 << 20


def tune_for_columns() -> None:
    """For this process (a forked worker inherits it); silent where it does not apply."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
