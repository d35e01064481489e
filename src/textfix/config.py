"""Frozen settings. The defaults never change text that is already correct."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Config:
    """What textfix may change.

    Repairs (on by default) only ever touch spans that carry evidence of damage.
    Normalizations (off by default) change correct text too, so they are opt-in.
    """

    # --- repairs: reverse damage, never touch clean text -------------------
    repair_codecs: bool = True
    """Reverse wrong-codec round trips (UTF-8 read as GBK, GBK read as Latin-1, ...)."""
    repair_latin: bool = True
    """Let ftfy's encoding fixer propose repairs for Latin-family mojibake."""
    realign_streams: bool = True
    """Re-join double-byte streams that were cut inside a character."""
    max_layers: int = 3
    """How many stacked round trips to undo in one span."""
    remove_pinyin: bool = True
    """Drop ``藍(lán)``-style annotations whose pinyin is a reading of the character."""
    collapse_punctuation: bool = True
    """Collapse doubled punctuation such as ``,。`` in CJK context."""
    remove_markers: bool = False
    """Delete unrecoverable markers (锟斤拷, 烫烫烫, 屯屯屯) instead of only reporting them."""

    # --- acceptance --------------------------------------------------------
    margin: float = 8.0
    """Minimum log-probability gain (nats) a repair must show over the text it replaces."""
    keep_uncertain: float = 0.25
    """A lost byte is filled only if its best candidate beats the next by this many nats;
    otherwise U+FFFD stays in place. The same holds for each character of a stretch
    decoded whole (:mod:`textfix.repair.channel`)."""

    # --- opt-in normalizations: these change correct text ------------------
    to_simplified: bool = False
    """Convert Traditional to Simplified Chinese with OpenCC (t2s)."""
    cjk_punctuation: bool = False
    """Make ASCII punctuation between CJK characters fullwidth (``,`` -> ``，``)."""
    fold_width: bool = False
    """Fold fullwidth Latin letters and digits to ASCII (ftfy's fix_character_width)."""
    uncurl_quotes: bool = False
    """Straighten curly quotes (ftfy's uncurl_quotes)."""
    normalization: str | None = None
    """Unicode normalization form to apply at the end: None, "NFC" or "NFKC"."""
    fix_line_breaks: bool = False
    """Turn CRLF/CR/U+2028/U+2029 into LF (ftfy's fix_line_breaks)."""
    remove_bom: bool = False
    """Drop a leading byte-order mark."""
    remove_control_chars: bool = False
    """Remove control characters that have no place in text (ftfy's remove_control_chars)."""

    def with_overrides(self, **overrides: Any) -> Config:
        if not overrides:
            return self  # every fix_text call comes through here
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown textfix option(s): {', '.join(sorted(unknown))}")
        return replace(self, **overrides)


DEFAULT = Config()


def resolve(config: Config | None, overrides: dict[str, Any]) -> Config:
    return (config or DEFAULT).with_overrides(**overrides)
