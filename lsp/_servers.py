"""Lifecycle: a bridge's language servers started in the background, restarted with
backoff after a crash until they crash too often, warmed up, and stopped (reaped)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from lsp import metrics
from lsp.registry import ServerSpec
from lsp.seed import CacheSeeds
from lsp.site import Site
from lsp.upstream import Upstream
from server.supervisor import CrashLoop, Supervisor

log = logging.getLogger("nexus.lsp")

WARM_URI_NAME = ".nexus-warm-up.py"


@dataclass(frozen=True)
class BridgeSettings:
    request_timeout: float = 10.0
    start_timeout: float = 30.0
    sync_wait: float = 0.5
    memory_mb: int = 2048
    max_crashes: int = 5
    crash_window: float = 180.0


@dataclass
class ServerSlot:
    spec: ServerSpec
    upstream: Upstream | None = None
    status: str = "starting"  # starting, running, restarting, failed, stopped
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: CrashLoop = field(default_factory=lambda: CrashLoop("language_server"))
    detail: str = ""


Notification = Callable[[Upstream, str, Any], None]


class ServerPool:
    """The servers of one bridge. `ready` is set when all have answered `initialize`
    (or failed), `warm` when the warm-up completion is done; `on_started` hears of each
    (re)started server before requests reach it, `on_status` of every status change."""

    def __init__(
        self,
        site: Site,
        specs: list[ServerSpec],
        *,
        settings: BridgeSettings,
        supervisor: Supervisor,
        seeds: CacheSeeds | None,
        on_notification: Notification,
        on_started: Callable[[Upstream], None],
        on_status: Callable[[], None],
    ) -> None:
        self.site = site
        self.settings = settings
        self.supervisor = supervisor
        self.seeds = seeds
        self._on_notification = on_notification
        self._on_started = on_started
        self._on_status = on_status
        self.slots = {
            spec.name: ServerSlot(
                spec,
                restarts=CrashLoop(
                    "language_server", limit=settings.max_crashes, window=settings.crash_window
                ),
            )
            for spec in specs
        }
        self.closed = False
        self.ready = asyncio.Event()
        self.warm = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """One task per server, each in `_tasks`, so that `close` waits for every one of
        them to have stopped its process (a gather would end at the first cancelled one)."""
        for slot in self.slots.values():
            self._spawn(self._run(slot))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def upstreams(self) -> list[Upstream]:
        """The servers running now."""
        return [slot.upstream for slot in self.slots.values() if slot.upstream is not None]

    async def _run(self, slot: ServerSlot) -> None:
        """Start a server and keep it running: restart with backoff after a crash, until
        it crashes more than `max_crashes` times within `crash_window` seconds."""
        program = slot.spec.command[0]
        if not self.supervisor.sandbox.shows(program):
            self._give_up(slot, f"{program} is outside the workspace sandbox (install it in /usr)")
            return
        if self.seeds is not None:
            await self.seeds.seed(slot.spec, self.site.workspace_id, self.site.language)
        while not self.closed:
            try:
                upstream = await self._launch(slot)
            except Exception as exc:
                log.warning("%s failed to start in %s: %s", slot.spec.name, self.site.root, exc)
                if not await self._crashed(slot, f"failed to start: {exc}"):
                    return
                continue
            if self.closed:
                await upstream.stop()
                return
            crash = await self._serve(slot, upstream)
            if crash is None or not await self._crashed(slot, crash):
                return

    async def _launch(self, slot: ServerSlot) -> Upstream:
        """A started server; one that fails to start is stopped, leaving no orphan."""
        upstream = Upstream(
            slot.spec,
            self.site.root,
            supervisor=self.supervisor,
            workspace_id=self.site.workspace_id,
            memory_mb=self.settings.memory_mb,
            on_notification=self._on_notification,
        )
        try:
            await upstream.start(self.settings.start_timeout)
        except asyncio.CancelledError:
            await upstream.stop(grace=0.2)  # closed while starting
            raise
        except Exception:
            await upstream.stop(grace=0.5)
            raise
        return upstream

    async def _serve(self, slot: ServerSlot, upstream: Upstream) -> str | None:
        """Use a started server until it exits. Returns why it crashed, or None when it
        was stopped on purpose."""
        slot.upstream = upstream
        slot.status = "running"
        slot.detail = ""
        metrics.SERVERS.labels(slot.spec.name).inc()
        self._on_started(upstream)
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
            return None
        log.warning("%s exited with %s in %s; restarting", slot.spec.name, code, self.site.root)
        await upstream.stop(grace=0.1)  # kill and reap what is left of it
        metrics.RESTARTS.labels(slot.spec.name).inc()
        if time.monotonic() - started >= self.settings.crash_window:
            slot.restarts.started()  # it had lasted: back to the shortest delay
        return f"exited with code {code}"

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
        self._on_status()
        await asyncio.sleep(delay)
        return not self.closed

    def _give_up(self, slot: ServerSlot, detail: str) -> None:
        """Mark a server `failed`, with why; the bridge's other servers carry on."""
        slot.detail = detail
        slot.status = "failed"
        slot.ready.set()  # waiters see the failure instead of waiting it out
        metrics.FAILED.labels(slot.spec.name).inc()
        self._update_ready()
        self._on_status()

    def _update_ready(self) -> None:
        if all(slot.status in ("running", "failed") for slot in self.slots.values()):
            self.ready.set()
            self._on_status()

    async def _warm_up(self, upstream: Upstream, line: str) -> None:
        """A throwaway completion, so that the first real one finds jedi's caches full."""
        uri = (self.site.root / WARM_URI_NAME).as_uri()
        try:
            await upstream.complete_once(uri, self.site.language, line, self.settings.start_timeout)
        except Exception as exc:
            log.info("warming %s up failed: %s", upstream.spec.name, exc)
        finally:
            self.warm.set()
            self._on_status()

    async def close(self) -> None:
        """Stop every server: shutdown → exit → terminate → kill, reaped."""
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(upstream.stop() for upstream in self.upstreams()))
        for slot in self.slots.values():
            if slot.upstream is not None:
                metrics.SERVERS.labels(slot.spec.name).dec()
                slot.upstream = None
            slot.status = "stopped"

    def pids(self) -> list[int]:
        """The servers' supervised processes (bwrap when sealed: the servers run inside)."""
        return [upstream.pid for upstream in self.upstreams() if upstream.pid is not None]

    def report(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "status": slot.status,
                "detail": slot.detail,
                "pid": slot.upstream.pid if slot.upstream is not None else None,
            }
            for name, slot in self.slots.items()
        ]
