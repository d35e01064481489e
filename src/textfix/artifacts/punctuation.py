"""Doubled punctuation and opt-in fullwidth punctuation in CJK context. (stub, to be written)"""

from __future__ import annotations

from textfix.config import Config
from textfix.findings import Finding


def triggered(text: str) -> bool:
    return False


def find_doubled(text: str, config: Config) -> list[Finding]:
    return []


def triggered_ascii_in_cjk(text: str) -> bool:
    return False


def find_ascii_in_cjk(text: str, config: Config) -> list[Finding]:
    return []
