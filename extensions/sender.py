"""Signed requests to extensions: webhook attempts and contributed commands.

Everything goes through the guarded client (see `targets`) and is signed with every
secret the extension has in use. A webhook attempt never raises: it comes back as a
`Result` for the log. A command raises errors that say what went wrong.
"""

from __future__ import annotations

import email.utils
import json
import time
from datetime import UTC, datetime
from typing import Any

from extensions import signing
from extensions.http import HttpClient, HttpError
from extensions.outbox import EXCERPT_CHARS, Result
from extensions.store import Extension
from extensions.targets import TargetRefused
from server.errors import NexusError, Timeout

MAX_COMMAND_ANSWER = 1024 * 1024
USER_AGENT = "NEXUS-Webhooks/1"


class ExtensionFailed(NexusError):
    """An extension's answer to a command was an error or not `{result}`."""

    status = 502
    code = "extension_failed"


class ExtensionTimeout(Timeout):
    code = "extension_timeout"


def retry_after(value: str) -> float | None:
    """A `Retry-After` value in seconds (delta or HTTP date), or None."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _failure(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Sender:
    def __init__(self, client: HttpClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def _headers(self, secrets: list[str], message_id: str, body: bytes) -> dict[str, str]:
        signed = signing.headers(secrets, message_id, body)
        return {**signed, "Content-Type": "application/json", "User-Agent": USER_AGENT}

    async def deliver(
        self, url: str, secrets: list[str], message_id: str, body: bytes
    ) -> tuple[Result, float | None]:
        """One webhook attempt to `url`, signed with each of `secrets`: its result, and
        the receiver's `Retry-After` if any."""
        started = time.perf_counter()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        wait: float | None = None
        headers = self._headers(secrets, message_id, body)
        try:
            answer = await self.client.post(url, body, headers, EXCERPT_CHARS)
            status = answer.status
            wait = retry_after(answer.headers.get("retry-after", ""))
            excerpt = answer.body.decode("utf-8", errors="replace") or None
            if not 200 <= status < 300:
                error = f"answered {status}"
        except TargetRefused as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except (HttpError, OSError) as exc:
            error = _failure(exc)
        latency = (time.perf_counter() - started) * 1000
        return Result(status, round(latency, 3), excerpt, error), wait

    async def command(
        self, extension: Extension, command_id: str, message_id: str, body: bytes
    ) -> Any:
        """Run a contributed command on its extension; its answer's `result`."""
        name = f"extension {extension.name!r}"
        headers = self._headers(extension.signing_secrets(), message_id, body)
        try:
            answer = await self.client.post(
                extension.webhook_url, body, headers, MAX_COMMAND_ANSWER + 1
            )
        except TargetRefused as exc:
            raise ExtensionFailed(f"{name} cannot be reached: {exc}") from None
        except TimeoutError:
            raise ExtensionTimeout(
                f"{name} did not answer {command_id} within {self.timeout:g} s"
            ) from None
        except (HttpError, OSError) as exc:
            raise ExtensionFailed(
                f"{name} could not be reached for {command_id}: {_failure(exc)}"
            ) from None
        content = bytes(answer.body)
        if not 200 <= answer.status < 300:
            text = content[:200].decode("utf-8", errors="replace")
            raise ExtensionFailed(f"{name} answered {answer.status} to {command_id}: {text}")
        if not answer.complete or answer.seen > MAX_COMMAND_ANSWER:
            raise ExtensionFailed(
                f"{name}'s answer to {command_id} is over {MAX_COMMAND_ANSWER} bytes"
            )
        return _result(name, command_id, content)


def _result(name: str, command_id: str, content: bytes) -> Any:
    if len(content) > MAX_COMMAND_ANSWER:
        raise ExtensionFailed(f"{name}'s answer to {command_id} is over {MAX_COMMAND_ANSWER} bytes")
    try:
        answer = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ExtensionFailed(
            f'{name}\'s answer to {command_id} is not JSON; it must be {{"result": …}}'
        ) from None
    if not isinstance(answer, dict) or "result" not in answer:
        raise ExtensionFailed(
            f'{name}\'s answer to {command_id} has no `result`; it must be {{"result": …}}'
        )
    return answer["result"]
