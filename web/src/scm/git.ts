/** The source control REST routes (README "Source control"), typed. */
import { encodePath, type Api } from "../core/api";

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

export class Git {
  private readonly base: string;

  constructor(
    private readonly api: Api,
    private readonly workspace: string,
  ) {
    this.base = `/api/v1/workspaces/${encodeURIComponent(workspace)}/git`;
  }

  status(): Promise<GitStatus> {
    return this.api.get(`${this.base}/status`);
  }

  diff(path: string, staged: boolean): Promise<FileDiff> {
    const query = new URLSearchParams({ path, staged: String(staged) });
    return this.api.get(`${this.base}/diff?${query}`);
  }

  stage(paths: string[]): Promise<GitStatus> {
    return this.api.post(`${this.base}/stage`, { paths });
  }

  unstage(paths: string[]): Promise<GitStatus> {
    return this.api.post(`${this.base}/unstage`, { paths });
  }

  commit(message: string): Promise<CommitInfo> {
    return this.api.post(`${this.base}/commit`, { message });
  }

  log(limit = 20): Promise<CommitInfo[]> {
    return this.api.get(`${this.base}/log?limit=${limit}`);
  }

  branches(): Promise<BranchList> {
    return this.api.get(`${this.base}/branches`);
  }

  createBranch(name: string): Promise<Branch> {
    return this.api.post(`${this.base}/branches`, { name });
  }

  checkout(branch: string): Promise<BranchList> {
    return this.api.post(`${this.base}/checkout`, { branch });
  }

  init(): Promise<{ path: string; branch: string }> {
    return this.api.post(`${this.base}/init`);
  }

  /** The working tree's text of a file: "" when it is gone, null when it is binary. */
  async workingText(path: string): Promise<string | null> {
    const url = `/api/v1/workspaces/${encodeURIComponent(this.workspace)}/files/${encodePath(path)}`;
    try {
      const file = await this.api.request<{ content: string | null }>("GET", url, {
        headers: { Accept: "application/json" },
      });
      return file.content;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return "";
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
