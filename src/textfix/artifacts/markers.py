"""Unrecoverable markers: 锟斤拷, 烫烫烫, 屯屯屯 and runs of U+FFFD. (stub, to be written)"""

from __future__ import annotations

from textfix.config import Config
from textfix.findings import Finding


def triggered(text: str) -> bool:
    return False


def find_markers(text: str, config: Config) -> list[Finding]:
    return []
