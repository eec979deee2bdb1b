/** The command palette (Ctrl+Shift+P, F1) and quick open (Ctrl+P): one input over a list,
 * fuzzy filtered; ↑/↓ move, Enter runs, Escape closes. Commands are the UI's actions plus
 * the server's commands the caller's role allows; files come from the workspace tree.
 * In quick open, ">" switches to commands and ":N" goes to line N of the active file. */
import type { Action, Workbench } from "../workbench/context";
import type { Role } from "../core/api";
import { h } from "../ui/dom";
import { attempt, notify } from "../ui/notify";
import { FileIndex } from "./fileIndex";
import { fuzzyMatch, highlightRuns } from "./fuzzy";
import { recentKeys, remember } from "./recent";
import { hasArguments, schemaForm, type JsonSchema } from "./schemaForm";
import "./palette.css";

interface ServerCommand {
  id: string;
  title: string;
  description: string;
  role: Role;
  args_schema: JsonSchema;
}

interface Item {
  key: string;
  label: string;
  detail?: string;
  hint?: string;
  title?: string;
  run: () => unknown;
}

interface Shown {
  item: Item;
  labelAt: number[];
  detailAt: number[];
  score: number;
}

type Mode = "commands" | "files";

const ROLES: Role[] = ["viewer", "editor", "owner"];
const MAX_SHOWN = 200;

