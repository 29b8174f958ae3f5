"""The workbench's HTTP face: a Starlette application serving the page and a small JSON API.

The handlers are ``async`` and call the engine directly: one lawyer, one
browser, requests served one at a time, and no two of them touch the cache of
checked contracts at once. Requests that change anything must carry the
``X-Clause-Workbench`` header (a page on another site cannot add it without
the preflight this server never grants), and the Host header must name the
loopback address, so a page elsewhere cannot reach the files through DNS tricks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.errors import ClauseError
from engine.testing import TEST_PATTERNS
from workbench import memo as memo_module
from workbench.files import Conflict, OutsideTree, text_hash
from workbench.service import BadRequest, Workbench, error_json

STATIC = Path(__file__).parent / "static"
HEADER = "x-clause-workbench"
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
_CONTRACT_HEADER = re.compile(r'^contract\s+"', re.M)  # a contract, not a library of shared readings


def _syntax() -> dict[str, list[str]]:
    """The words the page colours, from the grammar (as the Pygments lexer reads them), never a second list."""
    import importlib

    # Imported by name: the lexer subclasses Pygments' untyped classes, which mypy's strict run on the workbench
    # would otherwise follow into.
    lexer = importlib.import_module("editor.lexer")
    return {"keywords": [*lexer.KEYWORDS, *lexer.CONSTANTS], "types": list(lexer.TYPES)}


class _Guard:
    """Security headers on every response; the workbench header on every request that changes state."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        if scope["method"] not in ("GET", "HEAD") and HEADER not in headers:
            response = JSONResponse({"error": "requests that change anything come from the workbench page"},
                                    status_code=403)
            await response(scope, receive, send)
            return

        async def send_secured(message: Any) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", PAGE_POLICY.encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"),
                         (b"cache-control", b"no-store")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_secured)


Handler = Callable[[Request], Awaitable[Response]]


