"""Record formats: JSONL (plain, gzip, zstd) and Parquet, fixed field by field.

Only the named string fields change. In JSONL the new value is spliced into the
original line, so other fields, key order, spacing and escapes stay byte for byte
(a ``\\uXXXX``-escaped value is written back escaped). Lines that are not JSON
objects are reported and written back unchanged. Parquet files are rewritten row
group by row group with the same schema and compression codec.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = [
    "FieldFixer",
    "FormatUnavailable",
    "RecordStats",
    "fix_jsonl_line",
    "open_records_in",
    "open_records_out",
    "process_jsonl",
    "process_parquet",
    "record_format",
]

_SUFFIXES = (
    (".jsonl.gz", "jsonl.gz"),
    (".ndjson.gz", "jsonl.gz"),
    (".jsonl.zst", "jsonl.zst"),
    (".ndjson.zst", "jsonl.zst"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".parquet", "parquet"),
)
_BOM = "\ufeff"
_WS = " \t\n\r"
_DECODER = json.JSONDecoder()

FieldFixer = Callable[[str, str, int], str]
"""Called with (field name, value, 1-based line or row number); returns the new value."""


class FormatUnavailable(RuntimeError):
    """An optional dependency needed for this format is not installed."""


@dataclass
class RecordStats:
    """Counts for one file."""

    records: int = 0
    changed: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    """(line, reason) for lines that were kept because they are not JSON objects."""
    notes: list[str] = field(default_factory=list)


def record_format(path: str) -> str | None:
    """``"jsonl"``, ``"jsonl.gz"``, ``"jsonl.zst"``, ``"parquet"`` or None (plain text)."""
    lower = path.lower()
    for suffix, fmt in _SUFFIXES:
        if lower.endswith(suffix):
            return fmt
    return None


# --------------------------------------------------------------------------- opening


def _zstandard() -> Any:
    try:
        import zstandard
    except ModuleNotFoundError:
        raise FormatUnavailable(
            "reading .jsonl.zst needs the zstandard package: pip install zstandard"
        ) from None
    return zstandard


@contextlib.contextmanager
def open_records_in(path: str, fmt: str) -> Iterator[IO[bytes]]:
    """The decompressed bytes of a JSONL file, readable line by line."""
    if fmt == "jsonl.zst":
        zstandard = _zstandard()
        with open(path, "rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            with io.BufferedReader(reader) as buffered:
                yield buffered
    elif fmt == "jsonl.gz":
        with gzip.open(path, "rb") as fh:
            yield fh  # type: ignore[misc]
    else:
        with open(path, "rb") as fh:
            yield fh


@contextlib.contextmanager
def open_records_out(sink: IO[bytes], fmt: str) -> Iterator[IO[bytes]]:
    """Compress into ``sink`` like the input was compressed (``sink`` stays open)."""
    if fmt == "jsonl.zst":
        zstandard = _zstandard()
        writer = zstandard.ZstdCompressor(level=3).stream_writer(sink, closefd=False)
        with writer:
            yield writer
    elif fmt == "jsonl.gz":
        # mtime=0 keeps the output reproducible.
        with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0) as gz:
            yield gz  # type: ignore[misc]
    else:
        yield sink


# --------------------------------------------------------------------------- JSONL


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _value_spans(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each top-level value of a JSON object already known valid."""
    spans: list[tuple[str, int, int]] = []
    i = _skip_ws(text, 0) + 1  # past "{"
    i = _skip_ws(text, i)
    if text[i] == "}":
        return spans
    while True:
        key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        i = _skip_ws(text, _skip_ws(text, i) + 1)  # past ":"
        _value, end = _DECODER.raw_decode(text, i)
        spans.append((key, i, end))
        i = _skip_ws(text, end)
        if text[i] == "}":
            return spans
        i = _skip_ws(text, i + 1)  # past ","


def _dump_like(value: str, original_token: str) -> str:
    """JSON for ``value`` in the escaping style of the token it replaces."""
    ascii_style = original_token.isascii() and "\\u" in original_token
    token = json.dumps(value, ensure_ascii=ascii_style)
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates can only be written escaped
        token = json.dumps(value, ensure_ascii=True)
    return token


def _split_terminator(line: bytes) -> tuple[bytes, bytes]:
    if line.endswith(b"\r\n"):
        return line[:-2], b"\r\n"
    if line.endswith(b"\n"):
        return line[:-1], b"\n"
    return line, b""


