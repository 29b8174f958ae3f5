"""`clause run` on partitions: worker processes on this machine, or a Dask cluster.

A table is cut into partitions of consecutive rows (``part_rows`` each, the
same cut whatever runs them). A worker gets a partition's fact columns as one
Arrow IPC buffer and the contract as its text and SHA-256; it checks and
compiles the contract once (kept by its hash and path for the worker's next
partitions), evaluates the partition with the columnar evaluator (the scalar
path for the rows and results it cannot carry), and writes the partition's
output itself:

- into the output file, at the partition's place (local workers, one output
  file): a worker hands the partition to a thread of its own, which waits
  only for the size of the partitions before it, then writes with ``pwrite``
  (streamed: runner/streaming.py) while the worker evaluates its next one;
  nothing per row crosses a process boundary;
- as its own file ``part-NNNNN.EXT`` in an output directory (``-o DIR/``, and
  always on Dask): written to a temporary name and renamed, so a partition run
  twice (a worker lost and its task retried) replaces its file and never
  duplicates a row;
- or back to the parent (standard output, a pipe, Parquet into one file).

The parent reads the input (pyarrow's readers), hands out partitions with a
bounded number in flight, so memory stays flat, and counts rows and failures.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import io
import os
import signal
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.check import Program

SHOWN_FAILURES = 20
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet"}


@dataclass(frozen=True)
class Job:
    """What a worker needs besides a partition: the contract and what to write."""

    contract: str  # the path the contract was loaded from, as given (its includes are read beside it)
    shown: str  # program.path: the `contract` of every JSON line
    text: str
    digest: str  # SHA-256 of text
    fmt: str
    chosen: tuple[str, ...]  # CSV/Parquet columns
    lines: tuple[str, ...] | None  # JSON lines: the results written (None: every one)
    evaluator: str = "columnar"  # or "scalar": every row by the scalar compiled path


@dataclass
class Part:
    """Rows ``first``.. of one input table: names, lines and fact columns (Arrow IPC)."""

    index: int
    path: str
    first: int
    names: Sequence[str]  # a list, or runner.tables.Names
    lines: Sequence[int]
    columns: Any  # Arrow IPC bytes (for another process), or the Arrow table itself
    raw: bool  # CSV: the columns as read, name column included (for the position of a bad cell)
    problems: dict[int, tuple[str, int]] = field(default_factory=dict)  # row of the part → why unreadable, column


@dataclass
class PartDone:
    index: int
    rows: int = 0
    failed: int = 0
    reports: list[tuple[str, str]] = field(default_factory=list)  # the first failures: name, report
    data: Any = None  # the "return" sink: text, chunks of UTF-8 (runner.parallel.chunks_of), or an Arrow table
    error: str | None = None  # the partition could not be written


def make_job(program: Program, contract: str, fmt: str, chosen: Sequence[str], lines: Sequence[str] | None,
             evaluator: str = "columnar") -> Job:
    text = Path(contract).read_bytes()
    return Job(contract, program.path, text.decode("utf-8"), hashlib.sha256(text).hexdigest(), fmt,
               tuple(chosen), None if lines is None else tuple(lines), evaluator)


# ---------------------------------------------------------------- partitions


def partitions(paths: Sequence[Path], part_rows: int, serialize: bool = True) -> Iterator[Part]:
    """Every input table cut into partitions of at most ``part_rows`` rows, numbered in order;
    their columns as Arrow IPC bytes when ``serialize`` (for another process)."""
    import pyarrow as pa

    from runner.tables import read_batches

    index = 0
    for path in paths:
        for batch in read_batches(path):
            raw = batch.raw is not None and batch.path.lower().endswith(".csv")
            table: Any = batch.raw if raw else batch.table
            for start in range(0, table.num_rows, part_rows):
                piece = table.slice(start, part_rows)
                columns: Any = piece
                if serialize:
                    sink = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink, piece.schema) as writer:
                        writer.write_table(piece)
                    columns = sink.getvalue().to_pybytes()
                stop = start + piece.num_rows
                problems = {row - start: problem for row, problem in batch.problems.items() if start <= row < stop}
                yield Part(index, batch.path, batch.first_index + start, batch.names[start:stop],
                           batch.lines[start:stop], columns, raw, problems)
                index += 1


def _batch(part: Part) -> Any:
    import pyarrow as pa

    from runner.tables import NAME_COLUMNS, TableBatch

    table = pa.ipc.open_stream(part.columns).read_all() if isinstance(part.columns, bytes) else part.columns
    if part.raw:
        facts = table.drop_columns([c for c in table.column_names if c.lower() in NAME_COLUMNS])
        return TableBatch(part.path, part.names, part.lines, facts, part.first, table, problems=part.problems)
    return TableBatch(part.path, part.names, part.lines, table, part.first, problems=part.problems)


# ---------------------------------------------------------------- in a worker

_PROGRAMS: dict[tuple[str, str, str], Program] = {}
_RUNNERS: dict[tuple[Any, ...], Any] = {}
_SHARED: Any = None  # local workers writing one file: a SharedFile


def program_of(job: Job) -> Program:
    """The contract, checked and compiled once per process, from its text (verified by its hash)."""
    found = _PROGRAMS.get(program_key(job))
    if found is None:  # a process of a cluster, new to this contract
        from engine.check import check_file
        from runner.allocator import tune_for_columns

        tune_for_columns()

        data = job.text.encode("utf-8")
        if hashlib.sha256(data).hexdigest() != job.digest:
            raise ValueError("the contract's text does not match its hash")
        found = check_file(job.contract, content=data)
        found.path = job.shown
        _PROGRAMS[program_key(job)] = found
    return found


def program_key(job: Job) -> tuple[str, str, str]:
    """A contract is its text, where it was read (its includes are read beside it) and the name
    its lines give it."""
    return job.digest, job.contract, job.shown


def _runner(job: Job, program: Program) -> Any:
    from runner.run import TableRunner

    # (this program itself: a runner keeps the program it was made for, and the run's name for it)
    key = (id(program), job.fmt, job.chosen, job.lines)
    found = _RUNNERS.get(key)
    if found is None or found.program is not program:
        if len(_RUNNERS) >= 16:
            _RUNNERS.clear()
        found = _RUNNERS[key] = TableRunner(program, job.fmt, job.chosen, job.lines)
    return found


def evaluate_part(job: Job, part: Part) -> tuple[Any, list[Any], int]:
    """The partition's output (text, or an Arrow table for Parquet), its failed outcomes, its rows."""
    from runner.run import outcomes_table

    program = program_of(job)
    runner = _runner(job, program)
    batch = _batch(part)
    size = batch.table.num_rows if batch.table.num_columns else len(part.names)
    if job.evaluator == "scalar":
        outcomes = [runner._scalar_row(batch, i) for i in range(size)]
        if job.fmt == "parquet":
            return outcomes_table(program, job.chosen, outcomes), [o for o in outcomes if o.failed], size
    elif job.fmt == "parquet":
        table, failed = runner.batch_arrow(batch)
        return table, failed, size
    elif job.fmt == "jsonl":
        text, failed = runner.batch_text(batch)
        return text, failed, size
    else:
        outcomes = runner.batch(batch)
    failed = [o for o in outcomes if o.failed]
    if job.fmt == "jsonl":
        return "".join(o.text + "\n" for o in outcomes), failed, size
    return csv_text(program, job.chosen, outcomes, header=False), failed, size


