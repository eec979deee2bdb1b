"""Bringing the collection in line with files that changed: only what changed is
written, and only new chunks are embedded.

For each file the chunks it has now are compared with those the manifest lists: a chunk
with a new id (its text changed) is embedded and upserted, a chunk that only moved gets
its line span updated, a chunk that is gone is deleted. Qdrant is written before the
manifest, so a crash in between is found by the consistency check on the next start.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.errors import Unavailable
from server.index._embed import Embedder, embedding_text
from server.index._files import ReadFile
from server.index._manifest import ChunkRow, FileEntry, Manifest
from server.index._points import chunk_ids, lexical_vector, payload
from server.index._store import Point, VectorStore

log = logging.getLogger("nexus.index")


@dataclass(slots=True)
class SyncStats:
    """What indexing has done since this index started (tests and metrics read it)."""

    upserted: int = 0  # chunks written with new content
    moved: int = 0  # chunks whose line span changed, nothing else
    deleted: int = 0  # chunks removed
    embedded: int = 0  # texts sent to the embedder
    files: int = 0  # files (re)read


@dataclass(slots=True)
class _Plan:
    entries: list[FileEntry] = field(default_factory=list)
    new_points: list[tuple[Point, str]] = field(default_factory=list)  # and text to embed
    moved: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    old_idents: dict[str, str] = field(default_factory=dict)


class References:
    """How many files mention each identifier and each term.

    For a definition's name this is its in-degree in the definition/reference graph
    (used as a prior when ranking); for a term, its document frequency over files (how
    telling a match on it is).
    """

    def __init__(self) -> None:
        self.files_mentioning: Counter[str] = Counter()
        self.files = 0

    def load(self, rows: Sequence[tuple[str, str]]) -> None:
        self.files_mentioning.clear()
        self.files = 0
        for _path, idents in rows:
            self.files_mentioning.update(idents.split())
            self.files += 1

    def replace(self, old: str, new: str) -> None:
        self.files += (1 if new else 0) - (1 if old else 0)
        self.files_mentioning.subtract(old.split())
        self.files_mentioning.update(new.split())

    def __call__(self, name: str) -> int:
        return max(0, self.files_mentioning.get(name, 0))

    def idf(self, term: str) -> float:
        """log((N + 1) / (df + 0.5)): 0 for a word every file has, more for rare ones."""
        return max(0.05, math.log((self.files + 1) / (self(term) + 0.5)))


class Syncer:
    def __init__(
        self,
        store: VectorStore,
        collection: str,
        manifest: Manifest,
        embedder: Embedder | None,
        references: References,
    ) -> None:
        self.store = store
        self.collection = collection
        self.manifest = manifest
        self.embedder = embedder
        self.references = references
        self.stats = SyncStats()
        self.embed_error: str | None = None

    async def apply(self, read: Sequence[ReadFile], removed: Sequence[str]) -> None:
        """Index `read` files as they are now and forget `removed` ones."""
        plan = await asyncio.to_thread(self._plan, read, removed)
        points, embedded_ids = await self._embed(plan.new_points)
        for entry in plan.entries:
            entry.chunks = [
                ChunkRow(c.id, c.hash, c.start_line, c.end_line, c.embedded or c.id in embedded_ids)
                for c in entry.chunks
            ]
        await asyncio.to_thread(self._commit, plan, points, removed)
        for path in removed:
            self.references.replace(plan.old_idents.get(path, ""), "")
        for entry in plan.entries:
            self.references.replace(plan.old_idents.get(entry.path, ""), entry.idents)
        self.stats.upserted += len(points)
        self.stats.moved += len(plan.moved)
        self.stats.deleted += len(plan.gone)
        self.stats.files += len(read)

    def _plan(self, read: Sequence[ReadFile], removed: Sequence[str]) -> _Plan:
        """What to write: compare each file's chunks with the manifest's (blocking)."""
        plan = _Plan()
        for path in removed:
            plan.gone.extend(row.id for row in self.manifest.chunks_of(path))
            plan.old_idents[path] = self.manifest.idents_of(path)
        for file in read:
            old = {row.id: row for row in self.manifest.chunks_of(file.path)}
            plan.old_idents[file.path] = self.manifest.idents_of(file.path)
            entry = FileEntry(file.path, file.row, " ".join(sorted(file.idents)))
            for chunk, point_id in zip(file.chunks, chunk_ids(file.chunks), strict=True):
                before = old.pop(point_id, None)
                embedded = before.embedded if before is not None else False
                if before is None or (self.embedder is not None and not before.embedded):
                    body = payload(chunk)
                    point = Point(point_id, lexical_vector(chunk), body)
                    plan.new_points.append((point, embedding_text(body, chunk.text)))
                elif (before.start_line, before.end_line) != (chunk.start_line, chunk.end_line):
                    span = {"start_line": chunk.start_line, "end_line": chunk.end_line}
                    plan.moved.append((point_id, span))
                entry.chunks.append(
                    ChunkRow(point_id, chunk.hash, chunk.start_line, chunk.end_line, embedded)
                )
            plan.gone.extend(old)
            plan.entries.append(entry)
        return plan

    async def _embed(self, pending: list[tuple[Point, str]]) -> tuple[list[Point], set[str]]:
        """The points with dense vectors where the embedder gave them. An embedder that
        fails leaves them lexical-only (marked, so a later pass embeds them)."""
        points = [point for point, _ in pending]
        if self.embedder is None or not pending:
            return points, set()
        try:
            vectors = await self.embedder.embed([text for _, text in pending])
        except Unavailable as error:
            self.embed_error = error.message
            log.warning("indexing without embeddings for now: %s", error.message)
            return points, set()
        self.embed_error = None
        self.stats.embedded += len(pending)
        with_dense = [
            Point(p.id, p.sparse, p.payload, vector)
            for p, vector in zip(points, vectors, strict=True)
        ]
        return with_dense, {p.id for p in with_dense}

    def _commit(self, plan: _Plan, points: list[Point], removed: Sequence[str]) -> None:
        """Write Qdrant first, then the manifest (blocking)."""
        self.store.delete(self.collection, plan.gone)
        for start in range(0, len(points), 256):
            self.store.upsert(self.collection, points[start : start + 256])
        self.store.set_payloads(self.collection, plan.moved)
        self.manifest.apply(plan.entries, removed)
