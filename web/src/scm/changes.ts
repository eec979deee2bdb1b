/** The "Staged changes" and "Changes" groups: one row per file with its status letter. */
import { h } from "../ui/dom";
import { isChanged, isStaged, letterOf, type FileState } from "./git";

export interface ChangesHandlers {
  canEdit: boolean;
  open(file: FileState, staged: boolean): void;
  stage(paths: string[]): void;
  unstage(paths: string[]): void;
}

/** Builds both groups (the staged one only when it has files). */
export function renderChanges(files: FileState[], handlers: ChangesHandlers): HTMLElement[] {
  const staged = files.filter(isStaged);
  const changed = files.filter(isChanged);
  if (!files.length) return [h("p", { class: "dim scm-empty", testid: "scm-no-changes" }, "No changes.")];
  const groups: HTMLElement[] = [];
  if (staged.length) groups.push(group("Staged changes", "scm-staged", staged, true, handlers));
  groups.push(group("Changes", "scm-changes", changed, false, handlers));
  return groups;
}

function group(title: string, testid: string, files: FileState[], staged: boolean, handlers: ChangesHandlers): HTMLElement {
  const paths = files.map((f) => f.path);
  const all =
    handlers.canEdit && files.length
      ? h(
          "button",
          {
            class: "icon",
            "aria-label": staged ? "Unstage all changes" : "Stage all changes",
            title: staged ? "Unstage all changes" : "Stage all changes",
            testid: staged ? "scm-unstage-all" : "scm-stage-all",
            onclick: () => (staged ? handlers.unstage(paths) : handlers.stage(paths)),
          },
          staged ? "−" : "+",
        )
      : null;
  const rows = files.map((file) => row(file, staged, handlers));
  return h(
    "section",
    { class: "scm-group", testid, "aria-label": title },
    h(
      "div",
      { class: "scm-group-header" },
      h("span", { class: "scm-group-title" }, title),
      h("span", { class: "badge" }, String(files.length)),
      h("span", { class: "scm-spacer" }),
      all,
    ),
    h("ul", { class: "list", role: "list" }, ...rows),
  );
}

function row(file: FileState, staged: boolean, handlers: ChangesHandlers): HTMLElement {
  const { letter, word } = letterOf(file, staged);
  const slash = file.path.lastIndexOf("/");
  const name = file.path.slice(slash + 1);
  const folder = slash > 0 ? file.path.slice(0, slash) : "";
  const action = handlers.canEdit
    ? h(
        "button",
        {
          class: "icon scm-file-action",
          "aria-label": `${staged ? "Unstage" : "Stage"} ${file.path}`,
          title: staged ? "Unstage changes" : "Stage changes",
          testid: staged ? "scm-unstage" : "scm-stage",
          onclick: (event: MouseEvent) => {
            event.stopPropagation();
            if (staged) handlers.unstage([file.path]);
            else handlers.stage([file.path]);
          },
        },
        staged ? "−" : "+",
      )
    : null;
  return h(
    "li",
    {
      class: `row scm-file${letter === "D" ? " scm-deleted" : ""}`,
      role: "listitem",
      tabindex: "0",
      testid: "scm-file",
      "data-path": file.path,
      "data-key": `${staged ? "staged" : "changes"}:${file.path}`,
      title: `${file.path} — ${word}${staged ? " (staged)" : ""}`,
      "aria-label": `${file.path}, ${word}${staged ? ", staged" : ""}`,
      onclick: () => handlers.open(file, staged),
      onkeydown: (event: KeyboardEvent) => {
        if (event.target !== event.currentTarget) return;
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          handlers.open(file, staged);
        }
      },
    },
    h("span", { class: "scm-file-name" }, name),
    h("span", { class: "dim scm-file-folder" }, folder),
    h("span", { class: "scm-spacer" }),
    action,
    h("span", { class: `scm-letter scm-letter-${letterClass(letter)}`, "aria-hidden": "true" }, letter),
  );
}

function letterClass(letter: string): string {
  return { M: "modified", A: "added", U: "untracked", D: "deleted", R: "renamed", T: "modified", "!": "conflict" }[letter] ?? "other";
}
