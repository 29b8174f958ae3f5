"""The memo's view-model: everything the templates show, computed in Python.

``build_memo(outcome, generated=...)`` turns one evaluated scenario into a
``Memo``: the heading, a summary paragraph per principal outcome, the
reasoning tree of each outcome (from the trace), the interpretation notes it
relied on, the open questions, the facts, and the clauses cited with their
text. Templates only lay this out; they do no arithmetic and make no choices.

Which results are the "outcomes" of a scenario is decided generically:

* a result is *addressed* by the scenario when it depends (through its rules)
  on a fact the scenario gives with a value other than the fact's default, and
  either the scenario decides it (it is determined, or could not be computed),
  or the scenario gives most of the facts it needs, or most of the facts the
  scenario gives bear on it. (A result that merely shares one given fact with
  the question, such as a liquidation amount built on the accrued dividends of
  a change-of-control scenario, stays undetermined and is not addressed.)
* the *principal* outcomes, summarised first, are the addressed results that
  no summarised addressed boolean result relies on (a result a test relies on
  is explained inside that test's reasoning instead); undetermined ones the
  scenario gives too little for are only named ("not yet determined");
* the memo *states* the values of the addressed results, of every result they
  are built on, and of the results their summary sentences quote; those are
  the rows of its results table, and the readings (and time-zone notes) it
  discloses are exactly those these results relied on. Every other result is
  listed by name only, as not addressed: the memo states no value it does not
  account for.
* undetermined stated results are the open questions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from engine import ast
from engine import types as T
from engine.api import Outcome, ResultValue
from engine.check import PLACEHOLDER, Program
from engine.evaluate import Evaluation, EvaluationError, Step
from engine.values import Unknown
from render import format as fmt
from render.explain import (
    Explainer,
    Frag,
    P,
    Phrase,
    Point,
    anchor,
    capitalize,
    cites_phrase,
    count_words,
    join_phrases,
    join_reasons,
    join_words,
    negate,
    noun,
    title,
    value_frag,
)

# ---------------------------------------------------------------- the view-model


@dataclass
class Party:
    name: str
    role: str


@dataclass
class Heading:
    title: str
    dated: dt.date | None
    parties: list[Party]
    governing_law: str | None
    contract: str
    scenario_title: str | None
    scenario_description: str | None
    scenario: str | None
    generated: dt.datetime
    home_zone: str | None
    place: str


@dataclass
class FactView:
    name: str
    description: str | None
    type: T.Type
    value: object
    source: str  # "given", "default" or "missing"
    citation: str | None
    anchor: str | None


@dataclass
class ResultView:
    name: str
    title: str
    description: str | None
    type: T.Type
    value: object
    determined: bool
    shown: str
    cites: list[str]
    readings: list[str]
    missing: list[FactView]
    error: str | None
    # The contract's own summary sentence (`explain when ...`), placeholders filled in.
    explained: str | None = None
    # The rules whose values the explain sentence quotes.
    mentions: list[str] = field(default_factory=list)
    summary: Phrase = field(default_factory=Phrase)
    headline: str = ""
    point: Point | None = None
    anchor: str = ""

    @property
    def tone(self) -> str:
        if self.error:
            return "no"
        if not self.determined:
            return "unknown"
        if self.value is True:
            return "yes"
        if self.value is False:
            return "no"
        return "info"


@dataclass
class ReadingView:
    name: str
    text: str
    relied_on_by: list[str]


@dataclass
class ZoneNote:
    text: Phrase


@dataclass
class SectionView:
    citation: str
    title: str | None
    anchor: str
    quotes: list[str]


@dataclass
class NotAddressed:
    citation: str
    anchor: str
    results: list[str]


@dataclass
class Memo:
    heading: Heading
    summary: list[ResultView]
    pending: list[ResultView]
    outcomes: list[str]  # the results the scenario addresses
    stated: list[str]  # the results whose values the memo states (their readings are the ones disclosed)
    reasoning: list[ResultView]
    readings: list[ReadingView]
    zone_notes: list[ZoneNote]
    scenario_notes: list[str]
    open_questions: list[ResultView]
    missing_facts: list[FactView]
    not_addressed: list[NotAddressed]
    facts: list[FactView]
    defaults: list[FactView]
    results: list[ResultView]
    clauses: list[SectionView]
    errors: list[str]
    home: dt.tzinfo


# ---------------------------------------------------------------- dependencies


def _names(expr: object, out: set[str]) -> None:
    """Every name an expression mentions (rules, facts, functions), however deeply."""
    if isinstance(expr, ast.Name):
        out.add(expr.name)
        return
    if isinstance(expr, ast.Call):
        out.add(expr.function)
    if isinstance(expr, (tuple, list)):
        for item in expr:
            _names(item, out)
        return
    if dataclasses.is_dataclass(expr) and not isinstance(expr, type):
        for f in dataclasses.fields(expr):
            if f.name in ("span", "function_span", "op_span", "citation_span"):
                continue
            _names(getattr(expr, f.name), out)


class Dependencies:
    """Which facts and results each rule depends on, read from the declarations (not the trace)."""

    def __init__(self, program: Program):
        self.program = program
        self.direct: dict[str, set[str]] = {}
        for name, info in program.rules.items():
            self.direct[name] = self._refs(info.decl.expr, set())
        self._facts: dict[str, frozenset[str]] = {}

    def _refs(self, expr: ast.Expr, seen: set[str]) -> set[str]:
        names: set[str] = set()
        _names(expr, names)
        out: set[str] = set()
        for name in names:
            if name in self.program.rules or name in self.program.facts:
                out.add(name)
            elif name in self.program.functions and name not in seen:
                out |= self._refs(self.program.functions[name].decl.expr, seen | {name})
        return out

    def facts(self, name: str, stack: frozenset[str] = frozenset()) -> frozenset[str]:
        if name in self._facts:
            return self._facts[name]
        if name in self.program.facts:
            return frozenset((name,))
        if name in stack:
            return frozenset()
        found: set[str] = set()
        for ref in self.direct.get(name, ()):
            found |= self.facts(ref, stack | {name})
        self._facts[name] = frozenset(found)
        return self._facts[name]

    def result_inputs(self, name: str) -> set[str]:
        """The results a rule reads directly or through defines."""
        out: set[str] = set()
        stack = list(self.direct.get(name, ()))
        seen: set[str] = set()
        while stack:
            ref = stack.pop()
            if ref in seen or ref not in self.program.rules:
                continue
            seen.add(ref)
            if self.program.rules[ref].public:
                out.add(ref)
            else:
                stack.extend(self.direct.get(ref, ()))
        return out


# ---------------------------------------------------------------- building


def build_memo(outcome: Outcome, generated: dt.datetime | None = None, contract_path: str | None = None) -> Memo:
    """The view-model of the memo for one evaluated scenario (evaluate it with trace=True)."""
    program = outcome.program
    if not outcome.evaluation.tracing:
        raise ValueError("build_memo needs an outcome evaluated with trace=True")
    generated = generated or dt.datetime.now(dt.UTC)
    explainer = Explainer(outcome)
    deps = Dependencies(program)
    facts = _fact_views(outcome)
    fact_by_name = {f.name: f for f in facts}

    views = {name: _result_view(outcome, name, fact_by_name) for name in program.results}
    addressing = _addressing_facts(outcome)
    given = set(outcome.facts)

    def mostly_given(name: str) -> bool:
        """The scenario gives more than half of the facts (without defaults) the result needs."""
        needed = {f for f in deps.facts(name) if program.facts[f].decl.default is None}
        return bool(needed) and len(needed & given) * 2 > len(needed)

    def mostly_about(name: str) -> bool:
        """More than half of the facts the scenario gives bear on the result."""
        return len(deps.facts(name) & addressing) * 2 > len(addressing)

    addressed = [r for r in program.results if deps.facts(r) & addressing
                 and (views[r].determined or views[r].error is not None or mostly_given(r) or mostly_about(r))]

    consumers: dict[str, set[str]] = {name: set() for name in program.results}
    for name in addressed:
        for used in deps.result_inputs(name):
            consumers.setdefault(used, set()).add(name)
    # An undetermined outcome gets a paragraph of its own only when the scenario gives most of what it
    # needs; the others are named together (the open questions say what each needs), and what they
    # rely on is summarised in their place.
    pending: set[str] = set()
    while True:
        principal = [r for r in addressed
                     if not any(program.rules[c].type == T.BOOLEAN and c not in pending
                                for c in consumers.get(r, ()) if c in addressed)]
        waiting = {r for r in principal if not views[r].determined and views[r].error is None
                   and not mostly_given(r)}
        if waiting <= pending:
            break
        pending |= waiting
    principal.sort(key=lambda r: (program.rules[r].type != T.BOOLEAN, program.results.index(r)))
    pending_list = [r for r in principal if r in pending]
    principal = [r for r in principal if r not in pending]

    # Reasoning: each principal outcome, then any addressed result not explained inside one.
    reasoning: list[ResultView] = []
    for name in principal:
        view = views[name]
        view.point = explainer.rule_point(name)
        view.summary = _summary(explainer, view)
        reasoning.append(view)
    for name in addressed:
        if name in principal or name in explainer._expanded:
            continue
        view = views[name]
        view.point = explainer.rule_point(name)
        reasoning.append(view)

    # The results the memo states a value for: the addressed ones, what they are built on, and what
    # their summary sentences quote.
    stated_set = set(addressed)
    frontier = list(addressed)
    for name in principal:
        frontier.extend(m for m in views[name].mentions if m in views)
    while frontier:
        name = frontier.pop()
        stated_set.add(name)
        for used in deps.result_inputs(name):
            if used not in stated_set:
                stated_set.add(used)
                frontier.append(used)
    stated = [r for r in program.results if r in stated_set]

    # Open questions: undetermined results the memo states.
    open_questions = [views[r] for r in stated if not views[r].determined and views[r].error is None]
    missing_names: list[str] = []
    for view in open_questions:
        for fact in view.missing:
            if fact.name not in missing_names:
                missing_names.append(fact.name)
    missing_facts = [fact_by_name[n] for n in missing_names if n in fact_by_name]
    for fact in missing_facts:
        if fact.citation:
            explainer.note_cites([fact.citation])

    not_addressed: dict[str, list[str]] = {}
    for name in program.results:
        if name in stated_set:
            continue
        section = program.rules[name].section or "—"
        not_addressed.setdefault(section, []).append(views[name].title)

    # Readings and zones: those the stated results relied on (for an undetermined result, those of the
    # parts of it the scenario decides, which its reasoning shows).
    relied = {r: _relied(outcome, r) for r in stated}
    readings = _readings(program, [(r, relied[r]) for r in stated], principal, addressed)
    zone_notes = _zone_notes(outcome, stated)

    used_facts = set().union(*(deps.facts(r) for r in addressed)) if addressed else set()
    given_facts = [f for f in facts if f.source == "given"]
    defaults = [f for f in facts if f.source == "default" and f.name in used_facts]

    # The clauses quoted: those the reasoning cites, and those of the results and facts the memo shows.
    for name in stated:
        explainer.note_cites(views[name].cites)
    for fact in given_facts + defaults:
        if fact.citation:
            explainer.note_cites([fact.citation])
    clauses = _clauses(program, explainer.cited)

    errors = [f"{e.rule}: {e.message}" for e in outcome.errors]
    header = program.header
    heading = Heading(
        title=header.title,
        dated=header.dated if isinstance(header.dated, dt.date) else None,
        parties=[Party(p.name, p.role) for p in header.parties],
        governing_law=header.governing_law,
        contract=contract_path or program.path,
        scenario_title=outcome.scenario.title if outcome.scenario else None,
        scenario_description=(outcome.scenario.description or "").strip() or None if outcome.scenario else None,
        scenario=outcome.scenario.path if outcome.scenario else None,
        generated=generated,
        home_zone=header.home_zone,
        place=fmt.place_name(header.home_zone),
    )
    return Memo(
        heading=heading,
        summary=[views[r] for r in principal],
        pending=[views[r] for r in pending_list],
        outcomes=list(addressed),
        stated=stated,
        reasoning=reasoning,
        readings=readings,
        zone_notes=zone_notes,
        scenario_notes=list(outcome.notes),
        open_questions=open_questions,
        missing_facts=missing_facts,
        not_addressed=[NotAddressed(c, anchor(c), names) for c, names in not_addressed.items()],
        facts=given_facts,
        defaults=defaults,
        results=[views[r] for r in stated],
        clauses=clauses,
        errors=errors,
        home=program.home_zone,
    )


def _addressing_facts(outcome: Outcome) -> frozenset[str]:
    """The facts that make a result part of the scenario's question: given, and not just the default."""
    program = outcome.program
    chosen: set[str] = set()
    for name, value in outcome.facts.items():
        info = program.facts.get(name)
        if info is None:
            continue
        if info.decl.default is not None:
            try:
                default = outcome.evaluation.ev(info.decl.default, {})
            except Exception:
                default = object()
            if default == value:
                continue
        chosen.add(name)
    return frozenset(chosen or outcome.facts)


