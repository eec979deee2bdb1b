"""Rescoring against the audio, when the words alone do not settle the command: the
decoder is asked how likely each candidate's wording is for this audio (forced
alignment gives per-token probabilities). A wording wins only if it is nearly as likely
as what was heard, so a question stays a question. In a short utterance (under a second)
every one-word command is scored too: there, what was heard ("dame") is too little to
find the wording by spelling ("save")."""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz

from voice._phrases import RULE_BY_COMMAND
from voice.audio import SAMPLE_RATE
from voice.commands_table import RULES, Rule
from voice.grammar import CHAT, Candidate, Vocabulary, one_word_wordings, readings, variants
from voice.transcriber import Hypothesis, Transcriber

RESCORE_ACCEPT = 3.25  # at most this much below what was heard (mean log-prob per token)
RESCORE_MARGIN = 0.75  # over the best wording of another command (measured: right ≥ 0.96)
AUDIO_WEIGHT = 0.1  # how much one nat of audio likelihood moves a grammar score
NEAR_PHRASING = 55  # rapidfuzz ratio: a phrasing this close to what was heard is scored
SHORT_SECONDS = 1.0  # an utterance this short has every one-word command scored


def _wordings(hypotheses: list[Hypothesis]) -> list[tuple[Rule, str]]:
    """Each argument-free command's phrasing nearest to what was heard, where one is
    near ("show all usages" is a way to say "find all references"). Scoring every
    command's wording as well cost 0.3 s more at p95 and won nothing on three sets."""
    heard = [r for h in hypotheses for r in readings(h.text)]
    out = []
    for rule in RULES:
        if rule.slot is not None:
            continue
        phrasings = [v.text for v in variants() if v.rule is rule]
        if heard and phrasings:
            near = max(phrasings, key=lambda t: max(fuzz.ratio(t, r) for r in heard))
            if max(fuzz.ratio(near, r) for r in heard) >= NEAR_PHRASING:
                out.append((rule, near))
    return out


async def rescore(
    transcriber: Transcriber,
    audio: np.ndarray,
    candidates: list[Candidate],
    hypotheses: list[Hypothesis],
    vocab: Vocabulary,
    near: list[Candidate],
) -> list[Candidate]:
    """Score the top candidates' wordings, the wordings the held decode came near, and
    the argument-free commands' phrasings nearest to what was heard, against the audio;
    a clear winner becomes the top candidate."""
    transcript = candidates[0].transcript if candidates else ""
    scored: list[tuple[Candidate, str]] = [
        (c, c.phrase) for c in [*candidates[:4], *near] if c.command != CHAT and _credible(c, vocab)
    ]
    for rule, wording in _wordings(hypotheses):
        scored.append((Candidate(rule.command, {}, 0.0, transcript, wording), wording))
    if len(audio) < SHORT_SECONDS * SAMPLE_RATE:
        have = {text for _, text in scored}
        for variant in one_word_wordings():
            if variant.text not in have:
                candidate = Candidate(variant.rule.command, {}, 0.0, transcript, variant.text)
                scored.append((candidate, variant.text))
    if not scored:
        return candidates
    # what whisper heard is scored too: a wording far less likely than that was not said
    scores = await transcriber.score(audio, [text for _, text in scored] + [hypotheses[0].text])
    heard = scores.pop()
    best_by_key: dict[tuple[str, str], tuple[float, Candidate]] = {}
    for score, (c, _) in zip(scores, scored, strict=True):
        if c.key not in best_by_key or best_by_key[c.key][0] < score:
            best_by_key[c.key] = (score, c)
    ranked = sorted(best_by_key.values(), key=lambda pair: -pair[0])
    best_score, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else -1e9
    by_key = {c.key: c for c in candidates}
    for score, c in ranked:
        target = by_key.setdefault(c.key, c)
        target.score = max(target.score, 0.6) + AUDIO_WEIGHT * (score - best_score)
    # only an argument-free wording may win outright, and only if it is nearly as likely
    # as what was heard: measured, the commands rescued here scored 0.7-3.0 below it,
    # questions taken for commands ("why is this slow" → "what does this do") 3.5
    if (
        not best.args
        and best_score >= heard - RESCORE_ACCEPT
        and best_score - runner_up >= RESCORE_MARGIN
    ):
        by_key[best.key].score = 1.0
    return sorted(by_key.values(), key=lambda c: -c.score)


def _credible(c: Candidate, vocab: Vocabulary) -> bool:
    """A spoken path that is neither a workspace file nor shaped like one ("open at her
    middle") is the transcript's words, not evidence for a command."""
    rule = RULE_BY_COMMAND.get(c.command)  # None: a contributed command, said as is
    if rule is None or rule.kind != "path" or rule.slot is None:
        return True
    return vocab.plausible_path(str(c.args.get(rule.slot, "")))
