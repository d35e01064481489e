"""Runs the stages in order, records each replacement as a replayable step.

Every stage has a cheap trigger. A stage whose trigger does not occur in the text
is not run at all, which is what keeps clean text at close to memory speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from textfix import gate
from textfix.config import Config
from textfix.findings import Explained, Finding, Step

Finder = Callable[[str, Config], list[Finding]]


@dataclass(frozen=True)
class Stage:
    name: str
    enabled: Callable[[Config], bool]
    triggered: Callable[[str], bool]
    find: Finder


def _stages() -> list[Stage]:
    # Imported here so that `import textfix` stays cheap.
    from textfix import detect, normalize
    from textfix.artifacts import markers, pinyin, punctuation

    return [
        Stage(
            "repair",
            lambda c: c.repair_codecs or c.repair_latin or c.realign_streams,
            gate.has_codec_trigger,
            detect.find_damage,
        ),
        Stage("markers", lambda c: True, markers.triggered, markers.find_markers),
        Stage("pinyin", lambda c: c.remove_pinyin, pinyin.triggered, pinyin.find_annotations),
        Stage(
            "punctuation",
            lambda c: c.collapse_punctuation,
            punctuation.triggered,
            punctuation.find_doubled,
        ),
        Stage(
            "cjk_punctuation",
            lambda c: c.cjk_punctuation,
            punctuation.triggered_ascii_in_cjk,
            punctuation.find_ascii_in_cjk,
        ),
        Stage("normalize", normalize.any_enabled, lambda _t: True, normalize.find_changes),
    ]


_STAGES: list[Stage] | None = None
# Real damage settles in one or two passes; garbage made of every byte pair of a
# codec took four (each pass uncovering a layer under the last), and a cap that
# stops short of the fixed point breaks idempotence.
_MAX_PASSES = 6


def stages() -> list[Stage]:
    global _STAGES
    if _STAGES is None:
        _STAGES = _stages()
    return _STAGES


def _apply(text: str, stage: str, findings: Sequence[Finding]) -> tuple[str, list[Step]]:
    """Apply the findings that carry a fix, left to right, skipping overlaps."""
    steps: list[Step] = []
    parts: list[str] = []
    pos = 0
    shift = 0
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if f.fix is None or f.start < pos or f.fix == text[f.start : f.end]:
            continue
        parts.append(text[pos : f.start])
        old = text[f.start : f.end]
        start, end = f.start + shift, f.end + shift
        steps.append(Step(stage, f.kind, start, end, old, f.fix, dict(f.detail)))
        parts.append(f.fix)
        shift += len(f.fix) - len(old)
        pos = f.end
    if not steps:
        return text, steps
    parts.append(text[pos:])
    return "".join(parts), steps


class _OffsetMap:
    """Maps positions in a later text back to the original input."""

    def __init__(self) -> None:
        self._steps: list[Step] = []

    def add(self, steps: Iterable[Step]) -> None:
        self._steps.extend(steps)

    def to_original(self, pos: int) -> int:
        for step in reversed(self._steps):
            new_end = step.start + len(step.new)
            if pos >= new_end:
                pos += (step.end - step.start) - len(step.new)
            elif pos > step.start:
                pos = step.start
        return pos


def run(text: str, config: Config) -> Explained:
    if not gate.maybe_damaged(text) and not _opted_in(config, text):
        return Explained(text, [], [])
    steps: list[Step] = []
    reported: list[Finding] = []
    offsets = _OffsetMap()
    for stage in stages():
        # A repair can uncover damage underneath it (or next to it) that the first
        # pass could not see; run the stage until it finds nothing new, so fixing
        # is idempotent.
        for _ in range(_MAX_PASSES):
            if not stage.enabled(config) or not stage.triggered(text):
                break
            found = stage.find(text, config)
            if not found:
                break
            for f in found:
                start, end = offsets.to_original(f.start), offsets.to_original(f.end)
                reported.append(
                    Finding(f.kind, start, max(start, end), f.confidence, f.fix, f.detail)
                )
            text, new_steps = _apply(text, stage.name, found)
            steps.extend(new_steps)
            offsets.add(new_steps)
            if not new_steps:
                break
    reported.sort(key=lambda f: (f.start, f.end))
    return Explained(text, steps, reported)


def _opted_in(config: Config, text: str) -> bool:
    """Opt-in normalizations have triggers of their own, outside the damage gate."""
    from textfix import normalize
    from textfix.artifacts import punctuation

    if normalize.any_enabled(config):
        return True
    return config.cjk_punctuation and punctuation.triggered_ascii_in_cjk(text)


def apply_plan(text: str, steps: Iterable[Step | dict]) -> str:
    """Replay ``steps`` on ``text``; raises ValueError if the text does not match the plan."""
    for raw in steps:
        step = raw if isinstance(raw, Step) else Step.from_dict(raw)
        if text[step.start : step.end] != step.old:
            raise ValueError(
                f"plan does not match text at {step.start}:{step.end}: "
                f"expected {step.old!r}, found {text[step.start : step.end]!r}"
            )
        text = text[: step.start] + step.new + text[step.end :]
    return text
