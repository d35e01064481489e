"""The whole-stretch decoder for lossy readers (textfix.repair.channel)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textfix import apply_plan, fix_and_explain, fix_text, scan
from textfix.codecs import DAMAGES
from textfix.repair import channel
from textfix.score import get_model

_KINDS = sorted(channel.CHANNEL_DAMAGES)


def _through_automaton(kind: str, data: bytes) -> str:
    auto = channel._automaton(channel.CHANNEL_DAMAGES[kind].reading)
    state, shown = channel._NO_LEAD, []
    for b in data:
        out, state = auto.step(state, b)
        shown.append(out)
    return "".join(shown) + auto.flush(state)


def test_only_lossy_double_byte_readers_of_utf8_are_decoded_whole() -> None:
    assert "utf8_as_euckr_win" in _KINDS
    assert "utf8_as_gbk_q" in _KINDS
    # Windows Big5 swallows a byte after each bad lead: see channel._eligible.
    assert "utf8_as_big5" in _KINDS
    assert "utf8_as_big5_win" not in _KINDS
    assert all(channel.CHANNEL_DAMAGES[k].reading.policy != "strict" for k in _KINDS)


@settings(max_examples=300)
@given(kind=st.sampled_from(_KINDS), data=st.binary(max_size=24))
def test_the_automaton_reads_bytes_as_the_reader_does(kind: str, data: bytes) -> None:
    reading = channel.CHANNEL_DAMAGES[kind].reading
    assert _through_automaton(kind, data) == reading.decode(data)


@pytest.mark.parametrize("kind", _KINDS)
def test_the_automaton_reads_utf8_text_as_the_reader_does(kind: str) -> None:
    text = "바다, 山の上で 「海」 and 다리. 你好，世界！"
    damage = channel.CHANNEL_DAMAGES[kind]
    assert _through_automaton(kind, text.encode("utf-8")) == damage.garble(text)


# Sentences written for these tests. A Windows cp949 decoder swallows the byte
# after each bad lead, so a syllable before a space or punctuation can lose its
# last byte together with that ASCII character (다, shows as ??).
_KOREAN = [
    "어제는 비가 많이 왔다. 오늘은 날씨가 맑다.",
    "정말 사랑스럽다, 진짜 좋은 영화였다.",
    "우리는 내일 아침에 도서관에 갈 거예요.",
]


@pytest.mark.parametrize("kind", ["utf8_as_euckr_win", "utf8_as_euckr", "utf8_as_gbk_q"])
@pytest.mark.parametrize("text", _KOREAN)
def test_a_decoded_stretch_garbles_back_to_what_was_seen(kind: str, text: str) -> None:
    damage = channel.CHANNEL_DAMAGES[kind]
    garbled = damage.garble(text)
    got = channel.decode(garbled, damage, get_model(), "\n\n", "\n")
    assert got is not None
    assert damage.garble(got.best) == garbled


def _differing(a: str, b: str) -> int:
    """Characters of ``a`` that differ from ``b``, not counting U+FFFD (a doubtful
    character the repair masked)."""
    if len(a) != len(b):
        return len(a) + len(b)
    return sum(x != y and x != "\ufffd" for x, y in zip(a, b, strict=True))


def _unmasked(out: str, text: str) -> str:
    """``out`` with each masked character taken from ``text``."""
    return "".join(y if x == "\ufffd" else x for x, y in zip(out, text, strict=True))


def test_a_windows_cp949_line_is_read_whole() -> None:
    damage = channel.CHANNEL_DAMAGES["utf8_as_euckr_win"]
    text = _KOREAN[0]
    garbled = damage.garble(text)
    assert garbled.count("?") >= 4
    out = fix_text(garbled)
    # Every pair is read; the model may still take 이제 (now) for 어제 (yesterday),
    # which are the same bytes but one, and masks what it is not sure of.
    assert _differing(out, text) <= 1, out
    assert out.count("\ufffd") <= 2, out
    found = [f for f in scan(garbled) if f.fix is not None]
    assert [f.kind for f in found] == ["utf8_as_euckr_win"]
    explained = fix_and_explain(garbled)
    assert apply_plan(garbled, explained.steps) == explained.text == out


def test_windows_cp949_lines_lose_their_question_marks() -> None:
    # The model may still pick a wrong syllable or punctuation mark here, but every
    # swallowed pair is read: no "?" is left where the text had none.
    damage = channel.CHANNEL_DAMAGES["utf8_as_euckr_win"]
    for text in _KOREAN:
        out = fix_text(damage.garble(text))
        assert "?" not in out, out
        if len(out) == len(text):  # a mask may also stand for a different split
            assert damage.garble(_unmasked(out, text)) == damage.garble(text)


def test_a_line_with_no_accepted_repair_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = channel.decode

    def spy(garbled: str, *args: object, **kwargs: object) -> channel.Decoded | None:
        calls.append(garbled)
        return real(garbled, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(channel, "decode", spy)
    clean = "오늘은 날씨가 맑다? 내일은 비가 온대요?"
    assert fix_text(clean) == clean
    assert calls == []


def test_a_stretch_the_reader_shows_mostly_as_markers_is_given_up() -> None:
    # UTF-8 read as cp949 by Windows, but with every other character lost: the
    # search would have to try nearly every character at every marker.
    damage = channel.CHANNEL_DAMAGES["utf8_as_euckr_win"]
    assert channel.decode("?" * 400, damage, get_model(), "\n\n", "\n") is None


def test_every_eligible_damage_is_in_the_engine_list() -> None:
    assert set(channel.CHANNEL_DAMAGES.values()) <= set(DAMAGES)


def test_a_stretch_mostly_lost_is_not_decoded() -> None:
    from textfix.detect import _mostly_seen

    windows = channel.CHANNEL_DAMAGES["utf8_as_euckr_win"]
    assert _mostly_seen(windows.garble(_KOREAN[2]), "?")  # 14 markers, 13 characters seen
    assert not _mostly_seen("\ufffd" * 5, "\ufffd")
    # 文本文件 read as Big5: eight markers, two characters seen.
    assert not _mostly_seen("�����祆��隞�", "\ufffd")


# Sentences written for these tests, read as UTF-8 by Python's Big5 decoder: about
# two bytes in three show as U+FFFD, and the walker alone leaves such lines
# nearly as they were. Most lines like these come back only partly right (the
# model chooses the characters whose bytes were all lost); this one whole.
_BIG5_LINES = ["用鼠标调整框架的大小。"]


@pytest.mark.parametrize("text", _BIG5_LINES)
def test_a_line_of_utf8_read_by_big5_is_decoded_whole(text: str) -> None:
    garbled = text.encode("utf-8").decode("cp950", errors="replace")
    assert garbled.count("\ufffd") * 3 >= len(garbled)
    explained = fix_and_explain(garbled)
    assert explained.text == text
    assert [s.kind for s in explained.steps] == ["utf8_as_big5"]
    assert apply_plan(garbled, explained.steps) == text
    (finding,) = explained.findings
    # The characters that showed only as markers are counted, and lower the confidence.
    assert finding.detail["guessed"] > 0
    assert finding.confidence < 1 - finding.detail["guessed"] / len(text) + 1e-9


def test_doubtful_characters_of_a_decoded_line_are_masked() -> None:
    garbled = "他唱过什么歌吗？".encode().decode("cp950", errors="replace")
    damage = channel.CHANNEL_DAMAGES["utf8_as_big5"]
    sure = channel.decode(garbled, damage, get_model(), "\n\n", "\n", keep_margin=0.0)
    doubt = channel.decode(garbled, damage, get_model(), "\n\n", "\n", keep_margin=5.0)
    assert sure is not None and doubt is not None
    assert sure.best == doubt.best == sure.shown == "他唱过什么歌吗？"
    assert doubt.masked > 0
    assert doubt.shown.count("\ufffd") == doubt.masked
    kept = [a for a, b in zip(doubt.shown, doubt.best, strict=True) if a != "\ufffd"]
    assert kept and all(a in doubt.best for a in kept)


def test_the_big5_line_decode_needs_utf8_structure() -> None:
    from textfix.detect import _lost_to_big5, _utf8_with_holes

    # Clean Big5 text: 我 is A7 DA, and A7 can only continue a UTF-8 character.
    clean = "我們\ufffd\ufffd\ufffd的朋友"
    assert not _utf8_with_holes(clean.encode("cp950", errors="replace"), frozenset())
    assert _lost_to_big5(clean, 0, len(clean), get_model(), 0.25) is None
    assert fix_text(clean) == clean


def test_a_mostly_han_decode_is_read_again_without_stray_kana() -> None:
    assert channel._stray_scripts("送辛樂毅感恩如，輸誠を落梅花枝。") == {"kana"}
    assert channel._stray_scripts("これは日本語の文です") == frozenset()
    assert channel._stray_scripts("한국어 문장 漢字") == frozenset()


@settings(max_examples=40, deadline=None)
@given(
    text=st.sampled_from(["用鼠标调整框架的大小。", "他唱过歌吗？", "會議結束以後", "バス停 a1"]),
    state=st.sampled_from([channel._NO_LEAD, 0xA4, 0xE5, 0x81]),
)
def test_the_big5_tables_propose_what_the_trie_walk_does(text: str, state: int) -> None:
    damage = channel.CHANNEL_DAMAGES["utf8_as_big5"]
    garbled = damage.garble(text)
    looked = channel._Stretch(garbled, damage, get_model(), channel._FREQUENT)
    walked = channel._Stretch(garbled, damage, get_model(), channel._FREQUENT)
    assert looked.tables is not None
    walked.tables = None
    for pos in range(len(garbled)):
        assert sorted(looked.proposals(state, pos)) == sorted(walked.proposals(state, pos))
