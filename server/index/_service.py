"""`CodeIndex`: one workspace's code index, kept in step with its files in the
background and searchable at any moment from what it holds so far.

One task does all the writing, in order: the full scan at start (which resumes from the
manifest), then the files that change. Searches run beside it. Nothing here lets an
error stop the index for good: a Qdrant server that is down is retried with backoff, a
collection that vanished or does not match the manifest is rebuilt, a file that will not
parse is indexed by indentation.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from server.errors import Unavailable
from server.folders.ignore import IgnoreRules
from server.index._embed import Embedder
from server.index._files import MAX_FILE_BYTES, ReadFile, clean_path, list_files, read_file
from server.index._files import wanted as wanted_file
from server.index._manifest import Manifest
from server.index._search import SearchHit, check_query, find
from server.index._store import CollectionMissing, VectorStore
from server.index._sync import References, Syncer, SyncStats

log = logging.getLogger("nexus.index")

BATCH_FILES = 32  # files read, embedded and written together
PROGRESS_EVERY_S = 0.25
MAX_BACKOFF_S = 30.0
MANIFEST_VERSION = "1"


@dataclass(frozen=True, slots=True)
class IndexState:
    status: str = "idle"  # idle, indexing or error
    files: int = 0  # files to index in the workspace (known after the first scan)
    indexed_files: int = 0  # of those, indexed as they are now
    chunks: int = 0  # chunks searchable now
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[IndexState], Awaitable[None] | None]


def collection_name(workspace_id: str) -> str:
    return "nexus_code_" + re.sub(r"[^A-Za-z0-9_-]", "_", workspace_id)


class CodeIndex:
    """The index of one workspace folder.

    `store` is shared by all workspaces (one Qdrant client); `state_dir` is this
    workspace's own folder for the manifest. `on_progress` hears every change of state
    (at most every quarter second while indexing). `rules` may be the watcher's ignore
    rules for this workspace, to share its cache.
    """

    def __init__(
        self,
        workspace_id: str,
        root: Path,
        store: VectorStore,
        state_dir: Path,
        *,
        embedder: Embedder | None = None,
        on_progress: ProgressCallback | None = None,
        rules: IgnoreRules | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.workspace_id = workspace_id
        self.root = root.resolve()
        self.store = store
        self.state_dir = state_dir
        self.collection = collection_name(workspace_id)
        self.embedder = embedder
        self.on_progress = on_progress
        self.rules = rules or IgnoreRules(self.root)
        self.max_file_bytes = max_file_bytes
        self.references = References()
        self._state = IndexState(status="indexing")
        self._manifest: Manifest | None = None
        self._syncer: Syncer | None = None
        self._ready = False  # the collection is checked against the manifest
        self._full_scan = True
        self._pending: dict[str, bool] = {}  # path -> removal forced
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_progress = 0.0
        self._unavailable: str | None = None  # why Qdrant cannot be used, while it cannot

    # Lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start indexing in the background (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"index:{self.workspace_id}")
            self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._manifest is not None:
            await asyncio.to_thread(self._manifest.close)
            self._manifest = None

    @property
    def state(self) -> IndexState:
        return self._state

    @property
    def stats(self) -> SyncStats:
        return self._syncer.stats if self._syncer is not None else SyncStats()

    async def wait_idle(self, timeout: float | None = None) -> IndexState:
        """Wait until nothing is left to index (or the index is in error)."""
        await asyncio.wait_for(self._idle.wait(), timeout)
        return self._state

    # What changed ------------------------------------------------------------------

    async def update_files(self, paths: Iterable[str]) -> None:
        """Files that were added or changed (or may have been deleted): index them as
        they are on disk now."""
        self._enqueue(paths, remove=False)

    async def remove_files(self, paths: Iterable[str]) -> None:
        """Files that were deleted: forget their chunks."""
        self._enqueue(paths, remove=True)

    async def rescan(self) -> None:
        """Compare the whole folder with the index (after a change too large to list)."""
        self._full_scan = True
        self._kick()

    def _enqueue(self, paths: Iterable[str], *, remove: bool) -> None:
        for path in paths:
            cleaned = clean_path(path)
            if cleaned is not None:
                self._pending[cleaned] = remove or self._pending.get(cleaned, False)
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    # Search ------------------------------------------------------------------------

    async def search(self, query: str, k: int = 10) -> list[SearchHit]:
        """The `k` chunks that best answer `query`, from what is indexed so far.

        Raises InvalidInput for an empty query or a k out of range, Unavailable when a
        Qdrant server does not answer (after retries).
        """
        query, k = check_query(query, k)
        if not self._ready:
            if self._unavailable is not None:
                raise Unavailable(self._unavailable)
            return []
        try:
            return await find(self.store, self.collection, self.embedder, query, k, self.references)
        except CollectionMissing:
            log.warning("the index of %s lost its collection; rebuilding", self.workspace_id)
            self._ready = False
            await self.rescan()
            return []

    # The writer --------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._full_scan or self._pending:
                    await self._step()
                await self._publish(status="idle", error=self._embed_error())
                self._unavailable = None
                backoff = 1.0
                if not (self._full_scan or self._pending):
                    self._idle.set()
            except asyncio.CancelledError:
                raise
            except CollectionMissing:
                self._ready = False
                self._full_scan = True
                self._wake.set()
            except Exception as error:
                message = error.message if isinstance(error, Unavailable) else repr(error)
                self._unavailable = message if isinstance(error, Unavailable) else None
                if not isinstance(error, Unavailable):
                    log.exception("indexing %s failed; retrying", self.workspace_id)
                await self._publish(status="error", error=message)
                self._idle.set()  # waiters learn the error; the work stays queued
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                self._idle.clear()
                self._wake.set()

    async def _step(self) -> None:
        if not self._ready:
            await self._prepare()
        if self._full_scan:
            self._full_scan = False  # a rescan asked for meanwhile sets it again
            try:
                await self._scan()
            except BaseException:
                self._full_scan = True
                raise
            return
        batch = list(self._pending.items())[:BATCH_FILES]
        for path, _ in batch:
            del self._pending[path]
        try:
            await self._sync_paths(batch)
        except BaseException:
            for path, remove in batch:  # try again later, unless newer news came in
                self._pending.setdefault(path, remove)
            raise

    async def _prepare(self) -> None:
        """Open the manifest and make the collection match it, rebuilding what is
        missing or damaged."""
        if self._manifest is None:
            path = self.state_dir / "manifest.sqlite3"
            self._manifest = await asyncio.to_thread(Manifest, path)
        manifest = self._manifest
        dense_size = await self._dense_size()
        info = await asyncio.to_thread(self.store.collection_info, self.collection)
        embedder_id = self.embedder.id if self.embedder is not None else ""
        expected = {
            "version": MANIFEST_VERSION,
            "collection": self.collection,
            "embedder": embedder_id,
            "dense_size": str(dense_size or 0),
        }
        known = {key: await asyncio.to_thread(manifest.get_meta, key) for key in expected}
        if (
            info is None
            or not info["valid"]
            or info["dense_size"] != dense_size
            or (known != expected)
        ):
            if info is not None or not manifest.fresh:
                log.warning("rebuilding the code index of %s", self.workspace_id)
            await asyncio.to_thread(self.store.create, self.collection, dense_size)
            await asyncio.to_thread(manifest.clear)
            await asyncio.to_thread(manifest.set_meta, expected)
        elif info["points"] != (await asyncio.to_thread(manifest.counts))[1]:
            await asyncio.to_thread(self._reconcile)
        self.references.load(list(await asyncio.to_thread(lambda: list(manifest.idents()))))
        self._syncer = Syncer(self.store, self.collection, manifest, self.embedder, self.references)
        self._ready = True
        self._full_scan = True

    async def _dense_size(self) -> int | None:
        if self.embedder is None:
            return None
        if self.embedder.dimensions is None:
            try:
                await self.embedder.embed(["dimensions"])
            except Unavailable as error:
                raise Unavailable(f"the embedder is not answering: {error.message}") from error
        return self.embedder.dimensions

    def _reconcile(self) -> None:
        """The collection and the manifest disagree (a crash between the two writes, or
        someone else's hand): drop points the manifest does not list, and re-index the
        files whose points are missing."""
        assert self._manifest is not None
        listed = self._manifest.chunk_ids()
        stored: dict[str, str] = {
            found.id: str(found.payload.get("path", ""))
            for found in self.store.scroll(self.collection, ["path"])
        }
        self.store.delete(self.collection, [i for i in stored if i not in listed])
        missing = listed - stored.keys()
        if missing:
            paths = [p for p in self._manifest.files() if self._any_missing(p, missing)]
            self._manifest.forget(paths)
        log.info("reconciled the code index of %s", self.workspace_id)

    def _any_missing(self, path: str, missing: set[str]) -> bool:
        assert self._manifest is not None
        return any(row.id in missing for row in self._manifest.chunks_of(path))

    async def _scan(self) -> None:
        assert self._manifest is not None and self._syncer is not None
        rules = IgnoreRules(self.root, snapshot=True)
        listing = await asyncio.to_thread(list_files, self.root, rules, self.max_file_bytes)
        known = await asyncio.to_thread(self._manifest.files)
        removed = [path for path in known if path not in listing]
        changed = [
            path
            for path, (mtime, size) in listing.items()
            if path not in known or (known[path].mtime_ns, known[path].size) != (mtime, size)
        ]
        if self.embedder is not None:
            unembedded = await asyncio.to_thread(self._manifest.unembedded_paths)
            changed += [path for path in unembedded if path in listing and path not in changed]
        done = len(listing) - len(changed)
        await self._publish(status="indexing", files=len(listing), indexed_files=done, force=True)
        if removed:
            await self._syncer.apply([], removed)
        for start in range(0, len(changed), BATCH_FILES):
            paths = changed[start : start + BATCH_FILES]
            read = await asyncio.to_thread(self._read_all, paths, rules)
            gone = [path for path in paths if path not in {file.path for file in read}]
            await self._syncer.apply(read, gone)
            done += len(paths)
            await self._publish(status="indexing", indexed_files=done)

    async def _sync_paths(self, batch: list[tuple[str, bool]]) -> None:
        assert self._syncer is not None and self._manifest is not None
        await self._publish(status="indexing", force=True)
        known = await asyncio.to_thread(self._manifest.files)
        wanted, removed = await asyncio.to_thread(self._expand, batch, known)
        read = await asyncio.to_thread(self._read_all, wanted, self.rules)
        found = {file.path for file in read}
        gone = [path for path in [*wanted, *removed] if path not in found and path in known]
        await self._syncer.apply(read, gone)
        files, _ = await asyncio.to_thread(self._manifest.counts)
        await self._publish(status="indexing", files=files, indexed_files=files)

    def _expand(
        self, batch: list[tuple[str, bool]], known: dict[str, Any]
    ) -> tuple[list[str], list[str]]:
        """Files to read and files to forget. A path may name a folder (one moved in, or
        deleted whole): it stands for the files under it."""
        wanted: list[str] = []
        removed: list[str] = []
        for path, remove in batch:
            inside = [p for p in known if p.startswith(path + "/")]
            if remove:
                removed += [path, *inside]
            elif (self.root / path).is_dir():
                removed += inside  # re-read below if still there
                wanted += [p for p in self.rules.walk(path) if wanted_file(p)]
            else:
                wanted.append(path)
        return list(dict.fromkeys(wanted)), [p for p in dict.fromkeys(removed) if p not in wanted]

    def _read_all(self, paths: list[str], rules: IgnoreRules) -> list[ReadFile]:
        read = []
        for path in paths:
            try:
                file = read_file(self.root, path, rules, self.max_file_bytes)
            except Exception:
                log.warning("could not index %s", path, exc_info=True)
                file = None
            if file is not None:
                read.append(file)
        return read

    def _embed_error(self) -> str | None:
        return self._syncer.embed_error if self._syncer is not None else None

    async def _publish(self, *, force: bool = False, **changes: Any) -> None:
        """Update the state and tell `on_progress`, at most every PROGRESS_EVERY_S while
        indexing (and always when the status changes)."""
        if self._manifest is not None and self._ready:
            changes["chunks"] = (await asyncio.to_thread(self._manifest.counts))[1]
        if changes.get("status") != "error":
            changes.setdefault("error", None)
        before = self._state
        self._state = replace(before, **changes)
        now = time.monotonic()
        status_changed = before.status != self._state.status
        if not (force or status_changed or now - self._last_progress >= PROGRESS_EVERY_S):
            return
        self._last_progress = now
        if self.on_progress is None:
            return
        try:
            result = self.on_progress(self._state)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("an index progress listener failed")
