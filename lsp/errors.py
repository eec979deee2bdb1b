"""The one exception the bridge raises with JSON-RPC and LSP error codes (lsprotocol's
`ErrorCodes` and `LSPErrorCodes`), and how REST and Socket.IO callers see it."""

from __future__ import annotations

from typing import Any

from lsprotocol.types import ErrorCodes, LSPErrorCodes

from server.errors import InvalidInput, NexusError, NotFound

# Short names for lsprotocol's codes, for the modules that import them from here.
PARSE_ERROR = ErrorCodes.ParseError
INVALID_REQUEST = ErrorCodes.InvalidRequest
METHOD_NOT_FOUND = ErrorCodes.MethodNotFound
INVALID_PARAMS = ErrorCodes.InvalidParams
INTERNAL_ERROR = ErrorCodes.InternalError
SERVER_NOT_INITIALIZED = ErrorCodes.ServerNotInitialized
REQUEST_CANCELLED = LSPErrorCodes.RequestCancelled
CONTENT_MODIFIED = LSPErrorCodes.ContentModified
REQUEST_FAILED = LSPErrorCodes.RequestFailed


class LspError(Exception):
    """Becomes a JSON-RPC error for LSP clients, `{ok: false}` for Socket.IO ones."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = int(code)  # a plain number on the wire, whichever enum it came from
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
    if exc.code == ErrorCodes.InvalidParams:
        return InvalidInput(exc.message, details={"lsp_code": exc.code})
    if exc.code == ErrorCodes.MethodNotFound:
        return NotFound(exc.message, details={"lsp_code": exc.code})
    return LanguageServerError(exc.message, details={"lsp_code": exc.code})
