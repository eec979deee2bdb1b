"""No token reaches a log line: a whole session against a real `nexus serve` logging at
debug level (REST, Socket.IO, `/yjs`, `/lsp`, chat, voice), then its log is searched for
every token that was issued or sent."""

from __future__ import annotations

import asyncio
import io
import json
import wave
from pathlib import Path

import socketio
import websockets

from tests.conftest import ADMIN_TOKEN
from tests.web._server import ROOT, WebServer


def silence_wav(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * int(16000 * seconds))
    return buffer.getvalue()


async def test_a_whole_session_logs_no_token(tmp_path: Path) -> None:
    server = WebServer(tmp_path, ROOT / "web" / "dist")
    server.configure(log_level="debug", openai_api_key="sk-proj-NEVERLOGGEDKEY0123456789")
    await server.start()
    try:
        alice = await server.create_user("alice")
        workspace = await server.create_workspace(alice, "demo")
        ws_id = workspace["id"]
        (server.workspace_root / "demo" / "main.py").write_text("import os\n")
        headers = server.headers(alice)
        key = (
            await server.http.post("/api/v1/auth/tokens", json={"name": "ci"}, headers=headers)
        ).json()["token"]
        await server.http.get(f"/api/v1/workspaces/{ws_id}/tree", headers=headers)
        await server.http.get(f"/api/v1/workspaces/{ws_id}/tree?token={alice}")
        await server.http.get("/api/v1/auth/me", headers=server.headers(key))

        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(f"{server.url}?token={alice}", transports=["websocket"])
        await sio.call("workspace:join", {"workspace": ws_id})
        await sio.disconnect()

        base = server.url.replace("http", "ws")
        async with websockets.connect(f"{base}/yjs/{ws_id}/main.py?token={alice}") as yjs:
            await asyncio.wait_for(yjs.recv(), 10)
        async with websockets.connect(f"{base}/lsp/{ws_id}/python?token={alice}") as lsp:
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
            await lsp.send(json.dumps(init))
            await asyncio.wait_for(lsp.recv(), 30)

        await server.http.post(
            f"/api/v1/workspaces/{ws_id}/chat", json={"text": "hello"}, headers=headers
        )
        await server.http.post(
            f"/api/v1/voice/command?workspace={ws_id}",
            content=silence_wav(),
            headers={**headers, "Content-Type": "audio/wav"},
            timeout=120,
        )
        await server.http.post("/api/v1/auth/logout", headers=headers)
        await server.http.get("/api/v1/auth/me", headers=headers)  # a revoked token, logged?
    finally:
        await server.stop()

    log = server.log_path.read_text(errors="replace")
    assert "/yjs/" in log or "WebSocket" in log, "the log should show the connections"
    for secret in (alice, key, ADMIN_TOKEN, "NEVERLOGGEDKEY"):
        assert secret not in log, f"a token reached the log: …{secret[-6:]}"
