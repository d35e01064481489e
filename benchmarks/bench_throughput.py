"""Throughput (MB/s of UTF-8 input) of textfix.fix_text, ftfy.fix_text and ftfy.fix_encoding.

Each tool is called once per document, on the same documents, in the same run:

* clean text of each language (zh-Hans, zh-Hant, ja, ko, en);
* a CJK mix (zh-Hans, zh-Hant, ja, ko in equal bytes) with 0%, 0.1%, 1%, 10% and
  100% of its lines damaged by real codec round trips.

Samples are prefixes of the same shuffled document list. Each tool's sample is sized
from a calibration run to take about ``--budget`` seconds (at most ``--max-mb``), so
a fast tool gets megabytes and ftfy gets what it can do in the budget. The figure is
the median of 3 runs (5 when a run takes under 0.5 s). Correctness counts (documents
changed, damaged documents restored exactly) are taken on the prefix that every tool
processed, so they compare like with like.

    python benchmarks/bench_throughput.py
    python benchmarks/bench_throughput.py --budget 0.3 --max-mb 2 --json /tmp/tp.json
"""

from __future__ import annotations

import argparse
import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import _common as c

RATES = (0.0, 0.001, 0.01, 0.1, 1.0)


@dataclass
class Dataset:
    name: str
    lang: str
    rate: float
    docs: list[str]
    originals: list[str]
    damage: dict[str, Any] | None

    def __post_init__(self) -> None:
        self._cum: list[int] = []
        total = 0
        for doc in self.docs:
            total += c.utf8_len(doc)
            self._cum.append(total)

    @property
    def total_bytes(self) -> int:
        return self._cum[-1]

    def count_for(self, nbytes: int) -> int:
        """How many documents (cycling through the list) hold at least ``nbytes``."""
        full, rest = divmod(nbytes, self.total_bytes)
        k = bisect.bisect_left(self._cum, rest) + 1 if rest else 0
        return max(1, full * len(self.docs) + k)

    def bytes_of(self, count: int) -> int:
        full, rest = divmod(count, len(self.docs))
        return full * self.total_bytes + (self._cum[rest - 1] if rest else 0)

    def sample(self, count: int) -> list[str]:
        n = len(self.docs)
        return [self.docs[i % n] for i in range(count)]

    def original(self, i: int) -> str:
        return self.originals[i % len(self.originals)]


def label(rate: float) -> str:
    return "clean" if rate == 0 else f"{rate * 100:g}% damaged"


def datasets(args: argparse.Namespace) -> list[Dataset]:
    corpus = c.corpus_of(args)
    limit = int(args.max_mb * c.MB) + 64_000
    out: list[Dataset] = []
    for lang in c.LANGS:
        docs = c.take_bytes(c.load_documents(corpus, lang, args.seed), limit)
        out.append(Dataset(f"{lang} clean", lang, 0.0, docs, docs, None))
    mix = c.interleave([c.load_documents(corpus, lang, args.seed) for lang in c.CJK_LANGS])
    base = c.take_bytes(mix, limit)
    for rate in RATES:
        if rate == 0:
            out.append(Dataset("cjk-mix clean", "cjk-mix", 0.0, base, base, None))
            continue
        damaged, stats = c.damage_documents(base, rate, args.seed)
        out.append(Dataset(f"cjk-mix {label(rate)}", "cjk-mix", rate, damaged, base,
                           stats.as_dict()))
    return out


def measure(fn: c.Fixer, data: Dataset, args: argparse.Namespace) -> dict[str, Any]:
    c.warm_up(fn, data.docs[0][:200])  # lazy tables and models load here

    def run(nbytes: int) -> float:
        sample = data.sample(data.count_for(nbytes))
        return c.timed(lambda: [fn(d) for d in sample])[0]

    max_bytes = int(args.max_mb * c.MB)
    amount, seconds = c.calibrate(run, 2_000, max_bytes)
    speed = data.bytes_of(data.count_for(amount)) / seconds
    nbytes = int(max(args.min_kb * 1000, min(max_bytes, speed * args.budget)))
    count = data.count_for(nbytes)
    sample = data.sample(count)
    size = data.bytes_of(count)
    times: list[float] = []
    outputs: list[str] = []
    for _ in range(c.runs_for(size / speed)):
        seconds, outputs = c.timed(lambda: [fn(d) for d in sample])
        times.append(seconds)
    med = c.median(times)
    return {
        "bytes": size, "docs": count, "runs": len(times), "times_s": times,
        "median_s": med, "mb_s": size / c.MB / med,
        "capped": size >= max_bytes,
        "changed_docs": sum(o != d for o, d in zip(outputs, sample, strict=True)),
        "_outputs": outputs,
    }


