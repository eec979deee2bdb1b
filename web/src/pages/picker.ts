/** The workspace picker: the caller's workspaces, a form to create one, and sign out. */
import type { Api, User, WorkspaceInfo } from "../core/api";
import { clear, h } from "../ui/dom";
import { logo } from "./login";

export async function pickerPage(root: HTMLElement, api: Api, user: User, signOut: () => void): Promise<void> {
  const list = h("ul", { class: "workspaces", "aria-label": "Workspaces" });
  const message = h("p", { class: "error-text", role: "alert" });
  const name = h("input", { name: "name", placeholder: "new-workspace", "aria-label": "New workspace name", pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" });

  async function load(): Promise<void> {
    const workspaces = await api.get<WorkspaceInfo[]>("/api/v1/workspaces");
    clear(
      list,
      workspaces.length
        ? workspaces.map((ws) =>
            h("li", {}, h("a", { href: `/w/${ws.id}` }, h("strong", {}, ws.name), h("span", { class: "dim" }, ws.role ?? ""))),
          )
        : h("li", { class: "dim", style: "padding: 10px 12px" }, "No workspaces yet: create one below."),
    );
  }

  const create = h(
    "form",
    {
      class: "create",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        message.textContent = "";
        try {
          const ws = await api.post<WorkspaceInfo>("/api/v1/workspaces", { name: name.value.trim() });
          window.location.assign(`/w/${ws.id}`);
        } catch (error) {
          message.textContent = (error as Error).message;
        }
      },
    },
    name,
    h("button", { class: "primary", type: "submit" }, "Create workspace"),
  );

  root.replaceChildren(
    h(
      "main",
      { class: "page" },
      h(
        "section",
        { class: "card wide" },
        h("div", { class: "topline" }, h("h1", {}, logo(), "Workspaces"), h("span", {}, h("span", { class: "dim" }, `Signed in as ${user.username} `), h("button", { onclick: signOut }, "Sign out"))),
        list,
        create,
        message,
      ),
    ),
  );
  await load();
  (list.querySelector("a") ?? name).focus();
}
