"""One language server process, driven as its only client with pygls's `LanguageClient`.

Messages stay plain JSON both ways (no lsprotocol structuring): the bridge forwards what
clients send and merges what servers answer, so converting to classes and back would only
cost time. The process runs in its own process group under a memory ceiling; stderr goes
to the log; `stop` walks shutdown → exit → SIGTERM → SIGKILL and always reaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import resource
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    default_converter,
)

from lsp.registry import ServerSpec

log = logging.getLogger("nexus.lsp")
# pygls logs every message body at INFO; that is our hot path.
logging.getLogger("pygls").setLevel(logging.WARNING)

CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": False, "dynamicRegistration": False},
        "completion": {
            "completionItem": {
                "snippetSupport": True,
                "documentationFormat": ["markdown", "plaintext"],
                "resolveSupport": {"properties": ["documentation", "detail"]},
            },
            "contextSupport": True,
        },
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "signatureHelp": {"signatureInformation": {"documentationFormat": ["markdown"]}},
        "definition": {"linkSupport": False},
        "references": {},
        "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
        "rename": {"prepareSupport": True},
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["", "quickfix", "refactor", "source"]}
            },
            "resolveSupport": {"properties": ["edit"]},
        },
        "formatting": {},
        "rangeFormatting": {},
        "publishDiagnostics": {"relatedInformation": True, "versionSupport": True},
    },
    "workspace": {
        "workspaceEdit": {"documentChanges": True},
        "configuration": True,
        "workspaceFolders": True,
    },
    "window": {"workDoneProgress": False},
}


class RawProtocol(LanguageServerProtocol):
    """Leave params and results as the JSON they came in."""

    def get_message_type(self, method: str) -> Any:  # type: ignore[override]
        return None

    def get_result_type(self, method: str) -> Any:  # type: ignore[override]
        return None


def raw_converter() -> Any:
    converter = default_converter()
    for kind in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(kind, lambda obj, cls: cls(**obj))
    return converter


class UpstreamError(Exception):
    """The server answered with an error, or is gone."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class Upstream:
    """A started language server; `exited` resolves when its process ends."""

    def __init__(
        self,
        spec: ServerSpec,
        root: Path,
        *,
        memory_bytes: int,
        on_notification: Callable[[Upstream, str, Any], None],
    ) -> None:
        self.spec = spec
        self.root = root
        self.memory_bytes = memory_bytes
        self.capabilities: dict[str, Any] = {}
        self.client = LanguageClient(
            "nexus", "1", protocol_cls=RawProtocol, converter_factory=raw_converter
        )
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.stopping = False
        self._on_notification = on_notification
        self._stderr_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._register_handlers()

    @property
    def pid(self) -> int | None:
        process = self.client._server
        return process.pid if process is not None else None

    def _register_handlers(self) -> None:
        client = self.client

        for method in (
            "textDocument/publishDiagnostics",
            "window/showMessage",
            "window/logMessage",
            "$/progress",
        ):
            client.feature(method)(self._notification_handler(method))

        # Requests servers make of their client: answered here, never forwarded.
        @client.feature("workspace/configuration")
        def configuration(params: Any) -> list[Any]:
            items = params.get("items", []) if isinstance(params, dict) else []
            return [None for _ in items]

        for method in (
            "client/registerCapability",
            "client/unregisterCapability",
            "window/workDoneProgress/create",
            "window/showMessageRequest",
            "workspace/diagnostic/refresh",
            "workspace/semanticTokens/refresh",
            "workspace/inlayHint/refresh",
            "workspace/codeLens/refresh",
        ):
            client.feature(method)(lambda params: None)

        @client.feature("workspace/applyEdit")
        def apply_edit(params: Any) -> dict[str, Any]:
            return {"applied": False, "failureReason": "edits go through the bridge"}

    def _notification_handler(self, method: str) -> Callable[[Any], None]:
        def handle(params: Any) -> None:
            self._on_notification(self, method, params)

        return handle

    async def start(self, timeout: float) -> None:
        limit = self.memory_bytes

        def in_child() -> None:
            if limit > 0:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        await self.client.start_io(
            *self.spec.command,
            cwd=str(self.root),
            start_new_session=True,  # its own process group: killpg reaches its children
            preexec_fn=in_child,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        process = self.client._server
        assert process is not None
        self._stderr_task = asyncio.create_task(self._drain_stderr(process.stderr))
        self._watch_task = asyncio.create_task(self._watch(process))
        uri = self.root.as_uri()
        result = await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "clientInfo": {"name": "nexus", "version": "1"},
                "rootUri": uri,
                "rootPath": str(self.root),
                "workspaceFolders": [{"uri": uri, "name": self.root.name}],
                "capabilities": CLIENT_CAPABILITIES,
                "initializationOptions": self.spec.initialization_options,
            },
            timeout=timeout,
        )
        self.capabilities = (result or {}).get("capabilities", {})
        self.notify("initialized", {})

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if not self.exited.done():
            self.exited.set_result(code)

    async def _drain_stderr(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while line := await stream.readline():
            log.debug("%s: %s", self.spec.name, line.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return not self.exited.done() and not self.stopping

    def notify(self, method: str, params: Any) -> None:
        if self.alive:
            self.client.protocol.notify(method, params)

    def send(self, method: str, params: Any) -> tuple[str, asyncio.Future[Any]]:
        """Start a request; returns its upstream id (for `$/cancelRequest`) and result."""
        if not self.alive:
            raise UpstreamError(-32603, f"{self.spec.name} is not running")
        msg_id = f"n{next(self._ids)}"
        future = self.client.protocol.send_request(method, params, msg_id=msg_id)
        return msg_id, asyncio.wrap_future(future)

    async def request(self, method: str, params: Any, *, timeout: float) -> Any:
        msg_id, future = self.send(method, params)
        return await self.wait(msg_id, future, timeout)

    async def wait(self, msg_id: str, future: Awaitable[Any], timeout: float) -> Any:
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self.cancel(msg_id)
            raise
        except asyncio.CancelledError:
            self.cancel(msg_id)
            raise
        except JsonRpcException as exc:
            raise UpstreamError(exc.code, exc.message, getattr(exc, "data", None)) from None
        except RuntimeError as exc:  # pygls: the process exited with requests pending
            raise UpstreamError(-32603, str(exc)) from None

    def cancel(self, msg_id: str) -> None:
        self.client.protocol._request_futures.pop(msg_id, None)
        self.notify("$/cancelRequest", {"id": msg_id})

    async def stop(self, grace: float = 2.0) -> None:
        """shutdown → exit → SIGTERM → SIGKILL, then reap; safe to call twice. Cancelled
        midway (the bridge closing, the event loop ending), it still kills the group, so
        the child watcher reaps the process instead of it outliving us."""
        process = self.client._server
        if process is None:
            return
        try:
            if self.alive:
                with contextlib.suppress(Exception):
                    await self.request("shutdown", None, timeout=grace)
                with contextlib.suppress(Exception):
                    self.notify("exit", None)
            self.stopping = True
            for sig in (None, signal.SIGTERM):
                if sig is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, sig)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace):
                        await asyncio.shield(self.exited)
                if self.exited.done():
                    break
        finally:
            self.stopping = True
            # The leader if it is still there, and anything it left in its group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            self.client._stop_event.set()
            for task in (*self.client._async_tasks, self._stderr_task):
                if task is not None and not task.done():
                    task.cancel()
            with contextlib.suppress(Exception):
                if process.stdin is not None:
                    process.stdin.close()
        try:
            async with asyncio.timeout(5.0):  # reaped: `exited` is set once waitpid returned
                await asyncio.shield(self.exited)
        except TimeoutError:
            log.error("%s (pid %s) did not die after SIGKILL", self.spec.name, process.pid)