def fix_jsonl_line(
    line: bytes, fields: Sequence[str], fixer: FieldFixer, lineno: int
) -> tuple[bytes, str | None]:
    """Fix the named string fields of one JSONL line.

    Returns the new line (with the original terminator) and, for a line that is not
    a JSON object, the reason it was left unchanged.
    """
    body, end = _split_terminator(line)
    if not body.strip():
        return line, None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return line, f"not UTF-8 ({exc.reason} at byte {exc.start})"
    prefix = _BOM if lineno == 1 and text.startswith(_BOM) else ""
    text = text[len(prefix):]
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return line, f"not valid JSON ({exc.msg}, column {exc.colno})"
    if not isinstance(record, dict):
        return line, f"not a JSON object (a {type(record).__name__})"
    wanted = set(fields)
    pieces: list[str] = []
    pos = 0
    for key, start, stop in _value_spans(text):
        old_token = text[start:stop]
        if key not in wanted or not old_token.startswith('"'):
            continue  # only string values of the named fields
        current = json.loads(old_token)
        new = fixer(key, current, lineno)
        if new != current:
            pieces += [text[pos:start], _dump_like(new, old_token)]
            pos = stop
    if not pieces:
        return line, None
    pieces.append(text[pos:])
    return (prefix + "".join(pieces)).encode("utf-8") + end, None


def process_jsonl(
    src: IO[bytes],
    dst: IO[bytes] | None,
    fields: Sequence[str],
    fixer: FieldFixer,
    on_change: Callable[[int, bytes, bytes], None] | None = None,
    on_record: Callable[[], None] | None = None,
) -> RecordStats:
    """Fix ``src`` line by line into ``dst`` (if given); memory holds one line."""
    stats = RecordStats()
    for lineno, line in enumerate(src, start=1):
        new, problem = fix_jsonl_line(line, fields, fixer, lineno)
        stats.records += 1
        if problem is not None:
            stats.invalid.append((lineno, problem))
        elif new != line:
            stats.changed += 1
            if on_change is not None:
                on_change(lineno, line, new)
        if dst is not None:
            dst.write(new)
        if on_record is not None:
            on_record()
    return stats


# --------------------------------------------------------------------------- Parquet


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        raise FormatUnavailable(
            "reading Parquet needs pyarrow: pip install 'textfix[parquet]'"
        ) from None
    return pa, pq


def _compression(metadata: Any) -> str:
    if metadata.num_row_groups == 0 or metadata.num_columns == 0:
        return "snappy"
    codec = str(metadata.row_group(0).column(0).compression).lower()
    return "none" if codec == "uncompressed" else codec


def process_parquet(
    path: str,
    dst: IO[bytes] | None,
    fields: Sequence[str],
    fixer: FieldFixer,
    on_change: Callable[[int, str, str, str], None] | None = None,
) -> RecordStats:
    """Fix the named string columns of a Parquet file, one row group in memory at a time.

    ``on_change`` gets (1-based row, column, old, new) for every changed cell.
    """
    pa, pq = _pyarrow()
    stats = RecordStats()
    source = pq.ParquetFile(path)
    schema = source.schema_arrow
    columns = [name for name in dict.fromkeys(fields) if name in schema.names
               and (pa.types.is_string(schema.field(name).type)
                    or pa.types.is_large_string(schema.field(name).type))]
    if not columns:
        stats.notes.append(f"no string column named {', '.join(fields)}")
    writer = None
    if dst is not None:
        writer = pq.ParquetWriter(dst, schema, compression=_compression(source.metadata))
    try:
        for group in range(source.num_row_groups):
            table = source.read_row_group(group)
            table = _fix_table(pa, table, columns, stats, fixer, on_change)
            if writer is not None:
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
            stats.records += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return stats


def _fix_table(
    pa: Any,
    table: Any,
    columns: list[str],
    stats: RecordStats,
    fixer: FieldFixer,
    on_change: Callable[[int, str, str, str], None] | None,
) -> Any:
    base = stats.records
    changed_rows: set[int] = set()
    for name in columns:
        index = table.schema.get_field_index(name)
        values = table.column(index).to_pylist()
        new_values = list(values)
        for row, value in enumerate(values):
            if not isinstance(value, str):
                continue
            new = fixer(name, value, base + row + 1)
            if new != value:
                new_values[row] = new
                changed_rows.add(row)
                if on_change is not None:
                    on_change(base + row + 1, name, value, new)
        if new_values != values:
            column = pa.array(new_values, type=table.schema.field(index).type)
            table = table.set_column(index, table.schema.field(index), column)
    stats.changed += len(changed_rows)
    return table
