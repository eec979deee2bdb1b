"""Voice commands end to end: real audio through the REST endpoint and Socket.IO, the
real whisper model (bundled tiny.en), real command execution with the speaker's role."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from tests._client import eventually, join
from tests._voice_cases import (
    CHAT,
    FIXTURES,
    WORKSPACE_FILES,
    fixture_cases,
    harder_cases,
    synthesize,
    tools_available,
)
from tests.conftest import RunningServer, make_settings, serve

# Without them the generated voices cannot be made: CI installs both (make system-deps).
needs_speech_synthesis = pytest.mark.skipif(
    not tools_available(), reason="espeak-ng and sox are needed (make system-deps)"
)
needs_fixtures = pytest.mark.skipif(
    not (FIXTURES / "cases.json").is_file(),
    reason="voice fixtures not found beside the repository (../shared/fixtures/voice)",
)


def wav_bytes(samples: np.ndarray, rate: int = 16_000, width: int = 2, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        scaled = np.clip(samples, -1, 1) * 32767
        frames = np.repeat(scaled[:, None], channels, axis=1).astype("<i2").tobytes()
        writer.writeframes(frames)
    return buffer.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def voice_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """One server (one model load) for the module, with an owner and a viewer."""
    tmp = tmp_path_factory.mktemp("voice")
    async with serve(make_settings(tmp, voice_preload=True)) as nexus:
        owner = await nexus.create_user("olivia")
        viewer = await nexus.create_user("victor")
        ws = await nexus.create_workspace(owner, "speak")
        for name, text in WORKSPACE_FILES.items():
            (Path(ws["path"]) / name).write_text(text)
        await nexus.add_member(owner, ws["id"], "victor", "viewer")
        async with asyncio.timeout(60):  # /readyz: 503 while the model loads, then 200
            while (ready := await nexus.http.get("/readyz")).status_code != 200:
                assert ready.status_code == 503 and ready.json()["warming"] == ["voice"]
                await asyncio.sleep(0.1)  # polling, asserting on every answer seen
        assert (await nexus.http.get("/api/v1/voice/status")).json()["status"] == "ready"
        yield {"nexus": nexus, "owner": owner, "viewer": viewer, "ws": ws}


pytestmark = [needs_fixtures, pytest.mark.asyncio(loop_scope="module")]


async def speak(
    env: dict[str, Any], body: bytes, *, token: str | None = None, **params: Any
) -> Any:
    nexus: RunningServer = env["nexus"]
    query = {"workspace": env["ws"]["id"], **params}
    return await nexus.http.post(
        "/api/v1/voice/command",
        params=query,
        content=body,
        headers={**nexus.headers(token or env["owner"]), "Content-Type": "audio/wav"},
        timeout=60,
    )


async def accuracy(env: dict[str, Any], cases: list[dict[str, Any]]) -> list[str]:
    """The failures among `cases`: command and arguments must be exactly what cases.json
    (and the harder set) say. Free text (commit message, query, prompt) is compared
    exactly too; the grammar already writes it the way cases.json does (lowercase words
    as said, no punctuation), so no looser comparison is needed or used."""
    failures = []
    for case in cases:
        response = await speak(env, Path(case["audio"]).read_bytes(), dry_run="true")
        assert response.status_code == 200, response.text
        got = response.json()
        expect = case["expect"]
        if (got["command"], got["args"]) != (expect["command"], expect["args"]):
            failures.append(
                f"{case['text']!r}: heard {got['transcript']!r} → {got['command']} {got['args']}"
            )
    return failures


async def test_fixtures_are_recognised(voice_server: dict[str, Any]) -> None:
    cases = fixture_cases()
    failures = await accuracy(voice_server, cases)
    exact = 1 - len(failures) / len(cases)
    assert exact >= 0.95, f"{exact:.0%} exact; failures:\n" + "\n".join(failures)


@needs_speech_synthesis
@pytest.mark.xfail(
    strict=True,
    reason="the goal is 95%; tiny.en gets 54 of these 58 right (93.1%): the misses are "
    "words it hears as others (bench/README.md); when it passes, remove this mark",
)
async def test_other_voices_speeds_and_noise(voice_server: dict[str, Any], tmp_path: Path) -> None:
    cases = harder_cases(tmp_path)
    failures = await accuracy(voice_server, cases)
    exact = 1 - len(failures) / len(cases)
    assert exact >= 0.95, f"{exact:.0%} exact; failures:\n" + "\n".join(failures)


@needs_speech_synthesis
async def test_speech_that_is_not_a_command_goes_to_the_assistant(
    voice_server: dict[str, Any], tmp_path: Path
) -> None:
    """Decoding held to the commands' words must not turn a question into a command."""
    for i, (text, voice, speed) in enumerate(CHAT):
        audio = synthesize(text, voice, speed, 0.0, tmp_path / f"chat{i}.wav")
        response = await speak(voice_server, audio.read_bytes(), dry_run="true")
        body = response.json()
        assert body["command"] == "ai.chat", f"{text!r}: heard {body['transcript']!r} → {body}"
        assert body["stage"] == "guessed"  # no step found a command in it
    scraped = (await voice_server["nexus"].http.get("/metrics")).text
    assert 'nexus_voice_recognition_stage_total{stage="guessed"}' in scraped