def _fact_views(outcome: Outcome) -> list[FactView]:
    program = outcome.program
    out = []
    for name, info in program.facts.items():
        citation = info.decl.section
        if name in outcome.facts:
            source, value = "given", outcome.facts[name]
        elif info.decl.default is not None:
            source, value = "default", outcome.evaluation.fact(name)
        else:
            source, value = "missing", None
        out.append(FactView(name, info.decl.description, info.type, value, source, citation,
                            anchor(citation) if citation else None))
    return out


def _result_view(outcome: Outcome, name: str, facts: dict[str, FactView]) -> ResultView:
    result: ResultValue = outcome.results[name]
    if result.error is not None:
        shown = "could not be computed"
    elif not result.determined:
        shown = "undetermined"
    else:
        shown = _show(outcome, result.value, result.type)
    missing = [facts[m] for m in result.missing if m in facts]
    view = ResultView(
        name=name,
        title=title(name),
        description=result.description,
        type=result.type,
        value=result.value,
        determined=result.determined,
        shown=shown,
        cites=list(result.cites),
        readings=list(result.readings),
        missing=missing,
        error=result.error.message if result.error is not None else None,
        anchor=f"result-{name.replace('_', '-')}",
    )
    if result.determined:
        found = _explained(outcome, name)
        if found is not None:
            view.explained, view.mentions = found
    return view


