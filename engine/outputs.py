"""Writing output files so that nothing the user had is lost.

Every `-o FILE` goes through here: the destination is checked before any work
(not a directory, its directory exists, not one of the inputs, not overwritten
without --force), the output is written to a temporary file in the same
directory and renamed over the destination only once it is complete. A
failure (a full disk, an interrupt, an error in the middle of a run) leaves
the old file as it was and no temporary file behind. A destination that is a
device or a pipe (`/dev/stdout`, `/dev/full`) is written directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from engine.errors import ClauseError, Diagnostic, Span


def _error(path: Path, message: str, help: str | None = None) -> ClauseError:
    return ClauseError([Diagnostic(message, Span(str(path), 0, 0, 0, 0), help=help)])


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_destination(path: Path, *, force: bool, inputs: Iterable[str | Path] = (), what: str = "the output") -> None:
    """Refuse, before any work, a destination that cannot or must not be written."""
    for given in inputs:
        if _same_file(path, Path(given)):
            raise _error(path, f"{what} would overwrite an input of this command",
                         help="choose another -o FILE (clause never writes over a file it reads)")
    if path.is_dir():
        raise _error(path, f"is a directory; give {what} a file name")
    parent = path.parent
    if not parent.is_dir():
        if parent.exists():
            raise _error(path, f"cannot write {what}: {parent} is not a directory")
        raise _error(path, f"cannot write {what}: no such directory {parent}")
    if path.exists() and _regular(path) and not force:
        raise _error(path, "already exists; not overwriting it",
                     help="pass --force to overwrite it, or choose another -o FILE")


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


@contextlib.contextmanager
def atomic_output(path: Path, *, binary: bool = False, what: str = "the output",
                  **text_options: Any) -> Iterator[IO[Any]]:
    """A handle whose content replaces ``path`` when the block ends without error.

    ``text_options`` go to ``open`` (encoding, newline) for a text handle."""
    options = {} if binary else {"encoding": "utf-8", **text_options}
    mode = "wb" if binary else "w"
    if path.exists() and not _regular(path):  # /dev/stdout, /dev/full, a named pipe: no rename
        try:
            with path.open(mode, **options) as handle:
                yield handle
        except OSError as error:
            raise _error(path, f"cannot write {what}: {_describe(error)}") from None
        return
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as error:
        raise _error(path, f"cannot write {what}: {_describe(error)}") from None
    try:
        with os.fdopen(descriptor, mode, **options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise _error(path, f"cannot write {what}: {_describe(error)}; {_kept(path)}") from None
    except BaseException:
        _remove(temporary)
        raise


def write_text(path: Path, text: str, *, what: str = "the output") -> None:
    with atomic_output(path, what=what) as handle:
        handle.write(text)


def _mode_for(path: Path) -> int:
    """The existing file's permissions, else what a new file gets (0666 less the umask)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _kept(path: Path) -> str:
    return "the existing file is unchanged" if path.exists() else "nothing was written"


def _remove(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)
