"""Extensions and webhooks against a real server and a real receiver on loopback: every
delivery's Standard Webhooks signature is checked by the receiver's own verifier."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests._receiver import Receiver, garbage_server, verify_signature
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

FAST = {"webhook_allowed_hosts": ["127.0.0.1"], "webhook_retry_scale": 0.001}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serve(make_settings(tmp_path, **FAST)) as running:
        yield running


async def owner_and_workspace(nexus: RunningServer, name: str = "hooks") -> tuple[str, str]:
    token = await nexus.create_user("alice")
    workspace = await nexus.create_workspace(token, name)
    return token, str(workspace["id"])


async def register(
    nexus: RunningServer, token: str, workspace: str | None, url: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": "ci", "webhook_url": url, "events": ["file.saved"], "commands": []}
    body.update(fields)
    if workspace is not None:
        body["workspace"] = workspace
    response = await nexus.http.post("/api/v1/extensions", json=body, headers=nexus.headers(token))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def save(nexus: RunningServer, token: str, workspace: str, path: str, text: str) -> float:
    """Write a file over REST; returns how long the call took (the producer's view)."""
    started = time.perf_counter()
    response = await nexus.http.put(
        f"/api/v1/workspaces/{workspace}/files/{path}",
        content=text.encode(),
        headers=nexus.headers(token),
    )
    assert response.status_code in (200, 201), response.text
    return time.perf_counter() - started


async def deliveries(nexus: RunningServer, token: str, extension: str) -> list[dict[str, Any]]:
    response = await nexus.http.get(
        f"/api/v1/extensions/{extension}/deliveries", headers=nexus.headers(token)
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def settled(nexus: RunningServer, token: str, extension: str, status: str) -> dict[str, Any]:
    """Wait until the newest delivery reaches `status`; returns it with its attempts."""
    async with asyncio.timeout(15):
        while True:
            found = await deliveries(nexus, token, extension)
            if found and found[0]["status"] == status:
                one = await nexus.http.get(
                    f"/api/v1/extensions/{extension}/deliveries/{found[0]['id']}",
                    headers=nexus.headers(token),
                )
                return dict(one.json())
            await asyncio.sleep(0.05)


async def first_attempt(nexus: RunningServer, token: str, extension: str) -> dict[str, Any]:
    """The first logged attempt of the extension's oldest delivery, once there is one."""
    async with asyncio.timeout(15):
        while True:
            found = await deliveries(nexus, token, extension)
            if found:
                one = await nexus.http.get(
                    f"/api/v1/extensions/{extension}/deliveries/{found[-1]['id']}",
                    headers=nexus.headers(token),
                )
                if one.json()["attempt_log"]:
                    return dict(one.json()["attempt_log"][0])
            await asyncio.sleep(0.05)


async def test_an_extension_receives_signed_events(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(
        server, token, workspace, receiver.url, events=["file.saved", "command.executed"]
    )
    assert set(created) == {"id", "secret"}
    assert 24 <= len(base64.b64decode(created["secret"].removeprefix("whsec_"))) <= 64

    await save(server, token, workspace, "src/app.py", "print('hi')\n")
    saved = (await receiver.wait_type("file.saved"))[0]
    verify_signature(created["secret"], saved.headers, saved.body)
    assert saved.headers["webhook-id"].startswith("msg_")
    assert set(saved.json) == {"type", "timestamp", "data"}
    assert saved.json["data"] == {"workspace": workspace, "path": "src/app.py", "source": "api"}

    ran = await server.http.post(
        "/api/v1/commands/files.list",
        json={"workspace": workspace, "args": {}},
        headers=server.headers(token),
    )
    assert ran.status_code == 200, ran.text
    executed = (await receiver.wait_type("command.executed"))[0]
    verify_signature(created["secret"], executed.headers, executed.body)
    assert executed.json["data"]["command"] == "files.list"
    assert executed.json["data"]["username"] == "alice"

    info = await server.http.get(
        f"/api/v1/extensions/{created['id']}", headers=server.headers(token)
    )
    assert info.json()["events"] == ["file.saved", "command.executed"]
    assert info.json()["secret"] is None and created["secret"] not in info.text
    log = await settled(server, token, created["id"], "succeeded")
    assert log["attempt_log"][0]["status_code"] == 200


async def test_a_refused_delivery_is_retried_with_the_same_id_and_a_fresh_timestamp(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url)
    receiver.replies.extend([(503, b"busy", {"Retry-After": "1"}, 0.0), (500, b"oops", {}, 0.0)])
    await save(server, token, workspace, "a.txt", "one")
    attempts = await receiver.wait_type("file.saved", count=3)
    for attempt in attempts:
        verify_signature(created["secret"], attempt.headers, attempt.body)
    assert len({a.headers["webhook-id"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    # Retry-After: 1 was honoured, so the second attempt is signed in a later second.
    assert attempts[1].at - attempts[0].at >= 0.9
    assert int(attempts[1].headers["webhook-timestamp"]) > int(
        attempts[0].headers["webhook-timestamp"]
    )
    log = await settled(server, token, created["id"], "succeeded")
    assert [a["status_code"] for a in log["attempt_log"]] == [503, 500, 200]
    assert log["attempt_log"][0]["response_excerpt"] == "busy"
    assert all(a["latency_ms"] >= 0 for a in log["attempt_log"])


async def test_redelivery_from_the_log(server: RunningServer, receiver: Receiver) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url)
    await save(server, token, workspace, "b.txt", "two")
    first = (await receiver.wait_type("file.saved"))[0]
    delivered = await settled(server, token, created["id"], "succeeded")
    again = await server.http.post(
        f"/api/v1/extensions/{created['id']}/deliveries/{delivered['id']}/redeliver",
        headers=server.headers(token),
    )
    assert again.status_code == 202, again.text
    second = (await receiver.wait_type("file.saved", count=2))[1]
    verify_signature(created["secret"], second.headers, second.body)
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    async with asyncio.timeout(10):
        while len((await settled(server, token, created["id"], "succeeded"))["attempt_log"]) < 2:
            await asyncio.sleep(0.05)
    missing = await server.http.post(
        f"/api/v1/extensions/{created['id']}/deliveries/msg_nope/redeliver",
        headers=server.headers(token),
    )
    assert missing.status_code == 404


async def test_410_disables_the_extension_until_enabled(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url)
    receiver.replies.append((410, b"gone", {}, 0.0))
    await save(server, token, workspace, "c.txt", "three")
    await settled(server, token, created["id"], "failed")
    info = (
        await server.http.get(f"/api/v1/extensions/{created['id']}", headers=server.headers(token))
    ).json()
    assert info["enabled"] is False and "410" in info["disabled_reason"]

    await save(server, token, workspace, "c.txt", "four")  # not delivered: disabled
    enabled = await server.http.patch(
        f"/api/v1/extensions/{created['id']}",
        json={"enabled": True},
        headers=server.headers(token),
    )
    assert enabled.status_code == 200 and enabled.json()["disabled_reason"] is None
    await save(server, token, workspace, "c.txt", "five")
    await receiver.wait_type("file.saved", count=2)
    assert len(receiver.of_type("file.saved")) == 2  # the 410 one and the one after enabling


async def test_garbage_and_silent_receivers_are_logged_failures_and_producers_carry_on(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = make_settings(tmp_path, **FAST, webhook_timeout_seconds=0.5)
    garbage, garbage_url = await garbage_server()
    async with serve(settings) as nexus, garbage:
        token, workspace = await owner_and_workspace(nexus)
        junk = await register(nexus, token, workspace, garbage_url, name="junk")
        slow = await register(nexus, token, workspace, receiver.url, name="slow")
        receiver.replies.extend([(200, b"late", {}, 3.0)] * 20)
        took = [await save(nexus, token, workspace, f"f{i}.txt", "x") for i in range(5)]
        assert max(took) < 0.5  # the receivers' trouble never reaches the writer
        junk_try = await first_attempt(nexus, token, junk["id"])
        assert junk_try["status_code"] is None and junk_try["error"], junk_try
        slow_try = await first_attempt(nexus, token, slow["id"])
        assert "within 0.5 s" in slow_try["error"], slow_try
        health = await nexus.http.get("/healthz")
        assert health.status_code == 200


async def test_bad_registrations_are_refused_clearly(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    headers = server.headers(token)

    async def refused(body: dict[str, Any], status: int, words: str) -> None:
        payload = {"name": "x", "webhook_url": receiver.url, "workspace": workspace, **body}
        response = await server.http.post("/api/v1/extensions", json=payload, headers=headers)
        assert response.status_code == status, response.text
        assert words in response.json()["error"]["message"], response.text

    await refused({"webhook_url": "http://169.254.169.254/latest/meta-data"}, 422, "link-local")
    await refused({"webhook_url": "http://10.0.0.8/hook"}, 422, "private")
    await refused({"webhook_url": "ftp://127.0.0.1/x"}, 422, "http and https")
    await refused({"events": ["file.saved", "file.exploded"]}, 422, "file.exploded")
    await refused({"workspace": None}, 403, "only an admin")
    bob = await server.create_user("bob")
    await server.add_member(token, workspace, "bob", "editor")
    response = await server.http.post(
        "/api/v1/extensions",
        json={"name": "x", "webhook_url": receiver.url, "workspace": workspace},
        headers=server.headers(bob),
    )
    assert response.status_code == 403
    listed = await server.http.get("/api/v1/extensions", headers=headers)
    assert listed.json() == []  # nothing was registered by any of these
    events = await server.http.get("/api/v1/extensions/events", headers=headers)
    assert "terminal.opened" in {e["name"] for e in events.json()}
    admin = await register(server, ADMIN_TOKEN, None, receiver.url, name="everywhere")
    peek = await server.http.get(f"/api/v1/extensions/{admin['id']}", headers=headers)
    assert peek.status_code == 404  # another user's extension is not there for alice


async def test_a_rotated_secret_signs_alongside_the_old_one(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url)
    rotated = await server.http.patch(
        f"/api/v1/extensions/{created['id']}",
        json={"rotate_secret": True},
        headers=server.headers(token),
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"] and rotated.json()["previous_secret_until"]
    await save(server, token, workspace, "d.txt", "six")
    hook = (await receiver.wait_type("file.saved"))[0]
    assert len(hook.headers["webhook-signature"].split(" ")) == 2
    verify_signature(new_secret, hook.headers, hook.body)
    verify_signature(created["secret"], hook.headers, hook.body)


async def test_deliveries_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    settings = make_settings(tmp_path, **FAST, node_id="only-node")
    receiver.replies.append((503, b"down", {"Retry-After": "2"}, 0.0))
    async with serve(settings) as nexus:
        token, workspace = await owner_and_workspace(nexus)
        created = await register(nexus, token, workspace, receiver.url)
        await save(nexus, token, workspace, "e.txt", "seven")
        await receiver.wait_type("file.saved")
    # Stopped before the retry was due; the next start makes it.
    async with serve(settings) as nexus:
        attempts = await receiver.wait_type("file.saved", count=2)
        assert attempts[0].headers["webhook-id"] == attempts[1].headers["webhook-id"]
        verify_signature(created["secret"], attempts[1].headers, attempts[1].body)


async def test_deliveries_outlive_a_crashed_courier(
    server: RunningServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts are made by a courier process of their own, at a lower priority and
    without the server's environment. Killed mid-attempt, it is started again and the
    delivery is retried with the same `webhook-id`."""
    monkeypatch.setenv("NEXUS_ADMIN_TOKEN", "never-for-the-courier")
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url)
    receiver.replies.append((200, b"late", {}, 5.0))  # held until the courier is gone
    await save(server, token, workspace, "c.txt", "three")
    first = (await receiver.wait_type("file.saved"))[0]

    courier = next(p for p in psutil.Process().children(recursive=True) if _is_courier(p))
    assert courier.nice() == 10
    assert not any(name.startswith("NEXUS_") for name in courier.environ())
    courier.kill()

    attempts = await receiver.wait_type("file.saved", count=2)
    assert attempts[1].headers["webhook-id"] == first.headers["webhook-id"]
    verify_signature(created["secret"], attempts[1].headers, attempts[1].body)
    log = await settled(server, token, created["id"], "succeeded")
    assert "courier stopped" in log["attempt_log"][0]["error"]
    assert log["attempt_log"][1]["status_code"] == 200
    assert sum(_is_courier(p) for p in psutil.Process().children(recursive=True)) == 1


def _is_courier(process: psutil.Process) -> bool:
    try:
        return "extensions.courier_process" in process.cmdline()
    except psutil.Error:
        return False