def _problems(handler: Handler) -> Handler:
    """A request the workbench cannot act on is answered with the reason, never a traceback."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Conflict as conflict:
            return JSONResponse({"error": str(conflict), "disk_hash": conflict.disk_hash}, status_code=409)
        except (OutsideTree, BadRequest) as problem:
            return JSONResponse({"error": str(problem)}, status_code=400)
        except FileNotFoundError as missing:
            return JSONResponse({"error": f"no such file: {Path(missing.filename or '').name}"}, status_code=404)
        except UnicodeDecodeError:
            return JSONResponse({"error": "the file is not UTF-8 text"}, status_code=400)
        except ClauseError as error:
            return JSONResponse({"error": error.render()}, status_code=400)

    return wrapped


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the request is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request is not a JSON object")
    return data


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise BadRequest(f"`{key}` must be a string")
    return value


def create_app(root: Path, initial: str | None = None) -> Starlette:
    """The workbench over the tree at ``root``; ``initial`` is the clause file opened first."""
    bench = Workbench(root)
    tree = bench.tree

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def workspace(request: Request) -> Response:
        from engine.testing import TestFile, contract_for

        files = tree.files()
        contracts = [f for f in files if f.endswith(".clause")]
        scenarios: dict[str, list[str]] = {c: [] for c in contracts}
        tests: dict[str, list[str]] = {c: [] for c in contracts}
        for name in files:
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = tree.root / name
            is_test = any(Path(name).match(pattern) for pattern in TEST_PATTERNS)
            contract = None
            try:
                if is_test:
                    from engine.testing import load_test_file

                    contract = contract_for(load_test_file(path))
                else:
                    contract = contract_for(TestFile(path, None, []))
            except (ClauseError, OSError, ValueError):
                contract = None
            key = tree.relative(contract) if contract is not None else None
            bucket = tests if is_test else scenarios
            if key in bucket:
                bucket[key].append(name)
        documents = [c for c in contracts if _CONTRACT_HEADER.search((tree.root / c).read_text(encoding="utf-8",
                                                                                             errors="replace"))]
        first = initial if initial in contracts else next(iter(documents or contracts), None)
        return JSONResponse({"root": tree.root.name, "contracts": contracts, "scenarios": scenarios,
                             "tests": tests, "initial": first, "memo_formats": memo_module.formats(),
                             "syntax": _syntax()})

    async def read_file(request: Request) -> Response:
        relative = request.query_params.get("path", "")
        _, text = tree.read(relative)
        return JSONResponse({"path": relative, "text": text, "hash": text_hash(text)})

    async def write_file(request: Request) -> Response:
        data = await _body(request)
        relative = _text(data, "path")
        base = data.get("base_hash")
        new_hash = tree.write(relative, _text(data, "text"), base if isinstance(base, str) else None,
                              bool(data.get("force")))
        return JSONResponse({"path": relative, "hash": new_hash, "saved": True})

    async def check(request: Request) -> Response:
        data = await _body(request)
        return JSONResponse(bench.check(_text(data, "path"), _text(data, "text")))

    async def schema(request: Request) -> Response:
        data = await _body(request)
        return JSONResponse(bench.schema(_text(data, "path"), _text(data, "text")))

    async def scenario_parse(request: Request) -> Response:
        data = await _body(request)
        try:
            return JSONResponse({"ok": True, **bench.parse_scenario(_text(data, "text"), data.get("path"))})
        except ClauseError as error:
            main = tree.root / (data.get("path") or "scenario.yaml")
            return JSONResponse({"ok": False, "diagnostics": error_json(error, tree, main)})

    async def evaluate(request: Request) -> Response:
        data = await _body(request)
        return JSONResponse(bench.evaluate(_text(data, "path"), _text(data, "text"), _text(data, "scenario"),
                                           data.get("scenario_path")))

    async def memo(request: Request) -> Response:
        data = await _body(request)
        fmt = _text(data, "format", "html")
        if fmt not in memo_module.formats():
            raise BadRequest(f"unknown memo format `{fmt}`; use {', '.join(memo_module.formats())}")
        relative = _text(data, "path")
        try:
            outcome = bench.outcome(relative, _text(data, "text"), _text(data, "scenario"), data.get("scenario_path"))
        except ClauseError as error:
            return JSONResponse({"error": error.render()}, status_code=400)
        rendered = memo_module.memo(outcome, fmt, relative)
        if data.get("preview"):
            html = memo_module.preview_html(rendered.content.decode("utf-8"))
            return JSONResponse({"html": html})
        stem = Path(str(data.get("scenario_path") or "memo")).stem or "memo"
        return Response(rendered.content, media_type=rendered.media_type,
                        headers={"content-disposition": f'attachment; filename="{stem}{rendered.extension}"'})

    async def run_tests(request: Request) -> Response:
        data = await _body(request)
        contracts = data.get("contracts") or {}
        if not isinstance(contracts, dict):
            raise BadRequest("`contracts` maps clause files to their text")
        return JSONResponse(bench.run_tests(_text(data, "path"), _text(data, "text"),
                                            {str(k): str(v) for k, v in contracts.items()}))

    async def add_case(request: Request) -> Response:
        data = await _body(request)
        expect = data.get("expect")
        if not isinstance(expect, dict):
            raise BadRequest("`expect` maps results to their expected values")
        base = data.get("base_hash")
        return JSONResponse(bench.add_case(_text(data, "path"), base if isinstance(base, str) else None,
                                           _text(data, "contract"), _text(data, "title"), _text(data, "scenario"),
                                           expect, bool(data.get("force"))))

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(path, _problems(handler), methods=methods)

    routes = [
        Route("/", index),
        route("/api/workspace", workspace, ["GET"]),
        route("/api/file", read_file, ["GET"]),
        route("/api/file", write_file, ["PUT"]),
        route("/api/check", check, ["POST"]),
        route("/api/schema", schema, ["POST"]),
        route("/api/scenario/parse", scenario_parse, ["POST"]),
        route("/api/evaluate", evaluate, ["POST"]),
        route("/api/memo", memo, ["POST"]),
        route("/api/tests/run", run_tests, ["POST"]),
        route("/api/tests/add", add_case, ["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS), Middleware(_Guard)]
    return Starlette(routes=routes, middleware=middleware)


def _check_port(host: str, port: int) -> None:
    """A port already taken is said plainly, before the server starts (uvicorn would exit with a log line)."""
    import socket

    from engine.errors import Diagnostic

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ClauseError([Diagnostic(f"cannot listen on {host}:{port}: {error.strerror or error}",
                                          help="another program uses this port; choose one with --port N")]) from None


def serve(path: str | None, port: int, host: str = "127.0.0.1", open_browser: bool = False) -> int:
    """`clause serve [PATH] [--port N]`: the workbench over PATH (a folder, or a clause file in it)."""
    import uvicorn

    given = Path(path or ".")
    if not given.exists():
        raise FileNotFoundError(given)
    initial = None
    if given.is_file():
        cwd = Path.cwd().resolve()
        root = cwd if given.resolve().is_relative_to(cwd) else given.resolve().parent
        initial = given.resolve().relative_to(root).as_posix()
    else:
        root = given
    _check_port(host, port)
    app = create_app(root, initial)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"clause workbench: serving {root.resolve()} at http://{shown_host}:{port}/ (Ctrl-C stops it)",
          flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(f"http://{shown_host}:{port}/")
    server.run()
    return 0
