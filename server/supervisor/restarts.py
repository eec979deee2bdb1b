"""Restarting services (language servers, plugin hosts) with backoff and a crash-loop cap."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from server import metrics


@dataclass(eq=False)
class CrashLoop:
    """`crashed()` answers how long to wait before the next start, or None when the
    service crashed `limit` times within `window` seconds and should be marked failed."""

    kind: str
    first_delay: float = 0.2
    max_delay: float = 10.0
    limit: int = 5
    window: float = 180.0
    _crashes: deque[float] = field(default_factory=deque, init=False, repr=False)
    _delay: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._delay = self.first_delay

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
