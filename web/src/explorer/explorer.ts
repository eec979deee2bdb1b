/** The side bar's EXPLORER: the workspace's files as a lazy tree, kept live, with git and presence marks. */
import { h, clear, initials, userColor } from "../ui/dom";
import { attempt } from "../ui/notify";
import type { View, Workbench } from "../workbench/context";
import { GitDecorations } from "./decorations";
import { icon } from "./icons";
import { installDrop } from "./drop";
import { showMenu, type MenuItem } from "./menu";
import { TreeModel, parentOf, type Entry } from "./model";
import { FileOperations } from "./operations";
import { TreeView } from "./tree";
import "./explorer.css";

export interface Presence {
  filesOf(): Map<string, { username: string; color: string }[]>;
  onChange(cb: () => void): () => void;
}

interface ExplorerChanged {
  workspace: string;
  changes?: { path: string; kind: string }[];
  overflow?: boolean;
}

export function explorerView(wb: Workbench, presence: Presence): View {
  let scheduled = false;
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      render();
    });
  };
  const model = new TreeModel(wb, changed);
  const git = new GitDecorations(wb, changed);
  const ops = new FileOperations(wb, model, (path) => open(path, false));
  let files = presence.filesOf();

  const tree = new TreeView(model, {
    open: (entry, preserveFocus) => void open(entry.path, preserveFocus),
    menu: (entry, at) => showMenu(menuItems(entry), at, `Actions for ${entry.name}`, () => tree.focus()),
    rename: (entry) => void attempt(() => ops.rename(entry)),
    remove: (entry) => void attempt(() => ops.remove(entry)),
    decorate,
    canEdit: () => wb.canEdit(),
    activeFile: () => wb.activeFile(),
  });

  const button = (label: string, glyph: Parameters<typeof icon>[0], testid: string, run: () => unknown) =>
    h("button", { type: "button", class: "icon", "aria-label": label, title: label, testid, onclick: run }, icon(glyph));
  const editActions = [
    button("New File", "newFile", "explorer-new-file", () => void attempt(() => ops.newFile())),
    button("New Folder", "newFolder", "explorer-new-folder", () => void attempt(() => ops.newFolder())),
  ];
  const actions = h(
    "div",
    { class: "actions" },
    editActions,
    button("Refresh Explorer", "refresh", "explorer-refresh", () => void attempt(() => refresh())),
    button("Collapse Folders", "collapse", "explorer-collapse", () => model.collapseAll()),
  );
  const progress = h("div", { class: "explorer-progress", role: "status", "aria-live": "polite", hidden: true });
  const body = h("div", { class: "explorer-body" }, tree.element);
  const root = h(
    "div",
    { class: "explorer", testid: "explorer" },
    h("div", { class: "view-header" }, h("span", { class: "explorer-title", title: wb.workspace.path }, wb.workspace.name), actions),
    progress,
    body,
  );

  function render(): void {
    for (const action of editActions) action.hidden = !wb.canEdit();
    if (model.error !== null) {
      clear(
        body,
        h("div", { class: "explorer-empty" }, h("p", { class: "error-text" }, model.error), h("button", { type: "button", onclick: () => void attempt(refresh) }, "Retry")),
      );
      return;
    }
    const rootEntries = model.folders.get("");
    if (rootEntries && rootEntries.length === 0) {
      clear(
        body,
        h(
          "div",
          { class: "explorer-empty", testid: "explorer-empty" },
          h("p", {}, "This workspace is empty."),
          wb.canEdit()
            ? h("button", { type: "button", class: "primary", onclick: () => void attempt(() => ops.newFile("")) }, "New File")
            : h("p", { class: "dim" }, "Files that editors add will appear here."),
        ),
      );
      return;
    }
    if (!body.contains(tree.element)) clear(body, tree.element);
    tree.render();
  }

  let opening = 0;
  /** The file this view last opened: its row is in sight, so its activation reveals nothing. */
  let opened: string | null = null;
  async function open(path: string, preserveFocus: boolean): Promise<void> {
    const ticket = ++opening;
    opened = path;
    await attempt(() => wb.openFile(path));
    if (!preserveFocus) return;
    // The editor takes the focus on the next frame; a single click gives it back to the tree.
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const focused = document.activeElement;
    if (ticket === opening && (focused === document.body || focused?.closest(".cm-editor"))) tree.focus();
  }

  function decorate(row: HTMLElement, entry: Entry): string[] {
    const described: string[] = [];
    const mark = git.file(entry.path);
    if (entry.type === "folder") {
      const inside = git.folder(entry.path);
      if (inside) {
        row.classList.add(`git-${inside}`);
        row.append(h("span", { class: "git-dot", title: "Contains changes", "aria-hidden": "true" }, "●"));
        described.push("contains changes");
      }
    }
    const people = (files.get(entry.path) ?? []).filter((u) => u.username !== wb.user.username);
    if (people.length > 0) {
      const names = people.map((u) => u.username).join(", ");
      row.append(
        h(
          "span",
          { class: "presence-badges", title: `Open by ${names}`, "aria-hidden": "true" },
          people.slice(0, 3).map((u) => h("span", { class: "presence-badge", style: `background: ${u.color || userColor(u.username).color}` }, initials(u.username))),
          people.length > 3 ? h("span", { class: "presence-more" }, `+${people.length - 3}`) : null,
        ),
      );
      described.push(`open by ${names}`);
    }
    if (mark && entry.type !== "folder") {
      row.classList.add(`git-${mark.kind}`);
      row.append(h("span", { class: "git-letter", title: mark.title, "aria-hidden": "true" }, mark.letter));
      described.push(mark.title.toLowerCase());
    }
    if (entry.type === "symlink") described.push("link outside the workspace");
    return described;
  }

  function menuItems(entry: Entry): MenuItem[] {
    const items: MenuItem[] = [];
    const folder = entry.type === "folder" ? entry.path : parentOf(entry.path);
    if (entry.type === "file") items.push({ label: "Open", keys: "Enter", run: () => void attempt(() => wb.openFile(entry.path)) });
    if (wb.canEdit()) {
      items.push(
        { label: "New File…", run: () => void attempt(() => ops.newFile(folder)) },
        { label: "New Folder…", run: () => void attempt(() => ops.newFolder(folder)) },
        { label: "Rename / Move…", keys: "F2", run: () => void attempt(() => ops.rename(entry)) },
        { label: "Delete", keys: "Delete", run: () => void attempt(() => ops.remove(entry)) },
      );
    }
    if (entry.type === "file") items.push({ label: "Download", run: () => void attempt(() => ops.download(entry)) });
    items.push({ label: "Copy Path", run: () => void attempt(() => navigator.clipboard.writeText(entry.path)) });
    return items;
  }

  async function refresh(): Promise<void> {
    await model.reloadAll();
    git.schedule(0);
  }

  // Live updates: re-list the folders that changed, 100 ms after a burst ends.
  const dirty = new Set<string>();
  let reloadAll = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (dirty.size === 0 && !reloadAll) return git.schedule();
    const folders = [...dirty];
    dirty.clear();
    const all = reloadAll;
    reloadAll = false;
    void attempt(() => (all ? model.reloadAll() : model.reload(folders)));
    git.schedule();
  };
  wb.hub.on<ExplorerChanged>("explorer:changed", (event) => {
    if (event.workspace !== wb.workspace.id) return;
    if (event.overflow) reloadAll = true;
    for (const change of event.changes ?? []) {
      if (change.kind === "modified") continue; // the tree shows no sizes or dates: only git cares
      // A file saved by atomic replace (the server's write-back) comes as "added": one the
      // tree already lists needs no re-listing.
      if (change.kind === "added" && model.entry(change.path)) continue;
      dirty.add(parentOf(change.path));
      dirty.add(model.nearestLoaded(change.path));
    }
    clearTimeout(timer);
    timer = setTimeout(flush, 100);
  });
  wb.hub.on<{ workspace: string }>("git:changed", (event) => {
    if (event.workspace === wb.workspace.id) git.schedule();
  });
  // The shell updates the role on the same event: render after it (changed() waits a microtask).
  wb.hub.on("workspace:role", changed);
  wb.hub.on("workspace:removed", changed);
  wb.hub.events.on("state", (state) => {
    if (state === "connected") void attempt(refresh);
  });
  wb.events.on("activeFile", (path) => {
    if (path === null || path === opened) {
      opened = null;
      return changed();
    }
    model.selected = path;
    void attempt(() => model.reveal(path)).then(changed);
  });
  presence.onChange(() => {
    files = presence.filesOf();
    changed();
  });

  installDrop(wb, root, tree, model, ops, (text) => {
    progress.hidden = text === null;
    progress.textContent = text ?? "";
  });

  void attempt(async () => {
    const active = wb.activeFile();
    if (active) model.selected = active;
    await model.load("");
    if (active) await model.reveal(active);
  });
  void git.refresh();

  return {
    id: "explorer",
    title: "Explorer",
    icon: "▣",
    element: root,
    focus: () => (body.contains(tree.element) && tree.element.firstElementChild ? tree.focus() : actions.querySelector<HTMLElement>("button:not([hidden])")?.focus()),
    shown: () => git.schedule(0),
  };
}
