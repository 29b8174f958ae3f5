"""Outputs of gigabytes written as a stream: each stretch handed to the disk as it is written, and
dropped from memory once it is on the disk and ~64 MB more have been written.

Left to the kernel, every byte `clause run` writes stays in memory as page cache until memory runs
short: a million rows of JSON lines (2.5 GB) take 2.5 GB the analyst's other work loses, and on a
virtual machine that gives free memory back to its host (as this one does) every fresh page costs
system time. Measured here, writing 2.46 GB in 14.6 MB stretches: 5.4 s of system time left to the
kernel, 0.9 s streamed (the dropped pages are reused by the next stretches). As databases do
(PostgreSQL's ``backend_flush_after``), writeback of a stretch starts once it is written
(``sync_file_range``) and the stretches more than ``lag`` bytes back are waited for and dropped
(``posix_fadvise(DONTNEED)``).

Nothing written is put at risk: only pages already on the disk are dropped, and a write error the
wait reports is raised here (it would otherwise be consumed before the final ``fsync``). Linux
only; elsewhere, and for what does not take it (a pipe, a terminal, some file systems), nothing
changes.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import stat
import sys
from collections import deque
from typing import Any

_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4
LAG_BYTES = 64 << 20  # written but not yet dropped, besides the newest stretch
# not for this file (or not now: ENOMEM under memory pressure): written as any file is
_UNSUPPORTED = {errno.EINVAL, errno.ESPIPE, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.ENOMEM}


@functools.cache
def _sync_file_range() -> Any:
    if not sys.platform.startswith("linux") or not hasattr(os, "posix_fadvise"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):  # a C library without it
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


class Stream:
    """The stretches of one open file written by this process, oldest first."""

    def __init__(self, descriptor: int, lag: int = LAG_BYTES):
        self.descriptor = descriptor
        self.lag = lag
        self.pending: deque[tuple[int, int]] = deque()
        self.held = 0  # bytes pending
        self.call: Any = _sync_file_range() if _regular(descriptor) else None

    def written(self, start: int, end: int) -> None:
        """``[start, end)`` has just been written: start its writeback; drop the stretches written
        more than ``lag`` bytes before it."""
        if self.call is None or end <= start:
            return
        if not self._sync(start, end, _WRITE):
            return
        self.pending.append((start, end))
        self.held += end - start
        while len(self.pending) > 1 and self.held > self.lag:
            self._drop(*self.pending.popleft())

    def finish(self) -> None:
        """Every stretch still held: on the disk and dropped (the output is complete)."""
        while self.pending and self.call is not None:
            self._drop(*self.pending.popleft())

    def _drop(self, start: int, end: int) -> None:
        self.held -= end - start
        if self._sync(start, end, _WAIT_BEFORE | _WRITE | _WAIT_AFTER):
            try:  # the stretch is on the disk: dropping it is advice, and refused advice loses nothing
                os.posix_fadvise(self.descriptor, start, end - start, os.POSIX_FADV_DONTNEED)
            except OSError:
                self._stop()

    def _sync(self, start: int, end: int, flags: int) -> bool:
        if self.call(self.descriptor, start, end - start, flags) == 0:
            return True
        code = ctypes.get_errno()
        if code in _UNSUPPORTED:
            self._stop()
            return False
        raise OSError(code, os.strerror(code))

    def _stop(self) -> None:
        """Not for this file: from now on it is written as any file is."""
        self.call = None
        self.pending.clear()
        self.held = 0


def _regular(descriptor: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError:
        return False


class StreamedWriter:
    """A text or binary handle's writes (``write``: what writes a partition to it) streamed: after
    each, the handle is flushed and the stretch it added handed to a ``Stream``."""

    def __init__(self, write: Any, handle: Any):
        self.write = write
        self.handle = handle
        self.stream: Stream | None = None
        try:
            self.descriptor = handle.fileno()
        except (AttributeError, OSError, ValueError):
            self.descriptor = -1

    def __call__(self, data: Any) -> None:
        if self.stream is None and self.descriptor >= 0:
            self.handle.flush()  # what was written before the first partition (a CSV header)
            self.stream = Stream(self.descriptor)
            self.start = os.lseek(self.descriptor, 0, os.SEEK_CUR) if self.stream.call is not None else 0
        self.write(data)
        if self.stream is not None and self.stream.call is not None:
            self.handle.flush()
            end = os.lseek(self.descriptor, 0, os.SEEK_CUR)
            self.stream.written(self.start, end)
            self.start = end

    def finish(self) -> None:
        if self.stream is not None:
            self.stream.finish()
