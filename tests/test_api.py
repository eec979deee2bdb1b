"""The REST API as a client sees it: users, login, tokens, workspaces, members, errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from server.storage import TokenStore, create_engine
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_health_metrics_and_openapi(nexus: RunningServer) -> None:
    health = await nexus.http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = await nexus.http.get("/readyz")  # nothing warms up here: no speech model preload
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready",
        "warming": [],
        "sandbox": health.json()["sandbox"],
    }
    # This machine has bubblewrap (make test installs it): workspaces are sealed.
    assert health.json()["sandbox"] == {"sealed": True, "detail": "bubblewrap"}
    metrics = await nexus.http.get("/metrics")
    assert metrics.status_code == 200
    assert "nexus_http_requests_total" in metrics.text
    spec = (await nexus.http.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    login_schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(login_schema["required"]) == {"username", "password"}
    assert "/api/v1/workspaces/{workspace_id}/members" in spec["paths"]
    assert "/api/v1/commands/{command_id}" in spec["paths"]


async def test_user_login_workspace_and_members(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    await nexus.create_user("bob")
    me = await nexus.http.get("/api/v1/auth/me", headers=bearer(alice))
    assert me.json()["username"] == "alice" and me.json()["is_admin"] is False

    workspace = await nexus.create_workspace(alice, "project-one")
    assert workspace["name"] == "project-one"
    path = Path(workspace["path"])
    assert path.is_dir() and path.parent == nexus.settings.workspace_root.resolve()

    added = await nexus.http.post(
        f"/api/v1/workspaces/{workspace['id']}/members",
        json={"username": "bob", "role": "viewer"},
        headers=bearer(alice),
    )
    assert added.status_code == 201 and added.json()["role"] == "viewer"
    members = await nexus.http.get(
        f"/api/v1/workspaces/{workspace['id']}/members", headers=bearer(alice)
    )
    assert {(m["username"], m["role"]) for m in members.json()} == {
        ("alice", "owner"),
        ("bob", "viewer"),
    }
    listed = await nexus.http.get("/api/v1/workspaces", headers=bearer(alice))
    assert [w["id"] for w in listed.json()] == [workspace["id"]]


async def test_roles_are_enforced(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    bob = await nexus.create_user("bob")
    carol = await nexus.create_user("carol")
    workspace = await nexus.create_workspace(alice)
    await nexus.add_member(alice, workspace["id"], "bob", "viewer")
    members_url = f"/api/v1/workspaces/{workspace['id']}/members"

    # A viewer cannot invite; an outsider cannot even read.
    refused = await nexus.http.post(
        members_url, json={"username": "carol", "role": "editor"}, headers=bearer(bob)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    outsider = await nexus.http.get(members_url, headers=bearer(carol))
    assert outsider.status_code == 403
    # Non-admins cannot create users.
    user = await nexus.http.post(
        "/api/v1/users", json={"username": "eve", "password": "12345678"}, headers=bearer(bob)
    )
    assert user.status_code == 403
    # The last owner cannot be demoted or removed.
    demote = await nexus.http.post(
        members_url, json={"username": "alice", "role": "editor"}, headers=bearer(alice)
    )
    assert demote.status_code == 409
    remove = await nexus.http.delete(f"{members_url}/alice", headers=bearer(alice))
    assert remove.status_code == 409
    # Promoting bob then lets alice step down.
    await nexus.add_member(alice, workspace["id"], "bob", "owner")
    assert (
        await nexus.http.delete(f"{members_url}/alice", headers=bearer(alice))
    ).status_code == 204


async def test_unknown_workspace_is_404(nexus: RunningServer) -> None:
    response = await nexus.http.get("/api/v1/workspaces/nope/members", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_bad_tokens_are_401(nexus: RunningServer, tmp_path: Path) -> None:
    missing = await nexus.http.get("/api/v1/auth/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await nexus.http.get("/api/v1/auth/me", headers=bearer("nx_not-a-token"))
    assert wrong.status_code == 401
    malformed = await nexus.http.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert malformed.status_code == 401

    token = await nexus.create_user("alice")
    assert (await nexus.http.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 204
    revoked = await nexus.http.get("/api/v1/auth/me", headers=bearer(token))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]

    # A token whose lifetime has passed.
    engine = create_engine(nexus.settings.resolved_database_url)
    try:
        user_id = (await nexus.http.get("/api/v1/users", headers=ADMIN)).json()[-1]["id"]
        expired, _ = await TokenStore(engine).issue(
            user_id, kind="session", ttl=timedelta(seconds=-1)
        )
    finally:
        await engine.dispose()
    response = await nexus.http.get("/api/v1/auth/me", headers=bearer(expired))
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


async def test_api_keys_can_be_listed_and_revoked(nexus: RunningServer) -> None:
    token = await nexus.create_user("alice")
    created = await nexus.http.post(
        "/api/v1/auth/tokens", json={"name": "ci", "expires_in_days": 30}, headers=bearer(token)
    )
    assert created.status_code == 201
    key, info = created.json()["token"], created.json()["info"]
    assert (await nexus.http.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200
    listed = await nexus.http.get("/api/v1/auth/tokens", headers=bearer(token))
    assert {t["kind"] for t in listed.json()} == {"session", "api_key"}
    assert all("token" not in t for t in listed.json())
    revoked = await nexus.http.delete(f"/api/v1/auth/tokens/{info['id']}", headers=bearer(token))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await nexus.http.get("/api/v1/auth/me", headers=bearer(key))).status_code == 401


async def test_login_failures_and_rate_limit(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path, login_attempts_per_minute=3)) as nexus:
        await nexus.http.post(
            "/api/v1/users", json={"username": "alice", "password": "right-password"}, headers=ADMIN
        )
        for _ in range(2):
            wrong = await nexus.http.post(
                "/api/v1/auth/login", json={"username": "alice", "password": "wrong-password"}
            )
            assert wrong.status_code == 401
        unknown = await nexus.http.post(
            "/api/v1/auth/login", json={"username": "nobody", "password": "whatever1"}
        )
        assert unknown.status_code == 401
        assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
        # The client address has used its attempts: even the right password waits.
        limited = await nexus.http.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "right-password"}
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1


async def test_bad_input_is_rejected_and_changes_nothing(nexus: RunningServer) -> None:
    before = (await nexus.http.get("/api/v1/users", headers=ADMIN)).json()

    malformed = await nexus.http.post(
        "/api/v1/users",
        content=b'{"username": "x",',
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 422
    assert "malformed JSON" in malformed.json()["error"]["message"]

    unknown_field = await nexus.http.post(
        "/api/v1/users",
        json={"username": "mallory", "password": "12345678", "role": "god"},
        headers=ADMIN,
    )
    assert unknown_field.status_code == 422
    assert "role" in unknown_field.json()["error"]["message"]

    wrong_type = await nexus.http.post(
        "/api/v1/users", json={"username": "mallory", "password": 12345678}, headers=ADMIN
    )
    assert wrong_type.status_code == 422
    assert "password" in wrong_type.json()["error"]["message"]

    huge = await nexus.http.post(
        "/api/v1/users",
        json={"username": "mallory", "password": "x" * (nexus.settings.max_body_bytes + 1)},
        headers=ADMIN,
    )
    assert huge.status_code == 413

    bad_name = await nexus.http.post(
        "/api/v1/workspaces", json={"name": "../escape"}, headers=ADMIN
    )
    assert bad_name.status_code == 422
    assert not (nexus.settings.workspace_root.parent / "escape").exists()

    assert (await nexus.http.get("/api/v1/users", headers=ADMIN)).json() == before
    assert (await nexus.http.get("/api/v1/workspaces", headers=ADMIN)).json() == []


async def test_duplicate_names_conflict(nexus: RunningServer) -> None:
    token = await nexus.create_user("alice")
    duplicate = await nexus.http.post(
        "/api/v1/users", json={"username": "alice", "password": "another-one"}, headers=ADMIN
    )
    assert duplicate.status_code == 409
    await nexus.create_workspace(token, "shared")
    again = await nexus.http.post("/api/v1/workspaces", json={"name": "shared"}, headers=ADMIN)
    assert again.status_code == 409


async def test_commands_over_rest_are_checked_and_audited(nexus: RunningServer) -> None:
    alice = await nexus.create_user("alice")
    bob = await nexus.create_user("bob")
    workspace = await nexus.create_workspace(alice)
    await nexus.add_member(alice, workspace["id"], "bob", "viewer")

    listed = await nexus.http.get("/api/v1/commands", headers=bearer(bob))
    commands = {c["id"]: c for c in listed.json()}
    assert commands["workspace.setMember"]["role"] == "owner"
    assert commands["workspace.setMember"]["args_schema"]["required"] == ["username", "role"]

    members = await nexus.http.post(
        "/api/v1/commands/workspace.members",
        json={"workspace": workspace["id"]},
        headers=bearer(bob),
    )
    assert members.status_code == 200
    assert {m["username"] for m in members.json()["result"]} == {"alice", "bob"}

    refused = await nexus.http.post(
        "/api/v1/commands/workspace.setMember",
        json={"workspace": workspace["id"], "args": {"username": "bob", "role": "owner"}},
        headers=bearer(bob),
    )
    assert refused.status_code == 403
    bad_args = await nexus.http.post(
        "/api/v1/commands/workspace.setMember",
        json={"workspace": workspace["id"], "args": {"username": "bob", "role": "king"}},
        headers=bearer(alice),
    )
    assert bad_args.status_code == 422 and "role" in bad_args.json()["error"]["message"]
    unknown = await nexus.http.post(
        "/api/v1/commands/no.such", json={"workspace": workspace["id"]}, headers=bearer(alice)
    )
    assert unknown.status_code == 404

    promoted = await nexus.http.post(
        "/api/v1/commands/workspace.setMember",
        json={"workspace": workspace["id"], "args": {"username": "bob", "role": "editor"}},
        headers=bearer(alice),
    )
    assert promoted.status_code == 200 and promoted.json()["result"]["role"] == "editor"

    audit = await nexus.http.get(
        f"/api/v1/workspaces/{workspace['id']}/audit", headers=bearer(alice)
    )
    actions = [(entry["action"], entry["username"], entry["ok"]) for entry in audit.json()]
    # Executions are audited; rejected calls (403, 422, 404) are not.
    assert ("command:workspace.members", "bob", True) in actions
    assert ("command:workspace.setMember", "alice", True) in actions
    assert [a for a in actions if a[0] == "command:workspace.setMember"] == [
        ("command:workspace.setMember", "alice", True)
    ]


async def test_a_workspace_cannot_adopt_a_symlink_leading_outside(nexus: RunningServer) -> None:
    root = nexus.settings.workspace_root
    outside = root.parent / "outside"
    outside.mkdir()
    (root / "sneaky").symlink_to(outside)
    response = await nexus.http.post("/api/v1/workspaces", json={"name": "sneaky"}, headers=ADMIN)
    assert response.status_code == 403
    assert (await nexus.http.get("/api/v1/workspaces", headers=ADMIN)).json() == []
    # An ordinary folder already on disk is adopted as it is.
    (root / "existing").mkdir()
    (root / "existing" / "main.py").write_text("print('hi')\n")
    adopted = await nexus.http.post("/api/v1/workspaces", json={"name": "existing"}, headers=ADMIN)
    assert adopted.status_code == 201
    assert (Path(adopted.json()["path"]) / "main.py").read_text() == "print('hi')\n"
