"""Encoding detection, atomic writes and streaming (textfix.io), in-process."""

from __future__ import annotations

import codecs
import os
import random
import stat
from pathlib import Path

import pytest

import textfix
from textfix import io as tio
from textfix.io import (
    AtomicWriter,
    NotRoundTrip,
    TextChunks,
    decode_bytes,
    fix_bytes,
    fix_file_streaming,
    is_temp_name,
    looks_binary,
    stream_transform,
)

GBK_FAMILY = {"gbk", "gb18030", "gb2312"}
ZH = "今天天气很好，我们一起去公园散步吧。这是一个测试文件，用来检查编码识别是否正确。"
JA = "これはテストファイルです。文字コードの判定が正しいか確認します。今日はいい天気ですね。"


def garble(text: str) -> str:
    """UTF-8 bytes read as GBK: the mojibake the engine repairs."""
    return text.encode("utf-8").decode("gbk", errors="replace")


# --------------------------------------------------------------------------- decode_bytes


def test_gbk_paragraph() -> None:
    found = decode_bytes(ZH.encode("gbk"))
    assert found.text == ZH
    assert found.encoding in GBK_FAMILY
    assert not found.lossy and found.errors == []


def test_short_gbk_needs_the_scorer() -> None:
    # 12 bytes: charset-normalizer alone guesses UTF-16; the model arbitrates.
    found = decode_bytes("你好，世界！".encode("gbk"))
    assert found.text == "你好，世界！"
    assert found.encoding in GBK_FAMILY


def test_shift_jis_paragraph() -> None:
    found = decode_bytes(JA.encode("shift_jis"))
    assert found.text == JA
    assert found.encoding in {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213"}


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("這是一個測試檔案，用來檢查編碼識別是否正確。今天天氣很好。", "big5"),
        ("これはテストファイルです。文字コードの判定が正しいか確認します。", "euc_jp"),
        ("이것은 테스트 파일입니다. 인코딩 감지가 올바른지 확인합니다.", "euc_kr"),
        ("안녕하세요", "euc_kr"),
        ("こんにちは世界", "shift_jis"),
        ("int main(void) {\n    int count = 0; // 初始化计数器\n    return count;\n}\n", "gbk"),
        ("Съешь же ещё этих мягких французских булок, да выпей чаю. Привет мир!", "cp1251"),
        ("Καλημέρα κόσμε, αυτό είναι ένα δοκιμαστικό κείμενο.", "cp1253"),
        ("Café crème brûlée à la française, naïve façade.", "cp1252"),
    ],
)
def test_legacy_encodings(text: str, encoding: str) -> None:
    data = text.encode(encoding)
    found = decode_bytes(data)
    assert found.text == text
    assert found.encode(found.text) == data


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "utf-32", "utf-32-be"])
def test_boms_round_trip(encoding: str) -> None:
    text = "你好 hello\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = codecs.BOM_UTF16_LE + data if encoding.endswith("le") else codecs.BOM_UTF16_BE + data
    elif encoding == "utf-32-be":
        data = codecs.BOM_UTF32_BE + data
    found = decode_bytes(data)
    assert found.text == text
    assert found.confidence == 1.0
    assert found.encode(found.text) == data


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_wide_without_bom(encoding: str) -> None:
    text = "plain ASCII text in a wide encoding\n" * 3
    found = decode_bytes(text.encode(encoding))
    assert (found.text, found.encoding) == (text, encoding)


def test_utf8_wins_and_ascii_is_utf8() -> None:
    assert decode_bytes("你好".encode()).encoding == "utf-8"
    assert decode_bytes(b"hello").encoding == "utf-8"
    assert decode_bytes(b"").text == ""


def test_undecodable_bytes_are_kept() -> None:
    data = ("你好，世界！" * 5).encode("utf-8")
    data = data[:20] + b"\xff" + data[20:]
    found = decode_bytes(data)
    assert found.lossy
    assert found.errors and all(0 <= s < e <= len(data) for s, e in found.errors)
    assert any(s <= 20 < e for s, e in found.errors)
    assert found.encode(found.text) == data  # surrogateescape restores every byte
    assert "你好，世界！" in found.text


def test_stray_byte_in_gbk_keeps_gbk() -> None:
    """One byte no codec maps must not hand the file to a code page that maps every
    byte (cp1252), which would turn all of it into mojibake."""
    line = "今天天气很好，我们一起去公园散步吧。中文文本的编码问题很常见。\n"
    data = (line * 20).encode("gbk")
    cut = len(line.encode("gbk")) * 3  # a character boundary
    data = data[:cut] + b"\xff" + data[cut:]
    found = decode_bytes(data)
    assert found.codec == "gb18030" and found.lossy
    assert [(s, e) for s, e in found.errors] == [(cut, cut + 1)]
    assert found.encode(found.text) == data
    assert found.text.count(line) == 20


def test_random_bytes_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(20):
        data = bytes(rng.randrange(256) for _ in range(300))
        found = decode_bytes(data)
        assert found.encode(found.text) == data


