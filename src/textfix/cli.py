"""The ``textfix`` command: ``textfix fix PATH...`` and ``textfix scan PATH...``.

Exit codes: 0 nothing to change / clean; 1 something would change (``--check``,
``--exit-nonzero-on-fix``) or damage was found (``scan``); 2 usage or I/O error.
A file that cannot be read or written is reported and the others are still
processed. See docs/cli.md for the full reference.
"""

from __future__ import annotations

import argparse
import bisect
import difflib
import json
import os
import re
import sys
import tempfile
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, cast

from textfix.config import Config
from textfix.findings import Finding, Step
from textfix.formats import (
    FormatUnavailable,
    RecordStats,
    open_records_in,
    open_records_out,
    process_jsonl,
    process_parquet,
    record_format,
)
from textfix.io import (
    AtomicWriter,
    Decoded,
    NotRoundTrip,
    ReadOnlyFile,
    decode_bytes,
    detect_prefix,
    looks_binary,
    stream_transform,
)
from textfix.settings import Settings, SettingsError, load_settings
from textfix.walk import STDIN, Skipped, Target, discover

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2

DEFAULT_STREAM_THRESHOLD = 16 << 20
"""Text files larger than this are fixed chunk by chunk (env TEXTFIX_STREAM_THRESHOLD)."""

_PROGRESS_MIN_FILES = 20
_PROGRESS_MIN_BYTES = 64 << 20
_MAX_INVALID_REPORTED = 10
_STRAY_BAD_BYTES = 3  # this many undecodable sequences never make a file "not text"
_HEAD_BYTES = 64 << 10  # what encoding detection looks at in a streamed file
_EXCERPT = 40
_SPILL_BYTES = 8 << 20
_BOOLEAN_FLAGS = (
    ("to_simplified", "convert Traditional to Simplified Chinese (OpenCC t2s)"),
    ("cjk_punctuation", "make ASCII punctuation between CJK characters fullwidth"),
    ("fold_width", "fold fullwidth Latin letters and digits to ASCII"),
    ("uncurl_quotes", "straighten curly quotes"),
    ("remove_markers", "delete unrecoverable markers (锟斤拷, 烫烫烫) instead of reporting them"),
)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """Everything a worker needs to process one file (picklable)."""

    command: str
    config: Config
    fields: tuple[str, ...] = ("text",)
    in_place: bool = False
    check: bool = False
    diff: bool = False
    explain: bool = False
    to_utf8: bool = False
    json_out: bool = False
    quiet: bool = False
    stream_threshold: int = DEFAULT_STREAM_THRESHOLD

    @property
    def scanning(self) -> bool:
        return self.command == "scan"

    @property
    def prints_text(self) -> bool:
        """``fix`` without a report option prints the fixed text to stdout."""
        return not (self.scanning or self.in_place or self.check or self.diff or self.explain)


class UsageError(Exception):
    """Bad combination of arguments (exit 2)."""


