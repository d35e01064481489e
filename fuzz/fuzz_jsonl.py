"""Fuzz the JSONL reader (textfix.formats): only the named string fields change.

    python fuzz/fuzz_jsonl.py fuzz/corpus/fuzz_jsonl -max_total_time=600

Input bytes are used as JSONL directly (first byte even) or turned into records
(odd; ``_harness.jsonl_from_bytes``). Each line is fixed with an identity fixer
(must be byte-identical), a fixer that returns text JSON must escape, and fix_text;
process_jsonl must agree with fix_jsonl_line line by line.
"""

from __future__ import annotations

import sys

import atheris
from _instrument import import_textfix

missing = import_textfix()
if "textfix.formats" in missing:
    sys.exit("textfix.formats is not there yet: nothing to fuzz")

import _harness  # noqa: E402  (after the instrumented imports)


def test_one_input(data: bytes) -> None:
    jsonl = _harness.jsonl_from_bytes(data)
    _harness.run_case("jsonl", _harness.check_jsonl, jsonl, data)


def main() -> None:
    _harness.warm_up()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
