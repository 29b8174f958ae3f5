"""The checker: names, types and units, cycles, citations, readings, quotes.

It turns the parsed files into a ``Program`` that the evaluator can run
without further checks, and reports every problem at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine import ast, limits
from engine import types as T
from engine.builtins import AGGREGATES, BUILTINS
from engine.calendars import financial_codes, named_zone, zone
from engine.errors import ClauseError, Diagnostic, SourceMap, Span, did_you_mean
from engine.periods import MONTH_END_RULES
from engine.quotes import SourceDocument, verify_quote
from engine.values import Member

if TYPE_CHECKING:  # the parser (lark) loads only when a contract is parsed, not from the cache
    from engine.parse import LoadedFiles


@dataclass(frozen=True)
class FactInfo:
    decl: ast.FactDecl
    type: T.Type


@dataclass(frozen=True)
class RuleInfo:
    """A ``define`` or a ``result``: a named, traced computation."""

    decl: ast.Define | ast.ResultDecl
    type: T.Type
    public: bool

    @property
    def name(self) -> str:
        return self.decl.name

    @property
    def section(self) -> str | None:
        return self.decl.section


@dataclass(frozen=True)
class FunctionInfo:
    decl: ast.FunctionDecl
    params: tuple[tuple[str, T.Type], ...]
    returns: T.Type


@dataclass
class Program:
    """A checked contract, ready to evaluate."""

    path: str
    header: ast.Header
    sections: dict[str, ast.Section]
    readings: dict[str, ast.Reading]
    zones: dict[str, dt.tzinfo]
    zone_decls: dict[str, ast.ZoneDecl]
    calendars: dict[str, ast.CalendarDecl]
    enums: dict[str, T.EnumType]
    records: dict[str, T.RecordType]
    facts: dict[str, FactInfo]
    rules: dict[str, RuleInfo]
    functions: dict[str, FunctionInfo]
    results: list[str]
    node_types: dict[int, T.Type]
    sources: SourceMap
    home_zone: dt.tzinfo
    # Sections cited by each rule: its own, then those its exceptions cite.
    cites: dict[str, list[str]] = field(default_factory=dict)
    # Conditions each record type's values must meet (checked with the facts).
    requirements: dict[str, tuple[ast.Requirement, ...]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    # How `date ± months` is read (engine/periods.py); required where months move a date.
    month_end: ast.ConventionDecl | None = None
    # Provisions amended: name → (effective date, "Amendment No. 2 § 1"), earliest first.
    amendments: dict[str, tuple[tuple[dt.date, str], ...]] = field(default_factory=dict)
    # The sections of included files that the main file does not itself have (the contract a side
    # letter amends), so memos can quote the provisions they cite from it.
    included_sections: dict[str, ast.Section] = field(default_factory=dict)
    # SHA-256 of the bytes of every file the check read (resolved path: digest).
    digests: dict[str, str] = field(default_factory=dict)
    # Functions that call themselves, directly or through other functions (evaluated
    # with memoisation and a depth bound; see recursive_functions).
    recursive: frozenset[str] = frozenset()
    # Problems that do not stop evaluation (a loop variable hiding a declared name).
    warnings: list[Diagnostic] = field(default_factory=list)

    # Each enum or scale member's words for people, where the clause file gives them.
    enum_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # For each reading that states its alternative: the contract checked with that reading's
    # replacement declarations in force, so a memo can say where the answer would differ.
    alternatives: dict[str, Program] = field(default_factory=dict)

    def section(self, citation: str) -> ast.Section | None:
        """A cited section of the file or, failing that, of a file it includes."""
        return self.sections.get(citation) or self.included_sections.get(citation)

    def all_sections(self) -> list[str]:
        """Every citation :meth:`section` finds, the file's own first, each in document order."""
        return [*self.sections, *(c for c in self.included_sections if c not in self.sections)]

    def cites_in_force(self, name: str, in_force_on: object) -> list[str]:
        """The sections a rule cites, the amendment in force on ``in_force_on`` included:
        "7(a), as amended by Amendment No. 2 § 1"."""
        cites = list(self.cites.get(name, []))
        applied = [cite for effective, cite in self.amendments.get(name, ())
                   if in_force_on is None or (isinstance(in_force_on, dt.date) and effective <= in_force_on)]
        if not applied:
            return cites
        original = self.rules[name].section if name in self.rules else None
        if original is not None and cites and cites[0] == original:
            cites[0] = f"{original}, as amended by {applied[-1]}"
        else:
            cites.insert(0, f"as amended by {applied[-1]}")
        return cites


def recursive_functions(functions: dict[str, FunctionInfo]) -> frozenset[str]:
    """The functions from which a chain of calls leads back to themselves."""
    calls = {name: {node.function for node in _nodes(info.decl.expr)
                    if isinstance(node, ast.Call) and node.function in functions}
             for name, info in functions.items()}
    recursive = set()
    for start in calls:
        seen: set[str] = set()
        stack = list(calls[start])
        while stack:
            callee = stack.pop()
            if callee == start:
                recursive.add(start)
                break
            if callee not in seen:
                seen.add(callee)
                stack.extend(calls[callee])
    return frozenset(recursive)

# The scenario's "as of" day: which provisions are in force, when a contract is amended. The same
# fact as the day a history is read to (Series B's `conversion_price_as_of`), so one day answers both.
IN_FORCE = "as_of"


# `{principal_to_convert}` in an explain sentence: the value of a fact or rule.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Declared names a loop variable or parameter can be mistaken for.
_SHADOWABLE = ("fact", "define", "result", "zone", "calendar")

_NAMESPACE_KINDS = ("fact", "define", "result", "function", "zone", "calendar", "type", "reading")


