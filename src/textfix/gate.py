"""The fast path: cheap scans that decide whether any stage needs to look at the text.

Each trigger is a single precompiled stdlib ``re`` search, because on text with no
match ``re`` scans a large character class at hundreds of MB/s (the ``regex``
package is far slower at this); the scan for damaged lines fuses them all into one
pattern (:func:`fuse`), so long text is read once. The triggers:

* a character real text never holds (U+FFFD, C1 controls, private use, halfwidth
  katakana), one a CJK decoder makes of a UTF-8 lead byte (``data/lead_chars.txt``,
  generated: every second character of UTF-8 CJK read as GBK is one), or two
  characters outside the frequent set (``data/common_chars.txt``) within three
  positions: mojibake is made of rare characters and comes in runs, while real text
  uses a rare character now and then;
* ``?`` next to such a character (a replacement character saved as ``?``), and
  ``?``/U+FFFD plus one ASCII byte between CJK characters (a cut stream);
* a UTF-8 lead byte read as Latin-1 followed by a continuation byte (``Ã©``), or
  three Latin-1/cp1252 high characters in a row (``ÄãºÃ``), or two Shift-JIS
  characters in a row read as cp1252 (``ƒJƒ^``);
* ``Р``/``С`` followed by a cp1251 continuation character (UTF-8 read as cp1251).

A clean CJK line passes the gate about 0.5% of the time (measured on the shared
corpus); each stage then tests those lines on its own (``detect.line_has_work``
for the repair stage), and about one in ten of them goes on to a search.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib import resources

# cp1252's extra symbols, less the quotes, dashes, bullet and ellipsis that real text
# (Chinese included: ——, “”) uses all the time, and the letters Czech, Polish and
# French use (š ž œ Ÿ ƒ).
_CP1252_EXTRAS = "€‚„†‡ˆ‰‹˜™›"
_LATIN_HIGH = "\x80-\xff" + re.escape(_CP1252_EXTRAS)
# A UTF-8 lead byte (Â-ô) then a continuation byte read as Latin-1/cp1252 (Ã©), or
# three high characters in a row (ÄãºÃ, GBK read as Latin-1). Real Czech, Polish or
# Portuguese text has at most two accented letters in a row, and never a C1 control
# or a cp1252 symbol after an accented letter.
_CONT = "\x80-\xbf" + re.escape(bytes(range(0x80, 0xA0)).decode("cp1252", "ignore"))
# Written as one leading class with the alternatives behind it, because ``re``
# skips ahead by a leading class at C speed but tries every branch of a top-level
# alternation at every position (4x slower on clean text).
_LATIN_REST = (
    f"(?:(?<=[\xc2-\xdf])[{_CONT}]|(?<=[\xe0-\xef])[{_CONT}]{{2}}"
    f"|(?<=[\xf0-\xf4])[{_CONT}]{{3}}|[{_LATIN_HIGH}]{{2}})"
)
_LATIN_PART = (f"[{_LATIN_HIGH}]", _LATIN_REST)
LATIN_PAIR = re.compile("".join(_LATIN_PART))

# Shift-JIS read as cp1252: two double-byte characters in a row, each a lead byte
# 0x81-0x9F (cp1252 punctuation and symbols: ‚ ƒ “ ” Œ Ž ˜ ...) and a trail byte.
# Katakana and kanji come out without the accented letters LATIN_PAIR looks for
# (ƒJƒ^ƒJƒi, “ú–{), and no Western text puts two such pairs side by side.
# 0x85 and 0x86 lead nothing in Shift-JIS or cp932 (and ……… is real text); š, œ
# and ž are letters of Czech, Polish and French (úložiště).
_SJIS_LEAD = re.escape(
    bytes([b for b in range(0x81, 0xA0) if b not in (0x85, 0x86, 0x9A, 0x9C, 0x9E)]).decode(
        "cp1252", "ignore"
    )
)
_SJIS_TRAIL = "\x40-\x7e" + re.escape(bytes(range(0x80, 0xFD)).decode("cp1252", "ignore"))
_SJIS_REST = f"[{_SJIS_TRAIL}][{_SJIS_LEAD}][{_SJIS_TRAIL}]"
_SJIS_PART = (f"[{_SJIS_LEAD}]", _SJIS_REST)
SJIS_PAIR = re.compile("".join(_SJIS_PART))


# A double-byte encoding read as Latin-1 when the trail bytes are ASCII (Big5 and
# Shift-JIS trail bytes 0x40-0x7E): §uªF (吟東), \x81@\x81@ (two ideographic spaces).
# Two such pairs in a row, each led by a C1 control or a Latin-1 symbol rather than
# a letter: real text puts a symbol before a letter (°C, ¿Qué) but not twice running.
_SYMBOL_LEAD = "\x81-\x9f\xa1-\xbf"
_LEAD_ASCII_REST = f"[\x40-\x7e][{_SYMBOL_LEAD}][\x40-\x7e]"
_LEAD_ASCII_PART = (f"[{_SYMBOL_LEAD}]", _LEAD_ASCII_REST)
LEAD_ASCII_PAIR = re.compile("".join(_LEAD_ASCII_PART))


def latin_evidence(text: str) -> bool:
    """A trigger for the readings by Latin-1 or cp1252."""
    return (
        LATIN_PAIR.search(text) is not None
        or SJIS_PAIR.search(text) is not None
        or LEAD_ASCII_PAIR.search(text) is not None
    )


_CYR_CONT = bytes(range(0x80, 0xC0)).decode("cp1251", "replace").replace("\ufffd", "")
_CYR_REST = f"[{re.escape(_CYR_CONT)}]"
_CYR_PART = ("[РС]", _CYR_REST)
CYRILLIC_PAIR = re.compile("".join(_CYR_PART))

# A lone lead byte lost to a cut, then the shifted rest: 還思?L者, or 重大?!笔痉
# where the shifted pair ！ was later folded to ASCII; or a shifted run of
# double-byte characters that ends where a trail byte (0x40-0x7E) stood alone and
# came out as one ASCII character (蒼蒼?皆聢F。).
# Only GBK and Big5 streams are realigned, and neither holds Hangul, so Korean text
# ("까???냉") is no evidence.
_CJK_NOT_HANGUL = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
# Led by the marker, with the CJK character before it as a lookbehind: a leading
# class of every CJK character would make ``re`` try the rest at each one.
_CUT_MARKS = "?\ufffd"
_CUT_REST = (
    f"(?<=[{_CJK_NOT_HANGUL}][{_CUT_MARKS}])(?:[\x21-\x7e]{{1,2}}[{_CJK_NOT_HANGUL}]"
    f"|[^\x00-\x7f?\ufffd\uac00-\ud7af]{{1,16}}[\x40-\x7e](?![\x00-\x09\x0b-\x7f]))"
)
_CUT_PART = (f"[{_CUT_MARKS}]", _CUT_REST)
CUT_STREAM = re.compile("".join(_CUT_PART))

# The triggers that read the shape of a short run (a marker and a shifted run,
# byte pairs of a legacy encoding read as Latin-1, cp1252 or cp1251) rather than
# the rarity of its characters, as (leading class, rest) parts for :func:`fuse`.
_SHAPE_PARTS = [_CUT_PART, _LATIN_PART, _SJIS_PART, _LEAD_ASCII_PART, _CYR_PART]


# Characters real text never holds: C1 controls, U+FFFD, private use, halfwidth
# katakana (as a class body, shared by the patterns below).
NEVER_CHARS = "\\x80-\\x9f\\ufffd\\ue000-\\uf8ff\\uff61-\\uff9f"


@cache
def _data_chars(name: str) -> str:
    return resources.files("textfix").joinpath(f"data/{name}").read_text("utf-8")


def _class(name: str, printable_ascii: str = "\x20-\x7e") -> str:
    """Every character except tabs, newlines, the given ASCII and the file's characters."""
    return "[^\t\n\r" + printable_ascii + re.escape(_data_chars(name)) + "]"


