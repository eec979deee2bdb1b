"""A webhook receiver on loopback for the extension tests, and a Standard Webhooks
verifier written from the specification (independent of the server's code)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests._backing import free_port

Reply = tuple[int, bytes, dict[str, str], float]  # status, body, headers, delay (s)
CommandHandler = Callable[[dict[str, Any]], Awaitable[web.StreamResponse]]


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> None:
    """standardwebhooks.com: v1 = base64(HMAC-SHA256(base64-decoded secret after
    `whsec_`, "{id}.{timestamp}.{body}")); any one of the space-separated entries."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    message_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < 300, "stale timestamp"
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    entries = [entry.split(",", 1) for entry in headers["webhook-signature"].split(" ")]
    assert any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, signature in entries
    ), f"no signature matches the secret in {headers['webhook-signature']!r}"


def sign_request(secret: str, body: bytes, message_id: str, timestamp: int) -> dict[str, str]:
    """Headers for a request signed the same way, for what NEXUS receives."""
    key = base64.b64decode(secret[len("whsec_") :])
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
        "content-type": "application/json",
    }


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def type(self) -> str:
        return str(self.json["type"])


@dataclass
class Receiver:
    """Answers webhooks from `replies` (then 200), commands with `on_command`."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    replies: deque[Reply] = field(default_factory=deque)
    on_command: CommandHandler | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        received = Received({k.lower(): v for k, v in request.headers.items()}, body, time.time())
        self.requests.append(received)
        self._arrived.set()
        if received.type == "command.execute" and self.on_command is not None:
            return await self.on_command(received.json)
        status, answer, headers, delay = (
            self.replies.popleft() if self.replies else (200, b'{"ok": true}', {}, 0.0)
        )
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, body=answer, headers=headers)

    def of_type(self, name: str) -> list[Received]:
        return [r for r in self.requests if r.type == name]

    async def wait_for(
        self, check: Callable[[list[Received]], bool], timeout: float = 15.0
    ) -> list[Received]:
        async with asyncio.timeout(timeout):
            while not check(self.requests):
                self._arrived.clear()
                await self._arrived.wait()
        return self.requests

    async def wait_type(self, name: str, count: int = 1, timeout: float = 15.0) -> list[Received]:
        await self.wait_for(lambda _r: len(self.of_type(name)) >= count, timeout)
        return self.of_type(name)


async def start_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def garbage_server() -> tuple[asyncio.Server, str]:
    """Answers every connection with bytes that are not HTTP."""

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"this is not http\r\n\r\n")
        await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(answer, "127.0.0.1", port)
    return server, f"http://127.0.0.1:{port}/"
