"""Markers, pinyin annotations and punctuation, through the public API.

Codec repair is a separate stage with its own tests; it is switched off here
(``ISOLATED``) so these tests pin down only the artifact stages.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import textfix
from textfix import gate
from textfix.artifacts import markers, pinyin, punctuation
from textfix.config import Config
from textfix.findings import Finding
from textfix.pipeline import _apply

CASES = Path(__file__).parent / "cases" / "artifacts.json"
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
EVALDEV = SHARED / "evaldev" / "cases.jsonl"
SEED = SHARED / "seeds" / "000_924ec85aeffc136c.txt"
CORPUS = SHARED / "corpus"

ISOLATED: dict[str, Any] = {"repair_codecs": False, "repair_latin": False, "realign_streams": False}

PINYIN_LEFT = re.compile(r"[\u3400-\u9fff]\([a-z\u00e0-\u00fc\u0101-\u01dc]+\)")
DOUBLED_LEFT = re.compile(r",[。、,]")

Finder = Callable[[str, Config], list[Finding]]
FINDERS: list[tuple[str, Callable[[str], bool], Finder]] = [
    ("markers", markers.triggered, markers.find_markers),
    ("pinyin", pinyin.triggered, pinyin.find_annotations),
    ("punctuation", punctuation.triggered, punctuation.find_doubled),
    ("cjk_punctuation", punctuation.triggered_ascii_in_cjk, punctuation.find_ascii_in_cjk),
]


def _cases() -> list[dict[str, Any]]:
    return json.loads(CASES.read_text(encoding="utf-8"))


def _evaldev(kind: str) -> list[dict[str, Any]]:
    if not EVALDEV.exists():
        pytest.skip("shared evaldev cases not available")
    with EVALDEV.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [row for row in rows if row["kind"] == kind]


def _seed() -> str:
    if not SEED.exists():
        pytest.skip("shared seed not available")
    return SEED.read_text(encoding="utf-8")


def _stage_only(text: str, config: Config) -> str:
    """Run the artifact stages directly, bypassing the gate."""
    for _name, trigger, find in FINDERS:
        if _name == "cjk_punctuation" and not config.cjk_punctuation:
            continue
        if _name == "pinyin" and not config.remove_pinyin:
            continue
        if trigger(text):
            text = _apply(text, _name, find(text, config))[0]
    return text


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["label"])
def test_case(case: dict[str, Any]) -> None:
    options = {**ISOLATED, **case.get("options", {})}
    opt_in = options.get("cjk_punctuation") and case["expect"] == "fixed"
    if opt_in and not gate.maybe_damaged(case["garbled"]):
        assert _stage_only(case["garbled"], Config(**options)) == case["fixed"]
        pytest.xfail("the gate does not consult triggered_ascii_in_cjk yet")
    explained = textfix.fix_and_explain(case["garbled"], **options)
    kinds = {f.kind for f in textfix.scan(case["garbled"], **options)}
    assert explained.text == case["fixed"]
    assert textfix.apply_plan(case["garbled"], explained.steps) == explained.text
    if case["expect"] == "fixed":
        assert case["kind"] in kinds
        assert explained.text != case["garbled"]
    elif case["expect"] == "flagged":
        assert case["kind"] in kinds
        assert explained.text == case["garbled"]
    else:
        assert case["kind"] not in kinds
        assert explained.text == case["garbled"]


def test_case_file_is_well_formed() -> None:
    for case in _cases():
        assert {"label", "garbled", "fixed", "kind", "expect"} <= set(case)
        assert case["expect"] in {"fixed", "flagged", "unchanged"}
        if case["expect"] != "fixed":
            assert case["fixed"] == case["garbled"]


@pytest.mark.parametrize("name,trigger,find", FINDERS, ids=[f[0] for f in FINDERS])
def test_finder_silent_without_trigger(
    name: str, trigger: Callable[[str], bool], find: Finder
) -> None:
    for case in _cases():
        text = case["garbled"]
        if not trigger(text):
            assert find(text, Config()) == [], (name, case["label"])


def _check_findings(text: str, found: list[Finding]) -> None:
    end = 0
    for f in sorted(found, key=lambda f: f.start):
        assert end <= f.start < f.end <= len(text)
        assert 0.0 < f.confidence <= 1.0
        end = f.end


_ALPHABET = list("锟斤拷今猴絉烫屯\ufffd?,，。、()（）藍lánhǎo好中國 a\n你재")
_MIXED = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=40)


@given(_MIXED)
def test_findings_are_ordered_and_disjoint(text: str) -> None:
    for _name, trigger, find in FINDERS:
        found = find(text, Config(remove_markers=True))
        _check_findings(text, found)
        if found:
            assert trigger(text)


@given(_MIXED)
def test_replay_reproduces_output(text: str) -> None:
    explained = textfix.fix_and_explain(text, remove_markers=True, cjk_punctuation=True, **ISOLATED)
    assert textfix.apply_plan(text, explained.steps) == explained.text


def test_markers_never_removed_by_default() -> None:
    text = "值锟斤拷锟斤拷烫烫烫烫\ufffd"
    assert all(f.fix is None for f in markers.find_markers(text, Config()))
    removed = markers.find_markers(text, Config(remove_markers=True))
    assert [f.fix for f in removed] == ["", "", None]


def test_kunjinkao_confidence_ranks_full_above_partial() -> None:
    [full] = markers.find_markers("好锟斤拷锟斤拷好", Config())
    [partial] = markers.find_markers("好猴拷好", Config())
    assert full.confidence >= 0.99 > partial.confidence


def test_evaldev_kunjinkao_flagged_and_unchanged() -> None:
    cases = _evaldev("kunjinkao")
    assert len(cases) == 60
    for case in cases:
        garbled = case["garbled"]
        assert markers.triggered(garbled)
        kinds = {f.kind for f in markers.find_markers(garbled, Config())}
        assert "kunjinkao" in kinds, case["id"]
        assert textfix.fix_text(garbled, **ISOLATED) == garbled, case["id"]


def test_evaldev_pinyin_annotations_fixed_exactly() -> None:
    cases = _evaldev("pinyin_annot")
    assert len(cases) == 60
    for case in cases:
        explained = textfix.fix_and_explain(case["garbled"], **ISOLATED)
        assert explained.text == case["original"], case["id"]
        assert textfix.apply_plan(case["garbled"], explained.steps) == explained.text


def test_seed_annotations_and_doubled_punctuation_removed() -> None:
    seed = _seed()
    explained = textfix.fix_and_explain(seed, **ISOLATED)
    assert not PINYIN_LEFT.search(explained.text)
    assert not DOUBLED_LEFT.search(explained.text)
    removed = sum(step.kind == "pinyin_annot" for step in explained.steps)
    # 245 in all; two follow a GBK stream cut ("秴^(qū)") that codec repair must heal first.
    assert removed >= 243
    assert textfix.apply_plan(seed, explained.steps) == explained.text


def test_seed_to_simplified_reads_as_simplified() -> None:
    import opencc

    seed = _seed()
    out = textfix.fix_text(seed, to_simplified=True, **ISOLATED)
    assert opencc.OpenCC("t2s").convert(out) == out
    assert "蓝图" in out and "藍" not in out


@pytest.mark.xfail(
    strict=False,
    reason="codec repair is under development and may still "
    "rewrite parts of annotations before the pinyin stage sees them",
)
def test_seed_default_config() -> None:
    out = textfix.fix_text(_seed())
    assert not PINYIN_LEFT.search(out)
    assert not DOUBLED_LEFT.search(out)


def _documents(path: Path) -> Iterator[str]:
    text = path.read_text(encoding="utf-8")
    yield from text.split("\n\n")


@pytest.mark.slow
def test_clean_corpus_has_no_findings() -> None:
    files = sorted(CORPUS.glob("*/*.txt"))
    if not files:
        pytest.skip("shared corpus not available")
    default = Config()
    started = time.perf_counter()
    hits: list[tuple[str, str, str]] = []
    for path in files:
        whole = path.read_text(encoding="utf-8")
        for name, trigger, find in FINDERS[:3]:
            if not trigger(whole):
                continue
            for doc in _documents(path):
                if trigger(doc):
                    hits += [(path.name, name, doc[f.start : f.end]) for f in find(doc, default)]
    assert hits == []
    # Loose bound: the triggers scan the 73 MB in a few seconds.
    assert time.perf_counter() - started < 120
