"""Replays: saved crash/hang/invariant inputs, and ``apply_plan`` replaying explanations.

``tests/cases/regressions.json`` holds every input the fuzzers (``fuzz/``) or the
property tests found, as ``{label, input, note, target, ...}``: ``input`` is the text
(or, with ``"bytes": true``, the bytes decoded as Latin-1), ``target`` names the check
from ``fuzz/_harness.py`` that failed (fix_text, scan, decode_bytes, jsonl),
``config`` the non-default options, ``expect`` the correct output of ``fix_text``
where it is known, and ``xfail`` the reason while the bug is still open. Every case
is replayed through the same invariant checks the fuzzer used, with the hang limit
scaled by ``$TEXTFIX_REPLAY_SLACK`` (default 2) for slow CI machines.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from textfix import Config, apply_plan, fix_and_explain, fix_text
from textfix.findings import Step

REPO = Path(__file__).resolve().parents[1]
CASES = Path(__file__).parent / "cases" / "regressions.json"
SLACK = float(os.environ.get("TEXTFIX_REPLAY_SLACK", "2"))


def _harness() -> ModuleType:
    name = "textfix_fuzz_harness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "fuzz" / "_harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _cases() -> list[dict[str, Any]]:
    if not CASES.exists():
        return []
    cases: list[dict[str, Any]] = json.loads(CASES.read_text(encoding="utf-8"))
    return cases


def _params() -> list[Any]:
    params = []
    for case in _cases():
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(strict=False, reason=case["xfail"]))
        if case.get("slow"):
            marks.append(pytest.mark.slow)
        params.append(pytest.param(case, id=case["label"], marks=marks))
    return params


def test_cases_are_well_formed() -> None:
    harness = _harness()
    labels = set()
    for case in _cases():
        assert {"label", "input", "note", "target"} <= set(case), case
        assert case["label"] not in labels, f"duplicate label {case['label']}"
        labels.add(case["label"])
        assert case["target"] in harness.CHECKS, case["label"]
        value = harness.load_input(case)
        assert isinstance(value, bytes if case.get("bytes") else str)
        if "config" in case:
            Config(**case["config"])


@pytest.mark.parametrize("case", _params())
def test_regression(case: dict[str, Any]) -> None:
    harness = _harness()
    harness.HANG_SECONDS = 2.0 * SLACK
    harness.replay(case)
    if "expect" in case:
        config = Config(**case.get("config", {}))
        assert fix_text(harness.load_input(case), config) == case["expect"]


# --------------------------------------------------------------------------- apply_plan

SAMPLES = [
    "浣犲ソ锛屼笘鐣岋紒",
    "今天天气很好，我们一起去公园散步吧。".encode().decode("gbk", "replace"),
    "今天天气很好".encode("gbk").decode("latin-1") + " and CafÃ©",
    "我們的藍(lán)圖很好。召开,。蓝图",
    "好锟斤拷锟斤拷的\ufffd",
    "clean text, nothing to do",
    "第一行 浣犲ソ\n第二行 ä½ å¥½\n第三行",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_plan_replays_exactly(text: str) -> None:
    explained = fix_and_explain(text)
    assert apply_plan(text, explained.steps) == explained.text
    dicts = json.loads(json.dumps([s.to_dict() for s in explained.steps], ensure_ascii=False))
    assert apply_plan(text, dicts) == explained.text
    assert [Step.from_dict(d) for d in dicts] == explained.steps


@pytest.mark.parametrize("text", SAMPLES)
def test_plan_replays_one_step_at_a_time(text: str) -> None:
    explained = fix_and_explain(text)
    current = text
    for step in explained.steps:
        assert current[step.start : step.end] == step.old
        current = apply_plan(current, [step])
    assert current == explained.text


def test_plan_steps_are_recorded_for_repairs() -> None:
    explained = fix_and_explain(SAMPLES[0])
    assert explained.text == "你好，世界！"
    assert explained.steps, "a repair must leave a step"


def test_empty_plan_is_identity() -> None:
    assert apply_plan("任何文本", []) == "任何文本"


def test_plan_for_other_text_is_refused() -> None:
    steps = fix_and_explain(SAMPLES[0]).steps
    with pytest.raises(ValueError):
        apply_plan("完全不同的文本，长度也不同。", steps)
    with pytest.raises(ValueError):
        apply_plan(SAMPLES[0][1:], steps)


def test_plan_replayed_twice_is_refused() -> None:
    explained = fix_and_explain(SAMPLES[0])
    with pytest.raises(ValueError):
        apply_plan(explained.text, explained.steps)


def test_plan_with_config_replays() -> None:
    text = "臺灣“好”,世界 ＡＢＣ\r\n" + SAMPLES[0]
    config = Config(to_simplified=True, uncurl_quotes=True, fold_width=True,
                    fix_line_breaks=True, cjk_punctuation=True, normalization="NFKC")
    explained = fix_and_explain(text, config)
    assert apply_plan(text, explained.steps) == explained.text
    assert explained.text == fix_text(text, config)
