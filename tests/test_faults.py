"""Faults during ``textfix fix -i`` (issue #6).

Each test runs the real command, in a subprocess (``textfix_cmd``) or in this
process through ``main()`` (``run_main``) where a fault has to be injected at an
exact moment. In every case each file ends entirely old or entirely new, no temp
file is left behind, and the exit code and stderr say what happened.
"""

from __future__ import annotations

import json
import os
import random
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import textfix.cli as cli
from textfix.io import AtomicWriter, ReadOnlyFile
from textfix.walk import Target

from .test_cli import ZH, err, no_temp_files, run_main, textfix_cmd

__all__ = ["run_main"]  # the fixture, re-exported so pytest finds it here

RunMain = Callable[..., tuple[int, str, str]]
FULLWIDTH = "ＡＢＣ１２３"  # --fold-width rewrites it whatever the repair engine does


def _gbk(path: Path, text: str = ZH + "\n") -> bytes:
    """A GBK file: ``fix -i --to-utf8`` rewrites it, engine or not."""
    data = text.encode("gbk")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


# --------------------------------------------------------------------------- 1. read-only


def test_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    before = _gbk(tmp_path / "a.txt")
    _gbk(tmp_path / "ro.txt")
    _gbk(tmp_path / "z.txt")
    (tmp_path / "ro.txt").chmod(0o444)
    inode = (tmp_path / "ro.txt").stat().st_ino
    (tmp_path / "ro-clean.txt").write_text(ZH + "\n", encoding="utf-8")  # nothing to write
    (tmp_path / "ro-clean.txt").chmod(0o444)
    proc = textfix_cmd("fix", "-i", "--to-utf8", ".", cwd=tmp_path)
    assert proc.returncode == 2, err(proc)
    assert "error: ro.txt: skipped: read-only file" in err(proc).splitlines()
    assert "ro-clean.txt" not in err(proc)  # unchanged files are never written anyway
    ro = tmp_path / "ro.txt"
    assert ro.read_bytes() == before and ro.stat().st_ino == inode  # the very same file
    assert stat.S_IMODE(ro.stat().st_mode) == 0o444
    for name in ("a.txt", "z.txt"):  # the others are processed, before and after it
        assert (tmp_path / name).read_text(encoding="utf-8") == ZH + "\n"
    assert "fixed a.txt" in err(proc) and "fixed z.txt" in err(proc)
    assert "textfix: fixed 2 of 4 files" in err(proc)
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_read_only_file_streamed_or_in_workers(tmp_path: Path, jobs: str) -> None:
    before = _gbk(tmp_path / "ro.txt", (ZH + "\n") * 50)
    _gbk(tmp_path / "w.txt", (ZH + "\n") * 50)
    (tmp_path / "ro.txt").chmod(0o555)  # executable, still read-only
    proc = textfix_cmd("fix", "-i", "--to-utf8", "--jobs", jobs, ".", cwd=tmp_path,
                       env={"TEXTFIX_STREAM_THRESHOLD": "1000"})
    assert proc.returncode == 2, err(proc)
    assert "error: ro.txt: skipped: read-only file" in err(proc)
    assert (tmp_path / "ro.txt").read_bytes() == before
    assert (tmp_path / "w.txt").read_text(encoding="utf-8") == (ZH + "\n") * 50
    assert no_temp_files(tmp_path)


def test_read_only_jsonl_is_not_replaced(tmp_path: Path) -> None:
    record = json.dumps({"text": FULLWIDTH}, ensure_ascii=False) + "\n"
    (tmp_path / "ro.jsonl").write_text(record, encoding="utf-8")
    (tmp_path / "ro.jsonl").chmod(0o444)
    proc = textfix_cmd("fix", "-i", "--fold-width", "ro.jsonl", cwd=tmp_path)
    assert proc.returncode == 2, err(proc)
    assert "error: ro.jsonl: skipped: read-only file" in err(proc)
    assert (tmp_path / "ro.jsonl").read_text(encoding="utf-8") == record
    assert no_temp_files(tmp_path)


# --------------------------------------------------------------------------- 2. removed mid-run


