"""Peak memory of one call on a big input (tracemalloc peak).

The input string is built before tracing starts, so the peak is what the call
itself allocates (its output included, unless it returns the input object).
Inputs: clean zh-Hans, clean English, and the CJK mix with 1% of lines damaged,
each one string of ``--size`` bytes. A tool too slow to finish the call within
``--budget`` seconds under tracing gets a shorter prefix (the table shows the size
used; compare the peak/input ratios).

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --size 20MB --budget 60
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from collections.abc import Sequence
from typing import Any

import _common as c

TRACE_OVERHEAD = 3.0
"""tracemalloc slows allocation-heavy code down about this much."""


def inputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    corpus = c.corpus_of(args)
    zh = c.one_string(c.load_documents(corpus, "zh-Hans", args.seed), args.size)
    en = c.one_string(c.load_documents(corpus, "en", args.seed), args.size)
    mix = c.interleave([c.load_documents(corpus, lang, args.seed) for lang in c.CJK_LANGS])
    base = c.take_bytes(mix, args.size + 64_000)
    damaged, _stats = c.damage_documents(base, 0.01, args.seed)
    return [("zh-Hans clean", zh), ("en clean", en),
            ("cjk-mix 1% damaged", c.one_string(damaged, args.size))]


def _prefix(text: str, nbytes: int) -> str:
    return text.encode("utf-8")[:nbytes].decode("utf-8", errors="ignore")


def measure(fn: c.Fixer, text: str, args: argparse.Namespace) -> dict[str, Any]:
    c.warm_up(fn)
    total = c.utf8_len(text)

    def run(nbytes: int) -> float:
        part = _prefix(text, nbytes)
        return c.timed(lambda: fn(part))[0]

    amount, seconds = c.calibrate(run, 4_000, total, min_seconds=0.2)
    speed = amount / seconds
    nbytes = int(max(min(total, 64_000), min(total, speed * args.budget / TRACE_OVERHEAD)))
    part = text if nbytes >= total else _prefix(text, nbytes)
    size = c.utf8_len(part)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn(part)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"bytes": size, "str_bytes": sys.getsizeof(part), "peak_bytes": peak,
            "peak_mb": peak / c.MB, "peak_per_input_byte": peak / size,
            "same_object": result is part, "full_size": size >= total}


def run(args: argparse.Namespace) -> dict[str, Any]:
    fns = c.tools()
    rows = []
    for name, text in inputs(args):
        cells = {}
        for tool, fn in fns.items():
            cells[tool] = measure(fn, text, args)
            cell = cells[tool]
            c.log(f"  {name:<20} {tool:<18} peak {cell['peak_mb']:8.1f} MB for "
                  f"{c.human_size(cell['bytes'])} ({cell['peak_per_input_byte']:.2f}× input)")
        rows.append({"input": name, "tools": cells})
    return {"settings": {"size": args.size, "budget_s": args.budget, "seed": args.seed},
            "rows": rows}


def table(result: dict[str, Any]) -> str:
    names = ("textfix", "ftfy.fix_text", "ftfy.fix_encoding")
    lines = ["| input | " + " | ".join(f"{n} peak (input size, peak/input)" for n in names)
             + " |", "|" + "---|" * 4]
    for row in result["rows"]:
        cells = []
        for n in names:
            cell = row["tools"][n]
            cells.append(f"{cell['peak_mb']:.1f} MB ({c.human_size(cell['bytes'])}, "
                         f"{cell['peak_per_input_byte']:.2f}×)")
        lines.append(f"| {row['input']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=c.parse_size, default=c.parse_size("4MB"),
                        help="input size (default 4MB)")
    parser.add_argument("--budget", type=float, default=4.0,
                        help="seconds one traced call may take; slower tools get a shorter "
                             "prefix (default 4)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    c.add_common_arguments(parser)
    args = parser.parse_args(argv)
    result = {"machine": c.machine(), "memory": run(args)}
    print(table(result["memory"]))
    if args.json:
        c.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
