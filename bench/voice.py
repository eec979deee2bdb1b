"""Voice commands: accuracy and latency (end of audio → command) of our pipeline against
a naive one (plain faster-whisper transcription of the same model + exact phrase match),
on the shared fixtures, on a harder generated set (other voices, speeds, noise) and on a
set of espeak-ng voice variants and phrasings written after the recogniser was tuned.

Both pipelines run in this process, one after the other, on the same audio and model
(tiny.en, int8, 2 threads). Latency is from having the whole utterance to having the
command: recognition only, no HTTP. Prints ours, naive and the ratio; medians of runs.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests._voice_cases import VARIANT_VOICES, WORKSPACE_FILES, fixture_cases, harder_cases
from voice.audio import decode, speech_span
from voice.grammar import Vocabulary
from voice.recognizer import recognize
from voice.transcriber import Transcriber
from voice.vocabulary import build_vocabulary

RUNS = 3


def naive_command(text: str, phrases: dict[str, tuple[str, dict[str, Any]]]) -> tuple[str, Any]:
    words = re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()
    return phrases.get(words, ("ai.chat", {"text": text.strip()}))


async def run_set(
    transcriber: Transcriber, cases: list[dict[str, Any]], vocab: Vocabulary
) -> dict[str, Any]:
    phrases = {c["text"]: (c["expect"]["command"], c["expect"]["args"]) for c in cases}
    ours_ok = naive_ok = 0
    ours_ms: list[float] = []
    naive_ms: list[float] = []
    for case in cases:
        audio = decode(Path(case["audio"]).read_bytes())
        want = (case["expect"]["command"], case["expect"]["args"])
        started = time.perf_counter()
        speech = speech_span(audio)
        rec = await recognize(transcriber, speech, vocab) if speech is not None else None
        got = (
            (rec.candidates[0].command, rec.candidates[0].args) if rec and rec.candidates else None
        )
        ours_ms.append((time.perf_counter() - started) * 1000)
        ours_ok += got == want
        started = time.perf_counter()
        segments, _ = transcriber._model.transcribe(audio, language="en", beam_size=1)
        text = " ".join(s.text for s in segments)
        naive_got = naive_command(text, phrases)
        naive_ms.append((time.perf_counter() - started) * 1000)
        naive_ok += naive_got == want
    n = len(cases)
    q = statistics.quantiles
    return {
        "ours_acc": ours_ok / n,
        "naive_acc": naive_ok / n,
        "ours_p50": statistics.median(ours_ms),
        "ours_p95": q(ours_ms, n=20)[18],
        "naive_p50": statistics.median(naive_ms),
        "naive_p95": q(naive_ms, n=20)[18],
    }


async def main() -> None:
    transcriber = Transcriber(None)
    transcriber.start()
    await transcriber.wait_ready(120)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "workspace"  # what the server builds from a workspace
        workspace.mkdir()
        for name, text in WORKSPACE_FILES.items():
            (workspace / name).write_text(text)
        vocab = build_vocabulary(workspace)
        sets = {
            "fixtures": fixture_cases(),
            "harder": harder_cases(Path(tmp) / "harder"),
            "variants": harder_cases(Path(tmp) / "variants", VARIANT_VOICES),
        }
        for name, cases in sets.items():
            runs = [await run_set(transcriber, cases, vocab) for _ in range(RUNS)]
            m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"voice {name} ({len(cases)} utterances, median of {RUNS} runs)")
            print(
                f"  exact   ours {m['ours_acc']:.1%}  naive {m['naive_acc']:.1%}  "
                f"ratio {m['ours_acc'] / max(m['naive_acc'], 1e-9):.2f}x"
            )
            for p in ("p50", "p95"):
                ours, naive = m[f"ours_{p}"], m[f"naive_{p}"]
                print(
                    f"  {p} ms  ours {ours:.0f}  naive {naive:.0f}  ratio {naive / ours:.2f}x"
                    " (naive/ours)"
                )
    await transcriber.close()


if __name__ == "__main__":
    asyncio.run(main())
