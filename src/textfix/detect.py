"""Grow trigger hits into spans, classify each span's damage and propose repairs.

Per damaged line, every plausible (source encoding, reader) pair proposes islands
(see :mod:`textfix.repair.roundtrip`). Candidates that are only an intermediate
layer are searched again, up to ``config.max_layers`` deep, and the final choice is
a greedy pick of non-overlapping candidates by score gain. A candidate is accepted
only if its gain clears ``config.margin``.
"""

from __future__ import annotations

import bisect
import math
import re
from functools import cached_property

from ftfy.badness import is_bad

from textfix import gate
from textfix.codecs import DAMAGES, Damage, Reading
from textfix.config import Config
from textfix.findings import Finding
from textfix.repair.channel import CHANNEL_DAMAGES, whole_repair
from textfix.repair.precheck import (
    could_hold,
    line_could_hold,
    markers_can_be_lost,
    utf8_inside,
)
from textfix.repair.roundtrip import (
    CUT_MARKERS,
    METER,
    OWN_MIN_CJK,
    Repair,
    RunKey,
    SlotRun,
    _is_cont,
    _utf8_len,
    foreign_scripts,
    propose,
    script_of,
)
from textfix.score import CharModel, get_model

_MAX_EXPANSIONS = 6


def _family(damage: Damage) -> str:
    codec = damage.reading.codec
    if "1251" in codec:
        return "cyrillic"
    if codec in ("latin-1", "cp1252", "sloppy-windows-1252"):
        return "latin"
    return "cjk"


_KIND_FAMILY: dict[str, str] = {}
for _d in DAMAGES:
    if _d.cut:
        _KIND_FAMILY[_d.kind] = "cut"
    elif _family(_d) != "cjk" or _d.source.is_utf8:
        _KIND_FAMILY[_d.kind] = "from_utf8" if _d.source.is_utf8 else "legacy_latin"
    else:
        _KIND_FAMILY[_d.kind] = "cross_cjk"


def family_of_kind(kind: str) -> str:
    """The calibration family of a (possibly layered) kind: its first layer decides."""
    return _KIND_FAMILY.get(kind.split("+", 1)[0], "from_utf8")


# Margin multipliers per family, set from scripts/calibrate_margin.py: on clean
# corpus text a cross-CJK reading turns valid characters into other valid
# characters, so its false candidates reach far higher gains than UTF-8 readings.
MARGIN_SCALE = {"from_utf8": 1.5, "legacy_latin": 1.5, "cross_cjk": 2.5, "cut": 1.25}
# A cross-CJK misreading of fewer characters looks just like a rare word.
_CROSS_CJK_MIN = 6
_CROSS_CJK_SHORT = 4  # ... or four, when the run is the line's only CJK text

_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# C1 controls are bytes 0x80-0x9F read as Latin-1; no text means them.
_C1 = re.compile("[\x80-\x9f]")


def _plausible(rep: Repair, text: str, line: _Line, beside: bool = False) -> bool:
    """Context checks that the score cannot see (each one found on the clean corpus).

    * One character repeated is reduplication (喈喈, 쨩쨩), common in real text. A
      cut character with both bytes lost (``��``) is exempt: its fill comes back
      only when the model ranks it far ahead (:data:`~textfix.repair.roundtrip.BLIND_MARGIN`),
      as for 易��臨 -> 易，臨, and is masked otherwise (正��与 stays).
    * Cross-CJK readings need six characters or more (four if they are all the
      CJK text of the line); short runs inside a line are rare words. A short run
      ``beside`` an accepted repair of the same kind, across lost bytes only, is
      the same damage cut in two by them, so it is exempt.
    * A short repair from UTF-8 must not invent ASCII letters (蛻兮 -> 则a).
    * A CJK encoding read as Latin-1 must come back as CJK text (``¥ì¥¹`` read as
      EUC-KR is ``μⅩ``: symbols, so not a repair).
    * A cross-CJK misreading produces CJK characters, so its garbled span must be
      mostly CJK (Cyrillic and Greek are GBK-encodable too).
    * A repair that turns Latin-1 characters into CJK text must sit in a line
      that already has CJK text, or outweigh the line's ASCII words, or hold a C1
      control, or be UTF-8 structure that yields two CJK characters or more
      (``python ä½�ç½®`` in a path): documentation quotes mojibake on purpose
      (``StrConv("ABCDEVB¥ì¥¹¥­¥å©")`` in an English manual), but a short title
      (``Title is: ¾ç½Ä ¼Ó¼º``) is mostly its damaged words.
    """
    garbled = text[rep.start : rep.end]
    fam = family_of_kind(rep.kind)
    if len(set(garbled)) == 1 and not (fam == "cut" and garbled[0] in CUT_MARKERS):
        return False  # one character repeated (喈喈, 쨩쨩) is reduplication, a common word shape
    if fam == "cut" and not _same_stream(rep, text, line):
        return False
    if fam == "cross_cjk" and len(garbled) < _CROSS_CJK_MIN and not beside:
        # A short run is a rare word, unless it is all the CJK text the line has
        # (a whole title misread: 衄珨跺苤 for 有一个小).
        if len(garbled) < _CROSS_CJK_SHORT or _cjk_outside(rep, line):
            return False
    if fam == "from_utf8" and len(garbled) < 4 and _letters(rep.fix) > _letters(garbled):
        return False  # 蛻兮 -> 则a: a short repair that invents ASCII letters
    if fam == "legacy_latin" and not _CJK_RE.search(rep.fix):
        return False  # a CJK encoding decoded right gives CJK text, not only symbols
    if _brings_foreign_script(rep, text, line):
        return False
    if fam == "cross_cjk":
        wide = [c for c in garbled if not c.isascii() and c != "\ufffd"]
        if sum(bool(_CJK_RE.match(c)) for c in wide) * 2 < len(wide):
            return False
    if (
        rep.layers
        and _family_of_reading(rep.layers[0]) == "latin"
        and _CJK_RE.search(rep.fix)
        and not _C1.search(garbled)
        and not (fam == "from_utf8" and len(_CJK_RE.findall(rep.fix)) >= 2)
    ):
        if not _cjk_outside(rep, line) and len(garbled) * 2 < line.letters - _letters(garbled):
            return False
    return True