@needs_speech_synthesis
async def test_a_misheard_command_is_found_by_the_decode_held_to_commands(
    voice_server: dict[str, Any], tmp_path: Path
) -> None:
    """tiny.en hears this voice's "undo that" as "Do not."; held to the commands' words
    it hears "Do that.", near enough to "undo that" and as likely."""
    audio = synthesize("undo that", "en-gb+m5", 170, 0.01, tmp_path / "undo.wav")
    body = (await speak(voice_server, audio.read_bytes(), dry_run="true")).json()
    assert (body["command"], body["stage"]) == ("editor.undo", "held"), body


@needs_speech_synthesis
async def test_a_spoken_name_is_heard_as_a_name(
    voice_server: dict[str, Any], tmp_path: Path
) -> None:
    """tiny.en's first reading of this is "retry, leave it"; a name is rarely made of
    pronouns, so its next reading, "retry limit", is the one taken."""
    text = "rename this to kebab case retry limit"
    audio = synthesize(text, "en-us", 150, 0.0, tmp_path / "name.wav")
    body = (await speak(voice_server, audio.read_bytes(), dry_run="true")).json()
    assert (body["command"], body["args"]) == ("lsp.rename", {"to": "retry-limit"}), body


async def test_silence_and_noise_give_no_command(voice_server: dict[str, Any]) -> None:
    rng = np.random.default_rng(7)
    for samples in (np.zeros(32_000), rng.normal(0, 0.05, 48_000)):
        response = await speak(voice_server, wav_bytes(samples))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["command"] is None and body["transcript"] == ""
        assert body["executed"] is False


async def test_other_sample_rates_and_channels_are_resampled(
    voice_server: dict[str, Any],
) -> None:
    import soundfile

    data, rate = soundfile.read(str(FIXTURES / "02_go_to_line_twelve.wav"), dtype="float32")
    positions = np.arange(0, data.size, rate / 44_100)
    resampled = np.interp(positions, np.arange(data.size), data)
    body = wav_bytes(resampled, rate=44_100, channels=2)
    response = await speak(voice_server, body, dry_run="true")
    assert response.status_code == 200, response.text
    assert (response.json()["command"], response.json()["args"]) == (
        "editor.gotoLine",
        {"line": 12},
    )


async def test_bad_audio_is_refused_clearly(voice_server: dict[str, Any]) -> None:
    response = await speak(voice_server, b"this is not audio at all, just some text" * 10)
    assert response.status_code == 415
    assert "not audio" in response.json()["error"]["message"]
    response = await speak(voice_server, b"")
    assert response.status_code == 422
    long = wav_bytes(np.zeros(16_000 * 31))
    response = await speak(voice_server, long)
    assert response.status_code == 413
    assert "30" in response.json()["error"]["message"]


