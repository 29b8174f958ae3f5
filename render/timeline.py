"""A history in the memo: the timeline table, the step chart and the replays in words.

A result is a *history* when it lists records with a ``date`` and one money field
``F`` (the Series B ``conversion_price_history``: the Conversion Price after each
event). Its *timeline* is a define of the contract listing, for the same dates,
records with ``F_before`` and ``F_after``; the memo reads these fields of it when
they are there:

- ``kind`` (an enumeration, shown by its label) and ``name``: the event column;
- ``section`` (text, a citation such as ``6(b)(1)``): the section applied;
- any other number (integer or decimal), such as ``shares_deemed_outstanding_before``:
  a column of its own, after the section;
- ``grant_date``, ``replay_of`` and ``replay`` (enumerations whose labels are the
  words: "the Options granted", "never been issued"): an event the document
  measures by a counterfactual history (Series B §6(b)(3) and (4)), said as
  "had the Options granted on March 3, 2003 never been issued, the Conversion
  Price on March 3, 2005 would have been $1.546".

Everything the renderers show is decided here, as blocks of render/document.py:
a ``Table``, a ``Figure`` (an SVG for HTML and a PNG for DOCX, drawn with
matplotlib on the Agg backend, imported only when a chart is drawn) and
``Paragraph``s.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine import types as T
from engine.api import Outcome
from engine.values import Unknown
from render import format as fmt
from render.document import Block, Figure, Paragraph, Table
from render.explain import P, Phrase, citation_list, count_words, value_frag

Show = Callable[[object, T.Type], str]


@dataclass(frozen=True)
class Timeline:
    result: str  # the history result
    rule: str  # the define listing the timeline
    field: str  # F: the money field the history carries
    words: str  # F in words, as a defined term: "Conversion Price"
    rows: tuple[dict[str, Any], ...]
    fields: dict[str, T.Type]

    @property
    def start(self) -> object:
        return self.rows[0][f"{self.field}_before"]

    @property
    def end(self) -> object:
        return self.rows[-1][f"{self.field}_after"]


def _records(type_: T.Type) -> dict[str, T.Type] | None:
    base = T.strip_optional(type_)
    if isinstance(base, T.ListType) and isinstance(base.element, T.RecordType):
        return dict(base.element.fields)
    return None


def find_timeline(outcome: Outcome, name: str) -> Timeline | None:
    """The timeline of a history result, when the contract has one and the scenario gives events."""
    program = outcome.program
    result = outcome.results.get(name)
    fields = _records(program.rules[name].type)
    if result is None or not result.determined or fields is None or fields.get("date") != T.DATE:
        return None
    money = [f for f, t in fields.items() if T.strip_optional(t) == T.MONEY]
    value = result.value
    if len(money) != 1 or not isinstance(value, tuple) or not value:
        return None
    field = money[0]
    for rule, info in program.rules.items():
        if info.public:
            continue
        shape = _records(info.type)
        if shape is None or shape.get("date") != T.DATE or any(
                T.strip_optional(shape.get(f"{field}_{when}", T.NONE)) != T.MONEY for when in ("before", "after")):
            continue
        done = outcome.evaluation.rule(rule)
        rows = done.value
        if done.error is not None or isinstance(rows, Unknown) or not isinstance(rows, tuple):
            continue
        if [r["date"] for r in rows] != [r["date"] for r in value]:
            continue
        words = " ".join(w[:1].upper() + w[1:] for w in fmt.field_words(field).split())
        return Timeline(name, rule, field, words, rows, shape)
    return None


# ---------------------------------------------------------------- words


def event_words(timeline: Timeline, row: dict[str, Any], show: Show) -> Phrase:
    kind = row.get("kind")
    what = show(kind, timeline.fields["kind"]) if kind is not None else "event"
    what = what[:1].upper() + what[1:]
    name = row.get("name")
    return P(what, f" ({name})" if name else "", " (exempt)" if row.get("exempt") else "")


def _section(row: dict[str, Any]) -> Phrase:
    section = row.get("section")
    return citation_list([section]) if section else P("")


def replay_sentence(timeline: Timeline, row: dict[str, Any], show: Show) -> Phrase | None:
    """'Had the Options granted on March 3, 2003 never been issued, the Conversion Price on ... would have been ...'."""
    replay, of, granted = row.get("replay"), row.get("replay_of"), row.get("grant_date")
    if replay is None or of is None or not isinstance(granted, dt.date):
        return None
    after = show(row[f"{timeline.field}_after"], T.MONEY)
    before = show(row[f"{timeline.field}_before"], T.MONEY)
    name = row.get("name")
    moved = (f"the {timeline.words} stays at {before}" if after == before
             else f"so the {timeline.words} goes from {before} to {after}")
    return P("Had ", show(of, timeline.fields["replay_of"]), " on ", fmt.date(granted),
             f" (the {name})" if name else "", " ", show(replay, timeline.fields["replay"]),
             f", the {timeline.words} on ", fmt.date(row["date"]), " would have been ", value_frag(after),
             _cite(row), "; ", moved, ".")


def _cite(row: dict[str, Any]) -> Phrase:
    section = row.get("section")
    return P(" (", citation_list([section]), ")") if section else P()


def answer_word(timeline: Timeline, show: Show) -> str:
    return f"{show(timeline.start, T.MONEY)} to {show(timeline.end, T.MONEY)}"


def answer_sentence(timeline: Timeline, show: Show, cites: Phrase) -> Phrase:
    rows = timeline.rows
    n = len(rows)
    span = (f"on {fmt.date(rows[0]['date'])}" if rows[0]["date"] == rows[-1]["date"]
            else f"from {fmt.date(rows[0]['date'])} to {fmt.date(rows[-1]['date'])}")
    events = "one event" if n == 1 else f"{count_words(n)} events"
    replays = sum(1 for r in rows if r.get("replay") is not None)
    tail = ""
    if replays:
        tail = (", one of them by replaying the history" if replays == 1
                else f", {count_words(replays)} of them by replaying the history")
    return P(capital(events), f" {span} took the {timeline.words} from ", value_frag(show(timeline.start, T.MONEY)),
             " to ", value_frag(show(timeline.end, T.MONEY)), cites, tail,
             ". The timeline in the Discussion shows each event, the section applied and the price before and after.")


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- blocks


def timeline_blocks(timeline: Timeline, show: Show) -> list[Block]:
    """The discussion of a history: the table, the chart, each replay in words."""
    blocks: list[Block] = [Paragraph(P(
        f"The {timeline.words} is carried from event to event in the order applied, each event by the section "
        f"that applies to it, from ", value_frag(show(timeline.start, T.MONEY)), " before the first:"))]
    price = timeline.words
    numbers = [(f, t) for f, t in timeline.fields.items() if T.strip_optional(t) in (T.INTEGER, T.DECIMAL)]
    rows = tuple((P(fmt.date(r["date"])), event_words(timeline, r, show), _section(r),
                  *(P(show(r[f], t)) for f, t in numbers),
                  P(value_frag(show(r[f"{timeline.field}_before"], T.MONEY))),
                  P(value_frag(show(r[f"{timeline.field}_after"], T.MONEY))))
                 for r in timeline.rows)
    headings = [capital(fmt.field_words(f)) for f, _ in numbers]
    blocks.append(Table(("Date", "Event", "Section applied", *headings, f"{price} before", f"{price} after"), rows,
                        caption=f"Timeline of the {price}",
                        widths=(2.2, 4.2, 1.6, *(2.2 for _ in numbers), 1.8, 1.8)))
    blocks.append(step_chart(timeline, show))
    replays = [s for s in (replay_sentence(timeline, r, show) for r in timeline.rows) if s is not None]
    if replays:
        blocks.append(Paragraph(P(
            "Sections 6(b)(3) and 6(b)(4) measure the new price by another history: the events so far, replayed "
            "with the changed terms from the day of the grant, or without the expired grant. The replays:")))
        blocks.extend(Paragraph(s) for s in replays)
    return blocks


def _number(value: object) -> float:
    """A value for the chart's axis only (the memo states every price exactly)."""
    if isinstance(value, (Decimal, Fraction, int)):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def step_chart(timeline: Timeline, show: Show) -> Figure:
    price = timeline.words
    start, end = show(timeline.start, T.MONEY), show(timeline.end, T.MONEY)
    first, last = timeline.rows[0]["date"], timeline.rows[-1]["date"]
    caption = (f"The {price} over time: {start} before the first event, {end} after the last; each step is one "
               "event, marked with the section applied.")
    alt = (f"Step chart of the {price} from {fmt.date(first)} to {fmt.date(last)}, from {start} to {end}, "
           f"in {len(timeline.rows)} events.")
    svg, png = _draw(timeline, show)
    return Figure(caption=caption, alt=alt, svg=svg, png=png)


