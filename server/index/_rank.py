"""From candidate lists to an answer: reciprocal-rank fusion of the lexical and dense
lists (k = 60, as Tabby and most hybrid engines do), then a rerank by what a code reader
looks for first.

A reader asking "where do we retry failed uploads" wants the definition whose name says
so, not a test that calls it, nor the import block that mentions it; and among equal
matches, the code many other files rely on. Each of these is one small, named term of
the score below, so a change to the ranking is a change to one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.index._store import Found
from server.index._terms import name_terms, split_identifier, stem, terms
from server.index._vocabulary import Query

RRF_K = 60

# Weights of the rerank. The fused rank is worth 1 at the top of both lists. Shares
# below weigh each query term by its rarity across files (a match on "gzip" says more
# than one on "request"); a synonym or a name that merely starts with the term counts half.
W_LEXICAL = 0.6  # lexical score relative to the best candidate's
W_DENSE = 2.0  # embedding similarity relative to the best candidate's
W_NAME = 0.7  # share of the query found in the definition's name
W_PARENT = 0.15  # ... in the enclosing class's name
W_PATH = 0.15  # ... in the file's path
W_SUMMARY = 0.5  # ... in what describes the chunk: name, signature, docstring, path
W_BODY = 0.2  # ... anywhere in the chunk
W_DEFINITION = 0.15  # a function, method or class, rather than a block of statements
W_TEST = 0.35  # a test, when the question is not about tests
W_GRAPH = 0.1  # how many files mention the name (the definition/reference prior)
W_SIZE = 0.1  # a tiny chunk (a one-line stub) says less than its name suggests
W_PLUMBING = 0.1  # __init__, __repr__ and kin: rarely what a question is about
PARTIAL = 0.5  # credit for a synonym, or a name word that starts with the term

_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|spec|__tests__)(/|$)"
    r"|(^|/)(test_[^/]*|[^/]*_test\.\w+|[^/]*\.(test|spec)\.\w+|conftest\.py)$"
)
_PATH_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@dataclass(slots=True)
class Candidate:
    id: str
    payload: dict[str, Any]
    lexical: float = 0.0  # the lexical score (0 when only the dense list had it)
    dense: float = 0.0  # the embedding similarity (0 when only the lexical list had it)
    fused: float = 0.0  # reciprocal-rank fusion
    score: float = 0.0  # after the rerank


def fuse(lists: Sequence[Sequence[Found]], k: int = RRF_K) -> list[Candidate]:
    """Reciprocal-rank fusion of ranked lists; the first list is the lexical one."""
    by_id: dict[str, Candidate] = {}
    for position, found in enumerate(lists):
        for rank, hit in enumerate(found, start=1):
            candidate = by_id.get(hit.id)
            if candidate is None:
                candidate = by_id[hit.id] = Candidate(hit.id, hit.payload)
            candidate.fused += 1.0 / (k + rank)
            if position == 0:
                candidate.lexical = hit.score
            else:
                candidate.dense = max(candidate.dense, hit.score)
    best = len([found for found in lists if found]) / (k + 1) or 1.0
    for candidate in by_id.values():
        candidate.fused /= best
    return sorted(by_id.values(), key=lambda c: c.fused, reverse=True)


class Rarity(Protocol):
    def __call__(self, name: str) -> int: ...  # files that mention a name

    def idf(self, term: str) -> float: ...


def rerank(candidates: list[Candidate], query: Query, stats: Rarity) -> list[Candidate]:
    """Score every candidate and sort, best first."""
    if not candidates:
        return []
    weights = {term: stats.idf(term) for term in query.terms}
    lexical = _scaler([c.lexical for c in candidates])
    dense = _scaler([c.dense for c in candidates if c.dense])
    about_tests = bool(set(query.terms) & {"test", "fixtur", "mock"})
    ref_counts = [stats(str(c.payload.get("name", ""))) for c in candidates]
    top_refs = math.log1p(max(ref_counts)) or 1.0
    for candidate, refs in zip(candidates, ref_counts, strict=True):
        payload = candidate.payload
        score = candidate.fused + W_LEXICAL * lexical(candidate.lexical)
        if candidate.dense:
            score += W_DENSE * dense(candidate.dense)
        if weights:
            score += _matches(payload, query, weights)
        if payload.get("kind", "block") != "block":
            score += W_DEFINITION + W_GRAPH * math.log1p(refs) / top_refs
        score -= _penalties(payload, about_tests)
        candidate.score = score
    return sorted(candidates, key=lambda c: c.score, reverse=True)


def _scaler(values: list[float]) -> Callable[[float], float]:
    """Min-max scaling over the candidates: 1 for the best, 0 for the worst."""
    if not values:
        return lambda value: 0.0
    low, high = min(values), max(values)
    span = high - low or 1.0
    return lambda value: max(0.0, (value - low) / span)


def _matches(payload: dict[str, Any], query: Query, weights: dict[str, float]) -> float:
    """How much of the question the chunk's name, class, path, summary and body hold."""
    name_text = str(payload.get("name", ""))
    name = name_terms(name_text)
    path = _path_terms(str(payload.get("path", "")))
    summary = set(terms(_summary(payload))) | name | path
    body = summary | set(terms(str(payload.get("text", ""))))
    return (
        W_NAME * _share(query, weights, name, prefixes=_name_words(name_text))
        + W_PARENT * _share(query, weights, name_terms(str(payload.get("parent", ""))))
        + W_PATH * _share(query, weights, path)
        + W_SUMMARY * _share(query, weights, summary)
        + W_BODY * _share(query, weights, body)
    )


def _penalties(payload: dict[str, Any], about_tests: bool) -> float:
    penalty = 0.0
    if not about_tests and _TEST_PATH.search(str(payload.get("path", ""))):
        penalty += W_TEST
    lines = int(payload.get("end_line", 0)) - int(payload.get("start_line", 0)) + 1
    if lines < 3:
        penalty += W_SIZE
    name = str(payload.get("name", ""))
    if name.startswith("__") and name.endswith("__"):
        penalty += W_PLUMBING
    return penalty


def _share(
    query: Query, weights: dict[str, float], found: set[str], prefixes: Sequence[str] = ()
) -> float:
    """The rarity-weighted share of the query's terms in `found`: full credit for the
    term itself, PARTIAL for a synonym or for a word of `prefixes` starting with it."""
    total = sum(weights.values()) or 1.0
    hit = 0.0
    for term in query.terms:
        if term in found:
            hit += weights[term]
        elif query.alternatives[term] & found or (
            len(term) >= 4 and any(word.startswith(term) for word in prefixes)
        ):
            hit += PARTIAL * weights[term]
    return hit / total


def _name_words(name: str) -> list[str]:
    return [word.lower() for word in _PATH_WORDS.findall(name)] + split_identifier(name)


def _summary(payload: dict[str, Any]) -> str:
    return " ".join(str(payload.get(key, "")) for key in ("parent", "signature", "docstring"))


def _path_terms(path: str) -> set[str]:
    return {stem(word.lower()) for word in _PATH_WORDS.findall(path)}
