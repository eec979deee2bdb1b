"""A second look at a command's argument when whisper was unsure of it (low
log-probability, hypotheses that disagree, a transcript that repeats itself, a case
style that is not clearly one of snake/camel/pascal/kebab): the case style is picked by
scoring each style's wording against the audio, then whisper decodes again with the
command's words (and style) forced as the start, which makes it hear the argument
better. Both reuse the utterance's encoder output, so each costs only decoder time."""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz

from voice._phrases import RULE_BY_COMMAND
from voice.grammar import Candidate, Vocabulary, normalize, parse, readings
from voice.transcriber import Hypothesis, Transcriber

CASE_STYLES = ("snake", "camel", "pascal", "kebab")
CASE_MARKERS = {"case", "k", "ks", "kase", "cased", "cake", "kay"}
REFINED_KINDS = {"identifier", "text", "path"}
NOT_IN_NAMES = frozenset({"it", "the", "a", "an", "this", "that", "them", "they", "he", "she"})
NOT_A_NAME_PENALTY = 0.15  # per such word, in mean log-probability per token
NAME_HYPOTHESES = 5
SLOT_CONFIDENT = -0.5  # whisper's mean token log-probability above which words stand


def slot_uncertain(top: Candidate, hypotheses: list[Hypothesis], vocab: Vocabulary) -> bool:
    """An argument is worth a second look when whisper was unsure of the words, when the
    hypotheses disagree on it, or when whisper said the command more than once (its
    readings of the audio differ)."""
    rule = RULE_BY_COMMAND.get(top.command)
    if rule is None or rule.slot is None or rule.kind not in REFINED_KINDS:
        return False
    if hypotheses[0].logprob < SLOT_CONFIDENT:
        return True
    if rule.kind == "identifier" and _style_unclear(top):
        return True
    if any(len(readings(h.text)) > 1 for h in hypotheses):
        return True
    values = {repr(_best_args(h.text, top.command, vocab)) for h in hypotheses}
    return len(values) > 1


def _best_args(text: str, command: str, vocab: Vocabulary) -> dict[str, object] | None:
    for c in parse(text, vocab):
        if c.command == command:
            return c.args
    return None


async def refine_slot(
    transcriber: Transcriber,
    audio: np.ndarray,
    candidates: list[Candidate],
    vocab: Vocabulary,
    prompt: str,
) -> list[Candidate]:
    """Decode again with the command's words forced as the start: whisper hears the
    argument better once it knows the command (a spoken case style is settled against
    the audio first). Its best reading, by its own score, gives the argument."""
    top = candidates[0]
    rule = RULE_BY_COMMAND[top.command]
    prefix = top.literal
    if rule.kind == "identifier":
        prefix = await _case_prefix(transcriber, audio, top)
    n = NAME_HYPOTHESES if rule.kind == "identifier" else 3
    again = await transcriber.transcribe(audio, prompt, n, prefix)
    if rule.kind == "identifier":
        again.sort(key=lambda h: -(h.logprob - NOT_A_NAME_PENALTY * _pronouns(h.text, prefix)))
    for h in again:
        for c in parse(h.text, vocab):
            if c.command == top.command and c.literal == top.literal:
                if c.key == top.key:
                    return candidates
                refined = Candidate(
                    top.command, c.args, top.score, top.transcript, c.phrase, top.literal
                )
                return [refined, *(c for c in candidates if c.key != refined.key)]
    return candidates


def _pronouns(text: str, prefix: str) -> int:
    """Articles and pronouns after the command's words: names are rarely made of them,
    misheard syllables often are ("retry limit" heard as "retry, leave it")."""
    return sum(w in NOT_IN_NAMES for w in normalize(text)[len(prefix.split()) :])


def _style_said(top: Candidate) -> bool:
    """Whether the words after the command look like a case style ("come up case")."""
    head = top.phrase.split()[len(top.literal.split()) :][:3]
    return bool(head) and (
        any(w in CASE_MARKERS for w in head[1:])
        or any(fuzz.ratio(head[0], style) >= 60 for style in CASE_STYLES)
    )


def _style_unclear(top: Candidate) -> bool:
    head = top.phrase.split()[len(top.literal.split()) :][:2]
    return _style_said(top) and not (head[0] in CASE_STYLES and head[1:] == ["case"])


async def _case_prefix(transcriber: Transcriber, audio: np.ndarray, top: Candidate) -> str:
    """The command's words plus the case style said after them, when one seems to be
    ("come up case", "pascal k's"): the style whose wording fits the audio best."""
    if not _style_said(top):
        return top.literal
    texts = [f"{top.literal} {style} case" for style in CASE_STYLES]
    scores = await transcriber.score(audio, texts)
    return max(zip(scores, texts, strict=True))[1]