class _Checker:
    def __init__(self, loaded: LoadedFiles, main_path: str):
        self.loaded = loaded
        self.main_path = main_path
        self.diagnostics: list[Diagnostic] = list(loaded.diagnostics)
        self.broken = loaded.broken_names
        self.names: dict[str, tuple[str, Span]] = {}
        self.readings: dict[str, ast.Reading] = {}
        self.zone_decls: dict[str, ast.ZoneDecl] = {}
        self.zones: dict[str, dt.tzinfo] = {}
        self.calendars: dict[str, ast.CalendarDecl] = {}
        self.enum_decls: dict[str, ast.EnumDecl] = {}
        self.record_decls: dict[str, ast.RecordDecl] = {}
        self.enums: dict[str, T.EnumType] = {}
        self.records: dict[str, T.RecordType] = {}
        self.fact_decls: dict[str, ast.FactDecl] = {}
        self.rule_decls: dict[str, ast.Define | ast.ResultDecl] = {}
        self.function_decls: dict[str, ast.FunctionDecl] = {}
        self.facts: dict[str, FactInfo] = {}
        self.rules: dict[str, RuleInfo] = {}
        self.functions: dict[str, FunctionInfo] = {}
        self.results: list[str] = []
        self.warnings: list[Diagnostic] = []
        self.node_types: dict[int, T.Type] = {}
        self.sections: dict[str, ast.Section] = {}
        self.rule_stack: list[str] = []
        self.used_readings: set[str] = set()
        self.cites: dict[str, list[str]] = {}
        self.enum_argument = False
        self.month_end: ast.ConventionDecl | None = None
        self.more_alternatives: dict[str, list[ast.Declaration]] = {}
        self.verify_quotes = True  # off when an alternative is checked: the contract's quotes were
        self.misquoted: set[str] = set()  # sections whose text is not the source's (their pinpoints wait)
        self.amendment_decls: list[ast.Amendment] = []
        # Every file's sections, for the pinpoints of an included file's rules.
        self.file_sections: dict[tuple[str, str], ast.Section] = {}
        self.amended: dict[str, tuple[tuple[dt.date, str], ...]] = {}

    def error(self, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span, help))

    def warn(self, message: str, span: Span | None, help: str | None = None) -> None:
        warning = Diagnostic(message, span, help, severity="warning")
        if warning not in self.warnings:  # an expression may be inferred more than once
            self.warnings.append(warning)

    def warn_if_shadowing(self, name: str, span: Span, what: str, inside: str) -> None:
        """A local name (loop variable, parameter) that hides a declared one: within
        ``inside`` the name means the local, which a reader may well not expect."""
        declared = self.names.get(name)
        if declared is None or declared[0] not in _SHADOWABLE:
            return
        kind, where = declared
        self.warn(f"the {what} `{name}` hides the {kind} `{name}` (declared at {where}); {inside}, `{name}` "
                  f"means the {what}, not the {kind}", span,
                  help=f"rename the {what}, e.g. `{'each' if what == 'loop variable' else 'given'}_{name}`")

    # ------------------------------------------------------------ symbols
    def declare(self, name: str, kind: str, span: Span) -> bool:
        if name in self.names:
            other_kind, other_span = self.names[name]
            amendable = kind in ("fact", "define", "result") and other_kind in ("fact", "define", "result")
            self.error(f"`{name}` is already declared as a {other_kind} at {other_span}", span,
                       help=f"to supersede that provision from a date, write `amend {name} effective YYYY-MM-DD = ...`"
                       if amendable and other_span.file != span.file else None)
            return False
        if name in BUILTINS or name in AGGREGATES:
            self.error(f"`{name}` is a built-in function and cannot be redeclared", span)
            return False
        if name in T.PRIMITIVES:
            self.error(f"`{name}` is a built-in type and cannot be redeclared", span)
            return False
        self.names[name] = (kind, span)
        return True

    def collect(self) -> None:
        main_file = self.loaded.files[-1] if self.loaded.files else None
        for file in self.loaded.files:
            declarations: list[ast.Declaration] = list(file.declarations)
            for section in file.sections:
                self.file_sections[(file.path, section.citation)] = section
                if file is main_file:
                    if section.citation in self.sections:
                        twice = (f"the term \"{section.term}\" is defined twice in section \"{section.within}\""
                                 if section.term else f"section \"{section.citation}\" is declared twice")
                        self.error(twice, section.span,
                                   help=f"the first is at {self.sections[section.citation].span}")
                    else:
                        self.sections[section.citation] = section
                declarations.extend(section.declarations)
            document = file.header.title if file.header is not None else Path(file.path).stem
            for decl in declarations:
                if isinstance(decl, ast.Amendment):
                    self.amendment_decls.append(replace(decl, document=document))
                    continue
                self._collect_one(decl, is_main=file is main_file)

    def apply_amendments(self) -> None:
        """Each amended provision becomes the one in force on `as_of`: the latest
        amendment effective on or before that day, else the original."""
        if not self.amendment_decls:
            return
        first = self.amendment_decls[0]
        declared = self.fact_decls.get(IN_FORCE)
        optional = False
        if declared is None:
            in_force_fact = ast.FactDecl(IN_FORCE, ast.NamedTypeRef("date", first.span), None,
                                         "the day the scenario is read as of (an amendment applies from "
                                         "its effective date)", None, first.span)
            if self.declare(IN_FORCE, "fact", first.span):
                self.fact_decls[IN_FORCE] = in_force_fact
        else:
            declared_type = self.resolve_type(declared.type)
            optional = declared_type == T.OptionalType(T.DATE)
            if declared_type != T.DATE and not optional:
                self.error(f"`{IN_FORCE}` is {declared_type}, but amendments read it as the day the "
                           "provisions in force are read", declared.span,
                           help=f"declare `fact {IN_FORCE}: date` (or `optional date`)")
                return
        by_name: dict[str, list[ast.Amendment]] = {}
        for amendment in self.amendment_decls:
            by_name.setdefault(amendment.name, []).append(amendment)
        for name, amendments in by_name.items():
            amendments.sort(key=lambda a: a.effective)  # type: ignore[arg-type, return-value]
            for earlier, later in itertools.pairwise(amendments):
                if earlier.effective == later.effective:
                    self.error(f"`{name}` is amended twice effective {later.effective}", later.span,
                               help=f"the other amendment is at {earlier.span}")
            rule = self.rule_decls.get(name)
            fact = self.fact_decls.get(name)
            if rule is not None:
                original = rule.expr
            elif fact is not None and fact.default is not None:
                original = fact.default
            else:
                problem = (f"fact `{name}` has no default to amend" if fact is not None
                           else f"`{name}` is not a provision this contract or its includes define")
                self.error(problem, amendments[0].span,
                           help=did_you_mean(name, [*self.rule_decls, *self.fact_decls])
                           or "an amendment supersedes a define, a result or a fact's default")
                continue
            expr = original
            for a in amendments:
                in_force: ast.Expr = ast.Compare(
                    ">=", ast.Name(IN_FORCE, a.span), ast.Literal("date", a.effective, str(a.effective), a.span),
                    a.span, a.span)
                if optional:  # no day asked about (none): the provisions as last amended
                    in_force = ast.Binary("or", ast.IsNone(ast.Name(IN_FORCE, a.span), False, a.span), in_force,
                                          a.span, a.span)
                amending = f"{a.document} § {a.section}" if a.section else str(a.document)
                expr = ast.If(in_force, a.expr, expr, a.span, amendment=(a.effective, amending))
            cites = tuple((a.effective, f"{a.document} § {a.section}" if a.section else str(a.document))
                          for a in amendments)
            self.amended[name] = cites  # type: ignore[assignment]
            if rule is not None:
                names = rule.uses.names + tuple(n for a in amendments for n in a.uses.names)
                spans = rule.uses.spans + tuple(s for a in amendments for s in a.uses.spans)
                self.rule_decls[name] = replace(rule, expr=expr, uses=ast.Uses(names, spans))
            elif fact is not None:
                self.fact_decls[name] = replace(fact, default=expr)
                for a in amendments:
                    self.check_uses(a.uses)

    def _collect_one(self, decl: ast.Declaration, is_main: bool) -> None:
        if isinstance(decl, ast.ReadingAlternative):
            self.more_alternatives.setdefault(decl.name, []).extend(decl.declarations)
        elif isinstance(decl, ast.Reading):
            # Readings have a namespace of their own: `uses` is the only place
            # they are named, so a reading may share a rule's name.
            if decl.name in self.readings:
                self.error(f"reading `{decl.name}` is already declared at {self.readings[decl.name].span}",
                           decl.span)
            else:
                self.readings[decl.name] = decl
        elif isinstance(decl, ast.ZoneDecl):
            if self.declare(decl.name, "zone", decl.span):
                self.zone_decls[decl.name] = decl
                try:
                    self.zones[decl.name] = zone(decl.fixed_offset, decl.tz_name, decl.name)
                except ValueError as problem:
                    self.error(str(problem), decl.spec_span)
        elif isinstance(decl, ast.CalendarDecl):
            if self.declare(decl.name, "calendar", decl.span):
                self.calendars[decl.name] = decl
                if decl.financial_code not in financial_codes():
                    self.error(
                        f"`{decl.financial_code}` is not a financial calendar of the holidays library",
                        decl.code_span,
                        help=did_you_mean(decl.financial_code, financial_codes())
                        or "use XFED (Federal Reserve) or XNYS (New York Stock Exchange)",
                    )
        elif isinstance(decl, ast.EnumDecl):
            if self.declare(decl.name, "scale" if decl.ordered else "enum", decl.span):
                self.enum_decls[decl.name] = decl
                duplicates = {m for m in decl.members if decl.members.count(m) > 1}
                if duplicates:
                    self.error(f"{decl.name} lists {', '.join(sorted(duplicates))} more than once", decl.span)
                self.enums[decl.name] = T.EnumType(decl.name, decl.members, decl.ordered)
        elif isinstance(decl, ast.RecordDecl):
            if self.declare(decl.name, "record", decl.span):
                self.record_decls[decl.name] = decl
        elif isinstance(decl, ast.FactDecl):
            if self.declare(decl.name, "fact", decl.span):
                self.fact_decls[decl.name] = decl
        elif isinstance(decl, (ast.Define, ast.ResultDecl)):
            kind = "result" if isinstance(decl, ast.ResultDecl) else "define"
            if self.declare(decl.name, kind, decl.span):
                self.rule_decls[decl.name] = decl
                if isinstance(decl, ast.ResultDecl):
                    self.results.append(decl.name)
        elif isinstance(decl, ast.ConventionDecl):
            self.collect_convention(decl)
        elif isinstance(decl, ast.FunctionDecl) and self.declare(decl.name, "function", decl.span):
            self.function_decls[decl.name] = decl

    def collect_convention(self, decl: ast.ConventionDecl) -> None:
        if decl.kind != "month_end":
            self.error(f"unknown convention `{decl.kind}`", decl.span,
                       help="the convention a contract states is `month_end` (how months move a date)")
        elif decl.rule not in MONTH_END_RULES:
            self.error(f"unknown month-end rule `{decl.rule}`", decl.rule_span,
                       help=did_you_mean(decl.rule, MONTH_END_RULES) or "use one of " + ", ".join(MONTH_END_RULES))
        elif self.month_end is not None:
            self.error(f"the month-end convention is already stated at {self.month_end.span}", decl.span)
        else:
            self.month_end = decl

    # ------------------------------------------------------------ types
    def resolve_type(self, ref: ast.TypeRef) -> T.Type:
        if isinstance(ref, ast.OptionalTypeRef):
            inner = self.resolve_type(ref.inner)
            return inner if inner == T.ERROR else T.OptionalType(inner)
        if isinstance(ref, ast.ListTypeRef):
            element = self.resolve_type(ref.element)
            return element if element == T.ERROR else T.ListType(element)
        if ref.name in T.PRIMITIVES:
            return T.PRIMITIVES[ref.name]
        if ref.name in self.enums:
            return self.enums[ref.name]
        if ref.name in self.records:
            return self.records[ref.name]
        if ref.name in self.record_decls:
            return self.resolve_record(ref.name)
        if ref.name not in self.broken:
            known = [*T.PRIMITIVES, *self.enums, *self.record_decls]
            self.error(f"unknown type `{ref.name}`", ref.span, help=did_you_mean(ref.name, known))
        return T.ERROR

    def resolve_record(self, name: str) -> T.Type:
        if name in self.records:
            return self.records[name]
        decl = self.record_decls[name]
        self.records[name] = T.RecordType(name, ())  # breaks self-reference loops
        fields = []
        seen: set[str] = set()
        for f in decl.fields:
            if f.name in seen:
                self.error(f"record {name} has two fields named `{f.name}`", f.span)
            seen.add(f.name)
            fields.append((f.name, self.resolve_type(f.type)))
        defaults = tuple((f.name, value) for f, (_, ftype) in zip(decl.fields, fields, strict=True)
                         if f.default is not None
                         for value in self.field_default(name, f.name, f.default, ftype))
        self.records[name] = T.RecordType(name, tuple(fields), defaults)
        return self.records[name]

    def field_default(self, record: str, name: str, default: ast.Expr, ftype: T.Type) -> list[object]:
        """The value of a field's default ([] after reporting one that is not a constant of its type)."""
        value: object
        if isinstance(default, ast.Literal):
            value = default.value
        elif isinstance(default, ast.Field) and isinstance(default.target, ast.Name) \
                and default.target.name in self.enums:
            enum = self.enums[default.target.name]
            if default.name not in enum.members:
                self.error(f"{enum.name} has no member `{default.name}`", default.span,
                           help=did_you_mean(default.name, enum.members))
                return []
            value = Member(enum.name, default.name, enum.members.index(default.name))
        else:
            self.error(f"the default of field `{name}` of {record} must be a literal or an enum member",
                       default.span)
            return []
        found = self.infer(default, {})
        if not T.assignable(found, ftype):
            self.error(f"the default of field `{name}` of {record} is {_a(found)}, but the field is {_a(ftype)}",
                       default.span)
            return []
        return [value]

    def check_requirements(self) -> None:
        for name, decl in self.record_decls.items():
            record = self.records.get(name)
            if not isinstance(record, T.RecordType):
                continue
            scope = dict(record.fields)
            for requirement in decl.requirements:
                self.expect_boolean(requirement.condition, scope, "a record requirement")

    def check_declarations(self) -> None:
        for name in self.record_decls:
            self.resolve_record(name)
        for name, fact in self.fact_decls.items():
            self.facts[name] = FactInfo(fact, self.resolve_type(fact.type))
        for name, function in self.function_decls.items():
            params = tuple((p.name, self.resolve_type(p.type)) for p in function.params)
            self.functions[name] = FunctionInfo(function, params, self.resolve_type(function.type))
        for name in self.rule_decls:
            self.rule_type(name)
        self.check_requirements()
        for name, info in self.facts.items():
            if info.decl.default is not None:
                found = self.infer(info.decl.default, {})
                if not T.assignable(found, info.type):
                    self.error(f"the default of `{name}` is {_a(found)}, but the fact is {_a(info.type)}",
                               info.decl.default.span)
        for name, signature in self.functions.items():
            for param in signature.decl.params:
                self.warn_if_shadowing(param.name, param.span, "parameter", f"in the body of `{name}`")
            scope = dict(signature.params)
            found = self.infer(signature.decl.expr, scope)
            if not T.assignable(found, signature.returns):
                self.error(f"`{name}` is declared to return {_a(signature.returns)}, but its body is {_a(found)}",
                           signature.decl.expr.span)
            self.check_uses(signature.decl.uses)
        for zone_decl in self.zone_decls.values():
            self.check_uses(zone_decl.uses)
        if self.month_end is not None:
            self.check_uses(self.month_end.uses)
        for calendar_decl in self.calendars.values():
            self.check_uses(calendar_decl.uses)

    def rule_type(self, name: str) -> T.Type:
        if name in self.rules:
            return self.rules[name].type
        decl = self.rule_decls[name]
        if name in self.rule_stack:
            members = self.rule_stack[self.rule_stack.index(name):]
            cycle = " → ".join([*members, name])
            if any(self.rule_decls[member].circular for member in members):
                # A cycle through a rule marked `circular`: solved at evaluation (evaluate.py).
                if decl.type is not None:
                    return self.resolve_type(decl.type)
                self.error(f"`{name}` is part of a circular definition ({cycle}): declare its type",
                           decl.span, help=f"e.g. `define {name}: decimal = ...`")
                return T.ERROR
            self.error(f"circular definition: {cycle}", decl.span,
                       help="a rule cannot depend on itself, directly or through others; if the contract "
                       "defines it so, mark the rule `circular` and it is solved exactly (docs/language.md)")
            return T.ERROR
        self.rule_stack.append(name)
        declared = self.resolve_type(decl.type) if decl.type is not None else None
        found = self.infer(decl.expr, {}, rule=name)
        self.rule_stack.pop()
        if declared is not None and not T.assignable(found, declared):
            self.error(f"`{name}` is declared as {_a(declared)}, but its rule computes {_a(found)}",
                       decl.expr.span)
        final = declared if declared is not None else found
        if decl.circular and declared is None:
            self.error(f"the circular rule `{name}` needs a declared type", decl.span,
                       help=f"e.g. `define {name}: decimal = ... circular`")
        elif decl.circular and final not in (T.MONEY, T.DECIMAL, T.INTEGER) and not T.is_error(final):
            self.error(f"a circular rule is solved for a number, money or a decimal, not {_a(final)}",
                       decl.span)
        self.rules[name] = RuleInfo(decl, final, isinstance(decl, ast.ResultDecl))
        self.check_uses(decl.uses)
        if isinstance(decl, ast.ResultDecl):
            for explain in decl.explains:
                self.check_explain(explain)
        citations = [decl.section] if decl.section else []
        for citation in _citations(decl.expr):
            if citation not in citations:
                citations.append(citation)
        self.cites[name] = citations
        return final

    def check_pinpoint(self, decl: ast.Define | ast.ResultDecl) -> None:
        """A rule's `quote "..."` must be words of its own section's text."""
        if decl.pinpoint is None or not self.verify_quotes or decl.section in self.misquoted:
            return
        section = self.file_sections.get((decl.span.file, decl.section or ""))
        if section is None:
            self.error("`quote` points at the words of the rule's section; this rule is in no section",
                       decl.pinpoint_span, help="move the rule into the section whose text it quotes")
            return
        wanted = _fold(decl.pinpoint)
        if not any(wanted in _fold(q.text) for q in section.quotes):
            self.error(f"the quoted words are not in the text of section \"{section.citation}\"",
                       decl.pinpoint_span, help="quote words exactly as the section's `text` writes them")

    def check_memo_header(self, header: ast.Header) -> None:
        for name, span in zip(header.headline, header.headline_spans, strict=False):
            if name not in self.results and name not in self.broken:
                self.error(f"`{name}` is not a result of this contract", span,
                           help=did_you_mean(name, self.results) or "`headline` names results")

    def check_explain(self, explain: ast.Explain) -> None:
        if explain.condition is not None:
            self.expect_boolean(explain.condition, {}, "the condition of `explain when`")
        for match in PLACEHOLDER.finditer(explain.text):
            name = match[1]
            if name not in self.fact_decls and name not in self.rule_decls and name not in self.broken:
                self.error(f"unknown name `{name}` in an explain sentence", explain.span,
                           help=did_you_mean(name, [*self.fact_decls, *self.rule_decls])
                           or "write {name} with the name of a fact or a rule")

    def check_uses(self, uses: ast.Uses) -> None:
        for name, span in zip(uses.names, uses.spans, strict=False):
            if name not in self.readings and name not in self.broken:
                self.error(f"unknown reading `{name}`", span, help=did_you_mean(name, self.readings))
            self.used_readings.add(name)

    # ------------------------------------------------------------ expressions
    def infer(self, expr: ast.Expr, scope: dict[str, T.Type], rule: str | None = None) -> T.Type:
        found = self._infer(expr, scope)
        self.node_types[id(expr)] = found
        return found

    def _infer(self, e: ast.Expr, scope: dict[str, T.Type]) -> T.Type:
        if isinstance(e, ast.Literal):
            return _LITERAL_TYPES[e.kind]
        if isinstance(e, ast.Name):
            return self.infer_name(e, scope)
        if isinstance(e, ast.Field):
            return self.infer_field(e, scope)
        if isinstance(e, ast.Call):
            return self.infer_call(e, scope)
        if isinstance(e, ast.Aggregate):
            return self.infer_aggregate(e, scope)
        if isinstance(e, ast.Conditions):
            for item in e.items:
                self.expect_boolean(item.expr, scope, "a condition")
                if e.quantifier == "all":
                    scope = _narrowed(item.expr, scope, self.value_types(), True)
            return T.BOOLEAN
        if isinstance(e, ast.RecordLiteral):
            return self.infer_record_literal(e, scope)
        if isinstance(e, ast.ListLiteral):
            items = [self.infer(i, scope) for i in e.items]
            known = [t for t in items if not T.is_error(t)]
            if not known:
                return T.ListType(T.ANY)
            first = known[0]
            for element, t in zip(e.items, items, strict=False):
                if not T.assignable(t, first):
                    self.error(f"a list holds values of one type: this is {_a(t)}, the first is {_a(first)}",
                               element.span)
            return T.ListType(first)
        if isinstance(e, ast.If):
            self.expect_boolean(e.condition, scope, "the condition of `if`")
            then = self.infer(e.then, _narrowed(e.condition, scope, self.value_types(), True))
            other = self.infer(e.otherwise, _narrowed(e.condition, scope, self.value_types(), False))
            if T.assignable(other, then):
                return then if then != T.NONE else _optional(other)
            if T.assignable(then, other):
                return other
            if then == T.NONE:
                return _optional(other)
            if other == T.NONE:
                return _optional(then)
            if e.amendment is not None:
                self.error(f"the amendment gives {_a(then)}, but the provision it supersedes gives {_a(other)}",
                           e.then.span)
                return other
            self.error(f"the branches of `if` differ: {_a(then)} and {_a(other)}", e.span)
            return T.ERROR
        if isinstance(e, ast.Unless):
            self.expect_boolean(e.rule, scope, "the rule before `unless`")
            self.expect_boolean(e.exception, scope, "the exception after `unless`")
            if e.citation is not None and e.citation not in self.sections:
                self.error(f"no section \"{e.citation}\" in this contract", e.citation_span,
                           help=did_you_mean(e.citation, self.sections))
            return T.BOOLEAN
        if isinstance(e, ast.Otherwise):
            value = self.infer(e.value, scope)
            fallback = self.infer(e.fallback, scope)
            base = T.strip_optional(value)
            if not isinstance(value, T.OptionalType) and value != T.NONE and not T.is_error(value):
                self.error(f"`otherwise` needs an optional value, but this is always {_a(value)}", e.value.span)
            if not T.assignable(fallback, base) and not T.is_error(base):
                self.error(f"the fallback is {_a(fallback)}, but the value is {_a(base)}", e.fallback.span)
            return fallback if base == T.NONE else base
        if isinstance(e, ast.Binary):
            if e.op in ("and", "or"):
                self.expect_boolean(e.left, scope, f"the left side of `{e.op}`")
                # `x is not none and x > y`: the right side only runs when the left held
                # (or, for `or`, when it failed), so x is known not to be none there.
                right_scope = _narrowed(e.left, scope, self.value_types(), e.op == "and")
                self.expect_boolean(e.right, right_scope, f"the right side of `{e.op}`")
                return T.BOOLEAN
            left = self.present(e.left, scope)
            right = self.present(e.right, scope)
            outcome = T.arithmetic(e.op, left, right)
            if e.op == "^" and outcome == T.INTEGER and not isinstance(e.right, ast.Literal):
                outcome = T.DECIMAL  # the exponent may be negative: 2 ^ -1 is 0.5
            if e.op == "^" and isinstance(e.right, ast.Literal) and not isinstance(e.right.value, int):
                outcome = "the exponent must be a whole number: x ^ 0.5 (a root) is not exact"
            if outcome == T.DATE and T.PERIOD in (left, right) and self.month_end is None:
                self.error("moving a date by months needs the contract's month-end convention", e.span,
                           help="state it once, e.g. `convention month_end = end_of_month uses month_end_reading`"
                           f" ({', '.join(MONTH_END_RULES)}; see docs/language.md)")
            if isinstance(outcome, str):
                hint = None
                if e.op == "*" and left == right == T.MONEY:
                    hint = "money × money has no meaning; money ÷ money gives a ratio"
                elif e.op in "+-" and T.MONEY in (left, right) and {left, right} & {T.DATE, T.DATETIME}:
                    hint = "dates move by durations, e.g. `date + 30 days`"
                self.error(outcome, e.op_span if e.op_span.line else e.span, help=hint)
                return T.ERROR
            return outcome
        if isinstance(e, ast.Compare):
            left = self.infer(e.left, scope)
            right = self.infer(e.right, scope)
            problem = T.comparable(e.op, left, right)
            if problem is None and e.op not in ("=", "!=") and (
                isinstance(left, T.OptionalType) or isinstance(right, T.OptionalType)
            ):
                problem = "an optional value may be none; compare `x otherwise ...` or test `x is none` first"
            if problem:
                self.error(problem, e.op_span if e.op_span.line else e.span)
            return T.BOOLEAN
        if isinstance(e, ast.Not):
            self.expect_boolean(e.operand, scope, "the operand of `not`")
            return T.BOOLEAN
        if isinstance(e, ast.Negate):
            t = self.present(e.operand, scope)
            if t not in (*T.NUMERIC, T.DURATION, T.PERIOD) and not T.is_error(t):
                self.error(f"cannot negate {_a(t)}", e.span)
                return T.ERROR
            return t
        if isinstance(e, ast.IsNone):
            self.infer(e.operand, scope)
            return T.BOOLEAN
        if isinstance(e, ast.Index):
            return self.infer_index(e, scope)
        if isinstance(e, ast.RecordUpdate):
            return self.infer_record_update(e, scope)
        if isinstance(e, ast.Sort):
            return self.infer_sort(e, scope)
        if isinstance(e, ast.InEffect):
            return self.infer_in_effect(e, scope)
        if isinstance(e, ast.Fold):
            return self.infer_fold(e, scope)
        raise AssertionError(e)

    # ------------------------------------------------------------ lists in order
    def list_of(self, e: ast.Expr, scope: dict[str, T.Type], what: str) -> T.Type:
        """The element type of a list operand (ERROR, reported, when it is not a list)."""
        source = self.present(e, scope)
        if T.is_error(source):
            return T.ERROR
        if not isinstance(source, T.ListType):
            self.error(f"{what} goes over a list, but this is {_a(source)}", e.span)
            return T.ERROR
        return source.element

    def path_type(self, element: T.Type, path: tuple[str, ...], span: Span) -> T.Type:
        """The type of ``.a.b`` on an item of type ``element``."""
        current = element
        for name in path:
            if T.is_error(current):
                return T.ERROR
            base = T.strip_optional(current)
            if not isinstance(base, T.RecordType):
                self.error(f"`.{'.'.join(path)}`: {_a(current)} has no fields", span)
                return T.ERROR
            found = base.field(name)
            if found is None:
                self.error(f"{base.name} has no field `{name}`", span,
                           help=did_you_mean(name, [n for n, _ in base.fields]))
                return T.ERROR
            current = found
        return current

    def ordered_key(self, key: T.Type, path: tuple[str, ...], span: Span) -> None:
        if T.is_error(key):
            return
        if isinstance(key, T.OptionalType):
            self.error(f"`.{'.'.join(path)}` may be none, and none has no place in an order", span)
        elif T.comparable("<", key, key) is not None:
            self.error(f"cannot order by `.{'.'.join(path)}`: {_a(key)} has no order", span)

    def infer_index(self, e: ast.Index, scope: dict[str, T.Type]) -> T.Type:
        element = self.list_of(e.target, scope, "`[...]`")
        index = self.present(e.index, scope)
        if index != T.INTEGER and not T.is_error(index):
            self.error(f"a list is indexed by a whole number (0 is the first, -1 the last), not {_a(index)}",
                       e.index.span)
        return element

    def infer_record_update(self, e: ast.RecordUpdate, scope: dict[str, T.Type]) -> T.Type:
        target = self.present(e.target, scope)
        values = [(name, value, self.infer(value, scope)) for name, value in e.fields]
        if T.is_error(target):
            return T.ERROR
        if not isinstance(target, T.RecordType):
            self.error(f"`with` replaces fields of a record, but this is {_a(target)}", e.target.span)
            return T.ERROR
        seen: set[str] = set()
        for name, value, found in values:
            wanted = target.field(name)
            if name in seen:
                self.error(f"field `{name}` is replaced twice", value.span)
            seen.add(name)
            if wanted is None:
                self.error(f"{target.name} has no field `{name}`", value.span,
                           help=did_you_mean(name, [n for n, _ in target.fields]))
            elif not T.assignable(found, wanted):
                self.error(f"field `{name}` of {target.name} is {_a(wanted)}, not {found}", value.span)
        return target

    def infer_sort(self, e: ast.Sort, scope: dict[str, T.Type]) -> T.Type:
        element = self.list_of(e.source, scope, "`sort`")
        if T.is_error(element):
            return T.ERROR
        for path in e.keys:
            self.ordered_key(self.path_type(element, path, e.span), path, e.span)
        return T.ListType(element)

    def infer_in_effect(self, e: ast.InEffect, scope: dict[str, T.Type]) -> T.Type:
        element = self.list_of(e.source, scope, "`in_effect`")
        on = self.present(e.on, scope)
        if T.is_error(element):
            return T.ERROR
        key = self.path_type(element, e.key, e.span)
        self.ordered_key(key, e.key, e.span)
        if not T.is_error(key, on) and T.comparable("<=", key, on) is not None:
            self.error(f"`.{'.'.join(e.key)}` is {_a(key)}, but the day asked about is {_a(on)}", e.on.span)
        return _optional(element)

    def infer_fold(self, e: ast.Fold, scope: dict[str, T.Type]) -> T.Type:
        state = self.infer(e.initial, scope)
        element = self.list_of(e.source, scope, f"`{e.kind}`")
        if T.is_error(element):
            element = T.ERROR
        for name in (e.state, e.variable):
            if name in self.facts or name in self.rule_decls:
                self.error(f"`{name}` names the {'state' if name == e.state else 'item'} here and also a "
                           f"{'fact' if name in self.facts else 'rule'}: choose another name", e.span)
        if e.state == e.variable:
            self.error(f"the state and the item are both called `{e.state}`", e.span)
        inner = {**scope, e.variable: element, e.state: state}
        body = self.infer(e.body, inner)
        if not T.assignable(body, state) and T.assignable(state, body):
            # `s = 0 for ...: s + e.amount`: the state takes the type its steps compute.
            state = body
            body = self.infer(e.body, {**inner, e.state: state})
        if not T.assignable(body, state):
            self.error(f"each step of `{e.kind}` must give the state's type, {_a(state)}, but this is {_a(body)}",
                       e.body.span)
            return T.ERROR
        return T.ListType(state) if e.kind == "scan" else state

    def present(self, e: ast.Expr, scope: dict[str, T.Type]) -> T.Type:
        """The type of an operand that must not be none."""
        t = self.infer(e, scope)
        if isinstance(t, T.OptionalType):
            self.error("this value may be none; give a fallback with `otherwise`", e.span)
            return t.inner
        return t

    def expect_boolean(self, e: ast.Expr, scope: dict[str, T.Type], what: str) -> None:
        t = self.infer(e, scope)
        if t != T.BOOLEAN and not T.is_error(t):
            self.error(f"{what} must be a boolean, not {t}", e.span)

    def value_types(self) -> Mapping[str, T.Type]:
        """Types of the facts and rules checked so far, for narrowing: a view, not a copy (a copy
        per `if` and `and` made checking quadratic in the size of the file)."""
        return _ValueTypes(self.facts, self.rules)

    def infer_name(self, e: ast.Name, scope: dict[str, T.Type]) -> T.Type:
        name = e.name
        if name in scope:
            return scope[name]
        if name in self.facts:
            return self.facts[name].type
        if name in self.rule_decls:
            return self.rule_type(name)
        if name in self.zones:
            return T.ZONE
        if name in self.zone_decls:
            return T.ERROR
        if name in self.calendars:
            return T.CALENDAR
        if name in T.ROUNDING_MODES:
            return T.ROUNDING
        if name in self.enums and self.enum_argument:
            return T.ENUM_TYPE
        if name in self.enums:
            self.error(f"`{name}` is a type; name one of its members, e.g. {name}.{self.enums[name].members[0]}",
                       e.span)
            return T.ERROR
        if name in self.function_decls:
            self.error(f"`{name}` is a function; call it with its arguments", e.span)
            return T.ERROR
        if name not in self.broken:
            if name in self.readings:
                self.error(f"`{name}` is a reading; attach it to a rule with `uses {name}`", e.span)
                return T.ERROR
            candidates = [*scope, *self.facts, *self.rule_decls, *self.zones, *self.calendars]
            self.error(f"unknown name `{name}`", e.span, help=did_you_mean(name, candidates))
        return T.ERROR

    def infer_field(self, e: ast.Field, scope: dict[str, T.Type]) -> T.Type:
        if isinstance(e.target, ast.Name) and e.target.name in self.enums and e.target.name not in scope:
            enum = self.enums[e.target.name]
            self.node_types[id(e.target)] = enum
            if e.name not in enum.members:
                self.error(f"{enum.name} has no member `{e.name}`", e.span,
                           help=did_you_mean(e.name, enum.members))
                return T.ERROR
            return enum
        target = self.present(e.target, scope)
        if T.is_error(target):
            return T.ERROR
        if isinstance(target, T.RecordType):
            found = target.field(e.name)
            if found is None:
                self.error(f"{target.name} has no field `{e.name}`", e.span,
                           help=did_you_mean(e.name, [n for n, _ in target.fields]))
                return T.ERROR
            return found
        self.error(f"{_a(target)} has no fields", e.span)
        return T.ERROR

    def infer_call(self, e: ast.Call, scope: dict[str, T.Type]) -> T.Type:
        if e.function in self.enums:
            enum = self.enums[e.function]
            if len(e.args) != 1:
                self.error(f"{enum.name}(text) takes one text", e.span)
                return T.ERROR
            arg = e.args[0]
            found = self.infer(arg, scope)
            if isinstance(arg, ast.Literal) and arg.kind == "text" and arg.value not in enum.members:
                self.error(f"{enum.name} has no member \"{arg.value}\"", arg.span,
                           help=did_you_mean(str(arg.value), enum.members))
            elif found != T.TEXT and not T.is_error(found):
                self.error(f"{enum.name}(...) converts a text, not {_a(found)}", arg.span)
            return enum
        if e.function in self.function_decls:
            info = self.functions.get(e.function)
            if info is None:
                return T.ERROR
            if len(e.args) != len(info.params):
                self.error(f"`{e.function}` takes {len(info.params)} argument(s), got {len(e.args)}", e.span)
            for arg, (pname, ptype) in zip(e.args, info.params, strict=False):
                found = self.infer(arg, scope)
                if not T.assignable(found, ptype):
                    self.error(f"`{pname}` of `{e.function}` must be {_a(ptype)}, not {found}", arg.span)
            return info.returns
        builtin = BUILTINS.get(e.function)
        if builtin is None:
            if e.function in AGGREGATES:
                self.error(f"`{e.function}` aggregates over a list: {e.function}(x for x in items)", e.span)
                return T.ERROR
            if e.function not in self.broken:
                candidates = [*BUILTINS, *self.function_decls, *self.enums]
                self.error(f"unknown function `{e.function}`", e.function_span,
                           help=did_you_mean(e.function, candidates))
            return T.ERROR
        arg_types: list[T.Type] = []
        for position, arg in enumerate(e.args):
            if e.function == "member_of" and position == 0:
                # The one place a type is an argument: member_of(Moodys, rating).
                self.enum_argument = True
                try:
                    arg_types.append(self.infer(arg, scope))
                finally:
                    self.enum_argument = False
                continue
            if e.function == "round" and position == 2 and isinstance(arg, ast.Name) \
                    and arg.name not in T.ROUNDING_MODES and arg.name not in scope:
                self.error(f"unknown rounding mode `{arg.name}`", arg.span,
                           help=did_you_mean(arg.name, T.ROUNDING_MODES)
                           or "use one of " + ", ".join(T.ROUNDING_MODES))
                arg_types.append(T.ERROR)
                continue
            arg_types.append(self.infer(arg, scope))
        outcome = builtin.check(arg_types, e.args)
        if isinstance(outcome, str):
            self.error(f"{e.function}: {outcome}", e.span, help=f"usage: {builtin.usage}")
            return T.ERROR
        if e.function == "round" and len(e.args) == 3:
            increment = e.args[1]
            if not isinstance(increment, ast.Literal):
                self.error("the rounding increment must be written out, e.g. $0.001", increment.span)
            elif outcome == T.INTEGER and increment.value != 1:
                self.error("rounding to a whole number of units uses the increment 1", increment.span)
        return outcome

    def variable_span(self, e: ast.Aggregate) -> Span:
        """Where ``for NAME in`` names the loop variable (the aggregate's own span if not found)."""
        text = self.loaded.sources.text(e.span)
        found = re.search(rf"\bfor\s+({re.escape(e.variable)})\b", text)
        if not found or not text:
            return e.span
        before = text[: found.start(1)]
        line = e.span.line + before.count("\n")
        column = (len(before) - before.rfind("\n")) if "\n" in before else e.span.column + len(before)
        return Span(e.span.file, line, column, line, column + len(e.variable))

    def infer_aggregate(self, e: ast.Aggregate, scope: dict[str, T.Type]) -> T.Type:
        if e.function not in AGGREGATES and e.function != "list":
            self.error(f"`{e.function}` is not an aggregate", e.function_span,
                       help=did_you_mean(e.function, AGGREGATES) or "use one of " + ", ".join(AGGREGATES))
            return T.ERROR
        source = self.present(e.source, scope)
        if T.is_error(source):
            return T.ERROR
        if not isinstance(source, T.ListType):
            self.error(f"`{e.function}` goes over a list, but this is {_a(source)}", e.source.span)
            return T.ERROR
        self.warn_if_shadowing(e.variable, self.variable_span(e), "loop variable", f"inside this `{e.function}`")
        inner = {**scope, e.variable: source.element}
        if e.where is not None:
            self.expect_boolean(e.where, inner, "the `where` condition")
        body = self.infer(e.body, inner)
        if e.function == "list":
            return T.ListType(body)
        if T.is_error(body):
            return T.ERROR
        if e.function in ("any", "all"):
            if body != T.BOOLEAN:
                self.error(f"`{e.function}` needs a condition, not {_a(body)}", e.body.span)
            return T.BOOLEAN
        if e.function == "count":
            return T.INTEGER
        if e.function == "first":
            return _optional(body)
        if e.function == "sum":
            if body not in (*T.NUMERIC, T.DURATION):
                self.error(f"cannot sum {_a(body)}", e.body.span)
                return T.ERROR
            return body
        if body not in (*T.NUMERIC, T.DATE, T.DATETIME, T.DURATION) and not (
            isinstance(body, T.EnumType) and body.ordered
        ):
            self.error(f"`{e.function}` needs values with an order, not {_a(body)}", e.body.span)
            return T.ERROR
        return _optional(body)

    def infer_record_literal(self, e: ast.RecordLiteral, scope: dict[str, T.Type]) -> T.Type:
        names = tuple(n for n, _ in e.fields)
        values = {n: self.infer(v, scope) for n, v in e.fields}
        for record in self.records.values():
            if {n for n, _ in record.fields} == set(names):
                for fname, ftype in record.fields:
                    if not T.assignable(values[fname], ftype):
                        self.error(f"field `{fname}` of {record.name} is {_a(ftype)}, not {values[fname]}", e.span)
                return record
        self.error("no record type has exactly the fields " + ", ".join(names), e.span)
        return T.ERROR

    # ------------------------------------------------------------ quotes
    def check_quotes(self, file: ast.ClauseFile, base: Path) -> None:
        quotes = [q for s in file.sections for q in s.quotes]
        header = file.header
        if header is None or header.source is None:
            if quotes:
                self.error("this file quotes a source document but names none", quotes[0].span,
                           help='add `source "sources/document.txt"` to the contract header')
            return
        path = base / header.source
        if not self.loaded.allow_outside and not limits.confined(path, self.loaded.root):
            self.error(limits.outside_message("the source document", header.source, self.loaded.root),
                       header.source_span, help=limits.OUTSIDE_HELP)
            return
        try:
            document = SourceDocument.load(path)
        except limits.LimitError as too_large:
            self.error(f"{too_large}: {header.source}", header.source_span)
            return
        except OSError:
            self.error(f"source document not found: {header.source}", header.source_span,
                       help=f"looked for {path}")
            return
        self.loaded.digests[document.path] = document.digest
        for section in file.sections:
            for quote in section.quotes:
                problem = verify_quote(quote.text, document)
                if problem is not None:
                    self.diagnostics.append(Diagnostic(problem.message, quote.span, problem.help,
                                                       extra=problem.extra))
                    self.misquoted.add(section.citation)

    def check_header(self, file: ast.ClauseFile) -> dt.tzinfo:
        header = file.header
        if header is None:
            return named_zone("America/New_York")
        if header.home_zone is None:
            return named_zone("America/New_York")
        try:
            return named_zone(header.home_zone)
        except ValueError as problem:
            self.error(str(problem), header.zone_span)
            return named_zone("America/New_York")


