"""A cache of checked contracts, so a second run skips parsing and checking.

An entry is a pickle of the checked ``Program``, filed under a hash of
everything the check depends on:

- the engine itself: the source of every ``engine/*.py`` module and the
  grammar (so a new grammar or engine version never reads an old entry), the
  Python version and the versions of lark and holidays;
- the clause file as given (its path as written and the working directory,
  which appear in every source position) and its content: the bytes read once,
  which are also the bytes the checker parses.

The program lists every other file the check read (included clause files and
the source documents their quotes were verified against), each with the hash
of the bytes the checker read; an entry whose files changed is ignored and
replaced, and a program whose files changed while it was being checked is not
stored. So an entry is never stale.

Pickle runs code, so an entry is authenticated before it is unpickled: it
starts with an HMAC-SHA256 of its payload under a per-user key (``key``, a file
0600 in the cache directory, made on first use). The directory is created 0700
and used only when it is the user's own and nobody else may write to it. An
entry that fails the check (damaged, foreign, truncated) is ignored with a
warning and rebuilt. Writes are atomic (a temporary file renamed into place),
so concurrent runs read an old entry or a whole new one; a failure to write
the cache only costs the next run its speed.

The directory is ``$CLAUSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/clause``, else
``~/.cache/clause``; ``CLAUSE_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import pickle
import secrets
import stat
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from engine.check import Program
from engine.limits import CLAUSE_FILE_BYTES, LimitError, read_bounded

FORMAT = 3  # 3: programs carry their reading alternatives
_MAGIC = b"clause-cache-3\n"
_MAC_BYTES = 32
_KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_ENGINE = Path(__file__).resolve().parent
_GRAMMAR = _ENGINE.parent / "grammar" / "clause.lark"
_CACHES = ("_scenario_model", "_compiled_shapes", "_compiled_unsupported", "_fast_facts", "_batch_rows",
           "_required_facts")


def cache_dir() -> Path | None:
    if os.environ.get("CLAUSE_CACHE", "1") == "0":
        return None
    given = os.environ.get("CLAUSE_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clause"


@functools.cache
def engine_fingerprint() -> str:
    digest = hashlib.sha256(f"clause-cache-{FORMAT} {sys.version}".encode())
    for path in [*sorted(_ENGINE.glob("*.py")), _GRAMMAR]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for package in ("lark", "holidays", "tzdata"):
        # The installed version, read from its files without importing it (imports are slow).
        spec = find_spec(package)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        for path in (origin, origin.parent / "version.py") if origin else ():
            if path is not None and path.exists():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _nodes(program: Program) -> list[object]:
    """Every expression node the checker typed (node_types is keyed by id)."""
    found: list[object] = []
    seen: set[int] = set()
    # Whole declarations, so every expression they hold is found: rule bodies,
    # explain conditions, fact defaults, function bodies, record requirements.
    stack: list[object] = []
    stack.extend(info.decl for info in program.rules.values())
    stack.extend(function.decl for function in program.functions.values())
    stack.extend(fact.decl for fact in program.facts.values())
    stack.extend(program.__dict__.get("requirements", {}).values())
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
            continue
        fields = getattr(node, "__dataclass_fields__", None)
        if fields is None or id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        for name in fields:
            if name not in ("span", "function_span", "op_span", "citation_span"):
                stack.append(getattr(node, name))
    return found


_State = tuple[dict[str, Any], list[tuple[object, Any]], dict[str, Any]]


def _state(program: Program) -> _State:
    """A program as data: its fields, its typed nodes, and its alternatives (each likewise).

    The alternatives share most declarations with the program, so they go into
    the same pickle, which keeps each shared node one object."""
    skip = (*_CACHES, "node_types", "alternatives")
    state = {k: v for k, v in program.__dict__.items() if k not in skip}
    types = program.node_types
    pairs = [(node, types[id(node)]) for node in _nodes(program) if id(node) in types]
    alternatives = {name: _state(other) for name, other in program.__dict__.get("alternatives", {}).items()}
    return state, pairs, alternatives


def _program(data: _State) -> Program:
    state, pairs, alternatives = data
    program = Program.__new__(Program)
    program.__dict__.update(state)
    program.node_types = {id(node): type_ for node, type_ in pairs}
    program.alternatives = {name: _program(other) for name, other in alternatives.items()}
    return program


def dumps(program: Program) -> bytes:
    return pickle.dumps(_state(program), protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Program:
    return _program(pickle.loads(data))


def _key(path: str | Path, content: bytes, allow_outside: bool) -> str:
    digest = hashlib.sha256(engine_fingerprint().encode())
    digest.update(f"\0{path}\0{os.getcwd()}\0{allow_outside}\0".encode())
    digest.update(content)
    return digest.hexdigest()


def _warn(message: str) -> None:
    sys.stderr.write(f"clause: warning: {message}\n")


def _private_directory(directory: Path) -> bool:
    """Create ``directory`` 0700 if need be; whether it is the user's own and
    nobody else's to write (else the cache is not used, with a warning)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        _warn(f"not using the cache {directory}: it is not a directory of your own")
        return False
    if info.st_mode & 0o022:
        _warn(f"not using the cache {directory}: others may write to it (chmod 700 it)")
        return False
    return True


