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
from functools import cache

from textfix.codecs import DAMAGES, Damage, Reading
from textfix.repair.roundtrip import (
    BRACKET_REACH,
    PAIR_BONUS,
    SUSPECT,
    Repair,
    open_closer,
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

    def step(self, state: int, b: int) -> tuple[str, int]:
        got = self._steps.get((state, b))
        if got is None:
            got = self._steps[(state, b)] = self._work_out(state, b)
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
def _trie(model: CharModel, codec: str) -> dict[int, object]:
    """The model's characters by their bytes in ``codec``."""
    root: dict[int, object] = {}
    for ch in model.unigrams:
        if len(ch) != 1:
            continue
        try:
            raw = ch.encode(codec)
        except UnicodeEncodeError:
            continue
        node = root
        for b in raw:
            node = node.setdefault(b, {})  # type: ignore[assignment]
        node[_LEAF] = ch
    return root


class _OutOfSteps(Exception):
    pass


class _Stretch:
    """One decode: the proposals at each (state, position), found on demand."""

    def __init__(self, garbled: str, damage: Damage, model: CharModel) -> None:
        self.garbled = garbled
        self.auto = _automaton(damage.reading)
        self.root = _trie(model, damage.source.codec)
        self.unigram = model.unigram
        self.steps = min(_STEPS_BASE + _STEPS_PER_CHAR * len(garbled), _STEPS_MOST)
        self._all: dict[tuple[int, int], list[_Proposal]] = {}

    def proposals(self, state: int, pos: int) -> list[_Proposal]:
        """Every character the reader, holding ``state``, shows as ``garbled[pos:...]``."""
        key = (state, pos)
        got = self._all.get(key)
        if got is not None:
            return got
        garbled, step = self.garbled, self.auto.step
        out: list[_Proposal] = []
        stack: list[tuple[dict[int, object], int, int]] = [(self.root, state, pos)]
        spent = 0
        while stack:
            node, st, p = stack.pop()
            for b, child in node.items():
                spent += 1
                if b == _LEAF:
                    out.append((child, st, p))  # type: ignore[arg-type]
                    continue
                shown, st2 = step(st, b)
                if not shown:
                    stack.append((child, st2, p))  # type: ignore[arg-type]
                elif garbled.startswith(shown, p):
                    stack.append((child, st2, p + len(shown)))  # type: ignore[arg-type]
        self.steps -= spent
        if self.steps < 0:
            raise _OutOfSteps
        self._all[key] = out
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


def decode(
    garbled: str,
    damage: Damage,
    model: CharModel,
    left: str,
    right: str,
    before: str = "",
) -> str | None:
    """The likeliest text that ``damage`` turns into exactly ``garbled``, between
    the context characters ``left`` and ``right``; None if the vocabulary cannot
    explain it or the search would cost too much.

    ``before`` is the line before the stretch: where the stretch ends in a lost
    byte, a reading that closes a bracket it left open gets the walker's bonus
    for that (the model alone would end the line with 。 rather than 」).
    """
    if not garbled:
        return None
    stretch = _Stretch(garbled, damage, model)
    n = len(garbled)
    t3 = model.transition3
    try:
        graph = stretch.live_graph()
    except _OutOfSteps:
        return None
    if graph is None:
        return None
    before = before[-BRACKET_REACH:]
    closes = garbled[-1] == stretch.auto.marker
    # Per position: (state, two characters before) -> (log-probability, text).
    beams: list[dict[tuple[int, str, str], tuple[float, str]]] = [{} for _ in range(n + 1)]
    beams[0][(_NO_LEAD, left[-2:-1], left[-1:])] = (0.0, "")
    best: tuple[float, str] | None = None
    for pos in range(n + 1):
        here = beams[pos]
        if not here:
            continue
        kept = heapq.nlargest(BEAM, here.items(), key=lambda item: item[1][0])
        for (state, prev2, prev), (score, text) in kept:
            # A held lead shows as one marker, so only the last two positions can end.
            if pos >= n - 1 and stretch.auto.ends(state, garbled[pos:]):
                total = score + t3(prev2, prev, right[:1] or "\n")
                if closes and text[-1:] == open_closer(before + text[:-1]):
                    total += PAIR_BONUS
                if best is None or total > best[0]:
                    best = (total, text)
            if pos == n:
                continue
            for ch, st, p in graph[(state, pos)]:
                value = score + t3(prev2, prev, ch)
                key = (st, prev, ch)
                old = beams[p].get(key)
                if old is None or old[0] < value:
                    beams[p][key] = (value, text + ch)
    return None if best is None else best[1]


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
        and reading.codec != "cp950"
        # EUC-JP's 0x8F starts three-byte characters, which a state of one held
        # lead byte cannot follow.
        and reading.codec != "euc_jp"
    )


_LOSSY_POLICIES = frozenset({"replace", "question", "windows"})
CHANNEL_DAMAGES: dict[str, Damage] = {d.kind: d for d in DAMAGES if _eligible(d)}


def whole_repair(
    text: str, start: int, end: int, damage: Damage, model: CharModel
) -> Repair | None:
    """The decoded reading of ``text[start:end]`` as one repair, trimmed to what
    it changes, with its gain by the model (as the walker's repairs have theirs)."""
    garbled = text[start:end]
    left = ("\n\n" + text[max(0, start - 2) : start])[-2:]
    right = text[end : end + 1] or "\n"
    line_start = text.rfind("\n", 0, start) + 1
    fix = decode(garbled, damage, model, left, right, text[line_start:start])
    if fix is None or fix == garbled:
        return None
    while fix and garbled and fix[0] == garbled[0]:
        fix, garbled, start = fix[1:], garbled[1:], start + 1
    while fix and garbled and fix[-1] == garbled[-1]:
        fix, garbled, end = fix[:-1], garbled[:-1], end - 1
    if not fix or len(garbled) < 2 or SUSPECT.search(fix):
        return None
    before = text[start - 1] if start > 0 else "\n"
    after = text[end] if end < len(text) else "\n"
    gain = model.score(fix, before, after) - model.score(garbled, before, after)
    return Repair(start, end, fix, damage.kind, gain, lossy=True, layers=[damage.kind], reading=fix)
