"""Find the files to process: sorted, deterministic, git-aware, never leaving the tree.

* Directories are walked recursively in sorted order.
* Inside a git work tree, files git ignores are skipped (``git ls-files -co
  --exclude-standard``); without git everything is walked. Files named on the
  command line are always taken.
* ``.git``, ``.hg`` and ``.svn`` directories and textfix's own temp files
  (``.*.textfix-tmp-*``) are skipped.
* A symlink is followed only if its target lies inside the directory being walked;
  a directory reached twice (a loop) is not walked again and a file reached twice
  is processed once.
* FIFOs, sockets and devices are reported and skipped.
* ``include``/``exclude`` are fnmatch globs. A pattern with a ``/`` is matched
  against the path relative to the directory given on the command line (or the
  path as given, for a file); a pattern without one also matches the base name.
  ``exclude`` prunes whole directories too.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from textfix.io import is_temp_name

__all__ = ["STDIN", "Skipped", "Target", "discover", "git_visible", "matches"]

STDIN = "-"
_VCS_DIRS = frozenset({".git", ".hg", ".svn"})


@dataclass(frozen=True)
class Target:
    """A regular file to process (or standard input)."""

    display: str
    """The path as the user will recognise it (argument joined with the relative path)."""
    real: str
    """Resolved path: read from and written to (so a symlink stays a symlink)."""

    @property
    def is_stdin(self) -> bool:
        return self.display == STDIN


@dataclass(frozen=True)
class Skipped:
    """Something that was not processed, and why."""

    display: str
    reason: str
    error: bool = False
    """True if this is an error the exit code must reflect (missing path, unreadable dir)."""


def matches(patterns: Sequence[str], rel: str) -> bool:
    """Does any glob match ``rel`` (a '/'-separated relative path)?"""
    base = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        pattern = pattern.removeprefix("./")
        if fnmatchcase(rel, pattern) or ("/" not in pattern and fnmatchcase(base, pattern)):
            return True
    return False


def _selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if exclude and matches(exclude, rel):
        return False
    return not include or matches(include, rel)


def git_visible(directory: str) -> set[str] | None:
    """Files under ``directory`` that git does not ignore, relative to it.

    ``None`` when git is not installed or ``directory`` is not in a work tree. Tracked
    files count as visible even if an ignore rule matches them, as in git.
    """
    try:
        proc = subprocess.run(
            ["git", "-C", directory, "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            capture_output=True, check=False, timeout=300,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def _parents(files: set[str]) -> set[str]:
    dirs: set[str] = set()
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Walker:
    """State for one run: what was seen already, and the filters."""

    def __init__(self, include: Sequence[str], exclude: Sequence[str], use_git: bool) -> None:
        self.include = include
        self.exclude = exclude
        self.use_git = use_git
        self.seen_files: set[tuple[int, int]] = set()
        self.seen_dirs: set[tuple[int, int]] = set()

    def explicit(self, arg: str) -> Iterator[Target | Skipped]:
        if arg == STDIN:
            yield Target(STDIN, STDIN)
            return
        try:
            st = os.stat(arg)
        except OSError as exc:
            yield Skipped(arg, exc.strerror or str(exc), error=True)
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self.tree(arg)
        elif not stat.S_ISREG(st.st_mode):
            yield Skipped(arg, f"skipped: {_kind(st.st_mode)}")
        elif _selected(os.path.normpath(arg).replace(os.sep, "/"), self.include, self.exclude):
            if self._first_visit(st):
                yield Target(arg, os.path.realpath(arg))

    def _first_visit(self, st: os.stat_result) -> bool:
        key = (st.st_dev, st.st_ino)
        if key in self.seen_files:
            return False
        self.seen_files.add(key)
        return True

    def tree(self, root: str) -> Iterator[Target | Skipped]:
        real_root = os.path.realpath(root)
        visible = git_visible(root) if self.use_git else None
        dirs = _parents(visible) if visible is not None else None
        walk = _TreeWalk(self, root, real_root, visible, dirs)
        yield from walk.directory(root, "", set())


class _TreeWalk:
    """One directory argument: its root, git view and loop guard."""

    def __init__(self, walker: _Walker, root: str, real_root: str,
                 visible: set[str] | None, dirs: set[str] | None) -> None:
        self.walker = walker
        self.root = root
        self.real_root = real_root
        self.visible = visible
        self.dirs = dirs

    def directory(self, path: str, rel: str, active: set[tuple[int, int]]
                  ) -> Iterator[Target | Skipped]:
        try:
            st = os.stat(path)
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(path, f"cannot read directory: {exc.strerror or exc}", error=True)
            return
        key = (st.st_dev, st.st_ino)
        if key in active:
            yield Skipped(path, "skipped: symlink loop")
            return
        if key in self.walker.seen_dirs:
            return  # reached again through a symlink: its files were all visited already
        self.walker.seen_dirs.add(key)
        active = active | {key}
        for entry in entries:
            yield from self.entry(entry, f"{rel}/{entry.name}" if rel else entry.name, active)

    def entry(self, entry: os.DirEntry[str], rel: str, active: set[tuple[int, int]]
              ) -> Iterator[Target | Skipped]:
        display = os.path.join(self.root, rel) if self.root != "." else rel
        if is_temp_name(entry.name):
            yield Skipped(display, "ignored: temp file left by an interrupted textfix run "
                                   "(safe to delete)")
            return
        try:
            is_link = entry.is_symlink()
            st = os.stat(entry.path)  # follows links; lstat data is not what we want
        except OSError as exc:
            yield Skipped(display, f"skipped: {exc.strerror or exc} (broken symlink?)")
            return
        real = os.path.realpath(entry.path) if is_link else entry.path
        if is_link and not _inside(real, self.real_root):
            yield Skipped(display, "skipped: symlink points outside the tree")
            return
        if stat.S_ISDIR(st.st_mode):
            if entry.name in _VCS_DIRS or matches(self.walker.exclude, rel):
                return
            if self.dirs is not None and rel not in self.dirs:
                return  # nothing below it is visible to git
            yield from self.directory(entry.path, rel, active)
        elif stat.S_ISREG(st.st_mode):
            if self.visible is not None and rel not in self.visible:
                return
            if not _selected(rel, self.walker.include, self.walker.exclude):
                return
            if self.walker._first_visit(st):
                yield Target(display, os.path.realpath(entry.path) if is_link else real)
        else:
            yield Skipped(display, f"skipped: {_kind(st.st_mode)}")


def discover(
    paths: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    *,
    use_git: bool = True,
) -> Iterator[Target | Skipped]:
    """Yield the files to process under ``paths``, in a deterministic order."""
    walker = _Walker(include, exclude, use_git)
    for arg in paths:
        yield from walker.explicit(arg)
