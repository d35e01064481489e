"""Input builders and invariant checks shared by the fuzz targets and tests/test_replay.py.

This module never imports atheris, so the regression test can replay saved inputs in
CI. Each ``check_*`` function raises :class:`InvariantError` (an ``AssertionError``)
or :class:`Hang` on a broken promise and lets any other exception propagate.

Timing: every public call is timed; one taking longer than ``HANG_SECONDS``
(``$TEXTFIX_FUZZ_HANG``, default 2 s) counts as a hang. The check is made after the
call returns, so it needs no signal (libFuzzer's own ``-timeout`` owns SIGALRM and
catches calls that never return).

Keep-going mode (``$TEXTFIX_FUZZ_FINDINGS=<dir>``): instead of raising, a failing
input is written to ``<dir>/<signature>-<sha1>.json`` (at most ``MAX_PER_SIGNATURE``
per signature) and fuzzing continues, so one long run collects every distinct bug.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import json
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HANG_SECONDS = float(os.environ.get("TEXTFIX_FUZZ_HANG", "2"))
FINDINGS = os.environ.get("TEXTFIX_FUZZ_FINDINGS")
MAX_PER_SIGNATURE = 5

# Decoders the engine sees mojibake from (plus UTF-8), errors="replace".
CODECS = (
    "gbk", "gb18030", "big5", "cp950", "shift_jis", "cp932", "euc_jp",
    "euc_kr", "cp949", "cp1252", "latin-1", "cp1251", "utf-8",
)
# Round trips real software performs: (encode, decode, errors).
ROUND_TRIPS = (
    ("utf-8", "gbk", "replace"),
    ("utf-8", "big5", "replace"),
    ("utf-8", "cp932", "replace"),
    ("utf-8", "euc_kr", "replace"),
    ("utf-8", "latin-1", "strict"),
    ("utf-8", "cp1252", "replace"),
    ("utf-8", "cp1251", "replace"),
    ("gbk", "latin-1", "strict"),
    ("big5", "latin-1", "strict"),
    ("shift_jis", "latin-1", "strict"),
    ("euc_kr", "latin-1", "strict"),
    ("gbk", "big5", "replace"),
    ("big5", "gbk", "replace"),
    ("shift_jis", "gbk", "replace"),
)
JSONL_FIELDS = ("text", "title")


class InvariantError(AssertionError):
    """A promise of the public API does not hold for this input."""


class Hang(Exception):
    """A call took longer than ``HANG_SECONDS``."""


def require(ok: bool, what: str) -> None:
    if not ok:
        raise InvariantError(what)


@contextlib.contextmanager
def timed(what: str, limit: float | None = None) -> Iterator[None]:
    limit = HANG_SECONDS if limit is None else limit
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    if elapsed > limit:
        raise Hang(f"{what} took {elapsed:.2f} s (limit {limit} s)")


# --------------------------------------------------------------------------- input builders


def text_from_bytes(data: bytes) -> str:
    """Turn fuzzer bytes into text, mostly text that looks like mojibake.

    The first byte picks how the rest is read: as UTF-8, through one of ``CODECS``
    (errors="replace"), as UTF-8 with escaped bad bytes (lone surrogates, as
    ``decode_bytes`` returns them), as UTF-8 garbled through 1-3 ``ROUND_TRIPS``, or
    as big-endian UTF-16 code units (any BMP code point, surrogates included).
    """
    if not data:
        return ""
    mode, body = data[0], data[1:]
    kind, arg = mode % 5, mode // 5
    if kind == 0:
        return body.decode("utf-8", "replace")
    if kind == 1:
        return body.decode(CODECS[arg % len(CODECS)], "replace")
    if kind == 2:
        return body.decode("utf-8", "surrogateescape")
    if kind == 3:
        text = body.decode("utf-8", "replace")
        for layer in range(1 + arg % 3):
            encode, decode, errors = ROUND_TRIPS[(arg + 5 * layer) % len(ROUND_TRIPS)]
            text = text.encode(encode, "replace").decode(decode, errors)
        return text
    units = [int.from_bytes(body[i : i + 2], "big") for i in range(0, len(body) - 1, 2)]
    return "".join(map(chr, units))


def config_from_bytes(data: bytes) -> Any:
    """A Config from the first three bytes (flags, normalization, margin); rest is text."""
    from textfix import Config

    head = data[:3].ljust(3, b"\0")
    flags = head[0] | head[1] << 8
    names = (
        "repair_codecs", "repair_latin", "realign_streams", "remove_pinyin",
        "collapse_punctuation", "remove_markers", "to_simplified", "cjk_punctuation",
        "fold_width", "uncurl_quotes", "fix_line_breaks", "remove_bom",
        "remove_control_chars",
    )
    defaults = Config()
    options: dict[str, Any] = {
        name: (not getattr(defaults, name)) if flags >> bit & 1 else getattr(defaults, name)
        for bit, name in enumerate(names)
    }
    options["normalization"] = (None, None, "NFC", "NFKC")[head[2] & 3]
    options["max_layers"] = (head[2] >> 2) % 5
    options["margin"] = (8.0, 0.0, 2.0, 20.0)[(head[2] >> 5) & 3]
    return Config(**options)


# --------------------------------------------------------------------------- text checks


def check_fix_text(text: str, config: Any = None) -> str:
    """fix_text returns str, agrees with fix_and_explain, replays, is idempotent, in time."""
    from textfix import apply_plan, fix_and_explain, fix_text
    from textfix.findings import Step

    with timed(f"fix_text on {len(text)} chars"):
        out = fix_text(text, config)
    require(isinstance(out, str), f"fix_text returned {type(out).__name__}")
    with timed(f"fix_and_explain on {len(text)} chars"):
        explained = fix_and_explain(text, config)
    require(explained.text == out, "fix_and_explain disagrees with fix_text")
    try:
        replayed = apply_plan(text, explained.steps)
    except ValueError as exc:
        raise InvariantError(f"replay: apply_plan raised {exc}") from exc
    require(replayed == out, "replay: apply_plan(text, steps) != fix_text(text)")
    dicts = json.loads(json.dumps([s.to_dict() for s in explained.steps]))
    require(apply_plan(text, dicts) == out, "replay: JSON round trip of steps")
    require([Step.from_dict(d) for d in dicts] == explained.steps, "replay: Step.from_dict")
    with timed(f"fix_text on its own output ({len(out)} chars)"):
        again = fix_text(out, config)
    require(again == out, "idempotent: fix_text(fix_text(x)) != fix_text(x)")
    check_findings(text, explained.findings)
    return out


def check_findings(text: str, findings: Sequence[Any]) -> None:
    last = (-1, -1)
    for f in findings:
        require(0 <= f.start <= f.end <= len(text), f"span: {f.kind} {f.start}:{f.end}")
        require((f.start, f.end) >= last, "span: findings not sorted")
        last = (f.start, f.end)
        require(isinstance(f.kind, str) and f.kind != "", "finding: kind")
        require(
            isinstance(f.confidence, float) and 0.0 <= f.confidence <= 1.0,
            f"finding: confidence {f.confidence!r}",
        )
        require(f.fix is None or isinstance(f.fix, str), "finding: fix type")


def check_scan(text: str, config: Any = None) -> None:
    """scan spans lie in the text, are sorted, and match fix_and_explain's findings."""
    from textfix import fix_and_explain, scan

    with timed(f"scan on {len(text)} chars"):
        found = scan(text, config)
    require(isinstance(found, list), "scan: not a list")
    check_findings(text, found)
    with timed(f"fix_and_explain on {len(text)} chars"):
        explained = fix_and_explain(text, config)
    require(found == explained.findings, "scan disagrees with fix_and_explain")


