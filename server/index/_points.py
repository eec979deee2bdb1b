"""A chunk as Qdrant stores it: a stable id, a lexical vector and a payload.

The id depends on the file and on what the chunk says, never on its line numbers: a
chunk that only moved (lines added above it) keeps its id and its embedding, and only
its line span is updated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from server.index._chunks import Chunk
from server.index._terms import sparse_vector, terms

_NAMESPACE = uuid.UUID("6f1d3a52-8a3e-4f55-9d8e-1c7e0b6a9e41")

# How much a term counts where it occurs: a definition's name says most about it.
NAME_WEIGHT = 4.0
PARENT_WEIGHT = 1.0
PATH_WEIGHT = 1.0
DOC_WEIGHT = 1.0  # on top of the docstring's words counted in the text


def chunk_ids(chunks: list[Chunk]) -> list[str]:
    """Ids for a file's chunks; identical chunks in one file are told apart by order."""
    seen: dict[str, int] = {}
    ids = []
    for chunk in chunks:
        nth = seen.get(chunk.hash, 0)
        seen[chunk.hash] = nth + 1
        ids.append(str(uuid.uuid5(_NAMESPACE, f"{chunk.path}\0{chunk.hash}\0{nth}")))
    return ids


def lexical_vector(chunk: Chunk) -> tuple[list[int], list[float]]:
    return sparse_vector(_weighted_terms(chunk))


def _weighted_terms(chunk: Chunk) -> Iterator[tuple[str, float]]:
    for term in terms(chunk.name):
        yield term, NAME_WEIGHT
    for term in terms(chunk.parent):
        yield term, PARENT_WEIGHT
    for term in terms(str(PurePosixPath(chunk.path).with_suffix(""))):
        yield term, PATH_WEIGHT
    for term in terms(chunk.docstring):
        yield term, DOC_WEIGHT
    for term in terms(chunk.text):
        yield term, 1.0


def payload(chunk: Chunk) -> dict[str, Any]:
    return {
        "path": chunk.path,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "kind": chunk.kind,
        "name": chunk.name,
        "parent": chunk.parent,
        "signature": chunk.signature,
        "docstring": chunk.docstring,
        "language": chunk.language,
        "hash": chunk.hash,
        "text": chunk.text,
    }
