"""What people do in the IDE reaches subscribed extensions as named events: typing
(debounced), saving, terminals, git, presence."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests._fake_llm import FakeLLM, anthropic_text
from tests._receiver import Receiver, sign_request, verify_signature
from tests._yclient import connected_doc, yjs_url
from tests.conftest import RunningServer, make_settings, serve
from tests.test_extensions import FAST, owner_and_workspace, register

EVENTS = [
    "document.changed",
    "file.saved",
    "terminal.opened",
    "git.committed",
    "git.branch_switched",
    "presence.changed",
]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serve(make_settings(tmp_path, **FAST)) as running:
        yield running


async def command(nexus: RunningServer, token: str, workspace: str, id_: str, **args: Any) -> Any:
    response = await nexus.http.post(
        f"/api/v1/commands/{id_}",
        json={"workspace": workspace, "args": args},
        headers=nexus.headers(token),
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def test_ide_activity_arrives_as_named_events(
    server: RunningServer, receiver: Receiver
) -> None:
    token, workspace = await owner_and_workspace(server)
    created = await register(server, token, workspace, receiver.url, events=EVENTS)

    url = yjs_url(server.url, workspace, "notes.md", token)
    async with connected_doc(url) as (_doc, text, _provider):
        for word in ("one ", "two ", "three"):
            text += word  # three quick edits: one debounced event
        changed = (await receiver.wait_type("document.changed"))[0]
        saved = (await receiver.wait_type("file.saved"))[0]
    assert changed.json["data"] == {"workspace": workspace, "path": "notes.md", "length": 13}
    assert saved.json["data"]["source"] == "editor" and saved.json["data"]["path"] == "notes.md"

    await command(server, token, workspace, "terminal.new", command="true")
    opened = (await receiver.wait_type("terminal.opened"))[0]
    assert opened.json["data"]["workspace"] == workspace

    await command(server, token, workspace, "git.init")
    await command(server, token, workspace, "git.stage", paths=["notes.md"])
    commit = await command(server, token, workspace, "git.commit", message="Add notes")
    committed = (await receiver.wait_type("git.committed"))[0]
    assert committed.json["data"]["head"] == commit["id"]
    await command(server, token, workspace, "git.createBranch", name="topic")
    await command(server, token, workspace, "git.checkout", branch="topic")
    switched = (await receiver.wait_type("git.branch_switched"))[0]
    assert switched.json["data"]["branch"] == "topic"

    socket = await server.socket(token)
    try:
        await socket.call("workspace:join", {"workspace": workspace}, timeout=5)
        present = await receiver.wait_for(
            lambda got: any(r.type == "presence.changed" and r.json["data"]["users"] for r in got)
        )
    finally:
        await socket.disconnect()
    users = next(r for r in present if r.type == "presence.changed").json["data"]["users"]
    assert users[0]["username"] == "alice"
    assert len(receiver.of_type("document.changed")) == 1
    for request in receiver.requests:
        verify_signature(created["secret"], request.headers, request.body)


async def test_a_bot_asks_for_an_edit_and_hears_of_the_proposal_and_its_acceptance(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeLLM()
    await fake.start()
    edit = {"path": "app.py", "old": "return 1", "new": "return 2", "summary": "answer 2"}
    fake.anthropic.append(anthropic_text(["On it."], tool=("toolu_1", "edit_file", edit)))
    fake.anthropic.append(anthropic_text(["Proposed."]))
    settings = make_settings(
        tmp_path,
        **FAST,
        anthropic_api_key="sk-ant-test-key-000000000000000000",
        anthropic_base_url=fake.url,
        model_balanced="anthropic:claude-test",
    )
    try:
        async with serve(settings) as nexus:
            token, workspace = await owner_and_workspace(nexus)
            root = (
                await nexus.http.get(
                    f"/api/v1/workspaces/{workspace}", headers=nexus.headers(token)
                )
            ).json()["path"]
            (Path(root) / "app.py").write_text("def f():\n    return 1\n")
            names = ["chat.answer", "ai.proposal_made", "ai.proposal_accepted"]
            tool = {"id": "ci.run", "title": "Run CI", "ai_tool": True}
            created = await register(
                nexus, token, workspace, receiver.url, events=names, commands=[tool]
            )
            body = json.dumps({"text": "make f return 2"}).encode()
            headers = sign_request(created["secret"], body, "msg_bot", int(time.time()))
            posted = await nexus.http.post(
                f"/api/v1/extensions/{created['id']}/chat", content=body, headers=headers
            )
            assert posted.status_code == 202, posted.text
            made = (await receiver.wait_type("ai.proposal_made"))[0].json["data"]
            assert made["path"] == "app.py" and "+    return 2" in made["diff"]
            answer = (await receiver.wait_type("chat.answer"))[0].json["data"]
            offered = {t["name"] for t in fake.bodies("/v1/messages")[0]["tools"]}
            assert {"edit_file", "ci_run"} <= offered  # the extension's command is a tool
            assert answer["text"] == "On it.Proposed." and answer["proposals"] == [made["id"]]
            await command(nexus, token, workspace, "ai.accept", proposal=made["id"])
            accepted = (await receiver.wait_type("ai.proposal_accepted"))[0].json["data"]
            assert accepted["id"] == made["id"] and accepted["by"] == "alice"
    finally:
        await fake.stop()
