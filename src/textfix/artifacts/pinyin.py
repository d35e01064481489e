"""Pinyin annotations such as ``藍(lán)圖``.

Some Simplified→Traditional converters append the reading of every character
they changed. An annotation is removed only when its pinyin is one of the
readings of the character in front of it, so ``中國(China)``, ``中(zhōng国)``
and ``你(nǐ hǎo)`` are left alone.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from textfix.config import Config
from textfix.findings import Finding

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Pinyin letters: ASCII, ü/ê, every toned vowel and toned syllabic n/m, plus the
# combining tone marks so NFD-written annotations are matched too.
_PINYIN = "a-zü\u00eaāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ\u0300\u0301\u0304\u030c"
# The lookbehind sits after the literal bracket so the scan skips ahead on "(".
# Bounded quantifier: the longest syllable (zhuàng, NFD) is 7 code points.
_ANNOTATION_RE = re.compile(
    rf"(?:\((?<=[{_HAN}]\()([{_PINYIN}]{{1,8}})\)|（(?<=[{_HAN}]（)([{_PINYIN}]{{1,8}})）)"
)
# The same test as (leading class, rest), for the gate to fuse with the others.
TRIGGER_PARTS = (
    "[(（]",
    rf"(?:(?<=[{_HAN}]\()[{_PINYIN}]{{1,8}}\)|(?<=[{_HAN}]（)[{_PINYIN}]{{1,8}}）)",
)

_T2S: Any = None


def triggered(text: str) -> bool:
    """Cheap test for a Han character followed by a bracketed pinyin-like word.

    >>> triggered("藍(lán)圖"), triggered("中國(China)"), triggered("a(b)")
    (True, False, False)
    """
    return _ANNOTATION_RE.search(text) is not None


def _simplified(char: str) -> str:
    global _T2S
    if _T2S is None:
        import opencc

        _T2S = opencc.OpenCC("t2s")
    result: str = _T2S.convert(char)
    return result


@lru_cache(maxsize=8192)
def readings(char: str) -> frozenset[str]:
    """NFC tone-marked readings of ``char`` and of its Simplified form.

    The Simplified form matters because the annotated characters are the ones a
    converter changed, and pypinyin sometimes knows more readings for them
    (幹 is only gàn/gān, but 干 covers the annotation's source).

    >>> sorted(readings("好"))
    ['hào', 'hǎo']
    """
    from pypinyin import Style, pinyin

    found: set[str] = set()
    for form in {char, _simplified(char)}:
        for group in pinyin(form, style=Style.TONE, heteronym=True):
            found.update(unicodedata.normalize("NFC", r) for r in group)
    found.discard(char)
    return frozenset(found)


def _is_reading(char: str, annotation: str) -> bool:
    return unicodedata.normalize("NFC", annotation) in readings(char)


def find_annotations(text: str, config: Config) -> list[Finding]:
    """Find ``(pinyin)`` annotations that repeat a reading of the preceding character.

    Each finding covers only the bracketed annotation and deletes it.

    >>> [(f.start, f.end, f.fix) for f in find_annotations("藍(lán)圖（tú）", Config())]
    [(1, 6, ''), (7, 11, '')]
    >>> find_annotations("你(nǐ hǎo) 中國(china) 好(hǎo)", Config())[0].start
    21
    """
    found: list[Finding] = []
    for m in _ANNOTATION_RE.finditer(text):
        annotation = m.group(1) or m.group(2)
        char = text[m.start() - 1]
        if _is_reading(char, annotation):
            detail = {"char": char, "pinyin": annotation}
            found.append(Finding("pinyin_annot", m.start(), m.end(), 0.97, "", detail))
    return found
