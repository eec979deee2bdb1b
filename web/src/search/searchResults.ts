/** The SEARCH view's results: a tree of files (foldable, with counts) and their matches. */
import { h, clear } from "../ui/dom";

export interface Match {
  path: string;
  line: number;
  column: number;
  length: number;
  preview: string;
  preview_start: number;
}

export interface SearchResult {
  results: Match[];
  files_searched: number;
  truncated: boolean;
  reason: string | null;
  elapsed_ms: number;
}

const CONTEXT_BEFORE = 40; // characters of a long line kept before the match

export function plural(count: number, word: string): string {
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
  return h("span", { class: "search-preview" }, prefix + text.slice(0, start), h("mark", {}, text.slice(start, end)), text.slice(end));
}

export class ResultsTree {
  readonly element = h("ul", { class: "list search-results", role: "tree", "aria-label": "Search results", testid: "search-results" });
  /** Files folded by hand stay folded when the results come again. */
  readonly collapsed = new Set<string>();

  constructor(
    private readonly open: (match: Match) => void,
    /** ArrowUp on the first row goes back to the query. */
    private readonly leave: () => void,
  ) {
    this.element.addEventListener("keydown", (event) => this.keydown(event));
  }

  /** Shows the results grouped by file; returns how many files they are in. */
  show(matches: Match[]): number {
    const groups = new Map<string, Match[]>();
    for (const match of matches) groups.set(match.path, [...(groups.get(match.path) ?? []), match]);
    clear(this.element, ...[...groups].map(([path, list]) => this.group(path, list)));
    this.element.querySelector<HTMLElement>(".row")?.setAttribute("tabindex", "0");
    return groups.size;
  }

  clear(): void {
    clear(this.element);
  }

  focusFirst(): boolean {
    const first = this.element.querySelector<HTMLElement>(".row");
    first?.focus();
    return first !== null;
  }

  collapseAll(): void {
    for (const item of this.element.querySelectorAll<HTMLElement>(".search-group")) this.setOpen(item, false);
  }

  private group(path: string, matches: Match[]): HTMLElement {
    const slash = path.lastIndexOf("/");
    const open = !this.collapsed.has(path);
    const rows = matches.map((match) =>
      h(
        "li",
        {
          class: "row search-match",
          role: "treeitem",
          tabindex: "-1",
          title: `${path}:${match.line}:${match.column}`,
          "aria-label": `${match.preview.trim()}, line ${match.line}`,
          onclick: () => this.open(match),
        },
        preview(match),
        h("span", { class: "search-line dim" }, String(match.line)),
      ),
    );
    const file = h(
      "div",
      {
        class: "row search-file",
        role: "treeitem",
        tabindex: "-1",
        "aria-expanded": String(open),
        title: path,
        "data-path": path,
        onclick: () => this.setOpen(item, this.collapsed.has(path)),
      },
      h("span", { class: "search-chevron", "aria-hidden": "true" }, open ? "▾" : "▸"),
      h("span", { class: "search-file-name" }, path.slice(slash + 1)),
      slash > 0 && h("span", { class: "search-file-dir dim" }, path.slice(0, slash)),
      h("span", { class: "badge", "aria-label": plural(matches.length, "match") }, String(matches.length)),
    );
    const item = h("li", { class: "search-group" }, file, h("ul", { class: "list", role: "group", hidden: !open }, ...rows));
    return item;
  }

  private setOpen(item: HTMLElement, open: boolean): void {
    const row = item.querySelector<HTMLElement>(".search-file")!;
    if (open) this.collapsed.delete(row.dataset.path!);
    else this.collapsed.add(row.dataset.path!);
    row.setAttribute("aria-expanded", String(open));
    row.querySelector(".search-chevron")!.textContent = open ? "▾" : "▸";
    item.querySelector<HTMLElement>("[role=group]")!.hidden = !open;
  }

  /** Arrows move between visible rows, Left/Right fold, Enter/Space open. */
  private keydown(event: KeyboardEvent): void {
    const row = (event.target as HTMLElement).closest<HTMLElement>(".row");
    if (!row) return;
    const rows = [...this.element.querySelectorAll<HTMLElement>(".row")].filter((r) => r.getClientRects().length > 0);
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
      ArrowUp: () => (at === 0 ? this.leave() : move(rows[at - 1])),
      Home: () => move(rows[0]),
      End: () => move(rows[rows.length - 1]),
      ArrowRight: () => (isFile ? this.setOpen(item, true) : undefined),
      ArrowLeft: () => (isFile ? this.setOpen(item, false) : move(item.querySelector<HTMLElement>(".search-file")!)),
      Enter: () => row.click(),
      " ": () => row.click(),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }
}
