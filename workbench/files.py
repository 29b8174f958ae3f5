"""The served tree: every path the browser names is resolved inside it, or refused.

Saving never overwrites a file that changed on disk since the browser read it
unless the user says so: the browser sends the hash of the text it opened, and
a different hash on disk is a conflict (HTTP 409) the page asks the user about.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

READABLE = (".clause", ".yaml", ".yml", ".json", ".txt")
WRITABLE = (".clause", ".yaml", ".yml", ".json")
SKIPPED_DIRS = {".git", ".hg", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".ruff_cache",
                ".pytest_cache", "build", "dist"}
MAX_FILES = 2000
MAX_BYTES = 2_000_000

_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"', re.M)
_SOURCE = re.compile(r'^\s*source\s+"([^"]+)"', re.M)


class OutsideTree(ValueError):
    """A path that leaves the served tree, or names a kind of file the workbench does not touch."""


class Conflict(Exception):
    """The file changed on disk since it was opened."""

    def __init__(self, disk_hash: str | None):
        super().__init__("the file changed on disk since it was opened")
        self.disk_hash = disk_hash


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Tree:
    root: Path  # resolved

    @staticmethod
    def at(root: Path) -> Tree:
        return Tree(root.resolve())

    def resolve(self, relative: str, suffixes: tuple[str, ...] = READABLE) -> Path:
        """The file a browser-given path names, inside the tree, with an allowed suffix."""
        if not relative or "\0" in relative or Path(relative).is_absolute():
            raise OutsideTree(f"not a path inside the served folder: {relative!r}")
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise OutsideTree(f"{relative} is outside the served folder")
        if not path.name.lower().endswith(suffixes):
            raise OutsideTree(f"{relative}: the workbench opens only {', '.join(suffixes)} files")
        return path

    def relative(self, path: str | Path) -> str:
        """A path as the page shows it: relative to the served folder."""
        resolved = Path(path).resolve()
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def read(self, relative: str) -> tuple[Path, str]:
        path = self.resolve(relative)
        if path.stat().st_size > MAX_BYTES:
            raise OutsideTree(f"{relative} is larger than the workbench opens ({MAX_BYTES} bytes)")
        return path, path.read_text(encoding="utf-8")

    def write(self, relative: str, text: str, base_hash: str | None, force: bool) -> str:
        """Save ``text``; ``base_hash`` is the hash of the text the page opened (None for a new file)."""
        path = self.resolve(relative, WRITABLE)
        if not path.parent.is_dir():
            raise OutsideTree(f"no such folder: {self.relative(path.parent)}")
        disk = text_hash(path.read_text(encoding="utf-8")) if path.exists() else None
        if not force and disk != base_hash:
            raise Conflict(disk)
        # Written beside the file and renamed into place: a crash never leaves half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return text_hash(text)

    def files(self) -> list[str]:
        """Every file the workbench can open, relative to the root, sorted."""
        found: list[str] = []
        for directory, subdirs, names in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")
                                and not d.endswith(".egg-info"))
            for name in sorted(names):
                if name.endswith(READABLE) and not name.startswith("."):
                    found.append((Path(directory) / name).relative_to(self.root).as_posix())
                    if len(found) >= MAX_FILES:
                        return found
        return found

    def escaping_references(self, contract: Path, text: str) -> list[tuple[int, str]]:
        """(line, message) for every include or source document that leaves the tree.

        The checker reads included files and source documents from disk; a clause
        file may name any path, so the workbench refuses those outside the tree
        before the checker reads them (and follows includes that stay inside)."""
        problems: list[tuple[int, str]] = []
        seen: set[Path] = set()
        pending = [(contract, text, True)]
        while pending:
            path, body, is_main = pending.pop()
            for pattern in (_INCLUDE, _SOURCE):
                for match in pattern.finditer(body):
                    target = (path.parent / match[1]).resolve()
                    if not target.is_relative_to(self.root):
                        if is_main:
                            line = body.count("\n", 0, match.start(1)) + 1
                            problems.append((line, f"`{match[1]}` is outside the served folder; "
                                                   "the workbench reads no file outside it"))
                        else:
                            problems.append((0, f"{self.relative(path)} names `{match[1]}`, outside the "
                                                "served folder; the workbench reads no file outside it"))
                    elif pattern is _INCLUDE and target not in seen and target.is_file():
                        seen.add(target)
                        with contextlib.suppress(OSError, UnicodeDecodeError):  # the checker reports it
                            pending.append((target, target.read_text(encoding="utf-8"), False))
        return problems