def correctness(data: Dataset, cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts on the prefix that every tool processed."""
    common = min(len(cell["_outputs"]) for cell in cells.values())
    inputs = data.sample(common)
    damaged = [i for i in range(common) if inputs[i] != data.original(i)]
    out: dict[str, Any] = {"docs": common, "bytes": data.bytes_of(common),
                           "damaged_docs": len(damaged)}
    for tool, cell in cells.items():
        outs = cell["_outputs"]
        entry = {"changed": sum(outs[i] != inputs[i] for i in range(common))}
        if damaged:
            entry["restored"] = sum(outs[i] == data.original(i) for i in damaged)
            entry["harmed_clean"] = sum(
                outs[i] != inputs[i] for i in range(common) if inputs[i] == data.original(i))
        out[tool] = entry
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    fns = c.tools()
    rows: list[dict[str, Any]] = []
    for data in datasets(args):
        cells: dict[str, dict[str, Any]] = {}
        for tool, fn in fns.items():
            cells[tool] = measure(fn, data, args)
            c.log(f"  {data.name:<24} {tool:<18} {cells[tool]['mb_s']:10.3f} MB/s "
                  f"({c.human_size(cells[tool]['bytes'])}, {cells[tool]['runs']} runs)")
        counts = correctness(data, cells)
        for cell in cells.values():
            del cell["_outputs"]
        tf = cells["textfix"]["mb_s"]
        rows.append({
            "dataset": data.name, "lang": data.lang, "damage_rate": data.rate,
            "damage": data.damage, "tools": cells, "correctness": counts,
            "ratio_vs_ftfy_fix_text": tf / cells["ftfy.fix_text"]["mb_s"],
            "ratio_vs_ftfy_fix_encoding": tf / cells["ftfy.fix_encoding"]["mb_s"],
        })
    return {"settings": {"budget_s": args.budget, "max_mb": args.max_mb, "min_kb": args.min_kb,
                         "seed": args.seed, "tools": list(fns)},
            "rows": rows}


def table(result: dict[str, Any]) -> str:
    head = ("| input | textfix MB/s | ftfy.fix_text MB/s | ftfy.fix_encoding MB/s "
            "| textfix/fix_text | textfix/fix_encoding | docs changed (textfix / fix_text "
            "/ fix_encoding) | damaged docs restored (textfix / fix_text / fix_encoding) |")
    lines = [head, "|" + "---|" * 8]
    for row in result["rows"]:
        t = row["tools"]
        k = row["correctness"]
        names = ("textfix", "ftfy.fix_text", "ftfy.fix_encoding")
        changed = " / ".join(str(k[n]["changed"]) for n in names) + f" of {k['docs']}"
        restored = " / ".join(str(k[n].get("restored", "–")) for n in names)
        if k["damaged_docs"]:
            restored += f" of {k['damaged_docs']}"
        speeds = " | ".join(_speed(t[n]) for n in names)
        lines.append(f"| {row['dataset']} | {speeds} | {row['ratio_vs_ftfy_fix_text']:.1f}× "
                     f"| {row['ratio_vs_ftfy_fix_encoding']:.1f}× | {changed} | {restored} |")
    return "\n".join(lines)


def _speed(cell: dict[str, Any]) -> str:
    return f"{_fmt(cell['mb_s'])} ({c.human_size(cell['bytes'])})"


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", type=float, default=1.0,
                        help="target seconds per timed run, per tool and input (default 1.0)")
    parser.add_argument("--max-mb", type=float, default=8.0,
                        help="largest sample per tool and input, MB (default 8)")
    parser.add_argument("--min-kb", type=float, default=4.0,
                        help="smallest sample, KB, however slow the tool (default 4)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    c.add_common_arguments(parser)
    args = parser.parse_args(argv)
    result = {"machine": c.machine(), "throughput": run(args)}
    print(table(result["throughput"]))
    if args.json:
        c.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