def _fill(text: str, shown: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: shown[match[1]], text).strip()


def _explained(outcome: Outcome, name: str) -> tuple[str, list[str]] | None:
    """The first `explain` sentence whose condition holds and whose values are all known, and the rules it quotes."""
    program = outcome.program
    decl = program.rules[name].decl
    explains = getattr(decl, "explains", ())
    if not explains:
        return None
    evaluation = Evaluation(program, outcome.facts)
    for explain in explains:
        try:
            if explain.condition is not None and evaluation.ev(explain.condition, {}) is not True:
                continue
            shown: dict[str, str] = {}
            for match in PLACEHOLDER.finditer(explain.text):
                ref = match[1]
                if ref in program.facts:
                    value, type_ = evaluation.fact(ref), program.facts[ref].type
                else:
                    done = evaluation.rule(ref)
                    if done.error is not None:
                        raise done.error
                    value, type_ = done.value, program.rules[ref].type
                if isinstance(value, Unknown):
                    raise LookupError(ref)
                shown[ref] = _show(outcome, value, type_)
        except (EvaluationError, LookupError):
            continue
        sentence = _fill(explain.text, shown)
        quoted = [ref for ref in shown if ref in program.rules]
        return (sentence[:-1] if sentence.endswith(".") else sentence), quoted
    return None


