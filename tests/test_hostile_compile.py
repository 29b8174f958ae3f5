"""Generated Python never embeds text the user wrote (issue #10).

The compiler once wrote `# RULE: FILE:LINE:COL` comments into the code it
generates; a clause file whose *name* held a newline ended the comment and the
rest of the name ran as code. Every string a user writes (file names, quoted
strings, descriptions, readings, citations, condition labels, enum members)
now stays out of the source: constants go through a table of values, positions
through `CompiledShape.positions`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import evaluate, load_contract
from engine.compile import compile_shape, compile_traced_shape

# Python that, were it ever executed, would leave a file named PWNED in the
# current directory; indented so that it would run inside the generated `_run`.
PAYLOAD = 'open("PWNED", "w").write("x")'
HOSTILE_NAME = f'evil\n    {PAYLOAD}\n    #\'\'\'"""\\.clause'

# Every place a clause file holds free text, each with newlines (where the
# grammar allows them), quotes, triple quotes and backslashes.
CONTRACT = r'''contract "Hostile \"\"\" ''' + "'''" + r''' \\ name"
  source "source.txt"
  party "A\"\n    open(\"PWNED\", \"w\").write(\"x\")\n#" as "B\\"

reading evil_reading: """
    open("PWNED", "w").write("x")
''' + "'''" + r''' \ " ""
"""

enum Kind: "k\"\n    open(\"PWNED\", \"w\").write(\"x\")\\" | plain

fact n: integer "desc \"\"\" \\ \"\n    open(\"PWNED\", \"w\").write(\"x\")\n#"
fact kind: Kind = Kind.plain "a kind \\"

section "1\"\n    open(\"PWNED\", \"w\").write(\"x\")\n#\\" "title \"\"\" \\"
  text """
  open("PWNED", "w").write("x") ''' + "'''" + r''' \
  """

  result ok: boolean "ok \"\"\" \\" = all of (
      "\"\n    open(\"PWNED\", \"w\").write(\"x\")\n#": n > 1,
      "b\\": n < 5)
    uses evil_reading
    explain when ok: """
    open("PWNED", "w").write("x") {n} \
    """

  result chosen: Kind = if n > 2 then Kind("k\"\n    open(\"PWNED\", \"w\").write(\"x\")\\") else kind
'''

SOURCE_TEXT = 'The quoted words: open("PWNED", "w").write("x") \'\'\' \\ and more.\n'
INCLUDED = 'define plus_one(x: integer): integer = x + 1\n'


@pytest.fixture
def hostile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # where the payload would write PWNED
    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _assert_nothing_ran(where: Path) -> None:
    assert not (where / "PWNED").exists(), "user text ran as code"


def test_hostile_file_name_and_strings_compile_without_running(hostile_dir: Path) -> None:
    path = hostile_dir / HOSTILE_NAME
    path.write_text(CONTRACT, encoding="utf-8")
    (hostile_dir / "source.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    program = load_contract(path)
    for given in (frozenset({"n"}), frozenset({"n", "kind"}), frozenset()):
        for shape in (compile_shape(program, given), compile_traced_shape(program, given)):
            # No user text in the source: not the payload, not the file name.
            assert "PWNED" not in shape.source
            assert "evil" not in shape.source
            # Each rule's position is in the side table, indexed by the integer of its comment.
            assert {file for file, _, _ in shape.positions} <= {HOSTILE_NAME}
            assert shape.source.count("# rule ") == len(shape.positions)
    # The rules still compute as written: 3 > 1 and 3 < 5; the hostile member chosen for n > 2.
    outcome = evaluate(program, {"n": 3})
    assert outcome.results["ok"].value is True
    assert outcome.results["chosen"].value.name == 'k"\n    open("PWNED", "w").write("x")\\'.replace("\n", "n")
    traced = evaluate(program, {"n": 3}, trace=True)
    assert traced.results["ok"].value is True
    _assert_nothing_ran(hostile_dir)


def test_hostile_include_name_is_not_run(hostile_dir: Path) -> None:
    (hostile_dir / HOSTILE_NAME).write_text(INCLUDED, encoding="utf-8")
    main = hostile_dir / "main.clause"
    include_name = HOSTILE_NAME.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    main.write_text(f'contract "M"\ninclude "{include_name}"\nfact n: integer\n'
                    'section "1"\n  result r: integer = plus_one(n)\n', encoding="utf-8")
    # A STRING cannot hold a real newline (`\n` reads as `n`): the include names another file.
    # Write that file too, so the include resolves and its rules compile.
    (hostile_dir / HOSTILE_NAME.replace("\n", "n")).write_text(INCLUDED, encoding="utf-8")
    program = load_contract(main)
    assert evaluate(program, {"n": 41}).results["r"].value == 42
    assert "PWNED" not in compile_shape(program, frozenset({"n"})).source
    _assert_nothing_ran(hostile_dir)


def test_clause_test_discovery_of_a_hostile_file_name_runs_nothing(hostile_dir: Path) -> None:
    from helpers import clause_in

    (hostile_dir / HOSTILE_NAME).write_text(CONTRACT, encoding="utf-8")
    (hostile_dir / "source.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    test_file = hostile_dir / "case.test.yaml"
    test_file.write_text(f"contract: {json.dumps(HOSTILE_NAME)}\nfacts:\n  n: 3\nexpect:\n  ok: true\n",
                         encoding="utf-8")
    run = clause_in(hostile_dir, "test", str(hostile_dir))
    assert run.code == 0, run.err
    assert "1 passed, 0 failed" in run.out
    _assert_nothing_ran(hostile_dir)
