"""The ``textfix`` command, run for real in a subprocess; file discovery and settings.

Tests marked "needs the repair engine" expect garbled input to be repaired.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import textfix
from textfix.cli import main
from textfix.io import decode_bytes, is_temp_name
from textfix.settings import SettingsError, find_pyproject, load_settings, parse_table
from textfix.walk import Skipped, Target, discover, matches

CLEAN = "你好，世界！今天天气很好。"
GARBLED = CLEAN.encode("utf-8").decode("gbk", errors="replace")
GBK_SAFE = "你好，世界！".encode().decode("gbk")  # mojibake that GBK can encode
ZH = "今天天气很好，我们一起去公园散步吧。这是一个测试文件，用来检查编码识别是否正确。"
JA = "これはテストファイルです。文字コードの判定が正しいか確認します。今日はいい天気ですね。"
TRAD = "這是一個測試檔案，用來檢查編碼識別是否正確。今天天氣很好。"


def textfix_cmd(*args: str, cwd: Path, stdin: bytes | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real command (``--isolated`` keeps the repo's pyproject out of it)."""
    full_env = {**os.environ, **(env or {})}
    argv = [sys.executable, "-m", "textfix.cli", *args]
    if args and args[0] in ("fix", "scan") and "--config" not in args:
        argv.append("--isolated")
    return subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=120,
                          env=full_env)


def out(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stdout.decode("utf-8")


def err(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stderr.decode("utf-8")


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
             ) -> Callable[..., tuple[int, str, str]]:
    """``textfix ARGS`` in this process (no interpreter start-up, engine tables warm)."""

    def run(*args: str, cwd: Path, stdin: bytes = b"") -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsysbinary.readouterr()
        code = main(list(args))
        captured = capsysbinary.readouterr()
        return code, captured.out.decode(), captured.err.decode()

    return run


def no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if is_temp_name(p.name)]


# --------------------------------------------------------------------------- fix


