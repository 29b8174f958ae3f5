"""The contract cache cannot run foreign code, is never stale, survives concurrent runs (issue #10)."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import engine.check
from engine.api import evaluate, load_contract
from engine.check import Program

from helpers import ROOT


def _contract(directory: Path, factor: str = "2") -> Path:
    (directory / "lib.clause").write_text("define price: money = $2.00\n", encoding="utf-8")
    main = directory / "main.clause"
    main.write_text(textwrap.dedent(f'''\
        contract "Cached"
        include "lib.clause"
        fact n: integer
        result total: money = price * n * {factor}
        '''), encoding="utf-8")
    return main


def _total(path: Path, n: int = 1) -> Decimal:
    value = evaluate(load_contract(path), {"n": n}).results["total"].value
    assert isinstance(value, Decimal)
    return value


class _RunsCode:
    """Unpickling this calls os.system: what a foreign entry could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(directory))
    monkeypatch.delenv("CLAUSE_CACHE", raising=False)
    return directory


def _checks(monkeypatch: pytest.MonkeyPatch, before: Any = None, after: Any = None) -> list[str]:
    calls: list[str] = []
    real = engine.check.check_file

    def counting(path: str | Path, strict: bool = False, **options: Any) -> Program:
        calls.append(str(path))
        if before:
            before()
        program = real(path, strict=strict, **options)
        if after:
            after()
        return program

    monkeypatch.setattr(engine.check, "check_file", counting)
    return calls


def test_the_cache_directory_and_key_are_private(cache: Path, tmp_path: Path) -> None:
    _total(_contract(tmp_path))
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache / "key").stat().st_mode) == 0o600
    assert len(list(cache.glob("*.entry"))) == 1


def test_a_foreign_entry_is_never_unpickled_and_is_rebuilt(cache: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    main = _contract(tmp_path)
    assert _total(main) == Decimal("4.00")  # $2.00 * 1 * 2
    marker = tmp_path / "PWNED"
    (entry,) = cache.glob("*.entry")
    # Someone who can write the cache directory replaces the entry: once by a
    # bare pickle, once keeping the format's header but without the user's key.
    for forged in (pickle.dumps(_RunsCode(marker)),
                   entry.read_bytes()[:47] + pickle.dumps(_RunsCode(marker))):
        entry.write_bytes(forged)
        calls = _checks(monkeypatch)
        assert _total(main) == Decimal("4.00")
        assert not marker.exists(), "the cache ran foreign code"
        assert calls == [str(main)]  # ignored, checked again...
        assert "ignoring the cache entry" in capsys.readouterr().err  # ...with a warning
        calls.clear()
        assert _total(main) == Decimal("4.00")
        assert calls == []  # and rebuilt: the next run reads it
        assert capsys.readouterr().err == ""


def test_an_entry_of_the_wrong_shape_is_rebuilt(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import engine.cache

    main = _contract(tmp_path)
    _total(main)
    (entry,) = cache.glob("*.entry")
    key = (cache / "key").read_bytes()
    # Authentic (the user's own key) but not a program: an older clause, say.
    entry.write_bytes(engine.cache._seal(key, pickle.dumps(("state", []))))
    calls = _checks(monkeypatch)
    assert _total(main) == Decimal("4.00")
    assert len(calls) == 1 and "ignoring the cache entry" in capsys.readouterr().err
    assert _total(main) == Decimal("4.00") and len(calls) == 1


def test_a_directory_others_may_write_is_not_used(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    main = _contract(tmp_path)
    calls = _checks(monkeypatch)
    assert _total(main) == Decimal("4.00") and _total(main) == Decimal("4.00")
    assert len(calls) == 2  # never cached
    assert "others may write to it" in capsys.readouterr().err
    assert list(cache.iterdir()) == []


def test_the_program_comes_from_the_bytes_that_made_the_key(cache: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    main = _contract(tmp_path, factor="2")
    # An editor saves the file after clause read it for the key, before the checker ran.
    calls = _checks(monkeypatch, before=lambda: _contract(tmp_path, factor="3"))
    assert _total(main) == Decimal("4.00")  # the content read: factor 2
    monkeypatch.undo()
    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(cache))
    calls = _checks(monkeypatch)
    assert _total(main) == Decimal("6.00")  # the file now says 3: checked again, not the old program
    assert len(calls) == 1


def test_an_include_edited_during_the_check_is_not_cached_stale(cache: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    main = _contract(tmp_path)
    lib = tmp_path / "lib.clause"
    calls = _checks(monkeypatch, after=lambda: lib.write_text("define price: money = $5.00\n", encoding="utf-8"))
    assert _total(main) == Decimal("4.00")  # what the checker read
    assert _total(main) == Decimal("10.00")  # $5.00 * 1 * 2: the edit is seen, nothing stale was stored
    lib.write_text("define price: money = $2.00\n", encoding="utf-8")  # edited back
    assert _total(main) == Decimal("4.00")
    assert len(calls) == 3


def test_concurrent_first_runs_share_the_cache_safely(cache: Path, tmp_path: Path) -> None:
    main = _contract(tmp_path)
    code = ("import sys; from engine.api import evaluate, load_contract; "
            "print(evaluate(load_contract(sys.argv[1]), {'n': 5}).results['total'].value)")
    env = {**os.environ, "CLAUSE_CACHE_DIR": str(cache)}
    runs = [subprocess.Popen([sys.executable, "-c", code, str(main)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [out for out, _ in outputs] == ["20.00\n"] * 4  # $2.00 * 5 * 2
    assert all("warning" not in err and "Traceback" not in err for _, err in outputs), outputs
    assert len(list(cache.glob("*.entry"))) == 1
    assert not list(cache.glob(".entry-*"))  # no temporary file left behind
