"""Which paths of a workspace are noise: `.git`, virtualenvs, `node_modules`, caches and
whatever the workspace's `.gitignore` files say.

One set of rules serves the explorer tree, the watcher and text search, so that all three
agree on what a user sees. `.gitignore` files are read per folder, as git does, and
re-read when they change on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from server.folders.fileio import is_temp_file

# Folders no user wants to see in an explorer or in search results, ignored or not.
ALWAYS_IGNORED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".nexus",
    }
)


@dataclass
class _FolderRules:
    mtime_ns: int
    spec: GitIgnoreSpec | None


class IgnoreRules:
    """`ignored(relative, is_dir)` for one workspace folder.

    Long-lived rules (a watcher's) notice a `.gitignore` that changed by its mtime, at the
    cost of a stat per enclosing folder per question. `snapshot=True` reads each
    `.gitignore` once and keeps it, for one pass over the tree (a search): ten times
    cheaper on a large walk.
    """

    def __init__(self, root: Path, *, snapshot: bool = False) -> None:
        self.root = root.resolve()
        self.snapshot = snapshot
        self._folders: dict[str, _FolderRules] = {}

    def ignored(self, relative: str, is_dir: bool) -> bool:
        """Whether a workspace-relative path ('/' separators) is ignored.

        A path is ignored when any of its folders is: git does not look inside an
        ignored folder, and neither do we.
        """
        parts = [part for part in relative.split("/") if part]
        for depth in range(1, len(parts) + 1):
            last = depth == len(parts)
            if self._ignored_entry(parts[: depth - 1], parts[depth - 1], is_dir or not last):
                return True
        return False

    def _ignored_entry(self, folder: list[str], name: str, is_dir: bool) -> bool:
        if is_dir and (name in ALWAYS_IGNORED or self._is_virtualenv(folder, name)):
            return True
        if not is_dir and is_temp_file(Path(name)):
            return True  # a write-back in flight: listed, it would flash in the explorer
        # Rules of every enclosing folder apply, the innermost last (it wins).
        verdict = False
        for depth in range(len(folder) + 1):
            spec = self._spec("/".join(folder[:depth]))
            if spec is None:
                continue
            below = "/".join([*folder[depth:], name]) + ("/" if is_dir else "")
            result = spec.check_file(below).include
            if result is not None:
                verdict = result
        return verdict

    def _is_virtualenv(self, folder: list[str], name: str) -> bool:
        return self.root.joinpath(*folder, name, "pyvenv.cfg").is_file()

    def _spec(self, folder: str) -> GitIgnoreSpec | None:
        """The parsed `.gitignore` of a folder (plus `.git/info/exclude` at the root)."""
        if self.snapshot and folder in self._folders:
            return self._folders[folder].spec
        sources = [self.root / folder / ".gitignore"]
        if folder == "":
            sources.append(self.root / ".git" / "info" / "exclude")
        mtime = 0
        for source in sources:
            try:
                mtime = max(mtime, source.stat().st_mtime_ns)
            except OSError:
                continue
        cached = self._folders.get(folder)
        if cached is not None and cached.mtime_ns == mtime:
            return cached.spec
        lines: list[str] = []
        for source in sources:
            try:
                lines += source.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
        spec = GitIgnoreSpec.from_lines(lines) if lines else None
        self._folders[folder] = _FolderRules(mtime, spec)
        return spec

    def walk(self, start: str = "") -> Iterator[str]:
        """Every file under `start` that is not ignored, as workspace-relative paths,
        without descending into ignored folders or following symlinked folders."""
        base = self.root / start if start else self.root
        stack = [(start, base)]
        while stack:
            relative_dir, folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except OSError:
                continue
            for entry in entries:
                relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if self.ignored_child(relative_dir, entry.name, is_dir):
                    continue
                if is_dir:
                    stack.append((relative, Path(entry.path)))
                elif entry.is_file():
                    yield relative

    def ignored_child(self, folder: str, name: str, is_dir: bool) -> bool:
        """Whether `name` in an already-accepted `folder` is ignored (cheaper than
        `ignored`, which re-checks every enclosing folder)."""
        return self._ignored_entry([part for part in folder.split("/") if part], name, is_dir)
