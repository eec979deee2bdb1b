/** The tree's rows (ARIA treeitems with a roving tabindex) and its keyboard and mouse handling. */
import { h } from "../ui/dom";
import { parentOf, type Entry, type Row, type TreeModel } from "./model";

export interface TreeDelegate {
  /** Opens a file; `preserveFocus` (a single click) keeps the keyboard in the tree, as VS Code does. */
  open(entry: Entry, preserveFocus: boolean): void;
  menu(entry: Entry, at: { x: number; y: number } | HTMLElement): void;
  rename(entry: Entry): void;
  remove(entry: Entry): void;
  /** Adds the row's decorations (source control, presence) after its name; returns their descriptions. */
  decorate(row: HTMLElement, entry: Entry): string[];
  canEdit(): boolean;
  activeFile(): string | null;
}

export class TreeView {
  readonly element: HTMLElement;
  private rows: Row[] = [];
  private lastIndex = 0;
  private typed = "";
  private typedAt = 0;

  constructor(
    private readonly model: TreeModel,
    private readonly delegate: TreeDelegate,
  ) {
    this.element = h("div", {
      class: "explorer-tree",
      role: "tree",
      "aria-label": "Files",
      onkeydown: (event: KeyboardEvent) => this.keydown(event),
      onclick: (event: MouseEvent) => this.click(event),
      oncontextmenu: (event: MouseEvent) => this.contextmenu(event),
    });
  }

  /** Builds the rows again from the model, keeping the focus on the selected row. */
  render(): void {
    const hadFocus = this.element.contains(document.activeElement);
    const scroll = this.element.parentElement?.scrollTop;
    this.rows = this.model.rows();
    let index = this.rows.findIndex((r) => r.entry.path === this.model.selected);
    if (index < 0 && this.model.selected !== null && this.rows.length > 0) {
      // The selected entry went away (deleted, moved): select its neighbour.
      index = Math.min(this.lastIndex, this.rows.length - 1);
      this.model.selected = this.rows[index].entry.path;
    }
    if (index >= 0) this.lastIndex = index;
    const active = this.delegate.activeFile();
    const tabbable = index >= 0 ? index : 0;
    const siblings = new Map<string, number>();
    for (const row of this.rows) siblings.set(parentOf(row.entry.path), (siblings.get(parentOf(row.entry.path)) ?? 0) + 1);
    const positions = new Map<string, number>();
    const elements = this.rows.map((row, i) => {
      const parent = parentOf(row.entry.path);
      positions.set(parent, (positions.get(parent) ?? 0) + 1);
      return this.row(row, i === tabbable, i === index, row.entry.path === active, positions.get(parent)!, siblings.get(parent)!);
    });
    this.element.replaceChildren(...elements);
    if (scroll !== undefined && this.element.parentElement) this.element.parentElement.scrollTop = scroll;
    if (hadFocus) this.focus();
  }

  /** Focuses the selected row (or the first). */
  focus(): void {
    const rows = this.rowElements();
    const target = rows.find((r) => r.tabIndex === 0) ?? rows[0];
    target?.focus();
  }

  rowOf(element: EventTarget | null): { element: HTMLElement; entry: Entry } | null {
    const row = (element as Element | null)?.closest?.<HTMLElement>("[role=treeitem]");
    if (!row || !this.element.contains(row)) return null;
    const found = this.rows.find((r) => r.entry.path === row.dataset.path);
    return found ? { element: row, entry: found.entry } : null;
  }

  private row(row: Row, tabbable: boolean, selected: boolean, active: boolean, position: number, size: number): HTMLElement {
    const { entry, depth } = row;
    const folder = entry.type === "folder";
    const expanded = folder && this.model.isExpanded(entry.path);
    const element = h(
      "div",
      {
        class: `row explorer-row ${entry.type}${selected ? " selected" : ""}${active ? " active" : ""}${entry.ignored ? " ignored" : ""}`,
        role: "treeitem",
        tabindex: tabbable ? "0" : "-1",
        "aria-level": String(depth + 1),
        "aria-setsize": String(size),
        "aria-posinset": String(position),
        "aria-selected": selected ? "true" : "false",
        "aria-expanded": folder ? String(expanded) : undefined,
        "aria-current": active ? "true" : undefined,
        title: entry.type === "symlink" ? `${entry.path} (a link leading outside the workspace)` : entry.path,
        draggable: this.delegate.canEdit() ? "true" : undefined,
        "data-path": entry.path,
        style: `padding-left: ${8 + depth * 14}px`,
      },
      h("span", { class: "twisty", "aria-hidden": "true" }, folder ? (expanded ? "▾" : "▸") : ""),
      h("span", { class: "name" }, entry.name),
    );
    const described = this.delegate.decorate(element, entry);
    element.setAttribute("aria-label", [entry.name, ...described].join(", "));
    element.append(
      h("button", { type: "button", class: "icon more", tabindex: "-1", "aria-label": `Actions for ${entry.name}`, title: "More actions (Shift+F10)" }, "⋯"),
    );
    return element;
  }

