"""The server serves the built web app: every app URL is `index.html`, never cached; the
content-hashed assets are cached for ever; nothing outside the build folder is reachable."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import make_settings, serve

INDEX = "<!doctype html><title>NEXUS test</title><script src='/assets/app-abc123.js'></script>"


def _build(web_dir: Path) -> Path:
    (web_dir / "assets").mkdir(parents=True)
    (web_dir / "index.html").write_text(INDEX)
    (web_dir / "assets" / "app-abc123.js").write_text("console.log('nexus')\n")
    (web_dir / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (web_dir.parent / "secret.txt").write_text("outside the build")
    return web_dir


async def test_app_urls_answer_the_index_uncached(tmp_path: Path) -> None:
    web_dir = _build(tmp_path / "dist")
    async with serve(make_settings(tmp_path, web_dir=web_dir)) as nexus:
        for url in ("/", "/?token=nx_abc", "/w/xyz", "/w/xyz?open=a.py", "/w/xyz/some/deep/path"):
            response = await nexus.http.get(url)
            assert response.status_code == 200, url
            assert response.text == INDEX, url
            assert response.headers["cache-control"] == "no-cache", url
            assert response.headers["content-type"].startswith("text/html"), url
        assert (await nexus.http.head("/w/xyz")).status_code == 200
        assert (await nexus.http.post("/w/xyz")).status_code == 405
        favicon = await nexus.http.get("/favicon.svg")
        assert favicon.status_code == 200
        assert favicon.headers["cache-control"] == "no-cache"
        # The API's own routes still win over the app's one-segment file route.
        assert (await nexus.http.get("/healthz")).json()["status"] == "ok"
        assert (await nexus.http.get("/nothing-here.js")).status_code == 404
        paths = (await nexus.http.get("/openapi.json")).json()["paths"]
        assert not any(path == "/" or path.startswith(("/w/", "/assets")) for path in paths)


async def test_assets_are_immutable(tmp_path: Path) -> None:
    web_dir = _build(tmp_path / "dist")
    async with serve(make_settings(tmp_path, web_dir=web_dir)) as nexus:
        response = await nexus.http.get("/assets/app-abc123.js")
        assert response.status_code == 200
        assert response.text == "console.log('nexus')\n"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        again = await nexus.http.get(
            "/assets/app-abc123.js", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await nexus.http.get("/assets/missing.js")).status_code == 404


async def _raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET with the path sent as is: HTTP clients (httpx too) remove `..` themselves."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(response.split(b" ", 2)[1]), response


async def test_nothing_outside_the_build_is_served(tmp_path: Path) -> None:
    web_dir = _build(tmp_path / "dist")
    async with serve(make_settings(tmp_path, web_dir=web_dir)) as nexus:
        port = nexus.settings.port
        assert (await _raw_get(port, "/assets/app-abc123.js"))[0] == 200
        for path in (
            "/assets/../../secret.txt",
            "/assets/../favicon.svg",
            "/assets/%2e%2e/%2e%2e/secret.txt",
            "/assets/..%2f..%2fsecret.txt",
            "/assets/....//secret.txt",
            "/assets//etc/passwd",
            "/..",
            "/%2e%2e",
            "/..%2fsecret.txt",
            "/.hidden",
        ):
            status, response = await _raw_get(port, path)
            assert status == 404, path
            assert b"outside the build" not in response, path


async def test_a_missing_build_says_how_to_build_it(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path, web_dir=tmp_path / "no-such-dist")) as nexus:
        for url in ("/", "/w/xyz"):
            response = await nexus.http.get(url)
            assert response.status_code == 200
            assert "not built" in response.text
            assert "make run" in response.text
        assert (await nexus.http.get("/assets/app-abc123.js")).status_code == 404
        assert (await nexus.http.get("/favicon.svg")).status_code == 404
