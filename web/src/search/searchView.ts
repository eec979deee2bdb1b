/** The side bar's SEARCH view: text search across the workspace, results grouped by file. */
import "./search.css";
import { ApiError } from "../core/api";
import { h, clear } from "../ui/dom";
import { attempt } from "../ui/notify";
import type { View, Workbench } from "../workbench/context";
import { ResultsTree, plural, type SearchResult } from "./searchResults";

const DEBOUNCE_MS = 300;

export function searchView(wb: Workbench): View {
  let lastKey: string | null = null; // the body of the results shown
  let sequence = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const query = h("input", {
    type: "text",
    class: "search-query",
    placeholder: "Search",
    "aria-label": "Search",
    spellcheck: "false",
    testid: "search-input",
  });
  function toggle(label: string, text: string, keys: string): HTMLButtonElement {
    const button = h("button", {
      type: "button",
      class: "icon search-toggle",
      "aria-label": label,
      "aria-pressed": "false",
      title: `${label} (${keys})`,
      onclick: () => {
        button.setAttribute("aria-pressed", String(!pressed(button)));
        schedule(0);
      },
    }, text);
    return button;
  }
  const pressed = (button: HTMLElement) => button.getAttribute("aria-pressed") === "true";
  const matchCase = toggle("Match case", "Aa", "Alt+C");
  const wholeWord = toggle("Match whole word", "ab", "Alt+W");
  const regex = toggle("Use regular expression", ".*", "Alt+R");
  const include = h("input", { type: "text", placeholder: "e.g. src/, *.ts", "aria-label": "Files to include", spellcheck: "false" });
  const exclude = h("input", { type: "text", placeholder: "e.g. tests/, *.min.js", "aria-label": "Files to exclude", spellcheck: "false" });
  const summary = h("div", { class: "search-summary dim", role: "status", "aria-live": "polite" });
  const error = h("div", { class: "search-error", role: "alert", hidden: true });
  const tree = new ResultsTree(
    (match) => void attempt(() => wb.openFile(match.path, { line: match.line, column: match.column })),
    () => query.focus(),
  );

  const onkeydown = (event: KeyboardEvent) => {
    const shortcuts: Record<string, HTMLButtonElement> = { c: matchCase, w: wholeWord, r: regex };
    const button = event.altKey && !event.ctrlKey && !event.metaKey ? shortcuts[event.key.toLowerCase()] : undefined;
    if (button) {
      event.preventDefault();
      button.click();
    } else if (event.key === "Enter") {
      event.preventDefault();
      schedule(0, true);
    } else if (event.key === "ArrowDown" && event.target === query) {
      if (tree.focusFirst()) event.preventDefault();
    }
  };
  for (const input of [query, include, exclude]) {
    input.addEventListener("keydown", onkeydown);
    input.addEventListener("input", () => schedule(DEBOUNCE_MS));
  }

  const element = h(
    "div",
    { class: "search-view" },
    h(
      "div",
      { class: "view-header" },
      h("span", {}, "Search"),
      h(
        "div",
        { class: "actions" },
        h("button", { class: "icon", "aria-label": "Refresh results", title: "Refresh results", onclick: () => schedule(0, true) }, "⟳"),
        h("button", { class: "icon", "aria-label": "Collapse all", title: "Collapse all", onclick: () => tree.collapseAll() }, "⊟"),
        h("button", { class: "icon", "aria-label": "Clear search results", title: "Clear search results", onclick: reset }, "✕"),
      ),
    ),
    h(
      "div",
      { class: "search-form" },
      h("div", { class: "search-box" }, query, h("div", { class: "search-toggles" }, matchCase, wholeWord, regex)),
      h("label", { class: "search-field" }, h("span", { class: "dim" }, "files to include"), include),
      h("label", { class: "search-field" }, h("span", { class: "dim" }, "files to exclude"), exclude),
    ),
    error,
    summary,
    tree.element,
  );

  function schedule(delay: number, force = false): void {
    clearTimeout(timer);
    timer = setTimeout(() => void attempt(() => search(force)), delay);
  }

  function body() {
    return {
      query: query.value,
      is_regex: pressed(regex),
      case_sensitive: pressed(matchCase),
      whole_word: pressed(wholeWord),
      ...(include.value.trim() ? { include: include.value.trim() } : {}),
      ...(exclude.value.trim() ? { exclude: exclude.value.trim() } : {}),
    };
  }

  async function search(force: boolean): Promise<void> {
    const request = body();
    const key = JSON.stringify(request);
    if (!force && lastKey === key) return;
    const mine = ++sequence;
    if (!request.query) {
      lastKey = null;
      showError(null);
      clear(summary);
      tree.clear();
      return;
    }
    summary.textContent = "Searching…";
    element.setAttribute("aria-busy", "true");
    try {
      const result = await wb.api.post<SearchResult>(`/api/v1/workspaces/${encodeURIComponent(wb.workspace.id)}/search/text`, request);
      if (mine !== sequence) return; // a newer search is on its way
      lastKey = key;
      showError(null);
      render(result);
    } catch (failure) {
      if (mine !== sequence) return;
      lastKey = null;
      tree.clear();
      clear(summary);
      showError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      if (mine === sequence) element.removeAttribute("aria-busy");
    }
  }

  function showError(message: string | null): void {
    error.hidden = message === null;
    error.textContent = message ?? "";
  }

  function render(result: SearchResult): void {
    const count = result.results.length;
    const files = tree.show(result.results);
    const lines = [count === 0 ? "No results found." : `${plural(count, "result")} in ${plural(files, "file")}`];
    if (result.truncated) {
      lines.push(
        result.reason === "time_budget"
          ? "The search stopped after its time budget: results are incomplete."
          : "The result limit was reached: refine the search to see everything.",
      );
    }
    clear(summary, ...lines.map((line, i) => h("div", { class: i > 0 ? "search-truncated" : "" }, line)));
    summary.title = `${plural(result.files_searched, "file")} searched in ${result.elapsed_ms} ms`;
  }

  function reset(): void {
    query.value = "";
    tree.collapsed.clear();
    schedule(0, true);
    query.focus();
  }

  return {
    id: "search",
    title: "Search",
    icon: "⌕",
    element,
    focus: () => {
      query.focus();
      query.select();
    },
    shown: () => {
      if (lastKey) schedule(0, true); // files may have changed since
    },
  };
}
