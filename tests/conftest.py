"""Shared test helpers: where the read-only shared material lives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
