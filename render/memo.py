"""`clause memo`: the explanatory memo, rendered with Jinja templates.

The templates live in ``render/templates/{md,html}/``: one layout per format
(``memo.md.j2``, ``memo.html.j2``) that includes a partial per part of the
memo. A firm may restyle them, or put its own partials in a directory named
by ``CLAUSE_MEMO_TEMPLATES``, which is searched first.

Text from a clause file or a scenario is data, never template source: the
templates are rendered in an ``ImmutableSandboxedEnvironment`` with
``StrictUndefined``; HTML is autoescaped and Markdown is escaped by the
environment's ``finalize`` hook (so every value is escaped unless a macro
built it), which keeps ``<script>`` or ``{{ 7*7 }}`` in a title literal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from engine import types as T
from engine.api import Outcome, evaluate, load_contract
from engine.errors import ClauseError, Diagnostic
from engine.outputs import check_destination, write_text
from engine.scenario import load_scenario
from engine.values import Member, Unknown
from render import format as fmt
from render.explain import anchor
from render.viewmodel import Memo, build_memo

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("md", "html")
TEMPLATE_ENV = "CLAUSE_MEMO_TEMPLATES"

# ---------------------------------------------------------------- Markdown escaping

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"(\n\s*)([#>+=-]|\d+[.)])")


def md_escape(text: str) -> str:
    """Text made literal in Markdown: emphasis, links, HTML and table pipes are escaped.

    Line-start markers (headings, lists, quotes) are escaped on the lines a
    multi-line text starts; the templates never put a value where one could
    start a block on its own.
    """
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return text


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _code_spans(text: str, plain: Callable[[str], str], code: Callable[[str], str]) -> Markup:
    """Text whose `code` spans are kept as code and everything else made literal."""
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(plain(text[position:match.start()]))
        out.append(code(match[1]))
        position = match.end()
    out.append(plain(text[position:]))
    return Markup("".join(out))


def md_code_spans(text: str) -> Markup:
    """Markdown for a text of the clause file that writes names as `code`: the spans stay code spans.

    Code spans are literal in Markdown, so their content needs no escaping; the
    rest is escaped as by ``md_escape``, and an unpaired backtick stays literal.
    """
    return _code_spans(str(text), md_escape, lambda inner: f"`{inner}`")


def html_code_spans(text: str) -> Markup:
    """HTML for a text of the clause file that writes names as `code`: each span a <code> element."""
    return _code_spans(str(text), lambda part: str(escape(part)), lambda inner: f"<code>{escape(inner)}</code>")


def _md_finalize(value: object) -> object:
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(md_escape(str(value)))


def _html_finalize(value: object) -> object:
    return "" if value is None else value


# ---------------------------------------------------------------- filters


def _display(home: dt.tzinfo) -> Callable[[object, T.Type | None], str]:
    """A value formatted for people: $1,000,000.00; 19.9%; 5:00 p.m. EST, June 18, 2003; Moody's Caa1."""

    def display(value: object, type_: T.Type | None = None) -> str:
        if isinstance(value, Unknown):
            return "undetermined"
        if value is None:
            return "none"
        base = T.strip_optional(type_) if type_ is not None else None
        if isinstance(value, dt.datetime):
            return fmt.moment(value, home)
        if isinstance(value, Member):
            return fmt.AGENCY_NAMES.get(value.name, value.name)
        if isinstance(value, dict):
            fields = dict(base.fields) if isinstance(base, T.RecordType) else {}
            if set(value) <= set(fmt.AGENCY_NAMES):
                return "; ".join(f"{fmt.AGENCY_NAMES[k]} {display(v, fields.get(k))}" for k, v in value.items())
            return ", ".join(f"{k.replace('_', ' ')} {display(v, fields.get(k))}" for k, v in value.items())
        if isinstance(value, tuple):
            element = base.element if isinstance(base, T.ListType) else None
            return "; ".join(display(v, element) for v in value) if value else "none"
        return fmt.human(value, type_)

    return display


def _generated(value: dt.datetime) -> str:
    zone = value.tzname() or ""
    return f"{fmt.date(value)}, {fmt.clock(value)} {zone}".strip()


def _long_date(value: dt.date | None) -> str:
    return fmt.date(value) if value is not None else ""


def _type_name(value: T.Type) -> str:
    return str(value)


def _quoted(text: str) -> str:
    return f"“{text}”"


def _slug(citation: str) -> str:
    return anchor(citation).removeprefix("clause-")


