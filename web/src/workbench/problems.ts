/** The PROBLEMS panel: diagnostics of every open file, pushed by the hub to the whole room. */
import { clear, h } from "../ui/dom";
import type { LspDiagnostic } from "../editor/tab";
import type { View, Workbench } from "./context";

interface Published {
  workspace: string;
  path: string | null;
  diagnostics: LspDiagnostic[];
}

const severityName = ["", "error", "warning", "info", "hint"];

export function problemsView(wb: Workbench, show: (path: string, diagnostics: LspDiagnostic[]) => void): View & { count(): number } {
  const byPath = new Map<string, LspDiagnostic[]>();
  const list = h("ul", { class: "list problems-list", role: "list" });
  const element = h("div", { class: "problems", testid: "problems" }, list);
  const counter = { count: () => [...byPath.values()].reduce((n, d) => n + d.length, 0) };

  function render(): void {
    const files = [...byPath.entries()].filter(([, d]) => d.length).sort(([a], [b]) => a.localeCompare(b));
    if (!files.length) {
      clear(list, h("li", { class: "dim empty" }, "No problems have been detected in the open files."));
      return;
    }
    clear(
      list,
      files.flatMap(([path, diagnostics]) => [
        h("li", { class: "problems-file" }, h("strong", {}, path), " ", h("span", { class: "badge" }, String(diagnostics.length))),
        ...diagnostics.map((d) => {
          const line = d.range.start.line + 1;
          const column = d.range.start.character + 1;
          const severity = severityName[d.severity ?? 1] || "error";
          return h(
            "li",
            {
              class: `row problem ${severity}`,
              tabindex: "0",
              role: "button",
              onclick: () => void wb.openFile(path, { line, column }),
              onkeydown: (e: KeyboardEvent) => e.key === "Enter" && void wb.openFile(path, { line, column }),
            },
            h("span", { class: `severity ${severity}`, "aria-label": severity }, severity === "error" ? "●" : "▲"),
            h("span", { class: "message" }, d.message),
            h("span", { class: "dim" }, `${d.source ?? ""} [Ln ${line}, Col ${column}]`),
          );
        }),
      ]),
    );
  }

  wb.hub.on<Published>("lsp:diagnostics", (event) => {
    if (event.workspace !== wb.workspace.id || !event.path) return;
    byPath.set(event.path, event.diagnostics);
    show(event.path, event.diagnostics);
    render();
  });
  render();
  return { id: "problems", title: "Problems", element, ...counter };
}