def csv_text(program: Program, chosen: Sequence[str], outcomes: list[Any], header: bool) -> str:
    from runner.run import _CsvOut

    out = io.StringIO()
    writer = _CsvOut(program, out, chosen, header=header)
    writer.write(outcomes)
    return out.getvalue()


def parquet_bytes(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(_strings_for_nulls(table), sink)
    return bytes(sink.getvalue().to_pybytes())


def _strings_for_nulls(table: Any) -> Any:
    """A column with no value at all is written as text, as the one-file writer writes it."""
    import pyarrow as pa

    if not any(pa.types.is_null(f.type) for f in table.schema):
        return table
    return table.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                                 for f in table.schema]))


def run_part(job: Job, part: Part, sink: tuple[str, str]) -> PartDone:
    """Evaluate one partition and write it where ``sink`` says: ("dir", DIRECTORY), ("shared", ""),
    or ("return", "")."""
    kind, where = sink
    done = PartDone(part.index)
    data: Any = None
    try:
        data, failed, done.rows = evaluate_part(job, part)
        done.failed = len(failed)
        done.reports = [(o.name, o.report) for o in failed[:SHOWN_FAILURES]]
    except Exception as problem:  # never leave the partitions after this one waiting
        done.error = f"partition {part.index} could not be evaluated: {type(problem).__name__}: {problem}"
        data = None
    if kind == "shared":
        _place(part.index, [] if data is None else chunks_of(data))
    elif kind == "dir" and done.error is None:
        _write_part(job, Path(where), part.index, data)
    elif kind == "return":
        done.data = data
    return done


