"""Fuzz fix_text: never raises, returns str, idempotent, replays exactly, no call > 2 s.

    python fuzz/fuzz_fix_text.py fuzz/corpus/fuzz_fix_text -max_total_time=600

The input bytes become text through ``_harness.text_from_bytes`` (mostly mojibake:
bytes decoded by the CJK codecs, garbled round trips, lone surrogates).
"""

from __future__ import annotations

import sys

import atheris
from _instrument import import_textfix

import_textfix()

import _harness  # noqa: E402  (after the instrumented imports)


def test_one_input(data: bytes) -> None:
    text = _harness.text_from_bytes(data)
    _harness.run_case("fix_text", _harness.check_fix_text, text, data)


def main() -> None:
    _harness.warm_up()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