def _show(outcome: Outcome, value: object, type_: T.Type) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return fmt.prose(value, type_, outcome.program.home_zone)


def _summary(explainer: Explainer, view: ResultView) -> Phrase:
    """One plain-English paragraph for an outcome, built from its reasoning."""
    point = view.point
    assert point is not None
    citation = cites_phrase(view.cites)
    if view.error:
        return P(f"{view.title} could not be computed: {view.error}", citation, ".")
    if not view.determined:
        needs = join_words([explainer.fact_words(f.name) for f in view.missing])
        subject = view.description or view.title.lower()
        lead = P("Whether ", subject) if view.type == T.BOOLEAN else P(capitalize(P(noun(view.description, view.name))))
        return P(lead, citation, " cannot be determined until the scenario states ", needs, ".")
    if view.type == T.BOOLEAN:
        statement = view.description or view.title.lower()
        if view.value is False:
            statement = negate(statement)
        if view.explained:
            statement = view.explained
        lead = P(capitalize(P(statement)), citation)
        conditions = [c for c in point.children if c.status in ("met", "not met", "undetermined")]
        exceptions = [c for c in point.children if c.status in ("applies", "does not apply")]
        intro = point.intro or ""
        applying = [c for c in exceptions if c.status == "applies"]
        if applying:
            return P(lead, ": ", join_phrases([c.text for c in applying], "; ", "; and "),
                     " — the exception applies" if len(applying) == 1 else " — the exceptions apply", ".")
        all_of = intro.startswith(("All", "Both", "This condition"))
        if exceptions and view.value:
            rule = [c for c in point.children if c not in exceptions and c.text]
            if conditions and all_of:
                n = len(conditions)
                labels = join_phrases([c.text for c in conditions], "; ", "; and ")
                return P(lead, ": no exception applies, and " + ("both conditions are met" if n == 2 else
                         f"all {count_words(n)} conditions are met" if n > 1 else "the condition is met"),
                         " — ", labels, ".")
            if rule:
                return P(lead, ": ", join_phrases([_lower(c.text) for c in rule], "; ", "; and "),
                         ", and no exception applies.")
            return P(lead, ": the rule is met and no exception applies.")
        if conditions and intro.startswith(("All", "Both", "This condition")):
            n = len(conditions)
            if view.value:
                labels = join_phrases([c.text for c in conditions], "; ", "; and ")
                return P(lead, ": ", "both conditions are met" if n == 2 else f"all {count_words(n)} conditions "
                         "are met" if n > 1 else "the condition is met", " — ", labels, ".")
            failing = [c for c in conditions if c.status == "not met"]
            k = len(failing)
            head = (f"{count_words(k)} of the {count_words(n)} conditions "
                    f"{'is' if k == 1 else 'are'} not met") if n > 1 else "the condition is not met"
            reasons = join_phrases([_because(explainer, c) for c in failing], "; ", "; and ")
            return P(lead, ": ", head, " — ", reasons, ".")
        if conditions and intro.startswith(("At least", "Either", "Any", "This must")):
            if view.value:
                met = [c for c in conditions if c.status == "met"]
                return P(lead, ": ", join_phrases([c.text for c in met], "; ", "; and "),
                         " (met)" if len(met) == 1 else " (each met)", ".")
            reasons = join_phrases([_because(explainer, c) for c in conditions], "; ", "; and ")
            return P(lead, ": none of the alternatives is met — ", reasons, ".")
        leaves = explainer.failing_leaves(point) if view.value is False else []
        if leaves:
            return P(lead, ", because ", join_reasons(leaves), ".")
        details = [c for c in point.children if c.text]
        if details:
            return P(lead, ": ", _lower(details[0].reason.text), ".")
        return P(lead, ".")
    what = P(capitalize(P(noun(view.description, view.name))), citation)
    if view.explained:
        what = P(capitalize(P(view.explained)), citation)
    how = _how(point)
    if how is not None:
        return P(what, ": ", _lower(how), ".")
    return P(what, ": ", value_frag(view.shown), ".")