def chunks_of(data: Any) -> list[Any]:
    """A partition's text as a file takes it, in chunks of UTF-8: a str encoded; bytes and Arrow
    buffers as they are."""
    if isinstance(data, str):
        return [data.encode("utf-8")]
    return data if isinstance(data, list) else [data]


def part_name(index: int, fmt: str) -> str:
    return f"part-{index:05d}.{EXTENSIONS[fmt]}"


def _write_part(job: Job, directory: Path, index: int, data: Any) -> None:
    """The partition's own file, complete or absent: written aside, then renamed over any earlier try."""
    if job.fmt == "parquet":
        payload = [parquet_bytes(data)]
    elif job.fmt == "csv":
        payload = [(csv_text(program_of(job), job.chosen, [], header=True) + data).encode("utf-8")]
    else:
        payload = chunks_of(data)
    target = directory / part_name(index, job.fmt)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in payload:
                out.write(chunk)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass
class SharedFile:
    """The one output file local workers write (a fork's inheritance: descriptor, lock, values).

    Waits poll rather than sleep on a shared condition: a worker killed while waiting on one
    (the out-of-memory killer) would leave every ``notify`` waiting for it forever."""

    lock: Any  # held only to reserve a place, or to count a partition written
    turn: Any  # the partition whose turn it is to be placed
    offset: Any  # where it goes
    descriptor: int
    aborted: Any
    failure: Any  # the errno of a failed write (0: none)
    written: Any  # partitions written

    @classmethod
    def create(cls, descriptor: int) -> SharedFile:
        import multiprocessing

        forked: Any = multiprocessing.get_context("fork")
        start = os.lseek(descriptor, 0, os.SEEK_END)
        return cls(forked.Lock(), forked.Value("q", 0, lock=False), forked.Value("q", start, lock=False),
                   descriptor, forked.Value("b", 0, lock=False), forked.Value("i", 0, lock=False),
                   forked.Value("q", 0, lock=False))

    def abort(self, code: int = 0) -> None:
        if code and not self.failure.value:
            self.failure.value = code
            self._barrier()  # the failure is seen before the abort, on any processor
        self.aborted.value = 1

    def _barrier(self) -> None:
        if self.lock.acquire(timeout=0.5):
            self.lock.release()

    def check(self) -> None:
        """A write that failed in a worker, raised here as it happened (the output keeps the file
        it replaces, as for any failed write)."""
        self._barrier()
        code = self.failure.value
        if code:
            self.abort()
            raise OSError(code, os.strerror(code))

    def locked(self) -> bool:
        """The lock, unless the run ends meanwhile (a worker killed while holding it)."""
        while not self.lock.acquire(timeout=0.5):
            if self.aborted.value:
                return False
        return True

    def wait_placed(self, count: int, alive: Any) -> None:
        """Every partition written (the workers' placing threads done), or an error raised."""
        import time

        checked = time.monotonic()
        while self.written.value < count and not self.aborted.value:
            time.sleep(0.002)
            if time.monotonic() - checked > 0.5:
                checked = time.monotonic()
                if not alive():
                    self.abort()
                    raise _worker_lost()
        self.check()
        if self.written.value < count:  # aborted without a write error: never a file with a partition missing
            raise OSError(errno.EIO, "a partition was not written")


