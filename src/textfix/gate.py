"""The fast path: cheap scans that decide whether any stage needs to look at the text.

Each trigger is a single precompiled stdlib ``re`` search, because on text with no
match ``re`` scans a large character class at hundreds of MB/s (the ``regex``
package is far slower at this). The triggers:

* a non-ASCII character that is *not* among the frequent characters of real text
  (``data/common_chars.txt``, generated from the corpus): mojibake is made of
  rare CJK characters, C1 controls, U+FFFD, private-use and halfwidth katakana;
* two Latin-1/cp1252 high characters in a row (``Ã©``, ``ÄãºÃ``);
* ``Р``/``С`` followed by a cp1251 continuation character (UTF-8 read as cp1251);
* ``?`` next to a CJK character (a replacement character saved as ``?``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

_CP1252_EXTRAS = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_LATIN_HIGH = "\x80-\xff" + re.escape(_CP1252_EXTRAS)
LATIN_PAIR = re.compile(f"[{_LATIN_HIGH}][{_LATIN_HIGH}]")

_CYR_CONT = bytes(range(0x80, 0xC0)).decode("cp1251", "replace").replace("\ufffd", "")
CYRILLIC_PAIR = re.compile(f"[РС][{re.escape(_CYR_CONT)}]")

_CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
QUESTION_IN_CJK = re.compile(f"[{_CJK}\uff00-\uffef]\\?|\\?[{_CJK}]")


@lru_cache(maxsize=1)
def _rare() -> re.Pattern[str]:
    common = resources.files("textfix").joinpath("data/common_chars.txt").read_text("utf-8")
    return re.compile("[^\t\n\r\x20-\x7e" + re.escape(common) + "]")


def rare_char(text: str) -> re.Match[str] | None:
    return _rare().search(text)


def has_codec_trigger(text: str) -> bool:
    """True if the text may hold codec damage (the repair stage is skipped otherwise)."""
    if text.isascii():
        return False
    return bool(
        _rare().search(text)
        or LATIN_PAIR.search(text)
        or QUESTION_IN_CJK.search(text)
        or CYRILLIC_PAIR.search(text)
    )


def families(line: str) -> frozenset[str]:
    """Which groups of readings are worth trying on one line."""
    out = set()
    if LATIN_PAIR.search(line):
        out.add("latin")
    if CYRILLIC_PAIR.search(line):
        out.add("cyrillic")
    rare = _rare().search(line)
    if (rare and ord(rare.group()) >= 0x100) or QUESTION_IN_CJK.search(line):
        out.add("cjk")
    elif rare:
        # A rare Latin-1 character alone: only Latin readings can explain it.
        out.add("latin")
        if any(ord(c) >= 0x100 and c not in _CP1252_EXTRAS for c in line if not c.isascii()):
            out.add("cjk")
    return frozenset(out)


def damaged_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line that carries a codec trigger."""
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        if end > pos and has_codec_trigger(text[pos:end]):
            yield pos, end
        pos = end + 1


def maybe_damaged(text: str) -> bool:
    """Cheapest possible test that some stage has work to do."""
    from textfix.artifacts import markers, pinyin, punctuation

    return (
        has_codec_trigger(text)
        or markers.triggered(text)
        or pinyin.triggered(text)
        or punctuation.triggered(text)
    )
