/** Source control (README "Source control"): the results' types and the calls. */
import type { Hub } from "../core/hub";

export interface FileState {
  path: string;
  /** The `git status --porcelain` pair: index letter, working tree letter (`"??"`, `"UU"`…). */
  code: string;
  index: string | null;
  worktree: string | null;
}

export interface GitStatus {
  branch: string | null;
  detached: boolean;
  head: string | null;
  files: FileState[];
}

export interface FileDiff {
  path: string;
  staged: boolean;
  patch: string;
  added: number;
  deleted: number;
  binary: boolean;
  too_large: boolean;
}

export interface CommitInfo {
  id: string;
  short_id: string;
  summary: string;
  message: string;
  author: { name: string; email: string };
  time: string;
  parents: string[];
}

export interface Branch {
  name: string;
  commit: string | null;
  current: boolean;
}

export interface BranchList {
  current: string | null;
  detached: boolean;
  branches: Branch[];
}

/** The `git.*` commands, run over the hub (the same handlers as the REST routes under
 * `/api/v1/workspaces/{id}/git/`): expected refusals such as "not a repository" or a 409 on
 * checkout then come back as acknowledgements, not as failed requests in the console. */
export class Git {
  constructor(
    private readonly hub: Hub,
    private readonly workspace: string,
  ) {}

  private run<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    return this.hub.call<T>("command:execute", { workspace: this.workspace, command, args }, 30000);
  }

  status(): Promise<GitStatus> {
    return this.run("git.status");
  }

  diff(path: string, staged: boolean): Promise<FileDiff> {
    return this.run("git.diff", { path, staged });
  }

  stage(paths: string[]): Promise<GitStatus> {
    return this.run("git.stage", { paths });
  }

  unstage(paths: string[]): Promise<GitStatus> {
    return this.run("git.unstage", { paths });
  }

  commit(message: string): Promise<CommitInfo> {
    return this.run("git.commit", { message });
  }

  log(limit = 20): Promise<CommitInfo[]> {
    return this.run("git.log", { limit });
  }

  branches(): Promise<BranchList> {
    return this.run("git.branches");
  }

  createBranch(name: string): Promise<Branch> {
    return this.run("git.createBranch", { name });
  }

  checkout(branch: string): Promise<BranchList> {
    return this.run("git.checkout", { branch });
  }

  init(): Promise<{ path: string; branch: string }> {
    return this.run("git.init");
  }

  /** The working tree's text of a file: "" when it is gone, null when it is binary. */
  async workingText(path: string): Promise<string | null> {
    try {
      return (await this.run<{ content: string | null }>("files.read", { path })).content;
    } catch (error) {
      if ((error as { code?: string }).code === "not_found") return "";
      throw error;
    }
  }
}

/** What a porcelain pair means for the two groups of the view. */
export function isStaged(file: FileState): boolean {
  return !" ?U".includes(file.code[0]);
}

export function isChanged(file: FileState): boolean {
  return file.code[1] !== " ";
}

/** The letter shown in a group, as VS Code shows it: untracked is U, conflicted is !. */
export function letterOf(file: FileState, staged: boolean): { letter: string; word: string } {
  if (file.code === "??") return { letter: "U", word: "untracked" };
  if (file.code === "UU") return { letter: "!", word: "conflicted" };
  const letter = staged ? file.code[0] : file.code[1];
  const words: Record<string, string> = { A: "added", M: "modified", D: "deleted", R: "renamed", T: "type changed" };
  return { letter, word: words[letter] ?? letter };
}

/** "3 minutes ago", from an ISO time. */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  const units: [number, string][] = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = Math.max(0, seconds);
  for (const [size, unit] of units) {
    if (value < size) {
      const n = Math.floor(value);
      return n === 0 && unit === "second" ? "just now" : `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
    value /= size;
  }
  return "";
}
