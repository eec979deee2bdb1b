"""API keys scoped to one workspace and a role, and limited in requests per minute."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from tests._client import Inbox, command_ack, join
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_key(nexus: RunningServer, token: str, **scope: Any) -> httpx.Response:
    return await nexus.http.post(
        "/api/v1/auth/tokens", json={"name": "automation", **scope}, headers=bearer(token)
    )


async def scoped_key(nexus: RunningServer, token: str, **scope: Any) -> str:
    created = await new_key(nexus, token, **scope)
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


async def write_file(nexus: RunningServer, token: str, workspace: str) -> httpx.Response:
    return await nexus.http.put(
        f"/api/v1/workspaces/{workspace}/files/notes.txt", content=b"hi", headers=bearer(token)
    )


async def test_a_viewer_scoped_key_reads_but_cannot_write(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    workspace = (await nexus.create_workspace(alice, "demo"))["id"]
    assert (await write_file(nexus, alice, workspace)).status_code in (200, 201)

    created = await new_key(nexus, alice, workspace=workspace, role="viewer")
    assert created.status_code == 201, created.text
    info = created.json()["info"]
    assert (info["kind"], info["workspace"], info["role"]) == ("api_key", workspace, "viewer")
    key = created.json()["token"]
    listed = (await nexus.http.get("/api/v1/auth/tokens", headers=bearer(alice))).json()
    assert [(t["workspace"], t["role"]) for t in listed if t["kind"] == "api_key"] == [
        (workspace, "viewer")
    ]

    # Alice owns the workspace, but the key acts as a viewer: reads work, writes do not.
    read = await nexus.http.get(
        f"/api/v1/workspaces/{workspace}/files/notes.txt", headers=bearer(key)
    )
    assert read.status_code == 200 and read.text == "hi"
    refused = await write_file(nexus, key, workspace)
    assert refused.status_code == 403, refused.text
    assert "limited to viewer" in refused.json()["error"]["message"]
    member = await nexus.http.post(
        f"/api/v1/workspaces/{workspace}/members",
        json={"username": "alice", "role": "editor"},
        headers=bearer(key),
    )
    assert member.status_code == 403

    # The same cap holds over Socket.IO, which goes through the same access check.
    client = await nexus.socket(key)
    try:
        joined = await join(client, workspace)
        assert joined["role"] == "viewer"
        ack = await command_ack(
            client, workspace, "files.write", {"path": "notes.txt", "content": "changed"}
        )
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
        opened = await client.call("terminal:open", {"workspace": workspace}, timeout=10)
        assert opened["ok"] is False and opened["error"]["code"] == "forbidden", opened
    finally:
        await client.disconnect()
    on_disk = await nexus.http.get(
        f"/api/v1/workspaces/{workspace}/files/notes.txt", headers=bearer(alice)
    )
    assert on_disk.text == "hi"


async def test_a_workspace_scoped_key_sees_only_its_workspace(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    mine = (await nexus.create_workspace(alice, "mine"))["id"]
    other = (await nexus.create_workspace(alice, "other"))["id"]
    key = await scoped_key(nexus, alice, workspace=mine)

    listed = (await nexus.http.get("/api/v1/workspaces", headers=bearer(key))).json()
    assert [w["id"] for w in listed] == [mine]
    # Within its workspace the key has alice's role (owner): it may write.
    assert (await write_file(nexus, key, mine)).status_code in (200, 201)
    # Another workspace answers exactly as one that does not exist.
    hidden = await nexus.http.get(f"/api/v1/workspaces/{other}", headers=bearer(key))
    unknown = await nexus.http.get("/api/v1/workspaces/nosuchworkspace", headers=bearer(key))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
    assert (await write_file(nexus, key, other)).status_code == 404
    command = await nexus.http.post(
        "/api/v1/commands/files.list", json={"workspace": other, "args": {}}, headers=bearer(key)
    )
    assert command.status_code == 404
    made = await nexus.http.post("/api/v1/workspaces", json={"name": "x"}, headers=bearer(key))
    assert made.status_code == 403

    # A scoped key cannot mint a wider key: not unscoped, not for another workspace.
    wider = await new_key(nexus, key, workspace=other)
    assert wider.status_code == 404
    inherited = await new_key(nexus, key)
    assert inherited.status_code == 201 and inherited.json()["info"]["workspace"] == mine

    client = await nexus.socket(key)
    try:
        refused = await client.call("workspace:join", {"workspace": other}, timeout=10)
        assert refused["ok"] is False and refused["error"]["code"] == "not_found"
        await join(client, mine)
    finally:
        await client.disconnect()


async def test_scoped_keys_are_made_only_by_those_with_the_role(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    bob = await nexus.create_user("bob")
    workspace = (await nexus.create_workspace(alice, "demo"))["id"]
    await nexus.add_member(alice, workspace, "bob", "editor")

    assert (await new_key(nexus, bob, workspace=workspace, role="editor")).status_code == 201
    assert (await new_key(nexus, bob, workspace=workspace, role="owner")).status_code == 403
    carol = await nexus.create_user("carol")  # not a member at all
    assert (await new_key(nexus, carol, workspace=workspace)).status_code == 403
    bad_role = await new_key(nexus, alice, workspace=workspace, role="superuser")
    assert bad_role.status_code == 422

    # An admin's scoped key is capped too: no admin powers, only its role.
    admin_key = await scoped_key(nexus, ADMIN_TOKEN, workspace=workspace, role="viewer")
    users = await nexus.http.get("/api/v1/users", headers=bearer(admin_key))
    assert users.status_code == 403
    assert (await write_file(nexus, admin_key, workspace)).status_code == 403
    # A key capped at a role without a workspace is capped in every workspace.
    reader = await scoped_key(nexus, alice, role="viewer")
    assert (await write_file(nexus, reader, workspace)).status_code == 403


async def test_a_promotion_does_not_lift_a_joined_key_over_its_cap(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    bob = await nexus.create_user("bob")
    workspace = (await nexus.create_workspace(alice, "demo"))["id"]
    await nexus.add_member(alice, workspace, "bob", "viewer")
    key = await scoped_key(nexus, bob, workspace=workspace, role="viewer")
    client = await nexus.socket(key)
    try:
        inbox = Inbox(client, "workspace:role")
        await join(client, workspace)
        await nexus.add_member(alice, workspace, "bob", "owner")
        assert (await inbox.wait_for("workspace:role"))["role"] == "viewer"
        ack = await command_ack(client, workspace, "files.write", {"path": "x.txt", "content": ""})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack
    finally:
        await client.disconnect()


async def socket_refusal(url: str, token: str) -> Any:
    """What a refused Socket.IO connection was told."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    return errors[0]


