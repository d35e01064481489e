"""Time and memory per MB of adversarial input, and how they grow with size.

Each input is built at a ladder of sizes (x4 per step: 16 KB, 64 KB, ... up to its
full size: 10 MB for the trigger runs, 100 MB for the line without a newline) and
fixed in a fresh subprocess, which reports its wall time and peak RSS. A size that
takes longer than ``--budget`` seconds is killed and ends that input's ladder; its
time at full size is then projected from the growth between the last two sizes.

    python benchmarks/bench_adversarial.py                      # everything, full size
    python benchmarks/bench_adversarial.py --max-size 1MB --budget 20 kun replacement
    python benchmarks/bench_adversarial.py --json out.json
    python benchmarks/bench_adversarial.py --from-json out.json  # reprint the table

Columns: ``s/MB`` at the largest completed size; ``x4`` = time(4N) / time(N) for the
last completed step (4 is linear, 16 quadratic); ``exp`` = log4 of that; ``RSS`` =
peak resident memory of the child minus an idle child's.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

MB = 1 << 20
ZH = "今天天气很好，我们一起去公园散步吧。"
JA = "日本語の文章を正しく表示できますか。"
KO = "한국어 문장도 제대로 보여야 합니다."
GARBLED_GBK = ZH.encode().decode("gbk", "replace")
GARBLED_LATIN1 = ZH.encode().decode("latin-1")


def _repeat(unit: str, n_bytes: int) -> str:
    return unit * max(1, n_bytes // len(unit.encode("utf-8")))


def _long_line(n_bytes: int) -> str:
    """Clean CJK text with one garbled sentence in the middle, and no newline.

    (No 锟斤拷 here: a line holding one is only reported, never repaired.)
    """
    line = _repeat(ZH + JA + KO, n_bytes)
    middle = len(line) // 2
    return line[:middle] + GARBLED_GBK + "Ã©" + line[middle:]


# name -> (builder of about n bytes of UTF-8, full size in bytes)
INPUTS: dict[str, tuple[Callable[[int], str], int]] = {
    # a single trigger character, repeated
    "kun": (lambda n: _repeat("锟", n), 10 * MB),
    "replacement": (lambda n: _repeat("\ufffd", n), 10 * MB),
    "a_tilde": (lambda n: _repeat("Ã", n), 10 * MB),
    "question_after_cjk": (lambda n: "中" + "?" * n, 10 * MB),
    "huan": (lambda n: _repeat("浣", n), 10 * MB),
    "tang": (lambda n: _repeat("烫", n), 10 * MB),
    "c1_control": (lambda n: _repeat("\x81", n), 10 * MB),
    "cyrillic_pair": (lambda n: _repeat("РС", n), 10 * MB),
    "private_use": (lambda n: _repeat("\ue000", n), 10 * MB),
    "halfwidth_kana": (lambda n: _repeat("ｱ", n), 10 * MB),
    "comma_run": (lambda n: "中" + "," * n, 10 * MB),
    "pinyin_run": (lambda n: "中(" + "a" * n, 10 * MB),
    "open_paren_after_han": (lambda n: _repeat("中(", n), 10 * MB),
    # mojibake and clean text alternating, on one line
    "alt_garbled_clean": (lambda n: _repeat(GARBLED_GBK + ZH, n), 10 * MB),
    "alt_latin1_clean": (lambda n: _repeat(GARBLED_LATIN1 + ZH, n), 10 * MB),
    "alt_huan_hao": (lambda n: _repeat("浣好", n), 10 * MB),
    "alt_a_tilde_a": (lambda n: _repeat("Ãa", n), 10 * MB),
    "alt_fffd_zh": (lambda n: _repeat("\ufffd中", n), 10 * MB),
    "alt_kun_zh": (lambda n: _repeat("锟中", n), 10 * MB),
    "alt_question_zh": (lambda n: _repeat("?中", n), 10 * MB),
    # one line, no newline
    "long_line": (_long_line, 100 * MB),
    # baselines with newlines: all clean, all damaged
    "clean_lines": (lambda n: _repeat(ZH + "\n" + JA + "\n" + KO + "\n", n), 10 * MB),
    "garbled_lines": (lambda n: _repeat(GARBLED_GBK + "\n", n), 10 * MB),
}

SMALLEST = 16 << 10


@dataclass
class Point:
    size: int  # bytes of UTF-8 input
    seconds: float | None  # None: killed after the budget
    rss_mb: float | None = None


@dataclass
class Result:
    name: str
    full_size: int
    points: list[Point] = field(default_factory=list)

    def done(self) -> list[Point]:
        return [p for p in self.points if p.seconds is not None]

    def growth(self) -> float | None:
        done = self.done()
        if len(done) < 2 or not done[-2].seconds:
            return None
        ratio = done[-1].seconds / done[-2].seconds  # type: ignore[operator]
        return ratio ** (math.log(4) / math.log(done[-1].size / done[-2].size))

    def exponent(self) -> float | None:
        growth = self.growth()
        return None if growth is None or growth <= 0 else math.log(growth, 4)

    def seconds_per_mb(self) -> float | None:
        done = self.done()
        if not done:
            return None
        return done[-1].seconds / (done[-1].size / MB)  # type: ignore[operator]

    def projected_full(self) -> float | None:
        """Seconds at full size: measured, or extrapolated with the last exponent."""
        done = self.done()
        if not done:
            return None
        last = done[-1]
        if last.size >= 0.99 * self.full_size:
            return last.seconds
        exp = max(self.exponent() or 1.0, 1.0)
        return last.seconds * (self.full_size / last.size) ** exp  # type: ignore[operator]


# --------------------------------------------------------------------------- child


def child(name: str, size: int, op: str) -> None:
    import textfix

    builder, _full = INPUTS[name]
    text = builder(size)
    textfix.fix_text(GARBLED_GBK)  # load the model outside the timing
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if op == "scan":
        textfix.scan(text)
    else:
        textfix.fix_text(text)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "bytes": len(text.encode()),
                      "rss_mb": peak / 1024, "extra_mb": (peak - base) / 1024}))


def measure(name: str, size: int, op: str, budget: float) -> Point:
    cmd = [sys.executable, __file__, "--child", name, str(size), "--op", op]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, check=True)
    except subprocess.TimeoutExpired:
        return Point(size, None)
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(f"{name} at {size} bytes failed:\n{exc.stderr}\n")
        return Point(size, None)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Point(data["bytes"], data["seconds"], round(data["extra_mb"], 1))


def ladder(full: int, max_size: int | None) -> list[int]:
    top = min(full, max_size) if max_size else full
    sizes = []
    size = SMALLEST
    while size < top:
        sizes.append(size)
        size *= 4
    sizes.append(top)
    return sizes


def run(name: str, op: str, budget: float, max_size: int | None) -> Result:
    _builder, full = INPUTS[name]
    result = Result(name, full)
    for size in ladder(full, max_size):
        point = measure(name, size, op, budget)
        result.points.append(point)
        if point.seconds is None:
            break
    return result


# --------------------------------------------------------------------------- report


def _fmt_size(n: int) -> str:
    return f"{n / MB:.0f}MB" if n >= MB else f"{n >> 10}KB"


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report(results: list[Result], budget: float) -> str:
    head = f"{'input':22} {'largest':>8} {'s':>8} {'s/MB':>9} {'x4':>6} {'exp':>5} " \
           f"{'RSS MB':>7} {'full size':>9} {'s at full':>10}"
    lines = [head, "-" * len(head)]
    for r in results:
        done = r.done()
        last = done[-1] if done else None
        killed = any(p.seconds is None for p in r.points)
        full_s = r.projected_full()
        projected = "" if last and last.size >= 0.99 * r.full_size else "~"
        lines.append(
            f"{r.name:22} {_fmt_size(last.size) if last else '-':>8} "
            f"{_fmt(last.seconds if last else None, '.2f'):>8} "
            f"{_fmt(r.seconds_per_mb(), '.2f'):>9} {_fmt(r.growth(), '.1f'):>6} "
            f"{_fmt(r.exponent(), '.2f'):>5} {_fmt(last.rss_mb if last else None, '.0f'):>7} "
            f"{_fmt_size(r.full_size):>9} {projected + _fmt(full_s, '.0f'):>10}"
            + (f"  (next size > {budget:.0f} s)" if killed else "")
        )
    return "\n".join(lines)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)B?", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(match[1]) * {"": 1, "K": 1 << 10, "M": MB, "G": 1 << 30}[match[2]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="*", help=f"any of: {', '.join(INPUTS)}")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds one size may take before the ladder stops (120)")
    parser.add_argument("--max-size", type=parse_size, default=None,
                        help="stop every ladder at this size (e.g. 1MB)")
    parser.add_argument("--op", choices=("fix", "scan"), default="fix")
    parser.add_argument("--json", metavar="PATH", help="also write the raw points as JSON")
    parser.add_argument("--from-json", metavar="PATH", help="reprint a --json file")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "BYTES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.op)
        return 0
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as fh:
            saved = json.load(fh)
        results = [Result(r["name"], r["full_size"], [Point(**p) for p in r["points"]])
                   for r in saved]
        print(report(results, args.budget))
        return 0
    names = args.inputs or list(INPUTS)
    unknown = [n for n in names if n not in INPUTS]
    if unknown:
        parser.error(f"unknown input(s): {', '.join(unknown)}")
    results = []
    for name in names:
        results.append(run(name, args.op, args.budget, args.max_size))
        print(report(results[-1:], args.budget).splitlines()[-1], flush=True)
    print()
    print(report(results, args.budget))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([asdict(r) for r in results], fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
