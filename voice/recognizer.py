"""Audio → ranked candidates: whisper hypotheses parsed by the grammar, and rescored
against the audio when the words alone do not settle it.

Rescoring asks the decoder how likely each candidate's wording is for this audio
(forced alignment gives per-token probabilities). It runs only when no hypothesis
matched the grammar exactly, because it costs as much as a second decode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voice.commands_table import RULES
from voice.grammar import CHAT, Candidate, Vocabulary, merge, parse
from voice.transcriber import Hypothesis, Transcriber

RESCORE_ACCEPT = -5.0  # mean token log-probability a command wording needs to win
RESCORE_MARGIN = 1.0  # over the runner-up wording
AUDIO_WEIGHT = 0.1  # how much one nat of audio likelihood moves a grammar score
MAX_ALTERNATIVES = 5


@dataclass
class Recognition:
    transcript: str
    candidates: list[Candidate]
    hypotheses: list[Hypothesis]


async def recognize(
    transcriber: Transcriber,
    audio: np.ndarray,
    vocab: Vocabulary,
    *,
    rescore: bool = True,
    bias: bool = True,
) -> Recognition:
    hypotheses = await transcriber.transcribe(audio, vocab.prompt() if bias else "", n=3)
    if not hypotheses:
        return Recognition("", [], [])
    transcript = hypotheses[0].text
    candidates = merge(
        [
            [_with_hypothesis_penalty(c, h, hypotheses[0]) for c in parse(h.text, vocab)]
            for h in hypotheses
        ]
    )
    exact = any(c.score >= 1.0 and c.command != CHAT for c in candidates)
    if rescore and not exact:
        candidates = await _rescore(transcriber, audio, candidates)
    commands = [c for c in candidates if c.command != CHAT]
    chat = [c for c in candidates if c.command == CHAT][:1]
    ranked = sorted(commands + chat, key=lambda c: -c.score)
    return Recognition(transcript, ranked[:MAX_ALTERNATIVES], hypotheses)


def _with_hypothesis_penalty(c: Candidate, h: Hypothesis, best: Hypothesis) -> Candidate:
    """Later hypotheses count a little less, by how much less likely whisper found them."""
    c.score += min(0.0, h.logprob - best.logprob) * 0.05
    return c


async def _rescore(
    transcriber: Transcriber, audio: np.ndarray, candidates: list[Candidate]
) -> list[Candidate]:
    """Score the top candidates' wordings and every argument-free command's canonical
    wording against the audio; a clear winner becomes the top candidate."""
    pool = {c.key: c for c in candidates[:4] if c.command != CHAT}
    for rule in RULES:
        if rule.slot is None:
            c = Candidate(rule.command, {}, 0.0, candidates[0].transcript if candidates else "")
            c.phrase = rule.canonical
            pool.setdefault(c.key, c)
    pooled = list(pool.values())
    scores = await transcriber.score(audio, [c.phrase for c in pooled])
    ranked = sorted(zip(scores, pooled, strict=True), key=lambda pair: -pair[0])
    if not ranked:
        return candidates
    best_score, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else -1e9
    by_key = {c.key: c for c in candidates}
    for score, c in ranked:
        target = by_key.setdefault(c.key, c)
        target.score = max(target.score, 0.6) + AUDIO_WEIGHT * (score - best_score)
    # only a canonical wording may win outright: a transcript always fits its own audio
    if not best.args and best_score >= RESCORE_ACCEPT and best_score - runner_up >= RESCORE_MARGIN:
        by_key[best.key].score = 1.0
    return sorted(by_key.values(), key=lambda c: -c.score)
