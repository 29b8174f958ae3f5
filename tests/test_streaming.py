"""Outputs streamed to disk (runner/streaming.py): writeback started as a stretch is written, a
stretch LAG back waited for and dropped from memory, write errors raised, other files untouched."""

from __future__ import annotations

import ctypes
import errno
import itertools
import mmap
import os
from pathlib import Path

import pytest

from runner import streaming
from runner.streaming import Stream, StreamedWriter

STRETCH = 4 << 20


class FakeSync:
    """sync_file_range as calls recorded; an errno to fail with from the ``fail_at``-th call."""

    def __init__(self, fail_at: int | None = None, code: int = 0):
        self.calls: list[tuple[int, int, int]] = []
        self.fail_at, self.code = fail_at, code

    def __call__(self, descriptor: int, start: int, length: int, flags: int) -> int:
        self.calls.append((start, length, flags))
        if self.fail_at is not None and len(self.calls) >= self.fail_at:
            ctypes.set_errno(self.code)
            return -1
        return 0


def _stream(path: Path, fake: FakeSync, monkeypatch: pytest.MonkeyPatch) -> tuple[Stream, int]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    stream = Stream(descriptor)
    monkeypatch.setattr(stream, "call", fake)
    return stream, descriptor


def test_each_stretch_is_started_and_those_lag_bytes_back_are_waited_for_and_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dropped: list[tuple[int, int]] = []
    monkeypatch.setattr(streaming.os, "posix_fadvise",
                        lambda fd, start, length, advice: dropped.append((start, length)), raising=False)
    fake = FakeSync()
    stream, descriptor = _stream(tmp_path / "out", fake, monkeypatch)
    stream.lag = 150
    stretches = [(0, 100), (100, 250), (250, 260), (260, 400)]
    for start, end in stretches:
        stream.written(start, end)
    write, wait = 2, 1 | 2 | 4
    # every stretch started; held: 100, then 250 (the first dropped), 160 (the second dropped), 150
    assert [(s, n) for s, n, f in fake.calls if f == write] == [(s, e - s) for s, e in stretches]
    assert [(s, n) for s, n, f in fake.calls if f == wait] == [(0, 100), (100, 150)]
    assert dropped == [(0, 100), (100, 150)]
    stream.finish()  # the rest, once the output is complete
    assert dropped == [(s, e - s) for s, e in stretches]
    os.close(descriptor)


def test_a_write_error_the_wait_reports_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stream, descriptor = _stream(tmp_path / "out", FakeSync(fail_at=1, code=errno.ENOSPC), monkeypatch)
    with pytest.raises(OSError) as raised:
        stream.written(0, 100)
    assert raised.value.errno == errno.ENOSPC
    os.close(descriptor)


def test_a_file_that_does_not_take_it_is_written_as_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSync(fail_at=1, code=errno.EINVAL)
    stream, descriptor = _stream(tmp_path / "out", fake, monkeypatch)
    stream.written(0, 100)
    stream.written(100, 200)
    stream.finish()
    assert len(fake.calls) == 1 and stream.call is None  # tried once, then left alone
    os.close(descriptor)


def test_a_pipe_is_left_alone() -> None:
    read, write = os.pipe()
    try:
        stream = Stream(write)
        assert stream.call is None
        stream.written(0, 10)  # nothing to do, nothing raised
        stream.finish()
    finally:
        os.close(read)
        os.close(write)


