"""Qdrant, as the index uses it: one collection per workspace with a sparse lexical
vector (`lex`, IDF applied by Qdrant) and, when an embedder is configured, a dense one.

Local mode (a folder) by default, a Qdrant server when a URL is given. Every call is
blocking: callers run it in a thread. A server that does not answer is retried a few
times and then reported as `Unavailable`; a collection that has gone is reported as
`CollectionMissing`, so the index can rebuild it rather than fail for ever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from server.errors import Unavailable

log = logging.getLogger("nexus.index")

SPARSE = "lex"
DENSE = "dense"
RETRY_DELAYS_S = (0.2, 0.6, 1.5)

T = TypeVar("T")


class CollectionMissing(Exception):
    """The workspace's collection is not there (deleted, never made, or unreadable)."""


@dataclass(frozen=True, slots=True)
class Point:
    id: str
    sparse: tuple[list[int], list[float]]
    payload: dict[str, Any]
    dense: list[float] | None = None


@dataclass(frozen=True, slots=True)
class Found:
    id: str
    score: float
    payload: dict[str, Any]


class VectorStore:
    """One Qdrant connection (or local folder) shared by every workspace's index.

    Local mode allows a single client per folder, so the server makes one store and hands
    it to each `CodeIndex`; a lock keeps local mode's in-memory structures consistent
    between the indexing thread and searches.
    """

    def __init__(
        self,
        *,
        path: Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if (path is None) == (url is None):
            raise ValueError("give a local folder or a server URL, not both")
        self.url = url
        self.remote = url is not None
        self._lock = threading.RLock()
        if url is not None:
            self._client = QdrantClient(
                url=url, api_key=api_key, timeout=int(timeout_s), check_compatibility=False
            )
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            self._client = QdrantClient(path=str(path))
            for collection in self._local_collections():
                _relax_durability(collection)

    def close(self) -> None:
        with self._lock:
            self._client.close()

    # Collections -------------------------------------------------------------------

    def collection_info(self, name: str) -> dict[str, Any] | None:
        """{'points': n, 'dense_size': d or None}, or None when there is no such collection."""

        def call() -> dict[str, Any] | None:
            if not self._client.collection_exists(name):
                return None
            info = self._client.get_collection(name)
            vectors = info.config.params.vectors
            dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
            sparse = info.config.params.sparse_vectors or {}
            if SPARSE not in sparse:
                return {"points": -1, "dense_size": None, "valid": False}
            return {
                "points": self._client.count(name, exact=True).count,
                "dense_size": dense.size if dense is not None else None,
                "valid": True,
            }

        return self._call(call)

    def create(self, name: str, dense_size: int | None) -> None:
        """(Re)create a collection, empty."""

        def call() -> None:
            if self._client.collection_exists(name):
                self._client.delete_collection(name)
            dense = (
                {DENSE: models.VectorParams(size=dense_size, distance=models.Distance.COSINE)}
                if dense_size
                else {}
            )
            self._client.create_collection(
                name,
                vectors_config=dense,
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
            )
            if not self.remote:
                _relax_durability(self._local_collections().get(name))

        self._call(call)

    def drop(self, name: str) -> None:
        self._call(lambda: self._client.delete_collection(name))

    def _local_collections(self) -> dict[str, Any]:
        local = getattr(self._client, "_client", None)
        return dict(getattr(local, "collections", None) or {})

    # Points ------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        structs = []
        for point in points:
            vector: dict[str, Any] = {
                SPARSE: models.SparseVector(indices=point.sparse[0], values=point.sparse[1])
            }
            if point.dense is not None:
                vector[DENSE] = point.dense
            structs.append(models.PointStruct(id=point.id, vector=vector, payload=point.payload))
        if structs:
            self._call(lambda: self._client.upsert(name, points=structs, wait=True), name)

    def delete(self, name: str, ids: Sequence[str]) -> None:
        if ids:
            selector = models.PointIdsList(points=list(ids))
            self._call(lambda: self._client.delete(name, selector, wait=True), name)

    def set_payloads(self, name: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Change some payload fields of many points in one request (moved line spans)."""
        operations: list[Any] = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(payload=payload, points=[point_id])
            )
            for point_id, payload in updates
        ]
        if operations:
            self._call(lambda: self._client.batch_update_points(name, operations, wait=True), name)

    def search_sparse(
        self, name: str, vector: tuple[list[int], list[float]], limit: int
    ) -> list[Found]:
        query = models.SparseVector(indices=vector[0], values=vector[1])
        return self._query(name, query, SPARSE, limit)

    def search_dense(self, name: str, vector: list[float], limit: int) -> list[Found]:
        return self._query(name, vector, DENSE, limit)

    def _query(self, name: str, query: Any, using: str, limit: int) -> list[Found]:
        def call() -> list[Found]:
            result = self._client.query_points(
                name, query=query, using=using, limit=limit, with_payload=True
            )
            return [Found(str(p.id), float(p.score), p.payload or {}) for p in result.points]

        return self._call(call, name)

    def scroll(self, name: str, fields: Sequence[str]) -> Iterator[Found]:
        """Every point of a collection with some payload fields (for a consistency check)."""
        offset: Any = None
        while True:
            page, offset = self._call(partial(self._page, name, offset, list(fields)), name)
            for point in page:
                yield Found(str(point.id), 0.0, point.payload or {})
            if offset is None:
                return

    def _page(self, name: str, offset: Any, fields: list[str]) -> tuple[list[Any], Any]:
        return self._client.scroll(name, limit=1024, offset=offset, with_payload=fields)

    # Errors ------------------------------------------------------------------------

    def _call(self, call: Callable[[], T], collection: str | None = None) -> T:
        """Run one client call: serialised in local mode, retried against a server."""
        attempt = 0
        while True:
            try:
                with self._lock:
                    return call()
            except UnexpectedResponse as error:
                if error.status_code == 404 and collection is not None:
                    raise CollectionMissing(collection) from error
                if error.status_code not in (502, 503, 504) or attempt >= len(RETRY_DELAYS_S):
                    raise Unavailable(f"Qdrant refused a request: {error}") from error
            except ValueError as error:  # local mode: "Collection x not found"
                if collection is not None and "not found" in str(error):
                    raise CollectionMissing(collection) from error
                raise
            except (ResponseHandlingException, OSError, TimeoutError) as error:
                if attempt >= len(RETRY_DELAYS_S):
                    raise Unavailable(
                        f"the code index's Qdrant server at {self.url} does not answer: {error}"
                    ) from error
            except Exception as error:
                if not self.remote:
                    raise
                if attempt >= len(RETRY_DELAYS_S):
                    raise Unavailable(f"the code index's Qdrant server failed: {error}") from error
                log.debug("qdrant call failed, retrying: %s", error)
            time.sleep(RETRY_DELAYS_S[attempt])
            attempt += 1


def _relax_durability(collection: Any) -> None:
    """Local mode commits one SQLite transaction per point, each waiting for the disk
    (about 10 ms here: 100 s for a 100k-line tree). With a write-ahead log and
    `synchronous=NORMAL` a commit does not wait; a power cut may lose the last commits
    but never corrupts the file, and the index's consistency check re-indexes what was
    lost. Best effort: this reaches into qdrant-client's local storage."""
    connection = getattr(getattr(collection, "storage", None), "storage", None)
    if connection is None:
        return
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except Exception:
        log.debug("could not relax the durability of a local Qdrant collection", exc_info=True)
