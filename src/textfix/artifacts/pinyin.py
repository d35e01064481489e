"""Pinyin annotations such as 藍(lán). (stub, to be written)"""

from __future__ import annotations

from textfix.config import Config
from textfix.findings import Finding


def triggered(text: str) -> bool:
    return False


def find_annotations(text: str, config: Config) -> list[Finding]:
    return []