def _user_key(directory: Path) -> bytes | None:
    """The per-user secret that authenticates every entry (a file 0600, made once)."""
    path = directory / "key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return None
    else:
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(_KEY_BYTES))
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        key = handle.read(_KEY_BYTES + 1)
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or len(key) != _KEY_BYTES:
        # Being written by a concurrent first run, or not ours: do without the cache this time.
        if len(key) == _KEY_BYTES:
            _warn(f"not using the cache {directory}: its key file is not private to you")
        return None
    return key


def _seal(key: bytes, payload: bytes) -> bytes:
    return _MAGIC + hmac.new(key, payload, hashlib.sha256).digest() + payload


def _unseal(key: bytes, data: bytes) -> bytes | None:
    """The payload of an entry this user's clause wrote, else None (never unpickled)."""
    head = len(_MAGIC) + _MAC_BYTES
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    payload = data[head:]
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    return payload if hmac.compare_digest(expected, data[len(_MAGIC):head]) else None


def load_program(path: str | Path, strict: bool = False, *, allow_outside: bool = False) -> Program:
    """The checked contract, from the cache when nothing it depends on changed.

    The main file is read once: its bytes make the key and are what the
    checker parses; every other file's digest is of the bytes the checker read.
    An entry is unpickled only once its HMAC, under the user's own key, holds:
    nobody else can make clause run code from the cache. A bad entry is
    ignored, with a warning, and rebuilt."""
    from engine.check import check_file

    directory = cache_dir()
    if strict or directory is None:
        return check_file(path, strict=strict, allow_outside=allow_outside)
    try:
        content = read_bounded(Path(path), CLAUSE_FILE_BYTES, f"the clause file {path}")
    except (OSError, LimitError):
        return check_file(path, allow_outside=allow_outside)  # reports the problem
    key = _user_key(directory) if _private_directory(directory) else None
    if key is None:
        return check_file(path, content=content, allow_outside=allow_outside)
    entry = directory / f"{_key(path, content, allow_outside)}.entry"
    try:
        data = entry.read_bytes()
    except OSError:
        data = None
    if data is not None:
        program = _from_entry(key, data)
        if program is None:
            _warn(f"ignoring the cache entry {entry.name}: it is damaged or was not written by you; rebuilt")
        elif all(_hash(Path(dep)) == digest for dep, digest in program.digests.items()
                 if Path(dep) != Path(path).resolve()):
            return program
    program = check_file(path, content=content, allow_outside=allow_outside)
    if not _unchanged(program, Path(path)):
        return program  # a file changed while it was checked: correct now, but not stored under either version
    try:
        from engine.compile import fold_constant_rules

        fold_constant_rules(program)  # stored with the contract: cached evaluations need no calendar
        handle_fd, temporary = tempfile.mkstemp(dir=directory, prefix=".entry-")
        try:
            with os.fdopen(handle_fd, "wb") as out:
                out.write(_seal(key, dumps(program)))
            os.replace(temporary, entry)  # readers see the old entry or the whole new one
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except Exception:
        pass  # the cache is an optimisation: a full disk or a read-only directory only costs the next run
    return program


def _from_entry(key: bytes, data: bytes) -> Program | None:
    payload = _unseal(key, data)
    if payload is None:
        return None
    try:
        program = loads(payload)
    except Exception:
        return None
    if not isinstance(program.__dict__.get("rules"), dict) or not isinstance(program.digests, dict):
        return None
    return program


def _unchanged(program: Program, main: Path) -> bool:
    """Whether every file the checker read still has the bytes it read."""
    main_resolved = main.resolve()
    return all(_hash(Path(dep)) == digest for dep, digest in program.digests.items()
               if Path(dep) != main_resolved)
