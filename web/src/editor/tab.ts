/** One open file: its shared document, its editor, its tab button and what the user sees. */
import { setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { languageServerSupport } from "@codemirror/lsp-client";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { h } from "../ui/dom";
import { SharedDoc } from "./document";
import { languageFor, type LanguageInfo } from "./languages";
import type { LanguageClients } from "./lsp";
import { createEditor, type EditorParts } from "./setup";

export interface LspDiagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity?: number;
  message: string;
  source?: string;
}

export class Tab {
  readonly language: LanguageInfo;
  readonly element: HTMLElement;
  readonly button: HTMLElement;
  readonly editor: EditorParts;
  private readonly banner = h("div", { class: "editor-banner", role: "status", hidden: true });
  private lspAttached = false;

  constructor(
    readonly path: string,
    readonly doc: SharedDoc,
    readOnly: boolean,
    extra: Extension,
    onSelect: () => void,
    onClose: () => void,
  ) {
    this.language = languageFor(path);
    this.editor = createEditor(doc, extra, readOnly);
    void this.language.load().then((extension) => {
      if (!this.view.dom.isConnected && !this.element.isConnected) return;
      this.view.dispatch({ effects: this.editor.language.reconfigure(extension) });
    });
    const name = path.split("/").pop() ?? path;
    this.button = h(
      "div",
      { class: "tab", role: "tab", title: path, tabindex: "0", "data-path": path, onclick: onSelect, onkeydown: (e: KeyboardEvent) => (e.key === "Enter" || e.key === " ") && onSelect(), onauxclick: (e: MouseEvent) => e.button === 1 && onClose() },
      h("span", { class: "tab-name" }, name),
      h("button", { class: "icon tab-close", "aria-label": `Close ${name}`, onclick: (e: Event) => (e.stopPropagation(), onClose()) }, "×"),
    );
    const readOnlyBadge = readOnly ? h("div", { class: "readonly-badge", testid: "readonly-badge" }, "Read-only: viewers can watch but not edit") : null;
    this.element = h("div", { class: "editor-pane" }, readOnlyBadge, this.banner, this.editor.view.dom);
    // "loading" until the shared text arrived: what a test (or a person) waits for.
    this.button.classList.add("loading");
    void doc.sync().then(() => this.button.classList.remove("loading"));
    doc.events.on("status", (status) => {
      this.button.classList.toggle("offline", status === "offline");
      if (status === "offline") this.say("Offline: what you type is kept and sent when the connection returns.", "warning");
      else if (status === "connected") this.say(null);
    });
    doc.events.on("closed", ({ code, reason }) => {
      this.button.classList.add("closed");
      this.button.classList.remove("loading");
      this.setReadOnly(true);
      if (code === 4400 && !this.view.state.doc.length) {
        // Binary or too large to share: say so plainly instead of an empty editor.
        this.view.dom.hidden = true;
        this.say(`${reason} It can be downloaded from the explorer.`, "warning");
        this.element.append(h("div", { class: "editor-notice", testid: "file-notice" }, h("p", {}, `${path} is not shown here.`), h("p", { class: "dim" }, reason)));
      } else {
        this.say(`${reason} The text below is what it held; copy what you need.`, "error");
      }
    });
  }

  get view(): EditorView {
    return this.editor.view;
  }

  setReadOnly(readOnly: boolean): void {
    this.view.dispatch({ effects: this.editor.readOnly.reconfigure(EditorState.readOnly.of(readOnly)) });
  }

  /** Starts language support, only once the shared text arrived (else the server sees ""). */
  async attachLanguageServer(clients: LanguageClients): Promise<void> {
    if (this.lspAttached || !this.language.lsp) return;
    await this.doc.sync();
    this.lspAttached = true;
    const client = clients.client(this.language.lsp);
    const support = languageServerSupport(client, clients.uriOf(this.path), this.language.languageId);
    this.view.dispatch({ effects: this.editor.lsp.reconfigure(support) });
  }

  showDiagnostics(diagnostics: LspDiagnostic[]): void {
    const doc = this.view.state.doc;
    const offset = (p: { line: number; character: number }) => {
      if (p.line >= doc.lines) return doc.length;
      const line = doc.line(p.line + 1);
      return Math.min(line.from + p.character, line.to);
    };
    const items: Diagnostic[] = diagnostics.map((d) => {
      const from = offset(d.range.start);
      return {
        from,
        to: Math.max(from, offset(d.range.end)),
        severity: d.severity === 1 ? "error" : d.severity === 2 ? "warning" : d.severity === 3 ? "info" : "hint",
        message: d.message,
        source: d.source,
      };
    });
    this.view.dispatch(setDiagnostics(this.view.state, items));
  }

  /** Moves the cursor to a 1-based line and column and scrolls it into the middle. */
  goto(line: number, column = 1): void {
    const doc = this.view.state.doc;
    const target = doc.line(Math.max(1, Math.min(line, doc.lines)));
    const pos = Math.min(target.from + Math.max(0, column - 1), target.to);
    this.view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
  }

  say(message: string | null, kind: "warning" | "error" = "warning"): void {
    this.banner.hidden = !message;
    this.banner.textContent = message ?? "";
    this.banner.className = `editor-banner ${kind}`;
  }

  destroy(): void {
    this.view.destroy();
    this.doc.destroy();
  }
}
