"""Outputs never lose what the user had (issue #10): written to a temporary file
and renamed into place; an output that is also an input refused; directories,
missing parents and full disks reported as errors, not internal errors."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT, clause

SPECIAL = "contracts/special_conversion.clause"
SCENARIO = "examples/special_conversion/holder_converts.yaml"
ROW = {"notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": 1000, "principal_to_convert": 1000}


def _table(path: Path, rows: int = 3) -> Path:
    path.write_text("".join(json.dumps({**ROW, "scenario": f"row {i}"}) + "\n" for i in range(rows)),
                    encoding="utf-8")
    return path


def _no_leftovers(directory: Path) -> None:
    assert [p.name for p in directory.iterdir() if p.name.endswith(".partial")] == []


def test_run_refuses_to_write_over_its_own_input(tmp_path: Path) -> None:
    table = _table(tmp_path / "in.jsonl")
    before = table.read_bytes()
    run = clause("run", SPECIAL, str(table), "-o", str(table), "--force", "--format", "jsonl")
    assert run.code == 1
    assert "would overwrite an input" in run.err and "internal error" not in run.err
    assert table.read_bytes() == before  # not truncated
    # The contract is an input too.
    run = clause("run", SPECIAL, str(table), "-o", str(ROOT / SPECIAL), "--force")
    assert run.code == 1 and "would overwrite an input" in run.err


def test_memo_refuses_to_write_over_its_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_bytes((ROOT / SCENARIO).read_bytes())
    run = clause("memo", SPECIAL, str(scenario), "-o", str(scenario), "--force", "--format", "md")
    assert run.code == 1 and "would overwrite an input" in run.err
    assert scenario.read_bytes() == (ROOT / SCENARIO).read_bytes()


@pytest.mark.parametrize("command", ["run", "memo"])
def test_a_directory_or_a_missing_parent_is_a_clear_error(command: str, tmp_path: Path) -> None:
    table = _table(tmp_path / "in.jsonl")
    inputs = [str(table)] if command == "run" else [SCENARIO]
    for target, message in [(tmp_path, "is a directory"),
                            (tmp_path / "no" / "such" / "dir" / "x.md", "no such directory"),
                            (tmp_path / "in.jsonl" / "x.md", "is not a directory")]:
        run = clause(command, SPECIAL, *inputs, "-o", str(target))
        assert run.code == 1, (target, run.err)
        assert message in run.err and "internal error" not in run.err, run.err
        assert run.err.startswith(f"{target}: error:")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["run", "memo"])
def test_a_full_device_is_a_clear_error(command: str, tmp_path: Path) -> None:
    inputs = [str(_table(tmp_path / "in.jsonl"))] if command == "run" else [SCENARIO]
    run = clause(command, SPECIAL, *inputs, "-o", "/dev/full", "--format", "jsonl" if command == "run" else "md")
    assert run.code == 1, run.err
    assert "/dev/full: error: cannot write" in run.err and "No space left on device" in run.err
    assert "internal error" not in run.err and "Traceback" not in run.err


def test_a_failed_forced_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "memo.md"
    target.write_text("the memo of last week\n", encoding="utf-8")

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)  # the disk fills up as the memo is flushed
    run = clause("memo", SPECIAL, SCENARIO, "-o", str(target), "--force")
    assert run.code == 1
    assert "No space left on device" in run.err and "the existing file is unchanged" in run.err
    assert target.read_text(encoding="utf-8") == "the memo of last week\n"  # never a 0-byte file
    _no_leftovers(tmp_path)
    table = _table(tmp_path / "in.jsonl")
    results = tmp_path / "out.jsonl"
    results.write_text("earlier results\n", encoding="utf-8")
    run = clause("run", SPECIAL, str(table), "-o", str(results), "--force", "--format", "jsonl")
    assert run.code == 1 and "No space left on device" in run.err
    assert results.read_text(encoding="utf-8") == "earlier results\n"
    _no_leftovers(tmp_path)


def test_a_successful_forced_write_replaces_the_file_whole(tmp_path: Path) -> None:
    table = _table(tmp_path / "in.jsonl", rows=5)
    results = tmp_path / "out.jsonl"
    results.write_text("earlier results\n", encoding="utf-8")
    results.chmod(0o640)
    run = clause("run", SPECIAL, str(table), "-o", str(results), "--force", "--format", "jsonl")
    assert run.code == 0, run.err
    lines = results.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["scenario"] for line in lines] == [f"row {i}" for i in range(5)]
    assert results.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    _no_leftovers(tmp_path)


def test_a_table_too_long_to_lay_out_is_refused_with_advice(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.limits

    monkeypatch.setattr(engine.limits, "TABLE_ROWS", 3)
    table = _table(tmp_path / "in.jsonl", rows=5)
    run = clause("run", SPECIAL, str(table), "--format", "table")
    assert run.code == 1 and "too many for a table" in run.err and "--format jsonl" in run.err
    assert run.out == ""
    assert clause("run", SPECIAL, str(table), "--format", "jsonl").out.count("\n") == 5


def _default_sigint() -> None:
    # A shell without job control starts background commands with Ctrl-C ignored, and
    # Python then keeps it ignored; the command under test gets Ctrl-C as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_run_exits_130_with_one_line(tmp_path: Path) -> None:
    table = _table(tmp_path / "in.jsonl", rows=200_000)
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", SPECIAL, str(table), "--format", "jsonl",
                                "-o", str(out), "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    time.sleep(4)  # the contract loaded, the workers busy
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "clause: interrupted"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert not out.exists()  # nothing half-written
    _no_leftovers(tmp_path)
