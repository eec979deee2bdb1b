"""Interop: the stock yjs + y-websocket packages, run with node, co-edit through `/yjs`
with a Socket.IO client and a pycrdt client."""

from __future__ import annotations

from pathlib import Path

from tests._client import eventually, wait_file
from tests._jsclient import JsClient
from tests._yclient import SocketDoc, connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer


async def test_stock_client_socketio_and_pycrdt_converge(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    path = Path(workspace["path"]) / "src" / "app.py"
    path.parent.mkdir()
    path.write_text("def main():\n    pass\n")
    stock = await JsClient.connect(nexus.url, workspace["id"], "src/app.py", ADMIN_TOKEN)
    socket = await nexus.socket(ADMIN_TOKEN)
    browser = SocketDoc(socket, workspace["id"], "src/app.py")
    await browser.open()
    url = yjs_url(nexus.url, workspace["id"], "src/app.py", ADMIN_TOKEN)
    try:
        assert await stock.text() == "def main():\n    pass\n"
        async with connected_doc(url) as (_, python, _):
            # All three type at once, at different places.
            await stock.call("insert", index=0, text="# stock\n")
            python += "# pycrdt\n"
            browser.text.insert(0, "# browser\n")

            async def converged() -> bool:
                texts = {await stock.text(), str(python), str(browser.text)}
                return len(texts) == 1 and all(
                    tag in next(iter(texts)) for tag in ("# stock", "# pycrdt", "# browser")
                )

            await eventually(converged, timeout=10, interval=0.05)
            final = str(python)
            await wait_file(path, final)
            assert final.count("# stock\n") == final.count("# pycrdt\n") == 1
    finally:
        await stock.close()
        await socket.disconnect()


async def test_stock_client_unicode_lands_where_it_was_typed(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    (Path(workspace["path"]) / "u.txt").write_text("ab\n")
    stock = await JsClient.connect(nexus.url, workspace["id"], "u.txt", ADMIN_TOKEN)
    url = yjs_url(nexus.url, workspace["id"], "u.txt", ADMIN_TOKEN)
    try:
        # UTF-16 indices: "😀" is two units, so index 3 is right after it.
        await stock.call("insert", index=1, text="😀")
        await stock.call("insert", index=3, text="日本")
        await stock.call("insert", index=5, text="e\u0301")
        expected = "a😀日本e\u0301b\n"
        assert await stock.text() == expected
        async with connected_doc(url) as (_, python, _):
            await wait_text(python, expected)
            # And the other way: Python inserts after the emoji (pycrdt counts UTF-8 bytes).
            python.insert(len("a😀".encode()), "→")
            await stock.call("wait_text", equals="a😀→日本e\u0301b\n")
        await wait_file(Path(workspace["path"]) / "u.txt", "a😀→日本e\u0301b\n")
    finally:
        await stock.close()


async def test_stock_client_is_refused_without_a_token(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    try:
        await JsClient.connect(nexus.url, workspace["id"], "a.txt", "nx_wrong")
    except RuntimeError as exc:
        assert "4401" in str(exc) or "unknown token" in str(exc)
    else:
        raise AssertionError("a bad token must not sync")
