"""Real editing traces replayed through `/yjs`: what people typed comes out exactly.

The traces (`josephg/editing-traces`, CC BY 4.0) live beside the repository in
`../shared/fixtures/traces`; see its README. Every replay goes through the real server,
and the final text is checked in every connected client, in a client that connects
afterwards, and in the file the server writes back.

Pace: every trace transaction is one Yjs transaction, and the server relays about a
thousand single-transaction updates a second on a small machine. `sveltecomponent` and
the concurrent trace go through whole, one update per transaction; of the two long
traces, only the first and last `LIVE_TXNS[name]` transactions go through live, and the
writer makes the ones in between offline, sending them as one sync when it reconnects
(and only the first `PREFIX_TXNS` of automerge-paper's 260k are replayed). Set
`TRACES_LIVE=all` to replay every trace whole, every transaction live (many minutes).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from server.collab import read_state_vector
from tests._client import wait_file
from tests._yclient import connected_doc, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer

TRACES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "traces"

pytestmark = pytest.mark.skipif(
    not TRACES.is_dir(),
    reason="editing traces not found beside the repository (../shared/fixtures/traces)",
)

FULL = os.environ.get("TRACES_LIVE") == "all"
# Sequential traces: this many transactions at the start and at the end go through live,
# one update each (None: all of them); the writer makes the others offline.
LIVE_TXNS: dict[str, int | None] = {
    "sveltecomponent": None,  # 18k transactions
    "rustcode": None if FULL else 6000,  # of 37k
    "automerge-paper": None if FULL else 3000,
}
# automerge-paper has 260k transactions, and the last ones are slow in pycrdt (the whole
# trace takes 25-50 s on two cores), so only a prefix is replayed, checked against the
# same prefix applied to a plain string.
PREFIX_TXNS: dict[str, int | None] = {"automerge-paper": None if FULL else 160_000}
YIELD_EVERY = 20  # transactions between pauses that let the provider send its updates
STALL_SECONDS = 20.0  # a client that sees no change for this long has stopped receiving


@cache
def load_trace(name: str) -> dict[str, Any]:
    with gzip.open(TRACES / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        return dict(json.load(handle))


def apply_patches(text: str, txns: list[dict[str, Any]]) -> str:
    """The trace applied to a plain string: the reference result."""
    for txn in txns:
        for position, deleted, inserted in txn["patches"]:
            text = text[:position] + inserted + text[position + deleted :]
    return text


def apply_txn(doc: Doc, text: Text, patches: list[list[Any]]) -> None:
    """One trace transaction as one Yjs transaction (the traces are ASCII: bytes = chars)."""
    with doc.transaction():
        for position, deleted, inserted in patches:
            if deleted:
                del text[position : position + deleted]
            if inserted:
                text.insert(position, inserted)


async def replay(doc: Doc, text: Text, txns: list[dict[str, Any]], every: int) -> None:
    """Apply `txns`, letting the event loop run every `every` transactions."""
    for n, txn in enumerate(txns, 1):
        apply_txn(doc, text, txn["patches"])
        if n % every == 0:
            await asyncio.sleep(0)  # a yield, so that updates are sent as a client would


async def caught_up(text: Text, expected: str) -> None:
    """Wait until `text` is `expected`, for as long as it keeps changing: the server
    relays a long replay at its own pace, which a busy machine slows down."""
    seen, last_change = str(text), time.perf_counter()
    while seen != expected:
        if time.perf_counter() - last_change > STALL_SECONDS:
            raise AssertionError(
                f"stuck for {STALL_SECONDS}s at {len(seen)} of {len(expected)} characters"
            )
        await asyncio.sleep(0.05)  # polling; the deadline moves while the text changes
        if str(text) != seen:
            seen, last_change = str(text), time.perf_counter()


async def assert_stored(url: str, file: Path, expected: str) -> None:
    """What the server kept: a client connecting now, and the file on disk, see `expected`."""
    async with connected_doc(url) as (_, fresh, _):
        assert str(fresh) == expected
    await wait_file(file, expected, timeout=10)


@pytest.mark.parametrize("name", ["sveltecomponent", "rustcode", "automerge-paper"])
async def test_sequential_trace_replays_exactly(nexus: RunningServer, name: str) -> None:
    """One writer types the trace (or its first `PREFIX_TXNS[name]` transactions), one
    Yjs transaction per trace transaction, while an observer watches. The first and last
    `LIVE_TXNS[name]` transactions (or all) are sent one update each; in between the
    writer is offline, and its edits reach the server as one sync when it reconnects
    (the observer stays connected throughout)."""
    trace = load_trace(name)
    prefix = PREFIX_TXNS.get(name)
    txns = trace["txns"][:prefix]
    expected = apply_patches(trace["startContent"], txns)
    if prefix is None:
        assert expected == trace["endContent"]  # the fixture is what we think it is
    live = LIVE_TXNS[name]
    if live is None or 2 * live >= len(txns):
        head, middle, tail = txns, [], []
    else:
        head, middle, tail = txns[:live], txns[live:-live], txns[-live:]
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    path = f"traces/{name}.txt"
    url = yjs_url(nexus.url, workspace["id"], path, ADMIN_TOKEN)
    writer: Doc = Doc()
    written = writer.get("source", type=Text)
    started = time.perf_counter()
    async with connected_doc(url) as (_, observed, _):
        async with connected_doc(url, writer):
            if trace["startContent"]:
                written += trace["startContent"]
            await replay(writer, written, head, YIELD_EVERY)
            await caught_up(observed, apply_patches(trace["startContent"], head))
        head_seconds = time.perf_counter() - started
        if middle:
            # Offline (the loop still runs now and then, so the observer's connection lives).
            await replay(writer, written, middle, 1000)
            async with connected_doc(url, writer):
                await replay(writer, written, tail, YIELD_EVERY)
                assert str(written) == expected
                await caught_up(observed, expected)
    print(
        f"{name}: {len(txns)} txns ({len(head) + len(tail)} live, first {len(head)} "
        f"in {head_seconds:.1f}s) in {time.perf_counter() - started:.1f}s"
    )
    await assert_stored(url, Path(workspace["path"]) / path, expected)


def causal_replay(trace: dict[str, Any]) -> tuple[list[tuple[int, list[bytes]]], list[Doc]]:
    """Replay the concurrent trace offline, one pycrdt doc per agent, each transaction
    made on a doc that holds exactly the transactions its `parents` name (transitively).

    Each agent's transactions form a chain (checked), so a version is a vector: how many
    transactions of each agent it contains. Before an agent's transaction, the other
    agents' updates its parents require (and no more) are applied to its doc; the doc's
    Yjs state vector is checked against the expected one. Yjs orders concurrent inserts
    at one position by client id, and the trace's `endContent` has agent 0 first, so
    client ids increase with the agent number.

    Returns, for each transaction in trace order, its agent and the updates applied to the
    agent's doc for it (the deliveries its parents required, then its own edit), and the
    agents' docs.
    """
    agents = int(trace["numAgents"])
    docs = [Doc(client_id=1_000_003 + 7919 * agent) for agent in range(agents)]
    texts = [doc.get("source", type=Text) for doc in docs]
    client_ids = [doc.client_id for doc in docs]
    captured: list[bytes] = []
    for doc in docs:
        doc.observe(lambda event: captured.append(event.update))
    versions: list[list[int]] = []  # per transaction: transactions of each agent it contains
    clocks: list[list[int]] = [[0] for _ in range(agents)]  # Yjs clock after k own txns
    updates: list[list[bytes]] = [[] for _ in range(agents)]
    delivered = [[0] * agents for _ in range(agents)]  # [to][from]: updates applied
    replayed: list[tuple[int, list[bytes]]] = []
    for index, txn in enumerate(trace["txns"]):
        agent = txn["agent"]
        needed = [0] * agents
        for parent in txn["parents"]:
            assert parent < index
            needed = [max(a, b) for a, b in zip(needed, versions[parent], strict=True)]
        assert needed[agent] == len(updates[agent]), f"txn {index}: agent's chain broken"
        applied: list[bytes] = []
        for other in range(agents):
            for update in updates[other][delivered[agent][other] : needed[other]]:
                docs[agent].apply_update(update)
                applied.append(update)
            delivered[agent][other] = max(delivered[agent][other], needed[other])
        expected_state = {
            client_ids[other]: clocks[other][needed[other]]
            for other in range(agents)
            if clocks[other][needed[other]]
        }
        assert read_state_vector(docs[agent].get_state()) == expected_state, index
        captured.clear()
        apply_txn(docs[agent], texts[agent], txn["patches"])
        assert len(captured) == 1
        updates[agent].append(captured[0])
        clocks[agent].append(read_state_vector(docs[agent].get_state())[client_ids[agent]])
        needed[agent] += 1
        versions.append(needed)
        replayed.append((agent, [*applied, captured[0]]))
    return replayed, docs


async def test_concurrent_trace_converges_through_the_server(nexus: RunningServer) -> None:
    """The two-user `friendsforever` trace, replayed causally, through two clients.

    Each agent's edits are first made on a disconnected doc that holds exactly the edits
    its parents name (`causal_replay`). One connected client per agent then forwards that
    agent's transactions to the server in trace order, one update each: before each, the
    client catches up with a copy of its agent's doc as it was right after the
    transaction, so the update carries the edit (plus, if the server has not relayed
    them yet, the other agent's edits it was made on). Both clients stay connected
    throughout and receive each other's edits from the server, so the server merges
    truly concurrent edits (made on views that lack the other user's latest typing),
    sometimes before their dependencies arrive from the other client.
    """
    trace = load_trace("friendsforever.concurrent")
    expected = trace["endContent"]
    replayed, agent_docs = causal_replay(trace)
    # Offline, the agents' docs converge to the trace's result once all is exchanged.
    for doc in agent_docs:
        for _, updates in replayed:
            doc.apply_update(updates[-1])
        assert str(doc.get("source", type=Text)) == expected

    agents = len(agent_docs)
    private = [Doc(client_id=doc.client_id) for doc in agent_docs]
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    path = "traces/friendsforever.txt"
    url = yjs_url(nexus.url, workspace["id"], path, ADMIN_TOKEN)
    started = time.perf_counter()
    messages = 0
    async with (
        connected_doc(url) as (client0, text0, _),
        connected_doc(url) as (client1, text1, _),
    ):
        clients = [client0, client1]
        assert agents == len(clients)

        def forward(agent: int) -> None:
            nonlocal messages
            clients[agent].apply_update(private[agent].get_update(clients[agent].get_state()))
            messages += 1

        for n, (agent, updates) in enumerate(replayed, 1):
            for update in updates:  # the copy follows the agent's doc exactly
                private[agent].apply_update(update)
            forward(agent)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a yield, so that updates are sent as a client would
        await caught_up(text0, expected)
        await caught_up(text1, expected)
    print(
        f"friendsforever: {len(replayed)} txns in {messages} messages, "
        f"{time.perf_counter() - started:.1f}s"
    )
    await assert_stored(url, Path(workspace["path"]) / path, expected)