def _draw(timeline: Timeline, show: Show) -> tuple[str, bytes]:
    # Imported here: only a memo with a history draws a chart, and matplotlib takes a second to import.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = timeline.rows
    dates = [r["date"] for r in rows]
    span = max((dates[-1] - dates[0]).days, 60)
    margin = dt.timedelta(days=max(span // 12, 20))
    xs = [dates[0] - margin, *dates, dates[-1] + margin]
    ys = [_number(timeline.start), *(_number(r[f"{timeline.field}_after"]) for r in rows)]
    ys.append(ys[-1])
    with plt.rc_context({"svg.hashsalt": "clause-timeline", "svg.fonttype": "none", "font.size": 9,
                         "font.family": "DejaVu Sans"}):
        fig, ax = plt.subplots(figsize=(6.2, 3.0), dpi=100)  # the text column of the printed memo
        ax.step(xs, ys, where="post", color="#1f4e79", linewidth=1.8)
        after = ys[1:-1]
        ax.plot(dates, after, "o", color="#1f4e79", markersize=4)
        top = max(ys)
        for day, y, row in zip(dates, after, rows, strict=True):
            label = (f"§ {row['section']}\n" if row.get("section") else "") + show(row[f"{timeline.field}_after"],
                                                                                  T.MONEY)
            x = mdates.date2num(day)  # type: ignore[no-untyped-call]
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(3, 6), fontsize=7,
                        color="#444444")
        ax.set_ylim(0, top * 1.2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"${v:,.2f}"))
        locator = mdates.AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.set_ylabel(timeline.words)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.tight_layout()
        svg_out = io.StringIO()
        fig.savefig(svg_out, format="svg", metadata={"Date": None, "Creator": None})
        png_out = io.BytesIO()
        fig.savefig(png_out, format="png", dpi=200, metadata={"Software": None})
        plt.close(fig)
    svg = svg_out.getvalue()
    svg = svg[svg.index("<svg"):]  # the XML prolog and doctype cannot stand inside HTML
    return svg, png_out.getvalue()


__all__ = ["Timeline", "answer_sentence", "answer_word", "event_words", "find_timeline", "replay_sentence",
           "timeline_blocks"]
