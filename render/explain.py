"""Explanations built from the evaluation trace, for any contract.

Nothing here knows a contract: every sentence is derived from the trace (the
``Step`` tree of each rule), the declarations' descriptions and the labels of
``all of``/``any of`` conditions. A ``Point`` is one statement of the
reasoning (a condition met or not, a comparison with the distance to its
threshold, a computation written out with its numbers); its text is a
``Phrase``, a sequence of fragments (plain text, values, citations) that the
templates render as Markdown or HTML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from engine import ast
from engine import types as T
from engine.api import Outcome
from engine.calendars import Calendar
from engine.check import IN_FORCE, Program
from engine.evaluate import Solution, Step
from engine.limits import TRACE_LIST_ITEMS
from engine.values import Member, Unknown
from render import format as fmt

# ---------------------------------------------------------------- phrases


@dataclass(frozen=True)
class Frag:
    """One fragment of a sentence: ``text``, a ``value`` or a ``cite`` (a section)."""

    kind: str  # "text", "value", "cite", "strong" (an answer), "code" (an identifier, appendix only)
    text: str
    anchor: str = ""
    ref: str = ""  # for a citation: the section as the clause file cites it


class Phrase(tuple[Frag, ...]):
    """A sentence made of fragments; ``str()`` gives it as plain text."""

    def __new__(cls, parts: Iterable[Frag | str | Phrase] = ()) -> Phrase:
        flat: list[Frag] = []
        for part in parts:
            if isinstance(part, Phrase):
                flat.extend(part)
            elif isinstance(part, Frag):
                flat.append(part)
            elif part:
                flat.append(Frag("text", part))
        merged: list[Frag] = []
        for frag in flat:
            if merged and frag.kind == "text" and merged[-1].text.endswith("…") and frag.text.startswith("."):
                # a sentence that ends with a figure cut short ("= 1.3333…") takes no second full stop
                frag = Frag("text", frag.text[1:])
                if not frag.text:
                    continue
            if merged and frag.kind == "text" and merged[-1].kind == "text":
                merged[-1] = Frag("text", merged[-1].text + frag.text)
            else:
                merged.append(frag)
        return super().__new__(cls, merged)

    @property
    def plain(self) -> str:
        return "".join(f.text for f in self)

    def __str__(self) -> str:
        return self.plain

    def __add__(self, other: object) -> Phrase:  # type: ignore[override]
        return Phrase([self, other])  # type: ignore[list-item]


def full_stop(text: str) -> str:
    """``text`` ended as a sentence: a figure cut short ("1.3333…") takes no second full stop."""
    return text if text.endswith("…") else text + "."


def P(*parts: Frag | str | Phrase) -> Phrase:
    return Phrase(parts)


def value_frag(text: str) -> Frag:
    return Frag("value", text)


def anchor(citation: str) -> str:
    """The HTML id of a cited section: 'Schedule I, footnote 1' → 'clause-schedule-i-footnote-1'."""
    slug = re.sub(r"[^a-z0-9]+", "-", citation.lower()).strip("-")
    return f"clause-{slug or 'section'}"


is_section = ast.is_section  # a numbered section (cited with §), not a named part or a defined term


def citation_text(citation: str) -> str:
    """House style: § 1.2(a); Exhibit A and Schedule I(d) without §."""
    return f"§ {citation}" if is_section(citation) else citation


def cited_provision(citation: str) -> str:
    """The provision a citation links to: an amended one, "2, as amended by Side Letter No. 1 § 1",
    links to § 2, whose words Appendix B quotes (the amendment's own section is quoted only when it
    is part of the document the memo is about)."""
    original, amended, _ = citation.partition(", as amended by ")
    return original if amended else citation


def cite(citation: str, bare: bool = False) -> Frag:
    """A citation; ``bare`` leaves off the § (it is written once before several: §§ 6(b) and 6(c))."""
    return Frag("cite", citation if bare else citation_text(citation), anchor(cited_provision(citation)), citation)


def citation_list(citations: Iterable[str]) -> Phrase:
    """§ 6(b); §§ 6(b), 6(c) and 6(e); § 1.2(a) and Exhibit A."""
    items = list(dict.fromkeys(c for c in citations if c))
    sections = [c for c in items if is_section(c)]
    named = [c for c in items if not is_section(c)]
    groups: list[Phrase] = []
    if len(sections) == 1:
        groups.append(P(cite(sections[0])))
    elif sections:
        parts: list[Frag | str] = ["§§ "]
        for index, citation in enumerate(sections):
            if index:
                parts.append(" and " if index == len(sections) - 1 else ", ")
            parts.append(cite(citation, bare=True))
        groups.append(Phrase(parts))
    groups.extend(P(cite(c)) for c in named)
    out: list[Phrase | str] = []
    for index, group in enumerate(groups):
        if index:
            out.append(" and " if index == len(groups) - 1 else ", ")
        out.append(group)
    return Phrase(out)


def cites_phrase(citations: Iterable[str]) -> Phrase:
    """ (§ 1.2(a) and Exhibit A) — empty when there is nothing to cite."""
    inner = citation_list(citations)
    return P(" (", inner, ")") if inner else Phrase()


_SECTION_WORD = re.compile(r"\(Sections? ([0-9][0-9A-Za-z().,\s]*?)\)")


def house_style(text: str) -> str:
    """A parenthetical "(Section 2.1)" in a description, cited as the memo cites: "(§ 2.1)"; straight
    quotation marks typeset (“Business Day”). Apostrophes stay straight, as in the document's own text."""
    return curly(_SECTION_WORD.sub(lambda m: f"(§ {m[1]})" if "," not in m[1] and " and " not in m[1]
                                   else f"(§§ {m[1]})", text))


def curly(text: str) -> str:
    """Typographic quotes in the memo's own words (never in the document's, which are quoted as written)."""
    text = re.sub(r'(^|[\s(\[—–-])"', "\\1“", text)
    return text.replace('"', "”")