# --------------------------------------------------------------------------- byte checks

_BIJECTIVE = ("utf-8", "utf-8-sig", "utf-16", "utf-32", "utf-16-le", "utf-16-be",
              "utf-32-le", "utf-32-be")


def check_decode_bytes(data: bytes) -> None:
    """decode_bytes keeps every byte, fix_bytes is fix_text of it, detect_prefix never raises."""
    from textfix import fix_text
    from textfix.io import Decoded, decode_bytes, detect_prefix, fix_bytes

    with timed(f"decode_bytes on {len(data)} bytes"):
        decoded = decode_bytes(data)
    require(isinstance(decoded, Decoded) and isinstance(decoded.text, str), "decode: type")
    require(0.0 <= decoded.confidence <= 1.0, f"decode: confidence {decoded.confidence}")
    require(decoded.lossy == bool(decoded.errors) or not decoded.errors, "decode: lossy flag")
    for start, end in decoded.errors:
        require(0 <= start < end <= len(data), f"decode: error span {start}:{end}")
    if decoded.lossy or decoded.encoding in _BIJECTIVE:
        try:
            again = decoded.encode(decoded.text)
        except UnicodeError as exc:
            msg = f"decode: re-encoding as {decoded.encoding} raised {exc}"
            raise InvariantError(msg) from exc
        require(again == data, f"decode: bytes not kept ({decoded.encoding})")
    with timed(f"fix_bytes on {len(data)} bytes"):
        fixed = fix_bytes(data)
    require(fixed == fix_text(decoded.text), "fix_bytes != fix_text(decode_bytes(data).text)")
    check_fix_text(decoded.text)
    for cut in {len(data) // 2, max(len(data) - 1, 0)}:
        with timed(f"detect_prefix on {cut} bytes"):
            head = detect_prefix(data[:cut])
        require(isinstance(head.text, str), "detect_prefix: type")
        codecs.lookup(head.codec)


# --------------------------------------------------------------------------- JSONL checks


def jsonl_from_bytes(data: bytes) -> bytes:
    """Fuzzer bytes to JSONL: raw bytes (mode even) or records built from them (odd)."""
    if not data or data[0] % 2 == 0:
        return data[1:]
    mode, body = data[0], data[1:]
    lines: list[bytes] = []
    for n, piece in enumerate(body.split(b"\n")[:8]):
        text = text_from_bytes(piece)
        ensure_ascii = bool(mode & 2)
        value: Any = text
        if mode & 4 and n % 2:
            value = [text, n, None, {"text": text}]
        record = {"id": n, "text": value, "title": text[::-1], "meta": {"n": n, "x": 1.5}}
        sep = (",", ":") if mode & 8 else (", ", ": ")
        line = json.dumps(record, ensure_ascii=ensure_ascii, separators=sep)
        if mode & 16:  # a duplicate key: JSON keeps the last one
            line = line[:-1] + sep[0] + '"text"' + sep[1] + json.dumps(text[:3]) + "}"
        if mode & 32 and n == 0:
            line = "\ufeff" + line
        raw = line.encode("utf-8", "surrogatepass")
        lines.append(raw + (b"\r\n" if mode & 64 else b"\n"))
    if lines and mode & 128:
        lines[-1] = lines[-1].rstrip(b"\r\n")
    return b"".join(lines)


def _weird_fixer(_key: str, value: str, lineno: int) -> str:
    """A fixer that returns text JSON must escape: quotes, backslashes, U+2028, surrogates."""
    extra = '"\\\u2028\x00' + ("\ud800" if lineno % 2 else "\U0001f600")
    return value[::-1] + extra


def _fix_fixer(_key: str, value: str, _lineno: int) -> str:
    from textfix import fix_text

    return fix_text(value)


def _identity(_key: str, value: str, _lineno: int) -> str:
    return value


def _dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def _expected(record: dict[str, Any], fixer: Callable[[str, str, int], str], lineno: int) -> str:
    out = dict(record)
    for key in JSONL_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = fixer(key, out[key], lineno)
    return _dumped(out)


def check_jsonl(data: bytes) -> None:
    """fix_jsonl_line changes only the named string fields; process_jsonl agrees with it."""
    from textfix.formats import fix_jsonl_line, process_jsonl

    lines = io.BytesIO(data).readlines()
    for fixer in (_identity, _weird_fixer, _fix_fixer):
        outputs = []
        for lineno, line in enumerate(lines, start=1):
            with timed(f"fix_jsonl_line on {len(line)} bytes"):
                new, problem = fix_jsonl_line(line, JSONL_FIELDS, fixer, lineno)
            require(isinstance(new, bytes), "jsonl: not bytes")
            outputs.append(new)
            if problem is not None or fixer is _identity:
                require(new == line, "jsonl: unchanged line was rewritten")
                continue
            terminator = line[len(line.rstrip(b"\r\n")):]
            require(new.endswith(terminator), "jsonl: line terminator changed")
            if new == line:
                continue
            try:
                body = new.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvariantError(f"jsonl: output is not UTF-8 ({exc})") from exc
            body = body.removeprefix("\ufeff") if lineno == 1 else body
            old = json.loads(line.decode("utf-8").removeprefix("\ufeff"))
            new_obj = json.loads(body)
            require(_dumped(new_obj) == _expected(old, fixer, lineno), "jsonl: wrong record")
        sink = io.BytesIO()
        stats = process_jsonl(io.BytesIO(data), sink, JSONL_FIELDS, fixer)
        require(stats.records == len(lines), "jsonl: record count")
        require(sink.getvalue() == b"".join(outputs), "jsonl: process_jsonl != per-line fix")


# --------------------------------------------------------------------------- running


def warm_up() -> None:
    """Load the model, codec tables, OpenCC and pypinyin before any call is timed."""
    from textfix import Config, fix_text, scan
    from textfix.codecs import DAMAGES
    from textfix.io import decode_bytes

    for damage in DAMAGES:
        damage.reading.valid_single(0)  # builds the reader's byte tables
    sentence = "今天天气很好，我们一起去公园散步吧。"
    for trip in ROUND_TRIPS:
        fix_text(sentence.encode(trip[0], "replace").decode(trip[1], trip[2]))
    for sample in ("锟斤拷", "藍(lán)圖", "召开,。", "Ã©tÃ©"):
        scan(sample)
    fix_text("臺灣“好”", Config(to_simplified=True, uncurl_quotes=True, normalization="NFKC"))
    decode_bytes(sentence.encode("gbk"))


def signature(exc: BaseException) -> str:
    """Groups failures: the broken invariant, or the exception type and where it was raised."""
    if isinstance(exc, InvariantError):
        return "invariant-" + str(exc).split(":", 1)[0].replace(" ", "_")[:40]
    if isinstance(exc, Hang):
        return "hang"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "textfix" in f.filename]
    where = f"{Path(frames[-1].filename).stem}-{frames[-1].lineno}" if frames else "outside"
    return f"crash-{type(exc).__name__}-{where}"


