"""The webhook courier's process: attempts in on stdin, their results out on stdout.

`Courier` (see `courier`) starts it as `python -m extensions.courier_process CONFIG`,
CONFIG being JSON `{"allowed_hosts": [...], "timeout": s, "concurrency": n}`. Each line
in is `{"body": str, "jobs": [[id, url, [secret, ...]], ...]}` (an event's body once, for
all its deliveries); each line out is one attempt's `[id, status, latency_ms, excerpt,
error, retry_after]`. It signs and sends with the same `Sender` and guarded client as
the server would, `concurrency` attempts at a time, and ends when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any, BinaryIO

from extensions.http import HttpClient
from extensions.sender import Sender
from extensions.targets import TargetPolicy

log = logging.getLogger("nexus.extensions.courier")

Attempt = tuple[str, str, list[str], bytes]  # id, url, secrets, body
MAX_LINE = 64 * 1024 * 1024


class Output:
    """Result lines, written together once per turn of the loop (one write for many)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self._lines: list[bytes] = []

    def put(self, row: list[Any]) -> None:
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self._lines.append(json.dumps(row, separators=(",", ":")).encode() + b"\n")

    def flush(self) -> None:
        data, self._lines = b"".join(self._lines), []
        self.stream.write(data)
        self.stream.flush()


async def work(queue: asyncio.Queue[Attempt], sender: Sender, out: Output) -> None:
    while True:
        message_id, url, secrets, body = await queue.get()
        try:
            result, wait = await sender.deliver(url, secrets, message_id, body)
        except Exception as exc:  # a bug here must not take the other attempts down
            log.exception("webhook attempt %s failed", message_id)
            out.put([message_id, None, 0.0, None, f"{type(exc).__name__}: {exc}", None])
            continue
        out.put([message_id, *_fields(result), wait])


def _fields(result: Any) -> list[Any]:
    return [result.status_code, result.latency_ms, result.excerpt, result.error]


async def main(config: dict[str, Any]) -> None:
    timeout = float(config["timeout"])
    client = HttpClient(TargetPolicy.from_settings(config["allowed_hosts"]), timeout=timeout)
    sender = Sender(client, timeout)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = Output(sys.stdout.buffer)
    queue: asyncio.Queue[Attempt] = asyncio.Queue()
    workers = [
        asyncio.create_task(work(queue, sender, out)) for _ in range(int(config["concurrency"]))
    ]
    while line := await reader.readline():
        message = json.loads(line)
        body = message["body"].encode()
        for message_id, url, secrets in message["jobs"]:
            queue.put_nowait((message_id, url, secrets, body))
    for task in workers:
        task.cancel()
    await client.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(json.loads(sys.argv[1])))