def _because(explainer: Explainer, condition: Point) -> Phrase:
    """'the unconverted portion is not a permitted denomination (§ Exhibit A): the remainder, $2,500, is ...'."""
    if condition.status == "undetermined":
        return P(condition.text, " is undetermined")
    leaves = explainer.failing_leaves(condition)
    citations = [f for f in condition.text if f.kind == "cite"]
    if condition.label:
        head = P(negate(condition.label), cites_phrase(f.text for f in citations))
    else:
        head = P("not: ", condition.text)
    if not leaves or (len(leaves) == 1 and leaves[0].text.plain == condition.text.plain):
        return head
    return P(head, ", as ", join_reasons(leaves))


def _how(point: Point) -> Phrase | None:
    """How a value was reached, from the first statement of its reasoning."""
    branch = next((c for c in point.children if c.role == "branch"), None)
    condition = next((c for c in point.children if c.claim is not None), None)
    if branch is not None and condition is not None and condition.claim is not None:
        text = branch.text
        if text and text[0].kind == "text":
            first = text[0].text.removeprefix("so ").removeprefix("otherwise ")
            text = Phrase([Frag("text", first), *text[1:]])
        return P("as ", condition.claim, ", ", text)
    for child in point.children:
        if child.status is None and child.text:
            text = child.text
            if any(f.kind == "value" for f in text):
                return text
    return None


def _lower(phrase: Phrase) -> Phrase:
    if phrase and phrase[0].kind == "text" and phrase[0].text[:2] not in ("I ",) and \
            not phrase[0].text[:1].isdigit():
        first = phrase[0].text
        words = first.split(" ", 1)
        # Keep capitals of names ("Common Stock"); lower only an ordinary first word.
        if words[0][:1].isupper() and words[0][1:].islower():
            first = words[0].lower() + (" " + words[1] if len(words) > 1 else "")
        return Phrase([Frag("text", first), *phrase[1:]])
    return phrase


