"""Necessary conditions for a repair, checked at C speed before the byte-level search.

The island search in :mod:`textfix.repair.roundtrip` walks bytes in Python. Most
windows the gate hands it are clean text with a rare word in them, so a cheap test
that rules a window out for one damage saves nearly all of the cost.

UTF-8 read by a double-byte decoder, without loss, gives back the UTF-8 bytes when
the garbled text is encoded again. A repair spans two garbled characters or more
(one is never accepted), so the re-encoded window must hold two well-formed
multibyte UTF-8 sequences in a row, or one followed by an ASCII byte that the
reader paired with it. Clean CJK text re-encoded that way rarely does.
A lossy reading shows its losses as markers instead, so a marker lets the window
through. :func:`could_repair` looks closer: a lost byte is never ASCII (a reader
does not fail on ASCII), so it belongs to a multibyte UTF-8 character whose other
bytes sit beside it, and clean CJK text re-encoded seldom has such bytes around
its ``?``. A cut stream always shows its marker. Before any window is looked at,
:func:`line_could_hold` asks the same of the line's rare characters one by one.

>>> from textfix.codecs import DAMAGES
>>> utf8_as_gbk = DAMAGES[0]
>>> could_hold(utf8_as_gbk, "浣犲ソ")
True
>>> could_hold(utf8_as_gbk, "藏獒是一种犬")
False
"""

from __future__ import annotations

import re
from functools import lru_cache

from textfix.codecs import DAMAGES, Damage, Reading, byte_alternatives
from textfix.gate import NEVER_CHARS, utf8_spells
from textfix.repair.roundtrip import _utf8_len

_SEQ = rb"(?:[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3})"
# Two sequences in a row, or one followed by an ASCII byte the reader took as the
# trail of a double-byte character (’t read as GBK is 鈥檛: E2 80 | 99 74).
_UTF8_EVIDENCE = re.compile(_SEQ + b"(?:" + _SEQ + b"|[\x40-\x7e])")
# Characters a Windows decoder makes of bytes the codec itself would not map back:
# cp936 reads 0x80 as the euro sign.
_WINDOWS_EXTRAS = "\u20ac"
_CUT_MARKERS = "?\ufffd"
_CUT_MAX_LOST = 2  # at most one marker in this many characters of a cut window


def could_hold(damage: Damage, window: str) -> bool:
    """False only if no island in ``window`` can undo ``damage``."""
    reading = damage.reading
    if damage.cut:
        # A cut leaves one or two markers per chunk of the stream, so a window that
        # is mostly markers is a lossy decode, not a cut one (a chunk would be a few
        # bytes long); searching it as cut costs as much as every other reading.
        lost = sum(window.count(m) for m in _CUT_MARKERS)
        return 0 < lost and lost * _CUT_MAX_LOST <= len(window)
    if not damage.source.is_utf8 or not reading.double_byte:
        return True
    marker = reading.marker
    if marker is not None and marker in window:
        return True
    return _lossless_evidence(damage, window)


def _lossless_evidence(damage: Damage, window: str) -> bool:
    reading = damage.reading
    if reading.policy == "windows" and any(c in window for c in _WINDOWS_EXTRAS):
        return True
    return _utf8_evidence(reading.codec, window)


@lru_cache(maxsize=256)
def _utf8_evidence(codec: str, window: str) -> bool:
    # The same window comes back under every error policy of a codec.
    raw = window.encode(codec, "replace")
    return any(_worded(m.group(1)) for m in _EVIDENCE_AT.finditer(raw))


def could_repair(damage: Damage, window: str) -> bool:
    """:func:`could_hold`, where a marker counts only if it can be a lost byte.

    For UTF-8 read by a double-byte reader that shows each lost byte (or, under
    Windows, each bad lead byte and the byte it swallowed) as one marker, a
    marker that no UTF-8 character around it can have lost is a character like
    any other: the window is judged as lossless, with
    the marker as the reader's own byte for it (a real ``?``).
    """
    return could_hold(damage, window) and markers_can_be_lost(damage, window)


def markers_can_be_lost(damage: Damage, window: str) -> bool:
    """The part of :func:`could_repair` that :func:`could_hold` does not ask."""
    reading = damage.reading
    marker = reading.marker
    if reading.double_byte and (damage.cut or damage.source.is_utf8):
        markers = _CUT_MARKERS if damage.cut else (marker or "")
        shown = [m for m in markers if m in window]
        if shown and not _accompanied(reading, window, "".join(shown)):
            # None of them is a lost byte; the window may still hold lossless
            # mojibake beside them.
            return not damage.cut and _lossless_evidence(damage, window)
    if (
        damage.cut
        or not damage.source.is_utf8
        or not reading.double_byte
        or marker is None
        or marker not in window
    ):
        return True
    # A Windows reader's marker stands for a bad lead byte and the byte it
    # swallowed (or one byte that leads nothing); the others' for one byte.
    width = 2 if reading.policy == "windows" else 1
    return _lost_in_utf8(reading.codec, window, marker, width) or _lossless_evidence(damage, window)


