"""Grow trigger hits into spans, classify each span's damage and propose repairs.

Per damaged line, every plausible (source encoding, reader) pair proposes islands
(see :mod:`textfix.repair.roundtrip`). Candidates that are only an intermediate
layer are searched again, up to ``config.max_layers`` deep, and the final choice is
a greedy pick of non-overlapping candidates by score gain. A candidate is accepted
only if its gain clears ``config.margin``.
"""

from __future__ import annotations

from textfix import gate
from textfix.codecs import DAMAGES, Damage
from textfix.config import Config
from textfix.findings import Finding
from textfix.repair.roundtrip import Repair, propose
from textfix.score import CharModel, get_model

_MAX_EXPANSIONS = 6


def _family(damage: Damage) -> str:
    codec = damage.reading.codec
    if "1251" in codec:
        return "cyrillic"
    if codec in ("latin-1", "cp1252", "sloppy-windows-1252"):
        return "latin"
    return "cjk"


def _damages_for(line: str) -> list[Damage]:
    fams = gate.families(line)
    return [d for d in DAMAGES if _family(d) in fams]


def _candidates(text: str, lo: int, hi: int, model: CharModel, config: Config) -> list[Repair]:
    out: list[Repair] = []
    for damage in _damages_for(text[lo:hi]):
        out.extend(propose(text, damage, model, lo, hi, config.keep_uncertain))
    return out


def _deeper(text: str, repair: Repair, model: CharModel, config: Config, depth: int) -> list[Repair]:
    """Repairs whose first layer is ``repair`` and which undo further layers inside it."""
    if depth >= config.max_layers or not gate.has_codec_trigger(repair.fix):
        return []
    inner = repair.fix
    left = text[repair.start - 1] if repair.start > 0 else "\n"
    right = text[repair.end] if repair.end < len(text) else "\n"
    garbled = text[repair.start : repair.end]
    base = model.score(garbled, left, right)
    out: list[Repair] = []
    subs = _candidates(inner, 0, len(inner), model, config)
    subs.sort(key=lambda r: -r.gain)
    for sub in subs[:_MAX_EXPANSIONS]:
        fix = inner[: sub.start] + sub.fix + inner[sub.end :]
        gain = model.score(fix, left, right) - base
        layered = Repair(
            repair.start,
            repair.end,
            fix,
            repair.kind + "+" + sub.kind.split("_as_", 1)[1] if "_as_" in sub.kind else sub.kind,
            gain,
            repair.lossy or sub.lossy,
            repair.uncertain + sub.uncertain,
            repair.layers + sub.layers,
        )
        out.append(layered)
        out.extend(_deeper(text, layered, model, config, depth + 1))
    return out


def _select(cands: list[Repair], margin: float) -> list[Repair]:
    chosen: list[Repair] = []
    for cand in sorted(cands, key=lambda r: (-r.gain, r.start)):
        if cand.gain < margin:
            break
        if all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)
    return sorted(chosen, key=lambda r: r.start)


def _confidence(gain: float, margin: float) -> float:
    import math

    return round(1.0 - math.exp(-max(gain, 0.0) / max(margin, 1e-6)), 3)


def find_damage(text: str, config: Config) -> list[Finding]:
    if not config.repair_codecs:
        return []
    model = get_model()
    findings: list[Finding] = []
    for lo, hi in gate.damaged_lines(text):
        cands = _candidates(text, lo, hi, model, config)
        layered: list[Repair] = []
        for cand in sorted(cands, key=lambda r: -r.gain)[:_MAX_EXPANSIONS]:
            layered.extend(_deeper(text, cand, model, config, 1))
        for rep in _select(cands + layered, config.margin):
            findings.append(
                Finding(
                    kind=rep.kind,
                    start=rep.start,
                    end=rep.end,
                    confidence=_confidence(rep.gain, config.margin),
                    fix=rep.fix,
                    detail={
                        "layers": rep.layers,
                        "lossy": rep.lossy,
                        "uncertain": rep.uncertain,
                        "gain": round(rep.gain, 2),
                    },
                )
            )
    return findings
