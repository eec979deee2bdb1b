"""The phrase table of `commands_table` expanded into the word sequences people say,
and the closed vocabularies derived from it that constrained decoding holds whisper to.
Computed once: the table does not change while the server runs."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from voice._normalize import normalize
from voice.commands_table import RULES, Rule
from voice.numbers import SCALES, TENS, UNITS

RULE_BY_COMMAND = {rule.command: rule for rule in RULES}


@dataclass(frozen=True, slots=True)
class Variant:
    rule: Rule
    words: tuple[str, ...]  # the literal prefix
    has_slot: bool

    @property
    def text(self) -> str:
        return " ".join(self.words)


def expand(phrase: str) -> list[tuple[str, ...]]:
    """Every word sequence a phrase stands for (`[a|b]` optional, `(a|b)` one of)."""
    parts: list[list[str]] = []
    for token in re.findall(r"\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|[^\s\[({]+(?:\[[a-z]+\])?", phrase):
        if token.startswith("["):
            parts.append(["", *token[1:-1].split("|")])
        elif token.startswith("("):
            parts.append(token[1:-1].split("|"))
        elif token.startswith("{"):
            parts.append([token])
        elif "[" in token:  # word[s]: an optional suffix
            stem, suffix = token[:-1].split("[")
            parts.append([stem, stem + suffix])
        else:
            parts.append([token])
    out = []
    for combo in itertools.product(*parts):
        out.append(tuple(w for choice in combo for w in choice.split() if w))
    return out


@functools.cache
def variants() -> tuple[Variant, ...]:
    seen: set[tuple[str, tuple[str, ...]]] = set()
    result = []
    for rule in RULES:
        for phrase in rule.phrases:
            for words in expand(phrase):
                has_slot = bool(words) and words[-1].startswith("{")
                literal = words[:-1] if has_slot else words
                if (rule.command, literal) in seen or not literal:
                    continue
                seen.add((rule.command, literal))
                result.append(Variant(rule, literal, has_slot))
    return tuple(result)


def spoken_commands(commands: Iterable[tuple[str, Sequence[str]]]) -> tuple[Variant, ...]:
    """Variants for commands registered while the server runs (an extension's), from
    their plain-word phrases: said as written, without an argument."""
    result: list[Variant] = []
    for command, phrases in commands:
        wordings = {tuple(normalize(phrase)) for phrase in phrases} - {()}
        if not wordings:
            continue
        rule = Rule(command, tuple(" ".join(w) for w in sorted(wordings)))
        result.extend(Variant(rule, words, False) for words in sorted(wordings))
    return tuple(result)


@functools.cache
def command_words() -> frozenset[str]:
    """Every word of the commands said without an argument: the vocabulary that
    constrained decoding holds whisper to."""
    return frozenset(w for v in variants() if not v.has_slot for w in v.words)


@functools.cache
def number_command_words() -> frozenset[str]:
    """The words of the commands that take a number, and the number words: a closed
    vocabulary too, which decoding can be held to like `command_words`."""
    words = {w for v in variants() if v.rule.kind == "number" for w in v.words}
    return frozenset(words | set(UNITS) | set(TENS) | set(SCALES) | {"and"})


@functools.cache
def one_word_wordings() -> tuple[Variant, ...]:
    """The argument-free commands said in one word ("save", "undo"), one per wording."""
    seen: dict[str, Variant] = {}
    for v in variants():
        if not v.has_slot and len(v.words) == 1:
            seen.setdefault(v.text, v)
    return tuple(seen.values())


@functools.cache
def number_literals() -> frozenset[str]:
    """The wordings of the commands that take a number, before the number."""
    return frozenset(v.text for v in variants() if v.rule.kind == "number")
