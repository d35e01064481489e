"""Measure how much gain false repair candidates reach on clean text.

Every candidate the engine proposes on clean corpus text is a false positive, so
the acceptance margin for a damage family must sit above the gains those
candidates reach. This script runs candidate generation and the context checks
(no score margin) over the
lines of ``../shared/corpus`` that pass the gate and prints, per family, the
number of false candidates and the top of their gain distribution.

Usage::

    python scripts/calibrate_margin.py [--corpus ../shared/corpus] [--lines 4000]
"""

from __future__ import annotations

import argparse
import collections
import os
import random

from textfix import gate
from textfix.config import DEFAULT
from textfix.detect import _candidates, _plausible, family_of_kind
from textfix.score import get_model


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus"))
    ap.add_argument("--lines", type=int, default=4000, help="triggered lines per language")
    args = ap.parse_args()
    model = get_model()
    gains: dict[str, list[float]] = collections.defaultdict(list)
    worst: dict[str, tuple[float, str, str, str]] = {}
    rng = random.Random(7)
    for lang in sorted(os.listdir(args.corpus)):
        folder = os.path.join(args.corpus, lang)
        if not os.path.isdir(folder):
            continue
        triggered = []
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                triggered.extend(line.rstrip("\n") for line in fh if gate.has_codec_trigger(line))
        rng.shuffle(triggered)
        for line in triggered[: args.lines]:
            for cand in _candidates(line, 0, len(line), model, DEFAULT):
                if not _plausible(cand, line, 0, len(line)):
                    continue
                fam = family_of_kind(cand.kind)
                gains[fam].append(cand.gain)
                if cand.gain > worst.get(fam, (-1e9,))[0]:
                    worst[fam] = (cand.gain, cand.kind, line[cand.start : cand.end], cand.fix)
        print(f"{lang}: {len(triggered)} triggered lines", flush=True)
    print(f"{'family':12s} {'n':>7s} {'p99':>7s} {'p99.9':>7s} {'max':>7s}")
    for fam, values in sorted(gains.items()):
        values.sort()
        n = len(values)
        p99 = values[min(n - 1, int(n * 0.99))]
        p999 = values[min(n - 1, int(n * 0.999))]
        print(f"{fam:12s} {n:7d} {p99:7.1f} {p999:7.1f} {values[-1]:7.1f}")
        gain, kind, old, new = worst[fam]
        print(f"    worst: {kind} {old[:40]!r} -> {new[:40]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
