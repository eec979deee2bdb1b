"""`/lsp/{workspace_id}/{language}`: JSON-RPC over a WebSocket, one message per text
frame (the vscode-ws-jsonrpc convention of monaco-languageclient), for any LSP client.

The bridge answers `initialize` itself (the merged capabilities of the language's
servers); `didOpen`/`didClose` say which shared documents the client looks at, and the
text itself comes from the collaborative document, so `didChange` is ignored. A request's
params may carry `nexus: {client, clock}` (its Yjs client id and clock) or
`nexus: {stateVector}` so that it is answered on a text that holds the client's edits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from lsp.bridge import Bridge
from lsp.errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    REQUEST_CANCELLED,
    LspError,
)
from lsp.manager import LanguageServers
from server.api.websocket import CLOSE_TOO_BIG, admit, close_code, platform_of
from server.errors import NexusError
from server.models import Role

log = logging.getLogger("nexus.lsp")

CLOSE_NO_SERVER = 4404
OUTGOING_LIMIT = 1000  # queued messages to one client before notifications are dropped


async def lsp_endpoint(websocket: WebSocket) -> None:
    nexus = platform_of(websocket)
    servers = nexus.need(LanguageServers)
    try:
        _, access = await admit(websocket, Role.viewer)
        bridge = await servers.bridge(
            access.workspace.id, websocket.path_params["language"], Path(access.workspace.path)
        )
    except NexusError as exc:
        await websocket.close(close_code(exc), exc.message)
        return
    except LspError as exc:
        await websocket.close(CLOSE_NO_SERVER, exc.message)
        return
    await Connection(websocket, bridge, nexus.settings.max_body_bytes).run()
    if not bridge.sessions:  # the last LSP client left: unless Socket.IO users remain,
        servers.workspace_closed(bridge.workspace_id)  # the servers stop soon


class Connection:
    def __init__(self, websocket: WebSocket, bridge: Bridge, limit: int) -> None:
        self.websocket = websocket
        self.bridge = bridge
        self.limit = limit
        self.id = f"lspws-{uuid.uuid4().hex[:12]}"
        self.pending: dict[Any, asyncio.Task[None]] = {}
        self.outgoing: asyncio.Queue[str] = asyncio.Queue()
        self.background: set[asyncio.Task[None]] = set()

    def send(self, message: dict[str, Any]) -> None:
        if self.outgoing.qsize() >= OUTGOING_LIMIT and "id" not in message:
            return  # a client that does not read loses notifications, not memory
        self.outgoing.put_nowait(json.dumps(message, separators=(",", ":")))

    async def _writer(self) -> None:
        while True:
            await self.websocket.send_text(await self.outgoing.get())

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer())
        self.bridge.sessions[self.id] = self.send
        try:
            while True:
                frame = await self.websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                data = frame.get("text")
                if data is None:
                    data = (frame.get("bytes") or b"").decode(errors="replace")
                if len(data) > self.limit:
                    await self.websocket.close(CLOSE_TOO_BIG, f"message over {self.limit} bytes")
                    break
                self._receive(data)
        except WebSocketDisconnect:
            pass
        finally:
            self.bridge.sessions.pop(self.id, None)
            for task in self.pending.values():
                task.cancel()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await self.bridge.release_holder(self.id)

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self._error(None, LspError(PARSE_ERROR, "not JSON"))
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self._error(None, LspError(INVALID_REQUEST, "not a JSON-RPC 2.0 message"))
            return
        method = message.get("method")
        if "id" in message and method is None:
            return  # a response; we never ask clients anything
        if not isinstance(method, str):
            self._error(message.get("id"), LspError(INVALID_REQUEST, "method must be a string"))
            return
        params = message.get("params")
        if "id" not in message:
            task = asyncio.create_task(self._notification(method, params))
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            return
        msg_id = message["id"]
        if not isinstance(msg_id, (int, str)) or msg_id in self.pending:
            self._error(None, LspError(INVALID_REQUEST, "id must be a fresh number or string"))
            return
        task = asyncio.create_task(self._request(msg_id, method, params))
        self.pending[msg_id] = task
        task.add_done_callback(lambda _task: self.pending.pop(msg_id, None))

    async def _request(self, msg_id: Any, method: str, params: Any) -> None:
        try:
            if method == "initialize":
                await asyncio.wait_for(self.bridge.ready.wait(), self.bridge.settings.start_timeout)
                result = self.bridge.initialize_result()
            elif method == "shutdown":
                result = None
            else:
                result = await self.bridge.request(method, params, holder=self.id)
        except LspError as exc:
            self._error(msg_id, exc)
        except asyncio.CancelledError:
            self._error(msg_id, LspError(REQUEST_CANCELLED, "cancelled"))
        except TimeoutError:
            self._error(msg_id, LspError(INTERNAL_ERROR, "the language servers did not start"))
        except Exception:
            log.exception("LSP request %s failed", method)
            self._error(msg_id, LspError(INTERNAL_ERROR, f"{method} failed"))
        else:
            self.send({"jsonrpc": "2.0", "id": msg_id, "result": result})

    async def _notification(self, method: str, params: Any) -> None:
        params = params if isinstance(params, dict) else {}
        try:
            if method == "$/cancelRequest":
                task = self.pending.get(params.get("id"))
                if task is not None:
                    task.cancel()
            elif method == "textDocument/didOpen":
                uri = (params.get("textDocument") or {}).get("uri", "")
                await self.bridge.open_document(self.bridge.path_of(uri), self.id)
            elif method == "textDocument/didClose":
                uri = (params.get("textDocument") or {}).get("uri", "")
                await self.bridge.release_document(self.bridge.path_of(uri), self.id)
            elif method == "exit":
                await self.websocket.close(1000, "exit")
            # initialized, didChange, didSave, configuration …: the bridge owns those.
        except LspError as exc:
            self.send(
                {
                    "jsonrpc": "2.0",
                    "method": "window/showMessage",
                    "params": {"type": 1, "message": f"{method}: {exc.message}"},
                }
            )

    def _error(self, msg_id: Any, error: LspError) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "error": error.to_json()})
