"""Shared test helpers: where the read-only shared material lives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline anywhere: the first example a worker runs may load the
# character model and its trigram table (most of a second), which says nothing
# about the code under test. Tests that guard against hangs cap time themselves.
settings.register_profile("textfix", deadline=None)
settings.load_profile("textfix")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
EVALDEV = SHARED / "evaldev" / "cases.jsonl"
CASES = Path(__file__).resolve().parent / "cases"


def load_cases(name: str) -> list[dict]:
    return json.loads((CASES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def evaldev() -> list[dict]:
    if not EVALDEV.exists():
        pytest.skip("../shared/evaldev is not present")
    with EVALDEV.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