def test_looks_binary() -> None:
    rng = random.Random(1)
    assert looks_binary(bytes(rng.randrange(256) for _ in range(4000)))
    assert looks_binary(b"\x00\x01\x02\x03abc" * 10)
    assert not looks_binary(ZH.encode("gbk"))
    assert not looks_binary("hello world\n".encode("utf-16-le") * 5)  # NULs, but UTF-16
    assert not looks_binary(codecs.BOM_UTF16_LE + "你好".encode("utf-16-le"))
    assert not looks_binary(b"\x1b[31mred\x1b[0m\n")


def test_fix_bytes_and_lazy_exports() -> None:
    assert textfix.decode_bytes is decode_bytes
    assert textfix.Decoded is tio.Decoded
    assert fix_bytes(ZH.encode("gbk")) == ZH  # clean text is never changed


def test_fix_bytes_repairs() -> None:  # needs the repair engine
    clean = "你好，世界！今天天气很好。"
    assert fix_bytes(garble(clean).encode("utf-8")) == clean


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with AtomicWriter(target) as writer:
        writer.file.write(b"new")
        assert [p.name for p in tmp_path.iterdir() if is_temp_name(p.name)]
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_failure_leaves_original(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicWriter(target) as writer:
        writer.file.write(b"partial")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_replace_failure_cleans_up(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tio.os, "replace", fail)
    with pytest.raises(OSError), AtomicWriter(target) as writer:
        writer.file.write(b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_discard(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with AtomicWriter(target) as writer:
        writer.file.write(b"new")
        writer.discard()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_temp_names() -> None:
    assert is_temp_name(".a.txt.textfix-tmp-abc123")
    assert not is_temp_name("a.txt")
    assert not is_temp_name("notes.textfix-tmp-x")  # not hidden: not ours


# --------------------------------------------------------------------------- streaming


def _lines(n: int) -> str:
    rows = [f"{i:05d} {ZH}" if i % 3 else f"{i:05d} {garble('你好，世界！')}" for i in range(n)]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-16"])
def test_chunks_end_at_newlines(tmp_path: Path, encoding: str) -> None:
    text = _lines(200)
    path = tmp_path / "big.txt"
    path.write_bytes(text.encode(encoding))
    decoded = tio.detect_prefix(path.read_bytes()[:4096])
    with open(path, "rb") as fh:
        chunks = list(TextChunks(fh, decoded, chunk_size=997))  # cuts characters apart
    assert "".join(chunks) == text
    assert len(chunks) > 5
    assert all(chunk.endswith("\n") for chunk in chunks)


def test_stream_transform_line_numbers(tmp_path: Path) -> None:
    text = _lines(300)
    path = tmp_path / "big.txt"
    path.write_bytes(text.encode("gbk"))
    seen: list[tuple[int, str]] = []

    def transform(chunk: str, lines_before: int) -> str:
        seen.append((lines_before, chunk))
        return chunk.upper()

    out = tmp_path / "out.txt"
    with open(out, "wb") as sink:
        result = stream_transform(str(path), transform, sink, chunk_size=1500)
    assert result.encoding in GBK_FAMILY and not result.lossy
    assert out.read_bytes() == text.upper().encode("gbk")
    for lines_before, chunk in seen:
        assert chunk.split("\n", 1)[0] == text.split("\n")[lines_before]


def test_stream_keeps_undecodable_bytes(tmp_path: Path) -> None:
    data = _lines(100).encode("utf-8")
    data = data[:5000] + b"\xff\xfe" + data[5000:]
    path = tmp_path / "mixed.txt"
    path.write_bytes(data)
    out = tmp_path / "out.txt"
    with open(out, "wb") as sink:
        result = stream_transform(str(path), lambda c, _n: c, sink, chunk_size=1000)
    assert result.lossy
    assert out.read_bytes() == data


def test_stream_refuses_non_round_trip(tmp_path: Path) -> None:
    # cp932 decodes 0x8790 (NEC row 13) to U+2252 but encodes U+2252 as 0x81E0.
    data = ("テスト" * 30).encode("cp932") + b"\x87\x90" + "です。\n".encode("cp932")
    path = tmp_path / "dup.txt"
    path.write_bytes(data)
    assert decode_bytes(data).encoding == "cp932"
    with pytest.raises(NotRoundTrip), open(tmp_path / "out.txt", "wb") as sink:
        stream_transform(str(path), lambda c, _n: c.replace("です", "だ"), sink)
    checked = stream_transform(str(path), lambda c, _n: c.replace("です", "だ"), None)
    assert checked.changed  # --check only reports; it does not need to re-encode


def test_fix_file_streaming_matches_fix_text(tmp_path: Path) -> None:
    text = _lines(400)
    path = tmp_path / "big.txt"
    path.write_bytes(text.encode("gbk"))
    path.chmod(0o600)
    result = fix_file_streaming(path, chunk_size=2000)
    expected = textfix.fix_text(text)
    assert path.read_bytes() == expected.encode("gbk")
    assert result.changed == (expected != text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["big.txt"]


def test_fix_file_streaming_to_utf8(tmp_path: Path) -> None:
    path = tmp_path / "clean.txt"
    path.write_bytes((ZH + "\n").encode("gbk") * 50)
    result = fix_file_streaming(path, to_utf8=True, chunk_size=500)
    assert result.changed and result.written_as == "utf-8"
    assert path.read_text(encoding="utf-8") == (ZH + "\n") * 50
