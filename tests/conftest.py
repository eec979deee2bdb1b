"""Shared fixtures: real PostgreSQL and Redis, and a real NEXUS server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import socketio
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app import create_app
from server.config import Settings
from server.storage import create_engine, migrate
from tests._backing import Postgres, Redis, free_port
from tests._fake_llm import FakeLLM
from tests._receiver import Receiver, start_receiver

ADMIN_TOKEN = "test-admin-token-0123456789"
_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres(Path(tempfile.mkdtemp(prefix="nexus-pg-")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = Redis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: Redis) -> str:
    """The session's Redis, emptied for this test."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def postgres_url(postgres: Postgres) -> str:
    return postgres.create_database(f"nexus_test_{next(_databases)}")


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.unit), "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on both databases (on SQLite it is a unit test: a file)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database of either kind (see `database_url`)."""
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


# What a `unit` test may not use: each starts a server or another process.
SERVER_FIXTURES = {"nexus", "postgres", "postgres_url", "redis_server", "redis_url", "fake"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the unit tier honest: a test marked `unit` that asks for a server fails."""
    for item in items:
        if item.get_closest_marker("unit") is None:
            continue
        used = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used:
            raise pytest.UsageError(f"{item.nodeid} is marked unit but uses {sorted(used)}")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "workspace_root": tmp_path / "workspaces",
        "data_dir": tmp_path / "data",
        "admin_token": ADMIN_TOKEN,
        "log_level": "warning",
        "voice_preload": False,  # the speech model costs CPU seconds; voice tests ask for it
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class RunningServer:
    settings: Settings
    url: str
    http: httpx.AsyncClient

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def create_user(self, username: str, password: str = "correct horse") -> str:
        """Create a user as admin and log in; returns the user's token."""
        response = await self.http.post(
            "/api/v1/users",
            json={"username": username, "password": password},
            headers=self.headers(ADMIN_TOKEN),
        )
        assert response.status_code == 201, response.text
        login = await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert login.status_code == 200, login.text
        return str(login.json()["token"])

    async def create_workspace(self, token: str, name: str = "demo") -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/workspaces", json={"name": name}, headers=self.headers(token)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def add_member(self, owner: str, workspace_id: str, username: str, role: str) -> None:
        response = await self.http.post(
            f"/api/v1/workspaces/{workspace_id}/members",
            json={"username": username, "role": role},
            headers=self.headers(owner),
        )
        assert response.status_code in (200, 201), response.text

    async def socket(self, token: str | None, **kwargs: Any) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            self.url,
            auth={"token": token} if token else None,
            transports=["websocket"],
            wait_timeout=5,
            **kwargs,
        )
        return client


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[RunningServer]:
    """A real uvicorn server running the NEXUS app in this event loop."""
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        lifespan="on",
        ws="websockets-sansio",
        ws_per_message_deflate=settings.ws_compression,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during startup")
            await asyncio.sleep(0.01)
    url = f"http://{settings.host}:{settings.port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield RunningServer(settings, url, http)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def nexus(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A NEXUS server with embedded defaults (SQLite, in-process bus)."""
    async with serve(make_settings(tmp_path)) as running:
        yield running


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    """A local server speaking Anthropic's and OpenAI's streaming wire formats."""
    server = FakeLLM()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback that records and verifies what it is sent."""
    async for running in start_receiver():
        yield running
