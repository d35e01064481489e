"""Undo one codec round trip inside a text, filling in bytes the decoder lost.

For a given :class:`~textfix.codecs.Damage` (text encoded as *E*, decoded by
reader *D*) the garbled characters are turned back into the bytes *D* saw. A
replacement marker becomes an *unknown* byte slot. The byte stream is then parsed
as *E*. Stretches that parse cleanly and start and end on a character boundary of
both encodings are *islands*: the candidate repairs.

An unknown slot is never brute-forced. Its role follows from the bytes around it
(a UTF-8 continuation byte has 64 possible values, a lead byte of a known length
16, and so on), and each value must also make *D* fail exactly where the marker
is (the inverse check, applied byte by byte). Competing fillings are ranked
jointly along the island with the character model.
"""

from __future__ import annotations

import heapq
import math
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import islice, repeat, zip_longest
from typing import cast

from textfix.codecs import Damage, Reading, Source, byte_alternatives, char_table
from textfix.gate import latin_evidence
from textfix.score.model import CharModel

UNKNOWN = -1
_MISSING = b"<missing>"
# Characters real text does not hold: C1 controls, private use, halfwidth katakana.
# Signs of damage a repair must not add: C1 and C0 controls (tab and line breaks
# aside), private use, halfwidth katakana.
SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\uff61-\uff9f]")
_LATIN_READERS = frozenset({"latin-1", "cp1252", "sloppy-windows-1252"})
_MAX_REGION_CANDIDATES = 8192
_SEARCH_BUDGET = 40_000
_MAX_UNKNOWNS_PER_REGION = 3
_MAX_REGION_SLOTS = 12
_KEEP_PER_REGION = 24
_BEAM = 12
_BEAM_FILLS = 12  # best values of a lost stretch that a path may take


@dataclass
class Region:
    """A stretch of the island that contains lost bytes, with its possible readings."""

    candidates: list[str]
    blind: bool = False
    """A cut character with no byte left: only the model chooses, and the fill
    may be all the repair there is, so it must lead its runner-up by
    :data:`BLIND_MARGIN` rather than the usual keep margin."""


@dataclass
class Island:
    start: int  # character offsets into the scanned text
    end: int
    parts: list[str | Region]
    lossy: bool  # some part is a Region (counted once, when the walker emits it)
    bounds: tuple[int, ...] = ()
    """Per part, the text offset where it ends, or -1 where that is inside a
    character of the text (the island could not stop there)."""


@dataclass
class Repair:
    """A proposed fix for ``text[start:end]`` under one damage hypothesis."""

    start: int
    end: int
    fix: str
    kind: str
    gain: float
    lossy: bool = False
    uncertain: int = 0
    layers: list[str] = field(default_factory=list)
    baked: bool = False
    """The bytes decoded to U+FFFD: an earlier layer had already lost them. Only a
    further layer that reads the U+FFFD as a marker can make this a final repair."""
    reading: str = ""
    """The best reading before doubtful fills were masked (set for lossy repairs)."""
    guessed: int = 0
    """Characters of ``fix`` whose bytes the reader showed only as markers, chosen
    by the model alone (counted by the whole-stretch decoder)."""
    choices: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """Where ``reading`` holds a fill, and the values that fill could also take
    (same length, best first). When this repair is only an outer layer, the model
    cannot rank fills of text that is itself still garbled; the layer inside can."""


# --------------------------------------------------------------------------- slots


def _slots(
    window: str,
    lo: int,
    reading: Reading,
    extra_markers: str = "",
    utf8_source: bool = False,
) -> Iterator[tuple[list[int], list[int]]]:
    """Yield runs of characters the reader could have produced, as byte slots.

    Each run is (slots, owner): the bytes (UNKNOWN for a marker) and, per slot,
    the index in the text (whose ``window`` starts at ``lo``) of the character it
    came from. A character the reader
    makes of several byte sequences gets, for a UTF-8 source, the one that goes on
    the UTF-8 in progress.
    """
    markers = {reading.marker, *extra_markers}
    table = char_table(reading)
    alternatives = byte_alternatives(reading) if utf8_source and reading.double_byte else {}
    slots: list[int] = []
    owner: list[int] = []
    lost_run = 0
    limit = _lost_limit(reading)
    for i, ch in enumerate(window, lo):
        if ch in markers:
            lost_run += 1
            if lost_run > limit:
                # Nothing can be rebuilt across this many lost bytes: end the run.
                if lost_run == limit + 1:
                    del slots[len(slots) - limit :]
                    del owner[len(owner) - limit :]
                    if slots:
                        yield slots, owner
                    slots, owner = [], []
                continue
            slots.append(UNKNOWN)
            owner.append(i)
            continue
        lost_run = 0
        raw: bytes | None
        if alternatives and ch in alternatives:
            raw = _fitting(alternatives[ch], slots)
        else:
            raw = table.get(ch, _MISSING)
            if raw is _MISSING:
                raw = reading.char_bytes(ch)
        if raw is None:
            if slots:
                yield slots, owner
                slots, owner = [], []
            continue
        slots += raw
        owner += [i] * len(raw)
    if slots:
        yield slots, owner


def _fitting(options: tuple[bytes, ...], slots: list[int]) -> bytes:
    """The first of ``options`` that continues the UTF-8 the slots end in."""
    pending = 0
    for back in range(1, min(3, len(slots)) + 1):
        b = slots[-back]
        if not 0x80 <= b <= 0xBF:
            pending = max(0, _utf8_len(b) - back) if b >= 0 else 0
            break
    for raw in options:
        state: tuple[int, int, int] | None = (pending, 0x80, 0xBF)
        for b in raw:
            state = _utf8_step(state, b) if state is not None else None
        if state is not None:
            return raw
    return options[0]


# ------------------------------------------------------------------ D-side checks


def _fails_alone(reading: Reading, b: int, nxt: int) -> bool:
    """Would the reader report ``b`` as one bad byte when ``nxt`` follows it?"""
    if reading.valid_single(b):
        return False
    if nxt >= 0 and reading.double_byte and b in reading.leads and reading.valid_pair(b, nxt):
        return False
    return True


def _marker_fills(reading: Reading, nxt: int) -> list[tuple[int, ...]]:
    """The byte tuples one marker can stand for, before E-side constraints."""
    out: list[tuple[int, ...]] = []
    if reading.policy == "windows":
        for b1 in range(0x80, 0x100):
            if reading.codec == "gbk" and b1 == 0x80:
                continue  # cp936 shows 0x80 as the euro sign, never as "?"
            if b1 in reading.leads:
                for b2 in range(0x100):
                    if not reading.valid_pair(b1, b2):
                        out.append((b1, b2))
                if nxt < -1:  # end of text: a lone lead byte
                    out.append((b1,))
            elif not reading.valid_single(b1):
                out.append((b1,))
        return out
    for b in range(0x80, 0x100):
        if _fails_alone(reading, b, nxt):
            out.append((b,))
    if reading.policy == "question":
        out.append((0x3F,))
    return out


_FILL_CACHE: dict[tuple[Reading, int], list[tuple[int, ...]]] = {}


def marker_fills(reading: Reading, nxt: int) -> list[tuple[int, ...]]:
    key = (reading, nxt)
    got = _FILL_CACHE.get(key)
    if got is None:
        got = _FILL_CACHE[key] = _marker_fills(reading, nxt)
    return got


# ------------------------------------------------------------------ UTF-8 parsing


def _utf8_len(b: int) -> int:
    if b < 0x80:
        return 1
    if 0xC2 <= b <= 0xDF:
        return 2
    if 0xE0 <= b <= 0xEF:
        return 3
    if 0xF0 <= b <= 0xF4:
        return 4
    return 0


def _is_cont(b: int) -> bool:
    return 0x80 <= b <= 0xBF


def _may_end_here(slots: list[int], k: int) -> bool:
    """Could the damage end before slot ``k``?

    Yes if the known bytes from ``k`` on do not begin a well-formed UTF-8
    character, or begin a 2-byte one: the clean character after a damaged stretch
    often encodes as such a pair (影 is D3 B0 in GBK, and D3 B0 is UTF-8 for Ӱ),
    and the island's edge is trimmed back to the clean text later if it reads
    better (:func:`_trim_edges`).
    """
    state = (0, 0x80, 0xBF)
    for n, b in enumerate(slots[k : k + 4]):
        if b < 0:
            return False
        step = _utf8_step(state, b)
        if step is None:
            return True
        if step[0] == 0:
            return n == 1
        state = step
    return False


def _second_range(lead: int) -> tuple[int, int]:
    if lead == 0xE0:
        return 0xA0, 0xBF
    if lead == 0xED:
        return 0x80, 0x9F
    if lead == 0xF0:
        return 0x90, 0xBF
    if lead == 0xF4:
        return 0x80, 0x8F
    return 0x80, 0xBF


