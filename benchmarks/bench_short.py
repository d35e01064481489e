"""Time per call on short strings (10–30 characters: titles, names, table cells).

Titles are the first 30 characters of corpus lines that have at least 10. Sets:
clean titles of each language, and CJK-mix titles each damaged by a random codec
round trip (kept if the damaged title has at most 50 characters). A batch of
titles is timed as a loop of single calls; the figure is the median over 5 runs
divided by the number of titles.

    python benchmarks/bench_short.py
    python benchmarks/bench_short.py --titles 2000 --budget 0.2
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from typing import Any

import _common as c

TITLE_CHARS = 30
MIN_CHARS = 10
MAX_DAMAGED_CHARS = 50


def titles_of(docs: Sequence[str], limit: int) -> list[str]:
    out: list[str] = []
    for doc in docs:
        for line in doc.split("\n"):
            line = line.strip()
            if len(line) >= MIN_CHARS:
                out.append(line[:TITLE_CHARS])
                if len(out) >= limit:
                    return out
    return out


def title_sets(args: argparse.Namespace) -> list[tuple[str, list[str], list[str]]]:
    """(name, titles, originals) for each set."""
    corpus = c.corpus_of(args)
    sets = []
    for lang in c.LANGS:
        titles = titles_of(c.load_documents(corpus, lang, args.seed), args.titles)
        sets.append((f"{lang} clean", titles, titles))
    mix = c.interleave([c.load_documents(corpus, lang, args.seed) for lang in c.CJK_LANGS])
    rng = random.Random(f"{args.seed}-titles")
    originals: list[str] = []
    damaged: list[str] = []
    for title in titles_of(mix, args.titles * 2):
        new, kind = c.damage_line(title, rng)
        if kind is not None and len(new) <= MAX_DAMAGED_CHARS:
            originals.append(title)
            damaged.append(new)
            if len(damaged) >= args.titles:
                break
    sets.append(("cjk-mix damaged", damaged, originals))
    return sets


def measure(fn: c.Fixer, titles: list[str], args: argparse.Namespace) -> dict[str, Any]:
    c.warm_up(fn, titles[0])

    def run(count: int) -> float:
        batch = titles[:count]
        return c.timed(lambda: [fn(t) for t in batch])[0]

    amount, seconds = c.calibrate(run, 10, len(titles), min_seconds=0.05)
    count = c.sized(amount, seconds, args.budget, min(10, len(titles)), len(titles))
    batch = titles[:count]
    times: list[float] = []
    outputs: list[str] = []
    for _ in range(max(5, c.runs_for(seconds * count / amount))):
        elapsed, outputs = c.timed(lambda: [fn(t) for t in batch])
        times.append(elapsed)
    med = c.median(times)
    return {"calls": count, "runs": len(times), "median_s": med,
            "us_per_call": med / count * 1e6, "calls_per_s": count / med,
            "_outputs": outputs}


def run(args: argparse.Namespace) -> dict[str, Any]:
    fns = c.tools()
    rows = []
    for name, titles, originals in title_sets(args):
        cells = {tool: measure(fn, titles, args) for tool, fn in fns.items()}
        common = min(cell["calls"] for cell in cells.values())
        for tool, cell in cells.items():
            outs = cell.pop("_outputs")
            cell["changed"] = sum(outs[i] != titles[i] for i in range(common))
            if originals is not titles:
                cell["restored"] = sum(outs[i] == originals[i] for i in range(common))
            c.log(f"  {name:<18} {tool:<18} {cell['us_per_call']:10.1f} µs/call "
                  f"({cell['calls']} calls)")
        rows.append({
            "set": name, "titles": len(titles), "common": common,
            "avg_chars": sum(map(len, titles)) / len(titles),
            "damaged": originals is not titles, "tools": cells,
        })
    return {"settings": {"budget_s": args.budget, "titles": args.titles, "seed": args.seed},
            "rows": rows}


def table(result: dict[str, Any]) -> str:
    names = ("textfix", "ftfy.fix_text", "ftfy.fix_encoding")
    lines = ["| titles | avg chars | textfix µs/call | ftfy.fix_text µs/call "
             "| ftfy.fix_encoding µs/call | changed (textfix / fix_text / fix_encoding) |",
             "|" + "---|" * 6]
    for row in result["rows"]:
        t = row["tools"]
        key = "restored" if row["damaged"] else "changed"
        counts = " / ".join(str(t[n][key]) for n in names) + f" of {row['common']}"
        if row["damaged"]:
            counts = "restored " + counts
        lines.append(f"| {row['set']} | {row['avg_chars']:.0f} | "
                     + " | ".join(f"{t[n]['us_per_call']:.1f}" for n in names)
                     + f" | {counts} |")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--titles", type=int, default=5000,
                        help="titles per set (most that a run may use; default 5000)")
    parser.add_argument("--budget", type=float, default=0.4,
                        help="target seconds per timed run (default 0.4)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    c.add_common_arguments(parser)
    args = parser.parse_args(argv)
    result = {"machine": c.machine(), "short": run(args)}
    print(table(result["short"]))
    if args.json:
        c.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
