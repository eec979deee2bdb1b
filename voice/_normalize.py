"""A transcript as the words that were said: written punctuation spoken again, known
mishearings fixed, fillers dropped, and whisper's repetitions of a command split into
separate readings."""

from __future__ import annotations

import re

from voice.commands_table import FILLERS_AFTER, FILLERS_BEFORE, SOUNDS_LIKE


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
