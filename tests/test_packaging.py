"""Packaging and docs: the compose file is valid, the README keeps up with the settings,
and the `nexus serve` flags match the documented contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import Settings
from tests._backing import missing

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        missing("docker-compose")
    env = {**os.environ, "NEXUS_ADMIN_TOKEN": "test-admin-token"}
    return subprocess.run(
        [str(binary), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def compose_config() -> dict[str, Any]:
    """The compose file as docker-compose resolves it (interpolated, anchors merged)."""
    result = _docker_compose("config")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert isinstance(config, dict)
    return config


def test_docker_compose_accepts_the_file() -> None:
    result = _docker_compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_an_admin_token() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        missing("docker-compose")
    env = {key: value for key, value in os.environ.items() if key != "NEXUS_ADMIN_TOKEN"}
    result = subprocess.run(
        [str(binary), "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "admin token" in result.stderr


def test_compose_wires_nexus_to_postgres_redis_and_qdrant(compose_config: dict[str, Any]) -> None:
    services = compose_config["services"]
    assert {"nexus", "postgres", "redis", "qdrant"} <= set(services)
    nexus = services["nexus"]
    env = nexus["environment"]
    assert env["NEXUS_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["NEXUS_DATABASE_URL"]
    assert env["NEXUS_REDIS_URL"].startswith("redis://redis:6379")
    assert env["NEXUS_QDRANT_URL"] == "http://qdrant:6333"
    assert env["NEXUS_HOST"] == "0.0.0.0"
    assert env["NEXUS_ADMIN_TOKEN"] == "test-admin-token"
    assert nexus["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert nexus["depends_on"]["redis"]["condition"] == "service_healthy"
    assert any(str(port.get("published")) == "8000" for port in nexus["ports"])
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["redis"]


@pytest.mark.unit
def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [
        f"NEXUS_{name.upper()}"
        for name in Settings.model_fields
        if f"`NEXUS_{name.upper()}`" not in readme
    ]
    assert not undocumented, f"README.md lacks {', '.join(undocumented)}"


def test_serve_help_lists_the_workspace_root_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--workspace-root" in result.stdout
