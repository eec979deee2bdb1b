"""Second decodes held to a closed vocabulary (every other token suppressed), for when
no hypothesis says a command exactly.

Held to the words of the argument-free commands, whisper hears "undo it" where it
freely heard "undo at", at the cost of one more decoder pass. Commands that take a
number get the same second chance (numbers are a closed vocabulary too): held to those
commands' words and the number words, whisper hears "toggle break, put on line thirty"
where it freely heard "total break point online survey".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from voice._phrases import RULE_BY_COMMAND
from voice.grammar import (
    CHAT,
    Candidate,
    Vocabulary,
    command_words,
    normalize,
    number_command_words,
    number_literals,
    parse,
    readings,
)
from voice.numbers import SOUNDALIKES, is_number_word, parse_number
from voice.transcriber import Hypothesis, Transcriber

# A hypothesis that says a command exactly wins if whisper found it at most this much
# less likely (mean log-probability per token) than what it heard freely; a near match
# ("do that", "start the me bug") must be as likely, and differ from what was heard.
WITHIN_MARGIN = 0.3
WITHIN_FUZZY = 0.8
WITHIN_SIMILAR = 50  # rapidfuzz ratio to what was heard: "thanks" is not "fix"
NEAR_SCORE = 0.6  # a held hypothesis this close to a command puts its wording up for rescoring
NEAR_COMMANDS = 2
NEAR_NUMBER_COMMAND = 70  # rapidfuzz ratio of what was heard's opening words to such a command's


@dataclass(frozen=True)
class Utterance:
    """What a held decode starts from: the audio, what whisper heard in it freely (its
    best hypothesis), and the vocabulary and prompt it was heard with."""

    transcriber: Transcriber
    audio: np.ndarray
    heard: Hypothesis
    vocab: Vocabulary
    prompt: str


async def held(utterance: Utterance, words: frozenset[str]) -> list[tuple[Hypothesis, str, bool]]:
    """Readings decoded with every token outside `words` suppressed, each with its
    normalized text and whether it is credible: nearly as likely as what whisper heard
    freely, and close to it in spelling ("thanks" is not "fix")."""
    heard = utterance.heard
    said = " ".join(normalize(heard.text))
    found = []
    hypotheses = await utterance.transcriber.transcribe(
        utterance.audio, utterance.prompt, 3, within=words
    )
    for h in hypotheses:
        text = " ".join(normalize(h.text))
        credible = (
            h.logprob >= heard.logprob - WITHIN_MARGIN and fuzz.ratio(said, text) >= WITHIN_SIMILAR
        )
        found.append((h, text, credible))
    return found


async def within_commands(
    utterance: Utterance, candidates: list[Candidate]
) -> tuple[list[Candidate], list[Candidate]]:
    """Decode again, held to the words of the argument-free commands. A hypothesis that
    says one of them exactly, nearly as likely as what whisper heard freely, wins.
    Otherwise the commands those hypotheses come near are returned, for rescoring."""
    heard = utterance.heard
    said = " ".join(normalize(heard.text))
    near: dict[str, Candidate] = {}
    for h, text, credible in await held(utterance, command_words() | utterance.vocab.command_words):
        # a near match is new evidence only if holding the words changed them
        near_ok = text != said and h.logprob >= heard.logprob
        for c in parse(h.text, utterance.vocab):
            if c.args or c.command == CHAT or c.score < NEAR_SCORE:
                continue
            c.transcript = heard.text
            if credible and (c.score >= 1.0 or (c.score >= WITHIN_FUZZY and near_ok)):
                c.score = 1.0
                return [c, *(other for other in candidates if other.key != c.key)], []
            c.score = NEAR_SCORE  # evidence only once the audio rescoring agrees
            near.setdefault(c.command, c)
    return candidates, list(near.values())[:NEAR_COMMANDS]


def near_number_command(hypotheses: list[Hypothesis]) -> bool:
    """Whether what was heard opens like a command that takes a number."""
    for h in hypotheses:
        for reading in readings(h.text):
            words = reading.split()
            for literal in number_literals():
                n = len(literal.split())
                if (
                    len(words) >= n
                    and fuzz.ratio(" ".join(words[:n]), literal) >= NEAR_NUMBER_COMMAND
                ):
                    return True
    return False


async def within_numbers(utterance: Utterance, candidates: list[Candidate]) -> list[Candidate]:
    """Decode again, held to the words of the commands that take a number and the number
    words. A hypothesis that says one of them, with the number as all of its last words
    ("seven to five" is no number), nearly as likely as what was heard, wins."""
    for h, _, credible in await held(utterance, number_command_words()):
        if not credible:
            continue
        words = normalize(h.text, keep_repeats=True)
        for c in parse(h.text, utterance.vocab):
            rule = RULE_BY_COMMAND.get(c.command)
            if rule is None or rule.kind != "number" or c.score < WITHIN_FUZZY:
                continue
            tail = c.phrase.split()[len(c.literal.split()) :]
            before = words[-len(tail) - 1] if len(words) > len(tail) else ""
            if (
                words[-len(tail) :] != tail
                or parse_number(tail) != c.args.get(str(rule.slot))
                or is_number_word(before)
                or before in SOUNDALIKES
            ):
                continue
            c.transcript = utterance.heard.text
            c.score = 1.0
            return [c, *(other for other in candidates if other.key != c.key)]
    return candidates
