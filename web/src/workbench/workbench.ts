/**
 * The workbench: one workspace open in VS Code's layout. It joins the workspace on the hub
 * (again after every reconnect), builds the views, binds the keys, and keeps the caller's
 * role current. Panels get the `Workbench` context and nothing else.
 */
import { Api, type Role, type User, type WorkspaceInfo } from "../core/api";
import { Emitter } from "../core/events";
import { Hub } from "../core/hub";
import { EditorArea } from "../editor/area";
import { explorerView } from "../explorer/explorer";
import { createPalette } from "../palette/palette";
import { scmView } from "../scm/scmView";
import { searchView } from "../search/searchView";
import { terminalView } from "../terminal/terminalPanel";
import { h, userColor } from "../ui/dom";
import { notify } from "../ui/notify";
import type { Action, Workbench, WorkbenchEvents } from "./context";
import { bindKeys } from "./keys";
import { Layout } from "./layout";
import { openMembersDialog } from "./members";
import { Presence } from "./presence";
import { problemsView } from "./problems";
import { type IndexState, StatusBar } from "./statusbar";
import "./workbench.css";

const ROLES: Role[] = ["viewer", "editor", "owner"];
const TERMINAL_COMMANDS = new Set(["terminal.new", "file.run", "test.run"]);

export interface WorkbenchOptions {
  root: HTMLElement;
  api: Api;
  user: User;
  workspace: WorkspaceInfo;
  /** Asks the user to sign in again; resolves with the new token. */
  reauthenticate: (message: string) => Promise<string>;
  signOut: () => void;
}

