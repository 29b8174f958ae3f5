"""`clause memo`: the explanatory memo, in Markdown, HTML or DOCX.

One ``Document`` (render/document.py) is built once from the evaluation
(render/build.py) and rendered three ways: Markdown and HTML through Jinja
templates (``render/templates/{md,html}/memo.*.j2``), DOCX through
python-docx (render/docx.py). The templates lay the document out; every word
and every choice is already in the document, and the formatting of a phrase
is done by filters here.

Text from a clause file or a scenario is data, never template source: the
templates run in an ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``;
HTML is autoescaped and Markdown is escaped by the environment's ``finalize``
hook (so every value is escaped unless a filter built it), which keeps
``<script>`` or ``{{ 7*7 }}`` in a title literal. A firm may put its own
templates in a directory named by ``CLAUSE_MEMO_TEMPLATES``, searched first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from engine.api import Outcome, evaluate, load_contract
from engine.errors import ClauseError, Diagnostic
from engine.outputs import atomic_output, check_destination
from engine.scenario import load_scenario
from render import format as fmt
from render.build import MemoOptions, build_document
from render.document import Code, Document
from render.explain import Phrase, Point

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("md", "html", "docx")
TEMPLATE_ENV = "CLAUSE_MEMO_TEMPLATES"

# ---------------------------------------------------------------- Markdown escaping

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"(\n\s*)([#>+=~-]|\d+[.)])")  # ~~~ would open a code block


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
_LINE_BREAK = re.compile(r"\s*\n\s*")


def one_line(value: object) -> object:
    """A value for a Markdown table cell: a line break would end the row (and the table)."""
    if isinstance(value, Markup):
        return Markup(_LINE_BREAK.sub(" ", str(value)))
    return value if not isinstance(value, str) else _LINE_BREAK.sub(" ", value)


def _code_spans(text: str, plain: Callable[[str], str], code: Callable[[str], str]) -> Markup:
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(plain(text[position:match.start()]))
        out.append(code(match[1]))
        position = match.end()
    out.append(plain(text[position:]))
    return Markup("".join(out))


def md_code_spans(text: str) -> Markup:
    """Markdown for a text of the clause file that writes names as `code`: the spans stay code spans."""
    return _code_spans(str(text), md_escape, lambda inner: f"`{inner}`")


def html_code_spans(text: str) -> Markup:
    """HTML for a text of the clause file that writes names as `code`: each span a <code> element."""
    return _code_spans(str(text), lambda part: str(escape(part)), lambda inner: f"<code>{escape(inner)}</code>")


# ---------------------------------------------------------------- phrases, per format


def md_phrase(phrase: Phrase) -> Markup:
    out: list[str] = []
    for frag in phrase:
        if frag.kind == "strong":
            out.append(f"**{md_escape(frag.text)}**")
        elif frag.kind == "code":
            out.append(f"`{frag.text}`")
        else:
            out.append(str(md_code_spans(frag.text)))
    return Markup("".join(out))


def html_phrase(phrase: Phrase) -> Markup:
    out: list[str] = []
    for frag in phrase:
        if frag.kind == "cite":
            out.append(f'<a class="cite" href="#{escape(frag.anchor)}">{escape(frag.text)}</a>')
        elif frag.kind == "value":
            out.append(f'<span class="value">{escape(frag.text)}</span>')
        elif frag.kind == "strong":
            out.append(f"<strong>{escape(frag.text)}</strong>")
        elif frag.kind == "code":
            out.append(f"<code>{escape(frag.text)}</code>")
        else:
            out.append(str(html_code_spans(frag.text)))
    return Markup("".join(out).replace("§ ", "§\u00a0"))


def _md_finalize(value: object) -> object:
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(md_escape(str(value)))


def _html_finalize(value: object) -> object:
    return "" if value is None else value


def _kind(value: object) -> str:
    """The block's kind, for the templates' dispatch: paragraph, quote, bullets, table, figure, tree, section."""
    return type(value).__name__.lower()


def _html_code(code: Code) -> Markup:
    """Code coloured by its Pygments lexer (clause's is registered by this package's entry point)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(code.language)
    except ClassNotFound:
        return Markup(f'<pre class="code">{escape(code.text)}</pre>')
    return Markup(highlight(code.text, lexer, HtmlFormatter(cssclass="code", wrapcode=True)))


