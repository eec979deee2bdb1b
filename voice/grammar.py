"""Transcript → ranked (command, args) candidates, by matching the phrase table in
`commands_table` exactly first and tolerantly second.

A phrase is a literal prefix plus at most one trailing slot. Exact matches score 1 (more
literal words win ties); otherwise the spoken prefix is compared with the phrase's
prefix by character similarity (rapidfuzz), which absorbs what a small model mishears
("format of the document", "run this aisle", "set a break point online 30").
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from voice.commands_table import (
    CHOICE_PHRASES,
    FILLERS_AFTER,
    FILLERS_BEFORE,
    RULES,
    SOUNDS_LIKE,
    Rule,
)
from voice.numbers import SCALES, TENS, UNITS, ordinal, parse_number
from voice.spoken import identifier, path

CHAT = "ai.chat"
FUZZY_FLOOR = 0.72  # below this a transcript is speech for the assistant, not a command
SEARCHES_FOR_NAMES = frozenset(
    {"search.workspace"}
)  # a spoken workspace name is searched as written


@dataclass(frozen=True, slots=True)
class Variant:
    rule: Rule
    words: tuple[str, ...]  # the literal prefix
    has_slot: bool

    @property
    def text(self) -> str:
        return " ".join(self.words)


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


@dataclass
class Vocabulary:
    """What a workspace adds to the grammar: its file paths (to resolve spoken paths)
    and the names its code defines (to resolve a spoken name to the identifier it was
    said for), most defined first."""

    paths: Sequence[str] = ()
    symbols: Sequence[str] = ()
    _by_lower: dict[str, str] = field(default_factory=dict, repr=False)
    _by_stem: dict[str, str | None] = field(default_factory=dict, repr=False)  # None: ambiguous
    _symbol_by_words: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for item in self.paths:
            self._by_lower.setdefault(item.lower(), item)
            name = item.rsplit("/", 1)[-1].lower()
            self._by_lower.setdefault(name, item)
            stem = name.split(".", 1)[0]
            if stem and stem != name:
                self._by_stem[stem] = item if stem not in self._by_stem else None
        for symbol in self.symbols:
            self._symbol_by_words.setdefault(symbol_words(symbol), symbol)

    def prompt(self, limit: int = 24, symbol_limit: int = 0) -> str:
        """File names (shallow ones first) to bias recognition toward, and as many
        defined names as asked for, as they are said. None by default: measured on the
        harder set, adding even one ("parse") to the hotwords cost two commands of 58
        (tiny.en hears the whole utterance differently), while no miss was a name."""
        names = sorted(self.paths, key=lambda p: (p.count("/"), len(p), p.lower()))[:limit]
        spoken = [symbol_words(s) for s in self.symbols[:symbol_limit]]
        return ", ".join([*(name.rsplit("/", 1)[-1] for name in names), *spoken])

    def resolve_symbol(self, spoken: str) -> str | None:
        """The workspace name that `spoken` says ("parse dates" → `parse_dates`)."""
        return self._symbol_by_words.get(" ".join(spoken.lower().split()))

    def plausible_path(self, value: str) -> bool:
        """A workspace file, or at least something shaped like a file name."""
        return value.lower() in self._by_lower or "." in value or "/" in value

    def resolve_path(self, spoken: str) -> str:
        """The workspace path the user most likely meant, else what they said."""
        key = spoken.lower()
        if key in self._by_lower:
            return self._by_lower[key]
        squashed = key.replace(" ", "")
        if squashed in self._by_lower:
            return self._by_lower[squashed]
        by_stem = self._by_stem.get(squashed)  # "the readme" → README.md, if only one
        if by_stem is not None:
            return by_stem
        if self._by_lower:
            match = process.extractOne(key, list(self._by_lower), scorer=fuzz.ratio)
            if match and match[1] >= 85:
                return self._by_lower[match[0]]
        return CONVENTIONAL_NAMES.get(key, spoken)


def symbol_words(symbol: str) -> str:
    """How a name is said: `parse_dates`, `parseDates`, `ParseDates` → "parse dates"."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", symbol)
    return " ".join(part.lower() for part in parts)


CONVENTIONAL_NAMES = {
    name.lower(): name
    for name in (
        "README.md",
        "README",
        "README.rst",
        "LICENSE",
        "CHANGELOG.md",
        "CONTRIBUTING.md",
        "Makefile",
        "Dockerfile",
        "CMakeLists.txt",
    )
}


# -- phrases -------------------------------------------------------------------------


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


# -- normalisation -----------------------------------------------------------------


def normalize(transcript: str, *, keep_repeats: bool = False) -> list[str]:
    """Lowercase words, with written punctuation turned back into what was said."""
    text = transcript.lower().replace("\u2019", "'")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"(?<=\w)\.(?=\w)", " dot ", text)
    text = re.sub(r"(?<=\w)/(?=\w)", " slash ", text)
    text = re.sub(r"(?<=[a-z0-9])_(?=[a-z0-9])", " underscore ", text)
    text = re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "")
    text = " ".join(text.split())
    text = re.sub(r"\b(snake|camel|pascal|kebab)(k|ks|case|cased)\b", r"\1 case", text)
    for heard, meant in SOUNDS_LIKE.items():
        text = re.sub(rf"\b{re.escape(heard)}\b", meant, text)
    words = _strip_fillers(text.split())
    return words if keep_repeats else _dedupe_repeat(words)


def _strip_fillers(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for filler in FILLERS_BEFORE:
            f = filler.split()
            if words[: len(f)] == f and len(words) > len(f):
                words, changed = words[len(f) :], True
        for filler in FILLERS_AFTER:
            f = filler.split()
            if words[-len(f) :] == f and len(words) > len(f):
                words, changed = words[: -len(f)], True
    return words


def _dedupe_repeat(words: list[str]) -> list[str]:
    """Whisper sometimes says a short command again and again: keep it once (cut where
    the opening two words come back)."""
    return repeats(words)[0]


def repeats(words: list[str]) -> list[list[str]]:
    """The readings of a transcript in which whisper said the command several times
    ("write a function at reverse in a string write a function that reverses …"): each
    restart of the opening word begins another reading of the same audio."""
    cuts = [0]
    for i in range(2, len(words)):
        if words[i] == words[0] and (i - cuts[-1] >= 3 or words[i + 1 : i + 2] == words[1:2]):
            cuts.append(i)
    return [words[a:b] for a, b in zip(cuts, [*cuts[1:], len(words)], strict=True)]


def readings(transcript: str) -> list[str]:
    """Every reading of one transcript, as normalised text (see `repeats`)."""
    return [" ".join(r) for r in repeats(normalize(transcript, keep_repeats=True)) if r]


# -- matching ------------------------------------------------------------------------


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
    for variant in variants():
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


CASE_STYLE_WORDS = ("snake", "camel", "pascal", "kebab")
STYLE_LED_SCORE = FUZZY_FLOOR + 0.02  # above chat, below any phrase that matched


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


def merge(lists: Iterable[list[Candidate]]) -> list[Candidate]:
    """Candidates from several transcripts: best score per (command, args)."""
    best: dict[tuple[str, str], Candidate] = {}
    for candidates in lists:
        for candidate in candidates:
            if candidate.key not in best or best[candidate.key].score < candidate.score:
                best[candidate.key] = candidate
    return sorted(best.values(), key=lambda c: -c.score)