def _resident(path: Path) -> float:
    """The share of the file's pages in memory (mincore of a mapping of it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vector = (ctypes.c_ubyte * pages)()
    descriptor = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, descriptor, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            pytest.skip("cannot map the file")
        try:
            if libc.mincore(address, size, vector) != 0:
                pytest.skip("mincore is not available")
        finally:
            libc.munmap(address, size)
    finally:
        os.close(descriptor)
    return sum(v & 1 for v in vector) / pages


@pytest.mark.skipif(streaming._sync_file_range() is None, reason="Linux's sync_file_range only")
def test_a_streamed_output_leaves_memory_and_keeps_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    chunk = (b'{"scenario": "issue-1", "value": "3.41"}\n' * (STRETCH // 41 + 1))[:STRETCH]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("header\n")
        writer = StreamedWriter(lambda data: handle.buffer.write(data) if not isinstance(data, str)
                                else handle.write(data), handle)
        for index in range(6):
            writer(memoryview(chunk) if index % 2 else chunk.decode("utf-8"))
        writer.finish()
    if writer.stream is None or writer.stream.call is None:
        pytest.skip("this file system does not take sync_file_range")
    # written and dropped (before anything reads it back): its pages are free for the next stretches
    assert _resident(path) < 0.5
    assert path.read_bytes() == b"header\n" + chunk * 6


def test_writes_reach_the_handle_when_not_a_file() -> None:
    import io

    out = io.StringIO()
    writer = StreamedWriter(out.write, out)
    writer("a\n")
    writer("b\n")
    writer.finish()
    assert out.getvalue() == "a\nb\n"


def test_a_run_to_a_file_streams_and_keeps_the_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`clause run` to a file, one worker: the same bytes streamed or not, every partition streamed."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from scenarios import write_csv

    from engine.cli import main

    table = tmp_path / "issues.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        write_csv(3_000, handle)
    outputs: dict[str, bytes] = {}
    started: list[tuple[int, int]] = []
    original = Stream.written

    def spy(self: Stream, start: int, end: int) -> None:
        started.append((start, end))
        original(self, start, end)

    for label, streamed in (("plain", False), ("streamed", True)):
        started.clear()
        monkeypatch.setattr(Stream, "written", spy if streamed else lambda self, start, end: None)
        out = tmp_path / f"{label}.jsonl"
        code = main(["run", "contracts/series_b_preferred.clause", str(table), "--format", "jsonl", "-o", str(out),
                     "--workers", "1", "--partition-rows", "500"])
        assert code == 0
        outputs[label] = out.read_bytes()
    assert outputs["streamed"] == outputs["plain"]
    assert outputs["plain"].count(b"\n") == 3_000
    # the six partitions, one stretch each, end to end from the file's start to its end
    assert len(started) == 6 and started[0][0] == 0 and started[-1][1] == len(outputs["streamed"])
    assert all(a[1] == b[0] for a, b in itertools.pairwise(started))


_TWO_WORKERS = """
import os, sys
from engine.cli import main
from runner import streaming
record, original = sys.argv.pop(1), streaming.Stream.written
def written(self, start, end):
    with open(record, "a") as handle:
        handle.write(f"{os.getpid()} {start} {end}\\n")
    return original(self, start, end)
streaming.Stream.written = written
print(os.getpid())
sys.exit(main(sys.argv[1:]))
"""


def test_two_workers_stream_what_each_writes(tmp_path: Path) -> None:
    """Two workers (in a process of their own, so that they are forked with the spy): each streams
    the partitions it places, and together they cover the file end to end, once."""
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from scenarios import write_csv

    table = tmp_path / "issues.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        write_csv(3_000, handle)
    record, out = tmp_path / "written.txt", tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, "-c", _TWO_WORKERS, str(record), "run",
                           "contracts/series_b_preferred.clause", str(table), "--format", "jsonl", "-o", str(out),
                           "--workers", "2", "--partition-rows", "500"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    parent = int(done.stdout.split()[0])
    rows = [tuple(int(x) for x in line.split()) for line in record.read_text(encoding="utf-8").splitlines()]
    assert len({pid for pid, _, _ in rows}) == 2 and parent not in {pid for pid, _, _ in rows}
    stretches = sorted((start, end) for _, start, end in rows)
    assert stretches[0][0] == 0 and stretches[-1][1] == out.stat().st_size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(stretches))
