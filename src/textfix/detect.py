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
        if sub.gain < config.margin:
            break  # each layer must stand on its own evidence
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


def _greedy(cands: list[Repair], margin: float, chosen: list[Repair]) -> list[Repair]:
    for cand in sorted(cands, key=lambda r: (-r.gain, r.start)):
        if cand.gain < margin:
            break
        if all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)
    return chosen


def _select(cands: list[Repair], margin: float) -> list[Repair]:
    """Non-overlapping repairs, preferring the one damage that explains the most of the line.

    Damage on one line nearly always has one cause, so the kind with the largest
    total gain is placed first; other kinds only fill what it left untouched.
    """
    by_kind: dict[str, list[Repair]] = {}
    for cand in cands:
        if cand.gain >= margin:
            by_kind.setdefault(cand.kind, []).append(cand)
    if not by_kind:
        return []
    totals = {k: sum(r.gain for r in _greedy(v, margin, [])) for k, v in by_kind.items()}
    lead = max(totals, key=lambda k: totals[k])
    chosen = _greedy(by_kind[lead], margin, [])
    chosen = _greedy(cands, margin, chosen)
    return sorted(chosen, key=lambda r: r.start)


def _protected(text: str, lo: int, hi: int, config: Config) -> list[tuple[int, int]] | None:
    """Spans codec repair must not touch; None if the whole line is off limits.

    A line with 锟斤拷 left in it already went through a lossy round trip that
    baked replacement characters into the bytes: no reading of it is the
    original, so it is only reported. Pinyin annotations are real text that happens
    to look like Latin-1 mojibake to some readings.
    """
    from textfix.artifacts import markers, pinyin

    line = text[lo:hi]
    if markers.triggered(line):
        for f in markers.find_markers(line, config):
            if f.kind in ("kunjinkao", "fill_marker"):
                return None
    spans: list[tuple[int, int]] = []
    if pinyin.triggered(line):
        for f in pinyin.find_annotations(line, config):
            spans.append((lo + f.start - 1, lo + f.end))
    return spans


def _clear(rep: Repair, spans: list[tuple[int, int]]) -> bool:
    return all(rep.end <= a or rep.start >= b for a, b in spans)


def _confidence(gain: float, margin: float) -> float:
    import math

    return round(1.0 - math.exp(-max(gain, 0.0) / max(margin, 1e-6)), 3)


def find_damage(text: str, config: Config) -> list[Finding]:
    if not config.repair_codecs:
        return []
    model = get_model()
    findings: list[Finding] = []
    for lo, hi in gate.damaged_lines(text):
        protected = _protected(text, lo, hi, config)
        if protected is None:
            continue
        cands = [c for c in _candidates(text, lo, hi, model, config) if _clear(c, protected)]
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
