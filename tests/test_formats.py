"""JSONL and Parquet handling: unit tests plus the real command on corpus files."""

from __future__ import annotations

import builtins
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import textfix
from textfix.formats import (
    FormatUnavailable,
    fix_jsonl_line,
    open_records_in,
    open_records_out,
    process_jsonl,
    process_parquet,
    record_format,
)

CLEAN = "你好，世界！今天天气很好。"
GARBLED = CLEAN.encode("utf-8").decode("gbk", errors="replace")


def upper(_field: str, value: str, _line: int) -> str:
    return value.upper()


def textfix_cmd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "textfix.cli", *args, "--isolated"],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_record_format() -> None:
    assert record_format("a/b.jsonl") == "jsonl"
    assert record_format("B.JSONL.GZ") == "jsonl.gz"
    assert record_format("x.ndjson.zst") == "jsonl.zst"
    assert record_format("t.parquet") == "parquet"
    assert record_format("notes.txt") is None
    assert record_format("data.json") is None


def test_only_named_fields_change_and_layout_is_kept() -> None:
    line = b'{"id": 7,  "text":"ab\\u4f60", "meta": {"text": "x"}, "title" : "q", "n": 0}\r\n'
    new, problem = fix_jsonl_line(line, ["text", "title"], upper, 1)
    assert problem is None
    assert new == line.replace(b'"ab', b'"AB').replace(b'"q"', b'"Q"')


def test_unicode_values_stay_unescaped() -> None:
    new, _ = fix_jsonl_line('{"text": "ab你"}\n'.encode(), ["text"], upper, 1)
    assert new == '{"text": "AB你"}\n'.encode()


def test_unchanged_line_is_byte_identical() -> None:
    line = b'{ "text" : "\\u4f60\\u597d" , "x" : 1.50 }\n'
    assert fix_jsonl_line(line, ["text"], lambda _f, v, _n: v, 1) == (line, None)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json\n", "not valid JSON"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"text": "a"\n', "not valid JSON"),
        (b'{"text": "\xff"}\n', "not UTF-8"),
    ],
)
def test_bad_lines_are_reported_and_kept(line: bytes, reason: str) -> None:
    new, problem = fix_jsonl_line(line, ["text"], upper, 3)
    assert new == line
    assert problem is not None and reason in problem


def test_non_string_and_missing_fields() -> None:
    line = b'{"text": 5, "other": "abc"}\n'
    assert fix_jsonl_line(line, ["text"], upper, 1) == (line, None)
    assert fix_jsonl_line(b"\n", ["text"], upper, 1) == (b"\n", None)


def test_bom_on_first_line() -> None:
    new, problem = fix_jsonl_line('\ufeff{"text": "a"}\n'.encode(), ["text"], upper, 1)
    assert problem is None and new == '\ufeff{"text": "A"}\n'.encode()


def test_lone_surrogate_is_written_escaped() -> None:
    new, _ = fix_jsonl_line(b'{"text": "a"}\n', ["text"], lambda _f, _v, _n: "\udcff", 1)
    assert new == b'{"text": "\\udcff"}\n'
    assert json.loads(new) == {"text": "\udcff"}


def test_process_jsonl_counts() -> None:
    src = io.BytesIO(b'{"text": "a"}\nbroken\n{"text": "B"}\n')
    dst = io.BytesIO()
    changes: list[int] = []
    stats = process_jsonl(src, dst, ["text"], upper, lambda n, _o, _n: changes.append(n))
    assert dst.getvalue() == b'{"text": "A"}\nbroken\n{"text": "B"}\n'
    assert (stats.records, stats.changed, changes) == (3, 1, [1])
    assert [n for n, _ in stats.invalid] == [2]


def test_gzip_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "a"}\n{"text": "b"}\n'))
    out = io.BytesIO()
    with open_records_in(str(path), "jsonl.gz") as src, open_records_out(out, "jsonl.gz") as dst:
        process_jsonl(src, dst, ["text"], upper)
    assert gzip.decompress(out.getvalue()) == b'{"text": "A"}\n{"text": "B"}\n'


