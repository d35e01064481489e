"""The repair engine on the hand-made case file, plus its contracts."""

from __future__ import annotations

import json
from typing import Any

import pytest

import textfix
from textfix import Config, apply_plan, fix_and_explain, fix_text, scan
from textfix.codecs import DAMAGES
from textfix.findings import Step

from .conftest import load_cases

CORE = load_cases("core.json")


@pytest.mark.parametrize("case", CORE, ids=[c["label"] for c in CORE])
def test_case(case: dict) -> None:
    out = fix_text(case["garbled"])
    assert out == case["fixed"]
    found = scan(case["garbled"])
    if case["expect"] == "unchanged":
        assert found == []
    else:
        # Latin-1 and cp1252 readings agree on most bytes, so either name is right.
        def norm(kind: str) -> str:
            return kind.replace("cp1252", "latin1")

        assert any(norm(f.kind) == norm(case["kind"]) for f in found), found


@pytest.mark.parametrize("case", CORE, ids=[c["label"] for c in CORE])
def test_replay(case: dict) -> None:
    ex = fix_and_explain(case["garbled"])
    assert apply_plan(case["garbled"], ex.steps) == ex.text
    as_json = json.loads(json.dumps([s.to_dict() for s in ex.steps], ensure_ascii=False))
    assert apply_plan(case["garbled"], as_json) == ex.text
    assert fix_text(ex.text) == ex.text  # idempotent


def test_clean_text_is_the_same_object() -> None:
    text = "这是一段完全正常的中文。"
    assert fix_text(text) is text


def test_steps_name_codecs_and_layers() -> None:
    ex = fix_and_explain("浣犲ソ锛屼笘鐣岋紒")
    assert ex.text == "你好，世界！"
    (step,) = ex.steps
    assert step.kind == "utf8_as_gbk"
    assert step.detail["layers"] == ["utf8_as_gbk"]
    assert (step.start, step.end) == (0, len("浣犲ソ锛屼笘鐣岋紒"))


def test_scan_positions_refer_to_the_input() -> None:
    text = "价格：" + "你好世界".encode().decode("gbk")
    (finding,) = scan(text)
    assert (finding.start, finding.end) == (3, len(text))
    assert finding.fix == "你好世界"
    assert 0 < finding.confidence <= 1


def test_apply_plan_rejects_a_mismatched_text() -> None:
    ex = fix_and_explain("ÄãºÃ")
    with pytest.raises(ValueError):
        apply_plan("something else", ex.steps)


def test_repairs_can_be_switched_off() -> None:
    garbled = "浣犲ソ锛屼笘鐣岋紒"
    assert fix_text(garbled, repair_codecs=False) == garbled
    assert fix_text(garbled, Config(repair_codecs=False)) == garbled


def test_unknown_option_is_an_error() -> None:
    with pytest.raises(TypeError):
        fix_text("x", no_such_option=True)


def test_kunjinkao_is_reported_not_removed() -> None:
    text = "这是一段锟斤拷锟斤拷的文字"
    assert fix_text(text) == text
    assert [f.kind for f in scan(text)] == ["kunjinkao"]
    assert scan(text)[0].fix is None


def test_every_damage_round_trips_its_own_garbling() -> None:
    """Each hypothesis's garble() is the exact inverse the repair relies on."""
    sample = {
        "utf8": "中文測試かな한국어",
        "gbk": "中文测试",
        "big5": "中文測試",
        "sjis": "日本語かな",
        "eucjp": "日本語かな",
        "euckr": "한국어",
    }
    for damage in DAMAGES:
        text = sample[damage.source.label]
        try:
            garbled = damage.garble(text)
        except UnicodeError:
            continue
        assert isinstance(garbled, str)


def test_fix_batch_matches_fix_text() -> None:
    texts = ["浣犲ソ", "clean", "ÄãºÃ"]
    assert textfix.fix_batch(texts) == [fix_text(t) for t in texts]


def test_step_round_trips_through_dict() -> None:
    step = Step("repair", "utf8_as_gbk", 0, 2, "ab", "c", {"layers": ["utf8_as_gbk"]})
    assert Step.from_dict(step.to_dict()) == step


