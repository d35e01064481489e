"""Throughput (MB/s of UTF-8 input) of textfix.fix_text, ftfy.fix_text and ftfy.fix_encoding.

Each tool is called on the same text in the same run: documents joined by blank
lines into blocks of ``--block-kb`` (1 MB), one call per block, like fixing a file.
textfix is timed once more on the same documents with one call per document (records
of a dataset), which adds its per-call overhead. Inputs:

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
SEP = "\n\n"


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


def blocks_of(docs: Sequence[str], block: int) -> list[list[str]]:
    """Consecutive documents grouped into blocks of at most ``block`` bytes (at least one)."""
    out: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for doc in docs:
        n = c.utf8_len(doc) + 2
        if cur and size + n > block:
            out.append(cur)
            cur, size = [], 0
        cur.append(doc)
        size += n
    if cur:
        out.append(cur)
    return out


def _per_doc(outputs: list[str], groups: list[list[str]]) -> list[str] | None:
    """Split each block's output back into documents (None if a tool merged lines)."""
    docs: list[str] = []
    for out, group in zip(outputs, groups, strict=True):
        parts = out.split(SEP)
        if len(parts) != len(group):
            return None
        docs.extend(parts)
    return docs


def measure(fn: c.Fixer, data: Dataset, args: argparse.Namespace,
            per_doc: bool = False, count: int | None = None) -> dict[str, Any]:
    """Time ``fn`` on a prefix of ``data``: one call per block of documents joined by
    blank lines (``per_doc``: one call per document). The prefix is sized by a
    calibration run, or holds ``count`` documents."""
    block = 1 if per_doc else int(args.block_kb * 1000)
    c.warm_up(fn, data.docs[0][:200])  # lazy tables and models load here

    def prepare(count: int) -> tuple[list[list[str]], list[str]]:
        groups = blocks_of(data.sample(count), block)
        return groups, [SEP.join(g) for g in groups]

    last: dict[str, Any] = {}

    def run(nbytes: int) -> float:
        count = data.count_for(nbytes)
        texts = prepare(count)[1]
        seconds, outputs = c.timed(lambda: [fn(t) for t in texts])
        last.update(count=count, seconds=seconds, outputs=outputs)
        return float(seconds)

    max_bytes = int(args.max_mb * c.MB)
    if count is None:
        # One throwaway run first: the first lines of a language may fill caches
        # the generic warm-up does not reach (the first Korean lines with "??"
        # unpack trigram rows and build a reader's fill tables: half a second),
        # and a calibration run that pays for them sizes the sample far too small
        # (Korean got 24 KB).
        run(min(64_000, max_bytes))
        amount, seconds = c.calibrate(run, 2_000, max_bytes)
        speed = data.bytes_of(data.count_for(amount)) / seconds
        nbytes = int(max(args.min_kb * 1000, min(max_bytes, speed * args.budget)))
        count = data.count_for(nbytes)
    else:
        speed = data.bytes_of(count) / run(data.bytes_of(count))
    groups, texts = prepare(count)
    size = sum(map(c.utf8_len, texts))
    times: list[float] = []
    outputs: list[str] = []
    if last["count"] == count:  # a slow tool: the calibration run already was one
        times.append(last["seconds"])
        outputs = last["outputs"]
    while len(times) < c.runs_for(size / speed):
        seconds, outputs = c.timed(lambda: [fn(t) for t in texts])
        times.append(seconds)
    med = c.median(times)
    docs_out = _per_doc(outputs, groups)
    sample = data.sample(count)
    return {
        "bytes": size, "docs": count, "calls": len(texts), "runs": len(times),
        "times_s": times, "median_s": med, "mb_s": size / c.MB / med,
        "capped": size >= max_bytes,
        "changed_docs": None if docs_out is None else
        sum(o != d for o, d in zip(docs_out, sample, strict=True)),
        "_outputs": docs_out,
    }


def correctness(data: Dataset, cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts on the prefix that every tool processed."""
    common = min(len(cell["_outputs"] or ()) or cell["docs"] for cell in cells.values())
    inputs = data.sample(common)
    damaged = [i for i in range(common) if inputs[i] != data.original(i)]
    out: dict[str, Any] = {"docs": common, "bytes": data.bytes_of(common),
                           "damaged_docs": len(damaged)}
    for tool, cell in cells.items():
        outs = cell["_outputs"]
        if outs is None:
            out[tool] = {"changed": None, "note": "output did not split back into documents"}
            continue
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
        # Per document is skipped where even the smallest sample overran the budget: the
        # repair work dwarfs any per-call overhead there, and it would double the run time.
        per_doc = None
        if args.per_doc and cells["textfix"]["median_s"] <= 3 * args.budget:
            per_doc = measure(fns["textfix"], data, args, per_doc=True,
                              count=cells["textfix"]["docs"])
            del per_doc["_outputs"]
            c.log(f"  {data.name:<24} {'textfix per doc':<18} {per_doc['mb_s']:10.3f} MB/s "
                  f"({c.human_size(per_doc['bytes'])}, {per_doc['calls']} calls)")
        tf = cells["textfix"]["mb_s"]
        rows.append({
            "dataset": data.name, "lang": data.lang, "damage_rate": data.rate,
            "damage": data.damage, "tools": cells, "correctness": counts,
            "ratio_vs_ftfy_fix_text": tf / cells["ftfy.fix_text"]["mb_s"],
            "ratio_vs_ftfy_fix_encoding": tf / cells["ftfy.fix_encoding"]["mb_s"],
            "textfix_per_doc": per_doc,
        })
    return {"settings": {"budget_s": args.budget, "max_mb": args.max_mb, "min_kb": args.min_kb,
                         "block_kb": args.block_kb, "seed": args.seed, "tools": list(fns)},
            "rows": rows}


def table(result: dict[str, Any]) -> str:
    head = ("| input | textfix MB/s | ftfy.fix_text MB/s | ftfy.fix_encoding MB/s "
            "| textfix/fix_text | textfix/fix_encoding | textfix per doc MB/s "
            "| docs changed (textfix / fix_text / fix_encoding) "
            "| damaged docs restored (textfix / fix_text / fix_encoding) |")
    lines = [head, "|" + "---|" * 9]
    for row in result["rows"]:
        t = row["tools"]
        k = row["correctness"]
        names = ("textfix", "ftfy.fix_text", "ftfy.fix_encoding")
        changed = " / ".join(str(k[n]["changed"]) for n in names) + f" of {k['docs']}"
        restored = " / ".join(str(k[n].get("restored", "–")) for n in names)
        if k["damaged_docs"]:
            restored += f" of {k['damaged_docs']}"
        speeds = " | ".join(_speed(t[n]) for n in names)
        per_doc = row["textfix_per_doc"]
        per_doc_text = "–" if per_doc is None else _speed(per_doc)
        lines.append(f"| {row['dataset']} | {speeds} | {row['ratio_vs_ftfy_fix_text']:.3g}× "
                     f"| {row['ratio_vs_ftfy_fix_encoding']:.3g}× | {per_doc_text} "
                     f"| {changed} | {restored} |")
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
    parser.add_argument("--min-kb", type=float, default=2.0,
                        help="smallest sample, KB (at least one document), however slow the "
                             "tool (default 2)")
    parser.add_argument("--block-kb", type=float, default=1000.0,
                        help="documents are joined by blank lines into blocks of this many KB, "
                             "one call per block (default 1000)")
    parser.add_argument("--no-per-doc", dest="per_doc", action="store_false",
                        help="skip the extra textfix run with one call per document")


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
