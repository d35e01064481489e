"""The fast screens against the slower paths they stand in for.

``gate.damaged_lines`` scans once with all line triggers fused into one pattern;
it must name exactly the lines the separate triggers name. ``precheck.could_repair``
skips a UTF-8 reading on a line when no marker there can be a lost byte; it must
never skip a reading that proposes a repair the engine could accept. Likewise
``precheck.utf8_inside``, which lets the detector skip lines whose rare
characters no reader could have made out of UTF-8.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textfix import detect, gate
from textfix.artifacts import markers, pinyin, punctuation
from textfix.codecs import DAMAGES, Damage
from textfix.config import DEFAULT, Config
from textfix.repair.precheck import could_hold, could_repair, utf8_inside
from textfix.repair.roundtrip import (
    METER,
    RunKey,
    SlotRun,
    _source_chars,
    _source_tables,
    _utf8_len,
    _utf8_step,
    _whole_utf8,
    propose,
)
from textfix.score import get_model

_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
# CUT_STREAM as it was written before it led with the marker.
_CUT_STREAM_CJK_LED = re.compile(
    f"[{_CJK}][?\ufffd](?:[\x21-\x7e]{{1,2}}[{_CJK}]"
    f"|[^\x00-\x7f?\ufffd\uac00-\ud7af]{{1,16}}[\x40-\x7e](?![\x00-\x09\x0b-\x7f]))"
)


def _separate_triggers() -> list[re.Pattern[str]]:
    unknown, rare_pair, rare_question, _rare = gate._patterns()
    return [
        unknown,
        rare_question,
        _CUT_STREAM_CJK_LED,
        rare_pair,
        gate.LATIN_PAIR,
        gate.SJIS_PAIR,
        gate.LEAD_ASCII_PAIR,
        gate.CYRILLIC_PAIR,
    ]


def _lines_by_separate_scans(text: str) -> list[tuple[int, int]]:
    spans: dict[int, int] = {}
    for pattern in _separate_triggers():
        for start, end in gate._lines_of(text, pattern):
            spans[start] = end
    lines = sorted(spans.items())
    if not lines and gate.utf8_run(text):
        lines = [(0, len(text))]
    return lines


# Characters the triggers talk about, so that random text hits them often.
_TRIGGER_ALPHABET = (
    "?\ufffd\n \t@Az~!\"'中文字测試あア가位唐宋謂鍙鏂囨湰РСЂЃ€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
    "\x80\x81\x9f\xa0\xa1\xb7\xbf\xc2\xc3\xe4\xe6\xf0\ue000\uff70\uff71ÄãºÃ§uªF齉龘鱻"
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_TRIGGER_ALPHABET, max_size=300))
def test_fused_trigger_names_the_lines_the_separate_ones_do(text: str) -> None:
    assert list(gate.damaged_lines(text)) == (
        [] if text.isascii() else _lines_by_separate_scans(text)
    )


# Characters the stage triggers (markers, pinyin, doubled punctuation) look for.
_STAGE_ALPHABET = _TRIGGER_ALPHABET + "锟斤拷烫屯,，。、(（)）lánhuìjīng藍會經"


def _stages_one_by_one(text: str) -> bool:
    """maybe_damaged as it was written: each stage's own trigger in turn."""
    if text.isascii():
        return False
    codec = any(p.search(text) for p in _separate_triggers()) or gate.utf8_run(text)
    return bool(
        codec or markers.triggered(text) or pinyin.triggered(text) or punctuation.triggered(text)
    )


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_STAGE_ALPHABET, max_size=200))
def test_fused_stage_trigger_answers_as_the_stages_do(text: str) -> None:
    assert gate.maybe_damaged(text) == _stages_one_by_one(text)
    codec = any(p.search(text) for p in _separate_triggers()) or gate.utf8_run(text)
    assert gate.has_codec_trigger(text) == (not text.isascii() and bool(codec))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_STAGE_ALPHABET, max_size=60))
def test_comma_led_doubled_punctuation_trigger_matches_the_pair_pattern(text: str) -> None:
    fused = re.compile("".join(punctuation.TRIGGER_PARTS))
    pinyin_parts = re.compile("".join(pinyin.TRIGGER_PARTS))
    assert bool(fused.search(text)) == bool(punctuation._DOUBLED_RE.search(text))
    assert punctuation.triggered(text) == bool(punctuation._DOUBLED_RE.search(text))
    assert bool(pinyin_parts.search(text)) == pinyin.triggered(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_TRIGGER_ALPHABET, max_size=60))
def test_cut_stream_led_by_its_marker_matches_the_same_lines(text: str) -> None:
    for line in text.split("\n"):
        assert bool(gate.CUT_STREAM.search(line)) == bool(_CUT_STREAM_CJK_LED.search(line))