def _utf8_step(state: tuple[int, int, int], b: int) -> tuple[int, int, int] | None:
    """Advance a UTF-8 validator. state = (bytes still needed, lo, hi of the next byte)."""
    need, lo, hi = state
    if need:
        if not lo <= b <= hi:
            return None
        return (need - 1, 0x80, 0xBF)
    n = _utf8_len(b)
    if n == 0:
        return None
    if n == 1:
        return (0, 0, 0)
    lo, hi = _second_range(b)
    return (n - 1, lo, hi)


_FFFD = [0xEF, 0xBF, 0xBD]


def _whole_utf8(seq: list[int]) -> str | None:
    """The character ``seq`` (as long as its lead byte says) encodes, or None if
    it is not valid UTF-8.

    One decode call instead of a validator step per byte: the walker asks this at
    nearly every non-ASCII byte of every window. A valid sequence decodes to one
    character; a broken one shows U+FFFD, which only EF BF BD really is.
    """
    ch = bytes(seq).decode("utf-8", "replace")
    if len(ch) != 1 or (ch == "\ufffd" and seq != _FFFD):
        return None
    return ch


_ASCII_SWALLOWED = [0x09, 0x0A, 0x0D, *range(0x20, 0x7F)]
_UTF8_STARTS = [*_ASCII_SWALLOWED, *range(0xC2, 0xF5)]


_UTF8_FILL_CACHE: dict[
    tuple[Reading, tuple[int, int, int], int], list[tuple[tuple[int, ...], tuple[int, int, int]]]
] = {}


def _utf8_fills_cached(
    reading: Reading, state: tuple[int, int, int], nxt: int
) -> list[tuple[tuple[int, ...], tuple[int, int, int]]]:
    key = (reading, state, nxt)
    got = _UTF8_FILL_CACHE.get(key)
    if got is None:
        got = _UTF8_FILL_CACHE[key] = list(_utf8_fills(reading, state, nxt))
    return got


def _utf8_fills(
    reading: Reading, state: tuple[int, int, int], nxt: int
) -> Iterator[tuple[tuple[int, ...], tuple[int, int, int]]]:
    """Byte fills for one marker that keep the UTF-8 parse valid and make the reader fail.

    ``nxt`` is the known byte after the marker (-1 unknown, -2 end of text); it
    prunes fills whose parse could not continue into it.
    """
    need, lo, hi = state
    want_open = 0x80 <= nxt <= 0xBF
    want_closed = nxt == -2 or (nxt >= 0 and not want_open)

    def fits(st: tuple[int, int, int]) -> bool:
        if want_open:
            return st[0] > 0
        if want_closed:
            return st[0] == 0
        return True

    first = range(lo, hi + 1) if need else _UTF8_STARTS
    windows = reading.policy == "windows"
    for b1 in first:
        st1 = _utf8_step(state, b1)
        if st1 is None:
            continue
        if windows:
            lone = (b1 not in reading.leads and not reading.valid_single(b1)) or (
                b1 in reading.leads and nxt == -2
            )
            if reading.codec == "gbk" and b1 == 0x80:
                lone = False  # cp936 shows 0x80 as the euro sign, never as "?"
        else:
            lone = _fails_alone(reading, b1, nxt)
        if lone and fits(st1):
            yield (b1,), st1
        if windows and b1 in reading.leads and nxt != -2:
            second = range(st1[1], st1[2] + 1) if st1[0] else _UTF8_STARTS
            for b2 in second:
                if reading.valid_pair(b1, b2):
                    continue
                st2 = _utf8_step(st1, b2)
                if st2 is not None and fits(st2):
                    yield (b1, b2), st2
    if reading.policy == "question" and need == 0 and not want_open:
        yield (0x3F,), (0, 0, 0)


_ENUM_CACHE: dict[tuple[Reading, tuple[int, ...], int, str | None], tuple[list[bytes], int]] = {}
_ENUM_CACHE_MAX = 4096


class _Meter:
    """Work allowed for one damage hypothesis on one line, in search steps (a byte
    tried, a fill scored).

    A line full of markers offers an exponential number of ways to fill them; past
    this allowance the rest of the line is left as it is. The allowance grows with
    the line and there is a fixed number of hypotheses, so the cost of a line stays
    linear in its length; it depends only on the line, so the result does too.
    """

    BASE = 60_000
    PER_CHAR = 600

    def __init__(self) -> None:
        self.left = self.BASE

    def start(self, chars: int) -> None:
        self.left = self.BASE + self.PER_CHAR * chars

    def spend(self, steps: int) -> None:
        self.left -= steps

    @property
    def exhausted(self) -> bool:
        return self.left <= 0


METER = _Meter()


def _enumerate_utf8(
    region: list[int], reading: Reading, after: int, rank: _Ranker | None = None
) -> list[bytes]:
    """All byte strings the region's slots can stand for that are whole, valid UTF-8.

    The same region comes back for every window, layer and reader variant that
    covers it, so results are kept (the search is the engine's costliest step).
    """
    if METER.exhausted:
        return []
    key = (reading, tuple(region), after, None if rank is None else rank.left)
    entry = _ENUM_CACHE.get(key)
    if entry is None:
        if len(_ENUM_CACHE) >= _ENUM_CACHE_MAX:
            _ENUM_CACHE.clear()
        entry = _ENUM_CACHE[key] = _search_utf8(region, reading, after, rank)
    got, steps = entry
    # Charged in full even when cached: the allowance must not depend on what
    # earlier calls happened to leave in the cache, or the output would.
    METER.spend(steps + len(got))
    return got


_SearchNode = tuple[tuple[int, int, int], int]
_Fills = tuple[tuple[int, ...], ...]


def _search_utf8(
    region: list[int], reading: Reading, after: int, rank: _Ranker | None = None
) -> tuple[list[bytes], int]:
    """The options for one region, and the search steps it took.

    Three passes over the slots instead of a depth-first walk: the parse states
    each slot can be reached in, then how many whole readings each state still
    leads to, then the readings themselves along live states only. A walk spends
    most of its time in fills that die a few slots later, and cannot know it has
    too many options before it has built them; here both cost one pass.

    Past :data:`_MAX_REGION_CANDIDATES` readings (or :data:`_MAX_UNKNOWNS_PER_REGION`
    markers) the region is given up, unless ``rank`` can order them: then only the
    best :data:`_REGION_BEAM` are built.
    """
    n = len(region)
    pair_check = reading.double_byte and reading.policy != "windows"
    steps = 0
    # A node is (UTF-8 state, byte a marker just stood for, or -1). The reader
    # only failed on that byte if it cannot pair with the next marker's fill, so
    # the byte is kept only where the next slot is a marker too.
    layer: set[_SearchNode] = {((0, 0, 0), -1)}
    edges: list[list[tuple[_SearchNode, _SearchNode, _Fills]]] = []
    for i in range(n):
        s = region[i]
        here: list[tuple[_SearchNode, _SearchNode, _Fills]] = []
        if s >= 0:
            for node in layer:
                st = _utf8_step(node[0], s)
                if st is not None:
                    here.append((node, (st, -1), ((s,),)))
            steps += len(layer)
        else:
            nxt = region[i + 1] if i + 1 < n else after
            keep = pair_check and nxt == UNKNOWN
            for node in layer:
                state, prev_fill = node
                paired = _pairs_after(reading, prev_fill) if prev_fill >= 0 else None
                for to, fills in _fill_groups(reading, state, nxt, keep):
                    steps += len(fills)
                    if paired:
                        fills = tuple(f for f in fills if f[0] not in paired)
                        if not fills:
                            continue
                    here.append((node, to, fills))
        if steps > _SEARCH_BUDGET:
            return [], steps  # too many ways to fill: leave the markers alone
        edges.append(here)
        layer = {to for _frm, to, _fills in here}
        if not layer:
            return [], steps
    # Readings still reachable from each node, counted from the end back.
    ahead: dict[_SearchNode, int] = {node: 1 for node in layer if node[0][0] == 0}
    counts: list[dict[_SearchNode, int]] = [ahead]
    for here in reversed(edges):
        back: dict[_SearchNode, int] = {}
        for frm, to, fills in here:
            k = ahead.get(to)
            if k:
                back[frm] = back.get(frm, 0) + k * len(fills)
        ahead = back
        counts.append(ahead)
    counts.reverse()
    total = sum(ahead.values())
    steps += sum(len(here) for here in edges)
    if total == 0:
        return [], steps
    # More markers than an unranked region may hold: only the model's filtered
    # choices are worth offering (a full list of five lost bytes is mostly symbols
    # and foreign letters that happen to fit).
    if total > _MAX_REGION_CANDIDATES or region.count(UNKNOWN) > _MAX_UNKNOWNS_PER_REGION:
        if rank is None:
            return [], steps
        return _beam_readings(edges, counts, rank, steps)
    prefixes: dict[_SearchNode, list[bytes]] = {((0, 0, 0), -1): [b""]}
    for i, here in enumerate(edges):
        live = counts[i + 1]
        grown: dict[_SearchNode, list[bytes]] = {}
        for frm, to, fills in here:
            if to in live and frm in prefixes:
                heads = prefixes[frm]
                out = grown.setdefault(to, [])
                for fill in fills:
                    tail = bytes(fill)
                    out.extend(p + tail for p in heads)
        prefixes = grown
    return [r for node, got in prefixes.items() if node[0][0] == 0 for r in got], steps


