"""A Debug Adapter Protocol client over a child process's stdio.

DAP frames each JSON message with a `Content-Length` header, as LSP does, but its
requests, responses and events are told apart by `type` and matched by `seq`. The adapter
runs in its own process group so that stopping it also stops the program it launched.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024

EventHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


class AdapterError(Exception):
    """The adapter answered a request with `success: false`, or is gone."""


class DapClient:
    """One adapter process: `request()` awaits a response, events go to `on_event`."""

    def __init__(self, argv: Sequence[str], cwd: Path, on_event: EventHandler) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.on_event = on_event
        self.process: asyncio.subprocess.Process | None = None
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._seq = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=str(self.cwd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: killpg reaches the program too
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._tasks = [
            asyncio.create_task(self._read(self.process.stdout)),
            asyncio.create_task(self._drain(self.process.stderr)),
            asyncio.create_task(self._watch(self.process)),
        ]

    @property
    def alive(self) -> bool:
        return self.process is not None and not self.exited.done()

    def send(self, command: str, arguments: dict[str, Any] | None = None) -> asyncio.Future[Any]:
        """Send a request; the future resolves to the response's `body`."""
        if not self.alive or self.process is None or self.process.stdin is None:
            raise AdapterError("the debug adapter is not running")
        seq = next(self._seq)
        message = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        return future

    async def request(
        self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float = 10.0
    ) -> Any:
        future = self.send(command, arguments)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self._pending = {k: f for k, f in self._pending.items() if f is not future}
            raise AdapterError(
                f"the debug adapter did not answer {command!r} in {timeout:g} s"
            ) from None

    async def _read(self, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        try:
            while True:
                length = None
                while line := (await stream.readline()).strip():
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    if stream.at_eof():
                        return
                    continue
                if length > MAX_MESSAGE_BYTES:
                    log.error("debug adapter sent a %d-byte message; dropping it", length)
                    return
                message = json.loads(await stream.readexactly(length))
                await self._dispatch(message)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            log.info("debug adapter stream ended: %s", exc)
        finally:
            self._fail_pending("the debug adapter exited")

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "response":
            future = self._pending.pop(message.get("request_seq", -1), None)
            if future is None or future.done():
                return
            if message.get("success"):
                future.set_result(message.get("body") or {})
            else:
                future.set_exception(AdapterError(message.get("message") or "request failed"))
        elif kind == "event":
            try:
                await self.on_event(message.get("event", ""), message.get("body") or {})
            except Exception:
                log.exception("debug event %s failed", message.get("event"))
        elif kind == "request":  # reverse requests (runInTerminal, startDebugging): refused
            self._respond_unsupported(message)

    def _respond_unsupported(self, request: dict[str, Any]) -> None:
        if self.process is None or self.process.stdin is None:
            return
        answer = {
            "seq": next(self._seq),
            "type": "response",
            "request_seq": request.get("seq"),
            "command": request.get("command"),
            "success": False,
            "message": "not supported",
        }
        body = json.dumps(answer).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(AdapterError(reason))
        self._pending.clear()

    async def _drain(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while line := await stream.readline():
            log.debug("debug adapter: %s", line.decode(errors="replace").rstrip())

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if not self.exited.done():
            self.exited.set_result(code)

    async def close(self, grace: float = 2.0) -> None:
        """SIGTERM the group, SIGKILL what is left after `grace`, reap. Safe to call twice."""
        process = self.process
        if process is None:
            return
        members = _session_members(
            process.pid
        )  # the launcher puts the program in a group of its own
        try:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
                for member in members:
                    with contextlib.suppress(psutil.Error):
                        member.send_signal(sig)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace):
                        await asyncio.shield(self.exited)
                if self.exited.done():
                    # the leader is reaped; anything left behind goes too
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    for member in members:
                        with contextlib.suppress(psutil.Error):
                            member.kill()
                    break
        finally:
            self._fail_pending("the debug session ended")
            for task in self._tasks:
                if not task.done():
                    task.cancel()
            with contextlib.suppress(Exception):
                if process.stdin is not None:
                    process.stdin.close()


def _session_members(leader: int) -> list[psutil.Process]:
    """Every process in the session `leader` started (start_new_session=True)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.pid != leader and os.getsid(proc.pid) == leader:
                found.append(proc)
    return found
