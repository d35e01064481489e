"""textfix: repair mojibake in CJK and Latin text without touching clean text.

>>> fix_text("浣犲ソ锛屼笘鐣岋紒")
'你好，世界！'
>>> fix_text("你好，世界！")
'你好，世界！'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textfix.config import Config, resolve
from textfix.findings import Explained, Finding, Step
from textfix.pipeline import apply_plan
from textfix.pipeline import fix as _fix
from textfix.pipeline import run as _run

__all__ = [
    "Config",
    "Decoded",
    "Explained",
    "Finding",
    "Step",
    "apply_plan",
    "decode_bytes",
    "fix_and_explain",
    "fix_batch",
    "fix_bytes",
    "fix_text",
    "scan",
]

__version__ = "0.1.0"


def _config(config: Config | None, overrides: dict[str, Any]) -> Config:
    return resolve(config, overrides)


def fix_text(text: str, config: Config | None = None, **overrides: Any) -> str:
    """Return ``text`` with mojibake and known artifacts repaired.

    Clean text comes back unchanged (the same object).
    """
    return _fix(text, _config(config, overrides))


def fix_and_explain(text: str, config: Config | None = None, **overrides: Any) -> Explained:
    """Like :func:`fix_text`, plus the steps that :func:`apply_plan` can replay."""
    return _run(text, _config(config, overrides))


def scan(text: str, config: Config | None = None, **overrides: Any) -> list[Finding]:
    """Report damaged spans (in ``text`` coordinates) without changing anything."""
    return _run(text, _config(config, overrides)).findings


def fix_batch(texts: Iterable[str], config: Config | None = None, **overrides: Any) -> list[str]:
    """Fix many texts with one resolved config (for dataset engines)."""
    cfg = _config(config, overrides)
    return [_fix(t, cfg) for t in texts]


def __getattr__(name: str) -> Any:
    # The byte-decoding helpers pull in charset-normalizer; load them on demand.
    if name in ("decode_bytes", "fix_bytes", "Decoded"):
        from textfix import io

        return getattr(io, name)
    raise AttributeError(name)