async def test_api_keys_are_rate_limited_sessions_are_not(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path, api_key_requests_per_minute=5)) as nexus:
        alice = await nexus.create_user("alice")
        key = await scoped_key(nexus, alice)
        for _ in range(5):
            assert (await nexus.http.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200
        limited = await nexus.http.get("/api/v1/auth/me", headers=bearer(key))
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        refusal = await socket_refusal(nexus.url, key)
        assert refusal["data"] == {"code": "rate_limited"}
        # Another key of the same user and the user's own session are not held back.
        other = await scoped_key(nexus, alice)
        assert (await nexus.http.get("/api/v1/auth/me", headers=bearer(other))).status_code == 200
        for _ in range(10):
            me = await nexus.http.get("/api/v1/auth/me", headers=bearer(alice))
            assert me.status_code == 200


@contextlib.asynccontextmanager
async def two_nodes(tmp_path: Path, redis_url: str, **overrides: Any) -> Any:
    """Two servers sharing one database and one Redis, in this event loop."""
    shared = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}",
        "redis_url": redis_url,
    }
    first = make_settings(tmp_path, data_dir=tmp_path / "a", **shared, **overrides)
    second = make_settings(tmp_path, data_dir=tmp_path / "b", **shared, **overrides)
    async with serve(first) as node_a, serve(second) as node_b:
        yield node_a, node_b


@pytest.mark.timeout(120)
async def test_the_limit_is_shared_by_nodes_through_redis(tmp_path: Path, redis_url: str) -> None:
    async with two_nodes(tmp_path, redis_url, api_key_requests_per_minute=6) as (a, b):
        alice = await a.create_user("alice")
        key = await scoped_key(a, alice)
        for node in (a, b, a, b, a, b):
            assert (await node.http.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200
        for node in (a, b):
            limited = await node.http.get("/api/v1/auth/me", headers=bearer(key))
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
