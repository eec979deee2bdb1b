/** The status bar: connection, branch, language servers, code index, cursor position,
 * people online. */
import type { ConnectionState } from "../core/hub";
import type { ServerStatus } from "../editor/lsp";
import { h } from "../ui/dom";
import type { Workbench } from "./context";

/** The code index's progress, as `workspace:join` and `index:progress` tell it. */
export interface IndexState {
  status: "idle" | "indexing" | "error";
  files: number;
  indexed_files: number;
  chunks: number;
  error: string | null;
}

export class StatusBar {
  readonly element: HTMLElement;
  private readonly connection = h("span", { class: "item connection", role: "status" });
  private readonly branch = h("button", { class: "item", title: "Source control", "aria-label": "Branch" });
  private readonly language = h("span", { class: "item" });
  private readonly servers = h("span", { class: "item servers" });
  private readonly cursor = h("span", { class: "item" });
  private readonly online = h("span", { class: "item" });
  private readonly sandbox = h("span", { class: "item" });
  private readonly index = h("span", { class: "item", testid: "index-status" });
  private readonly problems = h("button", { class: "item", title: "Problems" });

  constructor(wb: Workbench, reveal: (id: string) => void) {
    this.branch.addEventListener("click", () => reveal("scm"));
    this.problems.addEventListener("click", () => reveal("problems"));
    this.element = h(
      "footer",
      { class: "status-bar", testid: "status-bar" },
      this.connection,
      this.branch,
      this.problems,
      h("span", { class: "spacer" }),
      this.servers,
      this.index,
      this.cursor,
      this.language,
      this.sandbox,
      this.online,
    );
    this.setConnection(wb.hub.state);
    this.setBranch(null);
    this.setProblems(0);
    wb.events.on("cursor", ({ line, column }) => (this.cursor.textContent = `Ln ${line}, Col ${column}`));
    wb.events.on("activeFile", (path) => {
      if (!path) this.cursor.textContent = "";
    });
  }

  setConnection(state: ConnectionState): void {
    const text = { connected: "● Connected", connecting: "◌ Connecting…", offline: "○ Offline: reconnecting; your typing is kept" }[state];
    this.connection.textContent = text;
    this.connection.dataset.state = state;
  }

  setBranch(branch: string | null): void {
    this.branch.textContent = branch ? `⎇ ${branch}` : "⎇ no repository";
  }

  setLanguage(name: string | null): void {
    this.language.textContent = name ?? "";
  }

  setServers(language: string, status: ServerStatus): void {
    const failed = status.servers.filter((s) => s.status === "failed");
    const starting = status.servers.some((s) => s.status === "starting" || s.status === "restarting");
    const label = language[0].toUpperCase() + language.slice(1);
    this.servers.textContent = failed.length
      ? `${label}: ${failed.map((s) => s.name).join(", ")} failed`
      : starting || !status.ready
        ? `${label}: starting…`
        : `${label}: ready`;
    this.servers.title = status.servers.map((s) => `${s.name}: ${s.status}${s.detail ? ` (${s.detail})` : ""}`).join("\n");
  }

  setProblems(count: number): void {
    this.problems.textContent = `⚠ ${count}`;
    this.problems.setAttribute("aria-label", `${count} problems`);
  }

  setIndex(state: IndexState | null): void {
    const percent = state && state.files > 0 ? Math.floor((100 * state.indexed_files) / state.files) : 0;
    this.index.textContent = !state
      ? ""
      : state.status === "error"
        ? "⚠ Index"
        : state.status === "indexing"
          ? `Indexing ${percent}%`
          : `Indexed ${state.chunks.toLocaleString()} symbols`;
    this.index.title = !state
      ? ""
      : state.error
        ? `Code index: ${state.error}`
        : `Code index: ${state.indexed_files} of ${state.files} files, ${state.chunks} functions, classes and blocks (Find code by meaning in the palette)`;
    this.index.classList.toggle("warning", state?.status === "error");
  }

  setOnline(count: number): void {
    this.online.textContent = `${count} online`;
  }

  setSandbox(text: string | null): void {
    this.sandbox.textContent = text ?? "";
    this.sandbox.title = text ? "Workspace processes run unsealed: they can see other workspaces and the server (NEXUS_SANDBOX)." : "";
    this.sandbox.classList.toggle("warning", !!text);
  }
}
