/** One file's changes side by side (CodeMirror's MergeView), read-only, in an overlay.
 *
 * The server gives patches, not old versions, so the old side is rebuilt by reverting the
 * patch on the newer text; if that ever fails (the file changed between the two reads) the
 * patch itself is shown instead. */
import { MergeView } from "@codemirror/merge";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView, lineNumbers } from "@codemirror/view";
import { syntaxHighlighting } from "@codemirror/language";
import { classHighlighter } from "@lezer/highlight";
import { languageFor } from "../editor/languages";
import type { Workbench } from "../workbench/context";
import { h } from "../ui/dom";
import { notify } from "../ui/notify";
import type { FileState, Git } from "./git";
import { revertPatch } from "./patch";

interface Sides {
  old: string;
  new: string;
}

/** Opens the diff of `file`: working tree vs index, or (`staged`) index vs HEAD. */
export async function openDiff(wb: Workbench, git: Git, file: FileState, staged: boolean): Promise<void> {
  const sides = staged ? "Index ↔ HEAD" : "Working tree ↔ Index";
  const title = `${file.path} (${sides})`;
  const body = h("div", { class: "scm-diff-body" }, h("p", { class: "dim scm-diff-note" }, "Loading…"));
  const dialog = showOverlay(wb, title, file.path, body);
  try {
    const diff = await git.diff(file.path, staged);
    if (diff.binary || diff.too_large) {
      body.replaceChildren(
        h("p", { class: "dim scm-diff-note" }, diff.binary ? "Binary file: no text diff." : "The file is too large to diff."),
      );
      return;
    }
    const working = await git.workingText(file.path);
    if (working === null) {
      body.replaceChildren(h("p", { class: "dim scm-diff-note" }, "Binary file: no text diff."));
      return;
    }
    let text: Sides;
    try {
      text = await rebuild(git, file, staged, working, diff.patch);
    } catch {
      body.replaceChildren(patchView(diff.patch));
      return;
    }
    const language = await languageFor(file.path)
      .load()
      .catch(() => []);
    if (!dialog.isConnected) return;
    body.replaceChildren();
    new MergeView({
      a: { doc: text.old, extensions: [readOnly(), language] },
      b: { doc: text.new, extensions: [readOnly(), language] },
      parent: body,
      gutter: true,
      highlightChanges: true,
    });
  } catch (error) {
    body.replaceChildren(h("p", { class: "error-text scm-diff-note" }, (error as Error).message));
    notify((error as Error).message, "error");
  }
}

async function rebuild(git: Git, file: FileState, staged: boolean, working: string, patch: string): Promise<Sides> {
  if (!staged) return { old: revertPatch(working, patch), new: working };
  // Index vs HEAD: the index is the working tree less its unstaged changes.
  let index = working;
  if (file.code[1] !== " ") index = revertPatch(working, (await git.diff(file.path, false)).patch);
  return { old: revertPatch(index, patch), new: index };
}

function readOnly(): Extension {
  const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
  return [
    lineNumbers(),
    EditorState.readOnly.of(true),
    EditorView.darkTheme.of(dark),
    syntaxHighlighting(classHighlighter),
  ];
}

function patchView(patch: string): HTMLElement {
  const lines = patch.split("\n").map((line) => {
    const kind = line.startsWith("+") ? "added" : line.startsWith("-") ? "deleted" : line.startsWith("@@") ? "hunk" : "";
    return h("div", { class: `scm-patch-line ${kind}` }, line || " ");
  });
  return h("pre", { class: "scm-patch", tabindex: "0", "aria-label": "Patch" }, ...lines);
}

function showOverlay(wb: Workbench, title: string, path: string, body: HTMLElement): HTMLElement {
  const previous = document.activeElement as HTMLElement | null;
  const close = () => {
    overlay.remove();
    previous?.focus();
  };
  const closeButton = h("button", { class: "icon", "aria-label": "Close diff", title: "Close (Escape)", onclick: close }, "×");
  const openButton = h(
    "button",
    {
      onclick: () => {
        close();
        void wb.openFile(path);
      },
    },
    "Open file",
  );
  const dialog = h(
    "div",
    {
      class: "scm-diff",
      role: "dialog",
      "aria-modal": "true",
      "aria-label": title,
      testid: "scm-diff",
      onkeydown: (event: KeyboardEvent) => {
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          close();
        }
      },
    },
    h("div", { class: "scm-diff-header" }, h("h2", { class: "scm-diff-title" }, title), openButton, closeButton),
    body,
  );
  const overlay = h("div", {
    class: "overlay scm-diff-overlay",
    onmousedown: (event: MouseEvent) => {
      if (event.target === overlay) close();
    },
  });
  overlay.append(dialog);
  document.body.append(overlay);
  closeButton.focus();
  return dialog;
}