def test_file_removed_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        run_main: RunMain) -> None:
    for name in ("a.txt", "gone.txt", "z.txt"):
        _gbk(tmp_path / name)
    real_process = cli.process

    def process(target: Target, opts: cli.Options, report: cli.Report) -> cli.Outcome:
        if target.display == "gone.txt":  # found by the walk, removed before the read
            os.unlink(target.real)
        return real_process(target, opts, report)

    monkeypatch.setattr(cli, "process", process)
    code, _, stderr = run_main("fix", "--isolated", "-i", "--to-utf8", ".", cwd=tmp_path)
    assert code == 2, stderr
    assert "error: gone.txt: No such file or directory" in stderr.splitlines()
    assert not (tmp_path / "gone.txt").exists()
    for name in ("a.txt", "z.txt"):
        assert (tmp_path / name).read_text(encoding="utf-8") == ZH + "\n"
    assert "textfix: fixed 2 of 3 files" in stderr
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("threshold", ["", "100"])  # whole file, streamed
def test_file_removed_while_being_fixed_is_not_recreated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_main: RunMain,
        threshold: str) -> None:
    for name in ("a.txt", "gone.txt", "z.txt"):
        _gbk(tmp_path / name, (ZH + "\n") * 3)
    monkeypatch.setenv("TEXTFIX_STREAM_THRESHOLD",
                       threshold or str(cli.DEFAULT_STREAM_THRESHOLD))

    class Remover(AtomicWriter):
        """The file disappears after it was read, while its new content is written."""

        def __exit__(self, *exc: Any) -> None:
            if os.path.basename(self.path) == "gone.txt":
                assert os.path.getsize(self.path) and self.file.tell()  # read and written
                os.unlink(self.path)
            super().__exit__(*exc)

    monkeypatch.setattr(cli, "AtomicWriter", Remover)
    code, _, stderr = run_main("fix", "--isolated", "-i", "--to-utf8", ".", cwd=tmp_path)
    assert code == 2, stderr
    assert "error: gone.txt: No such file or directory (removed while it was being fixed; " \
           "not recreated)" in stderr.splitlines()
    assert "fixed gone.txt" not in stderr
    assert not (tmp_path / "gone.txt").exists()
    for name in ("a.txt", "z.txt"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (ZH + "\n") * 3
    assert no_temp_files(tmp_path)


# --------------------------------------------------------------------------- 3. symlink loops


def test_symlink_loops_in_place(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    old = {rel: _gbk(tree / rel) for rel in ("a.txt", "c/b.txt", "c/d/e.txt")}
    (tree / "c" / "d" / "up").symlink_to(tree / "c")  # directory loop
    (tree / "self").symlink_to(".")  # loop at the root
    (tree / "x.txt").symlink_to("y.txt")  # file links pointing at each other
    (tree / "y.txt").symlink_to("x.txt")
    (tree / "alias.txt").symlink_to("a.txt")  # same file twice: fixed once
    proc = textfix_cmd("fix", "-i", "--to-utf8", "tree", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    lines = err(proc).splitlines()
    assert "tree/c/d/up: skipped: symlink loop" in lines
    assert "tree/self: skipped: symlink loop" in lines
    assert any(line.startswith("tree/x.txt: skipped: Too many levels of symbolic links")
               for line in lines)
    assert [line for line in lines if line.startswith("fixed ")] == [
        "fixed tree/a.txt", "fixed tree/c/b.txt", "fixed tree/c/d/e.txt"]
    for rel in old:
        assert (tree / rel).read_text(encoding="utf-8") == ZH + "\n"
    assert (tree / "alias.txt").is_symlink() and (tree / "c" / "d" / "up").is_symlink()
    assert no_temp_files(tree)
    again = textfix_cmd("fix", "-i", "--to-utf8", "tree", cwd=tmp_path)  # nothing left to do
    assert again.returncode == 0 and "fixed" not in err(again).replace("fixed 0 of", "")


# --------------------------------------------------------------------------- 4. not text


@pytest.mark.parametrize("threshold", ["", "1000"])  # whole file, streamed
def test_bytes_that_are_no_text_are_skipped(tmp_path: Path, threshold: str) -> None:
    rng = random.Random(5)
    high = bytes(rng.randrange(0x80, 0x100) for _ in range(4000))  # no control bytes
    (tmp_path / "high.dat").write_bytes(high)
    (tmp_path / "blob.bin").write_bytes(rng.randbytes(4000))
    _gbk(tmp_path / "ok.txt")
    env = {"TEXTFIX_STREAM_THRESHOLD": threshold} if threshold else None
    for extra in ([], ["--to-utf8"]):
        proc = textfix_cmd("fix", "-i", *extra, ".", cwd=tmp_path, env=env)
        assert proc.returncode == 0, err(proc)
        assert "high.dat: skipped: not decodable as text" in err(proc)
        assert "blob.bin: skipped: binary file" in err(proc)
        assert (tmp_path / "high.dat").read_bytes() == high
    assert (tmp_path / "ok.txt").read_text(encoding="utf-8") == ZH + "\n"
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("threshold", ["", "100"])  # whole file, streamed
def test_undecodable_bytes_survive_in_place_fix(tmp_path: Path, threshold: str) -> None:
    text = f"{ZH}\n{FULLWIDTH} {ZH}\n{ZH}\n"
    data = text.encode()
    bad = data[:12] + b"\xff" + data[12:40] + b"\xc3(" + data[40:]  # mostly text
    path = tmp_path / "mixed.txt"
    path.write_bytes(bad)
    env = {"TEXTFIX_STREAM_THRESHOLD": threshold} if threshold else None
    proc = textfix_cmd("fix", "-i", "--fold-width", "mixed.txt", cwd=tmp_path, env=env)
    assert proc.returncode == 0, err(proc)
    assert "mixed.txt:" in err(proc) and "undecodable byte sequence(s) kept" in err(proc)
    assert "fixed mixed.txt" in err(proc)
    expected = bad.replace(FULLWIDTH.encode(), b"ABC123")
    assert path.read_bytes() == expected  # every undecodable byte kept, in place
    assert no_temp_files(tmp_path)


# --------------------------------------------------------------------------- the writer itself


def test_atomic_writer_read_only_and_vanished_targets(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    target.chmod(0o444)
    with pytest.raises(ReadOnlyFile), AtomicWriter(target, respect_read_only=True) as writer:
        writer.file.write(b"new")
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["a.txt"]
    with AtomicWriter(target) as writer:  # the library default: mode kept, file replaced
        writer.file.write(b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o444
    with pytest.raises(FileNotFoundError), AtomicWriter(target) as writer:
        writer.file.write(b"newer")
        target.unlink()
    assert sorted(os.listdir(tmp_path)) == []  # not recreated, no temp file
    with AtomicWriter(tmp_path / "fresh.txt") as writer:  # a new file is still created
        writer.file.write(b"x")
    assert (tmp_path / "fresh.txt").read_bytes() == b"x"
