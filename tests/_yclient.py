"""A Python Yjs client for the tests: pycrdt's Provider over a real WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import websockets
from pycrdt import Doc, Provider, Text

from tests._client import eventually


class WebSocketChannel:
    """pycrdt's `Channel` over a `websockets` client connection."""

    def __init__(self, connection: Any, path: str) -> None:
        self._connection = connection
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> WebSocketChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except websockets.ConnectionClosed:
            raise StopAsyncIteration from None

    async def send(self, message: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._connection.send(message)

    async def recv(self) -> bytes:
        while True:
            message = await self._connection.recv()
            if isinstance(message, bytes):
                return message


def yjs_url(base: str, workspace_id: str, path: str, token: str) -> str:
    return f"{base.replace('http://', 'ws://')}/yjs/{workspace_id}/{path}?token={token}"


@contextlib.asynccontextmanager
async def connected_doc(url: str, doc: Doc | None = None) -> AsyncIterator[tuple[Doc, Text, Any]]:
    """A doc synced with the server for the length of the block."""
    doc = doc if doc is not None else Doc()
    text = doc.get("source", type=Text)
    async with websockets.connect(url, max_size=None) as connection:
        provider = Provider(doc, WebSocketChannel(connection, url))
        async with provider:
            async with asyncio.timeout(10):
                await provider.synced.wait()
            yield doc, text, connection


async def wait_text(text: Text, expected: str, timeout: float = 5.0) -> None:
    await eventually(lambda: str(text) == expected, timeout, 0.01, what=f"text {expected!r}")


class SocketDoc:
    """A pycrdt doc synced over the hub's Socket.IO `doc:*` events, as the web app does."""

    def __init__(self, client: Any, workspace: str, path: str) -> None:
        self.client = client
        self.ref = {"workspace": workspace, "path": path}
        self.doc: Doc = Doc()
        self.text = self.doc.get("source", type=Text)
        self.synced = asyncio.Event()
        self.closed: dict[str, Any] | None = None
        self._remote = False
        client.on("doc:message", self._on_message)
        client.on("doc:closed", self._on_closed)
        self.doc.observe(self._on_transaction)

    async def open(self) -> dict[str, Any]:
        from pycrdt import create_sync_message

        ack = await self.client.call("doc:join", self.ref)
        assert ack["ok"], ack
        await self._send(create_sync_message(self.doc))
        async with asyncio.timeout(10):
            await self.synced.wait()
        return dict(ack)

    async def _send(self, message: bytes) -> None:
        ack = await self.client.call("doc:message", {**self.ref, "data": message})
        assert ack["ok"], ack

    async def _on_message(self, data: dict[str, Any]) -> None:
        from pycrdt import handle_sync_message

        message = data["data"]
        if message[0] != 0:
            return
        self._remote = True
        try:
            reply = handle_sync_message(message[1:], self.doc)
        finally:
            self._remote = False
        if message[1] == 1:
            self.synced.set()
        if reply is not None:
            await self._send(reply)

    async def _on_closed(self, data: dict[str, Any]) -> None:
        self.closed = data

    def _on_transaction(self, event: Any) -> None:
        from pycrdt import create_update_message

        if not self._remote:
            self._pending = asyncio.ensure_future(self._send(create_update_message(event.update)))