def test_trigram_ranks_fills_and_backs_off_to_the_bigram() -> None:
    from textfix.score import get_model

    model = get_model()
    # A context the table never saw says nothing: the bigram decides alone.
    assert model.transition3("\ufffd", "가", "나") == model.transition("가", "나")
    # 할 수 ("can"): the character after the fill is what tells 할 from 한.
    assert model.transition3("할", " ", "수") > model.transition3("한", " ", "수")


def test_trigram_rows_are_read_by_context() -> None:
    from textfix.score.model import CharModel

    # Built from a flat table, as from the packaged rows split by context.
    model = CharModel(
        {"甲": -5.0}, {"甲乙": -6.0}, trigrams={"甲乙丙": 7, "甲乙丁": 9, "乙丙丁": 4}
    )
    assert model._trigram("甲乙", "丙") == 7
    assert model._trigram("甲乙", "丁") == 9
    assert model._trigram("乙丙", "丁") == 4
    assert model._trigram("甲乙", "戊") is None
    assert model._trigram("丙丁", "甲") is None


def test_lossless_repair_does_not_read_the_trigram_table() -> None:
    from textfix import detect
    from textfix.score import CharModel

    fresh = CharModel.load()
    # Swap in a model that has never read its trigram rows, then repair without loss.
    original = detect.get_model
    detect.get_model = lambda: fresh  # type: ignore[assignment]
    try:
        assert fix_text("浣犲ソ锛屼笘鐣岋紒") == "你好，世界！"
    finally:
        detect.get_model = original  # type: ignore[assignment]
    assert fresh._tri_rows is None


def test_a_lone_lead_character_needs_utf8_bytes_after_it() -> None:
    from textfix import gate

    # 浣犲ソ is 你好 read as GBK: the bytes from 犲 on are UTF-8 (A0 E5 A5 BD).
    garbled = "你好".encode().decode("gbk")
    assert any(gate.starts_utf8(garbled, i) for i in range(len(garbled) - 1))
    # 鋩 (a UTF-8 lead byte in GBK) before 。 (A1 A3): A3 cannot start a character.
    assert not gate.starts_utf8("鋩。", 0)
    # In Shift-JIS 。 is 81 42: a continuation byte, then "B". The second character
    # must be multibyte, as it is in mojibake of CJK text.
    assert not gate.starts_utf8("譏。", 0)


def test_a_clean_line_with_a_lead_character_is_not_searched() -> None:
    from textfix import detect
    from textfix.score import get_model

    model = get_model()
    assert not detect._worth_searching("不解生鋩。", model)
    # The same character next to a lost byte is still worth a look.
    assert detect._worth_searching("不解生鋩?。", model)


def test_a_short_cross_cjk_piece_beside_a_repair_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Big5 read as GBK: the reader rejects both bytes of 片 (A4 F9) and leaves two
    # U+FFFD. Filled, they join the run into one repair.
    garbled = "定義名片的外觀，然後按確定。".encode("big5").decode("gbk", "replace")
    assert fix_text(garbled) == "定義名片的外觀，然後按確定。"
    # Where such a gap cannot be filled it cuts the damaged run in two; the three
    # characters before the cut are too short to stand alone but lie next to an
    # accepted repair of the same kind.
    from textfix.repair import roundtrip

    monkeypatch.setattr(roundtrip._Walker, "_lost_pair", lambda self, k: None)
    roundtrip._PRERANK_CACHE.clear()
    pieces = [f for f in scan(garbled) if f.kind == "big5_as_gbk"]
    assert pieces[0].start == 0 and pieces[0].fix == "定義名"
    assert fix_text(garbled).startswith("定義名")