def _common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("paths", nargs="+", metavar="PATH",
                        help="files or directories ('-' reads standard input)")
    group = common.add_argument_group("what to change")
    for name, help_text in _BOOLEAN_FLAGS:
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                           action=argparse.BooleanOptionalAction, help=help_text)
    group.add_argument("--normalization", choices=("NFC", "NFKC", "none"), default=None,
                       help="Unicode normalization applied at the end (default: none)")
    files = common.add_argument_group("which files and fields")
    files.add_argument("--field", dest="fields", action="append", metavar="NAME",
                       help="JSONL/Parquet field to fix (repeatable; default: text)")
    files.add_argument("--include", action="append", metavar="GLOB",
                       help="only process files matching GLOB (repeatable)")
    files.add_argument("--exclude", action="append", metavar="GLOB",
                       help="skip files and directories matching GLOB (repeatable)")
    run = common.add_argument_group("running")
    run.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                     help="worker processes (0 = one per CPU; default 1)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="print errors only (no notices, no file lists)")
    run.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    run.add_argument("--config", metavar="FILE",
                     help="read [tool.textfix] from FILE instead of the nearest pyproject.toml")
    run.add_argument("--isolated", action="store_true", help="ignore configuration files")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from textfix import __version__

    parser = argparse.ArgumentParser(
        prog="textfix",
        description="Repair mojibake (including legacy CJK encodings) without touching "
                    "clean text.",
    )
    parser.add_argument("--version", action="version", version=f"textfix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_parser()
    fix = sub.add_parser("fix", parents=[common], help="repair files (stdout, or in place)",
                         description="Repair files. Prints the fixed text unless -i, --check, "
                                     "--diff or --explain is given.")
    mode = fix.add_argument_group("output")
    exclusive = mode.add_mutually_exclusive_group()
    exclusive.add_argument("-i", "--in-place", action="store_true",
                           help="rewrite changed files atomically")
    exclusive.add_argument("--check", action="store_true",
                           help="write nothing; list files that would change, exit 1 if any")
    mode.add_argument("--diff", action="store_true", help="print a unified diff")
    mode.add_argument("--explain", action="store_true",
                      help="print each repair: position, old -> new, codecs")
    mode.add_argument("--to-utf8", action="store_true",
                      help="write files as UTF-8 (default: keep each file's encoding)")
    mode.add_argument("--exit-nonzero-on-fix", action="store_true",
                      help="with -i: exit 1 if any file was changed (for pre-commit)")
    scan = sub.add_parser("scan", parents=[common], help="report damaged spans",
                          description="Report damaged spans; exit 1 if any are found.")
    scan.add_argument("--json", dest="json_out", action="store_true",
                      help="print one JSON object per finding")
    return parser


def _stream_threshold() -> int:
    raw = os.environ.get("TEXTFIX_STREAM_THRESHOLD")
    if not raw:
        return DEFAULT_STREAM_THRESHOLD
    try:
        return max(int(raw), 1)
    except ValueError:
        raise UsageError(
            f"TEXTFIX_STREAM_THRESHOLD must be a number of bytes, not {raw!r}"
        ) from None


def _config_from(args: argparse.Namespace, settings: Settings) -> Config:
    overrides: dict[str, Any] = {}
    for name, _help in _BOOLEAN_FLAGS:
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.normalization is not None:
        overrides["normalization"] = None if args.normalization == "none" else args.normalization
    return settings.config().with_overrides(**overrides)


def make_options(args: argparse.Namespace, settings: Settings) -> Options:
    """Merge the configuration file and the command line (the command line wins)."""
    fix = args.command == "fix"
    if fix and args.in_place and STDIN in args.paths:
        raise UsageError("standard input cannot be fixed in place")
    if fix and args.exit_nonzero_on_fix and not args.in_place:
        raise UsageError("--exit-nonzero-on-fix needs --in-place")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 or more")
    return Options(
        command=args.command,
        config=_config_from(args, settings),
        fields=tuple(args.fields or settings.fields or ["text"]),
        in_place=fix and args.in_place,
        check=fix and args.check,
        diff=fix and args.diff,
        explain=fix and args.explain,
        to_utf8=fix and args.to_utf8,
        json_out=not fix and args.json_out,
        quiet=args.quiet,
        stream_threshold=_stream_threshold(),
    )


# --------------------------------------------------------------------------- output


class Spill:
    """Bytes kept in memory up to a limit, then in a temp file (for worker output)."""

    def __init__(self, limit: int = _SPILL_BYTES) -> None:
        self._limit = limit
        self._memory: list[bytes] = []
        self._size = 0
        self._file: IO[bytes] | None = None

    def write(self, data: bytes) -> int:
        if self._file is None and self._size + len(data) > self._limit:
            self._file = tempfile.NamedTemporaryFile(prefix="textfix-out-", delete=False)
            self._file.write(b"".join(self._memory))
            self._memory = []
        if self._file is not None:
            self._file.write(data)
        else:
            self._memory.append(data)
        self._size += len(data)
        return len(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def result(self) -> bytes | str:
        """The bytes, or the name of the temp file holding them (the reader deletes it)."""
        if self._file is None:
            return b"".join(self._memory)
        self._file.close()
        return self._file.name


@dataclass
class Outcome:
    """What happened to one file; also carries a worker's buffered output."""

    display: str
    changed: bool = False
    findings: int = 0
    error: bool = False
    messages: list[tuple[str, str]] = field(default_factory=list)
    stdout: bytes | str = b""


class Console:
    """The main process's stdout/stderr, aware of the progress bar and --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.byte_progress = False  # a single big file: show bytes instead of files
        self.stdout = sys.stdout.buffer

    def _stderr(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def notice(self, message: str) -> None:
        if not self.quiet:
            self._stderr(message)

    def error(self, message: str) -> None:
        self._stderr(f"error: {message}")

    def replay(self, outcome: Outcome) -> None:
        """Print what a worker buffered, in the order the files were given."""
        for level, message in outcome.messages:
            (self.error if level == "error" else self.notice)(message)
        data = outcome.stdout
        if isinstance(data, str):
            with open(data, "rb") as fh:
                while block := fh.read(1 << 20):
                    self.stdout.write(block)
            os.unlink(data)
        elif data:
            self.stdout.write(data)
        self.stdout.flush()


class Report:
    """One file's output channel: straight to the console, or buffered in a worker."""

    def __init__(self, outcome: Outcome, console: Console | None = None) -> None:
        self.outcome = outcome
        self.console = console
        self._spill = Spill() if console is None else None
        # Spill only needs write(); typing it as a file keeps the writers' signatures simple.
        spill = cast(IO[bytes], self._spill)
        self.sink: IO[bytes] = console.stdout if console is not None else spill

    def out(self, text: str) -> None:
        self.sink.write(text.encode("utf-8", "backslashreplace"))

    def notice(self, message: str) -> None:
        if self.console is not None:
            self.console.notice(message)
        else:
            self.outcome.messages.append(("notice", message))

    def error(self, message: str) -> None:
        self.outcome.error = True
        if self.console is not None:
            self.console.error(message)
        else:
            self.outcome.messages.append(("error", message))

    def finish(self) -> Outcome:
        if self._spill is not None:
            self.outcome.stdout = self._spill.result()
        elif self.console is not None:
            self.console.stdout.flush()
        return self.outcome


# --------------------------------------------------------------------------- reporting


@dataclass
class Where:
    """Where a piece of text sits, for ``path:line:col`` messages."""

    display: str
    text: str
    line_base: int = 0
    char_base: int = 0
    record: int | None = None
    field: str | None = None
    _newlines: list[int] | None = None

    def locate(self, pos: int) -> tuple[int, int]:
        """1-based (line, column) of ``pos`` in ``text``."""
        if self.record is not None:
            return self.record, pos + 1
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        index = bisect.bisect_left(self._newlines, pos)
        line_start = self._newlines[index - 1] + 1 if index else 0
        return self.line_base + index + 1, pos - line_start + 1

    def prefix(self, pos: int) -> str:
        line, col = self.locate(pos)
        return f"{self.display}:{line}:{col}:"

    def suffix(self) -> str:
        return f"  [{self.field}]" if self.field else ""


def _show(text: str, limit: int = _EXCERPT) -> str:
    """A short, single-line rendering of ``text`` for messages."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or 0xDC80 <= ord(ch) <= 0xDCFF:
            out.append(f"\\x{ord(ch) & 0xFF:02x}")
        else:
            out.append(ch)
    return "".join(out)


def _detail(detail: dict[str, Any]) -> str:
    parts = []
    for key, value in detail.items():
        if isinstance(value, (list, tuple)):
            value = "→".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return f" ({', '.join(parts)})" if parts else ""


def _to_original(steps: Sequence[Step], upto: int, pos: int) -> int:
    """Map a position in the text after ``steps[:upto]`` back to the text before them."""
    for k in range(upto - 1, -1, -1):
        step = steps[k]
        new_end = step.start + len(step.new)
        if pos >= new_end:
            pos += (step.end - step.start) - len(step.new)
        elif pos > step.start:
            pos = step.start
    return pos


class TextJob:
    """Fixes (or scans) pieces of one file's text and prints what the options ask for."""

    def __init__(self, opts: Options, report: Report, display: str) -> None:
        self.opts = opts
        self.report = report
        self.display = display
        self.findings = 0
        self._diff_started = False
        self._chars = 0

    def run(self, text: str, where: Where) -> str:
        """Return the fixed ``text``; print findings or explanations on the way."""
        import textfix

        if self.opts.scanning:
            found = textfix.scan(text, self.opts.config)
            for finding in found:
                self._print_finding(finding, text, where)
            self.findings += len(found)
            return text
        if self.opts.explain:
            explained = textfix.fix_and_explain(text, self.opts.config)
            for i in range(len(explained.steps)):
                self._print_step(explained.steps, i, where)
            return explained.text
        return textfix.fix_text(text, self.opts.config)

    def chunk(self, text: str, lines_before: int) -> str:
        """Transform for whole files and streamed chunks (see ``stream_transform``)."""
        where = Where(self.display, text, line_base=lines_before, char_base=self._chars)
        new = self.run(text, where)
        self._chars += len(text)
        if self.opts.diff and new != text:
            self._print_text_diff(text, new, lines_before)
        return new

    def _print_finding(self, finding: Finding, text: str, where: Where) -> None:
        line, col = where.locate(finding.start)
        excerpt = text[finding.start:finding.end]
        if self.opts.json_out:
            record: dict[str, Any] = {
                "path": self.display, "line": line, "col": col,
                "start": where.char_base + finding.start,
                "end": where.char_base + finding.end,
                "kind": finding.kind, "confidence": round(finding.confidence, 4),
                "text": excerpt, "fix": finding.fix, "detail": finding.detail,
            }
            if where.field is not None:
                record["field"] = where.field
            self.report.out(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            return
        fix = f" → {_show(finding.fix)}" if finding.fix is not None else ""
        self.report.out(f"{self.display}:{line}:{col}: {finding.kind} "
                        f"{finding.confidence:.2f}  {_show(excerpt)}{fix}{where.suffix()}\n")

    def _print_step(self, steps: Sequence[Step], index: int, where: Where) -> None:
        step = steps[index]
        pos = _to_original(steps, index, step.start)
        self.report.out(f"{where.prefix(pos)} {step.stage}/{step.kind} "
                        f"'{_show(step.old)}' → '{_show(step.new)}'"
                        f"{_detail(step.detail)}{where.suffix()}\n")

    def diff_header(self) -> None:
        if not self._diff_started:
            self._diff_started = True
            self.report.out(f"--- {self.display}\n+++ {self.display}\n")

    def _print_text_diff(self, old: str, new: str, line_base: int) -> None:
        a, b = _lines(old), _lines(new)
        # Repairs rarely add or remove lines; comparing line by line is then exact
        # and avoids difflib's matching, which is slow on multi-megabyte texts.
        lines = _same_length_diff(a, b) if len(a) == len(b) else \
            difflib.unified_diff(a, b, n=3, lineterm="")
        for line in lines:
            if line.startswith(("---", "+++")):
                continue
            self.diff_header()
            if line.startswith("@@"):
                line = _shift_hunk(line, line_base)
            self.report.out(_diff_line(line))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) if "\r" not in text and "\x0b" not in text \
        else re.findall(r"[^\n]*\n|[^\n]+", text)


def _same_length_diff(a: list[str], b: list[str], context: int = 3) -> Iterator[str]:
    """Unified-diff hunks (as difflib writes them) for two texts with equal line counts."""
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    groups: list[list[int]] = []
    for i in changed:
        if groups and i - groups[-1][-1] - 1 <= 2 * context:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        lo, hi = max(group[0] - context, 0), min(group[-1] + context + 1, len(a))
        span = f"{lo + 1},{hi - lo}" if hi - lo != 1 else f"{lo + 1}"
        yield f"@@ -{span} +{span} @@"
        i = lo
        while i < hi:
            if a[i] == b[i]:
                yield " " + a[i]
                i += 1
                continue
            j = i
            while j < hi and a[j] != b[j]:
                j += 1
            yield from ("-" + line for line in a[i:j])
            yield from ("+" + line for line in b[i:j])
            i = j


def _diff_line(line: str) -> str:
    if line.endswith("\n"):
        return line
    if line.startswith("@@"):
        return line + "\n"
    return line + "\n\\ No newline at end of file\n"


_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


def _shift_hunk(header: str, base: int) -> str:
    """Renumber a hunk header for a chunk that starts after ``base`` lines."""
    def shift(m: re.Match[str]) -> str:
        return (f"@@ -{int(m[1]) + base}{m[2]} +{int(m[3]) + base}{m[4]} @@")
    return _HUNK.sub(shift, header, count=1)


# --------------------------------------------------------------------------- one file


def process(target: Target, opts: Options, report: Report) -> Outcome:
    """Fix or scan one file; never raises for problems with the file itself."""
    try:
        if target.is_stdin:
            _process_stdin(opts, report)
        else:
            fmt = record_format(target.display)
            if fmt == "parquet":
                _process_parquet(target, opts, report)
            elif fmt is not None:
                _process_jsonl(target, fmt, opts, report)
            else:
                _process_text(target, opts, report)
    except FormatUnavailable as exc:
        report.error(f"{target.display}: {exc}")
    except NotRoundTrip as exc:
        report.outcome.changed = False
        report.error(f"{target.display}: not rewritten: {exc}; use --to-utf8")
    except ReadOnlyFile:
        report.outcome.changed = False  # the file the user protected stays as it is
        report.error(f"{target.display}: skipped: read-only file")
    except OSError as exc:
        report.outcome.changed = False
        report.error(f"{target.display}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
        detail = traceback.format_exc() if os.environ.get("TEXTFIX_DEBUG") else ""
        report.error(f"{target.display}: internal error: {type(exc).__name__}: {exc}\n{detail}"
                     .rstrip())
    return report.finish()


def _writer(target: Target) -> AtomicWriter:
    """``-i`` never replaces a read-only file (checked when the new content is ready)."""
    return AtomicWriter(target.real, respect_read_only=True)


def _work(target: Target, opts: Options) -> Outcome:
    """Worker-process entry point."""
    return process(target, opts, Report(Outcome(target.display)))


def _process_stdin(opts: Options, report: Report) -> None:
    data = sys.stdin.buffer.read()
    decoded = decode_bytes(data)
    job = TextJob(opts, report, STDIN)
    new = job.chunk(decoded.text, 0)
    report.outcome.findings = job.findings
    report.outcome.changed = new != decoded.text
    if opts.prints_text:
        report.sink.write(new.encode("utf-8", "surrogateescape"))
    elif opts.check and report.outcome.changed and not opts.quiet:
        report.out("would fix <stdin>\n")


def _skip_reason(data: bytes, decoded: Decoded | None) -> str | None:
    """Why ``data`` is not treated as text, or None.

    Besides control bytes (:func:`looks_binary`): more than 5% undecodable bytes in
    the best reading. When even that reading is not UTF-8, more than 1% (and more
    than a stray few) is enough: then no codec fits, and random high bytes always
    "decode" as cp1252 with only its five undefined bytes escaped, about 4%. Text
    with a few broken bytes stays below that and is fixed with those bytes kept.
    """
    if looks_binary(data):
        return "skipped: binary file"
    if decoded is None or not decoded.lossy:
        return None
    bad = len(decoded.errors)
    if bad * 20 > len(data) or (not decoded.is_utf8 and bad > _STRAY_BAD_BYTES
                                and bad * 100 > len(data)):
        return "skipped: not decodable as text"
    return None


def _note_lossy(report: Report, display: str, count: int, first: int | None) -> None:
    where = f" (first at byte {first})" if first is not None else ""
    report.notice(f"{display}: {count or 'some'} undecodable byte sequence(s) kept as they "
                  f"are{where}")


def _process_text(target: Target, opts: Options, report: Report) -> None:
    size = os.stat(target.real).st_size
    if size > opts.stream_threshold:
        _process_text_streaming(target, opts, report)
        return
    with open(target.real, "rb") as fh:
        data = fh.read()
    reason = _skip_reason(data, None)
    decoded = decode_bytes(data) if reason is None else None
    reason = reason or _skip_reason(data, decoded)
    if reason is not None or decoded is None:
        report.notice(f"{target.display}: {reason}")
        return
    if decoded.lossy:
        _note_lossy(report, target.display, len(decoded.errors), decoded.errors[0][0])
    job = TextJob(opts, report, target.display)
    new = job.chunk(decoded.text, 0)
    report.outcome.findings = job.findings
    if opts.scanning:
        return
    out = decoded.as_utf8() if opts.to_utf8 else decoded
    changed = new != decoded.text or out.encoding != decoded.encoding
    report.outcome.changed = changed
    if opts.prints_text:
        report.sink.write(new.encode("utf-8", "surrogateescape"))
    elif opts.check and changed and not opts.quiet:
        report.out(f"would fix {target.display}\n")
    elif opts.in_place and changed:
        _write_text(target, data, decoded, out, new, report)


def _write_text(target: Target, data: bytes, decoded: Decoded, out: Decoded, new: str,
                report: Report) -> None:
    if out is decoded and decoded.encode(decoded.text) != data:
        raise NotRoundTrip(f"re-encoding as {decoded.encoding} would alter untouched bytes")
    try:
        payload = out.encode(new)
    except UnicodeEncodeError as exc:
        report.outcome.changed = False
        report.error(f"{target.display}: not rewritten: the fixed text has "
                     f"'{_show(exc.object[exc.start:exc.end])}', which {out.encoding} cannot "
                     "encode; use --to-utf8")
        return
    with _writer(target) as writer:
        writer.file.write(payload)
    report.notice(f"fixed {target.display}")


def _process_text_streaming(target: Target, opts: Options, report: Report) -> None:
    with open(target.real, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    reason = _skip_reason(head, None) or _skip_reason(head, detect_prefix(head))
    if reason is not None:
        report.notice(f"{target.display}: {reason}")
        return
    job = TextJob(opts, report, target.display)
    progress = _byte_progress(report, target)
    try:
        if opts.in_place:
            with _writer(target) as writer:
                result = stream_transform(target.real, job.chunk, writer.file,
                                          to_utf8=opts.to_utf8, on_bytes=progress)
                if not result.changed:
                    writer.discard()
        elif opts.prints_text:
            result = stream_transform(target.real, job.chunk, report.sink,
                                      out_utf8=True, on_bytes=progress)
        else:
            result = stream_transform(target.real, job.chunk, None, to_utf8=opts.to_utf8,
                                      on_bytes=progress)
    except UnicodeEncodeError as exc:
        report.error(f"{target.display}: not rewritten: the fixed text has characters that "
                     f"{exc.encoding} cannot encode; use --to-utf8")
        return
    finally:
        if progress is not None:
            progress.close()
    report.outcome.findings = job.findings
    report.outcome.changed = result.changed and not opts.scanning
    if result.lossy:
        _note_lossy(report, target.display, 0, None)
    if opts.check and report.outcome.changed and not opts.quiet:
        report.out(f"would fix {target.display}\n")
    elif opts.in_place and report.outcome.changed:
        report.notice(f"fixed {target.display}")


def _field_fixer(job: TextJob, display: str) -> Callable[[str, str, int], str]:
    def fix(name: str, value: str, record: int) -> str:
        return job.run(value, Where(display, value, record=record, field=name))
    return fix


def _report_records(report: Report, display: str, stats: RecordStats) -> None:
    for lineno, problem in stats.invalid[:_MAX_INVALID_REPORTED]:
        report.notice(f"{display}:{lineno}: {problem}; left unchanged")
    extra = len(stats.invalid) - _MAX_INVALID_REPORTED
    if extra > 0:
        report.notice(f"{display}: {extra} more line(s) are not JSON objects; left unchanged")
    for note in stats.notes:
        report.notice(f"{display}: {note}")


def _finish_records(opts: Options, report: Report, display: str, stats: RecordStats) -> None:
    _report_records(report, display, stats)
    report.outcome.changed = stats.changed > 0 and not opts.scanning
    if opts.check and report.outcome.changed and not opts.quiet:
        report.out(f"would fix {display} ({stats.changed} of {stats.records} records)\n")
    elif opts.in_place and report.outcome.changed:
        report.notice(f"fixed {display} ({stats.changed} of {stats.records} records)")


def _process_jsonl(target: Target, fmt: str, opts: Options, report: Report) -> None:
    job = TextJob(opts, report, target.display)
    fixer = _field_fixer(job, target.display)

    def on_change(lineno: int, old: bytes, new: bytes) -> None:
        if opts.diff:
            job.diff_header()
            report.sink.write(f"@@ -{lineno} +{lineno} @@\n".encode())
            report.sink.write(b"-" + old.rstrip(b"\r\n") + b"\n+" + new.rstrip(b"\r\n") + b"\n")

    with open_records_in(target.real, fmt) as src:
        if opts.in_place:
            with _writer(target) as writer:
                with open_records_out(writer.file, fmt) as dst:
                    stats = process_jsonl(src, dst, opts.fields, fixer, on_change)
                if not stats.changed:
                    writer.discard()
        else:
            sink = report.sink if opts.prints_text else None
            stats = process_jsonl(src, sink, opts.fields, fixer, on_change)
    report.outcome.findings = job.findings
    _finish_records(opts, report, target.display, stats)


def _process_parquet(target: Target, opts: Options, report: Report) -> None:
    if opts.prints_text:
        report.notice(f"{target.display}: skipped: Parquet files are fixed in place (-i) or "
                      "checked (--check, --diff, --explain), not printed")
        return
    job = TextJob(opts, report, target.display)
    fixer = _field_fixer(job, target.display)

    def on_change(row: int, column: str, old: str, new: str) -> None:
        if opts.diff:
            job.diff_header()
            report.out(f"@@ row {row}, column {column} @@\n-{_one_line(old)}\n"
                       f"+{_one_line(new)}\n")

    if opts.in_place:
        with _writer(target) as writer:
            stats = process_parquet(target.real, writer.file, opts.fields, fixer, on_change)
            if not stats.changed:
                writer.discard()
    else:
        stats = process_parquet(target.real, None, opts.fields, fixer, on_change)
    report.outcome.findings = job.findings
    _finish_records(opts, report, target.display, stats)


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r")


# --------------------------------------------------------------------------- progress


def _tqdm() -> Any:
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return None
    return tqdm


def _progress_wanted(args: argparse.Namespace) -> bool:
    return not (args.no_progress or args.quiet) and sys.stderr.isatty() and _tqdm() is not None


class _ByteBar:
    """Progress in bytes for one big streamed file."""

    def __init__(self, total: int, label: str) -> None:
        self._bar = _tqdm()(total=total, unit="B", unit_scale=True, desc=label, leave=False)

    def __call__(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def _byte_progress(report: Report, target: Target) -> _ByteBar | None:
    """A byte bar when the run is a single big file, in the main process only."""
    if report.console is None or not report.console.byte_progress:
        return None
    size = os.stat(target.real).st_size
    if size < _PROGRESS_MIN_BYTES or report.console.bar is not None:
        return None
    return _ByteBar(size, target.display)


# --------------------------------------------------------------------------- driver


@dataclass
class Totals:
    changed: int = 0
    findings: int = 0
    errors: int = 0
    processed: int = 0

    def add(self, outcome: Outcome) -> None:
        self.processed += 1
        self.changed += outcome.changed
        self.findings += outcome.findings
        self.errors += outcome.error


def _warm_up(opts: Options) -> None:
    """Load the engine's tables before the pool forks, so workers share one copy
    instead of each loading its own (about a second apiece)."""
    import multiprocessing

    if multiprocessing.get_start_method() == "fork":
        import textfix

        textfix.fix_text("浣犲ソ锛屼笘鐣岋紒 GBK-as-UTF-8 sample", opts.config)


def _ordered_parallel(
    items: Iterable[Target | Skipped], opts: Options, jobs: int
) -> Iterator[tuple[Target | Skipped, Future[Outcome] | None]]:
    """Submit files to a process pool, yielding them in input order with a bounded backlog."""
    window: deque[tuple[Target | Skipped, Future[Outcome] | None]] = deque()
    _warm_up(opts)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for item in items:
            future = None
            if isinstance(item, Target) and not item.is_stdin:  # stdin is read here
                future = pool.submit(_work, item, opts)
            window.append((item, future))
            if len(window) >= jobs * 4:
                yield window.popleft()
        while window:
            yield window.popleft()


def _run(items: Iterable[Target | Skipped], opts: Options, jobs: int, console: Console,
         totals: Totals) -> None:
    pairs: Iterable[tuple[Target | Skipped, Future[Outcome] | None]]
    if jobs > 1:
        pairs = _ordered_parallel(items, opts, jobs)
    else:
        pairs = ((item, None) for item in items)
    for item, future in pairs:
        if isinstance(item, Skipped):
            (console.error if item.error else console.notice)(f"{item.display}: {item.reason}")
            totals.errors += item.error
        elif future is None:
            totals.add(process(item, opts, Report(Outcome(item.display), console)))
        else:
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the OOM killer
                outcome = Outcome(item.display, error=True,
                                  messages=[("error", f"{item.display}: worker failed: {exc}")])
            console.replay(outcome)
            totals.add(outcome)
        if console.bar is not None:
            console.bar.update(1)


def _summary(opts: Options, totals: Totals, console: Console) -> None:
    if opts.in_place and totals.processed > 1:
        console.notice(f"textfix: fixed {totals.changed} of {totals.processed} files")
    elif opts.check and totals.processed > 1:
        console.notice(f"textfix: {totals.changed} of {totals.processed} files would change")


def _exit_code(opts: Options, totals: Totals, nonzero_on_fix: bool) -> int:
    if totals.errors:
        return EXIT_ERROR
    if opts.scanning and totals.findings:
        return EXIT_CHANGED
    if totals.changed and (opts.check or nonzero_on_fix):
        return EXIT_CHANGED
    return EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    if args.isolated:
        return Settings()
    return load_settings(path=args.config)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write("textfix: error: a command is required (fix or scan)\n")
        return EXIT_ERROR
    console = Console(args.quiet)
    try:
        settings = _settings(args)
        opts = make_options(args, settings)
    except (SettingsError, UsageError) as exc:
        console.error(str(exc))
        return EXIT_ERROR
    include = args.include if args.include is not None else settings.include
    exclude = args.exclude if args.exclude is not None else settings.exclude
    items: Iterable[Target | Skipped] = discover(args.paths, include, exclude)
    jobs = args.jobs or os.cpu_count() or 1
    totals = Totals()
    if _progress_wanted(args):
        items = list(items)
        count = sum(isinstance(item, Target) for item in items)
        console.byte_progress = count == 1
        if count >= _PROGRESS_MIN_FILES:
            console.bar = _tqdm()(total=len(items), unit="file", leave=False)
    try:
        _run(items, opts, jobs, console, totals)
    finally:
        if console.bar is not None:
            console.bar.close()
            console.bar = None
    _summary(opts, totals, console)
    return _exit_code(opts, totals, opts.in_place and args.exit_nonzero_on_fix)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("textfix: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly without a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
