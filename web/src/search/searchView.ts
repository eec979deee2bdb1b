/** The side bar's SEARCH view: text search across the workspace, results grouped by file. */
import "./search.css";
import { ApiError } from "../core/api";
import { h, clear } from "../ui/dom";
import { attempt } from "../ui/notify";
import type { View, Workbench } from "../workbench/context";

interface Match {
  path: string;
  line: number;
  column: number;
  length: number;
  preview: string;
  preview_start: number;
}

interface SearchResult {
  results: Match[];
  files_searched: number;
  truncated: boolean;
  reason: string | null;
  elapsed_ms: number;
}

const DEBOUNCE_MS = 300;
const CONTEXT_BEFORE = 40; // characters of a long line kept before the match

function plural(count: number, word: string): string {
  return `${count.toLocaleString()} ${word}${count === 1 ? "" : "s"}`;
}

/** The preview line with its match in a <mark>, trimmed on the left as VS Code does. */
function preview(match: Match): HTMLElement {
  let text = match.preview;
  let start = Math.min(Math.max(match.preview_start, 0), text.length);
  const indent = text.length - text.trimStart().length;
  let prefix = "";
  if (indent > 0 && indent <= start) {
    text = text.slice(indent);
    start -= indent;
  }
  if (start > CONTEXT_BEFORE) {
    const cut = start - CONTEXT_BEFORE + 10;
    text = text.slice(cut);
    start -= cut;
    prefix = "…";
  }
  const end = Math.min(start + match.length, text.length);
  return h(
    "span",
    { class: "search-preview" },
    prefix + text.slice(0, start),
    h("mark", {}, text.slice(start, end)),
    text.slice(end),
  );
}

export function searchView(wb: Workbench): View {
  const collapsed = new Set<string>();
  let last: { query: string; result: SearchResult } | null = null;
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
  const results = h("ul", { class: "list search-results", role: "tree", "aria-label": "Search results", testid: "search-results" });

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
      const first = results.querySelector<HTMLElement>(".row");
      if (first) {
        event.preventDefault();
        first.focus();
      }
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
        h("button", { class: "icon", "aria-label": "Collapse all", title: "Collapse all", onclick: collapseAll }, "⊟"),
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
    results,
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
    if (!force && last && last.query === key) return;
    const mine = ++sequence;
    if (!request.query) {
      last = null;
      showError(null);
      clear(summary);
      clear(results);
      return;
    }
    summary.textContent = "Searching…";
    element.setAttribute("aria-busy", "true");
    try {
      const result = await wb.api.post<SearchResult>(`/api/v1/workspaces/${encodeURIComponent(wb.workspace.id)}/search/text`, request);
      if (mine !== sequence) return; // a newer search is on its way
      last = { query: key, result };
      showError(null);
      render(result);
    } catch (failure) {
      if (mine !== sequence) return;
      last = null;
      clear(results);
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
    const groups = new Map<string, Match[]>();
    for (const match of result.results) {
      const list = groups.get(match.path) ?? [];
      list.push(match);
      groups.set(match.path, list);
    }
    const count = result.results.length;
    const lines = [count === 0 ? "No results found." : `${plural(count, "result")} in ${plural(groups.size, "file")}`];
    if (result.truncated) {
      lines.push(
        result.reason === "time_budget"
          ? "The search stopped after its time budget: results are incomplete."
          : "The result limit was reached: refine the search to see everything.",
      );
    }
    clear(summary, ...lines.map((line, i) => h("div", { class: i > 0 ? "search-truncated" : "" }, line)));
    summary.title = `${plural(result.files_searched, "file")} searched in ${result.elapsed_ms} ms`;
    const rows = [...groups].map(([path, matches]) => group(path, matches));
    clear(results, ...rows);
    results.querySelector<HTMLElement>(".row")?.setAttribute("tabindex", "0");
  }

  function group(path: string, matches: Match[]): HTMLElement {
    const slash = path.lastIndexOf("/");
    const open = !collapsed.has(path);
    const children = h(
      "ul",
      { class: "list", role: "group", hidden: !open },
      ...matches.map((match) =>
        h(
          "li",
          {
            class: "row search-match",
            role: "treeitem",
            tabindex: "-1",
            title: `${path}:${match.line}:${match.column}`,
            "aria-label": `${match.preview.trim()}, line ${match.line}`,
            onclick: () => openMatch(match),
          },
          preview(match),
          h("span", { class: "search-line dim" }, String(match.line)),
        ),
      ),
    );
    const row = h(
      "div",
      {
        class: "row search-file",
        role: "treeitem",
        tabindex: "-1",
        "aria-expanded": String(open),
        title: path,
        "data-path": path,
        onclick: () => setOpen(item, collapsed.has(path)),
      },
      h("span", { class: "search-chevron", "aria-hidden": "true" }, open ? "▾" : "▸"),
      h("span", { class: "search-file-name" }, path.slice(slash + 1)),
      slash > 0 && h("span", { class: "search-file-dir dim" }, path.slice(0, slash)),
      h("span", { class: "badge", "aria-label": plural(matches.length, "match") }, String(matches.length)),
    );
    const item = h("li", { class: "search-group" }, row, children);
    return item;
  }

  function setOpen(item: HTMLElement, open: boolean): void {
    const row = item.querySelector<HTMLElement>(".search-file")!;
    const path = row.dataset.path!;
    if (open) collapsed.delete(path);
    else collapsed.add(path);
    row.setAttribute("aria-expanded", String(open));
    row.querySelector(".search-chevron")!.textContent = open ? "▾" : "▸";
    item.querySelector<HTMLElement>("[role=group]")!.hidden = !open;
  }

  function openMatch(match: Match): void {
    void attempt(() => wb.openFile(match.path, { line: match.line, column: match.column }));
  }

  function collapseAll(): void {
    for (const item of results.querySelectorAll<HTMLElement>(".search-group")) setOpen(item, false);
  }

  function reset(): void {
    query.value = "";
    collapsed.clear();
    schedule(0, true);
    query.focus();
  }

  // Keyboard in the tree: arrows move between visible rows, Left/Right fold, Enter/Space open.
  results.addEventListener("keydown", (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>(".row");
    if (!row) return;
    const rows = [...results.querySelectorAll<HTMLElement>(".row")].filter((r) => r.getClientRects().length > 0);
    const at = rows.indexOf(row);
    const item = row.closest<HTMLElement>(".search-group")!;
    const isFile = row.classList.contains("search-file");
    const move = (to: HTMLElement | undefined) => {
      if (!to) return;
      for (const r of rows) r.tabIndex = -1;
      to.tabIndex = 0;
      to.focus();
    };
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(rows[at + 1]),
      ArrowUp: () => (at === 0 ? query.focus() : move(rows[at - 1])),
      Home: () => move(rows[0]),
      End: () => move(rows[rows.length - 1]),
      ArrowRight: () => (isFile ? setOpen(item, true) : undefined),
      ArrowLeft: () => (isFile ? setOpen(item, false) : move(item.querySelector<HTMLElement>(".search-file")!)),
      Enter: () => row.click(),
      " ": () => row.click(),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

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
      if (last) schedule(0, true); // files may have changed since
    },
  };
}