def _long_latin_text_with_damage() -> tuple[str, list[str]]:
    import random

    rng = random.Random(5)
    words = "the river report archive index quarterly north station review".split()
    # A marker at the very end stands for a lone lead byte at the end of the text;
    # before a newline it would stand for a byte pair, so such lines are left out.
    damaged = [
        c["garbled"]
        for c in load_cases("core.json")
        if c["expect"] == "fixed" and c["garbled"][-1] not in "?\ufffd"
    ][:8]
    lines: list[str] = []
    for i in range(400):
        lines.append(" ".join(rng.choice(words) for _ in range(12)).capitalize() + ".")
        if i % 50 == 7:
            lines.append(damaged[(i // 50) % len(damaged)])
    return "\n".join(lines), damaged


def _fixed_like_the_whole_text(text: str) -> textfix.Explained:
    """fix_and_explain on a long text, checked against one run over all of it."""
    from textfix import pipeline

    explained = fix_and_explain(text)
    whole = pipeline._run_gated(text, Config())
    assert explained.text == whole.text != text
    assert [(f.kind, f.start, f.end, f.fix) for f in explained.findings] == [
        (f.kind, f.start, f.end, f.fix) for f in whole.findings
    ]
    assert apply_plan(text, explained.steps) == explained.text
    return explained


def test_long_text_is_fixed_line_by_line_like_short_text() -> None:
    from textfix import pipeline

    text, _ = _long_latin_text_with_damage()
    assert len(text) > pipeline._SEGMENT_MIN and pipeline._segments(text) is not None
    explained = _fixed_like_the_whole_text(text)
    assert explained.text == "\n".join(fix_text(line) for line in text.split("\n"))


def _long_cjk_text_with_damage() -> str:
    import random

    rng = random.Random(7)
    clauses = (
        "今天下午我们在图书馆讨论了新的计划 大家都认为这个方案比较合理 "
        "会议结束以后他把文件发给了每一位同事 明年春天学校还要举办一次展览 "
        "这座城市的交通比过去方便多了 她每天早上都去公园跑步"
    ).split()
    damaged = [
        c["garbled"]
        for c in load_cases("core.json")
        if c["expect"] == "fixed" and not c["garbled"].isascii() and "\n" not in c["garbled"]
    ][:8]
    assert damaged
    extra = ["召开,。蓝图", "这是藍(lán)圖。", "文件名锟斤拷乱码"]
    lines: list[str] = []
    for i in range(600):
        lines.append("，".join(rng.sample(clauses, 3)) + "。")
        if i % 40 == 9:
            lines.append(damaged[(i // 40) % len(damaged)])
        if i % 90 == 33:
            lines.append(extra[(i // 90) % len(extra)])
    return "\n".join(lines)


def test_long_cjk_text_reads_only_the_triggered_lines() -> None:
    from textfix import pipeline

    text = _long_cjk_text_with_damage()
    # Every CJK line holds a character some trigger needs, so the first cut gives
    # up; the lines where a trigger matches are few.
    assert pipeline._segments(text) is None
    segments = pipeline._triggered_segments(text, Config())
    assert segments is not None and sum(b - a for a, b in segments) < len(text) / 2
    _fixed_like_the_whole_text(text)
    # The opt-in CJK punctuation stage has its own trigger: the whole text is read.
    opted = fix_and_explain(text, cjk_punctuation=True)
    assert opted.text == pipeline._run_gated(text, Config(cjk_punctuation=True)).text


def test_clean_lines_with_rare_words_are_never_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rare characters side by side pass the fused gate, but no reader could have
    made them out of UTF-8 and they have no rare company: no stage reads them."""
    from textfix import detect, gate, pipeline

    poems = [
        "愿妳妳、兰心蕙性，枕前言下，表余深意。",
        "嚴寒動八荒，莿莿無休時。",
        "舞止干戚，樂停柷敔。",
    ]
    text = "\n".join(["今天下午我们在图书馆讨论了新的计划。", *poems] * 300)
    assert list(gate.stage_lines(text))  # the gate alone would have them read
    searched: list[str] = []
    real = detect._candidates

    def spy(text: str, lo: int, hi: int, *args: object, **kwargs: object) -> list:
        searched.append(text[lo:hi])
        return real(text, lo, hi, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(detect, "_candidates", spy)
    assert pipeline._triggered_segments(text, Config()) == []
    assert fix_text(text) == text
    assert searched == []


def test_later_passes_read_only_the_lines_the_last_pass_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textfix import pipeline
    from textfix.findings import Finding

    # A stage that shortens the first "xx" it sees: "yxxxx" takes three passes.
    read: list[str] = []

    def find(text: str, config: Config) -> list[Finding]:
        read.append(text)
        i = text.find("xx")
        return [Finding("test", i, i + 2, 1.0, "x")] if i >= 0 else []

    stage = pipeline.Stage("test", lambda c: True, lambda t: "xx" in t, find)
    monkeypatch.setattr(pipeline, "_STAGES", [stage])
    lines = [f"line {i}: " + "word " * 20 for i in range(30)]
    lines[12] = "yxxxx"
    text = "\n".join(lines)
    out = pipeline._run_whole(text, Config())
    assert out.text == text.replace("yxxxx", "yx")
    assert apply_plan(text, out.steps) == out.text
    assert read[0] == text and len(read) == 3
    # The later passes read line 12 and the lines within reach of it, no more.
    for piece in read[1:]:
        assert "\ny" in piece and len(piece) < len(text) // 5


def test_long_clean_latin_text_skips_the_stages() -> None:
    from textfix import pipeline

    lines = [f"Line {i}: plain words, “quoted” — fine." for i in range(2000)]
    lines[700] = "Une ligne : café, naïve."
    clean = "\n".join(lines)
    assert pipeline._segments(clean) is not None
    assert fix_text(clean) is clean


def test_short_text_gets_the_structural_utf8_test() -> None:
    from textfix import gate

    assert gate.utf8_run("Title: " + "说明".encode().decode("gbk"))
    assert not gate.utf8_run("说明")  # its GBK bytes are not UTF-8
    # Only short texts pay for it.
    assert not gate.utf8_run("x" * gate.SHORT_TEXT + "说明".encode().decode("gbk"))


def test_one_line_is_read_as_one_legacy_encoding() -> None:
    # Shift-JIS read as cp1252 explains most of the line; an EUC-KR reading of a
    # stretch it could not take is not added, a repair of another family still is.
    from textfix.detect import _select
    from textfix.repair.roundtrip import Repair

    lead = Repair(0, 40, "x" * 20, "sjis_as_cp1252", 300.0)
    korean = Repair(40, 52, "y" * 6, "euckr_as_cp1252", 70.0)
    latin = Repair(60, 64, "é", "utf8_as_cp1252", 20.0)
    assert _select([lead, korean, latin], 0.0) == [lead, latin]
    # Alone, the EUC-KR reading stands.
    assert _select([korean], 0.0) == [korean]


EDGES = load_cases("edges.json")


@pytest.mark.slow
@pytest.mark.parametrize("case", EDGES, ids=[c["label"] for c in EDGES])
def test_damage_ending_before_clean_text(case: dict) -> None:
    """scripts/make_edge_cases.py: the repaired ones stay repaired; every one replays."""
    ex = fix_and_explain(case["garbled"])
    assert apply_plan(case["garbled"], ex.steps) == ex.text
    if case["expect"] == "fixed":
        assert ex.text == case["fixed"]


def _proposing_damages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds of damage the repair search is asked about, as it is asked."""
    from textfix import detect

    tried: list[str] = []
    real = detect.propose

    def spy(text: str, damage: Any, *args: Any, **kwargs: Any) -> Any:
        tried.append(damage.kind)
        return real(text, damage, *args, **kwargs)

    monkeypatch.setattr(detect, "propose", spy)
    return tried


def test_a_line_settled_by_a_utf8_repair_skips_the_cross_cjk_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried = _proposing_damages(monkeypatch)
    line = "我们明天早上九点在图书馆门口见面，请不要迟到。"
    assert fix_text(line.encode("utf-8").decode("gbk", "replace")) == line
    assert "utf8_as_gbk" in tried
    assert not any(kind in tried for kind in ("gbk_as_big5", "big5_as_gbk", "gbk_chunk_split"))
    # Without such a repair (here: GBK read as Big5) they are still searched.
    tried.clear()
    assert fix_text(line.encode("gbk").decode("big5", "replace")) == line
    assert "gbk_as_big5" in tried


def test_a_short_lossy_repair_does_not_bring_a_foreign_script() -> None:
    # 夏日炎炎，梵香缭绕 as GBK, cut inside "，": both its bytes are lost. Read as
    # UTF-8 mojibake, "��梵香" would become 熱뭻 (the markers score so low that
    # almost anything beats them); a Hangul syllable in Chinese text is refused.
    text = "夏日炎炎，梵香缭绕"
    raw = text.encode("gbk")
    cut = len(text[:4].encode("gbk")) + 1
    garbled = raw[:cut].decode("gbk", "replace") + raw[cut:].decode("gbk", "replace")
    assert garbled == "夏日炎炎\ufffd\ufffd梵香缭绕"
    out = fix_text(garbled)
    assert not any("\uac00" <= ch <= "\ud7af" for ch in out)
    assert out.endswith("梵香缭绕")


@pytest.mark.parametrize(
    "sentence",
    [
        "그 영화는 정말 재미있었다, 진짜 다시 보고 싶다",
        "이 책은 생각보다 어렵다, 그래도 끝까지 읽었다",
        "친구와 함께 밥을 먹었다, 진짜 맛있었다",
    ],
    ids=["movie", "book", "meal"],
)
def test_a_swallowed_byte_is_not_filled_with_a_latin_letter(sentence: str) -> None:
    # A Windows cp949 decoder swallows the byte after a bad lead: "다," shows as
    # "??", and the second "?" alone fits only a two-byte UTF-8 letter (À, ɑ).
    # Korean text around it says no such letter belongs there; the marker stays.
    windows = next(d for d in DAMAGES if d.kind == "utf8_as_euckr_win")
    garbled = windows.garble(sentence)
    out = fix_text(garbled)
    assert not any("\u00c0" <= ch <= "\u02af" for ch in out), out
    assert out != garbled


def test_kana_read_by_lossy_cp1252_is_rebuilt() -> None:
    # Every hiragana is E3 81 xx or E3 82 xx in UTF-8, and cp1252 has no 0x81: a
    # line of kana read by it loses a byte in nearly every character. Each loss has
    # at most five values, so the line is still rebuilt (once it was dropped as
    # "more lost than kept", and a GBK reading of the rest made it worse).
    sentence = "わたしはきのうともだちといっしょにえいがをみにいきました。"
    garbled = sentence.encode().decode("cp1252", "replace")
    assert garbled.count("\ufffd") > len(sentence) * 3 // 4
    out = fix_text(garbled)
    assert len(out) == len(sentence)
    assert sum(a != b for a, b in zip(out, sentence, strict=True)) <= 2


def test_a_line_mostly_lost_is_not_searched_as_a_cross_cjk_misread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textfix import detect

    tried: list[str] = []
    real = detect.propose
    # UTF-8 read as Big5 shows two thirds of its characters as U+FFFD.
    garbled = "文本文件的格式".encode().decode("cp950", "replace")

    def spy(text: str, damage: Any, *args: Any, **kwargs: Any) -> Any:
        if garbled in text:  # not the later passes over the repaired line
            tried.append(damage.kind)
        return real(text, damage, *args, **kwargs)

    monkeypatch.setattr(detect, "propose", spy)
    assert garbled.count("\ufffd") > 0.55 * len(garbled)
    fix_text(garbled)
    assert tried and not any(kind in tried for kind in ("gbk_as_big5", "big5_as_gbk"))


def test_a_clean_line_with_one_rare_pair_is_not_searched_as_a_cross_cjk_misread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried = _proposing_damages(monkeypatch)
    # Two rare characters within three (鎚, 鎣) but not three within six.
    line = "金鎚玉鎣千金地，寶杖琱文七寶毬。"
    assert fix_text(line) == line
    assert not any(kind in tried for kind in ("gbk_as_big5", "big5_as_gbk"))
    # A title that short may be all there is of the misread: still searched.
    tried.clear()
    title = "有一个小".encode("gbk").decode("big5")  # 衄珨跺苤, no marker
    fix_text(title)
    assert "gbk_as_big5" in tried


def test_a_cut_character_with_both_bytes_lost_is_filled_only_when_the_model_is_sure() -> None:
    # 包 (B0 FC): its trail byte FC could not start a character before 括, so both
    # bytes were lost; 包, 范 and others all read well here, and the gap is small.
    unsure = "这个价格\ufffd\ufffd括运费与税费。"
    assert fix_text(unsure) == unsure
    sure = "他说这本书很好看\ufffd\ufffd我也想买一本。"
    assert fix_text(sure) == "他说这本书很好看，我也想买一本。"


def test_a_cut_stream_repair_needs_text_of_its_own_encoding_around_it() -> None:
    from textfix.detect import _Line, _same_stream
    from textfix.repair.roundtrip import Repair

    # 说 and 这 are not Big5 characters, so this text never was a Big5 stream.
    text = "不用说\ufffd\ufffd你也知道这里。"
    line = _Line(text, 0, len(text))
    big5 = Repair(3, 5, "明", "big5_chunk_split", 20.0, lossy=True)
    gbk = Repair(3, 5, "，", "gbk_chunk_split", 20.0, lossy=True)
    assert not _same_stream(big5, text, line)
    assert _same_stream(gbk, text, line)