_CUT_SOURCE = {d.kind: d.source.codec for d in DAMAGES if d.cut}


def _same_stream(rep: Repair, text: str, line: _Line) -> bool:
    """Could the text around a cut-stream repair have come from the same stream?

    Both pieces of a cut stream were decoded in the encoding the repair names, so
    the characters beside the cut must be characters of that encoding: a cut in a
    Big5 stream cannot sit in Simplified text (不用说��你 is no Big5 cut, whatever
    Big5 character would fill it).
    """
    codec = _CUT_SOURCE.get(rep.kind)
    if codec is None:
        return True  # a further layer garbled the text around it as well
    around = (
        text[max(line.lo, rep.start - _SCRIPT_REACH) : rep.start]
        + text[rep.end : min(line.hi, rep.end + _SCRIPT_REACH)]
    )
    for ch in set(around):
        if ch.isascii() or ch in CUT_MARKERS:
            continue
        try:
            ch.encode(codec)
        except UnicodeEncodeError:
            return False
    return True


_SCRIPT_REACH = 24  # characters of the line on each side that set its scripts
_FOREIGN_SHARE = 3  # a repair at least a third foreign letters is refused
# Only short repairs that fill lost bytes: the text around a longer repair may be
# more of the same damage (Japanese mojibake reads as Han characters, so kana
# would look foreign there), and a lossless repair has the inverse check behind it.
_SCRIPT_SHORT = 6


def _brings_foreign_script(rep: Repair, text: str, line: _Line) -> bool:
    """Is a third or more of a short lossy repair Hangul, kana or
    Latin/Greek/Cyrillic letters, in CJK text that shows none of that script
    around it or in the garbled span?

    Lost bytes let a reading turn ``��梵香`` in a Chinese line into ``熱뭻``:
    the markers score so low that almost anything beats them.
    """
    if not rep.lossy or rep.end - rep.start > _SCRIPT_SHORT:
        return False
    around = (
        text[max(line.lo, rep.start - _SCRIPT_REACH) : rep.start]
        + text[rep.end : min(line.hi, rep.end + _SCRIPT_REACH)]
    )
    foreign = foreign_scripts(around)
    if not foreign:
        return False
    shown = {script_of(c) for c in text[rep.start : rep.end]}
    brought = sum(script_of(c) in foreign and script_of(c) not in shown for c in rep.fix)
    # A long repair with one stray letter is mostly right; refusing it would leave
    # all of its garbage in place.
    return brought * _FOREIGN_SHARE >= len(rep.fix) > 0


def _cjk_outside(rep: Repair, line: _Line) -> bool:
    cjk = line.cjk_positions
    k = bisect.bisect_left(cjk, rep.start)
    return k > 0 or bisect.bisect_left(cjk, rep.end) < len(cjk)


class _Line:
    """Facts about a line that the context checks need, computed once per line."""

    def __init__(self, text: str, lo: int, hi: int) -> None:
        self._text, self.lo, self.hi = text, lo, hi

    @cached_property
    def cjk_positions(self) -> list[int]:
        return [m.start() for m in _CJK_RE.finditer(self._text, self.lo, self.hi)]

    @cached_property
    def letters(self) -> int:
        return _letters(self._text[self.lo : self.hi])


def _letters(text: str) -> int:
    return sum(c.isascii() and c.isalpha() for c in text)


def _family_of_reading(kind: str) -> str:
    reading = kind.split("_as_", 1)[1] if "_as_" in kind else ""
    return "latin" if reading.split("+")[0] in ("latin1", "cp1252") else "other"


