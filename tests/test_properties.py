"""Property tests (issue #6): invariants of the public API over arbitrary and corpus text.

Invariants checked on every input:

* ``fix_text`` never raises, returns ``str`` and finishes within ``HANG_SECONDS``;
* it is idempotent: ``fix_text(fix_text(x)) == fix_text(x)``;
* ``fix_and_explain`` agrees with ``fix_text`` and its steps replay exactly with
  ``apply_plan``, also after a JSON round trip of ``Step.to_dict()``;
* every ``scan`` finding lies inside the text: ``0 <= start <= end <= len(x)``.

Over the shared corpus (``<repo>/../shared/corpus``, or ``$TEXTFIX_CORPUS``; the
tests skip when it is absent): clean paragraphs come back unchanged, and every
lossless corruption of a clean CJK paragraph (or a 4-40 character slice of one) is
repaired exactly.

Examples are derandomized (profile ``textfix-properties``) so CI is stable. Scale
the example counts with ``TEXTFIX_PROPERTY_SCALE=10`` for a longer local run, and
see how many ran with ``pytest tests/test_properties.py --hypothesis-show-statistics``.
``python tests/test_properties.py`` prints the repair rate of every corruption kind
over its whole pool (use it to refresh the xfail reasons below).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from textfix import Config, apply_plan, fix_and_explain, fix_text, scan
from textfix.findings import Step

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TEXTFIX_CORPUS", REPO.parent / "shared" / "corpus"))
SEED = 20240606
PARAGRAPHS_PER_LANG = 300
WHOLE_PARAGRAPH_MAX = 300  # longer paragraphs are only used through slices
HANG_SECONDS = float(os.environ.get("TEXTFIX_PROPERTY_CAP", "30"))  # seconds per call
CJK_LANGS = ("zh-Hans", "zh-Hant", "ja", "ko")

settings.register_profile(
    "textfix-properties",
    derandomize=True,
    deadline=None,  # hangs are caught by HANG_SECONDS instead; timing is noisy on CI
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("textfix-properties")
SCALE = float(os.environ.get("TEXTFIX_PROPERTY_SCALE", "1"))


def examples(n: int, **extra: Any) -> settings:
    """The module profile with ``n`` examples (times ``$TEXTFIX_PROPERTY_SCALE``)."""
    return settings(PROFILE, max_examples=max(1, int(n * SCALE)), **extra)


# --------------------------------------------------------------------------- helpers


class Hang(Exception):
    """A call took longer than the per-input limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` if the block runs longer than ``seconds`` (POSIX main thread)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(_signum: int, _frame: Any) -> None:
        raise Hang(f"call took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_invariants(text: str, config: Config | None = None) -> str:
    """Assert every API invariant on ``text`` except idempotence; return the fixed text."""
    with time_limit(HANG_SECONDS):
        out = fix_text(text, config)
        assert isinstance(out, str)
        explained = fix_and_explain(text, config)
        assert explained.text == out, "fix_and_explain disagrees with fix_text"
        assert apply_plan(text, explained.steps) == out, "steps do not replay"
        dicts = json.loads(json.dumps([s.to_dict() for s in explained.steps]))
        assert apply_plan(text, dicts) == out, "steps do not replay after JSON"
        assert [Step.from_dict(d) for d in dicts] == explained.steps
        for finding in scan(text, config) + explained.findings:
            assert 0 <= finding.start <= finding.end <= len(text), finding
            assert 0.0 <= finding.confidence <= 1.0, finding
    return out


def check_idempotent(text: str, config: Config | None = None) -> None:
    with time_limit(HANG_SECONDS):
        out = fix_text(text, config)
        again = fix_text(out, config)
    assert again == out, f"not idempotent: {text!r} -> {out!r} -> {again!r}"


# --------------------------------------------------------------------------- strategies

# Characters that trip one trigger or another: 锟斤拷 debris, fill runs, U+FFFD,
# cp1252/Latin-1 pairs, UTF-8-as-GBK mojibake, cp1251 pairs, C1 controls,
# halfwidth katakana, punctuation pairs, bracketed pinyin.
TRIGGERS = (
    "锟斤拷今猴絉烫屯\ufffd?？,，。、()（）ÃÂâ€™©¢¤Ð¸Ñ\x81\x8d\x9dРСЂЃ"
    "浣犲ソ锛屼笘鐣岋紒鍙戠敓閿欒ｱｲｳ\ue000藍lánhǎozhōng好中國재한"
    "\ufeff\u2028\r\n\t "
)
ANY_TEXT = st.text(max_size=200)
CJK_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x9FFF), max_size=200)
MIXED_TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x3000, max_codepoint=0x9FFF),
        st.sampled_from(TRIGGERS),
    ),
    max_size=200,
)

# A few sentences of our own, to build mojibake without the corpus.
OWN_SENTENCES = (
    "今天天气很好，我们一起去公园散步吧。",
    "请把文件保存为统一码格式。",
    "這是一個繁體中文的句子，用來測試。",
    "日本語の文章を正しく表示できますか。",
    "한국어 문장도 제대로 보여야 합니다.",
    "Café déjà vu — naïve résumé.",
    "Привет, мир!",
)
# (encode, decode, errors) round trips that real software performs.
ROUND_TRIPS = (
    ("utf-8", "gbk", "replace"),
    ("utf-8", "gb18030", "replace"),
    ("utf-8", "big5", "replace"),
    ("utf-8", "cp932", "replace"),
    ("utf-8", "euc_kr", "replace"),
    ("utf-8", "latin-1", "strict"),
    ("utf-8", "cp1252", "replace"),
    ("utf-8", "cp1251", "replace"),
    ("gbk", "latin-1", "strict"),
    ("big5", "latin-1", "strict"),
    ("shift_jis", "latin-1", "strict"),
    ("euc_kr", "latin-1", "strict"),
    ("gbk", "big5", "replace"),
)


def garble_with(text: str, trip: tuple[str, str, str]) -> str:
    encode, decode, errors = trip
    return text.encode(encode, "replace").decode(decode, errors)


@st.composite
def mojibake_mix(draw: st.DrawFn, max_layers: int = 2, max_pieces: int = 3) -> str:
    """Clean sentences and sentences garbled up to ``max_layers`` times, glued together."""
    pieces = []
    for _ in range(draw(st.integers(1, max_pieces))):
        sentence = draw(st.sampled_from(OWN_SENTENCES))
        for _layer in range(draw(st.integers(0, max_layers))):
            sentence = garble_with(sentence, draw(st.sampled_from(ROUND_TRIPS)))
        if draw(st.booleans()):
            cut = draw(st.integers(0, len(sentence)))
            sentence = sentence[:cut] if draw(st.booleans()) else sentence[cut:]
        pieces.append(sentence)
    return draw(st.sampled_from(("", " ", "\n", "?"))).join(pieces)


CONFIGS = st.builds(
    Config,
    repair_codecs=st.booleans(),
    repair_latin=st.booleans(),
    realign_streams=st.booleans(),
    max_layers=st.integers(0, 4),
    remove_pinyin=st.booleans(),
    collapse_punctuation=st.booleans(),
    remove_markers=st.booleans(),
    margin=st.sampled_from((0.0, 2.0, 8.0, 20.0)),
    keep_uncertain=st.sampled_from((0.0, 0.7, 3.0)),
    to_simplified=st.booleans(),
    cjk_punctuation=st.booleans(),
    fold_width=st.booleans(),
    uncurl_quotes=st.booleans(),
    normalization=st.sampled_from((None, "NFC", "NFKC")),
    fix_line_breaks=st.booleans(),
    remove_bom=st.booleans(),
    remove_control_chars=st.booleans(),
)


# --------------------------------------------------------------------------- arbitrary text


@examples(300)
@given(ANY_TEXT)
def test_any_text(text: str) -> None:
    check_invariants(text)


@examples(300)
@given(CJK_TEXT)
def test_cjk_heavy_text(text: str) -> None:
    check_invariants(text)


@examples(300)
@given(MIXED_TEXT)
def test_trigger_heavy_text(text: str) -> None:
    check_invariants(text)


@examples(25)
@given(mojibake_mix(max_layers=2, max_pieces=2))
def test_layered_mojibake(text: str) -> None:
    check_invariants(text)


@pytest.mark.slow
@examples(40)
@given(mojibake_mix(max_layers=3, max_pieces=4))
def test_deep_mojibake(text: str) -> None:
    """Up to 3 layers: ~0.5-2 s per example (the lossy-fill search dominates)."""
    check_invariants(text)


@examples(50)
@given(st.one_of(MIXED_TEXT, mojibake_mix(max_pieces=2)), CONFIGS)
def test_any_config(text: str, config: Config) -> None:
    check_invariants(text, config)


@examples(300)
@given(st.one_of(ANY_TEXT, CJK_TEXT, MIXED_TEXT))
def test_idempotent(text: str) -> None:
    check_idempotent(text)


@pytest.mark.slow
@examples(100)
@given(mojibake_mix())
def test_idempotent_on_mojibake(text: str) -> None:
    check_idempotent(text)


def test_clean_text_is_returned_as_is() -> None:
    for text in ("", "hello", *OWN_SENTENCES):
        assert fix_text(text) == text
        assert scan(text) == []


# --------------------------------------------------------------------------- corpus

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")


def corpus_langs() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(p.glob("*.txt")))


@cache
def paragraphs(lang: str) -> tuple[str, ...]:
    """A fixed sample of the non-empty paragraphs (one a line) of one language."""
    lines: list[str] = []
    for path in sorted((CORPUS / lang).glob("*.txt")):
        # Some files were cut at a byte limit; drop the torn last line.
        with path.open(encoding="utf-8", errors="replace") as fh:
            lines += [ln.strip("\n") for ln in fh if ln.strip() and "\ufffd" not in ln]
    rng = random.Random(f"{SEED}:{lang}")
    return tuple(rng.sample(lines, min(PARAGRAPHS_PER_LANG, len(lines))))


@needs_corpus
@pytest.mark.parametrize("lang", corpus_langs() or ["zh-Hans"])
@examples(120)
@given(data=st.data())
def test_clean_corpus_unchanged(lang: str, data: st.DataObject) -> None:
    pool = paragraphs(lang)
    if not pool:
        pytest.skip(f"no {lang} paragraphs")
    text = data.draw(st.sampled_from(pool))
    with time_limit(HANG_SECONDS):
        assert fix_text(text) == text


@needs_corpus
@examples(30)
@given(data=st.data())
def test_corpus_invariants(data: st.DataObject) -> None:
    langs = [lang for lang in CJK_LANGS if paragraphs(lang)]
    if not langs:
        pytest.skip("no CJK paragraphs")
    text = data.draw(st.sampled_from(paragraphs(data.draw(st.sampled_from(langs)))))
    trip = data.draw(st.sampled_from(((None, None, None), *ROUND_TRIPS)))
    if trip[0] is not None:
        text = garble_with(text[:WHOLE_PARAGRAPH_MAX], trip)  # type: ignore[arg-type]
    check_invariants(text)


@dataclass(frozen=True)
class Corruption:
    """A lossless round trip: ``text.encode(encode).decode(decode)``, strict both ways."""

    langs: tuple[str, ...]
    encode: str
    decode: str

    def garble(self, text: str) -> str | None:
        try:
            return text.encode(self.encode).decode(self.decode)
        except UnicodeError:
            return None


CORRUPTIONS: dict[str, Corruption] = {
    "utf8_as_gbk": Corruption(CJK_LANGS, "utf-8", "gbk"),
    "gbk_as_latin1": Corruption(("zh-Hans",), "gbk", "latin-1"),
    "big5_as_latin1": Corruption(("zh-Hant",), "big5", "latin-1"),
    "sjis_as_latin1": Corruption(("ja",), "shift_jis", "latin-1"),
    "euckr_as_latin1": Corruption(("ko",), "euc_kr", "latin-1"),
    "utf8_as_latin1": Corruption(CJK_LANGS, "utf-8", "latin-1"),
    "gbk_as_big5": Corruption(("zh-Hans",), "gbk", "big5"),
}


@cache
def corruption_pool(kind: str) -> tuple[str, ...]:
    """Clean texts (short paragraphs and 4-40 char slices) that ``kind`` garbles strictly.

    Built up front with a fixed seed, so the strategy never has to filter (UTF-8 read
    as GBK is strict-valid for only ~7% of random slices).
    """
    corruption = CORRUPTIONS[kind]
    rng = random.Random(f"{SEED}:{kind}")
    pool: list[str] = []
    for lang in corruption.langs:
        for para in paragraphs(lang):
            cands = [para] if len(para) <= WHOLE_PARAGRAPH_MAX else []
            for _ in range(3):
                size = rng.randint(4, 40)
                start = rng.randint(0, max(0, len(para) - size))
                cands.append(para[start : start + size])
            for text in cands:
                garbled = corruption.garble(text)
                if len(text) >= 4 and garbled is not None and garbled != text:
                    pool.append(text)
    return tuple(dict.fromkeys(pool))


# Failure rates measured with ``python tests/test_properties.py`` over each whole pool
# (failures/pool size). Remove an entry once its kind repairs its whole pool.
KNOWN_FAILURE_RATES: dict[str, str] = {
    "gbk_as_latin1": "4/403 (1.0%)",
    "big5_as_latin1": "9/312 (2.9%)",
    "sjis_as_latin1": "9/593 (1.5%)",
    "euckr_as_latin1": "14/665 (2.1%)",
    "utf8_as_latin1": "12/2004 (0.6%)",
    "gbk_as_big5": "4/296 (1.4%)",
}


def _corruption_params() -> list[Any]:
    params: list[Any] = []
    for kind in CORRUPTIONS:
        rate = KNOWN_FAILURE_RATES.get(kind)
        if rate is None:
            params.append(kind)
            continue
        reason = f"repair engine still being tuned: measured failure rate {rate}"
        params.append(pytest.param(kind, marks=pytest.mark.xfail(strict=False, reason=reason)))
    return params


@needs_corpus
@pytest.mark.parametrize("kind", _corruption_params())
@examples(40)
@given(data=st.data())
def test_corruption_is_repaired(kind: str, data: st.DataObject) -> None:
    pool = corruption_pool(kind)
    if not pool:
        pytest.skip(f"no corpus text for {kind}")
    clean = data.draw(st.sampled_from(pool))
    garbled = CORRUPTIONS[kind].garble(clean)
    assume(garbled is not None and garbled != clean)
    assert garbled is not None
    note(f"garbled: {garbled!r}")
    with time_limit(HANG_SECONDS):
        assert fix_text(garbled) == clean


# --------------------------------------------------------------------------- rates


def measure_rates(out: Callable[[str], None] = print) -> dict[str, tuple[int, int]]:
    """Repair every text of every pool; print and return (failures, total) per kind."""
    rates: dict[str, tuple[int, int]] = {}
    for kind, corruption in CORRUPTIONS.items():
        pool = corruption_pool(kind)
        failures = []
        for clean in pool:
            garbled = corruption.garble(clean)
            assert garbled is not None
            if fix_text(garbled) != clean:
                failures.append(clean)
        rates[kind] = (len(failures), len(pool))
        share = len(failures) / max(len(pool), 1)
        out(f"{kind:18} {len(failures):4}/{len(pool):<4} fail ({share:.1%})")
    return rates


if __name__ == "__main__":
    if not CORPUS.is_dir():
        sys.exit(f"no corpus at {CORPUS}")
    measure_rates()