class _Ranker:
    """Scores readings of a region by the model, after the text on its left, for a
    region with too many readings to list (see :data:`_RANKED`).

    ``only``, if given, is what the characters a lost stretch completes must match.
    """

    def __init__(self, model: CharModel, left: str, only: re.Pattern[str] | None = None) -> None:
        self.model = model
        self.left = ("\n\n" + left)[-2:]
        self.only = only

    def likely_fills(self, tail: bytes, fills: _Fills) -> list[tuple[tuple[int, ...], str]]:
        """The fills that complete the character begun by ``tail``, each with the
        characters it completes, for the :data:`_BEAM_CHARS` most frequent such
        characters; a fill that completes nothing comes with "".

        Keyed by the fills' identity: they come from the shared group cache, and
        hashing a tuple of a thousand fills per lookup would cost more than the
        scoring it saves.
        """
        key = (tail, id(fills), self.only)
        held = _LIKELY.get(key)
        if held is not None and held[0] is fills:
            return held[1]
        done: dict[str, list[tuple[int, ...]]] = {}
        got: list[tuple[tuple[int, ...], str]] = []
        only = self.only
        for fill in fills:
            raw = tail + bytes(fill)
            cut = _complete_prefix(raw)
            if cut == 0:
                got.append((fill, ""))
                continue
            chars = raw[:cut].decode("utf-8")
            if only is None or only.fullmatch(chars):
                done.setdefault(chars, []).append(fill)
        unigram = self.model.unigram
        best = sorted(done, key=lambda chars: -sum(unigram(c) for c in chars))
        for chars in best[:_BEAM_CHARS]:
            got.extend((fill, chars) for fill in done[chars])
        if len(_LIKELY) >= _LIKELY_MAX:
            _LIKELY.clear()
        _LIKELY[key] = (fills, got)
        return got


_LIKELY: dict[
    tuple[bytes, int, re.Pattern[str] | None], tuple[_Fills, list[tuple[tuple[int, ...], str]]]
] = {}
_LIKELY_MAX = 512
_REGION_BEAM = 64  # readings of an over-large region kept for the island's beam
_BEAM_BUDGET = 50_000  # fills an over-large region may weigh
_BEAM_CHARS = 16  # most frequent characters a lost stretch may complete, per prefix
# The readers whose regions are ranked by the model when they have too many
# readings to list: (fewest markers, most markers, what a fill must complete).
# One marker never has too many readings, and ranking ties the cached search to
# the left context, so only these regions are ranked:
# * Windows Shift-JIS, two markers side by side (縺・・ for いの, each hiding a
#   byte pair: hundreds of thousands of readings);
# * EUC-KR with U+FFFD, up to five: UTF-8 Hangul read that way loses whole
#   syllables (대한 loses all six bytes). Their fills must be Hangul: for Chinese
#   read as EUC-KR they would be symbols and other scripts that happen to score.
# Windows GBK, Big5 and EUC-KR leave far more byte pairs unmapped; on evaldev their
# ranked regions ran out of budget 3 times in 4 and changed no result exactly,
# while doubling the time of those kinds.
_RANKED: dict[Reading, tuple[int, int, re.Pattern[str] | None]] = {
    Reading("sjis", "cp932", "windows"): (2, 2, None),
    Reading("euckr", "cp949", "replace"): (2, 5, re.compile("[\uac00-\ud7a3]+")),
}


def _lost_limit(reading: Reading) -> int:
    """The most markers one region of this reader may hold."""
    return max(_MAX_UNKNOWNS_PER_REGION, _RANKED.get(reading, (0, 0, None))[1])


def _complete_prefix(raw: bytes) -> int:
    """Length of the longest prefix of ``raw`` made of whole UTF-8 characters."""
    end = len(raw)
    back = 0
    while back < 4 and end - back > 0 and 0x80 <= raw[end - back - 1] <= 0xBF:
        back += 1
    if back == end:
        return 0
    lead = raw[end - back - 1]
    need = _utf8_len(lead)
    if need == back + 1:
        return end
    return end - back - 1


# A partial reading in the beam: its score, its bytes, how many of them are scored
# (whole characters), and the last two characters (the model's context).
_Partial = tuple[float, bytes, int, str]


def _beam_readings(
    edges: list[list[tuple[_SearchNode, _SearchNode, _Fills]]],
    counts: list[dict[_SearchNode, int]],
    rank: _Ranker,
    steps: int,
) -> tuple[list[bytes], int]:
    """The best :data:`_REGION_BEAM` readings along the live parse states.

    Each fill that completes a character is limited to the most frequent
    characters it can complete, and each parse state keeps its best partial
    readings by the model; the island's own beam then chooses among the survivors
    with the context on both sides.
    """
    model = rank.model
    budget = steps + _BEAM_BUDGET
    partials: dict[_SearchNode, list[_Partial]] = {((0, 0, 0), -1): [(0.0, b"", 0, rank.left)]}
    for i, here in enumerate(edges):
        live = counts[i + 1]
        grown: dict[_SearchNode, list[_Partial]] = {}
        for frm, to, fills in here:
            heads = partials.get(frm)
            if not heads or to not in live:
                continue
            out = grown.setdefault(to, [])
            tails: set[bytes] = set()
            for score, raw, scored, last in heads:
                tail = raw[scored:]
                if tail not in tails:
                    # Ranking the fills after a new partial character reads them all;
                    # charged per call, cached or not, so the result never depends
                    # on what earlier calls left in the cache.
                    tails.add(tail)
                    steps += len(fills)
                for fill, chars in rank.likely_fills(tail, fills):
                    steps += 1
                    if chars:
                        ctx = last + chars
                        out.append(
                            (
                                score + model.chain3(last[0], last[1], chars),
                                raw + bytes(fill),
                                scored + len(chars.encode("utf-8")),
                                ctx[-2:],
                            )
                        )
                    else:
                        out.append((score, raw + bytes(fill), scored, last))
                if steps > budget:
                    return [], steps  # still too many ways: leave the markers alone
        for node, got in grown.items():
            # Inside a character the score has not seen it yet, so a state there
            # keeps every character the stretch may complete, for each partial.
            cap = _REGION_BEAM if node[0][0] == 0 else _REGION_BEAM * _BEAM_CHARS
            if len(got) > cap:
                got.sort(key=lambda p: -p[0])
                del got[cap:]
        partials = grown
    finals = sorted(
        (p for node, got in partials.items() if node[0][0] == 0 for p in got),
        key=lambda p: -p[0],
    )
    return [p[1] for p in finals[:_REGION_BEAM]], steps


_GROUP_CACHE: dict[
    tuple[Reading, tuple[int, int, int], int, bool], list[tuple[_SearchNode, _Fills]]
] = {}


def _fill_groups(
    reading: Reading, state: tuple[int, int, int], nxt: int, keep: bool
) -> list[tuple[_SearchNode, _Fills]]:
    """:func:`_utf8_fills` grouped by the node each fill leads to."""
    key = (reading, state, nxt, keep)
    got = _GROUP_CACHE.get(key)
    if got is None:
        grouped: dict[_SearchNode, list[tuple[int, ...]]] = {}
        for fill, st in _utf8_fills_cached(reading, state, nxt):
            to = (st, fill[0] if keep and len(fill) == 1 else -1)
            grouped.setdefault(to, []).append(fill)
        got = _GROUP_CACHE[key] = [(to, tuple(fills)) for to, fills in grouped.items()]
    return got


_PAIRS_AFTER: dict[tuple[Reading, int], frozenset[int]] = {}


def _pairs_after(reading: Reading, lead: int) -> frozenset[int]:
    """The bytes that make a valid pair after ``lead`` for this reader."""
    key = (reading, lead)
    got = _PAIRS_AFTER.get(key)
    if got is None:
        got = _PAIRS_AFTER[key] = frozenset(b for b in range(256) if reading.valid_pair(lead, b))
    return got


# ------------------------------------------------------------------- the walkers


