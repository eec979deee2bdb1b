"""Document sync: the shared documents a bridge's servers see, opened from the
collaborative `Room`s and kept in step with `didChange`s carrying the bridge's own
version numbers, whoever typed; and the servers' diagnostics for them."""

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

from lsprotocol.types import ErrorCodes, TextDocumentSyncKind

from lsp.errors import LspError
from lsp.site import Site
from lsp.text import Lines, PositionError, change_between
from lsp.upstream import Upstream
from server.collab import Room, RoomKey, Rooms, read_state_vector
from server.errors import NexusError
from server.folders.paths import resolve_in_workspace

log = logging.getLogger("nexus.lsp")

INVALID_PARAMS = ErrorCodes.InvalidParams


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


class SharedDocuments:
    """The documents one bridge has open, each once however many clients look at it."""

    def __init__(
        self,
        site: Site,
        *,
        rooms: Rooms,
        sync_wait: float,
        upstreams: Callable[[], list[Upstream]],
        send: Callable[[str, Any], None],
    ) -> None:
        self.site = site
        self.rooms = rooms
        self.sync_wait = sync_wait
        self._upstreams = upstreams  # the servers running now
        self._send = send  # to the bridge's clients
        self.documents: dict[str, BridgeDocument] = {}
        self.diagnostics: dict[str, dict[str, list[Any]]] = {}  # uri → server → list
        self._open_lock = asyncio.Lock()

    def path_of(self, uri: str) -> str:
        """A client's document URI (a `file:` URI inside the workspace, or a path
        relative to it) as a workspace-relative path; anything else is refused."""
        if not isinstance(uri, str) or not uri:
            raise LspError(INVALID_PARAMS, "textDocument.uri is missing")
        if uri.startswith("file:"):
            path = Path(unquote(urlparse(uri).path))
            try:
                relative = path.relative_to(self.site.root)
            except ValueError:
                raise LspError(INVALID_PARAMS, f"{uri} is outside the workspace") from None
            uri = relative.as_posix()
        try:
            relative_path, _ = resolve_in_workspace(self.site.root, uri)
        except NexusError as exc:
            raise LspError(INVALID_PARAMS, exc.message) from None
        return relative_path

    async def open(self, path: str, holder: str) -> BridgeDocument:
        """Open the shared document at `path` for the servers (once, however many
        clients look at it); `holder` is who keeps it open."""
        async with self._open_lock:
            document = self.documents.get(path)
            if document is None:
                document = await self._load(path)
            document.holders.add(holder)
            return document

    async def _load(self, path: str) -> BridgeDocument:
        relative, absolute = resolve_in_workspace(self.site.root, path)
        if not absolute.is_file() and self.rooms.get(self.site.workspace_id, relative) is None:
            raise LspError(INVALID_PARAMS, f"{relative} does not exist")
        try:
            room = await self.rooms.acquire(
                RoomKey(self.site.workspace_id, relative), absolute, self.site.root
            )
        except NexusError as exc:
            raise LspError(INVALID_PARAMS, exc.message) from None
        document = BridgeDocument(relative, absolute.as_uri(), room, room.source)
        document.unsubscribe = room.observe_text(functools.partial(self._room_changed, document))
        self.documents[relative] = document
        self.text_changed(document)  # typed between acquire and subscribe
        for upstream in self._upstreams():
            self.did_open(upstream, document)
        return document

    async def release(self, path: str, holder: str) -> None:
        document = self.documents.get(path)
        if document is None:
            return
        document.holders.discard(holder)
        if document.holders:
            return
        del self.documents[path]
        document.unsubscribe()
        for upstream in self._upstreams():
            upstream.notify("textDocument/didClose", {"textDocument": {"uri": document.uri}})
        if self.diagnostics.pop(document.uri, None):
            self._send("textDocument/publishDiagnostics", {"uri": document.uri, "diagnostics": []})
        await self.rooms.release(document.room)

    async def release_holder(self, holder: str) -> None:
        for path in [p for p, d in self.documents.items() if holder in d.holders]:
            await self.release(path, holder)

    async def close(self) -> None:
        """Let go of every document (the servers are gone: nothing is sent)."""
        for document in list(self.documents.values()):
            document.unsubscribe()
            await self.rooms.release(document.room)
        self.documents.clear()

    def open_all(self, upstream: Upstream) -> None:
        """A server (re)started: it sees every open document afresh."""
        for document in self.documents.values():
            self.did_open(upstream, document)

    def did_open(self, upstream: Upstream, document: BridgeDocument) -> None:
        upstream.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": document.uri,
                    "languageId": self.site.language,
                    "version": document.version,
                    "text": document.text,
                }
            },
        )

    def _room_changed(self, document: BridgeDocument, _room: Room) -> None:
        self.text_changed(document)

    def text_changed(self, document: BridgeDocument) -> None:
        """The shared text changed (any client, the disk, a rename): one incremental
        `didChange` with our next version number."""
        new = document.room.source
        change = change_between(document.text, new)
        if change is None:
            return
        document.text = new
        document.version += 1
        for upstream in self._upstreams():
            sync = upstream.capabilities.get("textDocumentSync", 1)
            kind = sync.get("change", 1) if isinstance(sync, dict) else sync
            content = change if kind == TextDocumentSyncKind.Incremental else {"text": new}
            upstream.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": document.uri, "version": document.version},
                    "contentChanges": [content],
                },
            )
        document.changed.set()
        document.changed = asyncio.Event()

    async def catch_up(self, document: BridgeDocument, sync: dict[str, Any]) -> None:
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
        deadline = time.monotonic() + self.sync_wait
        while True:
            have = read_state_vector(document.room.doc.get_state())
            if all(have.get(client, 0) >= clock for client, clock in wanted.items()):
                self.text_changed(document)
                return
            left = deadline - time.monotonic()
            if left <= 0:
                log.info("request on %s went ahead without the client's latest edit", document.path)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await document.changed.wait()

    def check_position(self, document: BridgeDocument, position: Any) -> None:
        if not isinstance(position, dict):
            raise LspError(INVALID_PARAMS, "a position must be {line, character}")
        try:
            document.lines.offset(position)
        except PositionError as exc:
            raise LspError(INVALID_PARAMS, f"{document.path}: {exc}") from None

    # -- diagnostics ---------------------------------------------------------------------

    def diagnostics_from(self, upstream: Upstream, params: Any) -> None:
        """One server's diagnostics for a document: merged with the other servers' and
        sent to the clients, unless they are for text that is gone."""
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
        self._send(
            "textDocument/publishDiagnostics",
            {"uri": uri, "version": document.version, "diagnostics": merged},
        )

    def problems(self) -> list[dict[str, Any]]:
        """Every open document's diagnostics, merged across servers."""
        out = []
        for document in self.documents.values():
            merged = [d for ds in self.diagnostics.get(document.uri, {}).values() for d in ds]
            out.append({"path": document.path, "uri": document.uri, "diagnostics": merged})
        return out