class _ValueTypes(Mapping[str, T.Type]):
    """The type of each fact and rule checked so far (a rule's over a fact's of the same name)."""

    def __init__(self, facts: Mapping[str, FactInfo], rules: Mapping[str, RuleInfo]):
        self.facts = facts
        self.rules = rules

    def __getitem__(self, name: str) -> T.Type:
        rule = self.rules.get(name)
        return rule.type if rule is not None else self.facts[name].type

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.facts), **dict.fromkeys(self.rules)})

    def __len__(self) -> int:
        return len(self.facts.keys() | self.rules.keys())


def _narrowed(
    condition: ast.Expr, scope: dict[str, T.Type], lookup: Mapping[str, T.Type], when: bool
) -> dict[str, T.Type]:
    """The scope after `condition` is known to be `when`: `x is not none` makes x non-optional."""
    if isinstance(condition, ast.IsNone) and isinstance(condition.operand, ast.Name):
        name = condition.operand.name
        current = scope.get(name, lookup.get(name))
        if isinstance(current, T.OptionalType) and condition.negated == when:
            return {**scope, name: current.inner}
    if when and isinstance(condition, ast.Binary) and condition.op == "and":
        inner = _narrowed(condition.left, scope, lookup, True)
        return _narrowed(condition.right, inner, lookup, True)
    return scope


