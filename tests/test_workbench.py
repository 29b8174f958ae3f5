"""`clause serve`: the workbench's API over HTTP, and the page in a real browser.

One server, started as a user would (`clause serve ROOT --port N`, here through
``python -m engine.cli``), serves a copy of the shipped contracts and examples
in a temporary folder, so saving writes there and never into the repository.
The browser tests drive Debian's Chromium through Playwright's executable_path
(no browser download); they are skipped, saying why, only where no Chromium is
installed. Screenshots of every pane go to a temporary folder, and also to
$CLAUSE_WORKBENCH_SHOTS when that names a folder to look at them in (`.workbench-shots/`
is ignored by git).

Expected values are the documents' own: $1,000 at the Special Conversion Price
of $2.83849 is 352.2999… shares, rounded upward to 353 (Amendment No. 1,
§ 1.2(a)); the worked examples' expectations are in their test files.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import ast
from engine.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ("special_conversion", "rights_agreement", "series_b_preferred")
EXAMPLES = {"special_conversion": "special_conversion", "rights_agreement": "rights_agreement",
            "series_b_preferred": "series_b"}
# A name each contract uses in a rule, misspelt as a lawyer might; the checker suggests the right one.
MISSPELT = {"special_conversion": ("notice_time", "notice_tme"),
            "rights_agreement": ("final_expiration_date", "final_expiraton_date"),
            "series_b_preferred": ("stated_value", "stated_vaule")}
# One expectation of each worked_examples.test.yaml made wrong: (as the file says it, wrong, the value shown wrong and
# right in the failure). The right values are the documents': 353 shares (Amendment No. 1 § 1.2(a)); the Final
# Expiration Date at the close of business on February 17, 2005 (Amendment No. 2 § 7(a)); 300,000,000 shares deemed
# outstanding, the Common Stock outstanding when no Option or Convertible Security is given (Certificate § 6(a)).
WRONG_EXPECTATION = {
    "special_conversion": ("shares_issuable: 353", "shares_issuable: 354", "354", "353"),
    "rights_agreement": ('final_expiration_date: "2005-02-17T17:00:00-05:00"',
                         'final_expiration_date: "2005-02-18T17:00:00-05:00"',
                         '"2005-02-18T17:00:00-05:00"', '"2005-02-17T17:00:00-05:00"'),
    "series_b_preferred": ("shares_deemed_outstanding: 300000000", "shares_deemed_outstanding: 300000001",
                           "300000001", "300000000"),
}
HEADER = {"X-Clause-Workbench": "1"}


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, served folder): `clause serve` over a copy of contracts/ and examples/."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(ROOT / "contracts", root / "contracts")
    shutil.copytree(ROOT / "examples", root / "examples")
    port = _free_port()
    env = {**os.environ, "CLAUSE_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    # Started from another folder than the one it serves: the page still names files from the served folder.
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", str(root), "--port", str(port)],
                               cwd=root.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/api/workspace", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"clause serve did not start: {output}")
                time.sleep(0.1)
        yield base, root
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def call(base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         ) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={**HEADER, "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            status = response.status
            kind = response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        payload, status, kind = error.read(), error.code, error.headers.get("content-type", "")
    return status, json.loads(payload) if "json" in kind else payload.decode("utf-8")


def _text(root: Path, relative: str) -> str:
    return (root / relative).read_text(encoding="utf-8")


# ---------------------------------------------------------------- the API


def test_serve_reports_a_missing_folder_as_an_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "engine.cli", "serve", str(tmp_path / "nowhere")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "no such file or folder" in result.stderr and "Traceback" not in result.stderr


def test_the_workspace_pairs_contracts_with_their_examples_and_tests(served: tuple[str, Path]) -> None:
    base, _ = served
    status, workspace = call(base, "GET", "/api/workspace")
    assert status == 200
    for contract, folder in EXAMPLES.items():
        path = f"contracts/{contract}.clause"
        assert path in workspace["contracts"]
        assert f"examples/{folder}/worked_examples.test.yaml" in workspace["tests"][path]
        assert workspace["scenarios"][path] and all(s.startswith(f"examples/{folder}/")
                                                    for s in workspace["scenarios"][path])
    assert "examples/special_conversion/holder_converts.yaml" in workspace["scenarios"][
        "contracts/special_conversion.clause"]


def test_files_outside_the_served_folder_are_refused(served: tuple[str, Path]) -> None:
    base, root = served
    for path in ("../outside.clause", "/etc/passwd", "contracts/../../outside.yaml", "contracts/sources"):
        status, answer = call(base, "GET", "/api/file?path=" + urllib.request.quote(path))
        assert status == 400, path
        assert "error" in answer
    status, _ = call(base, "PUT", "/api/file", {"path": "../escaped.yaml", "text": "facts: {}\n", "base_hash": None})
    assert status == 400
    assert not (root.parent / "escaped.yaml").exists()
    # An include that leaves the tree is refused before the checker would read it.
    text = _text(root, "contracts/special_conversion.clause").replace(
        'include "common.clause"', 'include "../../../../../../etc/hostname"')
    status, checked = call(base, "POST", "/api/check", {"path": "contracts/special_conversion.clause", "text": text})
    assert status == 200 and not checked["ok"]
    assert any("outside the served folder" in d["message"] for d in checked["diagnostics"])


def test_changing_requests_need_the_workbench_header_and_a_local_host(served: tuple[str, Path]) -> None:
    base, root = served
    request = urllib.request.Request(base + "/api/file", method="PUT", data=b'{"path": "x.yaml", "text": ""}',
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert not (root / "x.yaml").exists()
    status, _ = call(base, "GET", "/api/workspace", headers={"Host": "attacker.example"})
    assert status == 400


def test_saving_never_overwrites_a_file_changed_on_disk_without_being_told(served: tuple[str, Path]) -> None:
    base, root = served
    relative = "examples/special_conversion/conflict.yaml"
    status, saved = call(base, "PUT", "/api/file", {"path": relative, "text": "facts: {}\n", "base_hash": None})
    assert status == 200
    (root / relative).write_text("facts: {principal_amount: 2000}\n", encoding="utf-8")  # someone else's edit
    status, conflict = call(base, "PUT", "/api/file", {"path": relative, "text": "facts: {principal_amount: 1000}\n",
                                                      "base_hash": saved["hash"]})
    assert status == 409 and conflict["disk_hash"] != saved["hash"]
    assert _text(root, relative) == "facts: {principal_amount: 2000}\n"
    status, _ = call(base, "PUT", "/api/file", {"path": relative, "text": "facts: {principal_amount: 1000}\n",
                                               "base_hash": saved["hash"], "force": True})
    assert status == 200 and _text(root, relative) == "facts: {principal_amount: 1000}\n"
    # A new file over an existing one is a conflict too.
    status, _ = call(base, "PUT", "/api/file", {"path": relative, "text": "facts: {}\n", "base_hash": None})
    assert status == 409


def test_check_reports_a_misspelt_name_with_its_suggestion_and_marks_quotes(served: tuple[str, Path]) -> None:
    base, root = served
    path = "contracts/special_conversion.clause"
    text = _text(root, path)
    status, clean = call(base, "POST", "/api/check", {"path": path, "text": text})
    assert status == 200 and clean["ok"] and clean["diagnostics"] == []
    marks = clean["source"]["marks"]
    assert marks and all(m["verified"] for m in marks)
    assert clean["summary"]["quotes"] == len(marks)
    # Every verified quote's highlighted passage is the quoted words, read in the source's raw text.
    raw = "".join(segment["text"] for segment in clean["source"]["segments"])
    assert raw == _text(root, "contracts/sources/indenture_amendment_1.txt")
    first = " ".join(raw[marks[0]["ranges"][0][0]:marks[0]["ranges"][0][1]].split())
    assert first.startswith('"Special Conversion Period" shall mean')

    status, broken = call(base, "POST", "/api/check", {"path": path,
                                                      "text": text.replace("notice_time >=", "notice_tme >=", 1)})
    assert not broken["ok"]
    [problem] = broken["diagnostics"]
    assert problem["message"] == "unknown name `notice_tme`" and problem["help"] == "did you mean `notice_time`?"
    assert problem["main"] and text.splitlines()[problem["line"] - 1][problem["column"] - 1:].startswith("notice_t")

    misquoted = text.replace("round\n  upward to the next whole number", "round\n  downward to the next whole number")
    assert misquoted != text
    status, wrong = call(base, "POST", "/api/check", {"path": path, "text": misquoted})
    [problem] = wrong["diagnostics"]
    assert "`downward` where the source says `upward`" in problem["message"]
    [bad] = [m for m in wrong["source"]["marks"] if not m["verified"]]
    assert bad["citation"] == "1.2(a)" and bad["ranges"]
    passage = " ".join(raw[bad["ranges"][0][0]:bad["ranges"][0][1]].split())
    assert "round upward to the next whole number" in passage
    # The word the quote gets wrong: the first `downward` of the quote, where the source's word is `upward`.
    start, end = bad["differs"]["source"]
    assert bad["differs"]["quoted"] == "downward" and bad["differs"]["occurrence"] == 0 and raw[start:end] == "upward"
    [differing] = [s for s in wrong["source"]["segments"] if s.get("differs")]
    assert differing["text"] == "upward" and differing["marks"] == [bad["index"]]


def test_schema_names_each_facts_clause_type(served: tuple[str, Path]) -> None:
    base, root = served
    path = "contracts/series_b_preferred.clause"
    status, schema = call(base, "POST", "/api/schema", {"path": path, "text": _text(root, path)})
    assert status == 200
    facts = schema["properties"]["facts"]["properties"]
    assert facts["stated_value"]["x-clause"] == {"kind": "money"}
    assert facts["stated_value"]["default"] == "1000.00"
    assert facts["acquirer_voting_pct"]["x-clause"] == {"kind": "percent"}
    assert facts["holders_record_date"]["x-clause"] == {"kind": "date", "nullable": True}
    assert facts["fraction_settlement"]["x-clause"] == {"kind": "enum", "members": ["cash", "round_up"]}
    options = facts["options"]["x-clause"]
    assert options["kind"] == "list" and options["items"]["kind"] == "record"
    assert [f["name"] for f in options["items"]["fields"]] == ["shares", "exercise_price"]


def test_evaluate_memo_and_tests_through_the_api(served: tuple[str, Path]) -> None:
    base, root = served
    path = "contracts/special_conversion.clause"
    text = _text(root, path)
    scenario = _text(root, "examples/special_conversion/holder_converts.yaml")
    status, outcome = call(base, "POST", "/api/evaluate", {"path": path, "text": text, "scenario": scenario})
    results = {r["name"]: r for r in outcome["results"]}
    assert results["shares_issuable"]["value"] == 353 and results["shares_issuable"]["cites"] == ["1.2(a)"]
    assert outcome["expect"]["shares_issuable"] == 353
    assert "shares_issuable" in outcome["trace"]
    # Facts left out are unknown; results that need them say which.
    status, partial = call(base, "POST", "/api/evaluate", {"path": path, "text": text,
                                                          "scenario": "facts:\n  principal_to_convert: 1000\n"})
    assert "notice_time" in partial["unknown"]
    in_period = next(r for r in partial["results"] if r["name"] == "in_period")
    assert in_period["value"] is None and in_period["missing"] == ["notice_time"]
    # A malformed fact is a problem at its line of the scenario, not a crash.
    status, bad = call(base, "POST", "/api/evaluate", {"path": path, "text": text,
                                                      "scenario": "facts:\n  owner_ownership_pct: 4.2\n"})
    assert status == 200 and not bad["ok"] and bad["diagnostics"][0]["line"] == 2

    status, preview = call(base, "POST", "/api/memo", {"path": path, "text": text, "scenario": scenario,
                                                      "format": "html", "preview": True})
    assert "Content-Security-Policy" in preview["html"] and "default-src 'none'" in preview["html"]
    status, markdown = call(base, "POST", "/api/memo", {"path": path, "text": text, "scenario": scenario,
                                                       "format": "md"})
    assert status == 200 and "353" in markdown

    tests = "examples/special_conversion/worked_examples.test.yaml"
    status, run = call(base, "POST", "/api/tests/run", {"path": tests, "text": _text(root, tests)})
    assert run["ok"] and run["failed"] == 0 and run["passed"] == len(run["cases"]) >= 5
    wrong = _text(root, tests).replace("shares_issuable: 353", "shares_issuable: 354", 1)
    status, run = call(base, "POST", "/api/tests/run", {"path": tests, "text": wrong})
    assert run["failed"] == 1
    lines = [line for case in run["cases"] for line in case["lines"]]
    assert any("expected: 354" in line for line in lines)
    assert any(line.strip().startswith("produced by contracts/special_conversion.clause:") for line in lines), lines


def test_scenario_yaml_reads_back_exactly_for_the_form(served: tuple[str, Path]) -> None:
    base, _ = served
    text = ('title: t\nfacts:\n  principal_amount: 1000\n  special_price: 2.83849\n'
            '  notice_time: 2003-06-18T20:00:00-04:00\n  owner_ownership_pct: "4.2%"\nexpect: {in_period: true}\n')
    status, parsed = call(base, "POST", "/api/scenario/parse", {"text": text})
    assert status == 200 and parsed["ok"]
    # Numbers keep their written digits (never a float); keys besides the facts come back to be written again.
    assert parsed["facts"] == {"principal_amount": 1000, "special_price": "2.83849",
                               "notice_time": "2003-06-18T20:00:00-04:00", "owner_ownership_pct": "4.2%"}
    assert parsed["other"] == {"expect": {"in_period": True}}
    status, broken = call(base, "POST", "/api/scenario/parse", {"text": "facts:\n  a: 1\n  a: 2\n"})
    assert not broken["ok"] and broken["diagnostics"][0]["line"] == 3


def test_a_scenario_and_its_results_become_a_test_case(served: tuple[str, Path]) -> None:
    base, root = served
    path = "contracts/special_conversion.clause"
    scenario = _text(root, "examples/special_conversion/holder_converts.yaml")
    status, outcome = call(base, "POST", "/api/evaluate", {"path": path, "text": _text(root, path),
                                                          "scenario": scenario})
    target = "examples/special_conversion/api_cases.test.yaml"
    opened_hash = None  # a new file
    for count in (1, 2):
        status, added = call(base, "POST", "/api/tests/add", {
            "path": target, "contract": path, "title": f"case {count}", "scenario": scenario,
            "expect": outcome["expect"], "base_hash": opened_hash})
        assert status == 200 and added["cases"] == count
        opened_hash = added["hash"]
    status, run = call(base, "POST", "/api/tests/run", {"path": target, "text": _text(root, target)})
    assert run["passed"] == 2 and run["failed"] == 0
    # Appended to a file with comments and shared facts, the comments stay.
    worked = "examples/special_conversion/worked_examples.test.yaml"
    before = _text(root, worked)
    status, opened = call(base, "GET", "/api/file?path=" + worked)
    status, added = call(base, "POST", "/api/tests/add", {
        "path": worked, "contract": path, "title": "appended", "scenario": scenario,
        "expect": {"shares_issuable": 353}, "base_hash": opened["hash"]})
    after = _text(root, worked)
    assert after.startswith(before.rstrip("\n")) and "- title: \"appended\"" in after
    (root / worked).write_text(before, encoding="utf-8")


# ---------------------------------------------------------------- the browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed with the test extra")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install -y chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def dialogs() -> dict[str, Any]:
    """The page's confirm() questions, and whether the test answers yes."""
    return {"asked": [], "accept": True}


