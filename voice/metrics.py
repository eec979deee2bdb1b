"""Prometheus metrics of the voice subsystem (in the server's one registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from server.metrics import REGISTRY

LATENCY = Histogram(
    "nexus_voice_latency_seconds",
    "From the end of speech to a recognised command.",
    ["source"],
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
TRANSCRIPTIONS = Counter(
    "nexus_voice_transcriptions_total",
    "Utterances transcribed, by outcome (command, chat, choice, silence).",
    ["outcome"],
    registry=REGISTRY,
)
RECOGNITION_STAGES = Counter(
    "nexus_voice_recognition_stage_total",
    "Which step settled an utterance: heard (the transcript said a command), held (the "
    "decode held to the commands' words), rescored (audio rescoring), guessed (fuzzy or chat).",
    ["stage"],
    registry=REGISTRY,
)
ALTERNATIVES_CHOSEN = Counter(
    "nexus_voice_alternatives_chosen_total",
    "Times a speaker picked an alternative ('choose two'), by its rank.",
    ["rank"],
    registry=REGISTRY,
)
UNDONE = Counter(
    "nexus_voice_undone_total",
    "Voice commands undone right after they ran (an accuracy signal).",
    registry=REGISTRY,
)
EXECUTIONS = Counter(
    "nexus_voice_executions_total",
    "Recognised commands, by outcome (ok, refused, unavailable, failed, dry_run).",
    ["outcome"],
    registry=REGISTRY,
)
MODEL_LOAD_SECONDS = Gauge(
    "nexus_voice_model_load_seconds", "Time to load and warm the speech model.", registry=REGISTRY
)
MODEL_READY = Gauge(
    "nexus_voice_model_ready", "1 when the speech model is loaded.", registry=REGISTRY
)