_Tables = tuple[
    Damage,
    tuple[list[bool], frozenset[int], frozenset[int]],
    tuple[list[str | None], dict[int, str]],
    int,
]
_WALKER_TABLES: dict[int, _Tables] = {}


def _walker_tables(damage: Damage) -> _Tables:
    """The source's tables, its decoded characters and the reader's marker limit.

    Looked up by identity, not by hashing the damage (three nested dataclasses):
    a walker is made for every run of every window, most of them a few bytes long.
    The entry holds the damage itself, so its id cannot be reused while cached.
    """
    got = _WALKER_TABLES.get(id(damage))
    if got is None or got[0] is not damage:
        source = damage.source
        chars = _source_chars(source) if not source.is_utf8 else ([], {})
        got = (damage, _source_tables(source), chars, _lost_limit(damage.reading))
        _WALKER_TABLES[id(damage)] = got
    return got


# A lost stretch with this few readings is as good as known: cp1252 fails on
# only five bytes, so a Japanese kana read by it, which loses its middle byte
# 0x81, has at most five readings, even though nearly every one is lost.
_FEW_READINGS = 8


def _vague(parts: list[str | Region]) -> int:
    """How many of an island's parts are lost stretches with many readings."""
    return sum(1 for p in parts if isinstance(p, Region) and len(p.candidates) > _FEW_READINGS)


class _Walker:
    """Parses one run of slots as the source encoding and yields islands."""

    def __init__(self, damage: Damage, slots: list[int], owner: list[int], text_end: int):
        self.damage = damage
        self.source: Source = damage.source
        self.reading = damage.reading
        self.slots = slots
        self.owner = owner
        self.n = len(slots)
        # Where a character of the reader starts: its owner differs from the slot before.
        self.starts = [True, *map(operator.ne, owner[1:], owner)]
        # Byte that follows the run: -2 for end of text (a lone lead byte fails), -1 unknown.
        self.after = -2 if (owner[-1] + 1 >= text_end) else -1
        _damage, self._pair_tables, self._chars, self.lost_limit = _walker_tables(damage)
        self._parts: list[str | Region] = []  # what the island read before the slot in hand

    def islands(self) -> Iterator[Island]:
        n = self.n
        isl = 0
        k = 0
        # The ranker reads the island so far from _parts, so it is the same list.
        parts: list[str | Region] = []
        ends: list[int] = []  # the slot after each part
        self._parts = parts
        aligned_k, aligned_parts = 0, 0
        # Bound once: this loop runs once per byte of every window searched.
        char_at = self._utf8_char if self.source.is_utf8 else self._dbcs_char
        starts = self.starts
        while k < n:
            step = char_at(k)
            if step is not None:
                piece, k = step
                parts.append(piece)
                ends.append(k)
                if k == n or starts[k]:
                    aligned_k, aligned_parts = k, len(parts)
                continue
            # Parse failed at k: emit what ended on a shared boundary, restart after it.
            if aligned_k > isl:
                yield from self._emit(isl, aligned_k, parts[:aligned_parts], ends)
            restart = max(isl, aligned_k) + 1
            while restart < n and not self.starts[restart]:
                restart += 1
            isl = k = aligned_k = restart
            parts, ends, aligned_parts = [], [], 0
            self._parts = parts
        if aligned_k > isl:
            yield from self._emit(isl, aligned_k, parts[:aligned_parts], ends)

    def _emit(self, a: int, b: int, parts: list[str | Region], ends: list[int]) -> Iterator[Island]:
        regions = sum(map(isinstance, parts, repeat(Region)))  # map: C speed
        if not regions and "".join(cast(list[str], parts)).isascii():
            return  # ASCII alone: nothing in it was misread
        if regions > 2 and _vague(parts) * 4 > len(parts) * 3:
            return  # more lost than kept: too little evidence to rebuild from
        if regions and max(self.slots[a:b]) < 0x80:
            # Markers among ASCII (?--, ?"): the reader showed nothing of what it
            # misread, so any reading of the lost bytes would be the model's guess.
            return

        end = self.owner[b - 1] + 1
        n, starts, owner = self.n, self.starts, self.owner
        bounds = tuple(owner[k - 1] + 1 if k == n or starts[k] else -1 for k in ends[: len(parts)])
        yield Island(owner[a], end, parts, regions > 0, bounds)

    # _utf8_char and _dbcs_char: one character (or one region) starting at slot k,
    # as (piece, next k), or None.
    def _utf8_char(self, k: int) -> tuple[str | Region, int] | None:
        slots = self.slots
        b = slots[k]
        if 0 <= b < 0x80:
            return chr(b), k + 1
        if b >= 0:
            n = _utf8_len(b)
            if n == 0 or k + n > self.n:
                if n and UNKNOWN in slots[k + 1 : k + n]:
                    return self._utf8_region(k)
                return None
            seq = slots[k : k + n]
            if UNKNOWN in seq:
                return self._utf8_region(k)
            ch = _whole_utf8(seq)
            return None if ch is None else (ch, k + n)
        return self._utf8_region(k)

    def _ranker(self, only: re.Pattern[str] | None) -> _Ranker:
        """A model ranking for this region's readings, after the characters the
        island has read so far (none if a lost stretch comes right before)."""
        from textfix.score import get_model

        left = ""
        for part in reversed(self._parts):
            if not isinstance(part, str):
                break
            left = part + left
            if len(left) >= 2:
                break
        return _Ranker(get_model(), left, only)

    def _utf8_region(self, k: int) -> tuple[Region, int] | None:
        slots = self.slots
        if slots[k] >= 0 and self.reading.policy != "windows":
            # A known lead byte fixes the character's length; one marker is one byte.
            end = k + _utf8_len(slots[k])
            if end > self.n:
                return None
            return self._utf8_options(k, end)
        end = k + 1
        seen_unknown = slots[k] == UNKNOWN
        limit = min(self.n, k + _MAX_REGION_SLOTS + 1)
        while end < limit:
            s = slots[end]
            if s == UNKNOWN:
                # Two known continuation bytes after a lost byte close a 3-byte
                # character; a further lost byte starts a new region.
                if seen_unknown and _is_cont(slots[end - 1]) and _is_cont(slots[end - 2]):
                    break
                seen_unknown = True
            elif not 0x80 <= s <= 0xBF:
                break
            end += 1
        return self._utf8_options(k, end)

    def _utf8_options(self, k: int, end: int) -> tuple[Region, int] | None:
        slots = self.slots
        if end - k > _MAX_REGION_SLOTS or slots[k:end].count(UNKNOWN) > self.lost_limit:
            return None
        after = slots[end] if end < self.n else self.after
        if 0 <= after and _utf8_len(after) == 0:
            # The parse cannot go on into that byte, so the damage ends here and the
            # byte after it was never seen by the same decoder.
            after = -1
        elif 0 <= after and self.reading.policy != "windows" and _may_end_here(slots, end):
            # The damaged text may have ended with the region, which may then end in
            # a lone lead byte, as at the end of the text (鑻?雄: 英 cut after
            # E8 8B B1, then clean text). A Windows marker may already stand for a
            # byte pair, and lone leads there only add readings.
            after = -2
        region = slots[k:end]
        rank = None
        ranked = _RANKED.get(self.reading)
        if ranked is not None and ranked[0] <= region.count(UNKNOWN) <= ranked[1]:
            rank = self._ranker(ranked[2])
        options = _enumerate_utf8(region, self.reading, after, rank)
        if not options or len(options) > _MAX_REGION_CANDIDATES:
            return None
        cands = sorted({o.decode("utf-8") for o in options})
        return Region(cands), end

    def _dbcs_char(self, k: int) -> tuple[str | Region, int] | None:
        slots = self.slots
        b = slots[k]
        if b == UNKNOWN:
            return self._dbcs_region(k, None)
        single_chars, pair_chars = self._chars
        ch = single_chars[b]
        if ch is not None:
            return ch, k + 1
        if b not in self._pair_tables[2] or k + 1 >= self.n:
            return None
        t = slots[k + 1]
        if t == UNKNOWN:
            return self._dbcs_region(k, b)
        ch = pair_chars.get(b << 8 | t)
        if ch is not None:
            return ch, k + 2
        return None

    def _dbcs_region(self, k: int, lead: int | None) -> tuple[Region, int] | None:
        """A lost byte in a double-byte source: a lost trail, or a lost lead plus its trail."""
        singles, pairs, leads = self._pair_tables
        slots = self.slots
        reading = self.reading
        cands: set[str] = set()
        if lead is not None:
            after = slots[k + 2] if k + 2 < self.n else self.after
            for fill in marker_fills(reading, after):
                if len(fill) == 1 and (lead << 8 | fill[0]) in pairs:
                    cands.add(bytes([lead, fill[0]]).decode(self.source.codec))
            return (Region(sorted(cands)), k + 2) if cands else None
        if k + 1 >= self.n:
            return None
        t = slots[k + 1]
        if t == UNKNOWN:
            return self._cut_pair(k) if self.damage.cut else self._lost_pair(k)
        # In a cut stream the lead byte was lost to the cut, not to a bad pair, so
        # any lead that makes a valid character with the next byte qualifies.
        fills = [(u,) for u in leads] if self.damage.cut else marker_fills(reading, t)
        for fill in fills:
            u = fill[0]
            if len(fill) == 1 and u in leads and (u << 8 | t) in pairs:
                cands.add(bytes([u, t]).decode(self.source.codec))
        return (Region(sorted(cands)), k + 2) if cands else None

    def _lost_pair(self, k: int) -> tuple[Region, int] | None:
        """Both bytes of one character lost to the reader (名��的 for 名片的).

        Each lost byte's value is bound by the byte after it, so the pair is tried
        where that byte is known, or where it is the lost lead of the next
        character and that character's trail is known (熱��C for 熱茶。): then
        both characters are read together, as one region. A lost byte before the
        pair was chosen without knowing its lead, so the pair only follows a known
        byte.
        """
        reading = self.reading
        slots = self.slots
        if reading.policy == "windows" or (k > 0 and slots[k - 1] == UNKNOWN):
            return None
        after = slots[k + 2] if k + 2 < self.n else self.after
        if after != UNKNOWN:
            cands = _lost_before(self.source, reading, after)
            return (Region(list(cands)), k + 2) if cands else None
        if k + 3 >= self.n or slots[k + 3] == UNKNOWN:
            return None
        cands = _lost_two(self.source, reading, slots[k + 3])
        return (Region(list(cands)), k + 4) if cands else None

    def _cut_pair(self, k: int) -> tuple[Region, int] | None:
        """Both bytes of the cut character lost: the lead to the cut, the trail
        because it could not start a character in the next piece."""
        after = self.slots[k + 2] if k + 2 < self.n else self.after
        trails = {f[0] for f in marker_fills(self.reading, after) if len(f) == 1}
        # With no byte left to go on, only frequent characters are worth proposing.
        key = (self.source, frozenset(trails))
        cands = _CUT_PAIR_CACHE.get(key)
        if cands is None:
            cands = []
            for ch, pair in _frequent_pairs(self.source):
                if pair & 0xFF in trails:
                    cands.append(ch)
                    if len(cands) >= _CUT_PAIR_CANDIDATES:
                        break
            _CUT_PAIR_CACHE[key] = cands
        return (Region(list(cands), blind=True), k + 2) if cands else None