def _md_code(code: Code) -> Markup:
    """A fenced block, its fence longer than any run of backticks in the code."""
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", code.text))])
    return Markup(f"{fence}{code.language}\n{code.text}\n{fence}")


def _percents(widths: tuple[float, ...]) -> list[str]:
    """A table's relative column widths as CSS percentages: (6.5, 3.0) → ['68.4%', '31.6%']."""
    total = sum(widths) or 1.0
    return [f"{w / total * 100:.1f}%" for w in widths]


def _quoted(text: str) -> str:
    return f"“{text}”"


def _css_string(text: str) -> Markup:
    """A CSS string literal (for the running header), safe inside a <style> element."""
    cleaned = re.sub(r"[\\\"<>\n\r]", " ", str(text))
    return Markup(f'"{cleaned}"')


def _generated(value: dt.datetime) -> str:
    zone = value.tzname() or ""
    return f"{fmt.date(value)}, {fmt.clock(value)} {zone}".strip()


def _svg(figure: object) -> Markup:
    """A figure's SVG, drawn by clause's own code (render/), never text from a clause file or scenario."""
    svg = getattr(figure, "svg", None)
    return Markup(svg) if svg else Markup("")


def _status_word(point: Point) -> str:
    return (point.status or "").capitalize()


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Templates compiled once, kept in the contract cache's directory (private to the user; Jinja
    checks each entry against its template's source), so a memo does not compile them every run."""
    from engine import cache

    directory = cache.cache_dir()
    return None if directory is None else _bytecode_cache_in(str(directory))


@functools.cache
def _bytecode_cache_in(directory: str) -> jinja2.BytecodeCache | None:
    from engine import cache

    if not cache._private_directory(Path(directory)):
        return None
    target = Path(directory) / "templates"
    try:
        target.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(target))


def environment(fmt_name: str, extra_dirs: list[str] | None = None) -> jinja2.Environment:
    """The sandboxed environment for one format; ``extra_dirs`` are searched before the built-in templates."""
    dirs = [*(extra_dirs or []), str(TEMPLATES)]
    loader = jinja2.FileSystemLoader(dirs)
    finalize = _html_finalize if fmt_name == "html" else _md_finalize
    env = ImmutableSandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=True,
                                        finalize=finalize, trim_blocks=True, lstrip_blocks=True,
                                        keep_trailing_newline=True, bytecode_cache=_bytecode_cache())
    env.filters.update({
        "phrase": html_phrase if fmt_name == "html" else md_phrase,
        "code_spans": html_code_spans if fmt_name == "html" else md_code_spans,
        "kind": _kind,
        "quoted": _quoted,
        "css_string": _css_string,
        "generated": _generated,
        "status": _status_word,
        "svg": _svg,
        "code": _html_code if fmt_name == "html" else _md_code,
        "percents": _percents,
        "one_line": one_line,
    })
    return env


def render_document(document: Document, fmt_name: str = "md", template_dirs: list[str] | None = None) -> str:
    """The memo as Markdown or a self-contained HTML page."""
    if fmt_name not in ("md", "html"):
        raise ClauseError([Diagnostic(f"unknown text memo format `{fmt_name}`", help="use md or html")])
    if template_dirs is None:
        configured = os.environ.get(TEMPLATE_ENV)
        template_dirs = [d for d in configured.split(os.pathsep) if d] if configured else []
    env = environment(fmt_name, template_dirs)
    name = f"{fmt_name}/memo.{fmt_name}.j2"
    memo_sections = [s for s in document.sections if not s.appendix]
    appendices = [s for s in document.sections if s.appendix]
    try:
        text = env.get_template(name).render(doc=document, sections=memo_sections, appendices=appendices)
    except jinja2.TemplateSyntaxError as error:
        where = error.filename or error.name or name
        raise ClauseError([Diagnostic(f"{where}:{error.lineno}: memo template error: {error.message}")]) from None
    except jinja2.TemplateNotFound as error:
        raise ClauseError([Diagnostic(f"memo template not found: {error.name}",
                                      help=f"templates are looked up in {', '.join(template_dirs or [])} "
                                      f"{TEMPLATES}".strip())]) from None
    except (jinja2.TemplateError, jinja2.exceptions.SecurityError) as error:
        raise ClauseError([Diagnostic(f"memo template {name} failed: {error}")]) from None
    return _tidy(text)


