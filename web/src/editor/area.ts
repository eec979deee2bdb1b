/** The editor area: tabs of shared documents, the active one, and what acts on editors. */
import { toggleComment } from "@codemirror/commands";
import { type Extension } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { Emitter } from "../core/events";
import { h, userColor } from "../ui/dom";
import { prompt } from "../ui/dialog";
import { notify } from "../ui/notify";
import type { Workbench } from "../workbench/context";
import { SharedDoc } from "./document";
import { LanguageClients } from "./lsp";
import { Tab, type LspDiagnostic } from "./tab";
import "./editor.css";

export class EditorArea {
  readonly element: HTMLElement;
  readonly lsp: LanguageClients;
  readonly events = new Emitter<{ expired: true }>();
  private tabs = new Map<string, Tab>();
  private active: Tab | null = null;
  private readonly strip = h("div", { class: "tabs", role: "tablist", "aria-label": "Open files" });
  private readonly panes = h("div", { class: "panes" });
  private readonly empty: HTMLElement;
  private diagnostics = new Map<string, LspDiagnostic[]>();

  constructor(
    private readonly wb: Workbench,
    private token: () => string,
  ) {
    this.empty = h(
      "div",
      { class: "editor-empty" },
      h("h2", {}, wb.workspace.name),
      h("p", { class: "dim" }, "Open a file from the explorer, or press Ctrl+P to find one."),
      h("p", { class: "dim" }, "Ctrl+Shift+P runs any command."),
    );
    this.element = h("div", { class: "editor-area" }, this.strip, this.panes, this.empty);
    this.lsp = new LanguageClients(wb.workspace.id, wb.workspace.path, token, {
      display: async (uri) => {
        const path = this.lsp.pathOf(uri);
        if (path === null) return null;
        await this.open(path);
        return this.tabs.get(path)?.view ?? null;
      },
      ydocOf: (uri) => {
        const path = this.lsp.pathOf(uri);
        return path === null ? null : (this.tabs.get(path)?.doc.ydoc ?? null);
      },
      message: notify,
    });
  }

  activePath(): string | null {
    return this.active?.path ?? null;
  }

  activeTab(): Tab | null {
    return this.active;
  }

  paths(): string[] {
    return [...this.tabs.keys()];
  }

  async open(path: string, at?: { line: number; column?: number }): Promise<Tab> {
    let tab = this.tabs.get(path);
    if (!tab) {
      tab = this.create(path);
      this.tabs.set(path, tab);
      this.strip.append(tab.button);
      this.panes.append(tab.element);
    }
    this.activate(tab);
    await tab.doc.sync();
    if (at) tab.goto(at.line, at.column);
    return tab;
  }

  close(path: string): void {
    const tab = this.tabs.get(path);
    if (!tab) return;
    const order = [...this.tabs.keys()];
    const index = order.indexOf(path);
    this.tabs.delete(path);
    tab.button.remove();
    tab.element.remove();
    if (tab.language.lsp) this.lsp.client(tab.language.lsp).workspace.closeFile(this.lsp.uriOf(path), tab.view);
    tab.destroy();
    if (this.active === tab) {
      this.active = null;
      const next = order[index + 1] ?? order[index - 1];
      if (next && this.tabs.has(next)) this.activate(this.tabs.get(next)!);
      else this.changed();
    }
  }

  setDiagnostics(path: string, diagnostics: LspDiagnostic[]): void {
    this.diagnostics.set(path, diagnostics);
    this.tabs.get(path)?.showDiagnostics(diagnostics);
  }

  setReadOnly(readOnly: boolean): void {
    for (const tab of this.tabs.values()) if (!tab.doc.closed) tab.setReadOnly(readOnly);
  }

  setToken(token: string): void {
    for (const tab of this.tabs.values()) tab.doc.setToken(token);
  }