# Most frequent characters offered for a character with both bytes lost. 300 left
# out rarer characters of classical text (醿 in 酴醿); 600 gained one evaldev case
# and changed no other output.
_CUT_PAIR_CANDIDATES = 600
_LOST_TWO_CANDIDATES = 2000


@cache
def _lost_pairs(source: Source, reading: Reading) -> list[tuple[str, int]]:
    """Characters of ``source`` whose lead the reader cannot pair with their trail,
    with their two bytes, most frequent first."""
    return [(ch, p) for ch, p in _frequent_pairs(source) if _fails_alone(reading, p >> 8, p & 0xFF)]


@cache
def _lost_before(source: Source, reading: Reading, after: int) -> list[str]:
    """Characters lost whole before the known byte ``after``, most frequent first."""
    return [
        ch for ch, pair in _lost_pairs(source, reading) if _fails_alone(reading, pair & 0xFF, after)
    ][:_CUT_PAIR_CANDIDATES]


@cache
def _lost_two(source: Source, reading: Reading, trail: int) -> list[str]:
    """Two characters, the first lost whole and the second's lead lost before the
    known ``trail``, most frequent pairs first."""
    from textfix.score import get_model

    unigram = get_model().unigram
    _singles, pairs, leads = _source_tables(source)
    seconds = [
        (ch, u)
        for u in sorted(leads)
        if (u << 8 | trail) in pairs and _fails_alone(reading, u, trail)
        # Only a character that encodes back to these bytes (see _frequent_pairs).
        for ch in [bytes([u, trail]).decode(source.codec)]
        if ch.encode(source.codec) == bytes([u, trail])
    ]
    firsts = _lost_pairs(source, reading)[: 4 * _CUT_PAIR_CANDIDATES]
    # The best pairs by unigram sum, in the order a stable sort of every pair
    # (second by second, first by first) would give, without building all of them
    # (up to 300,000 pairs: 0.2 s for each trail byte, paid on first use): every
    # second ranks the firsts the same way, so each yields its pairs best first
    # and a merge takes the top.
    ranked = sorted(
        ((unigram(c1), i, c1, p & 0xFF) for i, (c1, p) in enumerate(firsts)),
        key=lambda item: (-item[0], item[1]),
    )
    fails: dict[tuple[int, int], bool] = {}

    def pairs_with(si: int, c2: str, u: int) -> Iterator[tuple[float, int, int, str]]:
        u2 = unigram(c2)
        for u1, fi, c1, t in ranked:
            ok = fails.get((t, u))
            if ok is None:
                ok = fails[t, u] = _fails_alone(reading, t, u)
            if ok:
                yield -(u1 + u2), si, fi, c1 + c2

    merged = heapq.merge(*(pairs_with(si, c2, u) for si, (c2, u) in enumerate(seconds)))
    return [pair for *_key, pair in islice(merged, _LOST_TWO_CANDIDATES)]


_CUT_PAIR_CACHE: dict[tuple[Source, frozenset[int]], list[str]] = {}
_FREQUENT: dict[Source, list[tuple[str, int]]] = {}


def _frequent_pairs(source: Source) -> list[tuple[str, int]]:
    """Double-byte characters of ``source`` with their two bytes, most frequent first.

    Only pairs the character encodes back to: cp932 reads 詹 from FB A5 and from
    EE 89 but writes EE 89, and the inverse check garbles what the encoder writes.
    """
    got = _FREQUENT.get(source)
    if got is None:
        from textfix.score import get_model

        model = get_model()
        _singles, pairs, _leads = _source_tables(source)
        chars = [(bytes([p >> 8, p & 0xFF]).decode(source.codec), p) for p in pairs]
        chars = [(ch, p) for ch, p in chars if ch.encode(source.codec) == bytes([p >> 8, p & 0xFF])]
        chars.sort(key=lambda item: -model.unigram(item[0]))
        got = _FREQUENT[source] = chars
    return got


_SOURCE_TABLES: dict[Source, tuple[list[bool], frozenset[int], frozenset[int]]] = {}


def _source_tables(source: Source) -> tuple[list[bool], frozenset[int], frozenset[int]]:
    got = _SOURCE_TABLES.get(source)
    if got is None:
        from textfix.codecs import _lead_range

        leads = _lead_range(source.codec) if not source.is_utf8 else frozenset()
        probe = Reading(source.label, source.codec, "strict", leads)
        singles = [probe.valid_single(b) for b in range(256)]
        pairs = frozenset(
            (b1 << 8 | b2) for b1 in leads for b2 in range(0x40, 0x100) if probe.valid_pair(b1, b2)
        )
        got = _SOURCE_TABLES[source] = (singles, pairs, leads)
    return got


@cache
def _source_chars(source: Source) -> tuple[list[str | None], dict[int, str]]:
    """What each valid single byte and byte pair of a double-byte ``source`` decodes to.

    The walker parses every byte of every window it is handed; a lookup here is
    several times cheaper than a decode call per character.
    """
    singles, pairs, _leads = _source_tables(source)
    single_chars = [bytes([b]).decode(source.codec) if singles[b] else None for b in range(256)]
    order = sorted(pairs)
    # Each pair decodes to one character on its own, so all of them decode in one
    # call, one character each.
    joined = b"".join(bytes([pair >> 8, pair & 0xFF]) for pair in order).decode(source.codec)
    return single_chars, dict(zip(order, joined, strict=True))


# ------------------------------------------------------------------ choosing fills


_Node = tuple[str, "_Node"] | None  # a beam's back-pointer chain: (piece, parent)