def join_words(items: list[str], conjunction: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def join_phrases(items: list[Phrase], separator: str = "; ", last: str = "; and ") -> Phrase:
    parts: list[Phrase | str] = []
    for index, item in enumerate(items):
        if index:
            parts.append(last if index == len(items) - 1 else separator)
        parts.append(item)
    return Phrase(parts)


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def count_words(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


# ---------------------------------------------------------------- words


_DETERMINERS = {"from", "to", "on", "in", "at", "by", "for", "with",
                "the", "a", "an", "this", "that", "these", "those", "each", "every", "its", "his", "her",
                "their", "any", "no", "all", "one", "whether", "how", "what", "which", "who"}


def humanize(name: str) -> str:
    """conversion_permitted → conversion permitted."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").strip()
    words = re.sub(r"\bpct\b", "percentage", words)
    return words


def title(name: str) -> str:
    """conversion_permitted → Conversion permitted; series_b_shares → Series B shares."""
    words = [w.upper() if len(w) == 1 and w != "a" else w for w in humanize(name).split(" ")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def noun(description: str | None, name: str) -> str:
    """A description used as a noun phrase: 'the principal amount of the Note surrendered'."""
    text = (description or humanize(name)).strip().rstrip(".")
    text = re.split(r"; |: ", text, maxsplit=1)[0]
    first = text.split(" ", 1)[0].lower() if text else ""
    if first in _DETERMINERS or text[:1] in "$0123456789\"'“":
        return text
    if first in ("when", "where"):
        return ("the time " if first == "when" else "the place ") + text
    return "the " + text


_AUX = re.compile(r"\b(is not|are not|does not|do not|did not|will not|may not|cannot|can not|shall not|was not|"
                  r"were not|has not|have not|is|are|does|do|did|will|may|can|shall|was|were|has been|have been|"
                  r"must)\b")
_NEGATED = {"is not": "is", "are not": "are", "does not": "does", "do not": "do", "did not": "did",
            "will not": "will", "may not": "may", "cannot": "can", "can not": "can", "shall not": "shall",
            "was not": "was", "were not": "were", "has not": "has", "have not": "have"}


_OBJECT = {"the", "a", "an", "any", "its", "his", "her", "their", "each", "every", "all", "that", "this"}
_SUBJECT_END = re.compile(r"^(?:[A-Z][\w-]*|[a-z]+[^s\W]|[a-z]*(?:ss|us))$")  # a name, or a singular noun


def _negate_verb(text: str) -> str | None:
    """The plain negative of a statement whose verb takes no auxiliary: 'the law prohibits the Offer'
    → 'the law does not prohibit the Offer'; a subject 'A or B' → 'neither A nor B prohibits …'.
    Only a verb in -s between a singular subject and an object ('the', 'any', …) is recognised;
    anything else returns None."""
    words = text.split(" ")
    for index in range(1, min(len(words) - 1, 9)):
        verb, before, after = words[index], words[index - 1], words[index + 1]
        if not (re.fullmatch(r"[a-z]+s", verb) and not verb.endswith(("ss", "us", "is")) and after in _OBJECT
                and _SUBJECT_END.match(before) and before not in _DETERMINERS and before not in ("or", "and")):
            continue
        subject, rest = " ".join(words[:index]), " ".join(words[index + 1:])
        either = subject.split(" or ")
        if len(either) == 2 and " and " not in subject:
            return f"neither {either[0]} nor {either[1]} {verb} {rest}"
        if " or " in subject or " and " in subject:
            return None
        if verb == "has":
            stem = "have"
        elif verb.endswith("ies"):
            stem = verb[:-3] + "y"
        elif verb.endswith(("ches", "shes", "xes", "zes", "oes")):
            stem = verb[:-2]
        else:
            stem = verb[:-1]
        return f"{subject} does not {stem} {rest}"
    return None


def negate(statement: str) -> str:
    """The negation of a simple statement: 'the owner is an institutional investor' → '... is not ...'.

    Only the first auxiliary within the first few words is touched; anything
    else reads 'it is not the case that ...', which is always correct.
    """
    text = statement.strip()
    match = _AUX.search(text)
    if match is None or len(text[: match.start()].split()) > 8 or \
            re.search(r"\b(who|which|that|if|when|unless)\b", text[: match.start()]):
        return _negate_verb(text) or f"it is not the case that {text}"
    word = match.group(1)
    if word in _NEGATED:
        replacement = _NEGATED[word]
    elif word == "can":
        replacement = "cannot"
    elif word in ("has been", "have been"):
        replacement = word.replace(" been", " not been")
    elif word == "must":
        replacement = "need not"
    else:
        replacement = f"{word} not"
    return text[: match.start()] + replacement + text[match.end():]


def capitalize(phrase: Phrase) -> Phrase:
    if not phrase:
        return phrase
    first = phrase[0]
    if first.kind != "text":
        return phrase
    return Phrase([Frag("text", first.text[:1].upper() + first.text[1:]), *phrase[1:]])


# ---------------------------------------------------------------- points


@dataclass
class QuoteRef:
    """Words of the document, quoted from a section's text."""

    citation: str
    text: str

    @property
    def anchor(self) -> str:
        return anchor(self.citation)


@dataclass
class Point:
    """One statement of the reasoning, with the statements it rests on."""

    text: Phrase
    status: str | None = None  # "met", "not met", "undetermined", "applies", "does not apply" or None
    tone: str = "info"  # "yes", "no", "unknown", "info": how the templates colour the status
    children: list[Point] = field(default_factory=list)
    intro: str | None = None  # leads the children: "All of the following must be met:"
    quote: QuoteRef | None = None
    error: str | None = None
    detail: Point | None = None  # the one statement that decides a labelled condition
    label: str | None = None  # the condition's label, as written in the clause file
    role: str = ""  # "branch": the branch an `if` took
    claim: Phrase | None = None  # for the condition of an `if`: what holds, as a clause
    subject: Phrase | None = None  # for a comparison: what is compared ...
    predicate: Phrase | None = None  # ... and what is said of it

    @property
    def reason(self) -> Point:
        return self.detail if self.detail is not None else self

    def walk(self) -> Iterator[Point]:
        yield self
        for child in self.children:
            yield from child.walk()


def _status(value: object, kind: str = "condition") -> tuple[str, str]:
    if isinstance(value, Unknown):
        return "undetermined", "unknown"
    if kind == "exception":
        return ("applies", "no") if value is True else ("does not apply", "yes")
    if value is True:
        return "met", "yes"
    if value is False:
        return "not met", "no"
    return "", "info"


# ---------------------------------------------------------------- the explainer

_ARITH = {"+": "+", "-": "−", "*": "×", "/": "÷", "^": "^"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
_ROUNDING_WORDS = {"half_up": "to the nearest {unit}, halves rounded up", "half_even": "to the nearest {unit}, "
                   "halves rounded to even", "up": "up to the next {unit}", "down": "down to a {unit}"}
_REQUIRE = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least", "=": "equal to",
            "!=": "different from"}
_REQUIRE_TIME = {"<": "before", "<=": "on or before", ">": "after", ">=": "on or after", "=": "at",
                 "!=": "other than"}
_REQUIRE_SCALE = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above", "=": "equal to",
                  "!=": "other than"}
_ROUND_WORDS = re.compile(r"\b(round\w*|nearest|fraction\w*)\b", re.I)


class Explainer:
    """Turns one outcome's trace into points, for any contract."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        self.program: Program = outcome.program
        self.traces = outcome.evaluation.traces
        self.given = outcome.facts
        self.home = self.program.home_zone
        self.cited: list[str] = []
        self._expanded: set[str] = set()
        self.full_lists = False  # every item of a long list, not the first and last (memo --full-lists)

    # ------------------------------------------------------------ values
    def type_of(self, node: ast.Expr) -> T.Type:
        if id(node) in self.years[1]:
            return fmt.YEAR
        return self.program.node_types.get(id(node), T.ANY)

    def type_of_name(self, name: str) -> T.Type:
        """The type a fact or rule is shown as: its own, or a year (see :attr:`years`)."""
        if name in self.years[0]:
            return fmt.YEAR
        info = self.program.rules.get(name) or self.program.facts.get(name)
        return info.type if info is not None else T.ANY

    @functools.cached_property
    def years(self) -> tuple[frozenset[str], frozenset[int]]:
        """The integers that are calendar years, shown as a year is written (2026, not 2,026): a year
        is not a quantity. A year is what `year()` gives; an integer fact or rule the document
        defines as a year or passes to `date()` as its year; a year plus or minus a number (the year
        after); either branch of an `if` that gives a year; a number compared with a year (the 2007
        of `redemption_year = 2007`) and a four-digit number added to or taken from one (the 2020 of
        `year(closing_date) - 2020`). The difference of two years is a count of years, not a
        year. Returns the names and the ids of the expression nodes that are years."""
        decls: dict[str, ast.Expr] = {name: info.decl.expr for name, info in self.program.rules.items()}
        for name, fact in self.program.facts.items():
            if fact.decl.default is not None:
                decls[name] = fact.decl.default
        names: set[str] = set()
        nodes: set[int] = set()
        integers = {name for name, rule in self.program.rules.items() if T.strip_optional(rule.type) == T.INTEGER}
        integers |= {name for name, fact in self.program.facts.items() if T.strip_optional(fact.type) == T.INTEGER}

        def is_year(node: object) -> bool:
            if isinstance(node, ast.Call):
                return node.function == "year" and len(node.args) == 1
            if isinstance(node, ast.Name):
                return node.name in names
            if isinstance(node, ast.Binary) and node.op in ("+", "-"):
                left, right = is_year(node.left), is_year(node.right)
                left, right = left or (right and written_year(node.left)), right or (left and written_year(node.right))
                return left != right and (left or node.op == "+")
            if isinstance(node, ast.If):
                return is_year(node.then) or is_year(node.otherwise)
            return False

        def written_year(node: object) -> bool:  # 2020 in `year(closing_date) - 2020`, not the 1 of `+ 1`
            return isinstance(node, ast.Literal) and type(node.value) is int and 1000 <= node.value <= 9999

        def mark(node: object) -> None:
            if isinstance(node, (tuple, list)):
                for item in node:
                    mark(item)
                return
            if not dataclasses.is_dataclass(node) or isinstance(node, type):
                return
            if isinstance(node, ast.Call) and node.function == "date" and node.args \
                    and isinstance(node.args[0], ast.Name) and node.args[0].name in integers:
                names.add(node.args[0].name)
            if isinstance(node, ast.Compare) and is_year(node.left) != is_year(node.right):
                nodes.add(id(node.right if is_year(node.left) else node.left))
            if is_year(node):
                nodes.add(id(node))
            if isinstance(node, ast.Binary) and node.op in ("+", "-"):
                for side, other in ((node.left, node.right), (node.right, node.left)):
                    if written_year(side) and is_year(other):
                        nodes.add(id(side))
            for item in dataclasses.fields(node):
                if item.name != "span":
                    mark(getattr(node, item.name))

        while True:  # until no more names are found to be years
            before = len(names)
            for name, expr in decls.items():
                if name in integers and is_year(expr):
                    names.add(name)
                mark(expr)
            if len(names) == before:
                return frozenset(names), frozenset(nodes)

    def show(self, value: object, type_: T.Type | None = None) -> str:
        if isinstance(value, Unknown):
            return "undetermined"
        if isinstance(value, dt.datetime):
            text = fmt.moment(value, self.home)
            local = fmt.home_clock(value, self.home)
            if local is not None:
                text += f" ({fmt.clock(local)} {local.tzname()} in {self.place})"
            return text
        if isinstance(value, Calendar):
            return humanize(value.name)
        if isinstance(value, dt.tzinfo):
            return str(value)
        return fmt.prose(value, type_, self.home, self.program.enum_labels)

    @property
    def place(self) -> str:
        return fmt.place_name(self.program.header.home_zone)

    def val(self, value: object, type_: T.Type | None = None) -> Frag:
        return value_frag(self.show(value, type_))

    def fact_source(self, name: str) -> str:
        if name in self.given:
            return "given"
        info = self.program.facts[name]
        return "by default" if info.decl.default is not None else "not given"

    def note_cites(self, citations: Iterable[str]) -> Phrase:
        items = [c for c in citations if c]
        for citation in items:
            if citation not in self.cited:
                self.cited.append(citation)
        return cites_phrase(items)

    def rule_cites(self, name: str) -> list[str]:
        section = self.program.rules[name].section
        if name in self.program.amendments:
            return self.program.cites_in_force(name, self.outcome.evaluation.fact(IN_FORCE))
        return list(self.program.cites.get(name) or ([section] if section else []))

    def describe_rule(self, name: str) -> str | None:
        return _described(getattr(self.program.rules[name].decl, "description", None))

    # ------------------------------------------------------------ terms
    def term(self, step: Step) -> tuple[str | None, list[str]]:
        """What a step stands for, as a noun phrase (or None for a bare value), and the sections it cites."""
        node = step.node
        if isinstance(node, ast.Name):
            if node.name in self.program.facts:
                info = self.program.facts[node.name]
                return noun(_described(info.decl.description), node.name), []
            if node.name in self.program.rules:
                return noun(self.describe_rule(node.name), node.name), self.rule_cites(node.name)
            return None, []
        if isinstance(node, ast.Field):
            inner, cites = self.term(step.children[0]) if step.children else (None, [])
            if not inner:
                return None, cites
            if node.name in fmt.AGENCY_NAMES:  # a field named for a party reads as a qualifier, not "the S&P of"
                return f"{inner} ({fmt.AGENCY_NAMES[node.name]})", cites
            return f"the {humanize(node.name)} of {_strip_the(inner)}", cites
        if isinstance(node, ast.Call):
            args = step.children
            if node.function == "local" and args:
                inner, cites = self.term(args[0])
                return (f"{inner} on {humanize(_name_of(args[1].node) or 'local')} clocks" if inner else None), cites
            if node.function == "date_of" and args:
                inner, cites = self.term(args[0])
                return (f"the date of {_strip_the(inner)}" if inner else None), cites
            if node.function in self.program.functions:
                function = self.program.functions[node.function]
                section = function.decl.section
                return f"the {humanize(node.function)}", [section] if section else []
        return None, []

    def subject(self, step: Step) -> Phrase:
        """'the principal amount left unconverted, $2,500,' or just '$1,000'."""
        words, cites = self.term(step)
        shown = self.val(step.value, self.type_of(step.node))
        if words is None:
            return P(shown)
        return P(words, self.note_cites(cites), ", ", shown, ",")

    def obj(self, step: Step) -> Phrase:
        """Like subject, at the end of a clause: 'the start of the period, 5:00 p.m. EST, June 18, 2003'."""
        words, cites = self.term(step)
        shown = self.val(step.value, self.type_of(step.node))
        if words is None:
            return P(shown)
        return P(words, self.note_cites(cites), ", ", shown)

    # ------------------------------------------------------------ rules
    def rule_point(self, name: str, label: str | None = None, depth: int = 0, status_kind: str = "condition",
                   show_value: bool = True) -> Point:
        """A rule (result or define): its value, its citation, and how it was reached."""
        trace = self.traces.get(name)
        info = self.program.rules[name]
        value = trace.value if trace is not None else None
        cites = self.note_cites(self.rule_cites(name))
        if info.type == T.BOOLEAN and label is not None:
            text = P(label, cites)
        elif info.type == T.BOOLEAN:
            words = self.describe_rule(name) or humanize(name)
            text = P(words, cites)
        else:
            heading = capitalize(P(noun(self.describe_rule(name), name)))
            text = P(heading, cites, ": ", self.val(value, self.type_of_name(name))) if show_value \
                else P(heading, cites)
        status, tone = _status(value, status_kind) if info.type == T.BOOLEAN else ("", "info")
        point = Point(text, status or None, tone, label=label)
        result = self.outcome.results.get(name)
        if result is not None and result.error is not None:
            point.error = result.error.message
        if trace is None or trace.step is None or depth > 8:
            if isinstance(value, Unknown):
                point.children.append(self.missing_point(value))
            return point
        if name in self._expanded:
            point.intro = "(explained above)"
            return point
        self._expanded.add(name)
        intro, children = self.explain(trace.step, depth + 1, rule=name)
        point.intro = intro
        if trace.solution is not None:
            point.children.append(self.solution_point(name, trace.solution, info.type))
        point.children.extend(children)
        self.attach_rounding(point, name)
        return point

    def solution_point(self, name: str, solution: Solution, type_: T.Type) -> Point:
        """A circular rule: why its one value is exact (its definition is linear in itself)."""
        term = noun(self.describe_rule(name), name)
        tried = "; ".join(f"at {self.show(x, type_)} it gives {self.show(v, type_)}" for x, v in solution.points)
        return Point(P(capitalize(P(term)), " is defined in terms of itself. Its definition is linear in it (",
                       tried, "), so exactly one value equals its definition: ",
                       self.val(solution.value, type_), "; the steps below are the definition at that value"),
                     None, "info")

    def not_stated(self, step: Step) -> Point:
        """A step waiting for facts: name what is missing, in words."""
        missing = sorted(step.value.missing) if isinstance(step.value, Unknown) else []
        words = [self.fact_words(n) for n in missing]
        return Point(P(capitalize(P(join_words(words))), " — not stated (", ", ".join(missing), ")"),
                     "undetermined", "unknown")

    def fact_words(self, name: str) -> str:
        """A fact as the object of 'states': 'whether the owner is an Affiliate', 'the notice time'."""
        info = self.program.facts.get(name)
        if info is None:
            return name
        if T.strip_optional(info.type) == T.BOOLEAN:
            return "whether " + (_described(info.decl.description) or humanize(name))
        return noun(_described(info.decl.description), name)

    def missing_point(self, value: Unknown) -> Point:
        names = sorted(value.missing)
        words = [f"{self.fact_words(n)} ({n})" for n in names]
        return Point(P("cannot be decided until the scenario states ", join_words(words)), "undetermined",
                     "unknown")

    def attach_rounding(self, point: Point, name: str) -> None:
        """Quote the words of the document that require a rounding the rule applies."""
        trace = self.traces.get(name)
        if trace is None or trace.step is None:
            return
        if not any(isinstance(s.node, ast.Call) and s.node.function == "round" for s in _steps(trace.step)):
            return
        quote = self.rounding_words(name)
        if quote is not None and point.quote is None:
            point.quote = quote

    def rounding_words(self, name: str) -> QuoteRef | None:
        for citation in self.rule_cites(name):
            section = self.program.section(citation)
            if section is None:
                continue
            for quote in section.quotes:
                for sentence in _sentences(quote.text):
                    if _ROUND_WORDS.search(sentence):
                        self.note_cites([citation])
                        return QuoteRef(citation, sentence)
        return None

    # ------------------------------------------------------------ steps
    def explain(self, step: Step, depth: int, rule: str | None = None) -> tuple[str | None, list[Point]]:
        """The points that explain a step's value: (an introduction, the points)."""
        node = step.node
        if depth > 40:
            return None, [Point(P(self.code(node), ": ", self.val(step.value, self.type_of(node))))]
        if isinstance(node, ast.Conditions):
            return self.conditions(step, depth)
        if isinstance(node, ast.Binary) and node.op in ("and", "or"):
            return self.connective(step, depth)
        if isinstance(node, ast.Unless):
            return self.unless_parts(step, depth)
        if isinstance(node, ast.If):
            return None, self.if_points(step, depth)
        if isinstance(node, ast.Name):
            return None, self.name_points(step, depth)
        if isinstance(node, ast.Literal):
            return None, []
        if isinstance(node, ast.Not):
            if step.children:
                return self.explain(step.children[0], depth)
            return None, []
        return None, [self.statement(step, depth)]

    def conditions(self, step: Step, depth: int) -> tuple[str | None, list[Point]]:
        node = step.node
        assert isinstance(node, ast.Conditions)
        items = [self.condition(child, depth) for child in step.children]
        n = len(node.items)
        if node.quantifier == "all":
            intro = ("Both conditions must be met:" if n == 2 else f"All {count_words(n)} conditions must be met:") \
                if n > 1 else "This condition must be met:"
        else:
            intro = f"At least one of these {count_words(n)} must be met:" if n > 1 else "This must be met:"
        return intro, items

    def connective(self, step: Step, depth: int) -> tuple[str | None, list[Point]]:
        node = step.node
        assert isinstance(node, ast.Binary)
        operands = [leaf for child in step.children for leaf in _flatten(child, node.op)]
        items = [self.condition(child, depth) for child in operands]
        if node.op == "and":
            intro = "Both must be met:" if len(items) == 2 else "All of these must be met:"
        else:
            intro = "Either suffices:" if len(items) == 2 else "Any one of these suffices:"
        return intro, items

    def condition(self, step: Step, depth: int) -> Point:
        """One condition of a list: its label (or a generated statement), met or not, and why."""
        label = step.label
        target = step
        while isinstance(target.node, ast.Not) and target.children:
            target = target.children[0]
        if isinstance(target.node, ast.Name) and target.node.name in self.program.rules and \
                target is step:
            return self.rule_point(target.node.name, label=label, depth=depth)
        if label is None:
            point = self.statement(step, depth)
            status, tone = _status(step.value)
            point.status, point.tone = status or None, tone
            if isinstance(target.node, ast.Compare):
                point.children.extend(self.operand_rules(target, depth, compare=True))
            return point
        status, tone = _status(step.value)
        point = Point(P(label, self.note_cites(self.step_cites(target))), status or None, tone, label=label)
        if isinstance(target.node, ast.Name) and target.node.name in self.program.rules:
            point.children.append(self.rule_point(target.node.name, depth=depth, status_kind="plain"))
        else:
            intro, children = self.explain(step, depth)
            if not children:
                children = [self.statement(step, depth)]
            if intro is None and len(children) == 1:
                point.detail = children[0]
            if isinstance(target.node, ast.Compare):
                children.extend(self.operand_rules(target, depth, compare=True))
            point.intro = intro
            point.children.extend(children)
        return point

    def step_cites(self, step: Step) -> list[str]:
        """The sections of the facts and rules a condition names directly."""
        out: list[str] = []
        for inner in _steps(step):
            node = inner.node
            if not isinstance(node, ast.Name):
                continue
            if node.name in self.program.facts:
                section = self.program.facts[node.name].decl.section
                found = [section] if section else []
            elif node.name in self.program.rules:
                found = self.rule_cites(node.name)[:1]
            else:
                found = []
            out.extend(c for c in found if c not in out)
        return out

    def unless_parts(self, step: Step, depth: int) -> tuple[str | None, list[Point]]:
        """`rule unless exception`: the rule's own points, then one point per exception."""
        node = step.node
        assert isinstance(node, ast.Unless)
        points: list[Point] = []
        intro: str | None = None
        rule_step = step.children[0] if step.children else None
        if rule_step is not None:
            if isinstance(rule_step.node, ast.Name) and rule_step.node.name in self.program.rules:
                points.append(self.rule_point(rule_step.node.name, depth=depth))
            elif isinstance(rule_step.node, ast.Unless):
                intro, points = self.unless_parts(rule_step, depth)
            else:
                intro, inner = self.explain(rule_step, depth)
                if intro is None:
                    status, tone = _status(rule_step.value)
                    inner = inner or [Point(P(capitalize(self.statement(rule_step, depth).text)), status or None,
                                            tone)]
                points.extend(inner)
        where = self.note_cites([node.citation]) if node.citation else Phrase()
        if len(step.children) > 1:
            points.append(self.exception_point(step.children[1], where, depth))
        else:
            points.append(Point(P("The exception", where, " need not be considered, as the rule itself is not met"),
                                None, "info", label="exception"))
        if intro and intro.endswith("no exception may apply:"):
            return intro, points
        lead = intro.rstrip(":") if intro else "The rule must be met"
        if lead.startswith("This condition must be met"):
            lead = "This condition must be met"
        return f"{lead}, and no exception may apply:", points

    def exception_point(self, step: Step, where: Phrase, depth: int) -> Point:
        node = step.node
        status, tone = _status(step.value, "exception")
        if isinstance(node, ast.Name) and node.name in self.program.rules:
            words = self.describe_rule(node.name) or humanize(node.name)
            point = self.rule_point(node.name, depth=depth, status_kind="exception")
            point.text = P("Exception", where, ": ", words)
            point.label = words
            return point
        if isinstance(node, ast.Name) and node.name in self.program.facts:
            info = self.program.facts[node.name]
            words = _described(info.decl.description) or humanize(node.name)
            shown = "yes" if step.value is True else "no" if step.value is False else "not stated"
            return Point(P("Exception", where, ": ", words, " — ", value_frag(shown),
                           f" ({self.fact_source(node.name)})"), status or None, tone, label=words)
        intro, children = self.explain(step, depth)
        if not children:
            children = [self.statement(step, depth)]
        return Point(P("Exception", where), status or None, tone, children, intro, label="exception")

    def if_points(self, step: Step, depth: int) -> list[Point]:
        node = step.node
        assert isinstance(node, ast.If)
        if not step.children:
            return []
        if node.amendment is not None:
            return self.amendment_points(step, depth)
        condition = step.children[0]
        chosen = step.children[1] if len(step.children) > 1 else None
        cond_point = self.condition(condition, depth)
        cond_point.claim = self.claim(cond_point, condition.value)
        if isinstance(condition.node, ast.IsNone) and condition.value in (True, False):
            cond_point.claim = self.none_claim(condition) or cond_point.claim
        if cond_point.status in ("met", "not met"):
            cond_point.status, cond_point.tone = None, "info"
        if isinstance(condition.value, Unknown) or chosen is None:
            return [cond_point]
        lead = "so " if condition.value else "otherwise "
        words, cites = self.term(chosen)
        shown = self.val(chosen.value, self.type_of(chosen.node))
        if isinstance(chosen.node, (ast.Binary, ast.Call, ast.Aggregate, ast.Negate)):
            branch = self.statement(chosen, depth)
            branch.text = P(lead, branch.text)
            branch.role = "branch"
            return [cond_point, branch]
        intro, children = (None, []) if isinstance(chosen.node, ast.Literal) else self.explain(chosen, depth)
        if isinstance(chosen.node, ast.Name) and chosen.node.name in self.program.rules:
            text = P(lead, words or "", self.note_cites(cites), " applies: ", shown)
            children = children[0].children if len(children) == 1 else children
        elif words:
            text = P(lead, words or "", self.note_cites(cites), " applies: ", shown)
            if isinstance(chosen.node, ast.Name) and chosen.node.name in self.program.facts:
                text = P(text, " (", self.fact_source(chosen.node.name), ")")
                children = []
        else:
            text = P(lead, "the value is ", shown)
        return [cond_point, Point(text, None, "info", children, intro, role="branch")]

    def none_claim(self, step: Step) -> Phrase | None:
        """'the day asked about is December 31, 2004' or '... is not given', not a negated 'X: value'."""
        node = step.node
        assert isinstance(node, ast.IsNone)
        operand = step.children[0] if step.children else None
        if operand is None or isinstance(operand.value, Unknown):
            return None
        words, cites = self.term(operand)
        if not words:
            return None
        if operand.value is None:
            return P(words, self.note_cites(cites), " is not given")
        return P(words, self.note_cites(cites), " is ", self.val(operand.value, self.type_of(node.operand)))

    def amendment_points(self, step: Step, depth: int) -> list[Point]:
        """An amended provision: whether the amendment is in force on the scenario's as_of day."""
        assert isinstance(step.node, ast.If) and step.node.amendment is not None
        effective, amending = step.node.amendment
        assert isinstance(effective, dt.date)
        condition = step.children[0]
        chosen = step.children[1] if len(step.children) > 1 else None
        as_of = self.outcome.evaluation.fact(IN_FORCE)
        if isinstance(condition.value, Unknown) or chosen is None:
            return [Point(P(amending, f" supersedes the provision from {fmt.date(effective)}; without the day "
                            "the scenario is read as of (as_of), which provision is in force is undetermined"),
                          "undetermined", "unknown")]
        if not isinstance(as_of, dt.date):
            day = "no particular day: the provision as last amended"
        else:
            day = f"{fmt.date(as_of)}, the day the scenario is read as of"
        if condition.value:
            text = P(amending, f" supersedes the provision from {fmt.date(effective)}, in force on ", day)
        else:
            text = P(amending, f" supersedes the provision only from {fmt.date(effective)}, after ", day,
                     "; the provision as it stood applies")
        points = [Point(text, None, "info")]
        shown = self.val(chosen.value, self.type_of(chosen.node))
        if isinstance(chosen.node, ast.Literal):
            points.append(Point(P("so the value is ", shown), None, "info", role="branch"))
        elif isinstance(chosen.node, ast.If) and chosen.node.amendment is not None:
            points.extend(self.amendment_points(chosen, depth))
        else:
            branch = self.statement(chosen, depth)
            branch.text = P("so ", branch.text)
            branch.role = "branch"
            points.append(branch)
        return points

    def claim(self, point: Point, value: object) -> Phrase:
        """What a condition's point says is the case, as a clause: 'the issue is exempt', 'X, $5, is below $6'."""
        if point.subject is not None or point.label is None:
            detail = point.reason
            if detail.subject is not None or value not in (True, False):
                return detail.text
        words = "".join(f.text for f in point.text if f.kind != "cite")
        label = point.label or re.sub(r"\s*\((?:§§|,|and|\s)*\)", "", words)
        cites = [f for f in point.text if f.kind == "cite"]
        return P(label if value is True else negate(label), cites_phrase(f.ref for f in cites))

    def name_points(self, step: Step, depth: int) -> list[Point]:
        node = step.node
        assert isinstance(node, ast.Name)
        if node.name in self.program.rules:
            return [self.rule_point(node.name, depth=depth, status_kind="plain")]
        if node.name in self.program.facts:
            return [self.fact_point(node.name, step.value)]
        return []

    def fact_point(self, name: str, value: object) -> Point:
        info = self.program.facts[name]
        source = self.fact_source(name)
        citation = self.note_cites([info.decl.section] if info.decl.section else [])
        if isinstance(value, Unknown):
            return Point(P(capitalize(P(self.fact_words(name))), citation, " — not stated (", name, ")"),
                         "undetermined", "unknown")
        if info.type == T.BOOLEAN:
            words = _described(info.decl.description) or humanize(name)
            return Point(P(words, citation, ": ", value_frag("yes" if value else "no"), f" ({source})"),
                         label=words)
        return Point(P(capitalize(P(noun(_described(info.decl.description), name))), citation, ": ",
                       self.val(value, self.type_of_name(name)), f" ({source})"))

    # ------------------------------------------------------------ statements
    def statement(self, step: Step, depth: int) -> Point:
        """A single statement about a step: a comparison, a computation, a call."""
        node = step.node
        if isinstance(step.value, Unknown) and isinstance(node, ast.Compare) and len(step.children) == 2:
            return self.undecided_comparison(step)
        if isinstance(step.value, Unknown) and not isinstance(node, (ast.Conditions, ast.Binary)):
            return self.not_stated(step)
        if isinstance(node, ast.Compare) and len(step.children) == 2:  # (an operand that failed has no step)
            subject, predicate = self.comparison_parts(step)
            return Point(P(subject, predicate), subject=subject, predicate=predicate)
        if isinstance(node, ast.Not) and step.children:
            child = step.children[0]
            if isinstance(child.node, ast.Compare) and len(child.children) == 2:
                # what a negated comparison requires is the opposite: state the relation, not "it must be"
                subject, predicate = self.comparison_parts(child, required=False)
                return Point(P(subject, predicate), subject=subject, predicate=predicate)
            return self.statement(child, depth)
        if isinstance(node, ast.Name):
            points = self.name_points(step, depth)
            return points[0] if points else Point(P(self.code(node), ": ", self.val(step.value)))
        if isinstance(node, (ast.Conditions, ast.Unless, ast.If)) or \
                (isinstance(node, ast.Binary) and node.op in ("and", "or")):
            intro, children = self.explain(step, depth)
            status, tone = _status(step.value)
            return Point(P(self.code(node) if not children else "These must be weighed"), status or None, tone,
                         children, intro)
        if isinstance(node, (ast.Binary, ast.Negate)):
            return self.computation(step, depth)
        if isinstance(node, ast.Call):
            return self.call(step, depth)
        if isinstance(node, ast.Aggregate):
            return self.aggregate(step, depth)
        if isinstance(node, ast.Fold):
            return self.fold(step)
        if isinstance(node, ast.IsNone):
            return self.is_none(step)
        if isinstance(node, ast.Otherwise):
            return self.otherwise(step, depth)
        if isinstance(node, ast.Field):
            words, cites = self.term(step)
            return Point(P(capitalize(P(words or self.code(node))), self.note_cites(cites), ": ",
                           self.val(step.value, self.type_of(node))))
        return Point(P(self.val(step.value, self.type_of(node))))

    def code(self, node: ast.Expr) -> str:
        return self.program.sources.text(node.span) or "this"

    def undecided_comparison(self, step: Step) -> Point:
        """A comparison waiting for a fact: what is missing, and what it will be held against."""
        node = step.node
        assert isinstance(node, ast.Compare)
        left, right = step.children
        missing = step.value.missing if isinstance(step.value, Unknown) else frozenset()
        timed = isinstance(right.value, (dt.date, dt.datetime)) or isinstance(left.value, (dt.date, dt.datetime))
        words = _REQUIRE_TIME if timed else _REQUIRE
        if isinstance(left.value, Unknown) and not isinstance(right.value, Unknown):
            named, _ = self.term(left)
            text = P(capitalize(P(named or "the value")), " is not stated (", ", ".join(sorted(missing)),
                     "); it must be ", words[node.op], " ", self.obj(right))
        elif isinstance(right.value, Unknown) and not isinstance(left.value, Unknown):
            named, _ = self.term(right)
            text = P(capitalize(P(self.subject(left))), " is to be compared with ", named or "a value",
                     ", which is not stated (", ", ".join(sorted(missing)), ")")
        else:
            text = P("Neither side of the comparison is stated (", ", ".join(sorted(missing)), ")")
        return Point(text, "undetermined", "unknown")

    def comparison(self, step: Step) -> Phrase:
        subject, predicate = self.comparison_parts(step)
        return P(subject, predicate)

    def comparison_parts(self, step: Step, required: bool = True) -> tuple[Phrase, Phrase]:
        """'1.3333… is 0.6666… below 2'; where the relation alone does not show why a comparison fails,
        what it requires (`required`): 'is equal to 2, but it must be more than 2'."""
        node = step.node
        assert isinstance(node, ast.Compare)
        left, right = step.children[0], step.children[1]
        lv, rv = left.value, right.value
        ltype = T.strip_optional(self.type_of(node.left))
        order, distance = self.distance(lv, rv, ltype)
        timed = isinstance(lv, (dt.date, dt.datetime))
        scaled = isinstance(lv, Member) and isinstance(ltype, T.EnumType) and ltype.ordered
        subject, target = self.subject(left), self.obj(right)
        if order is None or node.op in ("=", "!="):
            verb = "is" if lv == rv else "is not"
            relation = P(" ", verb, " ", target)
        elif order == 0:
            relation = P(" is the same ", "moment as " if isinstance(lv, dt.datetime) else
                         ("day as " if timed else "as "), target) if timed else P(" is equal to ", target)
        else:
            if timed:
                direction = "after" if order > 0 else "before"
            else:
                direction = "above" if order > 0 else "below"
            relation = P(" is ", value_frag(distance), f" {direction} ", target) if distance else \
                P(f" is {direction} ", target)
        # "30 minutes before the start" already says why "on or after the start" fails; the requirement is
        # spelled out only where the relation alone does not show it (equal, but it must be below).
        if required and step.value is False and node.op not in ("=", "!=") and not order:
            words = _REQUIRE_TIME if timed else _REQUIRE_SCALE if scaled else _REQUIRE
            named, _ = self.term(right)
            relation = P(relation, ", but it must be ", words[node.op], " ",
                         named if named else self.show(rv, self.type_of(node.right)))
        return subject, relation

    def distance(self, a: object, b: object, type_: T.Type) -> tuple[int | None, str | None]:
        """How a compares with b (-1, 0, 1 or None) and by how much, in words."""
        try:
            if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
                return None, None
            if isinstance(a, Member) and isinstance(b, Member):
                if not (isinstance(type_, T.EnumType) and type_.ordered):
                    return None, None
                steps = b.rank - a.rank  # rank 0 is best: higher rank is lower on the scale
                order = (steps > 0) - (steps < 0)
                notches = abs(steps)
                return order, (f"{notches} notch" + ("" if notches == 1 else "es")) if notches else None
            if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
                delta = a - b
                return (delta > dt.timedelta(0)) - (delta < dt.timedelta(0)), fmt.elapsed(delta)
            if isinstance(a, dt.date) and isinstance(b, dt.date) and not isinstance(a, dt.datetime):
                days = (a - b).days
                return (days > 0) - (days < 0), fmt.duration(dt.timedelta(days=abs(days)))
            if isinstance(a, dt.timedelta) and isinstance(b, dt.timedelta):
                delta = a - b
                return (delta > dt.timedelta(0)) - (delta < dt.timedelta(0)), fmt.elapsed(delta)
            if isinstance(a, (Fraction, Decimal, int)) and isinstance(b, (Fraction, Decimal, int)) \
                    and (isinstance(a, Fraction) or isinstance(b, Fraction)):  # an exact quotient: 4/3 is 2/3 below 2
                exact = Fraction(a) - Fraction(b)
                return (exact > 0) - (exact < 0), fmt.prose(abs(exact), type_)
            if isinstance(a, (Decimal, int)) and isinstance(b, (Decimal, int)):
                diff = Decimal(a) - Decimal(b)
                order = (diff > 0) - (diff < 0)
                gap = abs(diff)
                if type_ == T.PERCENT:
                    return order, fmt.points(gap)
                if type_ == T.MONEY:
                    return order, fmt.amount(gap)
                return order, fmt.approx(gap if not isinstance(a, int) or not isinstance(b, int) else int(gap))
        except (TypeError, ValueError):
            return None, None
        return None, None

    def legend(self, step: Step, entries: list[Phrase]) -> str:
        """The formula of an arithmetic step, with its numbers; describes each named operand in entries."""
        node = step.node
        if isinstance(node, ast.Binary) and node.op in _ARITH and len(step.children) == 2:
            left = self.legend(step.children[0], entries)
            right = self.legend(step.children[1], entries)
            if _needs_parens(node.left, node.op, right_side=False) or \
                    (node.op == "^" and (left.startswith(("−", "-")) or "^" in left)):  # (−2) ^ 2, (x ^ 2) ^ 3
                left = f"({left})"
            if _needs_parens(node.right, node.op, right_side=True):
                right = f"({right})"
            return f"{left} {_ARITH[node.op]} {right}"
        if isinstance(node, ast.Negate) and step.children:
            return "−" + self.legend(step.children[0], entries)
        shown = self.show(step.value, self.type_of(node))
        words, cites = self.term(step)
        if words is not None:
            source = ""
            if isinstance(node, ast.Name) and node.name in self.program.facts:
                source = f" ({self.fact_source(node.name)})"
            entry = P(value_frag(shown), " is ", words, source, self.note_cites(cites))
            if entry.plain not in [e.plain for e in entries]:
                entries.append(entry)
        return shown

    def error_words(self, message: str) -> str:
        """An evaluation error in the memo's words: 'division by zero: shares is 0' → '... the shares
        outstanding is 0' (the engine's message names facts and rules as the clause file does)."""
        def word(match: re.Match[str]) -> str:
            name = match[1]
            if name in self.program.facts:
                return noun(_described(self.program.facts[name].decl.description), name)
            if name in self.program.rules:
                return noun(self.describe_rule(name), name)
            return match[0]

        return re.sub(r"`?\b([A-Za-z_][A-Za-z0-9_]*)\b`?", word, message)

    def computation(self, step: Step, depth: int, lead: str = "") -> Point:
        entries: list[Phrase] = []
        formula = self.legend(step, entries)
        if step.error is not None:
            text = P(lead, value_frag(formula), ": cannot be computed (", self.error_words(step.error), ")")
            point = Point(text, error=None)
            if entries:
                point.children.append(Point(P("where ", join_phrases(entries, "; ", "; and "))))
            return point
        text = P(lead, value_frag(formula), " = ", self.val(step.value, self.type_of(step.node)))
        point = Point(text)
        if entries:
            point.children.append(Point(P("where ", join_phrases(entries, "; ", "; and "))))
        point.children.extend(self.operand_rules(step, depth))
        return point

    def operand_rules(self, step: Step, depth: int, compare: bool = False) -> list[Point]:
        """The named rules a computation (or comparison) uses, explained in turn (each once)."""
        points: list[Point] = []
        for child in (step.children if compare else _operands(step)):
            node = child.node
            if isinstance(node, ast.Name) and node.name in self.program.rules and node.name not in self._expanded:
                trace = self.traces.get(node.name)
                if trace is not None and trace.step is not None and not isinstance(trace.step.node, ast.Literal):
                    points.append(self.rule_point(node.name, depth=depth, status_kind="plain"))
        return points

    def call(self, step: Step, depth: int) -> Point:
        node = step.node
        assert isinstance(node, ast.Call)
        args = step.children
        values = [a.value for a in args]
        shown = self.val(step.value, self.type_of(node))
        name = node.function
        if name == "round" and len(args) >= 3:
            inner = args[0]
            mode = str(args[2].value)
            increment = args[1].value
            unit = self.unit_words(increment, self.type_of(node.args[1]))
            how = _ROUNDING_WORDS.get(mode, "by " + mode + " to {unit}").format(unit=unit)
            entries: list[Phrase] = []
            if isinstance(inner.node, (ast.Binary, ast.Negate)):
                formula = self.legend(inner, entries)
                text = P(value_frag(formula), " = ", self.val(inner.value, self.type_of(inner.node)),
                         f", rounded {how}: ", shown)
            else:
                text = P(capitalize(self.obj(inner)), f", rounded {how}: ", shown)
            point = Point(text)
            if entries:
                point.children.append(Point(P("where ", join_phrases(entries, "; ", "; and "))))
            point.children.extend(self.operand_rules(inner, depth))
            return point
        if name == "multiple_of" and len(args) == 2:
            subject = self.subject(args[0])
            unit = self.show(values[1], self.type_of(node.args[1]))
            if step.value:
                predicate = P(" is an integral multiple of ", value_frag(unit))
                return Point(P(subject, predicate), subject=subject, predicate=predicate)
            over = ""
            if isinstance(values[0], (Decimal, int)) and isinstance(values[1], (Decimal, int)) and values[1]:
                rest = Decimal(values[0]) % Decimal(values[1])
                if rest:
                    rest_text = self.show(rest, self.type_of(node.args[0]))
                    over = f" (it leaves {rest_text} over)"
            predicate = P(" is not an integral multiple of ", value_frag(unit), over)
            return Point(P(subject, predicate), subject=subject, predicate=predicate)
        if name == "at" and len(args) == 3:
            when = P(self.show(values[1]), " ", fmt.zone_name(step.value, self.home)
                     if isinstance(step.value, dt.datetime) else "", " on ")
            words, cites = self.term(args[0])
            day = P(words, self.note_cites(cites), " (", self.show(values[0]), ")") if words else \
                P(self.show(values[0]))
            point = Point(P(capitalize(when), day))
            point.children.extend(self.arg_points(args[:1], depth))
            return point
        if name in ("next_day", "previous_day") and len(args) == 2:
            which = "next" if name == "next_day" else "previous"
            return Point(P(f"The {which} {humanize(_name_of(node.args[0]) or 'day')} after "
                           if which == "next" else f"The {which} {humanize(_name_of(node.args[0]) or 'day')} "
                           "before ", self.show(values[1]), ": ", shown),
                         children=self.arg_points(args[1:], depth))
        if name == "add_days" and len(args) == 3:
            return Point(P(f"{values[2]} {humanize(_name_of(node.args[0]) or 'day')}s after ",
                           self.show(values[1]), ": ", shown), children=self.arg_points(args[1:2], depth))
        if name == "is_day" and len(args) == 2:
            calendar = values[0]
            checked = values[1]
            holiday = calendar.holiday_name(checked) \
                if isinstance(calendar, Calendar) and isinstance(checked, dt.date) else None
            what = humanize(_name_of(node.args[0]) or "day")
            verb = "is" if step.value else "is not"
            extra = f" ({holiday})" if holiday and not step.value else ""
            return Point(P(self.show(values[1]), f" {verb} a {what}{extra}"))
        if name in ("earlier", "later", "min", "max") and args:
            words = {"earlier": "The earlier of ", "later": "The later of ", "min": "The least of ",
                     "max": "The greatest of "}[name]
            items = [self.obj(a) for a in args]
            return Point(P(words, join_phrases(items, "; ", " and "), ": ", shown),
                         children=self.arg_points(args, depth))
        if name == "local" and len(args) == 2:
            return Point(P(capitalize(self.obj(args[0])), ", on ", humanize(_name_of(node.args[1]) or "local"),
                           " clocks: ", shown), children=self.arg_points(args[:1], depth))
        if name == "date_of" and args:
            inner = args[0]
            if isinstance(inner.node, ast.Call) and inner.node.function == "local" and len(inner.children) == 2:
                place = humanize(_name_of(inner.node.args[1]) or "local")
                return Point(P(f"The day on {place} clocks of ", self.obj(inner.children[0]), ": ", shown),
                             children=self.arg_points(inner.children[:1], depth))
            return Point(P("The day of ", self.obj(inner), ": ", shown), children=self.arg_points(args, depth))
        if name == "days_between" and len(args) == 2:
            return Point(P("From ", self.show(values[0]), " to ", self.show(values[1]), ": ", shown, " days"),
                         children=self.arg_points(args, depth))
        if name in self.program.functions:
            info = self.program.functions[name]
            arg_text = join_words([self.show(v, t) for v, (_, t) in zip(values, info.params, strict=False)])
            citation = self.note_cites([info.decl.section] if info.decl.section else [])
            point = Point(P(capitalize(P(f"the {humanize(name)}")), citation, f" for {arg_text}: " if arg_text
                            else ": ", shown))
            body = args[len(info.params):]
            for child in body:
                _intro, children = self.explain(child, depth)
                point.children.extend(children)
            point.children.extend(self.arg_points(args[: len(info.params)], depth))
            return point
        if name in self.program.enums:
            return Point(P(self.show(values[0]) if values else "", " read as ", shown))
        arg_text = ", ".join(self.show(v, self.type_of(a)) for v, a in zip(values, node.args, strict=False))
        return Point(P(f"{humanize(name)}({arg_text}) = ", shown), children=self.arg_points(args, depth))

    def arg_points(self, args: list[Step], depth: int) -> list[Point]:
        points: list[Point] = []
        for arg in args:
            node = arg.node
            if isinstance(node, ast.Name) and node.name in self.program.rules and node.name not in self._expanded:
                trace = self.traces.get(node.name)
                if trace is not None and trace.step is not None and not isinstance(trace.step.node, ast.Literal):
                    points.append(self.rule_point(node.name, depth=depth, status_kind="plain"))
            elif isinstance(node, (ast.Call, ast.Binary, ast.Aggregate)):
                points.append(self.statement(arg, depth))
        return points

    def unit_words(self, increment: object, type_: T.Type) -> str:
        if isinstance(increment, int) and increment == 1:
            return "whole number"
        if isinstance(increment, Decimal) and type_ == T.MONEY:
            names = {Decimal("0.01"): "cent", Decimal("0.001"): "tenth of a cent ($0.001)"}
            return names.get(increment.normalize(), f"multiple of {fmt.money(increment)}")
        return f"multiple of {self.show(increment, type_)}"

    def aggregate(self, step: Step, depth: int) -> Point:
        node = step.node
        assert isinstance(node, ast.Aggregate)
        children = list(step.children)
        source = children.pop(0) if children else None
        items = source.value if source is not None and isinstance(source.value, tuple) else ()
        words, cites = self.term(source) if source is not None else (None, [])
        what = {"sum": "The sum", "count": "The number", "any": "Whether any", "all": "Whether all",
                "min": "The least", "max": "The greatest", "first": "The first",
                "list": "The items kept"}[node.function]
        over = words or "the items"
        point = Point(P(what, " over ", over, self.note_cites(cites), ": ",
                        self.val(step.value, self.type_of(node))))
        kept = 0
        element_type = T.strip_optional(self.type_of(node.source))
        element = element_type.element if isinstance(element_type, T.ListType) else None
        shown = self.shown_items(len(items))
        deciding = node.function in ("min", "max", "first", "any", "all")
        decider_written = False
        entries: list[tuple[int, Point]] = []
        for index, item in enumerate(items, start=1):
            if not children:
                break
            include = True
            where: Step | None = None
            if node.where is not None and children:
                where = children.pop(0)
                include = where.value is True
            body = None
            if include and node.function != "count" and children:
                body = children.pop(0)
            if include:
                kept += 1
            # Beyond the first and last items, only an item that decided the result is written out.
            decided = deciding and include and (
                (node.function in ("min", "max", "first") and (body.value if body is not None else item) == step.value)
                or (node.function == "any" and body is not None and body.value is True)
                or (node.function == "all" and body is not None and body.value is False))
            if index not in shown and not (decided and not decider_written):
                continue
            decider_written = decider_written or (decided and index not in shown)
            reason: Phrase | None = None
            if where is not None and isinstance(where.node, ast.Compare):
                reason = self.comparison(where)
            text = P(f"item {index}: ", self.show(item, element), " — ",
                     ("kept" if node.function == "list" else "counted") if include else "left out")
            if reason is not None:
                text = P(text, " (", reason, ")")
            if body is not None and not isinstance(body.node, (ast.Name, ast.Field)):
                text = P(text, "; ", self.show(body.value, self.type_of(node.body)))
            entries.append((index, Point(text, None, "info")))
        summary = P(f"{kept:,} of the {len(items):,} items counted") if node.where is not None else None
        point.children.extend(self.with_gaps(entries, len(items), summary))
        if not items:
            point.children.append(Point(P("there are none")))
        return point

    def shown_items(self, count: int) -> set[int]:
        """The items of a list of ``count`` written out one by one: all of them, or
        (a long list, unless the memo was asked for full lists) the first and last."""
        if self.full_lists or count <= TRACE_LIST_ITEMS:
            return set(range(1, count + 1))
        half = TRACE_LIST_ITEMS // 2
        return set(range(1, half + 1)) | set(range(count - half + 1, count + 1))

    def with_gaps(self, entries: list[tuple[int, Point]], count: int, summary: Phrase | None) -> list[Point]:
        """``entries`` in order, with a line where items were left out saying how many."""
        out: list[Point] = []
        previous = 0
        for index, entry in entries:
            if index > previous + 1:
                out.append(Point(P(f"… {index - previous - 1:,} more items …"), None, "info"))
            out.append(entry)
            previous = index
        if entries and previous < count and len(entries) < count:
            out.append(Point(P(f"… {count - previous:,} more items …"), None, "info"))
        if summary is not None and len(entries) < count:
            out.append(Point(summary, None, "info"))
        return out

    def fold(self, step: Step) -> Point:
        """A scan or fold as a timeline: the starting state, then each item and the state after it."""
        node = step.node
        assert isinstance(node, ast.Fold)
        initial, source, *steps = step.children
        items = source.value if isinstance(source.value, tuple) else ()
        words, cites = self.term(source)
        state_type = self.type_of(node.initial)
        element_type = T.strip_optional(self.type_of(node.source))
        element = element_type.element if isinstance(element_type, T.ListType) else None
        what = "Each state" if node.kind == "scan" else "The final state"
        point = Point(P(what, " over ", words or "the items", self.note_cites(cites), ": ",
                        self.val(step.value, self.type_of(node))))
        point.children.append(Point(P("at the start: ", self.show(initial.value, state_type)), None, "info"))
        shown = self.shown_items(len(items))
        entries = [(index, Point(P(f"item {index}: ", self.show(item, element), " — then ",
                                   self.show(after.value, state_type)), None, "info"))
                   for index, (item, after) in enumerate(zip(items, steps, strict=False), start=1) if index in shown]
        point.children.extend(self.with_gaps(entries, len(items), None))
        if not items:
            point.children.append(Point(P("there are none")))
        return point

    def is_none(self, step: Step) -> Point:
        node = step.node
        assert isinstance(node, ast.IsNone)
        operand = step.children[0] if step.children else None
        if operand is None:
            return Point(P(self.code(node)))
        words, cites = self.term(operand)
        subject = words or self.code(node.operand)
        if operand.value is None:
            return Point(P(capitalize(P(subject)), self.note_cites(cites), ": none (it has not happened)"))
        return Point(P(capitalize(P(subject)), self.note_cites(cites), ": ",
                       self.val(operand.value, self.type_of(node.operand))))

    def otherwise(self, step: Step, depth: int) -> Point:
        node = step.node
        assert isinstance(node, ast.Otherwise)
        first = step.children[0] if step.children else None
        if first is None:
            return Point(P(self.val(step.value)))
        words, cites = self.term(first)
        if first.value is None and len(step.children) > 1:
            fallback = step.children[1]
            fwords, fcites = self.term(fallback)
            text = P(capitalize(P(words or "the value")), self.note_cites(cites), " is none, so ",
                     fwords or "the fallback", self.note_cites(fcites), " applies: ",
                     self.val(step.value, self.type_of(node)))
            intro, children = self.explain(fallback, depth)
            return Point(text, None, "info", children, intro)
        intro, children = self.explain(first, depth)
        return Point(P(capitalize(P(words or "the value")), self.note_cites(cites), ": ",
                       self.val(step.value, self.type_of(node))), None, "info", children, intro)

    # ------------------------------------------------------------ summary
    def failing_leaves(self, point: Point, limit: int = 3) -> list[Point]:
        """The deepest statements that make a failing point fail."""
        out: list[Point] = []

        def visit(p: Point) -> None:
            if len(out) >= limit:
                return
            failing = [c for c in p.children if c.tone == "no" and c.status in ("not met", "applies")]
            if failing:
                for child in failing:
                    visit(child)
            elif (p is not point or p.detail is not None) and p.reason.text.plain not in [o.text.plain for o in out]:
                out.append(p.reason)

        visit(point)
        return out


def join_reasons(points: list[Point], last: str = " and ") -> Phrase:
    """Statements joined into one clause; a subject shared by consecutive comparisons is said once."""
    parts: list[Phrase] = []
    previous: Point | None = None
    for point in points:
        if previous is not None and point.subject is not None and previous.subject is not None \
                and point.predicate is not None and point.subject.plain == previous.subject.plain:
            parts[-1] = P(parts[-1], " and", point.predicate)
        else:
            parts.append(point.text)
        previous = point
    return join_phrases(parts, "; ", "; and " if len(parts) > 2 else last)


# ---------------------------------------------------------------- helpers


def _described(description: str | None) -> str | None:
    """A description of the clause file in the memo's house style of citation."""
    return house_style(description) if description else description


def _strip_the(words: str | None) -> str:
    if words is None:
        return ""
    return words[4:] if words.startswith("the ") else words


def _name_of(node: ast.Expr) -> str | None:
    return node.name if isinstance(node, ast.Name) else None


def _flatten(step: Step, op: str) -> Iterator[Step]:
    node = step.node
    if isinstance(node, ast.Binary) and node.op == op and step.label is None:
        for child in step.children:
            yield from _flatten(child, op)
    else:
        yield step


def _needs_parens(node: ast.Expr, op: str, right_side: bool) -> bool:
    if not isinstance(node, ast.Binary) or node.op not in _PRECEDENCE:
        return False
    inner, outer = _PRECEDENCE[node.op], _PRECEDENCE[op]
    return inner < outer or (right_side and inner == outer and op in ("-", "/"))


def _operands(step: Step) -> Iterator[Step]:
    node = step.node
    if isinstance(node, (ast.Binary, ast.Negate)) and (not isinstance(node, ast.Binary) or node.op in _ARITH):
        for child in step.children:
            yield from _operands(child)
    else:
        yield step


def _steps(step: Step) -> Iterator[Step]:
    yield step
    for child in step.children:
        yield from _steps(child)


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s.strip() for s in re.split(r"(?<=[.;])\s+(?=[A-Z(])", flat) if s.strip()]
