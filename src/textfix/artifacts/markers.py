"""Unrecoverable markers: 锟斤拷, 烫烫烫, 屯屯屯 and runs of U+FFFD or ``??``.

锟斤拷 is what U+FFFD (UTF-8 ``EF BF BD``) looks like when read as GBK. A lone
U+FFFD among other garbage does not always come out as the full ``锟斤拷``:

* when ``EF`` starts a GBK pair it reads ``锟`` (``EF BF``) and ``BD`` pairs with
  whatever byte follows: ``斤`` (``BD EF``), ``今`` (``BD F1``), ``絉`` (``BD 52``,
  an ASCII ``R`` swallowed), or a replacement mark if the pair is invalid;
* when ``EF`` is the trail byte of the previous pair (``猴`` is ``BA EF``) the
  rest reads ``拷`` (``BF BD``).

So every lost character leaves ``锟`` + (a character led by ``BD``) or (a
character trailed by ``EF``) + ``拷``. Marking exactly those characters finds
the damage without touching the real characters that survived between them.
The original bytes are gone, so these are reported (``fix=None``) and only
deleted when ``Config.remove_markers`` is set.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable

from textfix.artifacts.punctuation import CJK_CHARS, CJK_PUNCT
from textfix.config import Config
from textfix.findings import Finding

_KUN, _KAO = "锟", "拷"


def _gbk_chars(pairs: Iterable[tuple[int, int]]) -> str:
    """The characters that the given two-byte sequences decode to in GBK/GB18030."""
    chars: set[str] = set()
    for lead, trail in pairs:
        for codec in ("gbk", "gb18030"):
            try:
                chars.add(bytes((lead, trail)).decode(codec))
            except UnicodeDecodeError:
                pass
    return "".join(sorted(c for c in chars if len(c) == 1))


_TRAILS = [t for t in range(0x40, 0xFF) if t != 0x7F]
# Characters that carry the BD left over after 锟 took EF BF.
_LEAD_BD = _gbk_chars((0xBD, t) for t in _TRAILS)
# Characters that swallowed the EF, leaving BF BD to read as 拷.
_TRAIL_EF = _gbk_chars((lead, 0xEF) for lead in range(0x81, 0xFF))
_LEAD_BD_SET = frozenset(_LEAD_BD)
_TRAIL_EF_SET = frozenset(_TRAIL_EF)
# After 锟, a decoder that rejects BD + next byte emits U+FFFD (Python, Java) or
# "?" (Windows code pages); at the very end of the text BD is simply cut off.
_KUN_TAIL = _LEAD_BD_SET | {"\ufffd", "?"}

_FILL_MIN = 4
_FILL_MIN_NEXT_TO_KUN = 3
_FILL_RE = re.compile(f"烫{{{_FILL_MIN_NEXT_TO_KUN},}}|屯{{{_FILL_MIN_NEXT_TO_KUN},}}")

_QUESTION_CONTEXT = CJK_CHARS + CJK_PUNCT
_REPLACEMENT_RE = re.compile(r"\ufffd+|\?{2,}")
_CJK_CHAR_RE = re.compile(f"[{_QUESTION_CONTEXT}]")

# One leading character class lets `re` skip ahead at memory speed; each branch
# then confirms what follows (a bare alternation of literals scans ~10x slower).
# Kept as (leading class, rest) so the gate can fuse it with the other triggers.
TRIGGER_PARTS = (
    "[锟拷烫屯\ufffd?]",
    "(?:"
    "(?<=锟)"
    rf"|(?<=[{re.escape(_TRAIL_EF)}]拷)"
    rf"|(?<=烫)烫{{{_FILL_MIN - 1}}}|(?<=屯)屯{{{_FILL_MIN - 1}}}"
    "|(?<=\ufffd)"
    rf"|(?<=\?)\?(?:(?<=[{_QUESTION_CONTEXT}]\?\?)|(?=[{_QUESTION_CONTEXT}])))",
)
_TRIGGER_RE = re.compile("".join(TRIGGER_PARTS))
_KUNJINKAO_RE = re.compile("[锟拷]")


def triggered(text: str) -> bool:
    """Cheap test for any marker this module reports.

    >>> triggered("锟斤拷"), triggered("拷贝文件"), triggered("烫烫"), triggered("好\\ufffd")
    (True, False, False, True)
    """
    return _TRIGGER_RE.search(text) is not None


def _lost_char_spans(text: str) -> list[tuple[int, int]]:
    """Character spans that hold one lost U+FFFD each (may overlap)."""
    spans: list[tuple[int, int]] = []
    for m in _KUNJINKAO_RE.finditer(text):
        i = m.start()
        if m.group() == _KUN:
            if i + 1 == len(text):
                spans.append((i, i + 1))
            elif text[i + 1] in _KUN_TAIL:
                spans.append((i, i + 2))
        elif i > 0 and text[i - 1] in _TRAIL_EF_SET:
            spans.append((i - 1, i + 1))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Merge touching spans; also count how many lost characters each holds."""
    merged: list[tuple[int, int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            m_start, m_end, count = merged[-1]
            merged[-1] = (m_start, max(m_end, end), count + 1)
        else:
            merged.append((start, end, 1))
    return merged


def _kunjinkao_confidence(span: str, count: int) -> float:
    """Full 锟斤拷 triples are unmistakable; a single partial pair less so."""
    if "锟斤拷" in span or count >= 3:
        return 0.99
    if count == 2:
        return 0.95
    return 0.85 if span.startswith(_KUN) else 0.75


def _kunjinkao(text: str, config: Config) -> list[Finding]:
    fix = "" if config.remove_markers else None
    found = []
    for start, end, count in _merge(_lost_char_spans(text)):
        confidence = _kunjinkao_confidence(text[start:end], count)
        found.append(Finding("kunjinkao", start, end, confidence, fix, {"lost_chars": count}))
    return found


def _fills(text: str, config: Config, kun: list[Finding]) -> list[Finding]:
    """Debug fill runs: ≥4 alone (烫烫 and 屯屯 are words), ≥3 when touching 锟斤拷."""
    edges = {f.start for f in kun} | {f.end for f in kun}
    fix = "" if config.remove_markers else None
    found = []
    for m in _FILL_RE.finditer(text):
        length = m.end() - m.start()
        touching = m.start() in edges or m.end() in edges
        if length >= _FILL_MIN or (touching and length >= _FILL_MIN_NEXT_TO_KUN):
            byte = "CC" if m.group()[0] == "烫" else "CD"
            confidence = min(0.99, 0.8 + 0.03 * length)
            found.append(
                Finding("fill_marker", m.start(), m.end(), confidence, fix, {"fill_byte": byte})
            )
    return found


def _looks_lost(text: str, start: int, end: int) -> bool:
    """Whether a ``??`` run stands for lost characters rather than a doubled question mark.

    A real "??" closes a clause, so it is followed by a space, punctuation or the
    end of the text; lost characters sit inside a run of CJK text.
    """
    after = text[end] if end < len(text) else ""
    if after and _CJK_CHAR_RE.match(after):
        return True
    before = text[start - 1] if start > 0 else ""
    if not before or not _CJK_CHAR_RE.match(before) or not after:
        return False
    return not (after.isspace() or unicodedata.category(after)[0] in "PZ")


def _replacement_runs(text: str, taken: list[Finding]) -> list[Finding]:
    """U+FFFD runs, and ``??`` runs inside CJK text, outside the spans already reported."""
    # A 锟斤拷 span never starts with a replacement mark (it starts with 锟 or with
    # the character before 拷), so a run can only begin inside one, not enclose one.
    starts = [f.start for f in taken]
    found = []
    for m in _REPLACEMENT_RE.finditer(text):
        start, end = m.start(), m.end()
        i = bisect_right(starts, start) - 1
        if i >= 0 and start < taken[i].end:
            start = taken[i].end
        if start >= end:
            continue
        if text[start] == "\ufffd":
            found.append(Finding("replacement_run", start, end, 0.95, None, {"mark": "U+FFFD"}))
        elif end - start >= 2 and _looks_lost(text, start, end):
            found.append(Finding("replacement_run", start, end, 0.6, None, {"mark": "?"}))
    return found


def find_markers(text: str, config: Config) -> list[Finding]:
    """Report 锟斤拷 debris, fill runs and replacement runs (deleted only on request).

    >>> [(f.kind, f.start, f.end, f.fix) for f in find_markers("好锟斤拷锟斤拷的", Config())]
    [('kunjinkao', 1, 7, None)]
    >>> [(f.kind, f.fix) for f in find_markers("烫烫烫烫", Config(remove_markers=True))]
    [('fill_marker', '')]
    >>> [(f.kind, f.start, f.end) for f in find_markers("你好??世界\\ufffd", Config())]
    [('replacement_run', 2, 4), ('replacement_run', 6, 7)]
    """
    kun = _kunjinkao(text, config)
    fills = _fills(text, config, kun)
    runs = _replacement_runs(text, kun)
    return sorted(kun + fills + runs, key=lambda f: (f.start, f.end))
