"""Which node keeps a document's file and its live text in step.

Several nodes serve one workspace from a shared volume. If each wrote the file back and
each merged what it saw change on disk, a node would take another node's write-back for
an out-of-band edit and merge it in, and the same text would arrive twice (once as the
other node's updates over the bus, once as its own diff). So one node at a time owns
each document's file: it alone writes the file back and merges changes made to it by
other programs; the others only follow the live document.

Ownership is a lease in Redis, renewed whenever the owner uses it: a node that stops
(crashed, or closed the document) is replaced after `LEASE_SECONDS` at most. Without
Redis there is one node, and it owns everything.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as redis

log = logging.getLogger("nexus.collab")

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


class FileOwners:
    """One node: it owns every document's file."""

    shared = False  # whether other nodes may own some files

    async def claim(self, document_id: int) -> bool:
        """Own the file of `document_id` (taking or renewing the lease); False when
        another node owns it."""
        return True

    async def release(self, document_id: int) -> None:
        """Give the file up (the document was closed here)."""

    async def close(self) -> None:
        pass


class RedisFileOwners(FileOwners):
    shared = True

    def __init__(self, url: str, node_id: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self.node_id = node_id
        self.lease_ms = int(lease_seconds * 1000)
        self._redis = redis.Redis.from_url(url)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._warned_at = 0.0

    @staticmethod
    def _key(document_id: int) -> str:
        return f"nexus:collab:owner:{document_id}"

    async def claim(self, document_id: int) -> bool:
        try:
            return bool(await self._claim([self._key(document_id)], [self.node_id, self.lease_ms]))
        except redis.RedisError as exc:
            # Nobody can tell who owns the file: writing it could duplicate text, so the
            # document stays live and durable in the database and the file waits.
            if time.monotonic() - self._warned_at > 30:
                self._warned_at = time.monotonic()
                log.warning("cannot reach Redis to own document files; not writing: %s", exc)
            return False

    async def release(self, document_id: int) -> None:
        try:
            await self._release([self._key(document_id)], [self.node_id])
        except redis.RedisError as exc:
            log.warning("could not release document %d (the lease expires): %s", document_id, exc)

    async def close(self) -> None:
        await self._redis.aclose()


def create_file_owners(redis_url: str | None, node_id: str) -> FileOwners:
    return RedisFileOwners(redis_url, node_id) if redis_url else FileOwners()
