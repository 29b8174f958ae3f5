"""A short fuzz run (issue #10): grammar-aware mutations of the shipped
contracts, scenarios and tables (tests/hostile_mutations.py) must never give
an internal error, a traceback or an exception out of the CLI. Bounded to a
few hundred cases; scripts/fuzz_hostile.py is the long run for releases."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_mutations import Corpus, link_corpus, run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("fuzz")
    link_corpus(directory)
    yield directory


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus()


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUSE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "fuzz-cache"))
    monkeypatch.setenv("CLAUSE_CACHE", "1")


@pytest.mark.parametrize("kind", ["clause", "scenario", "table"])
def test_mutated_inputs_never_break_the_cli(kind: str, workdir: Path, corpus: Corpus) -> None:
    @settings(max_examples=60 if kind == "clause" else 120, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(min_value=0, max_value=2**32))
    def check(seed: int) -> None:
        case = corpus.case(random.Random(seed), kinds=(kind,))
        verdict = run_case(case, workdir)
        assert verdict.broke is None, (seed, case.command, verdict.broke, verdict.err[-2000:])
        assert verdict.code in (0, 1), (seed, case.command, verdict.err[-2000:])

    check()