def _citations(expr: ast.Expr) -> list[str]:
    return [node.citation for node in _nodes(expr) if isinstance(node, ast.Unless) and node.citation]


def _nodes(expr: ast.Expr) -> Iterator[object]:
    """Every node of an expression, depth first in source order."""
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(reversed(node))
            continue
        yield node
        if hasattr(node, "__dataclass_fields__"):
            for name in reversed(list(node.__dataclass_fields__)):
                child = getattr(node, name)
                if isinstance(child, (tuple, ast.Condition)) or type(child).__module__ == ast.__name__:
                    stack.append(child)


_LITERAL_TYPES: dict[str, T.Type] = {
    "money": T.MONEY, "percent": T.PERCENT, "decimal": T.DECIMAL, "integer": T.INTEGER,
    "date": T.DATE, "time": T.TIME, "duration": T.DURATION, "period": T.PERIOD, "boolean": T.BOOLEAN,
    "none": T.NONE, "text": T.TEXT,
}


def _fold(text: str) -> str:
    """Text compared for a pinpoint quote: whitespace and curly quotes normalised."""
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    return " ".join(text.split())


_REPLACEABLE = (ast.ZoneDecl, ast.CalendarDecl, ast.Define, ast.ResultDecl, ast.FunctionDecl)


def _with_alternative(loaded: LoadedFiles, reading: ast.Reading,
                      more: list[ast.Declaration]) -> tuple[LoadedFiles, list[Diagnostic]]:
    """The files with the reading's alternative declarations in place of those of the same name."""
    from dataclasses import replace

    given = [*reading.alternative_decls, *more]
    replacements = {d.name: d for d in given if isinstance(d, _REPLACEABLE)}
    problems = [Diagnostic("an alternative replaces zones, calendars, defines, results and functions",
                           getattr(d, "span", None)) for d in given if not isinstance(d, _REPLACEABLE)]
    found: set[str] = set()

    def swap(decl: ast.Declaration) -> ast.Declaration:
        name = getattr(decl, "name", None)
        if isinstance(decl, _REPLACEABLE) and name in replacements:
            found.add(name)
            new = replacements[name]
            if type(new) is not type(decl) and not {type(new), type(decl)} <= {ast.Define, ast.ResultDecl}:
                problems.append(Diagnostic(f"the alternative declares `{name}` as another kind of declaration",
                                           new.span))
                return decl
            section = getattr(decl, "section", None)
            if isinstance(new, (ast.Define, ast.ResultDecl, ast.FunctionDecl)):
                new = replace(new, section=section)
            if isinstance(decl, ast.ResultDecl) and isinstance(new, ast.Define):
                new = ast.ResultDecl(new.name, decl.type, decl.description, new.expr, new.uses, section, new.span,
                                     decl.explains, circular=new.circular,
                                     pinpoint=new.pinpoint or decl.pinpoint, pinpoint_span=new.pinpoint_span)
            return new
        return decl

    files = []
    for file in loaded.files:
        sections = tuple(replace(s, declarations=tuple(swap(d) for d in s.declarations)) for s in file.sections)
        files.append(replace(file, declarations=tuple(swap(d) for d in file.declarations), sections=sections))
    for name, decl in replacements.items():
        if name not in found:
            problems.append(Diagnostic(f"the alternative replaces `{name}`, which the contract does not declare",
                                       decl.span))
    return replace(loaded, files=files, diagnostics=[], broken_names=set(loaded.broken_names)), problems


