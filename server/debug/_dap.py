"""A Debug Adapter Protocol client over a supervised adapter process's stdio.

DAP frames each JSON message with a `Content-Length` header, as LSP does, but its
requests, responses and events are told apart by `type` and matched by `seq`. The
supervisor starts the adapter inside the workspace's sandbox (the launcher and the program
it starts run there too) and owns stopping it: a DAP `disconnect` first, then signals to
everything the adapter started, the program included.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from server.supervisor import Child, ProcessSpec, Supervisor

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024

EventHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


class AdapterError(Exception):
    """The adapter answered a request with `success: false`, or is gone."""


class DapClient:
    """One adapter process: `request()` awaits a response, events go to `on_event`."""

    def __init__(self, supervisor: Supervisor, spec: ProcessSpec, on_event: EventHandler) -> None:
        self.supervisor = supervisor
        self.spec = spec
        self.on_event = on_event
        self.child: Child | None = None
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._seq = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the adapter (`OSError` when it cannot run); its stderr goes to the log."""
        self.child = await self.supervisor.start(self.spec)
        self.child.exited.add_done_callback(self._on_exit)
        self._tasks = [asyncio.create_task(self._read(self.child.stdout))]

    @property
    def alive(self) -> bool:
        return self.child is not None and not self.exited.done()

    def send(self, command: str, arguments: dict[str, Any] | None = None) -> asyncio.Future[Any]:
        """Send a request; the future resolves to the response's `body`."""
        if not self.alive or self.child is None:
            raise AdapterError("the debug adapter is not running")
        seq = next(self._seq)
        message = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        self._write(message)
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

    def _write(self, message: dict[str, Any]) -> None:
        assert self.child is not None
        body = json.dumps(message).encode()
        self.child.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def _read(self, stream: asyncio.StreamReader) -> None:
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
        if not self.alive:
            return
        answer = {
            "seq": next(self._seq),
            "type": "response",
            "request_seq": request.get("seq"),
            "command": request.get("command"),
            "success": False,
            "message": "not supported",
        }
        self._write(answer)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(AdapterError(reason))
        self._pending.clear()

    def _on_exit(self, exited: asyncio.Future[int]) -> None:
        if not self.exited.done():
            self.exited.set_result(-1 if exited.cancelled() else exited.result())

    async def close(self, grace: float = 2.0) -> None:
        """Ask the adapter to end the program and itself (DAP `disconnect`); the
        supervisor then signals what is left (the launcher gives the program a group of
        its own, which its `members()` covers) and reaps. Safe to call twice."""
        child = self.child
        if child is None:
            return
        try:
            await child.stop(grace, hook=self._disconnect)
        finally:
            self._fail_pending("the debug session ended")
            for task in self._tasks:
                if not task.done():
                    task.cancel()

    async def _disconnect(self) -> None:
        await self.send("disconnect", {"terminateDebuggee": True})
        if self.child is not None:  # its stdin's end is what lets a stdio adapter exit
            self.child.stdin.close()
