"""The model gateway end to end: the real `anthropic` and `openai` SDKs against a fake
model server on loopback (tests/_fake_llm.py), through a real NEXUS server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import socketio
from sqlalchemy import select

from server.ai.learning import MIN_SAMPLES, Learning, Suggestion
from server.ai.providers import Provider, ProviderError
from server.ai.router import ModelRef, NoModel, Router, Tier
from server.storage import create_engine, migrate
from server.storage.tables import ai_outcomes
from tests._client import Inbox, command_ack, eventually, execute, joined, post_command
from tests._fake_llm import (
    FakeLLM,
    Reply,
    Stream,
    anthropic_error,
    anthropic_events,
    anthropic_text,
    anthropic_text_delta,
    openai_events,
    openai_fim,
    openai_text,
)
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

CHAT_EVENTS = ("chat:message", "chat:delta", "chat:reset", "chat:tool", "chat:done")
EVENTS = (*CHAT_EVENTS, "ai:proposal", "ai:proposalResolved")
PRICES = {"claude-test": (3.0, 15.0), "gpt-test": (2.0, 8.0)}


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@contextlib.asynccontextmanager
async def ai_server(
    tmp_path: Path, fake: FakeLLM | None, **overrides: Any
) -> AsyncIterator[RunningServer]:
    values: dict[str, Any] = {"ai_prices": PRICES}
    if fake is not None:
        values.update(
            anthropic_api_key="sk-ant-test-key-000000000000000000",
            anthropic_base_url=fake.url,
            openai_api_key="sk-test-openai-0000000000000000000",
            openai_base_url=f"{fake.url}/v1",
            model_balanced="anthropic:claude-test",
            model_deep="openai:gpt-test",
            model_fast="openai:gpt-test",
        )
    values.update(overrides)
    async with serve(make_settings(tmp_path, **values)) as running:
        yield running


async def send(client: socketio.AsyncClient, workspace: str, text: str, **extra: Any) -> Any:
    ack = await client.call("chat:send", {"workspace": workspace, "text": text, **extra})
    assert ack["ok"], ack
    return ack["result"]


def deltas(inbox: Inbox, answer: str) -> str:
    return "".join(
        data["text"]
        for name, data in inbox.received
        if name == "chat:delta" and data["id"] == answer
    )


async def usage(nexus: RunningServer, token: str, workspace: str | None = None) -> dict[str, Any]:
    path = f"/api/v1/workspaces/{workspace}/ai/usage" if workspace else "/api/v1/ai/usage"
    response = await nexus.http.get(path, headers=nexus.headers(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_without_a_provider_chat_says_how_to_configure_one(tmp_path: Path) -> None:
    async with ai_server(tmp_path, None) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "hello?")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert done["error"]["code"] == "no_provider"
        assert "NEXUS_ANTHROPIC_API_KEY" in done["text"] and "NEXUS_OPENAI_BASE_URL" in done["text"]
        assert deltas(inbox, answer["id"]) == done["text"]
        # Everything else still works.
        put = await nexus.http.put(
            f"/api/v1/workspaces/{workspace['id']}/files/a.txt",
            content=b"hi",
            headers=nexus.headers(ADMIN_TOKEN),
        )
        assert put.status_code in (200, 201), put.text
        status = await nexus.http.get("/api/v1/ai/status", headers=nexus.headers(ADMIN_TOKEN))
        assert status.json()["configured"] is False
        await client.disconnect()


async def test_chat_streams_to_two_collaborators_with_usage_and_cost(
    tmp_path: Path, fake: FakeLLM
) -> None:
    fake.anthropic.append(
        anthropic_text(["The answer", " is ", "42."], input_tokens=1000, output_tokens=200)
    )
    async with ai_server(tmp_path, fake) as nexus:
        bob_token = await nexus.create_user("bob")
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        await nexus.add_member(ADMIN_TOKEN, workspace["id"], "bob", "editor")
        alice, alice_inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        bob, bob_inbox = await joined(nexus, bob_token, workspace["id"], *EVENTS)
        answer = await send(alice, workspace["id"], "What is the answer?")
        expected_cost = (1000 * 3.0 + 200 * 15.0) / 1_000_000
        for inbox in (alice_inbox, bob_inbox):
            question = await inbox.wait_for("chat:message")
            assert question["text"] == "What is the answer?" and question["username"] == "admin"
            done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
            assert deltas(inbox, answer["id"]) == "The answer is 42." == done["text"]
            assert done["model"] == "anthropic:claude-test"
            assert done["usage"] == {
                "input_tokens": 1000,
                "output_tokens": 200,
                "cost_usd": pytest.approx(expected_cost),
            }
        # The SDK sent a real Messages request, streamed, with the question.
        [body] = fake.bodies("/v1/messages")
        assert body["stream"] is True and body["model"] == "claude-test"
        assert body["messages"][-1] == {"role": "user", "content": "What is the answer?"}
        assert any(tool["name"] == "edit_file" for tool in body["tools"])
        # Usage over REST, for the workspace and for the caller.
        mine = await usage(nexus, ADMIN_TOKEN)
        assert mine["cost_usd"] == pytest.approx(expected_cost)
        assert mine["input_tokens"] == 1000 and mine["output_tokens"] == 200
        ws_usage = await usage(nexus, ADMIN_TOKEN, workspace["id"])
        assert ws_usage["by_model"][0]["model"] == "anthropic:claude-test"
        assert (await usage(nexus, bob_token))["cost_usd"] == 0
        # The thread is persisted, and a follow-up carries its history.
        threads = await nexus.http.get(
            f"/api/v1/workspaces/{workspace['id']}/chat/threads",
            headers=nexus.headers(bob_token),
        )
        assert [t["id"] for t in threads.json()] == [answer["thread"]]
        history = await nexus.http.get(
            f"/api/v1/workspaces/{workspace['id']}/chat/threads/{answer['thread']}",
            headers=nexus.headers(bob_token),
        )
        assert [(m["role"], m["content"]) for m in history.json()] == [
            ("user", "What is the answer?"),
            ("assistant", "The answer is 42."),
        ]
        fake.anthropic.append(anthropic_text(["Yes."]))
        follow = await send(bob, workspace["id"], "Sure?", thread=answer["thread"])
        await bob_inbox.wait_for("chat:done", lambda d: d["id"] == follow["id"])
        sent = fake.bodies("/v1/messages")[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        metrics = (await nexus.http.get("/metrics")).text
        assert 'nexus_ai_requests_total{intent="chat",model="claude-test"' in metrics
        await alice.disconnect()
        await bob.disconnect()


async def test_cancel_closes_the_upstream_request_and_bills_nothing_after(
    tmp_path: Path, fake: FakeLLM
) -> None:
    fake.anthropic.append(
        Stream(
            anthropic_events(["tok "], input_tokens=400, finish=False),
            trickle=anthropic_text_delta("tok "),
        )
    )
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "Talk forever")
        await inbox.wait_for(
            "chat:delta", lambda d: len(deltas(inbox, answer["id"])) >= 12, timeout=5
        )
        ack = await client.call("chat:cancel", {"workspace": workspace["id"], "id": answer["id"]})
        assert ack == {"ok": True, "result": {"cancelled": True}}
        cancelled_at = time.monotonic()
        [stream] = fake.streams
        async with asyncio.timeout(1):
            await stream.disconnected.wait()  # the fake server saw the connection close
        assert time.monotonic() - cancelled_at < 1
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert done["cancelled"] is True
        sent_by_server = stream.sent
        billed = await usage(nexus, ADMIN_TOKEN)
        assert billed["input_tokens"] == 400
        # One token per "tok " chunk: never more than the server had sent when it was cut.
        assert 3 <= billed["output_tokens"] <= sent_by_server
        await asyncio.sleep(0.2)  # a window for late billing or streaming: proving an absence
        assert (await usage(nexus, ADMIN_TOKEN))["output_tokens"] == billed["output_tokens"]
        assert stream.sent == sent_by_server  # nothing more was streamed upstream
        await client.disconnect()


async def test_failover_on_429_reaches_the_next_model_within_a_second(
    tmp_path: Path, fake: FakeLLM
) -> None:
    fake.anthropic.append(
        Reply(
            429,
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
            headers={"retry-after": "30"},
        )
    )
    fake.openai.append(openai_text(["From ", "OpenAI"], prompt_tokens=50, completion_tokens=4))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        started = time.monotonic()
        answer = await send(client, workspace["id"], "hi")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert time.monotonic() - started < 1
        assert done["text"] == "From OpenAI" and done["model"] == "openai:gpt-test"
        [reset] = [d for n, d in inbox.received if n == "chat:reset"]
        assert reset["failed"] == "anthropic:claude-test" and "429" in reset["reason"]
        body = fake.bodies("/v1/chat/completions")[0]
        assert body["stream_options"] == {"include_usage": True}
        assert body["messages"][0]["role"] == "system"
        # The rate-limited model rests: the next request goes straight to the next one.
        fake.openai.append(openai_text(["again"]))
        second = await send(client, workspace["id"], "again")
        await inbox.wait_for("chat:done", lambda d: d["id"] == second["id"])
        assert len(fake.bodies("/v1/messages")) == 1
        assert "nexus_ai_failovers_total" in (await nexus.http.get("/metrics")).text
        await client.disconnect()


async def test_failover_on_a_mid_stream_error(tmp_path: Path, fake: FakeLLM) -> None:
    events = anthropic_events(["Half an ans"], input_tokens=100, finish=False)
    fake.anthropic.append(Stream([*events, anthropic_error()]))
    fake.openai.append(openai_text(["Whole answer."]))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        started = time.monotonic()
        answer = await send(client, workspace["id"], "hi")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert time.monotonic() - started < 1
        names = [n for n, d in inbox.received if n.startswith("chat:") and n != "chat:message"]
        assert names == ["chat:delta", "chat:reset", "chat:delta", "chat:done"]
        assert done["text"] == "Whole answer." and done["model"] == "openai:gpt-test"
        # Both attempts are billed once each: the broken one for what it streamed.
        by_model = {m["model"]: m for m in (await usage(nexus, ADMIN_TOKEN))["by_model"]}
        assert by_model["anthropic:claude-test"]["input_tokens"] == 100
        assert by_model["anthropic:claude-test"]["requests"] == 1
        assert by_model["openai:gpt-test"]["output_tokens"] == 5
        await client.disconnect()


async def test_budget_refuses_a_request_before_it_is_sent(tmp_path: Path, fake: FakeLLM) -> None:
    fake.anthropic.append(anthropic_text(["ok"], input_tokens=1000, output_tokens=200))
    async with ai_server(tmp_path, fake, ai_user_daily_budget_usd=0.005) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        first = await send(client, workspace["id"], "one")
        assert (await inbox.wait_for("chat:done", lambda d: d["id"] == first["id"]))[
            "error"
        ] is None
        second = await send(client, workspace["id"], "two")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == second["id"])
        assert done["error"]["code"] == "budget_exceeded"
        assert "budget" in done["text"] and "00:00 UTC" in done["text"]
        assert len(fake.bodies("/v1/messages")) == 1  # never sent
        summary = await usage(nexus, ADMIN_TOKEN)
        assert summary["today_cost_usd"] == pytest.approx(0.006)
        assert summary["daily_budget_usd"] == 0.005
        await client.disconnect()


async def test_a_tool_call_proposes_an_edit_that_a_yjs_client_sees_once_accepted(
    tmp_path: Path, fake: FakeLLM
) -> None:
    edit = {"path": "app.py", "old": "return 1", "new": "return 2", "summary": "answer 2"}
    fake.anthropic.append(anthropic_text(["Let me fix it."], tool=("toolu_1", "edit_file", edit)))
    fake.anthropic.append(anthropic_text(["Proposed."]))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        (Path(workspace["path"]) / "app.py").write_text("def f():\n    return 1\n")
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        url = yjs_url(nexus.url, workspace["id"], "app.py", ADMIN_TOKEN)
        async with connected_doc(url) as (_, text, _):
            await wait_text(text, "def f():\n    return 1\n")
            answer = await send(client, workspace["id"], "make f return 2")
            proposal = await inbox.wait_for("ai:proposal")
            done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
            assert (
                done["proposals"] == [proposal["id"]] and done["text"] == "Let me fix it.Proposed."
            )
            assert proposal["path"] == "app.py" and "+    return 2" in proposal["diff"]
            assert str(text) == "def f():\n    return 1\n"  # a proposal, not yet an edit
            # The model got the tool's result in Anthropic's format.
            second = fake.bodies("/v1/messages")[1]["messages"]
            assert second[1]["content"][-1]["type"] == "tool_use"
            result = second[2]["content"][0]
            assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_1"
            assert not result["is_error"]
            accepted = await execute(
                client, workspace["id"], "ai.accept", {"proposal": proposal["id"]}
            )
            assert accepted["status"] == "accepted", accepted
            await wait_text(text, "def f():\n    return 2\n")
            resolved = await inbox.wait_for("ai:proposalResolved")
            assert resolved == {
                "id": proposal["id"],
                "workspace": workspace["id"],
                "path": "app.py",
                "status": "accepted",
                "by": "admin",
            }
            again = await command_ack(
                client, workspace["id"], "ai.accept", {"proposal": proposal["id"]}
            )
            assert again["error"]["code"] == "conflict"
            await execute(client, workspace["id"], "ai.undo", {"proposal": proposal["id"]})
            await wait_text(text, "def f():\n    return 1\n")
        await client.disconnect()


async def test_openai_tool_calls_reject_and_broken_python_refused(
    tmp_path: Path, fake: FakeLLM
) -> None:
    broken = {"path": "app.py", "content": "def f(:\n", "summary": "oops"}
    good = {"path": "app.py", "content": "def f():\n    return 3\n", "summary": "three"}
    fake.openai.append(Stream(openai_events([], tool=("call_1", "edit_file", broken))))
    fake.openai.append(Stream(openai_events([], tool=("call_2", "edit_file", good))))
    fake.openai.append(openai_text(["Done."]))
    async with ai_server(tmp_path, fake, model_balanced="openai:gpt-test") as nexus:
        bob_token = await nexus.create_user("bob")
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        await nexus.add_member(ADMIN_TOKEN, workspace["id"], "bob", "viewer")
        (Path(workspace["path"]) / "app.py").write_text("def f():\n    return 1\n")
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        viewer, viewer_inbox = await joined(nexus, bob_token, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "change f")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert done["text"] == "Done." and len(done["proposals"]) == 1
        # The broken edit came back to the model as an error, in OpenAI's format.
        second = fake.bodies("/v1/chat/completions")[1]["messages"]
        assert second[-2]["tool_calls"][0]["function"]["name"] == "edit_file"
        assert second[-1]["role"] == "tool" and "does not parse" in second[-1]["content"]
        tools = [d for n, d in inbox.received if n == "chat:tool"]
        assert [t["ok"] for t in tools] == [False, True]
        # Every collaborator sees the proposal; a viewer may not accept it.
        proposal = await viewer_inbox.wait_for("ai:proposal")
        refused = await command_ack(
            viewer, workspace["id"], "ai.accept", {"proposal": proposal["id"]}
        )
        assert refused["error"]["code"] == "forbidden"
        rejected = await execute(client, workspace["id"], "ai.reject", {"proposal": proposal["id"]})
        assert rejected["status"] == "rejected"
        resolved = await viewer_inbox.wait_for("ai:proposalResolved")
        assert resolved["status"] == "rejected"
        assert (Path(workspace["path"]) / "app.py").read_text() == "def f():\n    return 1\n"
        await client.disconnect()
        await viewer.disconnect()


async def test_secrets_are_redacted_before_they_leave(tmp_path: Path, fake: FakeLLM) -> None:
    secret = "sk-ant-api03-" + "x" * 40
    fake.anthropic.append(anthropic_text(["noted"]))
    fake.anthropic.append(anthropic_text(["noted"]))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        root = Path(workspace["path"])
        (root / "settings.py").write_text(f'API_KEY = "{secret}"\npassword = "hunter22"\n')
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(
            client,
            workspace["id"],
            f"why does {secret} fail?",
            context={"path": "settings.py", "line": 1},
        )
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert done["redactions"] >= 3
        sent = json.dumps(fake.bodies("/v1/messages")[0])
        assert secret not in sent and "hunter22" not in sent
        assert "[REDACTED:anthropic_key]" in sent and "[REDACTED:password]" in sent
        assert "settings.py" in sent  # the context itself did go
        metrics = (await nexus.http.get("/metrics")).text
        assert 'nexus_ai_redactions_total{kind="anthropic_key"}' in metrics
        # The owner turns it off for this workspace.
        response = await nexus.http.post(
            "/api/v1/commands/ai.settings",
            json={"workspace": workspace["id"], "args": {"redact_secrets": False}},
            headers=nexus.headers(ADMIN_TOKEN),
        )
        assert response.status_code == 200, response.text
        again = await send(client, workspace["id"], f"and {secret}?")
        await inbox.wait_for("chat:done", lambda d: d["id"] == again["id"])
        assert secret in json.dumps(fake.bodies("/v1/messages")[1])
        await client.disconnect()


async def test_openai_compatible_server_by_base_url_chat_and_completion(
    tmp_path: Path, fake: FakeLLM
) -> None:
    fake.openai.append(openai_text(["local ", "answer"]))
    async with ai_server(
        tmp_path,
        None,
        openai_base_url=f"{fake.url}/v1",
        model_balanced="openai:qwen2.5-coder",
    ) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        # REST chat streamed as server-sent events.
        events = []
        async with nexus.http.stream(
            "POST",
            f"/api/v1/workspaces/{workspace['id']}/chat",
            json={"text": "hello"},
            headers=nexus.headers(ADMIN_TOKEN),
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
        assert [e for e, _ in events] == ["message", "delta", "delta", "done"]
        assert events[-1][1]["text"] == "local answer"
        assert events[-1][1]["model"] == "openai:qwen2.5-coder"
        assert fake.bodies("/v1/chat/completions")[0]["model"] == "qwen2.5-coder"
        # Inline completion: a *coder* model gets fill-in-the-middle.
        fake.completions.append(openai_fim(["return ", "a + b"]))
        client, _ = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        request = {
            "workspace": workspace["id"],
            "path": "m.py",
            "prefix": "def add(a, b):\n    ",
            "suffix": "\n",
        }
        ack = await client.call("completion:request", request)
        assert ack["ok"], ack
        assert ack["result"]["text"] == "return a + b" and not ack["result"]["cached"]
        [fim] = fake.bodies("/v1/completions")
        assert fim["prompt"] == "def add(a, b):\n    " and fim["suffix"] == "\n"
        # The same place again: from the cache, no request.
        cached = await client.call("completion:request", request)
        assert cached["result"]["cached"] and cached["result"]["text"] == "return a + b"
        assert len(fake.bodies("/v1/completions")) == 1
        feedback = await client.call(
            "completion:feedback",
            {"workspace": workspace["id"], "id": ack["result"]["id"], "outcome": "accepted"},
        )
        assert feedback["result"] == {"recorded": True}
        await client.disconnect()


async def test_completion_reuses_the_in_flight_stream_and_cancels_when_typed_past(
    tmp_path: Path, fake: FakeLLM
) -> None:
    slow = openai_fim(["return ", "a + b"])
    slow.delay = 0.1
    fake.completions.append(slow)
    async with ai_server(
        tmp_path, None, openai_base_url=f"{fake.url}/v1", model_fast="openai:tiny-coder"
    ) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, _ = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        base = {"workspace": workspace["id"], "path": "m.py", "suffix": ""}
        first = asyncio.create_task(
            client.call("completion:request", {**base, "prefix": "x = "}, timeout=10)
        )
        await eventually(lambda: fake.streams)  # the first request is in flight upstream
        typed = await client.call("completion:request", {**base, "prefix": "x = ret"}, timeout=10)
        assert typed["result"]["text"] == "urn a + b" and typed["result"]["reused"]
        assert (await first)["result"]["text"] == "return a + b"
        assert len(fake.bodies("/v1/completions")) == 1
        # Typing something else cancels the in-flight request (its stream is closed).
        first_chunk = openai_fim(["zzz"]).events[0]  # then "z" every 20 ms, never done
        hang = Stream([first_chunk], trickle=(None, openai_fim(["z"]).events[0][1]))
        fake.completions.append(hang)
        fake.completions.append(openai_fim(["1"]))
        pending = asyncio.create_task(
            client.call("completion:request", {**base, "prefix": "y = "}, timeout=10)
        )
        await eventually(lambda: len(fake.streams) >= 2)
        other = await client.call("completion:request", {**base, "prefix": "y = q"}, timeout=10)
        assert other["result"]["text"] == "1"
        assert (await pending)["result"] == {"id": None, "text": "", "cancelled": True}
        async with asyncio.timeout(1):
            await fake.streams[1].disconnected.wait()
        await client.disconnect()


async def test_bad_input_is_refused_clearly(tmp_path: Path, fake: FakeLLM) -> None:
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, _ = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        empty = await client.call("chat:send", {"workspace": workspace["id"], "text": ""})
        assert empty["error"]["code"] == "invalid"
        unknown = await client.call(
            "chat:send", {"workspace": workspace["id"], "text": "hi", "thread": "nope"}
        )
        assert unknown["error"]["code"] == "not_found"
        cancel = await client.call("chat:cancel", {"workspace": workspace["id"], "id": "nope"})
        assert cancel["error"]["code"] == "not_found"
        missing = await command_ack(client, workspace["id"], "ai.accept", {"proposal": "nope"})
        assert missing["error"]["code"] == "not_found"
        await client.disconnect()
    with pytest.raises(ValueError, match="anthropic:NAME"):
        make_settings(tmp_path, model_fast="gemini:pro")


async def test_keys_are_never_returned(tmp_path: Path, fake: FakeLLM) -> None:
    async with ai_server(tmp_path, fake) as nexus:
        status = await nexus.http.get("/api/v1/ai/status", headers=nexus.headers(ADMIN_TOKEN))
        assert status.json()["tiers"]["balanced"] == "anthropic:claude-test"
        assert "sk-" not in status.text
        assert "sk-ant-test" not in repr(nexus.settings)
        assert isinstance(nexus.http, httpx.AsyncClient)


async def test_a_pending_proposal_survives_a_restart_and_is_accepted_after_it(
    tmp_path: Path, fake: FakeLLM
) -> None:
    edit = {"path": "app.py", "old": "return 1", "new": "return 2", "summary": "answer 2"}
    fake.anthropic.append(anthropic_text(["On it."], tool=("toolu_1", "edit_file", edit)))
    fake.anthropic.append(anthropic_text(["Proposed."]))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        app_py = Path(workspace["path"]) / "app.py"
        app_py.write_text("def f():\n    return 1\n")
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "make f return 2")
        proposal = await inbox.wait_for("ai:proposal")
        await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        await client.disconnect()
    assert app_py.read_text() == "def f():\n    return 1\n"
    # A new server process on the same data: the proposal is still there, still pending.
    async with ai_server(tmp_path, fake) as nexus:
        listed = await post_command(nexus, ADMIN_TOKEN, workspace["id"], "ai.proposals")
        assert listed.status_code == 200, listed.text
        [stored] = listed.json()["result"]
        assert stored == {**proposal, "resolved_by": None}
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        accepted = await post_command(
            nexus, ADMIN_TOKEN, workspace["id"], "ai.accept", {"proposal": proposal["id"]}
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["result"]["status"] == "accepted"
        resolved = await inbox.wait_for("ai:proposalResolved")
        assert resolved["status"] == "accepted" and resolved["id"] == proposal["id"]
        # The edit went through the collaborative document and on to the file.
        await eventually(lambda: app_py.read_text() == "def f():\n    return 2\n")
        again = await post_command(
            nexus, ADMIN_TOKEN, workspace["id"], "ai.reject", {"proposal": proposal["id"]}
        )
        assert again.status_code == 409 and "accepted" in again.json()["error"]["message"]
        # What the user did is recorded against the suggestion shown before the restart.
        engine = create_engine(nexus.settings.resolved_database_url)
        query = select(ai_outcomes.c.outcome).where(ai_outcomes.c.id == proposal["id"])

        async def recorded() -> bool:
            async with engine.connect() as conn:
                return (await conn.execute(query)).scalar() == "accepted"

        try:
            await eventually(recorded)
        finally:
            await engine.dispose()
        # And it can still be undone after the restart.
        undone = await post_command(
            nexus, ADMIN_TOKEN, workspace["id"], "ai.undo", {"proposal": proposal["id"]}
        )
        assert undone.status_code == 200, undone.text
        await eventually(lambda: app_py.read_text() == "def f():\n    return 1\n")
        await client.disconnect()


async def test_two_accepts_at_once_apply_the_edit_once(tmp_path: Path, fake: FakeLLM) -> None:
    edit = {"path": "n.txt", "old": "one", "new": "one\ntwo", "summary": "add two"}
    fake.anthropic.append(anthropic_text([""], tool=("toolu_1", "edit_file", edit)))
    fake.anthropic.append(anthropic_text(["ok"]))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        notes = Path(workspace["path"]) / "n.txt"
        notes.write_text("one\n")
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "add two")
        proposal = await inbox.wait_for("ai:proposal")
        await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        args = {"proposal": proposal["id"]}
        first, second = await asyncio.gather(
            post_command(nexus, ADMIN_TOKEN, workspace["id"], "ai.accept", args),
            post_command(nexus, ADMIN_TOKEN, workspace["id"], "ai.accept", args),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        await eventually(lambda: notes.read_text() == "one\ntwo\n")
        await client.disconnect()


# -- routing: cooldowns, the circuit breaker, learning ------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _router(tmp_path: Path, clock: _Clock, **overrides: Any) -> Router:
    settings = make_settings(
        tmp_path,
        model_fast="openai:gpt-test",
        model_balanced="anthropic:claude-test",
        model_deep="openai:gpt-test",
        **overrides,
    )
    providers = cast(dict[str, Provider], {"anthropic": object(), "openai": object()})
    return Router(settings, providers, clock=clock)


def _labels(refs: list[ModelRef]) -> list[str]:
    return [ref.label for ref in refs]


@pytest.mark.unit
def test_a_failed_model_rests_for_its_cooldown_or_the_providers_retry_after(
    tmp_path: Path,
) -> None:
    clock = _Clock()
    router = _router(tmp_path, clock, ai_cooldown_seconds=30, ai_breaker_failures=5)
    claude = router.tiers[Tier.balanced]
    assert _labels(router.candidates(Tier.balanced)) == [
        "anthropic:claude-test",
        "openai:gpt-test",
    ]
    router.failed(claude, ProviderError("HTTP 503", retryable=True, status=503))
    assert _labels(router.candidates(Tier.balanced)) == ["openai:gpt-test"]
    clock.now += 29.9
    assert _labels(router.candidates(Tier.balanced)) == ["openai:gpt-test"]
    clock.now += 0.2
    assert _labels(router.candidates(Tier.balanced))[0] == "anthropic:claude-test"
    # A 429's retry-after sets the rest instead.
    router.failed(claude, ProviderError("429", retryable=True, status=429, retry_after=5))
    clock.now += 5.1
    assert _labels(router.candidates(Tier.balanced))[0] == "anthropic:claude-test"
    # A bad request is the request's fault, not the model's: no rest.
    router.failed(claude, ProviderError("400", retryable=False, status=400))
    assert _labels(router.candidates(Tier.balanced))[0] == "anthropic:claude-test"
    # Everything resting: a clear refusal saying how long to wait.
    router.failed(claude, ProviderError("503", retryable=True, status=503))
    router.failed(router.tiers[Tier.fast], ProviderError("503", retryable=True, status=503))
    with pytest.raises(NoModel, match="try again in 30 s"):
        router.candidates(Tier.balanced)


@pytest.mark.unit
def test_the_breaker_opens_after_failures_in_a_row_and_closes_after_its_time(
    tmp_path: Path,
) -> None:
    clock = _Clock()
    router = _router(
        tmp_path, clock, ai_cooldown_seconds=0, ai_breaker_failures=3, ai_breaker_seconds=60
    )
    claude = router.tiers[Tier.balanced]
    error = ProviderError("HTTP 500", retryable=True, status=500)
    router.failed(claude, error)
    router.failed(claude, error)
    router.succeeded(claude)  # a success in between: the count starts over
    router.failed(claude, error)
    router.failed(claude, error)
    assert router.breaker_state()["anthropic"] == "closed"
    router.failed(claude, error)
    assert router.breaker_state() == {"anthropic": "open", "openai": "closed"}
    assert _labels(router.candidates(Tier.balanced)) == ["openai:gpt-test"]
    clock.now += 59
    assert _labels(router.candidates(Tier.balanced)) == ["openai:gpt-test"]
    clock.now += 2
    assert router.breaker_state()["anthropic"] == "closed"
    assert _labels(router.candidates(Tier.balanced))[0] == "anthropic:claude-test"


async def test_an_open_breaker_sends_requests_straight_to_the_fallback(
    tmp_path: Path, fake: FakeLLM
) -> None:
    overloaded = Reply(
        529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    )
    fake.anthropic.extend([overloaded, overloaded])
    fake.openai.extend(openai_text([f"fallback {n}"]) for n in range(3))
    async with ai_server(
        tmp_path, fake, ai_cooldown_seconds=0, ai_breaker_failures=2, ai_breaker_seconds=1.5
    ) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)

        async def ask(text: str) -> dict[str, Any]:
            answer = await send(client, workspace["id"], text)
            return dict(await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"]))

        async def breaker() -> str:
            status = await nexus.http.get("/api/v1/ai/status", headers=nexus.headers(ADMIN_TOKEN))
            return str(status.json()["breakers"]["anthropic"])

        async def closed() -> bool:
            return await breaker() == "closed"

        for n in range(2):  # two failures in a row (each failed over to OpenAI)
            assert (await ask(f"q{n}"))["text"] == f"fallback {n}"
        assert await breaker() == "open"
        assert (await ask("q2"))["text"] == "fallback 2"
        assert len(fake.bodies("/v1/messages")) == 2  # not tried while the breaker is open
        assert len([n for n, _ in inbox.received if n == "chat:reset"]) == 2
        # Once the breaker's time is up, the provider is tried again (and answers).
        await eventually(closed)
        fake.anthropic.append(anthropic_text(["Claude is back."]))
        done = await ask("q3")
        assert done["text"] == "Claude is back." and done["model"] == "anthropic:claude-test"
        assert len(fake.bodies("/v1/messages")) == 3
        await client.disconnect()


def _suggestion(n: int, intent: str, tier: Tier) -> Suggestion:
    return Suggestion(f"{tier}-{n}", 1, "ws", intent, tier.value, "m", 100.0, 10, 5, 0.0)


async def _record(learning: Learning, intent: str, tier: Tier, accepted: int, total: int) -> None:
    for n in range(total):
        suggestion = _suggestion(n, intent, tier)
        learning.shown(suggestion)
        assert learning.resolve(suggestion.id, "accepted" if n < accepted else "rejected")


@pytest.mark.unit
async def test_learning_moves_an_intent_to_the_cheaper_tier_when_accepted_as_often(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'learning.db'}")
    await migrate(engine)
    try:
        router = _router(tmp_path, _Clock())
        learning = Learning(engine, router)
        await learning.load()
        assert router.tier_for("chat") == Tier.balanced
        await _record(learning, "chat", Tier.balanced, accepted=12, total=MIN_SAMPLES)
        await _record(learning, "chat", Tier.fast, accepted=11, total=MIN_SAMPLES)
        assert router.tier_for("chat") == Tier.balanced  # 55 % < 60 %: keep the default
        extra = _suggestion(99, "chat", Tier.fast)
        learning.shown(extra)
        learning.resolve(extra.id, "accepted")  # 12/21 = 57 % < 60 %
        assert router.tier_for("chat") == Tier.balanced
        for n in range(100, 103):
            more = _suggestion(n, "chat", Tier.fast)
            learning.shown(more)
            learning.resolve(more.id, "accepted")  # 15/24 = 62.5 % ≥ 60 %
        assert router.tier_for("chat") == Tier.fast
        assert router.tier_for("explain") == Tier.balanced  # other intents unaffected
        await learning.close()
        # The lesson is stored: a restarted server routes the same way.
        fresh = _router(tmp_path, _Clock())
        reloaded = Learning(engine, fresh)
        await reloaded.load()
        assert fresh.tier_for("chat") == Tier.fast
        # A suggestion shown by one node and decided on another counts once.
        shown_elsewhere = _suggestion(200, "chat", Tier.balanced)
        learning.shown(shown_elsewhere)
        await learning.close()
        assert reloaded.resolve(shown_elsewhere.id, "accepted") is False  # not shown here
        assert reloaded.resolve(shown_elsewhere.id, "accepted") is False
        await reloaded.close()
        assert reloaded.tally[("chat", "balanced")] == [13, MIN_SAMPLES + 1]
    finally:
        await engine.dispose()


async def test_a_learned_cheaper_tier_is_what_the_server_routes_chat_to(
    tmp_path: Path, fake: FakeLLM
) -> None:
    settings = make_settings(tmp_path)
    engine = create_engine(settings.resolved_database_url)
    await migrate(engine)
    try:
        learning = Learning(engine, _router(tmp_path, _Clock()))
        await _record(learning, "chat", Tier.balanced, accepted=10, total=MIN_SAMPLES)
        await _record(learning, "chat", Tier.fast, accepted=10, total=MIN_SAMPLES)
        await learning.close()
    finally:
        await engine.dispose()
    fake.openai.append(openai_text(["cheap and good"]))
    async with ai_server(tmp_path, fake) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "hi")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        assert done["text"] == "cheap and good" and done["model"] == "openai:gpt-test"
        assert fake.bodies("/v1/messages") == []  # the balanced model was not asked
        await client.disconnect()


async def test_a_stream_crossing_the_budget_is_stopped_mid_way(
    tmp_path: Path, fake: FakeLLM
) -> None:
    chunk = "x" * 400  # 100 tokens: $0.0015 at $15 per million
    fake.anthropic.append(
        Stream(
            anthropic_events(["Start: "], input_tokens=100, finish=False),
            trickle=anthropic_text_delta(chunk),
        )
    )
    budget = 0.005
    async with ai_server(tmp_path, fake, ai_user_daily_budget_usd=budget) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], *EVENTS)
        answer = await send(client, workspace["id"], "Talk forever")
        done = await inbox.wait_for("chat:done", lambda d: d["id"] == answer["id"])
        [stream] = fake.streams
        async with asyncio.timeout(1):
            await stream.disconnected.wait()  # the upstream request was closed
        assert done["cancelled"] is False
        assert done["error"]["code"] == "budget_exceeded"
        assert "stopped" in done["error"]["message"] and "00:00 UTC" in done["text"]
        # What streamed before the stop is kept, and everyone saw the same.
        assert done["text"].startswith("Start: " + chunk)
        assert deltas(inbox, answer["id"]) == done["text"]
        # Billed up to the chunk that crossed the budget, and no further.
        summary = await usage(nexus, ADMIN_TOKEN)
        assert budget < summary["today_cost_usd"] <= budget + 0.0015 + 1e-9
        assert done["usage"]["cost_usd"] == pytest.approx(summary["today_cost_usd"])
        sent = stream.sent
        await asyncio.sleep(0.1)  # five trickle periods: nothing more may be streamed
        assert stream.sent == sent
        # The next request is refused before it is sent.
        second = await send(client, workspace["id"], "more")
        refused = await inbox.wait_for("chat:done", lambda d: d["id"] == second["id"])
        assert refused["error"]["code"] == "budget_exceeded"
        assert len(fake.bodies("/v1/messages")) == 1
        await client.disconnect()
