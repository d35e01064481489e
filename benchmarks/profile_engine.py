"""Where textfix.fix_text spends its time: cProfile on the throughput inputs.

For clean zh-Hans, clean English, and the CJK mix with 1% and 100% of lines
damaged, fixes about ``--budget`` seconds' worth of documents under cProfile and
prints the functions with the most own time (and the cumulative view).

    python benchmarks/profile_engine.py
    python benchmarks/profile_engine.py --budget 5 --top 25 --out /tmp/profile.txt
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c


def inputs(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    corpus = c.corpus_of(args)
    limit = int(args.max_mb * c.MB)
    zh = c.take_bytes(c.load_documents(corpus, "zh-Hans", args.seed), limit)
    en = c.take_bytes(c.load_documents(corpus, "en", args.seed), limit)
    mix = c.interleave([c.load_documents(corpus, lang, args.seed) for lang in c.CJK_LANGS])
    base = c.take_bytes(mix, limit)
    one, _ = c.damage_documents(base, 0.01, args.seed)
    full, _ = c.damage_documents(base, 1.0, args.seed)
    return [("zh-Hans clean", zh), ("en clean", en), ("cjk-mix 1% damaged", one),
            ("cjk-mix 100% damaged", full)]


def _prefix_docs(docs: Sequence[str], nbytes: int) -> list[str]:
    """Documents holding about ``nbytes``; the last one is cut at a line boundary."""
    out: list[str] = []
    total = 0
    for doc in docs:
        if total >= nbytes:
            break
        size = c.utf8_len(doc)
        if total + size > 2 * nbytes:
            lines: list[str] = []
            for line in doc.split("\n"):
                lines.append(line)
                total += c.utf8_len(line) + 1
                if total >= nbytes:
                    break
            out.append("\n".join(lines))
            break
        out.append(doc)
        total += size
    return out


def _name(func: tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":
        return name  # a builtin, e.g. <method 'search' of 're.Pattern' objects>
    short = path.split("/src/", 1)[-1].split("site-packages/", 1)[-1]
    return f"{short}:{line}({name})"


_STAGES = ("fix_text", "maybe_damaged", "has_codec_trigger", "find_damage", "_candidates",
           "propose", "_deeper")


def gate_stats(docs: Sequence[str]) -> dict[str, Any] | None:
    """How much of the input the gate lets through to the repair stage (None if the
    engine has no ``gate.has_codec_trigger`` any more)."""
    try:
        from textfix import gate

        trigger = gate.has_codec_trigger
    except (ImportError, AttributeError):
        return None
    lines = [line for doc in docs for line in doc.split("\n") if line.strip()]
    return {"docs": len(docs), "docs_triggered": sum(map(trigger, docs)),
            "lines": len(lines), "lines_triggered": sum(map(trigger, lines))}


def profile(fn: c.Fixer, docs: list[str], args: argparse.Namespace) -> dict[str, Any]:
    import textfix

    c.warm_up(textfix.fix_text, docs[0][:200])

    def run(nbytes: int) -> float:
        part = _prefix_docs(docs, nbytes)
        return c.timed(lambda: [fn(d) for d in part])[0]

    total_bytes = sum(map(c.utf8_len, docs))
    amount, seconds = c.calibrate(run, 500, total_bytes)
    part = _prefix_docs(docs, c.sized(amount, seconds, args.budget, 500, total_bytes))
    prof = cProfile.Profile()
    prof.enable()
    for doc in part:
        fn(doc)
    prof.disable()
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-9
    top = sorted(raw.items(), key=lambda kv: -kv[1][2])[: args.top]
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(args.top)
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(args.top)
    stages: dict[str, float] = {}
    for (path, _line, name), v in raw.items():
        if name in _STAGES and "textfix" in path:
            stages[name] = max(stages.get(name, 0.0), min(1.0, v[3] / total))
    return {
        "bytes": sum(map(c.utf8_len, part)), "docs": len(part), "seconds": total,
        "cumulative_share": stages, "gate": gate_stats(part),
        "top": [{"function": _name(func), "calls": v[1], "tottime_s": v[2],
                 "cumtime_s": v[3], "share": v[2] / total} for func, v in top],
        "_text": text.getvalue(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import textfix

    entries = []
    report = []
    for name, docs in inputs(args):
        entry = profile(textfix.fix_text, docs, args)
        text = entry.pop("_text")
        report.append(f"{'=' * 30} {name}: {c.human_size(entry['bytes'])} in "
                      f"{entry['docs']} documents\n{text}")
        c.log(f"  {name}: " + "; ".join(f"{f['function']} {f['share'] * 100:.0f}%"
                                          for f in entry["top"][:4]))
        entries.append({"input": name, **entry})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(report), encoding="utf-8")
    return {"settings": {"budget_s": args.budget, "top": args.top}, "inputs": entries,
            "text": "\n".join(report)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", type=float, default=1.5,
                        help="seconds of (unprofiled) work per input (default 1.5)")
    parser.add_argument("--max-mb", type=float, default=8.0,
                        help="largest sample per input, MB (default 8)")
    parser.add_argument("--top", type=int, default=20, help="functions listed (default 20)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the full pstats listings to this file")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    c.add_common_arguments(parser)
    args = parser.parse_args(argv)
    result = run(args)
    print(result.pop("text"))
    if args.json:
        c.write_json(args.json, {"machine": c.machine(), "profile": result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
