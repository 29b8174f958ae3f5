"""Running the CLI in-process, from the repository root, as a user would."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str


@contextmanager
def _in_root() -> Iterator[None]:
    before = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


def clause(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with _in_root():
        code = main(list(argv), stdout=out, stderr=err)
    return Run(code, out.getvalue(), err.getvalue())


def clause_in(directory: Path, *argv: str) -> Run:
    """The CLI run in-process from ``directory`` (for files made in a temporary one)."""
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(directory)
    try:
        code = main(list(argv), stdout=out, stderr=err)
    finally:
        os.chdir(before)
    return Run(code, out.getvalue(), err.getvalue())
