"""Build ``tests/cases/edges.json``: damage that ends inside a sentence, clean text after.

A garbled title before a clean body, or a field decoded wrongly next to one decoded
right, leaves a damaged stretch that stops at an arbitrary character, followed by
clean text. The cases here are made from sentences written for this file (no corpus
text): each sentence is cut at every position from the third character to the third
from last, the part before the cut is encoded as UTF-8 and decoded as GBK or cp949
with Python's replacing decoder (U+FFFD, and again with U+FFFD saved as ``?``), and
the part after the cut is appended as it is. Only cuts that leave a marker right
before the clean text are kept: those are the ones where the damage ends inside a
character.

Each case records whether the installed textfix repairs it exactly (``expect``:
``fixed`` or ``missed``), so the test suite holds the repaired ones to it and the
file shows the rate. Rebuild after a change that moves the figure::

    python scripts/make_edge_cases.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SENTENCES = {
    "gbk": [
        "我们明天早上八点在火车站见面",
        "这部电影讲述了一个普通家庭的故事",
        "他每天晚上都会在图书馆看书",
        "学校旁边新开了一家咖啡店",
        "春天来了公园里的花都开了",
        "妈妈做的饭菜总是特别好吃",
        "我们需要更多的时间来完成这个项目",
        "这条河流经三个省份最后流入大海",
        "孩子们在操场上踢足球",
        "今年的冬天比往年更冷一些",
        "他把钥匙忘在办公室里了",
        "这个城市的夜景非常漂亮",
        "请在下周五之前提交报告",
        "爷爷年轻的时候当过老师",
    ],
    "cp949": [
        "우리는 내일 아침에 역에서 만나요",
        "이 영화는 정말 재미있었습니다",
        "주말에는 가족과 함께 요리를 해요",
        "학교 앞에 새로운 카페가 생겼다",
    ],
}
KIND = {"gbk": "utf8_as_gbk", "cp949": "utf8_as_euckr"}
OUT = Path(__file__).resolve().parent.parent / "tests" / "cases" / "edges.json"


def cases() -> list[dict[str, str]]:
    out = []
    for codec, sentences in SENTENCES.items():
        for question in (False, True):
            for sentence in sentences:
                for cut in range(2, len(sentence) - 2):
                    head, tail = sentence[:cut], sentence[cut:]
                    garbled = head.encode("utf-8").decode(codec, "replace")
                    if question:
                        garbled = garbled.replace("\ufffd", "?")
                    if garbled[-1] not in "?\ufffd":
                        continue
                    kind = KIND[codec] + ("_q" if question else "")
                    out.append(
                        {
                            "label": f"{kind} cut after {head}",
                            "garbled": garbled + tail,
                            "fixed": sentence,
                            "kind": kind,
                        }
                    )
    return out


def main() -> int:
    import textfix

    built = cases()
    for case in built:
        case["expect"] = "fixed" if textfix.fix_text(case["garbled"]) == case["fixed"] else "missed"
    OUT.write_text(json.dumps(built, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    fixed = sum(c["expect"] == "fixed" for c in built)
    print(f"wrote {OUT}: {fixed} of {len(built)} repaired exactly", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