def _cjk_parts() -> list[tuple[str, str]]:
    """The CJK-side line triggers as (leading class, rest of the pattern)."""
    rare = _class("common_chars.txt")
    # Alone, only characters that real text never holds are evidence: U+FFFD,
    # C1 controls, private use, halfwidth katakana. A single unseen Han character
    # is a name or a rare word far more often than damage.
    leads = re.escape(_data_chars("lead_chars.txt"))
    # One leading class (rare characters and "?"), for the same reason as LATIN_PAIR.
    rare_or_question = _class("common_chars.txt", printable_ascii="\x20-\x3e\x40-\x7e")
    return [
        (f"[{NEVER_CHARS}{leads}]", ""),
        (rare, f".{{0,2}}{rare}"),
        (rare_or_question, f"(?:(?<=\\?){rare}|(?<!\\?)\\?)"),
    ]


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    unknown, rare_pair, rare_question = (re.compile(lead + rest) for lead, rest in _cjk_parts())
    return unknown, rare_pair, rare_question, re.compile(_class("common_chars.txt"))


@lru_cache(maxsize=1)
def _suspect_pair() -> re.Pattern[str]:
    # A rare character or a UTF-8 lead character (some of which are frequent).
    leads = re.escape(_data_chars("lead_chars.txt"))
    suspect = f"{_class('common_chars.txt')}|[{leads}]"
    return re.compile(f"(?:{suspect}).{{0,2}}(?:{suspect})")


