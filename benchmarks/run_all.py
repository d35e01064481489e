"""Run the benchmark suite (all but the ≥1 GB end-to-end run) and write the results.

Writes ``benchmarks/results/results.json``, ``results.md`` (tables, targets) and
``throughput.png``; ``profile.txt`` holds the full cProfile listings. A default run
takes well under 10 minutes on a 2-core machine; ``--quick`` is a smoke run.

    python benchmarks/run_all.py
    python benchmarks/run_all.py --quick --results /tmp/bench
    python benchmarks/run_all.py --only throughput short
    python benchmarks/run_all.py --streaming 200MB      # also bench_streaming.py at 50/200 MB
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import _common as c
import bench_memory
import bench_scaling
import bench_short
import bench_throughput
import profile_engine
import report

Module = Any
BENCHES: dict[str, tuple[Module, list[str]]] = {
    # name: (module, extra arguments for --quick)
    "throughput": (bench_throughput, ["--budget", "0.2", "--max-mb", "0.5"]),
    "short": (bench_short, ["--budget", "0.1", "--titles", "500"]),
    "memory": (bench_memory, ["--size", "200KB", "--budget", "2"]),
    "scaling": (bench_scaling, ["--max-size", "100KB", "--point-budget", "2"]),
    "profile": (profile_engine, ["--budget", "0.5", "--max-mb", "0.5"]),
}


def _namespace(module: Module, args: argparse.Namespace, extra: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    c.add_common_arguments(parser)
    argv = ["--seed", str(args.seed)] + (["--corpus", str(args.corpus)] if args.corpus else [])
    return parser.parse_args(argv + (extra if args.quick else []))


def streaming(size: int) -> dict[str, Any]:
    """bench_streaming.py at size/4 and size: is the peak RSS flat?"""
    runs = []
    for part in (size // 4, size):
        proc = subprocess.run(
            [sys.executable, str(c.BENCH_DIR / "bench_streaming.py"), "--size", str(part),
             "--json"], capture_output=True, text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"bench_streaming.py failed: {proc.stderr.strip()[-500:]}")
        runs.append(json.loads(lines[-1]))
    flat = runs[1]["peak_rss_mb"] <= runs[0]["peak_rss_mb"] * 1.25 + 10
    return {"runs": runs, "flat": flat and all(r.get("ok", True) for r in runs)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny samples (smoke test)")
    parser.add_argument("--only", nargs="+", choices=[*BENCHES, "streaming"], default=None,
                        help="run only these (the other sections of an existing "
                             "results.json are kept)")
    parser.add_argument("--results", type=Path, default=c.RESULTS_DIR,
                        help="output directory (default benchmarks/results)")
    parser.add_argument("--streaming", type=c.parse_size, default=None, metavar="SIZE",
                        help="also run bench_streaming.py at SIZE/4 and SIZE (use ≥ 128MB: "
                             "files under 16 MiB are not streamed)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus directory (default <repo>/../shared/corpus)")
    parser.add_argument("--seed", type=int, default=c.DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {}
    previous = args.results / "results.json"
    if args.only and previous.exists():
        results = json.loads(previous.read_text("utf-8"))
        results.pop("e2e", None)
    if "machine" not in results:  # --only keeps the machine facts of the full run
        results["machine"] = c.machine()
    results["quick"] = args.quick
    results["errors"] = {k: v for k, v in results.get("errors", {}).items()
                         if args.only and k not in args.only}
    started = time.perf_counter()
    for name, (module, quick_args) in BENCHES.items():
        if args.only and name not in args.only:
            continue
        c.log(f"== {name}")
        t0 = time.perf_counter()
        sub = _namespace(module, args, quick_args)
        if name == "profile":
            sub.out = args.results / "profile.txt"
        try:
            run: Callable[[argparse.Namespace], dict[str, Any]] = module.run
            results[name] = run(sub)
            results[name].pop("text", None)
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not lose the rest
            traceback.print_exc()
            results["errors"][name] = f"{type(exc).__name__}: {exc}"
        results.setdefault("seconds", {})[name] = round(time.perf_counter() - t0, 1)
        results.setdefault("dates", {})[name] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        c.log(f"   {name} took {time.perf_counter() - t0:.0f} s")
    if args.streaming and (not args.only or "streaming" in args.only):
        c.log("== streaming")
        try:
            results["streaming"] = streaming(args.streaming)
        except Exception as exc:  # noqa: BLE001
            results["errors"]["streaming"] = f"{type(exc).__name__}: {exc}"
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    if not args.only:
        results["machine"]["loadavg_end"] = list(os.getloadavg())

    args.results.mkdir(parents=True, exist_ok=True)
    c.write_json(args.results / "results.json", results)
    e2e = args.results / "e2e.json"
    if e2e.exists():
        results["e2e"] = json.loads(e2e.read_text("utf-8"))
    report.write(args.results, results)
    c.log(f"wrote {args.results}/results.json, results.md, throughput.png "
          f"in {results['total_seconds']:.0f} s")
    print((args.results / "results.md").read_text("utf-8"))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
