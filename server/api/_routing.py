"""A small layer over Starlette routes: every REST endpoint is a decorated function.

The decorator declares the body model, the response model and whether a token is
needed. The wrapper reads the body within the size limit, validates it with the same
pydantic model that the OpenAPI description is built from, authenticates, turns
`NexusError`s into `{"error": {"code", "message"}}`, and records metrics.

    @api.post("/api/v1/workspaces", body=CreateWorkspace, response=Workspace, status=201)
    async def create_workspace(call: ApiCall) -> Workspace: ...
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import metrics
from server.auth import Principal, bearer_token
from server.core import describe_validation_error
from server.errors import InternalError, InvalidInput, NexusError, PayloadTooLarge, RateLimited
from server.logs import request_id_var

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger("nexus.api")


@dataclass
class ApiCall:
    """What a handler gets: the request, the services, the caller and the parsed body."""

    request: Request
    services: Services
    principal: Principal | None
    body: Any = None
    query: Any = None
    request_id: str = ""

    @property
    def params(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "endpoint declared auth=False"
        return self.principal


Handler = Callable[[ApiCall], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    body: type[BaseModel] | None
    response: Any
    status: int
    auth: bool
    summary: str
    tags: list[str] = field(default_factory=list)
    query: type[BaseModel] | None = None


def error_response(exc: NexusError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(int(exc.retry_after + 0.999))
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(to_jsonable_python(exc.to_dict()), status_code=exc.status, headers=headers)


class Api:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        body: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: bool = True,
        query: type[BaseModel] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            self.endpoints.append(
                Endpoint(
                    method, path, handler, body, response, status, auth, summary, [self.tag], query
                )
            )
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kwargs)


def starlette_routes(endpoints: list[Endpoint]) -> list[Route]:
    """One Starlette route per path, dispatching on method."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    return [
        Route(path, _dispatcher(methods), methods=list(methods))
        for path, methods in by_path.items()
    ]


def _dispatcher(methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await _serve(methods[method], request)

    return dispatch


async def _serve(endpoint: Endpoint, request: Request) -> Response:
    started = time.perf_counter()
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    token = request_id_var.set(request_id)
    try:
        response = await _call(endpoint, request, request_id)
    finally:
        request_id_var.reset(token)
    response.headers["X-Request-ID"] = request_id
    metrics.HTTP_REQUESTS.labels(endpoint.method, endpoint.path, response.status_code).inc()
    metrics.HTTP_LATENCY.labels(endpoint.method, endpoint.path).observe(
        time.perf_counter() - started
    )
    return response


async def _call(endpoint: Endpoint, request: Request, request_id: str) -> Response:
    services: Services = request.app.state.services
    try:
        principal = None
        if endpoint.auth:
            token = bearer_token(request.headers.get("authorization"))
            principal = await services.authenticator.authenticate(token)
        call = ApiCall(request, services, principal, request_id=request_id)
        if endpoint.body is not None:
            call.body = _validate(endpoint.body, await _read_json(request, services))
        if endpoint.query is not None:
            call.query = _validate(endpoint.query, dict(request.query_params))
        result = await endpoint.handler(call)
    except NexusError as exc:
        return error_response(exc)
    except Exception:
        log.exception("%s %s failed", endpoint.method, endpoint.path)
        return error_response(InternalError("internal error; see the server log"))
    if isinstance(result, Response):
        return result
    if result is None and endpoint.status == 204:
        return Response(status_code=204)
    return JSONResponse(to_jsonable_python(result), status_code=endpoint.status)


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


async def _read_json(request: Request, services: Services) -> Any:
    raw = await read_body(request, services.settings.max_body_bytes)
    if not raw:
        raise InvalidInput("a JSON body is required")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None


def _validate(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            describe_validation_error(exc),
            details=exc.errors(include_url=False, include_context=False, include_input=False),
        ) from None
