/** The bottom panel's TERMINAL tab: the workspace's shared terminals, one xterm.js screen each. */
import "@xterm/xterm/css/xterm.css";
import "./terminal.css";
import { h, clear } from "../ui/dom";
import { attempt, notify } from "../ui/notify";
import { confirm } from "../ui/dialog";
import type { View, Workbench } from "../workbench/context";
import { TerminalLink } from "./terminalLink";
import { TerminalSession, type TerminalInfo } from "./terminalSession";
import { terminalTab } from "./terminalTabs";

type Attached = TerminalInfo & { scrollback: string };

export function terminalView(wb: Workbench): View & { newTerminal(): Promise<void>; show(id: string): Promise<void> } {
  const { hub } = wb;
  const workspace = wb.workspace.id;
  const sessions = new Map<string, TerminalSession>();
  const names = new Map<number, string>([[wb.user.id, wb.user.username]]);
  let infos: TerminalInfo[] = [];
  let activeId: string | null = null;
  let started = false;
  let wasOffline = false;
  let opening = 0;
  const limbo = new Map<string, string[]>(); // output of a terminal being opened, before its ack
  let lastSize = { cols: 80, rows: 24 };

  const tabs = h("div", { class: "terminal-tabs", role: "tablist", "aria-label": "Terminals" });
  const readOnlyNote = h("span", { class: "terminal-readonly dim" }, "read-only: viewers can watch");
  const newButton = h(
    "button",
    { class: "icon", testid: "terminal-new", "aria-label": "New terminal", title: "New terminal (Ctrl+Shift+`)", onclick: () => void newTerminal() },
    "+",
  );
  const refreshButton = h(
    "button",
    { class: "icon", "aria-label": "Refresh terminals", title: "Refresh the list of terminals", onclick: () => void attempt(refresh) },
    "⟳",
  );
  const stage = h("div", { class: "terminal-stage" });
  const empty = h("div", { class: "terminal-empty dim" });
  const element = h(
    "div",
    { class: "terminal-view" },
    h("div", { class: "terminal-bar" }, tabs, readOnlyNote, h("div", { class: "actions" }, newButton, refreshButton)),
    stage,
  );

  const isVisible = () => element.isConnected && element.getClientRects().length > 0;
  const link = new TerminalLink(hub);
  const { report } = link;
  const call = <T>(event: string, payload: unknown) => link.call<T>(event, payload);
  const ack = (id: string, bytes: number) => link.ack(id, bytes);
  const hooks = { input: (id: string, data: string) => link.input(id, data), ack, readOnly: () => !wb.canEdit() };

  // -- sessions -----------------------------------------------------------------------------
  function session(info: TerminalInfo): TerminalSession {
    let existing = sessions.get(info.id);
    if (!existing) {
      existing = new TerminalSession(info, hooks);
      sessions.set(info.id, existing);
      stage.append(existing.host);
    }
    return existing;
  }

  async function attach(s: TerminalSession): Promise<void> {
    s.hold();
    try {
      const { scrollback, ...info } = await call<Attached>("terminal:attach", { workspace, id: s.id });
      s.attached(scrollback, info);
      upsert(info);
    } catch (error) {
      s.release();
      throw error;
    }
  }

  function drop(id: string): void {
    sessions.get(id)?.dispose();
    sessions.delete(id);
    link.forget(id);
  }

  function upsert(info: TerminalInfo): void {
    const index = infos.findIndex((known) => known.id === info.id);
    if (index >= 0) infos[index] = info;
    else infos.push(info);
    render();
  }

  /** Shows a terminal (attaching to it the first time) and makes it the one with the test hook. */
  async function activate(id: string | null, focus = false): Promise<void> {
    activeId = id;
    const info = infos.find((known) => known.id === id);
    for (const s of sessions.values()) {
      const active = s.id === id;
      s.host.hidden = !active;
      if (active) s.host.dataset.testid = "terminal";
      else delete s.host.dataset.testid;
    }
    render();
    if (!info) return;
    const fresh = !sessions.has(info.id);
    const s = session(info);
    s.host.hidden = false;
    s.host.dataset.testid = "terminal";
    fitActive();
    if (focus) s.focus();
    if (!fresh) return;
    try {
      await attach(s);
    } catch (error) {
      drop(info.id); // showing it again tries again
      report(error);
    }
  }

  // -- the list -------------------------------------------------------------------------------
  const asked = new Set<number>(); // owners whose names were looked up
  async function loadNames(): Promise<void> {
    const unknown = infos.filter((info) => !names.has(info.owner) && !asked.has(info.owner));
    if (unknown.length === 0) return;
    for (const info of unknown) asked.add(info.owner);
    try {
      const members = await wb.api.command<{ user_id: number; username: string }[]>(workspace, "workspace.members");
      for (const member of members) names.set(member.user_id, member.username);
      render();
    } catch {
      // names are a nicety: tabs fall back to "user N"
    }
  }

  async function refresh(): Promise<void> {
    const known = new Set(sessions.keys());
    const listed = await call<TerminalInfo[]>("terminal:list", { workspace });
    const ids = new Set(listed.map((info) => info.id));
    // Terminals opened while the list was on its way stay; those closed since go.
    const kept = infos.filter((info) => !ids.has(info.id) && !known.has(info.id) && sessions.has(info.id));
    for (const id of known) if (!ids.has(id)) drop(id);
    infos = [...listed, ...kept];
    for (const info of infos) {
      const s = sessions.get(info.id);
      if (s && s.info.running && !info.running) s.exited(info.exit_code);
    }
    void loadNames();
    if (!activeId || !infos.some((info) => info.id === activeId)) await activate(infos[0]?.id ?? null);
    else if (!sessions.has(activeId)) await activate(activeId);
    else render();
  }

  async function newTerminal(): Promise<void> {
    if (!wb.canEdit()) {
      notify("Viewers can watch terminals but not open them.", "error");
      return;
    }
    if (!isVisible()) wb.reveal(view.id);
    opening++;
    try {
      const info = await call<TerminalInfo>("terminal:open", { workspace, ...lastSize });
      const s = session(info); // the opener is attached already
      for (const data of limbo.get(info.id) ?? []) s.write(data);
      upsert(info);
      await activate(info.id, true);
    } catch (error) {
      report(error);
    } finally {
      if (--opening === 0) limbo.clear();
    }
  }

  /** Brings forward a terminal a command started (`file.run`, `test.run`, `terminal.new`). */
  async function show(id: string): Promise<void> {
    if (!isVisible()) wb.reveal(view.id);
    await refresh();
    await activate(id, true);
  }

  async function close(info: TerminalInfo): Promise<void> {
    if (info.running && info.owner !== wb.user.id) {
      const owner = names.get(info.owner) ?? "another user";
      if (!(await confirm("Close terminal", `Close ${owner}'s terminal "${info.name}"? Its program ends for everyone.`))) return;
    }
    await attempt(async () => {
      await call("terminal:close", { id: info.id });
      drop(info.id);
      infos = infos.filter((known) => known.id !== info.id);
      if (activeId === info.id) await activate(infos[0]?.id ?? null, true);
      else render();
    });
  }

  // -- rendering ------------------------------------------------------------------------------
  function render(): void {
    const editable = wb.canEdit();
    newButton.hidden = !editable;
    readOnlyNote.hidden = editable;
    const focused = tabs.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.id : undefined;
    const tabbable = infos.some((info) => info.id === activeId) ? activeId : infos[0]?.id;
    const activateTab = (id: string, focus: boolean) => void attempt(() => activate(id, focus));
    clear(
      tabs,
      ...infos.map((info, index) =>
        terminalTab(info, {
          index,
          owner: names.get(info.owner) ?? `user ${info.owner}`,
          active: info.id === activeId,
          tabbable: info.id === tabbable,
          editable,
          activate: activateTab,
          close: (target) => void close(target),
        }),
      ),
    );
    if (focused) tabs.querySelector<HTMLElement>(`[data-id="${CSS.escape(focused)}"]`)?.focus();
    if (infos.length === 0) {
      clear(
        empty,
        editable ? "No terminals yet. " : "No terminals are open in this workspace.",
        editable && h("button", { onclick: () => void newTerminal() }, "New terminal"),
      );
      stage.append(empty);
    } else empty.remove();
  }

  // -- size, role, theme, connection ------------------------------------------------------------
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  const sized = new Set<string>();
  function fitActive(): void {
    const s = activeId ? sessions.get(activeId) : undefined;
    if (!s || !isVisible()) return;
    const size = s.fit();
    if (!size) return;
    lastSize = size;
    clearTimeout(resizeTimer);
    if (!wb.canEdit() || !s.info.running) return;
    const send = () => void hub.call("terminal:resize", { id: s.id, ...size }).catch(() => undefined);
    // The first fit of a new terminal goes at once, before its shell draws a prompt that a
    // late SIGWINCH would redraw under someone's typing; dragging the panel is debounced.
    if (!sized.has(s.id)) {
      sized.add(s.id);
      send();
    } else resizeTimer = setTimeout(send, 100);
  }

  let frame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      if (!isVisible()) return;
      if (!started) shown();
      else fitActive();
    });
  }).observe(stage);

  hub.on("terminal:output", ({ id, data, bytes }: { id: string; data: string; bytes: number }) => {
    const s = sessions.get(id);
    if (s) return s.output(data, bytes);
    ack(id, bytes);
    if (opening > 0) limbo.set(id, [...(limbo.get(id) ?? []), data]);
  });
  hub.on("terminal:exit", ({ id, code }: { id: string; code: number | null }) => {
    sessions.get(id)?.exited(code);
    const info = infos.find((known) => known.id === id);
    if (info) upsert({ ...info, running: false, exit_code: code });
    void refresh().catch(() => undefined);
  });
  hub.on("terminal:detached", ({ id }: { id: string }) => {
    const s = sessions.get(id);
    if (!s) return;
    if (id === activeId) void attach(s).catch(report);
    else drop(id); // attached again when shown
  });
  hub.on("workspace:role", () =>
    setTimeout(() => {
      for (const s of sessions.values()) s.setReadOnly(!wb.canEdit());
      render();
    }),
  );
  hub.events.on("state", (state) => {
    if (state === "offline") wasOffline = true;
    if (state !== "connected" || !wasOffline || !started) return;
    wasOffline = false;
    // The connection's terminals were detached: attach again, the scrollback replacing the screen.
    void (async () => {
      await refresh();
      const all = [...sessions.values()];
      for (const s of [...all.filter((s) => s.id === activeId), ...all.filter((s) => s.id !== activeId)]) await attach(s);
    })().catch(report);
  });
  window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", () => {
    for (const s of sessions.values()) s.setTheme();
  });

  function shown(): void {
    started = true;
    void refresh().catch(report);
    requestAnimationFrame(fitActive);
  }

  render();
  const view = {
    id: "terminal",
    title: "Terminal",
    icon: "⌨",
    element,
    shown,
    focus: () => {
      const s = activeId ? sessions.get(activeId) : undefined;
      if (s && !s.host.hidden) s.focus();
      else if (wb.canEdit()) newButton.focus();
      else tabs.querySelector<HTMLElement>("[tabindex='0']")?.focus();
    },
    newTerminal,
    show,
  };
  return view;
}
