"""Shared pieces of the benchmark suite: corpus, damage, timing, machine facts.

The corpus is read from ``<repo>/../shared/corpus/<lang>/*.txt`` (``--corpus`` to
override); its text never enters the repository. Damaged versions are made by real
codec round trips with a fixed seed, so every run sees the same input.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
OUT_DIR = BENCH_DIR / "out"
LANGS = ("zh-Hans", "zh-Hant", "ja", "ko", "en")
CJK_LANGS = ("zh-Hans", "zh-Hant", "ja", "ko")
DEFAULT_SEED = 20240605
MB = 1_000_000
"""Throughput is reported in MB/s with MB = 10^6 bytes of UTF-8 input."""

_DOC_SPLIT = re.compile(r"\n[ \t]*\n+")
_MAX_DOC = 16_384
_CHUNK = 2_048

Fixer = Callable[[str], str]


# --------------------------------------------------------------------------- corpus


def default_corpus() -> Path:
    return REPO.parent / "shared" / "corpus"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _split_big(doc: str) -> list[str]:
    """Files without blank lines are one giant "document": cut them into runs of
    whole lines of about 2 KB, which is what a record in a dataset looks like."""
    if utf8_len(doc) <= _MAX_DOC:
        return [doc]
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for line in doc.split("\n"):
        n = utf8_len(line) + 1
        if cur and size + n > _CHUNK:
            out.append("\n".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += n
    if cur:
        out.append("\n".join(cur))
    return out


@cache
def load_documents(corpus: Path, lang: str, seed: int = DEFAULT_SEED) -> tuple[str, ...]:
    """Every document of ``corpus/lang/*.txt``, shuffled with ``seed`` so that any
    prefix mixes the language's sources."""
    files = sorted((corpus / lang).glob("*.txt"))
    if not files:
        raise SystemExit(f"no corpus files in {corpus / lang} (use --corpus DIR)")
    docs: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for doc in _DOC_SPLIT.split(text):
            doc = doc.strip("\n")
            if doc.strip():
                docs.extend(_split_big(doc))
    random.Random(f"{seed}-{lang}").shuffle(docs)
    return tuple(docs)


def interleave(groups: Sequence[Sequence[str]]) -> list[str]:
    """Merge document lists, always taking from the one with the fewest bytes so far,
    so every prefix holds about the same number of bytes of each."""
    pos = [0] * len(groups)
    size = [0] * len(groups)
    out: list[str] = []
    while True:
        live = [i for i, g in enumerate(groups) if pos[i] < len(g)]
        if not live:
            return out
        i = min(live, key=lambda k: size[k])
        doc = groups[i][pos[i]]
        pos[i] += 1
        size[i] += utf8_len(doc)
        out.append(doc)


def take_bytes(docs: Sequence[str], nbytes: int) -> list[str]:
    """The shortest prefix of ``docs`` (cycled if needed) with at least ``nbytes``."""
    if not docs:
        raise ValueError("no documents")
    out: list[str] = []
    total = 0
    i = 0
    while total < nbytes:
        doc = docs[i % len(docs)]
        out.append(doc)
        total += utf8_len(doc)
        i += 1
    return out


def one_string(docs: Sequence[str], nbytes: int) -> str:
    """One string of about ``nbytes`` UTF-8 bytes: documents joined by blank lines,
    cut at a character boundary."""
    text = "\n\n".join(take_bytes(docs, nbytes))
    return text.encode("utf-8")[:nbytes].decode("utf-8", errors="ignore")


# --------------------------------------------------------------------------- damage


def _utf8_read_as(codec: str) -> Callable[[str], str | None]:
    def damage(line: str) -> str | None:
        return line.encode("utf-8").decode(codec, errors="replace")

    return damage


def _gbk_read_as(codec: str) -> Callable[[str], str | None]:
    def damage(line: str) -> str | None:
        try:
            raw = line.encode("gbk")
        except UnicodeEncodeError:
            return None
        return raw.decode(codec, errors="replace")

    return damage


DAMAGE_KINDS: dict[str, Callable[[str], str | None]] = {
    "utf8_as_gbk": _utf8_read_as("gbk"),
    "utf8_as_big5": _utf8_read_as("cp950"),
    "utf8_as_cp932": _utf8_read_as("cp932"),
    "utf8_as_cp949": _utf8_read_as("cp949"),
    "utf8_as_cp1252": _utf8_read_as("cp1252"),
    "gbk_as_latin1": _gbk_read_as("latin-1"),
    "gbk_as_big5": _gbk_read_as("cp950"),
}
"""The round trips used to damage a line (Python's codecs, errors="replace")."""


def damage_line(line: str, rng: random.Random) -> tuple[str, str | None]:
    """``line`` garbled by a randomly chosen applicable round trip, and its kind
    (None if no round trip changes the line, e.g. pure ASCII)."""
    kinds = list(DAMAGE_KINDS)
    rng.shuffle(kinds)
    for kind in kinds:
        out = DAMAGE_KINDS[kind](line)
        if out is not None and out != line:
            return out, kind
    return line, None


@dataclass
class DamageStats:
    lines: int = 0
    damaged: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "damaged_lines": self.damaged,
                "damaged_fraction": self.damaged / self.lines if self.lines else 0.0,
                "kinds": dict(sorted(self.kinds.items()))}


def damage_documents(
    docs: Sequence[str], rate: float, seed: int = DEFAULT_SEED, evenly: bool = False
) -> tuple[list[str], DamageStats]:
    """Damage each non-empty line with probability ``rate`` (1.0 = every line that
    some round trip can change). ``evenly``: damage exactly every 1/rate-th line
    instead, so every stretch of text has the same density of damage."""
    rng = random.Random(f"{seed}-damage-{rate}")
    stats = DamageStats()
    out: list[str] = []
    for doc in docs:
        if rate <= 0:
            out.append(doc)
            continue
        lines = doc.split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            k = stats.lines
            stats.lines += 1
            if evenly:
                hit = int((k + 1) * rate) > int(k * rate)
            else:
                hit = rate >= 1 or rng.random() < rate
            if hit:
                new, kind = damage_line(line, rng)
                if kind is not None:
                    lines[i] = new
                    stats.damaged += 1
                    stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
        out.append("\n".join(lines))
    return out, stats


# --------------------------------------------------------------------------- tools


def tools() -> dict[str, Fixer]:
    """The functions compared side by side."""
    import ftfy

    import textfix

    return {
        "textfix": textfix.fix_text,
        "ftfy.fix_text": ftfy.fix_text,
        "ftfy.fix_encoding": ftfy.fix_encoding,
    }


# --------------------------------------------------------------------------- timing

_WARM_UP = (
    "你好，世界！今天天气很好。".encode().decode("gbk", errors="replace"),
    "這是一個測試檔案。".encode().decode("cp950", errors="replace"),
    "これはテストです。".encode().decode("cp932", errors="replace"),
    "한국어 문장입니다.".encode().decode("cp949", errors="replace"),
    "你好，世界！".encode("gbk").decode("latin-1"),
    "café naïve".encode().decode("cp1252"),
    "藍(lán)圖，召開,。会议",
    "clean ASCII",
)


def warm_up(fn: Fixer, *extra: str) -> None:
    """Call ``fn`` on each kind of input once, so lazily loaded tables are in place."""
    for text in (*_WARM_UP, *extra):
        fn(text)



def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds for one call of ``fn`` (garbage collector paused, as timeit does)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()
    return elapsed, result


def runs_for(seconds_per_run: float, fast: float = 0.5) -> int:
    """Repetitions: 5 for fast measurements, 3 for slow ones."""
    return 5 if seconds_per_run < fast else 3


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def calibrate(
    run: Callable[[int], float], start: int, limit: int, min_seconds: float = 0.15
) -> tuple[int, float]:
    """Grow the amount of work ×4 from ``start`` until one run takes ``min_seconds``
    (or ``limit`` is reached). Returns (amount, seconds) of the last run."""
    amount = max(1, min(start, limit))
    while True:
        seconds = max(run(amount), 1e-9)
        if seconds >= min_seconds or amount >= limit:
            return amount, seconds
        amount = min(limit, amount * 4)


def sized(amount: int, seconds: float, budget: float, lo: int, hi: int) -> int:
    """The amount of work that should take about ``budget`` seconds, within [lo, hi]."""
    return int(max(lo, min(hi, amount * budget / seconds)))


# --------------------------------------------------------------------------- machine


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Facts about this machine and the code under test."""
    import ftfy

    import textfix

    status = _git("status", "--porcelain", "--", "src")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "textfix": getattr(textfix, "__version__", "?"),
        "ftfy": getattr(ftfy, "__version__", "?"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "src_modified": bool(status) if status is not None else None,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# --------------------------------------------------------------------------- CLI helpers


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, default=None,
                        help="directory with <lang>/*.txt (default: <repo>/../shared/corpus)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed for shuffling and damage (default {DEFAULT_SEED})")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the result as JSON to PATH")


def corpus_of(args: argparse.Namespace) -> Path:
    corpus: Path = args.corpus or default_corpus()
    if not corpus.is_dir():
        raise SystemExit(f"corpus not found: {corpus} (use --corpus DIR)")
    return corpus.resolve()


def parse_size(text: str) -> int:
    """'1GB', '200MB', '10KB', '5000' -> bytes (decimal units: 1 MB = 10^6 bytes)."""
    units = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6,
             "G": 10**9, "GB": 10**9}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", text.upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(match[1]) * units[match[2]])


def human_size(nbytes: float) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{nbytes:.0f} B"


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
