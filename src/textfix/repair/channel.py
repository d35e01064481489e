"""Decode a whole damaged stretch at once: the likeliest text a lossy reader turns into it.

The walker (:mod:`textfix.repair.roundtrip`) rebuilds lost bytes region by region
and gives a region up when it has too many readings. Windows decoders make that
common: a bad lead byte swallows the byte after it, ASCII included, so UTF-8
Korean read by Windows cp949 shows ``다,`` as ``??`` and a region may hide a
syllable, a comma and half of the next syllable at once.

Here the stretch is decoded as a whole, as a noisy channel. Characters are
proposed left to right from a byte trie of the model's vocabulary; each one's
bytes go through an exact automaton of the reader, and a proposal lives only
while what the reader would show matches the stretch. A beam per position keeps
the likeliest texts under the model's trigram transitions. Every answer therefore
garbles back to the stretch by construction; the caller still weighs it against
the walker's repairs by the same model.
"""

from __future__ import annotations

import heapq
from collections import Counter
from functools import cache
from typing import NamedTuple

from textfix.codecs import DAMAGES, Damage, Reading
from textfix.repair.roundtrip import (
    BRACKET_REACH,
    FOREIGN_PENALTY,
    PAIR_BONUS,
    SUSPECT,
    Repair,
    open_closer,
    script_of,
)
from textfix.score.model import CharModel

# A proposal is (character, reader state after it, stretch position after it).
_Proposal = tuple[str, int, int]
_NO_LEAD = -1

# Beam per stretch position, and the most frequent characters a position may be
# read as (after the check that the rest of the stretch can still be explained).
# In a prototype on evaldev's 60 Windows EUC-KR cases, a beam of 16 with 1,000
# characters read 16 exactly in 24.7 s, and 24 with 400 read 15 in 21.3 s; larger
# settings were not tried.
BEAM = 24
CHOICES = 400
# Trie steps one stretch may take, per character of it: a reader that shows most
# bytes as markers (UTF-8 read by Big5) leaves nearly every character possible at
# every byte, and such a stretch is left to the walker.
_STEPS_BASE = 200_000
_STEPS_PER_CHAR = 40_000
_STEPS_MOST = 1_500_000  # about a second: a long line of markers is not worth more


class _Automaton:
    """A reader as a byte-at-a-time machine: state is the lead byte it holds, if any.

    Built from the reader's own decode, one byte pair at a time, so every error
    policy (U+FFFD, ``?``, Windows swallowing the next byte) behaves exactly as
    :meth:`~textfix.codecs.Reading.decode` does.
    """

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.marker = reading.marker or "\ufffd"
        self._steps: dict[tuple[int, int], tuple[str, int]] = {}
        self._rows: dict[int, list[tuple[str, int]]] = {}

    def step(self, state: int, b: int) -> tuple[str, int]:
        got = self._steps.get((state, b))
        if got is None:
            got = self._steps[(state, b)] = self._work_out(state, b)
        return got

    def row(self, state: int) -> list[tuple[str, int]]:
        """:meth:`step` from ``state`` for every byte value, indexed by the byte."""
        got = self._rows.get(state)
        if got is None:
            got = self._rows[state] = [self.step(state, b) for b in range(256)]
        return got

    def flush(self, state: int) -> str:
        """What the reader shows for a lead byte the text ends on."""
        return "" if state == _NO_LEAD else self.reading.decode(bytes([state]))

    def ends(self, state: int, rest: str) -> bool:
        """Can a stretch end in ``state`` with ``rest`` still to show?

        A lead byte held at the end shows as a marker, as at the end of a text:
        damage pasted into clean text ends there too, whatever comes after it.
        """
        return not rest if state == _NO_LEAD else rest == self.flush(state)

    def _work_out(self, state: int, b: int) -> tuple[str, int]:
        reading = self.reading
        if state == _NO_LEAD:
            if b in reading.leads:
                return "", b
            return reading.decode(bytes([b])), _NO_LEAD
        if reading.valid_pair(state, b):
            return reading.decode(bytes([state, b])), _NO_LEAD
        # A bad pair: the reader either drops both bytes for one marker or shows a
        # marker for the lead and reads the second byte afresh. A newline after
        # the pair (never a trail byte) tells the two apart.
        shown = reading.decode(bytes([state, b, 0x0A]))
        alone, after = self.step(_NO_LEAD, b)
        tail, _ = self.step(after, 0x0A)
        if shown == self.marker + alone + tail:
            return self.marker + alone, after
        return self.marker, _NO_LEAD


@cache
def _automaton(reading: Reading) -> _Automaton:
    return _Automaton(reading)


