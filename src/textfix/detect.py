"""Grow trigger hits into spans, classify each span's damage and propose repairs."""

from __future__ import annotations

from textfix.config import Config
from textfix.findings import Finding


def find_damage(text: str, config: Config) -> list[Finding]:
    return []
