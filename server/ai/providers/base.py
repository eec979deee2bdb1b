"""What every provider is and how it fails (kept apart so providers need not import the
package that builds them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from server.ai.messages import ChatRequest, FimRequest, StreamEvent


class ProviderError(Exception):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class Provider(Protocol):
    name: str

    def stream(self, model: str, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...

    def fill_in_middle(self, model: str, request: FimRequest) -> AsyncIterator[StreamEvent]: ...

    @property
    def supports_fim(self) -> bool: ...

    async def close(self) -> None: ...
