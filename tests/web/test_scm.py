"""The source control view: changes, staging, committing, the diff view, viewers, init."""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.async_api import Page, expect


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=x", "-c", "user.email=x@y", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def repository(folder: Path, files: dict[str, str]) -> None:
    """A repository on `main` whose first commit holds `files`."""
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "first")


async def reveal_scm(page: Page):
    await expect(page.get_by_test_id("explorer")).to_be_visible()
    await page.keyboard.press("Control+Shift+G")
    scm = page.get_by_test_id("scm")
    await expect(scm).to_be_visible()
    return scm


async def test_stage_and_commit_a_change(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "repo")
    folder = web_server.workspace_root / "repo"
    repository(folder, {"app.py": "print('one')\n"})
    (folder / "app.py").write_text("print('two')\n")

    page = await open_page(token, f"/w/{workspace['id']}")
    scm = await reveal_scm(page)
    await expect(scm.get_by_test_id("scm-branch")).to_contain_text("main")
    changes = scm.get_by_test_id("scm-changes")
    row = changes.locator('[data-testid="scm-file"][data-path="app.py"]')
    await expect(row).to_be_visible()
    await expect(row.locator(".scm-letter")).to_have_text("M")

    await row.hover()
    await row.get_by_role("button", name="Stage app.py").click()
    staged = scm.get_by_test_id("scm-staged")
    await expect(staged.locator('[data-path="app.py"]')).to_be_visible()
    await expect(changes.locator('[data-path="app.py"]')).to_have_count(0)

    await scm.get_by_label("Commit message").fill("Say two")
    await scm.get_by_test_id("scm-commit").click()
    await expect(scm.get_by_test_id("scm-no-changes")).to_be_visible()
    assert git(folder, "log", "--format=%s|%an", "-1").strip() == "Say two|alice"

    # The history lists the new commit first.
    await scm.get_by_test_id("scm-history-toggle").click()
    await expect(scm.get_by_test_id("scm-history").locator("li").first).to_contain_text("Say two")


async def test_diff_view_shows_old_and_new_lines(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "repo")
    folder = web_server.workspace_root / "repo"
    repository(folder, {"src/app.py": "import os\nvalue = 'before the change'\nprint(value)\n"})
    (folder / "src/app.py").write_text("import os\nvalue = 'after the change'\nprint(value)\n")

    page = await open_page(token, f"/w/{workspace['id']}")
    scm = await reveal_scm(page)
    row = scm.locator('[data-testid="scm-file"][data-path="src/app.py"]')
    await row.click()
    diff = page.get_by_test_id("scm-diff")
    await expect(diff).to_be_visible()
    await expect(diff.get_by_role("heading")).to_have_text("src/app.py (Working tree ↔ Index)")
    await expect(diff.locator(".cm-mergeView")).to_contain_text("value = 'before the change'")
    await expect(diff.locator(".cm-mergeView")).to_contain_text("value = 'after the change'")
    await page.keyboard.press("Escape")
    await expect(diff).to_be_hidden()
    await expect(row).to_be_focused()


async def test_viewer_sees_changes_without_controls(web_server, open_page) -> None:
    owner = await web_server.create_user("alice")
    viewer = await web_server.create_user("victor")
    workspace = await web_server.create_workspace(owner, "repo")
    await web_server.add_member(owner, workspace["id"], "victor", "viewer")
    folder = web_server.workspace_root / "repo"
    repository(folder, {"a.txt": "a\n"})
    (folder / "new.txt").write_text("new\n")

    page = await open_page(viewer, f"/w/{workspace['id']}")
    scm = await reveal_scm(page)
    row = scm.locator('[data-testid="scm-file"][data-path="new.txt"]')
    await expect(row.locator(".scm-letter")).to_have_text("U")
    await expect(scm.get_by_test_id("scm-stage")).to_have_count(0)
    await expect(scm.get_by_test_id("scm-commit")).to_be_hidden()
    await expect(scm.get_by_test_id("scm-branch")).to_be_disabled()


async def test_initialize_a_repository(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "plain")
    folder = web_server.workspace_root / "plain"
    (folder / "hello.txt").write_text("hi\n")

    page = await open_page(token, f"/w/{workspace['id']}")
    scm = await reveal_scm(page)
    await expect(scm).to_contain_text("This workspace is not a git repository")
    await scm.get_by_test_id("scm-init").click()
    await expect(scm.locator('[data-testid="scm-file"][data-path="hello.txt"]')).to_be_visible()
    assert (folder / ".git").is_dir()
