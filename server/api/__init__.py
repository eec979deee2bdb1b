"""The REST API's shared parts: FastAPI routers with NEXUS's error shape, and the
dependencies handlers ask for (caller, platform, a feature's object, the whole call)."""

from server.api.deps import (
    Call,
    Caller,
    InWorkspace,
    Need,
    Platform,
    RequestId,
    RestCall,
    WorkspaceCall,
)
from server.api.routing import (
    ERROR_RESPONSES,
    Error,
    api_router,
    error_response,
    http_error,
    read_body,
)

__all__ = [
    "ERROR_RESPONSES",
    "Call",
    "Caller",
    "Error",
    "InWorkspace",
    "Need",
    "Platform",
    "RequestId",
    "RestCall",
    "WorkspaceCall",
    "api_router",
    "error_response",
    "http_error",
    "read_body",
]