def _damage(kind: str) -> Damage:
    return next(d for d in DAMAGES if d.kind == kind and not d.cut)


def test_could_repair_rejects_a_question_mark_in_clean_text() -> None:
    clean = '历史变化定位?"唐宋变革"'
    damage = _damage("utf8_as_gbk_q")
    assert could_hold(damage, clean)  # the marker alone lets it through
    assert not could_repair(damage, clean)


def test_could_repair_admits_lost_bytes() -> None:
    damage = _damage("utf8_as_gbk_q")
    garbled = damage.garble("这是一个测试文本，你好")
    assert "?" in garbled
    assert could_repair(damage, garbled)
    replaced = _damage("utf8_as_gbk").garble("这是一个测试文本，你好")
    assert "\ufffd" in replaced
    assert could_repair(_damage("utf8_as_gbk"), replaced)


_SCREENED = [
    d
    for d in DAMAGES
    if d.source.is_utf8
    and d.reading.double_byte
    and not d.cut
    and d.reading.policy in ("replace", "question", "windows")
]
_WORDS = ["唐宋", "变革", "历史", "你好", "測試", "資料", "テスト", "한국어", "说明", "设置"]
_GLUE = ["?", "?", '"', "，", "。", " ", "a", "(", ")", "\ufffd", "1"]


@st.composite
def _windows(draw: st.DrawFn) -> tuple[Damage, str]:
    """A damage and a window: clean words with markers and ASCII between them,
    some of the words garbled by a real round trip through the damage's reader."""
    damage = draw(st.sampled_from(_SCREENED))
    pieces = []
    for _ in range(draw(st.integers(1, 8))):
        word = draw(st.sampled_from(_WORDS))
        if draw(st.booleans()):
            word = damage.garble(word)
        pieces.append(word + draw(st.sampled_from(_GLUE)))
    return damage, "".join(pieces)


@settings(max_examples=400, deadline=None)
@given(_windows())
def test_could_repair_never_skips_an_acceptable_repair(case: tuple[Damage, str]) -> None:
    """Where the screen says no, the full search finds nothing that clears the margin
    (every use of a proposal needs at least ``config.margin``)."""
    damage, window = case
    if could_repair(damage, window):
        return
    METER.start(len(window))
    repairs = propose(window, damage, get_model(), 0, len(window), DEFAULT.keep_uncertain)
    assert all(r.gain < DEFAULT.margin for r in repairs), [(r.fix, r.gain) for r in repairs]


@st.composite
def _any_damage_windows(draw: st.DrawFn) -> tuple[Damage, str]:
    """A window as in :func:`_windows`, under any damage the engine tries."""
    damage = draw(st.sampled_from(DAMAGES))
    pieces = []
    for _ in range(draw(st.integers(1, 8))):
        word = draw(st.sampled_from(_WORDS))
        if draw(st.booleans()):
            try:
                word = damage.garble(word)
            except UnicodeError:
                pass  # the source encoding cannot hold the word: keep it clean
        pieces.append(word + draw(st.sampled_from(_GLUE)))
    return damage, "".join(pieces)


@settings(max_examples=300, deadline=None)
@given(_any_damage_windows(), st.sampled_from([DEFAULT.margin, 0.0, -20.0]))
def test_gain_floor_keeps_every_repair_that_reaches_it(
    case: tuple[Damage, str], floor: float
) -> None:
    """``propose`` with a floor leaves islands before the inverse check; it must still
    return every repair at or above the floor, and nothing the search without it
    would not (find_damage asks for the plain margin on the line itself)."""
    damage, window = case
    model = get_model()
    METER.start(len(window))
    full = propose(window, damage, model, 0, len(window), DEFAULT.keep_uncertain)
    METER.start(len(window))
    floored = propose(window, damage, model, 0, len(window), DEFAULT.keep_uncertain, floor)
    assert all(r in full for r in floored)
    assert [r for r in full if r.gain >= floor] == [r for r in floored if r.gain >= floor]


def test_source_chars_decode_as_the_codec_does() -> None:
    """The walker's lookup tables give what decoding each byte or pair gives."""
    for source in {d.source for d in DAMAGES if not d.source.is_utf8}:
        singles, pairs, _leads = _source_tables(source)
        single_chars, pair_chars = _source_chars(source)
        for b in range(256):
            assert single_chars[b] == (bytes([b]).decode(source.codec) if singles[b] else None)
        assert set(pair_chars) == pairs
        for pair, ch in pair_chars.items():
            assert bytes([pair >> 8, pair & 0xFF]).decode(source.codec) == ch


