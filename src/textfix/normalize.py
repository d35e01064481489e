"""Opt-in normalizations (they change correct text). (stub, to be written)"""

from __future__ import annotations

from textfix.config import Config
from textfix.findings import Finding


def any_enabled(config: Config) -> bool:
    return False


def find_changes(text: str, config: Config) -> list[Finding]:
    return []
