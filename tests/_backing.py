"""Real PostgreSQL and Redis servers for the tests, started on loopback in temp dirs."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {port}")


def missing(what: str) -> None:
    """Fail in CI (make test installs everything); skip with the reason elsewhere."""
    message = f"{what} is not installed; `make test` installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Postgres:
    def __init__(self, base: Path) -> None:
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bindirs:
            missing("PostgreSQL")
        self.bindir = Path(bindirs[-1])
        self.base = base
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def _service_user() -> str:
        """PostgreSQL refuses to run as root; the Debian package's `postgres` user, else
        `nobody`."""
        try:
            pwd.getpwnam("postgres")
            return "postgres"
        except KeyError:
            return "nobody"

    def _as_postgres(self, argv: list[str]) -> list[str]:
        if os.getuid() != 0:
            return argv
        return ["runuser", "-u", self._service_user(), "--", *argv]

    def start(self) -> None:
        data = self.base / "data"
        self.base.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            record = pwd.getpwnam(self._service_user())
            os.chown(self.base, record.pw_uid, record.pw_gid)
        subprocess.run(
            self._as_postgres(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.process = subprocess.Popen(
            self._as_postgres(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.base),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process, "postgres")
        deadline = time.monotonic() + 30
        while self.psql("SELECT 1").returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("postgres never accepted queries")
            time.sleep(0.1)

    def psql(self, sql: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ],
            capture_output=True,
        )

    def create_database(self, name: str) -> str:
        result = self.psql(f'CREATE DATABASE "{name}"')
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode())
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)


class Redis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("Redis")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