@settings(max_examples=100, deadline=None)
@given(_any_damage_windows())
def test_runs_shared_between_damages_change_no_proposal(case: tuple[Damage, str]) -> None:
    """Damages read by the same reader share its byte runs on one text; every damage
    must still propose what it proposes alone."""
    _damage, window = case
    model = get_model()
    shared: dict[RunKey, list[SlotRun]] = {}
    for damage in DAMAGES:
        METER.start(len(window))
        alone = propose(window, damage, model, 0, len(window), DEFAULT.keep_uncertain)
        METER.start(len(window))
        together = propose(
            window, damage, model, 0, len(window), DEFAULT.keep_uncertain, shared=shared
        )
        assert together == alone, damage.kind


def _validated_utf8(seq: list[int]) -> str | None:
    """The walker's character as it was found before: a validator step per byte."""
    state: tuple[int, int, int] | None = (0, 0, 0)
    for b in seq:
        state = _utf8_step(state, b) if state is not None else None
    if state is None or state[0]:
        return None
    return bytes(seq).decode("utf-8")


@settings(max_examples=2000, deadline=None)
@given(
    st.integers(0xC2, 0xF4),
    st.lists(st.one_of(st.integers(0x70, 0xC8), st.integers(0, 255)), min_size=3, max_size=3),
)
def test_whole_utf8_decodes_as_the_validator_reads(lead: int, rest: list[int]) -> None:
    seq = [lead, *rest[: _utf8_len(lead) - 1]]
    assert _whole_utf8(seq) == _validated_utf8(seq)


def test_whole_utf8_on_every_two_byte_sequence() -> None:
    for lead in range(0xC2, 0xE0):
        for b in range(256):
            assert _whole_utf8([lead, b]) == _validated_utf8([lead, b])
    assert _whole_utf8([0xEF, 0xBF, 0xBD]) == "\ufffd"


def _proof_by_separate_scans(text: str) -> bool:
    """gate.proof_of_damage as it was written: each trigger in turn."""
    rare_question = gate._patterns()[2]
    return bool(
        re.search(f"[{gate.NEVER_CHARS}]", text)
        or gate.utf8_run(text)
        or rare_question.search(text)
        or gate.CUT_STREAM.search(text)
        or gate.latin_evidence(text)
        or gate.CYRILLIC_PAIR.search(text)
    )


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_TRIGGER_ALPHABET, max_size=120))
def test_fused_proof_of_damage_answers_as_the_separate_triggers(text: str) -> None:
    assert gate.proof_of_damage(text) == _proof_by_separate_scans(text)


def _encodable_prefix_by_trials(text: str, codec: str) -> bytes | None:
    """gate._encodable_prefix as it was written: the longest prefix that encodes."""
    for end in range(len(text), 0, -1):
        with contextlib.suppress(UnicodeEncodeError):
            return text[:end].encode(codec)
    return None


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_TRIGGER_ALPHABET + "\U00020000\u00e9", max_size=8))
def test_encodable_prefix_stops_at_the_first_unencodable_character(text: str) -> None:
    for codec in gate._LEAD_CODECS:
        assert gate._encodable_prefix(text, codec) == _encodable_prefix_by_trials(text, codec)


# Words that garble into rare characters under one reader or another, plus Latin
# and Cyrillic words (two-byte UTF-8), and kana and Hangul.
_INSIDE_WORDS = [
    *_WORDS,
    *["café", "Straße", "Москва", "שלום", "١٢٣", "ひらがな", "カタカナ", "서울", "龘靐", "𠀀"],
]
_UTF8_READERS = [d for d in DAMAGES if d.source.is_utf8 and d.reading.double_byte and not d.cut]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(_UTF8_READERS),
    st.lists(st.sampled_from([*_INSIDE_WORDS, " ", "a", "，", "1"]), min_size=1, max_size=6),
    st.data(),
)
def test_utf8_inside_admits_every_stretch_of_mojibake(
    damage: Damage, words: list[str], data: st.DataObject
) -> None:
    """Any two or more non-ASCII characters in a row of UTF-8 read by a double-byte
    reader pass the screen, whatever the reader, policy or text."""
    garbled = damage.garble("".join(words))
    a = data.draw(st.integers(0, max(0, len(garbled) - 2)))
    b = data.draw(st.integers(a + 2, min(len(garbled), a + 5))) if len(garbled) >= a + 2 else a
    if b - a < 2 or any(c.isascii() for c in garbled[a:b]):
        return
    assert utf8_inside(garbled, a, b), (garbled, a, b)


