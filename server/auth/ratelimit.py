"""A sliding-window limiter for login attempts, per key (client address, user name)."""

from __future__ import annotations

import time
from collections import deque

from server.errors import RateLimited


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, *keys: str) -> None:
        """Count one attempt against every key; `RateLimited` if any is over its limit."""
        now = time.monotonic()
        for key in keys:
            hits = self._window(key, now)
            if len(hits) >= self.limit:
                retry_after = hits[0] + self.window - now
                raise RateLimited(
                    "too many login attempts; try again later", retry_after=max(retry_after, 1.0)
                )
        for key in keys:
            self._hits.setdefault(key, deque()).append(now)

    def _window(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:  # bounded memory under a spray of names
                self._prune(now)
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _prune(self, now: float) -> None:
        for key in [
            k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:
            self._hits.pop(next(iter(self._hits)))