def _alternatives(loaded: LoadedFiles, main_path: str, readings: dict[str, ast.Reading],
                  more: dict[str, list[ast.Declaration]]) -> tuple[dict[str, Program], list[Diagnostic]]:
    out: dict[str, Program] = {}
    problems: list[Diagnostic] = []
    for name, extra in more.items():
        if name not in readings:
            problems.append(Diagnostic(f"unknown reading `{name}`", getattr(extra[0], "span", None) if extra else None,
                                       help=did_you_mean(name, readings)))
        elif readings[name].alternative is None:
            problems.append(Diagnostic(f"reading `{name}` states no alternative", readings[name].span,
                                       help='add `alternative """the other reading, in words"""` to it'))
    for name, reading in readings.items():
        if reading.alternative is None or not (reading.alternative_decls or more.get(name)):
            continue
        swapped, found = _with_alternative(loaded, reading, more.get(name, []))
        problems.extend(found)
        if found:
            continue
        program, diagnostics = check_program(swapped, main_path, quotes=False)
        if program is None:
            problems.extend(Diagnostic(f"on the alternative of reading `{name}`: {d.message}", d.span, d.help)
                            for d in diagnostics)
        else:
            out[name] = program
    return out, problems


def _optional(t: T.Type) -> T.Type:
    return t if isinstance(t, T.OptionalType) or T.is_error(t) else T.OptionalType(t)