_LEAF = 256  # key under which a trie node holds the character that ends there


@cache
def _vocabulary(model: CharModel, codec: str, size: int | None) -> list[tuple[str, bytes]]:
    """The model's ``size`` most frequent characters (all if None) that ``codec``
    encodes, with their bytes, most frequent first."""
    got = []
    for ch in sorted(model.unigrams, key=lambda c: -model.unigrams[c])[:size]:
        if len(ch) != 1:
            continue
        try:
            got.append((ch, ch.encode(codec)))
        except UnicodeEncodeError:
            continue
    return got


@cache
def _trie(model: CharModel, codec: str, size: int | None) -> dict[int, object]:
    """The model's ``size`` most frequent characters (all if None) by their bytes
    in ``codec``."""
    root: dict[int, object] = {}
    for ch, raw in _vocabulary(model, codec, size):
        node = root
        for b in raw:
            node = node.setdefault(b, {})  # type: ignore[assignment]
        node[_LEAF] = ch
    return root


# Big5 pairs no UTF-8 continuation byte below 0xA1 as a trail, so it shows about
# two bytes in three of UTF-8 as markers, and at a marker nearly every character
# fits: a trie walk there costs in proportion to the vocabulary (35,000 steps per
# character of the stretch, median, on the 60 evaldev lines of UTF-8 read by
# Big5, and up to 170,000). Its stretches are looked up in tables instead
# (:func:`_rest_table`), with the most frequent characters first (the whole
# vocabulary only where they cannot explain the stretch) and twice the budget,
# charged per proposal. Other readers search the whole vocabulary at once: the
# frequent characters would overrule a rarer one that the bytes point to
# (휩쓸린 in Korean read by Windows cp949).
_MOSTLY_MARKERS = frozenset({"cp950"})
_FREQUENT = 6000
_MURKY_BUDGET = 2


def _murky(damage: Damage) -> bool:
    """Does the reader show most bytes of the text as markers?"""
    return damage.reading.codec in _MOSTLY_MARKERS


_TableKey = tuple[Reading, str, CharModel, int | None]
_Table = dict[str, list[tuple[str, int]]]
# A character is at most four bytes, and a byte shows as at most two characters
# (a marker for a held lead, then the byte read afresh).
_LONGEST_SHOWN = 8


@cache
def _by_first_byte(key: _TableKey) -> dict[int, list[tuple[str, bytes]]]:
    """The vocabulary's characters grouped by their first byte."""
    _reading, codec, model, size = key
    groups: dict[int, list[tuple[str, bytes]]] = {}
    for ch, raw in _vocabulary(model, codec, size):
        groups.setdefault(raw[0], []).append((ch, raw))
    return groups


_LONGEST_BYTE = 2  # what one byte shows: a marker for a held lead, then itself


@cache
def _firsts_by_shown(key: _TableKey, state: int) -> tuple[dict[str, list[tuple[int, int]]], int]:
    """The vocabulary's first bytes by what the reader, holding ``state``, shows
    for them: shown text -> [(byte, state after)]; and how many first bytes there
    are. A position only needs the bytes whose text it starts with."""
    row = _automaton(key[0]).row(state)
    by_shown: dict[str, list[tuple[int, int]]] = {}
    firsts = _by_first_byte(key)
    for first in firsts:
        shown, st = row[first]
        by_shown.setdefault(shown, []).append((first, st))
    return by_shown, len(firsts)


@cache
def _rest_table(key: _TableKey, first: int, state: int) -> tuple[_Table, int]:
    """For the characters that start with byte ``first``: what the reader shows for
    the rest of their bytes from ``state`` -> [(character, state after)]; and the
    longest such text.

    After the first byte the reader holds either nothing or that byte as a lead,
    whatever it held before, so two such tables per byte value serve every
    state; a table per state and character would not fit in memory.
    """
    auto = _automaton(key[0])
    table: _Table = {}
    for ch, raw in _by_first_byte(key)[first]:
        st, shown = state, []
        for b in raw[1:]:
            out, st = auto.step(st, b)
            shown.append(out)
        table.setdefault("".join(shown), []).append((ch, st))
    return table, max(map(len, table), default=0)


class _OutOfSteps(Exception):
    pass


