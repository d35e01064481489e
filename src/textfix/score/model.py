"""A smoothed character n-gram model over zh-Hans, zh-Hant, ja, ko and Latin-script text.

The tables come from ``scripts/build_charmodel.py``. Scores are natural-log
probabilities, so a higher score means "looks more like real text". The model is
only ever used to *compare* two readings of the same span, never as an absolute
test. Whether a repair is accepted is decided with the interpolated bigram
(:meth:`CharModel.score`, on which the margins were calibrated); which value a
lost byte had is decided with the trigram (:meth:`CharModel.transition3`), where
the deciding character is often two places away (할 수, not 한 수).
"""

from __future__ import annotations

import gzip
import math
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Generic, TypeVar

_LAMBDA = 0.8  # weight of the bigram estimate in the interpolation
_LAMBDA3 = 0.7  # weight of the trigram estimate over the bigram one (fills only)
_BOUNDARY = "\n"
_UNKNOWN = "\ufffd"
_UNKNOWN_LOGP = -9.0

# Typographic prior the corpus under-represents (it has little news or dialogue
# text): a closing quote or bracket right after sentence-final punctuation, as
# in 。” or ！」, is common in Chinese and Japanese prose.
_SENTENCE_END = frozenset("。！？；…")
_CLOSERS = frozenset("”’」』）》〉】")
_CLOSER_FLOOR = math.log(0.1)


def _unescape(key: str) -> str:
    if "\\" not in key:
        return key
    out = []
    it = iter(key)
    for ch in it:
        if ch == "\\":
            nxt = next(it, "")
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


def _unseen_logp(ch: str) -> float:
    """Log-probability for a character the corpus never showed.

    Characters that mojibake is made of (private use, replacement, C1 controls)
    get the lowest floor; unseen letters of real scripts get a milder one.
    """
    cp = ord(ch)
    if cp == 0xFFFD or 0xE000 <= cp <= 0xF8FF or 0x80 <= cp <= 0x9F:
        return -26.0
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return -26.0
    if 0x3400 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7A3:
        return -19.0
    if cat.startswith("L"):
        return -18.0
    return -19.0


def _data_lines(name: str) -> list[str]:
    data = resources.files("textfix").joinpath(f"data/{name}").read_bytes()
    return gzip.decompress(data).decode("utf-8").split("\n")


_V = TypeVar("_V")


class _Rows(Generic[_V]):
    """An n-gram table stored one line per context (the shared first characters).

    Lines are kept as raw text and parsed the first time their context is looked
    up: the tables hold over a million entries, and a process that repairs a few
    lines touches a small share of them.
    """

    def __init__(self, convert: Callable[[str], _V]) -> None:
        self._rows: dict[str, str | dict[str, _V]] = {}
        self._convert = convert

    @classmethod
    def from_table(
        cls, table: dict[str, _V], width: int, convert: Callable[[str], _V]
    ) -> _Rows[_V]:
        """Rows of a flat table whose keys start with a ``width``-character context."""
        rows = cls(convert)
        for key, value in table.items():
            row = rows._rows.setdefault(key[:width], {})
            assert isinstance(row, dict)
            row[key[width:]] = value
        return rows

    def add_line(self, context: str, rest: str) -> None:
        """``rest``: the stored (next character, value) pairs, tab-separated."""
        self._rows[context] = rest

    def get(self, context: str, nxt: str) -> _V | None:
        row = self._rows.get(context)
        if row is None:
            return None
        if isinstance(row, str):
            fields = row.split("\t")
            convert = self._convert
            row = self._rows[context] = {
                _unescape(fields[i]): convert(fields[i + 1]) for i in range(0, len(fields), 2)
            }
        return row.get(nxt)


