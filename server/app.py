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
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import metrics
from server.api import auth as auth_api
from server.api import commands as command_api
from server.api import http_error
from server.config import Settings
from server.core import Feature, load_features
from server.hub import Hub
from server.platform import NexusApp, open_platform
from server.web import WebApp

log = logging.getLogger("nexus")


def nexus_version() -> str:
    try:
        return version("nexus-ide")
    except PackageNotFoundError:
        return "0.0.0"


async def healthz(request: Request) -> Response:
    nexus: NexusApp = request.app.state.nexus
    sandbox = nexus.supervisor.sandbox.status
    return JSONResponse(
        {
            "status": "ok",
            "node": nexus.node_id,
            "version": nexus_version(),
            "sandbox": {"sealed": sandbox.sealed, "detail": sandbox.detail},
        }
    )


async def readyz(request: Request) -> Response:
    """Whether this node serves at full speed: `/healthz` says the process is up; this
    waits for background warm-up (loading the speech model takes CPU seconds), so a load
    balancer or a benchmark sends work only to a node that is not busy starting."""
    nexus: NexusApp = request.app.state.nexus
    warming = nexus.warming_now()
    sandbox = nexus.supervisor.sandbox.status
    body = {
        "status": "warming" if warming else "ready",
        "warming": warming,
        "sandbox": {"sealed": sandbox.sealed, "detail": sandbox.detail},
    }
    return JSONResponse(body, status_code=503 if warming else 200)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def _announce(nexus: NexusApp) -> None:
    """Print where to open NEXUS, with a fresh admin token unless one is configured."""
    settings = nexus.settings
    if settings.admin_token:
        print(f"NEXUS is running at {settings.public_url}/ (admin token from NEXUS_ADMIN_TOKEN)")
    else:
        token, _ = await nexus.tokens.issue(
            nexus.admin.id, kind="session", ttl=timedelta(hours=settings.token_ttl_hours)
        )
        print(
            "NEXUS is running. To log in as admin, open:\n"
            f"    {settings.public_url}/?token={token}",
        )
    sys.stdout.flush()


def create_app(settings: Settings | None = None, features: list[Feature] | None = None) -> Any:
    """The whole server as one ASGI app: the platform and the installed features (their
    REST routes, websockets, socket events and commands), opened at startup."""
    settings = settings or Settings()
    features = load_features() if features is None else features
    hub = Hub(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_platform(settings, hub, features) as nexus:
            app.state.nexus = nexus
            hub.attach(nexus)
            await _announce(nexus)
            try:
                yield
            finally:
                await hub.close()
                app.state.nexus = None

    web = FastAPI(
        title="NEXUS",
        version=nexus_version(),
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        exception_handlers={HTTPException: http_error},
    )
    web.state.max_body_bytes = settings.max_body_bytes
    web.state.hub = hub
    web.router.routes.extend(
        [
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ]
    )
    web.include_router(auth_api.router)
    web.include_router(command_api.router)
    for feature in features:
        if feature.router is not None:
            web.include_router(feature.router)
        web.router.routes.extend(feature.websockets)
    web.router.routes.extend(WebApp(settings.web_dir).routes())  # last: any one-segment path
    return socketio.ASGIApp(hub.sio, other_asgi_app=web)
