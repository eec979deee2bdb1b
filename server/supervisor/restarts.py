"""Restarting services (language servers, plugin hosts) with backoff and a crash-loop cap."""

from __future__ import annotations

import time
from collections import deque

from server import metrics


class CrashLoop:
    """`crashed()` answers how long to wait before the next start, or None when the
    service crashed `limit` times within `window` seconds and should be marked failed."""

    def __init__(
        self,
        kind: str,
        first_delay: float = 0.2,
        max_delay: float = 10.0,
        limit: int = 5,
        window: float = 180.0,
    ) -> None:
        self.kind = kind
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.limit = limit
        self.window = window
        self._crashes: deque[float] = deque()
        self._delay = first_delay

    def crashed(self) -> float | None:
        now = time.monotonic()
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] > self.window:
            self._crashes.popleft()
        if len(self._crashes) > self.limit:
            return None
        delay = self._delay
        self._delay = min(self._delay * 2, self.max_delay)
        metrics.PROCESS_RESTARTS.labels(self.kind).inc()
        return delay

    def started(self) -> None:
        """A start that lasted: the next crash waits the first delay again."""
        self._delay = self.first_delay
