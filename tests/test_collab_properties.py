"""Property: however clients interleave edits, disconnects and reconnects, they converge.

Two or three clients share one document through `/yjs`; hypothesis draws a plan of random
inserts and deletes (ASCII and multi-byte text), pauses, and disconnects/reconnects. A
disconnected client keeps its own pycrdt doc and goes on editing offline, then reconnects
with it. In the end every client, a newcomer and the file on disk hold the same text,
and it is exactly what pycrdt makes of the clients' edits alone: the server neither lost
nor added anything (no one touches the file, so it has nothing of its own to merge).
A client the server disconnects reconnects at once, as y-websocket does.

One server serves the whole hypothesis run (function-scoped fixtures are not reset
between examples), with a short unload grace so that a document whose clients have all
left is sometimes unloaded and loaded again (from the database and its file) mid-plan.
Hypothesis runs in a worker thread; each example runs on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text

from server.collab import read_state_vector
from tests._client import eventually, wait_file
from tests._yclient import connected_doc, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

ALPHABET = "abcxyz \n" + "é😀日"
GRACE_SECONDS = 0.1  # unload an idle document quickly, so reloads happen within a plan
EXAMPLE_TIMEOUT = 60.0

# A plan step, one of:
#   ("insert", client, where, text)    ("delete", client, where, length)
#   ("toggle", client): disconnect, or reconnect
#   ("pause", seconds): let messages travel (or not)
#   ("away",): everyone disconnects until the server unloads the document; each client
#              reconnects at its next "toggle", or at the end
# `where` and `length` are taken modulo what the client's text allows when the step runs.
clients_strategy = st.integers(min_value=0, max_value=2)
STEPS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "insert": st.tuples(
        st.just("insert"),
        clients_strategy,
        st.integers(min_value=0, max_value=10_000),
        st.text(alphabet=ALPHABET, min_size=1, max_size=6),
    ),
    "delete": st.tuples(
        st.just("delete"),
        clients_strategy,
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=1, max_value=6),
    ),
    "toggle": st.tuples(st.just("toggle"), clients_strategy),
    "pause": st.tuples(st.just("pause"), st.sampled_from([0.0, 0.01, 0.05, 0.2])),
    "away": st.just(("away",)),
}
WEIGHTS = {"insert": 6, "delete": 4, "toggle": 4, "pause": 3, "away": 1}
step_strategy = st.sampled_from([k for k, n in WEIGHTS.items() for _ in range(n)]).flatmap(
    STEPS.__getitem__
)
plan_strategy = st.tuples(
    st.integers(min_value=2, max_value=3),
    st.lists(step_strategy, min_size=1, max_size=30),
)


@dataclass
class Client:
    """One user's editor: a pycrdt doc that outlives its connections."""

    url: str
    doc: Doc = field(default_factory=Doc)
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0  # connections the server closed on us (we reconnect, as y-websocket)
    typed: list[bytes] = field(default_factory=list)  # the updates this client's edits made
    _typing: bool = False

    def __post_init__(self) -> None:
        self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: Any) -> None:
        if self._typing:
            self.typed.append(event.update)

    @contextlib.contextmanager
    def typing(self) -> Iterator[Text]:
        """A local edit, as one transaction whose update is remembered."""
        self._typing = True
        try:
            with self.doc.transaction():
                yield self.text
        finally:
            self._typing = False

    @property
    def text(self) -> Text:
        return self.doc.get("source", type=Text)

    @property
    def connected(self) -> bool:
        return self.task is not None

    async def connect(self) -> None:
        assert self.task is None
        self.stop = asyncio.Event()
        ready = asyncio.Event()
        self.task = asyncio.create_task(self._run(ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait([waiter, self.task], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self.task.done():
            self.task.result()  # raise what went wrong

    async def _run(self, ready: asyncio.Event) -> None:
        while True:
            async with connected_doc(self.url, self.doc) as (_, _, connection):
                ready.set()
                stop = asyncio.create_task(self.stop.wait())
                closed = asyncio.create_task(connection.wait_closed())
                await asyncio.wait([stop, closed], return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                closed.cancel()
            if self.stop.is_set():
                return
            self.dropped += 1  # the server closed the connection: reconnect

    async def disconnect(self) -> None:
        assert self.task is not None
        self.stop.set()
        task, self.task = self.task, None
        await task

    async def toggle(self) -> None:
        await (self.disconnect() if self.connected else self.connect())


def byte_range(text: str, start: int, end: int) -> tuple[int, int]:
    """pycrdt indexes UTF-8 bytes: code-point positions → byte offsets."""
    return len(text[:start].encode()), len(text[:end].encode())


def edit(client: Client, step: tuple[Any, ...]) -> None:
    current = str(client.text)
    where = step[2] % (len(current) + 1)
    with client.typing() as text:
        if step[0] == "insert":
            at, _ = byte_range(current, where, where)
            text.insert(at, step[3])
        else:
            length = min(step[3], len(current) - where)
            if length:
                start, end = byte_range(current, where, where + length)
                del text[start:end]


def merged_offline(clients: list[Client]) -> str:
    """What the clients typed, merged by pycrdt alone, without the server."""
    doc: Doc = Doc()
    for client in clients:
        for update in client.typed:
            doc.apply_update(update)
    return str(doc.get("source", type=Text))


async def converged(clients: list[Client], timeout: float = 10.0) -> str:
    def same() -> bool:
        texts = {str(client.text) for client in clients}
        states = [read_state_vector(client.doc.get_state()) for client in clients]
        return len(texts) == 1 and all(state == states[0] for state in states)

    await eventually(same, timeout)
    return str(clients[0].text)


async def no_open_documents(nexus: RunningServer) -> bool:
    """The server has unloaded every document (each example has its own, and the last
    example's are unloaded once their grace is up)."""
    scraped = (await nexus.http.get("/metrics")).text
    rooms = next(x for x in scraped.splitlines() if x.startswith("nexus_collab_rooms "))
    return float(rooms.split()[1]) == 0


def describe(clients: list[Client]) -> str:
    return "; ".join(
        f"client {n}: {str(client.text)!r} state {read_state_vector(client.doc.get_state())} "
        f"dropped {client.dropped}"
        for n, client in enumerate(clients)
    )


async def run_plan(nexus: RunningServer, workspace: dict[str, Any], path: str, plan: Any) -> None:
    count, steps = plan
    url = yjs_url(nexus.url, workspace["id"], path, ADMIN_TOKEN)
    clients = [Client(url) for _ in range(count)]
    try:
        for client in clients:
            await client.connect()
        for step in steps:
            kind = step[0]
            if kind == "pause":
                await asyncio.sleep(step[1])  # part of the plan: let messages travel, or not
                continue
            if kind == "away":
                for client in clients:
                    if client.connected:
                        await client.disconnect()
                await eventually(lambda: no_open_documents(nexus))
                continue
            client = clients[step[1] % count]
            if kind == "toggle":
                await client.toggle()
            else:
                edit(client, step)
                await asyncio.sleep(0)  # a yield, so that the edit can be sent
        for client in clients:
            if not client.connected:
                await client.connect()
        try:
            final = await converged(clients)
        except TimeoutError:
            raise AssertionError(f"clients did not converge: {describe(clients)}") from None
        # The server holds it too: a newcomer sees it, and so does the file.
        async with connected_doc(url) as (_, fresh, _):
            assert str(fresh) == final, describe(clients)
        file = Path(workspace["path"]) / path
        if any(step[0] == "insert" for step in steps):
            await wait_file(file, final, timeout=8)
        for client in clients:
            assert str(client.text) == final
        # Nobody touched the file, so the server added and lost nothing of its own.
        assert merged_offline(clients) == final, describe(clients)
    finally:
        for client in clients:
            if client.connected:
                await client.disconnect()


async def test_random_concurrent_editing_converges(tmp_path: Path) -> None:
    settings_ = make_settings(tmp_path, collab_grace_seconds=GRACE_SECONDS)
    async with serve(settings_) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN, "properties")
        loop = asyncio.get_running_loop()
        numbers = itertools.count()

        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(plan=plan_strategy)
        def check(plan: Any) -> None:
            path = f"doc-{next(numbers)}.txt"  # a fresh document per example
            running = asyncio.run_coroutine_threadsafe(run_plan(nexus, workspace, path, plan), loop)
            try:
                running.result(timeout=EXAMPLE_TIMEOUT)
            except BaseException as exc:  # shown even if the run is cut short while shrinking
                running.cancel()
                print(f"{path} failed ({exc!r:.500}): {plan!r}")
                raise

        await asyncio.to_thread(check)