def run_case(
    target: str, check: Callable[..., object], value: str | bytes, raw: bytes, config: Any = None
) -> None:
    """Run one check; in keep-going mode record a failure instead of raising it."""
    try:
        if config is None:
            check(value)
        else:
            check(value, config)
    except Exception as exc:  # noqa: BLE001 - every failure is a finding
        if not FINDINGS:
            raise
        record(target, value, raw, exc, config)


def config_overrides(config: Any) -> dict[str, Any]:
    """The options of ``config`` that differ from the defaults (JSON-ready)."""
    from dataclasses import fields

    from textfix import Config

    default = Config()
    return {
        f.name: getattr(config, f.name)
        for f in fields(config)
        if getattr(config, f.name) != getattr(default, f.name)
    }


def record(
    target: str, value: str | bytes, raw: bytes, exc: BaseException, config: Any = None
) -> None:
    sig = signature(exc)
    folder = Path(FINDINGS or ".") / target
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob(f"{sig}-*.json"))) >= MAX_PER_SIGNATURE:
        return
    digest = hashlib.sha1(raw).hexdigest()[:12]
    is_bytes = isinstance(value, bytes)
    entry: dict[str, Any] = {
        "target": target,
        "signature": sig,
        "error": f"{type(exc).__name__}: {exc}"[:500],
        "bytes": is_bytes,
        "input": value.decode("latin-1") if isinstance(value, bytes) else value,
        "raw": raw.hex(),
    }
    if config is not None:
        entry["config"] = config_overrides(config)
    path = folder / f"{sig}-{digest}.json"
    path.write_text(json.dumps(entry, ensure_ascii=True, indent=1), encoding="utf-8")


def load_input(entry: dict[str, Any]) -> str | bytes:
    """The input of a regressions.json entry (bytes are stored latin-1 decoded)."""
    value: str = entry["input"]
    return value.encode("latin-1") if entry.get("bytes") else value


def replay(entry: dict[str, Any]) -> None:
    """Run the check a regressions.json entry was found by (raises if it still fails)."""
    from textfix import Config

    check = CHECKS[entry["target"]]
    value = load_input(entry)
    if "config" in entry:
        check(value, Config(**entry["config"]))
    else:
        check(value)


CHECKS: dict[str, Callable[..., object]] = {
    "fix_text": check_fix_text,
    "scan": check_scan,
    "decode_bytes": check_decode_bytes,
    "jsonl": check_jsonl,
}
