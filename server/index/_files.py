"""Which files of a workspace the index reads, and reading one into chunks.

The same ignore rules as the explorer, the watcher and text search (`.gitignore`,
virtualenvs, `node_modules`, …), so the index never holds what a user cannot see; binary
files and files over a size limit (generated bundles, data dumps) are skipped. Everything
here blocks: the index runs it in a thread.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from server.folders.fileio import is_binary
from server.folders.ignore import IgnoreRules
from server.index._chunks import Chunk, chunk_file
from server.index._manifest import FileRow
from server.index._terms import identifiers, terms

MAX_FILE_BYTES = 1_000_000
# Never worth indexing, whatever .gitignore says: lock files and minified bundles are
# large, generated and full of words that match every question.
SKIPPED_NAMES = frozenset(
    {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Cargo.lock", "uv.lock"}
)
SKIPPED_SUFFIXES = (".min.js", ".min.css", ".map", ".lock", ".svg")


@dataclass(slots=True)
class ReadFile:
    """A file read and cut into chunks."""

    path: str
    row: FileRow
    chunks: list[Chunk]
    idents: set[str]


def wanted(path: str) -> bool:
    name = PurePosixPath(path).name
    return name not in SKIPPED_NAMES and not name.endswith(SKIPPED_SUFFIXES)


def list_files(root: Path, rules: IgnoreRules, max_bytes: int) -> dict[str, tuple[int, int]]:
    """Every file worth indexing: workspace-relative path -> (mtime_ns, size)."""
    found: dict[str, tuple[int, int]] = {}
    for relative in rules.walk():
        if not wanted(relative):
            continue
        try:
            stat = os.stat(root / relative)
        except OSError:
            continue
        if 0 < stat.st_size <= max_bytes:
            found[relative] = (stat.st_mtime_ns, stat.st_size)
    return found


def clean_path(path: str) -> str | None:
    """A workspace-relative path in '/' form, or None when it would leave the workspace."""
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts or path.startswith("/"):
        return None
    return "/".join(parts)


def read_file(root: Path, path: str, rules: IgnoreRules, max_bytes: int) -> ReadFile | None:
    """The file's chunks (none for a binary file), or None when it is gone, ignored,
    empty or too large."""
    if not wanted(path) or rules.ignored(path, False):
        return None
    absolute = root / path
    try:
        stat = absolute.stat()
        if not absolute.is_file() or stat.st_size == 0 or stat.st_size > max_bytes:
            return None
        data = absolute.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    row = FileRow(stat.st_mtime_ns, stat.st_size, digest)
    if is_binary(data):  # recorded with no chunks, so a rescan does not read it again
        return ReadFile(path, row, [], set())
    text = data.decode("utf-8")
    # What the file mentions: identifiers (for the reference prior) and terms (how rare
    # a word is across files, for the rerank).
    mentions = identifiers(text) | set(terms(text))
    return ReadFile(path, row, chunk_file(path, text), mentions)
