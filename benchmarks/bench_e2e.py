"""End to end: ``textfix fix --jobs 1`` vs ``--jobs 2`` on a generated corpus (default 1 GB).

Generates (once; reused while the settings match) a corpus of ``--size`` bytes by
repeating and reshuffling the corpus documents of all five languages, with about
1% of lines damaged by codec round trips, written twice in ``--shards`` files:
as JSONL (``{"id": N, "text": ...}`` per line) and as plain text (documents
separated by blank lines). Then times the real command on each directory,

    textfix fix --isolated -q --no-progress --jobs N [--field text] DIR > /dev/null

with ``time.perf_counter`` around ``subprocess.run`` (runs for --jobs 1 and 2
alternate, median of ``--runs``), and writes ``benchmarks/results/e2e.json`` and
re-renders ``results.md``. Data goes to ``$TMPDIR/textfix-e2e`` (``--dir``), outside
the repository, because textfix skips files git ignores.

    python benchmarks/bench_e2e.py                               # 1 GB, ~2 GB of disk
    python benchmarks/bench_e2e.py --size 20MB --runs 1 --shards 4 --dir /tmp/e2e  # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import _common as c
import report

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def textfix_command() -> list[str]:
    """The installed ``textfix`` script next to this Python, else ``python -m textfix.cli``."""
    script = Path(sys.executable).with_name("textfix")
    if script.exists():
        return [str(script)]
    found = shutil.which("textfix")
    return [found] if found else [sys.executable, "-m", "textfix.cli"]


def check_cli(cmd: list[str]) -> str | None:
    """Why the CLI cannot run this benchmark yet (None if it can)."""
    try:
        help_text = subprocess.run([*cmd, "fix", "--help"], capture_output=True, text=True,
                                   timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {' '.join(cmd)}: {exc}"
    missing = [flag for flag in ("--jobs", "--field") if flag not in help_text]
    if missing:
        return f"`textfix fix` has no {', '.join(missing)} option yet"
    garbled = "你好，世界！今天天气很好。".encode().decode("gbk", errors="replace")
    with tempfile.TemporaryDirectory(prefix="textfix-e2e-probe-") as tmp:
        probe = Path(tmp) / "probe.jsonl"
        probe.write_text(json.dumps({"id": 1, "text": garbled, "other": garbled},
                                    ensure_ascii=False) + "\n", encoding="utf-8")
        proc = subprocess.run([*cmd, "fix", "--isolated", "-q", "--no-progress", "--jobs", "2",
                               "--field", "text", str(probe)],
                              capture_output=True, text=True, timeout=120, check=False)
        try:
            record = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return (f"`textfix fix` on a JSONL file did not print JSONL (exit {proc.returncode}"
                    f", stderr {proc.stderr.strip()[-300:]!r})")
        if record.get("text") == garbled or record.get("other") != garbled:
            return "`textfix fix --field text` did not fix only the text field of a JSONL record"
    return None


# --------------------------------------------------------------------------- data


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "size": args.size, "shards": args.shards,
            "seed": args.seed, "damage_rate": args.damage_rate,
            "corpus": str(c.corpus_of(args))}


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """Write (or reuse) the JSONL and plain-text corpora; returns the manifest."""
    root: Path = args.dir
    manifest_path = root / MANIFEST
    wanted = _settings(args)
    if manifest_path.exists() and not args.regenerate:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text("utf-8"))
        if manifest.get("settings") == wanted and all(
                (root / f).exists() for fmt in manifest["formats"].values()
                for f in fmt["files"]):
            c.log(f"reusing {root} ({c.human_size(manifest['formats']['txt']['bytes'])})")
            return manifest
    if root.exists():
        shutil.rmtree(root)
    (root / "jsonl").mkdir(parents=True)
    (root / "txt").mkdir(parents=True)
    corpus = c.corpus_of(args)
    pool = c.interleave([c.load_documents(corpus, lang, args.seed) for lang in c.LANGS])
    docs, stats = c.damage_documents(pool, args.damage_rate, args.seed)
    rng = random.Random(f"{args.seed}-e2e")
    per_shard = -(-args.size // args.shards)
    order = list(range(len(docs)))
    files: dict[str, list[str]] = {"jsonl": [], "txt": []}
    sizes = {"jsonl": 0, "txt": 0}
    records = 0
    started = time.perf_counter()
    pos = len(order)
    for shard in range(args.shards):
        names = {"jsonl": f"jsonl/part-{shard:04d}.jsonl", "txt": f"txt/part-{shard:04d}.txt"}
        with open(root / names["jsonl"], "wb") as jf, open(root / names["txt"], "wb") as tf:
            written = 0
            target = min(per_shard, args.size - sizes["txt"])
            while written < target:
                if pos >= len(order):
                    rng.shuffle(order)
                    pos = 0
                doc = docs[order[pos]]
                pos += 1
                text = (doc + "\n\n").encode("utf-8")
                tf.write(text)
                line = json.dumps({"id": records, "text": doc}, ensure_ascii=False) + "\n"
                jf.write(line.encode("utf-8"))
                written += len(text)
                sizes["jsonl"] += len(line.encode("utf-8"))
                records += 1
            sizes["txt"] += written
        for fmt, name in names.items():
            files[fmt].append(name)
        c.log(f"  wrote shard {shard + 1}/{args.shards} ({c.human_size(sizes['txt'])}, "
              f"{time.perf_counter() - started:.0f} s)")
    manifest = {
        "settings": wanted, "records": records, "damage": stats.as_dict(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "formats": {fmt: {"files": files[fmt], "bytes": sizes[fmt]} for fmt in files},
    }
    c.write_json(manifest_path, manifest)
    return manifest


def _warm_cache(paths: Sequence[Path]) -> None:
    """Read the files once so the first timed run does not pay for the disk."""
    for path in paths:
        with open(path, "rb") as fh:
            while fh.read(8 << 20):
                pass


# --------------------------------------------------------------------------- timing


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_cli(cmd: list[str], fmt: str, directory: Path, jobs: int,
             timeout: float | None) -> dict[str, float]:
    argv = [*cmd, "fix", "--isolated", "-q", "--no-progress", "--jobs", str(jobs)]
    if fmt == "jsonl":
        argv += ["--field", "text"]
    argv.append(str(directory))
    err: IO[bytes]
    with tempfile.TemporaryFile() as err:
        cpu0 = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=err, timeout=timeout,
                              check=False)
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu0
        if proc.returncode not in (0, 1):
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: "
                               f"{err.read().decode('utf-8', 'replace')[-1000:]}")
    return {"seconds": elapsed, "cpu_s": cpu}


def run(args: argparse.Namespace) -> dict[str, Any]:
    cmd = textfix_command()
    problem = check_cli(cmd)
    if problem:
        raise SystemExit(f"CLI not ready for the end-to-end benchmark: {problem}")
    manifest = generate(args)
    rows = []
    for fmt in args.formats:
        info = manifest["formats"][fmt]
        directory = args.dir / fmt
        _warm_cache([args.dir / f for f in info["files"]])
        samples: dict[int, list[dict[str, float]]] = {j: [] for j in args.jobs}
        for i in range(args.runs):
            for jobs in args.jobs:
                result = time_cli(cmd, fmt, directory, jobs, args.timeout)
                samples[jobs].append(result)
                c.log(f"  {fmt:<5} --jobs {jobs}: run {i + 1}/{args.runs} "
                      f"{result['seconds']:.1f} s "
                      f"({info['bytes'] / c.MB / result['seconds']:.2f} MB/s, "
                      f"CPU {result['cpu_s']:.1f} s)")
        by_jobs = {}
        for jobs, results in samples.items():
            med = statistics.median(r["seconds"] for r in results)
            by_jobs[str(jobs)] = {
                "runs_s": [r["seconds"] for r in results], "median_s": med,
                "mb_s": info["bytes"] / c.MB / med,
                "cpu_s": statistics.median(r["cpu_s"] for r in results),
            }
        speedup = None
        if "1" in by_jobs and "2" in by_jobs:
            speedup = by_jobs["1"]["median_s"] / by_jobs["2"]["median_s"]
        rows.append({"format": fmt, "bytes": info["bytes"], "files": len(info["files"]),
                     "jobs": by_jobs, "speedup": speedup})
    return {
        "machine": c.machine(), "bytes": manifest["formats"]["txt"]["bytes"],
        "records": manifest["records"], "shards": args.shards,
        "damage_rate": args.damage_rate, "damage": manifest["damage"],
        "date": manifest["date"], "runs": args.runs,
        "command": " ".join(["textfix", "fix", "--isolated", "-q", "--no-progress",
                             "--jobs", "N", "[--field text]", "DIR", ">", "/dev/null"]),
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=c.parse_size, default=c.parse_size("1GB"),
                        help="bytes of plain text to generate (default 1GB; e.g. 20MB for a "
                             "smoke run)")
    parser.add_argument("--shards", type=int, default=16,
                        help="files per format, so --jobs has files to share (default 16)")
    parser.add_argument("--formats", nargs="+", choices=("jsonl", "txt"),
                        default=["jsonl", "txt"], help="formats to time (default both)")
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2],
                        help="--jobs values to compare (default 1 2)")
    parser.add_argument("--runs", type=int, default=3, help="runs per setting (median; 3)")
    parser.add_argument("--damage-rate", type=float, default=0.01,
                        help="fraction of lines damaged (default 0.01)")
    # Outside the repository: textfix skips files git ignores when it walks a
    # directory, and benchmarks/out/ is ignored, so a corpus there is never read.
    parser.add_argument("--dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "textfix-e2e",
                        help="where the generated corpus goes (default $TMPDIR/textfix-e2e;"
                        " not inside a git work tree that ignores it)")
    parser.add_argument("--regenerate", action="store_true", help="rewrite the corpus")
    parser.add_argument("--clean", action="store_true",
                        help="delete the generated corpus afterwards")
    parser.add_argument("--timeout", type=float, default=None,
                        help="give up on a run after this many seconds")
    parser.add_argument("--results", type=Path, default=c.RESULTS_DIR,
                        help="where e2e.json goes; results.md there is re-rendered "
                             "(default benchmarks/results)")
    c.add_common_arguments(parser)
    args = parser.parse_args(argv)
    args.dir = args.dir.resolve()
    try:
        result = run(args)
    finally:
        if args.clean and args.dir.exists():
            shutil.rmtree(args.dir)
    target = args.json or args.results / "e2e.json"
    c.write_json(target, result)
    if target.parent == args.results and (args.results / "results.json").exists():
        report.write(args.results, report.load(args.results))
    print(report.e2e_md(result))
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
