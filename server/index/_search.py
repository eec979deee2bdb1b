"""Answering a question from what is indexed: check the input, gather candidates from
the lexical and (when there is an embedder) dense sides, fuse, rerank, cut to `k`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from server.errors import InvalidInput, Unavailable
from server.index._embed import Embedder
from server.index._rank import Candidate, Rarity, fuse, rerank
from server.index._store import Found, VectorStore
from server.index._terms import query_terms, query_vector
from server.index._vocabulary import expand

log = logging.getLogger("nexus.index")

MAX_QUERY_CHARS = 1_000  # longer questions are cut here (a pasted file is not a query)
MAX_K = 100
POOL = 60  # candidates per side the rerank chooses from, at least
SNIPPET_LINES = 60
SNIPPET_CHARS = 4_000


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    score: float
    snippet: str
    name: str = ""  # "Class.method" for a method
    kind: str = ""  # function, method, class or block

    def as_dict(self) -> dict[str, Any]:
        """The REST contract's fields."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


def check_query(query: object, k: object) -> tuple[str, int]:
    """The query (stripped, clipped) and k, or InvalidInput saying what is wrong."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("the search query is empty")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be a whole number from 1 to {MAX_K}")
    return query.strip()[:MAX_QUERY_CHARS], k


async def find(
    store: VectorStore,
    collection: str,
    embedder: Embedder | None,
    query: str,
    k: int,
    stats: Rarity,
    *,
    synonyms: bool = True,
) -> list[SearchHit]:
    question = expand(query_terms(query), synonyms=synonyms)
    pool = max(POOL, 3 * k)
    lexical: list[Found] = []
    if question.terms:
        vector = query_vector(question.weights())
        lexical = await asyncio.to_thread(store.search_sparse, collection, vector, pool)
    dense = await _dense(store, collection, embedder, query, pool)
    candidates: list[Candidate] = await asyncio.to_thread(
        rerank, fuse([lexical, dense]), question, stats
    )
    return [_hit(candidate) for candidate in candidates[:k]]


async def _dense(
    store: VectorStore, collection: str, embedder: Embedder | None, query: str, pool: int
) -> list[Found]:
    if embedder is None:
        return []
    try:
        [vector] = await embedder.embed([query])
    except Unavailable as error:
        log.warning("searching without embeddings: %s", error.message)
        return []
    return await asyncio.to_thread(store.search_dense, collection, vector, pool)


def _hit(candidate: Candidate) -> SearchHit:
    payload = candidate.payload
    lines = str(payload.get("text", "")).split("\n")
    snippet = "\n".join(lines[:SNIPPET_LINES])[:SNIPPET_CHARS]
    parent, name = str(payload.get("parent", "")), str(payload.get("name", ""))
    return SearchHit(
        path=str(payload.get("path", "")),
        start_line=int(payload.get("start_line", 1)),
        end_line=int(payload.get("end_line", 1)),
        score=candidate.score,
        snippet=snippet,
        name=f"{parent}.{name}" if parent else name,
        kind=str(payload.get("kind", "")),
    )
