"""Turn fuzzing findings into regression cases (tests/cases/regressions.json).

    python fuzz/collect.py                       # from /tmp/textfix-fuzz/findings
    python fuzz/collect.py --work DIR --no-minimize --dry-run

Each finding (written by the harness in keep-going mode, or a libFuzzer
``crash-*``/``timeout-*`` file) is replayed. If it still fails, the input is shrunk
while the failure keeps its signature (a time budget per case) and added with
``xfail`` set to the error; if it passes now it is added as it was found, as a plain
regression. Inputs already in the file are skipped; at most ``--per-signature``
cases are kept per (target, signature).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _harness

HERE = Path(__file__).resolve().parent
CASES = HERE.parent / "tests" / "cases" / "regressions.json"
TARGET_OF_ARTIFACT_DIR = {
    "fuzz_fix_text": "fix_text",
    "fuzz_scan": "scan",
    "fuzz_decode_bytes": "decode_bytes",
    "fuzz_jsonl": "jsonl",
}


def failure(entry: dict[str, Any]) -> BaseException | None:
    try:
        _harness.replay(entry)
    except Exception as exc:  # noqa: BLE001 - any failure is what we are after
        return exc
    return None


def shrink(
    value: str | bytes, still_fails: Callable[[str | bytes], bool], budget: float
) -> str | bytes:
    """Delete chunks (halving their size) while the failure persists, within ``budget`` s."""
    deadline = time.monotonic() + budget
    chunk = max(1, len(value) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i = 0
        while i < len(value) and time.monotonic() < deadline:
            candidate = value[:i] + value[i + chunk :]
            if candidate and still_fails(candidate):
                value = candidate
            else:
                i += chunk
        chunk //= 2
    return value


def _entry(target: str, value: str | bytes, config: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "target": target,
        "bytes": isinstance(value, bytes),
        "input": value.decode("latin-1") if isinstance(value, bytes) else value,
    }
    if config:
        entry["config"] = config
    return entry


def load_findings(work: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((work / "findings").glob("*/*.json")):
        found.append(json.loads(path.read_text(encoding="utf-8")))
    for folder, target in TARGET_OF_ARTIFACT_DIR.items():
        for pattern in ("crash-*", "timeout-*", "oom-*"):
            for path in sorted((work / folder).glob(pattern)):
                raw = path.read_bytes()
                found.append(artifact_entry(target, raw))
    return found


def artifact_entry(target: str, raw: bytes) -> dict[str, Any]:
    """The value a fuzz target derived from libFuzzer's raw input bytes."""
    if target == "fix_text":
        return _entry(target, _harness.text_from_bytes(raw), None)
    if target == "scan":
        config = _harness.config_overrides(_harness.config_from_bytes(raw))
        return _entry(target, _harness.text_from_bytes(raw[3:]), config)
    if target == "jsonl":
        return _entry(target, _harness.jsonl_from_bytes(raw), None)
    return _entry(target, raw, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/textfix-fuzz"))
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--per-signature", type=int, default=2)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds of shrinking per case")
    parser.add_argument("--no-minimize", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)

    _harness.warm_up()
    cases: list[dict[str, Any]] = (
        json.loads(args.cases.read_text(encoding="utf-8")) if args.cases.exists() else []
    )
    known = {(c["target"], c["input"], json.dumps(c.get("config"))) for c in cases}
    per_sig: dict[tuple[str, str], int] = {}
    for c in cases:
        key = (c["target"], c.get("signature", ""))
        per_sig[key] = per_sig.get(key, 0) + 1

    findings = sorted(load_findings(args.work), key=lambda e: len(e["input"]))
    for finding in findings:
        entry = _entry(finding["target"], _harness.load_input(finding), finding.get("config"))
        found_as = finding.get("signature") or "crash"
        exc = failure(entry)
        sig = _harness.signature(exc) if exc is not None else found_as
        key = (entry["target"], sig)
        if per_sig.get(key, 0) >= args.per_signature:
            continue
        if exc is not None and not args.no_minimize:
            config = entry.get("config")

            def still_fails(
                value: str | bytes, config: Any = config, sig: str = sig,
                target: str = entry["target"],
            ) -> bool:
                err = failure(_entry(target, value, config))
                return err is not None and _harness.signature(err) == sig

            small = shrink(_harness.load_input(entry), still_fails, args.budget)
            entry = _entry(entry["target"], small, config)
            exc = failure(entry) or exc
        ident = (entry["target"], entry["input"], json.dumps(entry.get("config")))
        if ident in known:
            continue
        known.add(ident)
        per_sig[key] = per_sig.get(key, 0) + 1
        labels = {c["label"] for c in cases}
        n = per_sig[key]
        while f"fuzz-{entry['target']}-{sig}-{n}" in labels:
            n += 1
        error = finding.get("error", found_as)
        case: dict[str, Any] = {
            "label": f"fuzz-{entry['target']}-{sig}-{n}",
            **entry,
            "signature": sig,
            "note": f"found by fuzz_{entry['target']}: {error}"[:300],
        }
        if exc is not None:
            case["xfail"] = f"still failing: {type(exc).__name__}: {exc}"[:200]
        print(f"{'open ' if exc else 'fixed'} {case['label']}: {case['input'][:60]!r}")
        cases.append(case)
    if not args.dry_run:
        args.cases.write_text(dump_cases(cases), encoding="utf-8")
    return 0


def dump_cases(cases: list[dict[str, Any]]) -> str:
    """Readable JSON: CJK as is; controls, invisible characters and lone surrogates escaped."""
    text = json.dumps(cases, ensure_ascii=False, indent=1) + "\n"
    return "".join(_escape(c) for c in text)


def _escape(c: str) -> str:
    if c in "\n " or (c.isprintable() and not "\ud800" <= c <= "\udfff"):
        return c  # json.dumps already escaped newlines inside strings
    if ord(c) > 0xFFFF:
        high, low = divmod(ord(c) - 0x10000, 0x400)
        return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
    return f"\\u{ord(c):04x}"


if __name__ == "__main__":
    sys.exit(main())
