"""Login attempts limited per key (client address, user name) in a moving window, with
the `limits` library: in memory on one node, in Redis when nodes share one, so an
attacker cannot multiply the allowance by spreading attempts across nodes."""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from server.errors import RateLimited


class LoginLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        storage: Storage = (
            RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="nexus:login")
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, *keys: str) -> None:
        """Count one attempt against every key; `RateLimited` if any is over its limit."""
        for key in keys:
            if not await self._limiter.test(self.item, key):
                stats = await self._limiter.get_window_stats(self.item, key)
                raise RateLimited(
                    "too many login attempts; try again later",
                    retry_after=max(stats.reset_time - time.time(), 1.0),
                )
        for key in keys:
            await self._limiter.hit(self.item, key)