class _Placer:
    """This worker's partitions written at their place in the shared output, in order, on a thread
    of their own: the worker evaluates its next partition while one waits for the partitions
    before it (the smallest partition not yet placed is always at the head of its worker's queue,
    so every one is placed). At most one waits in the queue: memory stays flat."""

    def __init__(self, shared: SharedFile):
        import queue
        import threading

        from runner.streaming import Stream

        self.shared = shared
        self.stream = Stream(shared.descriptor)
        self.queue: Any = queue.Queue(maxsize=1)
        threading.Thread(target=self._run, name="clause-place", daemon=True).start()

    def put(self, index: int, chunks: list[Any]) -> None:
        self.queue.put((index, chunks))

    def _run(self) -> None:
        while True:  # (never leaves: a put must never wait for a thread that is gone)
            index, chunks = self.queue.get()
            try:
                self._place(index, chunks)
            except BaseException:  # anything but a failed write, which _place reports: the run must end, not hang
                self.shared.abort(errno.EIO)

    def _place(self, index: int, chunks: list[Any]) -> None:
        import time

        shared = self.shared
        while shared.turn.value != index:  # (a partition takes ~0.1 s: a wait of 0.5 ms at most is nothing)
            if shared.aborted.value:
                return
            time.sleep(0.0005)
        if not shared.locked():
            return
        try:  # only the partition whose turn it is gets here: the lock is for the memory's sake
            start = shared.offset.value
            shared.offset.value = start + sum(len(chunk) for chunk in chunks)
            shared.turn.value = index + 1  # the next partition's place is known: it need not wait for this write
        finally:
            shared.lock.release()
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                written = 0
                while written < len(view):
                    written += os.pwrite(shared.descriptor, view[written:], start + written)
                self.stream.written(start, start + written)
                start += written
        except OSError as error:
            shared.abort(error.errno or 5)  # (EIO when the error has no number)
            return
        if shared.locked():
            try:
                shared.written.value += 1
            finally:
                shared.lock.release()


_PLACER: _Placer | None = None  # this worker's, started with its first partition


def _place(index: int, chunks: list[Any]) -> None:
    """Hand this partition to this worker's placing thread (it is written once those before it are)."""
    global _PLACER
    if _PLACER is None:
        _PLACER = _Placer(_SHARED)
    if not _SHARED.aborted.value:  # (else the run is ending: the parent says why)
        _PLACER.put(index, chunks)


def _init_worker(shared: Any) -> None:
    global _SHARED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's
    _SHARED = shared


# ---------------------------------------------------------------- the parent


