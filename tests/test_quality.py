"""The code stays lint-clean and type-clean (mypy strict on engine/)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from helpers import ROOT


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed with the test extra")
def test_ruff_is_clean() -> None:
    result = subprocess.run(["ruff", "check", "engine", "render", "workbench", "bench", "tests"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_the_engine() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
