"""NEXUS server processes for tests that need real restarts, kills and several nodes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests._backing import free_port
from tests.conftest import ADMIN_TOKEN


class Node:
    """`nexus serve` in a child process; `start()` again after `kill()` to restart it."""

    def __init__(
        self,
        name: str,
        tmp: Path,
        database_url: str | None = None,
        redis_url: str | None = None,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.tmp = tmp
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")},
            "NEXUS_ADMIN_TOKEN": ADMIN_TOKEN,
            "NEXUS_NODE_ID": name,
            "NEXUS_LOG_LEVEL": "warning",
            "NEXUS_VOICE_PRELOAD": "false",  # no test here speaks; loading costs CPU seconds
        }
        if database_url:
            self.env["NEXUS_DATABASE_URL"] = database_url
        if redis_url:
            self.env["NEXUS_REDIS_URL"] = redis_url
        self.log = (tmp / f"{name}.log").open("ab")
        self.start()

    def start(self) -> None:
        tmp, name = self.tmp, self.name
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--port",
                str(self.port),
                "--workspace-root",
                str(tmp / "workspaces"),
                "--data-dir",
                str(tmp / name),
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as http, asyncio.timeout(60):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"node exited with {self.process.returncode}")
                try:
                    if (await http.get(self.url + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no shutdown, no flushing."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
