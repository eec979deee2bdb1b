"""The workspace's side of the grammar: its file paths and defined names, so a spoken
path or name resolves to what the user meant. `voice.vocabulary` builds one from a
workspace; the grammar only reads it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

if TYPE_CHECKING:
    from voice._phrases import Variant

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


def symbol_words(symbol: str) -> str:
    """How a name is said: `parse_dates`, `parseDates`, `ParseDates` → "parse dates"."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", symbol)
    return " ".join(part.lower() for part in parts)


@dataclass
class Vocabulary:
    """What a workspace adds to the grammar: its file paths (to resolve spoken paths),
    the names its code defines (to resolve a spoken name to the identifier it was said
    for), most defined first, and the commands its extensions contribute, as said."""

    paths: Sequence[str] = ()
    symbols: Sequence[str] = ()
    commands: Sequence[Variant] = ()
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

    @property
    def command_words(self) -> frozenset[str]:
        """The words of the contributed commands (for decodes held to command words)."""
        return frozenset(word for variant in self.commands for word in variant.words)

    def prompt(self, limit: int = 24, symbol_limit: int = 0, command_limit: int = 16) -> str:
        """What to bias recognition toward: the contributed commands' phrases (tiny.en
        hears "deploy to staging" as "the light is changing" without them, and exactly
        with them), file names (shallow ones first), and as many defined names as asked
        for, as they are said. No names by default: measured on the harder set, adding
        even one ("parse") to the hotwords cost two commands of 58 (tiny.en hears the
        whole utterance differently), while no miss was a name."""
        phrases = list(dict.fromkeys(v.text for v in self.commands))[:command_limit]
        names = sorted(self.paths, key=lambda p: (p.count("/"), len(p), p.lower()))[:limit]
        spoken = [symbol_words(s) for s in self.symbols[:symbol_limit]]
        return ", ".join([*phrases, *(name.rsplit("/", 1)[-1] for name in names), *spoken])

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
