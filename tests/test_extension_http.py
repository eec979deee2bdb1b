"""The small HTTP client that talks to extensions, against answers written by hand:
lengths, chunks, bodies that run to the close, interim answers, kept-alive connections
the server dropped, and bytes that are not HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from extensions.http import HttpClient, HttpError
from extensions.targets import TargetPolicy
from tests._backing import free_port


class Script:
    """A TCP server answering each request with the next scripted bytes."""

    def __init__(self, answers: list[bytes], close_after: bool = False) -> None:
        self.answers = answers
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while self.answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            self.requests.append(head + await reader.readexactly(length))
            writer.write(self.answers.pop(0))
            await writer.drain()
            if self.close_after:
                break
        writer.close()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(TargetPolicy.from_settings(["127.0.0.1"]), timeout=2)
    yield http
    await http.close()


async def serving(script: Script) -> tuple[asyncio.Server, str]:
    port = free_port()
    server = await asyncio.start_server(script.serve, "127.0.0.1", port)
    return server, f"http://127.0.0.1:{port}/hook?x=1"


async def test_answers_of_every_shape_are_read(client: HttpClient) -> None:
    script = Script(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nbus\r\n1\r\ny\r\n0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        ]
    )
    server, url = await serving(script)
    async with server:
        first = await client.post(url, b'{"a":1}', {"webhook-id": "msg_1"}, 100)
        second = await client.post(url, b"{}", {}, 3)
        third = await client.post(url, b"{}", {}, 100)
    assert (first.status, bytes(first.body)) == (200, b"ok")
    assert (second.status, bytes(second.body), second.headers["retry-after"]) == (503, b"bus", "7")
    assert third.status == 201
    assert script.connections == 1  # one kept-alive connection for all three
    assert script.requests[0].startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"webhook-id: msg_1\r\n" in script.requests[0]
    assert script.requests[0].endswith(b'\r\n\r\n{"a":1}')


async def test_a_body_running_to_the_close_and_a_dropped_connection(client: HttpClient) -> None:
    script = Script([b"HTTP/1.0 200 OK\r\n\r\nuntil the end", b"HTTP/1.1 204 No\r\n\r\n"], True)
    server, url = await serving(script)
    async with server:
        first = await client.post(url, b"{}", {}, 100)
        second = await client.post(url, b"{}", {}, 100)
    assert bytes(first.body) == b"until the end" and second.status == 204
    assert script.connections == 2


async def test_a_kept_alive_connection_the_server_closed_is_replaced(client: HttpClient) -> None:
    script = Script(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ],
        close_after=True,  # closes without saying so: the client's idle connection is dead
    )
    server, url = await serving(script)
    async with server:
        assert (await client.post(url, b"{}", {}, 10)).status == 200
        await asyncio.sleep(0.05)
        assert (await client.post(url, b"{}", {}, 10)).status == 200
    assert script.connections == 2


async def test_garbage_and_silence_are_errors(client: HttpClient) -> None:
    garbage = Script([b"this is not http\r\n\r\n"], True)
    server, url = await serving(garbage)
    async with server:
        with pytest.raises(HttpError, match="not HTTP"):
            await client.post(url, b"{}", {}, 10)
    port = free_port()

    async def hold(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with await asyncio.start_server(hold, "127.0.0.1", port):
        slow = HttpClient(TargetPolicy.from_settings(["127.0.0.1"]), timeout=0.3)
        with pytest.raises(TimeoutError):
            await slow.post(f"http://127.0.0.1:{port}/", b"{}", {}, 10)
        await slow.close()
