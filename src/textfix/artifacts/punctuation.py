"""Doubled punctuation and opt-in fullwidth punctuation in CJK context.

Some scrapers and converters leave an ASCII comma in front of every CJK
punctuation mark (``召开,。蓝图``, ``人心,,目标``, ``信息,、谋划``). Those pairs
are collapsed by default, but only after a CJK character or CJK punctuation, so
CSV fields (``a,,b``) and Korean ellipses (``최고,,``) are left alone.

Doubled *fullwidth* pairs (``，，``, ``，。``) also occur as plain typos in
otherwise clean text, so collapsing them is part of the opt-in
``cjk_punctuation`` normalization rather than a default repair.
"""

from __future__ import annotations

import re

from textfix.config import Config
from textfix.findings import Finding

# Han (BMP, compatibility, supplementary planes) and kana. Hangul is left out on
# purpose: Korean writes ASCII punctuation, including ",," and "??", as normal text.
CJK_CHARS = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
    "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
)
# CJK symbols and punctuation plus the fullwidth ASCII variants (，。（）！？ ...).
CJK_PUNCT = "\u3000-\u303f\uff01-\uff65"
CJK_CONTEXT = CJK_CHARS + CJK_PUNCT

_COLLAPSED = {"。": "。", "、": "、", ",": "，", "，": "，"}
_ASCII_TO_FULL = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", "(": "（", ")": "）"}


def _cjk_lookbehind(width: int) -> str:
    """A lookbehind asserting CJK context just before the ``width`` chars matched so far.

    A closing curly quote counts only when it follows CJK itself (``。”,,``):
    curly quotes alone are shared with Western text.
    """
    dots = "." * width
    return rf"(?:(?<=[{CJK_CONTEXT}]{dots})|(?<=[{CJK_CONTEXT}][”’]{dots}))"


# The ASCII comma is the scraper artifact, so a default pair must contain one. The
# context check is a lookbehind after the literal so the scan skips on the comma.
# A third comma makes an ellipsis-like run, which is not ours to shorten.
_DOUBLED_RE = re.compile(rf"(?:,[,，。、]|，,){_cjk_lookbehind(2)}(?![,，])")
# Whether _DOUBLED_RE matches, as (leading class, rest) for the gate to fuse with the
# other triggers. It leads with the ASCII comma alone (for ，, the second
# character): a scan stops at every leading character, and ， is one of the
# commonest characters in Chinese.
TRIGGER_PARTS = ("[,]", rf"(?:[,，。、]|(?<=，,)){_cjk_lookbehind(2)}(?![,，])")
_TRIGGER_RE = re.compile("".join(TRIGGER_PARTS))
_FULLWIDTH_DOUBLED_RE = re.compile(rf"，[，。、]{_cjk_lookbehind(2)}(?![,，])")

# ASCII parentheses count as context here; _single_findings keeps only those that
# are converted themselves.
_SINGLE_RE = re.compile(rf"[,;:!?](?<=[{CJK_CONTEXT}()].)(?=[{CJK_CONTEXT}()])")
# Parentheses convert as a pair, so a half-converted "（注释)" can never result.
_PAREN_RE = re.compile(
    rf"\((?<=[{CJK_CONTEXT}]\()(?=[{CJK_CONTEXT}])[^()\n]{{0,200}}(?<=[{CJK_CONTEXT}])\)"
)
# One leading character class keeps the scan fast on Latin text full of commas.
_ASCII_IN_CJK_TRIGGER_RE = re.compile(
    rf"[,;:!?(，](?:(?<=[{CJK_CONTEXT}][,;:!?(])(?=[{CJK_CONTEXT}])"
    rf"|(?<=，)[，。、]{_cjk_lookbehind(2)}(?![,，]))"
)


def triggered(text: str) -> bool:
    """Cheap test for an ASCII-led doubled pair in CJK context.

    >>> triggered("召开,。蓝图"), triggered("a,,b"), triggered("召开。蓝图")
    (True, False, False)
    """
    return _TRIGGER_RE.search(text) is not None


def _collapse(pair: str) -> str:
    """The single mark a doubled pair stands for: the stronger of the two."""
    return _COLLAPSED[pair[1]]


def _doubled_findings(pattern: re.Pattern[str], text: str) -> list[Finding]:
    return [
        Finding("doubled_punct", m.start(), m.end(), 0.97, _collapse(m.group()), {})
        for m in pattern.finditer(text)
    ]


def find_doubled(text: str, config: Config) -> list[Finding]:
    """Collapse ``,。`` ``,、`` ``,,`` (and mixed-width ``,，``) after CJK text.

    >>> [(f.start, f.end, f.fix) for f in find_doubled("召开,。蓝图,,目标", Config())]
    [(2, 4, '。'), (6, 8, '，')]
    >>> find_doubled("a,,b", Config())
    []
    """
    return _doubled_findings(_DOUBLED_RE, text)


def triggered_ascii_in_cjk(text: str) -> bool:
    """Cheap test for ASCII punctuation between CJK characters (or a fullwidth doubled pair).

    >>> triggered_ascii_in_cjk("你好,世界"), triggered_ascii_in_cjk("你好, world")
    (True, False)
    """
    return _ASCII_IN_CJK_TRIGGER_RE.search(text) is not None


def _paren_findings(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _PAREN_RE.finditer(text):
        found.append(Finding("cjk_punctuation", m.start(), m.start() + 1, 0.9, "（", {}))
        found.append(Finding("cjk_punctuation", m.end() - 1, m.end(), 0.9, "）", {}))
    return found


def _single_findings(text: str, parens: set[int]) -> list[Finding]:
    found: list[Finding] = []
    for m in _SINGLE_RE.finditer(text):
        before, after = m.start() - 1, m.end()
        if text[before] in "()" and before not in parens:
            continue
        if text[after] in "()" and after not in parens:
            continue
        found.append(
            Finding("cjk_punctuation", m.start(), m.end(), 0.9, _ASCII_TO_FULL[m.group()], {})
        )
    return found


def _drop_overlaps(findings: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    end = -1
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if f.start >= end:
            kept.append(f)
            end = f.end
    return kept


def find_ascii_in_cjk(text: str, config: Config) -> list[Finding]:
    """Opt-in: make ASCII ``, ; : ! ? ( )`` between CJK characters fullwidth.

    Also collapses doubled fullwidth pairs (``，，`` -> ``，``), which real
    authors type by mistake and so are not touched by default.

    >>> from textfix.pipeline import _apply
    >>> _apply("你好,世界(中文)!好", "p", find_ascii_in_cjk("你好,世界(中文)!好", Config()))[0]
    '你好，世界（中文）！好'
    >>> find_ascii_in_cjk("Hello, world (en)!", Config())
    []
    """
    parens = _paren_findings(text)
    found = _doubled_findings(_FULLWIDTH_DOUBLED_RE, text) + parens
    found += _single_findings(text, {f.start for f in parens})
    return _drop_overlaps(found)
