"""The readable table printed by `clause eval` (the default text format)."""

from __future__ import annotations

import shutil
import textwrap

from engine import ast
from engine.api import Outcome
from render.format import human


def _cites(cites: list[str]) -> str:
    """§ 1.2(a), 7(b); a defined term or an exhibit without the §: "Company Capitalization" in § 2."""
    if all(ast.is_section(c) for c in cites):
        return "§ " + ", ".join(cites) if cites else ""
    return ", ".join(f"§ {c}" if ast.is_section(c) else c for c in cites)


def results_table(outcome: Outcome, width: int | None = None) -> str:
    width = width or min(shutil.get_terminal_size((100, 20)).columns, 120)
    rows = []
    for name, result in outcome.results.items():
        if result.error is not None:
            value = "error"
            note = result.error.message
        elif result.missing:
            value = "undetermined"
            note = "needs " + ", ".join(result.missing)
        else:
            value = human(result.value, result.type)
            note = ""
        rows.append((name, value, _cites(result.cites), note))
    headers = ("result", "value", "cites", "")
    name_w = max(len(headers[0]), *(len(r[0]) for r in rows)) if rows else 6
    value_w = min(max(len(headers[1]), *(len(r[1]) for r in rows)) if rows else 5, 44)
    cite_w = min(max(len(headers[2]), *(len(r[2]) for r in rows)) if rows else 5, 24)
    lines = []
    title = outcome.program.header.title
    scenario = outcome.scenario
    lines.append(title)
    if scenario is not None:
        lines.append(f"scenario: {scenario.title or scenario.path}")
    lines.append("")
    lines.append(f"{headers[0]:<{name_w}}  {headers[1]:<{value_w}}  {headers[2]:<{cite_w}}")
    lines.append(f"{'-' * name_w}  {'-' * value_w}  {'-' * cite_w}")
    for name, value, cites, note in rows:
        value_lines = textwrap.wrap(value, value_w) or [""]
        lines.append(f"{name:<{name_w}}  {value_lines[0]:<{value_w}}  {cites:<{cite_w}}".rstrip())
        # What an undetermined result waits for goes on its own lines, every name whole.
        lines.extend(textwrap.wrap(note, max(width - 4, 40), initial_indent="    ", subsequent_indent="      ",
                                   break_long_words=False, break_on_hyphens=False))
        for extra in value_lines[1:]:
            lines.append(f"{'':<{name_w}}  {extra}")
    for note in outcome.notes:
        lines.append("")
        lines.append(f"note: {note}")
    return "\n".join(line.rstrip() for line in lines)