def _choose(
    parts: list[str | Region],
    left: str,
    right: str,
    model: CharModel,
    keep_margin: float,
    foreign: frozenset[str] = frozenset(),
    opened: str = "",
) -> tuple[str, str, int, tuple[tuple[int, tuple[str, ...]], ...]]:
    """Pick the best reading of an island.

    ``left`` and ``right`` are up to two characters of context on each side;
    ``opened`` is the line's text before the island, for brackets left open.
    Returns the best text, the best text with doubtful fills masked as U+FFFD, the
    number masked, and the fills' alternatives (see :attr:`Repair.choices`).
    Regions are scored jointly (a small beam), because neighbouring lost bytes
    interact through the model.
    """
    if not any(isinstance(part, Region) for part in parts):
        # Nothing to choose: scoring it would only load the trigram table, which a
        # lossless island (most of them, and every one on clean text) never needs.
        whole = "".join(part for part in parts if isinstance(part, str))
        return whole, whole, 0, ()
    # Each beam keeps a back-pointer chain (piece, parent) instead of a copied list,
    # so an island with thousands of regions stays linear; ``last`` is its final
    # two characters, the context of the next piece.
    beams: list[tuple[float, str, _Node]] = [(0.0, left, None)]
    ranked_at: dict[int, list[str]] = {}
    closer_at: dict[int, str] = {}
    final = len(parts) - 1
    for idx, part in enumerate(parts):
        if isinstance(part, str):
            beams = [
                (s + _extend(model, last, part), (last + part)[-2:], (part, node))
                for s, last, node in beams
            ]
            continue
        closer = ""
        # Only the last thing on a line: inside a line the model reads the text
        # after the lost byte (「来ない、大丈夫 must keep its 、).
        if idx == final and right[:1] in "\r\n":
            closer = closer_at[idx] = _closer_left_open(parts, ranked_at, opened)
        ranked = _prerank(model, parts, idx, left, right, foreign, closer, ranked_at.get(idx - 1))
        ranked_at[idx] = ranked
        priors = [
            (c, _LINE_BREAK_PRIOR * _breaks(c) + _foreign_penalty(c, foreign) + _pairs(c, closer))
            for c in ranked[:_BEAM_FILLS]
        ]
        # Paths that end in the same two characters score the same from here on
        # (the model looks back two), so only the best of them is kept.
        grown: dict[str, tuple[float, str, _Node]] = {}
        for s, last, node in beams:
            for cand, prior in priors:
                score = s + prior + _extend(model, last, cand)
                ctx = (last + cand)[-2:]
                held = grown.get(ctx)
                if held is None or score > held[0]:
                    grown[ctx] = (score, ctx, (cand, node))
        beams = sorted(grown.values(), key=lambda t: -t[0])[:_BEAM]
    best = max(beams, key=lambda t: t[0] + _extend(model, t[1], right))
    chosen: list[str] = []
    walk = best[2]
    while walk is not None:
        chosen.append(walk[0])
        walk = walk[1]
    chosen.reverse()
    masked = list(chosen)
    n_masked = 0
    choices: list[tuple[int, tuple[str, ...]]] = []
    offset = 0
    for idx, piece in enumerate(chosen):
        options = ranked_at.get(idx)
        if options is not None and len(options) > 1:
            same = [c for c in options if len(c) == len(piece) and c != piece]
            if same:
                choices.append((offset, (piece, *same[: _MAX_CHOICES - 1])))
        offset += len(piece)
    befores = _contexts_before(chosen, left)
    afters = _contexts_after(chosen, right)
    for idx, part in enumerate(parts):
        if not isinstance(part, Region) or len(part.candidates) < 2:
            continue
        before, after = befores[idx], afters[idx]
        scores = sorted(
            (
                (
                    _fill_score(model, before, c, foreign)
                    + _pairs(c, closer_at.get(idx, ""))
                    + _extend(model, (before + c)[-2:], after),
                    c,
                )
                for c in ranked_at[idx]
            ),
            reverse=True,
        )
        needed = max(keep_margin, BLIND_MARGIN) if part.blind else keep_margin
        if len(scores) > 1 and scores[0][0] - scores[1][0] < needed:
            top, runner = scores[0][1], scores[1][1]
            if len(top) == len(runner):
                masked[idx] = "".join(
                    a if a == b else "\ufffd" for a, b in zip(top, runner, strict=True)
                )
            else:
                masked[idx] = "\ufffd" * len(top)
            n_masked += masked[idx].count("\ufffd")
    return "".join(chosen), "".join(masked), n_masked, tuple(choices)


_MAX_CHOICES = 24
BLIND_MARGIN = 4.0


def _contexts_before(pieces: list[str], left: str) -> list[str]:
    """The two characters before each piece."""
    out = []
    ctx = left
    for piece in pieces:
        out.append(ctx)
        ctx = (ctx + piece)[-2:]
    return out


def _contexts_after(pieces: list[str], right: str) -> list[str]:
    """The two characters after each piece."""
    out = []
    ctx = right
    for piece in reversed(pieces):
        out.append(ctx)
        ctx = (piece + ctx)[:2]
    out.reverse()
    return out


def _prerank(
    model: CharModel,
    parts: list[str | Region],
    idx: int,
    left: str,
    right: str,
    foreign: frozenset[str] = frozenset(),
    closer: str = "",
    before_ranked: list[str] | None = None,
) -> list[str]:
    """The region's best candidates scored against its fixed neighbours.

    After another region (``before_ranked``: its ranking), each of that region's
    best few readings stands in for the text before, and the rankings are merged
    best first: unigrams alone would rank 長 above 全 after 注意安, and a beam of
    the most frequent fills would never see 安全.
    """
    region = parts[idx]
    assert isinstance(region, Region)
    before = parts[idx - 1] if idx > 0 else left
    after = parts[idx + 1] if idx + 1 < len(parts) else right
    nxt = after[:2] if isinstance(after, str) else ""
    if isinstance(before, str):
        return _rank(model, region, before[-2:], nxt, foreign, closer)
    if not before_ranked:
        return _rank(model, region, "", nxt, foreign, closer)
    rankings = [
        _rank(model, region, prev[-2:], nxt, foreign, closer)
        for prev in before_ranked[:_BEFORE_READINGS]
    ]
    merged: dict[str, None] = {}
    for row in zip_longest(*rankings):
        merged.update((c, None) for c in row if c is not None)
    return list(merged)[:_KEEP_PER_REGION]


_BEFORE_READINGS = 3


def _rank(
    model: CharModel,
    region: Region,
    prev: str,
    nxt: str,
    foreign: frozenset[str],
    closer: str,
) -> list[str]:
    """``region``'s best candidates between ``prev`` and ``nxt``."""

    def local(cand: str, tri: bool) -> float:
        extend = _extend if tri else _extend2
        if prev:
            score = extend(model, prev, cand)
        else:
            score = sum(model.unigram(c) for c in cand)
        if len(cand) == 1:  # most fills; the same priors as below, without the loops
            if cand in "\n\r":
                score += _LINE_BREAK_PRIOR
            if foreign and script_of(cand) in foreign:
                score += FOREIGN_PENALTY
        else:
            score += _LINE_BREAK_PRIOR * _breaks(cand) + _foreign_penalty(cand, foreign)
        score += _pairs(cand, closer)
        if tri and nxt:
            score += _extend(model, (prev + cand)[-2:], nxt)
        elif nxt:  # the bigram after the first next character is the same for every fill
            score += model.transition(cand[-1], nxt[0])
        return score

    METER.spend(len(region.candidates))
    # The same lost stretch between the same neighbours comes back under each
    # reader variant and overlapping window; its ranking depends on nothing else.
    key = (tuple(region.candidates), prev, nxt, foreign, closer)
    got = _PRERANK_CACHE.get(key)
    if got is not None:
        return got
    if len(_PRERANK_CACHE) >= _PRERANK_CACHE_MAX:
        _PRERANK_CACHE.clear()
    cands = region.candidates
    if len(cands) > _SHORTLIST:
        # The bigram is a third of the trigram's cost and rarely buries the winner
        # this deep; only the shortlist pays for the trigram.
        cands = sorted(cands, key=lambda c: local(c, False), reverse=True)[:_SHORTLIST]
    got = _PRERANK_CACHE[key] = sorted(cands, key=lambda c: local(c, True), reverse=True)[
        :_KEEP_PER_REGION
    ]
    return got


_SHORTLIST = 64
_PRERANK_CACHE: dict[tuple[tuple[str, ...], str, str, frozenset[str], str], list[str]] = {}
_PRERANK_CACHE_MAX = 4096


def _extend2(model: CharModel, context: str, text: str) -> float:
    """Bigram-only :func:`_extend`."""
    return model.chain(context[-1] if context else "\n", text)


# A lost byte rarely was a line break; without this prior the model, which has seen
# a line end after nearly every character, would join lines everywhere.
_LINE_BREAK_PRIOR = -6.0


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r")


# Paired punctuation. A lost byte inside a closing bracket (】 is E3 80 91, and a
# lone 0x91 at the end of a GBK read is lost) competes with the rest of the CJK
# punctuation block, and the model alone, which has seen a full stop end far more
# lines than 】, picks 。. Where a lost stretch ends its line and the line left a
# bracket open, the closer gets this many nats. On 40 UI words in 【】 read as
# GBK, 12 nats restored 1, 16 restored 29 and 20 all 40; on evaldev, 20 restored
# four more cases and changed no other output.
PAIR_BONUS = 20.0
BRACKET_REACH = 96
_PAIRED = dict(zip("【「『《〈（“‘〔［｛〖", "】」』》〉）”’〕］｝〗", strict=True))
_CLOSING = frozenset(_PAIRED.values())


