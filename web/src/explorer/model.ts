/** The explorer's state: loaded folders (lazily, one at a time), expanded folders, the selection. */
import { ApiError } from "../core/api";
import type { Workbench } from "../workbench/context";

export interface Entry {
  name: string;
  path: string;
  type: "file" | "folder" | "symlink";
  size?: number | null;
  modified?: string | null;
  ignored?: boolean;
}

export interface Row {
  entry: Entry;
  depth: number;
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** True when `path` is `folder` itself or lies below it ("" is the root, above everything). */
export function isWithin(path: string, folder: string): boolean {
  return folder === "" || path === folder || path.startsWith(`${folder}/`);
}

export class TreeModel {
  /** Folder path ("" = root) → its entries, for every folder listed so far. */
  readonly folders = new Map<string, Entry[]>();
  readonly expanded: Set<string>;
  selected: string | null = null;
  /** The root could not be listed: the server's message. */
  error: string | null = null;
  private generation = new Map<string, number>();
  private readonly storageKey: string;

  constructor(
    private readonly wb: Workbench,
    private readonly changed: () => void,
  ) {
    this.storageKey = `nexus.explorer.expanded.${wb.workspace.id}`;
    this.expanded = new Set(readList(this.storageKey));
  }

  /** Lists one folder (again), then the expanded folders inside it that are not listed yet. */
  async load(folder: string): Promise<void> {
    const generation = (this.generation.get(folder) ?? 0) + 1;
    this.generation.set(folder, generation);
    let entries: Entry[];
    try {
      const url = `/api/v1/workspaces/${this.wb.workspace.id}/tree?path=${encodeURIComponent(folder)}`;
      entries = (await this.wb.api.get<{ entries: Entry[] }>(url)).entries;
    } catch (error) {
      if (this.generation.get(folder) !== generation) return;
      if (folder === "") {
        this.error = (error as Error).message;
        this.changed();
      } else if (error instanceof ApiError && (error.status === 404 || error.status === 422)) {
        this.forget(folder);
        this.changed();
      } else {
        throw error;
      }
      return;
    }
    if (this.generation.get(folder) !== generation) return;
    if (folder === "") this.error = null;
    this.folders.set(folder, entries);
    const present = new Set(entries.filter((e) => e.type === "folder").map((e) => e.path));
    for (const path of [...this.folders.keys(), ...this.expanded]) {
      if (path !== folder && parentOf(path) === folder && !present.has(path)) this.forget(path);
    }
    this.changed();
    const pending = entries.filter((e) => e.type === "folder" && this.expanded.has(e.path) && !this.folders.has(e.path));
    await Promise.all(pending.map((e) => this.load(e.path)));
  }

  /** Lists the given folders again (those no longer shown are skipped). */
  async reload(folders: Iterable<string>): Promise<void> {
    const wanted = [...new Set(folders)].filter((f) => this.folders.has(f));
    await Promise.all(wanted.map((f) => this.load(f)));
  }

  /** Lists the root and every folder listed so far again. */
  async reloadAll(): Promise<void> {
    const folders = [...this.folders.keys()].sort((a, b) => depth(a) - depth(b));
    await Promise.all(["", ...folders.filter((f) => f !== "")].map((f) => this.load(f)));
  }

  /** The folder nearest to `path` that is listed (for a path that appeared in an unlisted folder). */
  nearestLoaded(path: string): string {
    let folder = parentOf(path);
    while (folder !== "" && !this.folders.has(folder)) folder = parentOf(folder);
    return folder;
  }

  select(path: string | null): void {
    this.selected = path;
    this.changed();
  }

  isExpanded(path: string): boolean {
    return this.expanded.has(path);
  }

  async expand(path: string): Promise<void> {
    if (!this.expanded.has(path)) {
      this.expanded.add(path);
      this.save();
      this.changed();
    }
    if (!this.folders.has(path)) await this.load(path);
  }

  collapse(path: string): void {
    if (!this.expanded.delete(path)) return;
    this.save();
    this.changed();
  }

  toggle(path: string): Promise<void> {
    if (this.expanded.has(path)) {
      this.collapse(path);
      return Promise.resolve();
    }
    return this.expand(path);
  }

  collapseAll(): void {
    this.expanded.clear();
    this.save();
    this.changed();
  }

  /** Expands the folders above `path` so that its row is shown. */
  async reveal(path: string): Promise<void> {
    const parts = path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) await this.expand(parts.slice(0, i).join("/"));
  }

  /** Moves what is remembered about `from` (expanded folders, selection) to `to`. */
  renamed(from: string, to: string): void {
    const move = (path: string) => (isWithin(path, from) ? to + path.slice(from.length) : path);
    const expanded = [...this.expanded].map(move);
    this.expanded.clear();
    for (const path of expanded) this.expanded.add(path);
    if (this.selected !== null) this.selected = move(this.selected);
    this.save();
  }

  /** The entry at `path`, if its folder is listed. */
  entry(path: string): Entry | undefined {
    return this.folders.get(parentOf(path))?.find((e) => e.path === path);
  }

  /** The rows shown, in order: the root's entries and those of expanded folders, depth first. */
  rows(): Row[] {
    const rows: Row[] = [];
    const walk = (folder: string, depth: number) => {
      for (const entry of this.folders.get(folder) ?? []) {
        rows.push({ entry, depth });
        if (entry.type === "folder" && this.expanded.has(entry.path)) walk(entry.path, depth + 1);
      }
    };
    walk("", 0);
    return rows;
  }

  /** Where "new file" goes: the selected folder, the selected file's folder, or the root. */
  targetFolder(): string {
    if (this.selected === null) return "";
    const entry = this.entry(this.selected);
    if (!entry) return "";
    return entry.type === "folder" ? entry.path : parentOf(entry.path);
  }

  private forget(folder: string): void {
    for (const path of [...this.folders.keys()]) if (isWithin(path, folder)) this.folders.delete(path);
    let dropped = false;
    for (const path of [...this.expanded]) {
      if (isWithin(path, folder)) dropped = this.expanded.delete(path) || dropped;
    }
    if (dropped) this.save();
  }

  private save(): void {
    try {
      localStorage.setItem(this.storageKey, JSON.stringify([...this.expanded]));
    } catch {
      // storage full or disabled: the tree still works, it just forgets
    }
  }
}

function depth(path: string): number {
  return path === "" ? 0 : path.split("/").length;
}

function readList(key: string): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(key) ?? "[]");
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}
