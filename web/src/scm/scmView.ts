/** The SOURCE CONTROL side view: branch, commit box, staged and unstaged changes, history. */
import type { View, Workbench } from "../workbench/context";
import { ApiError } from "../core/api";
import { clear, h } from "../ui/dom";
import { confirm, prompt } from "../ui/dialog";
import { attempt, notify } from "../ui/notify";
import { showBranchMenu } from "./branchMenu";
import { renderChanges } from "./changes";
import { Git, isChanged, isStaged, relativeTime, type BranchList, type GitStatus } from "./git";
import "./scm.css";

const HISTORY_LIMIT = 20;

export function scmView(wb: Workbench): View {
  const git = new Git(wb.hub, wb.workspace.id);
  let status: GitStatus | null = null;
  let notRepository = false;
  let historyOpen = false;
  let loadSeq = 0;
  let busy = false;
  let menuOpen = false;

  const branchButton = h("button", {
    class: "scm-branch",
    testid: "scm-branch",
    "aria-haspopup": "listbox",
    onclick: () => void switchBranch(),
  });
  const message = h("textarea", {
    class: "scm-message",
    rows: 3,
    testid: "scm-message",
    "aria-label": "Commit message",
    onkeydown: (event: KeyboardEvent) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void commit();
      }
    },
  });
  const commitButton = h("button", { class: "primary scm-commit", testid: "scm-commit", onclick: () => void commit() }, "✓ Commit");
  const commitBox = h("div", { class: "scm-commit-box" }, message, commitButton);
  const groups = h("div", { class: "scm-groups", tabindex: "-1", onkeydown: moveBetweenRows });
  const historyToggle = h("button", {
    class: "scm-history-toggle",
    "aria-expanded": "false",
    testid: "scm-history-toggle",
    onclick: () => {
      historyOpen = !historyOpen;
      historyToggle.setAttribute("aria-expanded", String(historyOpen));
      renderHistoryToggle();
      if (historyOpen) void loadHistory();
      else history.hidden = true;
    },
  });
  const history = h("ul", { class: "list scm-history", testid: "scm-history", hidden: true });
  const repoPane = h(
    "div",
    { class: "scm-repo" },
    h("div", { class: "scm-branch-bar" }, branchButton),
    commitBox,
    groups,
    h("div", { class: "scm-history-section" }, historyToggle, history),
  );
  const content = h("div", { class: "scm-content" });
  const refreshButton = h("button", { class: "icon", "aria-label": "Refresh", title: "Refresh", onclick: () => void refresh() }, "⟳");
  const element = h(
    "div",
    { class: "scm", testid: "scm" },
    h("div", { class: "view-header" }, h("span", {}, "Source Control"), h("div", { class: "actions" }, refreshButton)),
    content,
  );

  function renderHistoryToggle() {
    historyToggle.textContent = `${historyOpen ? "▾" : "▸"} History`;
  }
  renderHistoryToggle();

  async function refresh(): Promise<void> {
    const seq = ++loadSeq;
    try {
      const next = await git.status();
      if (seq !== loadSeq) return;
      status = next;
      notRepository = false;
      render();
      if (historyOpen) void loadHistory();
    } catch (error) {
      if (seq !== loadSeq) return;
      if (error instanceof ApiError && error.code === "not_a_repository") {
        notRepository = true;
        status = null;
        render();
      } else {
        clear(content, h("p", { class: "error-text scm-empty" }, (error as Error).message));
      }
    }
  }

  function render(): void {
    const canEdit = wb.canEdit();
    if (notRepository || !status) {
      const init = canEdit
        ? h("button", { class: "primary", testid: "scm-init", onclick: () => void initialize() }, "Initialize repository")
        : null;
      clear(content, h("div", { class: "scm-empty" }, h("p", {}, "This workspace is not a git repository."), init));
      return;
    }
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
    const branch = status.detached ? `${(status.head ?? "").slice(0, 7)} (detached)` : (status.branch ?? "");
    branchButton.textContent = `⎇ ${branch}`;
    branchButton.title = canEdit ? "Switch branch" : "Viewers cannot switch branches";
    branchButton.setAttribute("aria-label", `Branch ${branch}: switch branch`);
    branchButton.disabled = !canEdit;
    message.placeholder = `Message (Ctrl+Enter to commit${status.branch ? ` on "${status.branch}"` : ""})`;
    commitButton.disabled = busy;
    commitBox.hidden = !canEdit;
    clear(
      groups,
      renderChanges(status.files, {
        canEdit,
        // The merge view loads on first use, keeping the page's initial JavaScript small.
        open: (file, staged) => void attempt(async () => (await import("./diff")).openDiff(wb, git, file, staged)),
        stage: (paths) => void change(() => git.stage(paths)),
        unstage: (paths) => void change(() => git.unstage(paths)),
      }),
    );
    // Swapped in only when coming from another state, so a focused message box keeps its focus.
    if (content.firstElementChild !== repoPane) clear(content, repoPane);
    if (focused) {
      const again = groups.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`);
      (again ?? groups.querySelector<HTMLElement>(".scm-file") ?? groups).focus();
    }
  }

  async function change(work: () => Promise<GitStatus>): Promise<void> {
    const next = await attempt(work);
    if (next) {
      loadSeq++;
      status = next;
      render();
    }
  }

  async function commit(): Promise<void> {
    if (busy || !status || !wb.canEdit()) return;
    const text = message.value.trim();
    if (!text) {
      notify("Type a commit message first.", "error");
      message.focus();
      return;
    }
    const staged = status.files.filter(isStaged);
    const changed = status.files.filter(isChanged);
    if (!staged.length) {
      if (!changed.length) {
        notify("There are no changes to commit.");
        return;
      }
      if (!(await confirm("Commit", "There are no staged changes. Stage all your changes and commit them?"))) return;
    }
    busy = true;
    commitButton.disabled = true;
    try {
      const done = await attempt(async () => {
        if (!staged.length) await git.stage(changed.map((f) => f.path));
        return git.commit(text);
      });
      if (done) {
        message.value = "";
        notify(`Committed ${done.short_id}: ${done.summary}`);
      }
    } finally {
      busy = false;
      commitButton.disabled = false;
      await refresh();
    }
  }

  async function switchBranch(create = false): Promise<void> {
    if (!wb.canEdit()) return;
    let name: string | null = null;
    if (!create) {
      if (menuOpen) return;
      menuOpen = true;
      let choice: Awaited<ReturnType<typeof showBranchMenu>> = null;
      let list: BranchList | undefined;
      try {
        list = await attempt(() => git.branches());
        if (list) choice = await showBranchMenu(branchButton, list, true);
      } finally {
        menuOpen = false;
      }
      if (!choice || !list) return;
      if (choice.branch === list.current) return;
      name = choice.branch;
      create = name === null;
    }
    if (create) {
      name = (await prompt("Create branch", "", "Branch name"))?.trim() || null;
      if (!name) return;
      const branch = name;
      if (!(await attempt(() => git.createBranch(branch)))) return;
    }
    const target = name as string;
    const switched = await attempt(() => git.checkout(target));
    if (switched) notify(`Switched to branch ${target}`);
    await refresh();
  }

  async function initialize(): Promise<void> {
    if (await attempt(() => git.init())) await refresh();
  }

  async function loadHistory(): Promise<void> {
    const commits = await attempt(() => git.log(HISTORY_LIMIT));
    if (!commits || !historyOpen) return;
    history.hidden = false;
    clear(
      history,
      commits.length
        ? commits.map((c) =>
            h(
              "li",
              { class: "scm-commit-row", title: `${c.id}\n${c.author.name} <${c.author.email}>\n\n${c.message}` },
              h("span", { class: "scm-commit-id" }, c.short_id),
              h("span", { class: "scm-commit-summary" }, c.summary),
              h("span", { class: "dim scm-commit-meta" }, `${c.author.name} · ${relativeTime(c.time)}`),
            ),
          )
        : h("li", { class: "dim scm-empty" }, "No commits yet."),
    );
  }

  function moveBetweenRows(event: KeyboardEvent): void {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const rows = [...groups.querySelectorAll<HTMLElement>(".scm-file")];
    const at = rows.indexOf(event.target as HTMLElement);
    if (at < 0) return;
    event.preventDefault();
    rows[Math.min(rows.length - 1, Math.max(0, at + (event.key === "ArrowDown" ? 1 : -1)))].focus();
  }

  // Refresh when git or the files change (debounced), when shown and after a reconnect.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (element.isConnected && element.offsetParent !== null) void refresh();
    }, 300);
  };
  const mine = (payload: { workspace?: string }) => payload?.workspace === wb.workspace.id;
  wb.hub.on<{ workspace?: string }>("git:changed", (p) => mine(p) && later());
  wb.hub.on<{ workspace?: string }>("explorer:changed", (p) => mine(p) && later());
  wb.hub.events.on("state", (state) => state === "connected" && later());
  // A role change shows or hides the controls; a commit made in a terminal shows on return.
  wb.hub.on<{ workspace?: string }>("workspace:role", (p) => mine(p) && later());
  window.addEventListener("focus", later);

  const reveal = (then?: () => void) => {
    wb.reveal("scm");
    then?.();
  };
  wb.addAction({ id: "git.commit.ui", title: "Git: Commit", run: () => reveal(() => (message.value.trim() ? void commit() : message.focus())) });
  wb.addAction({
    id: "git.stageAll.ui",
    title: "Git: Stage all changes",
    run: () => {
      const paths = (status?.files ?? []).filter(isChanged).map((f) => f.path);
      if (paths.length) void change(() => git.stage(paths));
      else notify("There are no changes to stage.");
    },
  });
  wb.addAction({ id: "git.switchBranch.ui", title: "Git: Switch branch…", run: () => reveal(() => void switchBranch()) });
  wb.addAction({ id: "git.createBranch.ui", title: "Git: Create branch…", run: () => void switchBranch(true) });

  clear(content, h("p", { class: "dim scm-empty" }, "Loading…"));
  void refresh();

  return {
    id: "scm",
    title: "Source Control",
    icon: "⎇",
    element,
    focus: () => (wb.canEdit() && status ? message : (groups.querySelector<HTMLElement>(".scm-file") ?? refreshButton)).focus(),
    shown: () => {
      void refresh();
    },
  };
}
