"""Signed requests to NEXUS are taken once: a `webhook-id` seen within the signature's
tolerance window is a replay.

One node remembers ids in memory; several nodes (with Redis) share them, so a request
captured on its way to one node cannot be replayed to another. Should Redis not answer,
the request is refused (503): taking it could take it twice.
"""

from __future__ import annotations

import time

import redis.asyncio as redis

from server.errors import Unauthorized, Unavailable

MAX_REMEMBERED = 100_000


class SeenIds:
    """This node's memory of the ids it took, each kept for `keep_seconds`."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep = keep_seconds
        self._seen: dict[str, float] = {}  # key → forget at

    async def once(self, key: str) -> None:
        """`Unauthorized` if `key` was taken before (within the window); else take it."""
        now = time.monotonic()
        if len(self._seen) > MAX_REMEMBERED:
            self._seen = {k: until for k, until in self._seen.items() if until > now}
        until = self._seen.get(key)
        if until is not None and until > now:
            raise Unauthorized("this webhook-id was used already")
        self._seen[key] = now + self.keep

    async def close(self) -> None:
        pass


class RedisSeenIds(SeenIds):
    """The ids every node took, in Redis (`SET NX` with the window as its expiry)."""

    def __init__(self, url: str, keep_seconds: float, prefix: str = "nexus:seen") -> None:
        super().__init__(keep_seconds)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url)

    async def once(self, key: str) -> None:
        try:
            fresh = await self._redis.set(
                f"{self.prefix}:{key}", b"1", nx=True, ex=max(1, int(self.keep))
            )
        except redis.RedisError:
            raise Unavailable("cannot check this request against replays now; try again") from None
        if not fresh:
            raise Unauthorized("this webhook-id was used already")

    async def close(self) -> None:
        await self._redis.aclose()


def create_seen_ids(redis_url: str | None, keep_seconds: float) -> SeenIds:
    return RedisSeenIds(redis_url, keep_seconds) if redis_url else SeenIds(keep_seconds)