class _Stretch:
    """One decode: the proposals at each (state, position), found on demand."""

    def __init__(
        self,
        garbled: str,
        damage: Damage,
        model: CharModel,
        size: int | None = None,
    ) -> None:
        self.garbled = garbled
        self.auto = _automaton(damage.reading)
        self.root = _trie(model, damage.source.codec, size)
        self.unigram = model.unigram
        murky = _murky(damage)
        self.steps = (_MURKY_BUDGET if murky else 1) * min(
            _STEPS_BASE + _STEPS_PER_CHAR * len(garbled), _STEPS_MOST
        )
        self._all: dict[tuple[int, int], list[_Proposal]] = {}
        # Readers that show most bytes as markers look characters up in tables
        # instead of walking the trie at each position.
        self.tables: _TableKey | None = (
            (damage.reading, damage.source.codec, model, size) if murky else None
        )

    def proposals(self, state: int, pos: int) -> list[_Proposal]:
        """Every character the reader, holding ``state``, shows as ``garbled[pos:...]``."""
        key = (state, pos)
        got = self._all.get(key)
        if got is not None:
            return got
        tables = self.tables
        got = self._looked_up(tables, state, pos) if tables else self._search(state, pos)
        self._all[key] = got
        return got

    def _looked_up(self, tables: _TableKey, state: int, pos: int) -> list[_Proposal]:
        """:meth:`_search` by tables of what the rest of each character shows."""
        garbled, out = self.garbled, []
        by_shown, firsts = _firsts_by_shown(tables, state)
        n = len(garbled)
        # Charged as a walk over every first byte would be, so that the budget
        # means what it meant for the trie.
        spent = firsts
        for width in range(_LONGEST_BYTE + 1):
            if pos + width > n:
                break
            for first, st in by_shown.get(garbled[pos : pos + width], ()):
                at = pos + width
                rest, longest = _rest_table(tables, first, st)
                spent += min(_LONGEST_SHOWN, n - at) + 1
                for k in range(min(longest, n - at) + 1):
                    for ch, after in rest.get(garbled[at : at + k], ()):
                        out.append((ch, after, at + k))
        # Each proposal costs the beam later what a trie step costs here.
        self.steps -= spent + len(out)
        if self.steps < 0:
            raise _OutOfSteps
        return out

    def _search(self, state: int, pos: int) -> list[_Proposal]:
        garbled, row = self.garbled, self.auto.row
        out: list[_Proposal] = []
        stack: list[tuple[dict[int, object], int, int]] = [(self.root, state, pos)]
        spent = 0
        while stack:
            node, st, p = stack.pop()
            moves = row(st)
            for b, child in node.items():
                spent += 1
                if b == _LEAF:
                    out.append((child, st, p))  # type: ignore[arg-type]
                    continue
                shown, st2 = moves[b]
                if not shown:
                    stack.append((child, st2, p))  # type: ignore[arg-type]
                elif garbled.startswith(shown, p):
                    stack.append((child, st2, p + len(shown)))  # type: ignore[arg-type]
        self.steps -= spent
        if self.steps < 0:
            raise _OutOfSteps
        return out

    def live_graph(self) -> dict[tuple[int, int], list[_Proposal]] | None:
        """Per reachable (state, position), the proposals from which the rest of the
        stretch can still be read, most frequent characters first; None if the
        stretch cannot be read at all.

        Every character shows as at least one character of the stretch, so
        positions only grow: one pass forward finds what is reachable, one pass
        back keeps what reaches the end.
        """
        n = len(self.garbled)
        by_pos: list[set[int]] = [set() for _ in range(n + 1)]
        by_pos[0].add(_NO_LEAD)
        for pos in range(n):
            for state in by_pos[pos]:
                for _ch, st, p in self.proposals(state, pos):
                    by_pos[p].add(st)
        alive: set[tuple[int, int]] = set()
        graph: dict[tuple[int, int], list[_Proposal]] = {}
        for pos in range(n, -1, -1):
            for state in by_pos[pos]:
                ends = pos >= n - 1 and self.auto.ends(state, self.garbled[pos:])
                ok = (
                    [prop for prop in self.proposals(state, pos) if (prop[1], prop[2]) in alive]
                    if pos < n
                    else []
                )
                if ok or ends:
                    alive.add((state, pos))
                    ok.sort(key=lambda prop: -self.unigram(prop[0]))
                    graph[(state, pos)] = ok[:CHOICES]
        return graph if (_NO_LEAD, 0) in alive else None


class Decoded(NamedTuple):
    best: str
    """The likeliest text."""
    shown: str
    """``best`` with each character the model did not clearly choose as U+FFFD."""
    masked: int
    guessed: int
    """Characters of ``best`` the reader showed only as markers."""