def _tidy(text: str) -> str:
    """No runs of blank lines, one final newline."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def memo_document(outcome: Outcome, generated: dt.datetime | None = None, contract_path: str | None = None,
                  options: MemoOptions | None = None) -> Document:
    return build_document(outcome, generated=generated, contract_path=contract_path, options=options)


def memo_for(outcome: Outcome, fmt_name: str = "md", generated: dt.datetime | None = None,
             contract_path: str | None = None, options: MemoOptions | None = None) -> str:
    """Build and render the memo (Markdown or HTML) of an outcome evaluated with ``trace=True``."""
    return render_document(memo_document(outcome, generated, contract_path, options), fmt_name)


def memo_bytes(outcome: Outcome, fmt_name: str, generated: dt.datetime | None = None,
               contract_path: str | None = None, options: MemoOptions | None = None) -> bytes:
    """The memo in any format, as the bytes of the file."""
    document = memo_document(outcome, generated, contract_path, options)
    if fmt_name == "docx":
        from render.docx import render_docx

        return render_docx(document)
    return render_document(document, fmt_name).encode("utf-8")


def memo_text(contract: str | Path, scenario: str | Path, fmt_name: str = "md",
              generated: dt.datetime | None = None, options: MemoOptions | None = None) -> str:
    """Load, evaluate and render: what `clause memo` writes (Markdown or HTML)."""
    program = load_contract(contract)
    loaded = load_scenario(scenario)
    outcome = evaluate(program, loaded, trace=True, full_lists=bool(options and options.full_lists))
    return memo_for(outcome, fmt_name, generated, contract_path=str(contract), options=options)


def infer_format(output: str | None, given: str | None) -> str:
    if given:
        return given
    suffix = Path(output).suffix.lower() if output else ""
    if suffix in (".html", ".htm"):
        return "html"
    if suffix == ".docx":
        return "docx"
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
    """`clause memo CONTRACT SCENARIO [-o FILE] [--format md|html|docx] [--force]`."""
    output: str | None = getattr(args, "output", None)
    fmt_name = infer_format(output, getattr(args, "format", None))
    target = Path(output) if output else None
    if target is not None:  # before any work, and never over an input (engine/outputs.py)
        check_destination(target, force=bool(getattr(args, "force", False)), inputs=[args.contract, args.scenario],
                          what="the memo")
    elif fmt_name == "docx":
        raise ClauseError([Diagnostic("a DOCX memo is written to a file", help="add -o memo.docx")])
    options = MemoOptions(to=getattr(args, "to", None), sender=getattr(args, "sender", None),
                          re=getattr(args, "re", None), date=getattr(args, "date", None),
                          legend=getattr(args, "legend", None), full_lists=bool(getattr(args, "full_lists", False)))
    program = load_contract(args.contract)
    scenario = load_scenario(args.scenario)
    outcome = evaluate(program, scenario, trace=True, full_lists=options.full_lists)
    data = memo_bytes(outcome, fmt_name, _now(), contract_path=str(args.contract), options=options)
    if target is None:
        out.write(data.decode("utf-8"))
    else:
        with atomic_output(target, binary=True, what="the memo") as handle:  # the old memo kept on failure
            handle.write(data)
        err.write(f"wrote {target}\n")
    for problem in outcome.errors:
        err.write(Diagnostic(f"cannot compute `{problem.rule}`: {problem.message}", problem.span)
                  .render(program.sources) + "\n")
    return 1 if outcome.errors else 0


__all__ = ["environment", "html_code_spans", "infer_format", "md_code_spans",
           "md_escape", "memo_bytes", "memo_command", "memo_document", "memo_for", "memo_text", "render_document"]
