"""The REST API's shared parts: FastAPI routers with NEXUS's error shape, and the
dependencies handlers ask for (caller, platform, a feature's object)."""

from server.api.deps import Caller, Need, Platform, RequestId, require
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
    "Caller",
    "Error",
    "Need",
    "Platform",
    "RequestId",
    "api_router",
    "error_response",
    "http_error",
    "read_body",
    "require",
]