def decode(
    garbled: str,
    damage: Damage,
    model: CharModel,
    left: str,
    right: str,
    before: str = "",
    foreign: frozenset[str] = frozenset(),
    keep_margin: float = 0.0,
) -> Decoded | None:
    """The likeliest text that ``damage`` turns into exactly ``garbled``, between
    the context characters ``left`` and ``right``; None if the vocabulary cannot
    explain it or the search would cost too much.

    ``before`` is the line before the stretch: where the stretch ends in a lost
    byte, a reading that closes a bracket it left open gets the walker's bonus
    for that (the model alone would end the line with 。 rather than 」).
    Each character of a script in ``foreign`` pays the walker's penalty for
    bringing a script the line does not use. A reading that is mostly Han with
    a few kana or Hangul in it is read again with those scripts foreign too:
    where nearly every byte was lost, nothing else tells the model which
    language the line is in.

    Also returns the text with the characters the model did not clearly choose
    (by ``keep_margin``) masked, and counts.
    """
    if not garbled:
        return None
    for size in (_FREQUENT, None) if _murky(damage) else (None,):
        stretch = _Stretch(garbled, damage, model, size)
        try:
            graph = stretch.live_graph()
        except _OutOfSteps:
            return None
        if graph is not None:
            break
    else:
        return None
    searched = _Searched(garbled, stretch.auto, graph, model, left, right, before[-BRACKET_REACH:])
    path = _best_path(searched, foreign)
    stray = _stray_scripts("".join(step[2] for step in path or ())) - foreign
    if stray:
        path = _best_path(searched, foreign | stray) or path
    if path is None:
        return None
    best = "".join(step[2] for step in path)
    shown, masked, guessed = _masked(path, searched, keep_margin)
    return Decoded(best, shown, masked, guessed)


def _stray_scripts(text: str) -> frozenset[str]:
    """Scripts that make up a small part of mostly Han ``text`` (送辛樂毅感恩如，輸誠を落).

    >>> sorted(_stray_scripts("送辛樂毅感恩如，輸誠を落梅花枝。"))
    ['kana']
    >>> _stray_scripts("これは日本語です")
    frozenset()
    """
    counts = Counter(script_of(ch) for ch in text)
    han = counts["han"]
    return frozenset(s for s in _STRAY if 0 < counts[s] and counts[s] * _STRAY_SHARE < han)


_STRAY = ("kana", "hangul", "other_letters")
_STRAY_SHARE = 4  # a script under a quarter of the Han count is a stray


# One step of a decoded path: (position, reader state, character, position after,
# state after).
_Step = tuple[int, int, str, int, int]


class _Searched(NamedTuple):
    """A stretch's live proposals and the context both passes over them read."""

    garbled: str
    auto: _Automaton
    graph: dict[tuple[int, int], list[_Proposal]]
    model: CharModel
    left: str
    right: str
    before: str


def _best_path(searched: _Searched, foreign: frozenset[str]) -> tuple[_Step, ...] | None:
    """The beam search over the live proposals (see :func:`decode`)."""
    garbled, auto, graph, model, left, right, before = searched
    n = len(garbled)
    t3 = model.transition3
    closes = garbled[-1] == auto.marker
    # Per position: (state, two characters before) -> (log-probability, text, path).
    Kept = tuple[float, str, tuple[_Step, ...]]
    beams: list[dict[tuple[int, str, str], Kept]] = [{} for _ in range(n + 1)]
    beams[0][(_NO_LEAD, left[-2:-1], left[-1:])] = (0.0, "", ())
    best: Kept | None = None
    for pos in range(n + 1):
        here = beams[pos]
        if not here:
            continue
        kept = heapq.nlargest(BEAM, here.items(), key=lambda item: item[1][0])
        for (state, prev2, prev), (score, text, path) in kept:
            # A held lead shows as one marker, so only the last two positions can end.
            if pos >= n - 1 and auto.ends(state, garbled[pos:]):
                total = score + t3(prev2, prev, right[:1] or "\n")
                if closes and text[-1:] == open_closer(before + text[:-1]):
                    total += PAIR_BONUS
                if best is None or total > best[0]:
                    best = (total, text, path)
            if pos == n:
                continue
            for ch, st, p in graph[(state, pos)]:
                value = score + t3(prev2, prev, ch)
                if foreign and script_of(ch) in foreign:
                    value += FOREIGN_PENALTY
                key = (st, prev, ch)
                old = beams[p].get(key)
                if old is None or old[0] < value:
                    beams[p][key] = (value, text + ch, (*path, (pos, state, ch, p, st)))
    return None if best is None else best[2]