def _relied(outcome: Outcome, name: str) -> list[str]:
    """The readings a result relied on for what the memo says of it.

    A determined result relied on every reading its evaluation used. Of an
    undetermined one the memo states only the parts the scenario decides: the
    rules it read that are determined, and its own conditions when one of them
    was decided; a reading of its own for a part that waits on a fact (the
    rounding of an amount not yet known, say) is not relied on.
    """
    result = outcome.results[name]
    if result.determined or result.error is not None:
        return list(result.readings)
    out: set[str] = set()
    seen: set[str] = set()
    program = outcome.program
    evaluation = outcome.evaluation

    def visit(rule: str) -> None:
        if rule in seen:
            return
        seen.add(rule)
        trace = evaluation.traces.get(rule)
        if trace is None:
            return
        inherited: set[str] = set()
        for read in trace.reads:
            if read not in program.rules:
                continue
            done = evaluation.rule(read)
            inherited |= done.readings
            if isinstance(done.value, Unknown):
                visit(read)
            else:
                out.update(done.readings)
        if trace.step is not None and _decides(trace.step):
            out.update(program.rules[rule].decl.uses.names)
            out.update(set(trace.readings) - inherited)  # of the zones, calendars and functions it used

    visit(name)
    return sorted(out)


def _decides(step: Step) -> bool:
    """Some part of the expression the reasoning shows is decided: a condition, a comparison, a sum.

    Reading a name or a literal decides nothing by itself (unless it is a labelled condition); of an
    `if` whose condition is undetermined only the condition is shown, not the branches.
    """
    known = not isinstance(step.value, Unknown) and step.error is None
    if known and (not isinstance(step.node, (ast.Name, ast.Literal, ast.Field)) or step.label is not None):
        return True
    children = step.children
    if isinstance(step.node, ast.If) and not known:
        children = children[:1]
    return any(_decides(child) for child in children)


def _readings(program: Program, stated: list[tuple[str, list[str]]], principal: list[str],
              addressed: list[str]) -> list[ReadingView]:
    """Every reading a stated result relied on, with the results it is relied on for (the outcomes first)."""
    names: list[str] = []
    users: dict[str, list[str]] = {}
    for result, relied in stated:
        for reading in relied:
            if reading not in names:
                names.append(reading)
            users.setdefault(reading, []).append(result)
    order = {name: index for index, name in enumerate(program.readings)}
    names.sort(key=lambda n: order.get(n, len(order)))
    out = []
    for name in names:
        decl = program.readings.get(name)
        if decl is None:
            continue
        by = users.get(name, [])
        shown = [n for n in by if n in principal] or [n for n in by if n in addressed] or by
        out.append(ReadingView(name, " ".join(decl.text.split()), [title(n) for n in shown]))
    return out


def _zone_notes(outcome: Outcome, relied: list[str]) -> list[ZoneNote]:
    """Fixed-offset times (e.g. EST read literally) on a day the home zone kept a different offset."""
    program = outcome.program
    home = program.home_zone
    place = fmt.place_name(program.header.home_zone)
    seen_rules: set[str] = set()
    stack = list(relied)
    moments: list[dt.datetime] = []
    while stack:
        name = stack.pop(0)
        if name in seen_rules:
            continue
        seen_rules.add(name)
        trace = outcome.evaluation.traces.get(name)
        if trace is None:
            continue
        if trace.step is not None:
            moments.extend(_datetimes(trace.step))
        if isinstance(trace.value, dt.datetime):
            moments.append(trace.value)
        stack.extend(r for r in trace.reads if r in program.rules)
    moments.extend(v for v in outcome.facts.values() if isinstance(v, dt.datetime))
    notes: list[ZoneNote] = []
    shown: set[tuple[dt.datetime, str]] = set()
    for moment in moments:
        local = fmt.home_clock(moment, home)
        if local is None:
            continue
        key = (moment, fmt.zone_name(moment, home))
        if key in shown:
            continue
        shown.add(key)
        kind = "daylight" if local.dst() else "standard"
        text = P(value_frag(f"{fmt.clock(moment)} {fmt.zone_name(moment, home)} on {fmt.date(moment)}"), " is ",
                 value_frag(f"{fmt.clock(local)} {local.tzname()}"),
                 f" in {place}, which observed {kind} time that day",
                 "" if local.date() == moment.date() else f" ({fmt.date(local)} there)", ".")
        notes.append(ZoneNote(text))
    notes.sort(key=lambda n: n.text.plain)
    return notes


def _datetimes(step: Step) -> list[dt.datetime]:
    out = [step.value] if isinstance(step.value, dt.datetime) else []
    for child in step.children:
        out.extend(_datetimes(child))
    return out


def _clauses(program: Program, cited: list[str]) -> list[SectionView]:
    order = list(program.sections)
    chosen = sorted({c for c in cited if c in program.sections}, key=order.index)
    out = []
    for citation in chosen:
        section = program.sections[citation]
        quotes = [" ".join(q.text.split()) for q in section.quotes]
        out.append(SectionView(citation, section.title, anchor(citation), quotes))
    return out
