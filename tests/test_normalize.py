"""Opt-in normalizations, through the public API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import textfix
from textfix import normalize
from textfix.config import Config

CASES = Path(__file__).parent / "cases" / "normalize.json"
ISOLATED: dict[str, Any] = {"repair_codecs": False, "repair_latin": False, "realign_streams": False}
ALL_ON: dict[str, Any] = {
    "to_simplified": True,
    "fold_width": True,
    "uncurl_quotes": True,
    "normalization": "NFC",
    "fix_line_breaks": True,
    "remove_bom": True,
    "remove_control_chars": True,
}


def _cases() -> list[dict[str, Any]]:
    return json.loads(CASES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["label"])
def test_case(case: dict[str, Any]) -> None:
    options = {**ISOLATED, **case.get("options", {})}
    explained = textfix.fix_and_explain(case["garbled"], **options)
    kinds = {f.kind for f in explained.findings}
    assert explained.text == case["fixed"]
    assert textfix.apply_plan(case["garbled"], explained.steps) == explained.text
    if case["expect"] == "fixed":
        assert case["kind"] in kinds
    else:
        assert explained.text == case["garbled"]
        assert case["kind"] not in kinds


@pytest.mark.parametrize("option", sorted(ALL_ON))
def test_any_enabled_per_option(option: str) -> None:
    assert not normalize.any_enabled(Config())
    assert normalize.any_enabled(Config(**{option: ALL_ON[option]}))


def test_cjk_punctuation_is_not_a_normalize_option() -> None:
    assert not normalize.any_enabled(Config(cjk_punctuation=True))


def test_default_config_changes_nothing() -> None:
    text = "臺灣“ＡＢ”\r\n\ufeff"
    assert normalize.find_changes(text, Config()) == []
    assert textfix.fix_text(text, **ISOLATED) == text


def test_bad_normalization_form_is_rejected() -> None:
    with pytest.raises(ValueError):
        normalize.find_changes("x", Config(normalization="NFX"))


def test_findings_are_small_spans() -> None:
    text = "這是一個很長的句子，只有臺灣兩個字需要轉換，其餘的字都不變。" * 3
    found = normalize.find_changes(text, Config(to_simplified=True))
    assert found and all(f.end - f.start <= 4 for f in found)


def test_kinds_follow_the_option_that_changed_the_span() -> None:
    found = normalize.find_changes(
        "“臺”ＡＢ", Config(to_simplified=True, uncurl_quotes=True, fold_width=True)
    )
    assert [f.kind for f in found] == [
        "uncurl_quotes",
        "to_simplified",
        "uncurl_quotes",
        "fold_width",
    ]


_PIECES = list("臺灣電腦台湾乾隆“”‘’ＡＢ１ｶﾞ，。　\r\n\u2028\ufeff\x07\u0301e a") + ["\r\n", "頭髮"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@given(_TEXT)
def test_replay_matches_output_with_everything_on(text: str) -> None:
    explained = textfix.fix_and_explain(text, **ISOLATED, **ALL_ON)
    assert textfix.apply_plan(text, explained.steps) == explained.text


@given(_TEXT)
def test_findings_apply_to_the_same_result_as_the_fixers(text: str) -> None:
    import unicodedata

    import opencc
    from ftfy import fixes

    options: dict[str, Any] = {
        "fix_line_breaks": True,
        "uncurl_quotes": True,
        "normalization": "NFC",
    }
    expected = unicodedata.normalize("NFC", fixes.uncurl_quotes(fixes.fix_line_breaks(text)))
    assert textfix.fix_text(text, **ISOLATED, **options) == expected
    simplified = opencc.OpenCC("t2s").convert(text)
    assert textfix.fix_text(text, **ISOLATED, to_simplified=True) == simplified


@given(_TEXT)
def test_all_options_compose_like_sequential_fixers(text: str) -> None:
    import unicodedata

    import opencc
    from ftfy import fixes

    expected = fixes.remove_control_chars(fixes.fix_line_breaks(fixes.remove_bom(text)))
    expected = fixes.uncurl_quotes(normalize._fold_width(expected))
    expected = unicodedata.normalize("NFC", opencc.OpenCC("t2s").convert(expected))
    assert textfix.fix_text(text, **ISOLATED, **ALL_ON) == expected