def _margin(rep: Repair, config: Config, text: str | None = None) -> float:
    """The gain a repair must show; ``text`` lets ftfy's judgement lower it.

    UTF-8 read as Latin-1 or cp1252 is ftfy's own ground. When ftfy's badness
    heuristic, tuned on years of real Latin mojibake, calls the garbled span bad
    and its repair clean, that is evidence the character model lacks on a short
    span (``Â» es``), so the plain margin applies instead of the scaled one.
    """
    scale = MARGIN_SCALE[family_of_kind(rep.kind)]
    if (
        text is not None
        and len(rep.layers) == 1
        and family_of_kind(rep.kind) == "from_utf8"
        and _family_of_reading(rep.kind) == "latin"
        and is_bad(text[rep.start : rep.end])
        and not is_bad(rep.fix)
    ):
        scale = 1.0
    return config.margin * scale


# Each damage with its reading's family and its calibration family, worked out
# once: every searched line asks for them per damage.
_Plan = tuple[Damage, str, str]
_PLAN: tuple[_Plan, ...] = tuple((d, _family(d), _KIND_FAMILY[d.kind]) for d in DAMAGES)


def _damages_for(line: str) -> list[_Plan]:
    fams = gate.families(line)
    return [plan for plan in _PLAN if plan[1] in fams]


_REACH = 32  # characters of context searched on each side of a rare character