def _a(t: T.Type) -> str:
    name = str(t)
    if isinstance(t, (T.EnumType, T.RecordType)) or t == T.MONEY:
        return name
    return ("an " if name[0] in "aeiou" else "a ") + name


def check_program(loaded: LoadedFiles, main_path: str, quotes: bool = True) -> tuple[Program | None,
                                                                                     list[Diagnostic]]:
    checker = _Checker(loaded, main_path)
    checker.verify_quotes = quotes
    if not loaded.files:
        return None, checker.diagnostics
    checker.collect()
    checker.apply_amendments()
    checker.check_declarations()
    main = loaded.files[-1]
    base = Path(main_path).parent
    if quotes:
        for file in loaded.files:
            checker.check_quotes(file, Path(file.path).parent if file is not main else base)
    for info in checker.rules.values():  # after the quotes: a pinpoint in a misquoted text waits for its fix
        checker.check_pinpoint(info.decl)
    home_zone = checker.check_header(main)
    header = main.header
    if header is not None:
        checker.check_memo_header(header)
    alternatives: dict[str, Program] = {}
    # The alternatives are checked once, from the contract as written, and only when it checks:
    # each would repeat the contract's own errors.
    if quotes and not checker.diagnostics:
        alternatives, problems = _alternatives(loaded, main_path, checker.readings, checker.more_alternatives)
        checker.diagnostics.extend(problems)
    if header is None and main.sections:
        checker.error("a contract file starts with `contract \"Title\"`", Span(main.path, 1, 1, 1, 2),
                      help="see docs/language.md for the header")
    elif header is None:
        # A library of shared readings, zones, calendars and functions, meant to be included.
        header = ast.Header(Path(main.path).stem, None, (), None, None, None)
    diagnostics = sorted(
        checker.diagnostics,
        key=lambda d: (d.span.file, d.span.line, d.span.column) if d.span else ("", 0, 0),
    )
    if diagnostics or header is None:
        return None, diagnostics
    program = Program(
        path=main_path, header=header, sections=checker.sections, readings=checker.readings,
        zones=checker.zones, zone_decls=checker.zone_decls, calendars=checker.calendars,
        enums=checker.enums, records=checker.records, facts=checker.facts, rules=checker.rules,
        functions=checker.functions, results=checker.results, node_types=checker.node_types,
        sources=loaded.sources, home_zone=home_zone, cites=checker.cites, texts=loaded.texts,
        requirements={name: decl.requirements for name, decl in checker.record_decls.items() if decl.requirements},
        month_end=checker.month_end, amendments=checker.amended,
        included_sections={citation: section for (path, citation), section in checker.file_sections.items()
                           if path != main.path and citation not in checker.sections},
        recursive=recursive_functions(checker.functions),
        warnings=sorted(checker.warnings, key=lambda d: (d.span.file, d.span.line, d.span.column) if d.span
                        else ("", 0, 0)),
        enum_labels={name: dict(decl.labels) for name, decl in checker.enum_decls.items() if decl.labels},
        alternatives=alternatives,
    )
    return program, []


def check_file(path: str | Path, strict: bool = False, *, content: bytes | None = None,
               allow_outside: bool = False) -> Program:
    """Parse and check a contract; raise ClauseError with every diagnostic.

    ``content``: the main file's bytes, already read (the cache keys on them).
    The bytes of every file read are in ``program.digests``."""
    from engine.parse import load

    loaded = load(path, strict=strict, content=content, allow_outside=allow_outside)
    program, diagnostics = check_program(loaded, str(path))
    if program is None:
        raise ClauseError(diagnostics or [Diagnostic(f"{path} could not be read")], loaded.sources)
    program.digests = loaded.digests
    return program