def test_zstd_round_trip(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    path = tmp_path / "a.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b'{"text": "a"}\n'))
    out = io.BytesIO()
    with open_records_in(str(path), "jsonl.zst") as src, open_records_out(out, "jsonl.zst") as dst:
        process_jsonl(src, dst, ["text"], upper)
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(out.getvalue()))
    assert reader.read() == b'{"text": "A"}\n'


def _hide_module(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real_import = builtins.__import__

    def fake_import(module: str, *args: Any, **kwargs: Any) -> Any:
        if module == name or module.startswith(name + "."):
            raise ModuleNotFoundError(f"No module named {module!r}")
        return real_import(module, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_missing_zstandard_is_a_clear_error(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_module(monkeypatch, "zstandard")
    path = tmp_path / "a.jsonl.zst"
    path.write_bytes(b"")
    with pytest.raises(FormatUnavailable, match="zstandard"), \
            open_records_in(str(path), "jsonl.zst"):
        pass


def test_missing_pyarrow_names_the_extra(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_module(monkeypatch, "pyarrow")
    with pytest.raises(FormatUnavailable, match=r"textfix\[parquet\]"):
        process_parquet(str(tmp_path / "a.parquet"), None, ["text"], upper)


def test_parquet_column_fixed_rest_kept(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": [1, 2, 3], "text": ["a", None, "c"], "note": ["x", "y", "z"]})
    src = tmp_path / "a.parquet"
    pq.write_table(table, src, row_group_size=2, compression="gzip")
    out = tmp_path / "b.parquet"
    cells: list[tuple[int, str]] = []
    with open(out, "wb") as fh:
        stats = process_parquet(str(src), fh, ["text"], upper,
                                lambda row, col, _o, _n: cells.append((row, col)))
    result = pq.read_table(out)
    assert result.schema == table.schema
    assert result.column("text").to_pylist() == ["A", None, "C"]
    assert result.column("note").to_pylist() == ["x", "y", "z"]
    assert (stats.records, stats.changed, cells) == (3, 2, [(1, "text"), (3, "text")])
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "GZIP"


# --------------------------------------------------------------------------- the command


def test_cli_fixes_jsonl_field_only(tmp_path: Path) -> None:  # needs the repair engine
    records = [
        {"id": 1, "text": GARBLED, "meta": {"lang": "zh"}, "raw": GARBLED},
        {"id": 2, "text": CLEAN, "z": [1, 2]},
    ]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) + "oops\n"
    path = tmp_path / "corpus.jsonl"
    path.write_text(body, encoding="utf-8")
    check = textfix_cmd("fix", "--check", "corpus.jsonl", cwd=tmp_path)
    assert check.returncode == 1, check.stderr
    assert "would fix corpus.jsonl" in check.stdout
    done = textfix_cmd("fix", "-i", "corpus.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "corpus.jsonl:3:" in done.stderr and "left unchanged" in done.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert list(first) == ["id", "text", "meta", "raw"]  # key order kept
    assert first["text"] == textfix.fix_text(GARBLED) != GARBLED
    assert first["raw"] == GARBLED and first["meta"] == {"lang": "zh"}
    assert lines[1:] == body.splitlines()[1:]  # clean and invalid lines byte-identical


def test_cli_jsonl_gz_and_custom_field(tmp_path: Path) -> None:  # needs the repair engine
    path = tmp_path / "c.jsonl.gz"
    line = json.dumps({"content": GARBLED, "text": GARBLED}, ensure_ascii=False) + "\n"
    path.write_bytes(gzip.compress(line.encode()))
    done = textfix_cmd("fix", "-i", "--field", "content", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(gzip.decompress(path.read_bytes()))
    assert record == {"content": textfix.fix_text(GARBLED), "text": GARBLED}


def test_cli_parquet_in_place(tmp_path: Path) -> None:  # needs the repair engine
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": [GARBLED, CLEAN], "n": [1, 2]}), path)
    done = textfix_cmd("fix", "-i", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(path)
    assert table.column("text").to_pylist() == [textfix.fix_text(GARBLED), CLEAN]
    assert table.column("n").to_pylist() == [1, 2]
