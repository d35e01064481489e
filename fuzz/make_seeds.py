"""Write the seed inputs under fuzz/corpus/<target>/ (run once; the files are committed).

The first byte of a fix_text/scan seed picks how ``_harness.text_from_bytes`` reads
the rest (mode = byte % 5: 0 UTF-8, 1 a CJK codec, 2 escaped UTF-8, 3 garbled
round trips, 4 UTF-16 units); scan seeds start with three Config bytes.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "corpus"

TEXTS = {
    "utf8_as_gbk": "浣犲ソ锛屼笘鐣岋紒",
    "utf8_as_latin1": "ä½ å¥½ï¼Œä¸–ç•Œ",
    "latin_pair": "CafÃ© dÃ©jÃ  vu",
    "kunjinkao": "文件锟斤拷锟斤拷已损坏",
    "fill": "烫烫烫烫屯屯屯屯",
    "pinyin": "藍(lán)圖（tú）",
    "doubled": "召开,。蓝图,,目标",
    "question": "你好??世界",
    "replacement": "中文\ufffd\ufffd字",
    "cyrillic": "Р\u045fСЂРёРІРµС‚",
    "clean_zh": "今天天气很好，我们一起去公园散步吧。",
    "clean_ja": "日本語の文章を正しく表示できますか。",
    "clean_ko": "한국어 문장도 제대로 보여야 합니다.",
    "mixed": "Hello 世界 Ã© 锟 ? ｱ \x81",
}


def text_seeds() -> dict[str, bytes]:
    seeds = {f"utf8_{name}": b"\x00" + text.encode("utf-8") for name, text in TEXTS.items()}
    clean = "今天天气很好，我们一起去公园散步吧。".encode()
    seeds["as_gbk"] = bytes([1]) + clean  # codec 0 (gbk), errors="replace"
    seeds["as_big5"] = bytes([1 + 5 * 2]) + clean
    seeds["as_cp932"] = bytes([1 + 5 * 5]) + clean
    seeds["escaped"] = b"\x02" + clean[:7] + b"\xff\xfe " + clean[7:]
    seeds["garbled_1"] = b"\x03" + clean
    seeds["garbled_3"] = bytes([3 + 5 * 2]) + clean
    seeds["utf16_units"] = b"\x04" + "中\ud800文\udcff".encode("utf-16-be", "surrogatepass")
    return seeds


def byte_seeds() -> dict[str, bytes]:
    zh = "今天天气很好，我们一起去公园散步吧。这是测试。\n"
    return {
        "utf8": zh.encode("utf-8"),
        "utf8_bom": b"\xef\xbb\xbf" + zh.encode("utf-8"),
        "utf16le_bom": zh.encode("utf-16"),
        "utf16be_nobom": "plain ascii text\n".encode("utf-16-be"),
        "gbk": zh.encode("gbk"),
        "big5": "這是一個繁體中文的句子。\n".encode("big5"),
        "sjis": "日本語の文章です。\n".encode("shift_jis"),
        "eucjp": "日本語の文章です。\n".encode("euc_jp"),
        "euckr": "한국어 문장입니다.\n".encode("euc_kr"),
        "cp1252": "Café déjà vu — naïve\n".encode("cp1252"),
        "broken_utf8": zh.encode("utf-8")[:-5] + b"\xff" + zh.encode("utf-8")[:8],
        "broken_bom": b"\xff\xfe\x00",
    }


def jsonl_seeds() -> dict[str, bytes]:
    garbled = "浣犲ソ锛屼笘鐣岋紒"
    return {
        "plain": b"\x00" + f'{{"id": 1, "text": "{garbled}", "n": 2}}\n'.encode(),
        "escaped": b"\x00" + b'{"text": "\\u6d63\\u72b2\\u30bd", "title": "ok"}\r\n',
        "not_object": b"\x00" + b'[1, 2]\n{"text": 1}\nnot json\n\n',
        "bom": b"\x00" + '\ufeff{"title": "Ã©tÃ©"}'.encode(),
        "records": b"\x01" + garbled.encode() + b"\n" + "CafÃ©".encode(),
        "records_ascii_dup": bytes([1 | 2 | 16 | 64]) + garbled.encode() + b"\nx",
    }


def main() -> None:
    text = text_seeds()
    scan = {name: b"\x00\x00\x00" + data for name, data in text.items()}
    scan["all_options"] = b"\xff\xff\xff" + text["utf8_mixed"]
    targets = {
        "fuzz_fix_text": text,
        "fuzz_scan": scan,
        "fuzz_decode_bytes": byte_seeds(),
        "fuzz_jsonl": jsonl_seeds(),
    }
    for target, seeds in targets.items():
        folder = HERE / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()
