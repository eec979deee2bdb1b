"""Who is in each workspace right now, on this node or, with Redis, on any node.

Entries are kept per connection (a user with two tabs has two); `users()` folds them
into one line per user. With Redis, each node keeps a heartbeat key alive: entries of a
node that stopped heartbeating (crashed, killed) are ignored and swept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime

import redis.asyncio as redis
from pydantic import BaseModel

from server.bus import Event
from server.models import Role

log = logging.getLogger("nexus.presence")


class PresenceEntry(BaseModel):
    sid: str
    user_id: int
    username: str
    role: Role
    node: str
    joined_at: datetime


class PresentUser(BaseModel):
    user_id: int
    username: str
    role: Role
    connections: int


class PresenceChanged(Event):
    workspace_id: str
    users: list[PresentUser]


def fold(entries: list[PresenceEntry]) -> list[PresentUser]:
    by_user: dict[int, list[PresenceEntry]] = defaultdict(list)
    for entry in entries:
        by_user[entry.user_id].append(entry)
    return sorted(
        (
            PresentUser(
                user_id=user_id,
                username=group[0].username,
                role=max((e.role for e in group), key=lambda role: role.rank),
                connections=len(group),
            )
            for user_id, group in by_user.items()
        ),
        key=lambda user: user.username,
    )


class MemoryPresence:
    """Presence for a single node."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, PresenceEntry]] = defaultdict(dict)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self._rooms.clear()

    async def add(self, workspace_id: str, entry: PresenceEntry) -> None:
        self._rooms[workspace_id][entry.sid] = entry

    async def remove(self, workspace_id: str, sid: str) -> None:
        room = self._rooms.get(workspace_id)
        if room is not None:
            room.pop(sid, None)
            if not room:
                del self._rooms[workspace_id]

    async def entries(self, workspace_id: str) -> list[PresenceEntry]:
        return list(self._rooms.get(workspace_id, {}).values())

    async def users(self, workspace_id: str) -> list[PresentUser]:
        return fold(await self.entries(workspace_id))


class RedisPresence(MemoryPresence):
    """Presence shared by every node through Redis hashes `nexus:presence:<workspace>`."""

    HEARTBEAT_SECONDS = 5.0
    NODE_TTL_SECONDS = 15

    def __init__(self, url: str, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._heartbeat: asyncio.Task[None] | None = None

    @staticmethod
    def _key(workspace_id: str) -> str:
        return f"nexus:presence:{workspace_id}"

    @staticmethod
    def _node_key(node: str) -> str:
        return f"nexus:node:{node}"

    async def start(self) -> None:
        await self._beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="presence-heartbeat")

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(Exception):
            for workspace_id, room in self._rooms.items():
                if room:
                    await self._redis.hdel(self._key(workspace_id), *room)
            await self._redis.delete(self._node_key(self.node_id))
        await super().close()
        await self._redis.aclose()

    async def _beat(self) -> None:
        await self._redis.set(self._node_key(self.node_id), "1", ex=self.NODE_TTL_SECONDS)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.HEARTBEAT_SECONDS)
            try:
                await self._beat()
            except Exception:
                log.warning("presence heartbeat failed", exc_info=True)

    async def add(self, workspace_id: str, entry: PresenceEntry) -> None:
        await super().add(workspace_id, entry)
        await self._redis.hset(self._key(workspace_id), entry.sid, entry.model_dump_json())

    async def remove(self, workspace_id: str, sid: str) -> None:
        await super().remove(workspace_id, sid)
        await self._redis.hdel(self._key(workspace_id), sid)

    async def entries(self, workspace_id: str) -> list[PresenceEntry]:
        raw = await self._redis.hgetall(self._key(workspace_id))
        entries = [PresenceEntry.model_validate_json(value) for value in raw.values()]
        nodes = sorted({entry.node for entry in entries})
        alive = dict(
            zip(
                nodes,
                await self._redis.mget([self._node_key(n) for n in nodes]) if nodes else [],
                strict=True,
            )
        )
        stale = [entry.sid for entry in entries if not alive.get(entry.node)]
        if stale:
            await self._redis.hdel(self._key(workspace_id), *stale)
        return [entry for entry in entries if alive.get(entry.node)]


def create_presence(redis_url: str | None, node_id: str) -> MemoryPresence:
    return RedisPresence(redis_url, node_id) if redis_url else MemoryPresence()
