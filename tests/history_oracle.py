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

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
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
        shares=to_fraction(data.get("shares", 0)),
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


# ---------------------------------------------------------------- random histories

KINDS = ("common_issue", "option_grant", "convertible_issue", "terms_change", "expiration",
         "subdivision", "stock_dividend", "combination")
WEIGHTS = (30, 14, 10, 10, 10, 5, 5, 5)
EXEMPTIONS = ("employee_plan", "existing_rights", "series_b", "public_offering", "acquisition", "debt_exchange",
              "notes", "notes_conversion")


def _money(rng: Any, low: float, high: float, places: int = 3) -> Decimal:
    step = 10**places
    return Decimal(rng.randint(int(low * step), int(high * step))) / step


def random_history(rng: Any, max_events: int = 20) -> dict[str, Any]:
    """The facts of one random history (JSON-ready: money as text, dates ISO), events in
    an order that is not the order applied (same-day events keep their relative order)."""
    common = rng.randint(10, 1000) * 1_000_000
    price = Decimal("3.41") if rng.random() < 0.5 else _money(rng, 0.5, 6.0)
    facts: dict[str, Any] = {
        "conversion_price": str(price),
        "common_shares_outstanding": common,
        "convertible_shares": rng.choice([0, 0, rng.randint(1, 300) * 100_000]),
        "options": [{"shares": rng.randint(1, 500) * 100_000, "exercise_price": str(_money(rng, 0.5, 6.0, 2))}
                    for _ in range(rng.choice([0, 0, 1, 2, 3]))],
    }
    days = sorted(dt.date(2002, 6, 1) + dt.timedelta(days=rng.randint(0, 2400))
                  for _ in range(rng.randint(0, max_events)))
    if len(days) > 2 and rng.random() < 0.3:  # some events on the same day
        days[rng.randrange(1, len(days))] = days[0]
        days.sort()
    events: list[dict[str, Any]] = []
    grants: list[tuple[str, dt.date]] = []
    for number, day in enumerate(days, start=1):
        kind = rng.choices(KINDS, WEIGHTS)[0]
        if kind in ("terms_change", "expiration") and not grants:
            kind = "common_issue"
        e: dict[str, Any] = {"date": day.isoformat(), "kind": kind}
        if kind in ISSUES:
            shares = rng.randint(1, 300) * 100_000
            per_share = _money(rng, 0.2, 6.0)
            total = (per_share * shares).quantize(Decimal("0.01"))
            paid_later = (total * Decimal(rng.choice([0, 0, 25, 50, 100])) / 100).quantize(Decimal("0.01"))
            if kind == "common_issue" and rng.random() < 0.8:
                paid_later = Decimal(0)
            e.update(shares=shares, consideration=str(total - paid_later),
                     average_current_market_price=str(_money(rng, 0.3, 6.0)))
            if paid_later:
                e["additional_consideration"] = str(paid_later)
            if rng.random() < 0.15:
                e["exemption"] = rng.choice(EXEMPTIONS)
            if kind != "common_issue":
                e["name"] = f"grant {number}"
                grants.append((e["name"], day))
            elif rng.random() < 0.2:
                e["name"] = f"issue {number}"
        elif kind in ("terms_change", "expiration"):
            name, _ = rng.choice(grants)
            e["refers_to"] = name
            if kind == "terms_change":
                e["shares"] = rng.randint(1, 300) * 100_000
                e["additional_consideration"] = str(_money(rng, 0, 6.0, 2) * e["shares"])
        else:
            factor = {"subdivision": rng.choice([2, 3, Decimal("1.5")]),
                      "stock_dividend": rng.choice([Decimal("1.05"), Decimal("1.1"), Decimal("1.25")]),
                      "combination": rng.choice([Decimal("0.5"), Decimal("0.25"), Decimal("0.1")])}[kind]
            common = int(common * factor)
            e["shares"] = common
        if kind == "common_issue":
            common += e["shares"]
        events.append(e)
    place = {day: rng.random() for day in days}
    facts["events"] = sorted(events, key=lambda e: place[dt.date.fromisoformat(e["date"])])
    if rng.random() < 0.7:
        facts["as_of"] = (dt.date(2002, 6, 1) + dt.timedelta(days=rng.randint(0, 2500))).isoformat()
    return facts


def expected_results(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The four history results for one random history's facts."""
    rows = conversion_price_history(
        facts["events"], conversion_price=facts["conversion_price"],
        common_shares_outstanding=facts["common_shares_outstanding"],
        convertible_shares=facts.get("convertible_shares", 0), options=facts.get("options", ()))
    after = rows[-1][3] if rows else to_fraction(facts["conversion_price"])
    as_of = facts.get("as_of")
    return {
        "conversion_price_history": rows,
        "conversion_price_after_events": after,
        "conversion_price_as_of": None if as_of is None
        else price_as_of(rows, facts["conversion_price"], dt.date.fromisoformat(as_of)),
        "conversion_rate_after_events": STATED_VALUE / after,
    }


def agrees(written: str | None, exact: Fraction | None) -> bool:
    """A result as `clause run` writes it against the exact value: equal, or (a quotient that
    does not terminate, written to a stated number of digits) within 10^-20 of it."""
    if written is None or exact is None:
        return written is None and exact is None
    value = Fraction(Decimal(written))
    return value == exact or abs(value - exact) <= Fraction(1, 10**20) * max(1, abs(exact))


def compare_row(facts: Mapping[str, Any], results: Mapping[str, Any]) -> list[str]:
    """What differs between the oracle and one row of `clause run --format jsonl` (its `results`)."""
    expected = expected_results(facts)
    problems = []
    history = results["conversion_price_history"]["value"]
    rows = expected["conversion_price_history"]
    if history is None or len(history) != len(rows):
        return [f"history: {history!r} vs {len(rows)} events"]
    for index, (got, (when, kind, name, price)) in enumerate(zip(history, rows, strict=True)):
        if (got["date"], got["kind"], got["name"]) != (when.isoformat(), kind, name) \
                or not agrees(got["conversion_price"], price):
            problems.append(f"event {index + 1}: {got} vs {when} {kind} {name} {float(price)}")
    for name in ("conversion_price_after_events", "conversion_price_as_of", "conversion_rate_after_events"):
        if not agrees(results[name]["value"], expected[name]):
            problems.append(f"{name}: {results[name]['value']} vs {expected[name]}")
    return problems


COLUMNS = ("conversion_price", "common_shares_outstanding", "convertible_shares", "options", "as_of", "events")


def write_table(histories: list[dict[str, Any]], path: Path, jsonl: bool) -> None:
    """One history per row: CSV with the lists as JSON in cells, or JSON Lines."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        if jsonl:
            for number, facts in enumerate(histories):
                handle.write(json.dumps({"scenario": f"history {number}", **facts}) + "\n")
            return
        writer = csv.writer(handle)
        writer.writerow(("scenario", *COLUMNS))
        for number, facts in enumerate(histories):
            cells = [json.dumps(facts[c]) if c in ("options", "events") else facts.get(c, "") for c in COLUMNS]
            writer.writerow((f"history {number}", *cells))
