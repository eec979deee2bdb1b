"""REST on FastAPI, with NEXUS's error shape, body limit, request ids and metrics.

A feature writes plain FastAPI routes on a router from `router(tag)`:

    router = api_router("git")

    @router.get("/api/v1/workspaces/{workspace_id}/git/status", response_model=GitStatus)
    async def status(workspace_id: str, user: Caller, git: Annotated[Git, Need(Git)]): ...

Every route of such a router answers errors as `{"error": {"code", "message"}}` (a
`NexusError`, a validation failure, an oversized or malformed body), carries an
`X-Request-ID`, and is counted in the `nexus_http_*` metrics by its path template.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import metrics
from server.errors import InternalError, InvalidInput, NexusError, PayloadTooLarge, RateLimited
from server.logs import request_id_var

log = logging.getLogger("nexus.api")

DEFAULT_MAX_BODY = 1024 * 1024


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class Error(BaseModel):
    """Every error answer: a stable `code` and a message for people."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Error, "description": text}
    for status, text in {
        400: "Bad request",
        401: "Missing, expired or revoked token",
        403: "Role too low",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid input",
        429: "Too many requests",
    }.items()
}


def error_response(exc: NexusError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(int(exc.retry_after + 0.999))
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(to_jsonable_python(exc.to_dict()), status_code=exc.status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def invalid_input(errors: Sequence[Any]) -> InvalidInput:
    """FastAPI's validation errors as NEXUS's: `field: message; …` naming the fields
    (without FastAPI's `body`/`query` prefix), a missing body and malformed JSON said
    plainly."""
    parts, details = [], []
    for error in errors:
        loc = list(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            context = error.get("ctx", {}).get("error", error.get("msg", ""))
            return InvalidInput(f"malformed JSON: {context}")
        if loc == ["body"] and error.get("type") == "missing":
            return InvalidInput("a JSON body is required")
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        where = ".".join(str(part) for part in loc) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
        details.append({"type": error.get("type"), "loc": loc, "msg": error.get("msg")})
    return InvalidInput("; ".join(parts), details=details)


class NexusRoute(APIRoute):
    """An APIRoute that reads the JSON body within the size limit and answers every
    failure in NEXUS's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        has_body = self.body_field is not None

        async def serve(request: Request) -> Response:
            started = time.perf_counter()
            request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
            token = request_id_var.set(request_id)
            request.state.request_id = request_id
            try:
                response = await self._answer(handle, request, has_body)
            finally:
                request_id_var.reset(token)
            response.headers["X-Request-ID"] = request_id
            method = "GET" if request.method == "HEAD" else request.method
            metrics.HTTP_REQUESTS.labels(method, self.path, response.status_code).inc()
            metrics.HTTP_LATENCY.labels(method, self.path).observe(time.perf_counter() - started)
            return response

        return serve

    async def _answer(
        self, handle: Callable[[Request], Awaitable[Response]], request: Request, has_body: bool
    ) -> Response:
        try:
            if has_body:
                limit = getattr(request.app.state, "max_body_bytes", DEFAULT_MAX_BODY)
                body = await read_body(request, limit)
                if body:
                    _check_json(body)
                request._body = body  # FastAPI reads it from here
            return await handle(request)
        except NexusError as exc:
            return error_response(exc)
        except RequestValidationError as exc:
            return error_response(invalid_input(exc.errors()))
        except HTTPException as exc:
            return http_error_response(exc)
        except Exception:
            log.exception("%s %s failed", request.method, self.path)
            return error_response(InternalError("internal error; see the server log"))


def _check_json(body: bytes) -> None:
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None


def http_error_response(exc: HTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": exc.detail}},
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def http_error(_request: Request, exc: Exception) -> Response:
    """For what no route answered (unknown path, wrong method)."""
    assert isinstance(exc, HTTPException)
    return http_error_response(exc)


def api_router(tag: str) -> APIRouter:
    """A router whose routes answer in NEXUS's way and document its error shape."""
    return APIRouter(tags=[tag], route_class=NexusRoute, responses=ERROR_RESPONSES)
