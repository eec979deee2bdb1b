"""The members dialog: an owner invites, changes roles and sees the server's refusals;
others see the list read-only."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.web._server import WebServer
from tests.web.conftest import PageOpener


async def open_dialog(page: Page) -> None:
    await page.get_by_role("button", name="Members", exact=True).click()
    await expect(page.get_by_test_id("members-dialog")).to_be_visible()


async def roles(web_server: WebServer, token: str, workspace_id: str) -> dict[str, str]:
    response = await web_server.http.get(
        f"/api/v1/workspaces/{workspace_id}/members", headers=web_server.headers(token)
    )
    assert response.status_code == 200, response.text
    return {m["username"]: m["role"] for m in response.json()}


async def test_owner_invites_and_changes_a_role(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice = await web_server.create_user("alice")
    await web_server.create_user("bob")
    workspace = await web_server.create_workspace(alice, "demo")
    page = await open_page(alice, f"/w/{workspace['id']}")
    await open_dialog(page)
    dialog = page.get_by_test_id("members-dialog")
    await expect(dialog.get_by_test_id("member-alice")).to_contain_text("alice")
    await expect(dialog.get_by_label("Role of alice")).to_have_value("owner")

    # Invite bob as a viewer.
    await dialog.get_by_label("Username to invite").fill("bob")
    await dialog.get_by_label("Role for the invited member").select_option("viewer")
    await dialog.get_by_role("button", name="Invite").click()
    await expect(dialog.get_by_test_id("member-bob")).to_be_visible()
    await expect(dialog.get_by_label("Role of bob")).to_have_value("viewer")
    assert (await roles(web_server, alice, workspace["id"]))["bob"] == "viewer"

    # Make him an editor; the server agrees once the list shows it again.
    async with page.expect_response(
        lambda r: r.url.endswith("/members") and r.request.method == "POST"
    ) as answer:
        await dialog.get_by_label("Role of bob").select_option("editor")
    assert (await answer.value).status == 200
    await expect(dialog.get_by_label("Role of bob")).to_have_value("editor")
    assert (await roles(web_server, alice, workspace["id"]))["bob"] == "editor"

    # The server's refusals are shown: an unknown user, the last owner.
    await dialog.get_by_label("Username to invite").fill("nobody")
    await dialog.get_by_role("button", name="Invite").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("nobody")
    await dialog.get_by_role("button", name="Remove alice").click()
    leave = page.get_by_role("dialog", name="Leave Workspace")
    await leave.get_by_role("button", name="OK").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("owner")
    assert (await roles(web_server, alice, workspace["id"]))["alice"] == "owner"
    page.console_errors.clear()  # type: ignore[attr-defined]  # the 404 and 409 on purpose

    # Escape closes it and gives the focus back.
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)


async def test_others_see_the_list_read_only(web_server: WebServer, open_page: PageOpener) -> None:
    alice = await web_server.create_user("alice")
    bob = await web_server.create_user("bob")
    workspace = await web_server.create_workspace(alice, "demo")
    await web_server.add_member(alice, workspace["id"], "bob", "editor")
    page = await open_page(bob, f"/w/{workspace['id']}")
    await open_dialog(page)
    dialog = page.get_by_test_id("members-dialog")
    await expect(dialog.get_by_test_id("member-alice")).to_contain_text("owner")
    await expect(dialog.get_by_test_id("member-bob")).to_contain_text("editor")
    await expect(dialog.get_by_test_id("member-bob")).to_contain_text("(you)")
    await expect(dialog.get_by_role("combobox")).to_have_count(0)
    await expect(dialog.get_by_role("button", name="Invite")).to_have_count(0)
    await expect(dialog.get_by_text("Only owners can invite")).to_be_visible()
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_have_count(0)
