"""Leases: which node does a job that only one node may do at a time.

Documents: several nodes serve one workspace from a shared volume. If each wrote the file back and
each merged what it saw change on disk, a node would take another node's write-back for
an out-of-band edit and merge it in, and the same text would arrive twice (once as the
other node's updates over the bus, once as its own diff). So one node at a time owns
each document's file: it alone writes the file back and merges changes made to it by
other programs; the others only follow the live document.

The code index: one node indexes a workspace, every node answers queries.

A lease lives in Redis, renewed whenever its holder uses it: a node that stops (crashed,
or closed the document) is replaced after `LEASE_SECONDS` at most. Without Redis there
is one node, and it holds every lease.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as redis

log = logging.getLogger("nexus.leases")

LEASE_SECONDS = 5.0

# Take the lease if it is free, renew it if it is ours; 1 means "ours now".
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    """One node: it holds every lease."""

    shared = False  # whether other nodes may hold some

    async def claim(self, key: int | str) -> bool:
        """Hold the lease on `key` (taking or renewing it); False when another node does."""
        return True

    async def release(self, key: int | str) -> None:
        """Give the lease up (the job was stopped here)."""

    async def holder(self, key: int | str) -> str | None:
        """The node holding the lease on `key`, if any (one node: always this one)."""
        return None

    async def close(self) -> None:
        pass


class RedisLeases(Leases):
    shared = True

    def __init__(
        self, url: str, node_id: str, prefix: str, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.node_id = node_id
        self.prefix = prefix
        self.lease_ms = int(lease_seconds * 1000)
        self._redis = redis.Redis.from_url(url)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._warned_at = 0.0

    def _key(self, key: int | str) -> str:
        return f"{self.prefix}:{key}"

    async def claim(self, key: int | str) -> bool:
        try:
            return bool(await self._claim([self._key(key)], [self.node_id, self.lease_ms]))
        except redis.RedisError as exc:
            # Nobody can tell who holds it: doing the job could do it twice (a document's
            # text written back twice), so the job waits until Redis answers again.
            if time.monotonic() - self._warned_at > 30:
                self._warned_at = time.monotonic()
                log.warning("cannot reach Redis for %s leases; waiting: %s", self.prefix, exc)
            return False

    async def release(self, key: int | str) -> None:
        try:
            await self._release([self._key(key)], [self.node_id])
        except redis.RedisError as exc:
            log.warning("could not release %s (the lease expires): %s", self._key(key), exc)

    async def holder(self, key: int | str) -> str | None:
        try:
            value = await self._redis.get(self._key(key))
        except redis.RedisError as exc:
            log.warning("cannot reach Redis to find who holds %s: %s", self._key(key), exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    async def close(self) -> None:
        await self._redis.aclose()


def create_leases(redis_url: str | None, node_id: str, prefix: str) -> Leases:
    """Leases under `prefix` in Redis, or the one node's when there is no Redis."""
    return RedisLeases(redis_url, node_id, prefix) if redis_url else Leases()
