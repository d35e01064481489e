"""The pre-commit hooks: manifest, entries, and a real ``pre-commit try-repo`` run."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import textfix

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
CLEAN = "你好，世界！今天天气很好。"
GARBLED = CLEAN.encode("utf-8").decode("gbk", errors="replace")
HAS_PRE_COMMIT = importlib.util.find_spec("pre_commit") is not None


def _hooks() -> dict[str, dict[str, object]]:
    pytest.importorskip("pre_commit")
    from pre_commit.clientlib import load_manifest

    return {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}


def test_manifest_is_valid() -> None:
    hooks = _hooks()
    assert set(hooks) == {"textfix", "textfix-check"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["text"]
    assert "--in-place" in str(hooks["textfix"]["entry"])
    assert "--check" in str(hooks["textfix-check"]["entry"])


def _run_entry(entry: str, *files: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a hook's entry the way pre-commit does: entry words, then the file names."""
    words = shlex.split(entry)
    assert words[0] == "textfix"
    argv = [sys.executable, "-m", "textfix.cli", *words[1:], *files]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_hook_entries_behave_like_fixers(tmp_path: Path) -> None:  # needs the repair engine
    hooks = _hooks()
    (tmp_path / "bad.txt").write_text(GARBLED + "\n", encoding="utf-8")
    (tmp_path / "ok.txt").write_text(CLEAN + "\n", encoding="utf-8")
    check = _run_entry(str(hooks["textfix-check"]["entry"]), "ok.txt", "bad.txt", cwd=tmp_path)
    assert check.returncode == 1 and "would fix bad.txt" in check.stdout
    fixer = _run_entry(str(hooks["textfix"]["entry"]), "ok.txt", "bad.txt", cwd=tmp_path)
    assert fixer.returncode == 1, fixer.stderr  # it changed a file: the commit must stop
    assert (tmp_path / "bad.txt").read_text(encoding="utf-8") == textfix.fix_text(GARBLED + "\n")
    again = _run_entry(str(hooks["textfix"]["entry"]), "ok.txt", "bad.txt", cwd=tmp_path)
    assert again.returncode == 0
    check = _run_entry(str(hooks["textfix-check"]["entry"]), "ok.txt", "bad.txt", cwd=tmp_path)
    assert check.returncode == 0


# --------------------------------------------------------------------------- try-repo


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=textfix-test", "-c", "user.email=test@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True, text=True)
    return proc.stdout


def _snapshot(dest: Path) -> Path:
    """Commit the project's working tree into a scratch repo.

    try-repo on the project itself would only see committed files plus changes
    to tracked ones (new files must be staged), so the hook under test could be
    stale; a snapshot of the working tree tests exactly what is on disk.
    """
    try:
        listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        files = [f for f in listed.split("\0") if f]
    except (subprocess.CalledProcessError, OSError):
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    for rel in files:
        source = ROOT / rel
        if not source.is_file() or "__pycache__" in rel or ".egg-info" in rel:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "snapshot")
    return dest


def _try_repo(repo: Path, hook: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PRE_COMMIT_HOME"] = str(home)
    argv = [sys.executable, "-m", "pre_commit", "try-repo", str(repo), hook, "--all-files"]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
@pytest.mark.skipif(not HAS_PRE_COMMIT, reason="pre-commit not installed")
def test_try_repo_check_hook(tmp_path: Path) -> None:  # needs the repair engine
    """pre-commit installs textfix from the working tree and runs textfix-check."""
    snapshot = _snapshot(tmp_path / "textfix")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _git(corpus, "init", "-q")
    bad = corpus / "notes.txt"
    bad.write_text(f"first line\n{GARBLED}\n", encoding="utf-8")
    (corpus / "clean.md").write_text(CLEAN + "\n", encoding="utf-8")
    _git(corpus, "add", "-A")

    failing = _try_repo(snapshot, "textfix-check", corpus, tmp_path / "pc-home")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "would fix notes.txt" in failing.stdout
    assert "would fix clean.md" not in failing.stdout

    bad.write_text(textfix.fix_text(bad.read_text(encoding="utf-8")), encoding="utf-8")
    _git(corpus, "add", "-A")
    passing = _try_repo(snapshot, "textfix-check", corpus, tmp_path / "pc-home")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
