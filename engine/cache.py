"""A cache of checked contracts, so a second run skips parsing and checking.

An entry is a pickle of the checked ``Program``, filed under a hash of
everything the check depends on:

- the engine itself: the source of every ``engine/*.py`` module and the
  grammar (so a new grammar or engine version never reads an old entry), the
  Python version and the versions of lark and holidays;
- the clause file as given (its path as written and the working directory,
  which appear in every source position) and its content.

An entry also lists every other file the check read: included clause files
and the source documents their quotes were verified against, each with the
hash of its content; an entry whose files changed is ignored and replaced.
So an entry is never stale. Writes are atomic (a temporary file renamed into
place), and any failure to read or write the cache falls back to parsing and
checking, silently.

The directory is ``$CLAUSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/clause``, else
``~/.cache/clause``; ``CLAUSE_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

from engine.check import Program

FORMAT = 1
_ENGINE = Path(__file__).resolve().parent
_GRAMMAR = _ENGINE.parent / "grammar" / "clause.lark"
_SOURCE = re.compile(r'^\s*source\s+"([^"]+)"', re.M)
_CACHES = ("_scenario_model", "_compiled_shapes", "_compiled_unsupported", "_fast_facts", "_batch_rows")


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


def _dependencies(program: Program, main: Path) -> list[tuple[str, str | None]]:
    """Every file the check read besides the main one, with the hash of its content."""
    files: list[Path] = []
    for shown, text in program.texts.items():
        path = Path(shown)
        files.append(path)
        for source in _SOURCE.findall(text):
            files.append(path.parent / source)
    resolved_main = main.resolve()
    deps = []
    for path in dict.fromkeys(p.resolve() for p in files):
        if path != resolved_main:
            deps.append((str(path), _hash(path)))
    return deps


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


def dumps(program: Program) -> bytes:
    state = {k: v for k, v in program.__dict__.items() if k not in _CACHES and k != "node_types"}
    types = program.node_types
    pairs = [(node, types[id(node)]) for node in _nodes(program) if id(node) in types]
    return pickle.dumps((state, pairs), protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Program:
    state, pairs = pickle.loads(data)
    program = Program.__new__(Program)
    program.__dict__.update(state)
    program.node_types = {id(node): type_ for node, type_ in pairs}
    return program


def _key(path: str | Path, content: bytes) -> str:
    digest = hashlib.sha256(engine_fingerprint().encode())
    digest.update(f"\0{path}\0{os.getcwd()}\0".encode())
    digest.update(content)
    return digest.hexdigest()


def load_program(path: str | Path, strict: bool = False) -> Program:
    """The checked contract, from the cache when nothing it depends on changed."""
    from engine.check import check_file

    directory = cache_dir()
    if strict or directory is None:
        return check_file(path, strict=strict)
    try:
        content = Path(path).read_bytes()
    except OSError:
        return check_file(path)  # reports the problem
    entry = directory / f"{_key(path, content)}.pickle"
    try:
        with entry.open("rb") as handle:
            deps, data = pickle.load(handle)
        if all(_hash(Path(dep)) == digest for dep, digest in deps):
            return loads(data)
    except Exception:
        pass
    program = check_file(path)
    try:
        from engine.compile import fold_constant_rules

        fold_constant_rules(program)  # stored with the contract: cached evaluations need no calendar
        payload = pickle.dumps((_dependencies(program, Path(path)), dumps(program)),
                               protocol=pickle.HIGHEST_PROTOCOL)
        directory.mkdir(parents=True, exist_ok=True)
        handle_fd, temporary = tempfile.mkstemp(dir=directory, prefix=".entry-")
        with os.fdopen(handle_fd, "wb") as out:
            out.write(payload)
        os.replace(temporary, entry)
    except Exception:
        pass
    return program

