"""One bridge per (workspace, language): the servers for that language, the shared
documents they see, and the requests of every collaborator, multiplexed onto them.

The bridge is each server's only client. It opens documents from the collaborative
`Room`s and sends incremental `didChange`s with its own version numbers as the shared
text changes, whoever typed; clients only say which documents they look at.

Its parts: `_servers` (lifecycle: start, restart, stop), `_documents` (document sync
and diagnostics), `_routing` (requests to the servers and their merged answers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsp import metrics
from lsp._documents import BridgeDocument, SharedDocuments
from lsp._routing import KNOWN_METHODS, Router
from lsp._servers import WARM_URI_NAME, BridgeSettings, ServerPool, ServerSlot
from lsp.errors import LspError
from lsp.merge import merge_capabilities
from lsp.registry import ServerSpec
from lsp.seed import CacheSeeds
from lsp.site import Site
from lsp.upstream import Upstream
from server.collab import Rooms
from server.supervisor import Supervisor

__all__ = [
    "KNOWN_METHODS",
    "WARM_URI_NAME",
    "Bridge",
    "BridgeDocument",
    "BridgeSettings",
    "Publish",
    "ServerSlot",
]

log = logging.getLogger("nexus.lsp")

Publish = Callable[["Bridge", str, Any], None]


class Bridge:
    def __init__(
        self,
        workspace_id: str,
        language: str,
        root: Path,
        specs: list[ServerSpec],
        *,
        rooms: Rooms,
        settings: BridgeSettings,
        supervisor: Supervisor,
        publish: Publish,
        seeds: CacheSeeds | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.language = language
        self.root = root
        self.root_uri = root.as_uri()
        self.rooms = rooms
        self.settings = settings
        self.supervisor = supervisor
        self.seeds = seeds
        self._publish = publish
        site = Site(workspace_id, language, root)
        self.servers = ServerPool(
            site,
            specs,
            settings=settings,
            supervisor=supervisor,
            seeds=seeds,
            on_notification=self._server_notification,
            on_started=self._server_started,
            on_status=self._send_status,
        )
        self.shared = SharedDocuments(
            site,
            rooms=rooms,
            sync_wait=settings.sync_wait,
            upstreams=self.servers.upstreams,
            send=self._send,
        )
        self.router = Router(language, self.servers.slots, self.shared, settings)
        self.slots = self.servers.slots
        self.documents = self.shared.documents
        self.diagnostics = self.shared.diagnostics
        self.ready = self.servers.ready
        self.warm = self.servers.warm
        self.sessions: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.last_used = time.monotonic()
        self._capabilities: dict[str, Any] | None = None

    # -- life ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.servers.closed

    def start(self) -> None:
        """Start every server in the background; `ready` is set when all have answered
        `initialize` (or failed), `warm` when the warm-up completion is done."""
        self.servers.start()

    async def close(self) -> None:
        """Stop every server (shutdown → exit → terminate → kill, reaped) and let go of
        the documents."""
        if self.closed:
            return
        await self.servers.close()
        await self.shared.close()

    def pids(self) -> list[int]:
        """The servers' supervised processes (bwrap when sealed: the servers run inside)."""
        return self.servers.pids()

    def status(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace_id,
            "language": self.language,
            "ready": self.ready.is_set(),
            "warm": self.warm.is_set(),
            "servers": self.servers.report(),
        }

    def _send(self, method: str, params: Any) -> None:
        self._publish(self, method, params)

    def _send_status(self) -> None:
        self._send("$/nexus/status", self.status())

    def _server_started(self, upstream: Upstream) -> None:
        self._capabilities = None
        self.shared.open_all(upstream)

    # -- what clients see --------------------------------------------------------------

    def capabilities(self) -> dict[str, Any]:
        if self._capabilities is None:
            self._capabilities = merge_capabilities(
                [
                    (slot.spec.methods, slot.upstream.capabilities)
                    for slot in self.slots.values()
                    if slot.upstream is not None
                ]
            )
        return self._capabilities

    def initialize_result(self) -> dict[str, Any]:
        return {
            "capabilities": self.capabilities(),
            "serverInfo": {"name": "nexus-lsp-bridge", "version": "1"},
            "nexus": {"rootUri": self.root_uri, **self.status()},
        }

    def problems(self) -> list[dict[str, Any]]:
        """Every open document's diagnostics, merged across servers."""
        return self.shared.problems()

    # -- documents ---------------------------------------------------------------------

    def path_of(self, uri: str) -> str:
        """A client's document URI as a workspace-relative path; anything else is refused."""
        return self.shared.path_of(uri)

    async def open_document(self, path: str, holder: str) -> BridgeDocument:
        """Open the shared document at `path` for the servers (once, however many
        clients look at it); `holder` is who keeps it open."""
        self.last_used = time.monotonic()
        return await self.shared.open(path, holder)

    async def release_document(self, path: str, holder: str) -> None:
        await self.shared.release(path, holder)

    async def release_holder(self, holder: str) -> None:
        await self.shared.release_holder(holder)

    # -- requests ----------------------------------------------------------------------

    async def request(self, method: str, params: Any, *, holder: str = "requests") -> Any:
        """Answer one request from any client: route it to the servers that own the
        method, merge their answers, drop them if the document moved on meanwhile."""
        started = time.perf_counter()
        label = method if method in KNOWN_METHODS else "other"
        self.last_used = time.monotonic()
        try:
            return await self.router.request(method, params, holder)
        except LspError as exc:
            metrics.ERRORS.labels(str(exc.code)).inc()
            raise
        finally:
            metrics.LATENCY.labels(label).observe(time.perf_counter() - started)

    # -- from the servers ----------------------------------------------------------------

    def _server_notification(self, upstream: Upstream, method: str, params: Any) -> None:
        if method == "textDocument/publishDiagnostics":
            self.shared.diagnostics_from(upstream, params)
        elif method == "window/showMessage":
            self._send(method, params)
        elif method == "window/logMessage":
            log.debug("%s: %s", upstream.spec.name, params)
