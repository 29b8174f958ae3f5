"""Quote verification: every clause text must appear in its source document.

Whitespace and line breaks are normalised (filings are hard-wrapped and
justified with runs of spaces); ``[...]`` elides words between fragments,
which must appear in order. A misquote is reported with the closest passage
of the source and the first word that differs.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

ELISION = "[...]"
_SPACE = re.compile(r"\s+")
# Running page footers such as "-2-" interrupt sentences in the filings.
_PAGE_FOOTER = re.compile(r"^\s*-\d+-\s*$|^<PAGE>\s*$", re.M)


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class SourceDocument:
    path: str
    text: str  # normalised
    words: tuple[str, ...]
    digest: str = ""  # SHA-256 of the bytes read (the cache keys on it)

    @staticmethod
    def load(path: Path) -> SourceDocument:
        return _load(str(path.resolve()), path.stat().st_mtime_ns)


@functools.cache
def _load(path: str, _mtime: int) -> SourceDocument:
    from engine.limits import SOURCE_DOCUMENT_BYTES, read_bounded

    data = read_bounded(Path(path), SOURCE_DOCUMENT_BYTES, "the source document")
    raw = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    text = normalise(_PAGE_FOOTER.sub(" ", raw))
    return SourceDocument(path, text, tuple(text.split(" ")), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class QuoteProblem:
    message: str
    help: str | None
    extra: tuple[str, ...]


def verify_quote(quote: str, document: SourceDocument) -> QuoteProblem | None:
    fragments = [normalise(f) for f in quote.split(ELISION)]
    position = 0
    for fragment in fragments:
        if not fragment:
            continue
        found = document.text.find(fragment, position)
        if found < 0:
            elsewhere = document.text.find(fragment)
            if elsewhere >= 0:
                return QuoteProblem("quoted fragments are out of order with the source document",
                                    f"the fragment \"{_clip(fragment)}\" comes earlier in the source", ())
            return _misquote(fragment, document)
        position = found + len(fragment)
    return None


def _misquote(fragment: str, document: SourceDocument) -> QuoteProblem:
    words = fragment.split(" ")
    matcher = difflib.SequenceMatcher(None, document.words, words, autojunk=False)
    best = max(matcher.get_matching_blocks(), key=lambda block: block.size)
    if best.size == 0:
        return QuoteProblem("quoted text does not appear in the source document",
                            "copy the passage from the source document word for word", ())
    start = max(best.a - best.b, 0)
    passage = document.words[start : start + len(words)]
    # The first word where the quote and the closest passage part ways.
    pairs = enumerate(zip(words, passage, strict=False))
    differ = next((i for i, (q, s) in pairs if q != s), min(len(words), len(passage)))
    quoted_word = words[differ] if differ < len(words) else "(end of quote)"
    source_word = passage[differ] if differ < len(passage) else "(end of passage)"
    context = " ".join(passage[max(differ - 8, 0) : differ + 12])
    return QuoteProblem(
        f"quoted text does not match the source document: it says `{quoted_word}` "
        f"where the source says `{source_word}`",
        "quote the source word for word (whitespace and line breaks may differ)",
        (f"  closest passage of {Path(document.path).name}:", f"    … {context} …"),
    )


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
