"""A smoothed character bigram model over zh-Hans, zh-Hant, ja, ko and Latin-script text.

The tables come from ``scripts/build_charmodel.py``. Scores are natural-log
probabilities, so a higher score means "looks more like real text". The model is
only ever used to *compare* two readings of the same span, never as an absolute
test, which is why a simple interpolated bigram is enough.
"""

from __future__ import annotations

import gzip
import math
import unicodedata
from functools import lru_cache
from importlib import resources

_LAMBDA = 0.8  # weight of the bigram estimate in the interpolation
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


class CharModel:
    """Unigram and bigram log-probabilities with interpolation and unseen-character floors."""

    def __init__(self, unigrams: dict[str, float], bigrams: dict[str, float]) -> None:
        self.unigrams = unigrams
        self.bigrams = bigrams
        self._cond_cache: dict[str, float] = {}

    @classmethod
    def load(cls) -> CharModel:
        data = resources.files("textfix").joinpath("data/charmodel.tsv.gz").read_bytes()
        text = gzip.decompress(data).decode("utf-8")
        lines = text.split("\n")
        scale = float(lines[0].split()[-1])
        uni: dict[str, float] = {}
        bi: dict[str, float] = {}
        for line in lines[1:]:
            if not line:
                continue
            kind, key, val = line.split("\t")
            target = uni if kind == "U" else bi
            target[_unescape(key)] = -int(val) / scale
        return cls(uni, bi)

    def unigram(self, ch: str) -> float:
        lp = self.unigrams.get(ch)
        if lp is None:
            lp = _unseen_logp(ch)
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
        joint = self.bigrams.get(key)
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

    def score(self, text: str, left: str = _BOUNDARY, right: str = _BOUNDARY) -> float:
        """Log-probability of ``text`` between the context characters ``left`` and ``right``."""
        total = 0.0
        prev = left or _BOUNDARY
        for ch in text:
            total += self.transition(prev, ch)
            prev = ch
        total += self.transition(prev, right or _BOUNDARY)
        return total

    def is_rare(self, ch: str, threshold: float) -> bool:
        return self.unigram(ch) < threshold


@lru_cache(maxsize=1)
def get_model() -> CharModel:
    """The packaged model, loaded once on first use (clean text never needs it)."""
    return CharModel.load()
