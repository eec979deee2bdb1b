"""Errors that carry their own HTTP status and stable code.

REST turns them into `{"error": {"code", "message"}}`; socket events turn them into an
error ack. Business code raises them and never builds responses itself.
"""

from __future__ import annotations

from typing import Any


class NexusError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class InvalidInput(NexusError):
    status = 422
    code = "invalid"


class Unauthorized(NexusError):
    status = 401
    code = "unauthorized"


class Forbidden(NexusError):
    status = 403
    code = "forbidden"


class NotFound(NexusError):
    status = 404
    code = "not_found"


class Conflict(NexusError):
    status = 409
    code = "conflict"


class PayloadTooLarge(NexusError):
    status = 413
    code = "payload_too_large"


class RateLimited(NexusError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Timeout(NexusError):
    status = 504
    code = "timeout"


class Unavailable(NexusError):
    """A helper process (a debugger, a model) could not be started or is at capacity."""

    status = 503
    code = "unavailable"


class InternalError(NexusError):
    status = 500
    code = "internal"
