/** Drag and drop: files from the desktop upload into a folder; rows dragged onto a folder move there. */
import { confirm } from "../ui/dialog";
import { attempt } from "../ui/notify";
import type { Workbench } from "../workbench/context";
import { baseName, isWithin, parentOf, type TreeModel } from "./model";
import type { FileOperations } from "./operations";
import type { TreeView } from "./tree";

const ROW_TYPE = "application/x-nexus-path";

export function installDrop(
  wb: Workbench,
  root: HTMLElement,
  tree: TreeView,
  model: TreeModel,
  ops: FileOperations,
  progress: (text: string | null) => void,
): void {
  let highlighted: HTMLElement | null = null;
  const highlight = (element: HTMLElement | null) => {
    if (highlighted === element) return;
    highlighted?.classList.remove("drop-target");
    highlighted = element;
    highlighted?.classList.add("drop-target");
  };
  /** The folder a drop lands in, and the element to highlight for it. */
  const target = (event: DragEvent): { folder: string; element: HTMLElement } => {
    const hit = tree.rowOf(event.target);
    if (!hit) return { folder: "", element: root };
    const folder = hit.entry.type === "folder" ? hit.entry.path : parentOf(hit.entry.path);
    if (folder === "") return { folder, element: root };
    const row = root.querySelector<HTMLElement>(`[role=treeitem][data-path="${CSS.escape(folder)}"]`);
    return { folder, element: row ?? root };
  };
  const accepts = (event: DragEvent) => {
    const types = event.dataTransfer?.types ?? [];
    return wb.canEdit() && (types.includes("Files") || types.includes(ROW_TYPE));
  };

  tree.element.addEventListener("dragstart", (event) => {
    const hit = tree.rowOf(event.target);
    if (!hit || !event.dataTransfer || !wb.canEdit()) return;
    event.dataTransfer.setData(ROW_TYPE, hit.entry.path);
    event.dataTransfer.setData("text/plain", hit.entry.path);
    event.dataTransfer.effectAllowed = "move";
  });
  root.addEventListener("dragover", (event) => {
    if (!accepts(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = event.dataTransfer.types.includes("Files") ? "copy" : "move";
    highlight(target(event).element);
  });
  root.addEventListener("dragleave", (event) => {
    if (!root.contains(event.relatedTarget as Node | null)) highlight(null);
  });
  root.addEventListener("dragend", () => highlight(null));
  root.addEventListener("drop", (event) => {
    highlight(null);
    if (!accepts(event) || !event.dataTransfer) return;
    event.preventDefault();
    const { folder } = target(event);
    const moved = event.dataTransfer.getData(ROW_TYPE);
    if (moved) {
      void attempt(() => moveInto(moved, folder));
      return;
    }
    // The item list is only readable during the event: take the entries now, read them later.
    const entries = [...event.dataTransfer.items]
      .map((item) => (item.kind === "file" ? item.webkitGetAsEntry?.() : null))
      .filter((entry): entry is FileSystemEntry => !!entry);
    const plain = [...event.dataTransfer.files];
    void attempt(async () => {
      const files = entries.length > 0 ? await collect(entries) : plain.map((file) => ({ path: file.name, file }));
      await ops.upload(files, folder, progress);
    });
  });

  async function moveInto(path: string, folder: string): Promise<void> {
    const to = folder ? `${folder}/${baseName(path)}` : baseName(path);
    if (to === path || isWithin(folder, path)) return;
    if (!(await confirm("Move", `Move "${path}" into ${folder ? `"${folder}"` : "the workspace folder"}?`))) return;
    await ops.move(path, to);
    if (folder) await model.expand(folder);
  }
}

/** The files under dropped entries, with their paths relative to the drop (folders recursed). */
async function collect(entries: FileSystemEntry[], prefix = ""): Promise<{ path: string; file: File }[]> {
  const files: { path: string; file: File }[] = [];
  for (const entry of entries) {
    const path = prefix + entry.name;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      files.push({ path, file });
    } else if (entry.isDirectory) {
      const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
      files.push(...(await collect(children, `${path}/`)));
    }
  }
  return files;
}

/** A directory reader answers in batches (about 100 at a time) until it answers none. */
async function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}
