"""The stock `y-websocket` provider, run with node (tests/js/yclient.mjs), as a test peer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from tests._backing import missing

JS_DIR = Path(__file__).with_name("js")


class JsClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())
        self._ids = 0

    @classmethod
    async def connect(cls, base_url: str, workspace_id: str, path: str, token: str) -> JsClient:
        node = shutil.which("node")
        if node is None or not (JS_DIR / "node_modules" / "y-websocket").exists():
            missing("node with tests/js dependencies")
        process = await asyncio.create_subprocess_exec(
            str(node),
            str(JS_DIR / "yclient.mjs"),
            "--url",
            base_url.replace("http://", "ws://") + f"/yjs/{workspace_id}",
            "--room",
            path,
            "--token",
            token,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        client = cls(process)
        await client.wait_event("synced", timeout=15)
        return client

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))

    async def wait_event(self, name: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if event.get("event") == name and all(
                        event.get(k) == v for k, v in match.items()
                    ):
                        return event
                if self._reader.done():
                    raise RuntimeError(f"node client ended; events: {self.events}")
                await asyncio.sleep(0.01)

    async def call(self, op: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """Run one operation and wait for its reply (or raise with the client's error)."""
        self._ids += 1
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"op": op, "id": self._ids, **args}) + "\n").encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if event.get("id") == self._ids:
                        if event.get("event") == "error":
                            raise RuntimeError(event["error"])
                        return event
                await asyncio.sleep(0.01)

    async def text(self) -> str:
        return str((await self.call("text"))["text"])

    async def close(self) -> None:
        if self.process.returncode is None and self.process.stdin is not None:
            with contextlib.suppress(ConnectionError):
                self.process.stdin.write(b'{"op": "close"}\n')
                await self.process.stdin.drain()
            try:
                async with asyncio.timeout(5):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        self._reader.cancel()
