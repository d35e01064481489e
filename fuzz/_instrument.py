"""Import textfix under atheris instrumentation (coverage feedback for the fuzzer).

The pipeline imports its stages lazily, so every module is imported here explicitly:
a module first imported outside ``instrument_imports`` gives the fuzzer no coverage.
"""

from __future__ import annotations

import importlib

import atheris

MODULES = (
    "textfix",
    "textfix.config",
    "textfix.findings",
    "textfix.gate",
    "textfix.codecs",
    "textfix.score.model",
    "textfix.repair.roundtrip",
    "textfix.detect",
    "textfix.artifacts.markers",
    "textfix.artifacts.pinyin",
    "textfix.artifacts.punctuation",
    "textfix.normalize",
    "textfix.pipeline",
    "textfix.io",
    "textfix.formats",
)


def import_textfix() -> list[str]:
    """Import every textfix module instrumented; return the ones that are missing."""
    missing = []
    with atheris.instrument_imports(include=["textfix"]):
        for name in MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                missing.append(name)
    return missing
