"""Fuzz textfix.io: decode_bytes keeps every byte, fix_bytes == fix_text(decode_bytes().text).

    python fuzz/fuzz_decode_bytes.py fuzz/corpus/fuzz_decode_bytes -max_total_time=600

Also runs detect_prefix on cut-off prefixes and the fix_text invariants on the
decoded text (which may hold lone surrogates for undecodable bytes).
"""

from __future__ import annotations

import sys

import atheris
from _instrument import import_textfix

missing = import_textfix()
if "textfix.io" in missing:
    sys.exit("textfix.io is not there yet: nothing to fuzz")

import _harness  # noqa: E402  (after the instrumented imports)


def test_one_input(data: bytes) -> None:
    _harness.run_case("decode_bytes", _harness.check_decode_bytes, data, data)


def main() -> None:
    _harness.warm_up()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
