"""One bridge per (workspace, language): the servers for that language, the shared
documents they see, and the requests of every collaborator, multiplexed onto them.

The bridge is each server's only client. It opens documents from the collaborative
`Room`s and sends incremental `didChange`s with its own version numbers as the shared
text changes, whoever typed; clients only say which documents they look at.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsp import metrics
from lsp.errors import (
    CONTENT_MODIFIED,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    REQUEST_FAILED,
    LspError,
)
from lsp.merge import PROVIDERS, merge_capabilities, merge_results
from lsp.registry import ServerSpec
from lsp.seed import CacheSeeds
from lsp.text import Lines, PositionError, change_between
from lsp.upstream import Upstream, UpstreamError
from server.collab._protocol import read_state_vector
from server.collab.room import Room, RoomKey
from server.collab.rooms import Rooms
from server.errors import NexusError
from server.supervisor import CrashLoop, Supervisor
from server.workspaces.paths import resolve_in_workspace

log = logging.getLogger("nexus.lsp")

WARM_URI_NAME = ".nexus-warm-up.py"
KNOWN_METHODS = frozenset(PROVIDERS)


@dataclass(frozen=True)
class BridgeSettings:
    request_timeout: float = 10.0
    start_timeout: float = 30.0
    sync_wait: float = 0.5
    memory_mb: int = 2048
    max_crashes: int = 5
    crash_window: float = 180.0


@dataclass
class BridgeDocument:
    path: str  # relative to the workspace folder
    uri: str
    room: Room
    text: str
    version: int = 1
    holders: set[str] = field(default_factory=set)
    unsubscribe: Callable[[], None] = lambda: None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _lines: Lines | None = None

    @property
    def lines(self) -> Lines:
        if self._lines is None or self._lines.text is not self.text:
            self._lines = Lines(self.text)
        return self._lines


@dataclass
class ServerSlot:
    spec: ServerSpec
    upstream: Upstream | None = None
    status: str = "starting"  # starting, running, restarting, failed, stopped
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: CrashLoop = field(default_factory=lambda: CrashLoop("language_server"))
    detail: str = ""


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
        self.slots = {
            spec.name: ServerSlot(
                spec,
                restarts=CrashLoop(
                    "language_server", limit=settings.max_crashes, window=settings.crash_window
                ),
            )
            for spec in specs
        }
        self.documents: dict[str, BridgeDocument] = {}
        self.diagnostics: dict[str, dict[str, list[Any]]] = {}  # uri → server → list
        self.sessions: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.last_used = time.monotonic()
        self.closed = False
        self.ready = asyncio.Event()
        self.warm = asyncio.Event()
        self._open_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._capabilities: dict[str, Any] | None = None

    # -- life ------------------------------------------------------------------------

    def start(self) -> None:
        """Start every server in the background; `ready` is set when all have answered
        `initialize` (or failed), `warm` when the warm-up completion is done. One task
        per server, each in `_tasks`, so that `close` waits for every one of them to
        have stopped its process (a gather would end at the first cancelled one)."""
        for slot in self.slots.values():
            self._spawn(self._run_server(slot))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_server(self, slot: ServerSlot) -> None:
        """Start a server and keep it running: restart with backoff after a crash, until
        it crashes more than `max_crashes` times within `crash_window` seconds."""
        program = slot.spec.command[0]
        if not self.supervisor.sandbox.shows(program):
            self._give_up(slot, f"{program} is outside the workspace sandbox (install it in /usr)")
            return
        if self.seeds is not None:
            await self.seeds.seed(slot.spec, self.workspace_id, self.language)
        while not self.closed:
            upstream = Upstream(
                slot.spec,
                self.root,
                supervisor=self.supervisor,
                workspace_id=self.workspace_id,
                memory_mb=self.settings.memory_mb,
                on_notification=self._server_notification,
            )
            try:
                await upstream.start(self.settings.start_timeout)
            except asyncio.CancelledError:
                await upstream.stop(grace=0.2)  # closed while starting: no orphan
                raise
            except Exception as exc:
                await upstream.stop(grace=0.5)
                log.warning("%s failed to start in %s: %s", slot.spec.name, self.root, exc)
                if not await self._crashed(slot, f"failed to start: {exc}"):
                    return
                continue
            if self.closed:
                await upstream.stop()
                return
            slot.upstream = upstream
            slot.status = "running"
            slot.detail = ""
            metrics.SERVERS.labels(slot.spec.name).inc()
            self._capabilities = None
            for document in self.documents.values():
                self._did_open(upstream, document)
            slot.ready.set()
            self._update_ready()
            if slot.spec.warm_up:
                self._spawn(self._warm_up(upstream, slot.spec.warm_up))
            started = time.monotonic()
            code = await asyncio.shield(upstream.exited)  # cancelling us is not its end
            metrics.SERVERS.labels(slot.spec.name).dec()
            slot.ready.clear()
            slot.upstream = None
            if upstream.stopping or self.closed:
                return
            log.warning("%s exited with %s in %s; restarting", slot.spec.name, code, self.root)
            await upstream.stop(grace=0.1)  # kill and reap what is left of it
            metrics.RESTARTS.labels(slot.spec.name).inc()
            if time.monotonic() - started >= self.settings.crash_window:
                slot.restarts.started()  # it had lasted: back to the shortest delay
            if not await self._crashed(slot, f"exited with code {code}"):
                return

    async def _crashed(self, slot: ServerSlot, detail: str) -> bool:
        """Count a crash; wait out the backoff. False: give up (a clear status)."""
        delay = slot.restarts.crashed()
        if delay is None:
            log.error(
                "%s crashed more than %d times in %g s; giving up",
                slot.spec.name,
                slot.restarts.limit,
                slot.restarts.window,
            )
            self._give_up(slot, detail)
            return False
        slot.detail = detail
        slot.status = "restarting"
        self._send_status()
        await asyncio.sleep(delay)
        return not self.closed

    def _give_up(self, slot: ServerSlot, detail: str) -> None:
        """Mark a server `failed`, with why; the bridge's other servers carry on."""
        slot.detail = detail
        slot.status = "failed"
        slot.ready.set()  # waiters see the failure instead of waiting it out
        metrics.FAILED.labels(slot.spec.name).inc()
        self._update_ready()
        self._send_status()

    def _update_ready(self) -> None:
        if all(slot.status in ("running", "failed") for slot in self.slots.values()):
            self.ready.set()
            self._send_status()

    async def _warm_up(self, upstream: Upstream, line: str) -> None:
        """A throwaway completion, so that the first real one finds jedi's caches full."""
        uri = (self.root / WARM_URI_NAME).as_uri()
        try:
            await upstream.complete_once(uri, self.language, line, self.settings.start_timeout)
        except Exception as exc:
            log.info("warming %s up failed: %s", upstream.spec.name, exc)
        finally:
            self.warm.set()
            self._send_status()

    async def close(self) -> None:
        """Stop every server (shutdown → exit → terminate → kill, reaped) and let go of
        the documents."""
        if self.closed:
            return
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        upstreams = [slot.upstream for slot in self.slots.values() if slot.upstream is not None]
        await asyncio.gather(*(upstream.stop() for upstream in upstreams))
        for slot in self.slots.values():
            if slot.upstream is not None:
                metrics.SERVERS.labels(slot.spec.name).dec()
                slot.upstream = None
            slot.status = "stopped"
        for document in list(self.documents.values()):
            document.unsubscribe()
            await self.rooms.release(document.room)
        self.documents.clear()

    def pids(self) -> list[int]:
        """The servers' supervised processes (bwrap when sealed: the servers run inside)."""
        return [
            slot.upstream.pid
            for slot in self.slots.values()
            if slot.upstream is not None and slot.upstream.pid is not None
        ]

    def status(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace_id,
            "language": self.language,
            "ready": self.ready.is_set(),
            "warm": self.warm.is_set(),
            "servers": [
                {
                    "name": name,
                    "status": slot.status,
                    "detail": slot.detail,
                    "pid": slot.upstream.pid if slot.upstream is not None else None,
                }
                for name, slot in self.slots.items()
            ],
        }

    def _send_status(self) -> None:
        self._publish(self, "$/nexus/status", self.status())

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

    # -- documents ---------------------------------------------------------------------

    def path_of(self, uri: str) -> str:
        """A client's document URI (a `file:` URI inside the workspace, or a path
        relative to it) as a workspace-relative path; anything else is refused."""
        if not isinstance(uri, str) or not uri:
            raise LspError(INVALID_PARAMS, "textDocument.uri is missing")
        if uri.startswith("file:"):
            path = Path(unquote(urlparse(uri).path))
            try:
                relative = path.relative_to(self.root)
            except ValueError:
                raise LspError(INVALID_PARAMS, f"{uri} is outside the workspace") from None
            uri = relative.as_posix()
        try:
            relative_path, _ = resolve_in_workspace(self.root, uri)
        except NexusError as exc:
            raise LspError(INVALID_PARAMS, exc.message) from None
        return relative_path

    async def open_document(self, path: str, holder: str) -> BridgeDocument:
        """Open the shared document at `path` for the servers (once, however many
        clients look at it); `holder` is who keeps it open."""
        self.last_used = time.monotonic()
        async with self._open_lock:
            document = self.documents.get(path)
            if document is None:
                relative, absolute = resolve_in_workspace(self.root, path)
                if not absolute.is_file() and self.rooms.get(self.workspace_id, relative) is None:
                    raise LspError(INVALID_PARAMS, f"{relative} does not exist")
                try:
                    room = await self.rooms.acquire(
                        RoomKey(self.workspace_id, relative), absolute, self.root
                    )
                except NexusError as exc:
                    raise LspError(INVALID_PARAMS, exc.message) from None
                document = BridgeDocument(relative, absolute.as_uri(), room, room.source)
                document.unsubscribe = room.observe_text(
                    functools.partial(self._room_changed, document)
                )
                self.documents[relative] = document
                self._text_changed(document)  # typed between acquire and subscribe
                for slot in self.slots.values():
                    if slot.upstream is not None:
                        self._did_open(slot.upstream, document)
            document.holders.add(holder)
            return document

    async def release_document(self, path: str, holder: str) -> None:
        document = self.documents.get(path)
        if document is None:
            return
        document.holders.discard(holder)
        if document.holders:
            return
        del self.documents[path]
        document.unsubscribe()
        for slot in self.slots.values():
            if slot.upstream is not None:
                slot.upstream.notify(
                    "textDocument/didClose", {"textDocument": {"uri": document.uri}}
                )
        if self.diagnostics.pop(document.uri, None):
            self._publish(
                self, "textDocument/publishDiagnostics", {"uri": document.uri, "diagnostics": []}
            )
        await self.rooms.release(document.room)

    async def release_holder(self, holder: str) -> None:
        for path in [p for p, d in self.documents.items() if holder in d.holders]:
            await self.release_document(path, holder)

    def _did_open(self, upstream: Upstream, document: BridgeDocument) -> None:
        upstream.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": document.uri,
                    "languageId": self.language,
                    "version": document.version,
                    "text": document.text,
                }
            },
        )

    def _room_changed(self, document: BridgeDocument, _room: Room) -> None:
        self._text_changed(document)

    def _text_changed(self, document: BridgeDocument) -> None:
        """The shared text changed (any client, the disk, a rename): one incremental
        `didChange` with our next version number."""
        new = document.room.source
        change = change_between(document.text, new)
        if change is None:
            return
        document.text = new
        document.version += 1
        for slot in self.slots.values():
            upstream = slot.upstream
            if upstream is None:
                continue
            sync = upstream.capabilities.get("textDocumentSync", 1)
            kind = sync.get("change", 1) if isinstance(sync, dict) else sync
            content = change if kind == 2 else {"text": new}
            upstream.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": document.uri, "version": document.version},
                    "contentChanges": [content],
                },
            )
        document.changed.set()
        document.changed = asyncio.Event()

    async def _catch_up(self, document: BridgeDocument, sync: dict[str, Any]) -> None:
        """Wait (at most `sync_wait`) until the shared document holds the client's edits:
        `sync` is `{client, clock}` (its Yjs client id and clock) or `{stateVector}`
        (base64 of its Yjs state vector)."""
        try:
            if "stateVector" in sync:
                wanted = read_state_vector(base64.b64decode(sync["stateVector"]))
            else:
                wanted = {int(sync["client"]): int(sync["clock"])}
        except Exception:
            raise LspError(
                INVALID_PARAMS, "nexus sync must be {client, clock} or {stateVector}"
            ) from None
        deadline = time.monotonic() + self.settings.sync_wait
        while True:
            have = read_state_vector(document.room.doc.get_state())
            if all(have.get(client, 0) >= clock for client, clock in wanted.items()):
                self._text_changed(document)
                return
            left = deadline - time.monotonic()
            if left <= 0:
                log.info("request on %s went ahead without the client's latest edit", document.path)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await document.changed.wait()

    # -- requests ----------------------------------------------------------------------

    async def request(self, method: str, params: Any, *, holder: str = "requests") -> Any:
        """Answer one request from any client: route it to the servers that own the
        method, merge their answers, drop them if the document moved on meanwhile."""
        started = time.perf_counter()
        label = method if method in KNOWN_METHODS else "other"
        try:
            return await self._request(method, params, holder)
        except LspError as exc:
            metrics.ERRORS.labels(str(exc.code)).inc()
            raise
        finally:
            metrics.LATENCY.labels(label).observe(time.perf_counter() - started)

    async def _request(self, method: str, params: Any, holder: str) -> Any:
        self.last_used = time.monotonic()
        slots = [slot for slot in self.slots.values() if method in slot.spec.methods]
        if not slots:
            raise LspError(METHOD_NOT_FOUND, f"no {self.language} server handles {method}")
        if params is not None and not isinstance(params, dict):
            raise LspError(INVALID_PARAMS, "params must be an object")
        params = dict(params or {})
        sync = params.pop("nexus", None)
        document = None
        text_document = params.get("textDocument")
        if text_document is not None:
            if not isinstance(text_document, dict):
                raise LspError(INVALID_PARAMS, "textDocument must be an object")
            path = self.path_of(text_document.get("uri", ""))
            document = self.documents.get(path) or await self.open_document(path, holder)
            params["textDocument"] = {**text_document, "uri": document.uri}
            if isinstance(sync, dict):
                await self._catch_up(document, sync)
            for key in ("position",):
                if key in params:
                    self._check_position(document, params[key])
            if isinstance(params.get("range"), dict):
                self._check_position(document, params["range"].get("start"))
                self._check_position(document, params["range"].get("end"))
        version = document.version if document else None
        results = await asyncio.gather(
            *(self._ask(slot, method, params) for slot in slots), return_exceptions=True
        )
        answers: list[Any] = []
        errors: list[BaseException] = []
        for result in results:
            (errors if isinstance(result, BaseException) else answers).append(result)
        for error in errors:
            if isinstance(error, asyncio.CancelledError):
                raise error
        if errors and not answers:
            error = errors[0]
            if isinstance(error, LspError):
                raise error
            if isinstance(error, UpstreamError):
                raise LspError(error.code, error.message, error.data)
            raise LspError(REQUEST_FAILED, f"{method} failed: {error}")
        if document is not None and document.version != version:
            raise LspError(CONTENT_MODIFIED, "the document changed while this was computed")
        return merge_results(method, answers)

    def _check_position(self, document: BridgeDocument, position: Any) -> None:
        if not isinstance(position, dict):
            raise LspError(INVALID_PARAMS, "a position must be {line, character}")
        try:
            document.lines.offset(position)
        except PositionError as exc:
            raise LspError(INVALID_PARAMS, f"{document.path}: {exc}") from None

    async def _ask(self, slot: ServerSlot, method: str, params: Any) -> Any:
        timeout = self.settings.request_timeout
        if slot.upstream is None and slot.status != "failed":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await slot.ready.wait()
        upstream = slot.upstream
        if upstream is None:
            raise LspError(
                REQUEST_FAILED, f"{slot.spec.name} is {slot.status}: {slot.detail}".rstrip(": ")
            )
        provider = PROVIDERS.get(method)
        if provider is not None and not upstream.capabilities.get(provider):
            return None
        try:
            msg_id, future = upstream.send(method, params)
            return await upstream.wait(msg_id, future, timeout)
        except TimeoutError:
            metrics.TIMEOUTS.labels(method if method in KNOWN_METHODS else "other").inc()
            raise LspError(
                REQUEST_FAILED, f"{slot.spec.name} did not answer {method} in {timeout:g} s"
            ) from None

    # -- from the servers ----------------------------------------------------------------

    def _server_notification(self, upstream: Upstream, method: str, params: Any) -> None:
        if method == "textDocument/publishDiagnostics":
            if not upstream.spec.diagnostics or not isinstance(params, dict):
                return
            uri = params.get("uri", "")
            document = next((d for d in self.documents.values() if d.uri == uri), None)
            if document is None:
                return  # the warm-up file, or a document closed meanwhile
            version = params.get("version")
            if isinstance(version, int) and version < document.version:
                return  # computed for text that is gone; fresh ones follow
            per_server = self.diagnostics.setdefault(uri, {})
            per_server[upstream.spec.name] = list(params.get("diagnostics", []))
            merged = [item for items in per_server.values() for item in items]
            self._publish(
                self,
                "textDocument/publishDiagnostics",
                {"uri": uri, "version": document.version, "diagnostics": merged},
            )
        elif method == "window/showMessage":
            self._publish(self, method, params)
        elif method == "window/logMessage":
            log.debug("%s: %s", upstream.spec.name, params)

    def problems(self) -> list[dict[str, Any]]:
        """Every open document's diagnostics, merged across servers."""
        out = []
        for document in self.documents.values():
            merged = [d for ds in self.diagnostics.get(document.uri, {}).values() for d in ds]
            out.append({"path": document.path, "uri": document.uri, "diagnostics": merged})
        return out
