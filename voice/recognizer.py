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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from voice.audio import SAMPLE_RATE
from voice.commands_table import RULES, Rule
from voice.grammar import (
    CHAT,
    Candidate,
    Vocabulary,
    command_words,
    merge,
    normalize,
    number_command_words,
    number_literals,
    one_word_wordings,
    parse,
    readings,
    variants,
)
from voice.numbers import SOUNDALIKES, is_number_word, parse_number
from voice.transcriber import Hypothesis, Transcriber

RESCORE_ACCEPT = 3.25  # at most this much below what was heard (mean log-prob per token)
RESCORE_MARGIN = 0.75  # over the best wording of another command (measured: right ≥ 0.96)
AUDIO_WEIGHT = 0.1  # how much one nat of audio likelihood moves a grammar score
MAX_ALTERNATIVES = 5
RULE_BY_COMMAND = {rule.command: rule for rule in RULES}
NEAR_PHRASING = 55  # rapidfuzz ratio: a phrasing this close to what was heard is scored
# Decoding held to the commands' words: a hypothesis that says a command exactly wins if
# whisper found it at most this much less likely (mean log-probability per token) than
# what it heard freely; a near match ("do that", "start the me bug") must be as likely,
# and differ from what was heard.
WITHIN_MARGIN = 0.3
WITHIN_FUZZY = 0.8
WITHIN_SIMILAR = 50  # rapidfuzz ratio to what was heard: "thanks" is not "fix"
NEAR_SCORE = 0.6  # a held hypothesis this close to a command puts its wording up for rescoring
NEAR_COMMANDS = 2
NEAR_NUMBER_COMMAND = 70  # rapidfuzz ratio of what was heard's opening words to such a command's
SHORT_SECONDS = 1.0  # an utterance this short has every one-word command scored


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
    if rescore and not _exact(candidates):
        stage = "held"
        candidates, near = await _within_commands(
            transcriber, audio, candidates, hypotheses[0], vocab, prompt
        )
    if rescore and not _exact(candidates) and _near_number_command(hypotheses):
        candidates = await _within_numbers(
            transcriber, audio, candidates, hypotheses[0], vocab, prompt
        )
    if rescore and not _exact(candidates):
        stage = "rescored"
        candidates = await _rescore(transcriber, audio, candidates, hypotheses, vocab, near)
    if not _exact(candidates):
        stage = "guessed"
    if rescore and candidates and _slot_uncertain(candidates[0], hypotheses, vocab):
        candidates = await _refine_slot(transcriber, audio, candidates, vocab, prompt)
    commands = [c for c in candidates if c.command != CHAT]
    chat = [c for c in candidates if c.command == CHAT][:1]
    ranked = sorted(commands + chat, key=lambda c: -c.score)
    return Recognition(transcript, ranked[:MAX_ALTERNATIVES], hypotheses, stage)


def _exact(candidates: list[Candidate]) -> bool:
    return any(c.score >= 1.0 and c.command != CHAT for c in candidates)


async def _held(
    transcriber: Transcriber,
    audio: np.ndarray,
    prompt: str,
    heard: Hypothesis,
    words: frozenset[str],
) -> list[tuple[Hypothesis, str, bool]]:
    """Readings decoded with every token outside `words` suppressed, each with its
    normalized text and whether it is credible: nearly as likely as what whisper heard
    freely, and close to it in spelling ("thanks" is not "fix")."""
    said = " ".join(normalize(heard.text))
    found = []
    for h in await transcriber.transcribe(audio, prompt, 3, within=words):
        held = " ".join(normalize(h.text))
        credible = (
            h.logprob >= heard.logprob - WITHIN_MARGIN and fuzz.ratio(said, held) >= WITHIN_SIMILAR
        )
        found.append((h, held, credible))
    return found


async def _within_commands(
    transcriber: Transcriber,
    audio: np.ndarray,
    candidates: list[Candidate],
    heard: Hypothesis,
    vocab: Vocabulary,
    prompt: str,
) -> tuple[list[Candidate], list[Candidate]]:
    """Decode again, held to the words of the argument-free commands. A hypothesis that
    says one of them exactly, nearly as likely as what whisper heard freely, wins.
    Otherwise the commands those hypotheses come near are returned, for rescoring."""
    said = " ".join(normalize(heard.text))
    near: dict[str, Candidate] = {}
    for h, held, credible in await _held(transcriber, audio, prompt, heard, command_words()):
        # a near match is new evidence only if holding the words changed them
        near_ok = held != said and h.logprob >= heard.logprob
        for c in parse(h.text, vocab):
            if c.args or c.command == CHAT or c.score < NEAR_SCORE:
                continue
            c.transcript = heard.text
            if credible and (c.score >= 1.0 or (c.score >= WITHIN_FUZZY and near_ok)):
                c.score = 1.0
                return [c, *(other for other in candidates if other.key != c.key)], []
            c.score = NEAR_SCORE  # evidence only once the audio rescoring agrees
            near.setdefault(c.command, c)
    return candidates, list(near.values())[:NEAR_COMMANDS]


def _near_number_command(hypotheses: list[Hypothesis]) -> bool:
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


async def _within_numbers(
    transcriber: Transcriber,
    audio: np.ndarray,
    candidates: list[Candidate],
    heard: Hypothesis,
    vocab: Vocabulary,
    prompt: str,
) -> list[Candidate]:
    """Decode again, held to the words of the commands that take a number and the number
    words. A hypothesis that says one of them, with the number as all of its last words
    ("seven to five" is no number), nearly as likely as what was heard, wins."""
    for h, _, credible in await _held(transcriber, audio, prompt, heard, number_command_words()):
        if not credible:
            continue
        words = normalize(h.text, keep_repeats=True)
        for c in parse(h.text, vocab):
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
            c.transcript = heard.text
            c.score = 1.0
            return [c, *(other for other in candidates if other.key != c.key)]
    return candidates


def _with_hypothesis_penalty(c: Candidate, h: Hypothesis, best: Hypothesis) -> Candidate:
    """Later hypotheses count a little less, by how much less likely whisper found them."""
    c.score += min(0.0, h.logprob - best.logprob) * 0.05
    return c


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


async def _rescore(
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
    rule = RULE_BY_COMMAND[c.command]
    if rule.kind != "path" or rule.slot is None:
        return True
    return vocab.plausible_path(str(c.args.get(rule.slot, "")))


# -- arguments -----------------------------------------------------------------------

CASE_STYLES = ("snake", "camel", "pascal", "kebab")
CASE_MARKERS = {"case", "k", "ks", "kase", "cased", "cake", "kay"}
REFINED_KINDS = {"identifier", "text", "path"}
NOT_IN_NAMES = frozenset({"it", "the", "a", "an", "this", "that", "them", "they", "he", "she"})
NOT_A_NAME_PENALTY = 0.15  # per such word, in mean log-probability per token
NAME_HYPOTHESES = 5
SLOT_CONFIDENT = -0.5  # whisper's mean token log-probability above which words stand


def _slot_uncertain(top: Candidate, hypotheses: list[Hypothesis], vocab: Vocabulary) -> bool:
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


async def _refine_slot(
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
