/**
 * Who is here and where: the presence avatars, each collaborator's open file and cursor
 * (shared as `focus` messages on the workspace room), and following one of them.
 */
import { Emitter } from "../core/events";
import { h, initials, userColor } from "../ui/dom";
import type { Workbench } from "./context";

interface PresentUser {
  user_id: number;
  username: string;
  role: string;
  connections: number;
}

interface Focus {
  path: string | null;
  line: number;
  column: number;
}

export class Presence {
  readonly element = h("div", { class: "presence", testid: "presence", role: "toolbar", "aria-label": "People in this workspace" });
  readonly events = new Emitter<{ changed: true; following: string | null }>();
  users: PresentUser[] = [];
  following: string | null = null;
  private focus = new Map<string, Focus>();
  private mine: Focus = { path: null, line: 1, column: 1 };
  private timer = 0;
  private announced = "";

  constructor(private readonly wb: Workbench) {
    wb.hub.on<{ workspace: string; users: PresentUser[] }>("presence", ({ workspace, users }) => {
      if (workspace !== wb.workspace.id) return;
      const before = new Set(this.users.map((u) => u.username));
      this.users = users;
      for (const name of [...this.focus.keys()]) if (!users.some((u) => u.username === name)) this.focus.delete(name);
      // Someone new: tell them where I am, so their explorer and follow mode know.
      if (users.some((u) => !before.has(u.username))) this.announce();
      this.render();
    });
    wb.hub.on<{ workspace: string; topic: string; from: string; data: Focus }>("workspace:message", (message) => {
      if (message.workspace !== wb.workspace.id || message.topic !== "focus" || message.from === wb.user.username) return;
      this.focus.set(message.from, message.data);
      this.render();
      if (this.following === message.from && message.data.path) {
        void wb.openFile(message.data.path, { line: message.data.line, column: message.data.column });
      }
    });
    wb.events.on("activeFile", (path) => {
      this.mine = { ...this.mine, path };
      this.schedule();
    });
    wb.events.on("cursor", ({ path, line, column }) => {
      this.mine = { path, line, column };
      this.schedule();
    });
  }

  setUsers(users: PresentUser[]): void {
    this.users = users;
    this.render();
  }

  /** Collaborators by the file they have open (for the explorer's badges). */
  filesOf(): Map<string, { username: string; color: string }[]> {
    const files = new Map<string, { username: string; color: string }[]>();
    for (const [username, focus] of this.focus) {
      if (!focus.path) continue;
      const list = files.get(focus.path) ?? [];
      list.push({ username, color: userColor(username).color });
      files.set(focus.path, list);
    }
    return files;
  }

  follow(username: string | null): void {
    this.following = username === this.wb.user.username ? null : username;
    this.render();
    this.events.emit("following", this.following);
    const focus = this.following ? this.focus.get(this.following) : null;
    if (focus?.path) void this.wb.openFile(focus.path, { line: focus.line, column: focus.column });
  }

  announce(): void {
    void this.wb.hub
      .call("workspace:broadcast", { workspace: this.wb.workspace.id, topic: "focus", data: this.mine })
      .catch(() => undefined); // offline: the next move tells them
  }

  /** Tells the others where I am, once the cursor rests, and only when it moved. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      const where = JSON.stringify(this.mine);
      if (where === this.announced) return;
      this.announced = where;
      this.announce();
    }, 80);
  }

  private render(): void {
    const avatars = this.users.map((user) => {
      const me = user.username === this.wb.user.username;
      const focus = this.focus.get(user.username);
      const where = focus?.path ? ` · in ${focus.path}` : "";
      const title = me ? `${user.username} (you)` : `${user.username} (${user.role})${where} — click to follow`;
      return h(
        "button",
        {
          class: `avatar${this.following === user.username ? " following" : ""}${me ? " me" : ""}`,
          style: `--user: ${userColor(user.username).color}`,
          title,
          "aria-label": title,
          "aria-pressed": me ? undefined : String(this.following === user.username),
          "data-username": user.username,
          disabled: me,
          onclick: () => this.follow(this.following === user.username ? null : user.username),
        },
        initials(user.username),
      );
    });
    this.element.replaceChildren(...avatars, h("span", { class: "presence-count dim" }, `${this.users.length} online`));
    this.events.emit("changed", true);
  }
}