class CharModel:
    """Unigram and bigram log-probabilities with interpolation and unseen-character floors."""

    def __init__(
        self,
        unigrams: dict[str, float],
        bigrams: dict[str, float],
        trigrams: dict[str, int] | None = None,
        trigram_scale: float = 2.0,
    ) -> None:
        self.unigrams = unigrams
        self._bigrams: _Rows[float] = _Rows.from_table(bigrams, 1, float)
        # Read on first use: only a lost-byte fill needs trigrams.
        self._tri_rows: _Rows[int] | None = (
            None if trigrams is None else _Rows.from_table(trigrams, 2, int)
        )
        self._tri_scale = trigram_scale
        self._cond_cache: dict[str, float] = {}
        self._cond3_cache: dict[str, float] = {}
        self._unseen: dict[str, float] = {}  # floors of characters the table lacks

    @classmethod
    def load(cls) -> CharModel:
        lines = _data_lines("charmodel.tsv.gz")
        scale = float(lines[0].split()[2])
        model = cls({}, {})
        model._bigrams = _Rows(lambda value: -int(value) / scale)
        for line in lines[1:]:
            if line:
                kind, head, rest = line.split("\t", 2)
                if kind == "U":
                    model.unigrams[_unescape(head)] = -int(rest) / scale
                else:
                    model._bigrams.add_line(_unescape(head), rest)
        return model

    def bigram(self, pair: str) -> float | None:
        """Stored log P(pair), or None if the corpus did not show it twice."""
        return self._bigrams.get(pair[:1], pair[1:])

    def knows(self, pair: str) -> bool:
        """Did the corpus show this pair of characters (at least twice)?"""
        return len(pair) == 2 and self.bigram(pair) is not None

    def _trigram(self, context: str, ch: str) -> int | None:
        """-round(scale * ln p) of ``ch`` after ``context``, or None if not stored.

        The table is read on first use and only split into its rows by context
        (about 0.3 s, against 1.3 s for building all 600,000 entries).
        """
        rows = self._tri_rows
        if rows is None:
            lines = _data_lines("trigrams.tsv.gz")
            self._tri_scale = float(lines[0].split()[2])
            # Values stay the stored small ints, which the interpreter caches.
            rows = self._tri_rows = _Rows(int)
            for line in lines[1:]:
                if line:
                    _kind, head, rest = line.split("\t", 2)
                    rows.add_line(_unescape(head), rest)
        return rows.get(context, ch)

    def unigram(self, ch: str) -> float:
        lp = self.unigrams.get(ch)
        if lp is None:
            lp = self._unseen.get(ch)
            if lp is None:
                lp = _unseen_logp(ch)
                if len(self._unseen) < 200_000:
                    self._unseen[ch] = lp
        return lp

    def transition(self, prev: str, ch: str) -> float:
        """log P(ch | prev), interpolated with the unigram."""
        if ch == _UNKNOWN or prev == _UNKNOWN:
            # A replacement character stands for a character we cannot see. Scoring
            # it as an average character (rather than as a very unlikely one) means
            # that filling it in earns nothing unless the fill itself reads well.
            return _UNKNOWN_LOGP if ch == _UNKNOWN else math.log(1.0 - _LAMBDA) + self.unigram(ch)
        key = prev + ch
        cached = self._cond_cache.get(key)
        if cached is not None:
            return cached
        uni = self.unigram(ch)
        joint = self.bigram(key)
        if joint is None:
            value = math.log(1.0 - _LAMBDA) + uni
        else:
            cond = math.exp(joint - self.unigram(prev))
            value = math.log(_LAMBDA * min(cond, 1.0) + (1.0 - _LAMBDA) * math.exp(uni))
        if prev in _SENTENCE_END and ch in _CLOSERS:
            value = max(value, _CLOSER_FLOOR)
        if len(self._cond_cache) < 2_000_000:
            self._cond_cache[key] = value
        return value

    def transition3(self, prev2: str, prev: str, ch: str) -> float:
        """log P(ch | prev2 prev): the trigram estimate interpolated with :meth:`transition`.

        Only lost-byte fills are ranked with it (two readings of the same bytes,
        where a word's third character often decides); acceptance margins were
        calibrated on the bigram :meth:`score` and stay on it. A context the table
        never saw says nothing, so it falls back to the bigram unchanged.
        """
        key = prev2 + prev + ch
        cached = self._cond3_cache.get(key)
        if cached is not None:
            return cached
        value = self.transition(prev, ch)
        context = self.bigram(prev2 + prev) if prev2 else None
        if context is not None:
            joint = self._trigram(prev2 + prev, ch)
            cond = 0.0 if joint is None else min(math.exp(-joint / self._tri_scale - context), 1.0)
            value = math.log(_LAMBDA3 * cond + (1.0 - _LAMBDA3) * math.exp(value))
        if len(self._cond3_cache) < 2_000_000:
            self._cond3_cache[key] = value
        return value

    def chain(self, prev: str, text: str) -> float:
        """Sum of :meth:`transition` along ``text`` after ``prev``.

        The fill search scores millions of short strings; reading the cache here
        instead of through a call per character halves its cost.
        """
        cache = self._cond_cache
        total = 0.0
        for ch in text:
            value = cache.get(prev + ch)
            total += self.transition(prev, ch) if value is None else value
            prev = ch
        return total

    def chain3(self, prev2: str, prev: str, text: str) -> float:
        """Sum of :meth:`transition3` along ``text`` after ``prev2 prev``."""
        cache = self._cond3_cache
        total = 0.0
        for ch in text:
            value = cache.get(prev2 + prev + ch)
            total += self.transition3(prev2, prev, ch) if value is None else value
            prev2, prev = prev, ch
        return total

    def score(self, text: str, left: str = _BOUNDARY, right: str = _BOUNDARY) -> float:
        """Log-probability of ``text`` between the context characters ``left`` and ``right``."""
        prev = left or _BOUNDARY
        total = self.chain(prev, text)
        total += self.transition(text[-1] if text else prev, right or _BOUNDARY)
        return total

    def is_rare(self, ch: str, threshold: float) -> bool:
        return self.unigram(ch) < threshold


@lru_cache(maxsize=1)
def get_model() -> CharModel:
    """The packaged model, loaded once on first use (clean text never needs it)."""
    return CharModel.load()