def suspect_pairs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of stretches that open and close with a rare or UTF-8-lead
    character, within three positions.

    A misreading between two CJK encodings turns a whole run into other
    characters, so it always shows such a pair; a rare word alone does not.
    """
    for m in _suspect_pair().finditer(text):
        yield m.span()


def rare_chars(text: str) -> Iterator[int]:
    """Positions of characters outside the frequent set."""
    for m in _patterns()[3].finditer(text):
        yield m.start()


def _cjk_marks(text: str) -> bool:
    """CJK-side evidence other than two rare characters side by side."""
    unknown, _pair, rare_question, _rare = _patterns()
    return bool(
        unknown.search(text)
        or rare_question.search(text)
        or CUT_STREAM.search(text)
        or utf8_run(text)
    )


SHORT_TEXT = 48
# Han, kana and CJK punctuation: what GBK makes of UTF-8 (Hangul is not in GBK).
_GBK_CJK = "\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"


@lru_cache(maxsize=1)
def _gbk_run() -> re.Pattern[str]:
    """A whole run of three or more such characters whose first one begins UTF-8
    in GBK: its bytes are a UTF-8 lead then a continuation byte. Any other run
    decodes to U+FFFD at once, so :func:`_utf8_run` need not try it."""
    pairs = bytes(b for b1 in range(0xC2, 0xF5) for b2 in range(0x80, 0xC0) for b in (b1, b2))
    cjk = re.compile(f"[{_GBK_CJK}]")
    starts = {c for c in pairs.decode("gbk", "replace") if cjk.fullmatch(c)}
    return re.compile(f"(?<![{_GBK_CJK}])[{re.escape(''.join(sorted(starts)))}][{_GBK_CJK}]{{2,}}")


def utf8_run(text: str) -> bool:
    """In a short text, a run of three or more CJK characters whose GBK bytes are
    UTF-8 of two or more non-ASCII characters.

    UTF-8 of a common word read as GBK is made of frequent characters (说明 ->
    璇存槑), which no rare-character trigger sees; a title is all the text there
    is, so the structural test is affordable there and nowhere else.
    """
    return len(text) <= SHORT_TEXT and _utf8_run(text)


@lru_cache(maxsize=1024)
def _utf8_run(text: str) -> bool:
    for m in _gbk_run().finditer(text):
        raw = m.group().encode("gbk", "replace")
        decoded = raw.decode("utf-8", "replace")
        # Lost bytes may only trail: the run can end inside a character.
        body = decoded.rstrip("\ufffd")
        if len(decoded) - len(body) <= 1 and len(body) >= 2:
            if "\ufffd" not in body and not any(c.isascii() for c in body):
                return True
    return False


def _cjk_trigger(text: str) -> bool:
    return _cjk_marks(text) or bool(_patterns()[1].search(text))


def proof_of_damage(text: str) -> bool:
    """A trigger that is neither two rare characters side by side nor a UTF-8 lead
    character standing alone.

    A lead character (蟒, 娅, 闡) is also an ordinary if uncommon word of clean
    text, so on its own it only says where to look, not that damage is there.
    """
    return _proof().search(text) is not None or utf8_run(text)


@lru_cache(maxsize=1)
def _proof() -> re.Pattern[str]:
    """The triggers :func:`proof_of_damage` counts, fused into one scan (it is asked
    of every line the gate lets through)."""
    return fuse(
        [
            (f"[{NEVER_CHARS}]", ""),
            _cjk_parts()[2],
            *_SHAPE_PARTS,
        ]
    )


@lru_cache(maxsize=1)
def _lead_class() -> re.Pattern[str]:
    return re.compile(f"[{re.escape(_data_chars('lead_chars.txt'))}]")


def lead_chars(text: str) -> Iterator[int]:
    """Positions of characters a CJK decoder makes of a UTF-8 lead byte."""
    for m in _lead_class().finditer(text):
        yield m.start()


_LEAD_CODECS = ("gbk", "cp950", "cp932", "cp949")


def starts_utf8(text: str, at: int) -> bool:
    """Could the bytes of ``text[at:]``, in some CJK encoding, begin with two
    multibyte UTF-8 characters (or one that ends the text)?

    Mojibake of UTF-8 always can: its bytes are the UTF-8 the reader misread. A
    lead character in clean text almost never is followed by bytes that continue
    it (鋩。 is E4 BA A1 A3 in GBK: A3 cannot start a character).
    """
    window = text[at : at + 5]
    for codec in _LEAD_CODECS:
        if not _three_byte_lead(window[0], codec):
            continue  # asked of the first character alone, before the window is encoded
        raw = _encodable_prefix(window, codec)
        if raw is None or len(raw) < 3:
            continue
        decoded = raw[:9].decode("utf-8", "replace")
        # The second character must be multibyte too: 。 in Shift-JIS is 81 42,
        # a continuation byte and "B", after any lead character.
        if decoded[0] != "\ufffd" and (len(decoded) == 1 or utf8_spells(decoded[1])):
            return True
    return False


# What two-byte UTF-8 sequences spell in text a CJK reader may meet: accented
# Latin letters, Greek, Cyrillic, Hebrew and Arabic (the corpus's manuals list
# Arabic-Indic digits). Byte pairs of a CJK encoding decode as two-byte UTF-8 to
# anything in U+0080-U+07FF by chance: 莿莿 in GBK is C7 84 C7 84 (ǄǄ), and 罠に
# in cp932 is E3 B2 82 C9 8A, 罠 then Ɋ.
_TWO_BYTE_LETTERS = re.compile("[\u00c0-\u017f\u0386-\u03ce\u0400-\u045f\u05d0-\u06ff]")


def utf8_spells(ch: str) -> bool:
    """Is ``ch``, decoded from UTF-8 in a CJK reader's bytes, what mojibake holds?

    A multibyte character in the CJK ranges or a letter of a European, Hebrew or
    Arabic script is; ASCII, a lost byte or an odd letter (Ǆ, Ɋ) is not.
    """
    return ch >= "\u0800" and ch != "\ufffd" or _TWO_BYTE_LETTERS.match(ch) is not None


@lru_cache(maxsize=4096)
def _three_byte_lead(ch: str, codec: str) -> bool:
    """Does ``ch`` in ``codec`` begin with a byte that leads three-byte UTF-8?"""
    try:
        return 0xE0 <= ch.encode(codec)[0] <= 0xEF
    except UnicodeEncodeError:
        return False


def _encodable_prefix(text: str, codec: str) -> bytes | None:
    """The bytes of ``text`` up to its first character ``codec`` cannot encode
    (None if that is the first): the codecs here encode character by character."""
    try:
        return text.encode(codec) if text else None
    except UnicodeEncodeError as err:
        return text[: err.start].encode(codec) if err.start else None


def has_codec_trigger(text: str) -> bool:
    """True if the text may hold codec damage (the repair stage is skipped otherwise).

    The same test as the CJK, Latin and Cyrillic triggers one by one, in one scan.
    """
    if text.isascii():
        return False
    return _line_trigger().search(text) is not None or utf8_run(text)


def families(line: str) -> frozenset[str]:
    """Which groups of readings are worth trying on one line."""
    out = set()
    if latin_evidence(line):
        out.add("latin")
    if CYRILLIC_PAIR.search(line):
        out.add("cyrillic")
    if _cjk_trigger(line) and any(ord(c) >= 0x100 for c in line):
        out.add("cjk")
    return frozenset(out)


def _line_trigger_parts() -> list[tuple[str, str]]:
    """Every line trigger as (leading class, rest of the pattern)."""
    return [*_cjk_parts(), *_SHAPE_PARTS]


@lru_cache(maxsize=1)
def _line_trigger() -> re.Pattern[str]:
    """All line triggers as one pattern: a match wherever one of them matches."""
    return fuse(_line_trigger_parts())


def fuse(parts: list[tuple[str, str]]) -> re.Pattern[str]:
    """One pattern that matches where any ``lead + rest`` of ``parts`` matches.

    It leads with the union of the leading classes and puts each rest behind a
    lookbehind for its own class: ``re`` skips ahead by a single leading class at
    C speed, so the text is scanned once instead of once per pattern, and the
    alternatives are only tried at the few characters the union lets through.
    Each ``lead`` is one character class; a match starts where the pattern's own
    match would (the lookbehind sees the same character).
    """
    union = _union_class([lead for lead, _rest in parts])
    branches = "|".join(f"(?<={lead}){rest}" for lead, rest in parts)
    return re.compile(f"{union}(?:{branches})")


def _union_class(leads: list[str]) -> str:
    """A class matching any character one of ``leads`` matches.

    Negated classes (the rare characters: all but a few thousand) cannot be merged
    by concatenation, so the union is written as the complement of what every lead
    leaves out, tried on the characters the negated leads leave out.
    """
    compiled = [re.compile(lead) for lead in leads]
    negated = [lead for lead in leads if lead.startswith("[^")]
    if not negated:
        return "[" + "".join(lead[1:-1] for lead in leads) + "]"
    spared = set().union(*(_spared(lead) for lead in negated))
    outside = sorted(c for c in spared if not any(p.fullmatch(c) for p in compiled))
    return "[^" + re.escape("".join(outside)) + "]"


def _spared(negated: str) -> set[str]:
    """The characters a negated class ``[^...]`` does not match."""
    pattern = re.compile(negated)
    body = negated[2:-1]
    # The class body names its characters (escaped) and ASCII ranges; every
    # character it can leave out is ASCII or named literally.
    candidates = {chr(i) for i in range(0x80)} | set(body)
    return {c for c in candidates if not pattern.fullmatch(c)}


def damaged_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line that carries a codec trigger, in order.

    The triggers are searched over the whole text at C speed, as one pattern,
    rather than line by line: no trigger can match across a newline, so a match
    names its line, and after a hit the search jumps to the next line.
    """
    if text.isascii():
        return
    lines = list(_lines_of(text, _line_trigger()))
    if not lines and utf8_run(text):
        lines = [(0, len(text))]
    yield from lines