# Reader characters before a marker within which the UTF-8 character it cut into
# begins: a double-byte reader's characters and UTF-8's three-byte ones line up
# every three characters.
_PREFIX_REACH = 3
_WHOLE_UTF8 = re.compile(b"(?:[\x00-\x7f]|" + _SEQ + b")*")


def _lost_in_utf8(codec: str, window: str, marker: str, width: int) -> bool:
    """Can some run of ``marker`` in ``window``, each standing for ``width`` bytes
    or fewer, be bytes lost from the middle of well-formed UTF-8?

    A lost byte is never ASCII (a reader does not fail on ASCII), so it belongs to
    a multibyte character. A run that may hide three bytes or more may hide a
    whole character between clean neighbours. A shorter one cuts into a
    character: either the bytes after it finish that character, or it began within
    the few reader characters before the run, at a character boundary both
    encodings share, and the bytes from there on are UTF-8 up to the run. (A
    two-byte character lost whole between clean neighbours, é as one Windows
    ``?`` or as ``??``, is left out: such a run is never a repair alone.)

    >>> _lost_in_utf8("cp950", "網路媒體在何方?--復興", "?", 2)
    False
    >>> _lost_in_utf8("cp949", "아니었나??", "?", 1), _lost_in_utf8("cp949", "아니었나??", "?", 2)
    (False, True)
    """
    for run in _marker_runs(marker).finditer(window):
        p, end = run.start(), run.end()
        lost = (end - p) * width
        if lost >= 3:
            return True
        after = _shown_after(window, end, codec)
        if after and 0x80 <= after[0] <= 0xBF:
            return True  # the character goes on after the run
        for k in range(1, _PREFIX_REACH + 1):
            if k > p:
                break
            try:
                before = window[p - k : p].encode(codec)
            except UnicodeEncodeError:
                break  # the reader cannot show it: no part of its mojibake
            need = _still_needs(before)
            if not need:
                continue  # no character begins there, or none is open at the run
            rest = need - lost
            if rest <= 0 or len(after) >= rest and all(0x80 <= b <= 0xBF for b in after[:rest]):
                return True
    return False


def _shown_after(window: str, end: int, codec: str) -> bytes:
    """The reader's bytes for the two characters from ``end`` on, up to one it
    cannot show."""
    out = b""
    for ch in window[end : end + 2]:
        try:
            out += ch.encode(codec)
        except UnicodeEncodeError:
            break
    return out


def _still_needs(raw: bytes) -> int | None:
    """How many continuation bytes ``raw``, read as UTF-8 from a character start,
    still needs at its end (None if it is no such stretch)."""
    rest = raw[_WHOLE_UTF8.match(raw).end() :]  # type: ignore[union-attr]
    if not rest:
        return 0
    n = _utf8_len(rest[0])  # 0 for a continuation byte: nothing begins there
    if not n or len(rest) >= n or any(not 0x80 <= b <= 0xBF for b in rest[1:]):
        return None
    return n - len(rest)


# Characters on each side of a run of markers where the reader's own characters
# must show: a cut stream's shifted run may begin with ASCII a normalizer folded
# (?!笔痉), so one more than the marker's neighbour.
_COMPANY_REACH = 2


def _accompanied(reading: Reading, window: str, markers: str) -> bool:
    """Does a run of ``markers`` in ``window`` have a non-ASCII character the reader
    can show within reach?

    The bytes a reader lost belong to multibyte characters, and the rest of those
    characters' bytes, or of the mojibake around them, show as the reader's own
    characters. A ``?`` among characters the reader has none of (Hangul for a
    Big5 or GBK reader: 아니었나??) was written as it is. Runs with nothing
    but ASCII around them hold nothing a repair could read from.
    """
    for m in _marker_runs(markers).finditer(window):
        around = window[max(0, m.start() - _COMPANY_REACH) : m.start()]
        around += window[m.end() : m.end() + _COMPANY_REACH]
        for ch in around:
            if not ch.isascii() and ch not in markers and reading.char_bytes(ch) is not None:
                return True
    return False


@lru_cache(maxsize=8)
def _marker_runs(markers: str) -> re.Pattern[str]:
    return re.compile(f"[{re.escape(markers)}]+")


def _fits_utf8(reading_bytes: bytes) -> bool:
    """Could these bytes stand at a character boundary inside valid UTF-8?"""
    if len(reading_bytes) != 2:
        return True
    b1, b2 = reading_bytes
    if 0x80 <= b1 <= 0xBF:  # continuation, then continuation or a new character
        return b2 < 0x80 or 0x80 <= b2 <= 0xBF or 0xC2 <= b2 <= 0xF4
    if 0xC2 <= b1 <= 0xF4:  # lead byte, then a continuation byte
        return 0x80 <= b2 <= 0xBF
    return False


