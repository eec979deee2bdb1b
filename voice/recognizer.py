"""Audio → ranked candidates: whisper hypotheses parsed by the grammar, and rescored
against the audio when the words alone do not settle it.

When no hypothesis says a command exactly, whisper decodes once more held to the words
of the argument-free commands (every other token suppressed): it then hears "undo it"
where it freely heard "undo at", at the cost of one more decoder pass. Commands that take a
number get the same second chance (numbers are a closed vocabulary too): held to those
commands' words and the number words, whisper hears "toggle break, put on line thirty"
where it freely heard "total break point online survey". If that does not
settle it either, rescoring asks the decoder how likely each candidate's wording is
for this audio (forced alignment gives per-token probabilities): the top candidates, the
commands the held decode came near, and each argument-free command's phrasing nearest to
what was heard. A wording wins only if it is nearly as likely as what was heard, so a
question stays a question. In a short utterance (under a second) every one-word command
is scored too: there, what was heard ("dame") is too little to find the wording by
spelling ("save").

Arguments get a second look when whisper was unsure of them (low log-probability,
hypotheses that disagree, a transcript that repeats itself, a case style that is not
clearly one of snake/camel/pascal/kebab): the case style is picked by scoring each
style's wording against the audio, then whisper decodes again with the command's words
(and style) forced as the start, which makes it hear the argument better. Both reuse the
utterance's encoder output, so each costs only decoder time.

Each step lives in its own module: `_held` (the held decodes), `_rescore` (the audio
rescoring), `_slots` (the argument's second look); this one orders them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voice import _held, _rescore, _slots
from voice._phrases import RULE_BY_COMMAND
from voice.grammar import CHAT, Candidate, Vocabulary, merge, parse
from voice.transcriber import Hypothesis, Transcriber

__all__ = ["MAX_ALTERNATIVES", "RULE_BY_COMMAND", "Recognition", "recognize"]

MAX_ALTERNATIVES = 5


@dataclass
class Recognition:
    transcript: str
    candidates: list[Candidate]
    hypotheses: list[Hypothesis]
    # which step settled the command: "heard" (what whisper heard says it), "held" (the
    # decode held to the commands' words), "rescored" (the audio rescoring), "guessed"
    # (the best fuzzy match, or chat); "" when nothing was heard
    stage: str = ""


async def recognize(
    transcriber: Transcriber,
    audio: np.ndarray,
    vocab: Vocabulary,
    *,
    rescore: bool = True,
    bias: bool = True,
) -> Recognition:
    prompt = vocab.prompt() if bias else ""
    hypotheses = await transcriber.transcribe(audio, prompt, n=3)
    if not hypotheses:
        return Recognition("", [], [])
    transcript = hypotheses[0].text
    candidates = merge(
        [
            [_with_hypothesis_penalty(c, h, hypotheses[0]) for c in parse(h.text, vocab)]
            for h in hypotheses
        ]
    )
    stage = "heard"
    near: list[Candidate] = []
    utterance = _held.Utterance(transcriber, audio, hypotheses[0], vocab, prompt)
    if rescore and not _exact(candidates):
        stage = "held"
        candidates, near = await _held.within_commands(utterance, candidates)
    if rescore and not _exact(candidates) and _held.near_number_command(hypotheses):
        candidates = await _held.within_numbers(utterance, candidates)
    if rescore and not _exact(candidates):
        stage = "rescored"
        candidates = await _rescore.rescore(transcriber, audio, candidates, hypotheses, vocab, near)
    if not _exact(candidates):
        stage = "guessed"
    if rescore and candidates and _slots.slot_uncertain(candidates[0], hypotheses, vocab):
        candidates = await _slots.refine_slot(transcriber, audio, candidates, vocab, prompt)
    commands = [c for c in candidates if c.command != CHAT]
    chat = [c for c in candidates if c.command == CHAT][:1]
    ranked = sorted(commands + chat, key=lambda c: -c.score)
    return Recognition(transcript, ranked[:MAX_ALTERNATIVES], hypotheses, stage)


def _exact(candidates: list[Candidate]) -> bool:
    return any(c.score >= 1.0 and c.command != CHAT for c in candidates)


def _with_hypothesis_penalty(c: Candidate, h: Hypothesis, best: Hypothesis) -> Candidate:
    """Later hypotheses count a little less, by how much less likely whisper found them."""
    c.score += min(0.0, h.logprob - best.logprob) * 0.05
    return c
