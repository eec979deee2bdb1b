"""Settings from environment variables and `nexus serve` flags; the origin policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.auth import OriginPolicy
from server.cli import _settings, main
from server.config import Settings

pytestmark = pytest.mark.unit  # starts no server, database or other process


def test_defaults_work_on_one_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"NEXUS_{name.upper()}", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("/.nexus/nexus.db")
    assert settings.redis_url is None and settings.admin_token is None
    assert settings.resolved_qdrant_path == Path(".nexus/qdrant")


def test_environment_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_PORT", "9000")
    monkeypatch.setenv("NEXUS_ALLOWED_ORIGINS", "https://ide.example.com/, http://a.test")
    monkeypatch.setenv("NEXUS_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert Settings().allowed_origins == ["https://ide.example.com", "http://a.test"]
    assert Settings().port == 9000

    import argparse

    args = argparse.Namespace(port="9100", workspace_root="/srv/ws", host=None)
    settings = _settings(args)
    assert settings.port == 9100  # the flag wins over the environment
    assert settings.workspace_root == Path("/srv/ws")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_bad_settings_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", "not-a-port"])
    assert exit_.value.code == 2
    assert "port" in capsys.readouterr().err


def test_origin_policy() -> None:
    default = OriginPolicy([], "http://127.0.0.1:8000")
    assert default.allows(None)  # not a browser
    assert default.allows("http://127.0.0.1:8000")
    assert default.allows("http://localhost:5173")
    assert default.allows("https://ide.example.com", host="ide.example.com")  # our own page
    assert not default.allows("https://evil.example", host="ide.example.com")
    explicit = OriginPolicy(["https://ide.example.com"], "http://127.0.0.1:8000")
    assert explicit.allows("https://ide.example.com/")
    assert not explicit.allows("http://localhost:5173")
