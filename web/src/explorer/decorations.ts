/** Source-control letters on file names (M, U, A, D …) and a dot on folders that hold changes. */
import { ApiError } from "../core/api";
import type { Workbench } from "../workbench/context";
import { parentOf } from "./model";

export interface GitMark {
  letter: string;
  /** CSS class: added, modified, deleted, conflict. */
  kind: string;
  title: string;
}

interface GitStatus {
  files: { path: string; code: string }[];
}

/** `git status --porcelain` pair → the letter VS Code shows. */
export function markOf(code: string): GitMark {
  if (code === "??") return { letter: "U", kind: "added", title: "Untracked" };
  if (code.includes("U") || code === "AA" || code === "DD") return { letter: "!", kind: "conflict", title: "Conflict" };
  if (code.includes("D")) return { letter: "D", kind: "deleted", title: "Deleted" };
  if (code[0] === "A") return { letter: "A", kind: "added", title: "Added" };
  if (code[0] === "R") return { letter: "R", kind: "modified", title: "Renamed" };
  return { letter: "M", kind: "modified", title: "Modified" };
}

const STRENGTH = ["added", "deleted", "modified", "conflict"];

export class GitDecorations {
  private files = new Map<string, GitMark>();
  private folders = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private again = false;

  constructor(
    private readonly wb: Workbench,
    private readonly changed: () => void,
  ) {}

  file(path: string): GitMark | undefined {
    return this.files.get(path);
  }

  /** The strongest kind of change inside a folder (conflict, modified, deleted, added), if any. */
  folder(path: string): string | undefined {
    return this.folders.get(path);
  }

  /** Asks for the status again in 500 ms (changes come in bursts). */
  schedule(delay = 500): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      // Over the hub rather than REST: "not a repository" is an answer here, not a failed
      // request that the browser would log in the console.
      const status = await this.wb.hub.call<GitStatus>("command:execute", {
        workspace: this.wb.workspace.id,
        command: "git.status",
      });
      this.set(status.files);
    } catch (error) {
      // Not a repository, or the server is away: no decorations, no noise.
      if (error instanceof ApiError && error.code !== "unreachable") this.set([]);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    }
  }

  private set(files: { path: string; code: string }[]): void {
    const next = new Map<string, GitMark>();
    const folders = new Map<string, string>();
    for (const { path, code } of files) {
      const clean = path.replace(/\/$/, "");
      const mark = markOf(code);
      next.set(clean, mark);
      for (let folder = parentOf(clean); ; folder = parentOf(folder)) {
        const known = folders.get(folder);
        if (known === undefined || STRENGTH.indexOf(mark.kind) > STRENGTH.indexOf(known)) folders.set(folder, mark.kind);
        if (folder === "") break;
      }
    }
    if (same(next, this.files)) return;
    this.files = next;
    this.folders = folders;
    this.changed();
  }
}

function same(a: Map<string, GitMark>, b: Map<string, GitMark>): boolean {
  if (a.size !== b.size) return false;
  for (const [path, mark] of a) if (b.get(path)?.letter !== mark.letter) return false;
  return true;
}