def _masked(
    path: tuple[_Step, ...], searched: _Searched, keep_margin: float
) -> tuple[str, int, int]:
    """The path's text with each character the model did not clearly choose as
    U+FFFD, as the walker masks a doubtful fill; with the number masked and the
    number of characters the reader showed only as markers.

    A character is doubtful when another one that the reader would have shown
    the same way, between the same neighbours, reads within ``keep_margin``.
    (A stricter margin for characters the reader showed none of, as cut pairs
    have, masked more right characters than wrong ones on evaldev's Windows
    EUC-KR lines: 13 exact became 9.)
    """
    garbled, auto, graph, model, left, right, _before = searched
    t3 = model.transition3
    marker = auto.marker
    chars = [step[2] for step in path]

    def same_after(i: int, state: int) -> bool:
        # Could the rest of the path follow step i had it left the reader in
        # ``state``? A lost byte a character ends on is held as a lead, so
        # characters that differ only there leave different states.
        at = path[i][3]
        if i + 1 == len(path):
            return auto.ends(state, garbled[at:])
        _pos, _st, ch, p, st = path[i + 1]
        return any(c == ch and (s2, p2) == (st, p) for c, s2, p2 in graph.get((state, at), ()))

    padded = [left[-2:-1] or "\n", left[-1:] or "\n", *chars, right[:1] or "\n", "\n"]
    out: list[str] = []
    masked = guessed = 0
    for i, (pos, state, ch, p, st) in enumerate(path):
        guessed += not garbled[pos:p].replace(marker, "")
        a, b, c, d = padded[i], padded[i + 1], padded[i + 3], padded[i + 4]

        def fit(x: str, a: str = a, b: str = b, c: str = c, d: str = d) -> float:
            return t3(a, b, x) + t3(b, x, c) + t3(x, c, d)

        mine = fit(ch)
        rivals = [
            fit(alt)
            for alt, s2, p2 in graph[(state, pos)]
            if alt != ch and p2 == p and (s2 == st or same_after(i, s2))
        ]
        if rivals and mine - max(rivals) < keep_margin:
            out.append("\ufffd")
            masked += 1
        else:
            out.append(ch)
    return "".join(out), masked, guessed


def _eligible(damage: Damage) -> bool:
    reading = damage.reading
    return (
        damage.source.is_utf8
        and not damage.cut
        and reading.double_byte
        and reading.policy in _LOSSY_POLICIES
        # Big5 pairs no UTF-8 continuation byte below 0xA1 as a trail, so nearly
        # every byte shows as a marker and nearly every character fits anywhere:
        # such stretches ran past any affordable search.
        and (reading.codec != "cp950" or reading.policy != "windows")
        # EUC-JP's 0x8F starts three-byte characters, which a state of one held
        # lead byte cannot follow.
        and reading.codec != "euc_jp"
    )


_LOSSY_POLICIES = frozenset({"replace", "question", "windows"})
CHANNEL_DAMAGES: dict[str, Damage] = {d.kind: d for d in DAMAGES if _eligible(d)}


def whole_repair(
    text: str,
    start: int,
    end: int,
    damage: Damage,
    model: CharModel,
    foreign: frozenset[str] = frozenset(),
    keep_margin: float = 0.0,
) -> Repair | None:
    """The decoded reading of ``text[start:end]`` as one repair, trimmed to what
    it changes, with its gain by the model (as the walker's repairs have theirs).
    Its ``fix`` masks the characters the model did not clearly choose, and its
    ``reading`` keeps them, as the walker's lossy repairs do."""
    garbled = text[start:end]
    left = ("\n\n" + text[max(0, start - 2) : start])[-2:]
    right = text[end : end + 1] or "\n"
    line_start = text.rfind("\n", 0, start) + 1
    got = decode(garbled, damage, model, left, right, text[line_start:start], foreign, keep_margin)
    if got is None or got.best == garbled:
        return None
    fix, shown = got.best, got.shown
    if not shown.strip("\ufffd"):
        return None  # doubt may keep markers, never leave nothing but them
    while fix and garbled and fix[0] == garbled[0] == shown[0]:
        fix, shown, garbled, start = fix[1:], shown[1:], garbled[1:], start + 1
    while fix and garbled and fix[-1] == garbled[-1] == shown[-1]:
        fix, shown, garbled, end = fix[:-1], shown[:-1], garbled[:-1], end - 1
    if not fix or len(garbled) < 2 or SUSPECT.search(fix):
        return None
    before = text[start - 1] if start > 0 else "\n"
    after = text[end] if end < len(text) else "\n"
    gain = model.score(fix, before, after) - model.score(garbled, before, after)
    return Repair(
        start,
        end,
        shown,
        damage.kind,
        gain,
        lossy=True,
        uncertain=shown.count("\ufffd") - fix.count("\ufffd"),
        layers=[damage.kind],
        reading=fix,
        guessed=got.guessed,
    )
