"""Workspace text search as a search panel sees it: REST, the command, and live documents."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from server.search.service import MAX_FILE_BYTES, SearchArgs, search_files
from tests._client import command_ack, execute, post_command
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer


def write(root: Path, relative: str, content: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


async def search(
    nexus: RunningServer, token: str, workspace_id: str, status: int = 200, **body: Any
) -> Any:
    response = await nexus.http.post(
        f"/api/v1/workspaces/{workspace_id}/search/text", json=body, headers=nexus.headers(token)
    )
    assert response.status_code == status, response.text
    return response.json()


async def metric(nexus: RunningServer, sample: str) -> float:
    """One sample's value from /metrics (0 when absent)."""
    for line in (await nexus.http.get("/metrics")).text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def spots(result: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [(m["path"], m["line"], m["column"], m["length"]) for m in result["results"]]


async def workspace_with(nexus: RunningServer, files: dict[str, str | bytes]) -> tuple[str, str]:
    """(owner token, workspace id) of a fresh workspace holding `files`."""
    owner = await nexus.create_user("alice")
    workspace = await nexus.create_workspace(owner)
    for relative, content in files.items():
        write(Path(workspace["path"]), relative, content)
    return owner, workspace["id"]


async def test_literal_case_and_whole_word(nexus: RunningServer) -> None:
    owner, ws = await workspace_with(
        nexus,
        {
            "src/app.py": "print('Hello world')\nhello = 1\nsay_hello(helloworld)\n",
            "README.md": "nothing here\n",
        },
    )
    found = await search(nexus, owner, ws, query="hello")
    assert spots(found) == [
        ("src/app.py", 1, 8, 5),
        ("src/app.py", 2, 1, 5),
        ("src/app.py", 3, 5, 5),
        ("src/app.py", 3, 11, 5),
    ]
    assert found["results"][0]["preview"] == "print('Hello world')"
    assert found["files_searched"] == 2 and found["truncated"] is False
    assert found["elapsed_ms"] >= 0

    sensitive = await search(nexus, owner, ws, query="Hello", case_sensitive=True)
    assert spots(sensitive) == [("src/app.py", 1, 8, 5)]
    # Whole word: `say_hello` and `helloworld` are other words.
    words = await search(nexus, owner, ws, query="hello", whole_word=True)
    assert spots(words) == [("src/app.py", 1, 8, 5), ("src/app.py", 2, 1, 5)]


async def test_regex_with_groups_and_invalid_regex(nexus: RunningServer) -> None:
    owner, ws = await workspace_with(
        nexus, {"conf.py": "width = 80\nname = 'x'\n  height=600\n", "notes.txt": "w = 3\n"}
    )
    found = await search(nexus, owner, ws, query=r"(\w+)\s*=\s*(\d+)", is_regex=True)
    assert spots(found) == [("conf.py", 1, 1, 10), ("conf.py", 3, 3, 10), ("notes.txt", 1, 1, 5)]
    anchored = await search(nexus, owner, ws, query=r"^name", is_regex=True)
    assert spots(anchored) == [("conf.py", 2, 1, 4)]

    refused = await search(nexus, owner, ws, status=422, query="(unclosed", is_regex=True)
    assert refused["error"]["code"] == "invalid"
    assert "invalid regular expression" in refused["error"]["message"]
    # Patterns that would take the server's memory or seconds to compile are refused.
    for huge in ("a{1000000000}", "(?:(?:a{100}){100}){100}", "(?:[[:alpha:]]{999}){99}"):
        refused = await search(nexus, owner, ws, status=422, query=huge, is_regex=True)
        assert "invalid regular expression" in refused["error"]["message"], huge
    assert (await search(nexus, owner, ws, query=r"\d{1,3}", is_regex=True))["results"]
    # The same text as a literal is fine.
    literal = await search(nexus, owner, ws, query="(unclosed")
    assert literal["results"] == []


async def test_include_and_exclude_globs(nexus: RunningServer) -> None:
    owner, ws = await workspace_with(
        nexus,
        {
            "src/main.py": "TODO one\n",
            "src/lib/util.py": "TODO two\n",
            "src/lib/util.js": "TODO three\n",
            "docs/guide.md": "TODO four\n",
        },
    )
    py = await search(nexus, owner, ws, query="TODO", include=["*.py"])
    assert [m["path"] for m in py["results"]] == ["src/lib/util.py", "src/main.py"]
    assert py["files_searched"] == 2
    no_docs = await search(nexus, owner, ws, query="TODO", exclude=["docs/", "*.js"])
    assert [m["path"] for m in no_docs["results"]] == ["src/lib/util.py", "src/main.py"]
    # VS Code's comma-separated form, with a folder glob.
    lib = await search(nexus, owner, ws, query="TODO", include="src/lib/**, docs", exclude="*.py")
    assert [m["path"] for m in lib["results"]] == ["docs/guide.md", "src/lib/util.js"]


async def test_ignored_binary_and_oversized_files_are_not_searched(nexus: RunningServer) -> None:
    owner, ws = await workspace_with(
        nexus,
        {
            ".gitignore": "build/\n*.log\n",
            "kept.py": "needle = 1\n",
            "build/out.py": "needle = 2\n",
            "debug.log": "needle 3\n",
            "node_modules/pkg/index.js": "needle(4)\n",
            ".git/config": "needle 5\n",
            ".venv/pyvenv.cfg": "needle 6\n",
            "image.bin": b"\x89PNG\0\0needle 7\n",
            "huge.txt": "needle 8\n" + "x" * MAX_FILE_BYTES,
        },
    )
    outside = Path(nexus.settings.workspace_root) / "outside.txt"
    outside.write_text("needle 9\n")
    workspace = await nexus.http.get(f"/api/v1/workspaces/{ws}", headers=nexus.headers(owner))
    (Path(workspace.json()["path"]) / "leak.txt").symlink_to(outside)
    found = await search(nexus, owner, ws, query="needle")
    assert spots(found) == [("kept.py", 1, 1, 6)]
    # .gitignore itself, kept.py; not the binary, the oversized file or the symlink out.
    assert found["files_searched"] == 2


async def test_columns_count_utf16_units(nexus: RunningServer) -> None:
    long_line = "a" * 500 + "needle" + "b" * 500
    owner, ws = await workspace_with(
        nexus, {"emoji.txt": "😀 é needle\nÉCOLE ici: école\n", "long.txt": long_line + "\n"}
    )
    found = await search(nexus, owner, ws, query="needle")
    emoji, long = found["results"]
    # 😀 is one code point but two UTF-16 units: the match starts at unit 6, as Monaco counts.
    assert spots(found)[0] == ("emoji.txt", 1, 6, 6)
    assert emoji["preview"] == "😀 é needle" and emoji["preview_start"] == 5
    # A long line is cut around the match, and preview_start points at it.
    assert long["column"] == 501 and len(long["preview"]) == 200
    start = long["preview_start"]
    assert long["preview"][start : start + 6] == "needle"

    # Case-insensitive matching of non-ASCII text folds Unicode case.
    accents = await search(nexus, owner, ws, query="école")
    assert spots(accents) == [("emoji.txt", 2, 1, 5), ("emoji.txt", 2, 12, 5)]
    after_emoji = await search(nexus, owner, ws, query=r"é\s+(n\w+)", is_regex=True)
    assert spots(after_emoji) == [("emoji.txt", 1, 4, 8)]
    write(Path(nexus.settings.workspace_root) / "demo", "kelvin.txt", "\u212aILO\n")
    assert spots(await search(nexus, owner, ws, query="kilo")) == [("kelvin.txt", 1, 1, 4)]


async def test_max_results_truncates(nexus: RunningServer) -> None:
    owner, ws = await workspace_with(nexus, {"many.txt": "hit hit hit\n" * 10})
    truncations = await metric(nexus, 'nexus_search_truncated_total{reason="max_results"}')
    found = await search(nexus, owner, ws, query="hit", max_results=7)
    assert len(found["results"]) == 7
    assert found["truncated"] is True and found["reason"] == "max_results"
    assert spots(found)[-1] == ("many.txt", 3, 1, 3)
    exact = await search(nexus, owner, ws, query="hit", max_results=30)
    assert len(exact["results"]) == 30 and exact["truncated"] is False
    too_many = await nexus.http.post(
        f"/api/v1/workspaces/{ws}/search/text",
        json={"query": "hit", "max_results": 1_000_000},
        headers=nexus.headers(owner),
    )
    assert too_many.status_code == 422 and "max_results" in too_many.json()["error"]["message"]
    after = await metric(nexus, 'nexus_search_truncated_total{reason="max_results"}')
    assert after == truncations + 1
    assert await metric(nexus, 'nexus_search_total{outcome="complete"}') >= 1


@pytest.mark.unit
def test_time_budget_stops_a_runaway_regex(tmp_path: Path) -> None:
    write(tmp_path, "evil.txt", "a" * 40 + "!\n")
    started = time.monotonic()
    result = search_files(tmp_path, SearchArgs(query="(a|aa)+$", is_regex=True), budget_s=0.3)
    assert time.monotonic() - started < 3
    assert result.truncated and result.reason == "time_budget" and result.results == []


async def test_viewers_search_outsiders_cannot(nexus: RunningServer) -> None:
    owner, ws = await workspace_with(nexus, {"a.py": "secret_value = 42\n"})
    viewer = await nexus.create_user("bob")
    outsider = await nexus.create_user("carol")
    await nexus.add_member(owner, ws, "bob", "viewer")
    assert spots(await search(nexus, viewer, ws, query="secret_value")) == [("a.py", 1, 1, 12)]
    refused = await search(nexus, outsider, ws, status=403, query="secret_value")
    assert refused["error"]["code"] == "forbidden"

    # The command gives the same answer, over REST and over Socket.IO.
    command = await post_command(
        nexus, viewer, ws, "search.workspace", {"query": "SECRET", "case_sensitive": True}
    )
    assert command.status_code == 200 and command.json()["result"]["results"] == []
    client = await nexus.socket(viewer)
    try:
        found = await execute(client, ws, "search.workspace", {"query": "value = 4"})
        assert spots(found) == [("a.py", 1, 8, 9)]
        bad = await command_ack(client, ws, "search.workspace", {"query": "[", "is_regex": 1})
        assert bad["ok"] is False and "invalid regular expression" in bad["error"]["message"]
        other = await nexus.socket(outsider)
        try:
            denied = await command_ack(other, ws, "search.workspace", {"query": "x"})
            assert denied["ok"] is False and denied["error"]["code"] == "forbidden"
        finally:
            await other.disconnect()
    finally:
        await client.disconnect()


async def test_live_document_text_is_found(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    write(Path(workspace["path"]), "notes.md", "first line\n")
    url = yjs_url(nexus.url, workspace["id"], "notes.md", ADMIN_TOKEN)
    async with connected_doc(url) as (_, alice, _), connected_doc(url) as (_, bob, _):
        alice += "just typed zebra42\n"
        # Once a collaborator sees it, the server has it; the file may not yet.
        await wait_text(bob, "first line\njust typed zebra42\n")
        found = await search(nexus, ADMIN_TOKEN, workspace["id"], query="zebra42")
        assert spots(found) == [("notes.md", 2, 12, 7)]


# A file can be skipped only when it lacks the literal; so every match must contain it.
LITERAL_CASES = [
    (r"def \w+_handler\(", False, "def needle_handler(request):", b"_handler("),
    (r"(?i)NEEDLE", False, "a needle here", b"needle"),
    (r"x(ab)(?:cd)y", True, "XABCDY", b"xabcdy"),
    (r"fo+bar|baz", False, "baz", None),
    (r"[[:alpha:]xyz]", False, "q", None),
    (r"(?:foo){e<=1}", False, "fxo", None),
    (r"ab{2}cd", False, "abbcd", b"cd"),
    (r"é\s+(n\w+)", False, "😀 é needle", "é".encode()),
    (r"kilo_meter", True, "\u212aILO_METER", b"lo_meter"),  # a Kelvin sign matches k
    (r"[", False, "", None),
]


@pytest.mark.unit
def test_required_literals_are_in_every_match() -> None:
    import regex

    from server.search.patterns import required_literal

    for pattern, ignore_case, text, expected in LITERAL_CASES:
        literal = required_literal(pattern, ignore_case=ignore_case)
        assert (literal[0] if literal else None) == expected, pattern
        if literal is None:
            continue
        needle, folded = literal
        flags = regex.IGNORECASE if ignore_case else 0
        for match in regex.finditer(pattern, text, flags):
            found = match.group().encode()
            assert needle in (found.lower() if folded else found), (pattern, text)
