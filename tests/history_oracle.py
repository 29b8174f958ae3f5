"""An independent, straightforward rendering of Section 6 as a history, for tests only.

It follows docs/history.md with Python's exact ``Fraction`` and the document's one
rounding (the §6(b) price "calculated to the nearest tenth of a cent", half up).
It shares no code with the engine: the tests compare the clause contract's results
with it, row for row.

An event is a mapping with the vocabulary's fields (`date`, `kind`, `name`,
`refers_to`, `shares`, `consideration`, `additional_consideration`,
`average_current_market_price`, `exemption`); money may be given as text,
Decimal, int or Fraction, dates as ISO text or ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

MEASUREMENT_DATE = dt.date(2002, 7, 5)
STATED_VALUE = Fraction(1000)
ISSUES = ("common_issue", "option_grant", "convertible_issue")
CAPITAL_CHANGES = ("subdivision", "stock_dividend", "combination")


def to_fraction(value: object) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, Decimal)):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(Decimal(value.replace("$", "").replace(",", "")))
    raise TypeError(f"not a number: {value!r}")


def round_tenth_of_a_cent(value: Fraction) -> Fraction:
    """Half up to $0.001 (the prices here are positive)."""
    thousandths = value * 1000
    whole = thousandths.numerator // thousandths.denominator
    if thousandths - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 1000)


@dataclass(frozen=True)
class Event:
    date: dt.date
    kind: str
    name: str | None
    refers_to: str | None
    shares: Fraction
    consideration: Fraction
    additional_consideration: Fraction
    average_current_market_price: Fraction | None
    exemption: str


def event(data: Mapping[str, Any]) -> Event:
    when = data["date"]
    market = data.get("average_current_market_price")
    return Event(
        date=when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when)),
        kind=str(data["kind"]),
        name=data.get("name"),
        refers_to=data.get("refers_to"),
        shares=to_fraction(data["shares"]),
        consideration=to_fraction(data.get("consideration", 0)),
        additional_consideration=to_fraction(data.get("additional_consideration", 0)),
        average_current_market_price=None if market is None else to_fraction(market),
        exemption=str(data.get("exemption", "none")),
    )


@dataclass(frozen=True)
class Grant:
    """An Option or Convertible Security granted or issued in the history."""

    name: str | None
    convertible: bool
    shares: Fraction
    exercise_price: Fraction  # additional consideration per share (reading 8)
    deemed: bool  # deemed outstanding under §6(b)(1)/(2) (reading 1)


@dataclass(frozen=True)
class State:
    price: Fraction
    common: Fraction
    convertible: Fraction  # the given §6(a)(y) shares, scaled by §6(c)
    options: tuple[tuple[Fraction, Fraction], ...]  # the given Options: (shares, exercise price)
    grants: tuple[Grant, ...]

    def deemed_outstanding(self) -> Fraction:
        """§6(a): (x) + (y) + (z), each deemed Option counted once."""
        total = self.common + self.convertible
        total += sum((s for s, p in self.options if p < self.price), Fraction(0))
        for g in self.grants:
            if g.convertible or g.deemed or g.exercise_price < self.price:
                total += g.shares
        return total


def _issue(state: State, e: Event) -> State:
    price_per_share = (e.consideration + e.additional_consideration) / e.shares
    market = e.average_current_market_price
    assert market is not None, "an issue needs its Average Current Market Price"
    triggered = (e.date >= MEASUREMENT_DATE and price_per_share < market
                 and price_per_share < state.price and e.exemption == "none")
    price = state.price
    if triggered:
        n = state.deemed_outstanding()
        price = round_tenth_of_a_cent((n * state.price + e.consideration + e.additional_consideration)
                                      / (n + e.shares))
    if e.kind == "common_issue":
        return replace(state, price=price, common=state.common + e.shares)
    grant = Grant(e.name, e.kind == "convertible_issue", e.shares, e.additional_consideration / e.shares, triggered)
    return replace(state, price=price, grants=(*state.grants, grant))


def _capital_change(state: State, e: Event) -> State:
    ratio = e.shares / state.common
    return State(
        price=state.price / ratio,
        common=e.shares,
        convertible=state.convertible * ratio,
        options=tuple((s * ratio, p / ratio) for s, p in state.options),
        grants=tuple(replace(g, shares=g.shares * ratio, exercise_price=g.exercise_price / ratio)
                     for g in state.grants),
    )


def _outstanding(state: State, name: str | None) -> bool:
    return name is not None and any(g.name == name for g in state.grants)


class History:
    """The states after each event of one history, with memoised replays."""

    def __init__(self, start: State):
        self.start = start
        self.after = lru_cache(maxsize=None)(self._after)

    def _after(self, applied: tuple[Event, ...]) -> State:
        """The state after the events `applied`, in that order."""
        if not applied:
            return self.start
        before, e = applied[:-1], applied[-1]
        state = self.after(before)
        if e.kind in ISSUES:
            return _issue(state, e)
        if e.kind in CAPITAL_CHANGES:
            return _capital_change(state, e)
        if not _outstanding(state, e.refers_to):
            return state  # nothing outstanding by that name: nothing to readjust
        if e.kind == "terms_change":
            # §6(b)(3): as if the grant had provided for the new terms when made.
            changed = tuple(
                replace(x, shares=e.shares, additional_consideration=e.additional_consideration)
                if x.kind in ISSUES and x.kind != "common_issue" and x.name == e.refers_to else x
                for x in before
                if not (x.kind == "terms_change" and x.refers_to == e.refers_to))
            return self.after(changed)
        if e.kind == "expiration":
            # §6(b)(4): as if never issued, the price the replay reaches (reading 2).
            return self.after(tuple(x for x in before if x.name != e.refers_to and x.refers_to != e.refers_to))
        raise ValueError(f"unknown kind {e.kind!r}")


def ordered(events: Iterable[Mapping[str, Any]]) -> list[Event]:
    """By date, then in the order given (a stable sort)."""
    return sorted((event(e) for e in events), key=lambda e: e.date)


def conversion_price_history(
    events: Iterable[Mapping[str, Any]],
    *,
    conversion_price: object = "3.41",
    common_shares_outstanding: object,
    convertible_shares: object = 0,
    options: Sequence[Mapping[str, Any]] = (),
) -> list[tuple[dt.date, str, str | None, Fraction]]:
    """(date, kind, name, Conversion Price just after) for each event, in the order applied."""
    start = State(
        price=to_fraction(conversion_price),
        common=to_fraction(common_shares_outstanding),
        convertible=to_fraction(convertible_shares),
        options=tuple((to_fraction(o["shares"]), to_fraction(o["exercise_price"])) for o in options),
        grants=(),
    )
    history = History(start)
    applied = ordered(events)
    rows = []
    for index, e in enumerate(applied):
        state = history.after(tuple(applied[: index + 1]))
        rows.append((e.date, e.kind, e.name if e.name is not None else e.refers_to, state.price))
    return rows


def price_as_of(rows: Sequence[tuple[dt.date, str, str | None, Fraction]], start_price: object,
                as_of: dt.date) -> Fraction:
    price = to_fraction(start_price)
    for when, _, _, after in rows:
        if when <= as_of:
            price = after
    return price
