"""`clause run` on partitions: worker processes and a Dask cluster give the one-process output.

Partitions are cut the same way whatever runs them, so the output of two
worker processes, of `-o DIR/` (a file per partition) and of a Dask cluster
must be byte for byte the output of one process; a Dask worker killed in the
middle of a run loses nothing and duplicates nothing (its partition is run
again and replaces its own file). The scalar evaluator (`--evaluator scalar`)
writes the same lines as the columnar one.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = str(ROOT / "contracts" / "series_b_preferred.clause")
sys.path.insert(0, str(ROOT / "tests"))

from test_columnar import TIES, _table  # noqa: E402

SIX_B = "price_per_share,adjustment_triggered,new_conversion_price"


def _run(*args: str) -> int:
    return main(["run", CONTRACT, *args])


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parallel") / "issues.csv"
    _table(path)  # 150 random §6(b) rows, two ties, a "$1,000.00", a bad date, a zero division, a missing fact
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_two_workers_write_the_bytes_of_one(table: Path, tmp_path: Path, fmt: str) -> None:
    one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
    assert _run(str(table), "--format", fmt, "-o", str(one), "--workers", "1") == 1  # the bad date fails
    # 17-row partitions: a partition boundary falls inside the table more than once.
    assert _run(str(table), "--format", fmt, "-o", str(two), "--workers", "2", "--partition-rows", "17") == 1
    assert two.read_bytes() == one.read_bytes()
    if fmt == "jsonl":
        lines = [json.loads(line) for line in one.read_text(encoding="utf-8").splitlines()]
        assert len(lines) == 156
        by_name = {line["scenario"]: line for line in lines}
        for name, _, price in TIES:
            assert by_name[name]["results"]["new_conversion_price"]["value"] == price


def test_parquet_from_two_workers_is_the_table_of_one(table: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    _run(str(table), "--format", "parquet", "-o", str(one), "--workers", "1", "--results", SIX_B)
    _run(str(table), "--format", "parquet", "-o", str(two), "--workers", "2", "--partition-rows", "40",
         "--results", SIX_B)
    assert pq.read_table(two).equals(pq.read_table(one))
    assert pq.read_table(one).num_rows == 156


def test_a_directory_output_has_a_file_per_partition(table: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.jsonl"
    _run(str(table), "--format", "jsonl", "-o", str(single))
    _run(str(table), "--format", "jsonl", "-o", f"{tmp_path / 'parts'}/", "--partition-rows", "50", "--workers", "2")
    files = sorted((tmp_path / "parts").iterdir())
    assert [f.name for f in files] == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl",
                                       "part-00003.jsonl"]
    assert b"".join(f.read_bytes() for f in files) == single.read_bytes()
    # Run again: the partitions are not overwritten without --force.
    assert _run(str(table), "--format", "jsonl", "-o", f"{tmp_path / 'parts'}/") == 1


def test_the_scalar_evaluator_writes_the_columnar_lines(table: Path, tmp_path: Path) -> None:
    columnar, scalar = tmp_path / "columnar.jsonl", tmp_path / "scalar.jsonl"
    _run(str(table), "--format", "jsonl", "-o", str(columnar))
    _run(str(table), "--format", "jsonl", "-o", str(scalar), "--evaluator", "scalar", "--workers", "2",
         "--partition-rows", "64")
    assert scalar.read_bytes() == columnar.read_bytes()


def test_jsonl_lines_hold_the_results_asked_for(table: Path, tmp_path: Path) -> None:
    full, some = tmp_path / "full.jsonl", tmp_path / "some.jsonl"
    _run(str(table), "--format", "jsonl", "-o", str(full))
    _run(str(table), "--format", "jsonl", "-o", str(some), "--results", SIX_B)
    for whole, part in zip(full.read_text(encoding="utf-8").splitlines(),
                           some.read_text(encoding="utf-8").splitlines(), strict=True):
        whole_data, part_data = json.loads(whole), json.loads(part)
        assert part_data["scenario"] == whole_data["scenario"]
        if "errors" in whole_data:
            assert part_data["errors"] == whole_data["errors"]
            continue
        assert list(part_data["results"]) == SIX_B.split(",")
        for name in SIX_B.split(","):
            assert part_data["results"][name] == whole_data["results"][name]


class _KillOnce:
    """A Dask worker plugin: the worker that starts the third partition's task dies (SIGKILL), once."""

    def __init__(self, marker: str):
        self.marker = marker

    def transition(self, key: object, start: str, finish: str, **kwargs: object) -> None:
        if finish != "executing" or not str(key).endswith("-00002"):
            return
        try:
            descriptor = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(descriptor)
        os.kill(os.getpid(), signal.SIGKILL)