def line_could_hold(damage: Damage, line: str, rare: set[str]) -> bool:
    """For UTF-8 read by a CJK decoder: some rare character on the line (``rare``)
    is one this reader can make out of UTF-8, or the line shows a marker.

    砰 is GBK C5 E9, two lead bytes in a row: no UTF-8 text read as GBK shows
    it, so a line whose only oddities are such characters is not worth the search.
    """
    if not damage.source.is_utf8 or "\ufffd" in line or "?" in line:
        return True
    reading = damage.reading
    fits = _FITS.setdefault(reading, {})
    for ch in rare:
        got = fits.get(ch)
        if got is None:
            raw = reading.char_bytes(ch)
            got = fits[ch] = raw is not None and _fits_utf8(raw)
        if got:
            return True
    return False


# Per reader, whether it can make each rare character seen so far out of UTF-8: the
# same characters come back on every line of a text in a rare script.
_FITS: dict[Reading, dict[str, bool]] = {}


# A stretch cut out of UTF-8 at any two byte positions: the tail of a character,
# whole characters, then the head of one. (Overlong and surrogate forms are let
# through: a looser test only searches more.)
_UTF8_FRAGMENT = re.compile(
    rb"[\x80-\xbf]{0,3}" + _WHOLE_UTF8.pattern + rb"(?:[\xc2-\xf4][\x80-\xbf]{0,2})?"
)
# Every place _UTF8_EVIDENCE matches, overlapping ones included.
_EVIDENCE_AT = re.compile(b"(?=(" + _UTF8_EVIDENCE.pattern + b"))")
# The double-byte readers of UTF-8, and their codecs (one per error policy each).
_UTF8_READINGS = [d.reading for d in DAMAGES if d.source.is_utf8 and d.reading.double_byte]
_FRAGMENT_CODECS = tuple(dict.fromkeys(r.codec for r in _UTF8_READINGS))
# Characters on each side of a stretch that may complete the evidence for it.
_AROUND = 2


def utf8_inside(line: str, a: int, b: int) -> bool:
    """Could ``line[a:b]`` lie inside mojibake of UTF-8 under some double-byte reader?

    Then its bytes under that reader are a stretch of UTF-8, and two whole
    multibyte sequences in a row (the evidence :func:`could_hold` asks of a window)
    run through them. Two rare characters that real text puts side by side
    seldom pass under any reader. A character whose bytes are not known for sure
    (see :func:`_unsure`) within reach lets them through.

    >>> utf8_inside("浣犲ソ", 0, 2), utf8_inside("愿妳妳、兰心", 1, 3)
    (True, False)
    """
    lo, hi = max(0, a - _AROUND), min(len(line), b + _AROUND)
    if _unsure().search(line, lo, hi) is not None:
        return True
    for codec in _FRAGMENT_CODECS:
        try:
            inner = line[a:b].encode(codec)
        except UnicodeEncodeError:
            continue  # this reader cannot show these characters at all
        if _UTF8_FRAGMENT.fullmatch(inner) is None:
            continue
        # A neighbour this reader cannot show is no part of its mojibake: "?" (an
        # ASCII byte no evidence can use) stands in for it.
        head = line[lo:a].encode(codec, "replace")
        raw = head + inner + line[b:hi].encode(codec, "replace")
        start, end = len(head), len(head) + len(inner)
        for m in _EVIDENCE_AT.finditer(raw):
            if m.start(1) < end and m.end(1) > start and _worded(m.group(1)):
                return True
    return False


def _worded(evidence: bytes) -> bool:
    """Does the evidence spell what mojibake holds: a CJK-range character, or
    nothing but ASCII and European letters (:func:`gate.utf8_spells`)?"""
    decoded = evidence.decode("utf-8", "replace")
    return any(c >= "\u0800" and utf8_spells(c) for c in decoded) or all(
        c.isascii() or utf8_spells(c) for c in decoded
    )


@lru_cache(maxsize=1)
def _unsure() -> re.Pattern[str]:
    """Characters whose bytes under some reader :func:`utf8_inside` cannot know:
    markers, characters a reader makes of more than one byte sequence, and those
    real text never holds (a C1 control or a private-use character is a byte
    the reader could not map, and proof of damage on its own)."""
    unsure = set(_CUT_MARKERS + _WINDOWS_EXTRAS + "\u30fb")
    for reading in _UTF8_READINGS:
        unsure.update(byte_alternatives(reading))
    return re.compile(f"[{NEVER_CHARS}{re.escape(''.join(sorted(unsure)))}]")
