"""Transcript → ranked (command, args) candidates, by matching the phrase table in
`commands_table` exactly first and tolerantly second.

A phrase is a literal prefix plus at most one trailing slot. Exact matches score 1 (more
literal words win ties); otherwise the spoken prefix is compared with the phrase's
prefix by character similarity (rapidfuzz), which absorbs what a small model mishears
("format of the document", "run this aisle", "set a break point online 30").

The phrase expansion (`_phrases`), transcript normalisation (`_normalize`) and the
workspace vocabulary (`_vocab`) live in their own modules; their names are re-exported
here, the grammar's one public face.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from voice._normalize import normalize, readings, repeats
from voice._phrases import (
    Variant,
    command_words,
    expand,
    number_command_words,
    number_literals,
    one_word_wordings,
    spoken_commands,
    variants,
)
from voice._vocab import CONVENTIONAL_NAMES, Vocabulary, symbol_words
from voice.commands_table import CHOICE_PHRASES, Rule
from voice.numbers import ordinal, parse_number
from voice.spoken import identifier, path

__all__ = [
    "CASE_STYLE_WORDS",
    "CHAT",
    "CONVENTIONAL_NAMES",
    "FUZZY_FLOOR",
    "SEARCHES_FOR_NAMES",
    "STYLE_LED_SCORE",
    "Candidate",
    "Variant",
    "Vocabulary",
    "command_words",
    "expand",
    "match",
    "merge",
    "normalize",
    "number_command_words",
    "number_literals",
    "one_word_wordings",
    "parse",
    "parse_choice",
    "readings",
    "repeats",
    "spoken_commands",
    "symbol_words",
    "variants",
]

CHAT = "ai.chat"
FUZZY_FLOOR = 0.72  # below this a transcript is speech for the assistant, not a command
SEARCHES_FOR_NAMES = frozenset(
    {"search.workspace"}
)  # a spoken workspace name is searched as written
CASE_STYLE_WORDS = ("snake", "camel", "pascal", "kebab")
STYLE_LED_SCORE = FUZZY_FLOOR + 0.02  # above chat, below any phrase that matched


@dataclass(slots=True)
class Candidate:
    command: str
    args: dict[str, Any]
    score: float  # 0..1 plus a little for specificity
    transcript: str = ""
    phrase: str = ""  # the grammar's wording of this candidate, for rescoring
    literal: str = ""  # the matched phrase's words before the slot ("rename this to")

    @property
    def key(self) -> tuple[str, str]:
        return self.command, repr(sorted(self.args.items()))


def _slot_value(rule: Rule, words: list[str], vocab: Vocabulary) -> Any:
    if not words:
        return None
    if rule.kind == "number":
        value = parse_number(words, loose=True)
        return value if value is not None and value > 0 else None
    if rule.kind == "path":
        return vocab.resolve_path(path(words))
    if rule.kind == "identifier":
        return identifier(words) or None
    text = " ".join(words)
    if rule.command in SEARCHES_FOR_NAMES:
        return vocab.resolve_symbol(text) or text  # "search for parse dates": parse_dates
    return text


def _similar(a: str, b: str) -> float:
    return fuzz.ratio(a, b) / 100.0


def match(words: list[str], vocab: Vocabulary, transcript: str = "") -> list[Candidate]:
    """Every command the words could be, best first (no chat fallback here)."""
    best: dict[tuple[str, str], Candidate] = {}
    if not words:
        return []
    for variant in (*variants(), *vocab.commands):
        n = len(variant.words)
        if variant.has_slot:
            spans = range(max(1, n - 1), min(len(words) - 1, n + 1) + 1)
        else:
            spans = range(len(words), len(words) + 1)
        for k in spans:
            if variant.has_slot and k >= len(words):
                continue
            spoken = words[:k]
            if tuple(spoken) == variant.words:
                score = 1.0 + 0.01 * n
            else:
                score = _similar(" ".join(spoken), variant.text)
                if score < FUZZY_FLOOR - 0.1:
                    continue
                score *= 0.98
            args: dict[str, Any] = {}
            if variant.has_slot:
                value = _slot_value(variant.rule, words[k:], vocab)
                if value is None:
                    continue
                assert variant.rule.slot is not None
                args[variant.rule.slot] = value
                if variant.rule.kind == "path" and not vocab.plausible_path(value):
                    score -= 0.2  # "open at the terminal" is not a file
            phrase = " ".join([*variant.words, *words[k:]]) if variant.has_slot else variant.text
            candidate = Candidate(
                variant.rule.command, args, score, transcript, phrase, variant.text
            )
            if candidate.key not in best or best[candidate.key].score < score:
                best[candidate.key] = candidate
    return sorted(best.values(), key=lambda c: -c.score)


def parse(transcript: str, vocab: Vocabulary | None = None) -> list[Candidate]:
    """Ranked candidates for one transcript; `ai.chat` when nothing fits well."""
    vocab = vocab or Vocabulary()
    words = normalize(transcript)
    if not words:
        return []
    candidates = [c for c in match(words, vocab, transcript) if c.score >= FUZZY_FLOOR - 0.1]
    if not candidates or candidates[0].score < FUZZY_FLOOR:
        renamed = _style_led_rename(words, transcript)
        candidates = sorted([*candidates, *renamed], key=lambda c: -c.score)
    text = " ".join(transcript.split()).strip()
    chat = Candidate(CHAT, {"text": text}, FUZZY_FLOOR, transcript, text)
    if not candidates or candidates[0].score < FUZZY_FLOOR:
        return [chat, *candidates]
    return [*candidates, chat]


def _style_led_rename(words: list[str], transcript: str) -> list[Candidate]:
    """A spoken case style followed by words ("... snake case max retries") names a new
    identifier, which people say to rename something: when the words before it were
    misheard past matching ("or really missed a snake case ..."), it is still a rename,
    ranked just above chat for the audio rescoring to settle."""
    for i in range(1, min(6, len(words) - 2)):
        if words[i] in CASE_STYLE_WORDS and words[i + 1] == "case":
            value = identifier(words[i:])
            if value:
                phrase = "rename this to " + " ".join(words[i:])
                return [
                    Candidate(
                        "lsp.rename", {"to": value}, STYLE_LED_SCORE, transcript, phrase,
                        "rename this to",
                    )
                ]  # fmt: skip
    return []


def parse_choice(transcript: str) -> int | None:
    """ "choose two" / "pick the second" / "option 2" → 2; None when it is not a choice."""
    words = normalize(transcript)
    if not words:
        return None
    for phrase in CHOICE_PHRASES:
        for pattern in expand(phrase):
            literal = [w for w in pattern if not w.startswith("{")]
            slot = pattern.index("{n}")
            if len(words) != len(pattern):
                continue
            if [w for i, w in enumerate(words) if i != slot] != literal:
                continue
            value = ordinal(words[slot])
            if value is not None and 1 <= value <= 10:
                return value
    return None


def merge(lists: Iterable[list[Candidate]]) -> list[Candidate]:
    """Candidates from several transcripts: best score per (command, args)."""
    best: dict[tuple[str, str], Candidate] = {}
    for candidates in lists:
        for candidate in candidates:
            if candidate.key not in best or best[candidate.key].score < candidate.score:
                best[candidate.key] = candidate
    return sorted(best.values(), key=lambda c: -c.score)
