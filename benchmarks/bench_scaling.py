"""Scaling: time for one call on one string of 1 KB, 10 KB, ... up to ``--max-size``.

MB/s per size shows whether the cost is linear in the input (flat MB/s) or not.
Inputs: clean zh-Hans and the CJK mix with every 100th line damaged (evenly, so
each size has the same density of damage), each one string (documents joined by
blank lines). textfix runs at every size; ftfy.fix_text and
ftfy.fix_encoding only up to ``--ftfy-max-size`` (ftfy on 100 MB takes minutes).
A size whose predicted time (from the previous size's speed) exceeds
``--point-budget`` seconds per run is skipped and marked so.

    python benchmarks/bench_scaling.py                     # up to 10 MB
    python benchmarks/bench_scaling.py --max-size 100MB    # adds 100 MB (textfix only)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import _common as c

SIZES = (10**3, 10**4, 10**5, 10**6, 10**7, 10**8)


def inputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    corpus = c.corpus_of(args)
    zh = c.load_documents(corpus, "zh-Hans", args.seed)
    mix = c.interleave([c.load_documents(corpus, lang, args.seed) for lang in c.CJK_LANGS])
    base = c.take_bytes(mix, 4 * c.MB)  # damaged once, then cycled up to the size
    damaged, _stats = c.damage_documents(base, 0.01, args.seed, evenly=True)
    return [("zh-Hans clean", c.one_string(zh, args.max_size)),
            ("cjk-mix 1% damaged", c.one_string(damaged, args.max_size))]


def _prefix(text: str, nbytes: int) -> str:
    return text.encode("utf-8")[:nbytes].decode("utf-8", errors="ignore")


def series(fn: c.Fixer, text: str, sizes: Sequence[int],
           args: argparse.Namespace) -> list[dict[str, Any]]:
    c.warm_up(fn)
    points: list[dict[str, Any]] = []
    speed: float | None = None
    for size in sizes:
        if speed is not None and size / speed > args.point_budget:
            points.append({"size": size, "skipped": True,
                           "predicted_s": size / speed})
            continue
        part = _prefix(text, size)
        nbytes = c.utf8_len(part)
        first, _ = c.timed(lambda: fn(part))  # noqa: B023 - called right here
        times = [first]
        for _ in range(c.runs_for(first) - 1):
            times.append(c.timed(lambda: fn(part))[0])  # noqa: B023
        med = c.median(times)
        speed = nbytes / med
        points.append({"size": size, "bytes": nbytes, "runs": len(times), "median_s": med,
                       "mb_s": nbytes / c.MB / med, "skipped": False})
    return points


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [s for s in SIZES if s <= args.max_size]
    ftfy_sizes = [s for s in sizes if s <= args.ftfy_max_size]
    rows = []
    for name, text in inputs(args):
        result: dict[str, Any] = {}
        for tool, fn in c.tools().items():
            points = series(fn, text, sizes if tool == "textfix" else ftfy_sizes, args)
            result[tool] = points
            for p in points:
                shown = "skipped" if p["skipped"] else f"{p['mb_s']:10.3f} MB/s"
                c.log(f"  {name:<20} {tool:<18} {c.human_size(p['size']):>7} {shown}")
        rows.append({"input": name, "tools": result})
    return {"settings": {"max_size": args.max_size, "ftfy_max_size": args.ftfy_max_size,
                         "point_budget_s": args.point_budget, "seed": args.seed},
            "sizes": sizes, "rows": rows}


def table(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    lines = ["| input | tool | " + " | ".join(c.human_size(s) for s in sizes) + " |",
             "|" + "---|" * (len(sizes) + 2)]
    for row in result["rows"]:
        for tool, points in row["tools"].items():
            by_size = {p["size"]: p for p in points}
            cells = []
            for s in sizes:
                p = by_size.get(s)
                if p is None:
                    cells.append("–")
                elif p["skipped"]:
                    cells.append(f"skipped (~{p['predicted_s']:.0f} s)")
                else:
                    cells.append(f"{_fmt(p['mb_s'])}")
            lines.append(f"| {row['input']} | {tool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-size", type=c.parse_size, default=c.parse_size("10MB"),
                        help="largest string (default 10MB; 100MB adds the last point)")
    parser.add_argument("--ftfy-max-size", type=c.parse_size, default=c.parse_size("1MB"),
                        help="largest string given to ftfy (default 1MB)")
    parser.add_argument("--point-budget", type=float, default=6.0,
                        help="skip a size predicted to take longer than this per run, "
                             "seconds (default 6)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    c.add_common_arguments(parser)
    args = parser.parse_args(argv)
    result = {"machine": c.machine(), "scaling": run(args)}
    print(table(result["scaling"]))
    if args.json:
        c.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
