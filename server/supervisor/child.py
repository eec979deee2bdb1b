"""One supervised process: its streams, its exit, and the one way to stop it.

Stopping asks nicely first (the caller's protocol hook: LSP `shutdown`/`exit`, DAP
`disconnect`), then signals the process group, the session and every descendant, then
SIGKILLs what is left, and reaps. Inside the sandbox the process is bwrap, whose death
takes the whole PID namespace with it (`--die-with-parent`), so nothing outlives a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from server import metrics
from server.supervisor._limits import Limits

log = logging.getLogger("nexus.process")


@dataclass(frozen=True)
class ProcessSpec:
    """What to run for a workspace, and how."""

    kind: str
    """What it is, for metrics and logs: `terminal`, `language_server`, `debug_adapter`…"""
    name: str
    argv: Sequence[str]
    workspace_id: str
    workspace: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    limits: Limits = field(default_factory=Limits)
    tty: int | None = None
    """A PTY's slave side: the process's stdio and controlling terminal. Else pipes."""
    network: bool = True


class Child:
    def __init__(self, spec: ProcessSpec, process: asyncio.subprocess.Process) -> None:
        self.spec = spec
        self.process = process
        self.pid = process.pid
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.stopping = False
        self._tasks = [asyncio.create_task(self._watch())]
        if process.stderr is not None:
            self._tasks.append(asyncio.create_task(self._log_stderr(process.stderr)))

    @property
    def stdin(self) -> asyncio.StreamWriter:
        assert self.process.stdin is not None
        return self.process.stdin

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.process.stdout is not None
        return self.process.stdout

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    async def _watch(self) -> None:
        code = await self.process.wait()
        metrics.PROCESSES_RUNNING.labels(self.spec.kind).dec()
        if not self.stopping and code != 0:
            metrics.PROCESS_CRASHES.labels(self.spec.kind).inc()
        if not self.exited.done():
            self.exited.set_result(code)

    async def _log_stderr(self, stream: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while line := await stream.readline():
                log.debug("%s: %s", self.spec.name, line.decode(errors="replace").rstrip())

    def members(self) -> list[psutil.Process]:
        """Everything this process started: descendants, its group and its session (a
        shell's jobs get groups of their own; a daemon-like child may leave the tree)."""
        found: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process(self.pid).children(recursive=True):
                found[proc.pid] = proc
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if proc.pid != self.pid and self.pid in (os.getsid(proc.pid), os.getpgid(proc.pid)):
                    found[proc.pid] = proc
        return list(found.values())

    def send_signal(self, sig: signal.Signals, members: Sequence[psutil.Process] = ()) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, sig)
        for member in members:
            with contextlib.suppress(psutil.Error):
                member.send_signal(sig)

    async def stop(
        self,
        grace: float = 2.0,
        hook: Callable[[], Awaitable[object]] | None = None,
        signals: Sequence[signal.Signals] = (signal.SIGTERM,),
    ) -> int | None:
        """Hook, then each of `signals`, then SIGKILL, `grace` seconds apart; reaps. Safe
        to call twice; cancelled midway, it still kills, so nothing outlives the server."""
        members = self.members()
        try:
            if hook is not None and self.alive:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(grace):
                        await hook()
                await self._wait(grace)
            self.stopping = True
            for sig in signals:
                if not self.alive:
                    break
                self.send_signal(sig, members)
                await self._wait(grace)
        finally:
            self.stopping = True
            leftovers = [m for m in (*members, *self.members()) if _running(m)]
            if self.alive:
                metrics.PROCESS_KILLS.labels(self.spec.kind).inc()
            if self.alive or leftovers:
                self.send_signal(signal.SIGKILL, leftovers)
            for task in self._tasks[1:]:
                task.cancel()
            if self.process.stdin is not None:
                with contextlib.suppress(Exception):
                    self.process.stdin.close()
        try:
            async with asyncio.timeout(5.0):
                code = await asyncio.shield(self.exited)
        except TimeoutError:
            log.error("%s (pid %s) did not die after SIGKILL", self.spec.name, self.pid)
            return None
        # What it left behind is killed; wait until the kernel has let it go too.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                # No event tells us that a process we did not start is gone: poll.
                while any(_running(m) for m in members):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        return code

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.shield(self.exited)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
