"""The fast path: one cheap scan decides whether any stage needs to look at the text."""

from __future__ import annotations


def maybe_damaged(text: str) -> bool:
    return True


def has_codec_trigger(text: str) -> bool:
    return True
