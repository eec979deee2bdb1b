"""Words people and programmers use for the same thing.

A question says "throw", the code says `raise`; "combine" where the code says `merge`.
Each group below is general programming vocabulary, not any one code base's: a query
term also looks for the others of its group, at half weight, so an exact word still
ranks first. Groups hold stems (see `_terms.stem`).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.index._terms import stem

SYNONYM_WEIGHT = 0.5

_GROUPS = [
    "delete remove drop discard",
    "raise throw",
    "error exception failure",
    "create make build construct",
    "start begin launch",
    "stop terminate halt kill shutdown",
    "combine merge join concat",
    "convert translate transform map cast",
    "check validate verify ensure",
    "send emit dispatch",
    "size length len count",
    "find search lookup locate",
    "config configuration setting option preference",
    "directory folder dir",
    "save store persist",
    "load read",
    "show display print render",
    "url uri link href",
    "auth authentication credential login",
    "encode serialize dump",
    "decode deserialize",
    "copy clone duplicate",
    "update modify change edit",
    "wait sleep",
    "exit quit",
    "timeout deadline",
    "callback hook handler listener",
    "cancel abort",
    "retry reattempt",
    "key token secret",
]


def _build() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for line in _GROUPS:
        group = frozenset(stem(word) for word in line.split())
        for term in group:
            table[term] = table.get(term, frozenset()) | group
    return table


SYNONYMS = _build()


@dataclass(frozen=True, slots=True)
class Query:
    """A question's terms; each also matches the other words of its synonym group."""

    terms: tuple[str, ...]
    alternatives: dict[str, frozenset[str]]  # term -> itself and its synonyms

    def weights(self) -> dict[str, float]:
        """Sparse query weights: the question's own words 1, their synonyms less."""
        out: dict[str, float] = {}
        for term in self.terms:
            for other in self.alternatives[term]:
                weight = 1.0 if other == term else SYNONYM_WEIGHT
                out[other] = max(out.get(other, 0.0), weight)
        return out


def expand(terms: list[str], *, synonyms: bool = True) -> Query:
    alternatives = {
        term: (SYNONYMS.get(term, frozenset()) if synonyms else frozenset()) | {term}
        for term in terms
    }
    return Query(tuple(terms), alternatives)