  private rowElements(): HTMLElement[] {
    return [...this.element.querySelectorAll<HTMLElement>("[role=treeitem]")];
  }

  private select(index: number): void {
    const row = this.rows[Math.max(0, Math.min(index, this.rows.length - 1))];
    if (!row) return;
    this.model.select(row.entry.path);
  }

  private activate(entry: Entry, preserveFocus = false): void {
    if (entry.type === "folder") void this.model.toggle(entry.path);
    else if (entry.type === "file") this.delegate.open(entry, preserveFocus);
  }

  private click(event: MouseEvent): void {
    const hit = this.rowOf(event.target);
    if (!hit) return;
    this.model.select(hit.entry.path);
    if ((event.target as Element).closest("button.more")) {
      event.stopPropagation();
      const button = this.rowOf(event.target)?.element.querySelector<HTMLElement>("button.more");
      this.delegate.menu(hit.entry, button ?? { x: event.clientX, y: event.clientY });
      return;
    }
    if (event.detail > 1 && hit.entry.type === "folder") return; // a double click toggles once
    this.activate(hit.entry, event.detail < 2);
  }

  private contextmenu(event: MouseEvent): void {
    const hit = this.rowOf(event.target);
    if (!hit) return;
    event.preventDefault();
    this.model.select(hit.entry.path);
    this.delegate.menu(hit.entry, { x: event.clientX, y: event.clientY });
  }

  private keydown(event: KeyboardEvent): void {
    const hit = this.rowOf(event.target);
    if (!hit || (event.target as Element).closest("button")) return;
    const { entry } = hit;
    const index = this.rows.findIndex((r) => r.entry.path === entry.path);
    const folder = entry.type === "folder";
    const expanded = folder && this.model.isExpanded(entry.path);
    const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
    switch (event.key) {
      case "ArrowDown":
        this.select(index + 1);
        break;
      case "ArrowUp":
        this.select(index - 1);
        break;
      case "Home":
        this.select(0);
        break;
      case "End":
        this.select(this.rows.length - 1);
        break;
      case "ArrowRight":
        if (folder && !expanded) void this.model.expand(entry.path);
        else if (expanded && this.rows[index + 1]?.depth === this.rows[index].depth + 1) this.select(index + 1);
        break;
      case "ArrowLeft":
        if (expanded) this.model.collapse(entry.path);
        else if (parentOf(entry.path) !== "") this.model.select(parentOf(entry.path));
        break;
      case "Enter":
      case " ":
        this.activate(entry);
        break;
      case "F2":
        if (!this.delegate.canEdit()) return;
        this.delegate.rename(entry);
        break;
      case "Delete":
        if (!this.delegate.canEdit()) return;
        this.delegate.remove(entry);
        break;
      case "ContextMenu":
        this.delegate.menu(entry, hit.element);
        break;
      case "F10":
        if (!event.shiftKey) return;
        this.delegate.menu(entry, hit.element);
        break;
      default:
        if (event.key.length !== 1 || !plain) return;
        this.typeAhead(event.key, index);
    }
    event.preventDefault();
    event.stopPropagation();
  }

  /** Typing letters jumps to the next row whose name starts with them. */
  private typeAhead(char: string, index: number): void {
    const now = Date.now();
    this.typed = now - this.typedAt < 700 ? this.typed + char.toLowerCase() : char.toLowerCase();
    this.typedAt = now;
    const start = this.typed.length > 1 ? index : index + 1;
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[(start + i) % this.rows.length];
      if (row.entry.name.toLowerCase().startsWith(this.typed)) {
        this.model.select(row.entry.path);
        return;
      }
    }
  }
}
