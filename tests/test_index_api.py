"""The codebase index as people reach it: REST search, the `search.semantic` command,
progress on joining, edits followed within seconds, and chat answers grounded in it
(through the fake model server, checking the prompt carried the chunk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests._client import eventually, execute, joined
from tests._fake_llm import FakeLLM, anthropic_text
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

UPLOADS = '''"""Sending files to the storage service."""

import time


class Uploader:
    def __init__(self, client):
        self.client = client

    def upload_with_retries(self, path, attempts=5):
        """Send one file; when the service fails, wait longer each time and try again."""
        for attempt in range(attempts):
            try:
                return self.client.put(path)
            except ConnectionError:
                time.sleep(2 ** attempt)
        raise RuntimeError(f"could not upload {path}")
'''

REPORTS = '''"""Monthly reports."""


def render_invoice_table(rows):
    """An HTML table of invoice lines with their totals."""
    cells = "".join(f"<tr><td>{r.name}</td><td>{r.total}</td></tr>" for r in rows)
    return f"<table>{cells}</table>"


def parse_csv_export(text):
    """The rows of a CSV export from the accounting tool."""
    return [line.split(",") for line in text.splitlines()[1:]]
'''


async def search(nexus: RunningServer, workspace: str, query: str, k: int = 5) -> Any:
    response = await nexus.http.post(
        f"/api/v1/workspaces/{workspace}/search",
        json={"query": query, "k": k},
        headers=nexus.headers(ADMIN_TOKEN),
    )
    return response


async def indexed(nexus: RunningServer, workspace: str, query: str) -> list[dict[str, Any]]:
    """Search until the index has something for the query (it builds in the background)."""

    async def found() -> list[dict[str, Any]] | None:
        body = (await search(nexus, workspace, query)).json()
        return body["results"] or None

    return await eventually(found, timeout=60, what=f"results for {query!r}")


async def test_find_code_by_meaning_and_follow_edits(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path)) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        root = Path(workspace["path"])
        (root / "uploads.py").write_text(UPLOADS)
        (root / "reports.py").write_text(REPORTS)
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], "index:progress")
        try:
            hits = await indexed(nexus, workspace["id"], "where do we retry failed uploads")
            first = hits[0]
            assert (first["path"], first["start_line"]) == ("uploads.py", 10), hits
            assert "upload_with_retries" in first["snippet"]
            assert set(first) == {"path", "start_line", "end_line", "score", "snippet"}
            await inbox.wait_for("index:progress", lambda d: d["workspace"] == workspace["id"])

            # The palette's and voice's way in: the command.
            result = await execute(
                client, workspace["id"], "search.semantic", {"query": "invoice html table"}
            )
            assert result["results"][0]["path"] == "reports.py"
            assert result["state"]["status"] in {"idle", "indexing"}

            # An edit is followed within seconds; a deleted file leaves the results.
            (root / "mail.py").write_text(
                "def send_password_reset_email(user):\n"
                '    """Mail the user a link to choose a new password."""\n'
                "    return user.email\n"
            )
            hits = await indexed(nexus, workspace["id"], "email a password reset link")
            assert hits[0]["path"] == "mail.py"
            (root / "uploads.py").unlink()

            async def gone() -> bool:
                body = (await search(nexus, workspace["id"], "retry failed uploads")).json()
                return all(hit["path"] != "uploads.py" for hit in body["results"])

            await eventually(gone, timeout=30, what="uploads.py to leave the index")
        finally:
            await client.disconnect()


async def test_bad_queries_are_refused_clearly(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path)) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        empty = await search(nexus, workspace["id"], "   ")
        assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
        too_many = await search(nexus, workspace["id"], "retry", k=1000)
        assert too_many.status_code == 422 and "k" in too_many.json()["error"]["message"]
        huge = await search(nexus, workspace["id"], "x" * 200_000)
        assert huge.status_code == 422
        unknown = await search(nexus, "nope", "retry")
        assert unknown.status_code == 404
        # Not indexed yet (nothing joined): answered from what there is, with the state.
        fresh = await search(nexus, workspace["id"], "retry uploads")
        assert fresh.status_code == 200 and "state" in fresh.json()


async def test_a_chat_answer_is_grounded_in_code_from_another_file(
    tmp_path: Path, fake: FakeLLM
) -> None:
    fake.anthropic.append(anthropic_text(["It backs off: see uploads.py:10-17."]))
    settings = make_settings(
        tmp_path,
        anthropic_api_key="sk-ant-test-key-000000000000000000",
        anthropic_base_url=fake.url,
        model_balanced="anthropic:claude-test",
    )
    async with serve(settings) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        root = Path(workspace["path"])
        (root / "uploads.py").write_text(UPLOADS)
        (root / "reports.py").write_text(REPORTS)
        (root / "main.py").write_text("from uploads import Uploader\n")
        client, inbox = await joined(nexus, ADMIN_TOKEN, workspace["id"], "chat:done")
        try:
            await indexed(nexus, workspace["id"], "retry failed uploads")
            ack = await client.call(
                "chat:send",
                {
                    "workspace": workspace["id"],
                    "text": "How do we retry failed uploads?",
                    "context": {"path": "main.py", "line": 1},
                },
            )
            assert ack["ok"], ack
            await inbox.wait_for("chat:done", lambda d: d["id"] == ack["result"]["id"])
            prompt = json.dumps(fake.bodies("/v1/messages")[0])
            assert "uploads.py:10-17" in prompt  # the chunk, under its citation header
            assert "upload_with_retries" in prompt
            assert "path:start-end" in prompt  # and the model is asked to cite it
        finally:
            await client.disconnect()