export async function openWorkbench(options: WorkbenchOptions): Promise<void> {
  const { root, api, user, workspace } = options;
  let token = api.token;
  const hub = new Hub(token);
  const actions = new Map<string, Action>();
  let area: EditorArea | null = null;
  let layout: Layout | null = null;
  let terminals: ReturnType<typeof terminalView> | null = null;

  const wb: Workbench = {
    workspace,
    user,
    api,
    hub,
    role: "viewer",
    events: new Emitter<WorkbenchEvents>(),
    canEdit: () => ROLES.indexOf(wb.role) >= 1,
    openFile: async (path, at) => {
      await area?.open(path, at);
    },
    activeFile: () => area?.activePath() ?? null,
    addAction: (action) => {
      actions.set(action.id, action);
      return () => actions.delete(action.id);
    },
    reveal: (id) => {
      if (layout?.has(id) === "side") layout.showSide(id);
      else if (layout?.has(id) === "bottom") layout.showBottom(id);
    },
    run: async <T>(command: string, args: Record<string, unknown> = {}) => {
      try {
        const result = await hub.call<T>("command:execute", { workspace: workspace.id, command, args }, 60000);
        // A command that started a program in a terminal shows that terminal.
        const terminal = (result as { id?: unknown; command?: unknown } | null) ?? {};
        if (TERMINAL_COMMANDS.has(command) && typeof terminal.id === "string") void terminals?.show(terminal.id);
        return result;
      } catch (error) {
        notify((error as Error).message, "error");
        return undefined;
      }
    },
  };

  // Join before building, so every view starts with the caller's real role.
  const joined = await join(wb);
  wb.role = joined.role;

  area = new EditorArea(wb, () => token);
  const presence = new Presence(wb);
  const status = new StatusBar(wb, (id) => wb.reveal(id));
  layout = new Layout(`nexus.layout.${user.username}`, area.element);
  terminals = terminalView(wb);
  const problems = problemsView(wb, (path, diagnostics) => {
    area?.setDiagnostics(path, diagnostics);
    status.setProblems(problems.count());
  });
  const palette = createPalette(wb, () => [...actions.values()]);

  layout.addSide({ ...explorerView(wb, { filesOf: () => presence.filesOf(), onChange: (cb) => presence.events.on("changed", cb) }), icon: "▣" });
  layout.addSide({ ...searchView(wb), icon: "⌕" });
  layout.addSide({ ...scmView(wb), icon: "⎇" });
  layout.addBottom(terminals);
  layout.addBottom(problems);
  presence.setUsers(joined.presence);
  status.setIndex(joined.index ?? null);
  hub.on<IndexState & { workspace: string }>("index:progress", (state) => state.workspace === workspace.id && status.setIndex(state));

  const following = h("div", { class: "follow-banner", hidden: true, role: "status" });
  presence.events.on("following", (name) => {
    following.hidden = !name;
    following.textContent = name ? `Following ${name}: move or press Escape to stop` : "";
    following.style.setProperty("--user", name ? userColor(name).color : "");
  });
  // Following lasts until you move: a key or a click of your own in the editor ends it.
  area.element.addEventListener("keydown", () => presence.following && presence.follow(null), true);
  area.element.addEventListener("mousedown", () => presence.following && presence.follow(null), true);

  const roleBadge = h("span", { class: "role-badge" }, wb.role);
  const titleBar = h(
    "header",
    { class: "title-bar" },
    h("a", { class: "home", href: "/", title: "All workspaces" }, h("span", { class: "logo small-logo" }, "N")),
    h("strong", { class: "workspace-name" }, workspace.name),
    roleBadge,
    h("span", { class: "spacer" }),
    presence.element,
    h("button", { class: "icon", "aria-label": "Members", title: "Members", onclick: () => openMembersDialog(wb) }, "Members"),
    h("button", { class: "icon", "aria-label": "Command palette", title: "Command palette (Ctrl+Shift+P)", onclick: () => palette.open() }, "⌘"),
    h("button", { class: "icon", onclick: options.signOut, title: `Signed in as ${user.username}` }, "Sign out"),
  );
  const offlineBanner = h("div", { class: "offline-banner", role: "alert", hidden: true }, "You are offline. Keep typing: your changes are kept and will be sent when the connection returns.");
  root.replaceChildren(h("div", { class: "workbench" }, titleBar, offlineBanner, following, layout.element, status.element));

  hub.events.on("state", async (state) => {
    status.setConnection(state);
    offlineBanner.hidden = state !== "offline";
    if (state !== "connected") return;
    try {
      const again = await join(wb);
      setRole(again.role);
      presence.setUsers(again.presence);
      presence.announce();
    } catch (error) {
      notify((error as Error).message, "error");
    }
  });
  const setRole = (role: Role) => {
    wb.role = role;
    roleBadge.textContent = role;
    area?.setReadOnly(!wb.canEdit());
  };
  hub.on<{ workspace: string; role: Role }>("workspace:role", ({ workspace: id, role }) => {
    if (id !== workspace.id) return;
    setRole(role);
    notify(`Your role is now ${role}.`);
  });
  hub.on<{ workspace: string }>("workspace:removed", ({ workspace: id }) => {
    if (id !== workspace.id) return;
    setRole("viewer");
    notify("You were removed from this workspace.", "error");
  });
  hub.on<{ workspace: string; command: string; args: Record<string, unknown> }>("editor:command", (event) => {
    if (event.workspace === workspace.id) void area?.runEditorCommand(event.command, event.args ?? {});
  });
  hub.on<{ workspace: string }>("git:changed", (event) => {
    if (event.workspace === workspace.id) refreshBranch();
  });
  area.lsp.events.on("status", ({ language, status: s }) => status.setServers(language, s));
  wb.events.on("activeFile", (path) => {
    const tab = area?.activeTab();
    status.setLanguage(path && tab ? tab.language.name : null);
    document.title = path ? `${path.split("/").pop()} — ${workspace.name} — NEXUS` : `${workspace.name} — NEXUS`;
  });
  document.title = `${workspace.name} — NEXUS`;
  // Over the hub, not REST: a workspace that is no repository answers 409, which the
  // browser would log as a failed resource load.
  const refreshBranch = () =>
    hub.call<{ branch: string | null }>("command:execute", { workspace: workspace.id, command: "git.status" }).then(
      (s) => status.setBranch(s.branch),
      () => status.setBranch(null),
    );
  void refreshBranch();
  // A server without a working sandbox says so where everyone looks.
  fetch("/healthz")
    .then((r) => r.json())
    .then((health: { sandbox?: { sealed: boolean; detail: string } }) => {
      if (health.sandbox && !health.sandbox.sealed) status.setSandbox(`⚠ Not isolated: ${health.sandbox.detail}`);
    })
    .catch(() => undefined);

  // An expired token: sign in again on top of the workbench, so nothing typed is lost.
  let reauthenticating: Promise<void> | null = null;
  const renew = (message: string) =>
    (reauthenticating ??= options.reauthenticate(message).then((fresh) => {
      token = fresh;
      api.token = fresh;
      hub.socket.auth = { token: fresh };
      hub.socket.connect();
      area?.setToken(fresh);
      reauthenticating = null;
    }));
  hub.events.on("unauthorized", (reason) => void renew(`Your session has ended (${reason}). Sign in again to continue.`));
  api.events.on("unauthorized", () => void renew("Your session has expired. Sign in again to continue."));
  area.events.on("expired", () => void renew("Your session has expired. Sign in again to continue."));

  wb.addAction({ id: "workspace.manageMembers", title: "Workspace: Manage members…", run: () => openMembersDialog(wb) });
  wb.addAction({ id: "workspace.all", title: "Workspace: Open another workspace…", run: () => window.location.assign("/") });
  wb.addAction({ id: "auth.signOut", title: "Sign out", run: options.signOut });
  bindKeys(wb, { area, layout, palette, terminals });

  layout.showSide(layout.has("explorer") ? "explorer" : "search", false);
  const open = new URLSearchParams(window.location.search).get("open");
  if (open) await wb.openFile(open);
}

async function join(wb: Workbench): Promise<{ role: Role; presence: { user_id: number; username: string; role: string; connections: number }[]; index?: IndexState | null }> {
  if (wb.hub.state !== "connected") {
    await new Promise<void>((resolve) => {
      const off = wb.hub.events.on("state", (state) => state === "connected" && (off(), resolve()));
    });
  }
  return wb.hub.call("workspace:join", { workspace: wb.workspace.id });
}
