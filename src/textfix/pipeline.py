"""Runs the stages in order, records each replacement as a replayable step.

Every stage has a cheap trigger. A stage whose trigger does not occur in the text
is not run at all, which is what keeps clean text at close to memory speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

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
    # Asked of one line of a long text: False only if ``find`` would find nothing
    # there. None: ``triggered`` is that test.
    line_has_work: Callable[[str], bool] | None = None


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
            detect.line_has_work,
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


# Texts this long are first cut down to the lines that hold a trigger character:
# every stage scans its whole input, some more than once, and in Latin-script text
# a few lines per megabyte hold any character a trigger needs.
_SEGMENT_MIN = 8192
# Characters of the untouched text kept on each side of a line, for the scorer's
# context (the repair engine looks 24 characters around a span for its scripts).
_SEGMENT_CONTEXT = 64
# Past this share of the text in segments, running the stages once is cheaper
# (CJK text, where nearly every line holds a trigger character).
_SEGMENT_SHARE = 0.5


def run(text: str, config: Config) -> Explained:
    if len(text) >= _SEGMENT_MIN and not text.isascii() and not _normalize_enabled(config):
        segments = _segments(text)
        if segments is None and not config.cjk_punctuation:
            segments = _triggered_segments(text, config)
        if segments is not None:
            return _run_segments(text, segments, config)
    return _run_gated(text, config)


def fix(text: str, config: Config) -> str:
    """``run(text, config).text``, with no result object built for a clean short text."""
    if len(text) < _SEGMENT_MIN:
        # What run() does with a short text, without asking the gate a second time.
        return _run_whole(text, config).text if _has_work(text, config) else text
    return run(text, config).text


def _has_work(text: str, config: Config) -> bool:
    return gate.maybe_damaged(text) or _opted_in(config, text)


def _run_gated(text: str, config: Config) -> Explained:
    if not _has_work(text, config):
        return Explained(text, [], [])
    return _run_whole(text, config)


# The last config asked about and its answer: every clean text asks, almost always
# with the same config object, and an identity test is cheaper than hashing it.
_NORMALIZE_MEMO: tuple[Config | None, bool] = (None, False)


def _normalize_enabled(config: Config) -> bool:
    global _NORMALIZE_MEMO
    memo = _NORMALIZE_MEMO
    if memo[0] is config:
        return memo[1]
    from textfix import normalize

    enabled = normalize.any_enabled(config)
    _NORMALIZE_MEMO = (config, enabled)
    return enabled


def _segments(text: str) -> list[tuple[int, int]] | None:
    """Stretches of whole lines around each line with a trigger character, merged;
    None if they would cover too much of the text to be worth it (:func:`_cover`
    judges that as it goes, so CJK text pays almost nothing for the try)."""
    return _cover(text)


def _triggered_segments(text: str, config: Config) -> list[tuple[int, int]] | None:
    """Stretches of whole lines around each line where some stage's trigger matches.

    In CJK text nearly every line holds a character some trigger needs, so
    :func:`_segments` gives up; but the triggers themselves match on a few lines in
    a thousand. One fused scan finds those lines, and the stages then read only
    them (with their context) instead of scanning the whole text once each. The
    opt-in CJK punctuation stage has a trigger of its own, outside this scan, so
    the caller does not ask when it is on.
    """
    return _cover(text, _lines_with_work(text, config))


def _lines_with_work(text: str, config: Config) -> Iterator[tuple[int, int]]:
    """The lines of :func:`gate.stage_lines` where some enabled stage may find
    something, by each stage's own line test (two rare characters that make a known
    word pass the fused scan but not the repair stage's)."""
    active = [stage.line_has_work or stage.triggered for stage in stages() if stage.enabled(config)]
    for start, end in gate.stage_lines(text):
        line = text[start:end]
        if any(has_work(line) for has_work in active):
            yield start, end


