"""Shared pytest configuration.

`pytest --update-goldens` rewrites golden files from the current output (the
same as CLAUSE_UPDATE_GOLDENS=1); review the diff before committing it.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output (same as CLAUSE_UPDATE_GOLDENS=1)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-goldens"):
        os.environ["CLAUSE_UPDATE_GOLDENS"] = "1"
