"""The ASGI application: Starlette for HTTP, python-socketio for the hub, one lifespan."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from extensions import commands as command_api
from extensions.openapi import build_openapi
from lsp.websocket import lsp_endpoint
from server import metrics
from server.ai import rest as ai_api
from server.api import Endpoint, starlette_routes
from server.api import auth as auth_api
from server.api import files as files_api
from server.api import git as git_api
from server.api import search as search_api
from server.api import workspaces as workspace_api
from server.collab.websocket import yjs_endpoint
from server.config import Settings
from server.hub import Hub
from server.services import Services, open_services
from server.web import WebApp
from voice import api as voice_api

log = logging.getLogger("nexus")

ENDPOINTS: list[Endpoint] = [
    *auth_api.api.endpoints,
    *workspace_api.api.endpoints,
    *files_api.api.endpoints,
    *search_api.api.endpoints,
    *git_api.api.endpoints,
    *command_api.api.endpoints,
    *voice_api.api.endpoints,
    *ai_api.api.endpoints,
]


def nexus_version() -> str:
    try:
        return version("nexus-ide")
    except PackageNotFoundError:
        return "0.0.0"


async def healthz(request: Request) -> Response:
    services = request.app.state.services
    sandbox = services.supervisor.sandbox.status
    return JSONResponse(
        {
            "status": "ok",
            "node": services.node_id,
            "version": nexus_version(),
            "sandbox": {"sealed": sandbox.sealed, "detail": sandbox.detail},
        }
    )


async def readyz(request: Request) -> Response:
    """Whether this node serves at full speed: `/healthz` says the process is up; this
    waits for background warm-up (loading the speech model takes CPU seconds), so a load
    balancer or a benchmark sends work only to a node that is not busy starting."""
    services = request.app.state.services
    warming = ["voice"] if services.voice.warming else []
    sandbox = services.supervisor.sandbox.status
    body = {
        "status": "warming" if warming else "ready",
        "warming": warming,
        "sandbox": {"sealed": sandbox.sealed, "detail": sandbox.detail},
    }
    return JSONResponse(body, status_code=503 if warming else 200)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": exc.detail}}, status_code=exc.status_code
    )


async def _announce(services: Services) -> None:
    """Print where to open NEXUS, with a fresh admin token unless one is configured."""
    settings = services.settings
    if settings.admin_token:
        print(f"NEXUS is running at {settings.public_url}/ (admin token from NEXUS_ADMIN_TOKEN)")
    else:
        token, _ = await services.tokens.issue(
            services.admin.id, kind="session", ttl=timedelta(hours=settings.token_ttl_hours)
        )
        print(
            "NEXUS is running. To log in as admin, open:\n"
            f"    {settings.public_url}/?token={token}",
        )
    sys.stdout.flush()


def create_app(settings: Settings | None = None) -> Any:
    """The whole server as one ASGI app; storage, bus and presence open at startup."""
    settings = settings or Settings()
    hub = Hub(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            app.state.services = services
            hub.attach(services)
            await _announce(services)
            try:
                yield
            finally:
                await hub.close()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/openapi.json", openapi),
        *starlette_routes(ENDPOINTS),
        WebSocketRoute("/yjs/{workspace_id}/{path:path}", yjs_endpoint),
        WebSocketRoute("/lsp/{workspace_id}/{language}", lsp_endpoint),
        *WebApp(settings.web_dir).routes(),  # last: it answers any one-segment path
    ]
    web = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error}
    )
    web.state.openapi = build_openapi(ENDPOINTS, title="NEXUS", version=nexus_version())
    web.state.hub = hub
    return socketio.ASGIApp(hub.sio, other_asgi_app=web)