def test_dask_partitions_are_the_local_ones_even_when_a_worker_dies(table: Path, tmp_path: Path) -> None:
    import cloudpickle
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import WorkerPlugin

    local = tmp_path / "local"
    _run(str(table), "--format", "jsonl", "-o", f"{local}/", "--partition-rows", "20")
    marker = tmp_path / "killed"
    plugin = type("KillOnce", (_KillOnce, WorkerPlugin), {})(str(marker))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(plugin)
        distributed = tmp_path / "dask"
        _run(str(table), "--format", "jsonl", "-o", f"{distributed}/", "--partition-rows", "20",
             "--engine", "dask", "--scheduler", cluster.scheduler_address)
        joined = tmp_path / "joined.csv"
        _run(str(table), "--format", "csv", "-o", str(joined), "--partition-rows", "20", "--engine", "dask",
             "--scheduler", cluster.scheduler_address, "--results", SIX_B)
    assert marker.exists()  # a worker did die during the run
    local_files = sorted(p.name for p in local.iterdir())
    assert sorted(p.name for p in distributed.iterdir()) == local_files
    assert len(local_files) == 8  # 156 rows in partitions of 20
    for name in local_files:
        assert (distributed / name).read_bytes() == (local / name).read_bytes()
    names = [json.loads(line)["scenario"] for name in local_files
             for line in (distributed / name).read_text(encoding="utf-8").splitlines()]
    assert len(names) == len(set(names)) == 156
    one = tmp_path / "one.csv"
    _run(str(table), "--format", "csv", "-o", str(one), "--results", SIX_B)
    assert joined.read_bytes() == one.read_bytes()


def test_with_another_thread_alive_workers_start_fresh_and_agree(table: Path, tmp_path: Path) -> None:
    """fork copies only the calling thread; a lock another thread holds stays held in the child for
    good. With a thread alive (an embedding server, a test runner's), workers start from a fresh
    interpreter, and write what one process writes."""
    import threading

    from engine.batch import start_method

    stop = threading.Event()
    lock = threading.Lock()

    def hold() -> None:
        with lock:  # held while the workers start: a forked child could never take it
            stop.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert start_method() in ("forkserver", "spawn")
        one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
        assert _run(str(table), "--format", "jsonl", "-o", str(one), "--workers", "1") == 1
        assert _run(str(table), "--format", "jsonl", "-o", str(two), "--workers", "2", "--partition-rows", "40") == 1
        assert two.read_bytes() == one.read_bytes()
    finally:
        stop.set()
        holder.join()


def _run_patched(table: Path, tmp_path: Path, patch: str) -> tuple[Any, Path]:
    """`clause run --workers 2` into a file holding earlier results, in a process of its own
    with ``patch`` run first (the workers are forked only from a process without other threads,
    and inherit the patch)."""
    import subprocess

    out = tmp_path / "out.jsonl"
    out.write_text("earlier results\n", encoding="utf-8")
    script = "import sys\nfrom engine.cli import main\n" + patch + "sys.exit(main(sys.argv[1:]))\n"
    done = subprocess.run([sys.executable, "-c", script, "run", CONTRACT, str(table), "--format", "jsonl", "-o",
                           str(out), "--force", "--workers", "2", "--partition-rows", "20"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done, out


def _refused(done: Any, out: Path, message: str) -> None:
    """Exit 1 with ``message``, no internal error, the old file kept, no temporary file left."""
    assert done.returncode == 1, done.stderr
    assert message in done.stderr, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "earlier results\n"
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_a_disk_that_fills_as_workers_write_is_a_clear_error(table: Path, tmp_path: Path) -> None:
    """Two workers place their partitions on threads of their own: a write that fails there still
    ends the run with the error (not a hang, not an internal error, not a half-written file)."""
    done, out = _run_patched(table, tmp_path, (
        "import errno, os\n"
        "original, calls = os.pwrite, []\n"
        "def full(descriptor, data, offset):\n"
        "    calls.append(offset)\n"
        "    if len(calls) > 2:  # in each worker, its third write\n"
        "        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
        "    return original(descriptor, data, offset)\n"
        "os.pwrite = full\n"))
    _refused(done, out, f"{out}: error: cannot write the results: No space left on device")


def test_a_worker_killed_mid_run_is_an_error_the_user_can_act_on(table: Path, tmp_path: Path) -> None:
    """A worker ended from outside (the out-of-memory killer) stops the run with an error that says so."""
    done, out = _run_patched(table, tmp_path, (
        "import os, signal\n"
        "from runner import parallel\n"
        "original = parallel.evaluate_part\n"
        "def dies(job, part):\n"
        "    if part.index == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return original(job, part)\n"
        "parallel.evaluate_part = dies\n"))
    _refused(done, out, "a worker process ended abruptly (killed, or out of memory)")


def test_a_placing_thread_that_fails_ends_the_run(table: Path, tmp_path: Path) -> None:
    """Anything going wrong on a worker's placing thread (here a bug, not a failed write) ends the
    run: no worker waits forever for a partition never placed."""
    done, out = _run_patched(table, tmp_path, (
        "from runner import streaming\n"
        "def broken(self, start, end):\n"
        "    raise ValueError('a bug')\n"
        "streaming.Stream.written = broken\n"))
    _refused(done, out, "cannot write the results")
