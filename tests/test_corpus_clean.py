"""Every paragraph of the shared clean corpus passes through unchanged."""

from __future__ import annotations

import pytest

from textfix import fix_text

from .conftest import CORPUS

pytestmark = pytest.mark.slow

LANGS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.exists() else []


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not present")
@pytest.mark.parametrize("lang", LANGS)
def test_corpus_unchanged(lang: str) -> None:
    changed = []
    for path in sorted((CORPUS / lang).glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for para in text.split("\n\n"):
            if fix_text(para) != para:
                changed.append((path.name, para[:80]))
    assert changed == []
