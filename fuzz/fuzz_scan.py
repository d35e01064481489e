"""Fuzz scan under random configs: spans inside the text, sorted, equal to the explain findings.

    python fuzz/fuzz_scan.py fuzz/corpus/fuzz_scan -max_total_time=600

The first three input bytes choose the Config (``_harness.config_from_bytes``), the
rest becomes text through ``_harness.text_from_bytes``.
"""

from __future__ import annotations

import sys

import atheris
from _instrument import import_textfix

import_textfix()

import _harness  # noqa: E402  (after the instrumented imports)


def test_one_input(data: bytes) -> None:
    config = _harness.config_from_bytes(data)
    text = _harness.text_from_bytes(data[3:])
    _harness.run_case("scan", _harness.check_scan, text, data, config)


def main() -> None:
    _harness.warm_up()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
