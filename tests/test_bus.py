"""The event bus, in-process and over a real Redis: same behaviour from the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.bus import (
    Bus,
    BusTimeout,
    Envelope,
    Event,
    OverflowPolicy,
    RedisBus,
    RemoteError,
    matches,
)
from server.errors import Conflict
from tests._client import eventually


class Note(Event):
    text: str


class Number(Event):
    n: int


@pytest.fixture(params=[pytest.param("memory", marks=pytest.mark.unit), "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        instance = Bus(queue_size=100)
    else:
        instance = RedisBus(request.getfixturevalue("redis_url"), queue_size=100)
    await instance.start()
    yield instance
    await instance.close()


@pytest.mark.unit
def test_topic_patterns() -> None:
    assert matches("workspace.*.presence", "workspace.ab12.presence")
    assert not matches("workspace.*.presence", "workspace.ab12.x.presence")
    assert matches("workspace.#", "workspace")
    assert matches("workspace.#", "workspace.a.b.c")
    assert not matches("workspace.#", "workspaces.a")
    assert matches("#", "anything.at.all")
    assert not matches("a.*", "a")


async def test_wildcard_subscriptions_get_typed_events_in_order(bus: Bus) -> None:
    got: list[tuple[str, int]] = []
    other: list[str] = []

    async def collect(envelope: Envelope) -> None:
        assert isinstance(envelope.event, Number)
        got.append((envelope.topic, envelope.event.n))

    async def unrelated(envelope: Envelope) -> None:
        other.append(envelope.topic)

    bus.subscribe("workspace.*.numbers", collect)
    bus.subscribe("chat.#", unrelated)
    for n in range(50):
        await bus.publish(f"workspace.w{n % 2}.numbers", Number(n=n))
    await eventually(lambda: len(got) == 50)
    assert [n for _, n in got] == list(range(50))
    assert other == []


async def test_request_reply_timeout_and_remote_errors(bus: Bus) -> None:
    async def double(envelope: Envelope) -> Number:
        assert isinstance(envelope.event, Number)
        if envelope.event.n < 0:
            raise Conflict("negative numbers are not welcome")
        return Number(n=envelope.event.n * 2)

    bus.handle("math.double", double)
    results = await asyncio.gather(*(bus.request("math.double", Number(n=i)) for i in range(20)))
    assert [r.n for r in results if isinstance(r, Number)] == [i * 2 for i in range(20)]

    with pytest.raises(RemoteError) as failure:
        await bus.request("math.double", Number(n=-1))
    assert failure.value.code == "conflict" and "negative" in failure.value.message

    with pytest.raises(BusTimeout):
        await bus.request("nobody.listens", Number(n=1), timeout=0.2)


async def test_a_slow_subscriber_neither_stalls_others_nor_grows(bus: Bus) -> None:
    release = asyncio.Event()
    slow_seen: list[int] = []
    fast_seen: list[int] = []

    async def slow(envelope: Envelope) -> None:
        await release.wait()
        slow_seen.append(envelope.event.n)  # type: ignore[attr-defined]

    async def fast(envelope: Envelope) -> None:
        fast_seen.append(envelope.event.n)  # type: ignore[attr-defined]

    slow_sub = bus.subscribe("load", slow, name="slow", queue_size=10)
    bus.subscribe("load", fast, name="fast", queue_size=1000)
    for n in range(500):
        await bus.publish("load", Number(n=n))
    await eventually(lambda: len(fast_seen) == 500)
    assert slow_sub.dropped >= 489  # bounded: the queue never held more than 10
    release.set()
    await eventually(lambda: slow_seen and slow_seen[-1] == 499)  # delivered in order: all in
    # drop_oldest: the slow subscriber ends with the newest events.
    assert slow_seen[-10:] == list(range(490, 500))


async def test_drop_newest_keeps_the_first_events(bus: Bus) -> None:
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(envelope: Envelope) -> None:
        await release.wait()
        seen.append(envelope.event.n)  # type: ignore[attr-defined]

    sub = bus.subscribe("load", slow, queue_size=5, policy=OverflowPolicy.drop_newest)
    for n in range(100):
        await bus.publish("load", Number(n=n))
    await eventually(lambda: sub.dropped > 0)
    release.set()
    await eventually(lambda: len(seen) >= 5)
    await asyncio.sleep(0.05)  # a window for a stray newer event: proving an absence
    assert seen[:5] == [0, 1, 2, 3, 4] or seen[1:6] == [1, 2, 3, 4, 5]
    assert max(seen) < 10


async def test_a_failing_handler_is_isolated(bus: Bus) -> None:
    good: list[str] = []
    bad_calls: list[str] = []

    async def broken(envelope: Envelope) -> None:
        bad_calls.append(envelope.event.text)  # type: ignore[attr-defined]
        raise RuntimeError("boom")

    async def fine(envelope: Envelope) -> None:
        good.append(envelope.event.text)  # type: ignore[attr-defined]

    bus.subscribe("notes", broken)
    bus.subscribe("notes", fine)
    await bus.publish("notes", Note(text="a"))
    await bus.publish("notes", Note(text="b"))
    await eventually(lambda: good == ["a", "b"] and bad_calls == ["a", "b"])


async def test_closing_a_subscription_stops_delivery(bus: Bus) -> None:
    seen: list[str] = []

    async def collect(envelope: Envelope) -> None:
        seen.append(envelope.event.text)  # type: ignore[attr-defined]

    sub = bus.subscribe("notes", collect)
    await bus.publish("notes", Note(text="one"))
    await eventually(lambda: seen == ["one"])
    sub.close()
    await bus.publish("notes", Note(text="two"))
    await asyncio.sleep(0.05)  # a window for a delivery that must not happen
    assert seen == ["one"]


async def test_bad_topics_are_refused(bus: Bus) -> None:
    with pytest.raises(ValueError):
        await bus.publish("a..b", Note(text="x"))
    with pytest.raises(ValueError):
        await bus.publish("a.*", Note(text="x"))


async def test_events_and_requests_cross_nodes_over_redis(redis_url: str) -> None:
    node_a = RedisBus(redis_url, node_id="a")
    node_b = RedisBus(redis_url, node_id="b")
    await node_a.start()
    await node_b.start()
    try:
        seen_on_b: list[tuple[str, str]] = []
        seen_on_a: list[str] = []

        async def on_b(envelope: Envelope) -> None:
            seen_on_b.append((envelope.origin, envelope.event.text))  # type: ignore[attr-defined]

        async def on_a(envelope: Envelope) -> None:
            seen_on_a.append(envelope.event.text)  # type: ignore[attr-defined]

        node_b.subscribe("workspace.*.notes", on_b)
        node_a.subscribe("workspace.*.notes", on_a)
        await node_a.publish("workspace.w1.notes", Note(text="hello"))
        await eventually(lambda: seen_on_b == [("a", "hello")])
        await eventually(lambda: seen_on_a == ["hello"])  # local delivery, exactly once
        await asyncio.sleep(0.1)  # a window for a second, looped-back copy: proving an absence
        assert seen_on_a == ["hello"]

        async def shout(envelope: Envelope) -> Note:
            return Note(text=envelope.event.text.upper())  # type: ignore[attr-defined]

        node_b.handle("svc.shout", shout)
        reply = await node_a.request("svc.shout", Note(text="quiet"), timeout=2)
        assert reply == Note(text="QUIET")
    finally:
        await node_a.close()
        await node_b.close()
