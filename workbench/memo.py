"""The memo, reached through one function so the workbench follows the memo's renderer as it changes.

``memo(outcome, fmt)`` is the only place the workbench calls ``render``'s memo.
HTML shown in the page is previewed in a sandboxed iframe; ``preview_html``
adds a Content-Security-Policy that forbids scripts, requests and forms, on top
of the iframe's sandbox, so the memo (already rendered with Jinja's sandbox and
autoescaping) cannot run or fetch anything even if a template were to try.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from engine.api import Outcome

MEDIA_TYPES = {
    "md": ("text/markdown; charset=utf-8", ".md"),
    "html": ("text/html; charset=utf-8", ".html"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
}
PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                  "form-action 'none'; base-uri 'none'")


@dataclass(frozen=True)
class RenderedMemo:
    content: bytes
    media_type: str
    extension: str


def formats() -> list[str]:
    """The formats the memo renderer offers for download (DOCX once the renderer writes it)."""
    import render.memo

    offered = getattr(render.memo, "FORMATS", ("md", "html"))
    return [f for f in offered if f in MEDIA_TYPES]


def memo(outcome: Outcome, fmt: str, contract_path: str) -> RenderedMemo:
    """The memo of an outcome evaluated with ``trace=True``, in one of ``formats()``."""
    import render.memo

    if fmt not in formats():
        raise ValueError(f"unknown memo format {fmt!r}; use one of {', '.join(formats())}")
    media_type, extension = MEDIA_TYPES[fmt]
    generated = dt.datetime.now(dt.UTC).replace(microsecond=0)
    as_bytes = getattr(render.memo, "memo_bytes", None)  # the document-model renderer, with DOCX
    if as_bytes is not None:
        content = as_bytes(outcome, fmt, generated, contract_path=contract_path)
    else:
        content = render.memo.memo_for(outcome, fmt, generated, contract_path=contract_path).encode("utf-8")
    return RenderedMemo(bytes(content), media_type, extension)


_HEAD = re.compile(r"<head[^>]*>", re.I)


def preview_html(html: str) -> str:
    """The HTML memo with a policy that lets it style itself and nothing else."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{PREVIEW_POLICY}">'
    match = _HEAD.search(html)
    if match is None:
        return f"<!doctype html><html><head>{meta}</head><body>{html}</body></html>"
    return html[:match.end()] + meta + html[match.end():]
