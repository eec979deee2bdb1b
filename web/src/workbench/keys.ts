/** VS Code's default keys for the workbench (editor keys live in the editor's own keymap). */
import type { EditorArea } from "../editor/area";
import type { Workbench } from "./context";
import type { Layout } from "./layout";

/** Keys a shell needs more than the workbench does. */
const TERMINAL_KEYS = new Set(["ctrl+w", "ctrl+b", "ctrl+s", "ctrl+g"]);

interface Parts {
  area: EditorArea;
  layout: Layout;
  palette: { open(mode?: string): void };
  terminals: { newTerminal(): Promise<void> };
}

export function bindKeys(wb: Workbench, { area, layout, palette, terminals }: Parts): void {
  // Editors save themselves as people type; Ctrl+S writes every open document to disk now
  // (the server's `editor.save`, which also says "Saved" in this user's editors).
  const save = async () => {
    if (area.activePath()) await wb.run("editor.save");
  };
  const toggleTerminal = () => (layout.bottomOpen() ? layout.toggleBottom(false) : layout.showBottom("terminal"));
  const actions = [
    { id: "workbench.palette", title: "Show all commands", keys: "Ctrl+Shift+P", run: () => palette.open() },
    { id: "workbench.quickOpen", title: "Go to file…", keys: "Ctrl+P", run: () => palette.open("file") },
    { id: "workbench.explorer", title: "View: Show explorer", keys: "Ctrl+Shift+E", run: () => layout.showSide("explorer") },
    { id: "workbench.search", title: "Search: Find in files", keys: "Ctrl+Shift+F", run: () => layout.showSide("search") },
    { id: "workbench.scm", title: "View: Show source control", keys: "Ctrl+Shift+G", run: () => layout.showSide("scm") },
    { id: "workbench.problems", title: "View: Show problems", keys: "Ctrl+Shift+M", run: () => layout.showBottom("problems") },
    { id: "workbench.toggleSide", title: "View: Toggle side bar", keys: "Ctrl+B", run: () => layout.toggleSide() },
    { id: "terminal.toggle", title: "View: Toggle terminal", keys: "Ctrl+`", run: toggleTerminal },
    { id: "terminal.create", title: "Terminal: Create new terminal", keys: "Ctrl+Shift+`", run: () => (layout.showBottom("terminal"), terminals.newTerminal()) },
    { id: "file.save", title: "File: Save", keys: "Ctrl+S", run: save },
    { id: "editor.gotoLinePrompt", title: "Go to line…", keys: "Ctrl+G", run: () => area.gotoLinePrompt() },
    { id: "editor.renamePrompt", title: "Rename symbol", keys: "F2", run: () => area.renamePrompt() },
    { id: "editor.closeActive", title: "View: Close editor", keys: "Ctrl+W", run: () => area.activePath() && area.close(area.activePath()!) },
  ];
  for (const action of actions) wb.addAction(action);
  const byKeys = new Map(actions.map((a) => [a.keys.toLowerCase(), a]));
  byKeys.set("f1", actions[0]);

  document.addEventListener(
    "keydown",
    (event: KeyboardEvent) => {
      if (document.querySelector(".overlay")) return; // a dialog has the keyboard
      const key = event.key === "`" || event.code === "Backquote" ? "`" : event.key.length === 1 ? event.key.toLowerCase() : event.key.toLowerCase();
      const combo = [event.ctrlKey || event.metaKey ? "ctrl" : "", event.shiftKey ? "shift" : "", event.altKey ? "alt" : "", key].filter(Boolean).join("+");
      const action = byKeys.get(combo);
      const target = event.target as Element | null;
      if (!action) return;
      // F2 and Ctrl+G act on the editor that has focus, nowhere else.
      if ((combo === "f2" || combo === "ctrl+g") && !target?.closest?.(".cm-editor")) return;
      // In a terminal, the shell's own keys (Ctrl+W deletes a word, Ctrl+B moves back…)
      // win, as in VS Code; workbench keys with Shift, the palette and Ctrl+` still work.
      if (target?.closest?.(".xterm") && TERMINAL_KEYS.has(combo)) return;
      event.preventDefault();
      event.stopPropagation();
      void action.run();
    },
    true,
  );
}
