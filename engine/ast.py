"""The clause language's abstract syntax tree.

Every node is a frozen dataclass whose ``span`` records where it was written;
the span is excluded from equality so two identical rules compare equal
wherever they stand. Declarations also carry the citation of the section
they sit under, so every result knows the clause that created it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from engine.errors import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- types


@dataclass(frozen=True)
class NamedTypeRef:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ListTypeRef:
    element: TypeRef
    span: Span = _span()


@dataclass(frozen=True)
class OptionalTypeRef:
    inner: TypeRef
    span: Span = _span()


TypeRef = Union[NamedTypeRef, ListTypeRef, OptionalTypeRef]


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Literal:
    """A literal; ``kind`` is its type name, ``value`` the parsed Python value."""

    kind: str
    value: object
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Field:
    target: Expr
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span = _span()
    function_span: Span = _span()


@dataclass(frozen=True)
class Aggregate:
    """``sum(o.shares for o in options where o.exercise_price < price)``; ``function``
    "list" is the list comprehension ``[o for o in options where ...]``."""

    function: str
    body: Expr
    variable: str
    source: Expr
    where: Expr | None
    span: Span = _span()
    function_span: Span = _span()


@dataclass(frozen=True)
class Condition:
    label: str | None
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Conditions:
    """``all of (...)`` / ``any of (...)``: a labelled list of conditions."""

    quantifier: str
    items: tuple[Condition, ...]
    span: Span = _span()


@dataclass(frozen=True)
class RecordLiteral:
    fields: tuple[tuple[str, Expr], ...]
    span: Span = _span()


@dataclass(frozen=True)
class ListLiteral:
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class If:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()
    # Set by the checker on the `if as_of >= DATE` an amendment becomes: (DATE, "Side Letter No. 1 § 1").
    amendment: tuple[object, str] | None = None


@dataclass(frozen=True)
class Unless:
    """``rule unless exception under "6(e)"``: an exception citing its section."""

    rule: Expr
    exception: Expr
    citation: str | None
    span: Span = _span()
    citation_span: Span = _span()


@dataclass(frozen=True)
class Otherwise:
    """``value otherwise fallback``: the fallback when the value is none."""

    value: Expr
    fallback: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /) and the logical connectives (and, or)."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()
    op_span: Span = _span()


@dataclass(frozen=True)
class Compare:
    op: str
    left: Expr
    right: Expr
    span: Span = _span()
    op_span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Negate:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class IsNone:
    operand: Expr
    negated: bool
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    """``events[0]``, ``events[-1]``: an item of a list, counted from the end when negative."""

    target: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True)
class RecordUpdate:
    """``state with {price: p}``: the record with the named fields replaced."""

    target: Expr
    fields: tuple[tuple[str, Expr], ...]
    span: Span = _span()


@dataclass(frozen=True)
class Sort:
    """``sort(events by .date, .sequence)``: a stable sort; ties keep their given order."""

    source: Expr
    keys: tuple[tuple[str, ...], ...]  # field paths: .date is ("date",)
    span: Span = _span()


@dataclass(frozen=True)
class InEffect:
    """``in_effect(prices, on: d, by: .date)``: the entry in effect on ``d``, the one with
    the latest key on or before it (the last given, on a tie), or none."""

    source: Expr
    on: Expr
    key: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Fold:
    """``scan(s = initial for e in events: next)`` (every state, one per item) and
    ``fold(...)`` (the last state, or the initial one when there are no items)."""

    kind: str  # "scan" or "fold"
    state: str
    initial: Expr
    variable: str
    source: Expr
    body: Expr
    span: Span = _span()


Expr = Union[
    Literal, Name, Field, Call, Aggregate, Conditions, RecordLiteral, ListLiteral,
    If, Unless, Otherwise, Binary, Compare, Not, Negate, IsNone,
    Index, RecordUpdate, Sort, InEffect, Fold,
]


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Party:
    name: str
    role: str


@dataclass(frozen=True)
class Header:
    title: str
    dated: object | None  # datetime.date
    parties: tuple[Party, ...]
    governing_law: str | None
    source: str | None
    home_zone: str | None
    span: Span = _span()
    source_span: Span = _span()
    zone_span: Span = _span()
    amends: str | None = None  # for an amendment: the instrument it amends
    headline: tuple[str, ...] = ()  # the results a memo leads with
    headline_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    not_encoded: tuple[str, ...] = ()  # documents and provisions the encoding leaves out


@dataclass(frozen=True)
class Reading:
    """An interpretation note: the reading taken where the text is open."""

    name: str
    text: str
    span: Span = _span()
    # The other reading, in words, and the declarations that replace those of the same
    # name when the contract is evaluated on it (a memo says where the answer differs).
    alternative: str | None = None
    alternative_decls: tuple[Declaration, ...] = ()


@dataclass(frozen=True)
class ReadingAlternative:
    """`reading NAME alternative { ... }`: more replacements for a reading declared elsewhere."""

    name: str
    declarations: tuple[Declaration, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Uses:
    names: tuple[str, ...]
    spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


NO_USES = Uses(())


@dataclass(frozen=True)
class ZoneDecl:
    name: str
    fixed_offset: str | None
    tz_name: str | None
    uses: Uses
    span: Span = _span()
    spec_span: Span = _span()


@dataclass(frozen=True)
class CalendarDecl:
    name: str
    financial_code: str
    uses: Uses
    span: Span = _span()
    code_span: Span = _span()


@dataclass(frozen=True)
class EnumDecl:
    name: str
    members: tuple[str, ...]
    ordered: bool  # a scale, listed best first
    span: Span = _span()
    labels: tuple[tuple[str, str], ...] = ()  # (member, its words for people)


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: TypeRef
    span: Span = _span()
    default: Expr | None = None  # a literal or an enum member: the value when a scenario leaves it out


@dataclass(frozen=True)
class Requirement:
    """A condition every record of a type must meet when a scenario gives one."""

    message: str
    condition: Expr
    span: Span = _span()


@dataclass(frozen=True)
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = _span()
    requirements: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class FactDecl:
    name: str
    type: TypeRef
    default: Expr | None
    description: str | None
    section: str | None
    span: Span = _span()
    assumption: str | None = None  # why the default is assumed: not a term of the document


@dataclass(frozen=True)
class Define:
    """A named intermediate value: traced and explained, not a public result."""

    name: str
    type: TypeRef | None
    expr: Expr
    uses: Uses
    section: str | None
    span: Span = _span()
    circular: bool = False  # refers to itself through other rules: solved as a fixed point
    pinpoint: str | None = None  # the words of the section that decide the rule
    pinpoint_span: Span = _span()


@dataclass(frozen=True)
class Explain:
    """A summary sentence for memos, used when ``condition`` holds (always, if None)."""

    condition: Expr | None
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class ResultDecl:
    name: str
    type: TypeRef
    description: str | None
    expr: Expr
    uses: Uses
    section: str | None
    span: Span = _span()
    explains: tuple[Explain, ...] = ()
    circular: bool = False  # refers to itself through other rules: solved as a fixed point
    pinpoint: str | None = None
    pinpoint_span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeRef
    span: Span = _span()


@dataclass(frozen=True)
class FunctionDecl:
    name: str
    params: tuple[Param, ...]
    type: TypeRef
    expr: Expr
    uses: Uses
    section: str | None
    span: Span = _span()


@dataclass(frozen=True)
class ConventionDecl:
    """``convention month_end = end_of_month uses reading``: how the contract reads an open
    point of calendar arithmetic, stated once for every rule that meets it."""

    kind: str
    rule: str
    uses: Uses
    span: Span = _span()
    rule_span: Span = _span()


@dataclass(frozen=True)
class Amendment:
    """``amend NAME effective DATE = EXPR``: the provision defining NAME (a fact's default, a
    define or a result) is superseded from DATE by EXPR, under ``section`` of ``document``."""

    name: str
    effective: object  # datetime.date
    expr: Expr
    uses: Uses
    section: str | None
    span: Span = _span()
    document: str | None = None  # the amending document's title (set by the checker)


Declaration = Union[
    Reading, ReadingAlternative, ZoneDecl, CalendarDecl, EnumDecl, RecordDecl, FactDecl, Define, ResultDecl,
    FunctionDecl, ConventionDecl, Amendment,
]


@dataclass(frozen=True)
class Quote:
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Section:
    citation: str
    title: str | None
    quotes: tuple[Quote, ...]
    declarations: tuple[Declaration, ...]
    span: Span = _span()
    # An entry of a definitions section (`term "Company Capitalization"`): ``term`` is the defined
    # term, ``within`` the section's own citation, and ``citation`` cites the term in it.
    term: str | None = None
    within: str | None = None


# Parts of a document cited by name, without "§": Exhibit A, Schedule I(d), Annex 2, the Preamble,
# and a defined term ('"Company Capitalization" in § 2').
NAMED_PARTS = re.compile(r'^(?:"|(?:Exhibit|Schedule|Annex|Appendix|Preamble|Recitals?|Article|Attachment)\b)', re.I)


def is_section(citation: str) -> bool:
    """A numbered section (cited with §), as opposed to a named part such as an Exhibit."""
    return not NAMED_PARTS.match(citation)


def term_citation(term: str, within: str) -> str:
    """How an entry of a definitions section is cited: '"Company Capitalization" in § 2'."""
    return f'"{term}" in ' + (f"§ {within}" if is_section(within) else within)


@dataclass(frozen=True)
class Include:
    path: str
    span: Span = _span()


@dataclass(frozen=True)
class ClauseFile:
    """One parsed file. ``includes`` are resolved by the parser, not the AST."""

    path: str
    header: Header | None
    includes: tuple[Include, ...]
    declarations: tuple[Declaration, ...]
    sections: tuple[Section, ...]
