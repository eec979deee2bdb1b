"""Source control through the real server: repositories made by pygit2 in workspace
folders, driven over REST, `POST /api/v1/commands/…` and Socket.IO `command:execute`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pygit2
import pytest

from tests._client import eventually, execute, join, post_command
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import RunningServer

SETUP = pygit2.Signature("Setup Bot", "setup@example.com")


def commit_all(root: Path, message: str, author: pygit2.Signature = SETUP) -> str:
    """Stage everything and commit with pygit2 directly, as someone outside NEXUS would."""
    repo = pygit2.Repository(str(root))
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    commit_id = repo.create_commit("HEAD", author, author, message, tree, parents)
    return str(commit_id)


class Workspace:
    """A workspace owned by alice, with helpers for its git routes."""

    def __init__(self, nexus: RunningServer, token: str, data: dict[str, Any]) -> None:
        self.nexus = nexus
        self.token = token
        self.id = data["id"]
        self.root = Path(data["path"])

    def url(self, route: str) -> str:
        return f"/api/v1/workspaces/{self.id}/git/{route}"

    async def get(self, route: str, token: str | None = None, **params: Any) -> httpx.Response:
        return await self.nexus.http.get(
            self.url(route), params=params, headers=self.nexus.headers(token or self.token)
        )

    async def post(self, route: str, body: Any = None, token: str | None = None) -> httpx.Response:
        return await self.nexus.http.post(
            self.url(route), json=body, headers=self.nexus.headers(token or self.token)
        )

    async def command(self, command: str, args: Any = None, token: str | None = None) -> Any:
        return await post_command(self.nexus, token or self.token, self.id, command, args)

    async def codes(self) -> dict[str, str]:
        response = await self.get("status")
        assert response.status_code == 200, response.text
        return {entry["path"]: entry["code"] for entry in response.json()["files"]}


@pytest.fixture
async def alice(nexus: RunningServer) -> Workspace:
    token = await nexus.create_user("alice")
    return Workspace(nexus, token, await nexus.create_workspace(token, "project"))


@pytest.fixture
async def repo(alice: Workspace) -> Workspace:
    """A repository with one commit: a.txt, b.txt, src/c.txt and a .gitignore."""
    pygit2.init_repository(str(alice.root), initial_head="main")
    (alice.root / "a.txt").write_text("alpha\nbeta\n")
    (alice.root / "b.txt").write_text("bravo\n")
    (alice.root / "src").mkdir()
    (alice.root / "src" / "c.txt").write_text("charlie\n")
    (alice.root / ".gitignore").write_text("*.log\nbuild/\n")
    commit_all(alice.root, "Initial commit\n")
    return alice


async def test_not_a_repository_until_init(alice: Workspace) -> None:
    response = await alice.get("status")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_a_repository" and "git.init" in error["message"]

    created = await alice.post("init")
    assert created.status_code == 201, created.text
    assert created.json()["branch"] == "main"
    assert pygit2.Repository(str(alice.root)).head_is_unborn
    again = await alice.post("init")
    assert again.status_code == 409 and "already" in again.json()["error"]["message"]

    status = await alice.get("status")
    assert status.json() == {"branch": "main", "detached": False, "head": None, "files": []}
    assert (await alice.get("log")).json() == []
    branches = (await alice.get("branches")).json()
    assert branches["current"] == "main" and branches["branches"][0]["commit"] is None


async def test_status_lists_changes_and_respects_gitignore(repo: Workspace) -> None:
    (repo.root / "a.txt").write_text("alpha\nBETA\n")
    (repo.root / "b.txt").unlink()
    (repo.root / "new.txt").write_text("new\n")
    (repo.root / "notes").mkdir()
    (repo.root / "notes" / "todo.md").write_text("- git\n")
    (repo.root / "debug.log").write_text("noise\n")
    (repo.root / "build").mkdir()
    (repo.root / "build" / "out.bin").write_bytes(b"\0\1")
    staged = await repo.post("stage", {"paths": ["new.txt"]})
    assert staged.status_code == 200, staged.text

    response = await repo.get("status")
    body = response.json()
    assert body["branch"] == "main" and not body["detached"] and len(body["head"]) == 40
    files = {entry["path"]: entry for entry in body["files"]}
    assert {path: entry["code"] for path, entry in files.items()} == {
        "a.txt": " M",
        "b.txt": " D",
        "new.txt": "A ",
        "notes/todo.md": "??",
    }
    assert files["a.txt"]["worktree"] == "modified" and files["a.txt"]["index"] is None
    assert files["new.txt"]["index"] == "added"
    assert files["notes/todo.md"]["worktree"] == "untracked"


async def test_diff_stage_and_unstage(repo: Workspace) -> None:
    (repo.root / "a.txt").write_text("alpha\nBETA\ngamma\n")
    diff = (await repo.get("diff", path="a.txt")).json()
    assert diff["added"] == 2 and diff["deleted"] == 1 and not diff["binary"]
    assert "--- a/a.txt\n+++ b/a.txt\n" in diff["patch"]
    assert "-beta\n+BETA\n+gamma\n" in diff["patch"]
    assert (await repo.get("diff", path="a.txt", staged="true")).json()["patch"] == ""

    assert (await repo.post("stage", {"paths": ["a.txt"]})).json()["files"][0]["code"] == "M "
    staged = (await repo.get("diff", path="a.txt", staged="true")).json()
    assert staged["staged"] and "+gamma\n" in staged["patch"] and staged["added"] == 2
    assert (await repo.get("diff", path="a.txt")).json()["patch"] == ""

    unstaged = await repo.post("unstage", {"paths": ["a.txt"]})
    assert unstaged.status_code == 200 and await repo.codes() == {"a.txt": " M"}
    assert (await repo.get("diff", path="a.txt", staged="true")).json()["patch"] == ""

    # A folder stages its new, changed and deleted files at once.
    (repo.root / "src" / "c.txt").unlink()
    (repo.root / "src" / "d.txt").write_text("delta\n")
    await repo.post("stage", {"paths": ["src"]})
    assert await repo.codes() == {"a.txt": " M", "src/c.txt": "D ", "src/d.txt": "A "}
    untracked = (await repo.get("diff", path="new.md")).status_code
    assert untracked == 404
    (repo.root / "new.md").write_text("# new\n")
    assert (await repo.get("diff", path="new.md")).json()["patch"].endswith("+# new\n")


async def test_unstage_before_the_first_commit(alice: Workspace) -> None:
    assert (await alice.command("git.init")).status_code == 200
    (alice.root / "first.txt").write_text("one\n")
    await alice.post("stage", {"paths": ["first.txt"]})
    assert await alice.codes() == {"first.txt": "A "}
    await alice.post("unstage", {"paths": ["first.txt"]})
    assert await alice.codes() == {"first.txt": "??"}


async def test_commit_as_the_user_then_log(repo: Workspace) -> None:
    (repo.root / "a.txt").write_text("alpha\nbeta\ngamma\n")
    await repo.command("git.stage", {"paths": ["a.txt"]})
    response = await repo.command("git.commit", {"message": "  Add gamma\n\nBecause.  \n"})
    assert response.status_code == 200, response.text
    commit = response.json()["result"]
    assert commit["author"] == {"name": "alice", "email": "alice@nexus.local"}
    assert commit["summary"] == "Add gamma" and commit["message"] == "Add gamma\n\nBecause.\n"
    stored = pygit2.Repository(str(repo.root))[commit["id"]]
    assert stored.committer.name == "alice" and await repo.codes() == {}

    (repo.root / "b.txt").write_text("bravo\nbravo\n")
    await repo.post("stage", {"paths": ["b.txt"]})
    second = await repo.post("commit", {"message": "Double bravo"})
    assert second.status_code == 201, second.text

    log = (await repo.get("log")).json()
    assert [entry["summary"] for entry in log] == ["Double bravo", "Add gamma", "Initial commit"]
    assert log[0]["parents"] == [commit["id"]] and log[0]["short_id"] == log[0]["id"][:7]
    assert [e["summary"] for e in (await repo.get("log", limit=1)).json()] == ["Double bravo"]
    only_a = (await repo.get("log", path="a.txt")).json()
    assert [entry["summary"] for entry in only_a] == ["Add gamma", "Initial commit"]

    audit = await repo.nexus.http.get(
        f"/api/v1/workspaces/{repo.id}/audit", headers=repo.nexus.headers(repo.token)
    )
    commits = [entry for entry in audit.json() if entry["action"] == "git.commit"]
    assert [entry["detail"]["summary"] for entry in commits] == ["Double bravo", "Add gamma"]

    nothing = await repo.post("commit", {"message": "Again"})
    assert nothing.status_code == 409
    assert nothing.json()["error"]["message"] == "nothing to commit"
    (repo.root / "a.txt").write_text("changed but not staged\n")
    hint = (await repo.post("commit", {"message": "Again"})).json()["error"]["message"]
    assert hint == "nothing to commit; stage changes first with git.stage"
    empty = await repo.post("commit", {"message": "   "})
    assert empty.status_code == 422 and "message" in empty.json()["error"]["message"]


async def test_commit_on_a_detached_head_is_refused(repo: Workspace) -> None:
    git = pygit2.Repository(str(repo.root))
    git.set_head(git.head.target)
    (repo.root / "a.txt").write_text("detached\n")
    await repo.post("stage", {"paths": ["a.txt"]})
    response = await repo.post("commit", {"message": "Lost"})
    assert response.status_code == 409 and "detached" in response.json()["error"]["message"]
    assert (await repo.get("status")).json()["detached"] is True


async def test_branches_create_switch_and_refuse_to_overwrite(repo: Workspace) -> None:
    socket = await repo.nexus.socket(repo.token)
    changes: list[dict[str, Any]] = []
    socket.on("git:changed", changes.append)
    await join(socket, repo.id)

    created = await repo.post("branches", {"name": "feature/x"})
    assert created.status_code == 201 and created.json()["current"] is False
    assert (await repo.post("branches", {"name": "feature/x"})).status_code == 409
    assert (await repo.post("branches", {"name": "bad..name"})).status_code == 422

    switched = await execute(socket, repo.id, "git.checkout", {"branch": "feature/x"})
    assert switched["current"] == "feature/x"
    (repo.root / "a.txt").write_text("feature work\n")
    await repo.post("stage", {"paths": ["a.txt"]})
    assert (await repo.post("commit", {"message": "Feature"})).status_code == 201

    back = await repo.post("checkout", {"branch": "main"})
    assert back.status_code == 200 and back.json()["current"] == "main"
    assert (repo.root / "a.txt").read_text() == "alpha\nbeta\n"

    (repo.root / "a.txt").write_text("unsaved local work\n")
    refused = await repo.post("checkout", {"branch": "feature/x"})
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert "would overwrite local changes to a.txt" in message
    assert (repo.root / "a.txt").read_text() == "unsaved local work\n"
    assert (await repo.get("branches")).json()["current"] == "main"
    missing = await repo.post("checkout", {"branch": "nope"})
    assert missing.status_code == 404 and "unknown branch" in missing.json()["error"]["message"]

    await eventually(lambda: [c["action"] for c in changes][:3] == ["branch", "checkout", "stage"])
    assert changes[1] == {
        "workspace": repo.id,
        "action": "checkout",
        "username": "alice",
        "branch": "feature/x",
        "head": created.json()["commit"],
    }
    await socket.disconnect()


async def test_blame(repo: Workspace) -> None:
    (repo.root / "a.txt").write_text("alpha\nBETA\n")
    await repo.post("stage", {"paths": ["a.txt"]})
    mine = (await repo.post("commit", {"message": "Shout beta"})).json()
    blame = await repo.get("blame", path="a.txt")
    assert blame.status_code == 200, blame.text
    hunks = [
        (h["start_line"], h["end_line"], h["author"]["name"], h["summary"])
        for h in blame.json()["hunks"]
    ]
    assert hunks == [(1, 1, "Setup Bot", "Initial commit"), (2, 2, "alice", "Shout beta")]
    assert blame.json()["hunks"][1]["commit"] == mine["id"]
    (repo.root / "fresh.txt").write_text("x\n")
    assert (await repo.get("blame", path="fresh.txt")).status_code == 404
    assert (await repo.get("blame", path="src")).status_code == 422


async def test_viewers_read_but_cannot_change_the_repository(repo: Workspace) -> None:
    viewer = await repo.nexus.create_user("bob")
    await repo.nexus.add_member(repo.token, repo.id, "bob", "viewer")
    (repo.root / "a.txt").write_text("changed\n")
    assert (await repo.get("status", token=viewer)).status_code == 200
    assert (await repo.get("log", token=viewer)).status_code == 200
    for route, body in (("stage", {"paths": ["a.txt"]}), ("commit", {"message": "x"})):
        refused = await repo.post(route, body, token=viewer)
        assert refused.status_code == 403, refused.text
    assert (await repo.command("git.commit", {"message": "x"}, token=viewer)).status_code == 403
    assert (await repo.command("git.stage", {"paths": ["a.txt"]}, viewer)).status_code == 403
    assert await repo.codes() == {"a.txt": " M"}
    assert len((await repo.get("log")).json()) == 1


async def test_paths_outside_the_workspace_are_refused(repo: Workspace) -> None:
    outside = repo.root.parent / "secret.txt"
    outside.write_text("secret\n")
    (repo.root / "link.txt").symlink_to(outside)
    for path in ("../secret.txt", "/etc/passwd", ".git/config", "src/../../secret.txt"):
        response = await repo.post("stage", {"paths": ["a.txt", path]})
        assert response.status_code == 403, (path, response.text)
        assert (await repo.get("diff", path=path)).status_code == 403
    link = (await repo.get("diff", path="link.txt")).json()  # git stores the link itself
    assert link["patch"].endswith(f"+{outside}\n\\ No newline at end of file\n")
    (repo.root / "a.txt").write_text("changed\n")
    await repo.post("stage", {"paths": ["a.txt", "../secret.txt"]})
    assert (await repo.codes())["a.txt"] == " M"  # the whole request changed nothing
    unknown = await repo.post("stage", {"paths": ["missing.txt"]})
    assert unknown.status_code == 404 and "unknown path" in unknown.json()["error"]["message"]
    ignored = await repo.post("stage", {"paths": ["debug.log"]})
    assert ignored.status_code == 404
    (repo.root / "debug.log").write_text("noise\n")
    ignored = await repo.post("stage", {"paths": ["debug.log"]})
    assert ignored.status_code == 422 and ".gitignore" in ignored.json()["error"]["message"]


async def test_live_document_edits_show_up_at_once(repo: Workspace) -> None:
    url = yjs_url(repo.nexus.url, repo.id, "a.txt", repo.token)
    async with connected_doc(url) as (_, typist, _), connected_doc(url) as (_, watcher, _):
        typist += "typed live\n"
        await wait_text(watcher, "alpha\nbeta\ntyped live\n")  # the server has the edit
        assert await repo.codes() == {"a.txt": " M"}
        diff = (await repo.get("diff", path="a.txt")).json()
        assert diff["patch"].endswith("+typed live\n") and diff["added"] == 1


async def test_concurrent_calls_take_turns(repo: Workspace) -> None:
    for n in range(10):
        (repo.root / f"f{n}.txt").write_text(f"{n}\n")
    calls = [repo.post("stage", {"paths": [f"f{n}.txt"]}) for n in range(10)]
    calls += [repo.get("status") for _ in range(10)]
    responses = await asyncio.gather(*calls)
    assert [response.status_code for response in responses] == [200] * 20
    assert set((await repo.codes()).values()) == {"A "}
    assert (await repo.post("commit", {"message": "Ten files"})).status_code == 201
