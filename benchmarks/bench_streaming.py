"""Peak memory of ``textfix fix -i`` on a large file (target: under 200 MB at any size).

Generates a file of mostly clean Chinese/English lines with an occasional garbled
one (UTF-8 read as GBK), runs the real command on it in a subprocess, and reports
the child's peak RSS (polled from /proc, and ``ru_maxrss`` after it exits).

    python benchmarks/bench_streaming.py                 # 1 GB
    python benchmarks/bench_streaming.py --size 200MB --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
_CLEAN = [
    "今天天气很好，我们一起去公园散步吧。这是一个测试文件，用来检查编码识别是否正确。",
    "The quick brown fox jumps over the lazy dog; nothing here needs repair.",
    "這是一個測試檔案，用來檢查編碼識別是否正確。今天天氣很好。",
    "これはテストファイルです。文字コードの判定が正しいか確認します。",
]
_GARBLED = "你好，世界！今天天气很好。".encode().decode("gbk", errors="replace")


def parse_size(text: str) -> int:
    """'1GB', '200MB', '5000' -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", text.upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(match[1]) * _UNITS[match[2] if match[2] != "K" else "KB"])


def _block(garble_every: int) -> bytes:
    lines = []
    for i in range(4000):
        text = _GARBLED if garble_every and i % garble_every == garble_every - 1 else \
            _CLEAN[i % len(_CLEAN)]
        lines.append(f"{i:05d} {text}\n")
    return "".join(lines).encode("utf-8")


def generate(path: Path, size: int, garble_every: int) -> None:
    """Write about ``size`` bytes of text (whole lines) to ``path``."""
    block = _block(garble_every)
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            part = block if written + len(block) <= size else \
                block[: block.rfind(b"\n", 0, size - written) + 1] or block
            fh.write(part)
            written += len(part)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(path: Path, threshold: int | None) -> dict[str, float]:
    """Run ``textfix fix -i`` on ``path``; return seconds and peak RSS in MB."""
    env = dict(os.environ)
    if threshold is not None:
        env["TEXTFIX_STREAM_THRESHOLD"] = str(threshold)
    argv = [sys.executable, "-m", "textfix.cli", "fix", "-i", "--isolated", "-q", str(path)]
    peak = 0
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env)
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_kb(proc.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    code = proc.wait()
    done.set()
    watcher.join()
    elapsed = time.monotonic() - start
    if code != 0:
        raise SystemExit(f"textfix exited with {code}")
    maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
    return {"seconds": elapsed, "peak_rss_mb": max(peak, maxrss_kb) / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"),
                        help="file size, e.g. 1GB, 200MB (default 1GB)")
    parser.add_argument("--garble-every", type=int, default=1000,
                        help="one garbled line in this many (0 = none; default 1000)")
    parser.add_argument("--stream-threshold", type=parse_size, default=None,
                        help="set TEXTFIX_STREAM_THRESHOLD for the run (default: textfix's)")
    parser.add_argument("--limit", type=float, default=200.0,
                        help="peak RSS target in MB; exit 1 above it (default 200)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="textfix-bench-", dir=args.dir) as tmp:
        path = Path(tmp) / "big.txt"
        generate(path, args.size, args.garble_every)
        size = path.stat().st_size
        result = run(path, args.stream_threshold)
        leftovers = [p.name for p in Path(tmp).iterdir() if p.name != "big.txt"]
    result.update(size_mb=size / (1 << 20), mb_per_s=size / (1 << 20) / result["seconds"],
                  limit_mb=args.limit, ok=result["peak_rss_mb"] < args.limit and not leftovers)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"size {result['size_mb']:.0f} MB  time {result['seconds']:.1f} s  "
              f"({result['mb_per_s']:.1f} MB/s)  peak RSS {result['peak_rss_mb']:.0f} MB  "
              f"(target < {args.limit:.0f} MB: {'ok' if result['ok'] else 'FAILED'})")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
