/** What the explorer does to files: create, rename or move, delete, download, upload. */
import { ApiError, encodePath } from "../core/api";
import { confirm, prompt } from "../ui/dialog";
import { notify } from "../ui/notify";
import type { Workbench } from "../workbench/context";
import { baseName, parentOf, type Entry, type TreeModel } from "./model";

export class FileOperations {
  constructor(
    private readonly wb: Workbench,
    private readonly model: TreeModel,
    private readonly open: (path: string) => Promise<void>,
  ) {}

  private get base(): string {
    return `/api/v1/workspaces/${this.wb.workspace.id}`;
  }

  /** Prompts for a name and creates an empty file (never replacing one), then opens it. */
  async newFile(folder = this.model.targetFolder()): Promise<void> {
    const name = await prompt("New File", "", folder ? `In ${folder}/` : "In the workspace folder");
    const path = join(folder, name);
    if (!path) return;
    await this.wb.api.request("PUT", `${this.base}/files/${encodePath(path)}`, {
      raw: new Blob([]),
      headers: { "If-None-Match": "*" },
    });
    await this.show(path);
    await this.open(path);
  }

  async newFolder(folder = this.model.targetFolder()): Promise<void> {
    const name = await prompt("New Folder", "", folder ? `In ${folder}/` : "In the workspace folder");
    const path = join(folder, name);
    if (!path) return;
    await this.wb.api.post(`${this.base}/folders`, { path });
    await this.show(path);
  }

  /** Prompts for the new full path (so a rename can also move) and moves the entry there. */
  async rename(entry: Entry): Promise<void> {
    const answer = await prompt(entry.type === "folder" ? "Rename or Move Folder" : "Rename or Move", entry.path, "New path");
    const to = answer === null ? "" : clean(answer);
    if (!to || to === entry.path) return;
    await this.move(entry.path, to);
  }

  async move(from: string, to: string): Promise<void> {
    await this.wb.api.post(`${this.base}/move`, { from, to });
    this.model.renamed(from, to);
    await this.model.reload([parentOf(from), this.model.nearestLoaded(to)]);
    await this.show(to);
  }

  async remove(entry: Entry): Promise<void> {
    const folder = entry.type === "folder";
    const sure = await confirm(
      folder ? "Delete Folder" : "Delete File",
      folder ? `Delete the folder "${entry.path}" and everything in it?` : `Delete "${entry.path}"?`,
    );
    if (!sure) return;
    const query = folder ? "?recursive=true" : "";
    await this.wb.api.delete(`${this.base}/files/${encodePath(entry.path)}${query}`);
    await this.model.reload([parentOf(entry.path)]);
  }

  /** Fetches the bytes with the bearer token and saves them through a temporary link. */
  async download(entry: Entry): Promise<void> {
    const response = await this.wb.api.fetch("GET", `${this.base}/files/${encodePath(entry.path)}?download=true`);
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), { href: url, download: entry.name });
    link.style.display = "none";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /** Uploads files into a folder (never replacing silently: asks once for those that exist). */
  async upload(files: { path: string; file: File }[], folder: string, progress: (text: string | null) => void): Promise<void> {
    if (files.length === 0) return;
    const where = folder || this.wb.workspace.name;
    const failed: string[] = [];
    const existing: { path: string; file: File }[] = [];
    let done = 0;
    const put = async (item: { path: string; file: File }, replace: boolean) => {
      progress(`Uploading ${done + 1} of ${files.length}: ${baseName(item.path)}`);
      try {
        await this.wb.api.request("PUT", `${this.base}/files/${encodePath(join(folder, item.path))}`, {
          raw: item.file,
          headers: replace ? {} : { "If-None-Match": "*" },
        });
        done++;
      } catch (error) {
        if (!replace && error instanceof ApiError && error.status === 409) existing.push(item);
        else failed.push(`${item.path}: ${(error as Error).message}`);
      }
    };
    notify(`Uploading ${plural(files.length, "file")} to ${where}…`);
    try {
      for (const item of files) await put(item, false);
      if (existing.length > 0) {
        progress(null);
        const names = existing.map((e) => e.path);
        const message = `${names.slice(0, 5).join(", ")}${names.length > 5 ? ` and ${names.length - 5} more` : ""} already exist${names.length === 1 ? "s" : ""} in ${where}. Replace?`;
        if (await confirm("Replace Files", message)) for (const item of existing) await put(item, true);
      }
    } finally {
      progress(null);
    }
    await this.model.reload([folder]);
    if (done > 0) notify(`Uploaded ${plural(done, "file")} to ${where}.`);
    if (failed.length > 0) notify(`Upload failed: ${failed.join("; ")}`, "error");
  }

  /** Lists the new entry's folder, expands the folders down to it and selects it. */
  private async show(path: string): Promise<void> {
    await this.model.reveal(path);
    await this.model.reload([parentOf(path)]);
    this.model.select(path);
  }
}

function clean(path: string): string {
  return path
    .trim()
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/");
}

function join(folder: string, name: string | null): string {
  const relative = name === null ? "" : clean(name);
  if (!relative) return "";
  return folder ? `${folder}/${relative}` : relative;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