  /** `editor:command` from the server (voice, other tools) acting on this user's editor. */
  async runEditorCommand(command: string, args: Record<string, unknown>): Promise<void> {
    const view = this.active?.view;
    switch (command) {
      case "editor.openFile":
        await this.open(String(args.path), args.line ? { line: Number(args.line) } : undefined);
        break;
      case "editor.closeFile":
        if (this.active) this.close(this.active.path);
        break;
      case "editor.gotoLine":
        this.active?.goto(Number(args.line));
        break;
      case "editor.undo":
        this.active?.editor.undoManager.undo();
        break;
      case "editor.redo":
        this.active?.editor.undoManager.redo();
        break;
      case "editor.toggleComment":
        if (view) toggleComment(view);
        break;
      case "editor.save":
        notify("Saved");
        break;
    }
    view?.focus();
  }

  async gotoLinePrompt(): Promise<void> {
    const tab = this.active;
    if (!tab) return;
    const current = tab.view.state.doc.lineAt(tab.view.state.selection.main.head).number;
    const answer = await prompt("Go to line", String(current), `Line (1–${tab.view.state.doc.lines})`);
    const line = Number(answer);
    if (answer && Number.isInteger(line)) tab.goto(line);
    tab.view.focus();
  }

  /** F2: rename through the bridge, so files that are not open change too. */
  async renamePrompt(): Promise<void> {
    const tab = this.active;
    if (!tab || !this.wb.canEdit()) return;
    const state = tab.view.state;
    const head = state.selection.main.head;
    const word = state.wordAt(head);
    const line = state.doc.lineAt(head);
    const to = await prompt("Rename symbol", word ? state.sliceDoc(word.from, word.to) : "", "New name");
    tab.view.focus();
    if (!to) return;
    const result = await this.wb.run<{ changed: string[] }>("lsp.rename", {
      path: tab.path,
      line: line.number - 1,
      character: head - line.from,
      to,
    });
    if (result) notify(`Renamed in ${result.changed.length} file${result.changed.length === 1 ? "" : "s"}`);
  }

  private create(path: string): Tab {
    const user = { name: this.wb.user.username, color: userColor(this.wb.user.username).color, colorLight: userColor(this.wb.user.username).light };
    const doc = new SharedDoc(this.wb.workspace.id, path, this.token(), user);
    const tab: Tab = new Tab(path, doc, !this.wb.canEdit(), this.extensions(() => tab), () => this.activate(tab), () => this.close(path));
    doc.events.on("expired", () => this.events.emit("expired", true));
    doc.events.on("stale", () => {
      // The server started this file's history over (rebuilt from disk): open it afresh.
      const active = this.active === tab;
      this.close(path);
      if (active) void this.open(path);
    });
    doc.sync().then(() => {
      const known = this.diagnostics.get(path);
      if (known) tab.showDiagnostics(known);
      return tab.attachLanguageServer(this.lsp);
    }).catch((error: Error) => notify(error.message, "error"));
    return tab;
  }

  private extensions(tab: () => Tab): Extension {
    return [
      keymap.of([
        { key: "F2", run: () => (void this.renamePrompt(), true) },
        { key: "Ctrl-g", run: () => (void this.gotoLinePrompt(), true) },
      ]),
      EditorView.updateListener.of((update) => {
        if (!update.selectionSet && !update.docChanged) return;
        if (this.active !== tab()) return;
        const head = update.state.selection.main.head;
        const line = update.state.doc.lineAt(head);
        this.wb.events.emit("cursor", { path: tab().path, line: line.number, column: head - line.from + 1 });
      }),
    ];
  }

  private activate(tab: Tab): void {
    if (this.active && this.active !== tab) {
      this.active.element.classList.remove("active");
      this.active.button.classList.remove("active");
      this.active.button.setAttribute("aria-selected", "false");
      delete this.active.view.dom.dataset.testid;
    }
    this.active = tab;
    tab.element.classList.add("active");
    tab.button.classList.add("active");
    tab.button.setAttribute("aria-selected", "true");
    tab.view.dom.dataset.testid = "editor";
    tab.button.scrollIntoView({ block: "nearest", inline: "nearest" });
    requestAnimationFrame(() => tab.view.focus());
    this.changed();
  }

  private changed(): void {
    this.empty.hidden = this.tabs.size > 0;
    this.wb.events.emit("activeFile", this.active?.path ?? null);
  }
}