@pytest.fixture
def page(browser: Any, served: tuple[str, Path], dialogs: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))

    def answer(dialog: Any) -> None:
        dialogs["asked"].append(dialog.message)
        if dialogs["accept"]:
            dialog.accept()
        else:
            dialog.dismiss()

    opened.on("dialog", answer)
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert errors == [], errors


def _screenshot(target: Any, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    target.screenshot(path=str(path))
    keep = os.environ.get("CLAUSE_WORKBENCH_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    assert path.stat().st_size > 5_000  # a picture, not an empty frame
    return path


def _open(page: Any, base: str, contract: str) -> None:
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready=true]")
    if page.locator("#contract-select").input_value() != contract:
        page.select_option("#contract-select", contract)
    page.wait_for_function("c => document.querySelector('#contract-pane').dataset.checked === c", arg=contract)
    assert page.locator("#diagnostics .clean").count() == 1


def _first_use(path: Path, name: str) -> tuple[int, int]:
    """Where a rule first uses `name` (line, column), found in the parsed file."""
    parsed = parse_text(path.read_text(encoding="utf-8"), str(path)).file
    assert parsed is not None
    stack: list[object] = [parsed]
    found: list[tuple[int, int]] = []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and node.name == name:
            found.append((node.span.line, node.span.column))
        if isinstance(node, tuple):
            stack.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
    assert found, f"{name} is not used in {path}"
    return min(found)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_a_misspelt_name_is_diagnosed_as_you_type_and_the_worked_examples_pass(
        page: Any, served: tuple[str, Path], shots: Path, contract: str) -> None:
    base, root = served
    path = f"contracts/{contract}.clause"
    _open(page, base, path)
    # Keywords are coloured from the grammar's own list, the header's newer ones included.
    keywords = set(page.locator("#highlight .tok-keyword").all_inner_texts())
    assert {"contract", "source", "section", "result", "fact", "headline"} <= keywords
    right, wrong = MISSPELT[contract]
    line, column = _first_use(root / path, right)
    area = page.locator("#contract-text")
    offset = area.evaluate("(a, [l, c]) => a.value.split('\\n').slice(0, l - 1).join('\\n').length + (l > 1) + c - 1",
                           [line, column])
    area.evaluate("(a, [s, e]) => { a.focus(); a.setSelectionRange(s, e); }", [offset, offset + len(right)])
    page.keyboard.type(wrong)
    diagnostic = page.locator(".diagnostic", has_text=f"unknown name `{wrong}`").first
    diagnostic.wait_for()
    assert f"did you mean `{right}`?" in diagnostic.inner_text()
    assert page.locator("#contract-status").inner_text() == "unsaved changes"
    page.wait_for_selector("#highlight .diag-error")
    if contract == "special_conversion":
        _screenshot(page.locator("#contract-pane"), shots, "contract-pane-with-diagnostic")
    # Clicking the diagnostic selects the misspelt name; typing the right one fixes it.
    diagnostic.click()
    selected = area.evaluate("a => a.value.slice(a.selectionStart, a.selectionEnd)")
    assert selected == wrong
    page.keyboard.type(right)
    page.wait_for_selector("#diagnostics .clean")
    assert area.input_value() == (root / path).read_text(encoding="utf-8")

    page.click("#tab-tests")
    folder = EXAMPLES[contract]
    worked = f"examples/{folder}/worked_examples.test.yaml"
    page.select_option("#test-select", worked)
    page.wait_for_function("p => document.querySelector('#test-path').textContent === p", arg=worked)
    page.click("#run-tests")
    page.wait_for_selector("#test-summary.good")
    assert page.locator("#test-results .case.fail").count() == 0
    assert page.locator("#test-results .case.pass").count() >= 3
    if contract == "special_conversion":
        _screenshot(page.locator("#view-tests"), shots, "tests-passing")
    # Make an expectation wrong: the run shows it failing, with expected and actual.
    right_line, wrong_line, expected, actual = WRONG_EXPECTATION[contract]
    text = page.locator("#test-text").input_value()
    assert text.count(right_line) >= 1
    page.locator("#test-text").fill(text.replace(right_line, wrong_line, 1))
    page.click("#run-tests")
    page.wait_for_selector("#test-summary.bad")
    failure = page.locator("#test-results .case.fail")
    assert failure.count() == 1
    assert f"expected: {expected}" in failure.inner_text() and f"actual:   {actual}" in failure.inner_text()
    # Clicking the failure selects the expectation that failed in the test file.
    failure.click()
    selected = page.locator("#test-text").evaluate("a => a.value.slice(a.selectionStart, a.selectionEnd)")
    assert selected.strip().startswith(wrong_line)
    if contract == "special_conversion":
        _screenshot(page.locator("#view-tests"), shots, "tests-failing")


def test_the_source_document_shows_verified_quotes_and_the_misquote(
        page: Any, served: tuple[str, Path], shots: Path) -> None:
    base, _ = served
    _open(page, base, "contracts/special_conversion.clause")
    verified = page.locator("#source-doc mark.quote.ok")
    assert verified.count() >= 10
    _screenshot(page.locator("#source-pane"), shots, "source-pane")
    area = page.locator("#contract-text")
    text = area.input_value()
    start = text.index("round\n  upward") + len("round\n  ")
    area.evaluate("(a, [s, e]) => { a.focus(); a.setSelectionRange(s, e); }", [start, start + len("upward")])
    page.keyboard.type("downward")
    page.wait_for_selector("#source-doc mark.quote.bad")
    passage = "".join(page.locator("#source-doc mark.quote.bad").all_inner_texts())
    assert "upward to the next whole number" in " ".join(passage.split())
    assert "`downward` where the source says `upward`" in page.locator(".diagnostic").first.inner_text()
    # The wrong word is marked in the clause file, and the source's word in the document.
    assert page.locator("#highlight .quote-misquoted.diag-error").all_inner_texts() == ["downward"]
    assert page.locator("#source-doc mark.quote.bad.differs").all_inner_texts() == ["upward"]
    # A section of the outline jumps to its quote in the source: the misquoted one, where a quote is wrong.
    page.locator("#section-list a", has_text="1.2(a)").click()
    page.wait_for_selector("#source-doc mark.current")
    assert page.locator("#source-doc mark.current.ok").count() == 0
    assert page.locator("#source-doc mark.current.bad").count() >= 1
    _screenshot(page.locator("#view-contract"), shots, "contract-and-source-misquote")


def test_fill_the_scenario_form_see_353_and_the_memo_then_save_the_scenario(
        page: Any, served: tuple[str, Path], shots: Path) -> None:
    base, root = served
    _open(page, base, "contracts/special_conversion.clause")
    page.click("#tab-scenario")
    page.click("#new-scenario")
    # The facts of holder_converts.yaml, typed into the form a lawyer sees.
    facts = {"notice_time": "2003-06-18T20:00:00-04:00", "principal_amount": "$1,000", "principal_to_convert": "1000",
             "owner_ownership_pct": "4.2%", "owner_voting_securities_pct": "4.2%"}
    choices = {"owner_certificate_delivered": "true", "owner_is_national_indemnity": "false",
               "owner_is_affiliate": "false", "owners_are_group": "false", "owner_is_institutional_investor": "true"}
    shares = page.locator("tr[data-result=shares_issuable]")
    shares.wait_for()
    assert "undetermined — needs" in shares.inner_text()
    assert page.locator(".fact[data-fact=notice_time] .fact-state").inner_text() == "unknown"
    page.fill("#scenario-title", "Holder converts one $1,000 Note, typed into the form")
    # An undetermined result names the facts it needs; each is a link to its field.
    page.locator("tr[data-result=in_period] a.fact-link", has_text="notice_time").click()
    assert page.evaluate("() => document.activeElement.id") == "fact-notice_time"
    page.keyboard.type(facts.pop("notice_time"))
    for name, value in facts.items():
        page.fill(f"#fact-{name}", value)
    for name, value in choices.items():
        page.select_option(f"#fact-{name}", value)
    assert page.locator(".fact[data-fact=notice_time] .fact-state").inner_text() == "given"
    page.wait_for_function(
        "() => document.querySelector('tr[data-result=shares_issuable] .value')?.textContent === '353'")
    permitted = page.locator("tr[data-result=conversion_permitted]")
    assert "yes" in permitted.inner_text() and "§ 1.2(a)" in permitted.inner_text()
    _screenshot(page.locator("#scenario-pane"), shots, "scenario-pane")
    shares.locator(".trace-toggle").click()
    page.wait_for_selector("tr.trace-row:not([hidden]) .trace .step")
    assert "353" in page.locator("tr.trace-row:not([hidden])").inner_text()
    _screenshot(page.locator("#results-pane"), shots, "results-pane-with-trace")

    page.click("#sub-memo")
    frame = page.frame_locator("#memo-frame")
    frame.locator("body", has_text="353").wait_for()
    assert page.locator("#memo-frame").get_attribute("sandbox") == ""
    assert frame.locator("script").count() == 0
    _screenshot(page.locator("#results-pane"), shots, "memo-preview")
    offered = page.locator("#memo-downloads button").evaluate_all("buttons => buttons.map(b => b.dataset.format)")
    assert set(offered) == {"md", "html", "docx"}
    for fmt in offered:
        with page.expect_download() as download:
            page.click(f"#memo-downloads button[data-format={fmt}]")
        assert download.value.suggested_filename == f"memo.{fmt}"  # a scenario not yet saved
        content = Path(download.value.path()).read_bytes()
        if fmt == "docx":
            assert content.startswith(b"PK")  # a zip package, as Word reads
        else:
            assert b"353" in content and (fmt != "html" or b"<html" in content)

    saved = "examples/special_conversion/typed_in_the_form.yaml"
    page.fill("#scenario-save-path", saved)
    page.click("#save-scenario")
    page.wait_for_selector("#scenario-status.good")
    on_disk = root / saved
    assert on_disk.exists()
    from engine.api import evaluate, load_contract
    from engine.scenario import load_scenario

    outcome = evaluate(load_contract(root / "contracts/special_conversion.clause"), load_scenario(on_disk))
    assert outcome.results["shares_issuable"].value == 353

    # The scenario and its results become a case of a new test file, which passes.
    page.click("#tab-tests")
    page.fill("#case-title", "typed into the form")
    page.fill("#case-file", "examples/special_conversion/from_the_form.test.yaml")
    page.click("#add-case")
    page.wait_for_selector("#test-summary.good")
    assert page.locator("#test-results .case.pass", has_text="typed into the form").count() == 1
    cases = (root / "examples/special_conversion/from_the_form.test.yaml").read_text(encoding="utf-8")
    assert "shares_issuable: 353" in cases and "contract: \"../../contracts/special_conversion.clause\"" in cases

    # The share link reopens the same scenario in a fresh page.
    page.click("#share")
    link = page.locator("#share-url").input_value()
    fresh = page.context.new_page()
    fresh.goto(link)
    fresh.wait_for_selector("body[data-ready=true]")
    assert fresh.locator("#fact-notice_time").input_value() == "2003-06-18T20:00:00-04:00"
    fresh.wait_for_function(
        "() => document.querySelector('tr[data-result=shares_issuable] .value')?.textContent === '353'")
    # ... on the tab it was shared from, with the memo that was on show.
    assert fresh.locator("#tab-tests").get_attribute("class") == "active"
    fresh.frame_locator("#memo-frame").locator("body", has_text="353").wait_for(state="attached")
    fresh.close()

    # The memo on show follows the scenario: $2,000 converts into 705 shares (2000 / 2.83849 = 704.6…, upward).
    page.click("#tab-scenario")
    page.fill("#fact-principal_amount", "$2,000")
    page.fill("#fact-principal_to_convert", "$2,000")
    frame.locator("body", has_text="705").wait_for()


def test_a_list_of_records_is_edited_in_the_form(page: Any, served: tuple[str, Path], shots: Path) -> None:
    base, _ = served
    _open(page, base, "contracts/series_b_preferred.clause")
    page.click("#tab-scenario")
    page.locator("button.example", has_text="anti_dilution_issuance").click()
    page.wait_for_function("() => document.querySelector('#fact-issue_date')?.value === '2003-03-03'")
    options = page.locator(".fact[data-fact=options]")
    options.locator("button.add").click()
    options.locator("input[aria-label='options 1 shares']").fill("1,000,000")
    options.locator("input[aria-label='options 1 exercise_price']").fill("$2.00")
    page.click("#mode-yaml")
    yaml_text = page.locator("#scenario-yaml").input_value()
    assert 'options:\n    - shares: "1,000,000"\n      exercise_price: "$2.00"' in yaml_text
    _screenshot(page.locator("#scenario-pane"), shots, "scenario-yaml")
    # A blank scenario is saved under a name of its own, never over the example it replaced.
    assert page.locator("#scenario-save-path").input_value() == "examples/series_b/anti_dilution_issuance.yaml"
    page.click("#new-scenario")
    assert page.locator("#scenario-save-path").input_value() == ""


def test_saving_asks_before_overwriting_a_contract_changed_on_disk(
        page: Any, served: tuple[str, Path], dialogs: dict[str, Any]) -> None:
    base, root = served
    path = "contracts/rights_agreement.clause"
    _open(page, base, path)
    original = (root / path).read_text(encoding="utf-8")
    elsewhere = "# edited in another editor\n" + original
    (root / path).write_text(elsewhere, encoding="utf-8")
    area = page.locator("#contract-text")
    area.evaluate("a => { a.focus(); a.setSelectionRange(0, 0); }")
    page.keyboard.type("# edited in the workbench\n")
    dialogs["accept"] = False
    with page.expect_event("dialog") as asked:
        page.click("#save-contract")
    assert "changed on disk" in asked.value.message
    assert page.locator("#contract-status").inner_text() == "unsaved changes"
    assert (root / path).read_text(encoding="utf-8") == elsewhere  # not overwritten
    dialogs["accept"] = True
    page.click("#save-contract")
    page.wait_for_function("() => document.querySelector('#contract-status').textContent === 'saved'")
    assert (root / path).read_text(encoding="utf-8") == "# edited in the workbench\n" + original
    (root / path).write_text(original, encoding="utf-8")


def test_serve_says_when_its_port_is_taken(served: tuple[str, Path]) -> None:
    base, root = served
    port = base.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, "-m", "engine.cli", "serve", str(root), "--port", port],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