def open_closer(text: str) -> str:
    """The closing mark of the innermost bracket ``text`` leaves open, or ""."""
    stack: list[str] = []
    for ch in text:
        if ch in _PAIRED:
            stack.append(_PAIRED[ch])
        elif ch in _CLOSING and stack and stack[-1] == ch:
            stack.pop()
    return stack[-1] if stack else ""


def _closer_left_open(
    parts: list[str | Region], ranked_at: dict[int, list[str]], opened: str
) -> str:
    """The closer of a bracket left open before an island's last part, or "".

    Earlier lost stretches are read as their best candidate; if one of them could
    have been the closer itself, nothing is known to be open.
    """
    before = opened + "".join(
        part if isinstance(part, str) else (ranked_at[j] or [""])[0]
        for j, part in enumerate(parts[:-1])
    )
    closer = open_closer(before[-BRACKET_REACH:])
    if closer and any(closer in c for got in ranked_at.values() for c in got[:_BEAM_FILLS]):
        return ""
    return closer


def _pairs(cand: str, closer: str) -> float:
    return PAIR_BONUS if closer and closer in cand else 0.0


def _fill_score(
    model: CharModel, prev: str, cand: str, foreign: frozenset[str] = frozenset()
) -> float:
    return (
        _extend(model, prev, cand)
        + _LINE_BREAK_PRIOR * _breaks(cand)
        + _foreign_penalty(cand, foreign)
    )


# A fill is a guess for bytes nobody saw. The model pools Chinese, Japanese and
# Korean, so on its own it will happily fill a lost byte in a Chinese sentence with
# a kana (玉?蚝� -> 玉を含). Scripts the clean text around the island does not use
# pay this much per character.
FOREIGN_PENALTY = -8.0
_CONTEXT_REACH = 24
_CONTEXT_MIN_CJK = 4


@lru_cache(maxsize=65536)
def script_of(ch: str) -> str:
    """The script family of a character, as far as fills are concerned ("" for
    punctuation, digits, ASCII and symbols)."""
    cp = ord(ch)
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF:
        return "kana"
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return "hangul"
    if 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF:
        return "han"
    if 0xC0 <= cp <= 0x2AF or 0x370 <= cp <= 0x52F or 0x600 <= cp <= 0x6FF:
        return "other_letters"
    return ""


def _foreign_penalty(cand: str, foreign: frozenset[str]) -> float:
    if not foreign:
        return 0.0
    return FOREIGN_PENALTY * sum(script_of(c) in foreign for c in cand)


def foreign_scripts(context: str, min_cjk: int = _CONTEXT_MIN_CJK) -> frozenset[str]:
    """Scripts a fill should not bring into ``context`` (the clean text around an island).

    Only a context with enough CJK text (``min_cjk`` characters) to know its
    language says anything.

    >>> sorted(foreign_scripts("放一钩、玉水。归去来"))
    ['hangul', 'kana', 'other_letters']
    >>> sorted(foreign_scripts("これは日本語です"))
    ['hangul', 'other_letters']
    >>> foreign_scripts("ab")
    frozenset()
    """
    seen = {script_of(c) for c in context}
    cjk = sum(script_of(c) in ("han", "kana", "hangul") for c in context)
    if cjk < min_cjk:
        return frozenset()
    return frozenset({"kana", "hangul", "other_letters"} - seen)


def _extend(model: CharModel, context: str, text: str) -> float:
    """Log-probability of ``text`` after ``context`` (its last two characters count)."""
    a = context[-2] if len(context) > 1 else ""
    b = context[-1] if context else "\n"
    return model.chain3(a, b, text)


# ---------------------------------------------------------------------- the API


def propose(
    text: str,
    damage: Damage,
    model: CharModel,
    lo: int = 0,
    hi: int | None = None,
    keep_margin: float = 0.7,
    floor: float = -math.inf,
    shared: dict[RunKey, list[SlotRun]] | None = None,
) -> list[Repair]:
    """Every island in ``text[lo:hi]`` that undoes ``damage`` and passes the inverse check.

    ``gain`` is the model's log-probability of the repair minus that of the garbled
    span, both between the same neighbours; the caller decides what gain suffices.
    A caller that will drop every repair below ``floor`` may say so: such islands
    are then left before the inverse check (on clean text, nearly all of them).
    ``shared``, kept by the caller for one text, lets damages read by the same
    reader share its byte runs.
    """
    hi = len(text) if hi is None else hi
    out: list[Repair] = []
    for window, as_given in _variants(text, lo, hi, damage):
        runs = _runs(window, lo, damage, shared if as_given else None)
        for slots, owner in runs:
            if METER.exhausted:
                return out
            if max(slots) < 0x80 and UNKNOWN not in slots:
                continue
            walker = _Walker(damage, slots, owner, len(text))
            for island in walker.islands():
                repair = _judge(text, island, damage, model, keep_margin, floor)
                if repair is not None:
                    out.append(repair)
    return out


# A cut stream's lost bytes show as U+FFFD, or as "?" once saved in a legacy encoding.
CUT_MARKERS = "\ufffd?"
# Nats a cut-stream reading pays per fullwidth character it assumes was folded to
# ASCII later. A text that writes ASCII commas, cut a few characters before one
# (变化里,然后), has two readings: the comma as written, or a fullwidth ，
# folded by a normalizer; the model alone prefers ， after Chinese text. At 6 nats
# 20 of 25 such sentences kept their comma, at 10 all 25; the seed's folded ！,
# which no unfolded reading explains, are still realigned at 20.
_FOLD_COST = 10.0
_FOLDABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


SlotRun = tuple[list[int], list[int]]
RunKey = tuple[Reading | str, str, bool, int, int]
# What makes the error policies of one codec read a window differently: their
# markers, and the euro sign a Windows GBK decoder makes of 0x80.
_POLICY_CHARS = "?\ufffd\u30fb\u20ac"


def _runs(
    window: str, lo: int, damage: Damage, shared: dict[RunKey, list[SlotRun]] | None
) -> list[SlotRun]:
    """:func:`_slots` of ``window`` (which starts at ``lo``) under the damage's reader.

    They depend on the reader and on whether a UTF-8 source picks among a
    character's byte sequences, not on the source itself: six sources are tried
    under Latin-1, three under GBK. In a window with no marker of any policy they
    depend only on the codec, so UTF-8 read by GBK with U+FFFD, with ``?`` and by
    Windows shares them too. Nothing changes a run once it is made.
    """
    extra = CUT_MARKERS if damage.cut else ""
    utf8 = damage.source.is_utf8
    reading = damage.reading
    if shared is None:
        return list(_slots(window, lo, reading, extra, utf8))
    picks = utf8 and reading.double_byte and bool(byte_alternatives(reading))
    hi = lo + len(window)
    if any(c in window for c in _POLICY_CHARS):
        key: RunKey = (reading, extra, picks, lo, hi)
    else:
        key = (reading.codec, "", picks, lo, hi)
    got = shared.get(key)
    if got is None:
        got = shared[key] = list(_slots(window, lo, reading, extra, utf8))
    return got


def _variants(text: str, lo: int, hi: int, damage: Damage) -> Iterator[tuple[str, bool]]:
    """``text[lo:hi]`` as given, and for a cut stream also with the ASCII punctuation
    right after each marker turned back into the fullwidth form a later normalizer
    folded, each with whether it is the text as given.

    Only the window is yielded, never a changed copy of the whole text: a line of
    a long document would otherwise copy the document once per damage tried.
    """
    window = text[lo:hi]
    yield window, True
    if not damage.cut or damage.reading.marker is None:
        return
    if "?" not in window and "\ufffd" not in window:
        return
    chars = list(window)
    changed = False
    for pos, ch in enumerate(window):
        if ch not in CUT_MARKERS:
            continue
        for j in range(pos + 1, min(pos + 4, len(chars))):
            if chars[j] in _FOLDABLE and chars[j] not in CUT_MARKERS:
                chars[j] = chr(ord(chars[j]) + 0xFEE0)
                changed = True
    if changed:
        yield "".join(chars), False


