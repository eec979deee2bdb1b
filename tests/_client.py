"""The tests as a client of NEXUS, in one place: Socket.IO commands and joins, REST commands,
and waiting on a condition (a test waits for what it needs to see, never a fixed sleep)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import socketio

if TYPE_CHECKING:
    from tests.conftest import RunningServer

POLL_SECONDS = 0.02


async def eventually(
    check: Callable[[], Any],
    timeout: float = 5.0,
    interval: float = POLL_SECONDS,
    what: str | None = None,
) -> Any:
    """Poll `check()` (sync or async) until it returns something true, and return that.

    Raises TimeoutError saying `what` (or the check's name) was awaited in vain."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = check()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return result
                await asyncio.sleep(interval)
    except TimeoutError:
        name = what or getattr(check, "__qualname__", repr(check))
        raise TimeoutError(f"waited {timeout}s in vain for {name}") from None


def _first_difference(found: str, expected: str) -> int:
    return next(
        (i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b),
        min(len(found), len(expected)),
    )


async def wait_file(path: Path, expected: str | Callable[[str], bool], timeout: float = 5.0) -> str:
    """Wait for the file to hold `expected` (or text `expected(text)` accepts), as the
    server's write-back puts it there; returns the text. On timeout the assertion says
    what the file holds instead."""

    def holds() -> bool:
        if not path.exists():
            return False
        text = path.read_text()
        return expected(text) if callable(expected) else text == expected

    try:
        await eventually(holds, timeout)
    except TimeoutError:
        if not path.exists():
            raise AssertionError(f"{path.name} was never written") from None
        on_disk = path.read_text()
        if callable(expected):
            raise AssertionError(f"after {timeout}s {path.name} holds {on_disk!r}") from None
        at = _first_difference(on_disk, expected)
        raise AssertionError(
            f"after {timeout}s {path.name} holds {len(on_disk)} characters, not "
            f"{len(expected)}; first difference at {at}: "
            f"{on_disk[at : at + 40]!r} instead of {expected[at : at + 40]!r}"
        ) from None
    return path.read_text()


class Inbox:
    """Collects the events a client receives, to wait for the one a test expects."""

    def __init__(self, client: socketio.AsyncClient, *events: str) -> None:
        self.received: list[tuple[str, Any]] = []
        for event in events:
            client.on(event, self._collector(event))

    def _collector(self, event: str) -> Callable[[Any], Any]:
        async def collect(data: Any) -> None:
            self.received.append((event, data))

        return collect

    def _match(self, event: str, predicate: Callable[[Any], bool]) -> tuple[Any] | None:
        """The first matching event so far, in a tuple (true even when its data is not)."""
        for name, data in self.received:
            if name == event and predicate(data):
                return (data,)
        return None

    async def wait_for(
        self,
        event: str,
        predicate: Callable[[Any], bool] = lambda data: True,
        timeout: float = 5.0,
    ) -> Any:
        (data,) = await eventually(
            lambda: self._match(event, predicate), timeout, 0.01, what=f"a {event!r} event"
        )
        return data


def usernames(presence: dict[str, Any]) -> set[str]:
    return {user["username"] for user in presence["users"]}


class CommandFailed(AssertionError):
    """A Socket.IO call was answered with `ok: false`; `code` is the error's code."""

    def __init__(self, what: str, ack: Any) -> None:
        super().__init__(f"{what}: {ack!r}")
        self.ack = ack
        error = ack.get("error") if isinstance(ack, dict) else None
        self.code: str | None = error.get("code") if isinstance(error, dict) else None


async def acked(client: socketio.AsyncClient, event: str, payload: Any, timeout: float = 10) -> Any:
    """Emit `event` and return its ack's result; raises CommandFailed unless it is ok."""
    ack = await client.call(event, payload, timeout=timeout)
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise CommandFailed(event, ack)
    return ack.get("result")


async def command_ack(
    client: socketio.AsyncClient,
    workspace: str,
    command: str,
    args: dict[str, Any] | None = None,
    timeout: float = 10,
) -> Any:
    """The whole ack of `command:execute`, for tests about refusals and error codes."""
    payload: dict[str, Any] = {"workspace": workspace, "command": command}
    if args is not None:
        payload["args"] = args
    return await client.call("command:execute", payload, timeout=timeout)


async def execute(
    client: socketio.AsyncClient,
    workspace: str,
    command: str,
    args: dict[str, Any] | None = None,
    timeout: float = 10,
) -> Any:
    """Run a command over Socket.IO: its result, or CommandFailed carrying the error."""
    ack = await command_ack(client, workspace, command, args, timeout)
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise CommandFailed(command, ack)
    return ack["result"]


async def join(client: socketio.AsyncClient, workspace: str, timeout: float = 10) -> Any:
    """Join the workspace's room; returns what the join answers (role, presence, …)."""
    return await acked(client, "workspace:join", {"workspace": workspace}, timeout)


async def joined(
    nexus: RunningServer, token: str, workspace: str, *events: str
) -> tuple[socketio.AsyncClient, Inbox]:
    """A new socket for `token`, collecting `events` from before it joins `workspace`."""
    client = await nexus.socket(token)
    inbox = Inbox(client, *events)
    await join(client, workspace)
    return client, inbox


async def post_command(
    nexus: RunningServer,
    token: str,
    workspace: str,
    command: str,
    args: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> httpx.Response:
    """`POST /api/v1/commands/{command}`; the response as is (status and error included).
    `timeout` overrides the client's default for commands that take long (the debugger)."""
    return await nexus.http.post(
        f"/api/v1/commands/{command}",
        json={"workspace": workspace, "args": args or {}},
        headers=nexus.headers(token),
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
    )


async def command_result(
    nexus: RunningServer,
    token: str,
    workspace: str,
    command: str,
    args: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Any:
    """A REST command that must succeed: its result."""
    response = await post_command(nexus, token, workspace, command, args, timeout)
    assert response.status_code == 200, response.text
    return response.json()["result"]
