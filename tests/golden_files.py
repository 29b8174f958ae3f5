"""Golden files: compare output with a file kept in the repository.

Set CLAUSE_UPDATE_GOLDENS=1 to rewrite the goldens from the current output,
then review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("CLAUSE_UPDATE_GOLDENS") == "1"


def assert_golden(path: Path, actual: str) -> None:
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(f"missing golden {path}; run with CLAUSE_UPDATE_GOLDENS=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (CLAUSE_UPDATE_GOLDENS=1 rewrites it)"
