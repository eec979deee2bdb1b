/** The workspace's file paths for quick open: the tree read folder by folder, breadth first,
 * up to 5,000 entries, kept until the files change (`explorer:changed`). */
import type { Workbench } from "../workbench/context";

const LIMIT = 5000;
const PARALLEL = 6;

interface Entry {
  path: string;
  type: "file" | "folder" | "symlink";
}

interface Changed {
  workspace?: string;
  overflow?: boolean;
  changes?: { path: string; kind: string }[];
}

export class FileIndex {
  private files: string[] = [];
  private loading: Promise<void> | null = null;
  private generation = 0;
  /** True while folders are still being read. */
  busy = false;
  truncated = false;

  constructor(
    private readonly wb: Workbench,
    /** Called as more paths arrive. */
    private readonly onUpdate: () => void,
  ) {
    // Only added and deleted paths change the list; edits to files do not.
    wb.hub.on<Changed>("explorer:changed", (payload) => {
      if (payload?.workspace !== wb.workspace.id) return;
      const known = (c: { path: string; kind: string }) => c.kind === "modified" || (c.kind === "added" && this.has(c.path));
      if (payload.overflow || !payload.changes || !payload.changes.every(known)) this.invalidate();
    });
  }

  has(path: string): boolean {
    return this.files.includes(path);
  }

  invalidate(): void {
    this.generation++;
    this.loading = null;
  }

  /** The paths known so far; starts loading them when needed. */
  paths(): string[] {
    if (!this.loading) this.loading = this.load();
    return this.files;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const found: string[] = [];
    const queue: string[] = [""];
    let count = 0;
    this.busy = true;
    this.truncated = false;
    try {
      while (queue.length && count < LIMIT) {
        const batch = queue.splice(0, PARALLEL);
        const folders = await Promise.all(batch.map((path) => this.list(path)));
        if (generation !== this.generation) return;
        for (const entries of folders) {
          for (const entry of entries) {
            if (count >= LIMIT) break;
            count++;
            if (entry.type === "folder") queue.push(entry.path);
            else if (entry.type === "file") found.push(entry.path);
          }
        }
        this.files = [...found];
        this.onUpdate();
      }
      this.truncated = count >= LIMIT && queue.length > 0;
    } finally {
      if (generation === this.generation) {
        this.busy = false;
        this.files = found;
        this.onUpdate();
      }
    }
  }

  private async list(path: string): Promise<Entry[]> {
    const url = `/api/v1/workspaces/${encodeURIComponent(this.wb.workspace.id)}/tree?path=${encodeURIComponent(path)}`;
    try {
      const folder = await this.wb.api.get<{ entries: Entry[] }>(url);
      return folder.entries;
    } catch {
      return []; // a folder that vanished or cannot be read: skip it
    }
  }
}
