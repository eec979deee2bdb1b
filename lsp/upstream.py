"""One language server process, driven as its only client with pygls's `LanguageClient`.

Messages stay plain JSON both ways (no lsprotocol structuring): the bridge forwards what
clients send and merges what servers answer, so converting to classes and back would only
cost time. The process is the supervisor's (the workspace sandbox, an allow-listed
environment, limits, stderr in the log); pygls only talks over its stdin and stdout, and
`stop` is the supervisor's with LSP's `shutdown` → `exit` as the polite first step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol.types import ErrorCodes
from pygls.exceptions import JsonRpcException
from pygls.io_ import run_async
from pygls.lsp.client import LanguageClient
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    default_converter,
)

from lsp.registry import ServerSpec
from server.supervisor import Child, ProcessSpec, Supervisor

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
        self.code = int(code)
        self.message = message
        self.data = data


class Upstream:
    """A started language server; `exited` resolves when its process ends."""

    def __init__(
        self,
        spec: ServerSpec,
        root: Path,
        *,
        supervisor: Supervisor,
        workspace_id: str,
        memory_mb: int,
        on_notification: Callable[[Upstream, str, Any], None],
        env: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.root = root
        self.supervisor = supervisor
        self.workspace_id = workspace_id
        self.memory_mb = memory_mb
        self.env = env or {}
        self.capabilities: dict[str, Any] = {}
        self.client = LanguageClient(
            "nexus", "1", protocol_cls=RawProtocol, converter_factory=raw_converter
        )
        self.child: Child | None = None
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.stopping = False
        self._on_notification = on_notification
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._register_handlers()

    @property
    def pid(self) -> int | None:
        """The supervised process: bwrap when sealed, the server runs as its descendant."""
        return self.child.pid if self.child is not None else None

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
        limits = dataclasses.replace(self.supervisor.defaults(), memory_mb=self.memory_mb)
        self.child = await self.supervisor.start(
            ProcessSpec(
                kind="language_server",
                name=self.spec.name,
                argv=self.spec.command,
                workspace_id=self.workspace_id,
                workspace=self.root,
                env=self.env,
                limits=limits,
            )
        )
        self._connect(self.child)
        uri = self.root.as_uri()
        result = await self.request(
            "initialize",
            {
                # None: the supervisor owns its life, and inside the sandbox's own PID
                # namespace our pid would name another process (or none).
                "processId": None,
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

    def _connect(self, child: Child) -> None:
        """What pygls's `start_io` does once it has spawned, on the supervisor's child:
        write to its stdin, read its stdout, and fail pending requests when it ends."""
        protocol = self.client.protocol
        protocol.set_writer(child.stdin)
        self._reader = asyncio.create_task(
            run_async(
                stop_event=self.client._stop_event,
                reader=child.stdout,
                protocol=protocol,
                logger=logging.getLogger("pygls.client"),
                error_handler=self.client.report_server_error,
            )
        )
        child.exited.add_done_callback(self._ended)

    def _ended(self, exited: asyncio.Future[int]) -> None:
        code = -1 if exited.cancelled() else exited.result()
        reason = f"{self.spec.name} exited with code {code}"
        for future in list(self.client.protocol._request_futures.values()):
            if not future.done():
                future.set_exception(RuntimeError(reason))
        self.client._stop_event.set()
        if not self.exited.done():
            self.exited.set_result(code)

    @property
    def alive(self) -> bool:
        return self.child is not None and not self.exited.done() and not self.stopping

    def notify(self, method: str, params: Any) -> None:
        if self.alive:
            self.client.protocol.notify(method, params)

    def send(self, method: str, params: Any) -> tuple[str, asyncio.Future[Any]]:
        """Start a request; returns its upstream id (for `$/cancelRequest`) and result."""
        if not self.alive:
            raise UpstreamError(ErrorCodes.InternalError, f"{self.spec.name} is not running")
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
            raise UpstreamError(ErrorCodes.InternalError, str(exc)) from None

    async def complete_once(self, uri: str, language: str, line: str, timeout: float) -> None:
        """A throwaway completion at the end of `line`: what fills a server's caches."""
        document = {"uri": uri, "languageId": language, "version": 1, "text": line}
        self.notify("textDocument/didOpen", {"textDocument": document})
        try:
            await self.request(
                "textDocument/completion",
                {"textDocument": {"uri": uri}, "position": {"line": 0, "character": len(line)}},
                timeout=timeout,
            )
        finally:
            self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def cancel(self, msg_id: str) -> None:
        self.client.protocol._request_futures.pop(msg_id, None)
        self.notify("$/cancelRequest", {"id": msg_id})

    async def stop(self, grace: float = 2.0) -> None:
        """`shutdown` → `exit`, then the supervisor's SIGTERM → SIGKILL, reaped; safe to
        call twice. Cancelled midway, the supervisor still kills, so nothing outlives us."""
        child = self.child
        if child is None:
            return
        polite = self.alive
        self.stopping = True  # its exit is ours: the bridge does not restart it
        try:
            await child.stop(grace, hook=self._goodbye if polite else None)
        finally:
            self.client._stop_event.set()
            if self._reader is not None:
                self._reader.cancel()

    async def _goodbye(self) -> None:
        """LSP's polite end: the `shutdown` request, then the `exit` notification."""
        protocol = self.client.protocol
        await asyncio.wrap_future(protocol.send_request("shutdown", None, msg_id="shutdown"))
        protocol.notify("exit", None)
