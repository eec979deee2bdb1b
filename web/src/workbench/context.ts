/** What every panel gets: the workspace, the caller, the connections and the shared actions. */
import type { Api, Role, User, WorkspaceInfo } from "../core/api";
import type { Emitter } from "../core/events";
import type { Hub } from "../core/hub";

export interface Position {
  /** 1-based line, as people count. */
  line: number;
  /** 1-based column in UTF-16 units. */
  column?: number;
}

/** A UI action: shown in the command palette, maybe bound to keys. */
export interface Action {
  id: string;
  title: string;
  keys?: string;
  run: () => unknown;
}

/** A view in the side bar (explorer, search, source control) or the bottom panel. */
export interface View {
  id: string;
  title: string;
  icon?: string;
  element: HTMLElement;
  focus?: () => void;
  /** Called when the view becomes visible. */
  shown?: () => void;
}

export interface WorkbenchEvents extends Record<string, unknown> {
  /** The active editor's file changed (null: no editor open). */
  activeFile: string | null;
  /** The cursor moved in the active editor. */
  cursor: { path: string; line: number; column: number };
}

export interface Workbench {
  readonly workspace: WorkspaceInfo;
  readonly user: User;
  readonly api: Api;
  readonly hub: Hub;
  /** The caller's role; kept current when an owner changes it. */
  role: Role;
  readonly events: Emitter<WorkbenchEvents>;
  canEdit(): boolean;
  /** Opens a file in an editor tab, at a position when given. */
  openFile(path: string, at?: Position): Promise<void>;
  /** The file of the active editor, if any. */
  activeFile(): string | null;
  /** Registers a palette action; returns a function that removes it. */
  addAction(action: Action): () => void;
  /** Shows a side view or bottom panel by id (and focuses it). */
  reveal(viewId: string): void;
  /** Runs a server command in this workspace, showing its failure as a message. */
  run<T>(command: string, args?: Record<string, unknown>): Promise<T | undefined>;
}