def _regular_file(handle: Any) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def run_local(program: Program, job: Job, parts: Iterator[Part], workers: int, handle: Any,
              directory: Path | None, writer: Any) -> Iterator[PartDone]:
    """Partitions on ``workers`` processes (forked: they share the checked contract). Yields each
    partition's summary in order; ``writer`` writes what comes back to the parent."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from engine.batch import start_method

    _PROGRAMS[program_key(job)] = program
    shared = None
    # (the shared output's descriptor and locks are a fork's inheritance)
    method = start_method()
    if directory is not None:
        sink = ("dir", str(directory))
    elif job.fmt != "parquet" and method == "fork" and _regular_file(handle):
        handle.flush()
        shared = SharedFile.create(handle.fileno())
        sink = ("shared", "")
    else:
        sink = ("return", "")
    context = multiprocessing.get_context(method)
    # The objects alive now are left alone by the workers' garbage collector (it would write to
    # every one, copying the pages a fork shares: 3-5% of a two-worker run measured); the parent
    # collects them again once the workers are forked, at the first partition.
    frozen = method == "fork"
    if frozen:
        gc.freeze()
    try:
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(shared,))
    except BaseException:
        if frozen:
            gc.unfreeze()
        raise
    pending: deque[Any] = deque()
    behind = _WriteBehind(writer) if writer is not None else None
    count = 0
    try:
        for part in parts:
            pending.append(pool.submit(run_part, job, part, sink))
            count += 1
            if frozen:
                frozen = False
                gc.unfreeze()
            while len(pending) >= workers * 2:
                yield _collected(pending.popleft().result(), behind, shared)
        while pending:
            yield _collected(pending.popleft().result(), behind, shared)
        if behind is not None:
            behind.wait()
        if shared is not None:  # (the workers place their last partitions on their own threads)
            shared.wait_placed(count, lambda: _pool_alive(pool))
    except BrokenProcessPool:
        if shared is not None:
            shared.abort()
        raise _worker_lost() from None
    except BaseException:
        if shared is not None:
            shared.abort()
        for future in pending:
            future.cancel()
        raise
    finally:
        if frozen:
            gc.unfreeze()
        pool.shutdown(wait=True, cancel_futures=True)
        if behind is not None:
            behind.close()
    if shared is not None:
        os.lseek(handle.fileno(), shared.offset.value, os.SEEK_SET)


def _pool_alive(pool: Any) -> bool:
    processes = getattr(pool, "_processes", None)  # (CPython's; without it, trust the pool)
    return not processes or all(process.is_alive() for process in processes.values())


def _worker_lost() -> Exception:
    """A worker ended from outside (the kernel's out-of-memory killer, a kill): an error the user
    can act on, not an internal one; the output file is not written (the old one is kept)."""
    from engine.errors import ClauseError, Diagnostic, Span

    return ClauseError([Diagnostic(
        "a worker process ended abruptly (killed, or out of memory); the run stopped and wrote no results",
        Span("clause run", 0, 0, 0, 0),
        help="run it again; if memory is short, give fewer --workers or smaller --partition-rows")])


class _WriteBehind:
    """What comes back to this process written on a thread of its own (pyarrow's Parquet writer and
    the file system release the GIL), one write in flight, so memory stays flat. The thread starts
    with the first write: after the worker processes are forked (a fork copies no thread)."""

    def __init__(self, writer: Any):
        self.writer = writer
        self.pool: Any = None
        self.pending: Any = None

    def __call__(self, data: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.wait()
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="clause-write")
        self.pending = self.pool.submit(self.writer, data)

    def wait(self) -> None:
        """The last write done; raises what it raised (a full disk, a closed pipe)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # finished (or failed) before the output is closed


def _collected(done: PartDone, writer: Any, shared: Any) -> PartDone:
    if shared is not None:
        shared.check()
    if done.error is not None:
        if shared is not None:
            shared.abort()
        raise RuntimeError(done.error)
    if done.data is not None:
        writer(done.data)
        done.data = None
    return done


def run_in_process(job: Job, program: Program, parts: Iterator[Part], directory: Path | None,
                   writer: Any) -> Iterator[PartDone]:
    """Partitions read, evaluated and written in this process, one at a time, in turn: one worker
    is one core (`--workers 1` on a shared machine takes one core, and the default, every core,
    is what runs fastest); memory stays flat."""
    _PROGRAMS[program_key(job)] = program
    sink = ("dir", str(directory)) if directory is not None else ("return", "")
    for part in parts:
        yield _collected(run_part(job, part, sink), writer, None)


def run_dask(program: Program, job: Job, parts: Iterator[Part], workers: int, scheduler: str | None,
             directory: Path) -> Iterator[PartDone]:
    """Partitions as tasks of a Dask cluster (``scheduler``, or a local cluster of ``workers``
    processes), each writing its own file in ``directory``; a bounded number in flight."""
    import distributed

    dask: Any = distributed  # untyped
    Client, LocalCluster, as_completed = dask.Client, dask.LocalCluster, dask.as_completed
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        [shared_job] = client.scatter([job], broadcast=True)
        window = max(2 * len(client.scheduler_info().get("workers", {})), 4)
        running = as_completed()
        waiting: dict[int, PartDone] = {}
        following = 0
        for part in parts:
            running.add(client.submit(run_part, shared_job, part, ("dir", str(directory)),
                                      key=f"clause-part-{job.digest[:16]}-{part.index:05d}", pure=False))
            while running.count() >= window:
                done = next(running).result()
                waiting[done.index] = done
                while following in waiting:
                    yield _collected(waiting.pop(following), None, None)
                    following += 1
        for future in running:
            done = future.result()
            waiting[done.index] = done
            while following in waiting:
                yield _collected(waiting.pop(following), None, None)
                following += 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def join_parts(directory: Path, fmt: str, count: int, out: Any) -> None:
    """The partitions' files, in order, as one output (CSV: one header)."""
    import shutil

    if fmt == "parquet":
        import pyarrow.parquet as pq

        writer = None
        for index in range(count):
            table = pq.read_table(directory / part_name(index, fmt))
            if writer is None:
                writer = out
            writer(table)
        return
    for index in range(count):
        with (directory / part_name(index, fmt)).open("rb") as part:
            if fmt == "csv":  # the output's header is written once, before the partitions
                part.readline()
            shutil.copyfileobj(part, out, 1 << 20)