def test_check_exit_codes(tmp_path: Path) -> None:  # needs the repair engine
    (tmp_path / "clean.txt").write_text(CLEAN + "\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_text(GARBLED + "\n", encoding="utf-8")
    clean = textfix_cmd("fix", "--check", "clean.txt", cwd=tmp_path)
    assert clean.returncode == 0, err(clean)
    assert out(clean) == ""
    bad = textfix_cmd("fix", "--check", "clean.txt", "bad.txt", cwd=tmp_path)
    assert bad.returncode == 1, err(bad)
    assert out(bad) == "would fix bad.txt\n"
    assert (tmp_path / "bad.txt").read_text(encoding="utf-8") == GARBLED + "\n"


def test_in_place_keeps_mode(tmp_path: Path) -> None:  # needs the repair engine
    bad = tmp_path / "bad.txt"
    bad.write_text(f"line one\n{GARBLED}\n", encoding="utf-8")
    bad.chmod(0o640)
    proc = textfix_cmd("fix", "-i", "bad.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert bad.read_text(encoding="utf-8") == textfix.fix_text(f"line one\n{GARBLED}\n")
    assert CLEAN in bad.read_text(encoding="utf-8")
    assert stat.S_IMODE(bad.stat().st_mode) == 0o640
    assert "fixed bad.txt" in err(proc)
    assert no_temp_files(tmp_path)


def test_binary_file_is_skipped(tmp_path: Path) -> None:
    blob = random.Random(3).randbytes(5000)
    (tmp_path / "blob.bin").write_bytes(blob)
    (tmp_path / "ok.txt").write_text(ZH + "\n", encoding="utf-8")
    proc = textfix_cmd("fix", "-i", "--to-utf8", ".", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert "blob.bin: skipped: binary file" in err(proc)
    assert (tmp_path / "blob.bin").read_bytes() == blob
    scan = textfix_cmd("scan", "blob.bin", cwd=tmp_path)
    assert scan.returncode == 0 and "binary" in err(scan)


def test_legacy_encodings_print_as_utf8_and_keep_encoding(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes((ZH + "\n").encode("gbk"))
    (tmp_path / "sjis.txt").write_bytes((JA + "\n").encode("shift_jis"))
    assert decode_bytes((tmp_path / "gbk.txt").read_bytes()).text == ZH + "\n"
    assert decode_bytes((tmp_path / "sjis.txt").read_bytes()).text == JA + "\n"
    printed = textfix_cmd("fix", "gbk.txt", "sjis.txt", cwd=tmp_path)
    assert printed.returncode == 0, err(printed)
    assert out(printed) == f"{ZH}\n{JA}\n"
    # In place: clean files are not touched; a repaired GBK file stays GBK.
    damaged = f"{ZH}\n{GBK_SAFE}\n"
    (tmp_path / "gbk2.txt").write_bytes(damaged.encode("gbk"))
    sjis_before = (tmp_path / "sjis.txt").read_bytes()
    proc = textfix_cmd("fix", "-i", "gbk.txt", "sjis.txt", "gbk2.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert (tmp_path / "gbk.txt").read_bytes() == (ZH + "\n").encode("gbk")
    assert (tmp_path / "sjis.txt").read_bytes() == sjis_before
    fixed = (tmp_path / "gbk2.txt").read_bytes().decode("gbk")  # still GBK
    assert fixed == textfix.fix_text(damaged)
    assert fixed == f"{ZH}\n你好，世界！\n"  # needs the repair engine
    # UTF-8 read as CP932 inside a Shift-JIS file: repaired, and still Shift-JIS.
    sjis_damaged = f"{JA}\n{'こんにちは世界'.encode().decode('cp932')}\n"
    (tmp_path / "sjis2.txt").write_bytes(sjis_damaged.encode("shift_jis"))
    proc = textfix_cmd("fix", "-i", "sjis2.txt", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    assert (tmp_path / "sjis2.txt").read_bytes() == f"{JA}\nこんにちは世界\n".encode("shift_jis")


def test_to_utf8_converts(tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]) -> None:
    (tmp_path / "sjis.txt").write_bytes((JA + "\n").encode("shift_jis"))
    code, stdout, _ = run_main("fix", "--isolated", "--check", "--to-utf8", "sjis.txt",
                               cwd=tmp_path)
    assert (code, stdout) == (1, "would fix sjis.txt\n")
    code, _, stderr = run_main("fix", "--isolated", "-i", "--to-utf8", "sjis.txt", cwd=tmp_path)
    assert code == 0, stderr
    assert (tmp_path / "sjis.txt").read_text(encoding="utf-8") == JA + "\n"


def test_unencodable_result_is_an_error(  # needs --to-simplified
        tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]) -> None:
    big5 = tmp_path / "trad.txt"
    big5.write_bytes((TRAD + "\n").encode("big5"))
    before = big5.read_bytes()
    code, _, stderr = run_main("fix", "--isolated", "-i", "--to-simplified", "trad.txt",
                               cwd=tmp_path)
    assert code == 2
    assert "trad.txt" in stderr and "--to-utf8" in stderr
    assert big5.read_bytes() == before and no_temp_files(tmp_path)
    code, _, stderr = run_main("fix", "--isolated", "-i", "--to-simplified", "--to-utf8",
                               "trad.txt", cwd=tmp_path)
    assert code == 0, stderr
    assert big5.read_text(encoding="utf-8") == textfix.fix_text(TRAD + "\n", to_simplified=True)
    assert "这是" in big5.read_text(encoding="utf-8")


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text(GARBLED + "\n", encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes((ZH + "\n").encode("gbk"))
    args = ["fix", "-i", "--to-utf8", "missing.txt", "gbk.txt", "bad.txt"]
    if os.geteuid() != 0:  # root reads everything; the missing file covers that case
        locked = tmp_path / "locked.txt"
        locked.write_text("x", encoding="utf-8")
        locked.chmod(0)
        args.append("locked.txt")
    proc = textfix_cmd(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "error: missing.txt: No such file or directory" in err(proc)
    assert (tmp_path / "gbk.txt").read_text(encoding="utf-8") == ZH + "\n"  # still processed
    if os.geteuid() != 0:
        assert "locked.txt: Permission denied" in err(proc)
    assert (tmp_path / "bad.txt").read_text(encoding="utf-8") == textfix.fix_text(GARBLED + "\n")


def test_diff_and_explain(  # needs the repair engine
        tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]) -> None:
    text = f"first\nsecond\n{GARBLED}\nlast\n"
    (tmp_path / "bad.txt").write_text(text, encoding="utf-8")
    fixed = textfix.fix_text(text)
    diff = textfix_cmd("fix", "--diff", "bad.txt", cwd=tmp_path)
    assert diff.returncode == 0, err(diff)
    lines = out(diff).splitlines()
    assert lines[:3] == ["--- bad.txt", "+++ bad.txt", "@@ -1,4 +1,4 @@"]
    assert f"-{GARBLED}" in lines and f"+{fixed.splitlines()[2]}" in lines
    code, stdout, _ = run_main("fix", "--isolated", "--explain", "--check", "bad.txt",
                               cwd=tmp_path)
    assert code == 1
    first = stdout.splitlines()[0]
    assert first.startswith("bad.txt:3:1: ") and "→" in first
    assert (tmp_path / "bad.txt").read_text(encoding="utf-8") == text


def test_stdin(  # needs the repair engine
        tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]) -> None:
    data = f"{ZH}\n{GBK_SAFE}\n".encode("gbk")
    proc = textfix_cmd("fix", "-", cwd=tmp_path, stdin=data)
    assert proc.returncode == 0, err(proc)
    assert out(proc) == textfix.fix_text(decode_bytes(data).text) == f"{ZH}\n你好，世界！\n"
    code, stdout, _ = run_main("fix", "--isolated", "-", cwd=tmp_path,
                               stdin=(GARBLED + "\n").encode())
    assert stdout == textfix.fix_text(GARBLED + "\n") != GARBLED + "\n"
    code, _, stderr = run_main("fix", "--isolated", "-i", "-", cwd=tmp_path)
    assert code == 2 and "standard input" in stderr


def test_usage_errors_and_module_entry(
        tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]) -> None:
    assert run_main(cwd=tmp_path)[0] == 2
    for bad in (["fix"], ["fix", "--check", "-i", "x"], ["scan", "--bogus", "x"]):
        with pytest.raises(SystemExit) as exc:
            run_main(*bad, cwd=tmp_path)
        assert exc.value.code == 2
    assert run_main("fix", "--exit-nonzero-on-fix", "x", cwd=tmp_path)[0] == 2  # needs -i
    version = textfix_cmd("--version", cwd=tmp_path)
    assert version.returncode == 0 and out(version).startswith("textfix ")


# --------------------------------------------------------------------------- scan


def test_scan_positions_and_json(  # needs the repair engine
        tmp_path: Path, run_main: Callable[..., tuple[int, str, str]]) -> None:
    (tmp_path / "clean.txt").write_text(CLEAN + "\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_text(f"ok line\nabc {GARBLED}\n", encoding="utf-8")
    clean = textfix_cmd("scan", "clean.txt", cwd=tmp_path)
    assert (clean.returncode, out(clean)) == (0, "")
    found = textfix_cmd("scan", "clean.txt", "bad.txt", cwd=tmp_path)
    assert found.returncode == 1, err(found)
    first = out(found).splitlines()[0]
    assert first.startswith("bad.txt:2:5: ")
    kind, confidence = first.split(": ", 1)[1].split()[:2]
    assert kind and 0.0 <= float(confidence) <= 1.0
    _, stdout, _ = run_main("scan", "--isolated", "--json", "bad.txt", cwd=tmp_path)
    record = json.loads(stdout.splitlines()[0])
    assert (record["path"], record["line"], record["col"], record["start"]) == ("bad.txt", 2, 5,
                                                                              12)
    assert record["kind"] == kind and GARBLED.startswith(record["text"][:3])


# --------------------------------------------------------------------------- directories


def _gbk_tree(root: Path) -> None:
    """GBK files: --check --to-utf8 lists every file it visits, engine or not."""
    for rel in ["b/z.txt", "b/a.txt", "a.txt", "c/d/e.md", "ignored/x.txt", "keep.log"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((ZH + "\n").encode("gbk"))


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=root, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_directory_walk(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    outside = tmp_path / "outside.txt"
    outside.write_bytes((ZH + "\n").encode("gbk"))
    repo.mkdir()
    _gbk_tree(repo)
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("ignored/\n*.log\n", encoding="utf-8")
    (repo / "link-out.txt").symlink_to(outside)
    (repo / "c" / "loop").symlink_to(repo / "c")
    (repo / "b" / "alias.txt").symlink_to(repo / "a.txt")
    os.mkfifo(repo / "pipe")
    (repo / ".a.txt.textfix-tmp-abc123").write_bytes(b"left over")
    proc = textfix_cmd("fix", "--check", "--to-utf8", "repo", cwd=tmp_path)
    assert proc.returncode == 1, err(proc)
    assert out(proc).splitlines() == [
        "would fix repo/a.txt", "would fix repo/b/a.txt", "would fix repo/b/z.txt",
        "would fix repo/c/d/e.md",
    ]
    assert "link-out.txt: skipped: symlink points outside the tree" in err(proc)
    assert "pipe: skipped: a FIFO" in err(proc)
    assert "textfix-tmp-abc123: ignored" in err(proc)
    # --jobs gives the same result; --exclude prunes; explicit files are always taken.
    jobs = textfix_cmd("fix", "--check", "--to-utf8", "--jobs", "2", "--exclude", "b",
                       "repo", "repo/keep.log", cwd=tmp_path)
    assert out(jobs).splitlines() == ["would fix repo/a.txt", "would fix repo/c/d/e.md",
                                      "would fix repo/keep.log"]
    assert outside.read_bytes() == (ZH + "\n").encode("gbk")


def test_discover_without_git(tmp_path: Path) -> None:
    _gbk_tree(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("x", encoding="utf-8")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    try:
        items = list(discover([str(tmp_path)], use_git=False))
    finally:
        sock.close()
    files = [os.path.relpath(i.display, tmp_path) for i in items if isinstance(i, Target)]
    assert files == ["a.txt", "b/a.txt", "b/z.txt", "c/d/e.md", "ignored/x.txt", "keep.log"]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [(os.path.basename(s.display), s.reason) for s in skipped] == [
        ("sock", "skipped: a socket")]


def test_discover_filters_and_errors(tmp_path: Path) -> None:
    _gbk_tree(tmp_path)
    root = str(tmp_path)
    picked = [os.path.relpath(i.display, root)
              for i in discover([root], include=["*.txt"], exclude=["b/z.txt", "ignored"],
                                use_git=False) if isinstance(i, Target)]
    assert picked == ["a.txt", "b/a.txt"]
    missing = list(discover([str(tmp_path / "nope")]))
    assert len(missing) == 1 and isinstance(missing[0], Skipped) and missing[0].error
    twice = [i for i in discover([root + "/a.txt", root + "/a.txt"]) if isinstance(i, Target)]
    assert len(twice) == 1


def test_matches() -> None:
    assert matches(["*.md"], "docs/a.md")
    assert matches(["build"], "src/build")
    assert matches(["src/*.py"], "src/a.py")
    assert not matches(["src/*.py"], "lib/a.py")
    assert matches(["./data/*"], "data/x.jsonl")


# --------------------------------------------------------------------------- settings


def test_parse_table() -> None:
    settings = parse_table({"to-simplified": True, "margin": 4, "normalization": "NFC",
                            "exclude": ["data/raw/*"], "fields": "content"})
    assert settings.overrides == {"to_simplified": True, "margin": 4.0, "normalization": "NFC"}
    assert settings.exclude == ["data/raw/*"] and settings.fields == ["content"]
    assert settings.config().to_simplified
    for bad in ({"nope": 1}, {"to_simplified": "yes"}, {"normalization": "NFD"},
                {"include": [1]}):
        with pytest.raises(SettingsError):
            parse_table(bad)


def test_find_pyproject_skips_files_without_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.textfix]\nfold-width = true\n",
                                             encoding="utf-8")
    sub = tmp_path / "sub" / "deeper"
    sub.mkdir(parents=True)
    (tmp_path / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n",
                                                     encoding="utf-8")
    assert find_pyproject(sub) == tmp_path / "pyproject.toml"
    assert load_settings(sub).overrides == {"fold_width": True}


def test_config_file_and_overrides(tmp_path: Path) -> None:
    _gbk_tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.textfix]\nexclude = ["b/*", "ignored"]\ninclude = ["*.txt"]\n',
        encoding="utf-8")
    config = textfix_cmd("fix", "--config", "pyproject.toml", "--check", "--to-utf8", ".",
                         cwd=tmp_path)
    assert out(config).splitlines() == ["would fix a.txt"]
    found = subprocess.run([sys.executable, "-m", "textfix.cli", "fix", "--check", "--to-utf8",
                            "--exclude", "c", "--include", "*", "."],
                           cwd=tmp_path / "b", capture_output=True, timeout=120)
    assert out(found).splitlines() == ["would fix a.txt", "would fix z.txt"]  # found upwards
    (tmp_path / "pyproject.toml").write_text("[tool.textfix]\nbogus = 1\n", encoding="utf-8")
    broken = subprocess.run([sys.executable, "-m", "textfix.cli", "fix", "a.txt"],
                            cwd=tmp_path, capture_output=True, timeout=120)
    assert broken.returncode == 2 and b"unknown key 'bogus'" in broken.stderr


def test_in_process_main(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    (tmp_path / "gbk.txt").write_bytes((ZH + "\n").encode("gbk"))
    assert main(["fix", "--isolated", str(tmp_path / "gbk.txt")]) == 0
    assert capsysbinary.readouterr().out == (ZH + "\n").encode()


# --------------------------------------------------------------------------- parallel, large


def test_jobs_give_identical_output(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"f{i}.txt").write_text(f"{i}\n{GARBLED if i % 2 else CLEAN}\n",
                                            encoding="utf-8")
    (tmp_path / "g.txt").write_bytes((ZH + "\n").encode("gbk"))
    for command in (["fix"], ["scan"]):
        one = textfix_cmd(*command, "--jobs", "1", ".", cwd=tmp_path)
        two = textfix_cmd(*command, "--jobs", "2", ".", cwd=tmp_path)
        assert (one.returncode, one.stdout) == (two.returncode, two.stdout)
        assert one.stdout  # fix prints every file; scan needs the repair engine


def test_large_file_is_streamed(tmp_path: Path) -> None:  # repair checks need the engine
    rows = [f"{i:06d} {GARBLED if i % 500 == 7 else ZH}" for i in range(12_000)]
    text = "\n".join(rows) + "\n"  # about 1.2 MB: two 1 MB chunks
    path = tmp_path / "big.txt"
    path.write_text(text, encoding="utf-8")
    env = {"TEXTFIX_STREAM_THRESHOLD": "100000"}
    diff = textfix_cmd("fix", "--diff", "big.txt", cwd=tmp_path, env=env)
    assert "@@ -5005,7 +5005,7 @@" in out(diff)  # row 5007 (line 5008) is in chunk 2
    proc = textfix_cmd("fix", "-i", "big.txt", cwd=tmp_path, env=env)
    assert proc.returncode == 0, err(proc)
    expected = "".join(textfix.fix_text(line) for line in text.splitlines(keepends=True))
    assert path.read_text(encoding="utf-8") == expected
    assert no_temp_files(tmp_path)


# --------------------------------------------------------------------------- kill -9


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs if there is one: fsync costs nothing there, so the kill
    test spends its time in textfix rather than waiting for the disk (rename is
    just as atomic on tmpfs, and SIGKILL does not lose the page cache anyway)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="textfix-kill-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _kill_trials() -> int:
    """How many kills to try (env TEXTFIX_KILL_TRIALS; default 3 keeps CI fast)."""
    raw = os.environ.get("TEXTFIX_KILL_TRIALS", "")
    return max(int(raw), 1) if raw.strip() else 3


def test_kill_during_in_place_run(fast_dir: Path) -> None:
    """SIGKILL at a random moment: every file is old or new; only our temp files remain."""
    tmp_path = fast_dir
    template = tmp_path / "template"
    template.mkdir()
    rng = random.Random(11)
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for i in range(300):
        body = "\n".join(rng.choice([ZH, GBK_SAFE, f"row {i} {ZH}"]) for _ in range(6)) + "\n"
        data = body.encode("gbk")  # --to-utf8 rewrites every file, engine or not
        name = f"d{i % 7}/f{i:03d}.txt"
        (template / name).parent.mkdir(exist_ok=True)
        (template / name).write_bytes(data)
        old[name] = hashlib.sha256(data).hexdigest()
        fixed = textfix.fix_text(decode_bytes(data).text).encode("utf-8")
        new[name] = hashlib.sha256(fixed).hexdigest()
    cmd = [sys.executable, "-m", "textfix.cli", "fix", "-i", "--to-utf8", "--isolated", "."]
    first = sorted(old)[0]  # files are rewritten in sorted order

    for trial in range(_kill_trials()):
        work = tmp_path / f"trial{trial}"
        shutil.copytree(template, work)
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # Wait until the run is writing, then kill it a random moment later.
        deadline = time.monotonic() + 60
        while _sha(work / first) == old[first] and proc.poll() is None:
            assert time.monotonic() < deadline, "textfix never started writing"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.8))
        proc.kill()
        proc.wait()
        for path in work.rglob("*"):
            if path.is_dir():
                continue
            rel = path.relative_to(work).as_posix()
            if rel in old:
                assert _sha(path) in (old[rel], new[rel]), f"{rel} is neither old nor new"
            else:
                assert is_temp_name(path.name), f"unexpected file {rel}"
    # A rerun skips leftover temp files and finishes the job.
    rerun = subprocess.run(cmd, cwd=work, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert all(_sha(work / rel) == new[rel] for rel in old)
