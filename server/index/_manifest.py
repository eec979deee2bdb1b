"""What the index holds, written down beside it, so a restart resumes instead of
starting over: each file's size, mtime and hash, and each of its chunks' ids, hashes
and line spans.

The manifest is a small SQLite file (one per workspace), changed in one transaction per
batch, so a crash leaves it at the last batch. Qdrant is written first: a chunk the
manifest lists is in the collection, and anything the collection has beyond that is
found and fixed by the index's consistency check.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("nexus.index")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    sha TEXT NOT NULL, idents TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, hash TEXT NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, embedded INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks (path);
"""


@dataclass(frozen=True, slots=True)
class FileRow:
    mtime_ns: int
    size: int
    sha: str


@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: str
    hash: str
    start_line: int
    end_line: int
    embedded: bool


@dataclass(slots=True)
class FileEntry:
    """A file as it is now indexed (what a batch writes)."""

    path: str
    row: FileRow
    idents: str
    chunks: list[ChunkRow] = field(default_factory=list)


class Manifest:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.fresh = False  # True when no usable manifest was there (first run, or damaged)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
            db.execute("SELECT count(*) FROM files").fetchone()
            self.fresh = db.execute("SELECT count(*) FROM meta").fetchone()[0] == 0
            return db
        except sqlite3.DatabaseError:
            log.warning("the index manifest %s is damaged; starting it afresh", self.path)
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()
            self.fresh = True
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, values: dict[str, str]) -> None:
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items())
            )

    def files(self) -> dict[str, FileRow]:
        with self._lock:
            rows = self._db.execute("SELECT path, mtime_ns, size, sha FROM files").fetchall()
        return {path: FileRow(mtime, size, sha) for path, mtime, size, sha in rows}

    def chunks_of(self, path: str) -> list[ChunkRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, hash, start_line, end_line, embedded FROM chunks WHERE path = ?",
                (path,),
            ).fetchall()
        return [ChunkRow(i, h, s, e, bool(m)) for i, h, s, e, m in rows]

    def chunk_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM chunks")}

    def idents(self) -> Iterator[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT path, idents FROM files").fetchall()
        yield from rows

    def idents_of(self, path: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT idents FROM files WHERE path = ?", (path,)).fetchone()
        return str(row[0]) if row else ""

    def counts(self) -> tuple[int, int]:
        """(files, chunks)."""
        with self._lock:
            files = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
            chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(files), int(chunks)

    def unembedded_paths(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT path FROM chunks WHERE embedded = 0")
            return [row[0] for row in rows]

    def apply(self, entries: Sequence[FileEntry], removed: Sequence[str]) -> None:
        """Record a batch: files now indexed as `entries`, files no longer indexed."""
        with self._lock, self._transaction():
            for path in [*removed, *(entry.path for entry in entries)]:
                self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
                self._db.execute("DELETE FROM files WHERE path = ?", (path,))
            for entry in entries:
                row = entry.row
                self._db.execute(
                    "INSERT INTO files (path, mtime_ns, size, sha, idents) VALUES (?, ?, ?, ?, ?)",
                    (entry.path, row.mtime_ns, row.size, row.sha, entry.idents),
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (c.id, entry.path, c.hash, c.start_line, c.end_line, int(c.embedded))
                        for c in entry.chunks
                    ],
                )

    def forget(self, paths: Sequence[str]) -> None:
        """Drop files from the manifest so the next scan indexes them again."""
        self.apply([], paths)

    def clear(self) -> None:
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM chunks")
            self._db.execute("DELETE FROM files")
            self._db.execute("DELETE FROM meta")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
