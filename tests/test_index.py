"""The codebase index as its users meet it: questions find the function they mean, edits
are followed chunk by chunk, restarts resume, damage is repaired, bad input is refused.

Real tree-sitter grammars, real Qdrant local mode in a temporary folder, and a real code
base: starlette's source, copied from the virtualenv into a workspace.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import starlette
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.errors import InvalidInput, Unavailable
from server.folders.watcher import ChangeKind, FileChange, FilesChanged
from server.index import (
    CodeIndex,
    CodeIndexes,
    IndexState,
    OpenAIEmbedder,
    VectorStore,
    chunk_file,
)
from server.index._terms import terms
from tests._backing import free_port

STARLETTE = Path(starlette.__file__).parent

# (question, file, definition): written as a person asks, not copied from names.
LABELLED = [
    ("parse the Cookie header of a request into a dict", "requests.py", "cookie_parser"),
    ("set a cookie on a response with max age and samesite", "responses.py", "set_cookie"),
    ("answer the CORS preflight OPTIONS request", "middleware/cors.py", "preflight_response"),
    ("build a WSGI environ from an ASGI scope", "middleware/wsgi.py", "build_environ"),
    ("split a host header into host and port", "_utils.py", "parse_host_header"),
    ("register a custom path parameter type for routes", "convertors.py", "register_url_convertor"),
    ("decorator requiring the user to have some permissions", "authentication.py", "requires"),
    ("parse the Range header when downloading part of a file", "responses.py",
     "_parse_range_header"),
]  # fmt: skip


class CountingEmbedder:
    """A deterministic stand-in for an embeddings model (hashed bag of terms), counting
    every text it is asked to embed."""

    id = "test:hashed-terms"
    dimensions = 512

    def __init__(self) -> None:
        self.texts = 0
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        vectors = []
        for text in texts:
            vector = [0.0] * self.dimensions
            for term in terms(text):
                vector[int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dimensions] += 1
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            vectors.append([v / norm for v in vector])
        return vectors


def copy_starlette(root: Path) -> Path:
    shutil.copytree(STARLETTE, root / "starlette", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[VectorStore]:
    store = VectorStore(path=tmp_path / "qdrant")
    yield store
    store.close()


async def open_index(root: Path, store: VectorStore, state: Path, **options: object) -> CodeIndex:
    index = CodeIndex("ws1", root, store, state, **options)  # type: ignore[arg-type]
    await index.start()
    final = await index.wait_idle(timeout=60)
    assert final.status == "idle", final
    return index


def chunks_of(path: Path, relative: str) -> int:
    return len(chunk_file(relative, path.read_text(encoding="utf-8")))


# Search --------------------------------------------------------------------------------


async def test_labelled_questions_find_their_function(tmp_path: Path, store: VectorStore) -> None:
    root = copy_starlette(tmp_path / "ws")
    index = await open_index(root, store, tmp_path / "state")
    assert index.state.files == len(list((root / "starlette").rglob("*.py")))
    first = 0
    for question, file, name in LABELLED:
        hits = await index.search(question, k=5)
        names = [(hit.path, hit.name.rsplit(".", 1)[-1]) for hit in hits]
        assert (f"starlette/{file}", name) in names[:3], (question, names)
        first += names[0] == (f"starlette/{file}", name)
    assert first >= len(LABELLED) - 2
    hit = (await index.search("set a cookie on a response with max age and samesite", k=1))[0]
    lines = (root / hit.path).read_text().splitlines()
    assert "def set_cookie" in lines[hit.start_line - 1]  # 1-based, inclusive
    assert hit.snippet.split("\n")[0] == lines[hit.start_line - 1]
    await index.close()


async def test_bad_input_is_refused_with_a_clear_error(tmp_path: Path, store: VectorStore) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "retry.py").write_text("def retry_upload(part):\n    return send(part)\n")
    index = await open_index(root, store, tmp_path / "state")
    for query, k in [("", 5), ("   ", 5), ("retry", 0), ("retry", 101), ("retry", "5")]:
        with pytest.raises(InvalidInput):
            await index.search(query, k)  # type: ignore[arg-type]
    huge = "where do we retry failed uploads " + "x" * 100_000
    hits = await index.search(huge, k=3)
    assert hits and hits[0].name == "retry_upload"
    await index.close()


# Following edits -----------------------------------------------------------------------


async def test_an_edit_reindexes_only_the_changed_chunks(
    tmp_path: Path, store: VectorStore
) -> None:
    root = copy_starlette(tmp_path / "ws")
    embedder = CountingEmbedder()
    index = await open_index(root, store, tmp_path / "state", embedder=embedder)
    before = (index.stats.upserted, index.stats.moved, index.stats.deleted, embedder.texts)
    chunks_before = index.state.chunks
    path = root / "starlette" / "responses.py"
    text = path.read_text()
    # A line more inside one method: that method changes, every chunk below it moves.
    comment = "            # the cookie crumbs are swept here\n"
    edited = text.replace("            max_age=0,\n", comment + "            max_age=0,\n", 1)
    assert edited != text
    path.write_text(edited)
    await index.update_files(["starlette/responses.py"])
    await index.wait_idle(timeout=30)
    stats = index.stats
    changed = stats.upserted - before[0]
    assert changed == 1, changed
    assert stats.deleted - before[2] == 1
    assert stats.moved - before[1] > 10  # moved chunks get new line numbers, nothing else
    assert embedder.texts - before[3] == 1  # only the changed chunk was embedded
    assert index.state.chunks == chunks_before
    hits = await index.search("where are cookie crumbs swept", k=3)
    [hit] = [hit for hit in hits if hit.name == "Response.delete_cookie"]
    assert "def delete_cookie" in edited.splitlines()[hit.start_line - 1]
    await index.close()


async def test_deleting_a_file_removes_its_chunks(tmp_path: Path, store: VectorStore) -> None:
    root = copy_starlette(tmp_path / "ws")
    index = await open_index(root, store, tmp_path / "state")
    gone = chunks_of(root / "starlette" / "staticfiles.py", "starlette/staticfiles.py")
    total = index.state.chunks
    (root / "starlette" / "staticfiles.py").unlink()
    await index.remove_files(["starlette/staticfiles.py"])
    state = await index.wait_idle(timeout=30)
    assert state.chunks == total - gone
    hits = await index.search("serve static files from a directory", k=10)
    assert all(hit.path != "starlette/staticfiles.py" for hit in hits)
    await index.close()


async def test_watcher_events_reach_the_index(tmp_path: Path, store: VectorStore) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def alpha():\n    pass\n")
    seen: list[tuple[str, IndexState]] = []
    indexes = CodeIndexes(store, tmp_path / "state", on_progress=lambda w, s: seen.append((w, s)))
    index = await indexes.open("ws1", root)
    await index.wait_idle(timeout=30)
    (root / "b.py").write_text("def bravo_upload_retry():\n    pass\n")
    (root / "a.py").unlink()
    changes = [
        FileChange(path="a.py", kind=ChangeKind.deleted),
        FileChange(path="b.py", kind=ChangeKind.added),
    ]
    await indexes.on_files_changed(FilesChanged(workspace_id="ws1", changes=changes))
    state = await index.wait_idle(timeout=30)
    assert (state.files, state.chunks) == (1, 1)
    assert [h.name for h in await index.search("retry the upload", k=5)] == ["bravo_upload_retry"]
    assert seen[0][0] == "ws1" and seen[-1][1].status == "idle"
    assert any(s.status == "indexing" for _, s in seen)
    await indexes.close()


async def test_a_folder_moved_is_followed(tmp_path: Path, store: VectorStore) -> None:
    root = tmp_path / "ws"
    (root / "old").mkdir(parents=True)
    (root / "old" / "a.py").write_text("def alpha_upload():\n    pass\n")
    (root / "old" / "b.py").write_text("def bravo_download():\n    pass\n")
    index = await open_index(root, store, tmp_path / "state")
    (root / "old").rename(root / "new")  # a watcher may report just the two folders
    await index.remove_files(["old"])
    await index.update_files(["new"])
    state = await index.wait_idle(timeout=30)
    assert (state.files, state.chunks) == (2, 2)
    hits = await index.search("upload download", k=5)
    assert sorted(hit.path for hit in hits) == ["new/a.py", "new/b.py"]
    await index.close()


async def test_ignored_binary_and_huge_files_are_skipped(
    tmp_path: Path, store: VectorStore
) -> None:
    root = tmp_path / "ws"
    (root / "build").mkdir(parents=True)
    (root / ".gitignore").write_text("build/\nsecret.py\n")
    (root / "kept.py").write_text("def kept_function():\n    pass\n")
    (root / "secret.py").write_text("def secret_function():\n    pass\n")
    (root / "build" / "out.py").write_text("def built_function():\n    pass\n")
    (root / "blob.py").write_bytes(b"def binary_function():\n\x00\x01\x02")
    (root / "huge.py").write_text("def huge_function():\n    pass\n" + "# x\n" * 5000)
    index = await open_index(root, store, tmp_path / "state", max_file_bytes=10_000)
    hits = await index.search("kept secret built binary huge", k=20)
    assert {hit.name for hit in hits if hit.kind == "function"} == {"kept_function"}
    assert index.state.files == 3  # kept.py, .gitignore and blob.py (which has no chunks)
    await index.close()


async def test_searches_answer_while_indexing(tmp_path: Path, store: VectorStore) -> None:
    root = copy_starlette(tmp_path / "ws")
    index = CodeIndex("ws1", root, store, tmp_path / "state")
    await index.start()
    seen_indexing = False
    while index.state.status != "idle":
        seen_indexing |= index.state.status == "indexing"
        await index.search("parse the Cookie header of a request into a dict", k=5)
        await asyncio.sleep(0.01)
    assert seen_indexing
    hits = await index.search("parse the Cookie header of a request into a dict", k=5)
    assert hits[0].name == "cookie_parser"
    await index.close()


class FlakyEmbedder(CountingEmbedder):
    """An embeddings endpoint that is down until `up` is set."""

    up = False

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not self.up:
            raise Unavailable("the embeddings endpoint failed: connection refused")
        return await super().embed(texts)


async def test_an_embedder_that_is_down_leaves_lexical_search_working(
    tmp_path: Path, store: VectorStore
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "up.py").write_text("def retry_failed_uploads():\n    return send_again()\n")
    embedder = FlakyEmbedder()
    index = await open_index(root, store, tmp_path / "state", embedder=embedder)
    assert "embeddings endpoint failed" in (index.state.error or "")
    hits = await index.search("where do we retry failed uploads", k=3)
    assert hits[0].name == "retry_failed_uploads"
    embedder.up = True
    await index.rescan()  # what a restart or the next full scan does
    state = await index.wait_idle(timeout=30)
    assert state.error is None and embedder.texts == state.chunks
    await index.close()


async def test_an_openai_compatible_embeddings_endpoint_is_used(
    tmp_path: Path, store: VectorStore
) -> None:
    """OpenAIEmbedder against a real HTTP server speaking the embeddings API."""
    model = CountingEmbedder()
    received: list[dict[str, object]] = []

    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        received.append(body)
        vectors = await model.embed(body["input"])
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )

    port = free_port()
    app = Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        root = tmp_path / "ws"
        root.mkdir()
        (root / "up.py").write_text("def retry_failed_uploads():\n    return send_again()\n")
        embedder = OpenAIEmbedder("test-embed", base_url=f"http://127.0.0.1:{port}/v1")
        index = await open_index(root, store, tmp_path / "state", embedder=embedder)
        assert embedder.dimensions == CountingEmbedder.dimensions  # learnt from a probe
        assert received[0]["model"] == "test-embed" and model.texts == 1 + index.state.chunks
        hits = await index.search("retry failed uploads", k=1)
        assert hits[0].name == "retry_failed_uploads" and model.texts == 2 + index.state.chunks
        await index.close()
        await embedder.close()
    finally:
        server.should_exit = True
        await task


# Restarts and repair -------------------------------------------------------------------


async def test_a_restart_resumes_without_reembedding(tmp_path: Path) -> None:
    root = copy_starlette(tmp_path / "ws")
    store = VectorStore(path=tmp_path / "qdrant")
    first = CountingEmbedder()
    index = await open_index(root, store, tmp_path / "state", embedder=first)
    chunks = index.state.chunks
    assert first.texts == chunks
    await index.close()
    store.close()  # as a server restart does: the local files are all that is left
    store = VectorStore(path=tmp_path / "qdrant")
    second = CountingEmbedder()
    index = await open_index(root, store, tmp_path / "state", embedder=second)
    assert second.texts == 0 and index.stats.upserted == 0 and index.stats.files == 0
    assert index.state.chunks == chunks and index.state.indexed_files == index.state.files
    hits = await index.search("answer the CORS preflight OPTIONS request", k=3)
    assert "CORSMiddleware.preflight_response" in [hit.name for hit in hits]
    await index.close()
    store.close()


async def test_a_lost_collection_is_rebuilt(tmp_path: Path, store: VectorStore) -> None:
    root = copy_starlette(tmp_path / "ws")
    index = await open_index(root, store, tmp_path / "state")
    chunks = index.state.chunks
    store.drop(index.collection)  # someone else's hand, or a damaged store
    assert await index.search("build a WSGI environ from an ASGI scope", k=3) == []
    state = await index.wait_idle(timeout=60)
    assert state.status == "idle" and state.chunks == chunks
    hits = await index.search("build a WSGI environ from an ASGI scope", k=3)
    assert hits[0].name == "build_environ"
    await index.close()


async def test_points_missing_from_the_collection_are_restored(
    tmp_path: Path, store: VectorStore
) -> None:
    root = copy_starlette(tmp_path / "ws")
    index = await open_index(root, store, tmp_path / "state")
    chunks = index.state.chunks
    await index.close()
    # A crash between the two writes: the manifest lists points Qdrant never got.
    victims = [f.id for f in store.scroll(index.collection, ["path"])
               if f.payload["path"] == "starlette/middleware/wsgi.py"]  # fmt: skip
    store.delete(index.collection, victims)
    index = await open_index(root, store, tmp_path / "state")
    assert index.state.chunks == chunks
    assert index.stats.files == 1  # only the damaged file was read again
    hits = await index.search("build a WSGI environ from an ASGI scope", k=1)
    assert hits[0].name == "build_environ"
    await index.close()


async def test_a_qdrant_server_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def alpha():\n    pass\n")
    store = VectorStore(url=f"http://127.0.0.1:{free_port()}", timeout_s=1)
    index = CodeIndex("ws1", root, store, tmp_path / "state")
    await index.start()
    state = await index.wait_idle(timeout=30)
    assert state.status == "error" and "does not answer" in (state.error or "")
    with pytest.raises(Unavailable, match="does not answer"):
        await index.search("alpha", k=3)
    await index.close()
    store.close()


async def test_progress_reaches_the_listener(tmp_path: Path, store: VectorStore) -> None:
    root = copy_starlette(tmp_path / "ws")
    states: list[IndexState] = []

    async def listen(state: IndexState) -> None:
        states.append(state)
        await asyncio.sleep(0)

    index = await open_index(root, store, tmp_path / "state", on_progress=listen)
    assert states[0].status == "indexing" and states[-1].status == "idle"
    assert states[-1].chunks > 500 and states[-1].indexed_files == states[-1].files
    assert states[-1].as_dict()["error"] is None
    await index.close()