def _lines_of(text: str, pattern: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """(start, end) of each line where ``pattern`` matches, lazily; after a hit the
    search jumps to the next line."""
    n = len(text)
    pos = 0
    while pos < n:
        m = pattern.search(text, pos)
        if m is None:
            return
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        end = n if end < 0 else end
        yield start, end
        pos = end + 1


# Every trigger of every stage needs one of these: a rare character, a Latin-1 or
# cp1252 high character, a CJK character or CJK/fullwidth punctuation, or Р/С.
_TRIGGER_RANGES = (
    (0x80, 0xFF),
    (0x3000, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)


@lru_cache(maxsize=1)
def _any_trigger() -> re.Pattern[str]:
    """One scan that finds nothing in text no stage could act on (most Latin text).

    Every trigger needs a character outside the frequent Latin-script set, except
    Shift-JIS read as cp1252, whose pairs can be made of frequent letters and
    punctuation alone (ƒJƒ^ƒJƒi is カタカナ): that trigger is fused in whole, so a
    curly quote or a dash alone still passes at C speed.
    """
    inert = "".join(
        c
        for c in _data_chars("common_chars.txt")
        if c not in _CP1252_EXTRAS
        and c not in "РС"
        and not any(a <= ord(c) <= b for a, b in _TRIGGER_RANGES)
    )
    return fuse([("[^\t\n\r\x20-\x7e" + re.escape(inert) + "]", ""), _SJIS_PART])


def trigger_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line holding a character some trigger needs, lazily.

    Lines outside these have nothing any stage could act on.
    """
    return _lines_of(text, _any_trigger())


def _stage_trigger_parts() -> list[tuple[str, str]]:
    """Every stage's trigger (codec damage, markers, pinyin, doubled punctuation)."""
    from textfix.artifacts import markers, pinyin, punctuation

    return [
        *_line_trigger_parts(),
        markers.TRIGGER_PARTS,
        pinyin.TRIGGER_PARTS,
        punctuation.TRIGGER_PARTS,
    ]


@lru_cache(maxsize=1)
def _stage_trigger() -> re.Pattern[str]:
    """Every stage's trigger fused into one pattern."""
    return fuse(_stage_trigger_parts())


def stage_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line where some stage's trigger matches, lazily.

    A long text's :func:`maybe_damaged` is true exactly when this yields a line
    (the structural UTF-8 test only speaks for short texts).
    """
    return _lines_of(text, _stage_trigger())


def maybe_damaged(text: str) -> bool:
    """Cheapest possible test that some stage has work to do: one scan for clean text.

    The same answer as asking each stage's trigger in turn, which read CJK text
    ten times over.
    """
    if text.isascii() or _any_trigger().search(text) is None:
        return False  # every trigger needs one of _any_trigger's characters
    return _stage_trigger().search(text) is not None or utf8_run(text)
