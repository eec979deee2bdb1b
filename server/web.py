"""The browser IDE: the built app in `NEXUS_WEB_DIR` served from the same origin as the API.

Every app URL answers `index.html`, never cached, so a rebuild reaches browsers at once;
Vite names what `index.html` loads by content hash (`assets/app-3f2a….js`), so those
files may be cached for ever.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

log = logging.getLogger("nexus.web")

NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"

NOT_BUILT = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>NEXUS</title>
<h1>NEXUS is running, but the web app is not built</h1>
<p>Run <code>make run</code> in the repository: it builds the web app in <code>web/</code>
and starts the server (with the server running, <code>make web</code> then a reload will do).
Or point <code>NEXUS_WEB_DIR</code> at a folder holding a built <code>index.html</code>.</p>
<p>API: <a href="/openapi.json">/openapi.json</a> · health: <a href="/healthz">/healthz</a>
· metrics: <a href="/metrics">/metrics</a></p>
</html>
"""


class ImmutableStaticFiles(StaticFiles):
    """Starlette's StaticFiles (which keeps requests inside its folder) with a cache header
    for content-hashed files; a missing folder answers 404 rather than failing."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response

    async def check_config(self) -> None:
        """The app may be built after the server starts: no folder yet is a 404, not a 500."""


class WebApp:
    """The routes of the built app in `web_dir`, read on every request (a rebuild needs no
    restart)."""

    def __init__(self, web_dir: Path) -> None:
        self.web_dir = web_dir.resolve()

    @property
    def built(self) -> bool:
        return (self.web_dir / "index.html").is_file()

    async def index(self, _request: Request) -> Response:
        if not self.built:
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": NO_CACHE})
        return FileResponse(self.web_dir / "index.html", headers={"Cache-Control": NO_CACHE})

    async def top_level_file(self, request: Request) -> Response:
        """favicon.ico, robots.txt and the like: plain files at the top of the build."""
        name = request.path_params["name"]
        if name.startswith(".") or "\x00" in name or "\\" in name:
            raise HTTPException(status_code=404)
        path = self.web_dir / name
        if not path.is_file() or path.resolve().parent != self.web_dir:
            raise HTTPException(status_code=404)
        return FileResponse(path, headers={"Cache-Control": NO_CACHE})

    def routes(self) -> list[BaseRoute]:
        """To be placed after every other route: `/{name}` matches any one-segment path."""
        if not self.built:
            log.warning("the web app is not built: no index.html in %s (`make web`)", self.web_dir)
        assets = self.web_dir / "assets"
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/w/{workspace_id}", self.index, methods=["GET"]),
            Route("/w/{workspace_id}/{rest:path}", self.index, methods=["GET"]),
            # Compressed on the way out: the editor's JavaScript is a third of its size
            # gzipped; browsers then cache it for good.
            Mount(
                "/assets",
                GZipMiddleware(
                    ImmutableStaticFiles(directory=assets, check_dir=False),
                    minimum_size=1024,
                    compresslevel=6,
                ),
            ),
            Route("/{name}", self.top_level_file, methods=["GET"]),
        ]
