"""Commands contributed by an extension (run from REST and Socket.IO, answered by the
extension), and chat from outside (an extension posting into a workspace chat)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests._receiver import Receiver, sign_request, verify_signature
from tests._voice_cases import synthesize, tools_available
from tests.conftest import RunningServer, make_settings, serve
from tests.test_extensions import FAST, owner_and_workspace, register

RUN_CI = {
    "id": "ci.run",
    "title": "Run the CI pipeline",
    "description": "Starts a pipeline on a branch.",
    "args_schema": {"type": "object", "properties": {"branch": {"type": "string"}}},
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serve(make_settings(tmp_path, **FAST, webhook_timeout_seconds=1.0)) as running:
        yield running


async def run(nexus: RunningServer, token: str, workspace: str, command: str, **args: Any) -> Any:
    return await nexus.http.post(
        f"/api/v1/commands/{command}",
        json={"workspace": workspace, "args": args},
        headers=nexus.headers(token),
    )


async def test_a_contributed_command_round_trips_from_rest_and_socketio(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url, commands=[RUN_CI])

    async def answer(request: dict[str, Any]) -> web.StreamResponse:
        data = request["data"]
        return web.json_response(
            {"result": {"started": data["args"]["branch"], "by": data["user"]}}
        )

    receiver.on_command = answer
    listed = await server.http.get("/api/v1/commands", headers=server.headers(token))
    ci = next(c for c in listed.json() if c["id"] == "ci.run")
    assert ci["title"] == "Run the CI pipeline" and ci["role"] == "editor"
    assert ci["args_schema"]["properties"] == {"branch": {"type": "string"}}

    response = await run(server, token, workspace, "ci.run", branch="main")
    assert response.status_code == 200, response.text
    assert response.json() == {"command": "ci.run", "result": {"started": "main", "by": "alice"}}
    sent = receiver.of_type("command.execute")[0]
    verify_signature(created["secret"], sent.headers, sent.body)
    assert sent.json["data"]["workspace"] == workspace and sent.json["data"]["source"] == "rest"

    socket = await server.socket(token)
    try:
        joined = await socket.call("workspace:join", {"workspace": workspace}, timeout=5)
        assert joined["ok"], joined
        ack = await socket.call(
            "command:execute",
            {"workspace": workspace, "command": "ci.run", "args": {"branch": "dev"}},
            timeout=5,
        )
    finally:
        await socket.disconnect()
    assert ack == {"ok": True, "result": {"started": "dev", "by": "alice"}}
    assert receiver.of_type("command.execute")[1].json["data"]["source"] == "socket"


@pytest.mark.skipif(not tools_available(), reason="espeak-ng and sox are needed (make system-deps)")
async def test_a_contributed_command_is_run_by_saying_it(
    server: RunningServer, receiver: Receiver, tmp_path: Path
) -> None:
    """Its phrases (or, without any, its title) join the voice grammar while it is
    registered: said aloud, the command runs on the extension as the speaker."""
    token, workspace = await owner_and_workspace(server)
    deploy = {"id": "deploy.staging", "title": "Deploy", "phrases": ["deploy to staging"]}
    page = {"id": "oncall.page", "title": "Page the on-call engineer"}
    created = await register(server, token, workspace, receiver.url, commands=[deploy, page])

    async def answer(request: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"result": f"ran {request['data']['command']}"})

    receiver.on_command = answer
    for text, command in (
        ("deploy to staging", "deploy.staging"),
        ("page the on call engineer", "oncall.page"),
    ):
        audio = synthesize(text, "en-us", 150, 0.0, tmp_path / f"{command}.wav")
        said = await server.http.post(
            "/api/v1/voice/command",
            params={"workspace": workspace},
            content=audio.read_bytes(),
            headers={**server.headers(token), "Content-Type": "audio/wav"},
            timeout=120,
        )
        assert said.status_code == 200, said.text
        body = said.json()
        assert (body["command"], body["executed"]) == (command, True), body
        assert body["result"] == f"ran {command}"
        sent = receiver.of_type("command.execute")[-1]
        assert sent.json["data"]["source"] == "voice"
        verify_signature(created["secret"], sent.headers, sent.body)

    bad = await server.http.patch(
        f"/api/v1/extensions/{created['id']}",
        json={"commands": [{**deploy, "phrases": ["deploy to {env}"]}]},
        headers=server.headers(token),
    )
    assert bad.status_code == 422 and "phrases" in bad.text


async def test_a_command_whose_extension_misbehaves_fails_clearly(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    await register(server, token, workspace, receiver.url, commands=[RUN_CI])
    answers: list[web.StreamResponse | float] = [
        web.Response(status=500, text="boom"),
        web.Response(text="not json"),
        web.json_response({"answer": 42}),
        2.0,  # longer than the 1 s the server waits
    ]

    async def answer(_request: dict[str, Any]) -> web.StreamResponse:
        reply = answers.pop(0)
        if isinstance(reply, float):
            await asyncio.sleep(reply)
            return web.json_response({"result": "too late"})
        return reply

    receiver.on_command = answer
    expected = [
        (502, "extension_failed", "answered 500"),
        (502, "extension_failed", "not JSON"),
        (502, "extension_failed", "no `result`"),
        (504, "extension_timeout", "within 1 s"),
    ]
    for status, code, words in expected:
        started = time.perf_counter()
        response = await run(server, token, workspace, "ci.run", branch="x")
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code and words in error["message"], error
        assert time.perf_counter() - started < 5
    assert (await server.http.get("/healthz")).status_code == 200


async def test_contributed_commands_cannot_collide_and_leave_with_their_extension(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    headers = server.headers(token)
    body = {"name": "x", "webhook_url": receiver.url, "workspace": workspace}
    for command_id, words in (
        ("files.read", "already registered"),
        ("files.mine", "built-in namespace"),
    ):
        spec = {"id": command_id, "title": "Mine"}
        clash = await server.http.post(
            "/api/v1/extensions", json={**body, "commands": [spec]}, headers=headers
        )
        assert clash.status_code == 409, clash.text
        assert words in clash.json()["error"]["message"]
    first = await register(server, token, workspace, receiver.url, commands=[RUN_CI])
    second = await server.http.post(
        "/api/v1/extensions", json={**body, "commands": [RUN_CI]}, headers=headers
    )
    assert second.status_code == 409 and "ci.run" in second.json()["error"]["message"]

    renamed = {**RUN_CI, "id": "ci.start"}
    changed = await server.http.patch(
        f"/api/v1/extensions/{first['id']}", json={"commands": [renamed]}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    ids = {c["id"] for c in (await server.http.get("/api/v1/commands", headers=headers)).json()}
    assert "ci.start" in ids and "ci.run" not in ids

    other = await server.create_workspace(token, "elsewhere")
    elsewhere = await run(server, token, str(other["id"]), "ci.start")
    assert elsewhere.status_code == 404 and "not available" in elsewhere.text

    gone = await server.http.delete(f"/api/v1/extensions/{first['id']}", headers=headers)
    assert gone.status_code == 204
    after = await run(server, token, workspace, "ci.start")
    assert after.status_code == 404


async def test_a_chat_bot_posts_as_its_owner_and_hears_the_answer(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(
        server, token, workspace, receiver.url, events=["chat.message", "chat.answer"]
    )
    url = f"/api/v1/extensions/{created['id']}/chat"
    body = json.dumps({"text": "What does app.py do?"}).encode()
    now = int(time.time())

    forged = sign_request("whsec_" + "A" * 44, body, "msg_1", now)
    assert (await server.http.post(url, content=body, headers=forged)).status_code == 401
    stale = sign_request(created["secret"], body, "msg_2", now - 3600)
    assert (await server.http.post(url, content=body, headers=stale)).status_code == 401
    unsigned = await server.http.post(url, content=body)
    assert unsigned.status_code == 401

    signed = sign_request(created["secret"], body, "msg_3", now)
    posted = await server.http.post(url, content=body, headers=signed)
    assert posted.status_code == 202, posted.text
    started = posted.json()
    replay = await server.http.post(url, content=body, headers=signed)
    assert replay.status_code == 401

    question = (await receiver.wait_type("chat.message"))[0]
    verify_signature(created["secret"], question.headers, question.body)
    assert question.json["data"]["text"] == "What does app.py do?"
    assert question.json["data"]["username"] == "alice"
    assert question.json["data"]["thread"] == started["thread"]
    answer = (await receiver.wait_type("chat.answer"))[0]
    assert answer.json["data"]["id"] == started["id"]
    assert answer.json["data"]["text"]  # no model here: it says how to configure one

    async with asyncio.timeout(10):  # the thread is saved as the answer goes out
        while True:
            threads = await server.http.get(
                f"/api/v1/workspaces/{workspace}/chat/threads", headers=server.headers(token)
            )
            if started["thread"] in {t["id"] for t in threads.json()}:
                break
            await asyncio.sleep(0.05)


async def test_a_viewer_extension_cannot_post_into_the_chat(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url, role="viewer")
    body = json.dumps({"text": "hello"}).encode()
    signed = sign_request(created["secret"], body, "msg_v", int(time.time()))
    posted = await server.http.post(
        f"/api/v1/extensions/{created['id']}/chat", content=body, headers=signed
    )
    assert posted.status_code == 403, posted.text
    assert "viewer" in posted.json()["error"]["message"]
