"""A small HTTP/1.1 client for what NEXUS sends to extensions: a POST, its answer.

Why not a general client: a webhook is one small POST, and a node may send hundreds a
second on the core that also relays people's edits. A general client spends about
0.4 ms of CPU per request; this one, writing the request in one piece and parsing the
answer with httptools (llhttp, in C), about a quarter of that. It keeps connections
alive per (scheme, host, port), follows no redirects, uses no proxies, and connects only
to addresses the `TargetPolicy` allows, checked on every new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

from extensions.targets import TargetPolicy

MAX_HEAD_BYTES = 64 * 1024
MAX_DRAIN_BYTES = 64 * 1024  # an answer body longer than this is not read to its end
IDLE_SECONDS = 30.0
MAX_IDLE_PER_HOST = 32
Key = tuple[str, str, int]


class HttpError(Exception):
    """The request could not be made or the answer was not HTTP; the message says why."""


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    limit: int = 0
    seen: int = 0  # body bytes received, kept or not
    head_bytes: int = 0
    head_done: bool = False
    complete: bool = False
    version: str = "1.1"

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value)
        if self.head_bytes > MAX_HEAD_BYTES:
            raise HttpError("the answer's headers are too large")
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, data: bytes) -> None:
        self.seen += len(data)
        room = self.limit - len(self.body)
        if room > 0:
            self.body += data[:room]

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_message_complete(self) -> None:
        self.complete = True

    def closed(self) -> bool:
        """The connection closed: whether that ended the answer (a body without a length
        runs to the close)."""
        delimited = "content-length" in self.headers or "transfer-encoding" in self.headers
        self.complete = self.head_done and not delimited
        self.version = "1.0"  # not reusable
        return self.complete

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and self.version == "1.1"
            and self.status >= 200
            and self.headers.get("connection", "").lower() != "close"
        )


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpClient:
    def __init__(self, policy: TargetPolicy, *, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self._idle: defaultdict[Key, list[_Connection]] = defaultdict(list)
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str], limit: int) -> Answer:
        """POST `body`; the answer with up to `limit` bytes of its body. Raises
        `TargetRefused`, `HttpError` or `TimeoutError` (after `timeout` seconds in all)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key: Key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        request = _request(target, host, headers, body)
        async with asyncio.timeout(self.timeout):
            reused = self._checkout(key)
            if reused is not None:
                answer = await self._exchange(key, reused, request, limit, retry_on_eof=True)
                if answer is not None:
                    return answer
            connection = await self._connect(key)
            answer = await self._exchange(key, connection, request, limit, retry_on_eof=False)
            assert answer is not None
            return answer

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _checkout(self, key: Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < IDLE_SECONDS and not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    async def _connect(self, key: Key) -> _Connection:
        scheme, host, port = key
        literal = True
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            literal = False
        if literal:
            self.policy.check_address(host, host)
            addresses = [host]
        else:
            addresses = await self.policy.resolve(host, port)
        tls = self._tls_context() if scheme == "https" else None
        failure: OSError | None = None
        for address in addresses:
            try:
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=tls, server_hostname=host if tls else None
                )
                return _Connection(reader, writer)
            except OSError as exc:
                failure = exc
        raise HttpError(f"cannot connect to {host}:{port}: {failure}")

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def _exchange(
        self, key: Key, connection: _Connection, request: bytes, limit: int, *, retry_on_eof: bool
    ) -> Answer | None:
        """Send and read one answer. None when a kept-alive connection turned out to be
        closed before any answer came (the caller sends again on a new one)."""
        try:
            connection.writer.write(request)
            answer = await _read_answer(connection.reader, limit)
        except _ClosedEarly:
            connection.close()
            if retry_on_eof:
                return None
            raise HttpError("the connection closed before an answer came") from None
        except BaseException:
            connection.close()
            raise
        if answer.reusable and len(self._idle[key]) < MAX_IDLE_PER_HOST:
            connection.idle_since = time.monotonic()
            self._idle[key].append(connection)
        else:
            connection.close()
        return answer


class _ClosedEarly(Exception):
    pass


def _request(target: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_answer(reader: asyncio.StreamReader, limit: int) -> Answer:
    """Read one final answer (skipping 1xx ones)."""
    received = 0
    while True:
        answer = Answer(limit=limit)
        parser = httptools.HttpResponseParser(answer)
        while not answer.complete:
            data = await reader.read(65536)
            if not data:
                if received == 0:
                    raise _ClosedEarly
                if answer.closed():
                    return answer
                raise HttpError("the connection closed in the middle of the answer")
            received += len(data)
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise HttpError(f"the answer is not HTTP: {exc}") from None
            answer.status = parser.get_status_code()
            if answer.seen > max(MAX_DRAIN_BYTES, limit) and not answer.complete:
                return answer  # a body larger than wanted: not read further (nor reused)
        answer.version = parser.get_http_version()
        if answer.status >= 200:
            return answer
