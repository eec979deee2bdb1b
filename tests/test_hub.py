"""The Socket.IO hub with real python-socketio clients: auth, rooms, presence, commands."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from tests._client import Inbox, command_ack, execute, usernames
from tests.conftest import ADMIN_TOKEN, RunningServer


async def test_connect_needs_a_valid_token(nexus: RunningServer) -> None:
    for auth, reason in ((None, "a token is required"), ("nx_wrong", "unknown token")):
        client = socketio.AsyncClient(reconnection=False)
        errors: list[Any] = []
        client.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                nexus.url, auth={"token": auth} if auth else None, transports=["websocket"]
            )
        assert errors == [{"message": reason, "data": {"code": "unauthorized"}}]
    client = await nexus.socket(ADMIN_TOKEN)
    assert client.connected
    await client.disconnect()


async def test_foreign_origins_are_refused(nexus: RunningServer) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await nexus.socket(ADMIN_TOKEN, headers={"Origin": "https://evil.example"})
    local = await nexus.socket(ADMIN_TOKEN, headers={"Origin": "http://localhost:5173"})
    assert local.connected
    await local.disconnect()


async def test_join_presence_broadcast_and_leave(nexus: RunningServer) -> None:
    alice_token = await nexus.create_user("alice")
    bob_token = await nexus.create_user("bob")
    workspace = await nexus.create_workspace(alice_token)
    await nexus.add_member(alice_token, workspace["id"], "bob", "viewer")

    alice = await nexus.socket(alice_token)
    alice_inbox = Inbox(alice, "presence", "workspace:message")
    joined = await alice.call("workspace:join", {"workspace": workspace["id"]})
    assert joined["ok"] and joined["result"]["role"] == "owner"
    assert usernames({"users": joined["result"]["presence"]}) == {"alice"}

    bob = await nexus.socket(bob_token)
    bob_inbox = Inbox(bob, "presence", "workspace:message")
    joined = await bob.call("workspace:join", {"workspace": workspace["id"]})
    assert joined["ok"] and joined["result"]["role"] == "viewer"
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice", "bob"})

    sent = await bob.call(
        "workspace:broadcast", {"workspace": workspace["id"], "topic": "ping", "data": {"x": 1}}
    )
    assert sent["ok"]
    message = await alice_inbox.wait_for("workspace:message")
    assert message == {
        "workspace": workspace["id"],
        "topic": "ping",
        "from": "bob",
        "data": {"x": 1},
    }

    left = await bob.call("workspace:leave", {"workspace": workspace["id"]})
    assert left["ok"]
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice"})
    # After leaving, bob no longer gets the room's messages.
    await alice.call("workspace:broadcast", {"workspace": workspace["id"], "data": "after"})
    await alice_inbox.wait_for("workspace:message", lambda m: m["data"] == "after")
    await asyncio.sleep(0.1)  # a window for a stray delivery to bob: proving an absence
    assert not any(
        m[1]["data"] == "after" for m in bob_inbox.received if m[0] == "workspace:message"
    )

    await bob.call("workspace:join", {"workspace": workspace["id"]})
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice", "bob"})
    await bob.disconnect()
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice"})
    await alice.disconnect()


async def test_two_tabs_of_one_user_count_as_two_connections(nexus: RunningServer) -> None:
    token = await nexus.create_user("alice")
    workspace = await nexus.create_workspace(token)
    first, second = await nexus.socket(token), await nexus.socket(token)
    await first.call("workspace:join", {"workspace": workspace["id"]})
    joined = await second.call("workspace:join", {"workspace": workspace["id"]})
    assert joined["result"]["presence"] == [
        {
            "user_id": joined["result"]["presence"][0]["user_id"],
            "username": "alice",
            "role": "owner",
            "connections": 2,
        }
    ]
    listed = await nexus.http.get(
        f"/api/v1/workspaces/{workspace['id']}/presence", headers=nexus.headers(token)
    )
    assert listed.json()[0]["connections"] == 2
    await first.disconnect()
    await second.disconnect()


async def test_joining_needs_membership(nexus: RunningServer) -> None:
    alice_token = await nexus.create_user("alice")
    mallory_token = await nexus.create_user("mallory")
    workspace = await nexus.create_workspace(alice_token)
    mallory = await nexus.socket(mallory_token)
    refused = await mallory.call("workspace:join", {"workspace": workspace["id"]})
    assert refused == {
        "ok": False,
        "error": {"code": "forbidden", "message": refused["error"]["message"]},
    }
    unknown = await mallory.call("workspace:join", {"workspace": "does-not-exist"})
    assert unknown["error"]["code"] == "not_found"
    # Not joined: cannot broadcast into the room either.
    sneaky = await mallory.call("workspace:broadcast", {"workspace": workspace["id"], "data": 1})
    assert sneaky["error"]["code"] == "forbidden"
    assert mallory.connected
    await mallory.disconnect()


async def test_bad_payloads_get_error_acks_and_the_connection_survives(
    nexus: RunningServer,
) -> None:
    client = await nexus.socket(ADMIN_TOKEN)
    cases = [
        (None, "valid dictionary"),
        ("text", "valid dictionary"),
        ({"workspace": 5}, "workspace: Input should be a valid string"),
        ({"workspace": "w", "extra": True}, "extra: Extra inputs are not permitted"),
        ({}, "workspace: Field required"),
    ]
    for payload, message in cases:
        ack = await client.call("workspace:join", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid"
        assert message in ack["error"]["message"]
    ack = await client.call("command:execute", {"workspace": "w"})
    assert ack["ok"] is False and "command" in ack["error"]["message"]
    assert client.connected
    ok = await client.call("command:execute", {"workspace": "nope", "command": "workspace.info"})
    assert ok["error"]["code"] == "not_found"
    await client.disconnect()


async def test_commands_over_the_socket_use_the_callers_role(nexus: RunningServer) -> None:
    alice_token = await nexus.create_user("alice")
    bob_token = await nexus.create_user("bob")
    await nexus.create_user("carol")
    workspace = await nexus.create_workspace(alice_token)
    await nexus.add_member(alice_token, workspace["id"], "bob", "viewer")
    bob = await nexus.socket(bob_token)

    info = await execute(bob, workspace["id"], "workspace.info")
    assert info["role"] == "viewer"
    refused = await command_ack(
        bob, workspace["id"], "workspace.setMember", {"username": "carol", "role": "editor"}
    )
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    members = await nexus.http.get(
        f"/api/v1/workspaces/{workspace['id']}/members", headers=nexus.headers(alice_token)
    )
    assert "carol" not in {m["username"] for m in members.json()}
    audit = await nexus.http.get(
        f"/api/v1/workspaces/{workspace['id']}/audit", headers=nexus.headers(alice_token)
    )
    socket_entries = [e for e in audit.json() if e["source"] == "socket"]
    assert [e["action"] for e in socket_entries] == ["command:workspace.info"]
    assert socket_entries[0]["username"] == "bob" and socket_entries[0]["request_id"]
    await bob.disconnect()


async def test_a_removed_member_is_taken_out_of_the_room(nexus: RunningServer) -> None:
    alice_token = await nexus.create_user("alice")
    bob_token = await nexus.create_user("bob")
    workspace = await nexus.create_workspace(alice_token)
    await nexus.add_member(alice_token, workspace["id"], "bob", "editor")
    alice = await nexus.socket(alice_token)
    alice_inbox = Inbox(alice, "presence")
    bob = await nexus.socket(bob_token)
    bob_inbox = Inbox(bob, "workspace:removed", "workspace:role")
    await alice.call("workspace:join", {"workspace": workspace["id"]})
    await bob.call("workspace:join", {"workspace": workspace["id"]})

    await nexus.add_member(alice_token, workspace["id"], "bob", "viewer")
    role = await bob_inbox.wait_for("workspace:role")
    assert role == {"workspace": workspace["id"], "role": "viewer"}

    removed = await nexus.http.delete(
        f"/api/v1/workspaces/{workspace['id']}/members/bob", headers=nexus.headers(alice_token)
    )
    assert removed.status_code == 204
    await bob_inbox.wait_for("workspace:removed")
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice"})
    after = await bob.call("workspace:broadcast", {"workspace": workspace["id"], "data": 1})
    assert after["error"]["code"] == "forbidden"
    await alice.disconnect()
    await bob.disconnect()