def _drop_foreign_edges(
    damage: Damage, best: str, garbled: str, start: int, end: int, foreign: frozenset[str]
) -> tuple[str, str, int, int]:
    """Leave out a lost byte at either edge of a lossy island whose only reading is
    a letter of a script foreign to the text around it.

    A Windows decoder swallows an ASCII byte after a bad lead, so in Korean text
    ``? 吏꾩쭨`` the ``?`` may have held ``다,``; alone, the only UTF-8 that fits
    it is a two-byte letter, and the island read ``À 진짜``. Without that edge
    the rest still garbles back to what was seen, so it is repaired and the
    marker is left where it was, for the report.
    """
    for _ in range(2):
        cut = _lost_edge(damage, best[:1], best[1:], garbled, foreign, at_start=True)
        if cut:
            best, garbled, start = best[1:], garbled[cut:], start + cut
        cut = _lost_edge(damage, best[-1:], best[:-1], garbled, foreign, at_start=False)
        if cut:
            best, garbled, end = best[:-1], garbled[:-cut], end - cut
    return best, garbled, start, end


def _lost_edge(
    damage: Damage, ch: str, rest: str, garbled: str, foreign: frozenset[str], at_start: bool
) -> int:
    """How many markers at one edge of ``garbled`` the foreign letter ``ch`` stands
    for, if the ``rest`` of the reading still garbles back to the rest (else 0)."""
    if not rest or script_of(ch) not in foreign:
        return 0
    for cut in range(1, min(3, len(garbled))):
        if at_start:
            edge, kept = garbled[:cut], garbled[cut:]
        else:
            edge, kept = garbled[-cut:], garbled[:-cut]
        if not edge.strip(_EDGE_MARKERS) and _garbles_to(damage, rest, kept):
            return cut
    return 0


# An island's own readable text needs fewer CJK characters than the text around
# it to say which scripts belong: it is read as one language by construction.
OWN_MIN_CJK = 2

# What a lost byte shows as, for any reader.
_EDGE_MARKERS = "?\ufffd\u30fb"


def _garbles_to(damage: Damage, text: str, garbled: str) -> bool:
    try:
        return damage.garble(text) == garbled
    except UnicodeError:
        return False


def _fold(text: str) -> str:
    """Undo later normalizations for the inverse check of a cut stream: fullwidth
    forms folded to ASCII, and U+FFFD saved as "?"."""
    return "".join(
        "?" if c == "\ufffd" else chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c
        for c in text
    )


# A character of the 2-byte UTF-8 range (Latin letters, IPA, Greek, Cyrillic ...).
# The bytes of one double-byte CJK character often parse as one of these, so the
# clean character right after (or before) a damaged stretch can join its island
# (公园 + 散步 -> 公园ɢ步, where 散 is C9 A2 in GBK, and C9 A2 is UTF-8 for ɢ).
_TWO_BYTE_UTF8 = re.compile("[\u0080-\u07ff]")


def _trim_edges(
    text: str,
    island: Island,
    best: str,
    masked: str,
    start: int,
    end: int,
    model: CharModel,
) -> tuple[str, str, int, int, int]:
    """Give back edge characters the island took from the clean text beside it.

    An edge part that reads as a 2-byte UTF-8 character and ends (or starts) on a
    character boundary of the text is dropped when the text as written scores
    better there than the reading does. Returns the new best, masked, start, end
    and the number of best's characters dropped on the left.
    """
    parts, bounds = island.parts, island.bounds
    hi = len(parts)
    while hi > 1 and bounds[hi - 2] >= 0:
        piece = parts[hi - 1]
        if not isinstance(piece, str) or not _TWO_BYTE_UTF8.search(piece):
            break
        cut = bounds[hi - 2]
        after = text[end : end + 2]
        keep = best[: len(best) - len(piece)]
        if model.score(keep[-2:] + text[cut:end] + after) <= model.score(keep[-2:] + piece + after):
            break
        best, masked, end, hi = keep, masked[: len(masked) - len(piece)], cut, hi - 1
    dropped = 0
    lo = 0
    while lo < hi - 1 and bounds[lo] >= 0:
        piece = parts[lo]
        if not isinstance(piece, str) or not _TWO_BYTE_UTF8.search(piece):
            break
        cut = bounds[lo]
        before = text[max(0, start - 2) : start]
        rest = best[len(piece) :]
        if model.score(before + text[start:cut] + rest[:2]) <= model.score(
            before + piece + rest[:2]
        ):
            break
        best, masked, start, lo = rest, masked[len(piece) :], cut, lo + 1
        dropped += len(piece)
    return best, masked, start, end, dropped


def _judge(
    text: str,
    island: Island,
    damage: Damage,
    model: CharModel,
    keep_margin: float,
    floor: float = -math.inf,
) -> Repair | None:
    start, end = island.start, island.end
    left = ("\n" + text[max(0, start - 2) : start])[-2:]
    right = (text[end : end + 2] + "\n")[:2]
    lossy = island.lossy
    foreign: frozenset[str] = frozenset()
    if lossy:
        # What the island reads as apart from its lost bytes counts as context too:
        # a cut stream's island often spans the whole line.
        known = "".join(p for p in island.parts if isinstance(p, str))
        outside = text[max(0, start - _CONTEXT_REACH) : start] + text[end : end + _CONTEXT_REACH]
        before = text[max(0, start - BRACKET_REACH) : start]  # for brackets left open
        foreign = foreign_scripts(outside + known)
        best, masked, n_masked, choices = _choose(
            island.parts,
            left,
            right,
            model,
            keep_margin,
            foreign,
            before[before.rfind("\n") + 1 :],
        )
    else:  # nothing to choose (see _choose), and most islands are like this
        best = masked = "".join(p for p in island.parts if isinstance(p, str))
        n_masked, choices = 0, ()
    trimmed = 0
    if island.bounds:
        best, masked, start, end, trimmed = _trim_edges(
            text, island, best, masked, start, end, model
        )
    garbled = text[start:end]
    # Trim characters the repair leaves as they were (usually ASCII at the edges).
    while len(best) > 1 and garbled and best[0] == garbled[0] and masked[0] == best[0]:
        best, masked, garbled = best[1:], masked[1:], garbled[1:]
        start += 1
        trimmed += 1
    # Never down to nothing: Â» -> » shares its last character with the garbage, but
    # the repair is the whole pair, not the deletion of Â.
    while len(best) > 1 and garbled and best[-1] == garbled[-1] and masked[-1] == best[-1]:
        best, masked, garbled = best[:-1], masked[:-1], garbled[:-1]
        end -= 1
    if lossy and n_masked == 0:
        # The island's own reading says which scripts belong: the text around it
        # may be more mojibake, with letters of any script in it (cp949 reads
        # UTF-8 Hangul partly as Cyrillic).
        alien = foreign | foreign_scripts(known, OWN_MIN_CJK)
        if alien:
            best, garbled, start, end = _drop_foreign_edges(
                damage, best, garbled, start, end, alien
            )
            masked = best
    baked = "\ufffd" in best
    if len(garbled) < 2 or best == garbled:
        # One garbled character is too little evidence (铆 is C3 AD, also UTF-8 í).
        return None
    if damage.reading.codec in _LATIN_READERS and not latin_evidence(garbled):
        # One accented letter next to CJK text (pinyin, names) is not evidence.
        return None
    left = text[start - 1] if start > 0 else "\n"
    right = text[end] if end < len(text) else "\n"
    # The evidence is the best reading itself; masking doubtful fills only changes
    # what is written out, and must not earn the repair any credit.
    gain = model.score(best, left, right) - model.score(garbled, left, right)
    if gain < floor:
        return None  # the checks below only ever refuse, and folds only lower the gain
    try:
        regarbled = damage.garble(best)
    except UnicodeError:
        return None
    if regarbled != garbled and not (damage.cut and _fold(regarbled) == _fold(garbled)):
        return None
    if SUSPECT.search(best) and len(SUSPECT.findall(best)) > len(SUSPECT.findall(garbled)):
        return None  # a repair must not create new signs of damage
    lost = garbled.count("\ufffd")
    marker = damage.reading.marker
    if marker is not None and marker != "\ufffd":
        lost += garbled.count(marker)  # "?", or "・" for a Windows cp932 decoder
    if masked.count("\ufffd") - best.count("\ufffd") > lost or not masked.strip("\ufffd"):
        return None  # doubt may keep a marker, never turn a readable character into one
    if regarbled != garbled:
        # Each fullwidth character a later normalizer must have folded to ASCII is
        # one more thing this reading assumes happened; a reading that keeps the
        # ASCII as written explains the same bytes with less.
        folds = sum(
            a != b and "\uff01" <= a <= "\uff5e" for a, b in zip(regarbled, garbled, strict=True)
        )
        gain -= _FOLD_COST * folds
    kept = tuple(
        (at - trimmed, alts)
        for at, alts in choices
        if 0 <= at - trimmed <= len(best) - len(alts[0])
    )
    return Repair(
        start,
        end,
        masked,
        damage.kind,
        gain,
        lossy,
        n_masked,
        [damage.kind],
        baked,
        reading=best if lossy else "",
        choices=kept,
    )