async def test_viewer_is_refused_changing_commands(voice_server: dict[str, Any]) -> None:
    for name in ("15_commit_with_message_fix_the_parser.wav", "04_save_the_file.wav"):
        response = await speak(
            voice_server, (FIXTURES / name).read_bytes(), token=voice_server["viewer"]
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["command"] in {"git.commit", "editor.save"}
        assert body["executed"] is False and body["refused"] is True
        assert "not allowed" in body["error"]


async def test_spoken_editor_command_reaches_the_editor(voice_server: dict[str, Any]) -> None:
    nexus: RunningServer = voice_server["nexus"]
    ws_id = voice_server["ws"]["id"]
    client = await nexus.socket(voice_server["owner"])
    received: list[dict[str, Any]] = []
    client.on("editor:command", lambda data: received.append(data))
    try:
        await join(client, ws_id)
        audio = (FIXTURES / "02_go_to_line_twelve.wav").read_bytes()
        response = await speak(voice_server, audio)
        body = response.json()
        assert body["executed"] is True, body
        assert body["result"]["delivered"] == 1
        await eventually(lambda: received)
        assert received[0]["command"] == "editor.gotoLine"
        assert received[0]["args"] == {"line": 12}
    finally:
        await client.disconnect()


async def test_spoken_commands_act_where_the_speaker_is(voice_server: dict[str, Any]) -> None:
    """ "go to definition" runs at the cursor the editor sends with the audio (real jedi);
    "references" without one is refused, saying what to send."""
    audio = (FIXTURES / "08_go_to_definition.wav").read_bytes()
    # main.py line 3 is `print(parse('x'))`; column 7 is inside `parse`
    body = (await speak(voice_server, audio, context="main.py", line=3, column=7)).json()
    assert (body["command"], body["executed"]) == ("lsp.definition", True), body
    assert [(hit["path"], hit["range"]["start"]["line"]) for hit in body["result"]] == [
        ("parser.py", 0)
    ]
    audio = (FIXTURES / "09_find_all_references.wav").read_bytes()
    body = (await speak(voice_server, audio, context="main.py")).json()
    assert body["command"] == "lsp.references" and body["executed"] is False
    assert "send the current file (context), line and column" in body["error"]


async def test_every_command_the_fixtures_speak_runs(voice_server: dict[str, Any]) -> None:
    """Not a dry run: each fixture, spoken at a cursor in a workspace that is a git
    repository with tests, runs through the registry (editor actions go to the speaker's
    editor sessions; the debugger runs main.py for real; with no model provider
    configured, the AI commands answer how to configure one)."""
    import pygit2

    nexus: RunningServer = voice_server["nexus"]
    owner = voice_server["owner"]
    ws = await nexus.create_workspace(owner, "runs")
    root = Path(ws["path"])
    for name, text in WORKSPACE_FILES.items():
        (root / name).write_text(text)
    # main.py as the other tests have it, then enough lines for "a breakpoint on line thirty"
    steps = "".join(f"step_{n} = {n}\n" for n in range(4, 30))
    (root / "main.py").write_text(WORKSPACE_FILES["main.py"] + steps + "print(step_29)\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_parser.py").write_text(
        "from parser import parse\n\ndef test_parse():\n    assert parse('a b') == ['a', 'b']\n"
    )
    repo = pygit2.init_repository(str(root))
    repo.index.add_all()
    repo.index.write()
    # a breakpoint on the cursor's line, set beforehand as in the editor's gutter
    response = await nexus.http.post(
        "/api/v1/commands/debug.toggleBreakpoint",
        json={"workspace": ws["id"], "args": {"path": "main.py", "line": 3}},
        headers=nexus.headers(owner),
    )
    assert response.status_code == 200, response.text
    env = {**voice_server, "ws": ws}
    failures = []
    debugged = []
    for case in fixture_cases():
        audio = Path(case["audio"]).read_bytes()
        body = (await speak(env, audio, context="main.py", line=3, column=7)).json()
        if body["command"] != case["expect"]["command"] or not body["executed"]:
            failures.append(f"{case['text']!r}: {body['command']} {body['error']}")
        elif body["command"] in ("debug.start", "debug.stepOver", "debug.continue", "debug.stop"):
            state = body["result"]
            debugged.append(
                (state["status"], state["frames"][0]["line"] if state["frames"] else None)
            )
    assert not failures, "\n".join(failures)
    assert not repo.head_is_unborn  # "commit with message fix the parser" committed
    # start: paused at the breakpoint; step over: the next line; continue: the spoken
    # breakpoint on line thirty; stop: ended
    assert debugged == [("paused", 3), ("paused", 4), ("paused", 30), ("ended", None)]


async def test_choose_two_picks_the_second_alternative(
    voice_server: dict[str, Any], tmp_path: Path
) -> None:
    first = await speak(
        voice_server, (FIXTURES / "02_go_to_line_twelve.wav").read_bytes(), dry_run="true"
    )
    alternatives = first.json()["alternatives"]
    assert len(alternatives) >= 2
    if not tools_available():
        pytest.skip("espeak-ng is needed to say 'choose two'")

    choose = synthesize("choose two", "en-us", 150, 0.0, tmp_path / "choose.wav")
    second = (await speak(voice_server, choose.read_bytes(), dry_run="true")).json()
    assert second["chosen"] == 2, second
    assert (second["command"], second["args"]) == (
        alternatives[1]["command"],
        alternatives[1]["args"],
    )


async def stream(env: dict[str, Any], wav: Path, **start: Any) -> tuple[list[Any], list[Any]]:
    """Stream a WAV file over Socket.IO in 200 ms chunks, then 1 s of quiet, and wait for
    the server to end the utterance by itself: (transcripts, commands) it sent."""
    import soundfile

    nexus: RunningServer = env["nexus"]
    client = await nexus.socket(env["owner"])
    events: dict[str, list[Any]] = {"voice:transcript": [], "voice:command": []}
    for name, seen in events.items():
        client.on(name, seen.append)
    try:
        ack = await client.call("voice:start", {"workspace": env["ws"]["id"], **start})
        assert ack["ok"], ack
        data, _ = soundfile.read(str(wav), dtype="int16")
        pcm = data.astype("<i2").tobytes() + bytes(16_000 * 2)
        for offset in range(0, len(pcm), 6400):
            await client.emit("voice:chunk", pcm[offset : offset + 6400])
        await eventually(lambda: events["voice:command"], 20)
        end = await client.call("voice:end", {})
        assert end["ok"], end
    finally:
        await client.disconnect()
    return events["voice:transcript"], events["voice:command"]


async def test_socketio_streaming_round_trip(voice_server: dict[str, Any]) -> None:
    transcripts, commands = await stream(
        voice_server, FIXTURES / "12_run_the_tests.wav", dry_run=True
    )
    assert transcripts[0]["transcript"]
    assert (commands[0]["command"], commands[0]["args"]) == ("test.run", {})


async def test_socketio_streaming_acts_at_the_cursor(voice_server: dict[str, Any]) -> None:
    _, commands = await stream(
        voice_server, FIXTURES / "08_go_to_definition.wav", context="main.py", line=3, column=7
    )
    command = commands[0]
    assert (command["command"], command["executed"]) == ("lsp.definition", True), command
    assert command["result"][0]["path"] == "parser.py"
