"""Words of code and of questions about code, reduced to comparable terms.

The lexical side of the index needs no model: identifiers are split where a person would
read separate words (`parseHTTPResponse`, `max_retries`, `os.path.join`), both sides are
lower-cased and lightly stemmed (a question says "retries", the code `retry`), and words
that say nothing about what a piece of code does (English glue, keywords) are dropped.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_+[A-Za-z0-9]+)*")
# Splits camelCase and acronyms: "parseHTTPResponse2" -> parse, HTTP, Response2.
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")

STOPWORDS = frozenset(
    """
    a an and are as at be been but by can could did do does doing done for from
    had has have how i if in into is it its let me my of on or our over so some such than
    that the their them then there these they this those to under up us via was we were
    what when where which while who whom why will with would you your should shall may
    might must also any all each every other same own just only very too more most
    code function functions method methods implementation implement implemented logic
    located locate happen happens thing things somewhere
    self cls def return none true false elif else pass lambda yield async await import
    not null undefined var const void nil this fn pub mut impl struct int str bool
    """.split()
)

# Compound identifiers also count as one term, so a query that names one exactly wins.
_MIN_TERM = 2


def stem(word: str) -> str:
    """A light Porter-style stemmer: plurals, -ed, -ing, y/i, -ation, -ion, agent nouns
    and a final e, so "retries" meets "retry", "decoder" meets "decoding" and
    "compression" meets "compress", without a dictionary."""
    if len(word) <= 3:
        return word
    if word.endswith("sses") or word.endswith("ies"):
        word = word[:-2]
    elif not word.endswith(("ss", "us", "is")) and word.endswith("s"):
        word = word[:-1]
    for suffix in ("eed", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix == "eed":
                word = base + "ee"
            elif _has_vowel(base):
                word = _tidy(base)
            break
    if word.endswith("y") and len(word) > 3 and _has_vowel(word[:-1]):
        word = word[:-1] + "i"
    word = _derivations(word)
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _derivations(word: str) -> str:
    for suffix, replacement in (("ization", "ize"), ("ation", "ate")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    if word.endswith(("sion", "tion")) and len(word) >= 7:
        return word[:-3]
    if word.endswith(("er", "or")) and len(word) >= 7:
        return word[:-2]
    return word


def _has_vowel(text: str) -> bool:
    return any(ch in "aeiou" for ch in text)


def _tidy(base: str) -> str:
    if base.endswith(("at", "bl", "iz")):
        return base + "e"
    if len(base) >= 2 and base[-1] == base[-2] and base[-1] not in "lsz":
        return base[:-1]
    return base


def split_identifier(identifier: str) -> list[str]:
    """The words of one identifier, lower-cased: `max_retries` -> [max, retries]."""
    words: list[str] = []
    for piece in identifier.split("_"):
        if not piece:
            continue
        parts = [part.lower() for part in _CAMEL.findall(piece)]
        words.extend(parts)
        # "GZip", "XPath": a lone capital belongs to the word after it.
        words.extend(a + b for a, b in pairwise(parts) if len(a) == 1)
    return words


def terms(text: str, *, compounds: bool = True) -> list[str]:
    """Every term of `text` in order, duplicates kept (they are term frequencies).

    An identifier gives its stemmed words and, when it has several, itself as one term.
    """
    out: list[str] = []
    for identifier in _WORD.findall(text):
        out.extend(_identifier_terms(identifier, compounds))
    return out


@lru_cache(maxsize=200_000)
def _identifier_terms(identifier: str, compounds: bool) -> tuple[str, ...]:
    words = split_identifier(identifier)
    found = [
        stem(word)
        for word in words
        if len(word) >= _MIN_TERM and word not in STOPWORDS and not word.isdigit()
    ]
    if compounds and len(words) > 1:
        found.append(identifier.lower().strip("_"))
    return tuple(found)


def name_terms(name: str) -> set[str]:
    """The stemmed words of a definition's name (`Client.send_request` -> client, send,
    request), for the reranker's name match."""
    return {stem(w) for w in split_identifier(name.replace(".", "_")) if len(w) >= _MIN_TERM}


def query_terms(query: str) -> list[str]:
    """A question's distinct terms, in order; stopwords dropped unless nothing else is left."""
    found = list(dict.fromkeys(terms(query)))
    if found:
        return found
    fallback = [stem(w) for m in _WORD.finditer(query) for w in split_identifier(m.group(0))]
    return list(dict.fromkeys(w for w in fallback if len(w) >= _MIN_TERM))


def term_id(term: str) -> int:
    """A stable 32-bit index for a term (Qdrant's sparse indices are uint32)."""
    return zlib.crc32(term.encode("utf-8"))


# BM25's term-frequency saturation, applied on the document side; Qdrant's IDF modifier
# supplies the other half at query time.
K1 = 1.2
B = 0.9
AVG_LEN = 60.0


def sparse_vector(weighted: Iterable[tuple[str, float]]) -> tuple[list[int], list[float]]:
    """BM25 document weights for (term, weight) pairs, as sorted (indices, values).

    A pair's weight counts as that many occurrences, so name and path terms can count
    more than a word deep in a body.
    """
    frequencies: dict[str, float] = {}
    for term, weight in weighted:
        frequencies[term] = frequencies.get(term, 0.0) + weight
    length = sum(frequencies.values()) or 1.0
    norm = K1 * (1 - B + B * length / AVG_LEN)
    by_index: dict[int, float] = {}
    for term, tf in frequencies.items():
        index = term_id(term)
        by_index[index] = by_index.get(index, 0.0) + tf * (K1 + 1) / (tf + norm)
    indices = sorted(by_index)
    return indices, [by_index[i] for i in indices]


def query_vector(weights: dict[str, float]) -> tuple[list[int], list[float]]:
    """A query's sparse vector from term weights (IDF is applied by Qdrant)."""
    by_index: dict[int, float] = {}
    for term, weight in weights.items():
        index = term_id(term)
        by_index[index] = max(by_index.get(index, 0.0), weight)
    indices = sorted(by_index)
    return indices, [by_index[i] for i in indices]


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


def identifiers(text: str) -> set[str]:
    """The distinct identifiers a file mentions: what its references to other
    definitions are made of (for the reference-graph prior)."""
    return set(IDENTIFIER.findall(text))
