"""JSON-RPC and LSP error codes, and the one exception the bridge raises with them."""

from __future__ import annotations

from typing import Any

from server.errors import InvalidInput, NexusError, NotFound

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800
CONTENT_MODIFIED = -32801
REQUEST_FAILED = -32803


class LspError(Exception):
    """Becomes a JSON-RPC error for LSP clients, `{ok: false}` for Socket.IO ones."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class LanguageServerError(NexusError):
    status = 502
    code = "language_server"


def as_nexus_error(exc: LspError) -> NexusError:
    """The same error for REST and Socket.IO callers, with the LSP code in details."""
    if exc.code == INVALID_PARAMS:
        return InvalidInput(exc.message, details={"lsp_code": exc.code})
    if exc.code == METHOD_NOT_FOUND:
        return NotFound(exc.message, details={"lsp_code": exc.code})
    return LanguageServerError(exc.message, details={"lsp_code": exc.code})
