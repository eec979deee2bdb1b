"""Audio intake: any WAV (or other soundfile format) → 16 kHz mono float32."""

from __future__ import annotations

import io
import wave

import numpy as np

from server.errors import InvalidInput, NexusError, PayloadTooLarge

SAMPLE_RATE = 16_000
MAX_SECONDS = 30.0


class UnsupportedAudio(NexusError):
    status = 415
    code = "unsupported_audio"


def decode(body: bytes, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Decode a WAV body; refuse what is not audio (415), empty (422) or too long (413)."""
    if not body:
        raise InvalidInput("the body is empty; send a WAV file")
    samples, rate = _read(body)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.size == 0 or rate <= 0:
        raise InvalidInput("the audio has no samples")
    seconds = samples.size / rate
    if seconds > max_seconds:
        raise PayloadTooLarge(f"the audio is {seconds:.1f} s long; at most {max_seconds:g} s")
    return resample(samples.astype(np.float32), rate)


def _read(body: bytes) -> tuple[np.ndarray, int]:
    try:
        import soundfile

        data, rate = soundfile.read(io.BytesIO(body), dtype="float32", always_2d=False)
        return np.asarray(data), int(rate)
    except Exception as soundfile_error:
        try:
            return _read_wave(body)
        except (wave.Error, EOFError, ValueError) as exc:
            raise UnsupportedAudio(
                f"the body is not audio this server can read (send WAV): {exc or soundfile_error}"
            ) from None


def _read_wave(body: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(body)) as reader:
        width, channels, rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
        raw = reader.readframes(reader.getnframes())
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2**31
    else:
        raise ValueError(f"{width * 8}-bit samples are not supported")
    return data.reshape(-1, channels), rate


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """Linear-interpolation resampling to 16 kHz (speech survives it; whisper's own
    front end low-passes to 8 kHz)."""
    if rate == SAMPLE_RATE:
        return np.ascontiguousarray(samples, dtype=np.float32)
    duration = samples.size / rate
    count = max(1, round(duration * SAMPLE_RATE))
    positions = np.arange(count, dtype=np.float64) * (rate / SAMPLE_RATE)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def pcm16(chunk: bytes) -> np.ndarray:
    """Little-endian 16-bit PCM → float32 in [-1, 1]."""
    usable = len(chunk) - len(chunk) % 2
    return np.frombuffer(chunk[:usable], "<i2").astype(np.float32) / 32768


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


def speech_span(samples: np.ndarray, pad_ms: int = 200) -> np.ndarray | None:
    """The stretch of `samples` that holds speech (Silero VAD, shipped with
    faster-whisper), or None for silence and noise."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if samples.size < SAMPLE_RATE // 10:
        return None
    spans = get_speech_timestamps(
        samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=pad_ms)
    )
    if not spans:
        return None
    return samples[spans[0]["start"] : spans[-1]["end"]]
