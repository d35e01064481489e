"""The records textfix returns: findings (what is wrong where) and plan steps (what was done)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """A damaged span of the input.

    ``start``/``end`` index the text that was scanned. ``fix`` is the proposed
    replacement, or ``None`` when the damage cannot be undone (锟斤拷, lost bytes
    with no clear answer). ``detail`` names codecs and layers.
    """

    kind: str
    start: int
    end: int
    confidence: float
    fix: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def text_span(self) -> tuple[int, int]:
        return (self.start, self.end)


@dataclass(frozen=True)
class Step:
    """One replacement applied by ``fix_and_explain``.

    ``start``/``end`` index the text as it was when the step ran, so replaying the
    steps in order reproduces the output (see :func:`textfix.apply_plan`).
    """

    stage: str
    kind: str
    start: int
    end: int
    old: str
    new: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(
            stage=data["stage"],
            kind=data["kind"],
            start=int(data["start"]),
            end=int(data["end"]),
            old=data["old"],
            new=data["new"],
            detail=dict(data.get("detail", {})),
        )


@dataclass(frozen=True)
class Explained:
    """The fixed text and the steps that produced it."""

    text: str
    steps: list[Step]
    findings: list[Finding] = field(default_factory=list)