def test_utf8_inside_refuses_rare_pairs_of_clean_text() -> None:
    # Rare characters side by side in clean classical poetry. (Some still pass by
    # chance: 惴惴 in EUC-JP is D8 B8 D8 B8, Arabic ظظ in UTF-8.)
    for line, a, b in [("愿妳妳、兰心蕙性", 1, 3), ("嚴寒動八荒，莿莿無休時", 6, 8)]:
        assert not utf8_inside(line, a, b), line


_CLEAN_RARE = ["娅姹", "蕙性", "莿莿", "棖棖", "惴惴", "罠に陥", "霅溪", "螟蛉"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*_CLEAN_RARE, *_WORDS, "，", "。", " "]), min_size=1, max_size=10))
def test_lines_not_worth_searching_hold_no_repair(words: list[str]) -> None:
    """Where the detector's line screen says no, searching the line anyway finds no
    repair that clears the margin."""
    line = "".join(words)
    model = get_model()
    if detect._worth_searching(line, model):
        return
    found = detect._candidates(line, 0, len(line), model, Config(), top=True)
    assert all(r.gain < DEFAULT.margin for r in found), [(r.fix, r.gain) for r in found]


def test_markers_among_characters_the_reader_lacks_are_not_lost_bytes() -> None:
    # Hangul around a "?": no Big5 or GBK reader shows Hangul, so its mojibake
    # cannot be there; a Korean reader's can.
    line = "엥?이,이거 한국꺼 아니었나??"
    for kind in ("utf8_as_big5_q", "utf8_as_big5_win", "utf8_as_gbk_q"):
        assert not could_repair(_damage(kind), line), kind
    cut = next(d for d in DAMAGES if d.kind == "gbk_chunk_split")
    assert not could_repair(cut, line)
    assert could_repair(_damage("utf8_as_euckr_win"), line)


def test_a_windows_marker_must_cut_into_utf8() -> None:
    # An ASCII "?" after clean Chinese: no UTF-8 character can run through it
    # under a Windows Big5 or cp949 reader, while real Windows mojibake passes.
    clean = "網路媒體在何方?--復興網路媒體"
    for kind in ("utf8_as_big5_win", "utf8_as_euckr_win"):
        damage = _damage(kind)
        assert not could_repair(damage, clean), kind
        garbled = damage.garble("韓國語的文字，我們在何方？")
        assert damage.reading.marker in garbled
        assert could_repair(damage, garbled), (kind, garbled)


def _utf8_run_over_every_run(text: str) -> bool:
    """gate._utf8_run as it was written: every run of CJK characters decoded."""
    for m in re.finditer("[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]{3,}", text):
        decoded = m.group().encode("gbk", "replace").decode("utf-8", "replace")
        body = decoded.rstrip("\ufffd")
        if len(decoded) - len(body) <= 1 and len(body) >= 2:
            if "\ufffd" not in body and not any(c.isascii() for c in body):
                return True
    return False


_RUN_WORDS = ["说明", "设置", "文本文件", "你好", "唐宋", "，", "。", "a", " ", "測試"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_RUN_WORDS), max_size=8), st.lists(st.booleans(), max_size=8))
def test_utf8_run_tries_only_runs_that_begin_utf8(words: list[str], garble: list[bool]) -> None:
    gbk = _damage("utf8_as_gbk")
    text = "".join(
        gbk.garble(w) if i < len(garble) and garble[i] else w for i, w in enumerate(words)
    )
    assert gate._utf8_run.__wrapped__(text) == _utf8_run_over_every_run(text)


def test_cross_cjk_reading_needs_a_run_its_reader_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean line of simplified classical poetry (嚣嚣: no Big5 reader shows it)
    is not searched as GBK read by Big5; the GBK reader still reads its own run."""
    tried: list[str] = []
    real = detect.propose

    def spy(text: str, damage: Damage, *args: object, **kwargs: object) -> list:
        tried.append(damage.kind)
        return real(text, damage, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(detect, "propose", spy)
    line = "得似个、有嚣嚣。"
    detect._candidates(line, 0, len(line), get_model(), Config(), top=True)
    assert "gbk_as_big5" not in tried
    assert "big5_as_gbk" in tried
    tried.clear()
    garbled = next(d for d in DAMAGES if d.kind == "gbk_as_big5").garble("我们今天去公园散步吧。")
    detect._candidates(garbled, 0, len(garbled), get_model(), Config(), top=True)
    assert "gbk_as_big5" in tried


def test_markers_without_company_leave_lossless_mojibake_beside_them() -> None:
    # Found by the property test above: six U+FFFD with no Big5 character near
    # them are no lost bytes, but 皜祈岫 further on is 測試 read by Big5, whole.
    window = "\ufffd" * 6 + "?变革?唐宋?皜祈岫?"
    assert could_repair(_damage("utf8_as_big5"), window)
