"""Request limits per key in a moving window, with the `limits` library: in memory on one
node, in Redis when nodes share one, so a caller cannot multiply the allowance by
spreading requests across nodes. Login attempts are limited per client address and user
name; API keys per key."""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from server.errors import RateLimited


class MovingWindowLimit:
    """`per_minute` hits per key in any 60 seconds; keys live under `prefix` in Redis."""

    def __init__(self, per_minute: int, redis_url: str | None, prefix: str) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        storage: Storage = (
            RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=prefix)
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def refuse(self, key: str, message: str) -> RateLimited:
        """The error for a key over its limit, saying when the window has room again."""
        stats = await self._limiter.get_window_stats(self.item, key)
        return RateLimited(message, retry_after=max(stats.reset_time - time.time(), 1.0))


class LoginLimiter(MovingWindowLimit):
    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        super().__init__(per_minute, redis_url, "nexus:login")

    async def hit(self, *keys: str) -> None:
        """Count one attempt against every key; `RateLimited` if any is over its limit."""
        for key in keys:
            if not await self._limiter.test(self.item, key):
                raise await self.refuse(key, "too many login attempts; try again later")
        for key in keys:
            await self._limiter.hit(self.item, key)


class ApiKeyLimiter(MovingWindowLimit):
    """Requests per API key (sessions are not limited here: they are people)."""

    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        super().__init__(per_minute, redis_url, "nexus:apikey")

    async def hit(self, token_id: int) -> None:
        """Count one request (one round trip: a refused hit is not counted)."""
        key = str(token_id)
        if not await self._limiter.hit(self.item, key):
            raise await self.refuse(key, "too many requests with this API key; try again later")
