"""Turn ``results/results.json`` (and ``e2e.json``) into ``results.md`` and ``throughput.png``.

    python benchmarks/report.py            # re-render from the saved JSON
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c

TOOLS = ("textfix", "ftfy.fix_text", "ftfy.fix_encoding")


# --------------------------------------------------------------------------- targets


def _row(results: dict[str, Any], dataset: str) -> dict[str, Any] | None:
    for row in results.get("throughput", {}).get("rows", []):
        if row["dataset"] == dataset:
            return dict(row)
    return None


def _speed_target(results: dict[str, Any], dataset: str, goal: float, what: str,
                  ratio: float | None = None) -> dict[str, Any]:
    row = _row(results, dataset)
    if row is None:
        return {"target": what, "measured": "not measured", "met": None}
    speed = row["tools"]["textfix"]["mb_s"]
    met = speed >= goal
    measured = f"{_num(speed)} MB/s"
    per_doc = row.get("textfix_per_doc")
    if per_doc:
        measured += f" ({_num(per_doc['mb_s'])} one call per document)"
    if ratio is not None:
        r = row["ratio_vs_ftfy_fix_text"]
        measured += f", {r:.2g}× ftfy.fix_text"
        met = met and r >= ratio
    return {"target": what, "measured": measured, "met": met}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        _speed_target(results, "zh-Hans clean", 200, "clean zh-Hans ≥ 200 MB/s and ≥ 100× ftfy",
                      ratio=100),
        _speed_target(results, "zh-Hant clean", 200, "clean zh-Hant ≥ 200 MB/s and ≥ 100× ftfy",
                      ratio=100),
        _speed_target(results, "en clean", 1000, "clean English ≥ 1 GB/s"),
        _speed_target(results, "cjk-mix 1% damaged", 50, "1%-damaged corpus ≥ 50 MB/s"),
        _speed_target(results, "cjk-mix 100% damaged", 5, "fully damaged CJK ≥ 5 MB/s"),
    ]
    clean_rows = [r for r in results.get("throughput", {}).get("rows", [])
                  if r["damage_rate"] == 0]
    if clean_rows:
        counts = [r["correctness"]["textfix"]["changed"] for r in clean_rows]
        owns = [r["tools"]["textfix"]["changed_docs"] for r in clean_rows]
        docs = sum(r["correctness"]["docs"] for r in clean_rows)
        own_docs = sum(r["tools"]["textfix"]["docs"] for r in clean_rows)
        known = None not in counts and None not in owns
        changed = sum(x or 0 for x in counts)
        own = sum(x or 0 for x in owns)
        bad = ", ".join(f"{r['dataset']} {r['tools']['textfix']['changed_docs']}"
                        for r in clean_rows if r["tools"]["textfix"]["changed_docs"])
        out.append({"target": "clean input unchanged (textfix changes 0 documents)",
                    "measured": f"{own} of {own_docs} documents changed"
                                + (f" ({bad})" if bad else "")
                                + f"; {changed} of {docs} on the prefix all tools ran",
                    "met": known and changed == 0 and own == 0})
    e2e = results.get("e2e")
    if e2e and e2e.get("rows"):
        parts = []
        met = True
        for row in e2e["rows"]:
            speedup = row.get("speedup")
            if speedup is None:
                met = False
                continue
            parts.append(f"{row['format']} {speedup:.2f}×")
            met = met and speedup >= 1.7
        out.append({"target": "CLI --jobs 2 vs --jobs 1 ≥ 1.7×",
                    "measured": ", ".join(parts) + f" (corpus {c.human_size(e2e['bytes'])})",
                    "met": met if parts else None})
    else:
        out.append({"target": "CLI --jobs 2 vs --jobs 1 ≥ 1.7×",
                    "measured": "not measured (python benchmarks/bench_e2e.py)", "met": None})
    streaming = results.get("streaming")
    if streaming and streaming.get("runs"):
        runs = streaming["runs"]
        peaks = ", ".join(f"{c.human_size(r['size_mb'] * 2**20)}: {r['peak_rss_mb']:.0f} MB"
                          for r in runs)
        out.append({"target": "streaming: flat memory", "measured": f"peak RSS {peaks}",
                    "met": streaming.get("flat")})
    else:
        out.append({"target": "streaming: flat memory",
                    "measured": "not measured here (python benchmarks/bench_streaming.py)",
                    "met": None})
    return out


# --------------------------------------------------------------------------- markdown


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _mark(met: bool | None) -> str:
    return {True: "✅ met", False: "❌ missed", None: "– n/a"}[met]


def machine_md(m: dict[str, Any]) -> str:
    modified = " (with uncommitted changes in src/)" if m.get("src_modified") else ""
    load = m.get("loadavg")
    load_text = ", ".join(f"{x:.2f}" for x in load) if load else "?"
    return "\n".join([
        f"- date: {m['date']}",
        f"- platform: {m['platform']}, {m['machine']}",
        f"- CPU: {m['cpu']}, {m['cpu_count']} logical CPUs",
        f"- Python: {m['implementation']} {m['python']}",
        f"- textfix {m['textfix']} at commit {m['git_commit']}{modified}; ftfy {m['ftfy']}",
        f"- load average at start (1/5/15 min): {load_text}",
    ])


def _cell(cell: dict[str, Any]) -> str:
    return (f"{_num(cell['mb_s'])} <sub>({c.human_size(cell['bytes'])}, "
            f"{cell['runs']} runs)</sub>")


def throughput_md(tp: dict[str, Any]) -> str:
    block = c.human_size(tp["settings"].get("block_kb", 1000) * 1000)
    lines = [f"Documents joined by blank lines into blocks of up to {block}, one call per "
             "block; the last column calls textfix once per document. Sample size and runs "
             "in small print: each tool gets what it can do in about "
             f"{tp['settings']['budget_s']:g} s per run, at most "
             f"{c.human_size(tp['settings']['max_mb'] * c.MB)}.", "",
             "| input | textfix MB/s | ftfy.fix_text MB/s | ftfy.fix_encoding MB/s "
             "| textfix ÷ fix_text | textfix ÷ fix_encoding | textfix, one call per document |",
             "|" + "---|" * 7]
    for row in tp["rows"]:
        t = row["tools"]
        speeds = " | ".join(_cell(t[n]) for n in TOOLS)
        per_doc = row.get("textfix_per_doc")
        lines.append(f"| {row['dataset']} | {speeds} | {row['ratio_vs_ftfy_fix_text']:.3g}× "
                     f"| {row['ratio_vs_ftfy_fix_encoding']:.3g}× "
                     f"| {'–' if not per_doc else _cell(per_doc)} |")
    lines += ["", "Documents changed, and damaged documents restored exactly, on the prefix "
              "that all three tools processed:", "",
              "| input | docs (damaged) | changed: textfix / fix_text / fix_encoding "
              "| restored: textfix / fix_text / fix_encoding | clean docs harmed: textfix "
              "/ fix_text / fix_encoding |", "|" + "---|" * 5]
    for row in tp["rows"]:
        k = row["correctness"]
        changed = " / ".join("?" if k[n]["changed"] is None else str(k[n]["changed"])
                             for n in TOOLS)
        restored = " / ".join(str(k[n].get("restored", "–")) for n in TOOLS)
        harmed = " / ".join(str(k[n].get("harmed_clean", "–")) for n in TOOLS)
        lines.append(f"| {row['dataset']} | {k['docs']} ({k['damaged_docs']}) | {changed} "
                     f"| {restored} | {harmed} |")
    damage = [r for r in tp["rows"] if r.get("damage")]
    if damage:
        lines += ["", "Damage actually applied (lines of the sample pool):", ""]
        for row in damage:
            d = row["damage"]
            kinds = ", ".join(f"{k} {v}" for k, v in d["kinds"].items())
            lines.append(f"- {row['dataset']}: {d['damaged_lines']} of {d['lines']} lines "
                         f"({d['damaged_fraction'] * 100:.2f}%): {kinds}")
    return "\n".join(lines)


def short_md(short: dict[str, Any]) -> str:
    lines = ["| titles | avg chars | textfix µs/call | ftfy.fix_text µs/call "
             "| ftfy.fix_encoding µs/call | changed (clean) or restored (damaged): textfix / "
             "fix_text / fix_encoding |", "|" + "---|" * 6]
    for row in short["rows"]:
        t = row["tools"]
        key = "restored" if row["damaged"] else "changed"
        counts = " / ".join(str(t[n][key]) for n in TOOLS) + f" of {row['common']}"
        lines.append(f"| {row['set']} | {row['avg_chars']:.0f} | "
                     + " | ".join(f"{_num(t[n]['us_per_call'])}" for n in TOOLS)
                     + f" | {key} {counts} |")
    return "\n".join(lines)


def memory_md(mem: dict[str, Any]) -> str:
    lines = ["| input | " + " | ".join(f"{n}: peak (input, peak ÷ input)" for n in TOOLS)
             + " |", "|" + "---|" * 4]
    for row in mem["rows"]:
        cells = []
        for n in TOOLS:
            cell = row["tools"][n]
            cells.append(f"{cell['peak_mb']:.1f} MB ({c.human_size(cell['bytes'])}, "
                         f"{cell['peak_per_input_byte']:.2f}×)")
        lines.append(f"| {row['input']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scaling_md(sc: dict[str, Any]) -> str:
    sizes = sc["sizes"]
    lines = ["| input | tool | " + " | ".join(c.human_size(s) for s in sizes) + " |",
             "|" + "---|" * (len(sizes) + 2)]
    for row in sc["rows"]:
        for tool, points in row["tools"].items():
            by_size = {p["size"]: p for p in points}
            cells = []
            for s in sizes:
                p = by_size.get(s)
                if p is None:
                    cells.append("–")
                elif p["skipped"]:
                    cells.append(f"skipped (~{p['predicted_s']:.0f} s/run)")
                else:
                    cells.append(_num(p["mb_s"]))
            lines.append(f"| {row['input']} | {tool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _load(machine: dict[str, Any]) -> str:
    load = machine.get("loadavg")
    return "?" if not load else "/".join(f"{x:.1f}" for x in load)


def e2e_md(e2e: dict[str, Any]) -> str:
    lines = [f"Corpus: {c.human_size(e2e['bytes'])} per format in {e2e['shards']} files "
             f"(~{e2e['damage_rate'] * 100:g}% of lines damaged), generated {e2e['date']}; "
             f"command `{e2e['command']}`; median of {e2e['runs']} run(s).", "",
             f"Load average at start: {_load(e2e.get('machine', {}))} on "
             f"{e2e.get('machine', {}).get('cpu_count', '?')} CPUs. The speed-up needs idle "
             "cores: on a machine that other work keeps busy, two workers share the "
             "same CPU time one would get (compare the CPU seconds).", "",
             "| format | --jobs 1 | --jobs 2 | speed-up |", "|---|---|---|---|"]
    for row in e2e["rows"]:
        cells = []
        for jobs in ("1", "2"):
            r = row["jobs"].get(jobs)
            cells.append("–" if r is None else
                         f"{r['median_s']:.1f} s, {_num(r['mb_s'])} MB/s "
                         f"(CPU {r['cpu_s']:.0f} s)")
        speedup = row.get("speedup")
        lines.append(f"| {row['format']} | {cells[0]} | {cells[1]} | "
                     f"{'–' if speedup is None else f'{speedup:.2f}×'} |")
    return "\n".join(lines)


def profile_md(profile: dict[str, Any]) -> str:
    lines = []
    for entry in profile["inputs"]:
        lines.append(f"**{entry['input']}** ({c.human_size(entry['bytes'])}, "
                     f"{entry['seconds']:.2f} s under cProfile): "
                     + "; ".join(f"`{f['function']}` {f['share'] * 100:.0f}%"
                                 for f in entry["top"][:6]))
        gate = entry.get("gate")
        shares = entry.get("cumulative_share") or {}
        notes = []
        if gate:
            notes.append(f"the gate let {gate['docs_triggered']} of {gate['docs']} documents "
                         f"and {gate['lines_triggered']} of {gate['lines']} lines through")
        if shares:
            notes.append("cumulative: " + ", ".join(
                f"`{k}` {v * 100:.0f}%" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])))
        if notes:
            lines.append("")
            lines.append("— " + "; ".join(notes) + ".")
        lines.append("")
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    parts = ["# textfix benchmark results", "",
             "Generated by `python benchmarks/run_all.py` (see docs/benchmarks.md). "
             "MB = 10^6 bytes of UTF-8 input; every figure is a median of 3–5 runs.", "",
             "## Machine", "", machine_md(results["machine"]), "",
             "## Targets", "", "| target | measured | status |", "|---|---|---|"]
    for t in targets(results):
        parts.append(f"| {t['target']} | {t['measured']} | {_mark(t['met'])} |")
    sections = (("throughput", "Throughput", throughput_md),
                ("short", "Short strings (time per call)", short_md),
                ("memory", "Peak memory of one call (tracemalloc)", memory_md),
                ("scaling", "Scaling: MB/s for one string of each size", scaling_md),
                ("e2e", "End to end: `textfix fix --jobs 1` vs `--jobs 2`", e2e_md),
                ("profile", "Where textfix spends its time (cProfile, own time)", profile_md))
    for key, title, fn in sections:
        if results.get(key):
            parts += ["", f"## {title}", "", fn(results[key])]
    errors = results.get("errors")
    if errors:
        parts += ["", "## Errors", ""] + [f"- {k}: `{v}`" for k, v in errors.items()]
    if (results.get("throughput") or {}).get("rows"):
        parts += ["", "![throughput by damage rate](throughput.png)"]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- plot


def plot(results: dict[str, Any], path: Path) -> bool:
    """textfix vs ftfy MB/s by damage rate (log y). False if there is nothing to plot."""
    rows = [r for r in results.get("throughput", {}).get("rows", [])
            if r["lang"] == "cjk-mix"]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows.sort(key=lambda r: r["damage_rate"])
    labels = ["0" if r["damage_rate"] == 0 else f"{r['damage_rate'] * 100:g}%" for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    styles = {"textfix": ("o-", "tab:blue"), "ftfy.fix_text": ("s--", "tab:orange"),
              "ftfy.fix_encoding": ("^:", "tab:green")}
    offsets = {"textfix": 8, "ftfy.fix_text": -13, "ftfy.fix_encoding": 8}
    for tool in TOOLS:
        marker, color = styles[tool]
        values = [r["tools"][tool]["mb_s"] for r in rows]
        ax.plot(range(len(rows)), values, marker, color=color, label=tool, linewidth=2)
        for x, v in enumerate(values):
            ax.annotate(_num(v), (x, v), textcoords="offset points", xytext=(0, offsets[tool]),
                        ha="center", fontsize=7, color=color)
    for rate, goal in ((0.01, 50), (1.0, 5)):
        for x, r in enumerate(rows):
            if r["damage_rate"] == rate:
                ax.plot([x - 0.25, x + 0.25], [goal, goal], color="gray", linewidth=1)
                ax.annotate(f"target {goal}", (x + 0.27, goal), fontsize=7, color="gray",
                            va="center")
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), labels)
    ax.set_xlabel("lines damaged (CJK mix: zh-Hans, zh-Hant, ja, ko)")
    ax.set_ylabel("MB/s (UTF-8 input, log scale)")
    m = results["machine"]
    ax.set_title(f"textfix vs ftfy throughput — {m['cpu_count']} CPUs, Python {m['python']}, "
                 f"{m['date'][:10]}", fontsize=10)
    ax.grid(True, which="both", axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- files


def load(results_dir: Path) -> dict[str, Any]:
    path = results_dir / "results.json"
    results: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    e2e = results_dir / "e2e.json"
    if e2e.exists():
        results["e2e"] = json.loads(e2e.read_text("utf-8"))
    return results


def write(results_dir: Path, results: dict[str, Any]) -> None:
    """results.md and throughput.png from ``results`` (results.json is the caller's)."""
    if "machine" not in results:
        results = {**results, "machine": c.machine()}
    (results_dir / "results.md").write_text(render(results), encoding="utf-8")
    plot(results, results_dir / "throughput.png")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=c.RESULTS_DIR,
                        help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    results = load(args.results)
    if not results:
        raise SystemExit(f"nothing in {args.results}; run benchmarks/run_all.py first")
    write(args.results, results)
    print(args.results / "results.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