export function createPalette(wb: Workbench, localActions: () => Action[]): { open(prefix?: string): void } {
  let commands: Promise<ServerCommand[]> | null = null;
  let commandError = "";
  let serverCommands: ServerCommand[] = [];
  let cursor: { path: string; line: number; column: number } | null = null;
  wb.events.on("cursor", (at) => (cursor = at));
  let session: { baseMode: Mode; input: HTMLInputElement; list: HTMLElement; overlay: HTMLElement; shown: Shown[]; selected: number; moved: boolean; lastQuery?: string } | null =
    null;
  const files = new FileIndex(wb, () => session && update());

  function loadCommands(): void {
    if (commands) return;
    commands = wb.api.get<ServerCommand[]>("/api/v1/commands");
    commands.then(
      (list) => {
        serverCommands = list;
        commandError = "";
        if (session) update();
      },
      (error: Error) => {
        commands = null; // try again next time
        commandError = `Server commands are unavailable: ${error.message}`;
        if (session) update();
      },
    );
  }

  function currentMode(): { mode: Mode | "line"; query: string } {
    const text = session?.input.value ?? "";
    if (session?.baseMode === "files" && text.startsWith(">")) return { mode: "commands", query: text.slice(1) };
    if (session?.baseMode === "files" && text.startsWith(":")) return { mode: "line", query: text.slice(1) };
    return { mode: session?.baseMode ?? "commands", query: text };
  }

  function commandItems(): Item[] {
    const rank = ROLES.indexOf(wb.role);
    const local = localActions().map((a) => ({ key: `action:${a.id}`, label: a.title, hint: a.keys, run: a.run }));
    const server = serverCommands
      .filter((c) => ROLES.indexOf(c.role) <= rank)
      .map((c) => ({ key: `command:${c.id}`, label: c.title, detail: c.id, title: c.description || undefined, run: () => runCommand(c) }));
    return [...local, ...server];
  }

  function fileItems(): Item[] {
    return files.paths().map((path) => {
      const slash = path.lastIndexOf("/");
      return { key: `file:${path}`, label: path.slice(slash + 1), detail: slash > 0 ? path.slice(0, slash) : "", run: () => wb.openFile(path) };
    });
  }

  function lineItems(query: string): Item[] {
    const active = wb.activeFile();
    const line = Number.parseInt(query, 10);
    if (!active) return [{ key: "line:none", label: "Open a file first to go to a line.", run: () => undefined }];
    if (!Number.isFinite(line) || line < 1) return [{ key: "line:type", label: `Type a line number to go to in ${active}.`, run: () => undefined }];
    return [{ key: "line:go", label: `Go to line ${line}`, detail: active, run: () => wb.openFile(active, { line }) }];
  }

  function match(item: Item, query: string, byPath: boolean): Shown | null {
    if (!query.trim()) return { item, labelAt: [], detailAt: [], score: 0 };
    const onLabel = fuzzyMatch(query, item.label);
    if (onLabel) return { item, labelAt: onLabel.positions, detailAt: [], score: onLabel.score + (byPath ? 20 : 0) };
    if (!item.detail) return null;
    // Files: match the whole path; commands: match the id.
    const whole = byPath ? `${item.detail}/${item.label}` : item.detail;
    const onWhole = fuzzyMatch(query, whole);
    if (!onWhole) return null;
    if (!byPath) return { item, labelAt: [], detailAt: onWhole.positions, score: onWhole.score - 5 };
    const split = item.detail.length + 1;
    return {
      item,
      detailAt: onWhole.positions.filter((p) => p < split - 1),
      labelAt: onWhole.positions.filter((p) => p >= split).map((p) => p - split),
      score: onWhole.score,
    };
  }

  function update(): void {
    if (!session) return;
    const { mode, query } = currentMode();
    const items = mode === "commands" ? commandItems() : mode === "files" ? fileItems() : lineItems(query);
    const recent = mode === "line" ? [] : recentKeys(mode);
    let shown: Shown[];
    if (mode === "line") shown = items.map((item) => ({ item, labelAt: [], detailAt: [], score: 0 }));
    else {
      shown = items.map((item) => match(item, query, mode === "files")).filter((s): s is Shown => s !== null);
      for (const s of shown) {
        const at = recent.indexOf(s.item.key);
        if (at >= 0) s.score += query.trim() ? 2 : 1000 - at;
      }
      if (query.trim() || recent.length) shown.sort((a, b) => b.score - a.score);
    }
    // An item the user moved to stays selected while the list grows (results still loading).
    const before = session.moved ? session.shown[session.selected]?.item.key : undefined;
    const sameQuery = session.lastQuery === session.input.value;
    session.shown = shown.slice(0, MAX_SHOWN);
    session.lastQuery = session.input.value;
    const again = sameQuery && before ? session.shown.findIndex((s) => s.item.key === before) : -1;
    session.moved = again >= 0;
    session.selected = Math.max(0, again);
    render(recent, mode, query);
  }

  function render(recent: string[], mode: Mode | "line", query: string): void {
    if (!session) return;
    const { list, shown } = session;
    const options = shown.map((s, i) =>
      h(
        "li",
        {
          class: "palette-item",
          role: "option",
          id: `palette-option-${i}`,
          "aria-selected": String(i === session?.selected),
          title: s.item.title,
          onmousedown: (event: MouseEvent) => event.preventDefault(),
          onmousemove: () => i !== session?.selected && select(i, true),
          onclick: () => runAt(i),
        },
        h("span", { class: "palette-label" }, ...marked(s.item.label, s.labelAt)),
        s.item.detail ? h("span", { class: "palette-detail" }, ...marked(s.item.detail, s.detailAt)) : null,
        h("span", { class: "palette-spacer" }),
        !query.trim() && recent.includes(s.item.key) ? h("span", { class: "palette-recent" }, "recently used") : null,
        s.item.hint ? h("kbd", { class: "palette-keys" }, s.item.hint) : null,
      ),
    );
    let note = "";
    if (!options.length) note = mode === "files" && files.busy ? "Loading files…" : "No matching results";
    else if (mode === "files" && files.busy) note = "Still loading files…";
    else if (mode === "files" && files.truncated) note = "Showing the first 5,000 entries of the workspace.";
    if (mode === "commands" && commandError) note = commandError;
    list.replaceChildren(...options, note ? h("li", { class: "palette-note", role: "presentation" }, note) : "");
    select(session.selected);
  }

  function marked(text: string, positions: number[]): (HTMLElement | string)[] {
    if (!positions.length) return [text];
    return highlightRuns(text, positions).map((run) => (run.match ? h("mark", {}, run.text) : run.text));
  }

  function select(index: number, moved = false): void {
    if (!session) return;
    if (moved) session.moved = true;
    const options = [...session.list.querySelectorAll<HTMLElement>("[role=option]")];
    if (!options.length) {
      session.input.removeAttribute("aria-activedescendant");
      return;
    }
    session.selected = Math.max(0, Math.min(options.length - 1, index));
    options.forEach((option, i) => {
      option.classList.toggle("selected", i === session?.selected);
      option.setAttribute("aria-selected", String(i === session?.selected));
    });
    const current = options[session.selected];
    session.input.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView?.({ block: "nearest" });
  }

  function runAt(index: number): void {
    if (!session) return;
    const shown = session.shown[index];
    if (!shown) return;
    const { mode } = currentMode();
    close();
    if (mode !== "line" && !shown.item.key.endsWith(":none")) remember(mode, shown.item.key);
    void attempt(async () => {
      await shown.item.run();
    });
  }

  async function runCommand(command: ServerCommand): Promise<void> {
    let args: Record<string, unknown> = {};
    if (hasArguments(command.args_schema)) {
      const values = await schemaForm(command.title, command.args_schema, initialArgs(command.args_schema));
      if (!values) return;
      args = values;
    }
    const result = await wb.run<unknown>(command.id, args);
    if (result !== undefined) notify(`${command.title}: ${summarize(result)}`);
  }

  function initialArgs(schema: JsonSchema): Record<string, unknown> {
    const names = Object.keys(schema.properties ?? {});
    const active = wb.activeFile();
    const at = cursor && cursor.path === active ? cursor : null;
    const initial: Record<string, unknown> = {};
    const defaultOf = (name: string) => schema.properties?.[name]?.default;
    if (names.includes("path") && active && !defaultOf("path")) initial.path = active;
    if (at) {
      if (names.includes("line")) initial.line = at.line;
      if (names.includes("column")) initial.column = at.column;
      if (names.includes("character")) initial.character = at.column - 1;
    }
    return initial;
  }

  function close(): void {
    if (!session) return;
    const { overlay } = session;
    session = null;
    overlay.remove();
    previousFocus?.focus();
  }

  let previousFocus: HTMLElement | null = null;

  function open(prefix?: string): void {
    if (session) close();
    const baseMode: Mode = prefix === "file" || prefix === ":" ? "files" : "commands";
    previousFocus = document.activeElement as HTMLElement | null;
    const list = h("ul", { class: "palette-list", role: "listbox", id: "palette-listbox", "aria-label": baseMode === "files" ? "Files" : "Commands" });
    const input = h("input", {
      class: "palette-input",
      type: "text",
      role: "combobox",
      "aria-expanded": "true",
      "aria-controls": "palette-listbox",
      "aria-autocomplete": "list",
      "aria-label": baseMode === "files" ? "Search files by name (> for commands, : for a line)" : "Type a command",
      placeholder: baseMode === "files" ? "Search files by name (> for commands, : to go to a line)" : "Type a command",
      autocomplete: "off",
      spellcheck: false,
      oninput: () => update(),
      onkeydown: (event: KeyboardEvent) => keydown(event),
    });
    if (prefix === ":") input.value = ":";
    else if (prefix && prefix !== "file") input.value = prefix.replace(/^>/, "");
    const panel = h("div", { class: "palette", role: "dialog", "aria-label": "Command palette", testid: "command-palette" }, input, list);
    const overlay = h("div", {
      class: "overlay palette-overlay",
      onmousedown: (event: MouseEvent) => event.target === overlay && close(),
    });
    overlay.append(panel);
    session = { baseMode, input, list, overlay, shown: [], selected: 0, moved: false };
    document.body.append(overlay);
    loadCommands();
    update();
    input.focus();
  }

  function keydown(event: KeyboardEvent): void {
    if (!session) return;
    const page = 10;
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (event.key in moves) {
      event.preventDefault();
      const count = session.shown.length;
      if (!count) return;
      let next = session.selected + moves[event.key];
      if (Math.abs(moves[event.key]) === 1) next = (next + count) % count;
      select(next, true);
    } else if (event.key === "Enter") {
      event.preventDefault();
      runAt(session.selected);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    } else if (event.key === "Tab") {
      event.preventDefault(); // the keyboard stays in the palette
    }
  }

  return { open };
}

/** A result in one short line: JSON, cut at 200 characters. */
export function summarize(result: unknown): string {
  if (result === null || result === undefined) return "done";
  const text = typeof result === "string" ? result : JSON.stringify(result);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