def _windows(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Stretches of the line near evidence (rare characters, markers).

    Damage is made of rare characters, so an island with none in reach would be
    clean text that merely parses; not searching there keeps clean lines cheap.
    """
    line = text[lo:hi]
    hits = list(gate.rare_chars(line))
    hits.extend(i for i, ch in enumerate(line) if ch in "?\ufffd")
    if not hits:
        return []
    hits.sort()
    out: list[tuple[int, int]] = []
    for pos in hits:
        a, b = max(0, pos - _REACH), min(len(line), pos + _REACH + 1)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return [(lo + a, lo + b) for a, b in out]


def _worth_searching(line: str, model: CharModel) -> bool:
    """Second, model-based look at a line the gate let through.

    Two rare characters side by side are how the gate sees mojibake, but real
    words (枇杷, 薏苡) look the same to it. If every pair of rare neighbours, and
    every pair around a UTF-8 lead character, is a bigram the corpus knows, and
    nothing else points at damage, skip the line.
    """
    if gate.proof_of_damage(line):
        return True
    knows = model.knows
    # A lead character alone (蟒 in 蟒蛇) is clean where both its bigrams are known
    # words, or where the bytes after it could not continue a UTF-8 character.
    # Next to a lost-byte marker, or near another lead character (a misread
    # between CJK encodings makes them by chance), it still counts.
    leads = list(gate.lead_chars(line))
    if leads and ("?" in line or "\ufffd" in line):
        return True
    cross: list[bool] = []  # the line's cross-CJK evidence, once asked

    def damage_could_make(a: int, b: int) -> bool:
        # Inside mojibake of UTF-8 the pair is a stretch of it under some reader;
        # inside a misread between CJK encodings it has rare company.
        if utf8_inside(line, a, b):
            return True
        if not cross:
            cross.append(_cross_cjk_evidence(line))
        return cross[0]

    for k, i in enumerate(leads):
        if k and i - leads[k - 1] <= 3 and damage_could_make(leads[k - 1], i + 1):
            return True
        unknown_pair = (i > 0 and not knows(line[i - 1 : i + 1])) or (
            i + 1 < len(line) and not knows(line[i : i + 2])
        )
        if unknown_pair and gate.starts_utf8(line, i):
            return True
    rare = list(gate.rare_chars(line))
    for a, b in zip(rare, rare[1:], strict=False):
        if (
            b - a <= 3
            and any(not knows(line[i : i + 2]) for i in range(a, b))
            and damage_could_make(a, b + 1)
        ):
            return True
    return False


def _candidates(
    text: str,
    lo: int,
    hi: int,
    model: CharModel,
    config: Config,
    top: bool = False,
    whole: bool = False,
) -> list[Repair]:
    """Repairs every plausible damage proposes on ``text[lo:hi]``.

    On a line itself (``top``), each damage gets its own work allowance, so a
    hypothesis tried early cannot starve the right one; the search for layers inside
    repairs (:func:`_deeper`) shares one more allowance, given by the caller.
    ``whole``: a short inner layer the gate cannot see; only UTF-8 read by a CJK
    decoder is tried, over all of it.
    """
    out: list[Repair] = []
    line = text[lo:hi]
    damages = _INNER_UTF8 if whole else _damages_for(line)
    if not damages:
        return out
    # A short text whose GBK bytes are UTF-8 (设置 -> 璁剧疆) may hold no rare
    # character at all: it is searched whole, and the rare-character precheck
    # cannot speak for it.
    structural = whole or gate.utf8_run(line)
    cjk_windows = [(lo, hi)] if structural else _windows(text, lo, hi)
    rare = {line[i] for i in gate.rare_chars(line)}
    cross_cjk_evidence: bool | None = None
    settled: bool | None = None
    # On the line itself a repair below the plain margin is never used (every use
    # in find_damage asks for at least that much); inside a repair, whether any
    # repair was found at all decides what is searched next, so all are kept.
    floor = config.margin if top else -math.inf
    shared: dict[RunKey, list[SlotRun]] = {}
    for damage, family, kind_family in damages:
        if family == "cjk" and not structural and not line_could_hold(damage, line, rare):
            continue
        if top and family == "cjk" and not damage.source.is_utf8:
            # Every UTF-8 damage comes first (codecs.DAMAGES), so ``out`` already
            # holds all the repairs _settled weighs when the first of these asks.
            if settled is None:
                settled = _settled(out, line, lo, config)
            if settled:
                continue
        if kind_family == "cross_cjk":
            if cross_cjk_evidence is None:
                cross_cjk_evidence = _cross_cjk_evidence(line)
            if not cross_cjk_evidence:
                continue
            # Only on the line itself: inside a repair, whether any repair was
            # found at all steers what is searched next (see ``floor``).
            if top and not _cross_cjk_evidence(line, damage.reading):
                continue
        spans = cjk_windows if family == "cjk" else [(lo, hi)]
        held = [(a, b) for a, b in spans if could_hold(damage, text[a:b])]
        # Only on the line itself, and only for the whole damage: there each damage
        # has its own allowance, so skipping one leaves the others' searches as
        # they were (inside a repair the allowance is shared).
        if top and not any(markers_can_be_lost(damage, text[a:b]) for a, b in held):
            continue
        if top:
            METER.start(hi - lo)
        for a, b in held:
            out.extend(propose(text, damage, model, a, b, config.keep_uncertain, floor, shared))
    return out


# A repair this far above the margin, over nearly all of a line's non-ASCII
# text, leaves no room for a misread between two CJK encodings or a cut stream
# on the same line (one line is read as one encoding): their searches, which
# come after the UTF-8 ones, are skipped. Legacy CJK read as Latin-1 or cp1252 is
# still searched after a UTF-8 repair: ftfy's reading of such text as UTF-8
# mojibake can score high too (when it was skipped, evaldev's Shift-JIS read as
# cp1252 fell from 54 to 19 of 60 exact, EUC-KR read as Latin-1 from 60 to 21).
_SETTLED_GAIN = 4.0
_SETTLED_COVER = 0.9


def _settled(found: list[Repair], line: str, lo: int, config: Config) -> bool:
    """Has a UTF-8 repair in ``found`` settled the line (``text[lo:]``) already?"""
    wide = sum(1 for ch in line if ord(ch) >= 0x80)
    if not wide:
        return False
    for rep in found:
        if rep.gain >= _SETTLED_GAIN * config.margin and family_of_kind(rep.kind) == "from_utf8":
            piece = line[rep.start - lo : rep.end - lo]
            if sum(1 for ch in piece if ord(ch) >= 0x80) >= _SETTLED_COVER * wide:
                return True
    return False


# Between two CJK encodings a reader loses a byte now and then (at most half the
# characters of any evaldev case are U+FFFD); UTF-8 read as Big5 loses two
# thirds of them. A line that dense with markers is not searched as a misread
# between CJK encodings, whose searches there cost more than all the others.
_CROSS_CJK_MAX_LOST = 0.55


def _cross_cjk_evidence(line: str, reading: Reading | None = None) -> bool:
    """Is the line worth searching as a misread between two CJK encodings (by
    ``reading``, if given)?

    Such a misread turns a whole run into other characters, most of them rare: a
    lost byte shows as a marker, and a run read whole has three rare characters
    (or UTF-8 lead characters) within six. A title may be too short for that, so
    there two rare characters within three do. Clean lines of classical poetry
    have a rare pair in nearly every line but seldom three in six. Every
    character of such a run is one the reader shows: simplified Chinese 嚣嚣 is
    nothing a Big5 reader made.
    """
    if _mostly_lost(line):
        return False
    if "?" in line or "\ufffd" in line:
        return True
    if len(line.strip()) <= _SHORT_LINE:
        return any(_shown_by(reading, line[a:b]) for a, b in gate.suspect_pairs(line))
    hits = sorted({*gate.rare_chars(line), *gate.lead_chars(line)})
    return any(
        b - a < _DENSE_REACH and _shown_by(reading, line[a : b + 1])
        for a, b in zip(hits, hits[2:], strict=False)
    )


def _shown_by(reading: Reading | None, chars: str) -> bool:
    """Could ``reading`` have shown every character of ``chars``?"""
    return reading is None or all(reading.char_bytes(c) is not None for c in chars)


_SHORT_LINE = 8
_DENSE_REACH = 6


def _mostly_lost(line: str) -> bool:
    shown = len(line) - line.count(" ")
    return line.count("\ufffd") > _CROSS_CJK_MAX_LOST * shown


def _layered_kind(layers: list[str]) -> str:
    """Name stacked damage in the order it happened: ``utf8_as_gbk+cp1252`` was
    first read as GBK, then the result was read as cp1252. ``layers`` is in the
    order the repair peeled them, outermost first."""
    inner = layers[-1]
    outer = [layer.split("_as_", 1)[-1] for layer in reversed(layers[:-1])]
    return "+".join([inner, *outer])


def _deeper(
    text: str, repair: Repair, model: CharModel, config: Config, depth: int
) -> list[Repair]:
    """Repairs whose first layer is ``repair`` and which undo further layers inside it."""
    if depth >= config.max_layers:
        return []
    left = text[repair.start - 1] if repair.start > 0 else "\n"
    right = text[repair.end] if repair.end < len(text) else "\n"
    inner = repair.fix
    if repair.choices and len(repair.choices) <= _MAX_REFILLS and _SINGLE_BYTE[repair.layers[-1]]:
        inner = _refill(repair, model, config, left, right)
    seen = gate.has_codec_trigger(inner) and _worth_searching(inner, model)
    subs = _candidates(inner, 0, len(inner), model, config) if seen else []
    if not subs and len(inner) <= _SHORT_INNER and _CJK_RE.search(inner):
        # UTF-8 of a common word read as GBK (说明 -> 璇存槑) is made of frequent
        # characters that the gate and its windows pass over; inside a repair,
        # where damage is already proven, a short CJK inner text is still worth
        # the readings of UTF-8 by a CJK decoder, over all of it.
        subs = _candidates(inner, 0, len(inner), model, config, whole=True)
    if not subs:
        return []
    garbled = text[repair.start : repair.end]
    base = model.score(garbled, left, right)
    out: list[Repair] = []
    subs.sort(key=lambda r: -r.gain)
    # Breadth shrinks with depth so a three-layer search stays a few dozen calls.
    for sub in subs[: max(1, _MAX_EXPANSIONS >> (2 * depth - 1))]:
        if sub.gain < config.margin:
            break  # each layer must stand on its own evidence
        fix = _remask(inner[: sub.start], repair, 0) + sub.fix
        fix += _remask(inner[sub.end :], repair, sub.end)
        gain = model.score(fix, left, right) - base
        layers = repair.layers + sub.layers
        layered = Repair(
            repair.start,
            repair.end,
            fix,
            _layered_kind(layers),
            gain,
            repair.lossy or sub.lossy,
            repair.uncertain + sub.uncertain,
            layers,
            sub.baked,
        )
        out.append(layered)
        out.extend(_deeper(text, layered, model, config, depth + 1))
    return out


_SHORT_INNER = 12
_INNER_UTF8 = [plan for plan in _PLAN if plan[2] == "from_utf8" and plan[1] == "cjk"]

# An outer layer with more doubtful fills than this is searched as masked.
_MAX_REFILLS = 8
# Refills are tried under single-byte readers only. Their lost bytes have a few
# values each (cp1252 leaves five bytes undefined), and text they garbled in two
# layers is common (GBK mojibake saved as UTF-8, then opened as cp1252). Under a
# double-byte reader a lost byte has hundreds of values and the reading is nearly
# always the final text, so the search would cost much and find little.
_SINGLE_BYTE = {d.kind: not d.reading.double_byte for d in DAMAGES}


_REFILL_REACH = 12  # characters on each side of a fill that its inner repair may use


def _refill(repair: Repair, model: CharModel, config: Config, left: str, right: str) -> str:
    """The outer layer's reading with each doubtful fill set to the value that lets
    the layers inside read best.

    The fills of an outer layer are bytes of text that is itself still garbled
    (UTF-8 read as GBK, then read as cp1252), so the model cannot rank them; a
    wrong one breaks the inner parse, a right one lets it run on. One fill at a
    time, left to right (twice), each value is kept if the text around it reads
    better once the repairs found inside it are applied.
    """
    inner = repair.reading
    for _sweep in range(2):  # a fill may only pay off once a later one is right
        changed = False
        for at, alts in repair.choices:
            lo = max(0, at - _REFILL_REACH)
            hi = min(len(inner), at + len(alts[0]) + _REFILL_REACH)
            ctx_l = inner[lo - 1] if lo > 0 else left
            ctx_r = inner[hi] if hi < len(inner) else right
            here = inner[at : at + len(alts[0])]
            best = _after_inner(inner[lo:hi], model, config, ctx_l, ctx_r)
            for alt in alts:
                if alt == here:
                    continue
                window = inner[lo:at] + alt + inner[at + len(alt) : hi]
                value = _after_inner(window, model, config, ctx_l, ctx_r)
                if value > best:
                    inner = inner[:at] + alt + inner[at + len(alt) :]
                    here, best, changed = alt, value, True
        if not changed:
            break
    return inner


def _after_inner(inner: str, model: CharModel, config: Config, left: str, right: str) -> float:
    """Score of ``inner`` once the repairs found inside it are applied."""
    out = inner
    if gate.has_codec_trigger(inner) and _worth_searching(inner, model):
        subs = [
            r for r in _candidates(inner, 0, len(inner), model, config) if r.gain >= config.margin
        ]
        for sub in reversed(_select(subs, config.margin)):
            out = out[: sub.start] + sub.fix + out[sub.end :]
    return model.score(out, left, right)


def _remask(piece: str, repair: Repair, at: int) -> str:
    """``piece`` (taken from the refilled reading at offset ``at``) with the outer
    layer's doubtful fills masked again where no inner repair confirmed them."""
    if not repair.reading or "\ufffd" not in repair.fix:
        return piece
    masked = repair.fix[at : at + len(piece)]
    return "".join(
        m if m == "\ufffd" and r != "\ufffd" else c
        for c, m, r in zip(piece, masked, repair.reading[at : at + len(piece)], strict=False)
    )


def _greedy(cands: list[Repair], margin: float, chosen: list[Repair]) -> list[Repair]:
    # Chosen spans never overlap, so sorted starts and ends let each overlap test
    # look at one neighbour (a line can carry thousands of candidates).
    starts = sorted(c.start for c in chosen)
    ends = sorted(c.end for c in chosen)
    for cand in sorted(cands, key=lambda r: (-r.gain, r.start)):
        if cand.gain < margin:
            break
        k = bisect.bisect_right(starts, cand.start)
        if k and ends[k - 1] > cand.start:
            continue  # the span starting before this one reaches into it
        if k < len(starts) and starts[k] < cand.end:
            continue  # the next span starts inside this one
        chosen.append(cand)
        starts.insert(k, cand.start)
        ends.insert(k, cand.end)
    return chosen


def _placed_by_kind(cands: list[Repair], margin: float) -> dict[str, list[Repair]]:
    """Per damage kind, the non-overlapping repairs of at least ``margin`` that
    kind would place on its own."""
    by_kind: dict[str, list[Repair]] = {}
    for cand in cands:
        if cand.gain >= margin:
            by_kind.setdefault(cand.kind, []).append(cand)
    return {kind: _greedy(reps, margin, []) for kind, reps in by_kind.items()}


def _leading_kind(placed: dict[str, list[Repair]]) -> str:
    """The kind whose placed repairs gain the most: the line's one likely cause."""
    return max(placed, key=lambda kind: sum(r.gain for r in placed[kind]))


def _select(cands: list[Repair], margin: float) -> list[Repair]:
    """Non-overlapping repairs, preferring the one damage that explains the most of the line.

    Damage on one line nearly always has one cause, so the kind with the largest
    total gain is placed first; other kinds only fill what it left untouched.
    """
    placed = _placed_by_kind(cands, margin)
    if not placed:
        return []
    lead = _leading_kind(placed)
    chosen = list(placed[lead])
    if family_of_kind(lead) == "legacy_latin":
        # One line was written in one legacy encoding: where Shift-JIS read as
        # cp1252 explains most of it, an EUC-KR reading of a stretch it left (its
        # lost bytes cut the Shift-JIS reading short) is Hangul made of garbage.
        source = _source_of(lead)
        cands = [
            c
            for c in cands
            if family_of_kind(c.kind) != "legacy_latin" or _source_of(c.kind) == source
        ]
    chosen = _greedy(cands, margin, chosen)
    return sorted(chosen, key=lambda r: r.start)


def _decoded_stretch(
    text: str, lo: int, hi: int, cands: list[Repair], model: CharModel, config: Config
) -> list[Repair]:
    """The line's damaged stretch decoded whole (:mod:`textfix.repair.channel`), for
    the lossy reading that explains most of the line, where it lost bytes.

    The walker's repairs are the evidence that the reading is the right one, and
    they mark the stretch; the decode is offered only where it explains the
    stretch better than they do, so it mostly fills what they left as markers.
    """
    found = _placed_by_kind([c for c in cands if c.kind in CHANNEL_DAMAGES], config.margin)
    whole = _lost_to_big5(text, lo, hi, model, config.keep_uncertain)
    if whole is not None and _reads_better(text, whole, found.get(whole.kind, []), model):
        return [whole]
    if not found:
        return []
    kind = _leading_kind(found)
    damage = CHANNEL_DAMAGES[kind]
    marker = damage.reading.marker or "\ufffd"
    a = min(r.start for r in found[kind])
    b = max(r.end for r in found[kind])
    while a > lo and text[a - 1] == marker:
        a -= 1
    while b < hi and text[b] == marker:
        b += 1
    # The whole line first: a line that is all damage often starts or ends in a
    # stretch the walker could not read at all.
    for start, end in dict.fromkeys([(lo, hi), (a, b)]):
        if not _left_unread(text, start, end, marker, found[kind]):
            continue
        if not _mostly_seen(text[start:end], marker):
            continue
        # The scripts the walker's readings and the rest of the line use; the
        # model pools Chinese, Japanese and Korean, and a stretch of markers
        # would otherwise take kana in Chinese text as readily as Han.
        own = text[lo:start] + text[end:hi] + "".join(r.reading or r.fix for r in found[kind])
        foreign = foreign_scripts(own, OWN_MIN_CJK)
        rep = whole_repair(text, start, end, damage, model, foreign, config.keep_uncertain)
        if rep is not None and _reads_better(text, rep, found[kind], model):
            return [rep]
    return []


_BIG5 = CHANNEL_DAMAGES.get("utf8_as_big5")
_BIG5_MIN_LOST = 3


def _lost_to_big5(
    text: str, lo: int, hi: int, model: CharModel, keep_margin: float
) -> Repair | None:
    """The whole line decoded as UTF-8 that Python's Big5 decoder read.

    Big5 takes no UTF-8 continuation byte below 0xA1 as a trail, so such a line
    shows about two markers for every character (用鼠标调整框架的大小。 becomes
    ``��券�����靚���湔����嗥��憭批�����``) and the walker, which reads a few
    lost bytes at a time, gives up on nearly all of it. Each marker is one byte,
    though, and the characters it did show are pairs of UTF-8 bytes: the line is
    decoded whole only when its bytes, with any value for each marker, can be
    UTF-8 at all (:func:`_utf8_with_holes`). Clean Big5 text fails that at once:
    its most frequent characters start with a byte from 0xA4 to 0xBF, which UTF-8
    only has inside a character.
    """
    line = text[lo:hi]
    if _BIG5 is None or line.count("\ufffd") < _BIG5_MIN_LOST:
        return None
    raw = bytearray()
    holes = []
    for ch in line:
        if ch == "\ufffd":
            holes.append(len(raw))
            raw.append(0x80)
            continue
        got = _BIG5.reading.char_bytes(ch)
        if got is None:
            return None
        raw += got
    if not _utf8_with_holes(bytes(raw), frozenset(holes)):
        return None
    return whole_repair(text, lo, hi, _BIG5, model, keep_margin=keep_margin)


def _utf8_with_holes(raw: bytes, holes: frozenset[int]) -> bool:
    """Can ``raw`` be UTF-8 if each byte at an offset in ``holes`` may take any
    value from 0x80 up?

    >>> _utf8_with_holes("你好".encode("utf-8"), frozenset({1, 4}))
    True
    >>> _utf8_with_holes("的是".encode("cp950"), frozenset())
    False
    """
    states = {0}  # continuation bytes still owed
    for at, b in enumerate(raw):
        nxt: set[int] = set()
        for owed in states:
            if owed:
                if at in holes or _is_cont(b):
                    nxt.add(owed - 1)
            elif at in holes:
                nxt.update((1, 2, 3))
            elif n := _utf8_len(b):
                nxt.add(n - 1)
        if not nxt:
            return False
        states = nxt
    return 0 in states


def _mostly_seen(garbled: str, marker: str) -> bool:
    """Does the stretch show enough of its non-ASCII text, against what it lost?

    The decode reads every marker, and a run of markers alone would be read as
    whatever the model likes best: the seen characters around the lost bytes are
    its only evidence. Windows cp949 shows about as many markers as characters
    in Korean (14 to 13 for 우리는 내일 아침에 도서관에 갈 거예요.), while UTF-8
    read as Big5 often shows mostly markers (文本文件 as �����祆��隞�: eight
    markers, two characters).
    """
    lost = garbled.count(marker)
    seen = sum(1 for ch in garbled if ord(ch) >= 0x80) - (lost if ord(marker) >= 0x80 else 0)
    return lost <= _MOST_LOST_PER_SEEN * seen


_MOST_LOST_PER_SEEN = 1.5  # three markers for every two characters seen


def _left_unread(text: str, start: int, end: int, marker: str, reps: list[Repair]) -> bool:
    """Does ``text[start:end]`` hold a marker none of ``reps`` reads?

    Where the walker read every marker, the decode would only weigh the same
    bytes again (it costs far more than the walker's search of them).
    """
    at = text.find(marker, start, end)
    while at >= 0:
        if not any(r.start <= at < r.end for r in reps):
            return True
        at = text.find(marker, at + 1, end)
    return False


def _reads_better(text: str, rep: Repair, others: list[Repair], model: CharModel) -> bool:
    """Does ``rep`` read better than the walker's repairs ``others`` over the same
    stretch, by the trigram transitions both searches rank with?

    The walker's repairs count with their full readings, doubtful fills
    included: a decode that only agrees with a fill the walker kept as a marker
    must not overrule that doubt.
    """
    inside = sorted(
        (r for r in others if r.start < rep.end and r.end > rep.start), key=lambda r: r.start
    )
    lo = min([rep.start, *(r.start for r in inside)])
    hi = max([rep.end, *(r.end for r in inside)])
    theirs, at = [], lo
    for r in inside:
        theirs += [text[at : r.start], r.reading or r.fix]
        at = r.end
    theirs.append(text[at:hi])
    ours = text[lo : rep.start] + rep.fix + text[rep.end : hi]
    left = ("\n\n" + text[max(0, lo - 2) : lo])[-2:]
    right = (text[hi : hi + 2] + "\n\n")[:2]
    return model.chain3(left[0], left[1], ours + right) > _DECODE_MARGIN + model.chain3(
        left[0], left[1], "".join(theirs) + right
    )


# Nats by which a whole-stretch decode must read better than the walker's repairs.
# Where the walker left markers the difference is tens of nats; where both read
# every byte and differ in one character the model can hardly tell them apart
# (三个省份 and 三三省份 differ by under a thousandth of a nat), and the walker, which
# ranks each lost stretch with the context on both sides, keeps its choice.
_DECODE_MARGIN = 4.0


def _source_of(kind: str) -> str:
    """The encoding the text was written in: ``sjis`` for ``sjis_as_cp1252``."""
    return kind.split("+", 1)[0].split("_as_", 1)[0]


_GAP = frozenset("\ufffd? ")  # what may separate two pieces of one misread run


def _touching(a: Repair, b: Repair, text: str) -> bool:
    gap = text[a.end : b.start] if a.end <= b.start else text[b.end : a.start]
    return 0 < len(gap) <= 3 and all(ch in _GAP for ch in gap)


def _beside(
    cands: list[Repair], chosen: list[Repair], text: str, line: _Line, config: Config
) -> list[Repair]:
    """Add short cross-CJK pieces that lost bytes cut off an accepted repair.

    A misread between CJK encodings loses the pairs the reader rejects, and the
    U+FFFD they leave splits one damaged run into pieces; a piece of two or three
    characters (﹚竡 for 定義 before a lost byte) is too short to stand alone,
    but next to an accepted repair of the same kind it needs only the plain margin.
    """
    out = list(chosen)
    pieces = sorted(
        (
            c
            for c in cands
            if not c.baked and c.gain >= config.margin and family_of_kind(c.kind) == "cross_cjk"
        ),
        key=lambda r: -r.gain,
    )
    grew = True
    while grew:  # a piece taken may be the neighbour the next one needs
        grew = False
        for cand in pieces:
            if any(cand.start < r.end and r.start < cand.end for r in out):
                continue  # overlaps a repair already taken (or is one)
            if not any(r.kind == cand.kind and _touching(cand, r, text) for r in out):
                continue
            if _plausible(cand, text, line, beside=True):
                out.append(cand)
                grew = True
    return sorted(out, key=lambda r: r.start)


def _protected(text: str, lo: int, hi: int, config: Config) -> list[tuple[int, int]] | None:
    """Spans codec repair must not touch; None if the whole line is off limits.

    A line with 锟斤拷 left in it already went through a lossy round trip that
    baked replacement characters into the bytes: no reading of it is the
    original, so it is only reported. Pinyin annotations are real text that happens
    to look like Latin-1 mojibake to some readings.
    """
    from textfix.artifacts import markers, pinyin

    line = text[lo:hi]
    if markers.triggered(line):
        for f in markers.find_markers(line, config):
            if f.kind in ("kunjinkao", "fill_marker"):
                return None
    spans: list[tuple[int, int]] = []
    if pinyin.triggered(line):
        for f in pinyin.find_annotations(line, config):
            spans.append((lo + f.start - 1, lo + f.end))
    return spans


def _clear(rep: Repair, spans: list[tuple[int, int]]) -> bool:
    return all(rep.end <= a or rep.start >= b for a, b in spans)


def _confidence(rep: Repair, margin: float) -> float:
    """How sure the repair is: its gain against the margin, times the share of
    its characters that some seen byte supports."""
    sure = 1.0 - math.exp(-max(rep.gain, 0.0) / max(margin, 1e-6))
    return round(sure * (1.0 - rep.guessed / max(len(rep.fix), 1)), 3)


def line_has_work(line: str) -> bool:
    """False only if :func:`find_damage` would find nothing on this one line.

    The pipeline asks it of each line the fused gate lets through before it cuts
    segments: most such lines in clean CJK text hold a rare word and nothing else,
    and dropping them there spares each one a run through every stage.
    """
    return gate.has_codec_trigger(line) and _worth_searching(line, get_model())


def find_damage(text: str, config: Config) -> list[Finding]:
    if not config.repair_codecs:
        return []
    model = get_model()
    findings: list[Finding] = []
    for lo, hi in gate.damaged_lines(text):
        if not _worth_searching(text[lo:hi], model):
            continue
        protected = _protected(text, lo, hi, config)
        if protected is None:
            continue
        cands = [
            c for c in _candidates(text, lo, hi, model, config, top=True) if _clear(c, protected)
        ]
        cands += [
            c for c in _decoded_stretch(text, lo, hi, cands, model, config) if _clear(c, protected)
        ]
        layered: list[Repair] = []
        METER.start(hi - lo)  # one more allowance for all the layers found inside
        for cand in sorted(cands, key=lambda r: -r.gain)[:_MAX_EXPANSIONS]:
            if cand.gain < config.margin:
                break  # the outer layer, like every layer, must stand on its own evidence
            layered.extend(_deeper(text, cand, model, config, 1))
        # Every extra layer is another chance to read garbage into garbage, so a
        # layered repair must clear a proportionally higher bar.
        layered = [r for r in layered if r.gain >= _margin(r, config) * (3 * len(r.layers) - 2)]
        line = _Line(text, lo, hi)
        pool = [
            r
            for r in cands + layered
            if not r.baked and r.gain >= _margin(r, config, text) and _plausible(r, text, line)
        ]
        chosen = _select(pool, 0.0)
        if any(family_of_kind(r.kind) == "cross_cjk" for r in chosen):
            chosen = _beside(cands, chosen, text, line, config)
        for rep in chosen:
            findings.append(
                Finding(
                    kind=rep.kind,
                    start=rep.start,
                    end=rep.end,
                    confidence=_confidence(rep, config.margin),
                    fix=rep.fix,
                    detail={
                        "layers": rep.layers,
                        "lossy": rep.lossy,
                        "uncertain": rep.uncertain,
                        "gain": round(rep.gain, 2),
                        **({"guessed": rep.guessed} if rep.guessed else {}),
                    },
                )
            )
    return findings