def environment(fmt_name: str, home: dt.tzinfo, extra_dirs: list[str] | None = None) -> jinja2.Environment:
    """The sandboxed environment for one format; ``extra_dirs`` are searched before the built-in templates."""
    dirs = [*(extra_dirs or []), str(TEMPLATES)]
    loader = jinja2.FileSystemLoader(dirs)
    if fmt_name == "html":
        env = ImmutableSandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=True,
                                            finalize=_html_finalize, trim_blocks=True, lstrip_blocks=True,
                                            keep_trailing_newline=True)
    else:
        env = ImmutableSandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=True,
                                            finalize=_md_finalize, trim_blocks=True, lstrip_blocks=True,
                                            keep_trailing_newline=True)
    env.filters.update({
        "code_spans": html_code_spans if fmt_name == "html" else md_code_spans,
        "human": _display(home),
        "generated": _generated,
        "long_date": _long_date,
        "type_name": _type_name,
        "quoted": _quoted,
        "slug": _slug,
    })
    return env


def render_memo(memo: Memo, fmt_name: str = "md", template_dirs: list[str] | None = None) -> str:
    """The memo as Markdown or a self-contained HTML page."""
    if fmt_name not in FORMATS:
        raise ClauseError([Diagnostic(f"unknown memo format `{fmt_name}`", help="use md or html")])
    if template_dirs is None:
        configured = os.environ.get(TEMPLATE_ENV)
        template_dirs = [d for d in configured.split(os.pathsep) if d] if configured else []
    env = environment(fmt_name, memo.home, template_dirs)
    name = f"{fmt_name}/memo.{fmt_name}.j2"
    try:
        text = env.get_template(name).render(memo=memo)
    except jinja2.TemplateSyntaxError as error:
        where = error.filename or error.name or name
        raise ClauseError([Diagnostic(f"{where}:{error.lineno}: memo template error: {error.message}")]) from None
    except jinja2.TemplateNotFound as error:
        raise ClauseError([Diagnostic(f"memo template not found: {error.name}",
                                      help=f"templates are looked up in {', '.join(template_dirs or [])} "
                                      f"{TEMPLATES}".strip())]) from None
    except (jinja2.TemplateError, jinja2.exceptions.SecurityError) as error:
        raise ClauseError([Diagnostic(f"memo template {name} failed: {error}")]) from None
    return _tidy(text, fmt_name)


def _tidy(text: str, fmt_name: str) -> str:
    """No runs of blank lines, one final newline."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def memo_for(outcome: Outcome, fmt_name: str = "md", generated: dt.datetime | None = None,
             contract_path: str | None = None) -> str:
    """Build and render the memo of an outcome evaluated with ``trace=True``."""
    return render_memo(build_memo(outcome, generated=generated, contract_path=contract_path), fmt_name)


def memo_text(contract: str | Path, scenario: str | Path, fmt_name: str = "md",
              generated: dt.datetime | None = None) -> str:
    """Load, evaluate and render: what `clause memo` writes."""
    program = load_contract(contract)
    loaded = load_scenario(scenario)
    outcome = evaluate(program, loaded, trace=True)
    return memo_for(outcome, fmt_name, generated, contract_path=str(contract))


def infer_format(output: str | None, given: str | None) -> str:
    if given:
        return given
    if output and Path(output).suffix.lower() in (".html", ".htm"):
        return "html"
    return "md"


def _now() -> dt.datetime:
    """When the memo is generated; CLAUSE_MEMO_NOW (ISO 8601) fixes it, e.g. for reproducible output."""
    fixed = os.environ.get("CLAUSE_MEMO_NOW")
    if fixed:
        try:
            moment = dt.datetime.fromisoformat(fixed)
        except ValueError:
            raise ClauseError([Diagnostic(f"CLAUSE_MEMO_NOW is not an ISO 8601 date and time: {fixed!r}")]) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def memo_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`clause memo CONTRACT SCENARIO [-o FILE] [--format md|html] [--force]`."""
    output: str | None = getattr(args, "output", None)
    fmt_name = infer_format(output, getattr(args, "format", None))
    target = Path(output) if output else None
    if target is not None:  # before any work, and never over an input (engine/outputs.py)
        check_destination(target, force=bool(getattr(args, "force", False)), inputs=[args.contract, args.scenario],
                          what="the memo")
    program = load_contract(args.contract)
    scenario = load_scenario(args.scenario)
    outcome = evaluate(program, scenario, trace=True)
    text = memo_for(outcome, fmt_name, _now(), contract_path=str(args.contract))
    if target is None:
        out.write(text)
    else:
        write_text(target, text, what="the memo")  # a temporary file renamed into place: the old memo kept on failure
        err.write(f"wrote {target}\n")
    for problem in outcome.errors:
        err.write(Diagnostic(f"cannot compute `{problem.rule}`: {problem.message}", problem.span)
                  .render(program.sources) + "\n")
    return 1 if outcome.errors else 0


__all__ = ["environment", "html_code_spans", "infer_format", "md_code_spans", "md_escape", "memo_command", "memo_for",
           "memo_text", "render_memo"]