def _cover(
    text: str, lines: Iterable[tuple[int, int]] | None = None
) -> list[tuple[int, int]] | None:
    """Stretches of whole lines around each ``(start, end)`` of ``lines`` (by
    default those with a trigger character) with their context, merged; None once
    they cover more than half of what has been read."""
    n = len(text)
    out: list[tuple[int, int]] = []
    total = 0
    for start, end in gate.trigger_lines(text) if lines is None else lines:
        a = text.rfind("\n", 0, max(0, start - _SEGMENT_CONTEXT)) + 1
        b = text.find("\n", min(n, end + _SEGMENT_CONTEXT))
        b = n if b < 0 else b
        if out and a <= out[-1][1]:
            total -= out[-1][1] - out[-1][0]
            a = out[-1][0]
            out.pop()
        out.append((a, b))
        total += b - a
        # Judged as it goes, once a stretch the size of the first check is read:
        # a text that turns to CJK after a Latin opening would otherwise be walked
        # line by line through half its length before giving up.
        if total > _SEGMENT_SHARE * max(b, _SEGMENT_MIN):
            return None
    return out


def _run_segments(text: str, segments: list[tuple[int, int]], config: Config) -> Explained:
    """Run the stages on each segment alone and splice the results back in.

    Steps keep their order (segment by segment, left to right), with positions
    moved by the segment's start in the text as changed so far, so the plan still
    replays; findings are moved to positions in the input.
    """
    parts: list[str] = []
    steps: list[Step] = []
    reported: list[Finding] = []
    pos = 0
    shift = 0  # how much longer the output is than the input, so far
    for a, b in segments:
        piece = _run_gated(text[a:b], config)
        parts.append(text[pos:a])
        parts.append(piece.text)
        at = a + shift
        steps.extend(replace(st, start=st.start + at, end=st.end + at) for st in piece.steps)
        reported.extend(replace(f, start=f.start + a, end=f.end + a) for f in piece.findings)
        shift += len(piece.text) - (b - a)
        pos = b
    if not steps and not reported:
        return Explained(text, [], [])
    parts.append(text[pos:])
    return Explained("".join(parts), steps, reported)


def _run_whole(text: str, config: Config) -> Explained:
    steps: list[Step] = []
    reported: list[Finding] = []
    offsets = _OffsetMap()
    for stage in stages():
        # A repair can uncover damage underneath it (or next to it) that the first
        # pass could not see; run the stage until it finds nothing new, so fixing
        # is idempotent. After the first pass only the lines the last pass changed
        # (with their context) are read again: every other line is as it was when
        # the stage last found nothing more to do there, so searching all of a
        # text's damaged lines again for one repair elsewhere would only repeat
        # work (and report their unfixed findings a second time).
        changed: list[tuple[int, int]] | None = None
        for _ in range(_MAX_PASSES):
            if not stage.enabled(config):
                break
            found = _find(stage, text, config, changed)
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
            # Whole lines around what the pass wrote, with a segment's context (the
            # repair engine reads up to 24 characters around a span); if that is
            # most of the text, all of it.
            changed = _cover(text, [(st.start, st.start + len(st.new)) for st in new_steps])
    reported.sort(key=lambda f: (f.start, f.end))
    return Explained(text, steps, reported)


def _find(
    stage: Stage, text: str, config: Config, changed: list[tuple[int, int]] | None
) -> list[Finding]:
    """The stage's findings in ``text``, or only in the ``changed`` stretches of it."""
    if changed is None:
        return stage.find(text, config) if stage.triggered(text) else []
    found: list[Finding] = []
    for a, b in changed:
        piece = text[a:b]
        if stage.triggered(piece):
            found.extend(
                replace(f, start=f.start + a, end=f.end + a) for f in stage.find(piece, config)
            )
    return found


def _opted_in(config: Config, text: str) -> bool:
    """Opt-in normalizations have triggers of their own, outside the damage gate."""
    if not config.cjk_punctuation:
        return _normalize_enabled(config)
    from textfix.artifacts import punctuation

    return _normalize_enabled(config) or punctuation.triggered_ascii_in_cjk(text)


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
