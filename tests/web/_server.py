"""A real `nexus serve` process for the browser tests: the code path of `make run`, which a
test can restart (SIGTERM) or kill (SIGKILL) like a deployment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import RunningServer, make_settings

ROOT = Path(__file__).resolve().parent.parent.parent


def _env_value(value: Any) -> str:
    """A setting as its `NEXUS_*` environment variable spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


class WebServer(RunningServer):
    """`python -m server serve` on a free port with its own workspace root and data dir
    under `base`; its output goes to `base/nexus.log`. `create_user`, `create_workspace`,
    `add_member`, `headers` and `http` are those of `tests.conftest.RunningServer`."""

    def __init__(self, base: Path, web_dir: Path) -> None:
        self.base = base
        self.overrides: dict[str, Any] = {"web_dir": web_dir}
        settings = make_settings(base, **self.overrides)
        url = f"http://{settings.host}:{settings.port}"
        super().__init__(settings, url, httpx.AsyncClient(base_url=url, timeout=10))
        self.log_path = base / "nexus.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def workspace_root(self) -> Path:
        return self.settings.workspace_root

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def configure(self, **overrides: Any) -> None:
        """Change settings (`model_fast="openai:m"`, …) for the next `start` or `restart`;
        port, workspace root and data dir stay."""
        self.overrides.update(overrides)
        self.settings = make_settings(self.base, port=self.settings.port, **self.overrides)

    def _environment(self) -> dict[str, str]:
        """Exactly `self.settings` (from `make_settings`, as the in-process servers of the other
        tests get theirs): the server's cwd is `base`, so no `.env` adds to it."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("NEXUS_")}
        for name in sorted(self.settings.model_fields_set):
            value = getattr(self.settings, name)
            if value is not None:
                env[f"NEXUS_{name.upper()}"] = _env_value(value)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def start(self) -> None:
        assert not self.running, "already running"
        self.process = self._spawn()
        try:
            await self._wait_healthy()
        except BaseException:
            await self.kill()
            raise

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                cwd=self.base,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: `kill` takes its children too
            )

    async def _wait_healthy(self, timeout: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"nexus serve exited with {self.process.returncode} while starting")
            try:
                if (await self.http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        self._fail(f"nexus serve did not answer /healthz within {timeout:.0f} s")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def _fail(self, message: str) -> None:
        tail = self.log_tail()
        print(f"{message}; the end of {self.log_path}:\n{tail}", file=sys.stderr)
        pytest.fail(f"{message}; the end of {self.log_path}:\n{tail}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def stop(self, timeout: float = 20) -> None:
        """SIGTERM, as a supervisor stops it, and wait for the graceful shutdown."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, timeout)
            except subprocess.TimeoutExpired:
                print(f"nexus serve ignored SIGTERM for {timeout} s; killing it", file=sys.stderr)
        await self.kill()  # whatever is left: the server, or children it left behind

    async def kill(self) -> None:
        """SIGKILL the server and its process group: a crash, no shutdown code runs."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        await asyncio.to_thread(self.process.wait)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        await self.stop()
        await self.http.aclose()
