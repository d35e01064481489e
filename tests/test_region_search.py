"""The lost-byte search against a plain depth-first walk of every fill.

``roundtrip._search_utf8`` finds the UTF-8 byte strings a stretch with lost bytes
can stand for in three passes over parse states, so that fills which die later
and regions with too many options cost one pass each. The walk below is the
definition it must agree with: every fill of every marker, in order, kept when
the UTF-8 parse survives and the reader's failure on a lone byte is consistent
with the fill after it.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from textfix.codecs import DAMAGES, Damage, Reading
from textfix.repair import roundtrip as rt
from textfix.score import get_model

READINGS = sorted(
    {d.reading for d in DAMAGES if d.source.is_utf8 and d.reading.double_byte},
    key=lambda r: (r.codec, r.policy),
)


def reference(region: list[int], reading: Reading, after: int) -> set[bytes]:
    pair_check = reading.double_byte and reading.policy != "windows"
    found: set[bytes] = set()

    def walk(i: int, acc: list[int], state: tuple[int, int, int], prev_fill: int) -> None:
        if i == len(region):
            if state[0] == 0:
                found.add(bytes(acc))
            return
        slot = region[i]
        if slot >= 0:
            nxt_state = rt._utf8_step(state, slot)
            if nxt_state is not None:
                walk(i + 1, [*acc, slot], nxt_state, -1)
            return
        nxt = region[i + 1] if i + 1 < len(region) else after
        for fill, st_after in rt._utf8_fills(reading, state, nxt):
            if prev_fill >= 0 and reading.valid_pair(prev_fill, fill[0]):
                continue
            keep = fill[0] if pair_check and len(fill) == 1 else -1
            walk(i + 1, [*acc, *fill], st_after, keep)

    walk(0, [], (0, 0, 0), -1)
    return found


# Slots drawn from UTF-8's own byte classes, so that regions parse often enough.
SLOT = st.one_of(
    st.just(rt.UNKNOWN),
    st.integers(0x80, 0xBF),  # continuation
    st.integers(0xE3, 0xE9),  # CJK lead
    st.integers(0xEA, 0xED),  # Hangul lead
    st.integers(0x41, 0x5A),  # ASCII a reader may have paired
)


@settings(max_examples=200, deadline=None)
@given(
    region=st.lists(SLOT, min_size=1, max_size=6).filter(lambda r: r.count(rt.UNKNOWN) <= 2),
    reading=st.sampled_from(READINGS),
    after=st.sampled_from([-2, -1, 0x20, 0x80, 0xE4]),
)
def test_search_matches_the_walk(region: list[int], reading: Reading, after: int) -> None:
    # A Windows marker stands for a byte pair: two of them are too many for the walk.
    assume(reading.policy != "windows" or region.count(rt.UNKNOWN) <= 1)
    got, _steps = rt._search_utf8(region, reading, after)
    want = reference(region, reading, after)
    if len(want) > rt._MAX_REGION_CANDIDATES:
        assert got == []
    else:
        assert len(got) == len(set(got))
        assert set(got) == want


def test_three_lost_bytes_in_a_row_stay_bounded() -> None:
    # 中 with every byte lost: thousands of readings, answered without building them.
    for reading in READINGS:
        got, steps = rt._search_utf8([rt.UNKNOWN] * 3, reading, -2)
        assert steps <= rt._SEARCH_BUDGET
        assert len(got) <= rt._MAX_REGION_CANDIDATES


SJIS_WIN = Reading("sjis", "cp932", "windows")


def _sjis_win() -> Reading:
    from textfix.codecs import DAMAGES

    return next(d.reading for d in DAMAGES if d.reading == SJIS_WIN)


def test_two_windows_markers_are_ranked_not_dropped() -> None:
    # 兄の (E5 85 84 E3 81 AE) read by Windows cp932: 蜈 then two markers, each
    # swallowing a byte pair. Far too many readings to list, so unranked the
    # region is given up; ranked after "じる" the right one is kept (態 follows:
    # E6 85 read as 諷).
    from textfix.score import get_model

    reading = _sjis_win()
    region = [0xE5, 0x85, rt.UNKNOWN, rt.UNKNOWN]
    got, steps = rt._search_utf8(region, reading, 0xE6)
    assert got == []
    ranked, ranked_steps = rt._search_utf8(region, reading, 0xE6, rt._Ranker(get_model(), "じる"))
    assert 0 < len(ranked) <= rt._REGION_BEAM
    assert "兄の".encode() in ranked
    # The ranking's work is bounded (a step past the budget stops it).
    assert ranked_steps - steps <= rt._BEAM_BUDGET + 4_096


@settings(max_examples=25, deadline=None)
@given(
    region=st.lists(SLOT, min_size=2, max_size=5).filter(lambda r: r.count(rt.UNKNOWN) == 2),
    after=st.sampled_from([-2, -1, 0x20, 0x80, 0xE4]),
)
def test_ranked_readings_are_readings(region: list[int], after: int) -> None:
    # The ranking only prunes: what it keeps, the full search (with no limit on
    # how many it lists) finds too.
    from textfix.score import get_model

    reading = _sjis_win()
    got, _steps = rt._search_utf8(region, reading, after, rt._Ranker(get_model(), "の"))
    assert len(got) == len(set(got)) <= rt._MAX_REGION_CANDIDATES
    limit = rt._MAX_REGION_CANDIDATES
    rt._MAX_REGION_CANDIDATES = 10**9
    try:
        every, _steps = rt._search_utf8(region, reading, after)
    finally:
        rt._MAX_REGION_CANDIDATES = limit
    assert set(got) <= set(every)


def test_duplicate_byte_pairs_follow_the_utf8() -> None:
    # cp932 reads both 81 E0 and 87 90 as ≒ but writes 81 E0. After E6 (懐 is
    # E6 87 90) only 87 90 continues the UTF-8, so that is the pair the reader saw.
    from textfix.codecs import byte_alternatives

    reading = _sjis_win()
    assert byte_alternatives(reading)["≒"] == (b"\x81\xe0", b"\x87\x90")
    assert rt._fitting((b"\x81\xe0", b"\x87\x90"), [0xE3, 0x81, 0x8C, 0xE6]) == b"\x87\x90"
    assert rt._fitting((b"\x81\xe0", b"\x87\x90"), [0x41]) == b"\x81\xe0"
    # GBK has no such pairs.
    assert byte_alternatives(Reading("gbk", "gbk", "replace")) == {}


def test_lost_hangul_is_put_back_as_hangul() -> None:
    # 대한 (EB 8C 80 ED 95 9C) read as EUC-KR: the first four bytes are lost, so
    # the region holds four markers, more than an unranked region may. Unranked it
    # is given up; ranked, every reading it offers completes Hangul only.
    from textfix.codecs import DAMAGES
    from textfix.score import get_model

    reading = next(d.reading for d in DAMAGES if d.kind == "utf8_as_euckr")
    region = [rt.UNKNOWN] * 4 + [0x95, 0x9C]
    assert rt._search_utf8(region, reading, -2)[0] == []
    ranked, _steps = rt._search_utf8(
        region, reading, -2, rt._Ranker(get_model(), "에", only=rt._RANKED[reading][2])
    )
    assert "대한".encode() in ranked
    for raw in ranked:
        assert all("\uac00" <= ch <= "\ud7a3" for ch in raw.decode("utf-8"))


def test_damage_may_end_before_bytes_that_do_not_continue_it() -> None:
    # 行 in GBK (D0 D0) is no UTF-8 character; 影 (D3 B0) is UTF-8 for Ӱ, which is
    # what the clean character after a damaged stretch often turns into.
    assert rt._may_end_here([0xE7, 0x94, rt.UNKNOWN, 0xD0, 0xD0], 3)
    assert rt._may_end_here([0xE7, 0x94, rt.UNKNOWN, 0xD3, 0xB0], 3)
    # A 3-byte character, or one still open at a lost byte, is damage going on.
    assert not rt._may_end_here([0xE7, 0x94, rt.UNKNOWN, 0xE5, 0xBD, 0xB1], 3)
    assert not rt._may_end_here([0xE7, 0x94, rt.UNKNOWN, 0xE5, rt.UNKNOWN], 3)


def test_a_clean_character_is_given_back_to_the_text() -> None:
    # 公园 read as GBK, then clean 散步: 散 is C9 A2 in GBK, UTF-8 for ɢ.
    garbled = "今天我们一起去公园".encode().decode("gbk", "replace").replace("\ufffd", "?")
    damage = next(d for d in DAMAGES if d.kind == "utf8_as_gbk_q")
    text = garbled + "散步吧。"
    rt.METER.start(len(text))
    fixes = [r.fix for r in rt.propose(text, damage, get_model(), 0, len(text))]
    assert "今天我们一起去公园" in fixes
    assert not any("ɢ" in fix for fix in fixes)


# One CJK encoding read as another, by a reader that shows one marker per lost byte.
CROSS_CJK = [
    d
    for d in DAMAGES
    if not d.source.is_utf8
    and d.reading.double_byte
    and not d.cut
    and d.reading.policy != "windows"
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CROSS_CJK), st.integers(0x40, 0xFE), st.integers(0x40, 0xFE))
def test_lost_characters_read_back_as_the_markers_they_fill(
    damage: Damage, after: int, trail: int
) -> None:
    # Every reading offered for a character lost whole (before a known byte), and
    # for one lost whole before a lost lead and its known trail, garbles back into
    # exactly the markers and the trail the reader showed.
    reading, codec = damage.reading, damage.source.codec
    marker = reading.marker or "\ufffd"
    tail = bytes([after, 0x41]) if after >= 0x80 else bytes([after])
    shown_after = tail.decode(reading.codec, "replace")
    lost = rt._lost_pairs(damage.source, reading)
    for ch in [c for c, p in lost if rt._fails_alone(reading, p & 0xFF, after)][:50]:
        got = (ch.encode(codec) + tail).decode(reading.codec, "replace")
        assert got == marker * 2 + shown_after, (ch, got)
    for two in rt._lost_two(damage.source, reading, trail)[:50]:
        got = two.encode(codec).decode(reading.codec, "replace")
        assert got == marker * 3 + bytes([trail]).decode(reading.codec, "replace"), (two, got)


def test_markers_among_ascii_are_no_island() -> None:
    # A Windows Big5 reader's "?" with nothing but ASCII around it: nothing the
    # reader showed says what it lost, so no island is offered for the model to
    # fill from nothing; with a character it showed beside it, one is.
    damage = next(d for d in DAMAGES if d.kind == "utf8_as_big5_win")
    text = "?--"
    slots = [rt.UNKNOWN, 0x2D, 0x2D]
    walker = rt._Walker(damage, slots, [0, 1, 2], len(text))
    assert list(walker.islands()) == []
    shown = list(damage.reading.char_bytes("蝏") or b"")
    walker = rt._Walker(damage, [*shown, rt.UNKNOWN, 0x2D], [0] * len(shown) + [1, 2], 3)
    assert any(island.lossy for island in walker.islands())
